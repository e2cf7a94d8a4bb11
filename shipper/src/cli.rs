//! The same code as a command line tool: transform, ship (replay/backfill), setup, follow.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, Subcommand};
use serde_json::Value;

use crate::config::Config;
use crate::decode::{self, LogsData};
use crate::document::{Counts, Transform};
use crate::handler::{RawPayload, Shipper};
use crate::metrics::Summary;
use crate::request_builder;
use crate::service;

#[derive(Debug, Parser)]
#[command(
    name = "shipper",
    version,
    about = "CloudWatch Logs → Elasticsearch. Runs as a Lambda when started by Lambda; otherwise this CLI."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the exact `_bulk` NDJSON the Lambda would send for payload files. No network.
    ///
    /// Input: Lambda payloads (`{"awslogs":{"data":…}}`), Kinesis or Firehose events, the
    /// decoded inner JSON (`{"messageType":…}`), dead-letter records or Firehose
    /// processing-failed records, one JSON object or JSONL of them; or an S3 object a
    /// Firehose stream delivered (gzip).
    Transform {
        /// Files to read; `-` or none = standard input.
        files: Vec<PathBuf>,
    },
    /// Replay payload files into Elasticsearch (backfill, re-drive of dead letters).
    Ship {
        /// Elasticsearch URL (default: ELASTICSEARCH_URL).
        #[arg(long)]
        url: Option<String>,
        /// Files to read; `-` or none = standard input.
        files: Vec<PathBuf>,
    },
    /// Create or update the ILM policy, index templates and Kibana saved objects. Idempotent.
    Setup {
        /// Print every request instead of sending it.
        #[arg(long)]
        dry_run: bool,
        /// Elasticsearch URL (default: ELASTICSEARCH_URL).
        #[arg(long)]
        url: Option<String>,
        /// Kibana URL (default: KIBANA_URL); without it, saved objects are skipped.
        #[arg(long)]
        kibana_url: Option<String>,
    },
    /// Tail application log lines and ship them as CloudWatch-shaped batches, through the same
    /// code path as the Lambda (the local docker-compose pipeline uses this).
    Follow {
        /// The log group the lines are shipped as (e.g. /aws/lambda/vocab-api-local).
        #[arg(long)]
        log_group: String,
        #[arg(long, default_value = "local")]
        log_stream: String,
        /// Elasticsearch URL (default: ELASTICSEARCH_URL).
        #[arg(long)]
        url: Option<String>,
        /// Ship a batch at least this often.
        #[arg(long, default_value_t = 1000)]
        flush_ms: u64,
        /// Stop at end of file instead of waiting for more lines.
        #[arg(long)]
        once: bool,
        /// Where to keep the position of the last delivered line, so a restart resumes there
        /// (default: `<file>.shipper-checkpoint`, beside the file; not used for stdin).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Keep no checkpoint: a restart reads the file from its start again (its lines keep
        /// their ids, so they are answered 409, not stored twice).
        #[arg(long, conflicts_with = "checkpoint")]
        no_checkpoint: bool,
        /// File to follow; `-` or none = standard input.
        file: Option<PathBuf>,
    },
}

/// A CLI failure: one line, naming the file and position where there is one.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{file}:{line}:{column}: {message}")]
    Input {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Client(#[from] service::ClientError),
    #[error("{0}")]
    Delivery(String),
    #[error("setup: {0}")]
    Setup(String),
    #[error(transparent)]
    Routes(#[from] crate::route::RouteError),
}

/// One payload read from a file, with where it started.
pub struct Positioned {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub payload: RawPayload,
}

impl Positioned {
    fn error(&self, message: impl Into<String>) -> CliError {
        CliError::Input {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            message: message.into(),
        }
    }
}

fn display_name(p: &Path) -> String {
    if p.as_os_str() == "-" {
        "<stdin>".into()
    } else {
        p.display().to_string()
    }
}

fn read_all(p: &Path) -> Result<Vec<u8>, CliError> {
    let mut buf = Vec::new();
    let r = if p.as_os_str() == "-" {
        std::io::stdin().lock().read_to_end(&mut buf)
    } else {
        std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut buf))
    };
    r.map_err(|source| CliError::Io {
        file: display_name(p),
        source,
    })?;
    Ok(buf)
}

fn line_col(buf: &[u8], offset: usize) -> (usize, usize) {
    let before = &buf[..offset.min(buf.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = offset
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1)
        + 1;
    (line, column)
}

/// The inputs named on the command line (`-` = stdin; none = stdin).
fn inputs(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    }
}

