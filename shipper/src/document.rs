//! A parsed log event → one ECS document (serialized JSON) and its idempotent `_id`; and
//! [`Transform`], the per-batch and per-event choices around that (routing rules, message
//! filters, redaction), which cost nothing when they are off.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::decode::{LogEvent, LogsData};
use crate::parse::{self, Parsed};
use crate::redact::Redactor;
use crate::route::{Routes, Rule, Verdict};
use crate::target::{self, Naming, Stream};

/// What is the same for every event of a batch.
#[derive(Debug, Clone)]
pub struct BatchContext<'a> {
    pub owner: &'a str,
    pub log_group: &'a str,
    pub log_stream: &'a str,
    pub region: Option<&'a str>,
    pub faas_name: Option<&'a str>,
    pub dataset: String,
    /// The naming of this batch: the settings', or a routing rule's changes to them.
    naming: Cow<'a, Naming>,
    /// The ingest pipeline a routing rule names (`pipeline` in each bulk action).
    pipeline: Option<Arc<str>>,
    /// `ingested` of every document of this batch: one clock read per batch.
    pub ingested: String,
    /// `,"ingested":…,"dataset":…,"kind":"event"` (inside `event`), pre-escaped once per batch.
    frag_event: Vec<u8>,
    /// `"log_group":…,"log_stream":…,` (inside `aws.cloudwatch`).
    frag_cloudwatch: Vec<u8>,
    /// `,"cloud":{…}`.
    frag_cloud: Vec<u8>,
    /// `,"data_stream":{…}` in data stream mode, else empty.
    frag_data_stream: Vec<u8>,
    /// `,"labels":{…},"tags":[…]` from a routing rule, else empty.
    frag_route: Vec<u8>,
    /// The last `_index` built and the UTC day it is for: one name per batch in data stream
    /// mode, one per day in index mode, shared by every document instead of formatted per event.
    index_cache: RefCell<Option<(i64, Arc<str>)>>,
}

impl<'a> BatchContext<'a> {
    pub fn new(
        data: &'a LogsData<'a>,
        naming: &'a Naming,
        region: Option<&'a str>,
        now_ms: i64,
    ) -> Self {
        Self::routed(data, naming, None, region, now_ms)
    }

    /// The context of a batch that `rule` matched (`None`: no rule did).
    pub fn routed(
        data: &'a LogsData<'a>,
        naming: &'a Naming,
        rule: Option<&Rule>,
        region: Option<&'a str>,
        now_ms: i64,
    ) -> Self {
        let naming = match rule {
            Some(r) if r.dataset.is_some() || r.namespace.is_some() || r.index.is_some() => {
                let mut n = naming.clone();
                n.dataset = r.dataset.clone().or(n.dataset);
                n.namespace = r.namespace.clone().unwrap_or(n.namespace);
                n.index_prefix = r.index.clone().unwrap_or(n.index_prefix);
                Cow::Owned(n)
            }
            _ => Cow::Borrowed(naming),
        };
        let dataset = naming.dataset(&data.log_group).into_owned();
        let ingested = rfc3339_millis(now_ms);
        let mut frag_event = b",\"ingested\":".to_vec();
        json_str(&mut frag_event, &ingested);
        frag_event.extend_from_slice(b",\"dataset\":");
        json_str(&mut frag_event, &dataset);
        frag_event.extend_from_slice(b",\"kind\":\"event\"");
        let mut frag_cloudwatch = b"\"log_group\":".to_vec();
        json_str(&mut frag_cloudwatch, &data.log_group);
        frag_cloudwatch.extend_from_slice(b",\"log_stream\":");
        json_str(&mut frag_cloudwatch, &data.log_stream);
        frag_cloudwatch.push(b',');
        let mut frag_cloud = Vec::new();
        write_cloud(
            &mut frag_cloud,
            region,
            Some(&*data.owner).filter(|o| !o.is_empty()),
        );
        let mut frag_data_stream = Vec::new();
        if naming.mode == target::TargetMode::DataStream {
            frag_data_stream.extend_from_slice(b",\"data_stream\":{\"type\":\"logs\",\"dataset\":");
            json_str(&mut frag_data_stream, &dataset);
            frag_data_stream.extend_from_slice(b",\"namespace\":");
            json_str(&mut frag_data_stream, &naming.namespace);
            frag_data_stream.push(b'}');
        }
        let mut frag_route = Vec::new();
        if let Some(labels) = rule.and_then(|r| r.labels.as_deref()) {
            frag_route.extend_from_slice(b",\"labels\":");
            frag_route.extend_from_slice(labels.as_bytes());
        }
        if let Some(tags) = rule.and_then(|r| r.tags.as_deref()) {
            frag_route.extend_from_slice(b",\"tags\":");
            frag_route.extend_from_slice(tags.as_bytes());
        }
        BatchContext {
            owner: &data.owner,
            log_group: &data.log_group,
            log_stream: &data.log_stream,
            region,
            faas_name: target::faas_name(&data.log_group),
            dataset,
            naming,
            pipeline: rule.and_then(|r| r.pipeline.clone()),
            ingested,
            frag_event,
            frag_cloudwatch,
            frag_cloud,
            frag_data_stream,
            frag_route,
            index_cache: RefCell::new(None),
        }
    }

