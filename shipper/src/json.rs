//! JSON read in one pass, for the two places where serde_json's reading cost most (callgrind):
//! the CloudWatch envelope (`decode::envelope`) and application JSON inside a message
//! (`parse`). A string is unescaped while it is scanned, 8 bytes at a step, and keeps its
//! JSON spelling; a value nobody needs to look into is skipped and kept as its text. What is
//! accepted and refused is what serde_json accepts and refuses: property tests hold
//! [`Reader::value`] and [`Reader::members`] to `serde_json::from_str::<Value>` / `<Map>`, and
//! the envelope reader to the serde-derived one.

use std::borrow::Cow;

use serde::Deserialize;

/// Where the JSON went wrong: a reason and a byte offset.
pub struct Syntax {
    pub reason: String,
    pub at: usize,
}

pub type R<T> = Result<T, Syntax>;

/// A string as read: its text, its JSON spelling between the quotes, and whether the text is
/// exactly what the JSON says (not when a lone UTF-16 surrogate, which no `str` can hold,
/// became U+FFFD).
pub struct Str<'a> {
    pub text: Cow<'a, str>,
    pub json: &'a str,
    pub exact: bool,
}

pub struct Reader<'a> {
    s: &'a str,
    pub i: usize,
    /// Where strings with escapes are unescaped, then copied out at their exact size:
    /// growing each string's own buffer from a guess cost more than the copy.
    scratch: String,
}

impl<'a> Reader<'a> {
    pub fn new(s: &'a str) -> Self {
        Reader {
            s,
            i: 0,
            scratch: String::new(),
        }
    }

