//! `shipper setup`: everything the shipper's documents need on the cluster, created or updated
//! idempotently (every request is a create-or-replace `PUT`, or an import with `overwrite=true`),
//! so running it again is always safe.
//!
//! Requests, in order:
//! 1. the lifecycle policy (`PUT _ilm/policy/<name>`): rollover + delete after
//!    `ilm_delete_after_days` for data streams; delete only for dated indices (index mode), which
//!    never roll over;
//! 2. the component templates (`PUT _component_template/cloudwatch-shipper@…`): explicit mappings
//!    for every field of docs/CONTRACTS.md, `app` as `flattened`, `data_stream.*` as
//!    `constant_keyword` in data stream mode;
//! 3. the index templates (`PUT _index_template/…`): `logs-cloudwatch*-*`,
//!    `logs-shipper.deadletter-*`, `logs-shipper.health-*` as data streams above the built-in
//!    `logs-*-*` (priority 100), composed with `logs@mappings`, `logs@settings` and
//!    `ecs@mappings` where the cluster has them (`ignore_missing_component_templates`); or, in
//!    index mode, `<prefix>-*`, `<prefix>-deadletter-*`, `<prefix>-health-*` without a data stream;
//! 4. the Kibana saved objects of `dashboards/kibana/*.ndjson`, one
//!    `POST {kibana}/api/saved_objects/_import?overwrite=true` (multipart field `file`,
//!    `kbn-xsrf: true`); the answer's `success`, `successCount` and `errors` are checked, not
//!    only the HTTP status. A Kibana that doesn't answer yet (connection refused or timed
//!    out, or `503` "Kibana server is not ready yet" while it starts, `502`/`504` from a
//!    proxy in front of it) is asked again, with a line per try, for up to
//!    [`KibanaTarget::ready_timeout`].
//!
//! OpenSearch (index mode only, detected from `GET /` or forced with [`Flavor::OpenSearch`]):
//! the same mappings with `flattened` → `flat_object` (OpenSearch 2.7+), `match_only_text` →
//! `text`, `wildcard` → `keyword`, no `index.lifecycle.name` setting; OpenSearch manages
//! retention with ISM, which `setup` does not configure (it says so in the report's warnings).
//! A cluster without the ILM API (an OSS build, or an API emulator) gets a warning too, not an
//! error: the templates work without it, only automatic deletion is missing.
//!
//! The Elasticsearch resources are embedded from `shipper/resources/elasticsearch/`, the saved
//! objects from `dashboards/kibana/`, so the binary (Lambda, container) needs no files.

use std::fmt::Write as _;
use std::io::Write;

use serde_json::{Value, json};

use crate::service::{
    Connection, EsClient, HeaderName, HeaderValue, HttpRequest, Method, TransportError,
};

/// Name of the rollover + delete policy used by the data streams.
pub const ILM_POLICY: &str = "cloudwatch-shipper";
/// Name of the delete-only policy used by dated indices (index mode).
pub const ILM_POLICY_DATED: &str = "cloudwatch-shipper-dated";

/// The lifecycle policies: (name, JSON with `__DELETE_AFTER_DAYS__`).
const ILM_ROLLOVER_JSON: &str = include_str!("../resources/elasticsearch/ilm-policy.json");
const ILM_DATED_JSON: &str = include_str!("../resources/elasticsearch/ilm-policy-dated.json");

/// Component templates common to both modes: (name, JSON).
const COMPONENTS_COMMON: &[(&str, &str)] = &[
    (
        "cloudwatch-shipper@ecs-mappings",
        include_str!("../resources/elasticsearch/component-ecs-mappings.json"),
    ),
    (
        "cloudwatch-shipper@deadletter-mappings",
        include_str!("../resources/elasticsearch/component-deadletter-mappings.json"),
    ),
    (
        "cloudwatch-shipper@health-mappings",
        include_str!("../resources/elasticsearch/component-health-mappings.json"),
    ),
];
const COMPONENT_DATA_STREAM: (&str, &str) = (
    "cloudwatch-shipper@data-stream",
    include_str!("../resources/elasticsearch/component-data-stream.json"),
);
const COMPONENT_INDEX_MODE: (&str, &str) = (
    "cloudwatch-shipper@index-mode",
    include_str!("../resources/elasticsearch/component-index-mode.json"),
);

