//! What the fuzz targets (`shipper/fuzz/`) run, and what the regression test replays from
//! `tests/data/fuzz/<target>/` (every crash the fuzzer found, and a small minimized corpus):
//! one function per target, from arbitrary bytes to a check that panics when an invariant
//! breaks. Not part of the shipper's API.
//!
//! The invariants: nothing panics; whatever the decoder accepts, serde_json reads the same way
//! (and what serde_json reads as a subscription message, the decoder accepts); every document
//! built is one valid JSON object with the event's id; a `_bulk` answer either fails or gives
//! exactly one result per action.

use std::io::Write;

use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use crate::decode::{self, LogsData};
use crate::document::Transform;
use crate::target::{Naming, TargetMode};

/// A fuzz target's check.
pub type Check = fn(&[u8]);

/// Every target: name and function.
pub const TARGETS: &[(&str, Check)] = &[
    ("payload", payload),
    ("envelope", envelope),
    ("json", json),
    ("message", message),
    ("bulk_response", bulk_response),
];

/// A subscription payload as it arrives (gzip, zlib or plain JSON), then documents.
pub fn payload(data: &[u8]) {
    let Ok(json) = decode::inflate(data) else {
        return;
    };
    check_envelope(&json);
}

/// A valid compressed envelope with hostile contents, made from the bytes: the decoder must
/// give back exactly the events put in. (Random bytes rarely get past the gzip magic; these
/// always do.)
pub fn envelope(data: &[u8]) {
    let mut u = Unstructured(data);
    let n = u.byte() as usize % 6;
    let mut events = Vec::with_capacity(n);
    for i in 0..n {
        let id = if u.byte() % 4 == 0 {
            Value::from(u.u64())
        } else {
            Value::from(format!("{}{i}", u.digits()))
        };
        events.push(serde_json::json!({
            "id": id,
            "timestamp": u.i64(),
            "message": u.text(),
        }));
    }
    let inner = serde_json::json!({
        "messageType": if u.byte() % 8 == 0 { "CONTROL_MESSAGE" } else { "DATA_MESSAGE" },
        "owner": u.text(),
        "logGroup": u.text(),
        "logStream": u.text(),
        "subscriptionFilters": [u.text()],
        "logEvents": events,
    });
    let raw = serde_json::to_vec(&inner).unwrap_or_default();
    let compressed = if u.byte() % 2 == 0 {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(&raw);
        e.finish().unwrap_or_default()
    } else {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(&raw);
        e.finish().unwrap_or_default()
    };
    let b64 = base64::engine::general_purpose::STANDARD.encode(compressed);
    let json = decode::inflate_base64(&b64).expect("a valid envelope inflates");
    assert_eq!(json, raw);
    let logs = decode::parse_logs_data(&json).expect("a valid envelope decodes");
    assert_eq!(logs.log_events.len(), n);
    for (ev, want) in logs.log_events.iter().zip(&events) {
        let id = match &want["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        assert_eq!(ev.id, id);
        assert_eq!(Some(ev.timestamp), want["timestamp"].as_i64());
        assert_eq!(Some(ev.message.as_ref()), want["message"].as_str());
    }
    documents(&logs);
}

/// The one-pass JSON reader against serde_json.
pub fn json(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let theirs = serde_json::from_str::<serde_json::Map<String, Value>>(s);
    match (crate::json::Reader::members(s), theirs) {
        (Some(ms), Ok(map)) => {
            // serde_json's map keeps the last of a repeated key, as the reader's users do.
            let mut ours = serde_json::Map::new();
            for (k, v) in ms {
                ours.insert(
                    k.into_owned(),
                    serde_json::from_str(v).expect("a member's raw value is JSON"),
                );
            }
            assert_eq!(ours, map);
        }
        (None, Err(_)) => {}
        (o, t) => panic!("reader {:?} vs serde_json {:?}", o.is_some(), t.err()),
    }
    let theirs = serde_json::from_str::<Vec<Value>>(s);
    match (crate::json::Reader::items(s), theirs) {
        (Some(items), Ok(v)) => {
            let ours: Vec<Value> = items
                .into_iter()
                .map(|i| serde_json::from_str(i).expect("an item's raw value is JSON"))
                .collect();
            assert_eq!(ours, v);
        }
        (None, Err(_)) => {}
        (o, t) => panic!("reader items {:?} vs serde_json {:?}", o.is_some(), t.err()),
    }
}

/// One message (application JSON, platform line or text) → its document.
pub fn message(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let logs = LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: "123456789012".into(),
        log_group: "/aws/lambda/fuzz".into(),
        log_stream: "s".into(),
        subscription_filters: vec![],
        log_events: vec![decode::LogEvent::new(
            "e1",
            1_795_510_800_000,
            text.as_ref(),
        )],
        policy_level: None,
    };
    documents(&logs);
}

