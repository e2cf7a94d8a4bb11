//! Amazon Data Firehose as a source, routing rules and redaction, through the real entry
//! points: the Lambda handler against the Elasticsearch-API emulator, and the CLI binary.
//!
//! Formats: the Firehose data-transformation event and answer
//! (https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html,
//! https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html; the
//! fixture's shape follows aws-lambda-events' `example-firehose-event.json`); from CloudWatch
//! Logs each record's data is the gzipped subscription payload, here the AWS documentation's
//! example and a CONTROL_MESSAGE, plus "Hello World" as the docs' example record, which is no
//! CloudWatch payload. A Firehose S3 object is its records' data back to back, no delimiter
//! (https://docs.aws.amazon.com/firehose/latest/dev/basic-deliver.html); records it could not
//! transform are JSON lines with `rawData` under `processing-failed/`
//! (https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-failure-handling.html).

use std::io::Write;
use std::time::Duration;

use base64::Engine;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shipper::config::FirehoseResult;
use shipper::handler::{self, Answer, Invocation};
use shipper::target::Naming;

use crate::cli::{run_with_stdin, shipper as shipper_cli};
use crate::support::{self, count};

fn event(v: Value, budget: Duration) -> LambdaEvent<Invocation> {
    let mut ctx = Context::default();
    ctx.request_id = format!("req-{}", support::free_port());
    ctx.deadline = (chrono::Utc::now() + budget).timestamp_millis() as u64;
    LambdaEvent::new(serde_json::from_value(v).unwrap(), ctx)
}

fn fixture(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(support::data_file(name)).unwrap()).unwrap()
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_a_firehose_transformation_it_ships_the_records_and_answers_every_record_id() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("fh");
    let mut s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let input = fixture("firehose-transformation-event.json");
    let ans = handler::handle(&s, event(input.clone(), Duration::from_secs(30)))
        .await
        .unwrap();
    let Answer::Firehose(resp) = ans else {
        panic!("a Firehose event answers with records")
    };
    let answered = serde_json::to_value(&resp).unwrap();
    let records = answered["records"].as_array().unwrap();
    assert_eq!(records.len(), 3);
    for (got, sent) in records.iter().zip(input["records"].as_array().unwrap()) {
        assert_eq!(got["recordId"], sent["recordId"]);
        // Delivered by the shipper itself: back unchanged, so the destination keeps a raw copy.
        assert_eq!(got["result"], "Ok");
        assert_eq!(got["data"], sent["data"]);
    }
    // The docs' example batch: its two events; the control message: nothing; "Hello World":
    // no envelope, so a line written to the stream directly, an event of the stream's name.
    assert_eq!(
        count(&conn, &format!("logs-cloudwatch.testloggroup-{ns}"), None).await,
        2
    );
    let stream = format!("logs-cloudwatch.cloudwatch_to_es-{ns}");
    assert_eq!(count(&conn, &stream, None).await, 1);
    let (_, v) = support::es_json(
        &conn,
        reqwest::Method::POST,
        &format!("{stream}/_search"),
        None,
    )
    .await;
    let hit = &v["hits"]["hits"][0];
    assert_eq!(hit["_source"]["message"], "Hello World");
    assert_eq!(
        hit["_id"],
        "49546986683135544286507457936321625675700192471156785156000000-0"
    );
    assert_eq!(hit["_source"]["cloud"]["account"]["id"], "123456789012");

    s.firehose_result = FirehoseResult::Dropped;
    let Answer::Firehose(resp) = handler::handle(&s, event(input, Duration::from_secs(30)))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(resp.records.iter().all(|r| r.result == "Dropped"));
    // The second delivery of the same records is 409s, not copies.
    assert_eq!(
        count(&conn, &format!("logs-cloudwatch.testloggroup-{ns}"), None).await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_firehose_batch_not_delivered_fails_the_invocation_so_firehose_retries_it() {
    let down = support::shipper(
        &support::connection(&format!("http://127.0.0.1:{}", support::free_port())),
        Naming::default(),
    );
    let err = handler::handle(
        &down,
        event(
            fixture("firehose-transformation-event.json"),
            Duration::from_millis(500),
        ),
    )
    .await
    .unwrap_err();
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Shipper.Retryable");
}

/// A Firehose S3 object from a CloudWatch Logs source: each record's gzipped envelope, back to
/// back (and, with the stream's own S3 compression on, gzipped once more).
fn firehose_object(gzip_again: bool) -> Vec<u8> {
    let example = fixture("aws-lambda-events-example.json");
    let control = fixture("control-message.json");
    let centralized = std::fs::read(support::data_file(
        "centralized-account-policy-system-fields.json",
    ))
    .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&centralized).unwrap();
    let mut object = b64(example["awslogs"]["data"].as_str().unwrap());
    object.extend(b64(control["awslogs"]["data"].as_str().unwrap()));
    object.extend(gz.finish().unwrap());
    if gzip_again {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&object).unwrap();
        object = gz.finish().unwrap();
    }
    object
}

