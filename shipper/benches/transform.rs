//! The pure stages: payload (base64 gzip JSON) → decoded → parsed → ECS documents, and
//! separately documents → (gzipped) `_bulk` bodies, for generated 1,000- and 10,000-event
//! batches; the delivery loop over loopback HTTP to a server that reads every action and answers
//! each item created; and the replay path, where events older than the write index are looked
//! up first. The whole binary as a Lambda beside the Node blueprint is `benches/lambda.rs`.
//!
//! `cargo bench -p shipper --bench transform` (batches from scripts/gen_events.py).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shipper::decode;
use shipper::document::{Document, Transform};
use shipper::handler::{RawPayload, Shipper};
use shipper::request_builder::{self, Limits};
use shipper::service::{Connection, EsBulkClient, build_client};
use shipper::target::Naming;

fn batch(events: usize) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen_events.py");
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "--events",
            &events.to_string(),
            "--batches",
            "1",
            "--seed",
            "42",
        ])
        .output()
        .expect("python3 gen_events.py");
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("payload JSON");
    v["awslogs"]["data"]
        .as_str()
        .expect("awslogs.data")
        .to_owned()
}

/// The transform stage: payload → decoded → parsed → ECS documents (what the Lambda holds
/// for delivery and retries), through the Lambda's own path with `tf`'s options.
fn documents(data: &str, naming: &Naming, tf: &Transform) -> Vec<Document> {
    let json = decode::inflate_base64(data).expect("inflate");
    let logs = decode::parse_logs_data(&json).expect("parse");
    let mut docs = Vec::with_capacity(logs.log_events.len());
    tf.batch(&logs, naming, Some("ap-northeast-2"), 0, |_, d| {
        docs.push(d)
    });
    docs
}

/// The next stage: documents → `_bulk` request bodies (split by the default limits).
fn bodies(docs: &[Document], gzip: bool) -> usize {
    let idx: Vec<usize> = (0..docs.len()).collect();
    request_builder::split(docs, &idx, Limits::default())
        .into_iter()
        .map(|chunk| request_builder::encode(docs, chunk, gzip).body.len())
        .sum()
}

/// Redaction on: e-mail addresses, IPv4/IPv6 and the default secret-looking keys.
fn redacting() -> Transform {
    let spec = shipper::redact::Spec {
        email: true,
        ip: true,
        mask_keys: true,
        keys: shipper::redact::DEFAULT_KEYS
            .iter()
            .map(|k| (*k).to_owned())
            .collect(),
        patterns: Vec::new(),
    };
    Transform {
        redactor: shipper::redact::Redactor::new(&spec).expect("redactor"),
        ..Transform::default()
    }
}

fn bench_transform(c: &mut Criterion) {
    let naming = Naming::default();
    // Every option off: the path the README's transform figure is for.
    let off = Transform::default();
    let redact = redacting();
    let mut g = c.benchmark_group("transform");
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for events in [1_000usize, 10_000] {
        let data = batch(events);
        let decoded_len = decode::inflate_base64(&data).expect("inflate").len();
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function(format!("{events}_events"), |b| {
            b.iter(|| black_box(documents(black_box(&data), &naming, &off)))
        });
        g.bench_function(format!("{events}_events_redacted"), |b| {
            b.iter(|| black_box(documents(black_box(&data), &naming, &redact)))
        });
        g.throughput(Throughput::Bytes(decoded_len as u64));
        g.bench_function(format!("{events}_events_bytes_of_decoded_json"), |b| {
            b.iter(|| black_box(documents(black_box(&data), &naming, &off)))
        });
        let docs = documents(&data, &naming, &off);
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function(format!("{events}_events_bulk_bodies"), |b| {
            b.iter(|| black_box(bodies(black_box(&docs), false)))
        });
        g.bench_function(format!("{events}_events_bulk_bodies_gzip"), |b| {
            b.iter(|| black_box(bodies(black_box(&docs), true)))
        });
    }
    g.finish();
}

/// The answer of a cluster that creates every document: one item per action line, in order,
/// with the backing index it went to and 201, as `_bulk` answers under the shipper's
/// `filter_path` (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk);
/// the backing index is the write index of [`two_backing_indices`].
/// The server does the work a real one does: inflates the gzipped body and reads each action.
/// (A bare `{"errors":false}` is not an answer the shipper may count as indexed: issue 10.)
fn all_created(body: &[u8], gzipped: bool) -> String {
    use std::io::Read;
    let mut plain = Vec::new();
    let body = if gzipped {
        flate2::read::GzDecoder::new(body)
            .read_to_end(&mut plain)
            .expect("a gzipped _bulk body");
        &plain[..]
    } else {
        body
    };
    let mut out = String::from(r#"{"errors":false,"items":["#);
    let mut first = true;
    let mut lines = body.split(|&b| b == b'\n').filter(|l| !l.is_empty());
    while let Some(action) = lines.next() {
        let v: serde_json::Value = serde_json::from_slice(action).expect("an action line");
        let (op, meta) = v
            .as_object()
            .and_then(|o| o.iter().next())
            .expect("one operation per action");
        let target = meta["_index"].as_str().expect("the action's _index");
        lines.next().expect("a source line after each action");
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&format!(
            r#"{{"{op}":{{"_index":".ds-{target}-2026.11.26-000002","status":201}}}}"#
        ));
    }
    out.push_str("]}");
    out
}

