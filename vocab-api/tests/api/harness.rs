//! Test harness: a DynamoDB-compatible endpoint, a fresh table per test, the router with a
//! captured log writer, and request helpers.
//!
//! Endpoint, in order: `DYNAMODB_ENDPOINT` (DynamoDB Local or AWS-compatible, credentials
//! from the environment or dummies), `MOTO_URL` (started by `scripts/test`), else a
//! `moto_server` this process starts on a free port and stops when it exits.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use vocab_api::dynamo::{DynamoStore, create_table};
use vocab_api::web::Frontend;
use vocab_api::{AppState, app, local_app};

/// A moto_server child. Killed on drop; the shared one (which lives in a static and is never
/// dropped) is also stopped by its watchdog when this process exits: it runs under a shell
/// that kills it when our end of its stdin pipe closes.
pub struct Moto {
    child: Child,
    pub url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's own server is threaded, and its DynamoDB applies an `UpdateItem` as an unlocked
/// read-modify-write: concurrent `ADD`s to one item can be lost there (seen: 24 of 25),
/// where DynamoDB applies each atomically. For the counters test the harness therefore runs
/// moto's app on a server that handles one request at a time, which is faithful to
/// DynamoDB's per-item atomicity while the API's side stays fully concurrent.
const SERIAL_MOTO: &str = "import sys\n\
from werkzeug.serving import run_simple\n\
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app\n\
run_simple('127.0.0.1', int(sys.argv[1]), DomainDispatcherApplication(create_backend_app), threaded=False)";

impl Moto {
    /// `serial`: one request at a time (see [`SERIAL_MOTO`]).
    pub fn start(serial: bool) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let server = if serial {
            format!("python3 -c \"$SERIAL_MOTO\" {port}")
        } else {
            format!("moto_server -H 127.0.0.1 -p {port}")
        };
        let script = format!(
            "{server} >/dev/null 2>&1 & pid=$!; \
             trap 'kill $pid 2>/dev/null' EXIT; cat >/dev/null; exit 0"
        );
        let child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .env("SERIAL_MOTO", SERIAL_MOTO)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start moto_server (pip install \"moto[server]\")");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, url }
    }
}

static MOTO: OnceLock<Moto> = OnceLock::new();
static SERIAL: OnceLock<Moto> = OnceLock::new();

/// The endpoint URL and whether it is an emulator (dummy credentials are fine).
fn endpoint(serial: bool) -> (String, bool) {
    if let Ok(url) = std::env::var("DYNAMODB_ENDPOINT")
        && !url.is_empty()
    {
        return (url, false);
    }
    if serial {
        return (SERIAL.get_or_init(|| Moto::start(true)).url.clone(), true);
    }
    if let Ok(url) = std::env::var("MOTO_URL")
        && !url.is_empty()
    {
        return (url, true);
    }
    (MOTO.get_or_init(|| Moto::start(false)).url.clone(), true)
}

/// moto's server (for the AWS APIs other than DynamoDB, e.g. Cognito): `MOTO_URL`, else
/// the one this process starts.
pub fn moto_url() -> String {
    if let Ok(url) = std::env::var("MOTO_URL")
        && !url.is_empty()
    {
        return url;
    }
    MOTO.get_or_init(|| Moto::start(false)).url.clone()
}

/// A client of the test endpoint; `serial` asks for an emulator that applies one request
/// at a time (see [`SERIAL_MOTO`]).
pub async fn client(serial: bool) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let (url, emulator) = endpoint(serial);
    if !emulator {
        let config = vocab_api::config::Config {
            table: String::new(),
            endpoint: Some(url),
            deadline_margin: Duration::from_millis(500),
        };
        return vocab_api::dynamo::connect(&config).await;
    }
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(url)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Captured log output (what the ECS layer wrote).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("log buffer").clone()).expect("utf-8 logs")
    }
    /// Every line, parsed (each must be one JSON object).
    pub fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }
    pub fn clear(&self) {
        self.0.lock().expect("log buffer").clear();
    }
}

