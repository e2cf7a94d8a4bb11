//! Lambda events (CloudWatch Logs subscription, Kinesis) → decode → documents → delivery.

use std::sync::Arc;
use std::time::Instant;

use aws_lambda_events::event::kinesis::KinesisEventRecord;
use aws_lambda_events::event::streams::{KinesisBatchItemFailure, KinesisEventResponse};
use base64::Engine;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use crate::config::FirehoseResult;
use crate::dead_letter;
use crate::decode::{self, DecodeError, LinesOrigin, LogsData};
use crate::deliver::{self, Dedup, DeliverOptions, Rejected, Sink};
use crate::document::{Document, Transform};
use crate::metrics::{self, Summary};
use crate::rollover::{IdLookup, Rollovers};
use crate::service::BulkClient;
use crate::target::{Naming, TargetMode};

/// One subscription payload as it arrived.
#[derive(Debug, Clone)]
pub enum RawPayload {
    /// `awslogs.data`: base64 of gzip/zlib JSON.
    Base64(String),
    /// Already-decoded bytes: a Kinesis record's data (gzip JSON), or plain inner JSON.
    Bytes(Vec<u8>),
    /// A Firehose record's `data` (base64): a subscription payload, or else log lines
    /// written to the stream directly, shipped as events of `origin`.
    Firehose { data: String, origin: LinesOrigin },
}

impl RawPayload {
    /// Its size as it arrived (still base64 / compressed).
    pub fn encoded_len(&self) -> usize {
        match self {
            RawPayload::Base64(s) => s.len(),
            RawPayload::Bytes(b) => b.len(),
            RawPayload::Firehose { data, .. } => data.len(),
        }
    }
}

/// The Lambda event: a subscription payload, a Kinesis batch or a Firehose transformation.
/// Deserialized once into whichever keys are present, without buffering the other shapes.
#[derive(Debug, Deserialize)]
pub struct Invocation {
    #[serde(default)]
    pub awslogs: Option<AwsLogs>,
    #[serde(rename = "Records", default)]
    pub records: Option<Vec<KinesisEventRecord>>,
    /// Amazon Data Firehose's data-transformation event (`invocationId`, `deliveryStreamArn`,
    /// `records[].recordId/data`:
    /// https://docs.aws.amazon.com/firehose/latest/dev/data-transformation.html).
    #[serde(rename = "records", default)]
    pub firehose_records: Option<Vec<FirehoseRecord>>,
    #[serde(rename = "deliveryStreamArn", default)]
    pub delivery_stream_arn: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct AwsLogs {
    pub data: String,
}

/// One record of a Firehose transformation event. From CloudWatch Logs, `data` is base64 of
/// the gzipped subscription payload (the same bytes as `awslogs.data` decodes to), or of its
/// JSON when the stream decompresses.
#[derive(Debug, Clone, Deserialize)]
pub struct FirehoseRecord {
    #[serde(rename = "recordId")]
    pub record_id: String,
    pub data: String,
    /// ms since the epoch.
    #[serde(rename = "approximateArrivalTimestamp", default)]
    pub approximate_arrival_timestamp: Option<f64>,
}

/// The answer Firehose requires: every record id back, with `Ok`, `Dropped` or
/// `ProcessingFailed` and base64 `data`
/// (https://docs.aws.amazon.com/firehose/latest/dev/data-transformation-status-model.html).
#[derive(Debug, Serialize, PartialEq)]
pub struct FirehoseResponse {
    pub records: Vec<FirehoseResponseRecord>,
}

#[derive(Debug, Serialize, PartialEq)]
pub struct FirehoseResponseRecord {
    #[serde(rename = "recordId")]
    pub record_id: String,
    pub result: &'static str,
    pub data: String,
}

/// The Lambda's answer: `{}` for a subscription, the partial-failure report for Kinesis, the
/// per-record results for Firehose.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Answer {
    Kinesis(KinesisEventResponse),
    Firehose(FirehoseResponse),
    Done(Summary),
}

