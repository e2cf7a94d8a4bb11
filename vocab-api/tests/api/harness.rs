//! Test harness: the stores (a DynamoDB-compatible endpoint with a fresh table per test, or a
//! MongoDB server with a fresh database per test), the router with a captured log writer,
//! request helpers, and [`per_store!`], which runs a test once per store.
//!
//! DynamoDB endpoint, in order: `DYNAMODB_ENDPOINT` (DynamoDB Local or AWS-compatible,
//! credentials from the environment or dummies), `MOTO_URL` (started by `scripts/test`), else
//! a `moto_server` this process starts on a free port and stops when it exits.
//!
//! MongoDB: `MONGODB_URI` (a real server; a replica set, since the store uses transactions).
//! Without it the MongoDB runs are skipped with a note: no MongoDB wire-protocol server that
//! installs here runs the store's transactions faithfully (see vocab-api/README.md).

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
use vocab_api::Store;
use vocab_api::dynamo::{DynamoStore, create_table};
use vocab_api::mongo::MongoStore;
use vocab_api::web::Frontend;

use super::fault_proxy::FaultProxy;
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
    let (url, emulator) = endpoint(serial);
    client_at(url, emulator).await
}

async fn client_at(url: String, emulator: bool) -> aws_sdk_dynamodb::Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    if !emulator {
        let config = vocab_api::config::Config {
            store: vocab_api::config::StoreKind::DynamoDb,
            table: String::new(),
            endpoint: Some(url),
            mongodb_uri: None,
            deadline_margin: Duration::from_millis(500),
        };
        return vocab_api::dynamo::connect(&config).await;
    }
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(url)
        .http_client(vocab_api::dynamo::http_client())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Which store a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    DynamoDb,
    MongoDb,
}

