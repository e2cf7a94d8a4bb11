//! The inflated CloudWatch Logs JSON → [`LogsData`], strings read in one pass.
//!
//! With `serde_json::from_slice`, a string with escapes is read twice (once to find its end,
//! once to unescape it into scratch space), at ~250 instructions per escape; a JSON line
//! logged inside a message has an escape for every quote, and on a generated 1,000-event batch
//! that was a quarter of the whole transform (callgrind). Here a string is unescaped while it
//! is scanned, and a message keeps its JSON spelling ([`LogEvent::message_json`]) so that a
//! message kept as text is copied into its document, not escaped again. Everything else
//! (numbers, `subscriptionFilters`, `extractedFields`, keys nobody knows yet) is handed to
//! serde_json, so what is accepted and refused is what `serde_json` accepts and refuses: the
//! property tests in `decode.rs` hold this reader to the serde-derived one.

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{DecodeError, LogEvent, LogsData, string_or_integer};
use crate::json::{R, Reader, Syntax};

/// Inflated JSON bytes → [`LogsData`] borrowing from them.
pub(super) fn logs_data(json: &[u8]) -> Result<LogsData<'_>, DecodeError> {
    let s = std::str::from_utf8(json).map_err(|e| {
        position(
            json,
            Syntax {
                reason: "invalid UTF-8".into(),
                at: e.valid_up_to(),
            },
        )
    })?;
    let mut p = Reader::new(s);
    read(&mut p)
        .and_then(|d| {
            p.ws();
            if p.i == p.source().len() {
                Ok(d)
            } else {
                Err(p.err("trailing characters"))
            }
        })
        .map_err(|e| position(json, e))
}

/// Inflated JSON bytes holding one or more envelopes back to back, with or without
/// whitespace between them (a Firehose-delivered S3 object: Firehose concatenates records
/// without a delimiter) → each [`LogsData`], in order.
pub(super) fn logs_data_all(json: &[u8]) -> Result<Vec<LogsData<'_>>, DecodeError> {
    let s = std::str::from_utf8(json).map_err(|e| {
        position(
            json,
            Syntax {
                reason: "invalid UTF-8".into(),
                at: e.valid_up_to(),
            },
        )
    })?;
    let mut p = Reader::new(s);
    let mut all = Vec::new();
    loop {
        all.push(read(&mut p).map_err(|e| position(json, e))?);
        p.ws();
        if p.i == s.len() {
            return Ok(all);
        }
    }
}

fn position(json: &[u8], e: Syntax) -> DecodeError {
    let before = json.get(..e.at).unwrap_or(json);
    let line = 1 + memchr::memchr_iter(b'\n', before).count();
    let column = 1 + before.len() - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1);
    DecodeError::Syntax {
        reason: e.reason,
        line,
        column,
    }
}

fn read<'a>(p: &mut Reader<'a>) -> R<LogsData<'a>> {
    if p.peek() != Some(b'{') {
        return Err(p.err("expected the CloudWatch Logs object"));
    }
    let mut message_type = None;
    let (mut owner, mut log_group, mut log_stream) = (None, None, None);
    let mut subscription_filters = None;
    let mut log_events = None;
    let mut policy_level = None;
    p.object(|p, key| {
        match &*key {
            "messageType" => once(p, &mut message_type, "messageType", Reader::text)?,
            "owner" => once(p, &mut owner, "owner", Reader::text)?,
            "logGroup" => once(p, &mut log_group, "logGroup", Reader::text)?,
            "logStream" => once(p, &mut log_stream, "logStream", Reader::text)?,
            "subscriptionFilters" => once(
                p,
                &mut subscription_filters,
                "subscriptionFilters",
                Reader::serde,
            )?,
            "policyLevel" => once(p, &mut policy_level, "policyLevel", Reader::serde)?,
            "logEvents" => once(p, &mut log_events, "logEvents", |p| {
                if p.peek() != Some(b'[') {
                    return Err(p.err("logEvents must be an array"));
                }
                let mut events = Vec::new();
                p.array(|p| {
                    events.push(event(p)?);
                    Ok(())
                })?;
                Ok(events)
            })?,
            _ => {
                p.serde::<IgnoredAny>()?;
            }
        }
        Ok(())
    })?;
    Ok(LogsData {
        message_type: message_type.ok_or_else(|| p.err("missing field `messageType`"))?,
        owner: owner.unwrap_or_default(),
        log_group: log_group.unwrap_or_default(),
        log_stream: log_stream.unwrap_or_default(),
        subscription_filters: subscription_filters.unwrap_or_default(),
        log_events: log_events.unwrap_or_default(),
        policy_level: policy_level.flatten(),
    })
}

fn event<'a>(p: &mut Reader<'a>) -> R<LogEvent<'a>> {
    let at = p.i;
    if p.peek() != Some(b'{') {
        return Err(p.err("a log event must be an object"));
    }
    let (mut id, mut timestamp, mut message, mut extracted) = (None, None, None, None);
    let (mut account, mut region) = (None, None);
    p.object(|p, key| {
        match &*key {
            "id" => once(p, &mut id, "id", |p| {
                if p.peek() == Some(b'"') {
                    Ok(p.strict_string()?.into_owned())
                } else {
                    Ok(p.serde::<Id>()?.0)
                }
            })?,
            "timestamp" => once(p, &mut timestamp, "timestamp", Reader::serde::<i64>)?,
            "message" => once(p, &mut message, "message", |p| {
                if p.peek() != Some(b'"') {
                    return Err(p.err("an event's message must be a string"));
                }
                p.string()
            })?,
            "extractedFields" => once(p, &mut extracted, "extractedFields", Reader::serde)?,
            "@aws.account" => once(p, &mut account, "@aws.account", Reader::serde)?,
            "@aws.region" => once(p, &mut region, "@aws.region", Reader::serde)?,
            _ => {
                p.serde::<IgnoredAny>()?;
            }
        }
        Ok(())
    })?;
    let missing = |f: &str| Syntax {
        reason: format!("missing field `{f}`"),
        at,
    };
    let message = message.ok_or_else(|| missing("message"))?;
    let extracted: Option<serde_json::Map<String, serde_json::Value>> = extracted.flatten();
    // Almost every event has none of these: no call for them.
    let source = if account.is_none() && region.is_none() && extracted.is_none() {
        None
    } else {
        super::system_fields(account.flatten(), region.flatten(), extracted.as_ref())
    };
    Ok(LogEvent {
        id: id.ok_or_else(|| missing("id"))?,
        timestamp: timestamp.ok_or_else(|| missing("timestamp"))?,
        message_json: message.exact.then_some(message.json),
        message: message.text,
        extracted_fields: extracted,
        source,
    })
}

/// A field read at most once, as serde's derive insists.
fn once<'a, T>(
    p: &mut Reader<'a>,
    slot: &mut Option<T>,
    name: &str,
    f: impl FnOnce(&mut Reader<'a>) -> R<T>,
) -> R<()> {
    if slot.is_some() {
        return Err(p.err(format!("duplicate field `{name}`")));
    }
    *slot = Some(f(p)?);
    Ok(())
}

/// An event id that is not a string: moto writes integers.
struct Id(String);

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        string_or_integer(d).map(Id)
    }
}
