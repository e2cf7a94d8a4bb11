//! Shared test plumbing: emulator processes (started per test binary when the test command
//! didn't export their URLs), generated payloads, and reading documents back.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use shipper::handler::{RawPayload, Shipper};
use shipper::service::{self, Connection, EsBulkClient};
use shipper::target::Naming;

/// The payload generator (`scripts/gen_events.py`).
pub fn gen_events() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/gen_events.py")
}

pub fn data_file(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Lambda payloads (`{"awslogs":{"data":…}}` JSON lines) from the shared generator.
pub fn generate(events: usize, batches: usize, seed: u64, extra: &[&str]) -> Vec<String> {
    let script = gen_events();
    let out = Command::new("python3")
        .arg(&script)
        .args([
            "--events",
            &events.to_string(),
            "--batches",
            &batches.to_string(),
            "--seed",
            &seed.to_string(),
        ])
        .args(extra)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        out.status.success(),
        "gen_events.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The `awslogs.data` strings of generated payloads.
pub fn generate_data(events: usize, batches: usize, seed: u64, extra: &[&str]) -> Vec<RawPayload> {
    generate(events, batches, seed, extra)
        .iter()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            RawPayload::Base64(v["awslogs"]["data"].as_str().unwrap().to_owned())
        })
        .collect()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` (stdio set by the caller) as the process behind `url`, stopped when dropped.
pub fn spawn(what: &str, mut cmd: Command, url: String) -> Proc {
    // A process group of its own, stopped whole on drop: proxy.py forks acceptor and worker
    // processes, which outlived a kill of the parent alone (CI runs left them running).
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    Proc {
        child,
        url,
        _dir: None,
    }
}

/// Starts a helper that prints `listening on URL` on its first line of stdout once it accepts
/// connections (the SigV4 verifier), and stops it when dropped.
pub fn start_announcing(what: &str, mut cmd: Command) -> Proc {
    use std::io::BufRead;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{what} did not start: {line:?}"))
        .to_owned();
    Proc {
        child,
        url,
        _dir: None,
    }
}

/// A child process killed when dropped.
pub struct Proc {
    child: Child,
    pub url: String,
    _dir: Option<tempdir::Dir>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        // The whole group when it leads one (`spawn`); a no-op error otherwise.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
    pub fn new(tag: &str) -> Dir {
        let p = std::env::temp_dir().join(format!(
            "shipper-{tag}-{}-{}",
            std::process::id(),
            super::free_port()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Dir(p)
    }
}

/// Waits until `url` answers HTTP at all (any status). Plain std I/O: callers may be inside
/// a tokio runtime.
pub fn wait_http(url: &str, what: &str) {
    use std::io::{Read, Write};
    let rest = url.trim_start_matches("http://");
    let (hostport, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ok = std::net::TcpStream::connect(hostport)
            .and_then(|mut s| {
                s.set_read_timeout(Some(Duration::from_secs(2)))?;
                write!(s, "GET {path} HTTP/1.0\r\nHost: {hostport}\r\n\r\n")?;
                let mut b = [0u8; 12];
                s.read_exact(&mut b)?;
                Ok(b.starts_with(b"HTTP/"))
            })
            .unwrap_or(false);
        if ok {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not answer at {url} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An Elasticsearch-API endpoint for a test: either a URL the test command exported, or an
/// emulator process started for this test (and stopped when the handle drops).
pub enum Endpoint {
    External(String),
    Owned(Proc),
}

impl Endpoint {
    pub fn url(&self) -> &str {
        match self {
            Endpoint::External(u) => u,
            Endpoint::Owned(p) => &p.url,
        }
    }
}

/// The path a Python snippet prints: where a PyPI package keeps its server binary.
fn python_path(code: &str, what: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", code])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{what} is not installed: pip install -r requirements-dev.txt"
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Starts `bin args…` quietly, waits until `url` + `ready` answers, and stops it when dropped.
fn start(
    what: &str,
    bin: String,
    args: &[String],
    url: String,
    ready: &str,
    dir: Option<tempdir::Dir>,
) -> Endpoint {
    let child = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    wait_http(&format!("{url}{ready}"), what);
    Endpoint::Owned(Proc {
        child,
        url,
        _dir: dir,
    })
}

/// noida-db (Elasticsearch 8.15 API emulator).
pub fn noida() -> Endpoint {
    if let Ok(u) = std::env::var("NOIDA_URL") {
        return Endpoint::External(u);
    }
    let port = free_port();
    let dir = tempdir::new("noida");
    // The `noida-db` on PATH is a Python wrapper running the real server as its child; killing
    // the wrapper would leave the server behind, so start the server binary itself.
    let bin = python_path(
        "from importlib.resources import files; print(files('noida_db').joinpath('noida-db'))",
        "noida-db",
    );
    let args = [
        "start",
        "--data-dir",
        &dir.0.display().to_string(),
        "--host",
        "127.0.0.1",
        "--only",
        "elasticsearch",
        "--elasticsearch-port",
        &port.to_string(),
    ]
    .map(String::from);
    start(
        "noida-db",
        bin,
        &args,
        format!("http://127.0.0.1:{port}"),
        "",
        Some(dir),
    )
}

/// osmem-server (OpenSearch 3.x API emulator).
pub fn osmem() -> Endpoint {
    if let Ok(u) = std::env::var("OSMEM_URL") {
        return Endpoint::External(u);
    }
    let bin = python_path(
        "import osmem_server as o; print(o.resolve_binary())",
        "osmem-server",
    );
    let port = free_port();
    let args = [
        "-addr",
        &format!("127.0.0.1:{port}"),
        "-no-stdin-watch",
        "-no-ja",
    ]
    .map(String::from);
    start(
        "osmem-server",
        bin,
        &args,
        format!("http://127.0.0.1:{port}"),
        "",
        None,
    )
}

/// moto's server (AWS API emulator).
pub fn moto() -> Endpoint {
    if let Ok(u) = std::env::var("MOTO_URL") {
        return Endpoint::External(u);
    }
    let port = free_port();
    let args = ["-H", "127.0.0.1", "-p", &port.to_string()].map(String::from);
    start(
        "moto",
        "moto_server".into(),
        &args,
        format!("http://127.0.0.1:{port}"),
        "/moto-api/",
        None,
    )
}

/// A real cluster, when `ELASTICSEARCH_URL` is set (with ELASTICSEARCH_API_KEY or
/// ELASTICSEARCH_USERNAME/PASSWORD as needed).
pub fn real_elasticsearch() -> Option<Connection> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let url = std::env::var("ELASTICSEARCH_URL")
        .ok()
        .filter(|u| !u.is_empty())?;
    Some(Connection {
        url: Some(url),
        api_key: var("ELASTICSEARCH_API_KEY"),
        username: var("ELASTICSEARCH_USERNAME"),
        password: var("ELASTICSEARCH_PASSWORD"),
        timeout: Some(Duration::from_secs(30)),
        ..Connection::default()
    })
}

pub fn connection(url: &str) -> Connection {
    Connection {
        url: Some(url.to_owned()),
        timeout: Some(Duration::from_secs(30)),
        ..Connection::default()
    }
}

/// A shipper sending to `conn` with `naming`; small bulks so splitting is exercised.
pub fn shipper(conn: &Connection, naming: Naming) -> Shipper {
    let client = service::build_client(conn).unwrap();
    Shipper {
        client: Arc::new(EsBulkClient::new(client.clone())),
        lookup: Some(Arc::new(shipper::lookup::EsLookup::new(client))),
        rollovers: Arc::default(),
        naming,
        region: Some("ap-northeast-2".into()),
        opts: shipper::deliver::DeliverOptions {
            limits: shipper::request_builder::Limits {
                max_bytes: 2 * 1024 * 1024,
                max_docs: 1000,
                ..Default::default()
            },
            backoff: shipper::retry::Backoff {
                base: Duration::from_millis(20),
                max: Duration::from_millis(200),
            },
            ..Default::default()
        },
        health_docs: true,
        function_name: "shipper-test".into(),
        deadline_margin: Duration::ZERO,
        transform: Default::default(),
        firehose_result: shipper::config::FirehoseResult::Ok,
    }
}

/// A unique namespace per test, so tests sharing one emulator don't see each other's data.
pub fn unique_namespace(tag: &str) -> String {
    format!("t{}{}{}", tag, std::process::id(), free_port())
}

/// Reading back (`_refresh`, `_count`, `_search`) through the shipper's own transport, so a
/// signed connection (SigV4) reads back signed too.
pub async fn es_json(
    conn: &Connection,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let client = service::build_client(conn).unwrap();
    let mut req = service::HttpRequest::new(method, format!("/{}", path.trim_start_matches('/')));
    if let Some(b) = body {
        req = req.json(b.to_string());
    }
    let reply = client.send(req).await.unwrap();
    let v = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status, v)
}

pub async fn refresh(conn: &Connection, target: &str) {
    let _ = es_json(
        conn,
        reqwest::Method::POST,
        &format!("{target}/_refresh"),
        None,
    )
    .await;
}

pub async fn count(conn: &Connection, target: &str, query: Option<Value>) -> u64 {
    refresh(conn, target).await;
    let body = query.map(|q| serde_json::json!({ "query": q }));
    let (status, v) = es_json(
        conn,
        reqwest::Method::POST,
        &format!("{target}/_count"),
        body,
    )
    .await;
    assert_eq!(status, 200, "_count on {target}: {v}");
    v["count"].as_u64().unwrap()
}
