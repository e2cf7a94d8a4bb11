//! The project's own `_bulk` server: the faults the emulators can't make, with the behaviour
//! of Elasticsearch as its docs describe it (not as the shipper would like it). It is a test
//! double, not Elasticsearch; every test that uses it also runs against a real cluster where
//! the README says so.
//!
//! What it models, each with the doc page it follows beside the code:
//! - `POST|PUT /_bulk` and `/{target}/_bulk`: NDJSON (`application/x-ndjson` or
//!   `application/json`), the body ending in `\n`, optionally `Content-Encoding: gzip`;
//!   malformed action lines → request-level 400; one item per action, in order;
//!   `filter_path` (inclusions with `*` and `**`). A request's documents are parsed (outside
//!   the server's lock) and written a hundred at a time, as a shard indexes a bulk request
//!   item by item, so two requests in flight may interleave their writes; the answer is
//!   written item by item as the items are made, as Elasticsearch streams it.
//! - Templates (`cluster.rs`): `PUT _index_template`, `_component_template`, `_ilm/policy`
//!   (what `shipper setup` sends), and the built-in `logs` template (`logs-*-*`, priority 100)
//!   with `logs@mappings`, `logs@settings` (`ignore_malformed`, the failure store from 9.2)
//!   and `ecs@mappings`; a new index or data stream takes the highest-priority template.
//! - Data streams with backing indices `.ds-<name>-<date>-<generation>`: only `create`,
//!   `@timestamp` required, `POST <ds>/_rollover`, `GET _data_stream/<ds>`; `create` of a
//!   stored `_id` → 409 only within the write index (after a rollover the same `_id` is
//!   accepted again: elastic/elasticsearch#44794); the failure store keeps documents the
//!   mappings refuse (item 201, `failure_store: used`).
//! - Mappings (`mapping.rs`): explicit ones from templates, dynamic templates, dynamic mapping
//!   by JSON type; a value of the wrong type → item 400 `document_parsing_exception`, or
//!   ignored (`_ignored`) where `ignore_malformed` applies; `flattened` never conflicts.
//! - Reads the shipper makes: `GET <target>/_settings`, `_search` (`ids`, `match_all`),
//!   `_mget` (real time), `_count`, `_refresh`; `POST <index>/_close`, `DELETE <index>`.
//! - Auto-creation: `action.auto_create_index` and a template's `allow_auto_create` (item 404
//!   `index_not_found_exception`), the `auto_configure` privilege (item 403
//!   `security_exception`).
//! - `http.max_content_length` (default 100mb) on the body *before* compression → 413.
//! - Security: 401 + `WWW-Authenticate` when credentials are required and missing or wrong.
//! - Faults, deterministic by seed: request 429 (coordinating rejection), item and per-shard
//!   429 (primary rejection), per-shard 503 `unavailable_shards_exception`, item 400s, 503
//!   bursts, 200 answers without items, dropped connections (before or after the writes are
//!   applied), slow answers, rollovers between requests.
//!
//! Not modelled: `update`, queries beyond `ids`/`match_all`, the `[line:column]` prefix of
//! parsing errors, replicas, refresh (writes are searchable at once; a real search sees them
//! after the next refresh, `_mget` at once).

// Error answers travel as `Err(Response)`: their size is no concern in a test server.
#![allow(dead_code, clippy::result_large_err)]

// Paths spelled out so `benches/lambda.rs` can include this file with `#[path]` (which
// would otherwise look for these beside it, not in `bulk_server/`).
#[path = "bulk_server/cluster.rs"]
mod cluster; // templates, indices, data streams, rollover
#[path = "bulk_server/mapping.rs"]
mod mapping; // field types, dynamic mapping, ignore_malformed
#[cfg(test)]
#[path = "bulk_server/tests.rs"]
mod tests; //   the server's own behaviour, request by request
#[path = "bulk_server/wire.rs"]
mod wire; //    NDJSON, encodings, query strings, filter_path, error bodies

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use base64::Engine;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use cluster::{Composed, DataStream, Index, Stored, Template, Templates, backing_name};
use mapping::DocCheck;
use wire::{
    Action, Parsed, error_body, es_error, filter_path, glob, inflate_body, invalid_index_name,
    json_response, parse_bulk, query_param,
};

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

/// Credentials the server accepts; none = security off.
#[derive(Debug, Clone)]
pub enum Credential {
    Basic {
        user: String,
        password: String,
    },
    /// The encoded key, as sent in `Authorization: ApiKey <encoded>`.
    ApiKey(String),
}

/// `action.auto_create_index`:
/// https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/index-management-settings
#[derive(Debug, Clone, Default)]
pub enum AutoCreate {
    #[default]
    True,
    False,
    /// Comma list of patterns, `-` to exclude, first match wins.
    Patterns(Vec<String>),
}

/// Injected faults. Every random draw comes from one generator seeded with `seed`, in request
/// order, so a sequential client sees the same faults on every run.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    pub seed: u64,
    /// Per item and attempt: 429 `es_rejected_execution_exception`.
    pub item_429_rate: f64,
    /// Per document (a hash of seed, target and `_id`, so the same document is refused every
    /// time, like a real mapping problem): item 400. Never for an `_id` already stored.
    pub item_400_rate: f64,
    /// Only targets starting with this prefix get injected 400s (None = all).
    pub item_400_target_prefix: Option<String>,
    /// Per request: the chance that a burst of `burst_503_len` consecutive 503s starts.
    pub burst_503_rate: f64,
    pub burst_503_len: u32,
    /// Every bulk request answers 503 (a cluster that stays unavailable).
    pub always_503: bool,
    /// Per request: 429 for the whole request (the coordinating node's indexing pressure).
    pub request_429_rate: f64,
    /// Per request and shard written to: every item of that shard gets 429 (primary
    /// rejection) or 503 `unavailable_shards_exception`.
    pub shard_429_rate: f64,
    pub shard_503_rate: f64,
    /// Per request: 200 `{"errors":false}` without items and nothing applied (a proxy or a
    /// broken server answering for the cluster).
    pub empty_200_rate: f64,
    /// Per request: every data stream the request writes to rolls over before it is applied.
    pub rollover_rate: f64,
    /// Per request: the connection is closed without an answer, nothing written.
    pub drop_before_rate: f64,
    /// Per request: the writes are applied, then the connection is closed without an answer.
    pub drop_after_rate: f64,
    /// Per request: the answer comes after `slow` (the writes are applied first).
    pub slow_rate: f64,
    pub slow: Duration,
    /// What the next bulk requests meet, in order, before the random faults apply again: for
    /// a test that needs one exact sequence.
    pub script: Vec<Step>,
}

/// One scripted bulk request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Step {
    /// Answered as usual (no random fault).
    Normal,
    /// Applied, then the connection is closed without an answer.
    DropAfter,
    /// Applied; then the data streams it wrote to roll over (ILM's periodic check); then the
    /// connection is closed without an answer.
    DropAfterThenRollover,
    /// The data streams it writes to roll over first.
    RolloverFirst,
    /// 200 `{"errors":false}` without items, nothing applied.
    Empty200,
    /// 503 for the whole request.
    Unavailable,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `http.max_content_length`, on the decompressed body.
    pub max_content_length: usize,
    pub credentials: Vec<Credential>,
    pub faults: Faults,
    pub auto_create_index: AutoCreate,
    /// The caller lacks the `auto_configure` (and `create_index`, `manage`, `all`) index
    /// privilege: a write that would create a data stream or index gets item 403.
    pub no_auto_configure: bool,
    /// `logs@settings` turns the failure store on (Elasticsearch 9.2 and later).
    pub logs_failure_store: bool,
    /// The caller may write but not read (no `read`, `view_index_metadata`): settings, search
    /// and `_mget` answer 403.
    pub no_read: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/networking-settings
            // `http.max_content_length` defaults to 100mb (ByteSizeValue: 1024-based).
            max_content_length: 100 * 1024 * 1024,
            credentials: Vec::new(),
            faults: Faults::default(),
            auto_create_index: AutoCreate::True,
            no_auto_configure: false,
            // The version `GET /` reports (9.5) has it.
            logs_failure_store: true,
            no_read: false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

/// Counters, for tests to see which faults actually happened.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Every HTTP request, any route.
    pub requests: u64,
    /// `METHOD /path` of every request, in order.
    pub log: Vec<String>,
    pub bulk_requests: u64,
    /// Bytes of `_bulk` bodies as received (compressed when they were sent compressed).
    pub bulk_bytes: u64,
    /// Requests by route kind (`settings`, `search`, `mget`, `rollover`, …).
    pub reads: BTreeMap<&'static str, u64>,
    /// Request-level statuses of `_bulk` answers actually sent (dropped ones excluded).
    pub bulk_status: BTreeMap<u16, u64>,
    /// Item statuses, over all answered and unanswered bulk requests.
    pub item_status: BTreeMap<u16, u64>,
    pub dropped: u64,
    pub slowed: u64,
    pub empty_200: u64,
    pub rollovers: u64,
    pub deletes: u64,
    /// (target, `_id`) refused by an injected item 400.
    pub injected_400: BTreeSet<(String, String)>,
    /// Documents the failure store kept.
    pub failure_store: u64,
    /// Time spent answering `_bulk` requests (body in hand → answer built), for the bench to
    /// tell the server's share of an invocation from the function's.
    pub bulk_busy: Duration,
    /// Each `_bulk` request's moment its body was in hand and time answering it: the bench
    /// lays them over each invocation to show when the server waited for the function.
    pub bulk_spans: Vec<(Instant, Duration)>,
    /// `_bulk` requests being answered now, and the most there have been at once.
    pub bulk_in_flight: usize,
    pub max_bulk_in_flight: usize,
}

