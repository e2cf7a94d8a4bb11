//! `shipper setup` against the Elasticsearch and OpenSearch API emulators (noida-db,
//! osmem-server), a real cluster when `ELASTICSEARCH_URL` is set, and a fake Kibana `_import`
//! endpoint that follows the Kibana docs.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use shipper::service::EsClient;
use shipper::setup::{
    Flavor, KibanaAuth, KibanaTarget, SetupError, SetupReport, SetupSettings, Step, Target,
    detect_flavor, embedded_saved_objects, import_saved_objects, run,
};

use crate::support;

fn client(url: &str) -> EsClient {
    shipper::service::build_client(&support::connection(url)).expect("client")
}

fn as_text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

async fn get_json(url: &str) -> Value {
    reqwest::get(url)
        .await
        .expect("GET")
        .json()
        .await
        .expect("json")
}

async fn post_ndjson(url: &str, body: &str) -> Value {
    reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-ndjson")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("json")
}

// ---- the fake Kibana -------------------------------------------------------------------
// Follows the saved objects import API as documented:
//   https://www.elastic.co/docs/api/doc/kibana/operation/operation-post-saved-objects-import
//   https://www.elastic.co/guide/en/kibana/current/saved-objects-api-import.html
// - `kbn-xsrf` is a required header: without it Kibana answers 400 Bad Request
//   ("Request must contain a kbn-xsrf header.", https://www.elastic.co/guide/en/kibana/current/api.html);
// - the body is multipart/form-data with the NDJSON in the field `file`;
// - 200 with `{"success", "successCount", "errors"?, "successResults"?}`; an object whose
//   references are missing is reported in `errors` with `error.type: missing_references`
//   while the HTTP status stays 200.
// - while it starts, Kibana answers every request 503 "Kibana server is not ready yet"
//   (Kibana docs, "Kibana not ready": docs/setup/access.asciidoc, elastic/kibana#111230).

#[derive(Default)]
struct FakeKibana {
    /// Answer `success:false` with a missing_references error for the first object.
    fail: bool,
    /// Answer this many more requests 503 "not ready yet", as a starting Kibana does.
    not_ready: usize,
    /// How many requests were answered 503.
    answered_not_ready: usize,
    /// (query string, objects received) per accepted request.
    imports: Vec<(String, Vec<Value>)>,
}

type Shared = Arc<Mutex<FakeKibana>>;

/// The content of the multipart field `name`, per RFC 7578 (boundary from Content-Type).
fn multipart_field(content_type: &str, body: &[u8], name: &str) -> Option<Vec<u8>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    for part in text.split(delim.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (head, content) = part.split_once("\r\n\r\n")?;
        if head.contains(&format!("name=\"{name}\"")) {
            return Some(
                content
                    .strip_suffix("\r\n")
                    .unwrap_or(content)
                    .as_bytes()
                    .to_vec(),
            );
        }
    }
    None
}