/// One input's bytes: a file is read when needed (again for a second pass); stdin can be read
/// only once, so it is kept. Holding one file at a time bounds memory by the largest file,
/// not by the whole backfill.
struct Input {
    path: PathBuf,
    stdin: Option<Vec<u8>>,
}

impl Input {
    fn open(path: PathBuf) -> Result<Self, CliError> {
        let stdin = (path.as_os_str() == "-")
            .then(|| read_all(&path))
            .transpose()?;
        Ok(Input { path, stdin })
    }

    fn bytes(&self) -> Result<std::borrow::Cow<'_, [u8]>, CliError> {
        match &self.stdin {
            Some(b) => Ok(std::borrow::Cow::Borrowed(b)),
            None => read_all(&self.path).map(std::borrow::Cow::Owned),
        }
    }
}

/// The payloads of one input's bytes (one JSON object, or JSONL of them), read lazily, each
/// with the line and column where its JSON value starts. A gzip or zlib file is one payload:
/// an object a Firehose stream delivered to S3 (its records' gzipped envelopes back to back).
fn payloads_in<'b>(
    name: &'b str,
    buf: &'b [u8],
) -> impl Iterator<Item = Result<Positioned, CliError>> + 'b {
    let compressed = matches!(
        decode::sniff(buf),
        Some(decode::Compression::Gzip | decode::Compression::Zlib)
    );
    let whole = compressed.then(|| {
        Ok(Positioned {
            file: name.to_owned(),
            line: 1,
            column: 1,
            payload: RawPayload::Bytes(buf.to_vec()),
        })
    });
    // Not boxed: the JSON reader stays inlined into its caller (a `dyn` iterator cost the
    // transform of a 10,000-event file ~0.5 M instructions, callgrind).
    whole.into_iter().chain(
        (!compressed)
            .then(|| json_payloads_in(name, buf))
            .into_iter()
            .flatten(),
    )
}

fn json_payloads_in<'b>(
    name: &'b str,
    buf: &'b [u8],
) -> impl Iterator<Item = Result<Positioned, CliError>> + 'b {
    let mut stream = serde_json::Deserializer::from_slice(buf).into_iter::<Value>();
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        let start = stream.byte_offset();
        let start = start
            + buf[start..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
        let (line, column) = line_col(buf, start);
        let at = |message| CliError::Input {
            file: name.to_owned(),
            line,
            column,
            message,
        };
        let item = match stream.next()? {
            Err(e) => Err(CliError::Input {
                file: name.to_owned(),
                line: e.line(),
                column: e.column(),
                message: format!("not JSON: {e}"),
            }),
            Ok(v) => payloads_of(v).map_err(at).map(|ps| {
                ps.into_iter()
                    .map(|payload| Positioned {
                        file: name.to_owned(),
                        line,
                        column,
                        payload,
                    })
                    .collect::<Vec<_>>()
            }),
        };
        failed = item.is_err();
        Some(item)
    })
    .flat_map(|item| match item {
        Ok(ps) => ps.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => vec![Err(e)],
    })
}