/// A `_bulk` answer to `n` actions (`n` from the first byte).
pub fn bulk_response(data: &[u8]) {
    let Some((&n, body)) = data.split_first() else {
        return;
    };
    if let Ok(items) = crate::response::parse(body, n as usize) {
        assert_eq!(items.len(), n as usize);
    }
    let _ = crate::lookup::read_write_index(body);
    let _ = crate::lookup::read_copies(body);
    let _ = crate::lookup::read_found(body);
}

/// The subscription message as serde_json reads it (the decoder is held to this). Every
/// member the decoder reads is here and in [`MirrorEvent`], so a repeated one is refused by
/// both (serde's derive refuses a duplicate field it knows, and skips one it doesn't: found by
/// the fuzzer, tests/data/fuzz/payload/crash-6110… and crash-fdd2…, a `logGroup` and an
/// `@aws.account` twice).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Mirror {
    message_type: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    log_group: String,
    #[serde(default)]
    log_stream: String,
    #[serde(default)]
    subscription_filters: Vec<String>,
    #[serde(default)]
    policy_level: Option<String>,
    #[serde(default)]
    log_events: Vec<MirrorEvent>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct MirrorEvent {
    id: Value,
    timestamp: i64,
    message: String,
    #[serde(rename = "extractedFields", default)]
    extracted_fields: Option<serde_json::Map<String, Value>>,
    #[serde(rename = "@aws.account", default)]
    account: Option<Value>,
    #[serde(rename = "@aws.region", default)]
    region: Option<Value>,
}

fn check_envelope(json: &[u8]) {
    let ours = decode::parse_logs_data(json);
    // serde_json skips the keys and values it ignores without checking their UTF-8, so it
    // "reads" a payload with invalid UTF-8 there; the decoder refuses any (RFC 8259 §8.1: JSON
    // exchanged between systems is UTF-8) and the payload is dead-lettered raw. The oracle holds
    // only for valid UTF-8 (found by the fuzzer: tests/data/fuzz/payload/crash-0611…).
    if std::str::from_utf8(json).is_ok()
        && let Ok(theirs) = serde_json::from_slice::<Mirror>(json)
        && theirs
            .log_events
            .iter()
            .all(|e| e.id.is_string() || e.id.is_u64() || e.id.is_i64())
    {
        let ours = ours
            .as_ref()
            .unwrap_or_else(|e| panic!("serde_json reads it, the decoder refuses it: {e}"));
        assert_eq!(ours.log_events.len(), theirs.log_events.len());
        for (o, t) in ours.log_events.iter().zip(&theirs.log_events) {
            assert_eq!(o.timestamp, t.timestamp);
            assert_eq!(o.message, t.message);
            let id = match &t.id {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            assert_eq!(o.id, id);
        }
    }
    // Read as the pieces need the events (one to three at a time): the same envelopes, or the
    // same error.
    let whole = decode::parse_logs_data_all(json).map_err(|e| e.to_string());
    let streamed = (|| {
        let mut more = decode::envelopes(json)?;
        let mut all = Vec::new();
        let mut n = 0;
        while more.read(&mut all, n % 3 + 1)? {
            n += 1;
        }
        Ok::<_, decode::DecodeError>(all)
    })()
    .map_err(|e| e.to_string());
    assert_eq!(whole, streamed, "read whole and read as needed differ");
    if let Ok(logs) = ours {
        documents(&logs);
    }
}

/// Every document of `logs`, in both target modes, is one JSON object with the event's id,
/// and goes into a bulk body.
fn documents(logs: &LogsData<'_>) {
    if logs.is_control_message() {
        return;
    }
    for mode in [TargetMode::DataStream, TargetMode::Index] {
        let naming = Naming {
            mode,
            ..Naming::default()
        };
        let mut docs = Vec::new();
        Transform::default().batch(logs, &naming, Some("ap-northeast-2"), 0, |_, d| {
            docs.push(d)
        });
        for d in &docs {
            let v: Value = serde_json::from_slice(&d.source).unwrap_or_else(|e| {
                panic!(
                    "document is not JSON ({e}): {}",
                    String::from_utf8_lossy(&d.source)
                )
            });
            assert!(v.is_object());
            assert_eq!(
                v.pointer("/event/id").and_then(Value::as_str),
                Some(d.id.as_str())
            );
        }
        let items: Vec<usize> = (0..docs.len()).collect();
        let req = crate::request_builder::encode(&docs, items, false);
        let lines = req.body.iter().filter(|&&b| b == b'\n').count();
        assert_eq!(lines, docs.len() * 2, "one action and one source line each");
    }
}

/// Bytes → values, never running out (zeros after the end).
struct Unstructured<'a>(&'a [u8]);

