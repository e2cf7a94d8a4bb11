use super::*;
use proptest::prelude::Strategy;
use serde_json::json;

#[test]
fn tracing_json_line_promotes_known_keys_and_keeps_the_rest_in_app() {
    let line = r#"{"timestamp":"2026-11-24T09:00:00.123456Z","level":"WARN","fields":{"message":"word not found","method":"GET","path":"/search?q=사과","status":404,"latency_ms":12.5,"request_id":"8f5e7c1a-1b2c-4d5e-8f90-123456789abc","user_id":"u_00ff","word":"사과"},"target":"vocab_api::handlers::words","span":{"method":"GET","uri":"/search","request_id":"r","name":"request"},"spans":[{"name":"lambda_invocation","requestId":"r0"}]}"#;
    let p = parse(line);
    assert_eq!(p.message.as_deref(), Some("word not found"));
    assert_eq!(p.level.as_deref(), Some("warn"));
    assert_eq!(p.logger.as_deref(), Some("vocab_api::handlers::words"));
    assert_eq!(p.http_method.as_deref(), Some("GET"));
    assert_eq!(p.url_path.as_deref(), Some("/search"));
    assert_eq!(p.url_query.as_deref(), Some("q=사과"));
    assert_eq!(p.status_code, Some(404));
    assert_eq!(p.duration_ns, Some(12_500_000));
    // The event's own request id wins over the spans'.
    assert_eq!(
        p.faas_execution.as_deref(),
        Some("8f5e7c1a-1b2c-4d5e-8f90-123456789abc")
    );
    assert_eq!(p.user_id.as_deref(), Some("u_00ff"));
    assert_eq!(p.app.to_map()["word"], "사과");
    assert_eq!(p.app.to_map()["span"]["name"], "request");
    assert!(!p.app.to_map().contains_key("status") && !p.app.to_map().contains_key("timestamp"));
}

#[test]
fn nested_ecs_objects_are_promoted_like_dotted_keys() {
    let p = parse(
        r#"{"http":{"request":{"method":"post","id":"x"},"response":{"status_code":"201"}},"url":{"path":"/lists"},"user":{"id":42},"error":{"type":"E","message":"m"},"log":{"level":"ERROR"}}"#,
    );
    assert_eq!(p.http_method.as_deref(), Some("POST"));
    assert_eq!(p.status_code, Some(201));
    assert_eq!(p.url_path.as_deref(), Some("/lists"));
    assert_eq!(p.user_id.as_deref(), Some("42"));
    assert_eq!(p.error_type.as_deref(), Some("E"));
    assert_eq!(p.level.as_deref(), Some("error"));
    assert_eq!(
        p.app.to_map(),
        json!({"http":{"request":{"id":"x"}}})
            .as_object()
            .unwrap()
            .clone()
    );
}