impl Serialize for Summary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde_json::json!({
            "received": self.received,
            "indexed": self.stats.indexed,
            "already_present": self.stats.already_present,
            "retried": self.stats.retried,
            "dead_lettered": self.dead_lettered,
            "dropped": self.dropped,
            "redacted": self.redacted,
            "control_messages": self.control_messages,
        })
        .serialize(s)
    }
}

/// Why an invocation could not finish. Lambda retries the whole event (async invocations
/// twice, then the on-failure destination); fixed `_id`s make that re-delivery safe.
#[derive(Debug, thiserror::Error)]
pub enum ShipError {
    #[error("{undelivered} of {received} events not delivered before the deadline: {last_error}")]
    Undelivered {
        undelivered: usize,
        received: u64,
        last_error: String,
    },
    /// Retrying cannot help until someone changes something (credentials, a certificate).
    #[error("delivery stopped, retrying cannot help: {0}")]
    Fatal(String),
    #[error(
        "event is neither a CloudWatch Logs subscription payload, a Kinesis batch nor a Firehose transformation"
    )]
    UnknownEvent,
}

impl From<ShipError> for Diagnostic {
    fn from(e: ShipError) -> Diagnostic {
        let error_type = match e {
            ShipError::Undelivered { .. } => "Shipper.Retryable",
            ShipError::Fatal(_) => "Shipper.Fatal",
            ShipError::UnknownEvent => "Shipper.UnknownEvent",
        };
        Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// Everything an invocation needs, built once per Lambda process.
pub struct Shipper {
    pub client: Arc<dyn BulkClient>,
    pub naming: Naming,
    pub region: Option<String>,
    pub opts: DeliverOptions,
    pub health_docs: bool,
    pub function_name: String,
    /// Retries stop this long before the Lambda deadline, leaving time to answer.
    pub deadline_margin: std::time::Duration,
    /// Routing rules, filters and redaction (all off by default).
    pub transform: Transform,
    /// What a Firehose transformation answers for the records it delivered.
    pub firehose_result: FirehoseResult,
    /// Cluster lookups for the rollover checks (`None`: none are made).
    pub lookup: Option<Arc<dyn IdLookup>>,
    /// What is known of each data stream's write index, kept across invocations.
    pub rollovers: Arc<Rollovers>,
}

/// The outcome of shipping a set of payloads.
#[derive(Debug, Default)]
pub struct Outcome {
    pub summary: Summary,
    /// Payloads (by position) not fully delivered.
    pub failed: Vec<usize>,
    pub fatal: Option<String>,
    pub last_error: Option<String>,
    pub undelivered: usize,
}

impl Outcome {
    pub fn into_result(self) -> Result<Summary, ShipError> {
        if let Some(f) = self.fatal {
            return Err(ShipError::Fatal(f));
        }
        if !self.failed.is_empty() {
            return Err(ShipError::Undelivered {
                undelivered: self.undelivered,
                received: self.summary.received,
                last_error: self.last_error.unwrap_or_else(|| "out of time".into()),
            });
        }
        Ok(self.summary)
    }
}

/// A payload after decoding began: its envelopes (borrowing the inflated buffer; one, but a
/// Firehose S3 object holds several back to back), read as the pieces need their events, or
/// why it could not be read at all.
enum Decoded<'a> {
    Data {
        /// The envelopes read so far, control messages included (their events are skipped).
        all: Vec<LogsData<'a>>,
        /// The rest of the payload, until it is read.
        more: Option<decode::Envelopes<'a>>,
        /// Why the rest could not be read: the events before that are shipped, the payload
        /// dead-lettered raw.
        failed: Option<String>,
    },
    Bad {
        raw: Vec<u8>,
        reason: String,
    },
}

impl Decoded<'_> {
    /// Envelopes that are all control messages: nothing to ship, counted as such.
    fn is_control(&self) -> bool {
        matches!(self, Decoded::Data { all, failed: None, .. }
            if !all.is_empty() && all.iter().all(LogsData::is_control_message))
    }
}