/// A router on a fresh table, logging to [`Logs`] (for this thread: use the default
/// current-thread `#[tokio::test]`).
pub struct TestApp {
    pub router: Router,
    pub logs: Logs,
    _log_guard: tracing::subscriber::DefaultGuard,
}

pub fn install_panic_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    // Test failures (panics outside a request) still print as usual.
    ONCE.get_or_init(|| {
        vocab_api::request_log::install_panic_hook_with(|text| {
            eprintln!("panicked: {text}");
        })
    });
}

impl TestApp {
    pub async fn new() -> TestApp {
        let state_for = |store: Arc<DynamoStore>| AppState::local(store);
        Self::with_state(state_for).await
    }

    /// On an emulator with DynamoDB's per-item atomicity under concurrent writes.
    pub async fn serial() -> TestApp {
        Self::build(true, |s| app(AppState::local(s))).await
    }

    pub async fn with_state(make: impl FnOnce(Arc<DynamoStore>) -> AppState) -> TestApp {
        Self::build(false, |s| app(make(s))).await
    }

    /// `vocab-local`'s whole origin (`/api`, `/config.json`, the web app's files).
    pub async fn local(
        make: impl FnOnce(Arc<DynamoStore>) -> AppState,
        frontend: Frontend,
    ) -> TestApp {
        Self::build(false, |s| local_app(make(s), frontend)).await
    }

    async fn build(serial: bool, make: impl FnOnce(Arc<DynamoStore>) -> Router) -> TestApp {
        install_panic_hook();
        let logs = Logs::default();
        let filter = tracing_subscriber::filter::Targets::new()
            .with_target("vocab_api", tracing::Level::INFO);
        let subscriber = tracing_subscriber::registry()
            .with(log_schema::ecs_layer(logs.clone(), "vocab-api").with_filter(filter));
        let guard = tracing::subscriber::set_default(subscriber);
        let table = format!("vocab-test-{}", uuid::Uuid::new_v4().simple());
        let client = client(serial).await;
        create_table(&client, &table).await.expect("create table");
        let store = Arc::new(DynamoStore::new(client, table));
        TestApp {
            router: make(store),
            logs,
            _log_guard: guard,
        }
    }

    /// Sends a request as `user` (the `x-dev-user` header; `None` = no identity).
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(u) = user {
            req = req.header("x-dev-user", u);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        send(&self.router, req.body(body).expect("request")).await
    }

    pub async fn create_list(&self, user: &str, name: &str) -> String {
        let (status, body) = self
            .call(
                "POST",
                "/lists",
                Some(user),
                Some(serde_json::json!({"name": name, "source_lang": "ko", "target_lang": "en"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().expect("list id").to_owned()
    }

    /// Adds `pairs` to the list; returns the word ids in order.
    pub async fn add_words(&self, user: &str, list: &str, pairs: &[(&str, &str)]) -> Vec<String> {
        let items: Vec<Value> = pairs
            .iter()
            .map(|(w, m)| serde_json::json!({"word": w, "meaning": m}))
            .collect();
        let (status, body) = self
            .call(
                "POST",
                &format!("/lists/{list}/words"),
                Some(user),
                Some(serde_json::json!({ "items": items })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|w| w["id"].as_str().expect("word id").to_owned())
            .collect()
    }
}

/// Sends any request through the router, returning the status and the JSON body
/// (`Value::Null` for an empty body).
pub async fn send(router: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
    };
    (status, body)
}

/// Asserts the standard error body and returns it.
pub fn assert_error(status: StatusCode, body: &Value, want: StatusCode, code: &str) {
    assert_eq!(status, want, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}

/// Korean ↔ English pairs (tests/data/words_ko_en.tsv).
pub fn ko_en() -> Vec<(String, String)> {
    include_str!("../data/words_ko_en.tsv")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once('\t'))
        .map(|(w, m)| (w.to_owned(), m.to_owned()))
        .collect()
}
