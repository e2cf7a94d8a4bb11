use super::*;
use serde_json::json;

fn all() -> Redactor {
    Redactor::new(&Spec {
        email: true,
        ip: true,
        mask_keys: true,
        keys: DEFAULT_KEYS.iter().map(|k| (*k).to_owned()).collect(),
        patterns: vec![r"\bsk_live_[0-9a-zA-Z]{8,}\b".into()],
    })
    .unwrap()
    .unwrap()
}

#[test]
fn nothing_asked_for_means_no_redactor_at_all() {
    assert!(Redactor::new(&Spec::default()).unwrap().is_none());
    // Keys named but masking not asked for: still nothing.
    let keys_only = Spec {
        keys: vec!["password".into()],
        ..Spec::default()
    };
    assert!(Redactor::new(&keys_only).unwrap().is_none());
}

#[test]
fn emails_and_ip_addresses_are_replaced_in_text() {
    let r = all();
    assert_eq!(
        r.text("login failed for kim.minji+test@example.co.kr from 203.0.113.9:51234"),
        "login failed for [REDACTED:email] from [REDACTED:ip]:51234"
    );
    assert_eq!(
        r.text("client 2001:db8::7 and ::ffff:192.0.2.1 and fe80::1%eth0"),
        "client [REDACTED:ip] and [REDACTED:ip] and [REDACTED:ip]%eth0"
    );
    assert_eq!(
        r.text("key sk_live_abcdef123456 used"),
        "key [REDACTED] used"
    );
}

#[test]
fn times_versions_and_mac_addresses_that_look_alike_stay() {
    let r = all();
    for s in [
        "2026-11-24T09:00:00.123Z took 12:34.5",
        "mac 00:1a:2b:3c:4d:5e up",
        "version 1.2.3 build 300.1.1.1",
        "1234.5.6.7",
        "a::b:c::d",
    ] {
        assert_eq!(r.text(s), s, "{s}");
        assert!(
            matches!(r.text(s), Cow::Borrowed(_)),
            "{s}: no copy when nothing changed"
        );
    }
}

#[test]
fn secret_looking_keys_are_masked_at_any_depth_and_in_name_value_pairs() {
    let r = all();
    let mut v = json!({
        "user": "u-1",
        "Password": "hunter2",
        "request": {"headers": {"Authorization": "Bearer abc", "accept": "*/*"}, "query": {"access_token": "t"}},
        "headers": [{"name": "Cookie", "value": "session=1"}, {"name": "Host", "value": "x"}],
        "note": "mail bob@example.com",
        "count": 3,
        "secret": null
    });
    assert!(r.value(&mut v));
    assert_eq!(
        v,
        json!({
            "user": "u-1",
            "Password": "[REDACTED]",
            "request": {"headers": {"Authorization": "[REDACTED]", "accept": "*/*"}, "query": {"access_token": "[REDACTED]"}},
            "headers": [{"name": "Cookie", "value": "[REDACTED]"}, {"name": "Host", "value": "x"}],
            "note": "mail [REDACTED:email]",
            "count": 3,
            "secret": null
        })
    );
    // Already redacted: nothing changes the second time.
    assert!(!r.value(&mut v));
}

#[test]
fn a_bad_custom_pattern_is_an_error_naming_it() {
    let e = Redactor::new(&Spec {
        patterns: vec!["(unclosed".into()],
        ..Spec::default()
    })
    .unwrap_err();
    assert!(e.starts_with("`(unclosed`"), "{e}");
}

#[test]
fn an_application_line_is_redacted_in_its_message_fields_and_app() {
    let r = all();
    let line = r#"{"level":"warn","message":"reset mail sent to kim@example.com","user_id":"kim@example.com","path":"/reset?token=abc123&lang=ko","error":{"message":"smtp 198.51.100.2 refused"},"app":{"password":"pw","ip":"203.0.113.4","list_id":"l1"},"span":{"name":"req","authorization":"Basic x"}}"#;
    let mut p = crate::parse::parse(line);
    assert!(r.event(line, &mut p));
    assert_eq!(
        p.message.as_deref(),
        Some("reset mail sent to [REDACTED:email]")
    );
    assert_eq!(p.user_id.as_deref(), Some("[REDACTED:email]"));
    assert_eq!(p.url_path.as_deref(), Some("/reset"));
    assert_eq!(p.url_query.as_deref(), Some("token=[REDACTED]&lang=ko"));
    assert_eq!(
        p.error_message.as_deref(),
        Some("smtp [REDACTED:ip] refused")
    );
    assert_eq!(
        serde_json::Value::Object(p.app.to_map()),
        json!({"password": "[REDACTED]", "ip": "[REDACTED:ip]", "list_id": "l1",
               "span": {"name": "req", "authorization": "[REDACTED]"}})
    );
}

#[test]
fn a_waf_record_loses_its_client_ip_field_and_secret_headers() {
    let r = all();
    let line = include_str!("../../tests/data/waf-logs.jsonl")
        .lines()
        .next()
        .unwrap();
    let line = line.replace(
        r#"{"name":"dogname","value":"ella"}"#,
        r#"{"name":"Authorization","value":"Bearer eyJhbGciOi"}"#,
    );
    let mut p = crate::parse::parse(&line);
    assert!(p.web.as_ref().unwrap().source_ip.is_some());
    assert!(r.event(&line, &mut p));
    // `source.ip` is mapped `ip`: it can't hold a mask, so it goes.
    assert_eq!(p.web.as_ref().unwrap().source_ip, None);
    let m: serde_json::Value = serde_json::from_str(p.message.as_deref().unwrap()).unwrap();
    assert_eq!(m["httpRequest"]["clientIp"], "[REDACTED:ip]");
    let headers = m["httpRequest"]["headers"].as_array().unwrap();
    assert!(headers.contains(&json!({"name": "Authorization", "value": "[REDACTED]"})));
    assert!(!p.message.as_deref().unwrap().contains("eyJhbGciOi"));
}

#[test]
fn a_line_with_nothing_to_redact_is_left_as_it_is() {
    let r = all();
    for line in [
        "START RequestId: 8f5e7c1a-1b2c-4d5e-8f90-123456789abc Version: $LATEST",
        r#"{"level":"info","message":"listed","list_count":3}"#,
        "plain text at 09:00:00",
    ] {
        let mut p = crate::parse::parse(line);
        let before = p.clone();
        assert!(!r.event(line, &mut p), "{line}");
        assert_eq!(p, before, "{line}");
    }
}
