//! Documents for what can't be indexed: refused events and undecodable payloads.
//!
//! They go to their own data stream (`logs-shipper.deadletter-<namespace>`), visible in Kibana,
//! with the error type and reason, and with the original event as CloudWatch's inner JSON in
//! `deadletter.payload`, which `shipper ship` takes back as input once the cause is fixed.

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
    (naming.mode == TargetMode::DataStream)
        .then(|| json!({"type": "logs", "dataset": DEAD_LETTER_DATASET, "namespace": naming.namespace}))
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
    let dl = DeadLetter {
        timestamp: rfc3339_millis(now_ms),
        message: crate::document::trim_message(&event.message),
        event: json!({"id": event.id, "kind": "pipeline_error", "dataset": DEAD_LETTER_DATASET,
                      "ingested": rfc3339_millis(now_ms), "original_timestamp": rfc3339_millis(event.timestamp)}),
        error: json!({"type": why.error_type, "message": why.reason}),
        aws: json!({"cloudwatch": {"log_group": data.log_group, "log_stream": data.log_stream, "event_id": event.id}}),
        cloud: json!({"provider": "aws", "account": {"id": data.owner}}),
        data_stream: data_stream(naming),
        deadletter: json!({
            "target": refused.index,
            "status": why.status,
            "payload": serde_json::to_string(&single).unwrap_or_default(),
            "document": String::from_utf8_lossy(&refused.source),
        }),
    };
    Document {
        id: event.id.clone(),
        index: naming.target(Stream::DeadLetter, "", now_ms),
        source: serde_json::to_vec(&dl).unwrap_or_default(),
        timestamp_ms: now_ms,
    }
}

/// A payload that is not base64 / gzip / zlib / CloudWatch JSON. Its `_id` is a hash of its
/// bytes, so a Lambda retry of the same payload doesn't add a second record.
pub fn for_undecodable(raw: &[u8], origin: &str, reason: &str, naming: &Naming, now_ms: i64) -> Document {
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
        index: naming.target(Stream::DeadLetter, "", now_ms),
        source: serde_json::to_vec(&dl).unwrap_or_default(),
        timestamp_ms: now_ms,
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter().fold(String::with_capacity(b.len() * 2), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}