async fn fake_import(
    axum::extract::State(state): axum::extract::State<Shared>,
    uri: axum::http::Uri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> (axum::http::StatusCode, axum::Json<Value>) {
    use axum::http::StatusCode;
    {
        let mut st = state.lock().expect("lock");
        if st.not_ready > 0 {
            st.not_ready -= 1;
            st.answered_not_ready += 1;
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(
                    json!({"statusCode": 503, "error": "Service Unavailable", "message": "Kibana server is not ready yet"}),
                ),
            );
        }
    }
    let bad = |msg: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"statusCode": 400, "error": "Bad Request", "message": msg})),
        )
    };
    if !headers.contains_key("kbn-xsrf") {
        return bad("Request must contain a kbn-xsrf header.");
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !ct.starts_with("multipart/form-data") {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            axum::Json(
                json!({"statusCode": 415, "error": "Unsupported Media Type", "message": "Unsupported Media Type"}),
            ),
        );
    }
    let Some(file) = multipart_field(&ct, &body, "file") else {
        return bad("[request body.file]: expected value of type [object] but got [undefined]");
    };
    let mut objects = Vec::new();
    for line in String::from_utf8_lossy(&file)
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        match serde_json::from_str::<Value>(line) {
            Ok(v) => objects.push(v),
            Err(_) => return bad("Unexpected token in JSON"),
        }
    }
    let mut st = state.lock().expect("lock");
    st.imports
        .push((uri.query().unwrap_or_default().to_owned(), objects.clone()));
    let results: Vec<Value> = objects
        .iter()
        .map(|o| json!({"type": o["type"], "id": o["id"], "meta": {"title": o["attributes"]["title"]}}))
        .collect();
    if st.fail && !objects.is_empty() {
        let first = &objects[0];
        return (
            StatusCode::OK,
            axum::Json(json!({
                "success": false,
                "successCount": objects.len() - 1,
                "successResults": results[1..],
                "errors": [{
                    "id": first["id"], "type": first["type"],
                    "meta": {"title": first["attributes"]["title"]},
                    "error": {"type": "missing_references",
                              "references": [{"type": "index-pattern", "id": "no-such-data-view"}]}
                }]
            })),
        );
    }
    (
        StatusCode::OK,
        axum::Json(
            json!({"success": true, "successCount": objects.len(), "successResults": results}),
        ),
    )
}

async fn fake_kibana(fail: bool) -> (String, Shared) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    fake_kibana_on(listener, fail, 0)
}

/// The fake Kibana on `listener`, answering its first `not_ready` requests 503.
fn fake_kibana_on(
    listener: tokio::net::TcpListener,
    fail: bool,
    not_ready: usize,
) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(FakeKibana {
        fail,
        not_ready,
        ..Default::default()
    }));
    let app = axum::Router::new()
        .route(
            "/api/saved_objects/_import",
            axum::routing::post(fake_import),
        )
        .route(
            "/s/{space}/api/saved_objects/_import",
            axum::routing::post(fake_import),
        )
        .with_state(state.clone());
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), state)
}

// ---- against the emulators ---------------------------------------------------------------

#[tokio::test]
async fn setup_runs_twice_on_noida_and_the_templates_apply() {
    let emu = support::noida();
    let es = client(emu.url());
    let settings = SetupSettings::default();
    for round in 0..2 {
        let mut out = Vec::new();
        let report = run(&es, None, &settings, false, &mut out)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {e}\n{}", as_text(&out)));
        assert_eq!(report.flavor, Some(Flavor::Elasticsearch));
        // noida-db has no ILM API: reported as a warning, the rest succeeded.
        let failed: Vec<&Step> = report
            .steps
            .iter()
            .filter(|s| !matches!(s.status, Some(200..=299)) && !s.target.starts_with("/_ilm"))
            .collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert_eq!(report.steps.len(), 8);
    }
    let t = get_json(&format!("{}/_index_template/logs-cloudwatch", emu.url())).await;
    assert_eq!(
        t.pointer("/index_templates/0/index_template/priority"),
        Some(&json!(250))
    );

    // A document like the shipper writes lands with our mappings.
    let ds = format!(
        "logs-cloudwatch.{}-default",
        support::unique_namespace("setuptest")
    );
    let bulk = format!(
        "{{\"create\":{{\"_index\":\"{ds}\"}}}}\n{}\n",
        json!({"@timestamp": "2026-11-24T09:00:00.000Z", "message": "GET /lists 200",
               "http": {"response": {"status_code": 200}, "route": "/lists"},
               "event": {"duration": 1_500_000}, "app": {"list_id": "l1", "word_count": 12}})
    );
    let answer = post_ndjson(&format!("{}/_bulk?refresh=true", emu.url()), &bulk).await;
    assert_eq!(answer["errors"], json!(false), "{answer}");
    let mapping = get_json(&format!("{}/{ds}/_mapping", emu.url())).await;
    let props = mapping
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .pointer("/mappings/properties")
        .unwrap()
        .clone();
    assert_eq!(props.pointer("/app/type"), Some(&json!("flattened")));
    assert_eq!(
        props.pointer("/http/properties/response/properties/status_code/type"),
        Some(&json!("long"))
    );
    assert_eq!(
        props.pointer("/data_stream/properties/dataset/type"),
        Some(&json!("constant_keyword"))
    );
}

