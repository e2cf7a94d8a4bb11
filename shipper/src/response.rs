//! `_bulk` response → one outcome per item, in the order the actions were sent.
//!
//! Shape: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//! (`{"took","errors","items":[{"create":{"_index","_id","status","error":{"type","reason"}}}]}`),
//! reduced by [`crate::request_builder::FILTER_PATH`]. Every item has a `status`, so the
//! filtered answer to N actions always has N items: an answer without them (a proxy's `{}`,
//! a body cut short, a server that only says `errors:false`) tells nothing about what was
//! stored, and is an error here, never "all created".

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    items: Option<Vec<Op<'a>>>,
}

/// `{"<op>": {…}}`: the one key is the op name, its value the result.
struct Op<'a>(Item<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Op<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Op<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object with one op key")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Op<'a>, M::Error> {
                let mut item = None;
                while let Some(_op) = m.next_key::<IgnoredAny>()? {
                    let v: Item<'a> = m.next_value()?;
                    item.get_or_insert(v);
                }
                Ok(Op(item.unwrap_or_default()))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize, Default)]
struct Item<'a> {
    #[serde(default)]
    status: u16,
    #[serde(borrow, rename = "_index", default)]
    index: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    error: Option<ItemError<'a>>,
    #[serde(borrow, default)]
    failure_store: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct ItemError<'a> {
    #[serde(borrow, rename = "type", default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    reason: Option<Cow<'a, str>>,
}

/// One item's result, borrowing from the response body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemResult<'a> {
    /// 0 when the item named no status.
    pub status: u16,
    /// The concrete index it went to: a data stream's backing index, or a failure-store index.
    pub index: Option<Cow<'a, str>>,
    pub error_type: Option<String>,
    pub error_reason: Option<String>,
    /// `failure_store: used`: Elasticsearch (9.1+, on by default for `logs-*-*` from 9.2) kept
    /// a document its mappings refused in the data stream's failure store, and answered 201.
    pub failure_store: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResponseError {
    #[error("bulk response is not JSON: {0}")]
    NotJson(String),
    #[error("bulk response has {got} items for {sent} actions")]
    ItemCount { sent: usize, got: usize },
    #[error(
        "bulk response has no items for {sent} actions (a proxy's or a truncated answer): what was stored is unknown"
    )]
    NoItems { sent: usize },
}

/// Parses a 200 response to a bulk of `sent` actions.
pub fn parse(body: &[u8], sent: usize) -> Result<Vec<ItemResult<'_>>, ResponseError> {
    let raw: Raw<'_> =
        serde_json::from_slice(body).map_err(|e| ResponseError::NotJson(e.to_string()))?;
    let items = match raw.items {
        Some(items) if !items.is_empty() => items,
        _ if sent == 0 => return Ok(Vec::new()),
        _ => return Err(ResponseError::NoItems { sent }),
    };
    if items.len() != sent {
        return Err(ResponseError::ItemCount {
            sent,
            got: items.len(),
        });
    }
    Ok(items
        .into_iter()
        .map(|Op(i)| {
            let (error_type, error_reason) = match i.error {
                Some(e) => (e.kind.map(Cow::into_owned), e.reason.map(Cow::into_owned)),
                None => (None, None),
            };
            ItemResult {
                status: i.status,
                index: i.index,
                error_type,
                error_reason,
                failure_store: i.failure_store.as_deref() == Some("used"),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_items_status_index_and_error_in_order() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":".ds-logs-a-2026.11.24-000001","_id":"1","status":201}},
            {"create":{"_index":".ds-logs-a-2026.11.24-000001","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict, document already exists"}}},
            {"create":{"_index":"logs-a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"create":{"_index":"logs-a","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}}]}"#;
        let items = parse(body, 4).unwrap();
        assert_eq!(
            items.iter().map(|i| i.status).collect::<Vec<_>>(),
            vec![201, 409, 429, 400]
        );
        assert_eq!(
            items[0].index.as_deref(),
            Some(".ds-logs-a-2026.11.24-000001")
        );
        assert_eq!(
            items[3].error_type.as_deref(),
            Some("mapper_parsing_exception")
        );
        assert_eq!(
            items[1].error_reason.as_deref(),
            Some("[2]: version conflict, document already exists")
        );
        assert!(items.iter().all(|i| !i.failure_store));
    }

    #[test]
    fn a_document_kept_in_the_failure_store_is_flagged() {
        let body = br#"{"errors":false,"items":[{"create":{"_index":".fs-logs-a-2026.11.24-000002","status":201,"failure_store":"used"}}]}"#;
        let items = parse(body, 1).unwrap();
        assert!(items[0].failure_store);
        assert_eq!(items[0].status, 201);
    }

    #[test]
    fn a_200_without_items_is_not_all_created_issue_10() {
        // What the shipper counted as "all indexed" before: a proxy's `{}`, `errors:false`
        // alone, an empty item list.
        for body in [
            &b"{}"[..],
            br#"{"errors":false}"#,
            br#"{"errors":false,"items":[]}"#,
        ] {
            assert_eq!(parse(body, 3), Err(ResponseError::NoItems { sent: 3 }));
        }
        // A truncated body is not JSON.
        assert!(matches!(
            parse(br#"{"errors":false,"items":[{"create":{"status":201}}"#, 2),
            Err(ResponseError::NotJson(_))
        ));
    }

    #[test]
    fn a_short_item_list_is_an_error_not_a_guess() {
        let e = parse(br#"{"errors":true,"items":[{"create":{"status":201}}]}"#, 2).unwrap_err();
        assert_eq!(e, ResponseError::ItemCount { sent: 2, got: 1 });
        assert!(matches!(
            parse(b"<html>", 1),
            Err(ResponseError::NotJson(_))
        ));
    }

    #[test]
    fn an_item_without_status_reads_as_status_zero() {
        let items = parse(br#"{"items":[{"create":{}},{}]}"#, 2).unwrap();
        assert_eq!(items[0].status, 0);
        assert_eq!(items[1].status, 0);
    }
}
