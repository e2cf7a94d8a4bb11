//! Subscription payload → [`LogsData`]: base64, then gzip or zlib (sniffed), then JSON.
//!
//! `aws_lambda_events::cloudwatch_logs::LogsEvent` does this too, but it only inflates gzip
//! (account-level subscription policies deliver zlib, see `fixtures/powertools-account-policy-zlib.json`)
//! and parses through `serde_json::from_reader`, which reads byte by byte and must copy every
//! string. Here the payload is inflated into one buffer (sized from the gzip trailer) and read
//! by [`envelope`], which borrows messages that have no escapes and unescapes the others in
//! one pass (see `cargo bench -p shipper`).

mod envelope;

pub use envelope::Envelopes;

use std::borrow::Cow;
use std::fmt;
use std::io::Read;

use base64::Engine;
use serde::Serialize;
use serde::de::{self, Deserializer, Visitor};

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
    #[error("payload is not CloudWatch Logs JSON: {reason} at line {line} column {column}")]
    Syntax {
        reason: String,
        line: usize,
        column: usize,
    },
}

/// The decoded subscription message, borrowing from the inflated buffer where it can.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(test, derive(serde::Deserialize))]
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

#[derive(Debug, Clone, Serialize)]
pub struct LogEvent<'a> {
    /// CloudWatch sends a 56-digit string; moto (and some replays) send an integer.
    pub id: String,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// The message text (unescaped).
    pub message: Cow<'a, str>,
    /// The message exactly as the payload's JSON wrote it, between the quotes, when it came
    /// from a payload. A message kept as text is copied from here into its document instead
    /// of being escaped again: on a 150 KB message of logged JSON, escaping cost as much as
    /// all the other work on that event (callgrind).
    #[serde(skip)]
    pub message_json: Option<&'a str>,
    /// Present when the subscription filter pattern extracts fields; kept for replays.
    #[serde(rename = "extractedFields", skip_serializing_if = "Option::is_none")]
    pub extracted_fields: Option<serde_json::Map<String, serde_json::Value>>,
    /// Where the event was logged, when the subscription emits the system fields (boxed:
    /// most events have none, and a bigger event costs every event its copies).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub source: Option<Box<Source>>,
}

/// The `@aws.account` / `@aws.region` system fields of an event (`emitSystemFields` of
/// PutSubscriptionFilter and account-level policies): centralized logs arrive in the receiving
/// account's envelope, whose `owner` is not where they were logged.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Source {
    /// `cloud.account.id` of this event instead of `owner`.
    #[serde(rename = "@aws.account", skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `cloud.region` of this event instead of the shipper's region.
    #[serde(rename = "@aws.region", skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl LogEvent<'_> {
    pub fn account(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| s.account.as_deref())
    }

    pub fn region(&self) -> Option<&str> {
        self.source.as_ref().and_then(|s| s.region.as_deref())
    }
}

impl<'a> LogEvent<'a> {
    /// An event made in memory (tests, `shipper follow`): no JSON form to copy from.
    pub fn new(id: impl Into<String>, timestamp: i64, message: impl Into<Cow<'a, str>>) -> Self {
        LogEvent {
            id: id.into(),
            timestamp,
            message: message.into(),
            message_json: None,
            extracted_fields: None,
            source: None,
        }
    }
}

/// Two events are the same event whatever JSON spelling their message arrived in.
impl PartialEq for LogEvent<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && self.timestamp == o.timestamp
            && self.message == o.message
            && self.extracted_fields == o.extracted_fields
            && self.source == o.source
    }
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

/// The source account and region of an event: its own `@aws.account` / `@aws.region` members,
/// or the same names inside `extractedFields` (where consumers of centralized logs, e.g.
/// Netflix Atlas's CloudWatch Logs endpoint, read them). Only non-empty strings count: an odd
/// value there must not cost the batch.
fn system_fields(
    account: Option<serde_json::Value>,
    region: Option<serde_json::Value>,
    extracted: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Option<Box<Source>> {
    if account.is_none() && region.is_none() && extracted.is_none() {
        return None;
    }
    let pick = |own: Option<serde_json::Value>, key: &str| {
        let text = |v: &serde_json::Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_owned);
        own.as_ref()
            .and_then(text)
            .or_else(|| extracted.and_then(|m| m.get(key)).and_then(text))
    };
    let source = Source {
        account: pick(account, "@aws.account"),
        region: pick(region, "@aws.region"),
    };
    (source.account.is_some() || source.region.is_some()).then(|| Box::new(source))
}

