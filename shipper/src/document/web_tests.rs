//! API Gateway access logs and WAF logs → the ECS fields of docs/CONTRACTS.md, section B.
//!
//! Fixtures (shipper/tests/data/):
//! - `apigateway-http-api-access.jsonl`: lines in the project's HTTP API access log format
//!   (CONTRACTS.md B), values as API Gateway writes `$context` variables
//!   (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html):
//!   quoted strings, `-` when a variable has no value (no integration ran, no error); the last
//!   line leaves the quotes off the numbers, as a format written without them does.
//! - `apigateway-rest-api-access.jsonl`: the REST API console's standard JSON layout
//!   (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html).
//! - `waf-logs.jsonl`: AWS WAF records (https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html);
//!   the first is the rate-based-rule example of
//!   https://docs.aws.amazon.com/waf/latest/developerguide/logging-examples.html (its elided
//!   ids and `httpRequest` filled in), then a managed rule group block behind CloudFront
//!   (lower-case HTTP/2 header names), an allowed request with a counted rule and an unknown
//!   country (`-`), a block with a custom 429 response, and terminating CAPTCHA and
//!   Challenge actions.

use serde_json::{Value, json};

use super::*;

const HTTP_API: &str = include_str!("../../tests/data/apigateway-http-api-access.jsonl");
const REST_API: &str = include_str!("../../tests/data/apigateway-rest-api-access.jsonl");
const WAF: &str = include_str!("../../tests/data/waf-logs.jsonl");

fn data(group: &'static str) -> LogsData<'static> {
    LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: "111122223333".into(),
        log_group: group.into(),
        log_stream: "s".into(),
        subscription_filters: vec![],
        log_events: vec![],
        policy_level: None,
    }
}

/// The document for `line` as it arrives from CloudWatch (CloudWatch time 2026-11-24T09:00:10Z).
fn doc_in(group: &'static str, naming: &Naming, line: &str) -> (Value, Document) {
    let d = data(group);
    let ctx = BatchContext::new(&d, naming, Some("ap-northeast-2"), 1_795_510_810_000);
    let ev = LogEvent::new("7".repeat(56), 1_795_510_810_000, format!("{line}\n"));
    let doc = build(&ctx, &ev);
    (serde_json::from_slice(&doc.source).unwrap(), doc)
}

fn access(line: &str) -> Value {
    doc_in("/aws/apigateway/vocab-api/access", &Naming::default(), line).0
}

fn waf(line: &str) -> Value {
    doc_in("aws-waf-logs-vocab-api", &Naming::default(), line).0
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.trim().is_empty()).collect()
}

#[test]
fn an_http_api_access_log_line_becomes_the_contracts_ecs_fields() {
    let l = lines(HTTP_API);
    let v = access(l[0]);
    assert_eq!(v["event"]["provider"], "apigateway");
    assert_eq!(v["event"]["kind"], "event");
    assert_eq!(v["event"]["category"], "web");
    assert_eq!(v["event"]["outcome"], "success");
    assert_eq!(v["http"]["request"]["id"], "KdMxYjh5IAMEbXg=");
    assert_eq!(v["http"]["request"]["method"], "GET");
    assert_eq!(v["url"]["path"], "/lists/l_01HZX4");
    assert_eq!(v["http"]["route"], "/lists/{list_id}");
    // Numbers that arrive as strings are numbers.
    assert_eq!(v["http"]["response"]["status_code"], json!(200));
    assert_eq!(v["http"]["response"]["body"]["bytes"], json!(512));
    assert_eq!(v["event"]["duration"], json!(43_000_000));
    assert_eq!(v["source"]["ip"], "203.0.113.9");
    assert!(
        v["user_agent"]["original"]
            .as_str()
            .unwrap()
            .starts_with("Mozilla/5.0 (X11; Linux x86_64)")
    );
    assert_eq!(v["network"]["protocol"], "http");
    assert_eq!(v["http"]["version"], "1.1");
    assert_eq!(v["url"]["domain"], "api.vocab.example.com");
    assert_eq!(
        v["aws"]["apigateway"],
        json!({
            "api_id": "a1b2c3d4e5",
            "stage": "$default",
            "route_key": "GET /lists/{list_id}",
            "integration_status": 200,
            "integration_latency_ms": 41,
            "integration_request_id": "8f5e7c1a-1b2c-4d5e-8f90-123456789abc",
        }),
        "`-` means absent: no error fields"
    );
    // The line itself is the message; CloudWatch's time is `@timestamp`.
    assert_eq!(v["message"], l[0]);
    assert_eq!(v["@timestamp"], "2026-11-24T09:00:10.000Z");
    assert!(v.get("app").is_none(), "{}", v["app"]);
    assert!(v.get("log").is_none(), "no severity invented: {}", v["log"]);
}