#[test]
fn a_value_that_does_not_fit_its_ecs_field_stays_in_app() {
    let p = parse(r#"{"status":"ok","level":7,"latency_ms":"fast"}"#);
    assert_eq!(p.status_code, None);
    assert_eq!(p.app.to_map()["status"], "ok");
    assert_eq!(p.app.to_map()["level"], 7);
    assert_eq!(p.app.to_map()["latency_ms"], "fast");
}

#[test]
fn malformed_json_stays_text() {
    for m in [
        r#"{"level":"INFO","msg":"truncated"#,
        "{'level':'INFO'}",
        r#"{"a":1,}"#,
        r#"{"latency_ms":NaN,"status":200}"#,
        r#"{"a":1}{"a":2}"#,
        "{ this is not json at all: 안녕 }",
    ] {
        let p = parse(m);
        assert_eq!(p.message, None, "{m}");
        assert!(p.app.is_empty(), "{m}");
    }
}

#[test]
fn json_that_is_not_an_object_stays_text() {
    assert!(parse("[1,2,3]").app.is_empty());
    assert!(parse(r#""just a json string""#).app.is_empty());
}

#[test]
fn report_line_exactly_as_lambda_writes_it() {
    let m = "REPORT RequestId: 3f1c2d4e-aaaa-bbbb-cccc-0123456789ab\tDuration: 12.34 ms\tBilled Duration: 136 ms\tMemory Size: 128 MB\tMax Memory Used: 31 MB\tInit Duration: 122.88 ms\t\nXRAY TraceId: 1-6743fa10-0123456789abcdef01234567\tSegmentId: 0123456789abcdef\tSampled: true\t";
    let p = parse(m);
    assert_eq!(p.action, Some("platform.report"));
    assert_eq!(
        p.faas_execution.as_deref(),
        Some("3f1c2d4e-aaaa-bbbb-cccc-0123456789ab")
    );
    let r = p.report.unwrap();
    assert_eq!(r.duration_ms, Some(12.34));
    assert_eq!(r.billed_duration_ms, Some(136));
    assert_eq!(r.memory_size_mb, Some(128));
    assert_eq!(r.max_memory_used_mb, Some(31));
    assert_eq!(r.init_duration_ms, Some(122.88));
    assert_eq!(p.coldstart, Some(true));
    assert_eq!(p.duration_ns, Some(12_340_000));
    assert_eq!(
        p.xray_trace_id.as_deref(),
        Some("1-6743fa10-0123456789abcdef01234567")
    );
}

#[test]
fn warm_report_is_not_a_cold_start_and_timeout_status_is_an_error() {
    let p = parse(
        "REPORT RequestId: r1\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tStatus: timeout",
    );
    assert_eq!(p.coldstart, Some(false));
    assert_eq!(p.level.as_deref(), Some("error"));
    assert_eq!(p.report.unwrap().status.as_deref(), Some("timeout"));
}

#[test]
fn start_end_and_init_start_lines() {
    let p = parse("START RequestId: r1 Version: $LATEST");
    assert_eq!(
        (
            p.action,
            p.faas_execution.as_deref(),
            p.faas_version.as_deref()
        ),
        (Some("platform.start"), Some("r1"), Some("$LATEST"))
    );
    let p = parse("END RequestId: r1");
    assert_eq!(
        (p.action, p.faas_execution.as_deref()),
        (Some("platform.end"), Some("r1"))
    );
    let p = parse(
        "INIT_START Runtime Version: provided:al2023.v94\tRuntime Version ARN: arn:aws:lambda:ap-northeast-2::runtime:0e5e",
    );
    assert_eq!(p.action, Some("platform.init_start"));
    assert_eq!(p.runtime_version.as_deref(), Some("provided:al2023.v94"));
    assert_eq!(
        p.runtime_version_arn.as_deref(),
        Some("arn:aws:lambda:ap-northeast-2::runtime:0e5e")
    );
}

#[test]
fn platform_report_in_lambda_json_log_format() {
    let m = r#"{"time":"2026-11-24T09:00:00.000Z","type":"platform.report","record":{"requestId":"r9","metrics":{"durationMs":2.54,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":63,"initDurationMs":149.23},"tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5f8a-abc;Parent=12;Sampled=1"},"status":"success"}}"#;
    let p = parse(m);
    assert_eq!(p.action, Some("platform.report"));
    assert_eq!(p.faas_execution.as_deref(), Some("r9"));
    let r = p.report.unwrap();
    assert_eq!(
        (
            r.duration_ms,
            r.billed_duration_ms,
            r.memory_size_mb,
            r.max_memory_used_mb,
            r.init_duration_ms
        ),
        (Some(2.54), Some(3), Some(128), Some(63), Some(149.23))
    );
    assert_eq!(p.coldstart, Some(true));
    assert_eq!(p.xray_trace_id.as_deref(), Some("1-5f8a-abc"));
    let p = parse(
        r#"{"time":"t","type":"platform.start","record":{"requestId":"r9","version":"$LATEST"}}"#,
    );
    assert_eq!(
        (p.action, p.faas_version.as_deref()),
        (Some("platform.start"), Some("$LATEST"))
    );
}

#[test]
fn node_and_python_runtime_prefixes() {
    let p = parse(
        "2026-11-24T09:00:00.000Z\t8f5e7c1a-1b2c-4d5e-8f90-123456789abc\tERROR\t{\"msg\":\"boom\",\"word\":\"x\"}",
    );
    assert_eq!(p.level.as_deref(), Some("error"));
    assert_eq!(p.message.as_deref(), Some("boom"));
    assert_eq!(
        p.faas_execution.as_deref(),
        Some("8f5e7c1a-1b2c-4d5e-8f90-123456789abc")
    );
    assert_eq!(p.app.to_map()["word"], "x");
    let p = parse(
        "[WARNING]\t2026-11-24T09:00:00.000Z\t8f5e7c1a-1b2c-4d5e-8f90-123456789abc\tdisk almost full",
    );
    assert_eq!(p.level.as_deref(), Some("warn"));
    assert_eq!(p.message.as_deref(), Some("disk almost full"));
}

#[test]
fn text_levels_from_common_prefixes() {
    assert_eq!(
        parse("[ERROR] First test message").level.as_deref(),
        Some("error")
    );
    assert_eq!(parse("ERROR: db down").level.as_deref(), Some("error"));
    assert_eq!(parse("WARN cache miss").level.as_deref(), Some("warn"));
    assert_eq!(
        parse("time=1 level=debug msg=x").level.as_deref(),
        Some("debug")
    );
    assert_eq!(
        parse("2026-11-24T09:00:00.123456Z  INFO vocab_api::http: request finished")
            .level
            .as_deref(),
        Some("info")
    );
    assert_eq!(parse("사용자 요청을 처리했습니다").level, None);
    assert_eq!(parse("errors are fine here").level, None);
}

#[test]
fn panics_and_timeouts_are_errors() {
    let p = parse(
        "thread 'tokio-runtime-worker' panicked at src/db.rs:10:5:\ncalled `Option::unwrap()` on a `None` value\nstack backtrace:",
    );
    assert_eq!(p.level.as_deref(), Some("error"));
    assert_eq!(p.error_type.as_deref(), Some("panic"));
    assert_eq!(
        p.error_message.as_deref(),
        Some("called `Option::unwrap()` on a `None` value")
    );
    let p = parse(
        "2026-11-24T09:00:03.000Z 8f5e7c1a-1b2c-4d5e-8f90-123456789abc Task timed out after 3.00 seconds",
    );
    assert_eq!(p.error_type.as_deref(), Some("Lambda.timeout"));
}

#[test]
fn carried_values_keep_the_json_text_the_application_wrote() {
    let p = parse(r#"{"msg":"m","ctx":{"ratio":1.50,"ids":[1,2]},"big":12345678901234567890123}"#);
    let raw: Vec<_> = p.app.raw().collect();
    // serde_json's Value would have written 1.5 and a rounded float for the big number.
    assert!(
        raw.contains(&("ctx", r#"{"ratio":1.50,"ids":[1,2]}"#)),
        "{raw:?}"
    );
    assert!(raw.contains(&("big", "12345678901234567890123")), "{raw:?}");
}

#[test]
fn a_pretty_printed_json_message_never_puts_a_line_break_in_app() {
    let p = parse("{\n  \"msg\": \"m\",\n  \"ctx\": {\n    \"a\": [1,\n 2]\n  }\n}");
    assert_eq!(p.message.as_deref(), Some("m"));
    assert!(p.app.raw().all(|(_, v)| !v.contains(['\n', '\r'])));
    assert_eq!(p.app.to_map()["ctx"], json!({"a": [1, 2]}));
}

#[test]
fn a_repeated_key_counts_once_the_last_time_as_in_a_json_object() {
    let p = parse(
        r#"{"span":{"a":1},"fields":"not an object","span":{"b":2},"fields":{"message":"m"},"x":1,"x":"two"}"#,
    );
    assert_eq!(p.message.as_deref(), Some("m"));
    let app = p.app.to_map();
    assert_eq!(app["span"], json!({"b": 2}));
    assert_eq!(app["x"], "two");
    assert!(!app.contains_key("fields"), "{app:?}");
}

/// Contract A's client-event line, with the field names the vocab API writes it with
/// (`log_schema::field`, as `vocab-api/src/routes/client_events.rs` logs it).
#[test]
fn a_client_event_line_keeps_its_event_action_and_user_agent_as_ecs_fields() {
    use log_schema::field;
    let line = json!({
        field::TIMESTAMP: "2026-11-24T09:00:00.000Z",
        field::LOG_LEVEL: "error",
        field::MESSAGE: "x is undefined",
        field::SERVICE_NAME: "vocab-web",
        field::LOG_LOGGER: "vocab_api::client_events",
        field::EVENT_KIND: "event",
        field::EVENT_ACTION: "client.api_error",
        field::URL_PATH: "/lists/abc",
        field::USER_AGENT_ORIGINAL: "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
        field::USER_ID: "alice",
        field::ERROR_TYPE: "network",
        field::ERROR_MESSAGE: "Failed to fetch",
        field::APP: {"api_method": "GET", "api_path": "/lists/{list_id}", "api_status": 0},
    })
    .to_string();
    let p = parse(&line);
    assert_eq!(p.event_action.as_deref(), Some("client.api_error"));
    assert_eq!(
        p.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0")
    );
    assert_eq!(p.service_name.as_deref(), Some("vocab-web"));
    assert_eq!(p.action, None, "not a platform line");
    // Only the application's own data is left in app: event.kind agreed with the shipper's.
    assert_eq!(
        Value::Object(p.app.to_map()),
        json!({"api_method": "GET", "api_path": "/lists/{list_id}", "api_status": 0})
    );
    // Nested spellings too; an event.kind the shipper doesn't write stays the app's.
    let p = parse(
        r#"{"event":{"action":"quiz.submitted","kind":"alert"},"user_agent":{"original":"curl/8"}}"#,
    );
    assert_eq!(p.event_action.as_deref(), Some("quiz.submitted"));
    assert_eq!(p.user_agent.as_deref(), Some("curl/8"));
    assert_eq!(
        Value::Object(p.app.to_map()),
        json!({"event.kind": "alert"})
    );
}

proptest::proptest! {
    /// The length-dispatched alias table finds what the plain one finds, and nothing else.
    #[test]
    fn slot_lookup_agrees_with_the_plain_alias_table(
        key in proptest::prop_oneof![
            proptest::sample::select(ALIASES.to_vec()).prop_map(str::to_owned),
            proptest::sample::select(ALIASES.to_vec()).prop_map(|k| format!("{k}x")),
            proptest::sample::select(ALIASES.to_vec()).prop_map(|k| k.to_ascii_uppercase()),
            "[a-zA-Z_.@]{0,26}",
        ],
    ) {
        proptest::prop_assert_eq!(slot(&key), slot_reference(&key), "{}", key);
    }
}

#[test]
fn every_alias_has_a_slot() {
    for k in ALIASES {
        assert!(slot(k).is_some(), "{k}");
    }
}

const ALIASES: &[&str] = &[
    "message",
    "msg",
    "log.level",
    "level",
    "severity",
    "lvl",
    "levelname",
    "log.logger",
    "target",
    "logger",
    "logger_name",
    "name_of_logger",
    "http.request.method",
    "method",
    "http_method",
    "httpMethod",
    "url.path",
    "path",
    "uri",
    "url",
    "rawPath",
    "raw_path",
    "http.route",
    "route",
    "routeKey",
    "http.response.status_code",
    "status",
    "status_code",
    "statusCode",
    "http_status",
    "event.duration",
    "duration_ns",
    "latency_ms",
    "duration_ms",
    "elapsed_ms",
    "durationMs",
    "latencyMs",
    "response_time_ms",
    "duration_s",
    "latency_s",
    "elapsed",
    "user.id",
    "user_id",
    "userId",
    "trace.id",
    "trace_id",
    "traceId",
    "xray_trace_id",
    "span.id",
    "span_id",
    "spanId",
    "error.type",
    "error_type",
    "exception_type",
    "error.message",
    "error_message",
    "error.stack_trace",
    "stack_trace",
    "stack",
    "stacktrace",
    "exception",
    "error",
    "err",
    "faas.execution",
    "request_id",
    "requestId",
    "aws_request_id",
    "awsRequestId",
    "function_request_id",
    "service.name",
    "service",
    "faas.coldstart",
    "cold_start",
    "coldStart",
    "event.action",
    "event.kind",
    "user_agent.original",
    "@timestamp",
    "timestamp",
    "time",
    "ts",
    "app",
];