    /// The `_index` for an event at `timestamp_ms`.
    fn index(&self, timestamp_ms: i64) -> Arc<str> {
        let naming = &self.naming;
        let day = match naming.mode {
            target::TargetMode::DataStream => 0,
            target::TargetMode::Index => timestamp_ms.div_euclid(86_400_000),
        };
        let mut cache = self.index_cache.borrow_mut();
        if let Some((d, name)) = cache.as_ref()
            && *d == day
        {
            return name.clone();
        }
        let name: Arc<str> = naming
            .target(Stream::Logs, &self.dataset, timestamp_ms)
            .into();
        *cache = Some((day, name.clone()));
        name
    }
}

/// One document ready for the bulk body.
#[derive(Debug, Clone)]
pub struct Document {
    /// `_id`: the CloudWatch event id, so a re-delivered event is a 409, not a duplicate.
    pub id: String,
    /// `_index` (a data stream or a dated index), shared by the documents of a batch.
    pub index: Arc<str>,
    /// The serialized `_source`.
    pub source: Vec<u8>,
    pub timestamp_ms: i64,
    /// The ingest pipeline named in the bulk action (a routing rule's `pipeline`).
    pub pipeline: Option<Arc<str>>,
}

/// `2026-11-24T09:00:00.123Z` (Elasticsearch's `strict_date_optional_time`).
pub fn rfc3339_millis(ms: i64) -> String {
    let mut out = Vec::with_capacity(24);
    write_rfc3339_millis(&mut out, ms);
    String::from_utf8(out).unwrap_or_default()
}

/// Writes what [`rfc3339_millis`] returns. chrono's formatter took ~800 instructions per
/// event (callgrind); years 0–9999 are written here from the civil-from-days algorithm
/// (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"), anything else by chrono.
pub fn write_rfc3339_millis(out: &mut Vec<u8>, ms: i64) {
    // 0000-01-01 and 10000-01-01 in ms since the epoch.
    const MIN: i64 = -62_167_219_200_000;
    const MAX: i64 = 253_402_300_800_000;
    if !(MIN..MAX).contains(&ms) {
        let s = chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        out.extend_from_slice(s.as_bytes());
        return;
    }
    let days = ms.div_euclid(86_400_000);
    let in_day = ms.rem_euclid(86_400_000);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let d = |n: i64| b'0' + (n % 10) as u8;
    let (h, m, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    out.extend_from_slice(&[
        d(year / 1000),
        d(year / 100),
        d(year / 10),
        d(year),
        b'-',
        d(month / 10),
        d(month),
        b'-',
        d(day / 10),
        d(day),
        b'T',
        d(h / 10),
        d(h),
        b':',
        d(m / 10),
        d(m),
        b':',
        d(s / 10),
        d(s),
        b'.',
        d(milli / 100),
        d(milli / 10),
        d(milli),
        b'Z',
    ]);
}

/// The message without its trailing newline (Lambda and most loggers end lines with `\n`).
pub fn trim_message(m: &str) -> &str {
    m.trim_end_matches(['\n', '\r'])
}

/// Builds the document for one event.
pub fn build(ctx: &BatchContext<'_>, event: &LogEvent<'_>) -> Document {
    let raw = trim_message(&event.message);
    let parsed = parse::parse(raw);
    assemble(ctx, event, raw, &parsed)
}

fn assemble(ctx: &BatchContext<'_>, event: &LogEvent<'_>, raw: &str, parsed: &Parsed) -> Document {
    let timestamp = timestamp_of(event, parsed);
    let source = serialize(ctx, event, timestamp, raw, parsed);
    Document {
        id: event.id.clone(),
        index: ctx.index(timestamp),
        source,
        timestamp_ms: timestamp,
        pipeline: ctx.pipeline.clone(),
    }
}

/// The choices around [`build`], made once from the settings: routing rules (and the loop
/// guard), message filters, dropping Lambda's START/END lines, redaction. With all of them
/// off (`Transform::default()`), [`Transform::batch`] calls [`build`] for every event and
/// nothing else: the fast path is what it was without them.
#[derive(Debug, Clone, Default)]
pub struct Transform {
    pub routes: Routes,
    /// `SHIPPER_DROP_START_END`; a rule's `drop_start_end` overrides it.
    pub drop_start_end: bool,
    pub redactor: Option<Redactor>,
}

/// What a batch's transform left out or changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Events not shipped: a `drop` rule, the loop guard, a filter, a START/END line.
    pub dropped: u64,
    /// Events shipped with something redacted.
    pub redacted: u64,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.dropped += o.dropped;
        self.redacted += o.redacted;
    }
}

