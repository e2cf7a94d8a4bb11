//! Fault injection against the project's own `_bulk` server (`bulk_server.rs`): request and
//! item 429s, per-shard 429s and 503s, item 400s, 503 bursts, answers without items, dropped
//! connections, slow answers, rollovers, 413s, 401s and mapping conflicts. Each test shows
//! where every event went: events in = documents indexed + dead-lettered, nothing twice, and
//! the invocation's result says the truth.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shipper::handler::{RawPayload, ShipError};
use shipper::service::Connection;
use shipper::target::Naming;

use crate::bulk_server::{BulkServer, Credential, Faults, Settings};
use crate::support;

pub(crate) fn naming(ns: &str) -> Naming {
    Naming {
        namespace: ns.into(),
        ..Naming::default()
    }
}

pub(crate) fn dead_letter_target(ns: &str) -> String {
    format!("logs-shipper.deadletter-{ns}")
}

/// The data streams the events themselves went to (not dead letters, not health docs).
pub(crate) fn log_targets(s: &BulkServer) -> Vec<String> {
    s.targets()
        .into_iter()
        .filter(|t| t.starts_with("logs-cloudwatch."))
        .collect()
}

pub(crate) fn log_docs(s: &BulkServer) -> usize {
    log_targets(s).iter().map(|t| s.count(t)).sum()
}

/// A decoded (inner JSON) subscription payload with these `(id, message)` events.
pub(crate) fn inner_payload(log_group: &str, events: &[(&str, &str)]) -> RawPayload {
    let events: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, (id, m))| json!({"id": id, "timestamp": 1_795_510_800_000_i64 + i as i64, "message": m}))
        .collect();
    let v = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "2026/11/24/[$LATEST]0123456789abcdef0123456789abcdef",
        "subscriptionFilters": ["to-es"],
        "logEvents": events,
    });
    RawPayload::Bytes(serde_json::to_vec(&v).expect("JSON"))
}

