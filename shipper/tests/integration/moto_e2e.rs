//! End to end with a payload the shipper did not make: moto's server (an AWS API emulator)
//! takes PutLogEvents, its subscription filter writes to a Firehose stream, Firehose writes the
//! gzipped subscription payload to S3; the test wraps that object as the Lambda payload and
//! ships it into the Elasticsearch-API emulator. moto writes integer event ids (AWS: strings).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use shipper::handler::RawPayload;
use shipper::target::Naming;

use crate::support::{self, count, es_json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_written_by_the_aws_emulator_is_indexed_with_its_fields() {
    let moto = support::moto();
    let es = support::noida();
    let group = format!("/aws/lambda/vocab-api-e2e{}", support::free_port());
    let messages = json!([
        "INIT_START Runtime Version: provided:al2023.v94\tRuntime Version ARN: arn:aws:lambda:ap-northeast-2::runtime:abc\n",
        "START RequestId: 11111111-2222-3333-4444-555555555555 Version: $LATEST\n",
        r#"{"@timestamp":"2026-11-25T00:00:00.000Z","log.level":"warn","message":"request finished","http.request.method":"GET","url.path":"/lists/x","http.route":"/lists/{list_id}","http.response.status_code":404,"event.duration":2500000,"faas.execution":"11111111-2222-3333-4444-555555555555","user.id":"u1","app":{"list_id":"x"}}"#,
        "END RequestId: 11111111-2222-3333-4444-555555555555\n",
        "REPORT RequestId: 11111111-2222-3333-4444-555555555555\tDuration: 3.10 ms\tBilled Duration: 130 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\tInit Duration: 126.01 ms\t\n"
    ]);
    let out = Command::new("python3")
        .arg(support::data_file("moto_subscription.py"))
        .args([moto.url(), &group, &messages.to_string()])
        .output()
        .expect("python3 with boto3");
    assert!(
        out.status.success(),
        "moto script: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!objects.is_empty());

    let conn = support::connection(es.url());
    let ns = support::unique_namespace("moto");
    let shipper = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let payloads = objects.into_iter().map(RawPayload::Base64).collect();
    let outcome = shipper
        .ship(payloads, Instant::now() + Duration::from_secs(30), "e2e")
        .await;
    assert!(outcome.failed.is_empty(), "{outcome:?}");
    assert_eq!(outcome.summary.received, 5);
    assert_eq!(outcome.summary.stats.indexed, 5);

    let target = format!("logs-cloudwatch.vocab_api_e2e*-{ns}");
    assert_eq!(count(&conn, &target, None).await, 5);
    let (_, v) = es_json(
        &conn,
        reqwest::Method::POST,
        &format!("{target}/_search"),
        // match_phrase: without the index template the emulator maps strings as text.
        Some(json!({"query": {"match_phrase": {"http.route": "/lists/{list_id}"}}})),
    )
    .await;
    let src = &v["hits"]["hits"][0]["_source"];
    assert_eq!(src["http"]["response"]["status_code"], 404, "{v}");
    assert_eq!(src["cloud"]["account"]["id"], "123456789012");
    assert_eq!(src["aws"]["cloudwatch"]["log_group"], group.as_str());
    // The integer id moto sent became the string `_id` / event.id.
    assert!(src["event"]["id"].is_string());
    let (_, v) = es_json(
        &conn,
        reqwest::Method::POST,
        &format!("{target}/_search"),
        Some(json!({"query": {"term": {"event.action": "platform.report"}}})),
    )
    .await;
    let report = &v["hits"]["hits"][0]["_source"];
    assert_eq!(
        report["aws"]["lambda"]["report"]["billed_duration_ms"], 130,
        "{v}"
    );
    assert_eq!(report["faas"]["coldstart"], true);
}
