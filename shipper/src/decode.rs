//! Subscription payload → [`LogsData`]: base64, then gzip or zlib (sniffed), then JSON.
//!
//! `aws_lambda_events::cloudwatch_logs::LogsEvent` does this too, but it only inflates gzip
//! (account-level subscription policies deliver zlib, see `fixtures/powertools-account-policy-zlib.json`)
//! and parses through `serde_json::from_reader`, which reads byte by byte and must copy every
//! string. Here the payload is inflated into one buffer (sized from the gzip trailer) and parsed
//! with `from_slice`, borrowing messages that have no escapes: on a 10,000-event batch that
//! halves decode time (see `cargo bench -p shipper`).

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// Largest inflated payload accepted. CloudWatch sends at most 1 MB compressed and 10,000
/// events of at most 256 KB each; a gzip bomb must not take the Lambda's memory.
pub const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// Why a payload could not be decoded. Each names the stage so the dead letter says where.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("payload is not valid base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("payload is neither gzip nor zlib (first bytes {0:02x?})")]
    UnknownCompression(Vec<u8>),
    #[error("payload does not inflate ({kind}): {source}")]
    Inflate {
        kind: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("inflated payload is larger than {MAX_INFLATED_BYTES} bytes")]
    TooLarge,
    #[error("payload is not CloudWatch Logs JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The decoded subscription message, borrowing from the inflated buffer where it can.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogsData<'a> {
    #[serde(borrow)]
    pub message_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub owner: Cow<'a, str>,
    #[serde(borrow, default)]
    pub log_group: Cow<'a, str>,
    #[serde(borrow, default)]
    pub log_stream: Cow<'a, str>,
    #[serde(default)]
    pub subscription_filters: Vec<String>,
    #[serde(borrow, default)]
    pub log_events: Vec<LogEvent<'a>>,
    /// `ACCOUNT_LEVEL_POLICY` for account-level subscription policies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_level: Option<String>,
}

impl LogsData<'_> {
    pub fn is_control_message(&self) -> bool {
        self.message_type == "CONTROL_MESSAGE"
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct LogEvent<'a> {
    /// CloudWatch sends a 56-digit string; moto (and some replays) send an integer.
    #[serde(deserialize_with = "string_or_integer")]
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    /// Present when the subscription filter pattern extracts fields; kept for replays.
    #[serde(
        rename = "extractedFields",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extracted_fields: Option<serde_json::Map<String, serde_json::Value>>,
}

fn string_or_integer<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    struct V;
    impl Visitor<'_> for V {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an event id as a string or an integer")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
        fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
            Ok(v)
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(V)
}

/// Which compression a payload uses, from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zlib,
    /// Already JSON: replays and tests sometimes hand over the inner document uncompressed.
    None,
}

pub fn sniff(bytes: &[u8]) -> Option<Compression> {
    match bytes {
        [0x1f, 0x8b, ..] => Some(Compression::Gzip),
        // zlib: CMF 0x78 (deflate, 32K window) and a header checksum that divides by 31.
        [0x78, flg, ..] if (0x78u16 * 256 + u16::from(*flg)).is_multiple_of(31) => {
            Some(Compression::Zlib)
        }
        [b'{', ..] => Some(Compression::None),
        _ => None,
    }
}

/// base64 text of `awslogs.data` → the inflated JSON bytes.
pub fn inflate_base64(data: &str) -> Result<Vec<u8>, DecodeError> {
    let compressed = base64::engine::general_purpose::STANDARD.decode(data.trim())?;
    inflate(&compressed)
}

/// Compressed (or plain JSON) bytes → JSON bytes.
pub fn inflate(compressed: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let kind = sniff(compressed).ok_or_else(|| {
        DecodeError::UnknownCompression(compressed.iter().take(4).copied().collect())
    })?;
    match kind {
        Compression::None => Ok(compressed.to_vec()),
        Compression::Gzip => {
            // ISIZE, the last 4 bytes, is the inflated size mod 2^32: a good capacity hint.
            let hint = compressed
                .len()
                .checked_sub(4)
                .and_then(|i| compressed.get(i..))
                .and_then(|b| b.try_into().ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0) as u64;
            let reader = flate2::read::MultiGzDecoder::new(compressed);
            read_limited(reader, hint, "gzip")
        }
        Compression::Zlib => {
            let reader = flate2::read::ZlibDecoder::new(compressed);
            read_limited(reader, compressed.len() as u64 * 8, "zlib")
        }
    }
}

