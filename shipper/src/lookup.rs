//! [`IdLookup`] over the HTTP client: the two read requests the shipper makes besides `_bulk`.
//!
//! Kept apart from `service` so it can be pointed at whichever transport `service` offers; the
//! requests themselves are plain functions of names and ids ([`settings_path`], [`ids_query`])
//! and their answers are read by [`read_write_index`] and [`read_copies`], all unit-tested.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::rollover::{Copy, IdLookup, LookupError, WriteIndex, generation};
use crate::service::{EsClient, HttpRequest, Method};

/// `GET <ds>/_settings/index.creation_date`: every backing index of the data stream with its
/// creation time (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-get-settings).
/// A name that doesn't exist answers `{}` instead of a 404.
pub fn settings_path(data_stream: &str) -> String {
    format!(
        "/{}/_settings/index.creation_date?flat_settings=true&ignore_unavailable=true&allow_no_indices=true",
        encode_path(data_stream)
    )
}

/// `POST <target>/_search`, ids only: `_mget` and `GET _doc` need the backing index, a
/// search covers the whole data stream
/// (https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-ids-query).
pub fn search_path(target: &str) -> String {
    format!(
        "/{}/_search?filter_path=hits.hits._id,hits.hits._index&ignore_unavailable=true&allow_no_indices=true",
        encode_path(target)
    )
}

/// `POST <index>/_mget`, real time, ids and `found` only
/// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-mget).
pub fn mget_path(index: &str) -> String {
    format!(
        "/{}/_mget?filter_path=docs._id,docs.found&realtime=true",
        encode_path(index)
    )
}

pub fn ids_query(ids: &[&str]) -> Value {
    json!({
        "size": (ids.len() * 2).clamp(1, 10_000),
        "_source": false,
        "track_total_hits": false,
        "query": {"ids": {"values": ids}},
    })
}

/// Index, data stream and pattern names need no escaping but `%`-encoding keeps a stray
/// character from changing the path.
fn encode_path(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.*,".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The answer to [`settings_path`] → the write index (highest generation; by creation time
/// when no name has one) and how many backing indices are older.
pub fn read_write_index(body: &[u8]) -> Result<Option<WriteIndex>, LookupError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| LookupError::Unreadable(e.to_string()))?;
    let Some(map) = v.as_object() else {
        return Err(LookupError::Unreadable("not an object".into()));
    };
    let mut indices: Vec<(String, i64)> = Vec::with_capacity(map.len());
    for (name, s) in map {
        let created = s
            .pointer("/settings/index.creation_date")
            .or_else(|| s.pointer("/settings/index/creation_date"))
            .and_then(|c| match c {
                Value::String(s) => s.parse::<i64>().ok(),
                other => other.as_i64(),
            })
            .ok_or_else(|| LookupError::Unreadable(format!("{name}: no index.creation_date")))?;
        indices.push((name.clone(), created));
    }
    let newest = indices
        .iter()
        .max_by_key(|(name, created)| (generation(name).unwrap_or(0), *created))
        .cloned();
    Ok(newest.map(|(name, created_ms)| WriteIndex {
        name,
        created_ms,
        older: indices.len() - 1,
    }))
}

/// The answer to [`search_path`] → `(id, index)` of every hit.
pub fn read_copies(body: &[u8]) -> Result<Vec<Copy>, LookupError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| LookupError::Unreadable(e.to_string()))?;
    let Some(hits) = v.pointer("/hits/hits") else {
        // filter_path drops an empty `hits.hits`: no copy anywhere.
        return if v.is_object() {
            Ok(Vec::new())
        } else {
            Err(LookupError::Unreadable("not an object".into()))
        };
    };
    let hits = hits
        .as_array()
        .ok_or_else(|| LookupError::Unreadable("hits.hits is not an array".into()))?;
    hits.iter()
        .map(|h| match (h["_id"].as_str(), h["_index"].as_str()) {
            (Some(id), Some(index)) => Ok(Copy {
                id: id.to_owned(),
                index: index.to_owned(),
            }),
            _ => Err(LookupError::Unreadable(
                "a hit without _id or _index".into(),
            )),
        })
        .collect()
}

/// The answer to [`mget_path`] → the ids found.
pub fn read_found(body: &[u8]) -> Result<Vec<String>, LookupError> {
    let v: Value =
        serde_json::from_slice(body).map_err(|e| LookupError::Unreadable(e.to_string()))?;
    let Some(docs) = v.get("docs") else {
        return if v.is_object() {
            Ok(Vec::new())
        } else {
            Err(LookupError::Unreadable("not an object".into()))
        };
    };
    let docs = docs
        .as_array()
        .ok_or_else(|| LookupError::Unreadable("docs is not an array".into()))?;
    Ok(docs
        .iter()
        .filter(|d| d["found"] == Value::Bool(true))
        .filter_map(|d| d["_id"].as_str().map(str::to_owned))
        .collect())
}

