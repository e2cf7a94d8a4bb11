//! The delivery loop: send every document, resend only what failed, until done or out of time;
//! look up re-delivered events that a rollover would let in twice ([`crate::rollover`]).

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::{debug, error, warn};

use crate::document::Document;
use crate::request_builder::{self, Limits};
use crate::response;
use crate::retry::{self, Backoff, ItemOutcome, RequestOutcome};
use crate::rollover::{self, IdLookup, LookupError, Rollovers};
use crate::service::{BulkClient, TransportError};

#[derive(Debug, Clone, Copy)]
pub struct DeliverOptions {
    pub limits: Limits,
    pub gzip: bool,
    pub backoff: Backoff,
    /// Upper bound for one request; the time left before the deadline also bounds it.
    pub request_timeout: Duration,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            limits: Limits::default(),
            gzip: true,
            backoff: Backoff::default(),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// How re-deliveries are kept single, by kind of target (see [`crate::rollover`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dedup {
    /// `create` finds a re-delivered `_id` where it is: dated indices (an event always goes to
    /// the index of its own day), health documents (a new id per run).
    Create,
    /// Data streams: events older than the write index are looked up before they are sent;
    /// an item created in an unexpected backing index is checked, and removed if it was a copy.
    DataStream,
    /// Every document is looked up in `search` first (dead letters: rare, and re-dead-lettered
    /// on any day).
    Always { search: String },
}

/// Where documents go: the bulk client, the cluster lookups (`None`: none are made), and what
/// is known of each data stream's write index.
#[derive(Clone, Copy)]
pub struct Sink<'a> {
    pub client: &'a dyn BulkClient,
    pub lookup: Option<&'a dyn IdLookup>,
    pub rollovers: &'a Rollovers,
}

/// Counters of one delivery (added up over an invocation).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Stats {
    pub indexed: u64,
    pub already_present: u64,
    /// Item sends after the first (an item retried twice counts twice).
    pub retried: u64,
    pub requests: u64,
    pub bytes_sent: u64,
    pub bulk_latency: Duration,
    /// Indexed, but into the data stream's failure store (its mappings refused the document).
    pub failure_store: u64,
    /// Copies a rollover let in twice, found and deleted.
    pub duplicates_removed: u64,
    /// Requests other than `_bulk`: write-index lookups and id checks.
    pub lookups: u64,
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.indexed += o.indexed;
        self.already_present += o.already_present;
        self.retried += o.retried;
        self.requests += o.requests;
        self.bytes_sent += o.bytes_sent;
        self.bulk_latency += o.bulk_latency;
        self.failure_store += o.failure_store;
        self.duplicates_removed += o.duplicates_removed;
        self.lookups += o.lookups;
    }
}

/// A document Elasticsearch refused for good.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub doc: usize,
    pub status: u16,
    pub error_type: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Delivery {
    pub stats: Stats,
    pub rejected: Vec<Rejected>,
    /// Documents neither indexed nor refused when time ran out (or on a fatal error).
    pub undelivered: Vec<usize>,
    /// Why delivery stopped early, e.g. a 401: retrying can't help.
    pub fatal: Option<String>,
    /// The cluster's configuration refused documents (403, 404): what to change.
    pub misconfigured: Option<String>,
    /// The last transient failure seen, for the error message when time runs out.
    pub last_error: Option<String>,
}

impl Delivery {
    /// Gives up for a reason retrying can't fix: every document not yet settled (in flight,
    /// waiting for a retry, or still queued) is undelivered.
    fn stop(
        &mut self,
        why: String,
        in_flight: Vec<usize>,
        queue: impl IntoIterator<Item = Vec<usize>>,
        retry_next: Vec<usize>,
    ) {
        self.fatal = Some(why);
        self.undelivered.extend(in_flight);
        self.undelivered.extend(queue.into_iter().flatten());
        self.undelivered.extend(retry_next);
    }
}

/// A created item to verify after a rollover showed up: the document, the index it went to,
/// and the write index the cache knew before (where a first delivery may be a moment old).
#[derive(Debug, Clone)]
struct Created {
    doc: usize,
    index: String,
    previous: Option<String>,
}

/// A copy to delete; `doc` when it is one this delivery just created.
#[derive(Debug, Clone)]
struct Extra {
    index: String,
    id: String,
    doc: Option<usize>,
}

/// Work carried from one round to the next besides documents to send.
#[derive(Default)]
struct Cleanup {
    created: Vec<Created>,
    extras: Vec<Extra>,
    /// Documents sent with an unknown outcome, and the write index the cache knew when they
    /// were sent: if it changed by the resend, that index is asked first.
    uncertain: Vec<(usize, Option<String>)>,
}

impl Cleanup {
    fn is_empty(&self) -> bool {
        self.created.is_empty() && self.extras.is_empty()
    }
}

/// Where the documents of a streamed delivery come from: built a piece at a time, so the first
/// pieces are in flight while the rest of the batch is still being transformed.
pub trait Source {
    /// Appends the documents of up to `events` more events to `docs` (fewer documents when
    /// rules drop some); `false` once no event is left.
    fn fill(&mut self, docs: &mut Vec<Document>, events: usize) -> bool;
}