fn transform_file(bytes: &[u8], env: &[(&str, &str)]) -> (Vec<Value>, String) {
    let dir = std::env::temp_dir().join(format!("shipper-inputs-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("object");
    std::fs::write(&file, bytes).unwrap();
    let mut c = shipper_cli();
    c.arg("transform").arg(&file);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (rows, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn the_cli_reads_a_firehose_s3_object_of_concatenated_gzipped_envelopes() {
    for gzip_again in [false, true] {
        let (rows, _) = transform_file(&firehose_object(gzip_again), &[]);
        // 2 events of the docs' example + 3 of the centralized batch; the control message none.
        assert_eq!(rows.len(), 2 * 5, "gzip_again {gzip_again}");
        let groups: Vec<&str> = rows
            .chunks(2)
            .map(|p| p[1]["aws"]["cloudwatch"]["log_group"].as_str().unwrap())
            .collect();
        assert_eq!(
            groups,
            [
                "testLogGroup",
                "testLogGroup",
                "/aws/lambda/vocab-api-words",
                "/aws/lambda/vocab-api-words",
                "/aws/lambda/vocab-api-words"
            ]
        );
        // The per-event source account survives the trip.
        assert_eq!(rows[5]["cloud"]["account"]["id"], "111122223333");
    }
}

/// AWS WAF and API Gateway can log to a Firehose stream themselves (named `aws-waf-logs-*`
/// / `amazon-apigateway-*`): each record is then the log record itself, no envelope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waf_records_written_to_firehose_directly_are_shipped_as_waf_events() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("fhwaf");
    let s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let waf = std::fs::read_to_string(support::data_file("waf-logs.jsonl")).unwrap();
    let records: Vec<Value> = waf
        .lines()
        .enumerate()
        .map(|(i, l)| {
            json!({
                "recordId": format!("4954698668313554428650745793632162567570019247115678{i:04}"),
                "approximateArrivalTimestamp": 1795510805000u64,
                "data": base64::engine::general_purpose::STANDARD.encode(format!("{l}\n")),
            })
        })
        .collect();
    let input = json!({
        "invocationId": "9d1c2b3a-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/aws-waf-logs-vocab",
        "region": "us-east-1",
        "records": records,
    });
    let Answer::Firehose(resp) = handler::handle(&s, event(input, Duration::from_secs(30)))
        .await
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(resp.records.len(), 6);
    let stream = format!("logs-cloudwatch.aws_waf_logs_vocab-{ns}");
    assert_eq!(count(&conn, &stream, None).await, 6);
    assert_eq!(
        count(
            &conn,
            &stream,
            Some(json!({"match": {"event.provider": "waf"}}))
        )
        .await,
        6
    );
    assert_eq!(
        count(
            &conn,
            &stream,
            Some(json!({"match": {"event.action": "block"}}))
        )
        .await,
        3
    );
}

#[test]
fn the_cli_takes_firehose_events_and_processing_failed_records() {
    let transformation =
        std::fs::read(support::data_file("firehose-transformation-event.json")).unwrap();
    let mut c = shipper_cli();
    c.args(["transform", "-"]);
    let out = run_with_stdin(c, &transformation);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The docs' two events and the "Hello World" line, as the Lambda reads them.
    let rows: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2 * 3);
    assert_eq!(rows[5]["message"], "Hello World");

    let example = fixture("aws-lambda-events-example.json");
    let failed = json!({
        "attemptsMade": 4,
        "arrivalTimestamp": 1507217624302u64,
        "errorCode": "Lambda.FunctionError",
        "errorMessage": "The Lambda function was successfully invoked but it returned an error result.",
        "attemptEndingTimestamp": 1507217684302u64,
        "rawData": example["awslogs"]["data"],
        "lambdaArn": "arn:aws:lambda:ap-northeast-2:123456789012:function:cloudwatch-shipper:$LATEST"
    });
    let mut c = shipper_cli();
    c.args(["transform", "-"]);
    let out = run_with_stdin(c, format!("{failed}\n{failed}\n").as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2 * 4);
}

#[test]
fn the_cli_applies_routing_rules_filters_and_redaction_as_the_lambda_does() {
    let routes = r#"[
      {"name": "central", "log_group": "/aws/lambda/vocab-api-*", "dataset": "cloudwatch.vocab",
       "pipeline": "vocab-enrich", "tags": ["central"], "exclude": ["^END "]},
      {"name": "docs", "log_group": "testLogGroup", "drop": true}
    ]"#;
    let (rows, stderr) = transform_file(
        &firehose_object(false),
        &[("SHIPPER_ROUTES", routes), ("SHIPPER_REDACT", "ip")],
    );
    // The docs' batch is dropped, the END line filtered: two documents left.
    assert_eq!(rows.len(), 2 * 2, "{rows:?}");
    assert_eq!(rows[0]["create"]["_index"], "logs-cloudwatch.vocab-default");
    assert_eq!(rows[0]["create"]["pipeline"], "vocab-enrich");
    assert_eq!(rows[1]["tags"], json!(["central"]));
    assert!(
        stderr.contains("3 events dropped"),
        "a count on stderr: {stderr}"
    );

    // A bad rule stops the CLI with the rule named, exit 2.
    let mut c = shipper_cli();
    c.args(["transform", "-"]).env(
        "SHIPPER_ROUTES",
        r#"[{"name":"x","log_group":"*","dataset":"Bad-Name"}]"#,
    );
    let out = run_with_stdin(c, b"");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(r#"SHIPPER_ROUTES: rule 1 ("x"): dataset `Bad-Name`"#),
        "{err}"
    );
}