#[tokio::test]
async fn index_mode_on_osmem_detects_opensearch_and_maps_flat_object() {
    let emu = support::osmem();
    let es = client(emu.url());
    let prefix = support::unique_namespace("setuptest");
    let settings = SetupSettings {
        target: Target::Index,
        index_prefix: prefix.clone(),
        ..Default::default()
    };
    for _ in 0..2 {
        let mut out = Vec::new();
        let report = run(&es, None, &settings, false, &mut out)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", as_text(&out)));
        assert_eq!(report.flavor, Some(Flavor::OpenSearch));
        assert!(
            report
                .steps
                .iter()
                .all(|s| matches!(s.status, Some(200..=299))),
            "{:?}",
            report.steps
        );
        assert!(
            report.warnings.iter().any(|w| w.contains("ISM")),
            "{:?}",
            report.warnings
        );
    }
    let index = format!("{prefix}-2026.11.24");
    let bulk = format!(
        "{{\"create\":{{\"_index\":\"{index}\"}}}}\n{}\n",
        json!({"@timestamp": "2026-11-24T09:00:00.000Z", "message": "x", "app": {"quiz_score": 3}})
    );
    let answer = post_ndjson(&format!("{}/_bulk?refresh=true", emu.url()), &bulk).await;
    assert_eq!(answer["errors"], json!(false), "{answer}");
    let mapping = get_json(&format!("{}/{index}/_mapping", emu.url())).await;
    assert_eq!(
        mapping.pointer(&format!("/{index}/mappings/properties/app/type")),
        Some(&json!("flat_object")),
        "{mapping}"
    );
}

/// `ELASTICSEARCH_URL` set (CI's Elasticsearch service container, a developer's cluster):
/// the same setup, twice, against the real thing; with ILM present, no warning is expected.
#[tokio::test]
async fn setup_runs_twice_on_a_real_cluster_when_elasticsearch_url_is_set() {
    let Some(conn) = support::real_elasticsearch() else {
        eprintln!("ELASTICSEARCH_URL not set: no real cluster to run against");
        return;
    };
    let es = shipper::service::build_client(&conn).expect("client");
    let flavor = detect_flavor(&es).await.expect("GET /");
    let settings = SetupSettings {
        target: if flavor == Flavor::OpenSearch {
            Target::Index
        } else {
            Target::DataStream
        },
        ..Default::default()
    };
    for _ in 0..2 {
        let mut out = Vec::new();
        let report = run(&es, None, &settings, false, &mut out)
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", as_text(&out)));
        assert!(
            report
                .steps
                .iter()
                .all(|s| matches!(s.status, Some(200..=299))),
            "{:?}",
            report.steps
        );
        if flavor == Flavor::Elasticsearch {
            assert!(report.warnings.is_empty(), "{:?}", report.warnings);
        }
    }
}

// ---- Kibana ------------------------------------------------------------------------------

#[tokio::test]
async fn fake_kibana_rejects_an_import_without_kbn_xsrf() {
    let (url, state) = fake_kibana(false).await;
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::text("{}\n").file_name("x.ndjson"),
    );
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/saved_objects/_import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert!(state.lock().unwrap().imports.is_empty());
}

#[tokio::test]
async fn kibana_import_sends_every_saved_object_with_overwrite() {
    let (url, state) = fake_kibana(false).await;
    let mut target = KibanaTarget::new(url);
    target.auth = KibanaAuth::Basic {
        username: "elastic".into(),
        password: "pw".into(),
    };
    let ndjson = embedded_saved_objects();
    let mut out = Vec::new();
    let mut report = SetupReport::default();
    import_saved_objects(&target, &ndjson, false, &mut out, &mut report)
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", as_text(&out)));
    let expected = ndjson.lines().count();
    assert!(expected > 0);
    let kib = report.kibana.unwrap();
    assert!(kib.success && kib.errors.is_empty());
    assert_eq!(kib.success_count, expected as u64);
    let st = state.lock().unwrap();
    assert_eq!(st.imports.len(), 1);
    assert_eq!(st.imports[0].0, "overwrite=true");
    assert_eq!(st.imports[0].1.len(), expected);
    assert!(as_text(&out).contains(&format!("success=true successCount={expected} errors=0")));
}