/// Events turned into documents between two looks at the request in flight: often enough
/// that its connection writes the body and reads the answer while the next piece is built.
const STEP: usize = 100;

/// Sends `docs`, retrying only failed items with backoff until `stop_at`.
pub async fn deliver(
    sink: &Sink<'_>,
    docs: &[Document],
    opts: &DeliverOptions,
    dedup: &Dedup,
    stop_at: Instant,
) -> Delivery {
    let mut d = Driver::new(sink, opts, dedup, stop_at);
    d.pending = (0..docs.len()).collect();
    d.rounds(docs, false).await;
    d.out
}

/// [`deliver`] of the documents `source` builds into `docs`: the first round sends each piece
/// as soon as it is built and builds the next while the cluster indexes it (a Lambda pays for
/// the wall time, and without this it waits for the cluster with nothing to do); later rounds
/// (retries, rollover checks) are [`deliver`]'s. On return `docs` holds every document.
pub async fn deliver_streamed<S: Source + Send>(
    sink: &Sink<'_>,
    docs: &mut Vec<Document>,
    mut source: S,
    opts: &DeliverOptions,
    dedup: &Dedup,
    stop_at: Instant,
) -> Delivery {
    let mut d = Driver::new(sink, opts, dedup, stop_at);
    if let Err(stop) = d.first_round(docs, &mut source).await {
        // Whatever was not built yet is built now, only to be counted undelivered.
        while source.fill(docs, usize::MAX) {}
        d.stop(stop, d.handed..docs.len());
        return d.out;
    }
    d.rounds(docs, true).await;
    d.out
}

/// Why delivery stops early, and the documents of the request (or lookup) that showed it.
struct Stop {
    why: String,
    items: Vec<usize>,
}

/// A `_bulk` request on its way: its future, and its answer once a look saw it arrive.
struct InFlight<'a> {
    fut: Pin<Box<dyn Future<Output = Sent> + Send + 'a>>,
    done: Option<Sent>,
}

/// A request, its reply, and how long the reply took.
type Sent = (
    request_builder::BulkRequest,
    Result<crate::service::HttpReply, TransportError>,
    Duration,
);

impl<'a> InFlight<'a> {
    fn start(
        client: &'a dyn BulkClient,
        req: request_builder::BulkRequest,
        timeout: Duration,
    ) -> Self {
        InFlight {
            fut: Box::pin(async move {
                let t0 = Instant::now();
                let reply = client.bulk(&req, timeout).await;
                (req, reply, t0.elapsed())
            }),
            done: None,
        }
    }

    /// Polls it once, then lets the runtime run the connection's task (which writes the body
    /// and reads the answer); returns at once either way.
    async fn nudge(&mut self) {
        if self.done.is_none() {
            std::future::poll_fn(|cx| {
                if let Poll::Ready(v) = self.fut.as_mut().poll(cx) {
                    self.done = Some(v);
                }
                Poll::Ready(())
            })
            .await;
            tokio::task::yield_now().await;
        }
    }

    async fn finish(self) -> Sent {
        match self.done {
            Some(v) => v,
            None => self.fut.await,
        }
    }
}

/// A chunk waiting for its request: its documents, or its body already written.
enum Queued {
    Items(Vec<usize>),
    Encoded(request_builder::BulkRequest),
}

impl Queued {
    fn items(self) -> Vec<usize> {
        match self {
            Queued::Items(items) => items,
            Queued::Encoded(req) => req.items,
        }
    }
}

/// One delivery's state across its rounds.
struct Driver<'a> {
    sink: Sink<'a>,
    opts: &'a DeliverOptions,
    dedup: &'a Dedup,
    stop_at: Instant,
    lookup: Option<&'a dyn IdLookup>,
    out: Delivery,
    cleanup: Cleanup,
    /// This round's documents to send.
    pending: Vec<usize>,
    /// This round's chunks not sent yet.
    queue: VecDeque<Queued>,
    /// Documents for the next round.
    retry_next: Vec<usize>,
    /// A streamed first round: documents below this were handed to a request or a lookup.
    handed: usize,
    /// Rounds after the first so far.
    attempt: u32,
}

impl<'a> Driver<'a> {
    fn new(sink: &Sink<'a>, opts: &'a DeliverOptions, dedup: &'a Dedup, stop_at: Instant) -> Self {
        Driver {
            sink: *sink,
            opts,
            dedup,
            stop_at,
            lookup: sink.lookup.filter(|_| sink.rollovers.disabled().is_none()),
            out: Delivery::default(),
            cleanup: Cleanup::default(),
            pending: Vec::new(),
            queue: VecDeque::new(),
            retry_next: Vec::new(),
            handed: 0,
            attempt: 0,
        }
    }