/// Warned about once per process: each warning would be a line in the very group.
static OWN_LOG_GROUP_WARNED: AtomicBool = AtomicBool::new(false);

impl Transform {
    /// The transform the settings ask for, with `routes` already loaded ([`crate::route::load`]).
    pub fn from_config(
        cfg: &crate::config::Config,
        routes: Routes,
    ) -> Result<Self, crate::config::ConfigError> {
        Ok(Transform {
            routes,
            drop_start_end: cfg.drop_start_end(),
            redactor: cfg.redactor()?,
        })
    }

    /// The documents of one batch: `emit(event index, document)` for each event kept.
    pub fn batch(
        &self,
        data: &LogsData<'_>,
        naming: &Naming,
        region: Option<&str>,
        now_ms: i64,
        emit: impl FnMut(usize, Document),
    ) -> Counts {
        let all = 0..data.log_events.len();
        self.batch_range(data, all, naming, region, now_ms, emit)
    }

    /// [`Transform::batch`] of the events in `range` only (indices stay the envelope's), so a
    /// large envelope can be turned into documents a piece at a time while earlier pieces are
    /// in flight.
    pub fn batch_range(
        &self,
        data: &LogsData<'_>,
        range: std::ops::Range<usize>,
        naming: &Naming,
        region: Option<&str>,
        now_ms: i64,
        mut emit: impl FnMut(usize, Document),
    ) -> Counts {
        let range = range.start.min(data.log_events.len())..range.end.min(data.log_events.len());
        let events = || {
            data.log_events[range.clone()]
                .iter()
                .enumerate()
                .map(|(k, ev)| (range.start + k, ev))
        };
        let all = Counts {
            dropped: range.len() as u64,
            redacted: 0,
        };
        let rule = match self.routes.verdict(&data.log_group, &data.log_stream) {
            Verdict::Ship(rule) => rule,
            Verdict::Drop(_) => return all,
            Verdict::OwnLogGroup => {
                if !OWN_LOG_GROUP_WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        aws.cloudwatch.log_group = %data.log_group,
                        "the shipper is subscribed to its own log group; its lines are dropped (SHIPPER_LOOP_GUARD). Remove that subscription: Lambda's own START/END/REPORT lines still invoke the shipper once per invocation"
                    );
                }
                return all;
            }
        };
        let ctx = BatchContext::routed(data, naming, rule, region, now_ms);
        let filter = rule.and_then(|r| r.filter.as_ref());
        let drop_start_end = rule
            .and_then(|r| r.drop_start_end)
            .unwrap_or(self.drop_start_end);
        let mut counts = Counts::default();
        if filter.is_none() && !drop_start_end && self.redactor.is_none() {
            for (i, ev) in events() {
                emit(i, build(&ctx, ev));
            }
            return counts;
        }
        for (i, ev) in events() {
            let raw = trim_message(&ev.message);
            if filter.is_some_and(|f| !f.keeps(raw)) {
                counts.dropped += 1;
                continue;
            }
            let mut parsed = parse::parse(raw);
            if drop_start_end && matches!(parsed.action, Some("platform.start" | "platform.end")) {
                counts.dropped += 1;
                continue;
            }
            if let Some(r) = &self.redactor
                && r.event(raw, &mut parsed)
            {
                counts.redacted += 1;
            }
            emit(i, assemble(&ctx, ev, raw, &parsed));
        }
        counts
    }
}

