//! [`Transform`]: routing rules, the loop guard, filters, START/END dropping and redaction
//! applied to a real batch (the AWS documentation's subscription example plus the platform
//! lines Lambda writes, exactly as `scripts/gen_events.py` writes them).

use serde_json::{Value, json};

use super::*;
use crate::route::Routes;

const PLATFORM: [&str; 4] = [
    "START RequestId: 8f5e7c1a-1b2c-4d5e-8f90-123456789abc Version: $LATEST\n",
    "{\"level\":\"info\",\"message\":\"word added for kim@example.com\",\"list_id\":\"l1\",\"password\":\"pw\"}\n",
    "END RequestId: 8f5e7c1a-1b2c-4d5e-8f90-123456789abc\n",
    "REPORT RequestId: 8f5e7c1a-1b2c-4d5e-8f90-123456789abc\tDuration: 12.34 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n",
];

fn data(group: &'static str) -> LogsData<'static> {
    LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: "111122223333".into(),
        log_group: group.into(),
        log_stream: "2026/11/24/[$LATEST]abc".into(),
        subscription_filters: vec![],
        log_events: PLATFORM
            .iter()
            .enumerate()
            .map(|(i, m)| LogEvent::new(format!("{i}"), 1_795_510_800_000 + i as i64, *m))
            .collect(),
        policy_level: None,
    }
}

fn run(tf: &Transform, naming: &Naming, group: &'static str) -> (Vec<(usize, Document)>, Counts) {
    let d = data(group);
    let mut docs = Vec::new();
    let counts = tf.batch(&d, naming, Some("ap-northeast-2"), 0, |i, doc| {
        docs.push((i, doc))
    });
    (docs, counts)
}

fn source(d: &Document) -> Value {
    serde_json::from_slice(&d.source).unwrap()
}

fn with_routes(json: &str) -> Transform {
    Transform {
        routes: Routes::parse(json, "SHIPPER_ROUTES").unwrap(),
        ..Transform::default()
    }
}

#[test]
fn with_every_option_off_a_batch_is_exactly_what_build_makes() {
    let d = data("/aws/lambda/vocab-api-words");
    let naming = Naming::default();
    let ctx = BatchContext::new(&d, &naming, Some("ap-northeast-2"), 0);
    let (docs, counts) = run(
        &Transform::default(),
        &naming,
        "/aws/lambda/vocab-api-words",
    );
    assert_eq!(counts, Counts::default());
    assert_eq!(docs.len(), 4);
    for (i, doc) in &docs {
        let direct = build(&ctx, &d.log_events[*i]);
        assert_eq!(doc.source, direct.source);
        assert_eq!(doc.index, direct.index);
        assert_eq!(doc.pipeline, None);
    }
}

#[test]
fn a_matching_rule_sets_dataset_namespace_pipeline_labels_and_tags() {
    let tf = with_routes(
        r#"[{"log_group": "/aws/lambda/vocab-*", "dataset": "vocab.api", "namespace": "prod",
             "pipeline": "vocab-enrich", "fields": {"team": "vocab"}, "tags": ["api"]}]"#,
    );
    let (docs, _) = run(&tf, &Naming::default(), "/aws/lambda/vocab-api-words");
    let (_, doc) = &docs[1];
    assert_eq!(&*doc.index, "logs-vocab.api-prod");
    assert_eq!(doc.pipeline.as_deref(), Some("vocab-enrich"));
    let v = source(doc);
    assert_eq!(
        v["data_stream"],
        json!({"type": "logs", "dataset": "vocab.api", "namespace": "prod"})
    );
    assert_eq!(v["event"]["dataset"], "vocab.api");
    assert_eq!(v["labels"], json!({"team": "vocab"}));
    assert_eq!(v["tags"], json!(["api"]));
    // The bulk action names the pipeline.
    let mut body = Vec::new();
    crate::request_builder::write_item(&mut body, doc);
    let action: Value =
        serde_json::from_slice(body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(
        action,
        json!({"create": {"_index": "logs-vocab.api-prod", "_id": "1", "pipeline": "vocab-enrich"}})
    );
    assert_eq!(
        crate::request_builder::item_len(doc),
        body.len(),
        "the splitter's size estimate counts the pipeline"
    );
    // Another group: no rule, as before.
    let (docs, _) = run(&tf, &Naming::default(), "/aws/lambda/other");
    assert_eq!(&*docs[0].1.index, "logs-cloudwatch.other-default");
    assert!(source(&docs[0].1).get("labels").is_none());
}

