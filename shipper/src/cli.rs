//! The same code as a command line tool: transform, ship (replay/backfill), setup, follow.

use std::io::{BufWriter, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
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
        /// Batches (about a Lambda invocation's worth of payloads each) in flight at once. A
        /// cluster indexes concurrent bulk requests in parallel; each batch in flight holds
        /// its payloads and documents in memory.
        #[arg(long, default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=64))]
        concurrency: u16,
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

/// The inputs named on the command line (`-` = stdin; none = stdin).
fn inputs(files: &[PathBuf]) -> Vec<PathBuf> {
    if files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        files.to_vec()
    }
}

/// One input: a file is read (again, for a second pass) through a window; stdin can be read
/// only once, so `ship` keeps it.
struct Input {
    path: PathBuf,
    stdin: Option<Vec<u8>>,
}

impl Input {
    /// `keep_stdin`: for a command that reads its input twice.
    fn open(path: PathBuf, keep_stdin: bool) -> Result<Self, CliError> {
        let stdin = (keep_stdin && path.as_os_str() == "-")
            .then(|| read_all(&path))
            .transpose()?;
        Ok(Input { path, stdin })
    }

    /// Its payloads, read as they are needed: memory follows the window and the largest
    /// payload, not the file.
    fn payloads(&self) -> Result<Payloads<'_>, CliError> {
        let name = display_name(&self.path);
        let src: Box<dyn Read + '_> = match &self.stdin {
            Some(b) => Box::new(&b[..]),
            None if self.path.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
            None => Box::new(
                std::fs::File::open(&self.path).map_err(|source| CliError::Io {
                    file: name.clone(),
                    source,
                })?,
            ),
        };
        Ok(Payloads::new(name, src, WINDOW))
    }
}

/// How much of an input is read at a time.
const WINDOW: usize = 4 << 20;

/// The payloads of one input (one JSON object, or JSONL of them), each with the line and
/// column where its JSON value starts. A gzip or zlib input is one payload: an object a
/// Firehose stream delivered to S3 (its records' gzipped envelopes back to back).
///
/// JSON is parsed from a window of the input (`serde_json::from_slice`, as fast as over the
/// whole file); a value cut by the window's end is read again once more bytes are in, and the
/// window grows only for a value larger than itself.
struct Payloads<'r> {
    name: String,
    src: Box<dyn Read + 'r>,
    buf: Vec<u8>,
    /// Bytes of `buf` already parsed.
    pos: usize,
    /// Line and column of `buf[pos]`.
    line: usize,
    column: usize,
    eof: bool,
    window: usize,
    /// Payloads of the last JSON value not handed out yet (a Kinesis event holds several).
    ready: std::collections::VecDeque<Positioned>,
    /// The input is gzip or zlib: `None` until its first bytes are in.
    compressed: Option<bool>,
    done: bool,
}

impl<'r> Payloads<'r> {
    fn new(name: String, src: Box<dyn Read + 'r>, window: usize) -> Self {
        Payloads {
            name,
            src,
            buf: Vec::new(),
            pos: 0,
            line: 1,
            column: 1,
            eof: false,
            window,
            ready: Default::default(),
            compressed: None,
            done: false,
        }
    }

    /// Drops what was parsed and reads up to a window more (more when `grow`: one value is
    /// larger than the window).
    fn refill(&mut self, grow: bool) -> Result<(), CliError> {
        self.buf.drain(..self.pos);
        self.pos = 0;
        let want = if grow {
            self.buf.len().max(self.window)
        } else {
            self.window
        };
        let before = self.buf.len();
        let r = (&mut self.src).take(want as u64).read_to_end(&mut self.buf);
        r.map_err(|source| CliError::Io {
            file: self.name.clone(),
            source,
        })?;
        self.eof = self.buf.len() == before;
        Ok(())
    }

    /// Moves `pos` on by `n` bytes, keeping `line` and `column` in step.
    fn advance(&mut self, n: usize) {
        let seen = &self.buf[self.pos..self.pos + n];
        match seen.iter().rposition(|&b| b == b'\n') {
            Some(i) => {
                self.line += seen.iter().filter(|&&b| b == b'\n').count();
                self.column = n - i;
            }
            None => self.column += n,
        }
        self.pos += n;
    }

