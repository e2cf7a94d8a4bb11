//! One log message → its structured parts: application JSON, a Lambda platform line, or text.
//!
//! Known keys become ECS fields; every other application key goes, unchanged, under the one
//! `flattened` field `app`, so an application can log `"status": "ok"` in one line and
//! `"status": 200` in the next without a mapping conflict.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::json::Reader;

mod apigateway;
mod waf;

/// What a message says, beyond the message itself. `None` = not present.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// Replaces the raw message when the line is structured (e.g. the JSON's `message`).
    pub message: Option<String>,
    pub level: Option<String>,
    pub logger: Option<String>,
    pub http_method: Option<String>,
    pub url_path: Option<String>,
    pub url_query: Option<String>,
    pub http_route: Option<String>,
    pub status_code: Option<u16>,
    /// Nanoseconds.
    pub duration_ns: Option<i64>,
    pub user_id: Option<String>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub error_stack_trace: Option<String>,
    pub faas_execution: Option<String>,
    pub faas_version: Option<String>,
    pub coldstart: Option<bool>,
    pub service_name: Option<String>,
    /// `platform.start`, `platform.report`, …: set for Lambda platform lines only.
    pub action: Option<&'static str>,
    /// `event.action` the line itself says: an application's (`client.error`), WAF's
    /// terminating action (`block`).
    pub event_action: Option<String>,
    /// `user_agent.original`: an application's, an access log's, a WAF record's header.
    pub user_agent: Option<String>,
    pub report: Option<Report>,
    pub xray_trace_id: Option<String>,
    pub runtime_version: Option<String>,
    pub runtime_version_arn: Option<String>,
    /// Everything else the application wrote (the `flattened` field).
    pub app: App,
    /// Set for the HTTP request records AWS writes (API Gateway access logs, WAF logs).
    pub web: Option<Box<Web>>,
}

/// What an API Gateway access log line or a WAF record says beyond the fields every line
/// can have (docs/CONTRACTS.md, section B). Boxed: an application line pays one pointer.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Web {
    /// `event.provider`: `apigateway` or `waf`.
    pub provider: &'static str,
    /// `event.outcome`: `success` below status 400, else `failure` (access logs).
    pub outcome: Option<&'static str>,
    /// `http.request.id`.
    pub request_id: Option<String>,
    /// `http.response.body.bytes`.
    pub body_bytes: Option<i64>,
    /// `http.version` (`1.1`, `2.0`).
    pub http_version: Option<String>,
    /// `source.ip`: only a valid IPv4/IPv6 address (the field is mapped `ip`).
    pub source_ip: Option<String>,
    /// `source.geo.country_iso_code`.
    pub country: Option<String>,
    /// `network.protocol` (`http`).
    pub protocol: Option<String>,
    /// `url.domain`.
    pub domain: Option<String>,
    /// `rule.id`, `rule.ruleset` (WAF's terminating rule and its type).
    pub rule_id: Option<String>,
    pub ruleset: Option<String>,
    /// The record's own time in ms (WAF's `timestamp`): `@timestamp` instead of CloudWatch's.
    pub timestamp_ms: Option<i64>,
    /// `aws.apigateway.*` or `aws.waf.*` (by `provider`).
    pub aws: Map<String, Value>,
}

/// What the application wrote that has no ECS field: the one `flattened` field. A value the
/// shipper only carries (a span, a domain object) keeps the JSON text it was written in and
/// is copied into the document; building it into a `Value` tree and writing it out again was
/// about a fifth of a batch's transform (callgrind).
#[derive(Debug, Default, Clone)]
pub struct App {
    values: Map<String, Value>,
    /// JSON text checked by [`Reader::value`]: valid, and on one line.
    raw: Vec<(String, String)>,
}

impl App {
    pub fn is_empty(&self) -> bool {
        self.values.is_empty() && self.raw.is_empty()
    }

    /// Sets `key`, replacing what it held (as a JSON object would).
    pub fn insert(&mut self, key: String, value: Value) {
        self.raw.retain(|(k, _)| *k != key);
        self.values.insert(key, value);
    }