impl Unstructured<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0u64, |a, _| (a << 8) | u64::from(self.byte()))
    }
    fn i64(&mut self) -> i64 {
        self.u64() as i64
    }
    fn digits(&mut self) -> String {
        let n = self.byte() % 60;
        (0..n)
            .map(|_| char::from(b'0' + self.byte() % 10))
            .collect()
    }
    /// Text made of the pieces that are hard for a JSON reader and a log parser: quotes,
    /// backslashes, escapes-looking text, control characters, non-ASCII, whole JSON lines,
    /// Lambda platform prefixes — and raw bytes made valid UTF-8.
    fn text(&mut self) -> String {
        const PIECES: &[&str] = &[
            "\"",
            "\\",
            "\\u0000",
            "\\ud800",
            "\n",
            "\r\n",
            "\t",
            "\u{0}",
            "\u{1f}",
            "é",
            "한글",
            "😀",
            "{",
            "}",
            "[",
            "]",
            ":",
            ",",
            "{\"level\":\"ERROR\",\"msg\":\"x\",\"status\":500}",
            "{\"fields\":{\"message\":\"m\"},\"span\":{\"name\":\"s\"}}",
            "START RequestId: ",
            "REPORT RequestId: 1\tDuration: 1.5 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t",
            "2026-11-24T09:00:00.000Z\t",
            "ERROR",
            "[ERROR]",
            "level=warn ",
            "1e999",
            "-0",
            "null",
            "true",
            "Task timed out after 3.00 seconds",
            "thread 'main' panicked at ",
        ];
        let n = self.byte() % 12;
        let mut s = String::new();
        for _ in 0..n {
            let b = self.byte();
            if b < 200 {
                s.push_str(PIECES[b as usize % PIECES.len()]);
            } else {
                let len = (b - 200) as usize;
                let raw: Vec<u8> = (0..len).map(|_| self.byte()).collect();
                s.push_str(&String::from_utf8_lossy(&raw));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 10 (fuzzing): a payload whose only fault is invalid UTF-8 in a member nobody
    /// reads is refused by the decoder (and so dead-lettered raw), though serde_json, skipping
    /// the member, reads it.
    #[test]
    fn issue_10_invalid_utf8_where_serde_json_does_not_look_is_still_refused() {
        let mut json = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"1","timestamp":1,"message":"m"}],"other":"x"#.to_vec();
        json.extend_from_slice(b"\xff\xfe");
        json.extend_from_slice(br#""}"#);
        assert!(serde_json::from_slice::<Mirror>(&json).is_ok());
        let err = decode::parse_logs_data(&json).expect_err("invalid UTF-8 is refused");
        assert!(err.to_string().contains("invalid UTF-8"), "{err}");
        check_envelope(&json);
    }

    /// The regression tests of the fuzzing: every crash it found (named `crash-*` by
    /// libFuzzer, kept by `scripts/fuzz`) and the minimized corpus sample (`corpus-*`, kept by
    /// `scripts/fuzz --keep-corpus`), replayed through the same checks. Every target must have
    /// inputs: a target whose directory is missing or empty would be checked by nothing.
    #[test]
    fn every_input_the_fuzzer_kept_still_passes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
        for (name, f) in TARGETS {
            let dir = root.join(name);
            let mut replayed = 0;
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let data = std::fs::read(entry.path()).unwrap();
                let r = std::panic::catch_unwind(|| f(&data));
                assert!(r.is_ok(), "{name}: {} fails again", entry.path().display());
                replayed += 1;
            }
            assert!(
                replayed > 0,
                "no fuzz inputs under {} (run `scripts/fuzz --keep-corpus 60 {name}`)",
                dir.display()
            );
        }
    }

    #[test]
    fn every_target_runs_on_empty_and_simple_inputs() {
        for (name, f) in TARGETS {
            for input in [
                &b""[..],
                b"\x00",
                b"{}",
                b"\x1f\x8b",
                b"[1,2]",
                b"\x05{\"items\":[]}",
            ] {
                let r = std::panic::catch_unwind(|| f(input));
                assert!(r.is_ok(), "{name} on {input:?}");
            }
        }
    }
}