/// The two backing indices of data stream `ds`, the write index created after every generated
/// event (they are from 2026-11-24): the answer to `GET <ds>/_settings/index.creation_date`
/// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-get-settings),
/// which makes every event of a batch one the shipper looks up before sending.
fn two_backing_indices(ds: &str) -> String {
    format!(
        r#"{{".ds-{ds}-2026.11.24-000001":{{"settings":{{"index.creation_date":"1795478400000"}}}},".ds-{ds}-2026.11.26-000002":{{"settings":{{"index.creation_date":"1795651200000"}}}}}}"#
    )
}

/// The answer to the shipper's ids-only `_search`
/// (https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-ids-query) as
/// for a replay of which every other event was stored before: the ids asked for, read from
/// the query, and every second one found in the older backing index.
fn half_found(ds: &str, body: &[u8]) -> String {
    let q: serde_json::Value = serde_json::from_slice(body).expect("a search body");
    let ids = q
        .pointer("/query/ids/values")
        .and_then(serde_json::Value::as_array)
        .expect("an ids query");
    let hits: Vec<serde_json::Value> = ids
        .iter()
        .step_by(2)
        .map(|id| serde_json::json!({"_index": format!(".ds-{ds}-2026.11.24-000001"), "_id": id}))
        .collect();
    serde_json::json!({"hits": {"hits": hits}}).to_string()
}

/// What the loopback cluster answers to one request, by its path: `_bulk`, and the two reads
/// of the rollover checks (write index, ids).
fn answer(path: &str, body: &[u8], gzipped: bool) -> String {
    let ds = path
        .trim_start_matches('/')
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    if path.contains("/_settings/") {
        two_backing_indices(ds)
    } else if path.contains("/_search") {
        half_found(ds, body)
    } else {
        all_created(body, gzipped)
    }
}

/// A loopback cluster: `_bulk` creates every document (see [`all_created`]); a data stream has
/// rolled over after the generated events ([`two_backing_indices`]) and holds every other
/// event a lookup asks for ([`half_found`]).
async fn accept_all_server() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            let _ = s.set_nodelay(true);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 1 << 16];
                let mut pending = Vec::new();
                loop {
                    // Read one request: headers, then Content-Length bytes.
                    let head_end = loop {
                        if let Some(i) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&pending[..head_end]).to_ascii_lowercase();
                    let header = |name: &str| {
                        head.lines()
                            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                    };
                    let len: usize = header("content-length:")
                        .map(|v| v.parse().unwrap_or(0))
                        .unwrap_or(0);
                    let gzipped = header("content-encoding:").as_deref() == Some("gzip");
                    while pending.len() < head_end + len {
                        match s.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => pending.extend_from_slice(&buf[..n]),
                        }
                    }
                    let path = head
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or_default()
                        .to_owned();
                    let body = answer(&path, &pending[head_end..head_end + len], gzipped);
                    pending.drain(..head_end + len);
                    // One write: headers and body in two segments would meet Nagle + delayed ACK.
                    let mut resp = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-elastic-product: Elasticsearch\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    resp.push_str(&body);
                    if s.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn bench_end_to_end(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let url = rt.block_on(accept_all_server());
    let conn = Connection {
        url: Some(url),
        ..Connection::default()
    };
    let client = rt.block_on(async { build_client(&conn) }).expect("client");
    let shipper = Shipper {
        client: Arc::new(EsBulkClient::new(client)),
        naming: Naming::default(),
        region: Some("ap-northeast-2".into()),
        opts: Default::default(),
        health_docs: false,
        function_name: "bench".into(),
        deadline_margin: Duration::ZERO,
        lookup: None,
        rollovers: Default::default(),
        transform: Default::default(),
        firehose_result: shipper::config::FirehoseResult::Ok,
    };
    let mut g = c.benchmark_group("end_to_end_loopback");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for events in [1_000usize, 10_000] {
        let data = batch(events);
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function(format!("{events}_events"), |b| {
            b.iter(|| {
                let out = rt.block_on(shipper.ship(
                    vec![RawPayload::Base64(data.clone())],
                    Instant::now() + Duration::from_secs(30),
                    "bench",
                ));
                assert_eq!(out.summary.stats.indexed as usize, events);
            })
        });
    }
    g.finish();
}