/// The event's time: a WAF record's own `timestamp` when it has one, else CloudWatch's.
fn timestamp_of(event: &LogEvent<'_>, p: &Parsed) -> i64 {
    p.web
        .as_ref()
        .and_then(|w| w.timestamp_ms)
        .unwrap_or(event.timestamp)
}

/// Bytes beyond the message that the document will hold: the app fields and stack trace are
/// about as long as the parts of the raw line they came from.
fn raw_extra(raw: &str, p: &Parsed) -> usize {
    if p.app.is_empty() && p.error_stack_trace.is_none() {
        0
    } else {
        raw.len()
    }
}

/// Writes the document by hand: keys are literals, the batch's constant fields are spliced in
/// pre-escaped, and strings go through [`json_str`]. With serde-derived structs, writing ~60
/// keys and values per document was a fifth of the transform's instructions (callgrind).
fn serialize(
    ctx: &BatchContext<'_>,
    event: &LogEvent<'_>,
    timestamp: i64,
    raw: &str,
    p: &Parsed,
) -> Vec<u8> {
    let message = p.message.as_deref().unwrap_or(raw);
    // Sized up front: growing by doubling would copy large messages several times and leave
    // up to half of each document's buffer unused while the batch is held for retries.
    let mut out = Vec::with_capacity(message.len() + raw_extra(raw, p) + 640);
    let o = &mut out;
    let web = p.web.as_deref();
    o.extend_from_slice(b"{\"@timestamp\":\"");
    write_rfc3339_millis(o, timestamp);
    o.extend_from_slice(b"\",\"message\":");
    let trimmed = event.message.len() - raw.len();
    match event
        .message_json
        .filter(|_| p.message.is_none())
        .and_then(|j| strip_line_ends(j, trimmed))
    {
        // Already valid JSON: serde_json checked it when the payload was read.
        Some(j) => {
            o.push(b'"');
            o.extend_from_slice(j.as_bytes());
            o.push(b'"');
        }
        None => json_str(o, message),
    }
    o.extend_from_slice(b",\"event\":{\"id\":");
    json_str(o, &event.id);
    o.extend_from_slice(&ctx.frag_event);
    if let Some(a) = p.action.or(p.event_action.as_deref()) {
        o.extend_from_slice(b",\"action\":");
        json_str(o, a);
    }
    if let Some(w) = web {
        o.extend_from_slice(b",\"category\":\"web\",\"provider\":");
        json_str(o, w.provider);
        if let Some(outcome) = w.outcome {
            o.extend_from_slice(b",\"outcome\":");
            json_str(o, outcome);
        }
    }
    if let Some(d) = p.duration_ns {
        o.extend_from_slice(b",\"duration\":");
        o.extend_from_slice(d.to_string().as_bytes());
    }
    o.push(b'}');
    let mut log = Obj::new(o, b"log");
    log.str(b"level", p.level.as_deref());
    log.str(b"logger", p.logger.as_deref());
    log.end();
    o.extend_from_slice(b",\"aws\":{\"cloudwatch\":{");
    o.extend_from_slice(&ctx.frag_cloudwatch);
    o.extend_from_slice(b"\"event_id\":");
    json_str(o, &event.id);
    o.push(b'}');
    let mut lambda = Obj::new(o, b"lambda");
    if let Some(r) = &p.report {
        lambda.raw(b"report", |o| {
            serde_json::to_writer(o, r).unwrap_or_default()
        });
    }
    lambda.str(b"xray_trace_id", p.xray_trace_id.as_deref());
    lambda.str(b"runtime_version", p.runtime_version.as_deref());
    lambda.str(b"runtime_version_arn", p.runtime_version_arn.as_deref());
    lambda.end();
    if let Some(w) = web.filter(|w| !w.aws.is_empty()) {
        o.push(b',');
        json_str(o, w.provider);
        o.push(b':');
        // A JSON map always serializes.
        serde_json::to_writer(&mut *o, &w.aws).unwrap_or_default();
    }
    o.push(b'}');
    if event.source.is_none() {
        o.extend_from_slice(&ctx.frag_cloud);
    } else {
        // Centralized logs: the source account and region CloudWatch added to this event.
        write_cloud(
            o,
            event.region().or(ctx.region),
            event
                .account()
                .or(Some(ctx.owner).filter(|o| !o.is_empty())),
        );
    }
    let mut faas = Obj::new(o, b"faas");
    faas.str(b"name", ctx.faas_name);
    faas.str(b"version", p.faas_version.as_deref());
    faas.str(b"execution", p.faas_execution.as_deref());
    if let Some(c) = p.coldstart {
        faas.raw(b"coldstart", |o| {
            o.extend_from_slice(if c { b"true" } else { b"false" })
        });
    }
    faas.end();
    o.extend_from_slice(&ctx.frag_data_stream);
    let mut http = Obj::new(o, b"http");
    let request_id = web.and_then(|w| w.request_id.as_deref());
    if p.http_method.is_some() || request_id.is_some() {
        http.raw(b"request", |o| {
            o.push(b'{');
            if let Some(m) = &p.http_method {
                o.extend_from_slice(b"\"method\":");
                json_str(o, m);
            }
            if let Some(id) = request_id {
                if p.http_method.is_some() {
                    o.push(b',');
                }
                o.extend_from_slice(b"\"id\":");
                json_str(o, id);
            }
            o.push(b'}');
        });
    }
    let body_bytes = web.and_then(|w| w.body_bytes);
    if p.status_code.is_some() || body_bytes.is_some() {
        http.raw(b"response", |o| {
            o.push(b'{');
            if let Some(c) = p.status_code {
                o.extend_from_slice(b"\"status_code\":");
                o.extend_from_slice(c.to_string().as_bytes());
            }
            if let Some(n) = body_bytes {
                if p.status_code.is_some() {
                    o.push(b',');
                }
                o.extend_from_slice(b"\"body\":{\"bytes\":");
                o.extend_from_slice(n.to_string().as_bytes());
                o.push(b'}');
            }
            o.push(b'}');
        });
    }
    http.str(b"route", p.http_route.as_deref());
    http.str(b"version", web.and_then(|w| w.http_version.as_deref()));
    http.end();
    let mut url = Obj::new(o, b"url");
    url.str(b"domain", web.and_then(|w| w.domain.as_deref()));
    url.str(b"path", p.url_path.as_deref());
    url.str(b"query", p.url_query.as_deref());
    url.end();
    if let Some(w) = web {
        web_fields(o, w);
    }
    for (key, v) in [
        (&b"user"[..], &p.user_id),
        (b"trace", &p.trace_id),
        (b"span", &p.span_id),
    ] {
        let mut id = Obj::new(o, key);
        id.str(b"id", v.as_deref());
        id.end();
    }
    let mut error = Obj::new(o, b"error");
    error.str(b"type", p.error_type.as_deref());
    error.str(b"message", p.error_message.as_deref());
    error.str(b"stack_trace", p.error_stack_trace.as_deref());
    error.end();
    let mut service = Obj::new(o, b"service");
    service.str(b"name", p.service_name.as_deref());
    service.end();
    let mut user_agent = Obj::new(o, b"user_agent");
    user_agent.str(b"original", p.user_agent.as_deref());
    user_agent.end();
    o.extend_from_slice(&ctx.frag_route);
    if !p.app.is_empty() {
        o.extend_from_slice(b",\"app\":{");
        let mut first = true;
        let mut key = |o: &mut Vec<u8>, k: &str| {
            if !std::mem::take(&mut first) {
                o.push(b',');
            }
            json_str(o, k);
            o.push(b':');
        };
        for (k, v) in p.app.values() {
            key(o, k);
            // A JSON value always serializes.
            serde_json::to_writer(&mut *o, v).unwrap_or_default();
        }
        for (k, raw) in p.app.raw() {
            key(o, k);
            o.extend_from_slice(raw.as_bytes());
        }
        o.push(b'}');
    }
    o.push(b'}');
    out
}