/// `{"error":{"type","reason"}}` of a refused request, or its first bytes.
fn error_of(body: &[u8], status: u16) -> (String, String) {
    let v = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
    let t = v
        .pointer("/error/type")
        .and_then(Value::as_str)
        .map_or_else(|| format!("http_{status}"), str::to_owned);
    let r = v
        .pointer("/error/reason")
        .or_else(|| v.get("error"))
        .and_then(Value::as_str)
        .map_or_else(
            || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            str::to_owned,
        );
    (t, r)
}

/// [`IdLookup`] over [`EsClient::send`].
#[derive(Clone)]
pub struct EsLookup {
    client: EsClient,
}

impl EsLookup {
    pub fn new(client: EsClient) -> Self {
        EsLookup { client }
    }

    async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<Value>,
        timeout: Duration,
    ) -> Result<Vec<u8>, LookupError> {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        // The path is already %-encoded; the query pairs are plain (the client encodes them).
        let mut req = HttpRequest::new(method, path).timeout(timeout);
        for (k, v) in query.split('&').filter_map(|kv| kv.split_once('=')) {
            req = req.query(k, v);
        }
        if let Some(b) = body {
            req = req.json(b.to_string());
        }
        let reply = self.client.send(req).await?;
        if reply.status != 200 {
            let (error_type, reason) = error_of(&reply.body, reply.status);
            return Err(LookupError::Refused {
                status: reply.status,
                error_type,
                reason,
            });
        }
        Ok(reply.body.to_vec())
    }
}

#[async_trait]
impl IdLookup for EsLookup {
    async fn write_index(
        &self,
        data_stream: &str,
        timeout: Duration,
    ) -> Result<Option<WriteIndex>, LookupError> {
        let body = self
            .send(Method::GET, &settings_path(data_stream), None, timeout)
            .await?;
        read_write_index(&body)
    }

    async fn copies(
        &self,
        target: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<Copy>, LookupError> {
        let body = self
            .send(
                Method::POST,
                &search_path(target),
                Some(ids_query(ids)),
                timeout,
            )
            .await?;
        read_copies(&body)
    }

    async fn present_in(
        &self,
        index: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<String>, LookupError> {
        match self
            .send(
                Method::POST,
                &mget_path(index),
                Some(json!({ "ids": ids })),
                timeout,
            )
            .await
        {
            Ok(body) => read_found(&body),
            // The index is gone (deleted by its lifecycle): it holds nothing.
            Err(LookupError::Refused { status: 404, .. }) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_write_index_is_the_newest_generation_with_its_creation_time() {
        // As `GET logs-x-default/_settings/index.creation_date?flat_settings=true` answers.
        let body = br#"{
            ".ds-logs-x-default-2026.11.24-000001":{"settings":{"index.creation_date":"1795478400000"}},
            ".ds-logs-x-default-2026.11.25-000002":{"settings":{"index.creation_date":"1795564800000"}}}"#;
        assert_eq!(
            read_write_index(body).unwrap(),
            Some(WriteIndex {
                name: ".ds-logs-x-default-2026.11.25-000002".into(),
                created_ms: 1_795_564_800_000,
                older: 1
            })
        );
        assert_eq!(read_write_index(b"{}").unwrap(), None);
        assert!(read_write_index(b"[]").is_err());
        assert!(read_write_index(br#"{"i":{"settings":{}}}"#).is_err());
    }

    #[test]
    fn hits_give_every_copy_and_an_empty_answer_means_none() {
        let body = br#"{"hits":{"hits":[{"_index":".ds-a-000001","_id":"1"},{"_index":".ds-a-000002","_id":"1"}]}}"#;
        assert_eq!(read_copies(body).unwrap().len(), 2);
        assert_eq!(read_copies(b"{}").unwrap(), vec![]);
        assert!(read_copies(b"<html>").is_err());
        assert!(read_copies(br#"{"hits":{"hits":[{"_id":"1"}]}}"#).is_err());
    }

    #[test]
    fn mget_gives_the_ids_found() {
        let body = br#"{"docs":[{"_id":"1","found":true},{"_id":"2","found":false},{"_id":"3"}]}"#;
        assert_eq!(read_found(body).unwrap(), vec!["1".to_owned()]);
        assert_eq!(read_found(b"{}").unwrap(), Vec::<String>::new());
        assert!(read_found(b"1").is_err());
    }

    #[test]
    fn the_search_asks_for_ids_only_and_enough_hits_for_two_copies_each() {
        let q = ids_query(&["a", "b"]);
        assert_eq!(q["size"], 4);
        assert_eq!(q["_source"], false);
        assert_eq!(q["query"]["ids"]["values"], json!(["a", "b"]));
        assert_eq!(
            search_path("cloudwatch-deadletter-*"),
            "/cloudwatch-deadletter-*/_search?filter_path=hits.hits._id,hits.hits._index&ignore_unavailable=true&allow_no_indices=true"
        );
        assert!(settings_path("a b").starts_with("/a%20b/_settings"));
    }
}
