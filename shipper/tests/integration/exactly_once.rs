//! Issue 10: nothing lost, nothing duplicated across rollovers, replays, re-drives and odd
//! answers. Against the project's `_bulk` server after `shipper setup` (its own templates),
//! which scopes `create`'s 409 to one backing index as Elasticsearch does.

use std::time::{Duration, Instant};

use serde_json::json;
use shipper::handler::{RawPayload, ShipError};
use shipper::target::{Naming, TargetMode};

use crate::bulk_server::{AutoCreate, BulkServer, Settings, Step};
use crate::faults::{
    conflicting_writer, dead_letter_target, far, inner_payload, log_docs, log_targets, naming,
};
use crate::support;

/// The data stream generated payloads go to (`/aws/lambda/vocab-api-words`).
fn words(ns: &str) -> String {
    format!("logs-cloudwatch.vocab_api_words-{ns}")
}

/// Ships `payloads` into `s` as the Lambda would: every event must be delivered.
async fn shipped(
    s: &BulkServer,
    ns: &str,
    payloads: Vec<RawPayload>,
    execution: &str,
) -> shipper::metrics::Summary {
    support::shipper(&support::connection(&s.url), naming(ns))
        .ship(payloads, far(), execution)
        .await
        .into_result()
        .unwrap()
}

/// Ships `payloads`, then rolls every data stream over, as ILM does (daily, or at 50 GB).
async fn stored_then_rolled_over(
    s: &BulkServer,
    ns: &str,
    payloads: Vec<RawPayload>,
) -> shipper::metrics::Summary {
    let first = shipped(s, ns, payloads, "first").await;
    assert_eq!(first.stats.indexed, first.received);
    for t in log_targets(s) {
        s.rollover(&t);
    }
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_after_a_rollover_stores_nothing_twice_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "replay";
    let payloads = support::generate_data(3000, 3, 11, &[]);
    let first = stored_then_rolled_over(&s, ns, payloads.clone()).await;

    // `shipper ship` of the same files: a new process, nothing cached. Before the fix every
    // event was stored a second time here (9,964 of 10,000 in the issue).
    let again = shipped(&s, ns, payloads, "replay").await;

    assert_eq!(again.received, first.received);
    assert_eq!(again.stats.already_present, again.received);
    assert_eq!(again.stats.indexed, 0);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
    assert!(s.created_twice().is_empty());
    assert_eq!(log_docs(&s) as u64, first.received);
    assert_eq!(s.backing_indices(&words(ns)).len(), 2);
    // One write-index lookup per data stream, and one ids search per streamed piece: as many
    // as the first delivery's requests (a piece of 500, then of the request limit).
    let streams = log_targets(&s).len() as u64;
    assert_eq!(streams, 1);
    assert!(
        again.stats.lookups <= streams + first.stats.requests,
        "{:?} after {:?}",
        again.stats,
        first.stats
    );
}

/// Each streamed piece is encoded while the one before it is in flight, before its events are
/// looked up: a piece the lookups thin out must go as what they leave, never as the body
/// written ahead (that would store the found events a second time in the new write index).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_partly_stored_sends_only_what_the_lookups_leave_of_each_piece_issue_15() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "partly";
    let payloads = support::generate_data(3000, 3, 12, &[]);
    let first = stored_then_rolled_over(&s, ns, payloads[..1].to_vec()).await;

    // Pieces of 500, 1,000, 2,000, 4,000, 1,500: the first two all found, the third half,
    // the last two all new.
    let all = shipped(&s, ns, payloads, "replay").await;

    assert_eq!(all.stats.already_present, first.received);
    assert_eq!(all.stats.indexed, all.received - first.received);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
    assert!(s.created_twice().is_empty());
    assert_eq!(log_docs(&s) as u64, all.received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_lambda_that_missed_a_rollover_removes_the_copy_its_retry_created_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "warm";
    let sh = support::shipper(&support::connection(&s.url), naming(ns));
    let payloads = support::generate_data(1500, 2, 12, &[]);
    let first = sh
        .ship(payloads.clone(), far(), "first")
        .await
        .into_result()
        .unwrap();
    s.rollover(&words(ns));

    // Lambda retries the same event in the same (warm) container: its cache still names the
    // old write index, so nothing looks suspect before sending; the answer names the new one.
    let again = sh
        .ship(payloads, far(), "retry")
        .await
        .into_result()
        .unwrap();

    assert_eq!(again.stats.already_present, again.received);
    assert_eq!(again.stats.indexed, 0);
    // Only the first streamed piece goes out on the stale cache: its answer shows the
    // rollover, and every later piece is looked up (and found) before it is sent.
    let copies = again.stats.duplicates_removed;
    assert!(copies > 0 && copies < again.received, "{:?}", again.stats);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
    assert_eq!(log_docs(&s) as u64, first.received);
    // The window that remains: each copy existed between its creation and its removal.
    assert_eq!(s.created_twice().len() as u64, copies);
    // The third delivery knows the new write index: found before sending, nothing created.
    let third = sh
        .ship(support::generate_data(1500, 2, 12, &[]), far(), "third")
        .await
        .into_result()
        .unwrap();
    assert_eq!(third.stats.already_present, third.received);
    assert_eq!(third.stats.duplicates_removed, 0);
    assert_eq!(s.created_twice().len() as u64, copies);
}