/// `,"cloud":{"provider":"aws","region":…,"account":{"id":…}}`.
fn write_cloud(o: &mut Vec<u8>, region: Option<&str>, account: Option<&str>) {
    o.extend_from_slice(b",\"cloud\":{\"provider\":\"aws\"");
    if let Some(r) = region {
        o.extend_from_slice(b",\"region\":");
        json_str(o, r);
    }
    if let Some(a) = account {
        o.extend_from_slice(b",\"account\":{\"id\":");
        json_str(o, a);
        o.push(b'}');
    }
    o.push(b'}');
}

/// `source`, `network` and `rule` of an access log line or WAF record.
fn web_fields(o: &mut Vec<u8>, w: &parse::Web) {
    let mut source = Obj::new(o, b"source");
    source.str(b"ip", w.source_ip.as_deref());
    if let Some(c) = &w.country {
        source.raw(b"geo", |o| {
            o.extend_from_slice(b"{\"country_iso_code\":");
            json_str(o, c);
            o.push(b'}');
        });
    }
    source.end();
    let mut network = Obj::new(o, b"network");
    network.str(b"protocol", w.protocol.as_deref());
    network.end();
    let mut rule = Obj::new(o, b"rule");
    rule.str(b"id", w.rule_id.as_deref());
    rule.str(b"ruleset", w.ruleset.as_deref());
    rule.end();
}

