//! API Gateway access log lines → ECS.
//!
//! The layout is the project's HTTP API access log format (docs/CONTRACTS.md, section B), one
//! JSON object per request whose values are HTTP API `$context` variables
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html).
//! API Gateway writes each variable as the string it was quoted in, and `-` for one that has
//! no value (no integration ran, no error); a format that leaves the quotes off writes
//! numbers. REST APIs' standard JSON layout (`resourcePath` instead of `routeKey`,
//! https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-access-logging.html)
//! is read by the same code. Keys that are not in the layout go to `app`, like any
//! application's; the whole line stays the document's `message`.

use std::borrow::Cow;

use serde_json::Value;

use super::{Parsed, Web, as_u16, split_query, value_of};

/// Reads an access log line whose shape [`super::parse`] recognised.
pub(super) fn parse(members: Vec<(Cow<'_, str>, &str)>, p: &mut Parsed) {
    let mut w = Web {
        provider: "apigateway",
        ..Web::default()
    };
    for (key, raw) in members {
        let v = value_of(raw);
        // `true` = the value went where it belongs (or was `-`); `false` = it didn't fit its
        // field and goes to `app` as written.
        let fitted = match &*key {
            "requestId" => set(&mut w.request_id, &v),
            "ip" => match text(&v) {
                None => true,
                // `source.ip` is mapped `ip`: anything else would be a mapping error.
                Some(ip) if ip.parse::<std::net::IpAddr>().is_ok() => {
                    w.source_ip = Some(ip);
                    true
                }
                Some(_) => false,
            },
            "userAgent" => set(&mut p.user_agent, &v),
            // The request's start; `@timestamp` stays CloudWatch's time for the line, which
            // API Gateway writes when the response has gone.
            "requestTimeEpoch" | "requestTime" => true,
            "httpMethod" => {
                p.http_method = text(&v).map(|m| m.to_ascii_uppercase());
                true
            }
            "routeKey" => {
                if let Some(rk) = text(&v) {
                    // `GET /lists/{list_id}` → `/lists/{list_id}`; `$default` has no path.
                    p.http_route = rk
                        .split_once(' ')
                        .map(|(_, path)| path.to_owned())
                        .filter(|path| path.starts_with('/'));
                    w.aws.insert("route_key".into(), Value::String(rk));
                }
                true
            }
            "resourcePath" => set(&mut p.http_route, &v),
            "path" => {
                if let Some(u) = text(&v) {
                    let (path, query) = split_query(&u);
                    p.url_path = Some(path.to_owned());
                    p.url_query = query.map(str::to_owned);
                }
                true
            }
            "protocol" => {
                if let Some(proto) = text(&v) {
                    set_protocol(&mut w, &proto);
                }
                true
            }
            "status" => match (absent(&v), as_u16(&v)) {
                (true, _) => true,
                (false, Some(c)) => {
                    p.status_code = Some(c);
                    true
                }
                (false, None) => false,
            },
            "responseLength" => long(&v).map(|n| w.body_bytes = n).is_some(),
            "responseLatency" => long(&v)
                .map(|ms| p.duration_ns = ms.and_then(|ms| ms.checked_mul(1_000_000)))
                .is_some(),
            "integrationStatus" => aws_long(&mut w, "integration_status", &v),
            "integrationLatency" => aws_long(&mut w, "integration_latency_ms", &v),
            "integrationRequestId" => aws_text(&mut w, "integration_request_id", &v),
            "integrationError" => aws_text(&mut w, "integration_error", &v),
            "authorizerError" => aws_text(&mut w, "authorizer_error", &v),
            "errorMessage" => aws_text(&mut w, "error_message", &v),
            "errorResponseType" => aws_text(&mut w, "error_response_type", &v),
            "stage" => aws_text(&mut w, "stage", &v),
            "apiId" => aws_text(&mut w, "api_id", &v),
            "domainName" => set(&mut w.domain, &v),
            _ => false,
        };
        if !fitted {
            p.app.insert_raw(&key, raw);
        }
    }
    w.outcome = p
        .status_code
        .map(|c| if c < 400 { "success" } else { "failure" });
    p.web = Some(Box::new(w));
}

/// `HTTP/1.1` → `network.protocol: http`, `http.version: 1.1` (ECS: the protocol's name in
/// lower case, the version apart).
pub(super) fn set_protocol(w: &mut Web, proto: &str) {
    match proto.split_once('/') {
        Some((name, version)) => {
            w.protocol = Some(name.to_ascii_lowercase());
            if !version.is_empty() {
                w.http_version = Some(version.to_owned());
            }
        }
        None => w.protocol = Some(proto.to_ascii_lowercase()),
    }
}

/// The text of a value that is present: a string other than `-` or empty, or a number.
pub(super) fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s != "-" && !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `-`, empty, or null: the variable had no value.
pub(super) fn absent(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s == "-" || s.is_empty(),
        _ => false,
    }
}

fn set(dst: &mut Option<String>, v: &Value) -> bool {
    *dst = text(v);
    dst.is_some() || absent(v)
}

/// A whole number written as a number or a string; `Some(None)` when absent, `None` when it
/// is something else (then it goes to `app` as written).
pub(super) fn long(v: &Value) -> Option<Option<i64>> {
    if absent(v) {
        return Some(None);
    }
    match v {
        Value::Number(n) => n.as_i64().map(Some),
        Value::String(s) => s.trim().parse::<i64>().ok().map(Some),
        _ => None,
    }
}

fn aws_long(w: &mut Web, name: &str, v: &Value) -> bool {
    match long(v) {
        Some(Some(n)) => {
            w.aws.insert(name.into(), Value::from(n));
            true
        }
        Some(None) => true,
        None => false,
    }
}

fn aws_text(w: &mut Web, name: &str, v: &Value) -> bool {
    match text(v) {
        Some(s) => {
            w.aws.insert(name.into(), Value::String(s));
            true
        }
        None => absent(v),
    }
}