/// The same decoding done by serde's derive (and a second, independent unescaper): the
/// reference the one-pass [`envelope`] reader is tested against.
#[cfg(test)]
mod reference {
    use super::*;
    use serde::Deserialize;

    /// The event as it is on the wire, read by serde: with `LogsData`'s derived `Deserialize`,
    /// the reference [`envelope`] is held to.
    #[derive(Deserialize)]
    struct WireEvent<'a> {
        #[serde(deserialize_with = "string_or_integer")]
        id: String,
        timestamp: i64,
        #[serde(borrow)]
        message: &'a serde_json::value::RawValue,
        #[serde(rename = "extractedFields", default)]
        extracted_fields: Option<serde_json::Map<String, serde_json::Value>>,
        #[serde(rename = "@aws.account", default)]
        account: Option<serde_json::Value>,
        #[serde(rename = "@aws.region", default)]
        region: Option<serde_json::Value>,
    }

    impl<'de: 'a, 'a> Deserialize<'de> for LogEvent<'a> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let w = WireEvent::deserialize(d)?;
            let json = w
                .message
                .get()
                .strip_prefix('"')
                .and_then(|m| m.strip_suffix('"'))
                .ok_or_else(|| de::Error::custom("an event's message must be a string"))?;
            let (message, exact) = unescape(json);
            let source = super::system_fields(w.account, w.region, w.extracted_fields.as_ref());
            Ok(LogEvent {
                id: w.id,
                timestamp: w.timestamp,
                message,
                message_json: exact.then_some(json),
                extracted_fields: w.extracted_fields,
                source,
            })
        }
    }

    /// The contents of a JSON string literal that serde_json has already checked (valid escapes,
    /// no raw control characters, UTF-8) → its text, and whether the text is exact. A lone UTF-16
    /// surrogate (`\ud800`), which no `str` can hold, becomes U+FFFD and makes it inexact; an
    /// inexact message is written from the text, never copied.
    fn unescape(json: &str) -> (Cow<'_, str>, bool) {
        let Some(first) = memchr::memchr(b'\\', json.as_bytes()) else {
            return (Cow::Borrowed(json), true);
        };
        let b = json.as_bytes();
        let mut out = String::with_capacity(json.len());
        let mut exact = true;
        let mut start = 0;
        let mut i = first;
        // `i` is at a backslash; every slice boundary is next to an ASCII byte, so slicing `json`
        // there is always on a character boundary.
        loop {
            out.push_str(&json[start..i]);
            let code = b.get(i + 1).copied().unwrap_or(b'"');
            i += 2;
            let c = match code {
                b'n' => '\n',
                b't' => '\t',
                b'r' => '\r',
                b'b' => '\u{8}',
                b'f' => '\u{c}',
                b'u' => {
                    let hi = hex4(b, i);
                    i += 4;
                    match hi {
                        Some(hi @ 0xD800..=0xDBFF) => {
                            let lo = (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
                                .then(|| hex4(b, i + 2))
                                .flatten()
                                .filter(|lo| (0xDC00..=0xDFFF).contains(lo));
                            match lo {
                                Some(lo) => {
                                    i += 6;
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                                        .unwrap_or(char::REPLACEMENT_CHARACTER)
                                }
                                None => {
                                    exact = false;
                                    char::REPLACEMENT_CHARACTER
                                }
                            }
                        }
                        Some(u) => char::from_u32(u).unwrap_or_else(|| {
                            exact = false;
                            char::REPLACEMENT_CHARACTER
                        }),
                        None => {
                            exact = false;
                            char::REPLACEMENT_CHARACTER
                        }
                    }
                }
                // `\"`, `\\`, `\/`: the character itself.
                other => char::from(other),
            };
            out.push(c);
            start = i.min(b.len());
            match memchr::memchr(b'\\', &b[start..]) {
                Some(off) => i = start + off,
                None => break,
            }
        }
        out.push_str(&json[start..]);
        (Cow::Owned(out), exact)
    }

    fn hex4(b: &[u8], at: usize) -> Option<u32> {
        let digits = b.get(at..at + 4)?;
        digits
            .iter()
            .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
    }
}