/// `json` (a message as the payload's JSON spelled it) without the escapes of its last `n`
/// characters, which are line ends (`\n`, `\r`, or the `\u000a` spelling). `None` if they
/// are spelled some other way.
fn strip_line_ends(json: &str, n: usize) -> Option<&str> {
    let mut j = json;
    for _ in 0..n {
        j = match j.strip_suffix("\\n").or_else(|| j.strip_suffix("\\r")) {
            Some(head) => head,
            None => {
                let (head, tail) = j.split_at_checked(j.len().checked_sub(6)?)?;
                (tail.eq_ignore_ascii_case("\\u000a") || tail.eq_ignore_ascii_case("\\u000d"))
                    .then_some(head)?
            }
        };
    }
    Some(j)
}

/// The JSON escape of a byte that needs one, as serde_json writes it.
fn escape(out: &mut Vec<u8>, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match c {
        b'"' => b'"',
        b'\\' => b'\\',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        0x08 => b'b',
        0x0c => b'f',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(c >> 4)],
                HEX[usize::from(c & 0xf)],
            ]);
            return;
        }
    };
    out.push(b'\\');
    out.push(short);
}

/// A nested object written only if it gets a member: `,"key":{"a":…,"b":…}`.
struct Obj<'o> {
    out: &'o mut Vec<u8>,
    key: &'static [u8],
    opened: bool,
}

impl<'o> Obj<'o> {
    fn new(out: &'o mut Vec<u8>, key: &'static [u8]) -> Self {
        Obj {
            out,
            key,
            opened: false,
        }
    }
    fn member(&mut self, k: &[u8]) {
        if self.opened {
            self.out.extend_from_slice(b",\"");
        } else {
            self.out.extend_from_slice(b",\"");
            self.out.extend_from_slice(self.key);
            self.out.extend_from_slice(b"\":{\"");
            self.opened = true;
        }
        self.out.extend_from_slice(k);
        self.out.extend_from_slice(b"\":");
    }
    fn str(&mut self, k: &[u8], v: Option<&str>) {
        if let Some(v) = v {
            self.member(k);
            json_str(self.out, v);
        }
    }
    fn raw(&mut self, k: &[u8], f: impl FnOnce(&mut Vec<u8>)) {
        self.member(k);
        f(self.out);
    }
    fn end(self) {
        if self.opened {
            self.out.push(b'}');
        }
    }
}