/// Index templates for data streams: (name, JSON).
const INDEX_TEMPLATES_DATA_STREAM: &[(&str, &str)] = &[
    (
        "logs-cloudwatch",
        include_str!("../resources/elasticsearch/index-template-logs.json"),
    ),
    (
        "logs-shipper.deadletter",
        include_str!("../resources/elasticsearch/index-template-deadletter.json"),
    ),
    (
        "logs-shipper.health",
        include_str!("../resources/elasticsearch/index-template-health.json"),
    ),
];
/// Index templates for dated indices: (name suffix after the prefix, JSON with `__PREFIX__`).
const INDEX_TEMPLATES_INDEX_MODE: &[(&str, &str)] = &[
    (
        "",
        include_str!("../resources/elasticsearch/index-template-index-mode-logs.json"),
    ),
    (
        "-deadletter",
        include_str!("../resources/elasticsearch/index-template-index-mode-deadletter.json"),
    ),
    (
        "-health",
        include_str!("../resources/elasticsearch/index-template-index-mode-health.json"),
    ),
];

/// The Kibana saved objects, imported as one NDJSON file (data views first, so that every
/// reference resolves inside the same import).
pub const SAVED_OBJECTS: &[(&str, &str)] = &[
    (
        "data-views.ndjson",
        include_str!("../../dashboards/kibana/data-views.ndjson"),
    ),
    (
        "searches.ndjson",
        include_str!("../../dashboards/kibana/searches.ndjson"),
    ),
    (
        "dashboard-vocab-api-by-status.ndjson",
        include_str!("../../dashboards/kibana/dashboard-vocab-api-by-status.ndjson"),
    ),
    (
        "dashboard-by-log-group.ndjson",
        include_str!("../../dashboards/kibana/dashboard-by-log-group.ndjson"),
    ),
    (
        "dashboard-shipper-health.ndjson",
        include_str!("../../dashboards/kibana/dashboard-shipper-health.ndjson"),
    ),
];

/// Where the documents go (`SHIPPER_TARGET`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Target {
    /// `logs-cloudwatch.<name>-<namespace>` data streams (Elasticsearch 8.7+).
    #[default]
    DataStream,
    /// Dated indices `<prefix>-YYYY.MM.DD` (OpenSearch, older clusters).
    Index,
}

/// Which product the cluster is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavor {
    /// Ask the cluster (`GET /`, `version.distribution`); Elasticsearch in a dry run.
    #[default]
    Auto,
    Elasticsearch,
    OpenSearch,
}

/// What `setup` creates (from the shipper's settings: `SHIPPER_TARGET`,
/// `SHIPPER_INDEX_PREFIX`, `SHIPPER_ILM_DELETE_AFTER_DAYS`).
#[derive(Debug, Clone)]
pub struct SetupSettings {
    pub target: Target,
    /// Index mode: indices are `<index_prefix>-YYYY.MM.DD`.
    pub index_prefix: String,
    /// Days after rollover (data streams) or creation (dated indices) before deletion.
    pub ilm_delete_after_days: u32,
    pub flavor: Flavor,
    /// NDJSON to import instead of the embedded [`SAVED_OBJECTS`] (e.g. a file being edited).
    pub saved_objects: Option<String>,
    /// The cluster URL, only to print full URLs in `--dry-run` (the client doesn't expose it);
    /// `None` prints `<elasticsearch>/path`.
    pub elasticsearch_url: Option<String>,
}

impl Default for SetupSettings {
    fn default() -> Self {
        Self {
            target: Target::DataStream,
            index_prefix: "cloudwatch".into(),
            ilm_delete_after_days: 30,
            flavor: Flavor::Auto,
            saved_objects: None,
            elasticsearch_url: None,
        }
    }
}

/// How to authenticate to Kibana (by default the same credentials as Elasticsearch).
#[derive(Debug, Clone, Default)]
pub enum KibanaAuth {
    #[default]
    None,
    Basic {
        username: String,
        password: String,
    },
    /// The encoded API key, sent as `Authorization: ApiKey <key>`.
    ApiKey(String),
}

/// The Kibana to import the saved objects into (`KIBANA_URL`).
#[derive(Debug, Clone)]
pub struct KibanaTarget {
    /// e.g. `http://localhost:5601` (no trailing `/api`).
    pub url: String,
    pub auth: KibanaAuth,
    /// Kibana space; `None` = the default space.
    pub space: Option<String>,
    /// PEM CA bundle to trust in addition to the system roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// How long to keep trying while Kibana doesn't answer yet (it is starting: a compose
    /// stack, a fresh deployment). Default [`KIBANA_READY_TIMEOUT`].
    pub ready_timeout: std::time::Duration,
}

/// How long `setup` waits for a Kibana that is still starting.
pub const KIBANA_READY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(180);

