//! Documents for what can't be indexed: refused events and undecodable payloads.
//!
//! They go to their own data stream (`logs-shipper.deadletter-<namespace>`), visible in Kibana,
//! with the error type and reason, and with the original event as CloudWatch's inner JSON in
//! `deadletter.payload` (gzipped and base64-encoded when the event was refused as too large),
//! which `shipper ship` takes back as input once the cause is fixed.

use serde::Serialize;
use serde_json::json;
use sha2::Digest;

use crate::decode::{LogEvent, LogsData};
use crate::deliver::Rejected;
use crate::document::{Document, rfc3339_millis};
use crate::target::{DEAD_LETTER_DATASET, Naming, Stream, TargetMode};

#[derive(Serialize)]
struct DeadLetter<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    message: &'a str,
    event: serde_json::Value,
    error: serde_json::Value,
    aws: serde_json::Value,
    cloud: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_stream: Option<serde_json::Value>,
    deadletter: serde_json::Value,
}

fn data_stream(naming: &Naming) -> Option<serde_json::Value> {
    (naming.mode == TargetMode::DataStream).then(
        || json!({"type": "logs", "dataset": DEAD_LETTER_DATASET, "namespace": naming.namespace}),
    )
}

/// Where an earlier dead letter of the same event could be: the dead-letter data stream (any
/// backing index), or every dated dead-letter index.
pub fn search_target(naming: &Naming) -> String {
    match naming.mode {
        TargetMode::DataStream => naming.target(Stream::DeadLetter, "", 0),
        TargetMode::Index => format!("{}-deadletter-*", naming.index_prefix),
    }
}

/// A refused event. Its `_id` is the event id, so dead-lettering twice stays one record.
pub fn for_rejected(
    data: &LogsData<'_>,
    event: &LogEvent<'_>,
    refused: &Document,
    why: &Rejected,
    naming: &Naming,
    now_ms: i64,
) -> Document {
    let single = LogsData {
        message_type: data.message_type.clone(),
        owner: data.owner.clone(),
        log_group: data.log_group.clone(),
        log_stream: data.log_stream.clone(),
        subscription_filters: data.subscription_filters.clone(),
        log_events: vec![event.clone()],
        policy_level: data.policy_level.clone(),
    };
    let payload = serde_json::to_string(&single).unwrap_or_default();
    let message = crate::document::trim_message(&event.message);
    // A document refused for its size (413) would come back as a dead letter several times
    // larger (message + payload + document), refused again, failing the invocation forever.
    // So that one carries no copy of the document, a 1 KiB preview of the message, and the
    // payload gzipped and base64-encoded (what `shipper ship` and `RawPayload::Base64` take).
    let too_large = why.status == 413;
    let deadletter = if too_large {
        json!({"target": refused.index, "status": why.status, "payload": gzip_base64(payload.as_bytes())})
    } else {
        json!({
            "target": refused.index,
            "status": why.status,
            "payload": payload,
            "document": String::from_utf8_lossy(&refused.source),
        })
    };
    let dl = DeadLetter {
        timestamp: rfc3339_millis(now_ms),
        message: if too_large {
            preview(message, 1024)
        } else {
            message
        },
        event: {
            let mut e = json!({"id": event.id, "kind": "pipeline_error", "dataset": DEAD_LETTER_DATASET,
                               "ingested": rfc3339_millis(now_ms)});
            // A timestamp no date field holds stays only in the payload, as CloudWatch sent it.
            if crate::handler::timestamp_in_range(event.timestamp) {
                e["original_timestamp"] = json!(rfc3339_millis(event.timestamp));
            }
            e
        },
        error: json!({"type": why.error_type, "message": why.reason}),
        aws: json!({"cloudwatch": {"log_group": data.log_group, "log_stream": data.log_stream, "event_id": event.id}}),
        cloud: json!({"provider": "aws", "account": {"id": event.account().unwrap_or(&data.owner)}}),
        data_stream: data_stream(naming),
        deadletter,
    };
    Document {
        id: event.id.clone(),
        index: naming.target(Stream::DeadLetter, "", now_ms).into(),
        source: serde_json::to_vec(&dl).unwrap_or_default(),
        timestamp_ms: now_ms,
        pipeline: None,
    }
}

