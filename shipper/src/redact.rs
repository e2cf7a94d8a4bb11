//! Redaction before anything leaves the Lambda: e-mail addresses, IPv4/IPv6 addresses and
//! custom regular expressions in the message and in application fields, and key-based masking
//! (`password`, `authorization`, `token`, `secret`, `cookie`, configurable) in application
//! JSON. Off unless `SHIPPER_REDACT` names something: then the transform never looks here
//! (one `Option` check per event), so the fast path costs what it cost before.

use std::borrow::Cow;

use regex::{Captures, Regex};
use serde_json::Value;

use crate::parse::Parsed;

/// What replaces a redacted value.
pub const MASK: &str = "[REDACTED]";
const MASK_EMAIL: &str = "[REDACTED:email]";
const MASK_IP: &str = "[REDACTED:ip]";

/// The keys masked by default when `keys` is on.
pub const DEFAULT_KEYS: &[&str] = &["password", "authorization", "token", "secret", "cookie"];

/// `user.name@example.co.kr`: the local part's usual characters, a dotted domain.
const EMAIL: &str = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}";
/// Four decimal octets 0–255, not inside a longer run of digits and dots.
const IPV4: &str = r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?-u:\b)";
/// A run of hex digits, colons and dots with at least two colons: a candidate checked by
/// `Ipv6Addr`'s parser (so `09:00:00` and MAC addresses stay), IPv4-mapped forms included.
const IPV6: &str = r"[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*";

/// What to redact, from the settings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    pub email: bool,
    pub ip: bool,
    /// Mask values whose key contains one of `keys` (case-insensitive).
    pub mask_keys: bool,
    pub keys: Vec<String>,
    /// Custom regular expressions; each match becomes `[REDACTED]`.
    pub patterns: Vec<String>,
}

/// The compiled redaction.
#[derive(Debug, Clone)]
pub struct Redactor {
    /// One alternation of every enabled pattern, each a named group `r<n>`: one scan per string.
    re: Option<Regex>,
    /// The capture group of each alternative in `re`, and what it finds.
    groups: Vec<(usize, Kind)>,
    /// IPv4 alone, for what is left of an IPv6 candidate that isn't one.
    ipv4: Option<Regex>,
    /// Lower-case key fragments; empty = no key masking.
    keys: Vec<String>,
    /// IP addresses are redacted: `source.ip` (mapped `ip`, it can't hold a mask) is dropped.
    ip: bool,
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Email,
    Ipv4,
    Ipv6,
    Custom,
}