/// Writes `s` as a JSON string exactly as serde_json does (same escapes: `"`, `\\`, `\n`,
/// `\r`, `\t`, `\b`, `\f`, other bytes below 0x20 as `\u00XX`; nothing else), skipping 8
/// clean bytes at a time.
pub fn json_str(out: &mut Vec<u8>, s: &str) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // "Bit Twiddling Hacks" haszero/hasless: exact as a yes/no for the whole word.
    fn clean(w: u64) -> bool {
        let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
        !(zero(w ^ (ONES * u64::from(b'"')))
            || zero(w ^ (ONES * u64::from(b'\\')))
            || w.wrapping_sub(ONES * 0x20) & !w & HIGH != 0)
    }
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        // A clean word is skipped whole; a word with something to escape is walked byte by
        // byte to its end (re-testing at every byte would cost more than the walk on dense
        // text such as JSON logged inside a message).
        let end = match b.get(i..i + 8) {
            Some(chunk) => {
                let mut w = [0u8; 8];
                w.copy_from_slice(chunk);
                if clean(u64::from_le_bytes(w)) {
                    i += 8;
                    continue;
                }
                i + 8
            }
            None => b.len(),
        };
        while i < end {
            let c = b[i];
            if c >= 0x20 && c != b'"' && c != b'\\' {
                i += 1;
                continue;
            }
            out.extend_from_slice(&b[start..i]);
            escape(out, c);
            i += 1;
            start = i;
        }
    }
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LogEvent;
    use serde_json::Value;

    fn data() -> LogsData<'static> {
        LogsData {
            message_type: "DATA_MESSAGE".into(),
            owner: "123456789012".into(),
            log_group: "/aws/lambda/vocab-api-words".into(),
            log_stream: "2026/11/24/[$LATEST]abc".into(),
            subscription_filters: vec![],
            log_events: vec![],
            policy_level: None,
        }
    }

    fn doc(message: &str) -> Value {
        let d = data();
        let naming = Naming::default();
        let ctx = BatchContext::new(&d, &naming, Some("ap-northeast-2"), 1_795_510_800_000);
        let ev = LogEvent::new("3".repeat(56), 1_795_510_800_123, message);
        let doc = build(&ctx, &ev);
        assert_eq!(&*doc.index, "logs-cloudwatch.vocab_api_words-default");
        serde_json::from_slice(&doc.source).unwrap()
    }

    proptest::proptest! {
        #[test]
        fn timestamps_are_written_exactly_as_chrono_writes_them(
            ms in proptest::prop_oneof![
                -62_167_219_200_000i64..253_402_300_800_000,
                1_700_000_000_000i64..1_900_000_000_000,
                proptest::num::i64::ANY,
            ],
        ) {
            let chrono = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            proptest::prop_assert_eq!(rfc3339_millis(ms), chrono);
        }

        #[test]
        fn json_str_writes_exactly_what_serde_json_writes(
            s in "(?s).{0,300}",
            ctl in proptest::collection::vec(0u8..0x20, 0..5),
        ) {
            let mut s = s;
            for c in ctl {
                s.push(char::from(c));
                s.push_str("\"\\é한");
            }
            let mut out = Vec::new();
            json_str(&mut out, &s);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&s).unwrap());
        }
    }

    /// A message kept as text is copied in the payload's own JSON spelling, less its line
    /// ends, however they were escaped; the document still reads back as the same text.
    #[test]
    fn a_text_message_is_copied_in_its_json_spelling_without_its_line_ends() {
        let spellings = [
            (
                r#"a \"quoted\" \/path\u00e9\n"#,
                "a \"quoted\" /path\u{e9}",
                r#""message":"a \"quoted\" \/path\u00e9""#,
            ),
            (r#"crlf\r\n"#, "crlf", r#""message":"crlf""#),
            (
                r#"unicode newline\u000A\u000d"#,
                "unicode newline",
                r#""message":"unicode newline""#,
            ),
            (
                r#"ends with a backslash-n \\n\n"#,
                "ends with a backslash-n \\n",
                r#""message":"ends with a backslash-n \\n""#,
            ),
            (
                r#"lone \ud800 surrogate"#,
                "lone \u{fffd} surrogate",
                r#""message":"lone \ufffd surrogate""#,
            ),
        ];
        for (json, text, wire) in spellings {
            let payload = format!(
                r#"{{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"s","logEvents":[{{"id":"1","timestamp":1,"message":"{json}"}}]}}"#
            );
            let data = crate::decode::parse_logs_data(payload.as_bytes()).unwrap();
            let naming = Naming::default();
            let ctx = BatchContext::new(&data, &naming, None, 0);
            let d = build(&ctx, &data.log_events[0]);
            let source = String::from_utf8(d.source.clone()).unwrap();
            // The lone surrogate is the one case written from the text (serde_json's escaping).
            let wire = wire.replace(r"\ufffd", "\u{fffd}");
            assert!(source.contains(&wire), "{source} lacks {wire}");
            let v: Value = serde_json::from_slice(&d.source).unwrap();
            assert_eq!(v["message"], text);
        }
    }

    #[test]
    fn timestamps_at_the_edges_of_the_fast_path_match_chrono() {
        for ms in [
            0,
            -1,
            951_782_400_000,   // 2000-02-29
            4_107_542_399_999, // 2100-02-28T23:59:59.999
            -62_167_219_200_001,
            -62_167_219_200_000,
            253_402_300_799_999,
            253_402_300_800_000,
        ] {
            let chrono = chrono::DateTime::from_timestamp_millis(ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(rfc3339_millis(ms), chrono, "{ms}");
        }
    }

    #[test]
    fn every_document_carries_the_cloudwatch_and_cloud_context() {
        let v = doc("hello\n");
        assert_eq!(v["@timestamp"], "2026-11-24T09:00:00.123Z");
        assert_eq!(v["message"], "hello");
        assert_eq!(v["event"]["id"], "3".repeat(56));
        assert_eq!(v["aws"]["cloudwatch"]["event_id"], "3".repeat(56));
        assert_eq!(
            v["aws"]["cloudwatch"]["log_group"],
            "/aws/lambda/vocab-api-words"
        );
        assert_eq!(v["cloud"]["provider"], "aws");
        assert_eq!(v["cloud"]["account"]["id"], "123456789012");
        assert_eq!(v["cloud"]["region"], "ap-northeast-2");
        assert_eq!(v["faas"]["name"], "vocab-api-words");
        assert_eq!(v["data_stream"]["dataset"], "cloudwatch.vocab_api_words");
        assert_eq!(v["data_stream"]["namespace"], "default");
        assert_eq!(v["event"]["ingested"], "2026-11-24T09:00:00.000Z");
    }

    #[test]
    fn vocab_api_line_becomes_ecs_fields_and_app_object() {
        let line = r#"{"@timestamp":"2026-11-24T06:20:00.120Z","log.level":"warn","message":"request finished","service.name":"vocab-api","http.request.method":"POST","url.path":"/lists/l1/words","http.route":"/lists/{list_id}/words","http.response.status_code":400,"event.duration":1500000,"faas.execution":"req-1","user.id":"u-1","error.type":"validation","error.message":"word: must not be empty","app":{"list_id":"l1","word_count":0}}"#;
        let v = doc(line);
        assert_eq!(v["message"], "request finished");
        assert_eq!(v["log"]["level"], "warn");
        assert_eq!(v["http"]["request"]["method"], "POST");
        assert_eq!(v["http"]["route"], "/lists/{list_id}/words");
        assert_eq!(v["http"]["response"]["status_code"], 400);
        assert_eq!(v["url"]["path"], "/lists/l1/words");
        assert_eq!(v["event"]["duration"], 1_500_000);
        assert_eq!(v["faas"]["execution"], "req-1");
        assert_eq!(v["user"]["id"], "u-1");
        assert_eq!(v["error"]["type"], "validation");
        assert_eq!(v["service"]["name"], "vocab-api");
        assert_eq!(v["app"], serde_json::json!({"list_id":"l1","word_count":0}));
    }
}

#[cfg(test)]
mod web_tests;

/// Centralized logs (account-level subscription policies, cross-account destinations): the
/// envelope's `owner` is the receiving account; the source account and region arrive per
/// event as the system fields a subscription emits (`emitSystemFields: ["@aws.account",
/// "@aws.region"]`, https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_SubscriptionFilter.html),
/// as members of the event or inside `extractedFields`.
#[cfg(test)]
mod system_field_tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn the_source_account_and_region_of_each_event_become_its_cloud_fields() {
        let json = include_str!("../tests/data/centralized-account-policy-system-fields.json");
        let data = crate::decode::parse_logs_data(json.as_bytes()).unwrap();
        assert_eq!(data.log_events[0].account(), Some("111122223333"));
        assert_eq!(data.log_events[1].region(), Some("eu-west-1"));
        let naming = Naming::default();
        let ctx = BatchContext::new(&data, &naming, Some("us-east-1"), 0);
        let cloud = |i: usize| {
            let d = build(&ctx, &data.log_events[i]);
            serde_json::from_slice::<Value>(&d.source).unwrap()["cloud"].clone()
        };
        assert_eq!(
            cloud(0),
            serde_json::json!({"provider":"aws","region":"ap-northeast-2","account":{"id":"111122223333"}})
        );
        assert_eq!(
            cloud(1),
            serde_json::json!({"provider":"aws","region":"eu-west-1","account":{"id":"444455556666"}})
        );
        // Without system fields: the envelope's owner and the shipper's own region, as before.
        assert_eq!(
            cloud(2),
            serde_json::json!({"provider":"aws","region":"us-east-1","account":{"id":"999988887777"}})
        );
    }

    #[test]
    fn system_fields_survive_a_replay_of_the_event() {
        let json = include_str!("../tests/data/centralized-account-policy-system-fields.json");
        let data = crate::decode::parse_logs_data(json.as_bytes()).unwrap();
        // Dead letters and `shipper ship` carry the event as CloudWatch JSON again.
        let again = serde_json::to_vec(&data).unwrap();
        let back = crate::decode::parse_logs_data(&again).unwrap();
        assert_eq!(back, data);
        assert_eq!(back.log_events[1].account(), Some("444455556666"));
    }

    #[test]
    fn an_odd_system_field_value_is_ignored_not_a_lost_batch() {
        let json = br#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":1,"message":"m","@aws.account":123,"@aws.region":""}]}"#;
        let data = crate::decode::parse_logs_data(json).unwrap();
        assert_eq!(data.log_events[0].source, None);
    }
}

#[cfg(test)]
mod transform_tests;
