//! `shipper follow`: application log lines from a file (or stdin) → CloudWatch-shaped batches →
//! the Lambda's own delivery path.
//!
//! Nothing is lost:
//! - reads are cancel-safe: bytes go into the follower's own buffer, and only whole lines
//!   leave it; a partial last line waits for its newline (or for the end of the input);
//! - a checkpoint (file identity, a fingerprint of its first bytes, the offset after the last
//!   acknowledged line) is written after every acknowledged batch, so a restart resumes where
//!   delivery stopped, not where reading stopped;
//! - while the cluster is down, reading stops: at most one batch is held (back-pressure, not
//!   a queue that grows until the process is killed);
//! - rotation (a new file at the path) and truncation (copytruncate: the file shrinks, or its
//!   first bytes change) start a new *generation*: the new file is read from its start, and
//!   its lines get new ids (an id is the log group, stream, generation and byte offset), so
//!   they are not mistaken for the old file's lines and answered 409.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncSeekExt};
use tracing::{info, warn};

use crate::decode::{LogEvent, LogsData};
use crate::handler::{RawPayload, Shipper};
use crate::metrics::Summary;
use crate::retry::Backoff;

/// How a follower reads and batches.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    pub log_group: String,
    pub log_stream: String,
    /// Ship at least this often when lines are waiting.
    pub flush: Duration,
    /// Stop at the end of the input instead of waiting for more.
    pub once: bool,
    /// Where the checkpoint is kept (files only); `None`: no checkpoint.
    pub checkpoint: Option<PathBuf>,
    /// Lines per batch (at most; a batch is also cut at `max_batch_bytes`).
    pub max_batch_lines: usize,
    pub max_batch_bytes: usize,
    /// Longer lines are cut (CloudWatch itself cuts events at 256 KB).
    pub max_line_bytes: usize,
    /// How long one batch may be retried before the next attempt waits for the next loop.
    pub retry: Duration,
}

impl FollowOptions {
    pub fn new(log_group: &str, log_stream: &str) -> Self {
        FollowOptions {
            log_group: log_group.into(),
            log_stream: log_stream.into(),
            flush: Duration::from_secs(1),
            once: false,
            checkpoint: None,
            max_batch_lines: 5_000,
            max_batch_bytes: 4 * 1024 * 1024,
            max_line_bytes: 1024 * 1024,
            retry: Duration::from_secs(60),
        }
    }
}

/// The default checkpoint of a followed file: beside it.
pub fn default_checkpoint(file: &Path) -> PathBuf {
    let mut name = file.file_name().unwrap_or_default().to_os_string();
    name.push(".shipper-checkpoint");
    file.with_file_name(name)
}

/// What a restart needs to resume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub file: PathBuf,
    pub dev: u64,
    pub ino: u64,
    /// Bumped at every rotation or truncation; part of every event id.
    pub generation: u64,
    /// Bytes of the file shipped and acknowledged: the next line starts here.
    pub offset: u64,
    /// The file's first bytes when they were read (at most [`FINGERPRINT_LEN`]), hex: a file
    /// truncated and rewritten past the offset still shows as new.
    pub fingerprint: String,
}

pub const FINGERPRINT_LEN: usize = 64;

