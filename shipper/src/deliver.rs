//! The delivery loop: send every document, resend only what failed, until done or out of time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde_json::Value;
use tracing::{debug, warn};

use crate::document::Document;
use crate::request_builder::{self, Limits};
use crate::response;
use crate::retry::{self, Backoff, ItemOutcome, RequestOutcome};
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
}

impl Stats {
    pub fn add(&mut self, o: &Stats) {
        self.indexed += o.indexed;
        self.already_present += o.already_present;
        self.retried += o.retried;
        self.requests += o.requests;
        self.bytes_sent += o.bytes_sent;
        self.bulk_latency += o.bulk_latency;
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

/// Sends `docs`, retrying only failed items with backoff until `stop_at`.
pub async fn deliver(
    client: &dyn BulkClient,
    docs: &[Document],
    opts: &DeliverOptions,
    stop_at: Instant,
) -> Delivery {
    let mut out = Delivery::default();
    let mut pending: Vec<usize> = (0..docs.len()).collect();
    let mut attempt = 0u32;
    while !pending.is_empty() {
        let mut retry_next = Vec::new();
        let mut queue: VecDeque<Vec<usize>> =
            request_builder::split(docs, &pending, opts.limits).into();
        while let Some(chunk) = queue.pop_front() {
            let now = Instant::now();
            if now >= stop_at {
                retry_next.extend(chunk);
                continue;
            }
            let req = request_builder::encode(docs, chunk, opts.gzip);
            let timeout = opts.request_timeout.min(stop_at - now);
            out.stats.requests += 1;
            out.stats.bytes_sent += req.body.len() as u64;
            let t0 = Instant::now();
            let reply = client.bulk(&req, timeout).await;
            out.stats.bulk_latency += t0.elapsed();
            let reply = match reply {
                Ok(r) => r,
                // A certificate that fails its checks fails them again on every retry: stop
                // now rather than spend the invocation's whole time budget on it.
                Err(e @ TransportError::Tls(_)) => {
                    out.stop(e.to_string(), req.items, queue, retry_next);
                    return out;
                }
                Err(e) => {
                    warn!(error.message = %e, items = req.items.len(), "bulk request failed; will retry");
                    out.last_error = Some(e.to_string());
                    retry_next.extend(req.items);
                    continue;
                }
            };
            if reply.status == 200 {
                match response::parse(&reply.body, req.items.len()) {
                    Ok(results) => {
                        for (&doc, r) in req.items.iter().zip(&results) {
                            match retry::classify_item(r) {
                                ItemOutcome::Indexed => out.stats.indexed += 1,
                                ItemOutcome::AlreadyPresent => out.stats.already_present += 1,
                                ItemOutcome::Retry => {
                                    out.last_error = Some(format!(
                                        "item {}: {}",
                                        r.status,
                                        r.error_type.as_deref().unwrap_or("unknown")
                                    ));
                                    retry_next.push(doc)
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
                        retry_next.extend(req.items);
                    }
                }
                continue;
            }
            let (etype, reason) = error_of(&reply.body, reply.status);
            match retry::classify_status(reply.status) {
                RequestOutcome::Retry => {
                    warn!(http.response.status_code = reply.status, error.type = %etype, "bulk request refused; will retry");
                    out.last_error = Some(format!("HTTP {}: {etype}: {reason}", reply.status));
                    retry_next.extend(req.items);
                }
                RequestOutcome::Split if req.items.len() > 1 => {
                    debug!(items = req.items.len(), bytes = req.uncompressed_len, "413: splitting the request in halves");
                    let mut items = req.items;
                    let back = items.split_off(items.len() / 2);
                    queue.push_front(back);
                    queue.push_front(items);
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
                    out.stop(why, req.items, queue, retry_next);
                    return out;
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
        }
        if retry_next.is_empty() {
            break;
        }
        attempt += 1;
        let delay = opts.backoff.delay(attempt, fastrand::f64());
        if Instant::now() + delay >= stop_at {
            out.undelivered = retry_next;
            break;
        }
        out.stats.retried += retry_next.len() as u64;
        tokio::time::sleep(delay).await;
        pending = retry_next;
    }
    out
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