/// A payload that failed to decode: the bytes as they arrived (for the dead letter) and why.
type Undecodable = (Vec<u8>, DecodeError);

/// A payload's inflated bytes, or why there are none.
type Inflated = Result<Vec<u8>, Undecodable>;

/// base64 → compressed bytes; an error keeps the original text for the dead letter.
fn to_bytes(p: RawPayload) -> Result<Vec<u8>, Undecodable> {
    match p {
        RawPayload::Bytes(b) => Ok(b),
        RawPayload::Base64(s) | RawPayload::Firehose { data: s, .. } => {
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| (s.into_bytes(), DecodeError::Base64(e)))
        }
    }
}

/// The events of decoded payloads, read and turned into documents on demand
/// ([`deliver::Source`]).
struct Events<'s, 'd> {
    shipper: &'s Shipper,
    decoded: &'s mut [Decoded<'d>],
    now_ms: i64,
    /// The next event: (payload, envelope in it, event in that).
    at: (usize, usize, usize),
    /// Where each document came from.
    origin: Vec<(usize, usize, usize)>,
    refused_here: Vec<(Document, (usize, usize, usize))>,
    dropped: u64,
    redacted: u64,
}

impl Events<'_, '_> {
    /// Moves `at` to the next event to ship, reading up to `want` more events of its payload
    /// when every event read so far is spent; false when no event is left.
    fn advance(&mut self, want: usize) -> bool {
        loop {
            let (pi, di, ei) = self.at;
            let Some(d) = self.decoded.get_mut(pi) else {
                return false;
            };
            let Decoded::Data { all, more, failed } = d else {
                self.at = (pi + 1, 0, 0);
                continue;
            };
            if let Some(data) = all.get(di) {
                if data.is_control_message() || ei >= data.log_events.len() {
                    if di + 1 < all.len() {
                        self.at = (pi, di + 1, 0);
                        continue;
                    }
                } else {
                    return true;
                }
            }
            match more.as_mut().map(|m| m.read(all, want.max(1))) {
                Some(Ok(true)) => {}
                Some(Ok(false)) => *more = None,
                Some(Err(e)) => {
                    *more = None;
                    *failed = Some(e.to_string());
                }
                None => self.at = (pi + 1, 0, 0),
            }
        }
    }
}

impl deliver::Source for &mut Events<'_, '_> {
    fn fill(&mut self, docs: &mut Vec<Document>, events: usize) -> bool {
        let mut left = events;
        while left > 0 {
            if !self.advance(left) {
                return false;
            }
            let (pi, di, ei) = self.at;
            let Some(Decoded::Data { all, .. }) = self.decoded.get(pi) else {
                return false;
            };
            let Some(data) = all.get(di) else {
                return false;
            };
            let end = data.log_events.len().min(ei.saturating_add(left));
            let (origin, refused_here) = (&mut self.origin, &mut self.refused_here);
            let s = self.shipper;
            let counts = s.transform.batch_range(
                data,
                ei..end,
                &s.naming,
                s.region.as_deref(),
                self.now_ms,
                |ei, doc| {
                    if timestamp_in_range(doc.timestamp_ms) {
                        docs.push(doc);
                        origin.push((pi, di, ei));
                    } else {
                        refused_here.push((doc, (pi, di, ei)));
                    }
                },
            );
            self.dropped += counts.dropped;
            self.redacted += counts.redacted;
            left -= end - ei;
            self.at = (pi, di, end);
        }
        self.advance(1)
    }
}

