//! The project's own `_bulk` server: the faults the emulators can't make, with the behaviour
//! of Elasticsearch as its docs describe it (not as the shipper would like it).
//!
//! What it models, each with the doc page it follows beside the code:
//! - `POST|PUT /_bulk` and `/{target}/_bulk`: NDJSON (`application/x-ndjson` or
//!   `application/json`), the body ending in `\n`, optionally `Content-Encoding: gzip`;
//!   malformed action lines → request-level 400; one item per action, in order;
//!   `filter_path` (inclusions with `*` and `**`).
//! - Data streams (`logs-*-*`, the built-in `logs` template) take only `create`, need
//!   `@timestamp`, and answer with the backing index name; `create` of a stored `_id` → 409.
//! - Dynamic mapping per target: the first JSON type seen at a field path fixes it; an
//!   incompatible value later → item 400 `document_parsing_exception` (Elasticsearch ≥ 8.8's
//!   name for what older versions called `mapper_parsing_exception`). Fields configured
//!   `flattened` (the shipper's `app`) never conflict.
//! - `http.max_content_length` (default 100mb) on the body *before* compression → 413.
//! - Security: 401 + `WWW-Authenticate` when credentials are required and missing or wrong.
//! - Faults, deterministic by seed: item 429s, item 400s, 503 bursts, dropped connections
//!   (before or after the writes are applied), slow answers.
//!
//! Not modelled: `update` (the shipper never sends it), searches beyond `_count` of
//! `match_all`, the `[line:column]` prefix of parsing errors, replicas and shards.

// Error answers travel as `Err(Response)`: their size is no concern in a test server.
#![allow(dead_code, clippy::result_large_err)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
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
    /// Per request: the connection is closed without an answer, nothing written.
    pub drop_before_rate: f64,
    /// Per request: the writes are applied, then the connection is closed without an answer.
    pub drop_after_rate: f64,
    /// Per request: the answer comes after `slow` (the writes are applied first).
    pub slow_rate: f64,
    pub slow: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// `http.max_content_length`, on the decompressed body.
    pub max_content_length: usize,
    pub credentials: Vec<Credential>,
    /// Field paths mapped `flattened` in every target (like the shipper's index template).
    pub flattened: Vec<String>,
    pub faults: Faults,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            // https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/networking-settings
            // `http.max_content_length` defaults to 100mb (ByteSizeValue: 1024-based).
            max_content_length: 100 * 1024 * 1024,
            credentials: Vec::new(),
            flattened: vec!["app".into()],
            faults: Faults::default(),
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
    pub bulk_requests: u64,
    /// Request-level statuses of `_bulk` answers actually sent (dropped ones excluded).
    pub bulk_status: BTreeMap<u16, u64>,
    /// Item statuses, over all answered and unanswered bulk requests.
    pub item_status: BTreeMap<u16, u64>,
    pub dropped: u64,
    pub slowed: u64,
    /// (target, `_id`) refused by an injected item 400.
    pub injected_400: BTreeSet<(String, String)>,
}

