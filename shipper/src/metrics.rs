//! One CloudWatch Embedded Metric Format line and one health document per invocation.
//!
//! EMF: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
//! — a JSON line on stdout that CloudWatch turns into metrics without an API call.

use serde_json::{Value, json};

use crate::deliver::Stats;
use crate::document::{Document, rfc3339_millis};
use crate::target::{HEALTH_DATASET, Naming, Stream, TargetMode};

pub const NAMESPACE: &str = "CloudWatchEsShipper";

/// What one invocation did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Summary {
    pub received: u64,
    pub dead_lettered: u64,
    pub undecodable: u64,
    pub control_messages: u64,
    /// Events not shipped by choice: routing `drop`, the loop guard, filters, START/END lines.
    pub dropped: u64,
    /// Events shipped with something redacted.
    pub redacted: u64,
    /// Events neither indexed nor dead-lettered (out of time, or refused by the cluster's
    /// configuration): the invocation failed, and they come back with its retry.
    pub undelivered: u64,
    pub stats: Stats,
}

/// The EMF line (without newline).
pub fn emf_line(s: &Summary, function_name: &str, now_ms: i64) -> String {
    let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
    json!({
        "_aws": {
            "Timestamp": now_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["FunctionName"]],
                "Metrics": [
                    metric("EventsReceived", "Count"),
                    metric("EventsIndexed", "Count"),
                    metric("EventsAlreadyPresent", "Count"),
                    metric("EventsRetried", "Count"),
                    metric("EventsDeadLettered", "Count"),
                    metric("EventsUndelivered", "Count"),
                    metric("EventsInFailureStore", "Count"),
                    metric("DuplicatesRemoved", "Count"),
                    metric("BytesSent", "Bytes"),
                    metric("BulkLatencyMs", "Milliseconds"),
                    metric("EventsDropped", "Count"),
                    metric("EventsRedacted", "Count"),
                ]
            }]
        },
        "FunctionName": function_name,
        "EventsReceived": s.received,
        "EventsIndexed": s.stats.indexed,
        "EventsAlreadyPresent": s.stats.already_present,
        "EventsRetried": s.stats.retried,
        "EventsDeadLettered": s.dead_lettered,
        "EventsUndelivered": s.undelivered,
        "EventsInFailureStore": s.stats.failure_store,
        "DuplicatesRemoved": s.stats.duplicates_removed,
        "BytesSent": s.stats.bytes_sent,
        "BulkLatencyMs": s.stats.bulk_latency.as_secs_f64() * 1000.0,
        "EventsDropped": s.dropped,
        "EventsRedacted": s.redacted,
    })
    .to_string()
}

/// The health document (`logs-shipper.health-<namespace>`) for the Shipper health dashboard.
/// `id` is unique per invocation attempt (Lambda) or per run (`ship`, `follow` batches): a
/// reused id would be a 409, and the second report lost.
pub fn health_doc(
    s: &Summary,
    execution: &str,
    id: &str,
    region: Option<&str>,
    naming: &Naming,
    now_ms: i64,
) -> Document {
    let mut v = json!({
        "@timestamp": rfc3339_millis(now_ms),
        "message": format!(
            "received {} indexed {} already present {} retried {} dead-lettered {}",
            s.received, s.stats.indexed, s.stats.already_present, s.stats.retried, s.dead_lettered
        ),
        "event": {"kind": "metric", "dataset": HEALTH_DATASET, "id": id},
        "faas": {"execution": execution},
        "cloud": {"provider": "aws", "region": region},
        "shipper": {
            "events": {
                "received": s.received,
                "indexed": s.stats.indexed,
                "already_present": s.stats.already_present,
                "retried": s.stats.retried,
                "dead_lettered": s.dead_lettered,
                "dropped": s.dropped,
                "redacted": s.redacted,
                "undelivered": s.undelivered,
                "in_failure_store": s.stats.failure_store,
            },
            "duplicates_removed": s.stats.duplicates_removed,
            "lookups": s.stats.lookups,
            "bytes_sent": s.stats.bytes_sent,
            "bulk_latency_ms": s.stats.bulk_latency.as_secs_f64() * 1000.0,
            "requests": s.stats.requests,
        }
    });
    if naming.mode == TargetMode::DataStream {
        v["data_stream"] =
            json!({"type": "logs", "dataset": HEALTH_DATASET, "namespace": naming.namespace});
    }
    if region.is_none()
        && let Some(c) = v.get_mut("cloud").and_then(Value::as_object_mut)
    {
        c.remove("region");
    }
    Document {
        id: id.to_owned(),
        index: naming.target(Stream::Health, "", now_ms).into(),
        source: v.to_string().into_bytes(),
        timestamp_ms: now_ms,
        pipeline: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn emf_line_declares_every_metric_it_carries() {
        let s = Summary {
            received: 10,
            dead_lettered: 1,
            dropped: 4,
            redacted: 2,
            stats: Stats {
                indexed: 8,
                already_present: 1,
                retried: 3,
                requests: 2,
                bytes_sent: 999,
                bulk_latency: Duration::from_millis(12),
                ..Stats::default()
            },
            ..Summary::default()
        };
        let v: Value = serde_json::from_str(&emf_line(&s, "shipper", 5)).unwrap();
        let declared = &v["_aws"]["CloudWatchMetrics"][0]["Metrics"];
        for m in declared.as_array().unwrap() {
            let name = m["Name"].as_str().unwrap();
            assert!(v[name].is_number(), "{name} declared but missing");
        }
        assert_eq!(v["EventsIndexed"], 8);
        assert_eq!(v["EventsDeadLettered"], 1);
        assert_eq!(v["BulkLatencyMs"], 12.0);
        assert_eq!(v["EventsDropped"], 4);
        assert_eq!(v["EventsRedacted"], 2);
        assert_eq!(v["FunctionName"], "shipper");
    }

    #[test]
    fn the_health_document_counts_dropped_and_redacted_events() {
        let s = Summary {
            received: 10,
            dropped: 3,
            redacted: 2,
            ..Summary::default()
        };
        let d = health_doc(&s, "req-1", "req-1-0", None, &Naming::default(), 0);
        let v: Value = serde_json::from_slice(&d.source).unwrap();
        assert_eq!(v["shipper"]["events"]["dropped"], 3);
        assert_eq!(v["shipper"]["events"]["redacted"], 2);
    }
}