#[test]
fn access_log_lines_without_integration_route_or_agent_leave_those_fields_out() {
    let l = lines(HTTP_API);
    // 401 from the authorizer, over IPv6 and HTTP/2: no integration ran.
    let v = access(l[1]);
    assert_eq!(v["event"]["outcome"], "failure");
    assert_eq!(v["http"]["response"]["status_code"], 401);
    assert_eq!(v["source"]["ip"], "2001:db8::7");
    assert_eq!(v["http"]["version"], "2.0");
    assert_eq!(
        v["aws"]["apigateway"],
        json!({"api_id": "a1b2c3d4e5", "stage": "$default", "route_key": "POST /lists",
               "error_message": "Unauthorized", "error_response_type": "UNAUTHORIZED"})
    );
    // No route matched: routeKey `-`, and no user agent.
    let v = access(l[2]);
    assert_eq!(v["http"]["response"]["status_code"], 404);
    assert!(v["http"].get("route").is_none(), "{}", v["http"]);
    assert!(v["aws"]["apigateway"].get("route_key").is_none());
    assert!(v.get("user_agent").is_none());
    assert_eq!(v["url"]["path"], "/wp-login.php");
    // The integration failed: its error text is kept whole.
    let v = access(l[3]);
    assert_eq!(v["event"]["outcome"], "failure");
    assert_eq!(v["aws"]["apigateway"]["integration_status"], 200);
    assert!(
        v["aws"]["apigateway"]["integration_error"]
            .as_str()
            .unwrap()
            .ends_with(r#"Lambda function returned: {"errorType":"Runtime.ExitError"}"#)
    );
    assert_eq!(v["event"]["duration"], json!(3_012_000_000i64));
}

#[test]
fn access_log_numbers_written_without_quotes_and_the_default_route_are_read_too() {
    let v = access(lines(HTTP_API)[4]);
    assert_eq!(v["http"]["response"]["status_code"], 204);
    assert_eq!(v["http"]["response"]["body"]["bytes"], 0);
    assert_eq!(v["event"]["duration"], 7_000_000);
    assert_eq!(v["aws"]["apigateway"]["integration_status"], 204);
    assert_eq!(v["aws"]["apigateway"]["route_key"], "$default");
    assert!(
        v["http"].get("route").is_none(),
        "$default has no route path"
    );
    assert_eq!(v["http"]["request"]["method"], "DELETE");
}

#[test]
fn a_rest_api_standard_json_access_log_line_is_recognised_by_its_resource_path() {
    let v = access(lines(REST_API)[0]);
    assert_eq!(v["event"]["provider"], "apigateway");
    assert_eq!(v["http"]["route"], "/lists/{list_id}");
    assert_eq!(v["http"]["response"]["status_code"], 200);
    assert_eq!(v["source"]["ip"], "192.0.2.44");
    // `caller` and `user` are `-`: keys outside the layout go to `app` like any
    // application's, so here as written.
    assert_eq!(v["app"], json!({"caller": "-", "user": "-"}));
}

#[test]
fn an_access_log_value_that_does_not_fit_its_field_stays_in_app() {
    let v = access(
        r#"{"requestId":"r1","ip":"unknown","routeKey":"GET /x","status":"abc","responseLength":"big","integrationLatency":"n/a","apiId":"a1","user":"u-1"}"#,
    );
    assert!(v.get("source").is_none(), "not an IP: {}", v["source"]);
    assert!(v["http"].get("response").is_none());
    assert!(v["event"].get("outcome").is_none());
    assert_eq!(
        v["app"],
        json!({"ip": "unknown", "status": "abc", "responseLength": "big",
               "integrationLatency": "n/a", "user": "u-1"})
    );
    assert_eq!(
        v["aws"]["apigateway"],
        json!({"api_id": "a1", "route_key": "GET /x"})
    );
}

#[test]
fn the_access_log_shape_needs_request_id_route_and_status() {
    let v = access(r#"{"requestId":"req-9","status":200,"message":"done","routeKey":7}"#);
    // The shape is in the keys: with all three, even an odd `routeKey` makes an access log line.
    assert_eq!(v["event"]["provider"], "apigateway");
    // Without `routeKey` it is an application's line.
    let v = access(r#"{"requestId":"req-9","status":200,"message":"done"}"#);
    assert!(v["event"].get("provider").is_none());
    assert_eq!(v["faas"]["execution"], "req-9");
    assert_eq!(v["message"], "done");
}

#[test]
fn waf_records_become_the_contracts_ecs_fields() {
    let l = lines(WAF);
    // The AWS docs' rate-based rule example.
    let v = waf(l[0]);
    assert_eq!(v["event"]["provider"], "waf");
    assert_eq!(v["event"]["kind"], "event");
    assert_eq!(v["event"]["category"], "web");
    assert_eq!(v["event"]["action"], "block");
    assert_eq!(v["rule"]["id"], "RateBasedRule");
    assert_eq!(v["rule"]["ruleset"], "RATE_BASED");
    assert_eq!(v["source"]["ip"], "52.46.82.45");
    assert_eq!(v["source"]["geo"]["country_iso_code"], "FR");
    assert_eq!(v["url"]["path"], "/CanaryTest");
    assert!(v["url"].get("query").is_none(), "empty args: {}", v["url"]);
    assert_eq!(
        v["url"]["domain"],
        "rjvegx5guh.execute-api.eu-west-3.amazonaws.com"
    );
    assert_eq!(v["http"]["request"]["method"], "GET");
    assert_eq!(v["http"]["request"]["id"], "Ed0AiHF_CGYF-DA=");
    assert_eq!(v["http"]["version"], "1.1");
    assert_eq!(
        v["user_agent"]["original"],
        "RateBasedRuleTestKoipOneKeyModulePV2"
    );
    // BLOCK without responseCodeSent: WAF's default 403.
    assert_eq!(v["http"]["response"]["status_code"], 403);
    assert_eq!(
        v["aws"]["waf"],
        json!({
            "web_acl_id": "arn:aws:wafv2:ap-northeast-2:111122223333:regional/webacl/vocab-api/a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
            "terminating_rule_type": "RATE_BASED",
            "http_source_name": "APIGW",
            "http_source_id": "EXAMPLE11:rjvegx5guh:CanaryTest",
            "labels": ["awswaf:111122223333:webacl:vocab-api:RateBasedRule"],
            "rate_based_rules": ["RateBasedRule"],
        })
    );
    // The record's own time (ms) is `@timestamp`.
    assert_eq!(v["@timestamp"], "2023-05-06T06:46:19.981Z");
    assert_eq!(v["message"], l[0]);
}

#[test]
fn waf_user_agent_header_is_found_in_any_case_and_unknown_country_is_absent() {
    let l = lines(WAF);
    let v = waf(l[1]);
    assert_eq!(v["rule"]["ruleset"], "MANAGED_RULE_GROUP");
    assert_eq!(v["user_agent"]["original"], "python-requests/2.32.3");
    assert_eq!(v["url"]["query"].as_str().unwrap().len(), 102);
    assert_eq!(
        v["aws"]["waf"]["labels"],
        json!(["awswaf:managed:aws:core-rule-set:SizeRestrictions_QueryString"])
    );
    assert_eq!(v["http"]["version"], "2.0");
    let v = waf(l[2]);
    assert_eq!(v["event"]["action"], "allow");
    assert_eq!(v["rule"]["id"], "Default_Action");
    assert!(
        v.get("http").unwrap().get("response").is_none(),
        "the origin's status isn't in the record"
    );
    assert!(
        v["source"].get("geo").is_none(),
        "country `-`: {}",
        v["source"]
    );
    assert_eq!(v["source"]["ip"], "2001:db8:85a3::8a2e:370:7334");
    assert!(
        v["user_agent"]["original"]
            .as_str()
            .unwrap()
            .contains("Safari")
    );
    assert_eq!(
        v["aws"]["waf"]["non_terminating_rules"],
        json!(["CountLargeBodies"])
    );
    assert!(
        v["aws"]["waf"].get("labels").is_none(),
        "no labels: {}",
        v["aws"]["waf"]
    );
}

#[test]
fn waf_status_is_the_custom_response_or_the_terminating_actions_own() {
    let l = lines(WAF);
    assert_eq!(waf(l[3])["http"]["response"]["status_code"], 429);
    assert_eq!(
        waf(l[3])["aws"]["waf"]["labels"].as_array().unwrap().len(),
        3
    );
    let captcha = waf(l[4]);
    assert_eq!(captcha["event"]["action"], "captcha");
    assert_eq!(captcha["http"]["response"]["status_code"], 405);
    assert_eq!(captcha["url"]["query"], "code=abc");
    let challenge = waf(l[5]);
    assert_eq!(challenge["event"]["action"], "challenge");
    assert_eq!(challenge["http"]["response"]["status_code"], 202);
    assert!(challenge.get("user_agent").is_none());
}

#[test]
fn a_waf_record_lands_in_the_dated_index_of_its_own_day() {
    let naming = Naming {
        mode: crate::target::TargetMode::Index,
        ..Naming::default()
    };
    let (_, doc) = doc_in("aws-waf-logs-vocab-api", &naming, lines(WAF)[0]);
    assert_eq!(&*doc.index, "cloudwatch-2023.05.06");
    assert_eq!(doc.timestamp_ms, 1_683_355_579_981);
}

/// Every field an access log or WAF document carries has an explicit mapping in the
/// shipper's templates (outside `app`, which is `flattened`): a dynamic mapping would make
/// `source.ip` a keyword and the status a string on the first odd value.
#[test]
fn every_field_of_access_and_waf_documents_is_mapped_in_the_index_templates() {
    let ecs: Value = serde_json::from_str(include_str!(
        "../../resources/elasticsearch/component-ecs-mappings.json"
    ))
    .unwrap();
    let ds: Value = serde_json::from_str(include_str!(
        "../../resources/elasticsearch/component-data-stream.json"
    ))
    .unwrap();
    let mapped = |path: &[&str]| {
        [&ecs, &ds].iter().any(|t| {
            let mut props = &t["template"]["mappings"]["properties"];
            for (i, part) in path.iter().enumerate() {
                let Some(field) = props.get(*part) else {
                    return false;
                };
                if i + 1 == path.len() {
                    return field.get("type").is_some();
                }
                props = &field["properties"];
            }
            false
        })
    };
    fn leaves<'a>(v: &'a Value, path: &mut Vec<&'a str>, out: &mut Vec<Vec<&'a str>>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    if path.is_empty() && k == "app" {
                        continue;
                    }
                    path.push(k);
                    leaves(child, path, out);
                    path.pop();
                }
            }
            _ => out.push(path.clone()),
        }
    }
    let docs: Vec<Value> = lines(HTTP_API)
        .into_iter()
        .chain(lines(REST_API))
        .map(access)
        .chain(lines(WAF).into_iter().map(waf))
        .collect();
    for d in &docs {
        let mut out = Vec::new();
        leaves(d, &mut Vec::new(), &mut out);
        for path in out {
            assert!(mapped(&path), "{} is not mapped", path.join("."));
        }
    }
    let ty = |p: &str| ecs.pointer(p).cloned().unwrap_or(Value::Null);
    assert_eq!(
        ty("/template/mappings/properties/source/properties/ip/type"),
        "ip"
    );
    assert_eq!(
        ty(
            "/template/mappings/properties/http/properties/response/properties/body/properties/bytes/type"
        ),
        "long"
    );
}