impl Shipper {
    /// Ships every payload; returns per-payload failures (for Kinesis) and the counts.
    pub async fn ship(
        &self,
        payloads: Vec<RawPayload>,
        stop_at: Instant,
        execution: &str,
    ) -> Outcome {
        let now_ms = chrono::Utc::now().timestamp_millis();
        // Stage 1: inflate every payload into an owned buffer.
        let (inflated, origins): (Vec<Inflated>, Vec<Option<LinesOrigin>>) = payloads
            .into_iter()
            .map(|p| {
                let origin = match &p {
                    RawPayload::Firehose { origin, .. } => Some(origin.clone()),
                    _ => None,
                };
                let bytes =
                    to_bytes(p).and_then(|bytes| decode::inflate(&bytes).map_err(|e| (bytes, e)));
                (bytes, origin)
            })
            .unzip();
        // Stage 2: begin reading each payload, borrowing from the buffers: its first
        // envelope's members up to the events, which are read as the pieces need them. A
        // Firehose record that holds no envelope is log lines written to the stream directly.
        let mut decoded: Vec<Decoded<'_>> = inflated
            .iter()
            .zip(&origins)
            .map(|(r, origin)| {
                let (bytes, reason) = match r {
                    Ok(json) => {
                        let begun = decode::envelopes(json).and_then(|mut more| {
                            let mut all = Vec::new();
                            let left = more.read(&mut all, 0)?;
                            Ok((all, left.then_some(more)))
                        });
                        match begun {
                            Ok((all, more)) => {
                                return Decoded::Data {
                                    all,
                                    more,
                                    failed: None,
                                };
                            }
                            Err(e) => (json, e.to_string()),
                        }
                    }
                    Err((raw, e)) => (raw, e.to_string()),
                };
                match origin.as_ref().and_then(|o| decode::lines_batch(bytes, o)) {
                    Some(lines) => Decoded::Data {
                        all: vec![lines],
                        more: None,
                        failed: None,
                    },
                    None => Decoded::Bad {
                        raw: bytes.clone(),
                        reason,
                    },
                }
            })
            .collect();

        let mut out = Outcome::default();
        // Stages 3 and 4: documents, built a piece at a time while the pieces before are in
        // flight, remembering where each came from. An event whose timestamp no date field
        // can hold is refused here, not sent to a made-up index.
        let sink = self.sink();
        let dedup = match self.naming.mode {
            TargetMode::DataStream => Dedup::DataStream,
            TargetMode::Index => Dedup::Create,
        };
        let mut docs: Vec<Document> = Vec::new();
        let mut events = Events {
            shipper: self,
            decoded: &mut decoded,
            now_ms,
            at: (0, 0, 0),
            origin: Vec::new(),
            refused_here: Vec::new(),
            dropped: 0,
            redacted: 0,
        };
        let first =
            deliver::deliver_streamed(&sink, &mut docs, &mut events, &self.opts, &dedup, stop_at)
                .await;
        let Events {
            origin,
            refused_here,
            dropped,
            redacted,
            ..
        } = events;
        out.summary.dropped += dropped;
        out.summary.redacted += redacted;
        // Every payload is read to its end (or its error) by now: delivery builds every
        // event, even after a stop, to count it.
        for d in &decoded {
            match d {
                _ if d.is_control() => out.summary.control_messages += 1,
                Decoded::Data { all, failed, .. } => {
                    out.summary.received += all
                        .iter()
                        .filter(|d| !d.is_control_message())
                        .map(|d| d.log_events.len() as u64)
                        .sum::<u64>();
                    if failed.is_some() {
                        out.summary.undecodable += 1;
                    }
                }
                Decoded::Bad { .. } => out.summary.undecodable += 1,
            }
        }
        out.summary.stats.add(&first.stats);
        let mut failed = vec![false; decoded.len()];
        for &i in &first.undelivered {
            failed[origin[i].0] = true;
        }
        out.undelivered += first.undelivered.len();
        out.fatal = first.fatal.clone();
        out.last_error = first.misconfigured.clone().or(first.last_error.clone());

        // Stage 5: dead letters for refused events and undecodable payloads.
        let mut dl_docs = Vec::new();
        let mut dl_origin = Vec::new();
        let refused = first
            .rejected
            .iter()
            .map(|r| (&docs[r.doc], origin[r.doc], r.clone()))
            .chain(refused_here.iter().map(|(doc, o)| {
                let why = Rejected {
                    doc: 0,
                    status: 0,
                    error_type: "timestamp_out_of_range".into(),
                    reason: format!(
                        "timestamp {} ms is outside 0000-01-01..9999-12-31, which Elasticsearch date fields hold",
                        doc.timestamp_ms
                    ),
                };
                (doc, *o, why)
            }));
        for (doc, (pi, di, ei), r) in refused {
            if let Decoded::Data { all, .. } = &decoded[pi] {
                let data = &all[di];
                warn!(
                    aws.cloudwatch.log_group = %data.log_group,
                    event.id = %data.log_events[ei].id,
                    error.type = %r.error_type,
                    error.message = %r.reason,
                    "event refused; dead-lettering it"
                );
                dl_docs.push(dead_letter::for_rejected(
                    data,
                    &data.log_events[ei],
                    doc,
                    &r,
                    &self.naming,
                    now_ms,
                ));
                dl_origin.push(pi);
            }
        }
        for (pi, d) in decoded.iter().enumerate() {
            let (raw, reason) = match d {
                Decoded::Bad { raw, reason } => (&raw[..], reason),
                // Read partly: what the events before the error became is in the cluster;
                // the whole payload goes to the dead letter, and a re-drive of it finds them
                // already present.
                Decoded::Data {
                    failed: Some(reason),
                    ..
                } => match &inflated[pi] {
                    Ok(json) => (&json[..], reason),
                    Err((raw, _)) => (&raw[..], reason),
                },
                _ => continue,
            };
            {
                error!(error.type = "undecodable_payload", error.message = %reason, bytes = raw.len(), "payload could not be decoded; dead-lettering it raw");
                dl_docs.push(dead_letter::for_undecodable(
                    raw,
                    "subscription payload",
                    reason,
                    &self.naming,
                    now_ms,
                ));
                dl_origin.push(pi);
            }
        }
        drop(docs);
        if !dl_docs.is_empty() {
            if out.fatal.is_some() {
                for &pi in &dl_origin {
                    failed[pi] = true;
                }
            } else {
                // Looked up first: the same event may have been dead-lettered before, on
                // another day or before the dead-letter stream rolled over.
                let dedup = Dedup::Always {
                    search: dead_letter::search_target(&self.naming),
                };
                let dl = deliver::deliver(&sink, &dl_docs, &self.opts, &dedup, stop_at).await;
                out.summary.stats.requests += dl.stats.requests;
                out.summary.stats.bytes_sent += dl.stats.bytes_sent;
                out.summary.stats.bulk_latency += dl.stats.bulk_latency;
                out.summary.stats.retried += dl.stats.retried;
                out.summary.stats.lookups += dl.stats.lookups;
                out.summary.stats.duplicates_removed += dl.stats.duplicates_removed;
                out.summary.dead_lettered = dl.stats.indexed + dl.stats.already_present;
                for &i in dl
                    .undelivered
                    .iter()
                    .chain(dl.rejected.iter().map(|r| &r.doc))
                {
                    failed[dl_origin[i]] = true;
                }
                for r in &dl.rejected {
                    error!(error.type = %r.error_type, error.message = %r.reason, "the dead-letter stream refused a record");
                    out.last_error = Some(format!(
                        "dead-letter stream refused a record: {}: {}",
                        r.error_type, r.reason
                    ));
                }
                out.undelivered += dl.undelivered.len() + dl.rejected.len();
                if out.fatal.is_none() {
                    out.fatal = dl.fatal;
                }
                if let Some(m) = dl.misconfigured {
                    out.last_error = Some(m);
                } else if dl.last_error.is_some() && out.last_error.is_none() {
                    out.last_error = dl.last_error;
                }
            }
        }
        out.failed = failed
            .iter()
            .enumerate()
            .filter(|(_, f)| **f)
            .map(|(i, _)| i)
            .collect();
        out.summary.undelivered = out.undelivered as u64;

        // Stage 6: report. The health document is best effort: it must never fail the batch.
        if self.health_docs
            && out.fatal.is_none()
            && (out.summary.received > 0 || out.summary.undecodable > 0)
        {
            // One per invocation attempt: Lambda's retries of an event keep its request id.
            let id = format!("{execution}-{now_ms}");
            self.write_health(&out.summary, execution, &id, stop_at)
                .await;
        }
        out
    }