impl KibanaTarget {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            auth: KibanaAuth::None,
            space: None,
            ca_cert_pem: None,
            ready_timeout: KIBANA_READY_TIMEOUT,
        }
    }

    /// `{url}[/s/{space}]/api/saved_objects/_import?overwrite=true`.
    pub fn import_url(&self) -> String {
        format!(
            "{}{}?overwrite=true",
            self.url.trim_end_matches('/'),
            self.import_path()
        )
    }

    /// `[/s/{space}]/api/saved_objects/_import`, below the Kibana URL.
    pub fn import_path(&self) -> String {
        match &self.space {
            Some(space) if !space.is_empty() && space != "default" => {
                format!("/s/{space}/api/saved_objects/_import")
            }
            _ => "/api/saved_objects/_import".into(),
        }
    }
}

/// One request `setup` made (or would make, in a dry run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub method: &'static str,
    /// Elasticsearch path (`/_index_template/…`) or full Kibana URL.
    pub target: String,
    /// HTTP status; `None` in a dry run.
    pub status: Option<u16>,
}

/// What Kibana answered to the import.
#[derive(Debug, Clone, PartialEq)]
pub struct KibanaImport {
    pub success: bool,
    pub success_count: u64,
    /// The `errors` array as Kibana sent it (each: `id`, `type`, `title`, `error.type`, …).
    pub errors: Vec<Value>,
}

/// The outcome of a `setup` run.
#[derive(Debug, Clone, Default)]
pub struct SetupReport {
    /// The flavor used (detected or given).
    pub flavor: Option<Flavor>,
    pub steps: Vec<Step>,
    /// Things that were skipped on purpose (no ILM API, OpenSearch retention).
    pub warnings: Vec<String>,
    /// `None` when no Kibana was given, or in a dry run.
    pub kibana: Option<KibanaImport>,
    pub dry_run: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{method} {path}: request failed: {source}")]
    Elasticsearch {
        method: &'static str,
        path: String,
        #[source]
        source: TransportError,
    },
    #[error("{method} {path}: HTTP {status}: {body}")]
    Rejected {
        method: &'static str,
        path: String,
        status: u16,
        body: String,
    },
    #[error("embedded resource {name} is not valid JSON: {source}")]
    Resource {
        name: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("Kibana {url}: {source}")]
    Kibana {
        url: String,
        #[source]
        source: TransportError,
    },
    #[error("Kibana {url}: {why}")]
    KibanaClient { url: String, why: String },
    #[error("Kibana {url}: HTTP {status}: {body}")]
    KibanaRejected {
        url: String,
        status: u16,
        body: String,
    },
    #[error("Kibana import failed: success={success}, successCount={success_count}, errors: {}", summarize_import_errors(.errors))]
    KibanaImport {
        success: bool,
        success_count: u64,
        errors: Vec<Value>,
    },
    #[error("writing the setup output: {0}")]
    Output(#[from] std::io::Error),
}

/// Runs the setup against `es` (and `kibana` when given), printing one line per request to
/// `out`. With `dry_run`, prints each request (method, URL, body summary) and sends nothing.
///
/// Errors stop the run at the failing request; Kibana's import errors are returned as
/// [`SetupError::KibanaImport`] after being printed.
pub async fn run(
    es: &EsClient,
    kibana: Option<&KibanaTarget>,
    settings: &SetupSettings,
    dry_run: bool,
    out: &mut (dyn Write + Send),
) -> Result<SetupReport, SetupError> {
    let mut report = SetupReport {
        dry_run,
        ..SetupReport::default()
    };

    let flavor = match settings.flavor {
        Flavor::Auto if dry_run => {
            writeln!(
                out,
                "dry run: GET / not sent; assuming Elasticsearch (set the flavor to force OpenSearch)"
            )?;
            Flavor::Elasticsearch
        }
        Flavor::Auto => detect_flavor(es).await?,
        f => f,
    };
    report.flavor = Some(flavor);
    if flavor == Flavor::OpenSearch && settings.target == Target::DataStream {
        return Err(SetupError::Unsupported(
            "OpenSearch has no `flattened`/`constant_keyword` data stream mappings like these: \
             use SHIPPER_TARGET=index for OpenSearch"
                .into(),
        ));
    }

    let base = settings
        .elasticsearch_url
        .as_deref()
        .map_or("<elasticsearch>", |u| u.trim_end_matches('/'));
    for req in es_requests(settings, flavor)? {
        send_es(es, &req, dry_run, base, out, &mut report).await?;
    }
    if flavor == Flavor::OpenSearch {
        report.warnings.push(format!(
            "OpenSearch: retention is not managed (OpenSearch uses ISM, not ILM); add an ISM policy for {}-* to delete old indices",
            settings.index_prefix
        ));
    }

    if let Some(kibana) = kibana {
        let ndjson = match &settings.saved_objects {
            Some(s) => s.clone(),
            None => embedded_saved_objects(),
        };
        import_saved_objects(kibana, &ndjson, dry_run, out, &mut report).await?;
    }
    for w in &report.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(report)
}

/// The embedded saved objects as one NDJSON file (each line one object, `\n`-terminated).
pub fn embedded_saved_objects() -> String {
    let mut all = String::new();
    for (_, text) in SAVED_OBJECTS {
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            all.push_str(line);
            all.push('\n');
        }
    }
    all
}

