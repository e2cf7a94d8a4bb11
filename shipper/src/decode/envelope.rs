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
    let mut p = Reader::new(utf8(json)?);
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
    let s = utf8(json)?;
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

/// The whole payload must be UTF-8, checked before any of it is read.
fn utf8(json: &[u8]) -> Result<&str, DecodeError> {
    std::str::from_utf8(json).map_err(|e| {
        position(
            json,
            Syntax {
                reason: "invalid UTF-8".into(),
                at: e.valid_up_to(),
            },
        )
    })
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
            "subscriptionFilters" | "policyLevel" => {
                optional(p, &key, &mut subscription_filters, &mut policy_level)?
            }
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

/// `subscriptionFilters` or `policyLevel` (`key`), into its slot.
fn optional<'a>(
    p: &mut Reader<'a>,
    key: &str,
    subscription_filters: &mut Option<Vec<String>>,
    policy_level: &mut Option<Option<String>>,
) -> R<()> {
    if key == "policyLevel" {
        once(p, policy_level, "policyLevel", Reader::serde)
    } else {
        once(
            p,
            subscription_filters,
            "subscriptionFilters",
            Reader::serde,
        )
    }
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

/// The envelopes of inflated JSON, read as their events are needed: a batch's first documents
/// can be sent while the rest of it is still unread (a Lambda at a share of a CPU took 37 ms to
/// read a 10,000-event envelope before anything could leave). What it reads, and the errors it
/// gives, are [`logs_data_all`]'s; an envelope whose `messageType`, `owner`, `logGroup` and
/// `logStream` don't all come before `logEvents` (CloudWatch writes them first) is read whole.
pub struct Envelopes<'a> {
    json: &'a [u8],
    p: Reader<'a>,
    state: State,
}

enum State {
    /// Before the first envelope or between two.
    Between {
        first: bool,
    },
    /// In the last envelope's `logEvents`, at an element (`first`) or after a `,`.
    Events {
        first: bool,
        seen: Seen,
    },
    /// After the last envelope's `logEvents`, in the rest of its object.
    After {
        seen: Seen,
    },
    Done,
}

/// Which of the optional members came before `logEvents`: a second one after it is a
/// duplicate.
#[derive(Clone, Copy)]
struct Seen {
    subscription_filters: bool,
    policy_level: bool,
}

impl<'a> Envelopes<'a> {
    pub(super) fn new(json: &'a [u8]) -> Result<Self, DecodeError> {
        Ok(Envelopes {
            json,
            p: Reader::new(utf8(json)?),
            state: State::Between { first: true },
        })
    }

    /// Reads on until `events` more events are in `all` (an envelope is pushed when it starts,
    /// its events appended as they are read) or the input ends: `Ok(false)` then. After an
    /// error nothing more is read.
    pub fn read(
        &mut self,
        all: &mut Vec<LogsData<'a>>,
        events: usize,
    ) -> Result<bool, DecodeError> {
        let json = self.json;
        self.step(all, events).map_err(|e| {
            self.state = State::Done;
            position(json, e)
        })
    }

    fn step(&mut self, all: &mut Vec<LogsData<'a>>, mut events: usize) -> R<bool> {
        let p = &mut self.p;
        loop {
            match self.state {
                State::Done => return Ok(false),
                State::Between { first } => {
                    p.ws();
                    if !first && p.i == p.source().len() {
                        self.state = State::Done;
                        return Ok(false);
                    }
                    match header(p)? {
                        Some((data, seen)) => {
                            all.push(data);
                            self.state = State::Events { first: true, seen };
                        }
                        // Read whole from its start: the same data, or the same error.
                        None => {
                            all.push(read(p)?);
                            self.state = State::Between { first: false };
                        }
                    }
                }
                State::Events { first, seen } => {
                    if events == 0 {
                        return Ok(true);
                    }
                    if first && p.peek() == Some(b']') {
                        p.i += 1;
                        self.state = State::After { seen };
                        continue;
                    }
                    let e = event(p)?;
                    if let Some(d) = all.last_mut() {
                        d.log_events.push(e);
                    }
                    events -= 1;
                    match p.peek() {
                        Some(b',') => {
                            p.i += 1;
                            self.state = State::Events { first: false, seen };
                        }
                        Some(b']') => {
                            p.i += 1;
                            self.state = State::After { seen };
                        }
                        _ => return Err(p.err("expected `,` or `]`")),
                    }
                }
                State::After { seen } => {
                    let Some(d) = all.last_mut() else {
                        return Err(p.err("expected the CloudWatch Logs object"));
                    };
                    rest(p, d, seen)?;
                    self.state = State::Between { first: false };
                }
            }
        }
    }
}

