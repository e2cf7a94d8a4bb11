//! `_bulk` response → one outcome per item, in the order the actions were sent.
//!
//! Shape: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//! (`{"took","errors","items":[{"create":{"_index","_id","status","error":{"type","reason"}}}]}`),
//! reduced by [`crate::request_builder::FILTER_PATH`].

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
struct Raw {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<serde_json::Map<String, Value>>,
}

/// One item's result.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    pub status: u16,
    pub error_type: Option<String>,
    pub error_reason: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResponseError {
    #[error("bulk response is not JSON: {0}")]
    NotJson(String),
    #[error("bulk response has {got} items for {sent} actions")]
    ItemCount { sent: usize, got: usize },
}

/// Parses a 200 response to a bulk of `sent` actions. With `errors: false` and no items
/// (a `filter_path` that drops them), every item succeeded.
pub fn parse(body: &[u8], sent: usize) -> Result<Vec<ItemResult>, ResponseError> {
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| ResponseError::NotJson(e.to_string()))?;
    if raw.items.is_empty() && !raw.errors {
        return Ok(vec![
            ItemResult {
                status: 201,
                error_type: None,
                error_reason: None
            };
            sent
        ]);
    }
    if raw.items.len() != sent {
        return Err(ResponseError::ItemCount {
            sent,
            got: raw.items.len(),
        });
    }
    Ok(raw
        .items
        .into_iter()
        .map(|item| {
            // The single key is the op name (`create`); its value holds the result.
            let r = item
                .into_iter()
                .next()
                .map(|(_, v)| v)
                .unwrap_or(Value::Null);
            let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            let err = r.get("error");
            let s = |k: &str| {
                err.and_then(|e| e.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            ItemResult {
                status,
                error_type: s("type"),
                error_reason: s("reason"),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_items_status_and_error_in_order() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":"logs-a","_id":"1","status":201}},
            {"create":{"_index":"logs-a","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict, document already exists"}}},
            {"create":{"_index":"logs-a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"create":{"_index":"logs-a","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}}]}"#;
        let items = parse(body, 4).unwrap();
        assert_eq!(
            items.iter().map(|i| i.status).collect::<Vec<_>>(),
            vec![201, 409, 429, 400]
        );
        assert_eq!(
            items[3].error_type.as_deref(),
            Some("mapper_parsing_exception")
        );
        assert_eq!(
            items[1].error_reason.as_deref(),
            Some("[2]: version conflict, document already exists")
        );
    }

    #[test]
    fn filtered_success_response_means_all_created() {
        let items = parse(br#"{"errors":false}"#, 3).unwrap();
        assert!(items.iter().all(|i| i.status == 201));
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
}