/// The payloads one JSON input object carries.
fn payloads_of(v: Value) -> Result<Vec<RawPayload>, String> {
    if let Some(src) = v.get("_source") {
        return payloads_of(src.clone());
    }
    // A whole `_search` answer over the dead-letter stream: re-drive every hit.
    if let Some(hits) = v.pointer("/hits/hits").and_then(Value::as_array) {
        let mut all = Vec::new();
        for (i, h) in hits.iter().enumerate() {
            all.extend(payloads_of(h.clone()).map_err(|e| format!("hits.hits[{i}]: {e}"))?);
        }
        return Ok(all);
    }
    if let Some(d) = v.pointer("/awslogs/data") {
        return match d.as_str() {
            Some(s) => Ok(vec![RawPayload::Base64(s.to_owned())]),
            None => Err("awslogs.data is not a string".into()),
        };
    }
    if let Some(records) = v.get("Records").and_then(Value::as_array) {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let data = r
                    .pointer("/kinesis/data")
                    .and_then(Value::as_str)
                    .ok_or(format!("Records[{i}].kinesis.data is missing"))?;
                base64::engine::general_purpose::STANDARD
                    .decode(data)
                    .map(RawPayload::Bytes)
                    .map_err(|e| format!("Records[{i}].kinesis.data is not base64: {e}"))
            })
            .collect();
    }
    // A Firehose transformation event (`records[].recordId/data`): each record, read as the
    // Lambda reads it.
    if let Some(records) = v.get("records").and_then(Value::as_array)
        && let Some(arn) = v.get("deliveryStreamArn").and_then(Value::as_str)
    {
        return records
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let data = r
                    .get("data")
                    .and_then(Value::as_str)
                    .ok_or(format!("records[{i}].data is missing"))?;
                let id = r
                    .get("recordId")
                    .and_then(Value::as_str)
                    .ok_or(format!("records[{i}].recordId is missing"))?;
                let at = r.get("approximateArrivalTimestamp").and_then(Value::as_f64);
                Ok(RawPayload::Firehose {
                    data: data.to_owned(),
                    origin: crate::handler::firehose_origin(arn, id, at),
                })
            })
            .collect();
    }
    // A record Firehose could not transform, as it writes them under `processing-failed/`
    // in S3 (`rawData` is the record as it arrived, base64).
    if let Some(raw) = v.get("rawData") {
        return match raw.as_str() {
            Some(s) => Ok(vec![RawPayload::Base64(s.to_owned())]),
            None => Err("rawData is not a string".into()),
        };
    }
    if v.get("messageType").is_some() {
        return Ok(vec![RawPayload::Bytes(
            serde_json::to_vec(&v).unwrap_or_default(),
        )]);
    }
    if let Some(p) = v.pointer("/deadletter/payload").and_then(Value::as_str) {
        return Ok(vec![if p.starts_with('{') {
            RawPayload::Bytes(p.as_bytes().to_vec())
        } else {
            RawPayload::Base64(p.to_owned())
        }]);
    }
    Err("not a CloudWatch Logs payload: expected awslogs.data, Records[].kinesis.data, records[].data (Firehose), rawData (Firehose processing-failed), messageType or deadletter.payload".into())
}

/// Inflates one payload, or says why not (with its position).
fn inflate(p: &Positioned) -> Result<Vec<u8>, CliError> {
    let r = match &p.payload {
        RawPayload::Base64(s) => decode::inflate_base64(s),
        // A Firehose record may be plain log lines: kept for `batches` to read as such.
        RawPayload::Firehose { data, .. } => match decode::inflate_base64(data) {
            Err(decode::DecodeError::UnknownCompression(_)) => {
                base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .map_err(decode::DecodeError::Base64)
            }
            r => r,
        },
        RawPayload::Bytes(b) => decode::inflate(b),
    };
    r.map_err(|e| p.error(e.to_string()))
}

/// The envelopes in one inflated payload; a Firehose record holding none is its lines, as the
/// Lambda reads it.
fn batches<'j>(p: &Positioned, json: &'j [u8]) -> Result<Vec<LogsData<'j>>, CliError> {
    decode::parse_logs_data_all(json).or_else(|e| match &p.payload {
        RawPayload::Firehose { origin, .. } => decode::lines_batch(json, origin)
            .map(|b| vec![b])
            .ok_or_else(|| p.error(e.to_string())),
        _ => Err(p.error(e.to_string())),
    })
}

/// The routing rules, filters and redaction the settings ask for (rules from an SSM parameter
/// are read here).
pub async fn cli_transform(cfg: &Config) -> Result<Transform, CliError> {
    let routes = crate::route::load(cfg).await?;
    Ok(Transform::from_config(cfg, routes)?)
}

/// `shipper transform`: payloads → the `_bulk` NDJSON, on `out`, with the rules, filters and
/// redaction of `tf` applied as the Lambda applies them.
pub fn transform(
    files: &[PathBuf],
    cfg: &Config,
    tf: &Transform,
    out: &mut dyn Write,
) -> Result<u64, CliError> {
    let naming = cfg.naming();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut n = 0u64;
    let mut counts = Counts::default();
    let mut buf = Vec::with_capacity(1 << 20);
    let io = |e| CliError::Io {
        file: "<stdout>".into(),
        source: e,
    };
    let mut failed = None;
    for f in inputs(files) {
        let name = display_name(&f);
        let input = read_all(&f)?;
        for p in payloads_in(&name, &input) {
            let p = p?;
            let json = inflate(&p)?;
            let all = batches(&p, &json)?;
            for data in all.iter().filter(|d| !d.is_control_message()) {
                let c = tf.batch(
                    data,
                    &naming,
                    cfg.aws_region.as_deref(),
                    now_ms,
                    |_, doc| {
                        request_builder::write_item(&mut buf, &doc);
                        n += 1;
                        if buf.len() > (1 << 20) && failed.is_none() {
                            failed = out.write_all(&buf).err();
                            buf.clear();
                        }
                    },
                );
                counts.add(c);
                if let Some(e) = failed.take() {
                    return Err(io(e));
                }
            }
        }
    }
    out.write_all(&buf).map_err(io)?;
    out.flush().map_err(io)?;
    if counts != Counts::default() {
        eprintln!(
            "{} events dropped (routing rules, filters, START/END lines), {} redacted",
            counts.dropped, counts.redacted
        );
    }
    Ok(n)
}