/// An envelope's members up to `logEvents` and its `[`: the envelope with no events yet, or
/// `None` (the reader back at its `{`) when it must be read whole: a member the documents
/// need is not among them, or something there is not as CloudWatch writes it.
fn header<'a>(p: &mut Reader<'a>) -> R<Option<(LogsData<'a>, Seen)>> {
    let start = p.i;
    if p.peek() != Some(b'{') {
        return Err(p.err("expected the CloudWatch Logs object"));
    }
    p.i += 1;
    let (mut message_type, mut owner, mut log_group, mut log_stream) = (None, None, None, None);
    let (mut subscription_filters, mut policy_level) = (None, None);
    let whole = |p: &mut Reader<'a>| {
        p.i = start;
        Ok(None)
    };
    loop {
        if p.peek() != Some(b'"') {
            return whole(p);
        }
        let Ok(key) = p.strict_string() else {
            return whole(p);
        };
        if p.peek() != Some(b':') {
            return whole(p);
        }
        p.i += 1;
        p.ws();
        let read = match &*key {
            "messageType" => once(p, &mut message_type, "messageType", Reader::text),
            "owner" => once(p, &mut owner, "owner", Reader::text),
            "logGroup" => once(p, &mut log_group, "logGroup", Reader::text),
            "logStream" => once(p, &mut log_stream, "logStream", Reader::text),
            "subscriptionFilters" | "policyLevel" => {
                optional(p, &key, &mut subscription_filters, &mut policy_level)
            }
            "logEvents" => {
                let (Some(m), Some(o), Some(g), Some(s)) =
                    (&message_type, &owner, &log_group, &log_stream)
                else {
                    return whole(p);
                };
                if p.peek() != Some(b'[') {
                    return whole(p);
                }
                p.i += 1;
                let seen = Seen {
                    subscription_filters: subscription_filters.is_some(),
                    policy_level: policy_level.is_some(),
                };
                let data = LogsData {
                    message_type: m.clone(),
                    owner: o.clone(),
                    log_group: g.clone(),
                    log_stream: s.clone(),
                    subscription_filters: subscription_filters.unwrap_or_default(),
                    log_events: Vec::new(),
                    policy_level: policy_level.flatten(),
                };
                return Ok(Some((data, seen)));
            }
            _ => p.serde::<IgnoredAny>().map(|_| ()),
        };
        if read.is_err() || p.peek() != Some(b',') {
            return whole(p);
        }
        p.i += 1;
    }
}

/// The members after `logEvents`, to the envelope's `}`: as [`read`] reads them.
fn rest<'a>(p: &mut Reader<'a>, d: &mut LogsData<'a>, seen: Seen) -> R<()> {
    let (mut subscription_filters, mut policy_level) = (None, None);
    loop {
        match p.peek() {
            Some(b'}') => {
                p.i += 1;
                break;
            }
            Some(b',') => p.i += 1,
            _ => return Err(p.err("expected `,` or `}`")),
        }
        if p.peek() != Some(b'"') {
            return Err(p.err("expected a key"));
        }
        let key = p.strict_string()?;
        if p.peek() != Some(b':') {
            return Err(p.err("expected `:`"));
        }
        p.i += 1;
        p.ws();
        match &*key {
            // Each was read before `logEvents` (or `header` left the envelope to `read`).
            "messageType" | "owner" | "logGroup" | "logStream" | "logEvents" => {
                return Err(p.err(format!("duplicate field `{key}`")));
            }
            "subscriptionFilters" if seen.subscription_filters => {
                return Err(p.err("duplicate field `subscriptionFilters`"));
            }
            "policyLevel" if seen.policy_level => {
                return Err(p.err("duplicate field `policyLevel`"));
            }
            "subscriptionFilters" | "policyLevel" => {
                optional(p, &key, &mut subscription_filters, &mut policy_level)?
            }
            _ => {
                p.serde::<IgnoredAny>()?;
            }
        }
    }
    if let Some(f) = subscription_filters {
        d.subscription_filters = f;
    }
    if let Some(l) = policy_level {
        d.policy_level = l;
    }
    Ok(())
}