impl Redactor {
    /// `None` when the spec redacts nothing. A custom pattern that doesn't compile is an
    /// error naming it.
    pub fn new(spec: &Spec) -> Result<Option<Self>, String> {
        let mut alts = Vec::new();
        let mut kinds = Vec::new();
        let mut add = |kind, pattern: &str| {
            alts.push(format!("(?P<r{}>{pattern})", kinds.len()));
            kinds.push(kind);
        };
        if spec.email {
            add(Kind::Email, EMAIL);
        }
        if spec.ip {
            add(Kind::Ipv6, IPV6);
            add(Kind::Ipv4, IPV4);
        }
        for p in &spec.patterns {
            Regex::new(p).map_err(|e| format!("`{p}`: {e}"))?;
            add(Kind::Custom, p);
        }
        let keys: Vec<String> = if spec.mask_keys {
            spec.keys
                .iter()
                .map(|k| k.to_ascii_lowercase())
                .filter(|k| !k.is_empty())
                .collect()
        } else {
            Vec::new()
        };
        if alts.is_empty() && keys.is_empty() {
            return Ok(None);
        }
        let re = if alts.is_empty() {
            None
        } else {
            Some(Regex::new(&alts.join("|")).map_err(|e| e.to_string())?)
        };
        let groups = re
            .as_ref()
            .map(|re| {
                re.capture_names()
                    .enumerate()
                    .filter_map(|(at, name)| {
                        let n: usize = name?.strip_prefix('r')?.parse().ok()?;
                        Some((at, *kinds.get(n)?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        let ipv4 = if spec.ip {
            Some(Regex::new(IPV4).map_err(|e| e.to_string())?)
        } else {
            None
        };
        Ok(Some(Redactor {
            re,
            groups,
            ipv4,
            keys,
            ip: spec.ip,
        }))
    }

    /// `s` with every pattern match replaced; borrowed when nothing matched.
    pub fn text<'t>(&self, s: &'t str) -> Cow<'t, str> {
        let Some(re) = &self.re else {
            return Cow::Borrowed(s);
        };
        let out = re.replace_all(s, |c: &Captures<'_>| {
            let found = self
                .groups
                .iter()
                .find_map(|&(at, kind)| c.get(at).map(|m| (kind, m.as_str())));
            match found {
                Some((Kind::Email, _)) => MASK_EMAIL.to_owned(),
                Some((Kind::Ipv4, _)) => MASK_IP.to_owned(),
                Some((Kind::Ipv6, m)) => {
                    let t = m.trim_end_matches('.');
                    if t.parse::<std::net::Ipv6Addr>().is_ok() {
                        format!("{MASK_IP}{}", &m[t.len()..])
                    } else {
                        // Not an address (a time, a MAC): an IPv4 address inside it still is.
                        match &self.ipv4 {
                            Some(four) => four.replace_all(m, MASK_IP).into_owned(),
                            None => m.to_owned(),
                        }
                    }
                }
                Some((Kind::Custom, _)) | None => MASK.to_owned(),
            }
        });
        match out {
            // `replace_all` borrows when nothing matched; a candidate that was kept as it was
            // leaves the text equal.
            Cow::Owned(o) if o == s => Cow::Borrowed(s),
            other => other,
        }
    }

    /// True when values under `key` are masked whole.
    pub fn masks_key(&self, key: &str) -> bool {
        !self.keys.is_empty() && {
            let k = key.to_ascii_lowercase();
            self.keys.iter().any(|m| k.contains(m.as_str()))
        }
    }

    /// Redacts a JSON value in place: masked keys' values whole (and the `value` of a
    /// `{"name": <masked key>, "value": …}` pair, as WAF logs headers), patterns in every
    /// string. True when something changed.
    pub fn value(&self, v: &mut Value) -> bool {
        match v {
            Value::String(s) => match self.text(s) {
                Cow::Owned(o) => {
                    *s = o;
                    true
                }
                Cow::Borrowed(_) => false,
            },
            Value::Array(items) => items.iter_mut().fold(false, |ch, i| self.value(i) | ch),
            Value::Object(m) => {
                let pair_masked = m
                    .get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| self.masks_key(n))
                    && m.contains_key("value");
                let mut changed = false;
                for (k, child) in m.iter_mut() {
                    if self.masks_key(k) || (pair_masked && k == "value") {
                        if *child != Value::String(MASK.into()) && !child.is_null() {
                            *child = Value::String(MASK.into());
                            changed = true;
                        }
                    } else {
                        changed |= self.value(child);
                    }
                }
                changed
            }
            _ => false,
        }
    }

    /// A query string with masked keys' values masked and patterns redacted.
    fn query(&self, q: &str) -> Cow<'_, str> {
        let masked = if self.keys.is_empty() {
            Cow::Borrowed(q)
        } else {
            let mut changed = false;
            let pairs: Vec<String> = q
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if self.masks_key(k) && v != MASK => {
                        changed = true;
                        format!("{k}={MASK}")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            if changed {
                Cow::Owned(pairs.join("&"))
            } else {
                Cow::Borrowed(q)
            }
        };
        match self.text(&masked) {
            Cow::Owned(o) => Cow::Owned(o),
            Cow::Borrowed(_) => Cow::Owned(masked.into_owned()),
        }
    }

    /// Redacts one parsed event whose line was `raw`; true when something changed.
    pub fn event(&self, raw: &str, p: &mut Parsed) -> bool {
        let mut changed = false;
        // The message the document will carry: the application's `message`, or the line.
        match &mut p.message {
            Some(m) => changed |= redact_string(self, m),
            None => {
                if let Some(m) = self.line(raw) {
                    p.message = Some(m);
                    changed = true;
                }
            }
        }
        for s in [
            &mut p.error_message,
            &mut p.error_stack_trace,
            &mut p.url_path,
            &mut p.user_id,
        ]
        .into_iter()
        .flatten()
        {
            changed |= redact_string(self, s);
        }
        if let Some(q) = &mut p.url_query {
            let r = self.query(q);
            if r != *q {
                *q = r.into_owned();
                changed = true;
            }
        }
        if !p.app.is_empty() {
            changed |= p.app.redact(self);
        }
        if let Some(w) = &mut p.web {
            if self.ip && w.source_ip.take().is_some() {
                changed = true;
            }
            for v in w.aws.values_mut() {
                changed |= self.value(v);
            }
        }
        changed
    }

    /// The line kept as the message (text, or JSON written whole such as a WAF record),
    /// redacted; `None` when nothing in it is.
    fn line(&self, raw: &str) -> Option<String> {
        let t = raw.trim();
        if !self.keys.is_empty()
            && t.starts_with('{')
            && let Ok(mut v) = serde_json::from_str::<Value>(t)
        {
            return self.value(&mut v).then(|| v.to_string());
        }
        match self.text(raw) {
            Cow::Owned(o) => Some(o),
            Cow::Borrowed(_) => None,
        }
    }
}

fn redact_string(r: &Redactor, s: &mut String) -> bool {
    match r.text(s) {
        Cow::Owned(o) => {
            *s = o;
            true
        }
        Cow::Borrowed(_) => false,
    }
}

#[cfg(test)]
mod tests;
