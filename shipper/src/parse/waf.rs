//! AWS WAF log records → ECS.
//!
//! The record is AWS WAF's documented JSON (fields:
//! https://docs.aws.amazon.com/waf/latest/developerguide/logging-fields.html, examples:
//! https://docs.aws.amazon.com/waf/latest/developerguide/logging-examples.html), delivered to
//! a log group named `aws-waf-logs-<name>`. What a dashboard needs becomes ECS or
//! `aws.waf.*`; the rest (headers, match details, rule group lists) stays in the document's
//! `message`, the record as WAF wrote it.

use std::borrow::Cow;

use serde_json::Value;

use super::apigateway::{absent, long, set_protocol, text};
use super::{Parsed, Web, as_u16, value_of};

/// Reads a WAF record whose shape [`super::parse`] recognised.
pub(super) fn parse(members: Vec<(Cow<'_, str>, &str)>, p: &mut Parsed) {
    let mut w = Web {
        provider: "waf",
        ..Web::default()
    };
    let mut response_code = None;
    for (key, raw) in members {
        match &*key {
            "timestamp" => w.timestamp_ms = long(&value_of(raw)).flatten(),
            "webaclId" => aws_text(&mut w, "web_acl_id", &value_of(raw)),
            "terminatingRuleId" => w.rule_id = text(&value_of(raw)),
            "terminatingRuleType" => {
                let v = value_of(raw);
                w.ruleset = text(&v);
                aws_text(&mut w, "terminating_rule_type", &v);
            }
            "action" => p.event_action = text(&value_of(raw)).map(|a| a.to_ascii_lowercase()),
            "httpSourceName" => aws_text(&mut w, "http_source_name", &value_of(raw)),
            "httpSourceId" => aws_text(&mut w, "http_source_id", &value_of(raw)),
            "labels" => aws_names(&mut w, "labels", &value_of(raw), "name"),
            "rateBasedRuleList" => aws_names(
                &mut w,
                "rate_based_rules",
                &value_of(raw),
                "rateBasedRuleName",
            ),
            "nonTerminatingMatchingRules" => {
                aws_names(&mut w, "non_terminating_rules", &value_of(raw), "ruleId")
            }
            "responseCodeSent" => {
                let v = value_of(raw);
                if !absent(&v) {
                    response_code = as_u16(&v);
                }
            }
            "httpRequest" => {
                if let Value::Object(r) = value_of(raw) {
                    http_request(&r, &mut w, p);
                }
            }
            _ => {}
        }
    }
    // WAF's own answers when no custom response was configured: 403 for Block
    // (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-action.html), 405 for a
    // terminating CAPTCHA (API_CaptchaAction), 202 for a terminating Challenge
    // (API_ChallengeAction). An allowed request's status is the origin's: not in the record.
    p.status_code = response_code.or(match p.event_action.as_deref() {
        Some("block") => Some(403),
        Some("captcha") => Some(405),
        Some("challenge") => Some(202),
        _ => None,
    });
    p.web = Some(Box::new(w));
}

fn http_request(r: &serde_json::Map<String, Value>, w: &mut Web, p: &mut Parsed) {
    let get = |k: &str| r.get(k).and_then(text);
    w.source_ip = get("clientIp").filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
    // `-` when WAF can't tell the country.
    w.country = get("country");
    p.url_path = get("uri");
    p.url_query = get("args");
    p.http_method = get("httpMethod").map(|m| m.to_ascii_uppercase());
    w.request_id = get("requestId");
    if let Some(v) = get("httpVersion") {
        set_protocol(w, &v);
    }
    // Header names keep the client's case (CloudFront passes HTTP/2's lower case).
    for h in r
        .get("headers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(name), Some(value)) = (
            h.get("name").and_then(Value::as_str),
            h.get("value").and_then(Value::as_str),
        ) else {
            continue;
        };
        if name.eq_ignore_ascii_case("user-agent") {
            p.user_agent = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("host") {
            w.domain = Some(host_of(value).to_owned());
        }
    }
}

fn aws_text(w: &mut Web, name: &str, v: &Value) {
    if let Some(s) = text(v) {
        w.aws.insert(name.into(), Value::String(s));
    }
}

/// `[{"name":"a"},{"name":"b"}]` → `["a","b"]` (a keyword array); nothing when empty.
fn aws_names(w: &mut Web, name: &str, v: &Value, member: &str) {
    let names: Vec<Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.get(member).and_then(Value::as_str))
        .map(|s| Value::String(s.to_owned()))
        .collect();
    if !names.is_empty() {
        w.aws.insert(name.into(), Value::Array(names));
    }
}

/// A Host header without its port: `example.com:8443` → `example.com`, `[2001:db8::1]:443`
/// → `2001:db8::1`.
fn host_of(h: &str) -> &str {
    match h.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => h.split(':').next().unwrap_or(h),
    }
}