    /// Where documents go, for [`deliver::deliver`].
    pub fn sink(&self) -> Sink<'_> {
        Sink {
            client: self.client.as_ref(),
            lookup: self.lookup.as_deref(),
            rollovers: &self.rollovers,
        }
    }

    /// Indexes one health document (`id` unique per run or invocation); best effort.
    pub async fn write_health(
        &self,
        summary: &Summary,
        execution: &str,
        id: &str,
        stop_at: Instant,
    ) {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let h = metrics::health_doc(
            summary,
            execution,
            id,
            self.region.as_deref(),
            &self.naming,
            now_ms,
        );
        let r = deliver::deliver(
            &self.sink(),
            std::slice::from_ref(&h),
            &self.opts,
            &Dedup::Create,
            stop_at,
        )
        .await;
        if !r.undelivered.is_empty() || !r.rejected.is_empty() {
            warn!("health document not indexed");
        }
    }
}

/// 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999Z: what `strict_date_optional_time`
/// (the shipper's `@timestamp`) and the dated index names can hold. CloudWatch itself only
/// takes events from 14 days ago to 2 hours ahead, so anything outside is a corrupt or
/// hand-made payload.
pub fn timestamp_in_range(ms: i64) -> bool {
    (-62_167_219_200_000..253_402_300_800_000).contains(&ms)
}

