//! A parsed log event → one ECS document (serialized JSON) and its idempotent `_id`.

use std::cell::RefCell;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::decode::{LogEvent, LogsData};
use crate::parse::{self, Parsed, Report};
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
    pub namespace: &'a str,
    /// `ingested` of every document of this batch: one clock read per batch.
    pub ingested: String,
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
        BatchContext {
            owner: &data.owner,
            log_group: &data.log_group,
            log_stream: &data.log_stream,
            region,
            faas_name: target::faas_name(&data.log_group),
            dataset: naming.dataset(&data.log_group).into_owned(),
            namespace: &naming.namespace,
            ingested: rfc3339_millis(now_ms),
            index_cache: RefCell::new(None),
        }
    }

    /// The `_index` for an event at `timestamp_ms`.
    fn index(&self, naming: &Naming, timestamp_ms: i64) -> Arc<str> {
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
}

/// `2026-11-24T09:00:00.123Z` (Elasticsearch's `strict_date_optional_time`).
pub fn rfc3339_millis(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

// The document's shape. Field names are ECS; see `log_schema::field` and docs/CONTRACTS.md.
#[derive(Serialize)]
struct Source<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    message: &'a str,
    event: EventF<'a>,
    #[serde(skip_serializing_if = "LogF::is_empty")]
    log: LogF<'a>,
    aws: AwsF<'a>,
    cloud: CloudF<'a>,
    #[serde(skip_serializing_if = "FaasF::is_empty")]
    faas: FaasF<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_stream: Option<DataStreamF<'a>>,
    #[serde(skip_serializing_if = "HttpF::is_empty")]
    http: HttpF<'a>,
    #[serde(skip_serializing_if = "UrlF::is_empty")]
    url: UrlF<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<IdF<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace: Option<IdF<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<IdF<'a>>,
    #[serde(skip_serializing_if = "ErrorF::is_empty")]
    error: ErrorF<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<NameF<'a>>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    app: &'a Map<String, Value>,
}

#[derive(Serialize)]
struct EventF<'a> {
    id: &'a str,
    ingested: &'a str,
    dataset: &'a str,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration: Option<i64>,
}

#[derive(Serialize)]
struct LogF<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    level: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    logger: Option<&'a str>,
}
impl LogF<'_> {
    fn is_empty(&self) -> bool {
        self.level.is_none() && self.logger.is_none()
    }
}

#[derive(Serialize)]
struct AwsF<'a> {
    cloudwatch: CloudwatchF<'a>,
    #[serde(skip_serializing_if = "LambdaF::is_empty")]
    lambda: LambdaF<'a>,
}

#[derive(Serialize)]
struct CloudwatchF<'a> {
    log_group: &'a str,
    log_stream: &'a str,
    event_id: &'a str,
}

#[derive(Serialize)]
struct LambdaF<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<&'a Report>,
    #[serde(skip_serializing_if = "Option::is_none")]
    xray_trace_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    runtime_version_arn: Option<&'a str>,
}
impl LambdaF<'_> {
    fn is_empty(&self) -> bool {
        self.report.is_none()
            && self.xray_trace_id.is_none()
            && self.runtime_version.is_none()
            && self.runtime_version_arn.is_none()
    }
}

#[derive(Serialize)]
struct CloudF<'a> {
    provider: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    account: Option<IdF<'a>>,
}

#[derive(Serialize)]
struct FaasF<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    execution: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coldstart: Option<bool>,
}
impl FaasF<'_> {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.version.is_none()
            && self.execution.is_none()
            && self.coldstart.is_none()
    }
}

#[derive(Serialize)]
struct DataStreamF<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    dataset: &'a str,
    namespace: &'a str,
}

#[derive(Serialize)]
struct HttpF<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<MethodF<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response: Option<StatusF>,
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<&'a str>,
}
impl HttpF<'_> {
    fn is_empty(&self) -> bool {
        self.request.is_none() && self.response.is_none() && self.route.is_none()
    }
}
#[derive(Serialize)]
struct MethodF<'a> {
    method: &'a str,
}
#[derive(Serialize)]
struct StatusF {
    status_code: u16,
}

#[derive(Serialize)]
struct UrlF<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<&'a str>,
}
impl UrlF<'_> {
    fn is_empty(&self) -> bool {
        self.path.is_none() && self.query.is_none()
    }
}

