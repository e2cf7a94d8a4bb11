//! End to end, as users run it: the shipper binary as a Lambda under a loopback Lambda Runtime
//! API, shipping into the project's `_bulk` server, side by side with the AWS console's
//! Node.js blueprint (`scripts/bench-lambda/blueprint.js`) in the same run.
//!
//! The server is the integration tests' (`tests/integration/bulk_server.rs`): it gunzips each
//! body, parses every action and document, checks each against the mappings (after `shipper
//! setup`'s templates), stores it and answers one item per action. A server that answers
//! `{"errors":false}` measures neither side's real work and hides a lost batch. With
//! `ELASTICSEARCH_URL` (or `ELASTICSEARCH_CLOUD_ID`) set, a real cluster takes its place,
//! behind a recording proxy ([`Cluster`]).
//!
//! Per batch size: first the server alone (its time per document for the shipper's documents in
//! requests of 5,000, 1,000 and 500: [`server_alone`]); then `K` invocations of distinct
//! generated batches (scripts/gen_events.py) in one process; the first is the cold start, the
//! rest are warm. Printed: events/s over the warm
//! invocations, invocation p50/p95 (the Runtime API handing out the event → the answer),
//! cold start (process start → first answer), bulk bytes on the wire per invocation, peak RSS
//! (VmHWM), the function's CPU and minor page faults per warm invocation (fresh zeroed pages
//! from the kernel), and the items the server answered by status; and where an invocation's
//! time went:
//! the median time from the event handed out to the first `_bulk` body in the server's hands
//! (`1st req ms`), and the share of the invocation the server spent answering (`busy %`: what
//! is left is time the server waited for the function).
//!
//! `cargo bench -p shipper --bench lambda` (`BENCH_REPS`, default 3: runs alternate shipper,
//! Node, shipper, …; the median of each figure is printed). Needs `node` and `python3`.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

// The integration tests' server, as it is: one definition of what a cluster does.
#[allow(dead_code, unused_imports, clippy::all)]
#[path = "../tests/integration/bulk_server.rs"]
mod bulk_server;

/// What `bulk_server::setup` needs from the tests' support module.
mod support {
    use std::time::Duration;

    pub fn connection(url: &str) -> shipper::service::Connection {
        shipper::service::Connection {
            url: Some(url.to_owned()),
            timeout: Some(Duration::from_secs(30)),
            ..shipper::service::Connection::default()
        }
    }
}

use bulk_server::{BulkServer, Settings};

#[global_allocator]
static SERVER_ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The server keeps the memory it has touched, as an Elasticsearch node's heap does: a fixed
/// heap (`-Xms` = `-Xmx`) touched when the JVM starts (`-XX:+AlwaysPreTouch`, in Elasticsearch's
/// `SystemJvmOptions`: "pre-touch JVM memory pages during initialization"). mimalloc otherwise
/// hands memory freed for a second back to the OS (`purge_delay`, 1,000 ms) and the next
/// request's bodies and documents fault it in again: page clearing was a fifth of this
/// server's samples in a perf profile, a cost no warm cluster pays. mimalloc reads this when
/// the process starts, so `main` re-executes the bench with it set (the functions don't use
/// mimalloc).
const KEEP_MEMORY: (&str, &str) = ("MIMALLOC_PURGE_DELAY", "-1");

/// What the server touches before the first run: more than it holds at once (its documents of
/// one run, ~110,000 of them, and the bodies in flight).
const PRE_TOUCH_BYTES: usize = 1 << 30;

fn pre_touch(bytes: usize) {
    let chunk = 1 << 20;
    let touched: Vec<Vec<u8>> = (0..bytes / chunk).map(|_| vec![1u8; chunk]).collect();
    drop(std::hint::black_box(touched));
}

// ---------------------------------------------------------------------------------------------
// A loopback Lambda Runtime API (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct RuntimeState {
    events: VecDeque<Bytes>,
    next_id: u64,
    served: HashMap<String, Instant>,
    /// (when answered, served → answered, an error?)
    answers: Vec<(Instant, Duration, bool)>,
    errors: Vec<String>,
}

/// The state, and a signal for each answer: the bench waits on it instead of polling, since
/// it runs on the server's CPU (polling every 200 µs cost the server ~5% of its time per
/// document, which the shipper's invocations, mostly the server's time, carried).
#[derive(Default)]
struct Runtime {
    state: Mutex<RuntimeState>,
    answered: std::sync::Condvar,
}

impl Runtime {
    fn state(&self) -> std::sync::MutexGuard<'_, RuntimeState> {
        self.state.lock().expect("runtime state")
    }
}

type Rt = Arc<Runtime>;

async fn next(State(rt): State<Rt>) -> Response {
    let ev = {
        let mut g = rt.state();
        g.events.pop_front().map(|ev| {
            g.next_id += 1;
            let id = format!("bench-{}", g.next_id);
            g.served.insert(id.clone(), Instant::now());
            (id, ev)
        })
    };
    let Some((id, ev)) = ev else {
        // No more events: the process waits here until it is killed, as a Lambda idles.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let deadline = chrono::Utc::now().timestamp_millis() + 60_000;
    let mut h = HeaderMap::new();
    let hv = |s: &str| HeaderValue::from_str(s).expect("header value");
    h.insert("Lambda-Runtime-Aws-Request-Id", hv(&id));
    h.insert("Lambda-Runtime-Deadline-Ms", hv(&deadline.to_string()));
    h.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        hv("arn:aws:lambda:ap-northeast-2:123456789012:function:shipper"),
    );
    h.insert("Lambda-Runtime-Trace-Id", hv("Root=1-0-0;Sampled=0"));
    h.insert("Content-Type", hv("application/json"));
    (StatusCode::OK, h, ev).into_response()
}