/// Builds a shipper for the CLI from the environment, with `url` overriding ELASTICSEARCH_URL.
pub async fn cli_shipper(
    cfg: &Config,
    url: Option<String>,
) -> Result<(Shipper, service::EsClient), CliError> {
    let mut cfg = cfg.clone();
    if url.is_some() {
        cfg.elasticsearch_url = url;
    }
    let conn = crate::secrets::resolve(&cfg).await?;
    let client = service::build_client(&conn)?;
    let clients = crate::rotation::for_settings(&cfg, &conn).await?;
    let mut shipper = Shipper::from_config(
        &cfg,
        clients.bulk,
        Some(clients.lookup),
        "shipper-cli".into(),
        cli_transform(&cfg).await?,
    );
    // No Lambda deadline here: retries get SHIPPER_MAX_RETRY_MS per batch.
    shipper.deadline_margin = Duration::ZERO;
    Ok((shipper, client))
}

/// Progress on stderr: rewritten in place on a terminal, a line every few seconds otherwise.
struct Progress {
    tty: bool,
    last: Instant,
    started: Instant,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Progress {
            tty: std::io::stderr().is_terminal(),
            last: now,
            started: now,
        }
    }
    fn line(done: usize, total: usize, s: &Summary, secs: f64) -> String {
        format!(
            "payloads {done}/{total}  events {}  indexed {}  already present {}  dead-lettered {}  retried {}  {:.0} events/s",
            s.received,
            s.stats.indexed,
            s.stats.already_present,
            s.dead_lettered,
            s.stats.retried,
            s.received as f64 / secs.max(1e-3)
        )
    }
    fn tick(&mut self, done: usize, total: usize, s: &Summary) {
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(5)
        };
        if self.last.elapsed() < every && done < total {
            return;
        }
        self.last = Instant::now();
        let l = Self::line(done, total, s, self.started.elapsed().as_secs_f64());
        if self.tty {
            eprint!("\r\x1b[2K{l}");
        } else {
            eprintln!("{l}");
        }
    }
    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// `shipper ship`: every payload of `files` into Elasticsearch. Input is checked whole
/// before anything is sent, so a typo in line 9,000 doesn't leave a half-done backfill; then
/// it is read again and sent one file at a time, so memory follows the largest file rather
/// than the whole backfill.
pub async fn ship(
    files: &[PathBuf],
    cfg: &Config,
    url: Option<String>,
) -> Result<Summary, CliError> {
    let inputs = inputs(files)
        .into_iter()
        .map(Input::open)
        .collect::<Result<Vec<_>, _>>()?;
    let mut total = 0;
    for input in &inputs {
        let bytes = input.bytes()?;
        for p in payloads_in(&display_name(&input.path), &bytes) {
            let p = p?;
            let json = inflate(&p)?;
            batches(&p, &json)?;
            total += 1;
        }
    }
    let (mut shipper, _) = cli_shipper(cfg, url).await?;
    // One health document for the whole run (with its totals), written at the end.
    let health = std::mem::replace(&mut shipper.health_docs, false);
    let mut progress = Progress::new();
    let mut summary = Summary::default();
    let mut done = 0;
    let execution = format!(
        "ship-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    for input in &inputs {
        let bytes = input.bytes()?;
        let name = display_name(&input.path);
        let mut it = payloads_in(&name, &bytes);
        loop {
            let group = next_group(&mut it)?;
            if group.is_empty() {
                break;
            }
            let n = group.len();
            let outcome = shipper
                .ship(group, Instant::now() + cfg.max_retry(), &execution)
                .await;
            summary.received += outcome.summary.received;
            summary.dead_lettered += outcome.summary.dead_lettered;
            summary.control_messages += outcome.summary.control_messages;
            summary.stats.add(&outcome.summary.stats);
            done += n;
            progress.tick(done, total, &summary);
            summary.undecodable += outcome.summary.undecodable;
            summary.undelivered += outcome.summary.undelivered;
            if let Err(e) = outcome.into_result() {
                progress.finish();
                if health {
                    shipper
                        .write_health(
                            &summary,
                            &execution,
                            &execution,
                            Instant::now() + cfg.max_retry(),
                        )
                        .await;
                }
                return Err(CliError::Delivery(format!(
                    "stopped after {done} of {total} payloads: {e}"
                )));
            }
        }
    }
    progress.finish();
    if health && (summary.received > 0 || summary.undecodable > 0) {
        shipper
            .write_health(
                &summary,
                &execution,
                &execution,
                Instant::now() + cfg.max_retry(),
            )
            .await;
    }
    Ok(summary)
}

