//! ECS field names (https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html).
//!
//! Only the names this project writes or reads. Keep them dotted exactly as ECS spells them:
//! the shipper accepts both the dotted form (`"http.route": ..`) and the nested form
//! (`"http": {"route": ..}`).

pub const TIMESTAMP: &str = "@timestamp";
pub const MESSAGE: &str = "message";
pub const LOG_LEVEL: &str = "log.level";
pub const LOG_LOGGER: &str = "log.logger";

pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
pub const HTTP_ROUTE: &str = "http.route";
pub const URL_PATH: &str = "url.path";

/// Nanoseconds, as ECS defines `event.duration`.
pub const EVENT_DURATION: &str = "event.duration";
pub const EVENT_ID: &str = "event.id";
pub const EVENT_INGESTED: &str = "event.ingested";
pub const EVENT_DATASET: &str = "event.dataset";
pub const EVENT_KIND: &str = "event.kind";
pub const EVENT_ACTION: &str = "event.action";
pub const EVENT_OUTCOME: &str = "event.outcome";
pub const EVENT_ORIGINAL: &str = "event.original";

pub const USER_ID: &str = "user.id";
pub const USER_AGENT_ORIGINAL: &str = "user_agent.original";
pub const TRACE_ID: &str = "trace.id";
pub const SPAN_ID: &str = "span.id";
pub const TRANSACTION_ID: &str = "transaction.id";

pub const ERROR_TYPE: &str = "error.type";
pub const ERROR_MESSAGE: &str = "error.message";
pub const ERROR_STACK_TRACE: &str = "error.stack_trace";
pub const ERROR_CODE: &str = "error.code";

pub const SERVICE_NAME: &str = "service.name";
pub const SERVICE_VERSION: &str = "service.version";

pub const FAAS_NAME: &str = "faas.name";
pub const FAAS_VERSION: &str = "faas.version";
/// The Lambda request id.
pub const FAAS_EXECUTION: &str = "faas.execution";
pub const FAAS_COLDSTART: &str = "faas.coldstart";

pub const CLOUD_PROVIDER: &str = "cloud.provider";
pub const CLOUD_REGION: &str = "cloud.region";
pub const CLOUD_ACCOUNT_ID: &str = "cloud.account.id";

pub const DATA_STREAM_TYPE: &str = "data_stream.type";
pub const DATA_STREAM_DATASET: &str = "data_stream.dataset";
pub const DATA_STREAM_NAMESPACE: &str = "data_stream.namespace";

pub const AWS_CLOUDWATCH_LOG_GROUP: &str = "aws.cloudwatch.log_group";
pub const AWS_CLOUDWATCH_LOG_STREAM: &str = "aws.cloudwatch.log_stream";
pub const AWS_CLOUDWATCH_EVENT_ID: &str = "aws.cloudwatch.event_id";

/// The one `flattened` field. Every application key that is not a promoted ECS field lands
/// here (`app.<key>`), so that no application's value types can ever cause a mapping
/// conflict. The vocab API writes its domain fields (list id, word count, quiz score) in an
/// object of this same name, which the shipper merges in place rather than nesting.
pub const APP: &str = "app";

// Shipper's own metrics fields, written on every invocation's summary line.
pub const SHIPPER_RECEIVED: &str = "shipper.events.received";
pub const SHIPPER_INDEXED: &str = "shipper.events.indexed";
pub const SHIPPER_ALREADY_PRESENT: &str = "shipper.events.already_present";
pub const SHIPPER_RETRIED: &str = "shipper.events.retried";
pub const SHIPPER_DEAD_LETTERED: &str = "shipper.events.dead_lettered";
pub const SHIPPER_BYTES_SENT: &str = "shipper.bytes_sent";
pub const SHIPPER_BULK_LATENCY_MS: &str = "shipper.bulk_latency_ms";