#[tokio::test]
async fn a_rollover_between_a_lost_answer_and_the_resend_stores_nothing_twice_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "lost";
    let conn = support::connection(&s.url);
    // The data stream has an older backing index already: events older than its write index
    // are looked up anyway; these are newer, so only the lost answer makes them suspect.
    let payloads = support::generate_data(200, 1, 13, &[]);
    let mut sh = support::shipper(&conn, naming(ns));
    sh.health_docs = false;
    sh.ship(
        vec![inner_payload(
            "/aws/lambda/vocab-api-words",
            &[("seed", "first")],
        )],
        far(),
        "seed",
    )
    .await
    .into_result()
    .unwrap();
    s.rollover_created_at(&words(ns), 1_700_000_000_000);
    let bulks_before = s.stats().bulk_requests;
    // The request is applied, ILM rolls the data stream over, the answer is lost.
    s.set_faults(crate::bulk_server::Faults {
        script: vec![Step::DropAfterThenRollover],
        ..Default::default()
    });

    let summary = sh
        .ship(payloads, far(), "lost")
        .await
        .into_result()
        .unwrap();

    assert!(s.created_twice().is_empty(), "{:?}", s.created_twice());
    assert!(s.duplicates().is_empty());
    assert_eq!(summary.stats.already_present, summary.received);
    assert_eq!(
        s.stats().bulk_requests - bulks_before,
        1,
        "found in the old write index, in real time, and not sent again"
    );
    assert!(s.stats().reads("mget") >= 1);
    assert_eq!(log_docs(&s) as u64, summary.received + 1);
}

#[tokio::test]
async fn the_usual_delivery_makes_no_request_besides_bulk_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "usual";
    let target = format!("logs-cloudwatch.orders-{ns}");
    let mut sh = support::shipper(&support::connection(&s.url), naming(ns));
    sh.health_docs = false;
    let batch = |first: usize| {
        let ids: Vec<(String, String)> = (first..first + 50)
            .map(|i| (format!("e{i}"), format!("line {i}")))
            .collect();
        let refs: Vec<(&str, &str)> = ids.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        inner_payload("/aws/lambda/orders", &refs)
    };
    sh.ship(vec![batch(0)], far(), "a")
        .await
        .into_result()
        .unwrap();
    // A rollover at 00:00 on the events' day: the write index has an older sibling, and the
    // events (09:00) are newer than it.
    s.rollover_created_at(&target, 1_795_478_400_000);
    let fresh = support::shipper(&support::connection(&s.url), naming(ns));
    let mut fresh = fresh;
    fresh.health_docs = false;
    // A cold process: one write-index lookup for the data stream…
    fresh
        .ship(vec![batch(100)], far(), "b")
        .await
        .into_result()
        .unwrap();
    let after_cold = s.stats();
    assert_eq!(after_cold.reads("settings"), 2, "one per process");
    // …then, warm: `_bulk` only, for every following delivery.
    for (i, first) in [200, 300, 400].into_iter().enumerate() {
        let summary = fresh
            .ship(vec![batch(first)], far(), &format!("c{i}"))
            .await
            .into_result()
            .unwrap();
        assert_eq!(summary.stats.indexed, 50);
        assert_eq!(summary.stats.lookups, 0);
    }
    let after = s.stats();
    assert_eq!(after.reads, after_cold.reads, "no lookups when warm");
    assert_eq!(after.bulk_requests - after_cold.bulk_requests, 3);
    assert!(s.duplicates().is_empty());
}