fn answered(rt: &Rt, id: &str, error: Option<String>) -> Response {
    let now = Instant::now();
    let mut g = rt.state();
    let took = g.served.get(id).map_or(Duration::ZERO, |t| now - *t);
    g.answers.push((now, took, error.is_some()));
    if let Some(e) = error {
        g.errors.push(e);
    }
    rt.answered.notify_all();
    (StatusCode::ACCEPTED, "{}").into_response()
}

async fn response(State(rt): State<Rt>, UrlPath(id): UrlPath<String>) -> Response {
    answered(&rt, &id, None)
}

async fn error(State(rt): State<Rt>, UrlPath(id): UrlPath<String>, body: Bytes) -> Response {
    answered(&rt, &id, Some(String::from_utf8_lossy(&body).into_owned()))
}

async fn init_error(State(rt): State<Rt>, body: Bytes) -> Response {
    let mut g = rt.state();
    g.errors
        .push(format!("init: {}", String::from_utf8_lossy(&body)));
    (StatusCode::ACCEPTED, "{}").into_response()
}

async fn start_runtime(events: Vec<Bytes>) -> (String, Rt) {
    let rt: Rt = Arc::new(Runtime {
        state: Mutex::new(RuntimeState {
            events: events.into(),
            ..RuntimeState::default()
        }),
        ..Runtime::default()
    });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route(
            "/2018-06-01/runtime/invocation/{id}/response",
            post(response),
        )
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    (addr, rt)
}

// ---------------------------------------------------------------------------------------------
// Where the functions ship: the test server, or a real cluster behind a recording proxy
// ---------------------------------------------------------------------------------------------

/// A real cluster, when `ELASTICSEARCH_URL` or `ELASTICSEARCH_CLOUD_ID` is set: the connection
/// `shipper setup` would make from the same environment (credentials, `ELASTICSEARCH_CA_CERT`,
/// a secret, SigV4 for Amazon OpenSearch; README, "Settings"). The test server runs on
/// the bench's one CPU; a cluster has its own cores, translog and merges, and is what the
/// goals the test server can't settle (invocation p50, `ship` against `transform`) are about.
struct Real {
    client: shipper::service::EsClient,
    runs: std::sync::atomic::AtomicUsize,
}

fn real_cluster(tokio: &tokio::runtime::Runtime) -> Option<Arc<Real>> {
    let set = |k: &str| std::env::var(k).is_ok_and(|v| !v.is_empty());
    if !set("ELASTICSEARCH_URL") && !set("ELASTICSEARCH_CLOUD_ID") {
        return None;
    }
    let cfg = shipper::config::Config::from_env()
        .unwrap_or_else(|e| panic!("the cluster's settings: {e}"));
    let client = tokio.block_on(async {
        let conn = shipper::secrets::resolve(&cfg)
            .await
            .unwrap_or_else(|e| panic!("the cluster's credentials: {e}"));
        let client = shipper::service::build_client(&conn)
            .unwrap_or_else(|e| panic!("a client for the cluster: {e}"));
        // The templates the shipper's documents are checked against, as a user's cluster
        // has them (idempotent: an existing setup is left as it is).
        let mut out = Vec::new();
        shipper::setup::run(
            &client,
            None,
            &shipper::setup::SetupSettings::default(),
            false,
            &mut out,
        )
        .await
        .unwrap_or_else(|e| {
            panic!(
                "shipper setup on the cluster: {e}\n{}",
                String::from_utf8_lossy(&out)
            )
        });
        client
    });
    eprintln!(
        "against the cluster at {} (not the test server): each run writes into its own data \
         streams `*-bench{pid}n<run>` and indices `bench{pid}n<run>-cwl-*`, deleted after it",
        client.url(),
        pid = std::process::id()
    );
    Some(Arc::new(Real {
        client,
        runs: Default::default(),
    }))
}

/// What one run ships into: a fresh test server, or a real cluster through a proxy on
/// loopback that forwards every request as it is (credentials added, the functions' own
/// dropped) and keeps the same counters the test server keeps, so the tables read alike. Its
/// `server ms` is then the cluster's answer time as the proxy sees it, the network included.
enum Cluster {
    Test(BulkServer),
    Real(Proxy),
}

struct Proxy {
    url: String,
    /// This run's data stream namespace and blueprint index prefix: nothing an earlier run
    /// wrote is in its way (every `create` would be a 409, every `index` an update).
    namespace: String,
    index_prefix: String,
    recorded: Arc<Mutex<Recorded>>,
    real: Arc<Real>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Default)]
struct Recorded {
    stats: bulk_server::Stats,
    /// `_bulk` answers not yet counted into `stats.item_status`: counted when the counters
    /// are read, not while a function waits for the answer.
    answers: Vec<Bytes>,
}

/// The headers a `_bulk` or setup request needs to mean the same upstream; the rest
/// (`Host`, `Content-Length`, the blueprint's SigV4 headers, the shipper's
/// `Authorization`) belong to the hop to the proxy.
const FORWARDED: [axum::http::HeaderName; 3] = [
    axum::http::header::CONTENT_TYPE,
    axum::http::header::CONTENT_ENCODING,
    axum::http::header::ACCEPT,
];

async fn forward(
    State((real, recorded)): State<(Arc<Real>, Arc<Mutex<Recorded>>)>,
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut req = shipper::service::HttpRequest::new(method, uri.path());
    // The query as the client sent it, decoded (`%XX`, `+`) by the URL parser reqwest uses.
    if let Ok(url) = reqwest::Url::parse(&format!("http://proxy{uri}")) {
        for (k, v) in url.query_pairs() {
            req = req.query(k, v);
        }
    }
    for name in FORWARDED {
        if let Some(v) = headers.get(&name) {
            req = req.header(name, v.clone());
        }
    }
    let bulk = uri.path().ends_with("/_bulk");
    let len = body.len() as u64;
    if !body.is_empty() {
        req = req.body(body);
    }
    let started = Instant::now();
    let reply = real.client.send(req).await;
    let took = started.elapsed();
    let reply = match reply {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_GATEWAY,
                format!("the bench's proxy: no answer from the cluster: {e}"),
            )
                .into_response();
        }
    };
    if bulk {
        let mut g = recorded.lock().expect("recorded");
        g.stats.bulk_requests += 1;
        g.stats.bulk_bytes += len;
        g.stats.bulk_busy += took;
        g.stats.bulk_spans.push((started, took));
        *g.stats.bulk_status.entry(reply.status).or_default() += 1;
        if reply.status == 200 {
            g.answers.push(reply.body.clone());
        }
    }
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        [(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        reply.body,
    )
        .into_response()
}