impl Stats {
    pub fn bulk(&self, status: u16) -> u64 {
        self.bulk_status.get(&status).copied().unwrap_or(0)
    }
    pub fn items(&self, status: u16) -> u64 {
        self.item_status.get(&status).copied().unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum FieldType {
    Object,
    Flattened,
    Text,
    Long,
    Float,
    Boolean,
    Date,
    /// `constant_keyword`: the first value indexed fixes it (or the mapping does).
    ConstantKeyword(Option<String>),
}

impl FieldType {
    fn name(&self) -> &'static str {
        match self {
            FieldType::Object => "object",
            FieldType::Flattened => "flattened",
            FieldType::Text => "text",
            FieldType::Long => "long",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::ConstantKeyword(_) => "constant_keyword",
        }
    }
}

#[derive(Debug)]
struct Target {
    data_stream: bool,
    /// What items report as `_index`: the backing index of a data stream.
    index_name: String,
    date_detection: bool,
    mapping: BTreeMap<String, FieldType>,
    docs: BTreeMap<String, Value>,
    versions: HashMap<String, u64>,
    /// Successful writes per `_id`: more than one would be a duplicate delivery.
    writes: HashMap<String, u32>,
    auto_id: u64,
}

impl Target {
    fn new(name: &str, flattened: &[String]) -> Target {
        let data_stream = is_data_stream(name);
        let mut mapping = BTreeMap::new();
        for f in flattened {
            mapping.insert(f.clone(), FieldType::Flattened);
        }
        if data_stream {
            // The built-in `logs@mappings` component template of the `logs` index template:
            // https://www.elastic.co/docs/manage-data/data-store/data-streams/set-up-data-stream
            // (`@timestamp` as `date`, `data_stream.*` as `constant_keyword`, `date_detection: false`).
            mapping.insert("@timestamp".into(), FieldType::Date);
            mapping.insert("data_stream".into(), FieldType::Object);
            mapping.insert(
                "data_stream.type".into(),
                FieldType::ConstantKeyword(Some("logs".into())),
            );
            mapping.insert(
                "data_stream.dataset".into(),
                FieldType::ConstantKeyword(None),
            );
            mapping.insert(
                "data_stream.namespace".into(),
                FieldType::ConstantKeyword(None),
            );
        }
        let day = chrono::Utc::now().format("%Y.%m.%d");
        Target {
            data_stream,
            // https://www.elastic.co/docs/manage-data/data-store/data-streams#data-streams-generation
            // backing indices are named `.ds-<data-stream>-<yyyy.MM.dd>-<generation>`.
            index_name: if data_stream {
                format!(".ds-{name}-{day}-000001")
            } else {
                name.to_owned()
            },
            date_detection: !data_stream,
            mapping,
            docs: BTreeMap::new(),
            versions: HashMap::new(),
            writes: HashMap::new(),
            auto_id: 0,
        }
    }
}

/// Names the built-in `logs` index template (pattern `logs-*-*`) turns into data streams:
/// https://www.elastic.co/docs/manage-data/data-store/data-streams/set-up-data-stream
fn is_data_stream(name: &str) -> bool {
    name.strip_prefix("logs-")
        .is_some_and(|rest| rest.contains('-'))
}

struct Inner {
    settings: Settings,
    rng: fastrand::Rng,
    burst_left: u32,
    targets: BTreeMap<String, Target>,
    seq_no: u64,
    stats: Stats,
}

struct Shared(Mutex<Inner>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

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
            settings,
            burst_left: 0,
            targets: BTreeMap::new(),
            seq_no: 0,
            stats: Stats::default(),
        })));
        let app = Router::new()
            .route("/", get(root))
            .route("/_bulk", post(bulk_all).put(bulk_all))
            .route("/{target}/_bulk", post(bulk_target).put(bulk_target))
            .route("/{target}/_refresh", post(refresh).get(refresh))
            .route("/{target}/_count", post(count).get(count))
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

    pub fn targets(&self) -> Vec<String> {
        self.shared.lock().targets.keys().cloned().collect()
    }

    /// Documents stored in `target` (0 when it doesn't exist).
    pub fn count(&self, target: &str) -> usize {
        self.shared
            .lock()
            .targets
            .get(target)
            .map_or(0, |t| t.docs.len())
    }

    pub fn ids(&self, target: &str) -> Vec<String> {
        self.shared
            .lock()
            .targets
            .get(target)
            .map_or_else(Vec::new, |t| t.docs.keys().cloned().collect())
    }

    pub fn doc(&self, target: &str, id: &str) -> Option<Value> {
        self.shared
            .lock()
            .targets
            .get(target)
            .and_then(|t| t.docs.get(id).cloned())
    }

    pub fn docs(&self, target: &str) -> Vec<(String, Value)> {
        self.shared
            .lock()
            .targets
            .get(target)
            .map_or_else(Vec::new, |t| {
                t.docs.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
            })
    }

    /// Every stored (target, `_id`).
    pub fn all_ids(&self) -> Vec<(String, String)> {
        let g = self.shared.lock();
        g.targets
            .iter()
            .flat_map(|(n, t)| t.docs.keys().map(move |id| (n.clone(), id.clone())))
            .collect()
    }

    /// (target, `_id`) written successfully more than once.
    pub fn duplicates(&self) -> Vec<(String, String, u32)> {
        let g = self.shared.lock();
        g.targets
            .iter()
            .flat_map(|(n, t)| {
                t.writes
                    .iter()
                    .filter(|(_, w)| **w > 1)
                    .map(move |(id, w)| (n.clone(), id.clone(), *w))
            })
            .collect()
    }

    /// How many times `_id` was written successfully to `target`.
    pub fn writes(&self, target: &str, id: &str) -> u32 {
        self.shared
            .lock()
            .targets
            .get(target)
            .and_then(|t| t.writes.get(id).copied())
            .unwrap_or(0)
    }

    /// The mapped type of a field path, e.g. `"long"`.
    pub fn field_type(&self, target: &str, path: &str) -> Option<&'static str> {
        self.shared
            .lock()
            .targets
            .get(target)
            .and_then(|t| t.mapping.get(path).map(FieldType::name))
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
// Responses
// ---------------------------------------------------------------------------------------------

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"error":{"root_cause":[…],"type","reason"},"status"}`, the shape of every ES error:
/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions (error responses).
fn es_error(status: StatusCode, etype: &str, reason: &str) -> Response {
    json_response(status, &error_body(status, etype, reason, None))
}

fn error_body(status: StatusCode, etype: &str, reason: &str, header: Option<Value>) -> Value {
    let mut cause = json!({"type": etype, "reason": reason});
    if let Some(h) = header {
        cause["header"] = h;
    }
    let mut error = cause.clone();
    error["root_cause"] = json!([cause]);
    json!({"error": error, "status": status.as_u16()})
}

// ---------------------------------------------------------------------------------------------
// Security
// ---------------------------------------------------------------------------------------------

/// https://www.elastic.co/docs/deploy-manage/users-roles/cluster-or-deployment-auth/user-authentication
/// (the realm chain: Basic for native/file users, `ApiKey` for API keys). A request without
/// valid credentials gets 401 `security_exception` with one `WWW-Authenticate` header per
/// scheme, before anything else is looked at.
async fn security(State(sh): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let creds = {
        let mut g = sh.lock();
        g.stats.requests += 1;
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
// Root, refresh, count, unknown routes
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

/// Targets named by a comma list with `*` wildcards.
fn resolve(g: &Inner, expr: &str) -> Result<Vec<String>, Response> {
    let mut out = Vec::new();
    for part in expr.split(',') {
        let hits: Vec<String> = g
            .targets
            .keys()
            .filter(|n| glob(part, n))
            .cloned()
            .collect();
        if hits.is_empty() && !part.contains('*') {
            // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-count
            return Err(es_error(
                StatusCode::NOT_FOUND,
                "index_not_found_exception",
                &format!("no such index [{part}]"),
            ));
        }
        out.extend(hits);
    }
    Ok(out)
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-refresh
/// (writes here are visible at once; refresh only answers).
async fn refresh(State(sh): State<Arc<Shared>>, Path(target): Path<String>) -> Response {
    let g = sh.lock();
    match resolve(&g, &target) {
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
    let g = sh.lock();
    match resolve(&g, &target) {
        Ok(t) => {
            let n: usize = t.iter().map(|n| g.targets[n].docs.len()).sum();
            json_response(
                StatusCode::OK,
                &json!({"count": n, "_shards": {"total": t.len(), "successful": t.len(), "skipped": 0, "failed": 0}}),
            )
        }
        Err(r) => r,
    }
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

// ---------------------------------------------------------------------------------------------
// _bulk
// ---------------------------------------------------------------------------------------------

async fn bulk_all(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(sh, conn, None, uri, headers, body).await
}

async fn bulk_target(
    State(sh): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    Path(target): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    bulk(sh, conn, Some(target), uri, headers, body).await
}

/// What the faults decided for one request.
struct Plan {
    unavailable: bool,
    drop_before: bool,
    drop_after: bool,
    slow: Option<Duration>,
}

impl Inner {
    fn plan(&mut self) -> Plan {
        // Always three draws per request, whatever they decide: the sequence stays aligned.
        let (r_drop, r_slow, r_503) = (self.rng.f64(), self.rng.f64(), self.rng.f64());
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
        let drop_before = !unavailable && r_drop < f.drop_before_rate;
        let drop_after =
            !unavailable && !drop_before && r_drop < f.drop_before_rate + f.drop_after_rate;
        let slow = (r_slow < f.slow_rate).then_some(f.slow);
        Plan {
            unavailable,
            drop_before,
            drop_after,
            slow,
        }
    }
}

async fn bulk(
    sh: Arc<Shared>,
    conn: Conn,
    target: Option<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let (plan, resp) = {
        let mut g = sh.lock();
        g.stats.bulk_requests += 1;
        let plan = g.plan();
        let resp = if plan.unavailable {
            // A whole-request 503, e.g. no elected master:
            // https://www.elastic.co/docs/troubleshoot/elasticsearch/discovery-troubleshooting
            es_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "cluster_block_exception",
                "blocked by: [SERVICE_UNAVAILABLE/2/no master];",
            )
        } else if plan.drop_before {
            StatusCode::OK.into_response()
        } else {
            g.bulk(target.as_deref(), &uri, &headers, &body, started)
        };
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
        (plan, resp)
    };
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

/// One parsed action of a bulk body.
struct Action {
    op: String,
    index: Option<String>,
    id: Option<String>,
    /// Line number of the action (1-based).
    line: usize,
    source: Option<Vec<u8>>,
}

fn request_error(status: StatusCode, etype: &str, reason: String) -> Response {
    es_error(status, etype, &reason)
}

/// The NDJSON body → actions, or the request-level 400 Elasticsearch answers:
/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
/// ("The final line of data must end with a newline character (\n)"; the action line is
/// `{"<op>":{metadata}}`; index and create need a source line; delete has none).
fn parse_bulk(body: &[u8]) -> Result<Vec<Action>, Response> {
    if body.is_empty() {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            "request body is required".into(),
        ));
    }
    if !body.ends_with(b"\n") {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]".into(),
        ));
    }
    let lines: Vec<&[u8]> = body[..body.len() - 1].split(|&b| b == b'\n').collect();
    let mut actions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let raw = lines[i];
        let malformed = |detail: String| {
            request_error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                format!("Malformed action/metadata line [{line_no}], {detail}"),
            )
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(malformed(
                "expected START_OBJECT or END_OBJECT but found [null]".into(),
            ));
        }
        let v: Value = serde_json::from_slice(raw).map_err(|e| {
            request_error(
                StatusCode::BAD_REQUEST,
                "x_content_parse_exception",
                format!("[{line_no}:{}] {e}", e.column()),
            )
        })?;
        let obj = match v {
            Value::Object(o) => o,
            other => {
                return Err(malformed(format!(
                    "expected START_OBJECT or END_OBJECT but found [{}]",
                    token(&other)
                )));
            }
        };
        if obj.is_empty() {
            return Err(malformed(
                "expected FIELD_NAME but found [END_OBJECT]".into(),
            ));
        }
        if obj.len() > 1 {
            return Err(malformed(
                "expected END_OBJECT but found [FIELD_NAME]".into(),
            ));
        }
        let (op, meta) = obj.into_iter().next().unwrap_or_default();
        if !matches!(op.as_str(), "create" | "index" | "delete" | "update") {
            return Err(malformed(format!(
                "expected field [create], [delete], [index] or [update] but found [{op}]"
            )));
        }
        let meta = match meta {
            Value::Object(m) => m,
            other => {
                return Err(malformed(format!(
                    "expected START_OBJECT but found [{}]",
                    token(&other)
                )));
            }
        };
        const KNOWN: &[&str] = &[
            "_index",
            "_id",
            "routing",
            "version",
            "version_type",
            "if_seq_no",
            "if_primary_term",
            "pipeline",
            "require_alias",
            "require_data_stream",
            "dynamic_templates",
            "retry_on_conflict",
            "_source",
            "list_executed_pipelines",
        ];
        if let Some(k) = meta.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(request_error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                format!("Action/metadata line [{line_no}] contains an unknown parameter [{k}]"),
            ));
        }
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let index = meta.get("_index").and_then(scalar);
        let id = meta.get("_id").and_then(scalar);
        let source = if op == "delete" {
            None
        } else {
            i += 1;
            match lines.get(i) {
                Some(s) => Some(s.to_vec()),
                // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-index
                // (an index request without a source fails validation).
                None => {
                    return Err(request_error(
                        StatusCode::BAD_REQUEST,
                        "action_request_validation_exception",
                        "Validation Failed: 1: source is missing;".into(),
                    ));
                }
            }
        };
        actions.push(Action {
            op,
            index,
            id,
            line: line_no,
            source,
        });
        i += 1;
    }
    Ok(actions)
}

/// The Jackson token name Elasticsearch reports for a value.
fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
/// (Content-Type `application/x-ndjson`; `application/json` and the versioned
/// `application/vnd.elasticsearch+…;compatible-with=N` types are accepted too). A missing or
/// other media type is refused with 406 by the REST layer:
/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions#content-type
fn check_content_type(headers: &HeaderMap) -> Result<(), Response> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Err(json_response(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"error": "Content-Type header is missing", "status": 406}),
        ));
    };
    let ct = ct.to_str().unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = matches!(
        media.as_str(),
        "application/x-ndjson"
            | "application/json"
            | "application/vnd.elasticsearch+x-ndjson"
            | "application/vnd.elasticsearch+json"
    );
    if ok {
        Ok(())
    } else {
        Err(json_response(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"error": format!("Content-Type header [{ct}] is not supported"), "status": 406}),
        ))
    }
}

/// `http.max_content_length` and `Content-Encoding`.
/// https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/networking-settings
/// "If the body is compressed, the limit applies to the HTTP request body size before
/// compression" (elastic/elasticsearch#94408): the limit is on the inflated body, so a gzipped
/// request is measured after inflating it. Over the limit → 413 with an empty body (the HTTP
/// layer answers before any handler). `http.compression` also covers request bodies sent
/// with `Content-Encoding: gzip` / `deflate`.
fn inflate_body(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<Vec<u8>, Response> {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "").into_response();
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "deflate" | "x-deflate" => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        _ => {
            if body.len() > limit {
                return Err(too_large());
            }
            return Ok(body.to_vec());
        }
    };
    let mut out = Vec::new();
    match reader.take(limit as u64 + 1).read_to_end(&mut out) {
        Ok(_) if out.len() > limit => Err(too_large()),
        Ok(_) => Ok(out),
        Err(e) => Err(es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &format!("failed to decompress the request body ({encoding}): {e}"),
        )),
    }
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    url_decode_pairs(q)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Index names: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create
/// (lowercase; no `\ / * ? " < > | , #`, space or `:`; not starting with `-`, `_`, `+`;
/// not `.`/`..`; at most 255 bytes).
fn invalid_index_name(name: &str) -> Option<String> {
    let why = if name.to_lowercase() != name {
        "must be lowercase"
    } else if name.chars().any(|c| r#"\/*?"<>|,# :"#.contains(c)) {
        r#"must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?, #, :]"#
    } else if name.starts_with(['-', '_', '+']) {
        "must not start with '_', '-', or '+'"
    } else if name == "." || name == ".." {
        "must not be '.' or '..'"
    } else if name.len() > 255 {
        "index name is too long"
    } else {
        return None;
    };
    Some(format!("Invalid index name [{name}], {why}"))
}