/// Where log lines that arrived without a CloudWatch envelope came from: a Firehose record
/// from a source that writes to Firehose itself (AWS WAF to a stream named `aws-waf-logs-*`,
/// API Gateway access logs to `amazon-apigateway-*`), or a stream that extracts messages.
#[derive(Debug, Clone, PartialEq)]
pub struct LinesOrigin {
    /// The record id: the events' ids are `<id>-<line number>`, the same on every retry.
    pub id: String,
    /// When Firehose received the record (ms): the events' time.
    pub timestamp_ms: i64,
    /// Stands for the log group: the delivery stream's name.
    pub log_group: String,
    /// The delivery stream's account.
    pub owner: String,
}

/// Log lines without an envelope → a batch with one event per non-empty line, borrowing
/// them; `None` unless `text` is UTF-8 with at least one line.
pub fn lines_batch<'a>(text: &'a [u8], origin: &LinesOrigin) -> Option<LogsData<'a>> {
    let text = std::str::from_utf8(text).ok()?;
    let log_events: Vec<LogEvent<'a>> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(n, line)| LogEvent::new(format!("{}-{n}", origin.id), origin.timestamp_ms, line))
        .collect();
    (!log_events.is_empty()).then(|| LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: origin.owner.clone().into(),
        log_group: origin.log_group.clone().into(),
        log_stream: "firehose".into(),
        subscription_filters: Vec::new(),
        log_events,
        policy_level: None,
    })
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
            // Every member: a Firehose S3 object is the records' gzip streams back to back.
            let reader = flate2::read::MultiGzDecoder::new(compressed);
            let out = read_limited(reader, hint, "gzip")?;
            // A Firehose stream that gzips its S3 objects as well wraps those once more.
            if sniff(&out) == Some(Compression::Gzip) {
                let reader = flate2::read::MultiGzDecoder::new(&out[..]);
                return read_limited(reader, out.len() as u64 * 8, "gzip");
            }
            Ok(out)
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
    envelope::logs_data(json)
}

/// Inflated JSON bytes with one or more envelopes back to back (a Firehose-delivered S3
/// object holds every record of a buffer interval, concatenated) → each [`LogsData`].
pub fn parse_logs_data_all(json: &[u8]) -> Result<Vec<LogsData<'_>>, DecodeError> {
    envelope::logs_data_all(json)
}