/// One Elasticsearch request of the setup.
#[derive(Debug, Clone)]
pub struct EsRequest {
    pub path: String,
    pub body: Value,
    /// What to do when the cluster has no such API.
    pub optional_api: Option<&'static str>,
}

/// The Elasticsearch requests (all `PUT`) for these settings, in order.
pub fn es_requests(settings: &SetupSettings, flavor: Flavor) -> Result<Vec<EsRequest>, SetupError> {
    let days = settings.ilm_delete_after_days.to_string();
    let prefix = settings.index_prefix.as_str();
    let (policy_name, policy_json) = match settings.target {
        Target::DataStream => (ILM_POLICY, ILM_ROLLOVER_JSON),
        Target::Index => (ILM_POLICY_DATED, ILM_DATED_JSON),
    };
    let subst = |name: &str, text: &str| -> Result<Value, SetupError> {
        let text = text
            .replace("__DELETE_AFTER_DAYS__", &days)
            .replace("__ILM_POLICY__", policy_name)
            .replace("__PREFIX__", prefix);
        serde_json::from_str(&text).map_err(|source| SetupError::Resource {
            name: name.to_owned(),
            source,
        })
    };
    let opensearch = flavor == Flavor::OpenSearch;
    let mut reqs = Vec::new();

    if !opensearch {
        reqs.push(EsRequest {
            path: format!("/_ilm/policy/{policy_name}"),
            body: json!({ "policy": subst(policy_name, policy_json)? }),
            optional_api: Some("ILM"),
        });
    }

    let mode_component = match settings.target {
        Target::DataStream => COMPONENT_DATA_STREAM,
        Target::Index => COMPONENT_INDEX_MODE,
    };
    for (name, text) in COMPONENTS_COMMON.iter().chain([&mode_component]) {
        let mut body = subst(name, text)?;
        if opensearch {
            to_opensearch(&mut body);
        }
        reqs.push(EsRequest {
            path: format!("/_component_template/{name}"),
            body,
            optional_api: None,
        });
    }

    match settings.target {
        Target::DataStream => {
            for (name, text) in INDEX_TEMPLATES_DATA_STREAM {
                reqs.push(EsRequest {
                    path: format!("/_index_template/{name}"),
                    body: subst(name, text)?,
                    optional_api: None,
                });
            }
        }
        Target::Index => {
            for (suffix, text) in INDEX_TEMPLATES_INDEX_MODE {
                let name = format!("{prefix}{suffix}");
                let body = subst(&name, text)?;
                reqs.push(EsRequest {
                    path: format!("/_index_template/{name}"),
                    body,
                    optional_api: None,
                });
            }
        }
    }
    Ok(reqs)
}