/// The MongoDB server of the MongoDB runs (`MONGODB_URI`), if any.
pub fn mongodb_uri() -> Option<String> {
    std::env::var("MONGODB_URI")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// Whether the MongoDB runs are skipped (no server); says so on stderr.
pub fn mongodb_skipped() -> bool {
    if mongodb_uri().is_some() {
        return false;
    }
    // CI's MongoDB job sets this, so a lost MONGODB_URI fails there instead of passing unrun.
    assert!(
        std::env::var_os("MONGODB_REQUIRED").is_none(),
        "MONGODB_REQUIRED is set but MONGODB_URI is not"
    );
    eprintln!(
        "skipped: MONGODB_URI is not set (a MongoDB replica set; no faithful MongoDB server \
         installs here, see vocab-api/README.md)"
    );
    true
}

/// Declares, for each `async fn name(b: Backend)` named, one test per store:
/// `<module>::dynamodb::name` and `<module>::mongodb::name` (skipped without a MongoDB).
/// Names after `multi_thread:` run on a 4-thread runtime (the others on the current thread,
/// where the captured log is installed).
macro_rules! per_store {
    ($($name:ident),* $(; multi_thread: $($mt:ident),+)? $(,)?) => {
        mod dynamodb {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::api::harness::Backend::DynamoDb).await;
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $mt() {
                    super::$mt($crate::api::harness::Backend::DynamoDb).await;
                }
            )+)?
        }
        mod mongodb {
            $(
                #[tokio::test]
                async fn $name() {
                    if $crate::api::harness::mongodb_skipped() {
                        return;
                    }
                    super::$name($crate::api::harness::Backend::MongoDb).await;
                }
            )*
            $($(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $mt() {
                    if $crate::api::harness::mongodb_skipped() {
                        return;
                    }
                    super::$mt($crate::api::harness::Backend::MongoDb).await;
                }
            )+)?
        }
    };
}
pub(crate) use per_store;

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
    /// The store behind the router (to look at what is stored).
    pub store: Arc<dyn Store>,
    /// The same store when it is DynamoDB (for what only it has: `import_words`).
    pub dynamo: Option<Arc<DynamoStore>>,
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
    /// On DynamoDB.
    pub async fn new() -> TestApp {
        Self::on(Backend::DynamoDb).await
    }

    /// On `backend` (MongoDB: `MONGODB_URI`, see [`mongodb_skipped`]).
    pub async fn on(backend: Backend) -> TestApp {
        Self::build(backend, false, |s| app(AppState::local(s))).await
    }

    /// On `backend`, for tests of concurrent writes: DynamoDB on the one-request-at-a-time
    /// emulator ([`SERIAL_MOTO`]); MongoDB as it is.
    pub async fn concurrent(backend: Backend) -> TestApp {
        Self::build(backend, true, |s| app(AppState::local(s))).await
    }

    pub async fn with_state(make: impl FnOnce(Arc<dyn Store>) -> AppState) -> TestApp {
        Self::build(Backend::DynamoDb, false, |s| app(make(s))).await
    }

    /// `vocab-local`'s whole origin (`/api`, `/config.json`, the web app's files).
    pub async fn local(
        make: impl FnOnce(Arc<dyn Store>) -> AppState,
        frontend: Frontend,
    ) -> TestApp {
        Self::build(Backend::DynamoDb, false, |s| local_app(make(s), frontend)).await
    }

    /// On DynamoDB behind a [`FaultProxy`] (errors DynamoDB documents, injected on demand);
    /// `serial` as in [`TestApp::concurrent`].
    pub async fn faulty(serial: bool) -> (TestApp, FaultProxy) {
        let (url, emulator) = endpoint(serial);
        let (proxy, proxy_url) = FaultProxy::start(url).await;
        let client = client_at(proxy_url, emulator).await;
        let guard = install_logs();
        let store = dynamo_store(client).await;
        (
            TestApp::assemble(store.clone(), Some(store), guard, |s| {
                app(AppState::local(s))
            }),
            proxy,
        )
    }

    async fn build(
        backend: Backend,
        serial: bool,
        make: impl FnOnce(Arc<dyn Store>) -> Router,
    ) -> TestApp {
        let guard = install_logs();
        let (store, dynamo): (Arc<dyn Store>, _) = match backend {
            Backend::DynamoDb => {
                let store = dynamo_store(client(serial).await).await;
                (store.clone(), Some(store))
            }
            Backend::MongoDb => {
                let uri = mongodb_uri().expect("MONGODB_URI (check mongodb_skipped first)");
                // A fresh database per test (names: at most 64 bytes, no dots).
                let db = format!("vocab-test-{}", uuid::Uuid::new_v4().simple());
                let store = MongoStore::connect(&uri, Some(&db))
                    .await
                    .unwrap_or_else(|e| panic!("MongoDB at MONGODB_URI: {e}"));
                (Arc::new(store), None)
            }
        };
        TestApp::assemble(store, dynamo, guard, make)
    }

    fn assemble(
        store: Arc<dyn Store>,
        dynamo: Option<Arc<DynamoStore>>,
        (logs, guard): (Logs, tracing::subscriber::DefaultGuard),
        make: impl FnOnce(Arc<dyn Store>) -> Router,
    ) -> TestApp {
        TestApp {
            router: make(store.clone()),
            store,
            dynamo,
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

    /// [`call`](Self::call), asserting the answer's status; returns the body.
    pub async fn expect(
        &self,
        want: StatusCode,
        method: &str,
        uri: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let (status, got) = self.call(method, uri, user, body).await;
        assert_eq!(status, want, "{method} {uri}: {got}");
        got
    }

    /// A new quiz on `list` (`body`: count, mode), as `user`.
    pub async fn new_quiz(&self, user: &str, list: &str, body: Value) -> Value {
        self.expect(
            StatusCode::CREATED,
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some(user),
            Some(body),
        )
        .await
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

/// The captured log, installed for this thread.
fn install_logs() -> (Logs, tracing::subscriber::DefaultGuard) {
    install_panic_hook();
    let logs = Logs::default();
    let filter =
        tracing_subscriber::filter::Targets::new().with_target("vocab_api", tracing::Level::INFO);
    let subscriber = tracing_subscriber::registry()
        .with(log_schema::ecs_layer(logs.clone(), "vocab-api").with_filter(filter));
    let guard = tracing::subscriber::set_default(subscriber);
    (logs, guard)
}

/// A DynamoDB store on a fresh table.
async fn dynamo_store(client: aws_sdk_dynamodb::Client) -> Arc<DynamoStore> {
    let table = format!("vocab-test-{}", uuid::Uuid::new_v4().simple());
    create_table(&client, &table).await.expect("create table");
    Arc::new(DynamoStore::new(client, table))
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