#[test]
fn in_index_mode_a_rules_index_is_the_prefix_of_its_dated_indices() {
    let tf = with_routes(r#"[{"log_group": "*", "index": "vocab-logs"}]"#);
    let naming = Naming {
        mode: crate::target::TargetMode::Index,
        ..Naming::default()
    };
    let (docs, _) = run(&tf, &naming, "/aws/lambda/vocab-api-words");
    assert_eq!(&*docs[0].1.index, "vocab-logs-2026.11.24");
}

#[test]
fn drop_rules_and_the_loop_guard_count_every_event_as_dropped() {
    let tf = with_routes(r#"[{"log_group": "/aws/lambda/noisy*", "drop": true}]"#);
    let (docs, counts) = run(&tf, &Naming::default(), "/aws/lambda/noisy-cron");
    assert!(docs.is_empty());
    assert_eq!(
        counts,
        Counts {
            dropped: 4,
            redacted: 0
        }
    );
    let guarded = Transform {
        routes: Routes::default().with_own_log_group(Some("/aws/lambda/shipper".into())),
        ..Transform::default()
    };
    let (docs, counts) = run(&guarded, &Naming::default(), "/aws/lambda/shipper");
    assert!(docs.is_empty());
    assert_eq!(counts.dropped, 4);
}

#[test]
fn filters_and_start_end_dropping_keep_the_report_and_what_matches() {
    let tf = with_routes(r#"[{"log_group": "*", "exclude": ["^END "]}]"#);
    let (docs, counts) = run(&tf, &Naming::default(), "g");
    assert_eq!(docs.iter().map(|(i, _)| *i).collect::<Vec<_>>(), [0, 1, 3]);
    assert_eq!(counts.dropped, 1);

    let tf = Transform {
        drop_start_end: true,
        ..Transform::default()
    };
    let (docs, counts) = run(&tf, &Naming::default(), "g");
    let kept: Vec<Value> = docs.iter().map(|(_, d)| source(d)).collect();
    assert_eq!(counts.dropped, 2);
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[1]["event"]["action"], "platform.report");

    // A rule can turn it back off for its groups.
    let mut tf = with_routes(r#"[{"log_group": "/aws/lambda/keep-*", "drop_start_end": false}]"#);
    tf.drop_start_end = true;
    assert_eq!(
        run(&tf, &Naming::default(), "/aws/lambda/keep-all").0.len(),
        4
    );
    assert_eq!(run(&tf, &Naming::default(), "/aws/lambda/other").0.len(), 2);
}

#[test]
fn redaction_changes_the_documents_and_is_counted() {
    let tf = Transform {
        redactor: Redactor::new(&crate::redact::Spec {
            email: true,
            mask_keys: true,
            keys: vec!["password".into()],
            ..Default::default()
        })
        .unwrap(),
        ..Transform::default()
    };
    let (docs, counts) = run(&tf, &Naming::default(), "g");
    assert_eq!(
        counts,
        Counts {
            dropped: 0,
            redacted: 1
        }
    );
    let v = source(&docs[1].1);
    assert_eq!(v["message"], "word added for [REDACTED:email]");
    assert_eq!(v["app"], json!({"list_id": "l1", "password": "[REDACTED]"}));
    assert!(!String::from_utf8_lossy(&docs[1].1.source).contains("kim@example.com"));
}
