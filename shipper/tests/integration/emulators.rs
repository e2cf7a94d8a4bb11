//! Real generated batches shipped into the Elasticsearch-API emulator (noida-db, data stream
//! names), the OpenSearch-API emulator (osmem-server, dated-index mode), and — when
//! `ELASTICSEARCH_URL` is set — a real cluster; every document is read back.

use std::time::{Duration, Instant};

use serde_json::json;
use shipper::service::Connection;
use shipper::target::{Naming, TargetMode};

use crate::support::{self, count, es_json};

/// Ships 2 × 1,000 generated events, checks every one is searchable with its ECS fields,
/// then ships the same batches again and checks nothing was duplicated.
async fn ship_read_back_and_reship(conn: &Connection, naming: Naming, pattern: &str) {
    ship_read_back_and_reship_gzip(conn, naming, pattern, true).await;
}

/// [`ship_read_back_and_reship`] with request bodies gzipped or not.
pub async fn ship_read_back_and_reship_gzip(
    conn: &Connection,
    naming: Naming,
    pattern: &str,
    gzip: bool,
) {
    let payloads = support::generate_data(1000, 2, 7, &[]);
    let mut shipper = support::shipper(conn, naming);
    shipper.opts.gzip = gzip;
    let out = shipper
        .ship(
            payloads.clone(),
            Instant::now() + Duration::from_secs(60),
            "it-1",
        )
        .await;
    let received = out.summary.received;
    assert!(out.failed.is_empty() && out.fatal.is_none(), "{out:?}");
    assert_eq!(received, 2000);
    assert_eq!(
        out.summary.stats.indexed, received,
        "{:?} {:?}",
        out.summary, out.last_error
    );
    assert_eq!(count(conn, pattern, None).await, received);

    // Platform REPORT lines are numbers, app JSON lines have their ECS fields.
    let (_, v) = es_json(
        conn,
        reqwest::Method::POST,
        &format!("{pattern}/_search"),
        Some(json!({"size": 1, "query": {"term": {"event.action": "platform.report"}}})),
    )
    .await;
    let hit = &v["hits"]["hits"][0]["_source"];
    assert!(
        hit["aws"]["lambda"]["report"]["duration_ms"].is_number(),
        "{v}"
    );
    assert!(hit["faas"]["execution"].is_string(), "{hit}");
    let with_status = count(
        conn,
        pattern,
        Some(json!({"exists": {"field": "http.response.status_code"}})),
    )
    .await;
    assert!(
        with_status > 500,
        "only {with_status} documents have a status code"
    );

    // Same events again: all 409, nothing new.
    let again = shipper
        .ship(payloads, Instant::now() + Duration::from_secs(60), "it-2")
        .await;
    assert!(again.failed.is_empty(), "{again:?}");
    assert_eq!(
        again.summary.stats.already_present, received,
        "{:?}",
        again.summary
    );
    assert_eq!(again.summary.stats.indexed, 0);
    assert_eq!(count(conn, pattern, None).await, received);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_generated_batches_into_the_elasticsearch_emulator_without_duplicates() {
    let es = support::noida();
    let ns = support::unique_namespace("noida");
    let naming = Naming {
        namespace: ns.clone(),
        ..Naming::default()
    };
    ship_read_back_and_reship(
        &support::connection(es.url()),
        naming,
        &format!("logs-cloudwatch*-{ns}"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_into_dated_indices_on_the_opensearch_emulator() {
    let os = support::osmem();
    let prefix = support::unique_namespace("os");
    let naming = Naming {
        mode: TargetMode::Index,
        index_prefix: prefix.clone(),
        ..Naming::default()
    };
    // `-2*`: the dated log indices only, not `<prefix>-health-*` / `<prefix>-deadletter-*`.
    ship_read_back_and_reship(
        &support::connection(os.url()),
        naming,
        &format!("{prefix}-2*"),
    )
    .await;
}

/// The same test against a real cluster; skipped (with a message) when ELASTICSEARCH_URL is unset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_into_a_real_elasticsearch_when_elasticsearch_url_is_set() {
    let Some(conn) = support::real_elasticsearch() else {
        eprintln!("ELASTICSEARCH_URL is not set: real-cluster test not run");
        return;
    };
    // As a user would: `setup` first, so `app` is `flattened` and every field has its type.
    let es = shipper::service::build_client(&conn).unwrap();
    let mut out = Vec::new();
    shipper::setup::run(
        &es,
        None,
        &shipper::setup::SetupSettings::default(),
        false,
        &mut out,
    )
    .await
    .unwrap_or_else(|e| panic!("setup failed: {e}\n{}", String::from_utf8_lossy(&out)));
    let ns = support::unique_namespace("real");
    let naming = Naming {
        namespace: ns.clone(),
        ..Naming::default()
    };
    ship_read_back_and_reship(&conn, naming, &format!("logs-cloudwatch*-{ns}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_payload_is_dead_lettered_raw_in_the_emulator() {
    let es = support::noida();
    let conn = support::connection(es.url());
    let ns = support::unique_namespace("dl");
    let shipper = support::shipper(
        &conn,
        Naming {
            namespace: ns.clone(),
            ..Naming::default()
        },
    );
    let out = shipper
        .ship(
            vec![shipper::handler::RawPayload::Base64("bm90IGd6aXA=".into())],
            Instant::now() + Duration::from_secs(30),
            "it-3",
        )
        .await;
    assert!(out.failed.is_empty(), "{out:?}");
    assert_eq!(out.summary.undecodable, 1);
    assert_eq!(out.summary.dead_lettered, 1);
    let dl = format!("logs-shipper.deadletter-{ns}");
    assert_eq!(count(&conn, &dl, None).await, 1);
    let (_, v) = es_json(
        &conn,
        reqwest::Method::POST,
        &format!("{dl}/_search"),
        Some(json!({"size": 1})),
    )
    .await;
    let src = &v["hits"]["hits"][0]["_source"];
    assert_eq!(src["error"]["type"], "undecodable_payload");
    // The raw payload is kept, base64 of exactly what arrived ("not gzip").
    assert_eq!(src["deadletter"]["payload"], "bm90IGd6aXA=");
}