fn read_limited(reader: impl Read, hint: u64, kind: &'static str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(hint.min(MAX_INFLATED_BYTES) as usize);
    reader
        .take(MAX_INFLATED_BYTES + 1)
        .read_to_end(&mut out)
        .map_err(|source| DecodeError::Inflate { kind, source })?;
    if out.len() as u64 > MAX_INFLATED_BYTES {
        return Err(DecodeError::TooLarge);
    }
    Ok(out)
}

/// Inflated JSON bytes → [`LogsData`] borrowing from them.
pub fn parse_logs_data(json: &[u8]) -> Result<LogsData<'_>, DecodeError> {
    Ok(serde_json::from_slice(json)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }
    fn zlib(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }
    fn b64(b: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(b)
    }

    #[test]
    fn accepts_integer_event_ids_as_moto_sends_them() {
        let json = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":7,"timestamp":1,"message":"m"}]}"#;
        let d = parse_logs_data(json).unwrap();
        assert_eq!(d.log_events[0].id, "7");
    }

    #[test]
    fn rejects_a_fractional_event_id() {
        let json = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":7.5,"timestamp":1,"message":"m"}]}"#;
        let err = parse_logs_data(json).unwrap_err().to_string();
        assert!(err.contains("event id"), "{err}");
    }

    #[test]
    fn tolerates_unknown_keys_policy_level_and_extracted_fields() {
        let json = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","subscriptionFilters":["f"],"policyLevel":"ACCOUNT_LEVEL_POLICY","somethingNew":{"x":1},"logEvents":[{"id":"1","timestamp":1,"message":"a b","extractedFields":{"a":"a"},"other":true}]}"#;
        let d = parse_logs_data(json).unwrap();
        assert_eq!(d.policy_level.as_deref(), Some("ACCOUNT_LEVEL_POLICY"));
        assert_eq!(d.log_events[0].extracted_fields.as_ref().unwrap()["a"], "a");
    }

    #[test]
    fn gzip_bomb_is_refused_not_inflated() {
        let big = vec![b' '; (MAX_INFLATED_BYTES + 10) as usize];
        let err = inflate(&gzip(&big)).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge), "{err}");
    }

    #[test]
    fn names_the_stage_that_failed() {
        assert!(matches!(
            inflate_base64("not base64!!"),
            Err(DecodeError::Base64(_))
        ));
        assert!(matches!(
            inflate_base64(&b64(b"plain bytes")),
            Err(DecodeError::UnknownCompression(_))
        ));
        let mut truncated = gzip(b"{\"messageType\":\"DATA_MESSAGE\"}");
        truncated.truncate(12);
        assert!(matches!(
            inflate(&truncated),
            Err(DecodeError::Inflate { kind: "gzip", .. })
        ));
        let not_json = gzip(b"hello");
        assert!(matches!(
            parse_logs_data(&inflate(&not_json).unwrap()),
            Err(DecodeError::Json(_))
        ));
    }

    proptest! {
        #[test]
        fn round_trips_any_batch_through_gzip_and_zlib(
            msgs in proptest::collection::vec(".{0,200}", 0..20),
            zl in any::<bool>(),
        ) {
            let data = LogsData {
                message_type: "DATA_MESSAGE".into(),
                owner: "123456789012".into(),
                log_group: "/aws/lambda/f".into(),
                log_stream: "s".into(),
                subscription_filters: vec!["f".into()],
                log_events: msgs.iter().enumerate().map(|(i, m)| LogEvent {
                    id: i.to_string(), timestamp: i as i64, message: m.clone().into(), extracted_fields: None,
                }).collect(),
                policy_level: None,
            };
            let json = serde_json::to_vec(&data).unwrap();
            let packed = if zl { zlib(&json) } else { gzip(&json) };
            let inflated = inflate_base64(&b64(&packed)).unwrap();
            prop_assert_eq!(parse_logs_data(&inflated).unwrap(), data);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(json) = inflate(&bytes) {
                let _ = parse_logs_data(&json);
            }
        }
    }
}