/// Item statuses of one `_bulk` answer (`items[].<op>.status`, whatever `filter_path` kept).
fn count_items(answer: &[u8], into: &mut BTreeMap<u16, u64>) {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(answer) else {
        return;
    };
    for item in v["items"].as_array().into_iter().flatten() {
        let status = item
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|op| op["status"].as_u64());
        if let Some(s) = status.and_then(|s| u16::try_from(s).ok()) {
            *into.entry(s).or_default() += 1;
        }
    }
}

impl Cluster {
    async fn start(real: Option<&Arc<Real>>) -> Cluster {
        let Some(real) = real else {
            return Cluster::Test(BulkServer::with_setup(Settings::default()).await);
        };
        let n = real.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let namespace = format!("bench{}n{n}", std::process::id());
        let recorded = Arc::new(Mutex::new(Recorded::default()));
        let app = Router::new()
            .fallback(forward)
            .with_state((real.clone(), recorded.clone()));
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", l.local_addr().expect("addr"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
        Cluster::Real(Proxy {
            url,
            index_prefix: format!("{namespace}-cwl-"),
            namespace,
            recorded,
            real: real.clone(),
            server,
        })
    }

    fn url(&self) -> &str {
        match self {
            Cluster::Test(s) => s.url(),
            Cluster::Real(p) => &p.url,
        }
    }

    /// `SHIPPER_NAMESPACE` for the shipper's documents.
    fn namespace(&self) -> &str {
        match self {
            Cluster::Test(_) => "default",
            Cluster::Real(p) => &p.namespace,
        }
    }

    /// `INDEX_PREFIX` for the blueprint's.
    fn index_prefix(&self) -> &str {
        match self {
            Cluster::Test(_) => "cwl-",
            Cluster::Real(p) => &p.index_prefix,
        }
    }

    /// Time spent answering `_bulk` so far: cheap, read while functions run.
    fn busy(&self) -> Duration {
        match self {
            Cluster::Test(s) => s.stats().bulk_busy,
            Cluster::Real(p) => p.recorded.lock().expect("recorded").stats.bulk_busy,
        }
    }

    fn stats(&self) -> bulk_server::Stats {
        match self {
            Cluster::Test(s) => s.stats(),
            Cluster::Real(p) => {
                let mut g = p.recorded.lock().expect("recorded");
                for answer in std::mem::take(&mut g.answers) {
                    count_items(&answer, &mut g.stats.item_status);
                }
                g.stats.clone()
            }
        }
    }

    /// A real cluster's run leaves nothing behind: its data streams (by namespace) and the
    /// blueprint's indices (by prefix), each deleted by name (wildcard index deletes are
    /// refused by default: `action.destructive_requires_name`).
    async fn finish(self) {
        use axum::http::Method;
        use shipper::service::HttpRequest;
        let Cluster::Real(p) = self else { return };
        p.server.abort();
        let es = &p.real.client;
        let send = |req: HttpRequest| async {
            let what = format!("{} {}", req.method, req.path);
            match es.send(req).await {
                Ok(r) if r.status < 300 => Some(r),
                Ok(r) => {
                    let body = String::from_utf8_lossy(&r.body);
                    eprintln!("cleaning up after a run, {what}: {} {body}", r.status);
                    None
                }
                Err(e) => {
                    eprintln!("cleaning up after a run, {what}: {e}");
                    None
                }
            }
        };
        let mine = format!("*-{},{}*", p.namespace, p.index_prefix);
        let Some(r) = send(HttpRequest::new(
            Method::GET,
            format!("/_resolve/index/{mine}"),
        ))
        .await
        else {
            return;
        };
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        let names = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .into_iter()
                .flatten()
                // A data stream's backing indices go with it.
                .filter(|i| i.get("data_stream").is_none())
                .filter_map(|i| i["name"].as_str().map(str::to_owned))
                .collect()
        };
        let (streams, indices) = (names("data_streams"), names("indices"));
        if !streams.is_empty() {
            let path = format!("/_data_stream/{}", streams.join(","));
            send(HttpRequest::new(Method::DELETE, path)).await;
        }
        if !indices.is_empty() {
            send(HttpRequest::new(
                Method::DELETE,
                format!("/{}", indices.join(",")),
            ))
            .await;
        }
    }
}