/// Where a Firehose record's lines come from, when it holds no envelope: the stream's name
/// (from `arn:aws:firehose:<region>:<account>:deliverystream/<name>`) stands for the log group.
pub fn firehose_origin(arn: &str, record_id: &str, arrival_ms: Option<f64>) -> LinesOrigin {
    LinesOrigin {
        id: record_id.to_owned(),
        timestamp_ms: arrival_ms.map_or(0, |t| t.round() as i64),
        log_group: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
        owner: arn.split(':').nth(4).unwrap_or_default().to_owned(),
    }
}

/// Every record back with `result` and its `data` unchanged: `Ok` puts it in the stream's
/// destination as it arrived (a raw copy `shipper ship` can replay), `Dropped` keeps it out.
pub fn firehose_response(records: Vec<FirehoseRecord>, result: FirehoseResult) -> FirehoseResponse {
    let result = match result {
        FirehoseResult::Ok => "Ok",
        FirehoseResult::Dropped => "Dropped",
    };
    FirehoseResponse {
        records: records
            .into_iter()
            .map(|r| FirehoseResponseRecord {
                record_id: r.record_id,
                result,
                data: r.data,
            })
            .collect(),
    }
}

/// 2020-01-01T00:00:00Z: any real Lambda deadline is later than this.
const EPOCH_2020_MS: i64 = 1_577_836_800_000;

