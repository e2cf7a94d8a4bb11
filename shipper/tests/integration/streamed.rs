//! Issue 15: the first round of a delivery is streamed. A request leaves as soon as its piece of
//! the batch is built, and the next piece is built while the cluster indexes it (a Lambda pays
//! for the time it waits). Every event is still indexed once, and a stop loses none.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use shipper::deliver::{self, Dedup, Source};
use shipper::document::{Document, Transform};
use shipper::request_builder::BulkRequest;
use shipper::service::{BulkClient, HttpReply, TransportError};

use crate::bulk_server::{BulkServer, Settings};
use crate::faults::{far, log_docs, naming, requiring_password, with_password};
use crate::support;

/// Every document of `events` generated events, built up front; handed out as asked.
fn documents(events: usize, seed: u64) -> Vec<Document> {
    let naming = naming("streamed");
    let mut docs = Vec::new();
    for p in support::generate_data(events, 1, seed, &[]) {
        let shipper::handler::RawPayload::Base64(b64) = p else {
            panic!("generated payloads are base64");
        };
        let json = shipper::decode::inflate_base64(&b64).unwrap();
        for data in shipper::decode::parse_logs_data_all(&json).unwrap() {
            Transform::default().batch(&data, &naming, None, 0, |_, d| docs.push(d));
        }
    }
    docs
}

/// A source that counts what it has handed out, so a request can say how far building was.
struct Handout {
    docs: std::vec::IntoIter<Document>,
    built: Arc<AtomicUsize>,
}

impl Source for Handout {
    fn fill(&mut self, docs: &mut Vec<Document>, events: usize) -> bool {
        for d in self.docs.by_ref().take(events) {
            docs.push(d);
            self.built.fetch_add(1, Ordering::SeqCst);
        }
        self.docs.len() > 0
    }
}

/// The real client, noting how many documents were built when each request left.
struct Watching {
    inner: Arc<dyn BulkClient>,
    built: Arc<AtomicUsize>,
    at_send: std::sync::Mutex<Vec<(usize, usize)>>,
}

#[async_trait]
impl BulkClient for Watching {
    async fn bulk(
        &self,
        req: &BulkRequest,
        timeout: Duration,
    ) -> Result<HttpReply, TransportError> {
        let built = self.built.load(Ordering::SeqCst);
        self.at_send.lock().unwrap().push((built, req.items.len()));
        self.inner.bulk(req, timeout).await
    }
}

#[tokio::test]
async fn the_first_request_leaves_before_the_batch_is_built_and_every_event_is_indexed_once_issue_15()
 {
    let s = BulkServer::with_setup(Settings::default()).await;
    let sh = support::shipper(&support::connection(&s.url), naming("streamed"));
    let all = documents(3000, 7);
    let total = all.len();
    let built = Arc::new(AtomicUsize::new(0));
    let client = Watching {
        inner: sh.client.clone(),
        built: built.clone(),
        at_send: Default::default(),
    };
    let sink = deliver::Sink {
        client: &client,
        ..sh.sink()
    };
    let mut docs = Vec::new();
    let source = Handout {
        docs: all.into_iter(),
        built,
    };
    let d = deliver::deliver_streamed(
        &sink,
        &mut docs,
        source,
        &sh.opts,
        &Dedup::DataStream,
        far(),
    )
    .await;

    assert_eq!(d.stats.indexed as usize, total, "{d:?}");
    assert!(d.undelivered.is_empty() && d.rejected.is_empty());
    assert_eq!(docs.len(), total);
    let at_send = client.at_send.lock().unwrap().clone();
    // The first piece left with most of the batch still to build; each later one was built
    // while the one before it was in flight.
    assert!(at_send.len() > 2, "{at_send:?}");
    assert!(at_send[0].0 < total / 4, "{at_send:?}");
    assert!(at_send.iter().all(|(b, _)| *b <= total));
    assert_eq!(at_send.iter().map(|(_, n)| n).sum::<usize>(), total);
    assert_eq!(log_docs(&s), total);
    assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
}

#[tokio::test]
async fn a_stop_on_the_first_piece_counts_every_event_built_or_not_as_undelivered_issue_15() {
    // The shipper's password is wrong: 401 on the first request, and retrying can't help.
    let s = requiring_password("right").await;
    let sh = support::shipper(&with_password(&s.url, "wrong"), naming("stopped"));
    let all = documents(2000, 8);
    let total = all.len();
    let mut docs = Vec::new();
    let source = Handout {
        docs: all.into_iter(),
        built: Default::default(),
    };
    let d = deliver::deliver_streamed(
        &sh.sink(),
        &mut docs,
        source,
        &sh.opts,
        &Dedup::Create,
        far(),
    )
    .await;

    assert!(
        d.fatal.as_deref().is_some_and(|f| f.contains("401")),
        "{:?}",
        d.fatal
    );
    assert_eq!(docs.len(), total, "the rest was built to be counted");
    let mut undelivered = d.undelivered.clone();
    undelivered.sort_unstable();
    undelivered.dedup();
    assert_eq!(undelivered, (0..total).collect::<Vec<_>>());
    assert_eq!(d.stats.indexed, 0);
    assert_eq!(d.stats.requests, 1, "nothing sent after the 401");
}