    /// Sets `key` to JSON text taken from the message.
    fn insert_raw(&mut self, key: &str, value: &str) {
        // A pretty-printed message spans lines; its raw text would break the NDJSON line.
        if memchr::memchr2(b'\n', b'\r', value.as_bytes()).is_some() {
            if let Ok(v) = serde_json::from_str(value) {
                self.insert(key.to_owned(), v);
            }
            return;
        }
        self.values.remove(key);
        match self.raw.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_owned(),
            None => self.raw.push((key.to_owned(), value.to_owned())),
        }
    }

    /// The members with a `Value`.
    pub fn values(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.values.iter()
    }

    /// The members kept as JSON text (one line each, valid JSON).
    pub fn raw(&self) -> impl Iterator<Item = (&str, &str)> {
        self.raw.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Redacts every member ([`crate::redact::Redactor::value`], the members as one object);
    /// those kept as JSON text are read into values first. True when something changed.
    pub fn redact(&mut self, r: &crate::redact::Redactor) -> bool {
        for (k, raw) in std::mem::take(&mut self.raw) {
            let v = serde_json::from_str(&raw).unwrap_or(Value::Null);
            self.values.insert(k, v);
        }
        let mut obj = Value::Object(std::mem::take(&mut self.values));
        let changed = r.value(&mut obj);
        if let Value::Object(m) = obj {
            self.values = m;
        }
        changed
    }

    /// Everything as one JSON object, as Elasticsearch will see it.
    pub fn to_map(&self) -> Map<String, Value> {
        let mut m = self.values.clone();
        for (k, v) in &self.raw {
            m.insert(k.clone(), serde_json::from_str(v).unwrap_or(Value::Null));
        }
        m
    }
}

impl PartialEq for App {
    fn eq(&self, other: &Self) -> bool {
        self.to_map() == other.to_map()
    }
}

/// The numbers of a Lambda `REPORT` line.
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billed_duration_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_size_mb: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_memory_used_mb: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_duration_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Parses one CloudWatch message (the trailing newline already trimmed).
pub fn parse(message: &str) -> Parsed {
    let mut p = Parsed::default();
    let trimmed = message.trim();
    if trimmed.starts_with('{') && trimmed.ends_with('}') {
        if let Some(members) = Reader::members(trimmed) {
            match shape(&members) {
                Shape::Platform => {
                    // Read once already: each value parses (the last of a repeated key wins).
                    let obj = members
                        .into_iter()
                        .map(|(k, v)| (k.into_owned(), value_of(v)))
                        .collect();
                    platform_json(obj, &mut p);
                }
                Shape::Waf => waf::parse(members, &mut p),
                Shape::AccessLog => apigateway::parse(members, &mut p),
                Shape::Application => application_json(members, &mut p),
            }
            return p;
        }
        // Malformed JSON stays text: fall through.
    } else if platform_text(message, &mut p) || runtime_prefixed(message, &mut p) {
        return p;
    }
    text(message, &mut p);
    p
}

/// What a JSON line is, from its keys alone (one pass, no value read but `type`'s).
enum Shape {
    /// Lambda's JSON log format for platform events: `"type": "platform.…"`.
    Platform,
    /// AWS WAF's record: `webaclId`, `action` and `httpRequest`.
    Waf,
    /// An API Gateway access log line: `requestId`, `status`, and `routeKey` (HTTP APIs) or
    /// `resourcePath` (REST APIs).
    AccessLog,
    Application,
}