impl Stats {
    pub fn bulk(&self, status: u16) -> u64 {
        self.bulk_status.get(&status).copied().unwrap_or(0)
    }
    pub fn items(&self, status: u16) -> u64 {
        self.item_status.get(&status).copied().unwrap_or(0)
    }
    pub fn reads(&self, kind: &str) -> u64 {
        self.reads.get(kind).copied().unwrap_or(0)
    }
}

struct Inner {
    settings: Settings,
    rng: fastrand::Rng,
    burst_left: u32,
    templates: Templates,
    indices: BTreeMap<String, Index>,
    data_streams: BTreeMap<String, DataStream>,
    seq_no: u64,
    stats: Stats,
    /// (data stream, `_id`) created while another backing index of it already held the `_id`:
    /// a duplicate, even if it was removed later.
    created_twice: BTreeSet<(String, String)>,
}

struct Shared(Mutex<Inner>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Who is asking, for the messages of a 403.
#[derive(Clone, Debug)]
struct Principal(String);

/// A running server; stopped when dropped.
pub struct BulkServer {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for BulkServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl BulkServer {
    /// Starts a server on 127.0.0.1 (a free port) on the current Tokio runtime.
    pub async fn start(settings: Settings) -> BulkServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let url = format!(
            "http://{}",
            listener.local_addr().expect("the bound address")
        );
        let shared = Arc::new(Shared(Mutex::new(Inner {
            rng: fastrand::Rng::with_seed(settings.faults.seed),
            templates: Templates::builtin(settings.logs_failure_store),
            settings,
            burst_left: 0,
            indices: BTreeMap::new(),
            data_streams: BTreeMap::new(),
            seq_no: 0,
            stats: Stats::default(),
            created_twice: BTreeSet::new(),
        })));
        let app = Router::new()
            .route("/", get(root))
            .route("/_bulk", post(bulk_all).put(bulk_all))
            .route("/_mget", post(mget_all).get(mget_all))
            .route("/_data_stream/{name}", get(get_data_stream))
            .route(
                "/_index_template/{name}",
                axum::routing::put(put_index_template).get(get_index_template),
            )
            .route(
                "/_component_template/{name}",
                axum::routing::put(put_component_template).get(get_component_template),
            )
            .route(
                "/_ilm/policy/{name}",
                axum::routing::put(put_ilm_policy).get(get_ilm_policy),
            )
            .route("/{target}", axum::routing::delete(delete_index))
            .route("/{target}/_bulk", post(bulk_target).put(bulk_target))
            .route("/{target}/_refresh", post(refresh).get(refresh))
            .route("/{target}/_count", post(count).get(count))
            .route("/{target}/_search", post(search).get(search))
            .route("/{target}/_mget", post(mget_target).get(mget_target))
            .route("/{target}/_settings", get(get_settings_all))
            .route("/{target}/_settings/{names}", get(get_settings))
            .route("/{target}/_rollover", post(rollover))
            .route("/{target}/_close", post(close_index))
            .fallback(no_handler)
            .layer(middleware::from_fn_with_state(shared.clone(), security))
            // The server applies `http.max_content_length` itself, after inflating.
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                KillableListener(listener),
                app.into_make_service_with_connect_info::<Conn>(),
            )
            .await;
        });
        BulkServer { url, shared, task }
    }

    pub async fn with_defaults() -> BulkServer {
        BulkServer::start(Settings::default()).await
    }

    /// A server after `shipper setup` (data stream mode): the shipper's own templates.
    pub async fn with_setup(settings: Settings) -> BulkServer {
        let s = BulkServer::start(settings).await;
        s.setup(shipper::setup::Target::DataStream).await;
        s
    }

    /// Runs the shipper's `setup` against this server, as `shipper setup` does.
    pub async fn setup(&self, target: shipper::setup::Target) {
        let creds = self.shared.lock().settings.credentials.first().cloned();
        let mut conn = crate::support::connection(&self.url);
        match creds {
            Some(Credential::Basic { user, password }) => {
                conn.username = Some(user);
                conn.password = Some(password);
            }
            Some(Credential::ApiKey(k)) => conn.api_key = Some(k),
            None => {}
        }
        let es = shipper::service::build_client(&conn).expect("client");
        let settings = shipper::setup::SetupSettings {
            target,
            ..Default::default()
        };
        let mut out = Vec::new();
        let report = shipper::setup::run(&es, None, &settings, false, &mut out)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "shipper setup against the test server: {e}\n{}",
                    String::from_utf8_lossy(&out)
                )
            });
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces the fault settings (the random generator keeps its sequence).
    pub fn set_faults(&self, faults: Faults) {
        let mut g = self.shared.lock();
        g.burst_left = 0;
        g.settings.faults = faults;
    }

    pub fn set_max_content_length(&self, bytes: usize) {
        self.shared.lock().settings.max_content_length = bytes;
    }

    pub fn set_auto_create_index(&self, a: AutoCreate) {
        self.shared.lock().settings.auto_create_index = a;
    }

    pub fn set_no_auto_configure(&self, no: bool) {
        self.shared.lock().settings.no_auto_configure = no;
    }

    /// Data streams and indices (not backing or failure-store indices).
    pub fn targets(&self) -> Vec<String> {
        let g = self.shared.lock();
        let mut t: Vec<String> = g.data_streams.keys().cloned().collect();
        t.extend(
            g.indices
                .values()
                .filter(|i| i.data_stream.is_none())
                .map(|i| i.name.clone()),
        );
        t.sort();
        t
    }

    /// Documents stored in `target` (a data stream's backing indices, or an index; 0 when it
    /// doesn't exist).
    pub fn count(&self, target: &str) -> usize {
        let g = self.shared.lock();
        g.read_indices(target)
            .iter()
            .map(|n| g.indices[n].docs.len())
            .sum()
    }

    /// Every stored `_id` of `target`, sorted (an `_id` in two backing indices shows twice).
    pub fn ids(&self, target: &str) -> Vec<String> {
        let g = self.shared.lock();
        let mut ids: Vec<String> = g
            .read_indices(target)
            .iter()
            .flat_map(|n| g.indices[n].docs.keys().cloned())
            .collect();
        ids.sort();
        ids
    }

    pub fn doc(&self, target: &str, id: &str) -> Option<Value> {
        let g = self.shared.lock();
        g.read_indices(target)
            .iter()
            .find_map(|n| g.indices[n].docs.get(id).map(|d| d.source.clone()))
    }

    /// The fields of a stored document that were not indexed (`_ignored`).
    pub fn ignored(&self, target: &str, id: &str) -> Vec<String> {
        let g = self.shared.lock();
        g.read_indices(target)
            .iter()
            .find_map(|n| g.indices[n].docs.get(id).map(|d| d.ignored.clone()))
            .unwrap_or_default()
    }

    pub fn docs(&self, target: &str) -> Vec<(String, Value)> {
        let g = self.shared.lock();
        g.read_indices(target)
            .iter()
            .flat_map(|n| {
                g.indices[n]
                    .docs
                    .iter()
                    .map(|(k, v)| (k.clone(), v.source.clone()))
            })
            .collect()
    }

    /// Every stored (data stream or index, `_id`).
    pub fn all_ids(&self) -> Vec<(String, String)> {
        let g = self.shared.lock();
        g.indices
            .values()
            .filter(|i| !i.failure_store)
            .flat_map(|i| {
                let owner = i.data_stream.clone().unwrap_or_else(|| i.name.clone());
                i.docs.keys().map(move |id| (owner.clone(), id.clone()))
            })
            .collect()
    }

    /// Events stored twice now: an `_id` in more than one backing index of a data stream, or
    /// written more than once to an index. (target, `_id`, copies or writes)
    pub fn duplicates(&self) -> Vec<(String, String, u32)> {
        let g = self.shared.lock();
        let mut out = Vec::new();
        for ds in g.data_streams.values() {
            let mut n: BTreeMap<&str, u32> = BTreeMap::new();
            for i in &ds.indices {
                for id in g.indices[i].docs.keys() {
                    *n.entry(id).or_default() += 1;
                }
            }
            out.extend(
                n.into_iter()
                    .filter(|(_, c)| *c > 1)
                    .map(|(id, c)| (ds.name.clone(), id.to_owned(), c)),
            );
        }
        for i in g.indices.values().filter(|i| i.data_stream.is_none()) {
            out.extend(
                i.writes
                    .iter()
                    .filter(|(_, w)| **w > 1)
                    .map(|(id, w)| (i.name.clone(), id.clone(), *w)),
            );
        }
        out
    }

    /// (data stream, `_id`) ever created while another backing index held it, even if one of
    /// the copies was deleted since.
    pub fn created_twice(&self) -> Vec<(String, String)> {
        self.shared.lock().created_twice.iter().cloned().collect()
    }

    /// How many times `_id` was written successfully to `target`.
    pub fn writes(&self, target: &str, id: &str) -> u32 {
        let g = self.shared.lock();
        g.read_indices(target)
            .iter()
            .map(|n| g.indices[n].writes.get(id).copied().unwrap_or(0))
            .sum()
    }

    /// The mapped type of a field path in `target`'s write index, e.g. `"long"`.
    pub fn field_type(&self, target: &str, path: &str) -> Option<String> {
        let g = self.shared.lock();
        let index = g.write_index_of(target)?;
        g.indices
            .get(&index)
            .and_then(|i| i.field(path).map(|f| f.ty.to_string()))
    }

    /// A data stream's backing indices, oldest first.
    pub fn backing_indices(&self, data_stream: &str) -> Vec<String> {
        self.shared
            .lock()
            .data_streams
            .get(data_stream)
            .map_or_else(Vec::new, |d| d.indices.clone())
    }

    /// The documents a data stream's failure store holds.
    pub fn failure_store_docs(&self, data_stream: &str) -> Vec<Value> {
        let g = self.shared.lock();
        g.data_streams.get(data_stream).map_or_else(Vec::new, |d| {
            d.failure_indices
                .iter()
                .flat_map(|i| g.indices[i].docs.values().map(|s| s.source.clone()))
                .collect()
        })
    }

    /// Rolls `data_stream` over now, as `POST <ds>/_rollover` does; the new write index.
    pub fn rollover(&self, data_stream: &str) -> String {
        self.rollover_created_at(data_stream, now_ms())
    }

    /// The same with the new write index's `index.creation_date` set to `created_ms`.
    pub fn rollover_created_at(&self, data_stream: &str, created_ms: i64) -> String {
        let mut g = self.shared.lock();
        g.rollover(data_stream, created_ms)
            .unwrap_or_else(|e| panic!("rollover of {data_stream}: {e}"))
    }

    pub fn stats(&self) -> Stats {
        self.shared.lock().stats.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Connections that a handler can cut
// ---------------------------------------------------------------------------------------------

/// Per connection: set to make the next read or write fail, so hyper closes the socket
/// without sending the answer (a node dying mid-request, a proxy resetting).
#[derive(Clone, Debug)]
struct Conn {
    peer: SocketAddr,
    kill: Arc<AtomicBool>,
}

struct KillableListener(tokio::net::TcpListener);

struct KillableIo {
    stream: tokio::net::TcpStream,
    kill: Arc<AtomicBool>,
}

fn reset() -> std::io::Error {
    std::io::Error::from(std::io::ErrorKind::ConnectionReset)
}

impl AsyncRead for KillableIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if self.kill.load(Ordering::SeqCst) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.stream).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Listener for KillableListener {
    type Io = KillableIo;
    type Addr = Conn;