    fn error(&self, line: usize, column: usize, message: String) -> CliError {
        CliError::Input {
            file: self.name.clone(),
            line,
            column,
            message,
        }
    }

    fn next_value(&mut self) -> Result<Option<()>, CliError> {
        loop {
            let ws = self.buf[self.pos..]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            self.advance(ws);
            if self.pos == self.buf.len() {
                if self.eof {
                    return Ok(None);
                }
                self.refill(false)?;
                continue;
            }
            let (line, column) = (self.line, self.column);
            let mut stream =
                serde_json::Deserializer::from_slice(&self.buf[self.pos..]).into_iter::<Value>();
            match stream.next() {
                Some(Ok(v)) => {
                    let n = stream.byte_offset();
                    // A number at the window's end may go on in the next bytes.
                    if !self.eof && self.pos + n == self.buf.len() && !v.is_object() {
                        self.refill(true)?;
                        continue;
                    }
                    let payloads = payloads_of(v).map_err(|m| self.error(line, column, m))?;
                    self.advance(n);
                    self.ready
                        .extend(payloads.into_iter().map(|payload| Positioned {
                            file: self.name.clone(),
                            line,
                            column,
                            payload,
                        }));
                    return Ok(Some(()));
                }
                Some(Err(e)) if e.is_eof() && !self.eof => self.refill(self.pos == 0)?,
                Some(Err(e)) => {
                    // serde_json counts from the value's start.
                    let (l, c) = if e.line() <= 1 {
                        (line, column + e.column().saturating_sub(1))
                    } else {
                        (line + e.line() - 1, e.column())
                    };
                    return Err(self.error(l, c, format!("not JSON: {e}")));
                }
                None => return Ok(None),
            }
        }
    }
}