#[tokio::test]
async fn kibana_import_errors_are_reported_even_with_http_200() {
    let (url, _state) = fake_kibana(true).await;
    let mut target = KibanaTarget::new(url);
    target.space = Some("ops".into());
    let ndjson = "{\"type\":\"lens\",\"id\":\"lens-x\",\"attributes\":{\"title\":\"X\"},\"references\":[]}\n\
                  {\"type\":\"index-pattern\",\"id\":\"dv\",\"attributes\":{\"title\":\"logs-*\"},\"references\":[]}\n";
    let mut out = Vec::new();
    let mut report = SetupReport::default();
    let err = import_saved_objects(&target, ndjson, false, &mut out, &mut report)
        .await
        .unwrap_err();
    match &err {
        SetupError::KibanaImport {
            success,
            success_count,
            errors,
        } => {
            assert!(!success);
            assert_eq!(*success_count, 1);
            assert_eq!(errors.len(), 1);
        }
        other => panic!("{other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains("lens lens-x (X): missing_references missing index-pattern/no-such-data-view"),
        "{msg}"
    );
    assert!(
        as_text(&out).contains("import error: lens lens-x"),
        "{}",
        as_text(&out)
    );
    assert_eq!(
        report.steps[0]
            .target
            .split("/api/")
            .next()
            .map(|s| s.ends_with("/s/ops")),
        Some(true)
    );
}

#[tokio::test]
async fn full_setup_on_noida_with_fake_kibana() {
    let emu = support::noida();
    let (url, state) = fake_kibana(false).await;
    let kibana = KibanaTarget::new(url);
    let mut out = Vec::new();
    let report = run(
        &client(emu.url()),
        Some(&kibana),
        &SetupSettings::default(),
        false,
        &mut out,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", as_text(&out)));
    assert!(report.kibana.is_some_and(|k| k.success));
    assert_eq!(state.lock().unwrap().imports.len(), 1);
}

#[tokio::test]
async fn kibana_import_waits_for_a_kibana_that_is_still_starting() {
    // Nothing listens on the port at first (connection refused), then Kibana comes up and
    // answers 503 "not ready yet" twice before the import goes through.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the reserved port");
        let _ = ready_tx.send(fake_kibana_on(listener, false, 2).1);
    });
    let target = KibanaTarget::new(url);
    let mut out = Vec::new();
    let mut report = SetupReport::default();
    import_saved_objects(
        &target,
        &embedded_saved_objects(),
        false,
        &mut out,
        &mut report,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", as_text(&out)));
    let text = as_text(&out);
    assert!(report.kibana.is_some_and(|k| k.success), "{text}");
    assert!(text.contains("is not ready (connection failed"), "{text}");
    assert!(text.contains("is not ready (HTTP 503)"), "{text}");
    let state = ready_rx.await.expect("Kibana started");
    let st = state.lock().unwrap();
    assert_eq!((st.answered_not_ready, st.imports.len()), (2, 1));
}

#[tokio::test]
async fn kibana_import_gives_up_when_kibana_is_not_ready_in_time() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let (url, state) = fake_kibana_on(listener, false, usize::MAX);
    let mut target = KibanaTarget::new(url);
    target.ready_timeout = std::time::Duration::from_secs(2);
    let mut out = Vec::new();
    let mut report = SetupReport::default();
    let started = std::time::Instant::now();
    let err = import_saved_objects(&target, "{}\n", false, &mut out, &mut report)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SetupError::KibanaRejected { status: 503, .. }),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    let st = state.lock().unwrap();
    assert!(st.answered_not_ready >= 2, "tried again before giving up");
    assert!(st.imports.is_empty());
}