/// A payload that is not base64 / gzip / zlib / CloudWatch JSON. Its `_id` is a hash of its
/// bytes, so a Lambda retry of the same payload doesn't add a second record.
pub fn for_undecodable(
    raw: &[u8],
    origin: &str,
    reason: &str,
    naming: &Naming,
    now_ms: i64,
) -> Document {
    let id = hex(&sha2::Sha256::digest(raw));
    // Keep it replayable and JSON-safe: base64 of exactly what arrived.
    use base64::Engine;
    let payload = base64::engine::general_purpose::STANDARD.encode(raw);
    let message = format!("undecodable payload from {origin}: {reason}");
    let dl = DeadLetter {
        timestamp: rfc3339_millis(now_ms),
        message: &message,
        event: json!({"id": id, "kind": "pipeline_error", "dataset": DEAD_LETTER_DATASET, "ingested": rfc3339_millis(now_ms)}),
        error: json!({"type": "undecodable_payload", "message": reason}),
        aws: json!({}),
        cloud: json!({"provider": "aws"}),
        data_stream: data_stream(naming),
        deadletter: json!({"target": origin, "status": 0, "payload": payload}),
    };
    Document {
        id,
        index: naming.target(Stream::DeadLetter, "", now_ms).into(),
        source: serde_json::to_vec(&dl).unwrap_or_default(),
        timestamp_ms: now_ms,
        pipeline: None,
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn preview(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn gzip_base64(b: &[u8]) -> String {
    use base64::Engine;
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let z = enc
        .write_all(b)
        .and_then(|()| enc.finish())
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(z)
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn data(message: &str) -> LogsData<'_> {
        LogsData {
            message_type: Cow::Borrowed("DATA_MESSAGE"),
            owner: Cow::Borrowed("123456789012"),
            log_group: Cow::Borrowed("/aws/lambda/orders"),
            log_stream: Cow::Borrowed("s"),
            subscription_filters: vec!["to-es".into()],
            log_events: vec![LogEvent::new("e1", 1, message)],
            policy_level: None,
        }
    }

    fn refused(doc_bytes: usize, status: u16) -> (Document, Rejected) {
        let doc = Document {
            id: "e1".into(),
            index: "logs-x-default".into(),
            source: vec![b'a'; doc_bytes],
            timestamp_ms: 1,
            pipeline: None,
        };
        let why = Rejected {
            doc: 0,
            status,
            error_type: "t".into(),
            reason: "r".into(),
        };
        (doc, why)
    }

    #[test]
    fn a_dead_letter_for_a_413_is_smaller_than_the_refused_document_and_still_replayable() {
        let message: String = (0..4000)
            .map(|i| format!("  {i}: frame at src/handler.rs:{i}\n"))
            .collect();
        let d = data(&message);
        let (doc, why) = refused(message.len() + 500, 413);
        let dl = for_rejected(&d, &d.log_events[0], &doc, &why, &Naming::default(), 0);
        assert!(
            dl.source.len() < doc.source.len() / 4,
            "{} vs {}",
            dl.source.len(),
            doc.source.len()
        );
        let v: serde_json::Value = serde_json::from_slice(&dl.source).unwrap();
        assert!(v["deadletter"].get("document").is_none());
        assert_eq!(v["message"].as_str().unwrap().len(), 1024);
        let inner =
            crate::decode::inflate_base64(v["deadletter"]["payload"].as_str().unwrap()).unwrap();
        let back = crate::decode::parse_logs_data(&inner).unwrap();
        assert_eq!(back.log_events[0].message, message);
    }

    #[test]
    fn any_other_dead_letter_keeps_the_document_and_the_inner_json_payload() {
        let d = data("bad");
        let (doc, why) = refused(10, 400);
        let dl = for_rejected(&d, &d.log_events[0], &doc, &why, &Naming::default(), 0);
        let v: serde_json::Value = serde_json::from_slice(&dl.source).unwrap();
        assert_eq!(v["deadletter"]["document"], "aaaaaaaaaa");
        assert!(
            v["deadletter"]["payload"]
                .as_str()
                .unwrap()
                .starts_with('{')
        );
        assert_eq!(v["message"], "bad");
    }
}