/// `shipper ship` of a file of `payloads` generated payloads of `events` events each, with
/// `--concurrency concurrency` (and `env`), against `s`: (exit code, stderr).
async fn ship_file(
    s: &BulkServer,
    name: &str,
    payloads: usize,
    events: usize,
    concurrency: usize,
    env: &[(&str, &str)],
) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("shipper-{name}-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("batches.jsonl");
    std::fs::write(
        &file,
        support::generate(events, payloads, 51, &[]).join("\n"),
    )
    .unwrap();
    let mut cmd = crate::cli::shipper();
    cmd.args(["ship", "--url", &s.url, "--concurrency"])
        .arg(concurrency.to_string())
        .arg(&file)
        .env("SHIPPER_NAMESPACE", name)
        .envs(env.iter().copied());
    let out = tokio::process::Command::from(cmd).output().await.unwrap();
    let _ = std::fs::remove_dir_all(dir);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every answer 200 ms late, so the batches `ship` started overlap in the server.
fn slow_server() -> Settings {
    Settings {
        faults: crate::bulk_server::Faults {
            slow_rate: 1.0,
            slow: Duration::from_millis(200),
            ..Default::default()
        },
        ..Settings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ship_keeps_as_many_batches_in_flight_as_its_concurrency_and_each_event_lands_once_issue_15()
 {
    // 48 payloads of 20 events: six batches of eight payloads, one request each.
    for concurrency in [1, 3] {
        let s = BulkServer::with_setup(slow_server()).await;
        let (code, err) = ship_file(&s, "concurrent", 48, 20, concurrency, &[]).await;

        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("done: 960 events"), "{err}");
        assert!(err.contains("payloads 48/48"), "progress line: {err}");
        assert_eq!(s.stats().max_bulk_in_flight, concurrency, "{err}");
        assert_eq!(log_docs(&s), 960);
        assert!(s.duplicates().is_empty(), "{:?}", s.duplicates());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_batch_stops_ship_starting_more_and_the_batches_in_flight_are_counted_issue_15() {
    // The password is wrong: every request is answered 401, which no retry mends.
    let s = requiring_password("right").await;
    let auth = [
        ("ELASTICSEARCH_USERNAME", "elastic"),
        ("ELASTICSEARCH_PASSWORD", "wrong"),
    ];
    let (code, err) = ship_file(&s, "stopping", 48, 20, 3, &auth).await;

    assert_eq!(code, Some(1), "{err}");
    // The three batches started before the first answer all end (eight payloads each), and
    // none starts after it.
    assert!(err.contains("stopped after 24 of 48 payloads"), "{err}");
    assert!(err.contains("HTTP 401"), "{err}");
    assert_eq!(log_docs(&s), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_cut_short_ships_the_events_before_the_cut_and_dead_letters_the_payload_raw_issue_15()
 {
    // A 3,000-event payload whose JSON ends after its 2,000th event, as a truncated copy would.
    let Some(shipper::handler::RawPayload::Base64(b64)) =
        support::generate_data(3000, 1, 61, &[]).pop()
    else {
        panic!("one generated payload");
    };
    let json = shipper::decode::inflate_base64(&b64).unwrap();
    let events: Vec<usize> = json
        .windows(7)
        .enumerate()
        .filter(|(_, w)| *w == b"},{\"id\"")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(events.len(), 2999, "the generator's spelling changed");
    let cut = json[..events[1999] + 2].to_vec();
    let s = BulkServer::with_setup(Settings::default()).await;
    let sh = support::shipper(&support::connection(&s.url), naming("cut"));

    let out = sh
        .ship(
            vec![shipper::handler::RawPayload::Bytes(cut.clone())],
            far(),
            "cut-1",
        )
        .await;

    // Read as the pieces needed them, the first 2,000 events were shipped before the cut
    // was reached; the payload as it arrived is in the dead letter, so nothing is lost.
    assert!(out.failed.is_empty(), "{out:?}");
    assert_eq!(out.summary.received, 2000);
    assert_eq!(out.summary.undecodable, 1);
    assert_eq!(out.summary.stats.indexed, 2000);
    assert_eq!(out.summary.dead_lettered, 1);
    assert_eq!(log_docs(&s), 2000);
    let dl = s.docs("logs-shipper.deadletter-cut");
    assert_eq!(dl.len(), 1, "{dl:?}");
    let src = &dl[0].1;
    assert_eq!(src["error"]["type"], "undecodable_payload");
    let why = src["error"]["message"].as_str().unwrap_or_default();
    assert!(why.contains("a log event must be an object"), "{why}");
    use base64::Engine;
    let kept = base64::engine::general_purpose::STANDARD
        .decode(src["deadletter"]["payload"].as_str().unwrap_or_default())
        .unwrap();
    assert_eq!(kept, cut);
    let summary = out
        .into_result()
        .expect("nothing lost: the payload is dead-lettered");
    assert_eq!(summary.undelivered, 0);
}