    /// The whole text being read.
    pub fn source(&self) -> &'a str {
        self.s
    }

    pub fn err(&self, reason: impl Into<String>) -> Syntax {
        Syntax {
            reason: reason.into(),
            at: self.i,
        }
    }

    pub fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.as_bytes().get(self.i) {
            self.i += 1;
        }
    }

    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.as_bytes().get(self.i).copied()
    }

    /// Calls `f` with each key of the object at `i`; `f` reads the value.
    pub fn object(&mut self, f: impl FnMut(&mut Self, Cow<'a, str>) -> R<()>) -> R<()> {
        self.object_with(Self::strict_string, f)
    }

    /// [`Reader::object`] with keys read by `key` (unescaped, or only skipped).
    fn object_with<K>(
        &mut self,
        key: impl Fn(&mut Self) -> R<K>,
        mut f: impl FnMut(&mut Self, K) -> R<()>,
    ) -> R<()> {
        self.i += 1; // `{`, checked by the caller
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.err("expected a key"));
            }
            let key = key(self)?;
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
    pub fn array(&mut self, mut f: impl FnMut(&mut Self) -> R<()>) -> R<()> {
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
    pub fn text(&mut self) -> R<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.err("expected a string"));
        }
        self.strict_string()
    }

    /// A string that is not a message: as serde_json does, a lone surrogate is an error here
    /// (no log group, stream, key or id can hold one); only a message is read leniently.
    pub fn strict_string(&mut self) -> R<Cow<'a, str>> {
        let at = self.i;
        let st = self.string()?;
        if !st.exact {
            return Err(self.at(at, "lone surrogate in hex escape"));
        }
        Ok(st.text)
    }

    /// Any value, read by serde_json from here on.
    pub fn serde<T: Deserialize<'a>>(&mut self) -> R<T> {
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
    pub fn string(&mut self) -> R<Str<'a>> {
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

    /// The JSON value at `i` (after whitespace), skipped and returned as its text, checked as
    /// serde_json checks what it reads into a `Value`: the grammar, escapes and surrogate
    /// pairs, no raw control character in a string, at most 127 nested arrays and objects
    /// (counting the `depth` already open; deeper would also risk this reader's stack).
    pub fn value(&mut self, depth: usize) -> R<&'a str> {
        self.ws();
        let start = self.i;
        self.skip(depth)?;
        Ok(&self.s[start..self.i])
    }

    fn skip(&mut self, depth: usize) -> R<()> {
        let b = self.s.as_bytes();
        match b.get(self.i) {
            Some(b'"') => self.skip_string(),
            Some(b'{') => {
                self.nest(depth)?;
                // Keys only skipped: checked, not unescaped.
                self.object_with(Self::skip_string, |p, ()| p.skip(depth + 1))
            }
            Some(b'[') => {
                self.nest(depth)?;
                self.array(|p| {
                    p.ws();
                    p.skip(depth + 1)
                })
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected value")),
            None => Err(self.err("EOF while parsing a value")),
        }
    }

    fn nest(&self, depth: usize) -> R<()> {
        if depth + 1 >= 128 {
            return Err(self.err("recursion limit exceeded"));
        }
        Ok(())
    }

    /// `null`, at `i`.
    pub fn literal_null(&mut self) -> R<()> {
        self.literal("null")
    }

    fn literal(&mut self, word: &str) -> R<()> {
        if self.s.as_bytes()[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err("expected value"))
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> R<()> {
        let b = self.s.as_bytes();
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        let mut i = self.i;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(self.at(i, "invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return Err(self.at(i, "invalid number"));
            }
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = b.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(self.at(i, "invalid number"));
            }
        }
        // serde_json refuses a number beyond f64 (`1e400`, 400 digits); only those can be.
        if (exponent || i - self.i > 300)
            && !self.s[self.i..i].parse::<f64>().is_ok_and(f64::is_finite)
        {
            return Err(self.at(self.i, "number out of range"));
        }
        self.i = i;
        Ok(())
    }

    /// Skips the string at `i`, checking its escapes as serde_json does when it reads one
    /// into a `Value` (a lone UTF-16 surrogate is an error): a carried value is copied into a
    /// document as it is, so it must be as valid as one serde_json would have written.
    fn skip_string(&mut self) -> R<()> {
        let b = self.s.as_bytes();
        let mut j = scan(b, self.i + 1);
        loop {
            match b.get(j) {
                Some(b'"') => {
                    self.i = j + 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    j += match b.get(j + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                        Some(b'u') => match hex4(b, j + 2) {
                            Some(0xD800..0xDC00)
                                if b.get(j + 6) == Some(&b'\\')
                                    && b.get(j + 7) == Some(&b'u')
                                    && matches!(hex4(b, j + 8), Some(0xDC00..0xE000)) =>
                            {
                                12
                            }
                            Some(0xD800..0xE000) => {
                                return Err(self.at(j, "lone surrogate in hex escape"));
                            }
                            Some(_) => 6,
                            None => return Err(self.at(j + 2, "invalid \\u escape")),
                        },
                        Some(_) => return Err(self.at(j + 1, "invalid escape")),
                        None => return Err(self.at(j + 1, "EOF while parsing a string")),
                    };
                    j = scan(b, j);
                }
                Some(_) => return Err(self.at(j, "control character in a string")),
                None => return Err(self.at(j, "EOF while parsing a string")),
            }
        }
    }

    /// The members of the object that is the whole text, keys unescaped (borrowed when they
    /// have no escapes), values as their JSON text; `None` if the text is anything else.
    pub fn members(s: &'a str) -> Option<Vec<(Cow<'a, str>, &'a str)>> {
        let mut p = Reader::new(s);
        if p.peek() != Some(b'{') {
            return None;
        }
        let mut out = Vec::with_capacity(8);
        p.object(|p, k| {
            out.push((k, p.value(1)?));
            Ok(())
        })
        .ok()?;
        p.ws();
        (p.i == s.len()).then_some(out)
    }

    /// The elements of the array that is the whole text, as their JSON text; `None` if the
    /// text is anything else.
    pub fn items(s: &'a str) -> Option<Vec<&'a str>> {
        let mut p = Reader::new(s);
        if p.peek() != Some(b'[') {
            return None;
        }
        let mut out = Vec::new();
        p.array(|p| {
            out.push(p.value(1)?);
            Ok(())
        })
        .ok()?;
        p.ws();
        (p.i == s.len()).then_some(out)
    }

    pub fn at(&self, at: usize, reason: &str) -> Syntax {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// JSON-ish text: valid values with every kind of token, often broken by a mutation.
    fn jsonish() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("fals".to_owned()),
            "-?(0|[1-9][0-9]{0,3})(\\.[0-9]{0,2})?([eE][+-]?[0-9]{0,2})?",
            "-?(0|[1-9][0-9]{0,400})(\\.[0-9]{0,2})?([eE][+-]?[0-9]{3})?",
            "\"([a-z \\\\\"/]|\\\\[nrtbf/\"\\\\u]|\\\\u[0-9a-fA-F]{4}|\\\\ud83d|[\\x00-\\x1f]|é|한){0,8}\"",
            "[ \\t\\r\\n,:\\[\\]{}]",
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                proptest::collection::vec(("\"[a-z\\\\]{0,3}\"", inner), 0..5).prop_map(|v| {
                    let m: Vec<String> = v.into_iter().map(|(k, v)| format!("{k} : {v}")).collect();
                    format!("{{{}}}", m.join(","))
                }),
            ]
        })
    }

    fn ours(s: &str) -> Option<&str> {
        let mut p = Reader::new(s);
        let v = p.value(0).ok()?;
        p.ws();
        (p.i == s.len()).then_some(v)
    }

    proptest! {
        #[test]
        fn value_accepts_exactly_what_serde_json_reads_into_a_value(s in jsonish()) {
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            prop_assert_eq!(ours(&s).is_some(), theirs, "{}", s);
            if theirs {
                prop_assert_eq!(ours(&s), Some(s.trim_matches([' ', '\t', '\r', '\n'])));
            }
        }

        #[test]
        fn members_are_what_serde_json_reads(s in jsonish()) {
            let theirs = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&s);
            match (Reader::members(&s), theirs) {
                (Some(ms), Ok(map)) => {
                    // serde_json's map keeps the last of a repeated key, as `parse` does.
                    let mut ours = serde_json::Map::new();
                    for (k, v) in ms {
                        ours.insert(k.into_owned(), serde_json::from_str(v).unwrap());
                    }
                    prop_assert_eq!(ours, map);
                }
                (None, Err(_)) => {}
                (o, t) => prop_assert!(false, "{s}: ours {:?}, serde {:?}", o.is_some(), t.err()),
            }
        }
    }

    #[test]
    fn nesting_deeper_than_serde_json_allows_is_refused() {
        for depth in [126, 127, 128, 200] {
            let s = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let theirs = serde_json::from_str::<serde_json::Value>(&s).is_ok();
            assert_eq!(ours(&s).is_some(), theirs, "depth {depth}");
        }
    }
}