/// [`parse_logs_data_all`], read as the events are needed ([`Envelopes::read`]).
pub fn envelopes(json: &[u8]) -> Result<Envelopes<'_>, DecodeError> {
    Envelopes::new(json)
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
            Err(DecodeError::Syntax { .. })
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
                log_events: msgs.iter().enumerate().map(|(i, m)| LogEvent::new(i.to_string(), i as i64, m.clone())).collect(),
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

        #[test]
        fn one_pass_reader_reads_what_serde_reads(json in envelope_json()) {
            same_as_serde(json.as_bytes())?;
        }

        #[test]
        fn envelopes_read_as_needed_are_what_the_whole_read_gives_issue_15(
            parts in proptest::collection::vec((envelope_json(), ws()), 1..4),
            budgets in proptest::collection::vec(1usize..5, 1..4),
        ) {
            let json: String = parts.iter().map(|(e, w)| format!("{e}{w}")).collect();
            same_as_whole(json.as_bytes(), &budgets)?;
        }

        #[test]
        fn envelopes_read_as_needed_refuse_what_the_whole_read_refuses_where_it_does_issue_15(
            parts in proptest::collection::vec(envelope_json(), 1..3),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, any::<u8>()), 1..4),
            budgets in proptest::collection::vec(1usize..5, 1..4),
        ) {
            let mut b = parts.concat().into_bytes();
            mutate(&mut b, &cuts);
            same_as_whole(&b, &budgets)?;
        }

        #[test]
        fn one_pass_reader_refuses_what_serde_refuses(
            json in envelope_json(),
            cuts in proptest::collection::vec((any::<prop::sample::Index>(), 0usize..4, any::<u8>()), 1..4),
        ) {
            let mut b = json.into_bytes();
            mutate(&mut b, &cuts);
            same_as_serde(&b)?;
        }
    }

    /// Cuts, removals, JSON tokens inserted and bytes overwritten, where `cuts` say.
    fn mutate(b: &mut Vec<u8>, cuts: &[(prop::sample::Index, usize, u8)]) {
        for (at, how, byte) in cuts {
            if b.is_empty() {
                break;
            }
            let i = at.index(b.len());
            match how {
                0 => b.truncate(i),
                1 => {
                    b.remove(i);
                }
                2 => {
                    let tokens = b"\"\\{}[],:0u \x01";
                    b.insert(i, tokens[usize::from(*byte) % tokens.len()]);
                }
                _ => b[i] = *byte,
            }
        }
    }

    /// Read a few events at a time, the envelopes are what [`parse_logs_data_all`] reads, or
    /// its error: the header first (`0`), then `budgets` events at a time, round and round.
    fn same_as_whole(json: &[u8], budgets: &[usize]) -> Result<(), TestCaseError> {
        let whole = parse_logs_data_all(json);
        let streamed = (|| {
            let mut s = envelopes(json)?;
            let mut all = Vec::new();
            let mut more = s.read(&mut all, 0)?;
            for n in budgets.iter().cycle() {
                if !more {
                    break;
                }
                more = s.read(&mut all, (*n).max(1))?;
            }
            Ok::<_, DecodeError>(all)
        })();
        match (&whole, &streamed) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b);
                let spell = |all: &[LogsData]| {
                    all.iter()
                        .flat_map(|d| {
                            d.log_events
                                .iter()
                                .map(|e| e.message_json.map(str::to_owned))
                        })
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(spell(a), spell(b));
            }
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            _ => prop_assert!(
                false,
                "whole {:?} but streamed {:?} on {}",
                whole.as_ref().err(),
                streamed.as_ref().err(),
                String::from_utf8_lossy(json)
            ),
        }
        Ok(())
    }

    /// The one-pass reader and serde's derive agree: same data, same message spellings, or
    /// both refuse.
    fn same_as_serde(json: &[u8]) -> Result<(), TestCaseError> {
        let ours = parse_logs_data(json);
        let theirs = serde_json::from_slice::<LogsData>(json);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                prop_assert_eq!(a, b);
                let spell = |d: &LogsData| {
                    d.log_events
                        .iter()
                        .map(|e| e.message_json.map(str::to_owned))
                        .collect::<Vec<_>>()
                };
                prop_assert_eq!(spell(a), spell(b));
            }
            (Err(_), Err(_)) => {}
            // Stricter by design: the whole payload must be UTF-8, where serde_json lets
            // invalid bytes through inside a value it skips (an unknown key's string).
            (Err(DecodeError::Syntax { reason, .. }), Ok(_)) if reason == "invalid UTF-8" => {}
            _ => prop_assert!(
                false,
                "one-pass {:?} but serde {:?} on {}",
                ours.as_ref().err(),
                theirs.as_ref().err(),
                String::from_utf8_lossy(json)
            ),
        }
        Ok(())
    }

    /// A string spelled the ways JSON allows: plain, `\uXXXX` for any character (surrogate
    /// pairs above the BMP), `\/`, and, now and then, a lone surrogate.
    fn json_string() -> impl Strategy<Value = String> {
        proptest::collection::vec((any::<char>(), 0u8..10), 0..40).prop_map(|chars| {
            let mut out = String::from("\"");
            for (c, how) in chars {
                match how {
                    0 => {
                        let mut units = [0u16; 2];
                        for u in c.encode_utf16(&mut units) {
                            out.push_str(&format!("\\u{u:04X}"));
                        }
                    }
                    1 => out.push_str("\\/"),
                    2 => out.push_str("\\ud83d"),
                    _ => {
                        let plain = serde_json::to_string(&c.to_string()).unwrap();
                        out.push_str(&plain[1..plain.len() - 1]);
                    }
                }
            }
            out.push('"');
            out
        })
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", " ", "\n  ", "\t"])
    }

    /// CloudWatch Logs JSON with what senders vary: spacing, key order, integer or string ids,
    /// `extractedFields`, unknown keys, escapes of every kind.
    fn envelope_json() -> impl Strategy<Value = String> {
        let event = (
            json_string(),
            any::<bool>(),
            any::<i64>(),
            any::<bool>(),
            any::<bool>(),
            ws(),
        )
            .prop_map(|(m, int_id, ts, extra, unknown, w)| {
                let id = if int_id {
                    ts.unsigned_abs().to_string()
                } else {
                    format!("\"{}\"", ts.unsigned_abs())
                };
                let mut fields = vec![
                    format!("\"id\":{w}{id}"),
                    format!("\"timestamp\":{ts}"),
                    format!("\"message\":{w}{m}"),
                ];
                if extra {
                    fields.push(format!("\"extractedFields\":{{\"k\":{m}}}"));
                }
                if unknown {
                    fields.insert(1, format!("\"other\":[1,{{\"x\":null}},{m}]"));
                }
                format!("{{{w}{}{w}}}", fields.join(&format!(",{w}")))
            });
        (
            proptest::collection::vec(event, 0..6),
            json_string(),
            ws(),
            any::<bool>(),
            0usize..12,
        )
            .prop_map(|(events, group, w, policy, turn)| {
                let mut fields = vec![
                    format!("\"messageType\":{w}\"DATA_MESSAGE\""),
                    format!("\"owner\":\"123456789012\""),
                    format!("\"logGroup\":{group}"),
                    format!("\"logStream\":{w}\"s\""),
                    format!("\"subscriptionFilters\":[{group}]"),
                    format!("\"logEvents\":[{}]", events.join(&format!(",{w}"))),
                ];
                if policy {
                    fields.insert(
                        2,
                        "\"policyLevel\":\"ACCOUNT_LEVEL_POLICY\",\"new\":{}".into(),
                    );
                }
                // Mostly CloudWatch's order (`logEvents` last); else members after it.
                if turn < fields.len() {
                    fields.rotate_left(turn);
                }
                format!("{w}{{{}}}{w}", fields.join(","))
            })
    }

    /// A Firehose S3 object: the records' envelopes back to back, no delimiter (or newlines,
    /// when the stream decompresses and adds one).
    #[test]
    fn concatenated_envelopes_are_read_in_order_and_a_bad_one_is_named_by_position() {
        let one = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"a","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m1"}]}"#;
        let two = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"b","logStream":"s","logEvents":[{"id":"2","timestamp":2,"message":"m2"}]}"#;
        for joined in [format!("{one}{two}"), format!("{one}\n{two}\n")] {
            let all = parse_logs_data_all(joined.as_bytes()).unwrap();
            let groups: Vec<&str> = all.iter().map(|d| &*d.log_group).collect();
            assert_eq!(groups, ["a", "b"]);
        }
        // One envelope reads the same either way; trailing garbage is still refused.
        assert_eq!(parse_logs_data_all(one.as_bytes()).unwrap().len(), 1);
        assert!(parse_logs_data(format!("{one}{two}").as_bytes()).is_err());
        let err = parse_logs_data_all(format!("{one}\n{{\"logEvents\":[]}}").as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("missing field `messageType` at line 2"),
            "{err}"
        );
        // Inflating a gzip of gzips (a stream that compresses its S3 objects) gets the JSON.
        let object = [gzip(one.as_bytes()), gzip(two.as_bytes())].concat();
        let json = inflate(&gzip(&object)).unwrap();
        assert_eq!(parse_logs_data_all(&json).unwrap().len(), 2);
    }

    #[test]
    fn envelopes_read_as_needed_name_a_member_repeated_after_the_events_as_the_whole_read_does_issue_15()
     {
        let head = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","#;
        let events = r#""logEvents":[{"id":"1","timestamp":1,"message":"m"},{"id":"2","timestamp":2,"message":"n"}]"#;
        for (before, after) in [
            ("", r#","logStream":"t""#),
            ("", r#","owner":"2""#),
            ("", r#","logEvents":[]"#),
            (
                r#""subscriptionFilters":[],"#,
                r#","subscriptionFilters":["f"]"#,
            ),
            (
                r#""policyLevel":null,"#,
                r#","policyLevel":"ACCOUNT_LEVEL_POLICY""#,
            ),
            ("", r#","policyLevel":"A","policyLevel":"B""#),
            (
                "",
                r#","subscriptionFilters":["f"],"x":1}{"messageType":"DATA_MESSAGE""#,
            ),
            (
                "",
                r#","policyLevel":"ACCOUNT_LEVEL_POLICY","subscriptionFilters":["f"]"#,
            ),
        ] {
            let json = format!("{head}{before}{events}{after}}}");
            let whole = parse_logs_data_all(json.as_bytes());
            same_as_whole(json.as_bytes(), &[1]).unwrap_or_else(|e| panic!("{json}: {e}"));
            if after.contains("\"t\"") {
                assert!(
                    whole
                        .unwrap_err()
                        .to_string()
                        .contains("duplicate field `logStream`")
                );
            }
        }
    }

    #[test]
    fn lines_without_an_envelope_become_one_event_per_line_with_stable_ids() {
        let origin = LinesOrigin {
            id: "rec-1".into(),
            timestamp_ms: 5,
            log_group: "aws-waf-logs-x".into(),
            owner: "111122223333".into(),
        };
        let d = lines_batch(b"{\"a\":1}\n\n second line \r\n", &origin).unwrap();
        assert_eq!(d.log_group, "aws-waf-logs-x");
        let ids: Vec<&str> = d.log_events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["rec-1-0", "rec-1-1"]);
        assert_eq!(d.log_events[1].message, " second line ");
        assert!(lines_batch(b"\xff\xfe", &origin).is_none(), "not UTF-8");
        assert!(lines_batch(b"\n  \n", &origin).is_none(), "no lines");
    }

    #[test]
    fn a_lone_surrogate_becomes_a_replacement_character_not_an_undecodable_batch() {
        let json = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"a\ud800b"}]}"#;
        let d = parse_logs_data(json).unwrap();
        assert_eq!(d.log_events[0].message, "a\u{fffd}b");
        // The text is not what the JSON says, so it is never copied verbatim.
        assert_eq!(d.log_events[0].message_json, None);
    }

    #[test]
    fn keeps_each_messages_json_spelling_for_copying() {
        let json = br#"{"messageType":"DATA_MESSAGE","logEvents":[{"id":"1","timestamp":1,"message":"say \"hi\"\u00e9\n"}]}"#;
        let d = parse_logs_data(json).unwrap();
        assert_eq!(d.log_events[0].message, "say \"hi\"\u{e9}\n");
        assert_eq!(d.log_events[0].message_json, Some(r#"say \"hi\"\u00e9\n"#));
    }

    #[test]
    fn syntax_errors_say_what_and_where() {
        let cases: [(&[u8], &str); 5] = [
            (b"{\"messageType\":\"DATA_MESSAGE\",\n\"logEvents\":[{\"id\":\"1\",\"timestamp\":1}]}", "missing field `message` at line 2"),
            (b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"id\":\"1\",\"timestamp\":1,\"message\":7}]}", "an event's message must be a string at line 1 column 78"),
            (b"{\"messageType\":\"A\",\"messageType\":\"B\"}", "duplicate field `messageType`"),
            (b"{\"messageType\":\"DATA_MESSAGE\",\"logEvents\":[{\"id\":\"1\",\"timestamp\":\"x\",\"message\":\"m\"}]}", "invalid type: string \"x\", expected i64 at line 1 column 68"),
            (b"{\"messageType\":\"DATA\xff\"}", "invalid UTF-8 at line 1 column 21"),
        ];
        for (json, want) in cases {
            let err = parse_logs_data(json).unwrap_err().to_string();
            assert!(
                err.starts_with("payload is not CloudWatch Logs JSON: "),
                "{err}"
            );
            assert!(err.contains(want), "{err} does not contain {want}");
        }
    }
}