impl Checkpoint {
    pub fn load(path: &Path) -> Result<Option<Checkpoint>, String> {
        match std::fs::read(path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| format!("{}: not a follow checkpoint: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }

    /// Written to a temporary file and renamed over the old one: a crash leaves either.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let mut tmp = path.as_os_str().to_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let body = serde_json::to_vec(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, body)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

/// `(dev, ino)` of a file: the same path can hold another file after a rotation.
#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn identity(_: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

/// The first bytes of the file at `path` (for the fingerprint).
fn first_bytes(path: &Path, n: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut buf = Vec::with_capacity(n);
    std::fs::File::open(path)?
        .take(n as u64)
        .read_to_end(&mut buf)?;
    Ok(buf)
}

/// An event id for the line at byte `offset` of generation `generation` of a followed stream:
/// the same line always gets the same id (so a resend is a 409), another file's line never
/// does. Generation 0 keeps the ids of earlier versions of the shipper.
pub fn event_id(log_group: &str, log_stream: &str, generation: u64, offset: u64) -> String {
    use sha2::Digest;
    let key = if generation == 0 {
        format!("{log_group}\n{log_stream}")
    } else {
        format!("{log_group}\n{log_stream}\n{generation}")
    };
    let h = sha2::Sha256::digest(key.as_bytes());
    format!(
        "{:016x}{offset:020}",
        u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]])
    )
}

/// One line waiting to be shipped.
#[derive(Debug, Clone)]
pub struct Line {
    /// Byte offset of the line's start.
    pub offset: u64,
    /// Offset just after it (where the next line starts).
    pub end: u64,
    pub timestamp_ms: i64,
    pub text: String,
}

/// The inner CloudWatch JSON for lines of one generation.
pub fn batch_json(opts: &FollowOptions, generation: u64, lines: &[Line]) -> Vec<u8> {
    let data = LogsData {
        message_type: "DATA_MESSAGE".into(),
        owner: std::env::var("AWS_ACCOUNT_ID")
            .unwrap_or_else(|_| "000000000000".into())
            .into(),
        log_group: opts.log_group.as_str().into(),
        log_stream: opts.log_stream.as_str().into(),
        subscription_filters: vec!["shipper-follow".into()],
        log_events: lines
            .iter()
            .map(|l| {
                LogEvent::new(
                    event_id(&opts.log_group, &opts.log_stream, generation, l.offset),
                    l.timestamp_ms,
                    l.text.as_str(),
                )
            })
            .collect(),
        policy_level: None,
    };
    serde_json::to_vec(&data).unwrap_or_default()
}

/// Splits whole lines off the front of `buf` (bytes from `start` on); returns them and the
/// offset after the last one. Invalid UTF-8 is replaced (U+FFFD), not a reason to stop.
pub fn take_lines(buf: &mut Vec<u8>, start: u64, max_line: usize, now_ms: i64) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut from = 0usize;
    loop {
        let rest = &buf[from..];
        let (len, eol) = match memchr::memchr(b'\n', rest) {
            Some(i) if i <= max_line => (i, 1),
            // A line longer than the limit is cut there (as CloudWatch cuts large events).
            _ if rest.len() > max_line => (max_line, 0),
            _ => break,
        };
        let text = String::from_utf8_lossy(&rest[..len]);
        let text = text.strip_suffix('\r').unwrap_or(&text).to_owned();
        let offset = start + from as u64;
        from += len + eol;
        lines.push(Line {
            offset,
            end: start + from as u64,
            timestamp_ms: now_ms,
            text,
        });
    }
    buf.drain(..from);
    lines
}

/// Counters of a follow run, for tests and the summary.
#[derive(Debug, Default, Clone)]
pub struct FollowStats {
    pub batches: u64,
    /// The most lines held at once (the back-pressure bound).
    pub max_held: usize,
    pub bytes_read: u64,
    pub generations: u64,
    pub failed_attempts: u64,
}

/// The input: a file at a path (followed across rotation) or a stream read once.
enum Input {
    File {
        path: PathBuf,
        file: tokio::fs::File,
        id: (u64, u64),
        fingerprint: Vec<u8>,
    },
    Stream(Box<dyn AsyncRead + Unpin + Send>),
}

pub enum Source {
    File(PathBuf),
    /// Standard input or any other stream: no checkpoint, and a generation unique per run (a
    /// restarted pipe carries new lines, whose ids must not be the last run's).
    Stream(Box<dyn AsyncRead + Unpin + Send>),
}

pub struct Follower<'a> {
    shipper: &'a Shipper,
    pub opts: FollowOptions,
    input: Input,
    generation: u64,
    /// Offset of the first byte in `buf`.
    buf_start: u64,
    buf: Vec<u8>,
    held: Vec<Line>,
    /// Offset after the last acknowledged line.
    acked: u64,
    run_id: String,
    pub summary: Summary,
    pub stats: FollowStats,
}