    async fn accept(&mut self) -> (KillableIo, Conn) {
        loop {
            match self.0.accept().await {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let kill = Arc::new(AtomicBool::new(false));
                    return (
                        KillableIo {
                            stream,
                            kill: kill.clone(),
                        },
                        Conn { peer, kill },
                    );
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Conn> {
        Ok(Conn {
            peer: self.0.local_addr()?,
            kill: Arc::new(AtomicBool::new(false)),
        })
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for Conn {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        stream.remote_addr().clone()
    }
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

/// https://www.elastic.co/docs/deploy-manage/users-roles/cluster-or-deployment-auth/user-authentication
/// (the realm chain: Basic for native/file users, `ApiKey` for API keys). A request without
/// valid credentials gets 401 `security_exception` with one `WWW-Authenticate` header per
/// scheme, before anything else is looked at.
async fn security(State(sh): State<Arc<Shared>>, mut req: Request, next: Next) -> Response {
    let creds = {
        let mut g = sh.lock();
        g.stats.requests += 1;
        g.stats
            .log
            .push(format!("{} {}", req.method(), req.uri().path()));
        g.settings.credentials.clone()
    };
    let uri = req.uri().to_string();
    if !creds.is_empty() {
        let given = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let reason = match given.as_deref().map(parse_authorization) {
            None => Some(format!(
                "missing authentication credentials for REST request [{uri}]"
            )),
            Some(Presented::Basic(user, pass)) => {
                let ok = creds.iter().any(|c| matches!(c, Credential::Basic { user: u, password: p } if *u == user && *p == pass));
                (!ok).then(|| {
                    format!("unable to authenticate user [{user}] for REST request [{uri}]")
                })
            }
            Some(Presented::ApiKey(k)) => {
                let ok = creds
                    .iter()
                    .any(|c| matches!(c, Credential::ApiKey(key) if *key == k));
                (!ok).then(|| "unable to authenticate with provided credentials and anonymous access is not allowed for this request".to_owned())
            }
            Some(Presented::Other) => Some(format!(
                "missing authentication credentials for REST request [{uri}]"
            )),
        };
        let principal = match given.as_deref().map(parse_authorization) {
            Some(Presented::Basic(user, _)) => format!("user [{user}] with roles [shipper]"),
            Some(Presented::ApiKey(k)) => {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .unwrap_or_default();
                let decoded = String::from_utf8_lossy(&decoded).into_owned();
                let id = decoded.split_once(':').map_or(decoded.as_str(), |(i, _)| i);
                format!("API key id [{id}] of user [shipper]")
            }
            _ => "user [_anonymous] with roles []".to_owned(),
        };
        req.extensions_mut().insert(Principal(principal));
        if let Some(reason) = reason {
            let schemes = [r#"Basic realm="security", charset="UTF-8""#, "ApiKey"];
            let body = error_body(
                StatusCode::UNAUTHORIZED,
                "security_exception",
                &reason,
                Some(json!({"WWW-Authenticate": schemes})),
            );
            let mut r = json_response(StatusCode::UNAUTHORIZED, &body);
            for s in schemes {
                r.headers_mut()
                    .append(header::WWW_AUTHENTICATE, HeaderValue::from_static(s));
            }
            return product(r);
        }
    }
    product(next.run(req).await)
}

/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions
/// Every answer carries `X-elastic-product: Elasticsearch` (clients check it).
fn product(mut r: Response) -> Response {
    r.headers_mut().insert(
        "x-elastic-product",
        HeaderValue::from_static("Elasticsearch"),
    );
    r
}

enum Presented {
    Basic(String, String),
    ApiKey(String),
    Other,
}

fn parse_authorization(v: &str) -> Presented {
    let (scheme, rest) = v.split_once(' ').unwrap_or((v, ""));
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .unwrap_or_default();
        let s = String::from_utf8_lossy(&decoded).into_owned();
        let (u, p) = s.split_once(':').unwrap_or((&s, ""));
        return Presented::Basic(u.to_owned(), p.to_owned());
    }
    if scheme.eq_ignore_ascii_case("apikey") {
        return Presented::ApiKey(rest.trim().to_owned());
    }
    Presented::Other
}

// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Names → indices
// ---------------------------------------------------------------------------------------------

/// An item's failure: status, error type, reason, and the index to name in the item.
struct ItemError {
    status: u16,
    etype: &'static str,
    reason: String,
    index: String,
}

impl Inner {
    /// What a read of `expr` covers, for the test accessors: a data stream's backing indices,
    /// an index, or what a pattern matches. Unknown names cover nothing.
    fn read_indices(&self, expr: &str) -> Vec<String> {
        self.resolve_read(expr, true).unwrap_or_default()
    }

    /// Index names behind a comma list of data streams, indices and patterns:
    /// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions#api-multi-index
    /// (a data stream stands for its backing indices; `*` doesn't match hidden indices — the
    /// `.ds-` backing indices — but matches data stream names; a missing concrete name is
    /// `index_not_found_exception` unless `ignore_unavailable`).
    fn resolve_read(&self, expr: &str, ignore_unavailable: bool) -> Result<Vec<String>, Response> {
        let mut out: Vec<String> = Vec::new();
        for part in expr.split(',').filter(|p| !p.is_empty()) {
            if part.contains('*') {
                for ds in self.data_streams.values().filter(|d| glob(part, &d.name)) {
                    out.extend(ds.indices.iter().cloned());
                }
                out.extend(
                    self.indices
                        .values()
                        .filter(|i| !i.name.starts_with('.') && glob(part, &i.name))
                        .map(|i| i.name.clone()),
                );
            } else if let Some(ds) = self.data_streams.get(part) {
                out.extend(ds.indices.iter().cloned());
            } else if self.indices.contains_key(part) {
                out.push(part.to_owned());
            } else if !ignore_unavailable {
                return Err(index_not_found(part));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    fn write_index_of(&self, target: &str) -> Option<String> {
        match self.data_streams.get(target) {
            Some(ds) => Some(ds.write_index().to_owned()),
            None => self.indices.contains_key(target).then(|| target.to_owned()),
        }
    }

    /// https://www.elastic.co/docs/manage-data/data-store/data-streams/use-data-stream#manually-roll-over-a-data-stream
    /// A new write index of the next generation, made from the data stream's template as it
    /// is now.
    fn rollover(&mut self, name: &str, created_ms: i64) -> Result<String, String> {
        let Some(ds) = self.data_streams.get(name) else {
            return Err(if self.indices.contains_key(name) {
                "rollover target is a [concrete index] but one of [alias,data_stream] was expected"
                    .into()
            } else {
                format!("no such index [{name}]")
            });
        };
        let template = self.templates.index.get(&ds.template).cloned();
        let composed = template
            .map(|t| self.templates.compose(&t))
            .unwrap_or_default();
        let generation = ds.generation + 1;
        let index = backing_name(".ds", name, created_ms, generation);
        self.indices.insert(
            index.clone(),
            Index::new(&index, &composed, created_ms, Some(name), false),
        );
        if let Some(ds) = self.data_streams.get_mut(name) {
            ds.generation = generation;
            ds.indices.push(index.clone());
        }
        self.stats.rollovers += 1;
        Ok(index)
    }

    /// The concrete index a write to `name` goes to, creating the data stream or index first
    /// when the cluster allows it. `op` is the action's op type.
    fn write_target(&mut self, name: &str, op: &str, principal: &str) -> Result<String, ItemError> {
        let fail = |status, etype, reason: String| ItemError {
            status,
            etype,
            reason,
            index: name.to_owned(),
        };
        if let Some(reason) = invalid_index_name(name) {
            return Err(fail(400, "invalid_index_name_exception", reason));
        }
        if let Some(ds) = self.data_streams.get(name) {
            // https://www.elastic.co/docs/manage-data/data-store/data-streams/use-data-stream#add-documents-to-a-data-stream
            // "Only an op_type of create is supported"; deletes must name the backing index.
            if op != "create" {
                return Err(fail(
                    400,
                    "illegal_argument_exception",
                    "only write ops with an op_type of create are allowed in data streams".into(),
                ));
            }
            return Ok(ds.write_index().to_owned());
        }
        if let Some(i) = self.indices.get(name) {
            if let Some(ds) = &i.data_stream
                && op != "delete"
            {
                // https://www.elastic.co/docs/manage-data/data-store/data-streams/use-data-stream#update-delete-docs-in-a-backing-index
                // (a backing index takes updates with if_seq_no/if_primary_term and deletes,
                // not new documents).
                return Err(fail(
                    400,
                    "illegal_argument_exception",
                    format!(
                        "index request with op_type=create targeting backing indices is disallowed, target corresponds to data stream [{ds}]"
                    ),
                ));
            }
            return Ok(name.to_owned());
        }
        if op == "delete" {
            return Err(ItemError {
                status: 404,
                etype: "index_not_found_exception",
                reason: format!("no such index [{name}]"),
                index: name.to_owned(),
            });
        }
        // Auto-creation.
        // https://www.elastic.co/docs/deploy-manage/users-roles/cluster-or-deployment-auth/elasticsearch-privileges
        // (`auto_configure`: "Permits auto-creation of indices and data streams"); the message
        // is Elasticsearch's AuthorizationService one.
        if self.settings.no_auto_configure {
            return Err(fail(
                403,
                "security_exception",
                format!(
                    "action [indices:admin/auto_create] is unauthorized for {principal} on indices [{name}], this action is granted by the index privileges [auto_configure,create_index,manage,all]"
                ),
            ));
        }
        let template = self.templates.find(name).cloned();
        if template.as_ref().is_some_and(|t| t.data_stream) && op != "create" {
            return Err(fail(
                400,
                "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams".into(),
            ));
        }
        // AutoCreateIndex.shouldAutoCreate: a template's allow_auto_create decides first, then
        // `action.auto_create_index` (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-index-template).
        match template.as_ref().and_then(|t| t.allow_auto_create) {
            Some(true) => {}
            Some(false) => {
                let t = template
                    .as_ref()
                    .map(|t| t.patterns.clone())
                    .unwrap_or_default();
                return Err(fail(
                    404,
                    "index_not_found_exception",
                    format!(
                        "no such index [composable template {t:?} forbids index auto creation]"
                    ),
                ));
            }
            None => match &self.settings.auto_create_index {
                AutoCreate::True => {}
                AutoCreate::False => {
                    return Err(fail(
                        404,
                        "index_not_found_exception",
                        format!("no such index [{name}] and [action.auto_create_index] is [false]"),
                    ));
                }
                AutoCreate::Patterns(p) => {
                    let verdict = p.iter().find_map(|pat| match pat.strip_prefix('-') {
                        Some(neg) if glob(neg, name) => Some(Err(neg.to_owned())),
                        None if glob(pat.trim_start_matches('+'), name) => Some(Ok(())),
                        _ => None,
                    });
                    match verdict {
                        Some(Ok(())) => {}
                        Some(Err(neg)) => {
                            return Err(fail(
                                404,
                                "index_not_found_exception",
                                format!(
                                    "no such index [{name}] and [action.auto_create_index] contains [-{neg}] which forbids automatic creation of the index"
                                ),
                            ));
                        }
                        None => {
                            return Err(fail(
                                404,
                                "index_not_found_exception",
                                format!(
                                    "no such index [{name}] and [action.auto_create_index] ([{}]) doesn't match",
                                    p.join(",")
                                ),
                            ));
                        }
                    }
                }
            },
        }
        let now = now_ms();
        let composed = template
            .as_ref()
            .map(|t| self.templates.compose(t))
            .unwrap_or_default();
        match template.filter(|t| t.data_stream) {
            Some(t) => {
                let index = backing_name(".ds", name, now, 1);
                self.indices.insert(
                    index.clone(),
                    Index::new(&index, &composed, now, Some(name), false),
                );
                self.data_streams.insert(
                    name.to_owned(),
                    DataStream {
                        name: name.to_owned(),
                        indices: vec![index.clone()],
                        failure_indices: Vec::new(),
                        failure_store: composed.failure_store,
                        generation: 1,
                        template: t.name.clone(),
                    },
                );
                Ok(index)
            }
            None => {
                self.indices.insert(
                    name.to_owned(),
                    Index::new(name, &composed, now, None, false),
                );
                Ok(name.to_owned())
            }
        }
    }

    /// Keeps a document the mappings refused in the data stream's failure store, as
    /// https://www.elastic.co/docs/manage-data/data-store/data-streams/failure-store describes
    /// (its failure index is created on first use; the item answers 201 with
    /// `failure_store: used`). `None` when the data stream has no failure store.
    fn keep_in_failure_store(
        &mut self,
        data_stream: &str,
        target: &str,
        id: &str,
        raw: &[u8],
        etype: &str,
        reason: &str,
    ) -> Option<Value> {
        let now = now_ms();
        let ds = self
            .data_streams
            .get(data_stream)
            .filter(|d| d.failure_store)?;
        let fs = match ds.failure_indices.last() {
            Some(f) => f.clone(),
            None => {
                let generation = ds.generation + 1;
                let name = backing_name(".fs", data_stream, now, generation);
                self.indices.insert(
                    name.clone(),
                    Index::new(&name, &Composed::default(), now, Some(data_stream), true),
                );
                if let Some(ds) = self.data_streams.get_mut(data_stream) {
                    ds.generation = generation;
                    ds.failure_indices.push(name.clone());
                }
                name
            }
        };
        let source = serde_json::from_slice::<Value>(raw)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(raw).into_owned()));
        let index = self.indices.get_mut(&fs)?;
        index.auto_id += 1;
        let key = format!("fs-{:012}", index.auto_id);
        index.docs.insert(
            key,
            Stored {
                source: json!({
                    "@timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "document": {"id": id, "index": target, "source": source},
                    "error": {"type": etype, "message": reason},
                }),
                ignored: Vec::new(),
            },
        );
        self.seq_no += 1;
        self.stats.failure_store += 1;
        let mut v = ok_item(&fs, id, 1, "created", self.seq_no, 201);
        v["failure_store"] = json!("used");
        Some(v)
    }
}

fn index_not_found(name: &str) -> Response {
    // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-count (404).
    let body = json!({"error": {"root_cause": [{"type": "index_not_found_exception", "reason": format!("no such index [{name}]"), "index": name, "resource.type": "index_or_alias", "resource.id": name}],
        "type": "index_not_found_exception", "reason": format!("no such index [{name}]"), "index": name, "resource.type": "index_or_alias", "resource.id": name}, "status": 404});
    json_response(StatusCode::NOT_FOUND, &body)
}

fn ok_item(index: &str, id: &str, version: u64, result: &str, seq_no: u64, status: u16) -> Value {
    json!({"_index": index, "_id": id, "_version": version, "result": result,
           "_shards": {"total": 2, "successful": 1, "failed": 0},
           "_seq_no": seq_no, "_primary_term": 1, "status": status})
}

fn fail_item(
    index: &str,
    id: Option<&str>,
    status: u16,
    etype: &str,
    reason: String,
) -> (u16, Value) {
    let mut v = json!({"_index": index, "status": status, "error": {"type": etype, "reason": reason, "index": index}});
    if let Some(id) = id {
        v["_id"] = json!(id);
    }
    (status, v)
}

/// FNV-1a of (seed, target, id) → [0, 1).
fn unit_hash(seed: u64, target: &str, id: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed
        .to_le_bytes()
        .iter()
        .chain(target.as_bytes())
        .chain([0u8].iter())
        .chain(id.as_bytes())
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    // Mix the low bits up before taking the top 53.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

// ---------------------------------------------------------------------------------------------
// _bulk
// ---------------------------------------------------------------------------------------------

/// A document that passed its checks: its source, the fields it ignores, the fields it adds.
type Checked = (
    serde_json::Map<String, Value>,
    Vec<String>,
    BTreeMap<String, mapping::Field>,
);
/// Why a document was refused: error type, reason, cause.
type Refusal = (&'static str, String, Option<(&'static str, String)>);

/// One bulk request between [`Inner::bulk_begin`] and [`Inner::bulk_finish`]: what was
/// decided for it as a whole, and its answer so far.
struct BulkRun<'p> {
    /// The items not written yet: each action's target (its `_index`, or the path's) and
    /// concrete index.
    pending: std::vec::IntoIter<(String, Result<String, ItemError>)>,
    /// The data streams among the targets.
    streams: Vec<String>,
    shard_fate: BTreeMap<(String, u32), Option<(u16, &'static str)>>,
    shard_count: BTreeMap<(String, u32), usize>,
    answer: wire::BulkAnswer<'p>,
    errors: bool,
}

/// What the faults decided for one request.
struct Plan {
    unavailable: bool,
    rejected: bool,
    empty: bool,
    rollover: bool,
    rollover_after: bool,
    drop_before: bool,
    drop_after: bool,
    slow: Option<Duration>,
}

impl Inner {
    fn plan(&mut self) -> Plan {
        if !self.settings.faults.script.is_empty() {
            let step = self.settings.faults.script.remove(0);
            return Plan {
                unavailable: step == Step::Unavailable,
                rejected: false,
                empty: step == Step::Empty200,
                rollover: step == Step::RolloverFirst,
                rollover_after: step == Step::DropAfterThenRollover,
                drop_before: false,
                drop_after: matches!(step, Step::DropAfter | Step::DropAfterThenRollover),
                slow: None,
            };
        }
        // Always the same draws per request, whatever they decide: the sequence stays aligned.
        let (r_drop, r_slow, r_503) = (self.rng.f64(), self.rng.f64(), self.rng.f64());
        let (r_429, r_empty, r_roll) = (self.rng.f64(), self.rng.f64(), self.rng.f64());
        let f = &self.settings.faults;
        let unavailable = if f.always_503 {
            true
        } else if self.burst_left > 0 {
            self.burst_left -= 1;
            true
        } else if r_503 < f.burst_503_rate {
            self.burst_left = f.burst_503_len.saturating_sub(1);
            true
        } else {
            false
        };
        let rejected = !unavailable && r_429 < f.request_429_rate;
        let ok = !unavailable && !rejected;
        let drop_before = ok && r_drop < f.drop_before_rate;
        let drop_after = ok && !drop_before && r_drop < f.drop_before_rate + f.drop_after_rate;
        let empty = ok && !drop_before && !drop_after && r_empty < f.empty_200_rate;
        let rollover = ok && !drop_before && !empty && r_roll < f.rollover_rate;
        let slow = (r_slow < f.slow_rate).then_some(f.slow);
        Plan {
            unavailable,
            rejected,
            empty,
            rollover,
            rollover_after: false,
            drop_before,
            drop_after,
            slow,
        }
    }

    /// Starts one bulk request, read by [`read_bulk`] (security and request-level faults
    /// already passed): what is decided for the request as a whole before its items are
    /// written (each action's concrete index, the shards' fates), or its request-level answer.
    fn bulk_begin<'p>(
        &mut self,
        path_target: Option<&str>,
        actions: &[Action],
        plan: &Plan,
        principal: &str,
        filter_paths: Option<&'p [Vec<&'p str>]>,
    ) -> Result<BulkRun<'p>, Response> {
        if actions.is_empty() {
            return Err(es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: no requests added;",
            ));
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // "<target>: … if no `_index` is specified in the action, the target of the path".
        if actions
            .iter()
            .any(|a| a.index.is_none() && path_target.is_none())
        {
            return Err(es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;",
            ));
        }
        if plan.empty {
            self.stats.empty_200 += 1;
            return Err(json_response(StatusCode::OK, &json!({"errors": false})));
        }
        let targets: Vec<String> = actions
            .iter()
            .map(|a| {
                a.index
                    .clone()
                    .or_else(|| path_target.map(str::to_owned))
                    .unwrap_or_default()
            })
            .collect();
        let mut streams: Vec<String> = targets
            .iter()
            .filter(|t| self.data_streams.contains_key(*t))
            .cloned()
            .collect();
        streams.sort();
        streams.dedup();
        if plan.rollover {
            for ds in &streams {
                let _ = self.rollover(ds, now_ms());
            }
        }
        // 1. Each action's concrete index (auto-creating data streams and indices).
        let pending: Vec<(String, Result<String, ItemError>)> = targets
            .into_iter()
            .zip(actions)
            .map(|(t, a)| {
                let r = self.write_target(&t, &a.op, principal);
                (t, r)
            })
            .collect();
        // 2. Shard-level failures: every item of a shard shares its shard's fate.
        // https://www.elastic.co/docs/troubleshoot/elasticsearch/rejected-requests (a primary
        // rejection, IndexingPressure "rejected execution of primary operation"), and
        // https://www.elastic.co/docs/troubleshoot/elasticsearch/red-yellow-cluster-status
        // (`unavailable_shards_exception` after the primary wait times out).
        let mut shard_fate: BTreeMap<(String, u32), Option<(u16, &'static str)>> = BTreeMap::new();
        let mut shard_count: BTreeMap<(String, u32), usize> = BTreeMap::new();
        for (a, (_, r)) in actions.iter().zip(&pending) {
            if let (Ok(index), Some(id)) = (r, &a.id)
                && let Some(i) = self.indices.get(index)
            {
                *shard_count
                    .entry((index.clone(), i.shard_of(id)))
                    .or_default() += 1;
            }
        }
        for key in shard_count.keys() {
            let (r429, r503) = (self.rng.f64(), self.rng.f64());
            let f = &self.settings.faults;
            let fate = if r503 < f.shard_503_rate {
                Some((503, "unavailable_shards_exception"))
            } else if r429 < f.shard_429_rate {
                Some((429, "es_rejected_execution_exception"))
            } else {
                None
            };
            shard_fate.insert(key.clone(), fate);
        }
        Ok(BulkRun {
            pending: pending.into_iter(),
            streams,
            shard_fate,
            shard_count,
            // https://www.elastic.co/docs/reference/elasticsearch/rest-apis/common-options#common-options-response-filtering
            // Only this answer is filtered: Elasticsearch builds error answers without the
            // filter (RestChannel.newErrorBuilder: "Disable filtering when building error
            // responses").
            answer: wire::BulkAnswer::new(filter_paths),
            errors: false,
        })
    }

    /// The request's next items, in order (`actions` are the ones after those written
    /// before, their sources parsed), each written into the answer as it is made: step 3,
    /// after [`Inner::bulk_begin`]'s two.
    fn bulk_items(&mut self, run: &mut BulkRun<'_>, actions: &mut [Action]) {
        for (a, (target, r)) in actions.iter_mut().zip(run.pending.by_ref()) {
            let (status, result) = match r {
                Err(e) => fail_item(&e.index, a.id.as_deref(), e.status, e.etype, e.reason),
                Ok(index) => {
                    let shard = a.id.as_ref().and_then(|id| {
                        self.indices
                            .get(&index)
                            .map(|i| (index.clone(), i.shard_of(id)))
                    });
                    match shard.and_then(|k| run.shard_fate.get(&k).copied().flatten().map(|f| (k, f))) {
                        Some(((idx, n), (503, etype))) => fail_item(
                            &idx,
                            a.id.as_deref(),
                            503,
                            etype,
                            format!("[{idx}][{n}] primary shard is not active Timeout: [1m], request: [BulkShardRequest [[{idx}][{n}]] containing [{}] requests]", run.shard_count[&(idx.clone(), n)]),
                        ),
                        Some(((idx, _), (status, etype))) => fail_item(
                            &idx,
                            a.id.as_deref(),
                            status,
                            etype,
                            "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]".into(),
                        ),
                        None => self.item(&target, &index, a),
                    }
                }
            };
            *self.stats.item_status.entry(status).or_default() += 1;
            run.errors |= result.get("error").is_some();
            // Moved, not `json!`-ed: the macro serializes a `Value` into a copy, and copying
            // every answer item was a seventh of this server's time in a bench profile: work
            // no cluster does.
            let mut item = Map::new();
            item.insert(a.op.clone(), result);
            run.answer.push(Value::Object(item));
        }
    }

    /// The request's answer, once its items are written.
    fn bulk_finish(&mut self, run: BulkRun<'_>, plan: &Plan, started: Instant) -> Response {
        if plan.rollover_after {
            for ds in &run.streams {
                let _ = self.rollover(ds, now_ms());
            }
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (response body).
        let took = started.elapsed().as_millis() as u64;
        wire::json_bytes_response(StatusCode::OK, run.answer.finish(run.errors, took))
    }

    /// One action on its concrete `index` → (status, the item's body).
    fn item(&mut self, target: &str, index: &str, a: &mut Action) -> (u16, Value) {
        let data_stream = self.indices.get(index).and_then(|i| i.data_stream.clone());
        if self.indices.get(index).is_some_and(|i| i.closed) {
            // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-close
            return fail_item(
                index,
                a.id.as_deref(),
                400,
                "index_closed_exception",
                "closed".into(),
            );
        }
        if a.op == "update" {
            return fail_item(
                index,
                a.id.as_deref(),
                400,
                "illegal_argument_exception",
                "update is not modelled by the test server".into(),
            );
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // (429: "the request was rejected because the cluster is overloaded"; the primary's
        // rejection: https://www.elastic.co/docs/troubleshoot/elasticsearch/rejected-requests).
        let f429 = self.settings.faults.item_429_rate;
        if f429 > 0.0 && self.rng.f64() < f429 {
            return fail_item(
                index,
                a.id.as_deref(),
                429,
                "es_rejected_execution_exception",
                "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0]".into(),
            );
        }
        self.seq_no += 1;
        let seq_no = self.seq_no;
        let Some(t) = self.indices.get_mut(index) else {
            return fail_item(
                index,
                a.id.as_deref(),
                404,
                "index_not_found_exception",
                format!("no such index [{index}]"),
            );
        };
        if a.op == "delete" {
            // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-delete
            let id = a.id.clone().unwrap_or_default();
            self.stats.deletes += 1;
            return match t.docs.remove(&id) {
                Some(_) => {
                    let v = t.versions.entry(id.clone()).or_insert(1);
                    *v += 1;
                    (200, ok_item(index, &id, *v, "deleted", seq_no, 200))
                }
                None => (404, ok_item(index, &id, 1, "not_found", seq_no, 404)),
            };
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-create
        // "If the target already contains a document with the same _id, the request returns
        // 409 version_conflict_engine_exception" — the target being this one index: a data
        // stream's other backing indices are not looked at (elastic/elasticsearch#44794).
        if let Some(id) = &a.id
            && a.op == "create"
            && t.docs.contains_key(id)
        {
            let version = t.versions.get(id).copied().unwrap_or(1);
            let v = json!({"_index": index, "_id": id, "status": 409, "error": {
                "type": "version_conflict_engine_exception",
                "reason": format!("[{id}]: version conflict, document already exists (current version [{version}])"),
                "index_uuid": "aAbBcCdDeEfFgGhHiIjJkK", "shard": "0", "index": index}});
            return (409, v);
        }
        let id = match &a.id {
            Some(id) => id.clone(),
            None => {
                t.auto_id += 1;
                format!("auto-{:012}", t.auto_id)
            }
        };
        let raw = a.source.take().unwrap_or_default();
        // The document's own checks, in the order Elasticsearch makes them; a mapping failure
        // on a data stream with a failure store is kept there instead of refused.
        let checked: Result<Checked, Refusal> = (|| {
            // Injected item 400: permanent for that document, never for one already stored.
            let f = &self.settings.faults;
            let prefix_ok = f
                .item_400_target_prefix
                .as_deref()
                .is_none_or(|p| target.starts_with(p));
            if f.item_400_rate > 0.0
                && prefix_ok
                && !t.docs.contains_key(&id)
                && unit_hash(f.seed, target, &id) < f.item_400_rate
            {
                self.stats
                    .injected_400
                    .insert((target.to_owned(), id.clone()));
                return Err((
                    "document_parsing_exception",
                    format!(
                        "failed to parse: injected fault (seed {}) for document with id '{id}'",
                        f.seed
                    ),
                    None,
                ));
            }
            // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
            // a source that is not one JSON object fails the document, not the request.
            let src = match a.parsed.take() {
                Some(Parsed::Object(o)) => o,
                Some(Parsed::NotObject(token)) => {
                    return Err((
                        "document_parsing_exception",
                        format!(
                            "failed to parse, document is empty or not an object (found [{token}])"
                        ),
                        None,
                    ));
                }
                Some(Parsed::Invalid(column, e)) => {
                    return Err((
                        "document_parsing_exception",
                        format!("[1:{column}] failed to parse: {e}"),
                        None,
                    ));
                }
                // Every action that reaches here has a source: `parse_bulk` refuses the
                // request otherwise, and `bulk` parses each before it is written.
                None => {
                    return Err((
                        "document_parsing_exception",
                        "failed to parse, document is empty or not an object (found [null])".into(),
                        None,
                    ));
                }
            };
            // https://www.elastic.co/docs/manage-data/data-store/data-streams
            // "Every document indexed to a data stream must contain a @timestamp field".
            if t.data_stream.is_some() && !src.contains_key("@timestamp") {
                return Err((
                    "document_parsing_exception",
                    "failed to parse: data stream timestamp field [@timestamp] is missing".into(),
                    None,
                ));
            }
            let mut c = DocCheck::new(&t.mapping, &id);
            match c.object(&src, "") {
                Ok(()) => Ok((src, c.ignored, c.staged)),
                Err(e) => Err((
                    if e.strict {
                        "strict_dynamic_mapping_exception"
                    } else {
                        "document_parsing_exception"
                    },
                    e.reason,
                    e.caused_by,
                )),
            }
        })();
        let (src, ignored, staged) = match checked {
            Ok((src, ignored, staged)) => (src, ignored, staged),
            Err((etype, reason, caused_by)) => {
                if let Some(ds) = &data_stream
                    && let Some(v) =
                        self.keep_in_failure_store(ds, target, &id, &raw, etype, &reason)
                {
                    return (201, v);
                }
                let mut v = json!({"_index": index, "_id": id, "status": 400,
                                   "error": {"type": etype, "reason": reason}});
                if let Some((ct, cr)) = caused_by {
                    v["error"]["caused_by"] = json!({"type": ct, "reason": cr});
                }
                return (400, v);
            }
        };
        if let Some(ds) = &data_stream {
            let elsewhere = self.data_streams.get(ds).is_some_and(|d| {
                d.indices.iter().filter(|n| n.as_str() != index).any(|n| {
                    self.indices
                        .get(n)
                        .is_some_and(|i| i.docs.contains_key(&id))
                })
            });
            if elsewhere {
                self.created_twice.insert((ds.clone(), id.clone()));
            }
        }
        let Some(t) = self.indices.get_mut(index) else {
            unreachable!()
        };
        t.mapping.fields.extend(staged);
        let existed = t
            .docs
            .insert(
                id.clone(),
                Stored {
                    source: Value::Object(src),
                    ignored: ignored.clone(),
                },
            )
            .is_some();
        let version = t
            .versions
            .entry(id.clone())
            .and_modify(|v| *v += 1)
            .or_insert(1);
        *t.writes.entry(id.clone()).or_default() += 1;
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // (201 `created`; an `index` over an existing document is 200 `updated`).
        let (status, result) = if existed {
            (200, "updated")
        } else {
            (201, "created")
        };
        let mut v = ok_item(index, &id, *version, result, seq_no, status);
        if !ignored.is_empty() {
            // The item doesn't say it; the document's `_ignored` metadata field does.
            v["_ignored"] = json!(ignored);
        }
        (status, v)
    }
}

async fn bulk_all(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    principal: Option<axum::Extension<Principal>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(sh, conn, principal, None, uri, headers, body).await
}

async fn bulk_target(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    principal: Option<axum::Extension<Principal>>,
    Path(target): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(sh, conn, principal, Some(target), uri, headers, body).await
}

async fn bulk(
    sh: Arc<Shared>,
    conn: Conn,
    principal: Option<axum::Extension<Principal>>,
    target: Option<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let _in_flight = InFlight::start(&sh);
    let principal = principal.map_or_else(
        || "user [elastic] with roles [shipper]".to_owned(),
        |p| p.0.0,
    );
    // First, under the lock, what depends on the request's place in the sequence (the faults
    // are drawn request by request) …
    let (plan, early, max_content_length) = {
        let mut g = sh.lock();
        g.stats.bulk_requests += 1;
        g.stats.bulk_bytes += body.len() as u64;
        let plan = g.plan();
        let early = if plan.unavailable {
            // A whole-request 503, e.g. no elected master:
            // https://www.elastic.co/docs/troubleshoot/elasticsearch/discovery-troubleshooting
            Some(es_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_block_exception",
                "blocked by: [SERVICE_UNAVAILABLE/2/no master];",
            ))
        } else if plan.rejected {
            // The coordinating node's indexing pressure refuses the whole request:
            // https://www.elastic.co/docs/reference/elasticsearch/index-settings/pressure
            Some(es_error(
                StatusCode::TOO_MANY_REQUESTS,
                "es_rejected_execution_exception",
                &format!(
                    "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes={}, max_coordinating_and_primary_bytes=0]",
                    body.len()
                ),
            ))
        } else if plan.drop_before {
            Some(StatusCode::OK.into_response())
        } else {
            None
        };
        (plan, early, g.settings.max_content_length)
    };
    // … then, without it, reading the body: concurrent requests do that in parallel, as a
    // cluster does; and last the writes, under the lock again.
    let resp = match early {
        Some(r) => r,
        None => match read_bulk(&headers, &body, max_content_length) {
            Ok(mut actions) => {
                let spec = query_param(&uri, "filter_path");
                let paths = spec.as_deref().map(wire::filter_paths);
                let begun = sh.lock().bulk_begin(
                    target.as_deref(),
                    &actions,
                    &plan,
                    &principal,
                    paths.as_deref(),
                );
                match begun {
                    Err(r) => r,
                    // A few documents at a time: each parsed (without the lock, so concurrent
                    // requests parse in parallel, as a cluster's write threads do) just before
                    // it is checked and stored, while its tree is still in the cache. Parsing a
                    // whole 5,000-document request first and writing it after cost this server
                    // ~13% more per document than requests of 500 (timed, 10,000 documents).
                    Ok(mut run) => {
                        for chunk in actions.chunks_mut(WRITE_CHUNK) {
                            wire::parse_sources(chunk);
                            sh.lock().bulk_items(&mut run, chunk);
                        }
                        sh.lock().bulk_finish(run, &plan, started)
                    }
                }
            }
            Err(r) => r,
        },
    };
    {
        let mut g = sh.lock();
        if plan.drop_before || plan.drop_after {
            g.stats.dropped += 1;
        } else {
            *g.stats
                .bulk_status
                .entry(resp.status().as_u16())
                .or_default() += 1;
        }
        if plan.slow.is_some() {
            g.stats.slowed += 1;
        }
        g.stats.bulk_busy += started.elapsed();
        g.stats.bulk_spans.push((started, started.elapsed()));
    }
    if plan.drop_before || plan.drop_after {
        // hyper's write of the answer fails, and the socket is closed unanswered.
        conn.kill.store(true, Ordering::SeqCst);
        return resp;
    }
    if let Some(d) = plan.slow {
        tokio::time::sleep(d).await;
    }
    resp
}

/// A `_bulk` request from its start until its answer is handed over (or it is dropped).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn start(sh: &Arc<Shared>) -> Self {
        let mut g = sh.lock();
        g.stats.bulk_in_flight += 1;
        g.stats.max_bulk_in_flight = g.stats.max_bulk_in_flight.max(g.stats.bulk_in_flight);
        InFlight(sh.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().stats.bulk_in_flight -= 1;
    }
}

/// How many documents of a request are parsed, then written, at a time.
const WRITE_CHUNK: usize = 100;

/// A bulk body → its actions (sources not parsed yet), or the request-level error: the part
/// of a bulk request that needs nothing from the cluster's state.
fn read_bulk(
    headers: &HeaderMap,
    body: &Bytes,
    max_content_length: usize,
) -> Result<Vec<Action>, Response> {
    let body = inflate_body(headers, body, max_content_length)?;
    wire::check_content_type(headers)?;
    parse_bulk(&body)
}

// ---------------------------------------------------------------------------------------------
// Reads, templates, index operations
// ---------------------------------------------------------------------------------------------

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-info
async fn root() -> Response {
    json_response(
        StatusCode::OK,
        &json!({
            "name": "bulk-test-server",
            "cluster_name": "shipper-tests",
            "cluster_uuid": "c1usterUUIDforShipperTests",
            "version": {
                "number": "9.5.0",
                "build_flavor": "default",
                "build_type": "docker",
                "build_snapshot": false,
                "lucene_version": "10.3.0",
                "minimum_wire_compatibility_version": "8.19.0",
                "minimum_index_compatibility_version": "8.0.0"
            },
            "tagline": "You Know, for Search"
        }),
    )
}

fn flag(uri: &Uri, name: &str) -> bool {
    query_param(uri, name).is_some_and(|v| v.is_empty() || v == "true")
}

fn count_read(g: &mut Inner, kind: &'static str) {
    *g.stats.reads.entry(kind).or_default() += 1;
}

/// A read by a caller without `read` / `view_index_metadata`:
/// https://www.elastic.co/docs/deploy-manage/users-roles/cluster-or-deployment-auth/elasticsearch-privileges
fn read_forbidden(g: &Inner, action: &str, target: &str) -> Option<Response> {
    g.settings.no_read.then(|| {
        es_error(
            StatusCode::FORBIDDEN,
            "security_exception",
            &format!("action [{action}] is unauthorized for user [elastic] with roles [shipper] on indices [{target}], this action is granted by the index privileges [read,all]"),
        )
    })
}

fn filtered(uri: &Uri, v: Value) -> Response {
    let v = match query_param(uri, "filter_path") {
        Some(fp) => filter_path(v, &fp),
        None => v,
    };
    json_response(StatusCode::OK, &v)
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-refresh
/// (writes here are searchable at once; refresh only answers).
async fn refresh(State(sh): State<Arc<Shared>>, Path(target): Path<String>) -> Response {
    let g = sh.lock();
    match g.resolve_read(&target, false) {
        Ok(t) => json_response(
            StatusCode::OK,
            &json!({"_shards": {"total": t.len(), "successful": t.len(), "failed": 0}}),
        ),
        Err(r) => r,
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-count
/// Only `match_all` (or no query) is modelled.
async fn count(State(sh): State<Arc<Shared>>, Path(target): Path<String>, body: Bytes) -> Response {
    let q: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let query = q.get("query");
    if !(query.is_none() || query.is_some_and(|q| q.get("match_all").is_some())) {
        return es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            "the test server counts only match_all",
        );
    }
    let mut g = sh.lock();
    count_read(&mut g, "count");
    match g.resolve_read(&target, false) {
        Ok(t) => {
            let n: usize = t.iter().map(|n| g.indices[n].docs.len()).sum();
            json_response(
                StatusCode::OK,
                &json!({"count": n, "_shards": {"total": t.len(), "successful": t.len(), "skipped": 0, "failed": 0}}),
            )
        }
        Err(r) => r,
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-search with the
/// `ids` query (https://www.elastic.co/docs/reference/query-languages/query-dsl/query-dsl-ids-query)
/// or `match_all`; `size` (default 10), `_source: false`; hits in index then `_id` order.
async fn search(
    State(sh): State<Arc<Shared>>,
    Path(target): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    let q: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return es_error(
                    StatusCode::BAD_REQUEST,
                    "x_content_parse_exception",
                    &e.to_string(),
                );
            }
        }
    };
    let ids: Option<Vec<String>> = match q.get("query") {
        None => None,
        Some(q) if q.get("match_all").is_some() => None,
        Some(q) => match q.pointer("/ids/values").and_then(Value::as_array) {
            Some(v) => Some(
                v.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
            ),
            None => {
                return es_error(
                    StatusCode::BAD_REQUEST,
                    "illegal_argument_exception",
                    "the test server searches only with ids or match_all",
                );
            }
        },
    };
    let size = q.get("size").and_then(Value::as_u64).unwrap_or(10) as usize;
    // https://www.elastic.co/docs/reference/elasticsearch/index-settings/index-modules (max_result_window).
    if size > 10_000 {
        return es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &format!(
                "Result window is too large, from + size must be less than or equal to: [10000] but was [{size}]."
            ),
        );
    }
    let source = q.get("_source") != Some(&Value::Bool(false));
    let mut g = sh.lock();
    count_read(&mut g, "search");
    if let Some(r) = read_forbidden(&g, "indices:data/read/search", &target) {
        return r;
    }
    let indices = match g.resolve_read(&target, flag(&uri, "ignore_unavailable")) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let mut hits = Vec::new();
    for n in &indices {
        let i = &g.indices[n];
        if i.closed {
            continue;
        }
        let mut add = |id: &String, d: &Stored| {
            let mut h = json!({"_index": n, "_id": id, "_score": 1.0});
            if source {
                h["_source"] = d.source.clone();
            }
            hits.push(h);
        };
        match &ids {
            Some(ids) => ids
                .iter()
                .filter_map(|id| i.docs.get_key_value(id))
                .for_each(|(k, d)| add(k, d)),
            None => i.docs.iter().for_each(|(k, d)| add(k, d)),
        }
    }
    hits.truncate(size);
    let total = indices.len();
    filtered(
        &uri,
        json!({"took": 1, "timed_out": false, "_shards": {"total": total, "successful": total, "skipped": 0, "failed": 0},
               "hits": {"max_score": 1.0, "hits": hits}}),
    )
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-mget: real time
/// (reads what was just written, refreshed or not); each doc names a concrete index. A data
/// stream name is refused: its documents are read through its backing indices.
fn mget(g: &mut Inner, default_index: Option<&str>, uri: &Uri, body: &[u8]) -> Response {
    count_read(g, "mget");
    if let Some(r) = read_forbidden(g, "indices:data/read/mget", default_index.unwrap_or("_all")) {
        return r;
    }
    let q: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let wanted: Vec<(String, String)> = if let Some(ids) = q.get("ids").and_then(Value::as_array) {
        let Some(index) = default_index else {
            return es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing for doc 0;",
            );
        };
        ids.iter()
            .filter_map(Value::as_str)
            .map(|id| (index.to_owned(), id.to_owned()))
            .collect()
    } else if let Some(docs) = q.get("docs").and_then(Value::as_array) {
        docs.iter()
            .filter_map(|d| {
                let index = d["_index"].as_str().or(default_index)?;
                Some((index.to_owned(), d["_id"].as_str()?.to_owned()))
            })
            .collect()
    } else {
        return es_error(
            StatusCode::BAD_REQUEST,
            "action_request_validation_exception",
            "Validation Failed: 1: no documents to get;",
        );
    };
    if let Some(index) = default_index
        && !g.indices.contains_key(index)
        && !g.data_streams.contains_key(index)
    {
        return index_not_found(index);
    }
    let docs: Vec<Value> = wanted
        .into_iter()
        .map(|(index, id)| {
            if g.data_streams.contains_key(&index) {
                return json!({"_index": index, "_id": id, "error": {"type": "illegal_argument_exception",
                    "reason": format!("[{index}] is a data stream: get its documents from its backing indices")}});
            }
            match g.indices.get(&index) {
                None => json!({"_index": index, "_id": id, "error": {"type": "index_not_found_exception", "reason": format!("no such index [{index}]")}}),
                Some(i) => match i.docs.get(&id) {
                    Some(d) => json!({"_index": index, "_id": id, "_version": i.versions.get(&id).copied().unwrap_or(1), "found": true, "_source": d.source}),
                    None => json!({"_index": index, "_id": id, "found": false}),
                },
            }
        })
        .collect();
    filtered(uri, json!({ "docs": docs }))
}

async fn mget_all(State(sh): State<Arc<Shared>>, uri: Uri, body: Bytes) -> Response {
    mget(&mut sh.lock(), None, &uri, &body)
}

async fn mget_target(
    State(sh): State<Arc<Shared>>,
    Path(target): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Response {
    mget(&mut sh.lock(), Some(&target), &uri, &body)
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-get-settings
/// (`flat_settings`, `ignore_unavailable`, `allow_no_indices`; a data stream stands for its
/// backing indices; `{names}` filters settings by pattern).
fn settings(g: &mut Inner, target: &str, names: Option<&str>, uri: &Uri) -> Response {
    count_read(g, "settings");
    if let Some(r) = read_forbidden(g, "indices:monitor/settings/get", target) {
        return r;
    }
    let indices = match g.resolve_read(target, flag(uri, "ignore_unavailable")) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let flat = flag(uri, "flat_settings");
    let mut out = Map::new();
    for n in indices {
        let i = &g.indices[&n];
        let mut s = Map::new();
        for (k, v) in &i.settings {
            if names.is_none_or(|ns| ns.split(',').any(|p| glob(p, k))) {
                s.insert(k.clone(), v.clone());
            }
        }
        let settings = if flat {
            Value::Object(s)
        } else {
            let mut nested = json!({});
            for (k, v) in s {
                let mut cur = &mut nested;
                let parts: Vec<&str> = k.split('.').collect();
                for (j, p) in parts.iter().enumerate() {
                    if j + 1 == parts.len() {
                        cur[*p] = v.clone();
                    } else {
                        if cur.get(*p).is_none() {
                            cur[*p] = json!({});
                        }
                        cur = &mut cur[*p];
                    }
                }
            }
            nested
        };
        out.insert(n, json!({ "settings": settings }));
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

async fn get_settings_all(
    State(sh): State<Arc<Shared>>,
    Path(target): Path<String>,
    uri: Uri,
) -> Response {
    settings(&mut sh.lock(), &target, None, &uri)
}

async fn get_settings(
    State(sh): State<Arc<Shared>>,
    Path((target, names)): Path<(String, String)>,
    uri: Uri,
) -> Response {
    settings(&mut sh.lock(), &target, Some(&names), &uri)
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-rollover
async fn rollover(State(sh): State<Arc<Shared>>, Path(target): Path<String>) -> Response {
    let mut g = sh.lock();
    count_read(&mut g, "rollover");
    let old = g
        .data_streams
        .get(&target)
        .map(|d| d.write_index().to_owned());
    match g.rollover(&target, now_ms()) {
        Ok(new) => json_response(
            StatusCode::OK,
            &json!({"acknowledged": true, "shards_acknowledged": true, "old_index": old, "new_index": new,
                    "rolled_over": true, "dry_run": false, "lazy": false, "conditions": {}}),
        ),
        Err(e) if e.starts_with("no such index") => index_not_found(&target),
        Err(e) => es_error(StatusCode::BAD_REQUEST, "illegal_argument_exception", &e),
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-get-data-stream
async fn get_data_stream(State(sh): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let mut g = sh.lock();
    count_read(&mut g, "data_stream");
    let found: Vec<Value> = g
        .data_streams
        .values()
        .filter(|d| name.split(',').any(|p| glob(p, &d.name)))
        .map(|d| {
            let idx = |n: &String| json!({"index_name": n, "index_uuid": format!("uuid-{n}")});
            json!({"name": d.name, "timestamp_field": {"name": "@timestamp"},
                   "indices": d.indices.iter().map(idx).collect::<Vec<_>>(),
                   "generation": d.generation, "status": "GREEN", "template": d.template,
                   "hidden": false, "system": false,
                   "failure_store": {"enabled": d.failure_store, "indices": d.failure_indices.iter().map(idx).collect::<Vec<_>>()}})
        })
        .collect();
    if found.is_empty() && !name.contains('*') {
        return index_not_found(&name);
    }
    json_response(StatusCode::OK, &json!({ "data_streams": found }))
}

fn acknowledged() -> Response {
    json_response(StatusCode::OK, &json!({"acknowledged": true}))
}

fn json_body(body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice(body).map_err(|e| {
        es_error(
            StatusCode::BAD_REQUEST,
            "x_content_parse_exception",
            &format!("[1:{}] {e}", e.column()),
        )
    })
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-index-template
async fn put_index_template(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let t = match Template::from_json(&name, &v) {
        Ok(t) => t,
        Err(e) => {
            return es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                &format!("Validation Failed: 1: {e};"),
            );
        }
    };
    let mut g = sh.lock();
    if let Err(e) = g.templates.check(&t) {
        return es_error(
            StatusCode::BAD_REQUEST,
            "invalid_index_template_exception",
            &e,
        );
    }
    g.templates.index.insert(name, t);
    acknowledged()
}

async fn get_index_template(State(sh): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let g = sh.lock();
    let found: Vec<Value> = g
        .templates
        .index
        .values()
        .filter(|t| glob(&name, &t.name))
        .map(|t| json!({"name": t.name, "index_template": t.raw}))
        .collect();
    if found.is_empty() {
        return es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            &format!("index template matching [{name}] not found"),
        );
    }
    json_response(StatusCode::OK, &json!({ "index_templates": found }))
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-cluster-put-component-template
async fn put_component_template(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.get("template").is_none() {
        return es_error(
            StatusCode::BAD_REQUEST,
            "x_content_parse_exception",
            "[1:2] [component_template] failed to parse field [template]: Required [template]",
        );
    }
    sh.lock().templates.components.insert(name, v);
    acknowledged()
}

async fn get_component_template(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
) -> Response {
    let g = sh.lock();
    let found: Vec<Value> = g
        .templates
        .components
        .iter()
        .filter(|(n, _)| glob(&name, n))
        .map(|(n, v)| json!({"name": n, "component_template": v}))
        .collect();
    if found.is_empty() {
        return es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            &format!("component template matching [{name}] not found"),
        );
    }
    json_response(StatusCode::OK, &json!({ "component_templates": found }))
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-ilm-put-lifecycle
/// (stored, not run: the tests roll over by hand or by fault).
async fn put_ilm_policy(
    State(sh): State<Arc<Shared>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let v = match json_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if v.get("policy").is_none() {
        return es_error(
            StatusCode::BAD_REQUEST,
            "x_content_parse_exception",
            "[1:2] [put_lifecycle_request] policy is required",
        );
    }
    sh.lock().templates.ilm.insert(name, v);
    acknowledged()
}

async fn get_ilm_policy(State(sh): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let g = sh.lock();
    match g.templates.ilm.get(&name) {
        Some(p) => json_response(StatusCode::OK, &json!({ name: p })),
        None => es_error(
            StatusCode::NOT_FOUND,
            "resource_not_found_exception",
            &format!("Lifecycle policy not found: {name}"),
        ),
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-close
/// (a data stream's write index can't be closed).
async fn close_index(State(sh): State<Arc<Shared>>, Path(index): Path<String>) -> Response {
    let mut g = sh.lock();
    if let Some(ds) = g.data_streams.values().find(|d| d.write_index() == index) {
        let reason = format!(
            "cannot close the write index [{index}] of data stream [{}]",
            ds.name
        );
        return es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &reason,
        );
    }
    match g.indices.get_mut(&index) {
        Some(i) => {
            i.closed = true;
            json_response(
                StatusCode::OK,
                &json!({"acknowledged": true, "shards_acknowledged": true, "indices": {index: {"closed": true}}}),
            )
        }
        None => index_not_found(&index),
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-delete
/// (what a lifecycle's delete phase does; a data stream's write index can't be deleted).
async fn delete_index(State(sh): State<Arc<Shared>>, Path(index): Path<String>) -> Response {
    let mut g = sh.lock();
    if let Some(ds) = g.data_streams.values().find(|d| d.write_index() == index) {
        let reason = format!(
            "index [{index}] is the write index for data stream [{}] and cannot be deleted",
            ds.name
        );
        return es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &reason,
        );
    }
    if g.indices.remove(&index).is_none() {
        return index_not_found(&index);
    }
    for ds in g.data_streams.values_mut() {
        ds.indices.retain(|n| *n != index);
        ds.failure_indices.retain(|n| *n != index);
    }
    acknowledged()
}

/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions
/// An unknown route → 400 `no handler found for uri [...] and method [...]`.
async fn no_handler(req: Request) -> Response {
    let reason = format!(
        "no handler found for uri [{}] and method [{}]",
        req.uri(),
        req.method()
    );
    json_response(
        StatusCode::BAD_REQUEST,
        &json!({"error": reason, "status": 400}),
    )
}