impl Inner {
    /// Applies one bulk request (security and request-level faults already passed).
    fn bulk(
        &mut self,
        path_target: Option<&str>,
        uri: &Uri,
        headers: &HeaderMap,
        body: &Bytes,
        started: Instant,
    ) -> Response {
        let body = match inflate_body(headers, body, self.settings.max_content_length) {
            Ok(b) => b,
            Err(r) => return r,
        };
        if let Err(r) = check_content_type(headers) {
            return r;
        }
        let actions = match parse_bulk(&body) {
            Ok(a) => a,
            Err(r) => return r,
        };
        if actions.is_empty() {
            return es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: no requests added;",
            );
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // "<target>: … if no `_index` is specified in the action, the target of the path".
        if actions
            .iter()
            .any(|a| a.index.is_none() && path_target.is_none())
        {
            return es_error(
                StatusCode::BAD_REQUEST,
                "action_request_validation_exception",
                "Validation Failed: 1: index is missing;",
            );
        }
        let mut items = Vec::with_capacity(actions.len());
        let mut errors = false;
        for a in &actions {
            let target = a
                .index
                .clone()
                .or_else(|| path_target.map(str::to_owned))
                .unwrap_or_default();
            let (status, result) = self.item(&target, a);
            *self.stats.item_status.entry(status).or_default() += 1;
            errors |= result.get("error").is_some();
            items.push(json!({ a.op.clone(): result }));
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk (response body).
        let mut resp =
            json!({"errors": errors, "took": started.elapsed().as_millis() as u64, "items": items});
        // https://www.elastic.co/docs/reference/elasticsearch/rest-apis/common-options#common-options-response-filtering
        // Only this answer is filtered: Elasticsearch builds error answers without the filter
        // (RestChannel.newErrorBuilder: "Disable filtering when building error responses").
        if let Some(fp) = query_param(uri, "filter_path") {
            resp = filter_path(&resp, &fp);
        }
        json_response(StatusCode::OK, &resp)
    }

    /// One action → (status, the item's body).
    fn item(&mut self, target: &str, a: &Action) -> (u16, Value) {
        let fail = |index: &str, id: Option<&str>, status: u16, etype: &str, reason: String| {
            let mut v = json!({"_index": index, "status": status, "error": {"type": etype, "reason": reason}});
            if let Some(id) = id {
                v["_id"] = json!(id);
            }
            (status, v)
        };
        if let Some(reason) = invalid_index_name(target) {
            return fail(
                target,
                a.id.as_deref(),
                400,
                "invalid_index_name_exception",
                reason,
            );
        }
        let flattened = self.settings.flattened.clone();
        let t = self
            .targets
            .entry(target.to_owned())
            .or_insert_with(|| Target::new(target, &flattened));
        let index_name = t.index_name.clone();
        // https://www.elastic.co/docs/manage-data/data-store/data-streams/use-data-stream#add-documents-to-a-data-stream
        // "You cannot add new documents to a data stream using the index API's PUT /<target>/_doc/<_id>
        // request format … use op_type of create"; the bulk API refuses any other op type.
        if t.data_stream && a.op != "create" {
            return fail(
                target,
                a.id.as_deref(),
                400,
                "illegal_argument_exception",
                "only write ops with an op_type of create are allowed in data streams".into(),
            );
        }
        if a.op == "update" {
            return fail(
                &index_name,
                a.id.as_deref(),
                400,
                "illegal_argument_exception",
                "update is not modelled by the test server".into(),
            );
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // (429: "the request was rejected because the cluster is overloaded"; rejections are
        // per item: https://www.elastic.co/docs/troubleshoot/elasticsearch/rejected-requests).
        let f429 = self.settings.faults.item_429_rate;
        if f429 > 0.0 && self.rng.f64() < f429 {
            return fail(
                &index_name,
                a.id.as_deref(),
                429,
                "es_rejected_execution_exception",
                "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0]".into(),
            );
        }
        let t = self
            .targets
            .get_mut(target)
            .unwrap_or_else(|| unreachable!());
        if a.op == "delete" {
            let id = a.id.clone().unwrap_or_default();
            return match t.docs.remove(&id) {
                Some(_) => {
                    let v = t.versions.entry(id.clone()).or_insert(1);
                    *v += 1;
                    self.seq_no += 1;
                    (
                        200,
                        ok_item(&index_name, &id, *v, "deleted", self.seq_no, 200),
                    )
                }
                None => (
                    404,
                    ok_item(&index_name, &id, 1, "not_found", self.seq_no, 404),
                ),
            };
        }
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-create
        // "If the target already contains a document with the same _id, the request returns
        // 409 version_conflict_engine_exception".
        if let Some(id) = &a.id
            && a.op == "create"
            && t.docs.contains_key(id)
        {
            let version = t.versions.get(id).copied().unwrap_or(1);
            let v = json!({"_index": index_name, "_id": id, "status": 409, "error": {
                "type": "version_conflict_engine_exception",
                "reason": format!("[{id}]: version conflict, document already exists (current version [{version}])"),
                "index_uuid": "aAbBcCdDeEfFgGhHiIjJkK", "shard": "0", "index": index_name}});
            return (409, v);
        }
        let id = match &a.id {
            Some(id) => id.clone(),
            None => {
                t.auto_id += 1;
                format!("auto-{:012}", t.auto_id)
            }
        };
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
            return fail(
                &index_name,
                Some(&id),
                400,
                "document_parsing_exception",
                format!(
                    "failed to parse: injected fault (seed {}) for document with id '{id}'",
                    f.seed
                ),
            );
        }
        let raw = a.source.as_deref().unwrap_or_default();
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // a source that is not one JSON object fails the document, not the request.
        let src = match serde_json::from_slice::<Value>(raw) {
            Ok(Value::Object(o)) => o,
            Ok(other) => {
                return fail(
                    &index_name,
                    Some(&id),
                    400,
                    "document_parsing_exception",
                    format!(
                        "failed to parse, document is empty or not an object (found [{}])",
                        token(&other)
                    ),
                );
            }
            Err(e) => {
                return fail(
                    &index_name,
                    Some(&id),
                    400,
                    "document_parsing_exception",
                    format!("[1:{}] failed to parse: {e}", e.column()),
                );
            }
        };
        // https://www.elastic.co/docs/manage-data/data-store/data-streams
        // "Every document indexed to a data stream must contain a @timestamp field".
        if t.data_stream && !src.contains_key("@timestamp") {
            return fail(
                &index_name,
                Some(&id),
                400,
                "document_parsing_exception",
                "failed to parse: data stream timestamp field [@timestamp] is missing".into(),
            );
        }
        let staged = {
            let mut c = DocCheck {
                mapping: &t.mapping,
                staged: BTreeMap::new(),
                id: &id,
                date_detection: t.date_detection,
            };
            match c.object(&src, "") {
                Ok(()) => c.staged,
                Err(e) => {
                    let mut v = json!({"_index": index_name, "_id": id, "status": 400,
                                       "error": {"type": "document_parsing_exception", "reason": e.reason}});
                    if let Some((ct, cr)) = e.caused_by {
                        v["error"]["caused_by"] = json!({"type": ct, "reason": cr});
                    }
                    return (400, v);
                }
            }
        };
        t.mapping.extend(staged);
        let existed = t.docs.insert(id.clone(), Value::Object(src)).is_some();
        let version = t
            .versions
            .entry(id.clone())
            .and_modify(|v| *v += 1)
            .or_insert(1);
        *t.writes.entry(id.clone()).or_default() += 1;
        self.seq_no += 1;
        // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
        // (201 `created`; an `index` over an existing document is 200 `updated`).
        if existed {
            (
                200,
                ok_item(&index_name, &id, *version, "updated", self.seq_no, 200),
            )
        } else {
            (
                201,
                ok_item(&index_name, &id, *version, "created", self.seq_no, 201),
            )
        }
    }
}

fn ok_item(index: &str, id: &str, version: u64, result: &str, seq_no: u64, status: u16) -> Value {
    json!({"_index": index, "_id": id, "_version": version, "result": result,
           "_shards": {"total": 2, "successful": 1, "failed": 0},
           "_seq_no": seq_no, "_primary_term": 1, "status": status})
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
// Dynamic mapping
// ---------------------------------------------------------------------------------------------

struct MappingError {
    reason: String,
    caused_by: Option<(&'static str, String)>,
}

/// Checks one document against a target's mapping, staging the fields it would add. Nothing
/// is applied unless the whole document passes (a refused document adds no mapping).
/// https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-field-mapping
/// (JSON → field type: `true`/`false` → boolean, integer → long, floating point → float,
/// object → object, string → date when date detection matches, else text; null adds nothing;
/// an array takes the type of its first non-null value).
/// Mapping limits (`index.mapping.total_fields.limit`, depth) are not modelled.
struct DocCheck<'a> {
    mapping: &'a BTreeMap<String, FieldType>,
    staged: BTreeMap<String, FieldType>,
    id: &'a str,
    date_detection: bool,
}

impl DocCheck<'_> {
    fn get(&self, path: &str) -> Option<FieldType> {
        self.staged
            .get(path)
            .or_else(|| self.mapping.get(path))
            .cloned()
    }

    fn object(&mut self, obj: &Map<String, Value>, prefix: &str) -> Result<(), MappingError> {
        for (k, v) in obj {
            // A dotted key is the same field as the nested objects it names:
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/object
            let parts: Vec<&str> = k.split('.').collect();
            let mut path = prefix.to_owned();
            let mut under_flattened = false;
            for (i, part) in parts.iter().enumerate() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part);
                if i + 1 == parts.len() {
                    break;
                }
                match self.get(&path) {
                    None => {
                        self.staged.insert(path.clone(), FieldType::Object);
                    }
                    Some(FieldType::Object) => {}
                    Some(FieldType::Flattened) => {
                        under_flattened = true;
                        break;
                    }
                    Some(t) => {
                        return Err(MappingError {
                            reason: format!(
                                "Could not dynamically add mapping for field [{}{k}]. Existing mapping for [{path}] must be of type object but found [{}].",
                                if prefix.is_empty() {
                                    String::new()
                                } else {
                                    format!("{prefix}.")
                                },
                                t.name()
                            ),
                            caused_by: None,
                        });
                    }
                }
            }
            if under_flattened {
                continue;
            }
            let leaf = parts.last().copied().unwrap_or_default();
            self.value(&path, leaf, v)?;
        }
        Ok(())
    }

    fn value(&mut self, path: &str, leaf: &str, v: &Value) -> Result<(), MappingError> {
        match v {
            Value::Null => Ok(()),
            Value::Array(a) => {
                for e in a {
                    self.value(path, leaf, e)?;
                }
                Ok(())
            }
            Value::Object(o) => match self.get(path) {
                None => {
                    self.staged.insert(path.to_owned(), FieldType::Object);
                    self.object(o, path)
                }
                Some(FieldType::Object) => self.object(o, path),
                // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/flattened
                // "the entire object is mapped as a single field": its leaves never conflict.
                Some(FieldType::Flattened) => Ok(()),
                Some(t) => Err(self.parse_error(
                    path,
                    &t,
                    v,
                    (
                        "illegal_state_exception",
                        "Can't get text on a START_OBJECT".into(),
                    ),
                )),
            },
            scalar => match self.get(path) {
                None => {
                    let t = infer(scalar, self.date_detection);
                    self.staged.insert(path.to_owned(), t);
                    Ok(())
                }
                // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/object
                Some(FieldType::Object) => Err(MappingError {
                    reason: format!(
                        "object mapping for [{path}] tried to parse field [{leaf}] as object, but found a concrete value"
                    ),
                    caused_by: None,
                }),
                Some(FieldType::Flattened) => Ok(()),
                // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/keyword#constant-keyword-field-type
                Some(FieldType::ConstantKeyword(c)) => {
                    let given = match scalar {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match c {
                        None => {
                            self.staged
                                .insert(path.to_owned(), FieldType::ConstantKeyword(Some(given)));
                            Ok(())
                        }
                        Some(c) if c == given => Ok(()),
                        Some(c) => Err(MappingError {
                            reason: format!(
                                "[constant_keyword] field [{path}] only accepts values that are equal to the value defined in the mappings [{c}], but got [{given}]"
                            ),
                            caused_by: None,
                        }),
                    }
                }
                Some(t) => match accepts(&t, scalar) {
                    Ok(()) => Ok(()),
                    Err(cause) => Err(self.parse_error(path, &t, scalar, cause)),
                },
            },
        }
    }

    /// https://www.elastic.co/docs/troubleshoot/elasticsearch/failed-to-parse-field-of-type
    fn parse_error(
        &self,
        path: &str,
        t: &FieldType,
        v: &Value,
        cause: (&'static str, String),
    ) -> MappingError {
        let preview = match v {
            Value::String(s) => s.chars().take(100).collect::<String>(),
            other => other.to_string().chars().take(100).collect(),
        };
        MappingError {
            reason: format!(
                "failed to parse field [{path}] of type [{}] in document with id '{}'. Preview of field's value: '{preview}'",
                t.name(),
                self.id
            ),
            caused_by: Some(cause),
        }
    }
}

fn infer(v: &Value, date_detection: bool) -> FieldType {
    match v {
        Value::Bool(_) => FieldType::Boolean,
        Value::Number(n) if n.is_f64() => FieldType::Float,
        Value::Number(_) => FieldType::Long,
        // https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-field-mapping#date-detection
        Value::String(s) if date_detection && is_date(s) => FieldType::Date,
        _ => FieldType::Text,
    }
}

/// What a mapped field accepts, with the default `coerce: true`:
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce
/// (numeric strings into numbers, floats truncated into integers),
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/boolean
/// (`true`, `false`, `"true"`, `"false"`, `""`), text takes any scalar, and
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/date
/// (default format `strict_date_optional_time||epoch_millis`).
fn accepts(t: &FieldType, v: &Value) -> Result<(), (&'static str, String)> {
    let as_text = || match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let ok = match t {
        FieldType::Long => match v {
            Value::Number(n) => n
                .as_f64()
                .is_some_and(|f| f.is_finite() && f.abs() < 9.2e18),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .is_ok_and(|f| f.is_finite() && f.abs() < 9.2e18),
            _ => false,
        },
        FieldType::Float => match v {
            Value::Number(_) => true,
            Value::String(s) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
            _ => false,
        },
        FieldType::Boolean => match v {
            Value::Bool(_) => return Ok(()),
            Value::String(s) if matches!(s.as_str(), "true" | "false" | "") => return Ok(()),
            _ => {
                return Err((
                    "illegal_argument_exception",
                    format!(
                        "Failed to parse value [{}] as only [true] or [false] are allowed.",
                        as_text()
                    ),
                ));
            }
        },
        FieldType::Date => match v {
            Value::String(s) => is_date(s) || s.parse::<i64>().is_ok(),
            Value::Number(n) => n.is_i64(),
            _ => false,
        },
        FieldType::Text
        | FieldType::Object
        | FieldType::Flattened
        | FieldType::ConstantKeyword(_) => true,
    };
    if ok {
        return Ok(());
    }
    Err(match t {
        FieldType::Date => (
            "illegal_argument_exception",
            format!(
                "failed to parse date field [{}] with format [strict_date_optional_time||epoch_millis]",
                as_text()
            ),
        ),
        _ => (
            "number_format_exception",
            format!("For input string: \"{}\"", as_text()),
        ),
    })
}

/// `strict_date_optional_time` (the forms logs use) for date detection and date fields.
fn is_date(s: &str) -> bool {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    DateTime::parse_from_rfc3339(s).is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").is_ok()
        || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

// ---------------------------------------------------------------------------------------------
// filter_path
// ---------------------------------------------------------------------------------------------

/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/common-options#common-options-response-filtering
/// A comma list of dotted paths; `*` matches within one name, `**` any number of levels;
/// arrays are transparent; objects and arrays left empty are dropped. Exclusions (`-path`)
/// are not modelled.
pub fn filter_path(v: &Value, spec: &str) -> Value {
    let paths: Vec<Vec<&str>> = spec
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with('-'))
        .map(|p| p.split('.').collect())
        .collect();
    let refs: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
    filter(v, &refs).unwrap_or_else(|| json!({}))
}

fn filter(v: &Value, paths: &[&[&str]]) -> Option<Value> {
    if paths.iter().any(|p| p.is_empty()) {
        return Some(v.clone());
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let mut next: Vec<&[&str]> = Vec::new();
                for p in paths {
                    if p[0] == "**" {
                        next.push(p);
                        match p.get(1) {
                            Some(first) if glob(first, k) => next.push(&p[2..]),
                            Some(_) => {}
                            None => next.push(&p[1..]),
                        }
                    } else if glob(p[0], k) {
                        next.push(&p[1..]);
                    }
                }
                if !next.is_empty()
                    && let Some(c) = filter(child, &next)
                {
                    out.insert(k.clone(), c);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let out: Vec<Value> = a.iter().filter_map(|e| filter(e, paths)).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// `*` matches any run of characters.
fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}

// =============================================================================================
// Tests of the server itself: each behaviour against raw HTTP requests.
// =============================================================================================

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const FP: &str = shipper::request_builder::FILTER_PATH;

    fn client() -> reqwest::Client {
        reqwest::Client::new()
    }

    async fn post_ndjson(url: &str, path: &str, body: &str) -> (u16, HeaderMap, Value) {
        let r = client()
            .post(format!("{url}{path}"))
            .header("content-type", "application/x-ndjson")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let h = r.headers().clone();
        let v = r.json::<Value>().await.unwrap_or(Value::Null);
        (status, h, v)
    }

    fn statuses(v: &Value) -> Vec<u64> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                i.as_object().unwrap().values().next().unwrap()["status"]
                    .as_u64()
                    .unwrap()
            })
            .collect()
    }

    fn item(v: &Value, i: usize) -> &Value {
        v["items"][i].as_object().unwrap().values().next().unwrap()
    }

    #[tokio::test]
    async fn the_root_answers_like_elasticsearch_9() {
        let s = BulkServer::with_defaults().await;
        let r = client().get(s.url()).send().await.unwrap();
        assert_eq!(r.headers()["x-elastic-product"], "Elasticsearch");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["version"]["number"], "9.5.0");
        assert_eq!(v["tagline"], "You Know, for Search");
    }

    #[tokio::test]
    async fn a_bulk_answers_one_item_per_action_in_order_with_index_id_and_status() {
        let s = BulkServer::with_defaults().await;
        let body = concat!(
            "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"one\"}\n",
            "{\"create\":{\"_id\":\"2\"}}\n{\"@timestamp\":\"2026-11-24T09:00:01Z\",\"message\":\"two\"}\n",
            "{\"index\":{\"_index\":\"plain\",\"_id\":\"3\"}}\n{\"n\":1}\n",
            "{\"delete\":{\"_index\":\"plain\",\"_id\":\"nope\"}}\n",
        );
        let (status, _, v) = post_ndjson(s.url(), "/logs-a-default/_bulk", body).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(statuses(&v), vec![201, 201, 201, 404]);
        assert_eq!(v["errors"], false);
        assert!(v["took"].is_u64());
        assert!(
            item(&v, 0)["_index"]
                .as_str()
                .unwrap()
                .starts_with(".ds-logs-a-default-")
        );
        assert_eq!(item(&v, 1)["_id"], "2");
        assert_eq!(item(&v, 2)["_index"], "plain");
        assert_eq!(item(&v, 0)["result"], "created");
        assert!(v["items"][3].get("delete").is_some());
        assert_eq!(s.count("logs-a-default"), 2);
        assert_eq!(s.count("plain"), 1);
    }

    #[tokio::test]
    async fn create_of_an_existing_id_is_an_item_409_version_conflict_and_stores_nothing_new() {
        let s = BulkServer::with_defaults().await;
        let line = "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"x\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"m\"}\n";
        let (_, _, first) = post_ndjson(s.url(), "/_bulk", line).await;
        assert_eq!(statuses(&first), vec![201]);
        let (status, _, v) = post_ndjson(s.url(), "/_bulk", &line.repeat(2)).await;
        assert_eq!(status, 200);
        assert_eq!(statuses(&v), vec![409, 409]);
        assert_eq!(v["errors"], true);
        assert_eq!(
            item(&v, 0)["error"]["type"],
            "version_conflict_engine_exception"
        );
        assert!(
            item(&v, 0)["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("document already exists")
        );
        assert_eq!(s.count("logs-a-default"), 1);
        assert_eq!(s.writes("logs-a-default", "x"), 1);
        assert!(s.duplicates().is_empty());
    }

    #[tokio::test]
    async fn a_data_stream_refuses_index_ops_and_documents_without_timestamp() {
        let s = BulkServer::with_defaults().await;
        let body = concat!(
            "{\"index\":{\"_index\":\"logs-a-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\"}\n",
            "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"2\"}}\n{\"message\":\"no timestamp\"}\n",
            "{\"index\":{\"_index\":\"logs-nodash\",\"_id\":\"3\"}}\n{\"message\":\"not a data stream name\"}\n",
        );
        let (_, _, v) = post_ndjson(s.url(), "/_bulk", body).await;
        assert_eq!(statuses(&v), vec![400, 400, 201]);
        assert_eq!(item(&v, 0)["error"]["type"], "illegal_argument_exception");
        assert_eq!(
            item(&v, 0)["error"]["reason"],
            "only write ops with an op_type of create are allowed in data streams"
        );
        assert_eq!(item(&v, 1)["error"]["type"], "document_parsing_exception");
        assert!(
            item(&v, 1)["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("[@timestamp] is missing")
        );
    }

    #[tokio::test]
    async fn the_first_type_of_a_field_fixes_it_and_a_conflict_is_an_item_400_but_never_under_app()
    {
        let s = BulkServer::with_defaults().await;
        let t = "logs-m-default";
        let doc = |id: &str, src: &str| {
            format!("{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"{id}\"}}}}\n{src}\n")
        };
        let ts = "\"@timestamp\":\"2026-11-24T09:00:00Z\"";
        let body = [
            doc("1", &format!("{{{ts},\"http\":{{\"response\":{{\"status_code\":200}}}},\"app\":{{\"status\":200}}}}")),
            // Coerced: a numeric string into a long is fine.
            doc("2", &format!("{{{ts},\"http\":{{\"response\":{{\"status_code\":\"201\"}}}}}}")),
            doc("3", &format!("{{{ts},\"http\":{{\"response\":{{\"status_code\":\"ok\"}}}}}}")),
            // The same conflict, written as a dotted key.
            doc("4", &format!("{{{ts},\"http.response.status_code\":\"nope\"}}")),
            // An object field receiving a scalar.
            doc("5", &format!("{{{ts},\"http\":\"flat\"}}")),
            // Under the flattened `app`, any type goes.
            doc("6", &format!("{{{ts},\"app\":{{\"status\":\"ok\",\"nested\":{{\"x\":[1,\"a\",true]}}}}}}")),
            doc("7", &format!("{{{ts},\"app\":\"even a scalar\"}}")),
            // constant_keyword: the first dataset value fixes it.
            doc("8", &format!("{{{ts},\"data_stream\":{{\"dataset\":\"m\"}}}}")),
            doc("9", &format!("{{{ts},\"data_stream\":{{\"dataset\":\"other\"}}}}")),
        ]
        .concat();
        let (_, _, v) = post_ndjson(s.url(), "/_bulk", &body).await;
        assert_eq!(
            statuses(&v),
            vec![201, 201, 400, 400, 400, 201, 201, 201, 400],
            "{v}"
        );
        let e3 = &item(&v, 2)["error"];
        assert_eq!(e3["type"], "document_parsing_exception");
        assert_eq!(
            e3["reason"],
            "failed to parse field [http.response.status_code] of type [long] in document with id '3'. Preview of field's value: 'ok'"
        );
        assert_eq!(e3["caused_by"]["type"], "number_format_exception");
        assert!(
            item(&v, 4)["error"]["reason"]
                .as_str()
                .unwrap()
                .starts_with("object mapping for [http] tried to parse field [http] as object")
        );
        assert!(
            item(&v, 8)["error"]["reason"]
                .as_str()
                .unwrap()
                .contains("[constant_keyword] field [data_stream.dataset]")
        );
        assert_eq!(s.field_type(t, "http.response.status_code"), Some("long"));
        assert_eq!(s.field_type(t, "app"), Some("flattened"));
        assert_eq!(s.count(t), 5);
        // A refused document adds no mapping.
        let (_, _, v) = post_ndjson(
            s.url(),
            "/_bulk",
            &doc("10", &format!("{{{ts},\"new\":1,\"http\":5}}")),
        )
        .await;
        assert_eq!(statuses(&v), vec![400]);
        assert_eq!(s.field_type(t, "new"), None);
    }

    #[tokio::test]
    async fn a_malformed_action_line_fails_the_whole_request_with_400() {
        let s = BulkServer::with_defaults().await;
        let cases = [
            (
                "{\"upsert\":{\"_id\":\"1\"}}\n{}\n",
                "illegal_argument_exception",
                "expected field [create], [delete], [index] or [update] but found [upsert]",
            ),
            (
                "[1]\n",
                "illegal_argument_exception",
                "Malformed action/metadata line [1], expected START_OBJECT or END_OBJECT but found [START_ARRAY]",
            ),
            (
                "{\"create\":{\"_index\":\"i\"}}\n{}\n\n",
                "illegal_argument_exception",
                "Malformed action/metadata line [3]",
            ),
            (
                "{\"create\":{\"_index\":\"i\",\"bogus\":1}}\n{}\n",
                "illegal_argument_exception",
                "contains an unknown parameter [bogus]",
            ),
            (
                "{\"create\":{\"_index\":\"i\"}}\n{}",
                "illegal_argument_exception",
                "The bulk request must be terminated by a newline [\\n]",
            ),
            ("not json\n", "x_content_parse_exception", "[1:"),
            (
                "{\"create\":{}}\n{}\n",
                "action_request_validation_exception",
                "index is missing",
            ),
        ];
        for (body, etype, reason) in cases {
            // With the shipper's filter_path: error answers are never filtered.
            let (status, _, v) =
                post_ndjson(s.url(), &format!("/_bulk?filter_path={FP}"), body).await;
            assert_eq!(status, 400, "{body:?}: {v}");
            assert_eq!(v["status"], 400);
            assert_eq!(v["error"]["type"], etype, "{body:?}: {v}");
            assert!(
                v["error"]["reason"].as_str().unwrap().contains(reason),
                "{body:?}: {v}"
            );
            assert_eq!(v["error"]["root_cause"][0]["type"], etype);
        }
        assert!(
            s.targets().is_empty(),
            "nothing of a refused request is applied"
        );
    }

    #[tokio::test]
    async fn a_bulk_without_an_ndjson_or_json_content_type_is_406() {
        let s = BulkServer::with_defaults().await;
        let body = "{\"create\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{}\n";
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "text/plain")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 406);
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/json; charset=UTF-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }

    fn gzip(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[tokio::test]
    async fn a_gzipped_body_is_inflated_and_filter_path_keeps_only_what_the_shipper_asks_for() {
        let s = BulkServer::with_defaults().await;
        let body = concat!(
            "{\"create\":{\"_index\":\"logs-g-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"n\":1}\n",
            "{\"create\":{\"_index\":\"logs-g-default\",\"_id\":\"2\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"n\":\"x\"}\n",
        );
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .query(&[("filter_path", FP)])
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(gzip(body.as_bytes()))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        let reason = "failed to parse field [n] of type [long] in document with id '2'. Preview of field's value: 'x'";
        assert_eq!(
            v,
            json!({"errors": true, "items": [
                {"create": {"status": 201}},
                {"create": {"status": 400, "error": {"type": "document_parsing_exception", "reason": reason}}}
            ]})
        );
        assert_eq!(s.count("logs-g-default"), 1);
        // A corrupt gzip body is a 400, not a crash.
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(b"\x1f\x8bnot gzip".to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }

    #[test]
    fn filter_path_supports_wildcards_double_wildcards_and_drops_empty_branches() {
        let v = json!({"took": 3, "errors": false, "items": [{"create": {"_id": "1", "status": 201}}, {"index": {"status": 200, "error": {"type": "t", "reason": "r", "x": 1}}}], "a": {"b": {"c": 1, "d": 2}}});
        assert_eq!(filter_path(&v, "errors"), json!({"errors": false}));
        assert_eq!(
            filter_path(&v, "items.*.status"),
            json!({"items": [{"create": {"status": 201}}, {"index": {"status": 200}}]})
        );
        assert_eq!(
            filter_path(&v, "items.*.error.type"),
            json!({"items": [{"index": {"error": {"type": "t"}}}]})
        );
        assert_eq!(filter_path(&v, "**.c"), json!({"a": {"b": {"c": 1}}}));
        assert_eq!(
            filter_path(&v, "a.*.d,took"),
            json!({"took": 3, "a": {"b": {"d": 2}}})
        );
        assert_eq!(filter_path(&v, "nothing.here"), json!({}));
        assert_eq!(
            filter_path(&v, "ite*.create._id"),
            json!({"items": [{"create": {"_id": "1"}}]})
        );
    }

    #[tokio::test]
    async fn a_body_over_http_max_content_length_after_inflating_is_413_for_the_whole_request() {
        let s = BulkServer::start(Settings {
            max_content_length: 4096,
            ..Settings::default()
        })
        .await;
        let one = "{\"create\":{\"_index\":\"logs-l-default\",\"_id\":\"ID\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n";
        let body: String = (0..60).map(|i| one.replace("ID", &i.to_string())).collect();
        let small: String = (0..10).map(|i| one.replace("ID", &i.to_string())).collect();
        assert!(body.len() > 4096 && small.len() < 4096);
        let z = gzip(body.as_bytes());
        assert!(
            z.len() < 4096,
            "compressed it fits, but the limit is on the inflated body"
        );
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .header("content-encoding", "gzip")
            .body(z)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let (status, _, _) = post_ndjson(s.url(), "/_bulk", &body).await;
        assert_eq!(status, 413);
        assert_eq!(
            s.count("logs-l-default"),
            0,
            "nothing of a 413 request is applied"
        );
        let (status, _, v) = post_ndjson(s.url(), "/_bulk", &small).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(s.stats().bulk(413), 2);
    }

    #[tokio::test]
    async fn with_security_on_missing_or_wrong_credentials_get_401_with_www_authenticate() {
        let s = BulkServer::start(Settings {
            credentials: vec![
                Credential::Basic {
                    user: "elastic".into(),
                    password: "s3cret".into(),
                },
                Credential::ApiKey("a2V5aWQ6a2V5".into()),
            ],
            ..Settings::default()
        })
        .await;
        let body = "{\"create\":{\"_index\":\"logs-s-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\"}\n";
        let send = |auth: Option<(&'static str, String)>| {
            let mut r = client()
                .post(format!("{}/_bulk", s.url()))
                .header("content-type", "application/x-ndjson")
                .body(body);
            if let Some((k, v)) = auth {
                r = r.header(k, v);
            }
            r.send()
        };
        for (auth, reason) in [
            (
                None,
                "missing authentication credentials for REST request [/_bulk]",
            ),
            (
                Some((
                    "authorization",
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode("elastic:wrong")
                    ),
                )),
                "unable to authenticate user [elastic] for REST request [/_bulk]",
            ),
            (
                Some(("authorization", "ApiKey bm9wZTpub3Bl".to_owned())),
                "unable to authenticate with provided credentials",
            ),
        ] {
            let r = send(auth).await.unwrap();
            assert_eq!(r.status(), 401);
            let schemes: Vec<_> = r
                .headers()
                .get_all("www-authenticate")
                .iter()
                .map(|v| v.to_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                schemes,
                vec![
                    r#"Basic realm="security", charset="UTF-8""#.to_owned(),
                    "ApiKey".to_owned()
                ]
            );
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["status"], 401);
            assert_eq!(v["error"]["type"], "security_exception");
            assert!(
                v["error"]["reason"].as_str().unwrap().starts_with(reason),
                "{v}"
            );
        }
        assert_eq!(s.count("logs-s-default"), 0);
        let r = client()
            .get(s.url())
            .basic_auth("elastic", Some("s3cret"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let r = send(Some(("authorization", "ApiKey a2V5aWQ6a2V5".to_owned())))
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(s.count("logs-s-default"), 1);
    }

    fn docs_body(target: &str, n: usize) -> String {
        (0..n).map(|i| format!("{{\"create\":{{\"_index\":\"{target}\",\"_id\":\"{i}\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"i\":{i}}}\n")).collect()
    }

    #[tokio::test]
    async fn injected_faults_are_deterministic_by_seed() {
        let faults = Faults {
            seed: 42,
            item_429_rate: 0.2,
            item_400_rate: 0.1,
            burst_503_rate: 0.2,
            burst_503_len: 2,
            ..Faults::default()
        };
        let mut runs = Vec::new();
        for _ in 0..2 {
            let s = BulkServer::start(Settings {
                faults: faults.clone(),
                ..Settings::default()
            })
            .await;
            let mut seen = Vec::new();
            for round in 0..8 {
                let (status, _, v) = post_ndjson(
                    s.url(),
                    "/_bulk",
                    &docs_body(&format!("logs-f{round}-default"), 50),
                )
                .await;
                seen.push((status, if status == 200 { statuses(&v) } else { vec![] }));
            }
            runs.push((seen, s.stats().injected_400));
        }
        assert_eq!(runs[0], runs[1]);
        let all: Vec<u64> = runs[0].0.iter().flat_map(|(_, s)| s.clone()).collect();
        assert!(
            all.contains(&429) && all.contains(&400) && all.contains(&201),
            "{all:?}"
        );
        assert!(runs[0].0.iter().any(|(s, _)| *s == 503));
    }

    #[tokio::test]
    async fn an_injected_400_is_permanent_for_that_document_and_never_hits_a_stored_id() {
        let s = BulkServer::start(Settings {
            faults: Faults {
                seed: 3,
                item_400_rate: 0.3,
                ..Faults::default()
            },
            ..Settings::default()
        })
        .await;
        let body = docs_body("logs-p-default", 40);
        let (_, _, first) = post_ndjson(s.url(), "/_bulk", &body).await;
        let (_, _, second) = post_ndjson(s.url(), "/_bulk", &body).await;
        let (a, b) = (statuses(&first), statuses(&second));
        assert!(a.contains(&400));
        for (x, y) in a.iter().zip(&b) {
            match x {
                201 => assert_eq!(*y, 409),
                400 => assert_eq!(*y, 400),
                other => panic!("unexpected {other}"),
            }
        }
    }

    #[tokio::test]
    async fn a_dropped_connection_gets_no_answer_and_a_drop_after_the_writes_keeps_them() {
        let s = BulkServer::start(Settings {
            faults: Faults {
                seed: 1,
                drop_after_rate: 1.0,
                ..Faults::default()
            },
            ..Settings::default()
        })
        .await;
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .body(docs_body("logs-d-default", 3))
            .send()
            .await;
        assert!(r.is_err(), "expected no answer, got {r:?}");
        assert_eq!(s.count("logs-d-default"), 3);
        s.set_faults(Faults {
            seed: 1,
            drop_before_rate: 1.0,
            ..Faults::default()
        });
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .body(docs_body("logs-e-default", 3))
            .send()
            .await;
        assert!(r.is_err());
        assert_eq!(s.count("logs-e-default"), 0);
        assert_eq!(s.stats().dropped, 2);
        // The server still answers afterwards, on a new connection.
        s.set_faults(Faults::default());
        let (status, _, _) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-e-default", 3)).await;
        assert_eq!(status, 200);
    }

    #[tokio::test]
    async fn a_slow_answer_arrives_after_the_configured_delay_with_the_writes_applied() {
        let s = BulkServer::start(Settings {
            faults: Faults {
                slow_rate: 1.0,
                slow: Duration::from_millis(300),
                ..Faults::default()
            },
            ..Settings::default()
        })
        .await;
        let t0 = Instant::now();
        let r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .timeout(Duration::from_millis(100))
            .body(docs_body("logs-w-default", 2))
            .send()
            .await;
        assert!(r.unwrap_err().is_timeout());
        assert!(t0.elapsed() < Duration::from_millis(300));
        assert_eq!(s.count("logs-w-default"), 2);
        let t0 = Instant::now();
        let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-w-default", 2)).await;
        assert!(t0.elapsed() >= Duration::from_millis(300));
        assert_eq!((status, statuses(&v)), (200, vec![409, 409]));
    }

    #[tokio::test]
    async fn a_503_burst_lasts_exactly_its_length() {
        let s = BulkServer::start(Settings {
            faults: Faults {
                burst_503_rate: 1.0,
                burst_503_len: 3,
                ..Faults::default()
            },
            ..Settings::default()
        })
        .await;
        for _ in 0..3 {
            let (status, _, v) =
                post_ndjson(s.url(), "/_bulk", &docs_body("logs-u-default", 1)).await;
            assert_eq!(status, 503);
            assert_eq!(v["error"]["type"], "cluster_block_exception");
        }
        s.set_faults(Faults {
            burst_503_rate: 0.0,
            ..Faults::default()
        });
        let (status, _, _) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-u-default", 1)).await;
        assert_eq!(status, 200);
        assert_eq!(s.stats().bulk(503), 3);
    }

    #[tokio::test]
    async fn count_and_refresh_answer_for_existing_targets_and_404_for_unknown_ones() {
        let s = BulkServer::with_defaults().await;
        post_ndjson(s.url(), "/_bulk", &docs_body("logs-c-default", 4)).await;
        let conn = crate::support::connection(s.url());
        assert_eq!(
            crate::support::count(&conn, "logs-c-default", None).await,
            4
        );
        assert_eq!(crate::support::count(&conn, "logs-c-*", None).await, 4);
        let (status, v) =
            crate::support::es_json(&conn, reqwest::Method::GET, "nope/_count", None).await;
        assert_eq!(
            (status, v["error"]["type"].as_str()),
            (404, Some("index_not_found_exception"))
        );
    }
}