/// What `ship` hands the shipper at once: up to this many payloads…
const GROUP_PAYLOADS: usize = 8;
/// …or this many of their bytes as they arrived, whichever comes first. About one Lambda
/// batch (CloudWatch sends at most 10,000 events, ~1.4 MB in base64): memory then follows one
/// batch whatever the payloads' size. Counting payloads alone put 8 × 10,000 events in one
/// call (a 210 MB peak for 10,000-event payloads).
const GROUP_BYTES: usize = 1 << 20;

/// The next payloads `ship` sends together (empty at the end of the input).
fn next_group(
    it: &mut impl Iterator<Item = Result<Positioned, CliError>>,
) -> Result<Vec<RawPayload>, CliError> {
    let mut group = Vec::new();
    let mut bytes = 0;
    while group.len() < GROUP_PAYLOADS && bytes < GROUP_BYTES {
        let Some(p) = it.next() else { break };
        let p = p?.payload;
        bytes += p.encoded_len();
        group.push(p);
    }
    Ok(group)
}

/// Prints the end-of-run summary of `ship`.
pub fn print_summary(s: &Summary, secs: f64) {
    eprintln!(
        "done: {} events in {:.1}s: {} indexed, {} already present, {} dead-lettered, {} requests, {} bytes sent",
        s.received,
        secs,
        s.stats.indexed,
        s.stats.already_present,
        s.dead_lettered,
        s.stats.requests,
        s.stats.bytes_sent
    );
}

/// `shipper follow`: lines of `file` (or stdin) → CloudWatch-shaped batches → ship. See
/// [`crate::follow`] for what keeps it lossless.
pub async fn follow(
    cfg: &Config,
    url: Option<String>,
    opts: crate::follow::FollowOptions,
    file: Option<PathBuf>,
) -> Result<Summary, CliError> {
    use crate::follow::{Follower, Source};
    let (shipper, _) = cli_shipper(cfg, url).await?;
    let name = file
        .as_deref()
        .map(display_name)
        .unwrap_or_else(|| "<stdin>".into());
    let source = match file {
        Some(p) if p.as_os_str() != "-" => Source::File(p),
        _ => Source::Stream(Box::new(tokio::io::stdin())),
    };
    let mut follower = Follower::open(&shipper, opts, source)
        .await
        .map_err(|message| CliError::Input {
            file: name.clone(),
            line: 0,
            column: 0,
            message,
        })?;
    follower.run().await.map_err(|e| CliError::Io {
        file: name,
        source: std::io::Error::other(e),
    })?;
    Ok(follower.summary)
}

/// Runs the CLI; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    let started = Instant::now();
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("shipper: {e}");
            return 2;
        }
    };
    let result = match cli.command {
        Command::Transform { files } => match cli_transform(&cfg).await {
            Ok(tf) => {
                let stdout = std::io::stdout();
                let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
                transform(&files, &cfg, &tf, &mut out).map(|_| ())
            }
            Err(e) => Err(e),
        },
        Command::Ship { url, files } => ship(&files, &cfg, url)
            .await
            .map(|s| print_summary(&s, started.elapsed().as_secs_f64())),
        Command::Follow {
            log_group,
            log_stream,
            url,
            flush_ms,
            once,
            checkpoint,
            no_checkpoint,
            file,
        } => {
            let mut opts = crate::follow::FollowOptions::new(&log_group, &log_stream);
            opts.flush = Duration::from_millis(flush_ms);
            opts.once = once;
            let is_file = file.as_deref().is_some_and(|p| p.as_os_str() != "-");
            opts.checkpoint = match (checkpoint, &file) {
                _ if no_checkpoint || !is_file => None,
                (Some(c), _) => Some(c),
                (None, Some(f)) => Some(crate::follow::default_checkpoint(f)),
                (None, None) => None,
            };
            follow(&cfg, url, opts, file)
                .await
                .map(|s| print_summary(&s, started.elapsed().as_secs_f64()))
        }
        Command::Setup {
            dry_run,
            url,
            kibana_url,
        } => setup(&cfg, url, kibana_url, dry_run).await,
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("shipper: {e}");
            match e {
                CliError::Input { .. } | CliError::Config(_) | CliError::Routes(_) => 2,
                _ => 1,
            }
        }
    }
}