/// The Lambda handler: one invocation.
pub async fn handle(
    shipper: &Shipper,
    event: LambdaEvent<Invocation>,
) -> Result<Answer, ShipError> {
    let started = Instant::now();
    // Lambda's deadline is wall-clock ms; turn it into a monotonic instant minus the margin.
    // `cargo lambda watch` sends a relative 600000 instead: taken as "that many ms from now"
    // rather than a deadline in 1970 that would fail every event at once.
    let deadline_ms = event.context.deadline as i64;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let left_ms = if deadline_ms < EPOCH_2020_MS {
        deadline_ms.max(0) as u64
    } else {
        (deadline_ms - now_ms).max(0) as u64
    };
    let stop_at =
        started + std::time::Duration::from_millis(left_ms).saturating_sub(shipper.deadline_margin);
    let execution = event.context.request_id.clone();
    let inv = event.payload;
    let mut firehose = None;
    let (payloads, seqs) = if let Some(a) = inv.awslogs {
        (vec![RawPayload::Base64(a.data)], None)
    } else if let Some(records) = inv.records {
        let seqs: Vec<String> = records
            .iter()
            .map(|r| r.kinesis.sequence_number.clone())
            .collect();
        let p = records
            .into_iter()
            .map(|r| RawPayload::Bytes(r.kinesis.data.0))
            .collect();
        (p, Some(seqs))
    } else if let (Some(records), Some(arn)) = (inv.firehose_records, inv.delivery_stream_arn) {
        let p = records
            .iter()
            .map(|r| RawPayload::Firehose {
                data: r.data.clone(),
                origin: firehose_origin(
                    &arn,
                    &r.record_id,
                    r.approximate_arrival_timestamp.or(Some(now_ms as f64)),
                ),
            })
            .collect();
        firehose = Some(records);
        (p, None)
    } else {
        return Err(ShipError::UnknownEvent);
    };
    let outcome = shipper.ship(payloads, stop_at, &execution).await;
    println!(
        "{}",
        metrics::emf_line(
            &outcome.summary,
            &shipper.function_name,
            chrono::Utc::now().timestamp_millis()
        )
    );
    let s = &outcome.summary;
    info!(
        faas.execution = %execution,
        received = s.received, indexed = s.stats.indexed, already_present = s.stats.already_present,
        retried = s.stats.retried, dead_lettered = s.dead_lettered, dropped = s.dropped,
        redacted = s.redacted, requests = s.stats.requests,
        bytes_sent = s.stats.bytes_sent, elapsed_ms = started.elapsed().as_millis() as u64,
        "invocation finished"
    );
    if let Some(records) = firehose {
        // Firehose: a record not delivered fails the invocation, so Firehose retries the
        // batch (three times by default, then writes it under `processing-failed/` in S3,
        // where `shipper ship` takes it back); fixed `_id`s make the retries safe. Delivered
        // records (indexed, already present, dead-lettered, dropped by a rule) are answered
        // as SHIPPER_FIREHOSE_RESULT says.
        outcome.into_result()?;
        return Ok(Answer::Firehose(firehose_response(
            records,
            shipper.firehose_result,
        )));
    }
    match seqs {
        // Kinesis: report the failed records; Lambda retries from the first of them.
        Some(seqs) if outcome.fatal.is_none() => {
            let mut resp = KinesisEventResponse::default();
            for i in &outcome.failed {
                let mut f = KinesisBatchItemFailure::default();
                f.item_identifier = seqs.get(*i).cloned();
                resp.batch_item_failures.push(f);
            }
            Ok(Answer::Kinesis(resp))
        }
        _ => outcome.into_result().map(Answer::Done),
    }
}

impl Shipper {
    /// A shipper with the settings of `cfg`, sending through `client`, with `transform`
    /// ([`Transform::from_config`]: its rules may come from SSM, read before this).
    pub fn from_config(
        cfg: &crate::config::Config,
        client: Arc<dyn BulkClient>,
        lookup: Option<Arc<dyn IdLookup>>,
        function_name: String,
        transform: Transform,
    ) -> Self {
        Shipper {
            client,
            naming: cfg.naming(),
            region: cfg.aws_region.clone(),
            opts: DeliverOptions {
                limits: cfg.limits(),
                gzip: cfg.gzip(),
                request_timeout: cfg.request_timeout(),
                ..DeliverOptions::default()
            },
            health_docs: cfg.health_docs(),
            function_name,
            deadline_margin: cfg.deadline_margin(),
            transform,
            // Checked when the settings were read.
            firehose_result: cfg.firehose_result().unwrap_or(FirehoseResult::Ok),
            lookup,
            rollovers: Arc::default(),
        }
    }
}
