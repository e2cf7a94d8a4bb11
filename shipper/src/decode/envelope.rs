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

use std::borrow::Cow;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{DecodeError, LogEvent, LogsData, string_or_integer};

/// Where the JSON went wrong: a reason and a byte offset.
struct Syntax {
    reason: String,
    at: usize,
}

type R<T> = Result<T, Syntax>;

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
    let mut p = Reader {
        s,
        i: 0,
        scratch: String::new(),
    };
    read(&mut p).map_err(|e| position(json, e))
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
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters"));
    }
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
    Ok(LogEvent {
        id: id.ok_or_else(|| missing("id"))?,
        timestamp: timestamp.ok_or_else(|| missing("timestamp"))?,
        message_json: message.exact.then_some(message.json),
        message: message.text,
        extracted_fields: extracted.flatten(),
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

/// A string as read: its text, its JSON spelling between the quotes, and whether the text is
/// exactly what the JSON says (see [`super::unescape`] for when it is not).
struct Str<'a> {
    text: Cow<'a, str>,
    json: &'a str,
    exact: bool,
}

struct Reader<'a> {
    s: &'a str,
    i: usize,
    /// Where strings with escapes are unescaped, then copied out at their exact size:
    /// growing each string's own buffer from a guess cost more than the copy.
    scratch: String,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: impl Into<String>) -> Syntax {
        Syntax {
            reason: reason.into(),
            at: self.i,
        }
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.as_bytes().get(self.i).copied()
    }

    /// Calls `f` with each key of the object at `i`; `f` reads the value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, Cow<'a, str>) -> R<()>) -> R<()> {
        self.i += 1; // `{`, checked by the caller
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a key"));
            }
            let key = self.strict_string()?;
            if self.peek() != Some(b':') {
                return Err(self.err("expected `:`"));
            }
            self.i += 1;
            self.ws();
            f(self, key)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    /// Calls `f` for each element of the array at `i`.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> R<()>) -> R<()> {
        self.i += 1; // `[`, checked by the caller
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            f(self)?;
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }

    /// A string field of the envelope (`owner`, `logGroup`, …).
    fn text(&mut self) -> R<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        self.strict_string()
    }

    /// A string that is not a message: as serde_json does, a lone surrogate is an error here
    /// (no log group, stream, key or id can hold one); only a message is read leniently.
    fn strict_string(&mut self) -> R<Cow<'a, str>> {
        let at = self.i;
        let st = self.string()?;
        if !st.exact {
            return Err(self.at(at, "lone surrogate in hex escape"));
        }
        Ok(st.text)
    }

    /// Any value, read by serde_json from here on.
    fn serde<T: Deserialize<'a>>(&mut self) -> R<T> {
        let rest = &self.s[self.i..];
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        match values.next() {
            Some(Ok(v)) => {
                self.i += values.byte_offset();
                Ok(v)
            }
            Some(Err(e)) => {
                let text = e.to_string();
                let reason = text.rfind(" at line ").map_or(&*text, |n| &text[..n]);
                Err(Syntax {
                    reason: reason.to_owned(),
                    at: self.i + offset_of(rest, e.line(), e.column()),
                })
            }
            None => Err(self.err("expected a value")),
        }
    }

    /// The string whose opening quote is at `i`.
    fn string(&mut self) -> R<Str<'a>> {
        let s = self.s;
        let b = s.as_bytes();
        let start = self.i + 1;
        let mut j = scan(b, start);
        match b.get(j) {
            Some(b'"') => {
                self.i = j + 1;
                let json = &s[start..j];
                return Ok(Str {
                    text: Cow::Borrowed(json),
                    json,
                    exact: true,
                });
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.at(j, "control character in a string")),
            None => return Err(self.at(j, "unterminated string")),
        }
        // Slow path: `j` is at the first backslash. Every cut below is next to an ASCII byte,
        // so slicing `s` there is on a character boundary.
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        let mut exact = true;
        let mut run = start;
        loop {
            out.push_str(&s[run..j]);
            let code = b.get(j + 1).copied();
            j += 2;
            let c = match code {
                Some(b'"') => '"',
                Some(b'\\') => '\\',
                Some(b'/') => '/',
                Some(b'n') => '\n',
                Some(b't') => '\t',
                Some(b'r') => '\r',
                Some(b'b') => '\u{8}',
                Some(b'f') => '\u{c}',
                Some(b'u') => {
                    let hi = hex4(b, j).ok_or_else(|| self.at(j, "invalid \\u escape"))?;
                    j += 4;
                    if (0xD800..0xDC00).contains(&hi)
                        && b.get(j) == Some(&b'\\')
                        && b.get(j + 1) == Some(&b'u')
                        && let Some(lo @ 0xDC00..0xE000) = hex4(b, j + 2)
                    {
                        j += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            .unwrap_or(char::REPLACEMENT_CHARACTER)
                    } else {
                        char::from_u32(hi).unwrap_or_else(|| {
                            // A lone surrogate: no `str` can hold it.
                            exact = false;
                            char::REPLACEMENT_CHARACTER
                        })
                    }
                }
                Some(_) => return Err(self.at(j - 1, "invalid escape")),
                None => return Err(self.at(j, "unterminated string")),
            };
            out.push(c);
            run = j;
            j = scan(b, j);
            match b.get(j) {
                Some(b'"') => {
                    out.push_str(&s[run..j]);
                    self.i = j + 1;
                    let text = Cow::Owned(out.as_str().to_owned());
                    self.scratch = out;
                    return Ok(Str {
                        text,
                        json: &s[start..j],
                        exact,
                    });
                }
                Some(b'\\') => {}
                Some(_) => return Err(self.at(j, "control character in a string")),
                None => return Err(self.at(j, "unterminated string")),
            }
        }
    }

    fn at(&self, at: usize, reason: &str) -> Syntax {
        Syntax {
            reason: reason.into(),
            at,
        }
    }
}

/// The first byte at or after `j` that ends a plain run in a JSON string: `"`, `\`, or a
/// control character (or `b.len()`). Eight bytes at a time.
#[inline(always)]
fn scan(b: &[u8], mut j: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // "Bit Twiddling Hacks" haszero / hasless: a borrow only runs upwards, so the lowest
    // flagged byte is exactly the first zero (or < 0x20) byte, in little-endian order.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    while let Some(chunk) = b.get(j..j + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let hit = zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH);
        if hit != 0 {
            return j + (hit.trailing_zeros() / 8) as usize;
        }
        j += 8;
    }
    while let Some(&c) = b.get(j) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        j += 1;
    }
    j
}

fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits
        .iter()
        .try_fold(0u32, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

/// serde_json's 1-based line and column in `s` → a byte offset.
fn offset_of(s: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        memchr::memchr_iter(b'\n', s.as_bytes())
            .nth(line - 2)
            .map_or(s.len(), |n| n + 1)
    };
    (line_start + column.saturating_sub(1)).min(s.len())
}