    /// Gives up: `stop.items`, everything queued or waiting for a retry, and `unsent` are
    /// undelivered.
    fn stop(&mut self, stop: Stop, unsent: std::ops::Range<usize>) {
        let queue = std::mem::take(&mut self.queue)
            .into_iter()
            .map(Queued::items);
        let retry_next = std::mem::take(&mut self.retry_next);
        self.out.stop(stop.why, stop.items, queue, retry_next);
        self.out.undelivered.extend(unsent);
    }

    /// Looks up the documents of `send` that must be (data streams: older than the write
    /// index; dead letters: all), returning those to send now; the rest wait for a retry.
    async fn look_up(&mut self, docs: &[Document], send: Vec<usize>) -> Result<Vec<usize>, Stop> {
        // Checks turned off by an earlier piece's refused lookup are not asked for again.
        let Some(lookup) = self
            .lookup
            .filter(|_| self.sink.rollovers.disabled().is_none())
        else {
            return Ok(send);
        };
        if *self.dedup == Dedup::Create || send.is_empty() {
            return Ok(send);
        }
        let (send, wait) = look_up(
            &self.sink,
            lookup,
            docs,
            send,
            self.opts,
            self.dedup,
            self.stop_at,
            &mut self.out,
            &mut self.cleanup,
        )
        .await;
        if let Some(why) = self.out.fatal.take() {
            let mut items = send;
            items.extend(wait);
            return Err(Stop { why, items });
        }
        self.retry_next.extend(wait);
        Ok(send)
    }