pub(crate) fn far() -> Instant {
    Instant::now() + Duration::from_secs(120)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_429s_400s_503s_empty_answers_dropped_connections_timeouts_and_rollovers_every_event_is_indexed_or_dead_lettered_exactly_once_issue_10()
 {
    // Elasticsearch before 9.2 (no failure store), so refused events are dead-lettered.
    let s = BulkServer::with_setup(Settings {
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    s.set_faults(Faults {
        seed: 2026,
        item_429_rate: 0.10,
        item_400_rate: 0.01,
        item_400_target_prefix: Some("logs-cloudwatch.".into()),
        burst_503_rate: 0.10,
        burst_503_len: 3,
        request_429_rate: 0.05,
        shard_429_rate: 0.05,
        shard_503_rate: 0.05,
        empty_200_rate: 0.05,
        rollover_rate: 0.08,
        drop_before_rate: 0.05,
        drop_after_rate: 0.05,
        slow_rate: 0.05,
        slow: Duration::from_millis(2500),
        ..Faults::default()
    });
    // The server is this test's own: a fixed namespace keeps the injected faults identical
    // from run to run (they hash the target name).
    let ns = "faults".to_owned();
    let payloads = support::generate_data(2000, 4, 7, &[]);
    let mut sh = support::shipper(&support::connection(&s.url), naming(&ns));
    // A slow answer outlives the request: the client gives up after the writes were applied.
    // (2 s: far above this server's real latency, even on a loaded machine, so only injected
    // slowness times out.)
    sh.opts.request_timeout = Duration::from_secs(2);
    // Small requests: many of them, so every kind of fault happens.
    sh.opts.limits.max_docs = 200;

    let out = sh
        .ship(
            payloads,
            Instant::now() + Duration::from_secs(300),
            "faults-main",
        )
        .await;

    let st = s.stats();
    assert!(out.fatal.is_none(), "{:?}", out.fatal);
    assert!(
        out.failed.is_empty(),
        "failed payloads {:?}: {:?}",
        out.failed,
        out.last_error
    );
    let received = out.summary.received as usize;
    assert!(received > 7_000, "generated {received} events");
    let (logs, dl_target) = (log_docs(&s), dead_letter_target(&ns));
    let dead = s.count(&dl_target);
    // Events in = documents indexed + dead-lettered.
    assert_eq!(
        logs + dead,
        received,
        "indexed {logs} + dead-lettered {dead} != received {received}"
    );
    assert_eq!(
        out.summary.stats.indexed + out.summary.stats.already_present,
        logs as u64
    );
    assert_eq!(out.summary.dead_lettered, dead as u64);
    // Exactly the refused events were dead-lettered, each with the server's reason.
    assert!(dead > 0);
    assert_eq!(dead, st.injected_400.len());
    let refused: BTreeSet<&str> = st.injected_400.iter().map(|(_, id)| id.as_str()).collect();
    for (id, doc) in s.docs(&dl_target) {
        assert!(
            refused.contains(id.as_str()),
            "dead letter {id} was never refused"
        );
        assert_eq!(doc["error"]["type"], "document_parsing_exception");
        assert_eq!(doc["deadletter"]["status"], 400);
    }
    // Nothing twice: no id stored twice in any data stream (across its backing indices), no
    // event both indexed and dead-lettered; a copy a rollover let in for a moment was removed.
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
    assert_eq!(
        s.created_twice().len() as u64,
        out.summary.stats.duplicates_removed,
        "every copy created after a rollover was found and removed"
    );
    for t in log_targets(&s) {
        for id in s.ids(&t) {
            assert!(
                !refused.contains(id.as_str()),
                "{id} is both indexed and dead-lettered"
            );
        }
    }
    // The faults did happen.
    assert!(st.items(429) > 0, "{st:?}");
    assert!(st.items(503) > 0, "{st:?}");
    assert!(st.bulk(429) > 0, "{st:?}");
    assert!(st.bulk(503) >= 3, "{st:?}");
    assert!(st.empty_200 > 0, "{st:?}");
    assert!(st.rollovers > 0, "{st:?}");
    assert!(st.dropped > 0, "{st:?}");
    assert!(st.slowed > 0, "{st:?}");
    // A drop or timeout after the writes shows up on resend as a 409, or is found by a
    // lookup before the resend (a rollover in between would let the resend in twice).
    assert!(
        out.summary.stats.already_present > 0,
        "{:?} {st:?}",
        out.summary
    );
    assert!(out.summary.stats.retried > 0);
    eprintln!(
        "faults: {received} events in = {logs} indexed + {dead} dead-lettered; duplicates {}; \
         copies created after a rollover and removed {}; requests {} (bulk {}, lookups {}); server: {} rollovers, \
         {} request 503, {} request 429, {} empty 200, {} dropped, {} slowed, item 429 {}, item 503 {}",
        s.duplicates().len(),
        out.summary.stats.duplicates_removed,
        st.requests,
        st.bulk_requests,
        out.summary.stats.lookups,
        st.rollovers,
        st.bulk(503),
        st.bulk(429),
        st.empty_200,
        st.dropped,
        st.slowed,
        st.items(429),
        st.items(503),
    );
    let summary = out.into_result().expect("everything was delivered");
    assert_eq!(summary.received as usize, received);
}

#[tokio::test]
async fn a_deadline_too_short_for_a_cluster_that_stays_503_fails_every_payload_as_undelivered() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            always_503: true,
            ..Faults::default()
        },
        ..Settings::default()
    })
    .await;
    let ns = support::unique_namespace("deadline");
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let payloads = support::generate_data(200, 2, 3, &[]);
    let t0 = Instant::now();

    let out = sh
        .ship(
            payloads,
            t0 + Duration::from_millis(1500),
            "faults-deadline",
        )
        .await;

    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "stopped at the deadline"
    );
    assert_eq!(out.failed, vec![0, 1]);
    assert!(out.fatal.is_none());
    assert_eq!(out.undelivered as u64, out.summary.received);
    assert!(
        s.stats().bulk(503) >= 2,
        "retried within the budget: {:?}",
        s.stats()
    );
    assert!(s.all_ids().is_empty());
    match out.into_result() {
        Err(ShipError::Undelivered {
            undelivered,
            received,
            last_error,
        }) => {
            assert_eq!(undelivered as u64, received);
            assert!(
                last_error.contains("503") && last_error.contains("cluster_block_exception"),
                "{last_error}"
            );
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_fatal_at_the_first_401_with_no_retry_and_no_dead_letter()
{
    let s = requiring_password("s3cret").await;
    let ns = support::unique_namespace("auth");
    let payloads = support::generate_data(300, 1, 5, &[]);
    let wrong = Connection {
        username: Some("elastic".into()),
        password: Some("wrong".into()),
        ..support::connection(&s.url)
    };
    for (n, conn) in [wrong, support::connection(&s.url)].into_iter().enumerate() {
        let sh = support::shipper(&conn, naming(&ns));
        let out = sh.ship(payloads.clone(), far(), "faults-auth").await;
        let fatal = out.fatal.clone().expect("a 401 is fatal");
        assert!(
            fatal.contains("401") && fatal.contains("security_exception"),
            "{fatal}"
        );
        assert_eq!(out.failed, vec![0]);
        assert_eq!(out.summary.dead_lettered, 0);
        assert_eq!(
            s.stats().requests,
            n as u64 + 1,
            "one request per attempt, no retries, no health doc: {:?}",
            s.stats()
        );
        assert!(matches!(out.into_result(), Err(ShipError::Fatal(_))));
    }
    assert!(s.all_ids().is_empty());
    let right = Connection {
        username: Some("elastic".into()),
        password: Some("s3cret".into()),
        ..support::connection(&s.url)
    };
    let out = support::shipper(&right, naming(&ns))
        .ship(payloads, far(), "faults-auth-ok")
        .await;
    let summary = out.into_result().expect("the right credentials deliver");
    assert_eq!(summary.stats.indexed, summary.received);
    assert_eq!(log_docs(&s) as u64, summary.received);
}

#[tokio::test]
async fn redelivering_a_delivered_batch_meets_only_409s_and_adds_no_documents() {
    let s = BulkServer::with_defaults().await;
    let ns = support::unique_namespace("redeliver");
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let payloads = support::generate_data(1500, 2, 9, &[]);

    let first = sh
        .ship(payloads.clone(), far(), "faults-first")
        .await
        .into_result()
        .unwrap();
    assert_eq!(first.stats.indexed, first.received);
    let stored = log_docs(&s);
    assert_eq!(stored as u64, first.received);
    let conflicts_before = s.stats().items(409);

    let second = sh
        .ship(payloads, far(), "faults-second")
        .await
        .into_result()
        .unwrap();

    assert_eq!(second.received, first.received);
    assert_eq!(second.stats.already_present, second.received);
    assert_eq!(second.stats.indexed, 0);
    assert_eq!(second.dead_lettered, 0);
    assert_eq!(log_docs(&s), stored);
    assert_eq!(s.stats().items(409) - conflicts_before, second.received);
    assert!(s.duplicates().is_empty());
    assert_eq!(s.count(&dead_letter_target(&ns)), 0);
}

#[tokio::test]
async fn a_413_on_a_multi_document_request_is_split_in_halves_until_every_document_lands() {
    let s = BulkServer::start(Settings {
        max_content_length: 256 * 1024,
        ..Settings::default()
    })
    .await;
    let ns = support::unique_namespace("split");
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let payloads = support::generate_data(2000, 1, 13, &["--large", "0"]);

    let summary = sh
        .ship(payloads, far(), "faults-split")
        .await
        .into_result()
        .unwrap();

    assert!(
        s.stats().bulk(413) > 0,
        "the first requests were over the limit: {:?}",
        s.stats()
    );
    assert_eq!(summary.stats.indexed, summary.received);
    assert_eq!(summary.dead_lettered, 0);
    assert_eq!(log_docs(&s) as u64, summary.received);
    assert!(s.duplicates().is_empty());
}

/// A realistic oversized message: a long backtrace.
fn backtrace(bytes: usize) -> String {
    let mut m = String::from(
        "thread 'main' panicked at src/handler.rs:42:9:\nindex out of bounds\nstack backtrace:\n",
    );
    let mut i = 0;
    while m.len() < bytes {
        m.push_str(&format!("  {i:4}: vocab_api::handlers::words::frame_{i}::{{{{closure}}}}\n             at ./src/handlers/words.rs:{}:{}\n", 100 + i % 900, i % 80));
        i += 1;
    }
    m
}

#[tokio::test]
async fn a_single_document_over_http_max_content_length_is_dead_lettered_as_request_entity_too_large()
 {
    let s = BulkServer::start(Settings {
        max_content_length: 64 * 1024,
        ..Settings::default()
    })
    .await;
    let ns = support::unique_namespace("toolarge");
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let big = backtrace(100 * 1024);
    let payload = inner_payload(
        "/aws/lambda/orders",
        &[("e1", "small one"), ("e2", &big), ("e3", "small two")],
    );

    let out = sh.ship(vec![payload], far(), "faults-toolarge").await;

    assert!(out.failed.is_empty(), "{:?}", out.last_error);
    assert_eq!(out.summary.received, 3);
    assert_eq!(out.summary.stats.indexed, 2);
    assert_eq!(out.summary.dead_lettered, 1);
    let target = format!("logs-cloudwatch.orders-{ns}");
    assert_eq!(s.ids(&target), vec!["e1".to_owned(), "e3".to_owned()]);
    let dl = s
        .doc(&dead_letter_target(&ns), "e2")
        .expect("e2 dead-lettered");
    assert_eq!(dl["error"]["type"], "request_entity_too_large");
    assert_eq!(dl["deadletter"]["status"], 413);
    // Still replayable once the limit is raised: the payload gives back the whole event.
    let replay = BulkServer::with_defaults().await;
    let p = dl["deadletter"]["payload"].as_str().unwrap();
    let raw = if p.starts_with('{') {
        RawPayload::Bytes(p.as_bytes().to_vec())
    } else {
        RawPayload::Base64(p.to_owned())
    };
    let again = support::shipper(&support::connection(&replay.url), naming(&ns))
        .ship(vec![raw], far(), "replay")
        .await;
    assert_eq!(again.into_result().unwrap().stats.indexed, 1);
    let doc = replay.doc(&target, "e2").unwrap();
    assert_eq!(doc["message"].as_str().unwrap(), big.trim_end());
}

/// Another writer got to a data stream first (here `shipper setup` was not run, so only the
/// built-in `logs` template applies) and made `user` a keyword: the shipper's `user.id` can't
/// be indexed there, whatever `ignore_malformed` says (it doesn't cover objects).
pub(crate) async fn conflicting_writer(s: &BulkServer, target: &str) {
    let first = format!(
        "{{\"create\":{{\"_index\":\"{target}\",\"_id\":\"other\"}}}}\n{{\"@timestamp\":\"2026-11-24T08:00:00Z\",\"user\":\"bob\"}}\n"
    );
    let r = reqwest::Client::new()
        .post(format!("{}/_bulk", s.url))
        .header("content-type", "application/x-ndjson")
        .body(first)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.field_type(target, "user").as_deref(), Some("keyword"));
}

#[tokio::test]
async fn a_mapping_conflict_dead_letters_exactly_that_event_with_a_replayable_payload() {
    // Elasticsearch before 9.2: no failure store.
    let s = BulkServer::start(Settings {
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    let ns = support::unique_namespace("conflict");
    let target = format!("logs-cloudwatch.orders-{ns}");
    conflicting_writer(&s, &target).await;
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let bad = r#"{"level":"INFO","message":"order placed","user_id":"alice","status":201}"#;
    let payload = inner_payload(
        "/aws/lambda/orders",
        &[
            (
                "e1",
                r#"{"level":"INFO","message":"order listed","status":200}"#,
            ),
            ("e2", bad),
            ("e3", "plain text line"),
        ],
    );

    let out = sh.ship(vec![payload], far(), "faults-conflict").await;

    let summary = out
        .into_result()
        .expect("a refused event is dead-lettered, not a failure");
    assert_eq!(
        (
            summary.received,
            summary.stats.indexed,
            summary.dead_lettered
        ),
        (3, 2, 1)
    );
    assert_eq!(
        s.ids(&target),
        vec!["e1".to_owned(), "e3".to_owned(), "other".to_owned()]
    );
    let dl_target = dead_letter_target(&ns);
    assert_eq!(s.ids(&dl_target), vec!["e2".to_owned()]);
    let dl = s.doc(&dl_target, "e2").unwrap();
    assert_eq!(dl["error"]["type"], "document_parsing_exception");
    assert!(
        dl["error"]["message"]
            .as_str()
            .unwrap()
            .contains("failed to parse field [user] of type [keyword]"),
        "{dl}"
    );
    assert_eq!(dl["deadletter"]["status"], 400);
    assert_eq!(dl["deadletter"]["target"], target.as_str());
    // The payload is CloudWatch's inner JSON holding exactly that event…
    let payload: Value =
        serde_json::from_str(dl["deadletter"]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["logGroup"], "/aws/lambda/orders");
    assert_eq!(payload["logEvents"].as_array().unwrap().len(), 1);
    assert_eq!(payload["logEvents"][0]["id"], "e2");
    assert_eq!(payload["logEvents"][0]["message"], bad);
    // …and ships again as it is, once the mapping is fixed (here: a fresh cluster).
    let fixed = BulkServer::with_defaults().await;
    let again = support::shipper(&support::connection(&fixed.url), naming(&ns))
        .ship(
            vec![RawPayload::Bytes(payload.to_string().into_bytes())],
            far(),
            "faults-replay",
        )
        .await
        .into_result()
        .unwrap();
    assert_eq!(again.stats.indexed, 1);
    assert_eq!(fixed.doc(&target, "e2").unwrap()["user"]["id"], "alice");
}

#[tokio::test]
async fn from_elasticsearch_9_2_a_mapping_conflict_goes_to_the_failure_store_and_is_counted_there()
{
    let s = BulkServer::with_defaults().await;
    let ns = support::unique_namespace("fstore");
    let target = format!("logs-cloudwatch.orders-{ns}");
    conflicting_writer(&s, &target).await;
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let payload = inner_payload(
        "/aws/lambda/orders",
        &[
            ("e1", "plain text line"),
            (
                "e2",
                r#"{"level":"INFO","message":"order placed","user_id":"alice"}"#,
            ),
        ],
    );

    let summary = sh
        .ship(vec![payload], far(), "faults-fstore")
        .await
        .into_result()
        .expect("kept by the cluster: not a failure");

    assert_eq!((summary.stats.indexed, summary.dead_lettered), (2, 0));
    assert_eq!(summary.stats.failure_store, 1);
    let kept = s.failure_store_docs(&target);
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["document"]["id"], "e2");
    assert_eq!(kept[0]["document"]["source"]["user"]["id"], "alice");
    assert_eq!(s.count(&dead_letter_target(&ns)), 0);
}

#[tokio::test]
async fn a_status_that_turns_from_number_to_text_stays_under_the_flattened_app_and_never_conflicts()
{
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = support::unique_namespace("flat");
    let sh = support::shipper(&support::connection(&s.url), naming(&ns));
    let payload = inner_payload(
        "/aws/lambda/orders",
        &[
            ("e1", r#"{"message":"a","status":200,"detail":{"n":1}}"#),
            (
                "e2",
                r#"{"message":"b","status":"teapot","detail":"text now"}"#,
            ),
            (
                "e3",
                r#"{"message":"c","http.response.status_code":"oops","detail":[1,"x",true]}"#,
            ),
        ],
    );

    let summary = sh
        .ship(vec![payload], far(), "faults-flat")
        .await
        .into_result()
        .unwrap();

    assert_eq!((summary.stats.indexed, summary.dead_lettered), (3, 0));
    let target = format!("logs-cloudwatch.orders-{ns}");
    assert_eq!(
        s.field_type(&target, "http.response.status_code")
            .as_deref(),
        Some("long")
    );
    assert_eq!(s.field_type(&target, "app").as_deref(), Some("flattened"));
    assert_eq!(s.doc(&target, "e2").unwrap()["app"]["status"], "teapot");
    assert_eq!(
        s.doc(&target, "e3").unwrap()["app"]["http.response.status_code"],
        "oops"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_dated_index_mode_generated_batches_land_without_a_mapping_conflict_despite_date_detection()
 {
    // Plain indices keep `date_detection` on: a string that looks like a date fixes its
    // field as `date`, so a document whose fields change shape would be refused here.
    let s = BulkServer::with_defaults().await;
    let naming = Naming {
        mode: shipper::target::TargetMode::Index,
        ..naming("dated")
    };
    let sh = support::shipper(&support::connection(&s.url), naming);
    let payloads = support::generate_data(2000, 4, 21, &[]);

    let summary = sh
        .ship(payloads, far(), "faults-dated")
        .await
        .into_result()
        .unwrap();

    assert_eq!(summary.dead_lettered, 0);
    assert_eq!(summary.stats.indexed, summary.received);
    let indices: Vec<String> = s
        .targets()
        .into_iter()
        .filter(|t| t.starts_with("cloudwatch-2"))
        .collect();
    assert!(!indices.is_empty(), "{:?}", s.targets());
    let stored: usize = indices.iter().map(|t| s.count(t)).sum();
    assert_eq!(stored as u64, summary.received);
    assert_eq!(
        s.field_type(&indices[0], "@timestamp").as_deref(),
        Some("date")
    );
}

/// Credentials as a secret holds them, changed by the test ("rotation").
struct SecretLike {
    conn: std::sync::Mutex<Connection>,
    reads: std::sync::atomic::AtomicU32,
}

#[async_trait::async_trait]
impl shipper::rotation::ClientSource for SecretLike {
    async fn connect(&self) -> Result<shipper::rotation::Clients, String> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let conn = self.conn.lock().unwrap().clone();
        shipper::rotation::clients(&conn).map_err(|e| e.to_string())
    }
}

/// A server that lets in only `elastic` with `password`.
pub(crate) async fn requiring_password(password: &str) -> BulkServer {
    BulkServer::start(Settings {
        credentials: vec![Credential::Basic {
            user: "elastic".into(),
            password: password.into(),
        }],
        ..Settings::default()
    })
    .await
}

pub(crate) fn with_password(url: &str, password: &str) -> Connection {
    Connection {
        username: Some("elastic".into()),
        password: Some(password.into()),
        ..support::connection(url)
    }
}

#[tokio::test]
async fn after_a_401_the_credentials_are_read_again_once_so_a_rotated_secret_delivers_issue_10() {
    let s = requiring_password("rotated").await;
    let ns = support::unique_namespace("rotate");
    // Started with the old password; the secret has been rotated since.
    let source = std::sync::Arc::new(SecretLike {
        conn: std::sync::Mutex::new(with_password(&s.url, "rotated")),
        reads: Default::default(),
    });
    let old = shipper::rotation::clients(&with_password(&s.url, "old")).unwrap();
    let r = std::sync::Arc::new(shipper::rotation::Rotating::new(old, source.clone()));
    let mut sh = support::shipper(&with_password(&s.url, "old"), naming(&ns));
    sh.client = r.clone();
    sh.lookup = Some(r);

    let summary = sh
        .ship(support::generate_data(300, 1, 31, &[]), far(), "rotated")
        .await
        .into_result()
        .expect("delivered with the rotated password");

    assert_eq!(summary.stats.indexed, summary.received);
    assert_eq!(source.reads.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        s.stats()
            .log
            .iter()
            .filter(|l| l.starts_with("POST /_bulk"))
            .count(),
        2,
        "events (300: one piece), health"
    );
}

#[tokio::test]
async fn a_401_that_reading_the_secret_again_does_not_cure_is_fatal_after_one_read_issue_10() {
    let s = requiring_password("rotated").await;
    let ns = support::unique_namespace("rotate2");
    let source = std::sync::Arc::new(SecretLike {
        conn: std::sync::Mutex::new(with_password(&s.url, "stale")),
        reads: Default::default(),
    });
    let old = shipper::rotation::clients(&with_password(&s.url, "stale")).unwrap();
    let r = std::sync::Arc::new(shipper::rotation::Rotating::new(old, source.clone()));
    let mut sh = support::shipper(&with_password(&s.url, "stale"), naming(&ns));
    sh.client = r.clone();
    sh.lookup = Some(r);
    for attempt in 0..2 {
        let out = sh
            .ship(support::generate_data(100, 1, 32, &[]), far(), "stale")
            .await;
        assert!(
            matches!(out.into_result(), Err(ShipError::Fatal(f)) if f.contains("401")),
            "attempt {attempt}"
        );
    }
    assert_eq!(
        source.reads.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "read again at most once per interval"
    );
    assert!(s.all_ids().is_empty());
}