/// The functions and the CLI take the cluster from the bench (the proxy's URL): none of the
/// caller's cluster settings reach them (its credentials are the proxy's to add).
fn without_cluster_env(cmd: &mut Command) {
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("ELASTICSEARCH_") {
            cmd.env_remove(k);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The CPU a Lambda of a given memory size gets
// ---------------------------------------------------------------------------------------------

/// https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: "Lambda allocates
/// CPU power in proportion to the amount of memory configured … At 1,769 MB, a function has
/// the equivalent of one vCPU (one vCPU-second of credits per second)."
const MB_PER_VCPU: f64 = 1769.0;

/// How much CPU the functions get: a whole core (the process pinned to it), or the share a
/// Lambda of `mb` megabytes gets, enforced by the kernel's CFS bandwidth control.
enum Memory {
    Full,
    Share { mb: u32, cgroup: CpuCgroup },
}

impl Memory {
    /// What `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` says; a whole core is 1,769 MB's worth.
    fn mb(&self) -> u32 {
        match self {
            Memory::Full => MB_PER_VCPU as u32,
            Memory::Share { mb, .. } => *mb,
        }
    }

    fn label(&self) -> String {
        match self {
            Memory::Full => "a whole CPU each".to_owned(),
            Memory::Share { mb, cgroup } => format!(
                "as Lambdas of {mb} MB: {:.1}% of one CPU ({} µs of CPU per {} µs)",
                100.0 * *mb as f64 / MB_PER_VCPU,
                cgroup.quota_us,
                cgroup.period_us
            ),
        }
    }
}

/// A cgroup with a CPU quota (v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`:
/// https://docs.kernel.org/scheduler/sched-bwc.html), removed on drop.
struct CpuCgroup {
    dir: PathBuf,
    quota_us: u64,
    period_us: u64,
}

impl CpuCgroup {
    /// AWS documents the share, not the period it is enforced over: `BENCH_LAMBDA_CFS_PERIOD_US`
    /// (default 20,000). Over a short period the share is even; over a long one a short
    /// invocation can finish inside its quota unthrottled.
    fn for_memory(mb: u32) -> Result<CpuCgroup, String> {
        let period_us: u64 = std::env::var("BENCH_LAMBDA_CFS_PERIOD_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        // The kernel refuses quotas under 1 ms.
        let quota_us = ((period_us as f64 * mb as f64 / MB_PER_VCPU).round() as u64).max(1_000);
        let name = format!("shipper-bench-{}-{mb}", std::process::id());
        let root = Path::new("/sys/fs/cgroup");
        let (dir, files): (PathBuf, Vec<(&str, String)>) =
            if root.join("cgroup.controllers").exists() {
                (
                    root.join(&name),
                    vec![("cpu.max", format!("{quota_us} {period_us}"))],
                )
            } else if root.join("cpu/cpu.cfs_quota_us").exists() {
                (
                    root.join("cpu").join(&name),
                    vec![
                        ("cpu.cfs_period_us", period_us.to_string()),
                        ("cpu.cfs_quota_us", quota_us.to_string()),
                    ],
                )
            } else {
                return Err("no cgroup CPU controller under /sys/fs/cgroup".into());
            };
        std::fs::create_dir(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let cg = CpuCgroup {
            dir,
            quota_us,
            period_us,
        };
        for (file, value) in files {
            let path = cg.dir.join(file);
            std::fs::write(&path, &value)
                .map_err(|e| format!("writing {value:?} to {}: {e}", path.display()))?;
        }
        Ok(cg)
    }

    /// `cmd`, started inside the cgroup: a shell moves itself in, then execs it (same pid, so
    /// the function is throttled from its first instruction and `/proc/<pid>` is still its).
    fn wrap(&self, cmd: &Command) -> Command {
        let mut sh = Command::new("sh");
        sh.arg("-c")
            .arg(r#"echo $$ > "$0" && exec "$@""#)
            .arg(self.dir.join("cgroup.procs"))
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            match v {
                Some(v) => sh.env(k, v),
                None => sh.env_remove(k),
            };
        }
        sh
    }
}

impl Drop for CpuCgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// `BENCH_LAMBDA_MEMORY_MB`: comma-separated sizes, `full` for a whole CPU (default
/// `full,512`: 512 MB is what `infra/` deploys the shipper with).
fn memories() -> Vec<Memory> {
    let spec = std::env::var("BENCH_LAMBDA_MEMORY_MB").unwrap_or_else(|_| "full,512".into());
    let mut out = Vec::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if part == "full" {
            out.push(Memory::Full);
            continue;
        }
        let mb: u32 = match part.parse() {
            Ok(mb) if (128..=10_240).contains(&mb) => mb,
            _ => panic!("BENCH_LAMBDA_MEMORY_MB: {part:?} is not `full` or 128..=10240 MB"),
        };
        match CpuCgroup::for_memory(mb) {
            Ok(cgroup) => out.push(Memory::Share { mb, cgroup }),
            Err(e) => {
                eprintln!("{mb} MB skipped: {e} (needs root and a writable cgroup CPU controller)")
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// One run: a process, K invocations
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Shipper,
    Node,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Shipper => "shipper",
            Kind::Node => "node blueprint",
        }
    }
}

struct Run {
    events_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
    cold_ms: f64,
    bytes_per_invocation: f64,
    requests_per_invocation: f64,
    peak_rss_mb: f64,
    /// The function's own CPU (user + system) per warm invocation.
    cpu_ms: f64,
    /// Minor page faults per warm invocation: memory the function got fresh from the kernel
    /// (zeroed pages), instead of reusing what it had.
    faults: f64,
    /// The `_bulk` server's time answering, per warm invocation.
    server_ms: f64,
    /// Median over warm invocations: from the event handed out to the first `_bulk` body
    /// in the server's hands (the server has nothing to do before it).
    first_request_ms: f64,
    /// Median over warm invocations: the share of the invocation the server spent answering
    /// (100%: the function never kept it waiting).
    server_busy_pct: f64,
    items: BTreeMap<u16, u64>,
    errors: usize,
    first_error: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn peak_rss_mb(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Minor page faults of a process so far (`/proc/<pid>/stat` field 10).
fn minor_faults(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    rest.split_whitespace()
        .nth(7)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// User + system CPU seconds of a process so far (`/proc/<pid>/stat` fields 14 and 15, in
/// clock ticks: 100 per second on Linux).
fn cpu_secs(pid: u32) -> f64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // The command name (field 2) may hold spaces: count fields after its closing ')'.
    let rest = s.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

/// The CPU the functions run on, and the one everything else (this process: the `_bulk`
/// server, the Runtime API) runs on, when there are at least two and `taskset` is there. On
/// a shared core the server's work is counted against whichever function it interrupts.
fn cpus() -> Option<(String, String)> {
    let n = std::thread::available_parallelism().map_or(1, usize::from);
    let ok = n >= 2
        && Command::new("taskset")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    ok.then(|| ("0".to_owned(), (n - 1).to_string()))
}

fn spawn(kind: Kind, runtime_api: &str, es: &Cluster, memory: &Memory) -> Child {
    let mut cmd = match kind {
        Kind::Shipper => {
            let mut c = pinned(env!("CARGO_BIN_EXE_shipper"));
            without_cluster_env(&mut c);
            c.env("ELASTICSEARCH_URL", es.url())
                .env("SHIPPER_NAMESPACE", es.namespace())
                .env("RUST_LOG", "warn");
            if let Some(t) = std::env::var_os("BENCH_SHIPPER_GLIBC_TUNABLES") {
                c.env("GLIBC_TUNABLES", t);
            }
            c
        }
        Kind::Node => {
            let dir = root().join("scripts/bench-lambda");
            let mut c = pinned("node");
            c.arg(dir.join("runtime.js"))
                .arg(dir.join("blueprint.js"))
                .env("ENDPOINT", es.url())
                .env("INDEX_PREFIX", es.index_prefix())
                .env("AWS_ACCESS_KEY_ID", "AKIDBENCHMARK")
                .env("AWS_SECRET_ACCESS_KEY", "bench/secret")
                .env("AWS_SESSION_TOKEN", "bench-token");
            c
        }
    };
    cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "shipper")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory.mb().to_string())
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_REGION", "ap-northeast-2");
    if let Memory::Share { cgroup, .. } = memory {
        cmd = cgroup.wrap(&cmd);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning the function")
}

/// `program` on the functions' CPU (`taskset` execs it: the pid is the function's own).
fn pinned(program: &str) -> Command {
    match cpus() {
        Some((function, _)) => {
            let mut c = Command::new("taskset");
            c.args(["-c", &function, program]);
            c
        }
        None => Command::new(program),
    }
}

fn run(
    tokio: &tokio::runtime::Runtime,
    real: Option<&Arc<Real>>,
    kind: Kind,
    batches: &[Bytes],
    events: usize,
    memory: &Memory,
) -> Run {
    let k = batches.len();
    let (bulk, (api, rt)) = tokio.block_on(async {
        let bulk = Cluster::start(real).await;
        (bulk, start_runtime(batches.to_vec()).await)
    });
    let before = bulk.stats();
    let t0 = Instant::now();
    let mut child = spawn(kind, &api, &bulk, memory);
    // After the cold invocation: the warm ones' CPU and server time are counted from here.
    let mut after_cold = None;
    let mut n = 0;
    loop {
        // Woken by each answer, or every 100 ms to see whether the function is still there.
        n = rt
            .answered
            .wait_timeout_while(rt.state(), Duration::from_millis(100), |g| {
                g.answers.len() == n
            })
            .expect("runtime state")
            .0
            .answers
            .len();
        if n >= 1 && after_cold.is_none() {
            after_cold = Some((cpu_secs(child.id()), minor_faults(child.id()), bulk.busy()));
        }
        if n >= k {
            break;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            panic!("{}: {n} of {k} invocations answered in 300 s", kind.name());
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{} exited early: {status}", kind.name());
        }
    }
    let rss = peak_rss_mb(child.id());
    let (cpu0, faults0, busy0) = after_cold.unwrap_or_default();
    let cpu = cpu_secs(child.id()) - cpu0;
    let faults = minor_faults(child.id()) - faults0;
    let _ = child.kill();
    let _ = child.wait();
    let stats = bulk.stats();
    tokio.block_on(bulk.finish());
    let g = rt.state();
    let cold = g.answers[0].0 - t0;
    let mut warm: Vec<Duration> = g.answers[1..].iter().map(|a| a.1).collect();
    warm.sort();
    let total: Duration = warm.iter().sum();
    // Each warm invocation's window (handed out → answered) and the server's spans in it.
    let (mut first, mut busy) = (Vec::new(), Vec::new());
    for &(answered, took, _) in &g.answers[1..] {
        let served = answered - took;
        let spans: Vec<_> = stats
            .bulk_spans
            .iter()
            .filter(|(at, _)| *at >= served && *at <= answered)
            .collect();
        if let Some((at, _)) = spans.first() {
            first.push((*at - served).as_secs_f64() * 1e3);
        }
        let answering: Duration = spans.iter().map(|(_, d)| *d).sum();
        busy.push(100.0 * answering.as_secs_f64() / took.as_secs_f64().max(1e-9));
    }
    let pct = |p: f64| {
        let i = ((warm.len() as f64 - 1.0) * p).round() as usize;
        warm[i].as_secs_f64() * 1e3
    };
    let mut items = stats.item_status.clone();
    for (s, n) in &before.item_status {
        if let Some(v) = items.get_mut(s) {
            *v -= n;
        }
    }
    Run {
        events_per_s: (events * warm.len()) as f64 / total.as_secs_f64(),
        p50_ms: pct(0.5),
        p95_ms: pct(0.95),
        cold_ms: cold.as_secs_f64() * 1e3,
        bytes_per_invocation: (stats.bulk_bytes - before.bulk_bytes) as f64 / k as f64,
        requests_per_invocation: (stats.bulk_requests - before.bulk_requests) as f64 / k as f64,
        peak_rss_mb: rss,
        cpu_ms: cpu * 1e3 / warm.len() as f64,
        faults: faults / warm.len() as f64,
        server_ms: (stats.bulk_busy - busy0).as_secs_f64() * 1e3 / warm.len() as f64,
        first_request_ms: if first.is_empty() { 0.0 } else { median(first) },
        server_busy_pct: median(busy),
        items,
        errors: g.answers.iter().filter(|a| a.2).count(),
        first_error: g.errors.first().cloned(),
    }
}

fn batches(events: usize, k: usize) -> Vec<Bytes> {
    let out = Command::new("python3")
        .arg(root().join("scripts/gen_events.py"))
        .args(["--events", &events.to_string()])
        .args(["--batches", &k.to_string(), "--seed", "42"])
        .output()
        .expect("python3 scripts/gen_events.py");
    assert!(out.status.success(), "gen_events.py failed");
    out.stdout
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(Bytes::copy_from_slice)
        .collect()
}

/// The `_bulk` server alone, before the functions use it: the shipper's documents of the first
/// 10,000 events of `b`, written as the shipper writes them (gzipped, its `filter_path`) and
/// posted one request at a time in requests of 5,000, 1,000 and 500 documents, to a new server
/// after `shipper setup` each time. Prints the server's time per document for each size
/// (median of `reps`): the figures after it rest on it, and it should not depend much on the
/// request's size (it did, by 10-15%, while the server parsed a whole request before writing
/// any of it and built its answer as one tree: README, "Where the server's cost grew with the
/// request").
fn server_alone(
    tokio: &tokio::runtime::Runtime,
    real: Option<&Arc<Real>>,
    b: &[Bytes],
    reps: usize,
) {
    use shipper::decode;
    use shipper::document::Transform;
    use shipper::request_builder::{self, FILTER_PATH, Limits};

    // The documents name their data stream, so they are made for each run's namespace.
    let docs_for = |namespace: &str| {
        let naming = shipper::target::Naming {
            namespace: namespace.to_owned(),
            ..shipper::target::Naming::default()
        };
        let tf = Transform::default();
        let mut docs = Vec::new();
        for payload in b {
            if docs.len() >= 10_000 {
                break;
            }
            let v: serde_json::Value = serde_json::from_slice(payload).expect("a payload");
            let data = v["awslogs"]["data"].as_str().expect("awslogs.data");
            let json = decode::inflate_base64(data).expect("inflate");
            let logs = decode::parse_logs_data(&json).expect("the envelope");
            tf.batch(&logs, &naming, Some("ap-northeast-2"), 0, |_, d| {
                docs.push(d)
            });
        }
        docs.truncate(10_000);
        docs
    };
    let client = reqwest::Client::new();
    let mut line = Vec::new();
    let mut count = 0;
    for size in [5_000, 1_000, 500] {
        let limits = Limits {
            max_docs: size,
            first_docs: size,
            ..Limits::default()
        };
        let mut per_doc = Vec::new();
        for _ in 0..reps {
            let busy = tokio.block_on(async {
                let server = Cluster::start(real).await;
                let docs = docs_for(server.namespace());
                count = docs.len();
                let all: Vec<usize> = (0..docs.len()).collect();
                let bodies: Vec<(usize, Bytes)> = request_builder::split(&docs, &all, limits)
                    .into_iter()
                    .map(|items| {
                        let n = items.len();
                        (n, request_builder::encode(&docs, items, true).body)
                    })
                    .collect();
                let url = format!("{}/_bulk?filter_path={FILTER_PATH}", server.url());
                let before = server.busy();
                for (n, body) in &bodies {
                    let answer = client
                        .post(&url)
                        .header("content-type", "application/x-ndjson")
                        .header("content-encoding", "gzip")
                        .body(body.clone())
                        .send()
                        .await
                        .expect("the server's answer");
                    assert_eq!(answer.status(), 200);
                    let answer = answer.bytes().await.expect("its body");
                    let items = shipper::response::parse(&answer, *n).expect("one item per action");
                    assert!(
                        items.iter().all(|i| i.status == 201 && !i.failure_store),
                        "every document created: {}",
                        String::from_utf8_lossy(&answer[..answer.len().min(600)])
                    );
                }
                let busy = server.busy() - before;
                server.finish().await;
                busy
            });
            per_doc.push(busy.as_secs_f64() * 1e6 / count as f64);
        }
        line.push(format!("{size}: {:.1}", median(per_doc)));
    }
    println!(
        "\nthe _bulk {} alone, {count} of the shipper's documents, µs per document by request size: {}",
        if real.is_some() { "cluster" } else { "server" },
        line.join(", ")
    );
}

/// A CLI run of the shipper: (wall seconds, peak RSS in MB, user + system CPU seconds) by
/// `/usr/bin/time`.
fn cli(args: &[&str], es: Option<&Cluster>) -> (f64, f64, f64) {
    let dir = std::env::temp_dir().join(format!("shipper-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let rss_file = dir.join("rss");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M %U %S").arg("-o").arg(&rss_file);
    if let Some((function, _)) = cpus() {
        cmd.args(["taskset", "-c", &function]);
    }
    // `BENCH_CLI_PERF=<dir>`: each CLI run under `perf record`, one file per run in <dir>
    // (`perf report -i <dir>/<n>-ship.data`), for where a whole run's CPU goes.
    if let Some(out) = std::env::var_os("BENCH_CLI_PERF") {
        static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let data = Path::new(&out).join(format!("{n}-{}.data", args[0]));
        cmd.args(["perf", "record", "-q", "-F", "4999", "-g", "-o"])
            .arg(data)
            .arg("--");
    }
    without_cluster_env(&mut cmd);
    cmd.arg(env!("CARGO_BIN_EXE_shipper"))
        .args(args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(es) = es {
        cmd.env("ELASTICSEARCH_URL", es.url())
            .env("SHIPPER_NAMESPACE", es.namespace());
    }
    let t0 = Instant::now();
    let status = cmd.status().expect("/usr/bin/time (Debian package `time`)");
    let secs = t0.elapsed().as_secs_f64();
    assert!(status.success(), "shipper {args:?}: {status}");
    let f: Vec<f64> = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| {
            let last = s.trim().lines().last()?.to_owned();
            Some(
                last.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect(),
            )
        })
        .unwrap_or_default();
    let _ = std::fs::remove_dir_all(&dir);
    let kb = f.first().copied().unwrap_or(f64::NAN);
    let cpu = f.get(1).copied().unwrap_or(f64::NAN) + f.get(2).copied().unwrap_or(f64::NAN);
    (secs, kb / 1024.0, cpu)
}

/// `shipper ship` and `shipper transform` of the same file (goal: ship ≥ 0.5× transform's
/// events/s), and ship of files several times as long (goal: the same peak RSS; `BENCH_SHIP_SCALES`,
/// default `4`, e.g. `4,16`).
fn cli_runs(
    tokio: &tokio::runtime::Runtime,
    real: Option<&Arc<Real>>,
    b: &[Bytes],
    events: usize,
    reps: usize,
) {
    let dir = std::env::temp_dir();
    let write = |n: usize| {
        let p = dir.join(format!(
            "shipper-bench-{}-{events}x{}.jsonl",
            std::process::id(),
            b.len() * n
        ));
        let mut body = Vec::new();
        for _ in 0..n {
            for l in b {
                body.extend_from_slice(l);
                body.push(b'\n');
            }
        }
        std::fs::write(&p, body).expect("writing the batches");
        p
    };
    let one = write(1);
    let scales: Vec<usize> = std::env::var("BENCH_SHIP_SCALES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![4]);
    let longer: Vec<PathBuf> = scales.iter().map(|&n| write(n)).collect();
    let mut longer_rss: Vec<Vec<f64>> = vec![Vec::new(); scales.len()];
    // `BENCH_SHIP_CONCURRENCY`: `ship --concurrency` values, comma-separated (default `1,2`);
    // the first is the one the ratios and the longer files use.
    let concurrency: Vec<String> = std::env::var("BENCH_SHIP_CONCURRENCY")
        .unwrap_or_else(|_| "1,2".into())
        .split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    let total = (events * b.len()) as f64;
    let (mut tf, mut sh, mut sh_rss, mut tf_rss) = (vec![], vec![], vec![], vec![]);
    let mut sh_more: Vec<Vec<f64>> = vec![Vec::new(); concurrency.len().saturating_sub(1)];
    // Events per CPU second of the process itself: ship waits on the server, transform doesn't.
    let (mut tf_cpu, mut sh_cpu) = (vec![], vec![]);
    let mut sh_server: [Vec<f64>; 3] = Default::default();
    for _ in 0..reps {
        let (secs, rss, cpu) = cli(&["transform", one.to_str().expect("path")], None);
        tf.push(total / secs);
        tf_cpu.push(total / cpu);
        tf_rss.push(rss);
        // A fresh server (or namespace) each time: every event is new to it, as in a first
        // backfill.
        // Also where the run's wall time went on the server's side: when the first body
        // reached it (process start, reading and checking the input, the first piece before
        // it), the share of the run it spent answering, and the time after its last answer.
        let ship = |file: &Path, concurrency: &str| {
            let bulk = tokio.block_on(Cluster::start(real));
            let file = file.to_str().expect("path");
            let started = Instant::now();
            let (secs, rss, cpu) = cli(&["ship", "--concurrency", concurrency, file], Some(&bulk));
            let st = bulk.stats();
            tokio.block_on(bulk.finish());
            assert!(st.items(201) as f64 >= total, "ship: {:?}", st.item_status);
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            let first = st
                .bulk_spans
                .first()
                .map_or(f64::NAN, |(at, _)| ms(*at - started));
            let last = st
                .bulk_spans
                .iter()
                .map(|(at, d)| ms(*at + *d - started))
                .fold(f64::NAN, f64::max);
            let busy = 100.0 * st.bulk_busy.as_secs_f64() / secs;
            (secs, rss, cpu, [first, busy, secs * 1e3 - last])
        };
        let (secs, rss, cpu, server) = ship(&one, &concurrency[0]);
        sh.push(total / secs);
        sh_cpu.push(total / cpu);
        sh_rss.push(rss);
        for (v, out) in server.into_iter().zip(&mut sh_server) {
            out.push(v);
        }
        for (c, out) in concurrency.iter().skip(1).zip(&mut sh_more) {
            out.push(total / ship(&one, c).0);
        }
        for (file, out) in longer.iter().zip(&mut longer_rss) {
            out.push(ship(file, &concurrency[0]).1);
        }
    }
    let _ = std::fs::remove_file(one);
    for f in longer {
        let _ = std::fs::remove_file(f);
    }
    let (tf, sh, tf_cpu, sh_cpu) = (median(tf), median(sh), median(tf_cpu), median(sh_cpu));
    let longer: Vec<String> = scales
        .iter()
        .zip(longer_rss)
        .map(|(n, rss)| format!("{:.1} MB for {n}× the file", median(rss)))
        .collect();
    let more: String = concurrency
        .iter()
        .skip(1)
        .zip(sh_more)
        .map(|(c, v)| {
            let v = median(v);
            format!("; --concurrency {c}: {v:.0} events/s = {:.2}×", v / tf)
        })
        .collect();
    println!(
        "cli, {} × {events} events: transform {tf:.0} events/s ({:.1} MB); ship --concurrency {} {sh:.0} events/s = {:.2}× transform{more}; per CPU second of the process: transform {tf_cpu:.0}, ship {sh_cpu:.0} events = {:.2}×; ship peak RSS {:.1} MB, {}",
        b.len(),
        median(tf_rss),
        concurrency[0],
        sh / tf,
        sh_cpu / tf_cpu,
        median(sh_rss),
        longer.join(", ")
    );
    let [first, busy, after] = sh_server.map(median);
    println!(
        "ship --concurrency {}: the first body at the server {first:.0} ms after the process started; the server busy {busy:.0}% of the run; {after:.0} ms from its last answer to the process's exit",
        concurrency[0]
    );
}

/// One table: each kind's medians over its runs, then the ratios.
fn print_table(
    events: usize,
    k: usize,
    reps: usize,
    memory: &Memory,
    kinds: &[Kind],
    runs: &[(Kind, Run)],
) {
    println!(
        "\n{events} events per invocation, {} warm invocations per process, median of {reps} runs, {}:",
        k - 1,
        memory.label()
    );
    println!(
        "{:<15} {:>11} {:>9} {:>9} {:>9} {:>12} {:>9} {:>9} {:>9} {:>10} {:>9} {:>10} {:>7}  items (status: count), errors",
        "",
        "events/s",
        "p50 ms",
        "p95 ms",
        "cold ms",
        "wire B/inv",
        "req/inv",
        "RSS MB",
        "CPU ms",
        "faults/inv",
        "server ms",
        "1st req ms",
        "busy %"
    );
    let mut eps = HashMap::new();
    let mut p50 = HashMap::new();
    let mut cpu = HashMap::new();
    for &kind in kinds {
        let rs: Vec<&Run> = runs
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, r)| r)
            .collect();
        let m = |f: fn(&Run) -> f64| median(rs.iter().map(|r| f(r)).collect());
        let e = m(|r| r.events_per_s);
        eps.insert(kind.name(), e);
        p50.insert(kind.name(), m(|r| r.p50_ms));
        cpu.insert(kind.name(), m(|r| r.cpu_ms));
        let last = rs[rs.len() - 1];
        println!(
            "{:<15} {:>11.0} {:>9.2} {:>9.2} {:>9.1} {:>12.0} {:>9.1} {:>9.1} {:>9.2} {:>10.0} {:>9.2} {:>10.1} {:>7.0}  {:?}, {}{}",
            kind.name(),
            e,
            m(|r| r.p50_ms),
            m(|r| r.p95_ms),
            m(|r| r.cold_ms),
            m(|r| r.bytes_per_invocation),
            m(|r| r.requests_per_invocation),
            m(|r| r.peak_rss_mb),
            m(|r| r.cpu_ms),
            m(|r| r.faults),
            m(|r| r.server_ms),
            m(|r| r.first_request_ms),
            m(|r| r.server_busy_pct),
            last.items,
            last.errors,
            last.first_error
                .as_deref()
                .map(|e| format!(" (first: {})", &e[..e.len().min(160)]))
                .unwrap_or_default()
        );
    }
    if let (Some(s), Some(n)) = (eps.get("shipper"), eps.get("node blueprint")) {
        println!(
            "shipper / node: {:.2}× events/s, {:.2}× p50, {:.2}× less function CPU per invocation",
            s / n,
            p50["node blueprint"] / p50["shipper"],
            cpu["node blueprint"] / cpu["shipper"]
        );
    }
    // https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: a function
    // whose memory use goes over its setting is stopped ("Runtime exited … signal: killed").
    if let Memory::Share { mb, .. } = memory {
        // https://aws.amazon.com/lambda/pricing/: duration is billed per GB-second of the
        // memory configured (1 GB = 1,024 MB), whatever the function does with it.
        let cost: Vec<String> = kinds
            .iter()
            .filter_map(|k| eps.get(k.name()).map(|e| (k.name(), e)))
            .map(|(name, e)| format!("{name} {:.1}", 1e6 / e * f64::from(*mb) / 1024.0))
            .collect();
        println!(
            "GB-seconds of duration per million events: {}",
            cost.join(", ")
        );
        for &kind in kinds {
            let rss = median(
                runs.iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, r)| r.peak_rss_mb)
                    .collect(),
            );
            if rss > f64::from(*mb) {
                println!(
                    "{}: peak RSS {rss:.0} MB is over {mb} MB: Lambda would stop it",
                    kind.name()
                );
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; a name filter selects batch sizes ("1000", "10000").
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let reps: usize = std::env::var("BENCH_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let node = Command::new("node").arg("--version").output().is_ok();
    // Everything but the functions on the last CPU, and the server's memory kept (below): this
    // process re-executes itself for both.
    let cpus = cpus();
    let pin = cpus
        .as_ref()
        .filter(|_| std::env::var_os("BENCH_PINNED").is_none());
    if pin.is_some() || std::env::var_os(KEEP_MEMORY.0).is_none() {
        let me = std::env::current_exe().expect("the bench's own path");
        let mut again = match pin {
            Some((_, rest)) => {
                let mut c = Command::new("taskset");
                c.args(["-c", rest]).arg(me).env("BENCH_PINNED", "1");
                c
            }
            None => Command::new(me),
        };
        let status = again
            .args(std::env::args_os().skip(1))
            .env(KEEP_MEMORY.0, KEEP_MEMORY.1)
            .status()
            .expect("the bench again, with its settings");
        std::process::exit(status.code().unwrap_or(1));
    }
    if let Some((function, rest)) = cpus {
        eprintln!(
            "functions on CPU {function}; the _bulk server and the Runtime API on CPU {rest}"
        );
    }
    pre_touch(PRE_TOUCH_BYTES);
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    assert!(Path::new(env!("CARGO_BIN_EXE_shipper")).exists());
    let memories = memories();
    let real = real_cluster(&tokio);
    let real = real.as_ref();
    for (events, k) in [(1_000usize, 41usize), (10_000, 11)] {
        if !filter.is_empty() && !filter.iter().any(|f| *f == events.to_string()) {
            continue;
        }
        let b = batches(events, k);
        server_alone(&tokio, real, &b, reps);
        let kinds: &[Kind] = if node {
            &[Kind::Shipper, Kind::Node]
        } else {
            eprintln!("node not found: the shipper alone");
            &[Kind::Shipper]
        };
        if std::env::var_os("BENCH_NO_LAMBDA").is_some() {
            cli_runs(&tokio, real, &b, events, reps);
            continue;
        }
        for memory in &memories {
            let mut runs: Vec<(Kind, Run)> = Vec::new();
            for _ in 0..reps {
                for &kind in kinds {
                    runs.push((kind, run(&tokio, real, kind, &b, events, memory)));
                }
            }
            print_table(events, k, reps, memory, kinds, &runs);
        }
        if std::env::var_os("BENCH_NO_CLI").is_none() {
            cli_runs(&tokio, real, &b, events, reps);
        }
    }
}