/// Rewrites Elasticsearch-only mapping types and settings for OpenSearch (in place):
/// `flattened` → `flat_object` (OpenSearch 2.7+; it takes no `ignore_above`),
/// `match_only_text` → `text`, `wildcard` → `keyword`, `constant_keyword` → `keyword`,
/// and drops `index.lifecycle.name` (OpenSearch has ISM, not ILM).
pub fn to_opensearch(body: &mut Value) {
    fn walk(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(t)) = map.get("type") {
                    let replacement = match t.as_str() {
                        "flattened" => Some("flat_object"),
                        "match_only_text" => Some("text"),
                        "wildcard" | "constant_keyword" => Some("keyword"),
                        _ => None,
                    };
                    if let Some(r) = replacement {
                        if r == "flat_object" {
                            map.remove("ignore_above");
                        }
                        map.insert("type".into(), Value::from(r));
                    }
                }
                for child in map.values_mut() {
                    walk(child);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    if let Some(Value::Object(settings)) = body.pointer_mut("/template/settings") {
        settings.remove("index.lifecycle.name");
    }
    walk(body);
}

/// Elasticsearch or OpenSearch, from `GET /` (`version.distribution`).
pub async fn detect_flavor(es: &EsClient) -> Result<Flavor, SetupError> {
    let reply = es
        .send(HttpRequest::new(Method::GET, "/"))
        .await
        .map_err(|source| SetupError::Elasticsearch {
            method: "GET",
            path: "/".into(),
            source,
        })?;
    let status = reply.status;
    let body = String::from_utf8_lossy(&reply.body).into_owned();
    if !(200..300).contains(&status) {
        return Err(SetupError::Rejected {
            method: "GET",
            path: "/".into(),
            status,
            body,
        });
    }
    let info: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    Ok(
        if info
            .pointer("/version/distribution")
            .and_then(Value::as_str)
            == Some("opensearch")
        {
            Flavor::OpenSearch
        } else {
            Flavor::Elasticsearch
        },
    )
}

async fn send_es(
    es: &EsClient,
    req: &EsRequest,
    dry_run: bool,
    base: &str,
    out: &mut (dyn Write + Send),
    report: &mut SetupReport,
) -> Result<(), SetupError> {
    let body = req.body.to_string();
    if dry_run {
        writeln!(
            out,
            "PUT {base}{} ({})",
            req.path,
            summarize_body(&req.body, body.len())
        )?;
        report.steps.push(Step {
            method: "PUT",
            target: req.path.clone(),
            status: None,
        });
        return Ok(());
    }
    let reply = es
        .send(HttpRequest::new(Method::PUT, &req.path).json(body))
        .await
        .map_err(|source| SetupError::Elasticsearch {
            method: "PUT",
            path: req.path.clone(),
            source,
        })?;
    let status = reply.status;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    report.steps.push(Step {
        method: "PUT",
        target: req.path.clone(),
        status: Some(status),
    });
    if (200..300).contains(&status) {
        writeln!(out, "PUT {}: {status}", req.path)?;
        return Ok(());
    }
    // A cluster without the API (OSS build, emulator) answers "no handler found" (400/404/405).
    if let Some(api) = req.optional_api
        && matches!(status, 400 | 404 | 405)
        && text.contains("no handler found")
    {
        writeln!(out, "PUT {}: {status} (no {api} API)", req.path)?;
        report.warnings.push(format!(
            "the cluster has no {api} API ({} answered {status}): indices will not be deleted automatically",
            req.path
        ));
        return Ok(());
    }
    Err(SetupError::Rejected {
        method: "PUT",
        path: req.path.clone(),
        status,
        body: text,
    })
}

/// Imports `ndjson` through Kibana's saved objects `_import` API (overwrite), recording the
/// step in `report`; an answer with `success: false` is an error even with HTTP 200.
pub async fn import_saved_objects(
    kibana: &KibanaTarget,
    ndjson: &str,
    dry_run: bool,
    out: &mut (dyn Write + Send),
    report: &mut SetupReport,
) -> Result<(), SetupError> {
    let url = kibana.import_url();
    if dry_run {
        writeln!(
            out,
            "POST {url} (multipart file=shipper-saved-objects.ndjson, {} bytes: {}; header kbn-xsrf: true)",
            ndjson.len(),
            summarize_saved_objects(ndjson)
        )?;
        report.steps.push(Step {
            method: "POST",
            target: url,
            status: None,
        });
        return Ok(());
    }
    let err = |source: TransportError| SetupError::Kibana {
        url: url.clone(),
        source,
    };
    let (api_key, username, password) = match &kibana.auth {
        KibanaAuth::None => (None, None, None),
        KibanaAuth::Basic { username, password } => {
            (None, Some(username.clone()), Some(password.clone()))
        }
        KibanaAuth::ApiKey(key) => (Some(key.clone()), None, None),
    };
    // Kibana through the same transport as the cluster (trust, timeouts), with its own URL.
    let client = crate::service::build_client(&Connection {
        url: Some(kibana.url.clone()),
        api_key,
        username,
        password,
        ca_cert_pem: kibana.ca_cert_pem.clone(),
        timeout: Some(std::time::Duration::from_secs(120)),
        ..Connection::default()
    })
    .map_err(|e| SetupError::KibanaClient {
        url: url.clone(),
        why: e.to_string(),
    })?;
    let (content_type, body) = multipart_file(
        "file",
        "shipper-saved-objects.ndjson",
        "application/ndjson",
        ndjson.as_bytes(),
    );
    let content_type =
        HeaderValue::try_from(content_type).map_err(|_| SetupError::KibanaClient {
            url: url.clone(),
            why: "multipart boundary is not a header value".into(),
        })?;
    let request = HttpRequest::new(Method::POST, kibana.import_path())
        .query("overwrite", "true")
        .header(
            HeaderName::from_static("kbn-xsrf"),
            HeaderValue::from_static("true"),
        )
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body);
    // Until Kibana answers: it refuses connections while it starts, then answers 503 "Kibana
    // server is not ready yet" until its plugins (saved objects among them) are up.
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(500);
    let reply = loop {
        let sent = client.send(request.clone()).await;
        let not_ready = match &sent {
            Err(e @ (TransportError::Connection(_) | TransportError::Timeout)) => {
                Some(e.to_string())
            }
            Ok(r) if matches!(r.status, 502..=504) => Some(format!("HTTP {}", r.status)),
            _ => None,
        };
        match not_ready {
            Some(why) if started.elapsed() + pause <= kibana.ready_timeout => {
                writeln!(
                    out,
                    "Kibana {url} is not ready ({why}): trying again in {:.1} s ({} s of {} s waited)",
                    pause.as_secs_f64(),
                    started.elapsed().as_secs(),
                    kibana.ready_timeout.as_secs()
                )?;
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_secs(5));
            }
            _ => break sent.map_err(err)?,
        }
    };
    let status = reply.status;
    let text = String::from_utf8_lossy(&reply.body).into_owned();
    report.steps.push(Step {
        method: "POST",
        target: url.clone(),
        status: Some(status),
    });
    if !(200..300).contains(&status) {
        return Err(SetupError::KibanaRejected {
            url,
            status,
            body: text,
        });
    }
    let answer: Value = serde_json::from_str(&text).map_err(|_| SetupError::KibanaRejected {
        url: url.clone(),
        status,
        body: format!("not a saved objects import answer: {text}"),
    })?;
    let import = KibanaImport {
        success: answer.get("success").and_then(Value::as_bool) == Some(true),
        success_count: answer
            .get("successCount")
            .and_then(Value::as_u64)
            .unwrap_or(0),
        errors: answer
            .get("errors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    };
    writeln!(
        out,
        "POST {url}: {status} success={} successCount={} errors={}",
        import.success,
        import.success_count,
        import.errors.len()
    )?;
    for e in &import.errors {
        writeln!(out, "  import error: {}", summarize_import_error(e))?;
    }
    report.kibana = Some(import.clone());
    if !import.success || !import.errors.is_empty() {
        return Err(SetupError::KibanaImport {
            success: import.success,
            success_count: import.success_count,
            errors: import.errors,
        });
    }
    Ok(())
}

/// A `multipart/form-data` body with one file field (RFC 7578), and its `Content-Type`.
/// The boundary is random and checked not to occur in the content.
fn multipart_file(field: &str, file_name: &str, mime: &str, content: &[u8]) -> (String, Vec<u8>) {
    let boundary = loop {
        let b = format!(
            "shipper-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        if memchr::memmem::find(content, b.as_bytes()).is_none() {
            break b;
        }
    };
    let mut body = Vec::with_capacity(content.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// `"<n> bytes: <top-level keys>; <_meta.description>"`.
fn summarize_body(body: &Value, len: usize) -> String {
    let keys: Vec<&str> = body
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let mut s = format!("{len} bytes: {{{}}}", keys.join(", "));
    let desc = body
        .pointer("/_meta/description")
        .or_else(|| body.pointer("/policy/_meta/description"));
    if let Some(d) = desc.and_then(Value::as_str) {
        let _ = write!(s, "; {d}");
    }
    if let Some(p) = body.get("index_patterns") {
        let _ = write!(s, "; index_patterns {p}");
    }
    s
}

/// `"N objects (index-pattern: 2, lens: 9, …)"`.
fn summarize_saved_objects(ndjson: &str) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    let mut n = 0;
    for line in ndjson.lines().filter(|l| !l.trim().is_empty()) {
        n += 1;
        let t = serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "unparsable".into());
        *counts.entry(t).or_default() += 1;
    }
    let parts: Vec<String> = counts.iter().map(|(t, c)| format!("{t}: {c}")).collect();
    format!("{n} objects ({})", parts.join(", "))
}

fn summarize_import_error(e: &Value) -> String {
    let s = |p: &str| e.pointer(p).and_then(Value::as_str).unwrap_or("?");
    let mut line = format!(
        "{} {} ({}): {}",
        s("/type"),
        s("/id"),
        s("/meta/title"),
        s("/error/type")
    );
    if let Some(refs) = e.pointer("/error/references").and_then(Value::as_array) {
        let missing: Vec<String> = refs
            .iter()
            .map(|r| {
                format!(
                    "{}/{}",
                    r.get("type").and_then(Value::as_str).unwrap_or("?"),
                    r.get("id").and_then(Value::as_str).unwrap_or("?")
                )
            })
            .collect();
        let _ = write!(line, " missing {}", missing.join(", "));
    }
    line
}

fn summarize_import_errors(errors: &[Value]) -> String {
    if errors.is_empty() {
        return "none".into();
    }
    errors
        .iter()
        .map(summarize_import_error)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    //! The requests setup makes, without a cluster. Against the emulators, a real cluster and
    //! a fake Kibana: tests/integration/setup.rs.
    use super::*;

    fn client(url: &str) -> EsClient {
        crate::service::build_client(&Connection {
            url: Some(url.into()),
            ..Connection::default()
        })
        .expect("client")
    }

    fn as_text(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    // ---- requests and resources --------------------------------------------------------------

    #[test]
    fn data_stream_requests_map_the_contract_fields() {
        let settings = SetupSettings {
            ilm_delete_after_days: 7,
            ..Default::default()
        };
        let reqs = es_requests(&settings, Flavor::Elasticsearch).unwrap();
        let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/_ilm/policy/cloudwatch-shipper",
                "/_component_template/cloudwatch-shipper@ecs-mappings",
                "/_component_template/cloudwatch-shipper@deadletter-mappings",
                "/_component_template/cloudwatch-shipper@health-mappings",
                "/_component_template/cloudwatch-shipper@data-stream",
                "/_index_template/logs-cloudwatch",
                "/_index_template/logs-shipper.deadletter",
                "/_index_template/logs-shipper.health",
            ]
        );
        let ilm = &reqs[0].body;
        assert_eq!(
            ilm.pointer("/policy/phases/delete/min_age"),
            Some(&json!("7d"))
        );
        assert!(
            ilm.pointer("/policy/phases/hot/actions/rollover/max_age")
                .is_some()
        );

        let ecs = reqs[1]
            .body
            .pointer("/template/mappings/properties")
            .unwrap();
        let ty = |p: &str| ecs.pointer(p).and_then(|v| v.get("type")).cloned();
        assert_eq!(ty("/app"), Some(json!("flattened")));
        assert_eq!(ty("/@timestamp"), Some(json!("date")));
        assert_eq!(
            ty("/http/properties/response/properties/status_code"),
            Some(json!("long"))
        );
        assert_eq!(ty("/event/properties/duration"), Some(json!("long")));
        assert_eq!(
            ty("/aws/properties/lambda/properties/report/properties/duration_ms"),
            Some(json!("double"))
        );
        assert_eq!(ty("/faas/properties/coldstart"), Some(json!("boolean")));
        let dl = reqs[2]
            .body
            .pointer("/template/mappings/properties/deadletter/properties/payload")
            .unwrap();
        assert_eq!(
            dl,
            &json!({"type": "keyword", "index": false, "doc_values": false})
        );
        let ds = &reqs[4].body;
        assert_eq!(
            ds.pointer("/template/mappings/properties/data_stream/properties/dataset/type"),
            Some(&json!("constant_keyword"))
        );
        assert_eq!(
            ds.pointer("/template/settings/index.lifecycle.name"),
            Some(&json!(ILM_POLICY))
        );

        let logs = &reqs[5].body;
        assert_eq!(logs["index_patterns"], json!(["logs-cloudwatch*-*"]));
        assert_eq!(logs["data_stream"], json!({}));
        assert!(
            logs["priority"].as_u64().unwrap() > 100,
            "above the built-in logs-*-*"
        );
        let composed: Vec<&str> = logs["composed_of"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        for c in [
            "logs@mappings",
            "logs@settings",
            "ecs@mappings",
            "cloudwatch-shipper@ecs-mappings",
            "cloudwatch-shipper@data-stream",
        ] {
            assert!(composed.contains(&c), "{c} in {composed:?}");
        }
        // Our own mappings come after the built-in ones, so they win.
        assert!(
            composed.iter().position(|c| *c == "ecs@mappings")
                < composed
                    .iter()
                    .position(|c| *c == "cloudwatch-shipper@ecs-mappings")
        );
        for r in &reqs[6..] {
            assert!(r.body["priority"].as_u64() > logs["priority"].as_u64());
        }
        // Every composed template is either ours (and created before) or may be missing.
        for r in &reqs[5..] {
            let missing_ok: Vec<&Value> = r.body["ignore_missing_component_templates"]
                .as_array()
                .unwrap()
                .iter()
                .collect();
            for c in r.body["composed_of"].as_array().unwrap() {
                let created = paths
                    .contains(&format!("/_component_template/{}", c.as_str().unwrap()).as_str());
                assert!(created || missing_ok.contains(&c), "{c}");
            }
        }
    }

    #[test]
    fn index_mode_requests_use_the_prefix_and_a_delete_only_policy() {
        let settings = SetupSettings {
            target: Target::Index,
            index_prefix: "cw".into(),
            ..Default::default()
        };
        let reqs = es_requests(&settings, Flavor::Elasticsearch).unwrap();
        assert_eq!(reqs[0].path, "/_ilm/policy/cloudwatch-shipper-dated");
        assert!(
            reqs[0]
                .body
                .pointer("/policy/phases/hot/actions/rollover")
                .is_none()
        );
        assert_eq!(
            reqs[0].body.pointer("/policy/phases/delete/min_age"),
            Some(&json!("30d"))
        );
        let templates: Vec<(&str, &Value)> = reqs
            .iter()
            .filter(|r| r.path.starts_with("/_index_template/"))
            .map(|r| (r.path.as_str(), &r.body["index_patterns"]))
            .collect();
        assert_eq!(
            templates,
            [
                ("/_index_template/cw", &json!(["cw-*"])),
                (
                    "/_index_template/cw-deadletter",
                    &json!(["cw-deadletter-*"])
                ),
                ("/_index_template/cw-health", &json!(["cw-health-*"])),
            ]
        );
        for r in &reqs {
            assert!(r.body.get("data_stream").is_none(), "{}", r.path);
            assert!(
                !r.body.to_string().contains("constant_keyword"),
                "{}",
                r.path
            );
            assert!(
                !r.body.to_string().contains("__"),
                "unsubstituted placeholder in {}",
                r.path
            );
        }
    }

    #[test]
    fn opensearch_variant_uses_flat_object_and_no_ilm() {
        let settings = SetupSettings {
            target: Target::Index,
            ..Default::default()
        };
        let reqs = es_requests(&settings, Flavor::OpenSearch).unwrap();
        assert!(reqs.iter().all(|r| !r.path.starts_with("/_ilm")));
        let all: String = reqs.iter().map(|r| r.body.to_string()).collect();
        for es_only in [
            "\"flattened\"",
            "match_only_text",
            "\"wildcard\"",
            "constant_keyword",
            "index.lifecycle.name",
        ] {
            assert!(
                !all.contains(es_only),
                "{es_only} left in the OpenSearch variant"
            );
        }
        let ecs = &reqs[0].body;
        assert_eq!(
            ecs.pointer("/template/mappings/properties/app"),
            Some(&json!({"type": "flat_object"}))
        );
    }

    #[tokio::test]
    async fn opensearch_data_streams_are_refused_before_any_request() {
        let es = client("http://127.0.0.1:1");
        let settings = SetupSettings {
            flavor: Flavor::OpenSearch,
            ..Default::default()
        };
        let mut out = Vec::new();
        let err = run(&es, None, &settings, false, &mut out)
            .await
            .unwrap_err();
        assert!(matches!(err, SetupError::Unsupported(_)), "{err}");
    }

    #[tokio::test]
    async fn dry_run_prints_every_request_and_sends_nothing() {
        // Nothing listens on port 1: any request sent would fail the run.
        let es = client("http://127.0.0.1:1");
        let kibana = KibanaTarget::new("http://127.0.0.1:1/");
        let mut out = Vec::new();
        let report = run(
            &es,
            Some(&kibana),
            &SetupSettings::default(),
            true,
            &mut out,
        )
        .await
        .unwrap();
        let text = as_text(&out);
        let reqs = es_requests(&SetupSettings::default(), Flavor::Elasticsearch).unwrap();
        for r in &reqs {
            assert!(
                text.contains(&format!("PUT <elasticsearch>{} (", r.path)),
                "{} missing from:\n{text}",
                r.path
            );
        }
        assert!(
            text.contains("index_patterns [\"logs-cloudwatch*-*\"]"),
            "{text}"
        );
        assert!(
            text.contains(
                "POST http://127.0.0.1:1/api/saved_objects/_import?overwrite=true (multipart file="
            ),
            "{text}"
        );
        assert!(
            text.contains("index-pattern: "),
            "saved objects summarized: {text}"
        );
        assert_eq!(report.steps.len(), reqs.len() + 1);
        assert!(report.steps.iter().all(|s| s.status.is_none()));
        assert!(report.dry_run && report.kibana.is_none());

        let settings = SetupSettings {
            elasticsearch_url: Some("https://es.example:9243/".into()),
            ..Default::default()
        };
        let mut out = Vec::new();
        run(&es, None, &settings, true, &mut out).await.unwrap();
        assert!(
            as_text(&out).contains("PUT https://es.example:9243/_index_template/logs-cloudwatch ("),
            "{}",
            as_text(&out)
        );
    }
}
