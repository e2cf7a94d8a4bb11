use super::*;

fn routes(json: &str) -> Routes {
    Routes::parse(json, "SHIPPER_ROUTES").unwrap()
}

fn err(json: &str) -> String {
    Routes::parse(json, "SHIPPER_ROUTES")
        .unwrap_err()
        .to_string()
}

#[test]
fn globs_match_whole_names_with_star_and_question_mark() {
    let g = |p: &str, s: &str| Glob::new(p).unwrap().matches(s);
    assert!(g("/aws/lambda/*", "/aws/lambda/vocab-api-words"));
    assert!(g("/aws/lambda/*", "/aws/lambda/a/b"), "`*` crosses `/`");
    assert!(!g("/aws/lambda/*", "/aws/apigateway/x"));
    assert!(g("aws-waf-logs-*", "aws-waf-logs-vocab"));
    assert!(
        !g("aws-waf-logs-*", "x-aws-waf-logs-vocab"),
        "anchored at the start"
    );
    assert!(g("*-access", "/aws/apigateway/vocab-access"));
    assert!(
        !g("*-access", "/aws/apigateway/vocab-access-old"),
        "anchored at the end"
    );
    assert!(g(
        "/aws/lambda/vocab-api-????",
        "/aws/lambda/vocab-api-quiz"
    ));
    assert!(!g(
        "/aws/lambda/vocab-api-????",
        "/aws/lambda/vocab-api-words"
    ));
    assert!(g("*a*b*c*", "xxaxxbxxcxx"));
    assert!(!g("*a*b*c*", "xxaxxcxxbxx"));
    assert!(g("*", ""));
    assert!(g("한국*", "한국어-로그"), "characters, not bytes");
    assert!(g("?", "한"));
}

#[test]
fn the_first_matching_rule_wins_and_unmatched_batches_ship_as_before() {
    let r = routes(
        r#"[
          {"name": "noisy", "log_group": "/aws/lambda/vocab-api-*", "log_stream": "*[$LATEST]*", "drop": true},
          {"name": "api", "log_group": "/aws/lambda/vocab-api-*", "dataset": "vocab.api"},
          {"log_group": "*", "namespace": "other"}
        ]"#,
    );
    assert!(matches!(
        r.verdict("/aws/lambda/vocab-api-words", "2026/11/24/[$LATEST]abc"),
        Verdict::Drop(rule) if rule.label == r#"rule 1 ("noisy")"#
    ));
    match r.verdict("/aws/lambda/vocab-api-words", "2026/11/24/[7]abc") {
        Verdict::Ship(Some(rule)) => assert_eq!(rule.dataset.as_deref(), Some("vocab.api")),
        other => panic!("{other:?}"),
    }
    match r.verdict("/aws/apigateway/x", "s") {
        Verdict::Ship(Some(rule)) => {
            assert_eq!(rule.label, "rule 3");
            assert_eq!(rule.namespace.as_deref(), Some("other"));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Routes::default().verdict("g", "s"),
        Verdict::Ship(None)
    ));
}

#[test]
fn the_loop_guard_drops_the_shippers_own_log_group_whatever_the_rules_say() {
    let r = routes(r#"[{"log_group": "*", "dataset": "everything"}]"#)
        .with_own_log_group(Some("/aws/lambda/cloudwatch-shipper".into()));
    assert!(matches!(
        r.verdict("/aws/lambda/cloudwatch-shipper", "s"),
        Verdict::OwnLogGroup
    ));
    assert!(matches!(
        r.verdict("/aws/lambda/cloudwatch-shipper-2", "s"),
        Verdict::Ship(Some(_))
    ));
}

#[test]
fn filters_keep_what_an_include_matches_unless_an_exclude_matches() {
    let r =
        routes(r#"[{"log_group": "*", "include": ["ERROR", "WARN"], "exclude": ["healthcheck"]}]"#);
    let Verdict::Ship(Some(rule)) = r.verdict("g", "s") else {
        panic!()
    };
    let f = rule.filter.as_ref().unwrap();
    assert!(f.keeps("[ERROR] db down"));
    assert!(!f.keeps("[INFO] fine"), "no include matches");
    assert!(!f.keeps("[ERROR] healthcheck failed"), "exclude wins");
    let only_exclude = routes(r#"[{"log_group": "*", "exclude": ["^START RequestId"]}]"#);
    let Verdict::Ship(Some(rule)) = only_exclude.verdict("g", "s") else {
        panic!()
    };
    assert!(rule.filter.as_ref().unwrap().keeps("anything"));
    assert!(!rule.filter.as_ref().unwrap().keeps("START RequestId: 1"));
}

#[test]
fn fields_become_labels_and_tags_are_kept_as_json() {
    let r = routes(
        r#"{"rules": [{"log_group": "*", "fields": {"team": "vocab", "tier": 1, "pci": false}, "tags": ["prod", "api"], "pipeline": "vocab-geoip", "index": "vocab-logs"}]}"#,
    );
    let Verdict::Ship(Some(rule)) = r.verdict("g", "s") else {
        panic!()
    };
    let labels: Value = serde_json::from_str(rule.labels.as_deref().unwrap()).unwrap();
    assert_eq!(
        labels,
        serde_json::json!({"team": "vocab", "tier": "1", "pci": "false"})
    );
    assert_eq!(rule.tags.as_deref(), Some(r#"["prod","api"]"#));
    assert_eq!(rule.pipeline.as_deref(), Some("vocab-geoip"));
    assert_eq!(rule.index.as_deref(), Some("vocab-logs"));
}

#[test]
fn a_bad_rule_is_refused_at_start_naming_the_rule_and_what_is_wrong() {
    let cases = [
        (
            r#"[{"log_group": "*", "datset": "x"}]"#,
            "SHIPPER_ROUTES: rule 1: unknown field `datset`",
        ),
        (
            r#"[{"name": "ok", "log_group": "*"}, {"name": "waf", "log_group": "aws-waf-*", "dataset": "AWS-WAF"}]"#,
            r#"SHIPPER_ROUTES: rule 2 ("waf"): dataset `AWS-WAF`"#,
        ),
        (
            r#"[{"log_group": "*", "namespace": "prod-1"}]"#,
            "rule 1: namespace `prod-1`",
        ),
        (
            r#"[{"log_group": "*", "index": "Logs"}]"#,
            "rule 1: index `Logs`",
        ),
        (
            r#"[{"log_group": "*", "include": ["(unclosed"]}]"#,
            "rule 1: include: `(unclosed`",
        ),
        (r#"[{"log_group": ""}]"#, "rule 1: log_group: empty pattern"),
        (r#"[{"dataset": "x"}]"#, "rule 1: missing field `log_group`"),
        (
            r#"[{"log_group": "*", "fields": {"a.b": "x"}}]"#,
            "rule 1: fields: key `a.b`",
        ),
        (
            r#"[{"log_group": "*", "fields": {"a": {"nested": 1}}}]"#,
            "rule 1: fields: `a` must be",
        ),
        (
            r#"[{"log_group": "*", "drop": true, "dataset": "x"}]"#,
            "rule 1: `drop` drops the whole batch",
        ),
        (
            r#"{"log_group": "*"}"#,
            "SHIPPER_ROUTES: expected an array of rules",
        ),
        (r#"[{"log_group": "*"},"#, "SHIPPER_ROUTES: not JSON"),
    ];
    for (json, want) in cases {
        let e = err(json);
        assert!(e.contains(want), "{json}: {e} lacks {want}");
    }
}