#[tokio::test]
async fn re_dead_lettering_after_the_dead_letter_stream_rolled_over_adds_no_second_record_issue_10()
{
    // Before 9.2 (no failure store): a conflicting event is dead-lettered by the shipper.
    let s = BulkServer::start(Settings {
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    let ns = "dlroll";
    let target = format!("logs-cloudwatch.orders-{ns}");
    conflicting_writer(&s, &target).await;
    let payload = || {
        inner_payload(
            "/aws/lambda/orders",
            &[
                ("e1", "fine"),
                ("e2", r#"{"message":"x","user_id":"alice"}"#),
            ],
        )
    };
    let conn = support::connection(&s.url);
    let first = support::shipper(&conn, naming(ns))
        .ship(vec![payload()], far(), "first")
        .await
        .into_result()
        .unwrap();
    assert_eq!(first.dead_lettered, 1);
    let dl = dead_letter_target(ns);
    s.rollover(&dl);

    // The same event again (a Lambda retry, a replay), refused again.
    let again = support::shipper(&conn, naming(ns))
        .ship(vec![payload()], far(), "again")
        .await
        .into_result()
        .unwrap();

    assert_eq!(again.dead_lettered, 1, "it is dead-lettered: already");
    assert_eq!(s.count(&dl), 1);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
}

#[tokio::test]
async fn in_index_mode_a_dead_letter_of_another_day_is_found_before_a_second_is_written_issue_10() {
    let s = BulkServer::with_defaults().await;
    let n = Naming {
        mode: TargetMode::Index,
        ..Naming::default()
    };
    // Dead-lettered on the 1st; dated indices are by day, so today's would be another index.
    let r = reqwest::Client::new()
        .post(format!("{}/_bulk", s.url))
        .header("content-type", "application/x-ndjson")
        .body("{\"create\":{\"_index\":\"cloudwatch-deadletter-2026.11.01\",\"_id\":\"e2\"}}\n{\"message\":\"earlier\"}\n{\"create\":{\"_index\":\"cloudwatch-2026.11.24\",\"_id\":\"other\"}}\n{\"user\":\"bob\"}\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let payload = inner_payload(
        "/aws/lambda/orders",
        &[("e2", r#"{"message":"x","user_id":"alice"}"#)],
    );

    let summary = support::shipper(&support::connection(&s.url), n)
        .ship(vec![payload], far(), "idx")
        .await
        .into_result()
        .unwrap();

    assert_eq!(summary.dead_lettered, 1);
    assert_eq!(s.count("cloudwatch-deadletter-*"), 1);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
}

#[tokio::test]
async fn in_index_mode_a_redelivery_lands_in_the_index_of_its_own_day_and_meets_its_409_issue_10() {
    let s = BulkServer::with_defaults().await;
    s.setup(shipper::setup::Target::Index).await;
    let n = Naming {
        mode: TargetMode::Index,
        ..Naming::default()
    };
    let payloads = support::generate_data(800, 2, 14, &[]);
    let conn = support::connection(&s.url);
    let first = support::shipper(&conn, n.clone())
        .ship(payloads.clone(), far(), "a")
        .await
        .into_result()
        .unwrap();
    let again = support::shipper(&conn, n)
        .ship(payloads, far(), "b")
        .await
        .into_result()
        .unwrap();
    assert_eq!(again.stats.already_present, first.received);
    assert_eq!(again.stats.lookups, 0, "dated indices need no lookup");
    assert!(s.duplicates().is_empty());
}

#[tokio::test]
async fn a_200_without_items_is_resent_never_counted_as_indexed_and_fails_the_invocation_if_it_persists_issue_10()
 {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "empty";
    let mut sh = support::shipper(&support::connection(&s.url), naming(ns));
    sh.health_docs = false;
    s.set_faults(crate::bulk_server::Faults {
        script: vec![Step::Empty200, Step::Empty200],
        ..Default::default()
    });
    let payloads = support::generate_data(300, 1, 15, &[]);

    let summary = sh
        .ship(payloads, far(), "empty")
        .await
        .into_result()
        .unwrap();

    assert_eq!(s.stats().empty_200, 2);
    assert_eq!(summary.stats.indexed, summary.received);
    assert_eq!(s.count(&words(ns)) as u64, summary.received);

    // An answer that never has items: the invocation fails instead of reporting success.
    s.set_faults(crate::bulk_server::Faults {
        empty_200_rate: 1.0,
        ..Default::default()
    });
    let out = sh
        .ship(
            support::generate_data(300, 1, 16, &[]),
            Instant::now() + Duration::from_secs(2),
            "empty-always",
        )
        .await;
    assert_eq!(out.summary.stats.indexed, 0);
    match out.into_result() {
        Err(ShipError::Undelivered {
            undelivered,
            received,
            last_error,
        }) => {
            assert_eq!(undelivered as u64, received);
            // The last attempt may be cut by the deadline itself.
            assert!(
                last_error.contains("no items") || last_error.contains("timed out"),
                "{last_error}"
            );
            assert!(s.stats().empty_200 >= 3, "{:?}", s.stats());
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
}

#[tokio::test]
async fn an_item_403_fails_the_invocation_naming_the_missing_privilege_and_dead_letters_nothing_issue_10()
 {
    let s = BulkServer::with_setup(Settings {
        no_auto_configure: true,
        ..Settings::default()
    })
    .await;
    let ns = "noauto";
    let mut sh = support::shipper(&support::connection(&s.url), naming(ns));
    sh.health_docs = false;

    let out = sh
        .ship(support::generate_data(200, 1, 17, &[]), far(), "403")
        .await;

    assert_eq!(out.failed, vec![0]);
    assert_eq!(out.summary.dead_lettered, 0);
    assert_eq!(
        s.stats().bulk_requests,
        1,
        "not retried within the invocation"
    );
    match out.into_result() {
        Err(ShipError::Undelivered { last_error, .. }) => {
            assert!(last_error.contains("`auto_configure`"), "{last_error}");
            assert!(last_error.contains(&words(ns)), "{last_error}");
        }
        other => panic!("expected Undelivered, got {other:?}"),
    }
    assert!(s.all_ids().is_empty());
}

#[tokio::test]
async fn an_item_404_fails_the_invocation_naming_auto_creation_and_setup_in_both_modes_issue_10() {
    for mode in [TargetMode::DataStream, TargetMode::Index] {
        let s = BulkServer::with_defaults().await;
        s.set_auto_create_index(AutoCreate::False);
        let n = Naming {
            mode: mode.clone(),
            ..naming("noauto")
        };
        let out = support::shipper(&support::connection(&s.url), n)
            .ship(support::generate_data(100, 1, 18, &[]), far(), "404")
            .await;
        assert_eq!(out.summary.dead_lettered, 0, "{mode:?}");
        match out.into_result() {
            Err(ShipError::Undelivered { last_error, .. }) => {
                assert!(
                    last_error.contains("action.auto_create_index")
                        && last_error.contains("shipper setup"),
                    "{mode:?}: {last_error}"
                );
            }
            other => panic!("{mode:?}: expected Undelivered, got {other:?}"),
        }
        assert!(s.all_ids().is_empty());
    }
}

#[tokio::test]
async fn an_event_whose_timestamp_no_date_field_holds_is_dead_lettered_not_sent_to_1970_issue_10() {
    let s = BulkServer::with_defaults().await;
    let n = Naming {
        mode: TargetMode::Index,
        ..Naming::default()
    };
    let v = json!({
        "messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": "/aws/lambda/orders",
        "logStream": "s", "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": "ok", "timestamp": 1_795_510_800_000_i64, "message": "fine"},
            {"id": "far", "timestamp": 9_000_000_000_000_000_i64, "message": "year 287 million"},
            {"id": "before", "timestamp": -70_000_000_000_000_i64, "message": "before year 0"},
        ]
    });

    let summary = support::shipper(&support::connection(&s.url), n)
        .ship(
            vec![RawPayload::Bytes(v.to_string().into_bytes())],
            far(),
            "ts",
        )
        .await
        .into_result()
        .unwrap();

    assert_eq!((summary.stats.indexed, summary.dead_lettered), (1, 2));
    let targets = s.targets();
    assert!(targets.iter().all(|t| !t.contains("1970")), "{targets:?}");
    for (id, doc) in s.docs("cloudwatch-deadletter-*") {
        assert_eq!(doc["error"]["type"], "timestamp_out_of_range", "{id}");
    }
    assert_eq!(s.count("cloudwatch-deadletter-*"), 2);
}

#[tokio::test]
async fn each_invocation_writes_its_own_health_document_issue_10() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let ns = "health";
    let sh = support::shipper(&support::connection(&s.url), naming(ns));
    for _ in 0..2 {
        // Lambda's retry of an event keeps its request id.
        sh.ship(
            vec![inner_payload("/aws/lambda/orders", &[("e1", "x")])],
            far(),
            "same-request-id",
        )
        .await
        .into_result()
        .unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(s.count(&format!("logs-shipper.health-{ns}")), 2);
}

#[tokio::test]
async fn without_read_privileges_delivery_goes_on_without_the_checks_issue_10() {
    let s = BulkServer::with_setup(Settings {
        no_read: true,
        ..Settings::default()
    })
    .await;
    let ns = "noread";
    let sh = support::shipper(&support::connection(&s.url), naming(ns));
    let summary = sh
        .ship(support::generate_data(300, 1, 19, &[]), far(), "noread")
        .await
        .into_result()
        .unwrap();
    assert_eq!(summary.stats.indexed, summary.received);
    assert!(sh.rollovers.disabled().unwrap().contains("`read`"));
    assert_eq!(s.stats().reads("settings"), 1, "asked once, then not again");
}