fn shape(members: &[(Cow<'_, str>, &str)]) -> Shape {
    const REQUEST_ID: u8 = 1;
    const ROUTE: u8 = 2;
    const STATUS: u8 = 4;
    const WEBACL: u8 = 8;
    const ACTION: u8 = 16;
    const HTTP_REQUEST: u8 = 32;
    let mut seen = 0;
    let mut kind = None;
    for (k, v) in members {
        // Length and first byte first: most keys of an application line match neither, and
        // this runs for every JSON line.
        let k: &str = k;
        seen |= match (k.len(), k.as_bytes().first()) {
            // The last `type` counts, as the last of a repeated key does in an object.
            (4, Some(b't')) if k == "type" => {
                kind = Some(*v);
                0
            }
            (9, Some(b'r')) if k == "requestId" => REQUEST_ID,
            (8, Some(b'r')) if k == "routeKey" => ROUTE,
            (12, Some(b'r')) if k == "resourcePath" => ROUTE,
            (6, Some(b's')) if k == "status" => STATUS,
            (8, Some(b'w')) if k == "webaclId" => WEBACL,
            (6, Some(b'a')) if k == "action" => ACTION,
            (11, Some(b'h')) if k == "httpRequest" => HTTP_REQUEST,
            _ => 0,
        };
    }
    let platform = kind.is_some_and(|t| {
        value_of(t)
            .as_str()
            .is_some_and(|t| t.starts_with("platform."))
    });
    if platform {
        Shape::Platform
    } else if seen & (WEBACL | ACTION | HTTP_REQUEST) == WEBACL | ACTION | HTTP_REQUEST {
        Shape::Waf
    } else if seen & (REQUEST_ID | ROUTE | STATUS) == REQUEST_ID | ROUTE | STATUS {
        Shape::AccessLog
    } else {
        Shape::Application
    }
}

// ---- application JSON ----------------------------------------------------------------------

/// Where a known key goes. Aliases are the spellings seen in the wild (tracing, pino, winston,
/// Powertools, zap, logrus) for the same ECS field.
#[derive(Clone, Copy)]
#[cfg_attr(test, derive(Debug, PartialEq))]
enum Slot {
    Message,
    Level,
    Logger,
    Method,
    Path,
    Route,
    Status,
    DurationNs,
    DurationMs,
    DurationS,
    UserId,
    TraceId,
    SpanId,
    ErrorType,
    ErrorMessage,
    ErrorStack,
    Error,
    Execution,
    Service,
    ColdStart,
    EventAction,
    /// `event.kind`: the shipper writes `event` for every log line; an application's own
    /// `event` agrees and is dropped, anything else stays in `app`.
    EventKind,
    UserAgent,
    /// The app's own timestamp: CloudWatch's event timestamp is `@timestamp`, drop this one.
    Timestamp,
    /// The vocab API's domain object: merged into `app` rather than nested as `app.app`.
    App,
}

fn slot(key: &str) -> Option<Slot> {
    use Slot::*;
    // Most keys of an application line are none of these: dispatched on the length first, an
    // unknown key costs a jump and a compare or two instead of one compare per alias (this
    // runs for every key of every JSON line).
    Some(match key.len() {
        2 => match key {
            "ts" => Timestamp,
            _ => return None,
        },
        3 => match key {
            "msg" => Message,
            "lvl" => Level,
            "uri" | "url" => Path,
            "err" => Error,
            "app" => App,
            _ => return None,
        },
        4 => match key {
            "path" => Path,
            "time" => Timestamp,
            _ => return None,
        },
        5 => match key {
            "level" => Level,
            "route" => Route,
            "stack" => ErrorStack,
            "error" => Error,
            _ => return None,
        },
        6 => match key {
            "target" | "logger" => Logger,
            "method" => Method,
            "status" => Status,
            "userId" => UserId,
            "spanId" => SpanId,
            _ => return None,
        },
        7 => match key {
            "message" => Message,
            "rawPath" => Path,
            "elapsed" => DurationS,
            "user.id" | "user_id" => UserId,
            "traceId" => TraceId,
            "span.id" | "span_id" => SpanId,
            "service" => Service,
            _ => return None,
        },
        8 => match key {
            "severity" => Level,
            "url.path" | "raw_path" => Path,
            "routeKey" => Route,
            "trace.id" | "trace_id" => TraceId,
            _ => return None,
        },
        9 => match key {
            "log.level" | "levelname" => Level,
            "latencyMs" => DurationMs,
            "latency_s" => DurationS,
            "exception" => ErrorStack,
            "requestId" => Execution,
            "coldStart" => ColdStart,
            "timestamp" => Timestamp,
            _ => return None,
        },
        10 => match key {
            "log.logger" => Logger,
            "httpMethod" => Method,
            "http.route" => Route,
            "statusCode" => Status,
            "latency_ms" | "elapsed_ms" | "durationMs" => DurationMs,
            "duration_s" => DurationS,
            "error.type" | "error_type" => ErrorType,
            "stacktrace" => ErrorStack,
            "request_id" => Execution,
            "cold_start" => ColdStart,
            "event.kind" => EventKind,
            "@timestamp" => Timestamp,
            _ => return None,
        },
        11 => match key {
            "logger_name" => Logger,
            "http_method" => Method,
            "status_code" | "http_status" => Status,
            "duration_ns" => DurationNs,
            "duration_ms" => DurationMs,
            "stack_trace" => ErrorStack,
            _ => return None,
        },
        12 => match key {
            "awsRequestId" => Execution,
            "service.name" => Service,
            "event.action" => EventAction,
            _ => return None,
        },
        13 => match key {
            "xray_trace_id" => TraceId,
            "error.message" | "error_message" => ErrorMessage,
            _ => return None,
        },
        14 => match key {
            "name_of_logger" => Logger,
            "event.duration" => DurationNs,
            "exception_type" => ErrorType,
            "faas.execution" | "aws_request_id" => Execution,
            "faas.coldstart" => ColdStart,
            _ => return None,
        },
        16 => match key {
            "response_time_ms" => DurationMs,
            _ => return None,
        },
        17 => match key {
            "error.stack_trace" => ErrorStack,
            _ => return None,
        },
        19 => match key {
            "http.request.method" => Method,
            "function_request_id" => Execution,
            "user_agent.original" => UserAgent,
            _ => return None,
        },
        25 => match key {
            "http.response.status_code" => Status,
            _ => return None,
        },
        _ => return None,
    })
}

/// The alias table as first written: the reference [`slot`] is held to.
#[cfg(test)]
fn slot_reference(key: &str) -> Option<Slot> {
    use Slot::*;
    Some(match key {
        "message" | "msg" => Message,
        "log.level" | "level" | "severity" | "lvl" | "levelname" => Level,
        "log.logger" | "target" | "logger" | "logger_name" | "name_of_logger" => Logger,
        "http.request.method" | "method" | "http_method" | "httpMethod" => Method,
        "url.path" | "path" | "uri" | "url" | "rawPath" | "raw_path" => Path,
        "http.route" | "route" | "routeKey" => Route,
        "http.response.status_code" | "status" | "status_code" | "statusCode" | "http_status" => {
            Status
        }
        "event.duration" | "duration_ns" => DurationNs,
        "latency_ms" | "duration_ms" | "elapsed_ms" | "durationMs" | "latencyMs"
        | "response_time_ms" => DurationMs,
        "duration_s" | "latency_s" | "elapsed" => DurationS,
        "user.id" | "user_id" | "userId" => UserId,
        "trace.id" | "trace_id" | "traceId" | "xray_trace_id" => TraceId,
        "span.id" | "span_id" | "spanId" => SpanId,
        "error.type" | "error_type" | "exception_type" => ErrorType,
        "error.message" | "error_message" => ErrorMessage,
        "error.stack_trace" | "stack_trace" | "stack" | "stacktrace" | "exception" => ErrorStack,
        "error" | "err" => Error,
        "faas.execution"
        | "request_id"
        | "requestId"
        | "aws_request_id"
        | "awsRequestId"
        | "function_request_id" => Execution,
        "service.name" | "service" => Service,
        "faas.coldstart" | "cold_start" | "coldStart" => ColdStart,
        "event.action" => EventAction,
        "event.kind" => EventKind,
        "user_agent.original" => UserAgent,
        "@timestamp" | "timestamp" | "time" | "ts" => Timestamp,
        "app" => App,
        _ => return None,
    })
}

/// Top-level objects whose keys may be ECS fields written nested (`{"http":{"route":..}}`).
fn is_ecs_namespace(key: &str) -> bool {
    matches!(
        key,
        "http"
            | "url"
            | "user"
            | "trace"
            | "span"
            | "error"
            | "log"
            | "faas"
            | "service"
            | "event"
            | "user_agent"
    )
}

/// The members of `raw` if it is a JSON object.
fn object_members(raw: &str) -> Option<Vec<(Cow<'_, str>, &str)>> {
    raw.starts_with('{').then(|| Reader::members(raw)).flatten()
}

fn application_json(members: Vec<(Cow<'_, str>, &str)>, p: &mut Parsed) {
    // tracing-subscriber's JSON format: event fields under `fields`, span fields under
    // `span`/`spans`. The event's fields win over the line's other keys, which win over
    // span fields; a repeated key counts once, the last time (as in a JSON object).
    let (mut fields, mut span, mut spans) = (None, None, None);
    let mut top = Vec::with_capacity(members.len());
    for (k, v) in members {
        match &*k {
            "fields" => match object_members(v) {
                Some(f) => {
                    top.retain(|(k, _)| k != "fields");
                    fields = Some(f);
                }
                None => {
                    fields = None;
                    top.push((k, v));
                }
            },
            "span" => span = Some(v),
            "spans" => spans = Some(v),
            _ => top.push((k, v)),
        }
    }
    if let Some(list) = spans.and_then(Reader::items) {
        for s in list.iter().filter_map(|s| object_members(s)) {
            for (k, v) in s {
                promote_span_field(&k, v, p);
            }
        }
    }
    if let Some(s) = span.and_then(object_members) {
        for (k, v) in s {
            promote_span_field(&k, v, p);
        }
    }
    for (k, v) in top {
        apply(k, v, p);
    }
    for (k, v) in fields.into_iter().flatten() {
        apply(k, v, p);
    }
    // Spans are context worth keeping (their names, their other fields) under app.
    if let Some(s) = span {
        p.app.insert_raw("span", s);
    }
    if let Some(s) = spans {
        p.app.insert_raw("spans", s);
    }
}

/// Span fields only fill what the event itself leaves empty.
fn promote_span_field(k: &str, raw: &str, p: &mut Parsed) {
    let Some(s) = slot(k).filter(|_| k != "name") else {
        return;
    };
    let dst = match s {
        Slot::Execution => &mut p.faas_execution,
        Slot::UserId => &mut p.user_id,
        Slot::TraceId => &mut p.trace_id,
        Slot::Method => &mut p.http_method,
        Slot::Route => &mut p.http_route,
        _ => return,
    };
    if dst.is_none() {
        let v = value_of(raw);
        *dst = as_string(&v);
        if matches!(s, Slot::Method) {
            *dst = dst.as_deref().map(str::to_ascii_uppercase);
        }
    }
}

fn apply(key: Cow<'_, str>, raw: &str, p: &mut Parsed) {
    // `url`/`error`/`service` are both a plain alias and an ECS namespace: an object means
    // the namespace.
    let namespace = is_ecs_namespace(&key);
    let object = raw.starts_with('{');
    let Some(s) = slot(&key).filter(|_| !(namespace && object)) else {
        if namespace && object {
            apply_value(key.into_owned(), value_of(raw), p);
        } else {
            p.app.insert_raw(&key, raw);
        }
        return;
    };
    // `fill` may refuse (e.g. `status: "ok"` is not a status code): it keeps it as app data.
    fill(s, &key, value_of(raw), p);
}

/// A value the shipper looks into. [`Reader::value`] checked it as serde_json would, so it
/// parses; a plain string (most of them) is unescaped without serde_json's set-up.
fn value_of(raw: &str) -> Value {
    if raw.starts_with('"')
        && let Ok(s) = Reader::new(raw).string()
    {
        return Value::String(s.text.into_owned());
    }
    serde_json::from_str(raw).unwrap_or(Value::Null)
}

fn apply_value(key: String, value: Value, p: &mut Parsed) {
    if let Value::Object(inner) = value {
        let mut rest = Map::new();
        for (k, v) in inner {
            let dotted = format!("{key}.{k}");
            match (slot(&dotted), v) {
                (Some(s), v) => {
                    let _ = fill(s, &dotted, v, p);
                }
                // One more level: `{"http":{"request":{"method":..}}}`.
                (None, Value::Object(deeper)) => {
                    let mut deeper_rest = Map::new();
                    for (k2, v2) in deeper {
                        let dotted2 = format!("{dotted}.{k2}");
                        match slot(&dotted2) {
                            Some(s) => {
                                let _ = fill(s, &dotted2, v2, p);
                            }
                            None => {
                                deeper_rest.insert(k2, v2);
                            }
                        }
                    }
                    if !deeper_rest.is_empty() {
                        rest.insert(k, Value::Object(deeper_rest));
                    }
                }
                (None, v) => {
                    rest.insert(k, v);
                }
            }
        }
        if !rest.is_empty() {
            p.app.insert(key, Value::Object(rest));
        }
        return;
    }
    p.app.insert(key, value);
}

/// Puts `value` in its ECS slot. Returns false when the value doesn't fit the slot; the
/// original key/value then goes to `app`, so nothing the application wrote is lost.
fn fill(s: Slot, key: &str, mut value: Value, p: &mut Parsed) -> bool {
    let ok = match s {
        Slot::Message => set_str(&mut p.message, &mut value),
        Slot::Level => set_with(&mut p.level, &value, |l| Some(normalize_level(l))),
        Slot::Logger => set_str(&mut p.logger, &mut value),
        Slot::Method => set_with(&mut p.http_method, &value, |m| Some(m.to_ascii_uppercase())),
        Slot::Path => match value.as_str() {
            Some(u) => {
                let (path, query) = split_query(u);
                p.url_path = Some(path.to_owned());
                if let Some(q) = query {
                    p.url_query = Some(q.to_owned());
                }
                true
            }
            None => false,
        },
        Slot::Route => set_str(&mut p.http_route, &mut value),
        Slot::Status => match as_u16(&value) {
            Some(c) => {
                p.status_code = Some(c);
                true
            }
            None => false,
        },
        Slot::DurationNs => set_num(&mut p.duration_ns, &value, 1.0),
        Slot::DurationMs => set_num(&mut p.duration_ns, &value, 1e6),
        Slot::DurationS => set_num(&mut p.duration_ns, &value, 1e9),
        Slot::UserId => set_id(&mut p.user_id, &mut value),
        Slot::TraceId => set_id(&mut p.trace_id, &mut value),
        Slot::SpanId => set_id(&mut p.span_id, &mut value),
        Slot::ErrorType => set_str(&mut p.error_type, &mut value),
        Slot::ErrorMessage => set_str(&mut p.error_message, &mut value),
        Slot::ErrorStack => set_str(&mut p.error_stack_trace, &mut value),
        Slot::Error => match &value {
            Value::String(m) => {
                p.error_message = Some(m.clone());
                true
            }
            Value::Object(e) => {
                let t = e
                    .get("type")
                    .or_else(|| e.get("kind"))
                    .or_else(|| e.get("name"));
                let m = e.get("message").or_else(|| e.get("msg"));
                let st = e.get("stack_trace").or_else(|| e.get("stack"));
                if let Some(t) = t.and_then(Value::as_str) {
                    p.error_type = Some(t.to_owned());
                }
                if let Some(m) = m.and_then(Value::as_str) {
                    p.error_message = Some(m.to_owned());
                }
                if let Some(st) = st.and_then(Value::as_str) {
                    p.error_stack_trace = Some(st.to_owned());
                }
                t.is_some() || m.is_some()
            }
            _ => false,
        },
        Slot::Execution => set_id(&mut p.faas_execution, &mut value),
        Slot::Service => set_str(&mut p.service_name, &mut value),
        Slot::ColdStart => match value.as_bool() {
            Some(b) => {
                p.coldstart = Some(b);
                true
            }
            None => false,
        },
        Slot::EventAction => set_str(&mut p.event_action, &mut value),
        Slot::EventKind => value.as_str() == Some("event"),
        Slot::UserAgent => set_str(&mut p.user_agent, &mut value),
        Slot::Timestamp => true,
        Slot::App => match value {
            Value::Object(inner) => {
                for (k, v) in inner {
                    p.app.insert(k, v);
                }
                return true;
            }
            other => {
                p.app.insert(key.to_owned(), other);
                return true;
            }
        },
    };
    if !ok {
        p.app.insert(key.to_owned(), value);
    }
    true
}

/// Moves the string out of the parsed value (no copy); on a mismatch `v` is left intact
/// for `app`.
fn set_str(dst: &mut Option<String>, v: &mut Value) -> bool {
    match v {
        Value::String(s) => {
            *dst = Some(std::mem::take(s));
            true
        }
        _ => false,
    }
}

fn set_with(dst: &mut Option<String>, v: &Value, f: impl Fn(&str) -> Option<String>) -> bool {
    match v.as_str().and_then(f) {
        Some(s) => {
            *dst = Some(s);
            true
        }
        None => false,
    }
}

/// Ids are keywords; an integer id is still an id.
fn set_id(dst: &mut Option<String>, v: &mut Value) -> bool {
    if let Value::String(s) = v {
        *dst = Some(std::mem::take(s));
        return true;
    }
    match as_string(v) {
        Some(s) => {
            *dst = Some(s);
            true
        }
        None => false,
    }
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn set_num(dst: &mut Option<i64>, v: &Value, scale: f64) -> bool {
    let n = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 && n * scale < i64::MAX as f64 => {
            *dst = Some((n * scale).round() as i64);
            true
        }
        _ => false,
    }
}

fn as_u16(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    (100..=599).contains(&n).then_some(n as u16)
}

fn split_query(u: &str) -> (&str, Option<&str>) {
    match u.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (u, None),
    }
}

/// `WARNING`, `Warn`, `W`… → ECS's lower-case level names.
pub fn normalize_level(l: &str) -> String {
    let l = l.trim().trim_matches(|c| c == '[' || c == ']');
    match l.to_ascii_lowercase().as_str() {
        "warning" | "warn" | "w" => "warn".into(),
        "err" | "error" | "e" => "error".into(),
        "information" | "info" | "i" => "info".into(),
        "dbg" | "debug" | "d" => "debug".into(),
        "trace" | "t" => "trace".into(),
        "fatal" | "critical" | "crit" | "panic" | "emergency" | "alert" => "fatal".into(),
        other => other.to_owned(),
    }
}

// ---- Lambda platform lines -----------------------------------------------------------------

/// Lambda's JSON log format for platform events
/// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).
fn platform_json(mut obj: Map<String, Value>, p: &mut Parsed) {
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let record = match obj.remove("record") {
        Some(Value::Object(r)) => r,
        _ => Map::new(),
    };
    p.level = Some("info".into());
    p.faas_execution = record
        .get("requestId")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match kind.as_str() {
        "platform.initStart" => {
            p.action = Some("platform.init_start");
            p.runtime_version = str_of(&record, "runtimeVersion");
            p.runtime_version_arn = str_of(&record, "runtimeVersionArn");
            p.faas_version = str_of(&record, "functionVersion");
            p.message = Some(format!(
                "INIT_START Runtime Version: {}",
                p.runtime_version.as_deref().unwrap_or("")
            ));
        }
        "platform.start" => {
            p.action = Some("platform.start");
            p.faas_version = str_of(&record, "version");
            p.message = Some(format!(
                "START RequestId: {}",
                p.faas_execution.as_deref().unwrap_or("")
            ));
        }
        "platform.runtimeDone" | "platform.end" => {
            p.action = Some("platform.end");
            p.message = Some(format!(
                "END RequestId: {}",
                p.faas_execution.as_deref().unwrap_or("")
            ));
        }
        "platform.report" => {
            p.action = Some("platform.report");
            let m = record.get("metrics").and_then(Value::as_object);
            let f = |k: &str| m.and_then(|m| m.get(k)).and_then(Value::as_f64);
            let i = |k: &str| f(k).map(|v| v.round() as i64);
            let r = Report {
                duration_ms: f("durationMs"),
                billed_duration_ms: i("billedDurationMs"),
                memory_size_mb: i("memorySizeMB"),
                max_memory_used_mb: i("maxMemoryUsedMB"),
                init_duration_ms: f("initDurationMs"),
                restore_duration_ms: f("restoreDurationMs"),
                status: str_of(&record, "status"),
            };
            finish_report(r, p);
            if let Some(t) = record
                .get("tracing")
                .and_then(|t| t.get("value"))
                .and_then(Value::as_str)
            {
                set_xray(
                    t.split(';').next().unwrap_or(t).trim_start_matches("Root="),
                    p,
                );
            }
            p.message = Some(format!(
                "REPORT RequestId: {}",
                p.faas_execution.as_deref().unwrap_or("")
            ));
        }
        _ => {
            p.action = None;
            p.message = None;
            // Other platform events (initReport, restoreStart…) keep their record as app data.
            p.app.insert("record".into(), Value::Object(record));
            p.app.insert("type".into(), Value::String(kind));
        }
    }
}

fn str_of(m: &Map<String, Value>, k: &str) -> Option<String> {
    m.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn finish_report(r: Report, p: &mut Parsed) {
    if let Some(d) = r.duration_ms {
        p.duration_ns = Some((d * 1e6).round() as i64);
    }
    // A cold start is exactly an invocation whose REPORT carries Init Duration.
    p.coldstart = Some(r.init_duration_ms.is_some());
    if matches!(r.status.as_deref(), Some("timeout" | "error" | "failure")) {
        p.level = Some("error".into());
        p.error_type = Some(format!(
            "Lambda.{}",
            r.status.as_deref().unwrap_or_default()
        ));
    }
    p.report = Some(r);
}

fn set_xray(id: &str, p: &mut Parsed) {
    if !id.is_empty() {
        p.xray_trace_id = Some(id.to_owned());
        if p.trace_id.is_none() {
            p.trace_id = Some(id.to_owned());
        }
    }
}

/// Text platform lines exactly as Lambda writes them:
/// `START RequestId: <id> Version: $LATEST`, `END RequestId: <id>`,
/// `REPORT RequestId: <id>\tDuration: 1.00 ms\t…`, `INIT_START Runtime Version: …`.
fn platform_text(m: &str, p: &mut Parsed) -> bool {
    if let Some(rest) = m.strip_prefix("START RequestId: ") {
        let (id, tail) = rest.split_once(' ').unwrap_or((rest.trim_end(), ""));
        p.action = Some("platform.start");
        p.level = Some("info".into());
        p.faas_execution = Some(id.trim().to_owned());
        if let Some(v) = tail.trim().strip_prefix("Version: ") {
            p.faas_version = Some(v.trim().to_owned());
        }
        return true;
    }
    if let Some(rest) = m.strip_prefix("END RequestId: ") {
        p.action = Some("platform.end");
        p.level = Some("info".into());
        p.faas_execution = Some(rest.trim().to_owned());
        return true;
    }
    if let Some(rest) = m.strip_prefix("REPORT RequestId: ") {
        p.action = Some("platform.report");
        p.level = Some("info".into());
        let mut r = Report::default();
        let mut parts = rest.split(['\t', '\n']);
        p.faas_execution = parts.next().map(|s| s.trim().to_owned());
        let mut xray = None;
        for part in parts {
            let Some((k, v)) = part.split_once(": ") else {
                continue;
            };
            let num = |v: &str| {
                v.trim()
                    .split(' ')
                    .next()
                    .and_then(|n| n.parse::<f64>().ok())
            };
            match k.trim() {
                "Duration" => r.duration_ms = num(v),
                "Billed Duration" => r.billed_duration_ms = num(v).map(|n| n as i64),
                "Memory Size" => r.memory_size_mb = num(v).map(|n| n as i64),
                "Max Memory Used" => r.max_memory_used_mb = num(v).map(|n| n as i64),
                "Init Duration" => r.init_duration_ms = num(v),
                "Restore Duration" => r.restore_duration_ms = num(v),
                "Status" => r.status = Some(v.trim().to_owned()),
                "XRAY TraceId" => xray = Some(v.trim().to_owned()),
                _ => {}
            }
        }
        finish_report(r, p);
        if let Some(x) = xray {
            set_xray(&x, p);
        }
        return true;
    }
    if let Some(rest) = m.strip_prefix("INIT_START ") {
        p.action = Some("platform.init_start");
        p.level = Some("info".into());
        for part in rest.split(['\t', '\n']) {
            if let Some(v) = part.strip_prefix("Runtime Version: ") {
                p.runtime_version = Some(v.trim().to_owned());
            } else if let Some(v) = part.strip_prefix("Runtime Version ARN: ") {
                p.runtime_version_arn = Some(v.trim().to_owned());
            }
        }
        return true;
    }
    false
}

/// The Node.js / Python runtime's console format:
/// `2026-11-24T09:00:00.000Z\t<request id>\tINFO\t<message>` and Python's
/// `[INFO]\t2026-11-24T09:00:00.000Z\t<request id>\t<message>`. The message part may be JSON.
fn runtime_prefixed(m: &str, p: &mut Parsed) -> bool {
    let mut it = m.splitn(4, '\t');
    let (Some(a), Some(b), Some(c), Some(rest)) = (it.next(), it.next(), it.next(), it.next())
    else {
        return false;
    };
    let looks_time = |s: &str| {
        s.len() >= 19 && s.as_bytes().first().is_some_and(u8::is_ascii_digit) && s.contains('T')
    };
    let looks_id = |s: &str| s.len() >= 8 && s.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-');
    let (level, req) = if looks_time(a) && looks_id(b) && is_level_word(c) {
        (c, b)
    } else if a.starts_with('[')
        && a.ends_with(']')
        && is_level_word(a)
        && looks_time(b)
        && looks_id(c)
    {
        (a, c)
    } else {
        return false;
    };
    let body = rest.trim_end();
    let as_json = body.starts_with('{') && body.ends_with('}');
    match as_json.then(|| Reader::members(body)).flatten() {
        Some(obj) => application_json(obj, p),
        None => {
            p.message = Some(body.to_owned());
            text_error_kind(body, p);
        }
    }
    if p.level.is_none() {
        p.level = Some(normalize_level(level));
    }
    if p.faas_execution.is_none() {
        p.faas_execution = Some(req.to_owned());
    }
    true
}

fn is_level_word(s: &str) -> bool {
    matches!(
        s.trim_matches(|c| c == '[' || c == ']')
            .to_ascii_uppercase()
            .as_str(),
        "TRACE" | "DEBUG" | "INFO" | "WARN" | "WARNING" | "ERROR" | "FATAL" | "CRITICAL"
    )
}

// ---- plain text ------------------------------------------------------------------------------

/// Text keeps its message; a level is read from common prefixes.
fn text(m: &str, p: &mut Parsed) {
    p.level = text_level(m);
    text_error_kind(m, p);
}

fn text_error_kind(m: &str, p: &mut Parsed) {
    if m.starts_with("thread '") && m.contains("' panicked at ") {
        p.level = Some("error".into());
        p.error_type = Some("panic".into());
        p.error_message = m.lines().nth(1).map(str::to_owned);
        p.error_stack_trace = Some(m.to_owned());
    } else if let Some(i) = m.find("Task timed out after ") {
        p.level = Some("error".into());
        p.error_type = Some("Lambda.timeout".into());
        p.error_message = Some(m[i..].trim_end().to_owned());
    }
}

fn text_level(m: &str) -> Option<String> {
    let head = m.trim_start();
    // `[ERROR] …`, `ERROR …`, `ERROR: …`
    let first = head
        .split(|c: char| c.is_whitespace() || c == ':')
        .next()
        .unwrap_or_default();
    if !first.is_empty() && is_level_word(first) {
        return Some(normalize_level(first));
    }
    // tracing-subscriber's full format: `2026-11-24T09:00:00.123456Z  INFO target: msg`
    if head.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let mut words = head.split_whitespace();
        if let (Some(_ts), Some(l)) = (words.next(), words.next())
            && is_level_word(l)
        {
            return Some(normalize_level(l));
        }
    }
    // logfmt: `level=error msg=…`
    if let Some(i) = m.find("level=") {
        let v = m[i + 6..]
            .trim_start_matches('"')
            .split(|c: char| c.is_whitespace() || c == '"')
            .next()
            .unwrap_or_default();
        if !v.is_empty() && (i == 0 || m.as_bytes().get(i - 1) == Some(&b' ')) {
            return Some(normalize_level(v));
        }
    }
    None
}

#[cfg(test)]
mod tests;