/// The replay path (`shipper ship` of old batches, a dead-letter re-drive, Lambda's late retry):
/// every event is older than the data stream's write index, so each 4,000 are looked up (one
/// ids-only `_search`) before the `_bulk` of those not found. Half are found here. A warm
/// process: the write index is cached after the first iteration, as in one long `ship` run.
fn bench_replay(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let url = rt.block_on(accept_all_server());
    let conn = Connection {
        url: Some(url),
        ..Connection::default()
    };
    let client = rt.block_on(async { build_client(&conn) }).expect("client");
    let shipper = Shipper {
        client: Arc::new(EsBulkClient::new(client.clone())),
        naming: Naming::default(),
        region: Some("ap-northeast-2".into()),
        opts: Default::default(),
        health_docs: false,
        function_name: "bench".into(),
        deadline_margin: Duration::ZERO,
        lookup: Some(Arc::new(shipper::lookup::EsLookup::new(client))),
        rollovers: Default::default(),
        transform: Default::default(),
        firehose_result: shipper::config::FirehoseResult::Ok,
    };
    let mut g = c.benchmark_group("replay_loopback");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for events in [1_000usize, 10_000] {
        let data = batch(events);
        g.throughput(Throughput::Elements(events as u64));
        g.bench_function(format!("{events}_events_half_already_stored"), |b| {
            b.iter(|| {
                let out = rt.block_on(shipper.ship(
                    vec![RawPayload::Base64(data.clone())],
                    Instant::now() + Duration::from_secs(30),
                    "bench",
                ));
                let st = &out.summary.stats;
                assert!(st.lookups > 0, "the replay path looks ids up");
                assert_eq!(st.already_present as usize, events.div_ceil(2));
                assert_eq!((st.indexed + st.already_present) as usize, events);
            })
        });
    }
    g.finish();
}

/// Why `decode` doesn't use `aws_lambda_events::cloudwatch_logs`: that type inflates with a
/// `GzDecoder` and parses with `serde_json::from_reader` into owned strings (and can't take
/// zlib); and why it has its own reader rather than serde_json's `from_slice` (which reads an
/// escaped string twice). Same work here, each way, on the same payload.
fn bench_decode(c: &mut Criterion) {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct OwnedEvent {
        id: String,
        timestamp: i64,
        message: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct OwnedData {
        message_type: String,
        log_group: String,
        log_events: Vec<OwnedEvent>,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct BorrowedEvent<'a> {
        id: &'a str,
        timestamp: i64,
        #[serde(borrow)]
        message: std::borrow::Cow<'a, str>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct BorrowedData<'a> {
        #[serde(borrow)]
        message_type: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        log_group: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        log_events: Vec<BorrowedEvent<'a>>,
    }
    use base64::Engine;
    let data = batch(10_000);
    let mut g = c.benchmark_group("decode_10000_events");
    g.sample_size(20).measurement_time(Duration::from_secs(6));
    g.throughput(Throughput::Elements(10_000));
    g.bench_function("inflate_to_buffer_then_one_pass_reader", |b| {
        b.iter(|| {
            let json = decode::inflate_base64(black_box(&data)).expect("inflate");
            black_box(
                decode::parse_logs_data(&json)
                    .expect("parse")
                    .log_events
                    .len(),
            )
        })
    });
    g.bench_function("inflate_to_buffer_then_serde_from_slice_borrowed", |b| {
        b.iter(|| {
            let json = decode::inflate_base64(black_box(&data)).expect("inflate");
            let d: BorrowedData = serde_json::from_slice(&json).expect("parse");
            black_box(d.log_events.len())
        })
    });
    g.bench_function("gz_decoder_from_reader_owned", |b| {
        b.iter(|| {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(black_box(&data))
                .expect("b64");
            let d: OwnedData =
                serde_json::from_reader(flate2::read::GzDecoder::new(raw.as_slice()))
                    .expect("parse");
            black_box(d.log_events.len())
        })
    });
    g.finish();
}

/// Reading a `_bulk` answer as `filter_path` leaves it: every item created, and a tenth of
/// them refused (409s and 429s, with their error type and reason).
fn bench_answer(c: &mut Criterion) {
    let mut g = c.benchmark_group("bulk_answer");
    g.sample_size(30);
    for refused in [false, true] {
        let items: Vec<String> = (0..5_000)
            .map(|i| match i % 10 {
                0 if refused => r#"{"create":{"_index":".ds-logs-cloudwatch.app-default-2026.11.24-000001","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, document already exists (current version [1])"}}}"#.to_owned(),
                _ => r#"{"create":{"_index":".ds-logs-cloudwatch.app-default-2026.11.24-000001","status":201}}"#.to_owned(),
            })
            .collect();
        let body = format!(r#"{{"errors":{refused},"items":[{}]}}"#, items.join(","));
        g.throughput(Throughput::Elements(5_000));
        let name = if refused {
            "5000_items_a_tenth_refused"
        } else {
            "5000_items_created"
        };
        g.bench_function(name, |b| {
            b.iter(|| {
                black_box(
                    shipper::response::parse(black_box(body.as_bytes()), 5_000).map(|v| v.len()),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_answer,
    bench_decode,
    bench_transform,
    bench_end_to_end,
    bench_replay
);
criterion_main!(benches);