#[derive(Serialize)]
struct IdF<'a> {
    id: &'a str,
}
#[derive(Serialize)]
struct NameF<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ErrorF<'a> {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stack_trace: Option<&'a str>,
}
impl ErrorF<'_> {
    fn is_empty(&self) -> bool {
        self.kind.is_none() && self.message.is_none() && self.stack_trace.is_none()
    }
}

/// The message without its trailing newline (Lambda and most loggers end lines with `\n`).
pub fn trim_message(m: &str) -> &str {
    m.trim_end_matches(['\n', '\r'])
}

/// Builds the document for one event.
pub fn build(ctx: &BatchContext<'_>, naming: &Naming, event: &LogEvent<'_>) -> Document {
    let raw = trim_message(&event.message);
    let parsed = parse::parse(raw);
    let source = serialize(ctx, naming, event, raw, &parsed);
    Document {
        id: event.id.clone(),
        index: ctx.index(naming, event.timestamp),
        source,
        timestamp_ms: event.timestamp,
    }
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

fn as_deref(o: &Option<String>) -> Option<&str> {
    o.as_deref()
}

fn serialize(
    ctx: &BatchContext<'_>,
    naming: &Naming,
    event: &LogEvent<'_>,
    raw: &str,
    p: &Parsed,
) -> Vec<u8> {
    let src = Source {
        timestamp: rfc3339_millis(event.timestamp),
        message: p.message.as_deref().unwrap_or(raw),
        event: EventF {
            id: &event.id,
            ingested: &ctx.ingested,
            dataset: &ctx.dataset,
            kind: "event",
            action: p.action,
            duration: p.duration_ns,
        },
        log: LogF {
            level: as_deref(&p.level),
            logger: as_deref(&p.logger),
        },
        aws: AwsF {
            cloudwatch: CloudwatchF {
                log_group: ctx.log_group,
                log_stream: ctx.log_stream,
                event_id: &event.id,
            },
            lambda: LambdaF {
                report: p.report.as_ref(),
                xray_trace_id: as_deref(&p.xray_trace_id),
                runtime_version: as_deref(&p.runtime_version),
                runtime_version_arn: as_deref(&p.runtime_version_arn),
            },
        },
        cloud: CloudF {
            provider: "aws",
            region: ctx.region,
            account: (!ctx.owner.is_empty()).then_some(IdF { id: ctx.owner }),
        },
        faas: FaasF {
            name: ctx.faas_name,
            version: as_deref(&p.faas_version),
            execution: as_deref(&p.faas_execution),
            coldstart: p.coldstart,
        },
        data_stream: (naming.mode == target::TargetMode::DataStream).then_some(DataStreamF {
            kind: "logs",
            dataset: &ctx.dataset,
            namespace: ctx.namespace,
        }),
        http: HttpF {
            request: p.http_method.as_deref().map(|method| MethodF { method }),
            response: p.status_code.map(|status_code| StatusF { status_code }),
            route: as_deref(&p.http_route),
        },
        url: UrlF {
            path: as_deref(&p.url_path),
            query: as_deref(&p.url_query),
        },
        user: p.user_id.as_deref().map(|id| IdF { id }),
        trace: p.trace_id.as_deref().map(|id| IdF { id }),
        span: p.span_id.as_deref().map(|id| IdF { id }),
        error: ErrorF {
            kind: as_deref(&p.error_type),
            message: as_deref(&p.error_message),
            stack_trace: as_deref(&p.error_stack_trace),
        },
        service: p.service_name.as_deref().map(|name| NameF { name }),
        app: &p.app,
    };
    // Serializing plain structs of strings and numbers can't fail; a failure would be a bug,
    // and an empty object still indexes rather than losing the event's place in the batch.
    // Sized up front: growing by doubling would copy large messages several times and leave
    // up to half of each document's buffer unused while the batch is held for retries.
    let mut out = Vec::with_capacity(src.message.len() + raw_extra(raw, p) + 768);
    match serde_json::to_writer(&mut out, &src) {
        Ok(()) => out,
        Err(_) => b"{}".to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::LogEvent;

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
        let ev = LogEvent {
            id: "3".repeat(56),
            timestamp: 1_795_510_800_123,
            message: message.into(),
            extracted_fields: None,
        };
        let doc = build(&ctx, &naming, &ev);
        assert_eq!(&*doc.index, "logs-cloudwatch.vocab_api_words-default");
        serde_json::from_slice(&doc.source).unwrap()
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