    /// Encodes `chunk` (unless it was) and starts its request; `None` (the chunk waits for a
    /// retry) when the time is up.
    fn start(&mut self, docs: &[Document], chunk: Queued) -> Option<InFlight<'a>> {
        let now = Instant::now();
        if now >= self.stop_at {
            self.retry_next.extend(chunk.items());
            return None;
        }
        let req = match chunk {
            Queued::Items(items) => request_builder::encode(docs, items, self.opts.gzip),
            Queued::Encoded(req) => req,
        };
        let timeout = self.opts.request_timeout.min(self.stop_at - now);
        self.out.stats.requests += 1;
        self.out.stats.bytes_sent += req.body.len() as u64;
        Some(InFlight::start(self.sink.client, req, timeout))
    }

    /// Sends the queued chunks one after the other.
    async fn send_queue(&mut self, docs: &[Document]) -> Result<(), Stop> {
        while let Some(chunk) = self.queue.pop_front() {
            if let Some(f) = self.start(docs, chunk) {
                let (req, reply, took) = f.finish().await;
                self.out.stats.bulk_latency += took;
                self.settle(docs, req, reply)?;
            }
        }
        Ok(())
    }

    /// The first round of [`deliver_streamed`]: build a piece, answer the request in flight,
    /// send the piece, and build the next one while it is in flight. One request at a time: an
    /// answer is compared with the write index cached when it is read, which is only right if
    /// no other request of this delivery went out (and refreshed the cache) since this one did.
    ///
    /// Each piece is also encoded (gzipped) as it is built, before its checks: when they send
    /// the whole piece, as they do unless events older than a write index are looked up, its
    /// bodies are ready the moment the answer before it is read, and the cluster doesn't wait
    /// for the compression. When they don't, the work is dropped, and the next piece is
    /// encoded after its checks, as a replay's pieces are.
    async fn first_round<S: Source>(
        &mut self,
        docs: &mut Vec<Document>,
        source: &mut S,
    ) -> Result<(), Stop> {
        let max = self.opts.limits.max_docs.max(1);
        let mut piece = self.opts.limits.first_docs.clamp(1, max);
        let mut more = true;
        let mut in_flight: Option<InFlight<'a>> = None;
        let mut ahead = true;
        while more || in_flight.is_some() || !self.queue.is_empty() {
            let begin = docs.len();
            let mut chunker =
                ahead.then(|| request_builder::Chunker::new(self.opts.limits, self.opts.gzip));
            while more && docs.len() - begin < piece {
                let from = docs.len();
                more = source.fill(docs, STEP.min(piece - (docs.len() - begin)));
                if let Some(c) = chunker.as_mut() {
                    for i in from..docs.len() {
                        c.push(docs, i);
                    }
                }
                if let Some(f) = in_flight.as_mut() {
                    f.nudge().await;
                }
            }
            piece = (piece * 2).min(max);
            if let Some(f) = in_flight.take() {
                let (req, reply, took) = f.finish().await;
                self.out.stats.bulk_latency += took;
                self.settle(docs, req, reply)?;
            }
            self.handed = docs.len();
            let send = self.look_up(docs, (begin..docs.len()).collect()).await?;
            ahead = send.len() == docs.len() - begin;
            match chunker {
                Some(c) if ahead => {
                    debug_assert!(c.items().eq(send.iter().copied()));
                    self.queue
                        .extend(c.finish(docs).into_iter().map(Queued::Encoded));
                }
                _ => self.queue.extend(
                    request_builder::split(docs, &send, self.opts.limits)
                        .into_iter()
                        .map(Queued::Items),
                ),
            }
            if more {
                // All but the last chunk now; the last in flight while the next piece is built.
                let last = self.queue.pop_back();
                self.send_queue(docs).await?;
                if let Some(chunk) = last
                    && let Some(mut f) = self.start(docs, chunk)
                {
                    f.nudge().await;
                    in_flight = Some(f);
                }
            } else {
                self.send_queue(docs).await?;
            }
        }
        Ok(())
    }

    /// Rounds until every document is settled or time is up; with `sent`, the first round's
    /// documents were already sent (by [`Driver::first_round`]) and it starts at its checks.
    async fn rounds(&mut self, docs: &[Document], mut sent: bool) {
        loop {
            if !sent {
                if self.pending.is_empty() && self.cleanup.is_empty() {
                    break;
                }
                let pending = std::mem::take(&mut self.pending);
                let send = match self.look_up(docs, pending).await {
                    Ok(send) => send,
                    Err(stop) => return self.stop(stop, 0..0),
                };
                self.queue = request_builder::split(docs, &send, self.opts.limits)
                    .into_iter()
                    .map(Queued::Items)
                    .collect();
                if let Err(stop) = self.send_queue(docs).await {
                    return self.stop(stop, 0..0);
                }
            }
            sent = false;
            if let Some(lookup) = self.lookup
                && !self.cleanup.is_empty()
                && self.sink.rollovers.disabled().is_none()
            {
                let (sink, opts, stop_at) = (self.sink, self.opts, self.stop_at);
                clean_up(
                    &sink,
                    lookup,
                    docs,
                    opts,
                    stop_at,
                    &mut self.out,
                    &mut self.cleanup,
                )
                .await;
                if let Some(why) = self.out.fatal.take() {
                    give_up_cleanup(&mut self.out, std::mem::take(&mut self.cleanup));
                    let items = std::mem::take(&mut self.retry_next);
                    return self.stop(Stop { why, items }, 0..0);
                }
            }
            if self.sink.rollovers.disabled().is_some() {
                // Checks are off: what was waiting for one is not waited for.
                self.cleanup = Cleanup::default();
            }
            if self.retry_next.is_empty() && self.cleanup.is_empty() {
                break;
            }
            self.attempt += 1;
            let delay = self.opts.backoff.delay(self.attempt, fastrand::f64());
            if Instant::now() + delay >= self.stop_at {
                self.out.undelivered.append(&mut self.retry_next);
                give_up_cleanup(&mut self.out, std::mem::take(&mut self.cleanup));
                break;
            }
            self.out.stats.retried += self.retry_next.len() as u64;
            tokio::time::sleep(delay).await;
            self.pending = std::mem::take(&mut self.retry_next);
        }
    }

    /// Takes in one request's reply: counts what was indexed, queues what to retry, records
    /// what was refused. `Err` when delivery must stop (retrying can't help).
    fn settle(
        &mut self,
        docs: &[Document],
        req: request_builder::BulkRequest,
        reply: Result<crate::service::HttpReply, TransportError>,
    ) -> Result<(), Stop> {
        let (sink, dedup, lookup) = (self.sink, self.dedup, self.lookup);
        let out = &mut self.out;
        let cleanup = &mut self.cleanup;
        let retry_next = &mut self.retry_next;
        let queue = &mut self.queue;
        let reply = match reply {
            Ok(r) => r,
            // A certificate that fails its checks fails them again on every retry: stop
            // now rather than spend the invocation's whole time budget on it.
            Err(e @ TransportError::Tls(_)) => {
                return Err(Stop {
                    why: e.to_string(),
                    items: req.items,
                });
            }
            Err(e) => {
                warn!(error.message = %e, items = req.items.len(), "bulk request failed; will retry");
                out.last_error = Some(e.to_string());
                unknown_outcome(&sink, docs, dedup, &req.items, cleanup);
                retry_next.extend(req.items);
                return Ok(());
            }
        };
        if reply.status == 200 {
            match response::parse(&reply.body, req.items.len()) {
                Ok(results) => {
                    let checks = *dedup == Dedup::DataStream
                        && lookup.is_some()
                        && sink.rollovers.disabled().is_none();
                    // The last data stream and backing index that showed nothing: the items
                    // of one request mostly share both, and asking the cache again (a lock
                    // and two hashes per item) would answer the same.
                    let mut quiet: Option<(&Arc<str>, &str)> = None;
                    for (&doc, r) in req.items.iter().zip(&results) {
                        match retry::classify_item(r) {
                            ItemOutcome::Indexed => {
                                out.stats.indexed += 1;
                                if r.failure_store {
                                    out.stats.failure_store += 1;
                                    warn!(event.id = %docs[doc].id, "Elasticsearch kept the document in the data stream's failure store (its mappings refused it)");
                                }
                                if checks
                                    && let Some(index) = r.index.as_deref()
                                    && quiet.is_none_or(|(t, i)| {
                                        !Arc::ptr_eq(t, &docs[doc].index) || i != index
                                    })
                                {
                                    let target = &docs[doc].index;
                                    let shown = sink.rollovers.shows_rollover(target, index);
                                    if shown {
                                        debug!(
                                            index,
                                            "created in a backing index the cache doesn't know: the data stream rolled over"
                                        );
                                        sink.rollovers.mark_stale(target);
                                    }
                                    if sink.rollovers.needs_refresh(target) {
                                        cleanup.created.push(Created {
                                            doc,
                                            index: index.to_owned(),
                                            previous: sink.rollovers.get(target).map(|w| w.name),
                                        });
                                    } else if !shown {
                                        quiet = Some((target, index));
                                    }
                                }
                            }
                            ItemOutcome::AlreadyPresent => out.stats.already_present += 1,
                            ItemOutcome::Retry => {
                                out.last_error = Some(format!(
                                    "item {}: {}",
                                    r.status,
                                    r.error_type.as_deref().unwrap_or("unknown")
                                ));
                                retry_next.push(doc)
                            }
                            ItemOutcome::Misconfigured {
                                status,
                                error_type,
                                reason,
                            } => {
                                let why =
                                    misconfiguration(status, &error_type, &reason, &docs[doc]);
                                if out.misconfigured.as_deref() != Some(why.as_str()) {
                                    error!(http.response.status_code = status, error.type = %error_type, error.message = %reason, "{why}");
                                }
                                out.misconfigured = Some(why);
                                out.undelivered.push(doc);
                            }
                            ItemOutcome::Reject {
                                status,
                                error_type,
                                reason,
                            } => out.rejected.push(Rejected {
                                doc,
                                status,
                                error_type,
                                reason,
                            }),
                        }
                    }
                }
                Err(e) => {
                    // Unknown outcome: resend all; `create` + fixed ids makes that safe.
                    warn!(error.message = %e, "unreadable bulk response; will resend its items");
                    out.last_error = Some(e.to_string());
                    unknown_outcome(&sink, docs, dedup, &req.items, cleanup);
                    retry_next.extend(req.items);
                }
            }
            return Ok(());
        }
        let (etype, reason) = error_of(&reply.body, reply.status);
        match retry::classify_status(reply.status) {
            RequestOutcome::Retry => {
                warn!(http.response.status_code = reply.status, error.type = %etype, "bulk request refused; will retry");
                out.last_error = Some(format!("HTTP {}: {etype}: {reason}", reply.status));
                retry_next.extend(req.items);
            }
            RequestOutcome::Split if req.items.len() > 1 => {
                debug!(
                    items = req.items.len(),
                    bytes = req.uncompressed_len,
                    "413: splitting the request in halves"
                );
                let mut items = req.items;
                let back = items.split_off(items.len() / 2);
                queue.push_front(Queued::Items(back));
                queue.push_front(Queued::Items(items));
            }
            RequestOutcome::Split => out.rejected.push(Rejected {
                doc: req.items[0],
                status: 413,
                error_type: "request_entity_too_large".into(),
                reason: format!(
                    "a single document of {} bytes is over the cluster's http.max_content_length",
                    req.uncompressed_len
                ),
            }),
            RequestOutcome::Fatal => {
                let why = format!(
                    "Elasticsearch refused the shipper itself (HTTP {}: {etype}: {reason}); check the credentials",
                    reply.status
                );
                return Err(Stop {
                    why,
                    items: req.items,
                });
            }
            RequestOutcome::Misconfigured => {
                let why = format!(
                    "the cluster answers HTTP {} `{etype}` to POST /_bulk ({reason}): check ELASTICSEARCH_URL (a path prefix behind a proxy?)",
                    reply.status
                );
                error!(http.response.status_code = reply.status, "{why}");
                out.misconfigured = Some(why);
                out.undelivered.extend(req.items);
            }
            RequestOutcome::Reject => {
                for doc in req.items {
                    out.rejected.push(Rejected {
                        doc,
                        status: reply.status,
                        error_type: etype.clone(),
                        reason: reason.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// After a request whose outcome is unknown (its writes may or may not have happened), the
/// data streams it wrote to may have rolled over before the resend: look again first.
fn unknown_outcome(
    sink: &Sink<'_>,
    docs: &[Document],
    dedup: &Dedup,
    items: &[usize],
    cleanup: &mut Cleanup,
) {
    if *dedup != Dedup::DataStream || sink.lookup.is_none() {
        return;
    }
    let mut last: Option<(&str, Option<String>)> = None;
    for &i in items {
        let t = &*docs[i].index;
        if last.as_ref().is_none_or(|(l, _)| *l != t) {
            last = Some((t, sink.rollovers.get(t).map(|w| w.name)));
            sink.rollovers.mark_stale(t);
        }
        let sent_to = last.as_ref().and_then(|(_, w)| w.clone());
        cleanup.uncertain.push((i, sent_to));
    }
}

/// Time ran out before a duplicate could be checked or removed: its event counts as
/// undelivered, so the invocation fails and the re-delivery (which looks it up first, and
/// removes a second copy) finishes the job.
fn give_up_cleanup(out: &mut Delivery, mut cleanup: Cleanup) {
    cleanup.uncertain.clear();
    let mut docs: Vec<usize> = cleanup.created.iter().map(|c| c.doc).collect();
    docs.extend(cleanup.extras.iter().filter_map(|e| e.doc));
    if !docs.is_empty() || !cleanup.extras.is_empty() {
        error!(
            items = docs.len(),
            copies = cleanup.extras.len(),
            "out of time before checking documents created after a rollover; failing so the re-delivery does it"
        );
        out.last_error
            .get_or_insert_with(|| "out of time before a rollover check finished".into());
    }
    docs.sort_unstable();
    docs.dedup();
    for d in docs {
        // Counted as indexed when created; it is not settled now.
        out.stats.indexed = out.stats.indexed.saturating_sub(1);
        out.undelivered.push(d);
    }
}

fn lookup_failed(sink: &Sink<'_>, out: &mut Delivery, what: &str, e: &LookupError) {
    if let LookupError::Transport(t @ TransportError::Tls(_)) = e {
        out.fatal.get_or_insert_with(|| t.to_string());
    } else if e.is_fatal() {
        out.fatal.get_or_insert_with(|| {
            format!("Elasticsearch refused the shipper itself ({what}: {e}); check the credentials")
        });
    } else if e.disables_lookups() {
        let why = format!(
            "{what} was refused ({e}): rollover checks are off, and re-delivered events older than a data stream's write index may be stored twice, until the shipper's credentials may read its targets (`read`, `view_index_metadata` and `delete` index privileges)"
        );
        if sink.rollovers.disable(why.clone()) {
            error!("{why}");
        }
    } else {
        warn!(error.message = %e, "{what} failed; will retry");
        out.last_error = Some(format!("{what}: {e}"));
    }
}

/// Refreshes what is unknown about the write indices of `pending`'s data streams, looks up the
/// suspects, and returns `(to send now, to retry later)`. Found documents are counted as
/// already present; a second copy found on the way is queued for removal.
#[allow(clippy::too_many_arguments)]
async fn look_up(
    sink: &Sink<'_>,
    lookup: &dyn IdLookup,
    docs: &[Document],
    pending: Vec<usize>,
    opts: &DeliverOptions,
    dedup: &Dedup,
    stop_at: Instant,
    out: &mut Delivery,
    cleanup: &mut Cleanup,
) -> (Vec<usize>, Vec<usize>) {
    let mut wait = Vec::new();
    // The search target of each suspect, grouped; what is not a suspect goes out now.
    let mut suspects: HashMap<Arc<str>, Vec<usize>> = HashMap::new();
    let mut send = Vec::with_capacity(pending.len());
    match dedup {
        Dedup::Create => return (pending, wait),
        Dedup::Always { search } => {
            suspects.insert(search.as_str().into(), pending);
        }
        Dedup::DataStream => {
            let mut unknown: Vec<Arc<str>> = Vec::new();
            for &i in &pending {
                let t = &docs[i].index;
                if sink.rollovers.needs_refresh(t) && !unknown.contains(t) {
                    unknown.push(t.clone());
                }
            }
            let mut failed: Vec<Arc<str>> = Vec::new();
            for t in unknown {
                let Some(timeout) = time_left(opts, stop_at) else {
                    failed.push(t);
                    continue;
                };
                out.stats.lookups += 1;
                match lookup.write_index(&t, timeout).await {
                    Ok(w) => {
                        debug!(data_stream = %t, write_index = ?w, "write index");
                        sink.rollovers.set(t, w);
                    }
                    Err(e) => {
                        lookup_failed(sink, out, &format!("looking up the write index of {t}"), &e);
                        if sink.rollovers.disabled().is_some() || out.fatal.is_some() {
                            return (pending, wait);
                        }
                        failed.push(t);
                    }
                }
            }
            // Sent before with an unknown outcome, into a write index that is no longer the
            // write index: asked there in real time.
            let mut asked: HashMap<String, Vec<usize>> = HashMap::new();
            let mut uncertain = std::mem::take(&mut cleanup.uncertain);
            if !uncertain.is_empty() {
                // Only this send's own: a streamed first round looks up piece by piece, and an
                // earlier piece's uncertain documents are asked when they are resent.
                let mine: std::collections::HashSet<usize> = pending.iter().copied().collect();
                let (these, later) = uncertain.into_iter().partition(|(i, _)| mine.contains(i));
                uncertain = these;
                cleanup.uncertain = later;
            }
            for (i, sent_to) in uncertain {
                let now_to = sink.rollovers.get(&docs[i].index).map(|w| w.name);
                if let Some(sent_to) = sent_to
                    && now_to.as_deref() != Some(sent_to.as_str())
                    && !failed.contains(&docs[i].index)
                {
                    asked.entry(sent_to).or_default().push(i);
                }
            }
            let mut present: std::collections::HashSet<usize> = Default::default();
            for (index, items) in asked {
                for chunk in items.chunks(rollover::IDS_PER_LOOKUP) {
                    let ids: Vec<&str> = chunk.iter().map(|&i| docs[i].id.as_str()).collect();
                    let Some(timeout) = time_left(opts, stop_at) else {
                        present.extend(chunk);
                        wait.extend_from_slice(chunk);
                        continue;
                    };
                    out.stats.lookups += 1;
                    match lookup.present_in(&index, &ids, timeout).await {
                        Ok(found) => {
                            for &i in chunk {
                                if found.iter().any(|f| *f == docs[i].id) {
                                    present.insert(i);
                                    out.stats.already_present += 1;
                                }
                            }
                        }
                        Err(e) => {
                            lookup_failed(sink, out, &format!("looking up ids in {index}"), &e);
                            if sink.rollovers.disabled().is_none() {
                                present.extend(chunk);
                                wait.extend_from_slice(chunk);
                            }
                        }
                    }
                }
            }
            for i in pending {
                let d = &docs[i];
                if present.contains(&i) {
                    continue;
                }
                if failed.contains(&d.index) {
                    wait.push(i);
                } else if sink.rollovers.is_suspect(&d.index, d.timestamp_ms) {
                    suspects.entry(d.index.clone()).or_default().push(i);
                } else {
                    send.push(i);
                }
            }
        }
    }
    for (target, items) in suspects {
        for chunk in items.chunks(rollover::IDS_PER_LOOKUP) {
            let Some(timeout) = time_left(opts, stop_at) else {
                wait.extend_from_slice(chunk);
                continue;
            };
            let ids: Vec<&str> = chunk.iter().map(|&i| docs[i].id.as_str()).collect();
            out.stats.lookups += 1;
            match lookup.copies(&target, &ids, timeout).await {
                Ok(copies) => {
                    let found = rollover::found_ids(&copies);
                    for &i in chunk {
                        if found.contains(docs[i].id.as_str()) {
                            out.stats.already_present += 1;
                        } else {
                            send.push(i);
                        }
                    }
                    for (index, id) in rollover::extra_copies(&copies) {
                        warn!(index, event.id = %id, "an event is stored twice (a rollover let a re-delivery in); removing the later copy");
                        cleanup.extras.push(Extra {
                            index,
                            id,
                            doc: None,
                        });
                    }
                }
                Err(e) => {
                    lookup_failed(sink, out, &format!("looking up ids in {target}"), &e);
                    if sink.rollovers.disabled().is_some() {
                        send.extend_from_slice(chunk);
                    } else {
                        wait.extend_from_slice(chunk);
                    }
                }
            }
        }
    }
    // Keep the caller's order: bulk bodies follow the events' order.
    send.sort_unstable();
    (send, wait)
}

fn time_left(opts: &DeliverOptions, stop_at: Instant) -> Option<Duration> {
    let now = Instant::now();
    (now < stop_at).then(|| opts.request_timeout.min(stop_at - now))
}

/// Checks the documents created in a backing index the cache didn't know (the data stream
/// rolled over), and deletes every copy that turns out to be a second one.
async fn clean_up(
    sink: &Sink<'_>,
    lookup: &dyn IdLookup,
    docs: &[Document],
    opts: &DeliverOptions,
    stop_at: Instant,
    out: &mut Delivery,
    cleanup: &mut Cleanup,
) {
    // 1. The new write index of every data stream concerned.
    let created = std::mem::take(&mut cleanup.created);
    let mut by_target: HashMap<Arc<str>, Vec<Created>> = HashMap::new();
    for c in created {
        by_target
            .entry(docs[c.doc].index.clone())
            .or_default()
            .push(c);
    }
    for (target, created) in by_target {
        if sink.rollovers.needs_refresh(&target) {
            let Some(timeout) = time_left(opts, stop_at) else {
                cleanup.created.extend(created);
                continue;
            };
            out.stats.lookups += 1;
            match lookup.write_index(&target, timeout).await {
                Ok(w) => sink.rollovers.set(target.clone(), w),
                Err(e) => {
                    lookup_failed(
                        sink,
                        out,
                        &format!("looking up the write index of {target}"),
                        &e,
                    );
                    if sink.rollovers.disabled().is_none() {
                        cleanup.created.extend(created);
                    }
                    continue;
                }
            }
        }
        let write = sink.rollovers.get(&target);
        // 2. Those that may have a copy elsewhere: created before the write index they went
        //    to, or into an index that is no longer the write index.
        let check: Vec<Created> = created
            .into_iter()
            .filter(|c| match &write {
                Some(w) if w.name == c.index => {
                    w.older > 0 && docs[c.doc].timestamp_ms < w.created_ms
                }
                _ => true,
            })
            .collect();
        for chunk in check.chunks(rollover::IDS_PER_LOOKUP) {
            let Some(timeout) = time_left(opts, stop_at) else {
                cleanup.created.extend_from_slice(chunk);
                continue;
            };
            let ids: Vec<&str> = chunk.iter().map(|c| docs[c.doc].id.as_str()).collect();
            out.stats.lookups += 1;
            let mut copies = lookup.copies(&target, &ids, timeout).await;
            // The previous write index, in real time: a first delivery there may be too recent
            // for the search to see.
            let mut previous: Vec<&str> = chunk
                .iter()
                .filter_map(|c| c.previous.as_deref().filter(|p| *p != c.index))
                .collect();
            previous.sort_unstable();
            previous.dedup();
            for p in previous {
                if let Ok(found) = &mut copies {
                    out.stats.lookups += 1;
                    match lookup.present_in(p, &ids, timeout).await {
                        Ok(ids) => found.extend(ids.into_iter().map(|id| rollover::Copy {
                            id,
                            index: p.to_owned(),
                        })),
                        Err(e) => copies = Err(e),
                    }
                }
            }
            match copies {
                Ok(mut copies) => {
                    // Our own copy, even if the search doesn't see it yet.
                    copies.extend(chunk.iter().map(|c| rollover::Copy {
                        id: docs[c.doc].id.clone(),
                        index: c.index.clone(),
                    }));
                    for (index, id) in rollover::extra_copies(&copies) {
                        let doc = chunk
                            .iter()
                            .find(|c| c.index == index && docs[c.doc].id == id)
                            .map(|c| c.doc);
                        warn!(index, event.id = %id, "a re-delivered event was created again after a rollover; removing the copy");
                        cleanup.extras.push(Extra { index, id, doc });
                    }
                }
                Err(e) => {
                    lookup_failed(sink, out, &format!("looking up ids in {target}"), &e);
                    if sink.rollovers.disabled().is_none() {
                        cleanup.created.extend_from_slice(chunk);
                    }
                }
            }
        }
    }
    // 3. Delete the extra copies, from the backing index each is in.
    if cleanup.extras.is_empty() {
        return;
    }
    let Some(timeout) = time_left(opts, stop_at) else {
        return;
    };
    let extras = std::mem::take(&mut cleanup.extras);
    let targets: Vec<(String, String)> = extras
        .iter()
        .map(|e| (e.index.clone(), e.id.clone()))
        .collect();
    let req = request_builder::encode_deletes(&targets);
    out.stats.requests += 1;
    out.stats.bytes_sent += req.body.len() as u64;
    let reply = match sink.client.bulk(&req, timeout).await {
        Ok(r) => r,
        Err(e) => {
            warn!(error.message = %e, "deleting duplicate copies failed; will retry");
            out.last_error = Some(e.to_string());
            cleanup.extras = extras;
            return;
        }
    };
    let results = match (reply.status, response::parse(&reply.body, extras.len())) {
        (200, Ok(r)) => r,
        (status, r) => {
            let why = r.err().map_or_else(
                || format!("HTTP {status}: {}", error_of(&reply.body, status).1),
                |e| e.to_string(),
            );
            warn!(error.message = %why, "deleting duplicate copies failed; will retry");
            out.last_error = Some(format!("deleting duplicate copies: {why}"));
            cleanup.extras = extras;
            return;
        }
    };
    for (e, r) in extras.into_iter().zip(results) {
        match r.status {
            // 404: already gone (deleted by an earlier attempt).
            200..=299 | 404 => {
                out.stats.duplicates_removed += 1;
                if e.doc.is_some() {
                    out.stats.indexed = out.stats.indexed.saturating_sub(1);
                    out.stats.already_present += 1;
                }
            }
            status => {
                warn!(index = %e.index, event.id = %e.id, http.response.status_code = status, "a duplicate copy was not deleted; will retry");
                out.last_error = Some(format!(
                    "deleting a duplicate copy: item {status}: {}",
                    r.error_type.as_deref().unwrap_or("unknown")
                ));
                cleanup.extras.push(e);
            }
        }
    }
}

/// What to change when the cluster's configuration refuses a document (item 403 or 404).
fn misconfiguration(status: u16, error_type: &str, reason: &str, doc: &Document) -> String {
    let target = &doc.index;
    match status {
        403 if reason.contains("auto_create") || reason.contains("auto_configure") => format!(
            "Elasticsearch refused to create `{target}` ({error_type}: {reason}): grant the shipper's credentials the `auto_configure` index privilege on its targets (logs-cloudwatch*-*, logs-shipper.*-*, or the index prefix), or create `{target}` first"
        ),
        403 => format!(
            "the shipper's credentials may not write to `{target}` ({error_type}: {reason}): grant `create_doc` and `auto_configure` on its targets (and `read`, `view_index_metadata`, `delete` for the rollover checks)"
        ),
        _ => format!(
            "`{target}` does not exist and the cluster won't create it ({error_type}: {reason}): run `shipper setup` and allow its creation (`action.auto_create_index`, or `allow_auto_create: true` in its index template), or create it first"
        ),
    }
}

/// `{"error":{"type","reason"},"status"}` of a failed request, or a stand-in.
fn error_of(body: &[u8], status: u16) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let t = e["type"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("http_{status}"));
    let r = e["reason"]
        .as_str()
        .or_else(|| e.as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
    (t, r)
}