impl Iterator for Payloads<'_> {
    type Item = Result<Positioned, CliError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(p) = self.ready.pop_front() {
            return Some(Ok(p));
        }
        if self.done {
            return None;
        }
        if self.compressed.is_none() {
            if let Err(e) = self.refill(false) {
                self.done = true;
                return Some(Err(e));
            }
            let c = matches!(
                decode::sniff(&self.buf),
                Some(decode::Compression::Gzip | decode::Compression::Zlib)
            );
            self.compressed = Some(c);
            if c {
                self.done = true;
                let mut all = std::mem::take(&mut self.buf);
                if let Err(source) = self.src.read_to_end(&mut all) {
                    return Some(Err(CliError::Io {
                        file: self.name.clone(),
                        source,
                    }));
                }
                return Some(Ok(Positioned {
                    file: self.name.clone(),
                    line: 1,
                    column: 1,
                    payload: RawPayload::Bytes(all),
                }));
            }
        }
        match self.next_value() {
            Ok(Some(())) => self.next(),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
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
        for p in Input::open(f, false)?.payloads()? {
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
struct Progress<W = std::io::Stderr> {
    out: W,
    tty: bool,
    /// How often a line is due: every 200 ms on a terminal, every 5 s otherwise.
    every: Duration,
    last: Instant,
    started: Instant,
}

impl Progress {
    fn new() -> Self {
        Progress::to(std::io::stderr(), std::io::stderr().is_terminal())
    }
}

impl<W: Write> Progress<W> {
    fn to(out: W, tty: bool) -> Self {
        let now = Instant::now();
        Progress {
            out,
            tty,
            every: if tty {
                Duration::from_millis(200)
            } else {
                Duration::from_secs(5)
            },
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
        if self.due() || done >= total {
            let l = Self::line(done, total, s, self.started.elapsed().as_secs_f64());
            self.show(&l);
        }
    }
    /// While `ship` checks its input: nothing is sent yet, and a large backfill's check takes
    /// a while (~1 s per million events on one core).
    fn checking(&mut self, payloads: usize, events: usize) {
        if self.due() {
            let rate = events as f64 / self.started.elapsed().as_secs_f64().max(1e-3);
            self.show(&format!(
                "checking the input: payloads {payloads}  events {events}  {rate:.0} events/s"
            ));
        }
    }
    /// The check's outcome: what is about to be sent.
    fn checked(&mut self, payloads: usize, events: usize, secs: f64) {
        self.show(&format!(
            "input checked: {payloads} payloads, {events} events in {secs:.1} s"
        ));
        self.finish();
    }
    fn due(&mut self) -> bool {
        if self.last.elapsed() < self.every {
            return false;
        }
        self.last = Instant::now();
        true
    }
    // A progress line that can't be written (stderr closed) is not worth stopping a backfill.
    fn show(&mut self, l: &str) {
        let _ = if self.tty {
            write!(self.out, "\r\x1b[2K{l}")
        } else {
            writeln!(self.out, "{l}")
        };
    }
    fn finish(&mut self) {
        if self.tty {
            let _ = writeln!(self.out);
        }
    }
}

/// `shipper ship`: every payload of `files` into Elasticsearch. Input is checked whole
/// before anything is sent, so a typo in line 9,000 doesn't leave a half-done backfill; then
/// it is read again and sent about a Lambda batch at a time, `concurrency` batches in flight.
/// Files are read through a window both times, so memory follows the largest payload and
/// `concurrency`, not the files (stdin, which can be read only once, is kept).
pub async fn ship(
    files: &[PathBuf],
    cfg: &Config,
    url: Option<String>,
    concurrency: usize,
) -> Result<Summary, CliError> {
    let inputs = inputs(files)
        .into_iter()
        .map(|f| Input::open(f, true))
        .collect::<Result<Vec<_>, _>>()?;
    let mut checking = Progress::new();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(CHECK_THREADS));
    let (total, events) = check(&inputs, threads, &mut checking)?;
    let check_secs = checking.started.elapsed().as_secs_f64();
    let (mut shipper, _) = cli_shipper(cfg, url).await?;
    // Said once connected (a start-up error stays the only line): what is about to be sent.
    checking.checked(total, events, check_secs);
    // One health document for the whole run (with its totals), written at the end.
    let health = std::mem::replace(&mut shipper.health_docs, false);
    let shipper = &shipper;
    let mut progress = Progress::new();
    let mut summary = Summary::default();
    let mut done = 0;
    let execution = format!(
        "ship-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let mut groups = Groups {
        inputs: inputs.iter(),
        current: None,
    };
    let mut in_flight = FuturesUnordered::new();
    // The first failure: no batch is started after it; those in flight are let finish, so
    // what they sent is counted and a re-run finds it already present.
    let mut failed: Option<CliError> = None;
    loop {
        while failed.is_none() && in_flight.len() < concurrency.max(1) {
            match groups.next() {
                Ok(Some(group)) => {
                    let (n, execution) = (group.len(), execution.as_str());
                    in_flight.push(async move {
                        let deadline = Instant::now() + cfg.max_retry();
                        (n, shipper.ship(group, deadline, execution).await)
                    });
                }
                Ok(None) => break,
                Err(e) => failed = Some(e),
            }
        }
        let Some((n, outcome)) = in_flight.next().await else {
            break;
        };
        summary.received += outcome.summary.received;
        summary.dead_lettered += outcome.summary.dead_lettered;
        summary.control_messages += outcome.summary.control_messages;
        summary.stats.add(&outcome.summary.stats);
        summary.undecodable += outcome.summary.undecodable;
        summary.undelivered += outcome.summary.undelivered;
        done += n;
        progress.tick(done, total, &summary);
        if let Err(e) = outcome.into_result()
            && failed.is_none()
        {
            failed = Some(CliError::Delivery(e.to_string()));
        }
    }
    progress.finish();
    if health && (summary.received > 0 || summary.undecodable > 0 || failed.is_some()) {
        shipper
            .write_health(
                &summary,
                &execution,
                &execution,
                Instant::now() + cfg.max_retry(),
            )
            .await;
    }
    match failed {
        None => Ok(summary),
        Some(CliError::Delivery(e)) => Err(CliError::Delivery(format!(
            "stopped after {done} of {total} payloads: {e}"
        ))),
        Some(e) => Err(e),
    }
}

/// How many threads `ship`'s check decodes payloads on (at most; fewer on fewer CPUs): each
/// holds one inflated payload (up to ~10 MB for 10,000 events) while the input is read.
const CHECK_THREADS: usize = 4;

/// `ship`'s check of its whole input: every payload inflated and its envelopes read, on
/// `threads` threads while this one reads the input. The bad payload reported is the first in
/// input order, whichever thread finds a bad one first. (payloads, events) if all are good.
fn check(
    inputs: &[Input],
    threads: usize,
    progress: &mut Progress<impl Write>,
) -> Result<(usize, usize), CliError> {
    let one = |p: &Positioned| -> Result<usize, CliError> {
        let json = inflate(p)?;
        Ok(batches(p, &json)?.iter().map(|b| b.log_events.len()).sum())
    };
    if threads == 1 {
        // One CPU: a second thread only takes turns with this one (12% slower, measured).
        let (mut payloads, mut events) = (0, 0);
        for input in inputs {
            for p in input.payloads()? {
                events += one(&p?)?;
                payloads += 1;
                progress.checking(payloads, events);
            }
        }
        return Ok((payloads, events));
    }
    let (work, queue) = std::sync::mpsc::sync_channel::<(usize, Positioned)>(threads);
    let queue = std::sync::Mutex::new(queue);
    let (report, reports) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let (queue, report, one) = (&queue, report.clone(), &one);
            scope.spawn(move || {
                loop {
                    // A poisoned lock or a closed queue: the reader is done.
                    let next = queue.lock().ok().and_then(|q| q.recv().ok());
                    let Some((i, p)) = next else { break };
                    if report.send((i, one(&p))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(report);
        let mut seen = Checked::default();
        let mut read = 0;
        'inputs: for input in inputs {
            let payloads = match input.payloads() {
                Ok(it) => it,
                Err(e) => {
                    seen.add(read, Err(e));
                    break;
                }
            };
            for p in payloads {
                for (i, r) in reports.try_iter() {
                    seen.add(i, r);
                }
                // Nothing after a bad payload matters: the first bad one is among those read.
                if seen.bad.is_some() {
                    break 'inputs;
                }
                match p {
                    Ok(p) => {
                        if work.send((read, p)).is_err() {
                            break 'inputs;
                        }
                        read += 1;
                    }
                    Err(e) => {
                        seen.add(read, Err(e));
                        break 'inputs;
                    }
                }
                progress.checking(seen.payloads, seen.events);
            }
        }
        drop(work);
        // Every payload read is checked before the answer: ends when the threads have.
        for (i, r) in reports {
            seen.add(i, r);
        }
        match seen.bad {
            Some((_, e)) => Err(e),
            None => Ok((seen.payloads, seen.events)),
        }
    })
}

/// What `check` has heard so far.
#[derive(Default)]
struct Checked {
    payloads: usize,
    events: usize,
    /// The bad payload earliest in input order, with its place.
    bad: Option<(usize, CliError)>,
}

impl Checked {
    fn add(&mut self, i: usize, r: Result<usize, CliError>) {
        match r {
            Ok(events) => {
                self.payloads += 1;
                self.events += events;
            }
            Err(e) if self.bad.as_ref().is_none_or(|(b, _)| i < *b) => self.bad = Some((i, e)),
            Err(_) => {}
        }
    }
}

/// The batches `ship` sends, file after file (a batch never spans two files).
struct Groups<'a> {
    inputs: std::slice::Iter<'a, Input>,
    current: Option<Payloads<'a>>,
}

impl Groups<'_> {
    /// The next batch; `None` at the end of the last file.
    fn next(&mut self) -> Result<Option<Vec<RawPayload>>, CliError> {
        loop {
            if let Some(it) = self.current.as_mut() {
                let group = next_group(it)?;
                if !group.is_empty() {
                    return Ok(Some(group));
                }
            }
            match self.inputs.next() {
                Some(input) => self.current = Some(input.payloads()?),
                None => return Ok(None),
            }
        }
    }
}

/// `ship --concurrency`'s default: two batches in flight keep a cluster's write threads busy
/// while the shipper builds the next batch (see the README's figures).
pub const DEFAULT_CONCURRENCY: u16 = 2;

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
        Command::Ship {
            url,
            concurrency,
            files,
        } => ship(&files, &cfg, url, usize::from(concurrency))
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

    /// (line, column, base64) of every payload `input` holds, read through `window` bytes.
    fn read(input: &str, window: usize) -> Result<Vec<(usize, usize, String)>, String> {
        Payloads::new("in".into(), Box::new(input.as_bytes()), window)
            .map(|p| {
                let p = p.map_err(|e| e.to_string())?;
                match p.payload {
                    RawPayload::Base64(b) => Ok((p.line, p.column, b)),
                    RawPayload::Bytes(b) => Ok((
                        p.line,
                        p.column,
                        base64::engine::general_purpose::STANDARD.encode(b),
                    )),
                    RawPayload::Firehose { data, .. } => Ok((p.line, p.column, data)),
                }
            })
            .collect()
    }

    const INPUT: &str = concat!(
        "{\"awslogs\":{\"data\":\"AAAA\"}}\n",
        "  {\"awslogs\":{\"data\":\"BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB\"}}\n",
        "\n",
        "{\n  \"Records\": [\n    {\"kinesis\": {\"data\": \"Q0M=\"}},\n    {\"kinesis\": {\"data\": \"REQ=\"}}\n  ]\n}\n",
        "{\"awslogs\":{\"data\":\"EEEE\"}} {\"awslogs\":{\"data\":\"FFFF\"}}\n",
    );

    #[test]
    fn payloads_and_their_positions_are_the_same_whatever_the_window() {
        let want = vec![
            (1, 1, "AAAA".to_owned()),
            (2, 3, "B".repeat(40)),
            (4, 1, "Q0M=".to_owned()),
            (4, 1, "REQ=".to_owned()),
            (10, 1, "EEEE".to_owned()),
            (10, 29, "FFFF".to_owned()),
        ];
        for window in [1, 2, 3, 5, 8, 13, 21, 64, 1 << 20] {
            assert_eq!(read(INPUT, window), Ok(want.clone()), "window {window}");
        }
    }

    #[test]
    fn a_syntax_error_is_placed_the_same_whatever_the_window() {
        let input = "{\"awslogs\":{\"data\":\"AAAA\"}}\n{\"awslogs\":\n  {\"data\" \"x\"}}\n";
        for window in [1, 2, 7, 16, 1 << 20] {
            let err = read(input, window).expect_err("a missing colon");
            assert!(
                err.starts_with("in:3:11: not JSON: expected `:`"),
                "window {window}: {err}"
            );
        }
        let cut = "{\"awslogs\":{\"data\":\"AAAA\"}}\n{\"awslogs\":{\"da";
        for window in [1, 4, 1 << 20] {
            let err = read(cut, window).expect_err("a value cut short");
            assert!(err.contains("EOF while parsing"), "window {window}: {err}");
        }
    }

    #[test]
    fn issue_15_memory_follows_the_window_and_the_largest_payload_not_the_input() {
        let line = format!("{{\"awslogs\":{{\"data\":\"{}\"}}}}\n", "A".repeat(1000));
        let big = format!("{{\"awslogs\":{{\"data\":\"{}\"}}}}\n", "B".repeat(50_000));
        let input = format!("{}{big}{}", line.repeat(500), line.repeat(500));
        let mut it = Payloads::new("in".into(), Box::new(input.as_bytes()), 4096);
        let mut n = 0;
        let mut most = 0;
        while let Some(p) = it.next() {
            p.expect("a payload");
            n += 1;
            most = most.max(it.buf.capacity());
        }
        assert_eq!(n, 1001);
        // About 1 MB of input; the buffer held the large payload and a window, with `Vec`'s
        // doubling on top: a few times the largest payload, not the input.
        assert!(
            most <= 3 * 50_100 + 2 * 4096,
            "the window reached {most} bytes"
        );
        assert!(most * 6 < input.len(), "the window reached {most} bytes");
    }

    #[test]
    fn a_gzip_input_is_one_payload() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&vec![b'x'; 100_000]).expect("gzip");
        let bytes = gz.finish().expect("gzip");
        let got: Vec<_> = Payloads::new("in.gz".into(), Box::new(&bytes[..]), 64).collect();
        assert_eq!(got.len(), 1);
        match &got[0] {
            Ok(Positioned {
                payload: RawPayload::Bytes(b),
                ..
            }) => assert_eq!(b, &bytes),
            _ => panic!("one payload of the whole file"),
        }
    }

    /// Three payloads of the example Lambda event (2 events each), as `ship` reads stdin.
    fn three_payloads() -> Input {
        let example = include_str!("../tests/data/aws-lambda-events-example.json");
        Input {
            path: "-".into(),
            stdin: Some(example.repeat(3).into_bytes()),
        }
    }

    /// What a check wrote, one progress line per entry.
    fn shown(p: Progress<Vec<u8>>) -> Vec<String> {
        let out = String::from_utf8(p.out).expect("progress is text");
        out.lines().map(str::to_owned).collect()
    }

    #[test]
    fn ship_says_how_far_its_check_has_got_each_time_a_line_is_due_issue_15() {
        for threads in [1, 2] {
            let mut progress = Progress::to(Vec::new(), false);
            progress.every = Duration::ZERO;
            let checked = check(&[three_payloads()], threads, &mut progress);
            assert_eq!(checked.ok(), Some((3, 6)), "{threads} threads");
            let lines = shown(progress);
            // A line after every payload read; the counts are of payloads checked so far,
            // which on more than one thread may trail those read.
            assert_eq!(lines.len(), 3, "{threads} threads: {lines:?}");
            let mut before = 0;
            for l in &lines {
                let counts: Vec<usize> = l
                    .strip_prefix("checking the input: payloads ")
                    .and_then(|l| l.split_once("  events "))
                    .and_then(|(p, e)| Some([p.parse().ok()?, e.split(' ').next()?.parse().ok()?]))
                    .map(Vec::from)
                    .unwrap_or_else(|| panic!("not a progress line: {l:?}"));
                assert!(counts[0] >= before && counts[0] <= 3, "{l}");
                assert_eq!(counts[1], counts[0] * 2, "{l}");
                before = counts[0];
            }
            if threads == 1 {
                assert!(lines[2].starts_with("checking the input: payloads 3  events 6  "));
            }
        }
    }

    #[test]
    fn ship_says_nothing_while_checking_an_input_that_takes_less_than_a_line_interval() {
        for tty in [false, true] {
            let mut progress = Progress::to(Vec::new(), tty);
            let checked = check(&[three_payloads()], 2, &mut progress);
            assert_eq!(checked.ok(), Some((3, 6)));
            assert_eq!(shown(progress), Vec::<String>::new(), "tty: {tty}");
        }
    }

    #[test]
    fn on_a_terminal_progress_is_rewritten_in_place_and_ends_with_a_newline() {
        let mut progress = Progress::to(Vec::new(), true);
        progress.every = Duration::ZERO;
        check(&[three_payloads()], 1, &mut progress).expect("a good input");
        progress.checked(3, 6, 0.5);
        let out = String::from_utf8(progress.out).expect("progress is text");
        let shown: Vec<&str> = out.split("\r\x1b[2K").collect();
        assert_eq!(shown.len(), 5, "{out:?}");
        assert_eq!(shown[0], "");
        for (k, l) in shown[1..4].iter().enumerate() {
            let (n, e) = (k + 1, 2 * (k + 1));
            let start = format!("checking the input: payloads {n}  events {e}  ");
            assert!(l.starts_with(&start) && !l.contains('\n'), "{l:?}");
        }
        assert_eq!(shown[4], "input checked: 3 payloads, 6 events in 0.5 s\n");
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
