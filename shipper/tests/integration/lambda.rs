//! The Lambda handler, called the way the runtime calls it: a JSON event and a context.

use std::time::Duration;

use base64::Engine;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use shipper::handler::{self, Answer, Invocation};
use shipper::target::Naming;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscription_fixtures_from_aws_docs_gzip_and_zlib_are_indexed() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("fx");
    let s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    for f in [
        "aws-lambda-events-example.json",
        "powertools-account-policy-zlib.json",
    ] {
        let ans = handler::handle(&s, event(fixture(f), Duration::from_secs(30)))
            .await
            .unwrap();
        let Answer::Done(sum) = ans else {
            panic!("awslogs answers Done")
        };
        assert_eq!(sum.received, 2, "{f}");
    }
    // Both fixtures carry the same two event ids: the second delivery is 409s, not copies.
    assert_eq!(
        count(&conn, &format!("logs-cloudwatch.testloggroup-{ns}"), None).await,
        2
    );
    assert_eq!(
        count(
            &conn,
            &format!("logs-cloudwatch.testloggroup-{ns}"),
            Some(json!({"term": {"log.level": "error"}}))
        )
        .await,
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_messages_are_acknowledged_and_never_indexed() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("ctl");
    let s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let ans = handler::handle(
        &s,
        event(fixture("control-message.json"), Duration::from_secs(30)),
    )
    .await
    .unwrap();
    let Answer::Done(sum) = ans else { panic!() };
    assert_eq!((sum.received, sum.control_messages), (0, 1));
    assert_eq!(sum.stats.requests, 0, "a control message sends nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_batch_reports_only_the_records_that_could_not_be_delivered() {
    // Records 0 and 2 are good, record 1 is not gzip. With Elasticsearch unreachable every
    // record fails; with it up, the bad record is dead-lettered and nothing is reported.
    let payloads = support::generate_data(50, 2, 3, &[]);
    let raw: Vec<String> = payloads
        .iter()
        .map(|p| match p {
            shipper::handler::RawPayload::Base64(s) => s.clone(),
            _ => unreachable!(),
        })
        .collect();
    let not_gzip = base64::engine::general_purpose::STANDARD.encode(b"plain text");
    let record = |seq: &str, data: &str| {
        json!({"eventSource": "aws:kinesis", "eventID": format!("shardId-000:{seq}"), "kinesis": {
            "kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": seq, "data": data,
            "approximateArrivalTimestamp": 1795510800.0}})
    };
    let ev = json!({"Records": [record("100", &raw[0]), record("101", &not_gzip), record("102", &raw[1])]});

    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("kin");
    let s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let Answer::Kinesis(resp) = handler::handle(&s, event(ev.clone(), Duration::from_secs(30)))
        .await
        .unwrap()
    else {
        panic!("kinesis answers with batch item failures")
    };
    assert!(resp.batch_item_failures.is_empty(), "{resp:?}");
    assert_eq!(
        count(&conn, &format!("logs-cloudwatch*-{ns}"), None).await,
        100
    );
    assert_eq!(
        count(&conn, &format!("logs-shipper.deadletter-{ns}"), None).await,
        1
    );

    // Nothing listens here: every record must be reported failed, none silently dropped.
    let down = support::shipper(
        &support::connection(&format!("http://127.0.0.1:{}", support::free_port())),
        Naming::default(),
    );
    let Answer::Kinesis(resp) = handler::handle(&down, event(ev, Duration::from_millis(600)))
        .await
        .unwrap()
    else {
        panic!()
    };
    let ids: Vec<_> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(ids, vec!["100", "101", "102"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_cluster_fails_the_invocation_so_lambda_retries_it() {
    let down = support::shipper(
        &support::connection(&format!("http://127.0.0.1:{}", support::free_port())),
        Naming::default(),
    );
    let err = handler::handle(
        &down,
        event(
            fixture("aws-lambda-events-example.json"),
            Duration::from_millis(500),
        ),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("2 of 2 events not delivered"), "{msg}");
    let d: lambda_runtime::Diagnostic = err.into();
    assert_eq!(d.error_type, "Shipper.Retryable");
}

#[tokio::test]
async fn an_event_of_another_shape_is_a_clear_error() {
    let s = support::shipper(
        &support::connection("http://127.0.0.1:9"),
        Naming::default(),
    );
    let err = handler::handle(
        &s,
        event(
            json!({"detail-type": "Scheduled Event"}),
            Duration::from_secs(1),
        ),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("neither a CloudWatch Logs subscription payload, a Kinesis batch nor a Firehose transformation")
    );
}

/// `cargo lambda watch` passes a relative deadline (600000) where Lambda passes epoch ms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relative_deadline_from_cargo_lambda_watch_still_ships() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("watch");
    let s = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let mut ev = event(
        fixture("aws-lambda-events-example.json"),
        Duration::from_secs(1),
    );
    ev.context.deadline = 600_000;
    let Answer::Done(sum) = handler::handle(&s, ev).await.unwrap() else {
        panic!("awslogs answers Done")
    };
    assert_eq!(sum.stats.indexed, 2);
}

/// The Lambda Runtime API as the runtime client sees it
/// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html): `next` hands out queued
/// events with their request id and deadline, then blocks as Lambda does between invocations;
/// `response` / `error` record the answer.
#[derive(Default)]
struct RuntimeApi {
    events: std::sync::Mutex<std::collections::VecDeque<String>>,
    answers: std::sync::Mutex<Vec<(String, String)>>,
    answered: tokio::sync::Notify,
}

async fn runtime_api(events: Vec<String>) -> (String, std::sync::Arc<RuntimeApi>) {
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Arc;
    type S = State<Arc<RuntimeApi>>;
    let api = Arc::new(RuntimeApi {
        events: std::sync::Mutex::new(events.into()),
        ..RuntimeApi::default()
    });
    async fn next(State(api): S) -> (HeaderMap, String) {
        let (n, event) = {
            let mut q = api.events.lock().unwrap();
            let n = api.answers.lock().unwrap().len() + 1;
            (n, q.pop_front())
        };
        let Some(event) = event else {
            return std::future::pending().await;
        };
        let mut h = HeaderMap::new();
        let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
        h.insert(
            "lambda-runtime-aws-request-id",
            format!("req-{n}").parse().unwrap(),
        );
        h.insert(
            "lambda-runtime-deadline-ms",
            deadline.to_string().parse().unwrap(),
        );
        h.insert(
            "lambda-runtime-invoked-function-arn",
            "arn:aws:lambda:ap-northeast-2:123456789012:function:shipper"
                .parse()
                .unwrap(),
        );
        h.insert("lambda-runtime-trace-id", "Root=1-0-0".parse().unwrap());
        (h, event)
    }
    async fn answer(
        State(api): S,
        Path((id, kind)): Path<(String, String)>,
        body: String,
    ) -> StatusCode {
        api.answers
            .lock()
            .unwrap()
            .push((id, format!("{kind}: {body}")));
        api.answered.notify_one();
        StatusCode::ACCEPTED
    }
    let app = axum::Router::new()
        .route(
            "/2018-06-01/runtime/invocation/next",
            axum::routing::get(next),
        )
        .route(
            "/2018-06-01/runtime/invocation/{id}/{kind}",
            axum::routing::post(answer),
        )
        .with_state(api.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    (addr.to_string(), api)
}

/// The real binary started as Lambda starts it: each invocation ships its batch, answers, and
/// prints exactly one EMF line with that invocation's counts (CloudWatch turns it into the
/// `CloudWatchEsShipper` metrics the alarms watch).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_as_a_lambda_prints_one_emf_line_per_invocation_with_its_counts() {
    let es = crate::bulk_server::BulkServer::with_defaults().await;
    let batches = [(300, 41), (120, 42)];
    let events: Vec<String> = batches
        .iter()
        .map(|&(n, seed)| support::generate(n, 1, seed, &[]).remove(0))
        .collect();
    let (api_addr, api) = runtime_api(events).await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_shipper"));
    for (k, _) in std::env::vars() {
        if k.starts_with("SHIPPER_") || k.starts_with("ELASTICSEARCH_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .env("AWS_LAMBDA_RUNTIME_API", &api_addr)
        .env("ELASTICSEARCH_URL", es.url())
        .env("SHIPPER_HEALTH_DOCS", "false")
        .env("AWS_LAMBDA_FUNCTION_NAME", "shipper")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "ap-northeast-2")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let both = async {
        while api.answers.lock().unwrap().len() < batches.len() {
            api.answered.notified().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), both)
        .await
        .expect("the Lambda answered both invocations");
    // Waiting for a third event now: stop it, as Lambda freezes or ends an idle sandbox.
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();

    let answers = api.answers.lock().unwrap().clone();
    assert!(
        answers.iter().all(|(_, a)| a.starts_with("response: ")),
        "{answers:?}"
    );
    let emf: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), batches.len(), "{emf:?}");
    for (line, &(n, _)) in emf.iter().zip(&batches) {
        assert_eq!(line["FunctionName"], "shipper");
        assert_eq!(line["EventsReceived"], n, "{line}");
        assert_eq!(line["EventsIndexed"], n, "{line}");
        assert_eq!(line["EventsDeadLettered"], 0, "{line}");
        assert!(line["BytesSent"].as_u64().unwrap() > 0, "{line}");
        let declared: Vec<&str> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap())
            .collect();
        assert!(declared.iter().all(|m| line.get(*m).is_some()), "{line}");
    }
    assert_eq!(es.stats().items(201) as usize, 420);
}