impl<'a> Follower<'a> {
    /// Opens the input and resumes from the checkpoint when it describes this same file.
    pub async fn open(
        shipper: &'a Shipper,
        opts: FollowOptions,
        source: Source,
    ) -> Result<Follower<'a>, String> {
        let started_ms = chrono::Utc::now().timestamp_millis();
        let run_id = format!("follow-{}-{started_ms}", std::process::id());
        let (input, generation, offset) = match source {
            Source::Stream(r) => (Input::Stream(r), started_ms as u64, 0),
            Source::File(path) => {
                let mut file = tokio::fs::File::open(&path)
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let meta = file
                    .metadata()
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let id = identity(&meta);
                let head = first_bytes(&path, FINGERPRINT_LEN)
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                let ck = match &opts.checkpoint {
                    Some(c) => Checkpoint::load(c)?,
                    None => None,
                };
                let (generation, offset) = match ck {
                    Some(ck) => {
                        let fp_len = ck.fingerprint.len() / 2;
                        let same = (ck.dev, ck.ino) == id
                            && meta.len() >= ck.offset
                            && head.len() >= fp_len
                            && hex(&head[..fp_len]) == ck.fingerprint;
                        if same {
                            info!(
                                offset = ck.offset,
                                generation = ck.generation,
                                "resuming from the checkpoint"
                            );
                            (ck.generation, ck.offset)
                        } else {
                            info!(
                                generation = ck.generation + 1,
                                "the file is not the checkpoint's (rotated or truncated): reading it from the start"
                            );
                            (ck.generation + 1, 0)
                        }
                    }
                    None => (0, 0),
                };
                file.seek(std::io::SeekFrom::Start(offset))
                    .await
                    .map_err(|e| format!("{}: {e}", path.display()))?;
                // The checkpoint must be writable before anything is shipped.
                if let Some(c) = &opts.checkpoint {
                    let ck = Checkpoint {
                        file: path.clone(),
                        dev: id.0,
                        ino: id.1,
                        generation,
                        offset,
                        fingerprint: hex(&head),
                    };
                    ck.save(c).map_err(|e| format!("--checkpoint {e}"))?;
                }
                (
                    Input::File {
                        path,
                        file,
                        id,
                        fingerprint: head,
                    },
                    generation,
                    offset,
                )
            }
        };
        Ok(Follower {
            shipper,
            opts,
            input,
            generation,
            buf_start: offset,
            buf: Vec::with_capacity(64 * 1024),
            held: Vec::new(),
            acked: offset,
            run_id,
            summary: Summary::default(),
            stats: FollowStats::default(),
        })
    }

    fn held_bytes(&self) -> usize {
        self.held.iter().map(|l| l.text.len()).sum()
    }

    fn full(&self) -> bool {
        self.held.len() >= self.opts.max_batch_lines
            || self.held_bytes() >= self.opts.max_batch_bytes
    }

    /// Runs until the end of the input (`once`, or a stream), or forever when following a file.
    pub async fn run(&mut self) -> Result<(), String> {
        let mut last_flush = Instant::now();
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let mut eof = false;
            if !self.full() {
                // Cancel-safe: `read` either fills some of `chunk` or, cancelled by the flush
                // timer, reads nothing; the bytes it returns are kept until a line is whole.
                let wait = self.opts.flush.saturating_sub(last_flush.elapsed());
                let read = match &mut self.input {
                    Input::File { file, .. } => {
                        tokio::time::timeout(wait, file.read(&mut chunk)).await
                    }
                    Input::Stream(r) => tokio::time::timeout(wait, r.read(&mut chunk)).await,
                };
                match read {
                    Ok(Ok(0)) => eof = true,
                    Ok(Ok(n)) => {
                        self.stats.bytes_read += n as u64;
                        self.buf.extend_from_slice(&chunk[..n]);
                        let now = chrono::Utc::now().timestamp_millis();
                        let lines = take_lines(
                            &mut self.buf,
                            self.buf_start,
                            self.opts.max_line_bytes,
                            now,
                        );
                        if let Some(l) = lines.last() {
                            self.buf_start = l.end;
                        }
                        self.held.extend(lines);
                        self.stats.max_held = self.stats.max_held.max(self.held.len());
                    }
                    Ok(Err(e)) => return Err(format!("reading: {e}")),
                    Err(_) => {}
                }
            }
            let stream_ended = eof && (self.opts.once || matches!(self.input, Input::Stream(_)));
            if stream_ended && !self.buf.is_empty() {
                // The input ended without a final newline: that last line is complete.
                let now = chrono::Utc::now().timestamp_millis();
                let n = self.buf.len();
                let text = String::from_utf8_lossy(&self.buf).into_owned();
                self.held.push(Line {
                    offset: self.buf_start,
                    end: self.buf_start + n as u64,
                    timestamp_ms: now,
                    text,
                });
                self.buf_start += n as u64;
                self.buf.clear();
            }
            let due = last_flush.elapsed() >= self.opts.flush || self.full() || stream_ended;
            if due && !self.held.is_empty() {
                self.ship_held().await?;
                last_flush = Instant::now();
            } else if due {
                last_flush = Instant::now();
            }
            if stream_ended && self.held.is_empty() {
                return Ok(());
            }
            if eof && !stream_ended {
                if self.rotated_or_truncated().await? {
                    continue;
                }
                tokio::time::sleep(Duration::from_millis(250).min(self.opts.flush)).await;
            }
        }
    }

    /// Ships the held lines, retrying (reading nothing meanwhile) until they are delivered;
    /// then moves the checkpoint past them.
    async fn ship_held(&mut self) -> Result<(), String> {
        let backoff = Backoff {
            base: Duration::from_millis(500),
            max: Duration::from_secs(30),
        };
        let mut attempt = 0;
        loop {
            let batch = batch_json(&self.opts, self.generation, &self.held);
            let id = format!("{}-{}", self.run_id, self.stats.batches);
            let outcome = self
                .shipper
                .ship(
                    vec![RawPayload::Bytes(batch)],
                    Instant::now() + self.opts.retry,
                    &id,
                )
                .await;
            self.summary.received += outcome.summary.received;
            self.summary.dead_lettered += outcome.summary.dead_lettered;
            self.summary.stats.add(&outcome.summary.stats);
            match outcome.into_result() {
                Ok(_) => break,
                Err(e) => {
                    // Kept, and tried again: nothing is dropped, and nothing more is read
                    // until it is delivered.
                    self.stats.failed_attempts += 1;
                    attempt += 1;
                    let delay = backoff.delay(attempt, fastrand::f64());
                    warn!(error.message = %e, lines = self.held.len(), retry_in_ms = delay.as_millis() as u64, "batch not delivered; holding it and reading nothing more until it is");
                    tokio::time::sleep(delay).await;
                }
            }
        }
        self.stats.batches += 1;
        if let Some(l) = self.held.last() {
            self.acked = l.end;
        }
        self.held.clear();
        self.save_checkpoint()
    }

    fn save_checkpoint(&self) -> Result<(), String> {
        let (
            Some(c),
            Input::File {
                path,
                id,
                fingerprint,
                ..
            },
        ) = (&self.opts.checkpoint, &self.input)
        else {
            return Ok(());
        };
        Checkpoint {
            file: path.clone(),
            dev: id.0,
            ino: id.1,
            generation: self.generation,
            offset: self.acked,
            fingerprint: hex(fingerprint),
        }
        .save(c)
        .map_err(|e| format!("--checkpoint {e}"))
    }

    /// At the end of a followed file: has the path a new file (rotation), or has this one
    /// shrunk or changed its first bytes (truncation)? Then the rest of the old file (a last
    /// line without newline) is shipped, and the new one is read from its start as a new
    /// generation.
    async fn rotated_or_truncated(&mut self) -> Result<bool, String> {
        let Input::File {
            path,
            file,
            id,
            fingerprint,
        } = &mut self.input
        else {
            return Ok(false);
        };
        let at = file.stream_position().await.map_err(|e| e.to_string())?;
        let now = match std::fs::metadata(&*path) {
            Ok(m) => m,
            // Moved away and not yet recreated: keep waiting on the old file.
            Err(_) => return Ok(false),
        };
        let rotated = identity(&now) != *id;
        let head = first_bytes(path, FINGERPRINT_LEN).unwrap_or_default();
        let known = fingerprint.len().min(head.len());
        let truncated = !rotated && (now.len() < at || head[..known] != fingerprint[..known]);
        if !rotated && !truncated {
            // The file grew at its start? Keep the longer fingerprint.
            if head.len() > fingerprint.len() && head.starts_with(fingerprint) {
                *fingerprint = head;
            }
            return Ok(false);
        }
        info!(path = %path.display(), rotated, truncated, "a new file at the path; reading it from its start");
        let path = path.clone();
        if !self.buf.is_empty() {
            let now_ms = chrono::Utc::now().timestamp_millis();
            let n = self.buf.len();
            self.held.push(Line {
                offset: self.buf_start,
                end: self.buf_start + n as u64,
                timestamp_ms: now_ms,
                text: String::from_utf8_lossy(&self.buf).into_owned(),
            });
            self.buf.clear();
        }
        if !self.held.is_empty() {
            self.ship_held().await?;
        }
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let meta = file.metadata().await.map_err(|e| e.to_string())?;
        self.input = Input::File {
            id: identity(&meta),
            fingerprint: first_bytes(&path, FINGERPRINT_LEN).unwrap_or_default(),
            path,
            file,
        };
        self.generation += 1;
        self.stats.generations += 1;
        self.buf_start = 0;
        self.acked = 0;
        self.save_checkpoint()?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_whole_lines_leave_the_buffer_and_a_partial_one_waits() {
        let mut buf = b"one\ntwo\r\nthr".to_vec();
        let lines = take_lines(&mut buf, 100, 1024, 7);
        let got: Vec<(u64, u64, &str)> = lines
            .iter()
            .map(|l| (l.offset, l.end, l.text.as_str()))
            .collect();
        assert_eq!(got, vec![(100, 104, "one"), (104, 109, "two")]);
        assert_eq!(buf, b"thr");
        buf.extend_from_slice(b"ee\n");
        let lines = take_lines(&mut buf, 109, 1024, 7);
        assert_eq!(lines[0].text, "three");
        assert_eq!((lines[0].offset, lines[0].end), (109, 115));
        assert!(buf.is_empty());
    }

    #[test]
    fn a_line_over_the_limit_is_cut_and_invalid_utf8_is_replaced() {
        let mut buf = b"abcdefgh".to_vec();
        let lines = take_lines(&mut buf, 0, 5, 0);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].text, "abcde");
        assert_eq!(buf, b"fgh");
        let mut buf = b"caf\xe9\n".to_vec();
        assert_eq!(take_lines(&mut buf, 0, 64, 0)[0].text, "caf\u{fffd}");
    }

    #[test]
    fn ids_differ_by_generation_and_generation_zero_keeps_the_old_ids() {
        let a = event_id("/g", "s", 0, 42);
        assert_eq!(a.len(), 36);
        assert!(a.ends_with("00000000000000000042"));
        assert_ne!(a, event_id("/g", "s", 1, 42));
        assert_ne!(event_id("/g", "s", 1, 42), event_id("/g", "s", 2, 42));
        assert_eq!(a, event_id("/g", "s", 0, 42));
    }

    #[test]
    fn a_checkpoint_survives_a_save_and_load() {
        let dir = std::env::temp_dir().join(format!("ck-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("c.json");
        assert_eq!(Checkpoint::load(&p).unwrap(), None);
        let c = Checkpoint {
            file: "/logs/a.log".into(),
            dev: 1,
            ino: 2,
            generation: 3,
            offset: 4,
            fingerprint: "00ff".into(),
        };
        c.save(&p).unwrap();
        assert_eq!(Checkpoint::load(&p).unwrap(), Some(c));
        std::fs::write(&p, b"garbage").unwrap();
        assert!(
            Checkpoint::load(&p)
                .unwrap_err()
                .contains("not a follow checkpoint")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
