//! The pure stages: payload (base64 gzip JSON) → decoded → parsed → ECS documents, and
//! separately documents → (gzipped) `_bulk` bodies, for generated 1,000- and 10,000-event
//! batches. End to end (the binary as a Lambda, into a server that does a cluster's work) is
//! `benches/lambda.rs`.
//!
//! `cargo bench -p shipper --bench transform` (batches from scripts/gen_events.py).

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use shipper::decode;
use shipper::document::{Document, Transform};
use shipper::request_builder::{self, Limits};
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

criterion_group!(benches, bench_decode, bench_transform);
criterion_main!(benches);