async fn setup(
    cfg: &Config,
    url: Option<String>,
    kibana_url: Option<String>,
    dry_run: bool,
) -> Result<(), CliError> {
    use crate::setup::{self, KibanaAuth, KibanaTarget, SetupSettings, Target};
    let mut cfg = cfg.clone();
    if url.is_some() {
        cfg.elasticsearch_url = url;
    }
    // A dry run needs no reachable cluster, but still a URL to print requests against.
    if dry_run && !cfg.has_target() {
        cfg.elasticsearch_url = Some("http://localhost:9200".into());
    }
    let conn = crate::secrets::resolve(&cfg).await?;
    let es = service::build_client(&conn)?;
    let naming = cfg.naming();
    let settings = SetupSettings {
        target: match naming.mode {
            crate::target::TargetMode::DataStream => Target::DataStream,
            crate::target::TargetMode::Index => Target::Index,
        },
        index_prefix: naming.index_prefix,
        ilm_delete_after_days: cfg.shipper_ilm_delete_after_days.unwrap_or(30),
        elasticsearch_url: cfg.elasticsearch_url.clone(),
        ..SetupSettings::default()
    };
    // Kibana takes the same credentials as Elasticsearch (what Elastic's own tools do).
    let kibana = kibana_url.or_else(|| cfg.kibana_url.clone()).map(|u| {
        let mut k = KibanaTarget::new(u);
        k.auth = match (&conn.api_key, &conn.username, &conn.password) {
            (Some(key), _, _) => KibanaAuth::ApiKey(key.clone()),
            (None, Some(u), Some(p)) => KibanaAuth::Basic {
                username: u.clone(),
                password: p.clone(),
            },
            _ => KibanaAuth::None,
        };
        k.ca_cert_pem = conn.ca_cert_pem.clone();
        k
    });
    let mut out = std::io::stdout();
    // `run` writes each step and warning to `out` itself.
    setup::run(&es, kibana.as_ref(), &settings, dry_run, &mut out)
        .await
        .map_err(|e| CliError::Setup(e.to_string()))?;
    if kibana.is_none() && !dry_run {
        eprintln!("note: KIBANA_URL not set: saved objects were not imported");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payloads(sizes: &[usize]) -> Vec<Result<Positioned, CliError>> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                Ok(Positioned {
                    file: "f".into(),
                    line: i + 1,
                    column: 1,
                    payload: RawPayload::Base64("A".repeat(n)),
                })
            })
            .collect()
    }

    fn group_sizes(sizes: &[usize]) -> Vec<usize> {
        let mut it = payloads(sizes).into_iter();
        let mut out = Vec::new();
        loop {
            let g = next_group(&mut it).expect("no error in the input");
            if g.is_empty() {
                return out;
            }
            out.push(g.len());
        }
    }

    #[test]
    fn issue_15_ship_sends_small_payloads_eight_at_a_time() {
        assert_eq!(group_sizes(&[150_000; 20]), vec![7, 7, 6]);
        assert_eq!(group_sizes(&[1_000; 20]), vec![8, 8, 4]);
    }

    #[test]
    fn issue_15_ship_sends_a_full_cloudwatch_batch_alone() {
        // 10,000-event payloads (~1.4 MB of base64 each): one per call, not eight.
        assert_eq!(group_sizes(&[1_400_000; 3]), vec![1, 1, 1]);
        assert_eq!(group_sizes(&[600_000, 600_000, 600_000]), vec![2, 1]);
    }

    #[test]
    fn a_bad_payload_in_a_group_is_reported() {
        let mut v = payloads(&[10, 10]);
        v.insert(
            1,
            Err(CliError::Input {
                file: "f".into(),
                line: 2,
                column: 1,
                message: "not JSON".into(),
            }),
        );
        let mut it = v.into_iter();
        assert!(matches!(
            next_group(&mut it),
            Err(CliError::Input { line: 2, .. })
        ));
    }
}
