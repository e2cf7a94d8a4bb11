//! Settings, read once from the environment and validated before the first event.
//!
//! Every field is documented here and in the README's settings table. Secrets (API key,
//! password) are never printed: `Debug` redacts them.

use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::request_builder::Limits;
use crate::target::{Naming, TargetMode};

/// The shipper's settings (environment variable = field name in upper case).
#[derive(Clone, Deserialize, Default)]
#[serde(default)]
pub struct Config {
    /// `ELASTICSEARCH_URL`: the cluster, e.g. `https://es.example.com:9200`.
    pub elasticsearch_url: Option<String>,
    /// `ELASTICSEARCH_CLOUD_ID`: an Elastic Cloud deployment id, instead of the URL.
    pub elasticsearch_cloud_id: Option<String>,
    /// `ELASTICSEARCH_API_KEY`: API key, base64 `id:key` as Kibana shows it.
    pub elasticsearch_api_key: Option<String>,
    /// `ELASTICSEARCH_USERNAME` / `ELASTICSEARCH_PASSWORD`: basic auth.
    pub elasticsearch_username: Option<String>,
    pub elasticsearch_password: Option<String>,
    /// `ELASTICSEARCH_SECRET_ARN`: Secrets Manager secret whose JSON holds any of `url`,
    /// `cloud_id`, `api_key`, `username`, `password`.
    pub elasticsearch_secret_arn: Option<String>,
    /// `ELASTICSEARCH_SSM_PARAMETER`: SSM SecureString parameter with the same JSON.
    pub elasticsearch_ssm_parameter: Option<String>,
    /// `ELASTICSEARCH_CA_CERT`: path to a PEM bundle trusted in addition to the Mozilla roots
    /// built into the binary (webpki-roots; the OS trust store is not read).
    pub elasticsearch_ca_cert: Option<PathBuf>,
    /// `ELASTICSEARCH_TIMEOUT_MS`: per-request timeout (default 30000).
    pub elasticsearch_timeout_ms: Option<u64>,
    /// `KIBANA_URL`: for `setup` (saved objects import).
    pub kibana_url: Option<String>,
    /// `SHIPPER_TARGET`: `data_stream` (default) or `index`.
    pub shipper_target: Option<String>,
    /// `SHIPPER_DATASET`: `auto` (default: from the log group) or a fixed dataset.
    pub shipper_dataset: Option<String>,
    /// `SHIPPER_NAMESPACE`: data stream namespace (default `default`).
    pub shipper_namespace: Option<String>,
    /// `SHIPPER_INDEX_PREFIX`: index mode prefix (default `cloudwatch`).
    pub shipper_index_prefix: Option<String>,
    /// `SHIPPER_MAX_BULK_BYTES`: uncompressed bytes per bulk request (default 10 MiB).
    pub shipper_max_bulk_bytes: Option<usize>,
    /// `SHIPPER_MAX_BULK_DOCS`: actions per bulk request (default 5000).
    pub shipper_max_bulk_docs: Option<usize>,
    /// `SHIPPER_FIRST_BULK_DOCS`: actions in the first request of a batch (default 500), sent
    /// while the rest is built; each next request doubles, up to `SHIPPER_MAX_BULK_DOCS`.
    pub shipper_first_bulk_docs: Option<usize>,
    /// `SHIPPER_GZIP`: gzip request bodies (default true).
    pub shipper_gzip: Option<bool>,
    /// `SHIPPER_DEADLINE_MARGIN_MS`: stop retrying this long before the Lambda deadline
    /// (default 2000), leaving time to report.
    pub shipper_deadline_margin_ms: Option<u64>,
    /// `SHIPPER_MAX_RETRY_MS`: retry budget outside Lambda (CLI), default 60000.
    pub shipper_max_retry_ms: Option<u64>,
    /// `SHIPPER_HEALTH_DOCS`: index one health document per invocation (default true).
    pub shipper_health_docs: Option<bool>,
    /// `SHIPPER_ILM_DELETE_AFTER_DAYS`: retention that `setup` writes (default 30).
    pub shipper_ilm_delete_after_days: Option<u32>,
    /// `AWS_REGION`: written as `cloud.region` (Lambda sets it).
    pub aws_region: Option<String>,

    // ---- transport: AWS request signing, proxy, certificate pinning -------------------------
    /// `SHIPPER_AUTH`: `sigv4` signs every request with AWS Signature Version 4 (Amazon
    /// OpenSearch Service domains and OpenSearch Serverless collections), with credentials
    /// from the standard AWS chain (the Lambda role). Unset: the API key or user/password
    /// above, if any.
    pub shipper_auth: Option<String>,
    /// `SHIPPER_SIGV4_SERVICE`: `es` (a managed domain) or `aoss` (Serverless). Default: read
    /// from the endpoint host (`….<region>.es.amazonaws.com`, `….<region>.aoss.amazonaws.com`).
    pub shipper_sigv4_service: Option<String>,
    /// `SHIPPER_SIGV4_REGION`: the region to sign for. Default: read from the endpoint host,
    /// else `AWS_REGION`.
    pub shipper_sigv4_region: Option<String>,
    /// `HTTPS_PROXY` (or `https_proxy`): proxy for `https://` cluster and Kibana URLs, e.g.
    /// `http://user:pass@proxy:3128`.
    pub https_proxy: Option<String>,
    /// `HTTP_PROXY` (or `http_proxy`): proxy for `http://` URLs.
    pub http_proxy: Option<String>,
    /// `NO_PROXY` (or `no_proxy`): comma-separated hosts, domains (`.internal` = it and its
    /// subdomains), IP addresses or CIDR ranges reached directly; `*` = no proxy at all.
    pub no_proxy: Option<String>,
    /// `ELASTICSEARCH_CERT_FINGERPRINT`: SHA-256 of the cluster's own (leaf) certificate, hex,
    /// colons allowed (`openssl x509 -noout -fingerprint -sha256` prints it); several,
    /// comma-separated, during a rotation. Instead of a CA file: the certificate is trusted
    /// when it is exactly this one, whatever signed it.
    pub elasticsearch_cert_fingerprint: Option<String>,

    // ---- features: routing, filtering, redaction, Firehose (issue 11) -------------------------
    /// `SHIPPER_ROUTES`: routing rules as JSON, an array of
    /// `{"log_group": glob, "log_stream"?: glob, "dataset"?, "namespace"?, "index"?, "pipeline"?,
    /// "fields"?: {..}, "tags"?: [..], "include"?: [regex], "exclude"?: [regex],
    /// "drop_start_end"?: bool, "drop"?: bool, "name"?}`; the first match wins
    /// (`crate::route`). At most one of this, the file and the SSM parameter.
    pub shipper_routes: Option<String>,
    /// `SHIPPER_ROUTES_FILE`: a file holding the same JSON, for long rule sets.
    pub shipper_routes_file: Option<PathBuf>,
    /// `SHIPPER_ROUTES_SSM_PARAMETER`: an SSM parameter (String or SecureString) holding the
    /// same JSON, read once at start.
    pub shipper_routes_ssm_parameter: Option<String>,
    /// `SHIPPER_LOOP_GUARD`: never ship the shipper's own log group (default true).
    pub shipper_loop_guard: Option<bool>,
    /// `SHIPPER_DROP_START_END`: drop Lambda's `START` and `END` platform lines, keeping
    /// `REPORT` (default false); a rule's `drop_start_end` overrides it.
    pub shipper_drop_start_end: Option<bool>,
    /// `SHIPPER_REDACT`: what to redact, comma-separated: `email`, `ip` (IPv4 and IPv6),
    /// `keys` (mask values under `SHIPPER_REDACT_KEYS`). Default: nothing.
    pub shipper_redact: Option<String>,
    /// `SHIPPER_REDACT_KEYS`: key fragments masked with `keys`, comma-separated,
    /// case-insensitive (default `password,authorization,token,secret,cookie`).
    pub shipper_redact_keys: Option<String>,
    /// `SHIPPER_REDACT_PATTERNS`: custom regular expressions to redact, a JSON array of
    /// strings (Rust `regex` syntax).
    pub shipper_redact_patterns: Option<String>,
    /// `SHIPPER_FIREHOSE_RESULT`: what the Lambda answers Firehose for a record it delivered
    /// itself: `ok` (default: the record unchanged, so the stream's destination keeps a raw copy
    /// `shipper ship` can replay) or `dropped` (nothing goes to the destination).
    pub shipper_firehose_result: Option<String>,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`: the function's own log group (Lambda sets it): what the
    /// loop guard drops.
    pub aws_lambda_log_group_name: Option<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME`: (Lambda sets it) `/aws/lambda/<name>` when the log group
    /// name isn't set.
    pub aws_lambda_function_name: Option<String>,
}

/// How requests are authenticated (`SHIPPER_AUTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// The API key or user/password, when set.
    Credentials,
    /// AWS Signature Version 4.
    SigV4,
}

/// The AWS service a SigV4 signature is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigV4Service {
    /// Amazon OpenSearch Service (managed domains): `es`.
    Es,
    /// Amazon OpenSearch Serverless: `aoss`.
    Aoss,
}

impl SigV4Service {
    pub fn name(self) -> &'static str {
        match self {
            SigV4Service::Es => "es",
            SigV4Service::Aoss => "aoss",
        }
    }
}

/// Explicit proxy settings (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`), validated.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    pub https: Option<String>,
    pub http: Option<String>,
    pub no_proxy: Option<String>,
}

impl fmt::Debug for Proxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxies")
            .field("https", &self.https.as_deref().map(redact_userinfo))
            .field("http", &self.http.as_deref().map(redact_userinfo))
            .field("no_proxy", &self.no_proxy)
            .finish()
    }
}

/// `http://user:pass@host` → `http://<redacted>@host`: proxy URLs may carry a password.
fn redact_userinfo(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://<redacted>{}", &url[at..]),
        _ => url.to_owned(),
    }
}

/// `…<region>.es.amazonaws.com` / `…<region>.aoss.amazonaws.com` (and `.com.cn`) → service
/// and region, as the endpoints are named in https://docs.aws.amazon.com/general/latest/gr/opensearch-service.html.
pub fn sigv4_from_host(host: &str) -> Option<(SigV4Service, String)> {
    let labels: Vec<&str> = host.split('.').collect();
    let i = labels.iter().rposition(|l| *l == "amazonaws")?;
    if i < 2 {
        return None;
    }
    let service = match labels[i - 1] {
        "es" => SigV4Service::Es,
        "aoss" => SigV4Service::Aoss,
        _ => return None,
    };
    Some((service, labels[i - 2].to_owned()))
}

/// The hex SHA-256 fingerprints of `ELASTICSEARCH_CERT_FINGERPRINT`.
pub fn parse_fingerprints(s: &str) -> Result<Vec<[u8; 32]>, String> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        // `openssl x509 -fingerprint` prints `sha256 Fingerprint=AB:CD:…`.
        let hex_part = part.rsplit('=').next().unwrap_or(part);
        let hex: String = hex_part.chars().filter(|c| *c != ':').collect();
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{part}` is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
            ));
        }
        let mut fp = [0u8; 32];
        for (i, b) in fp.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap_or_default();
        }
        out.push(fp);
    }
    if out.is_empty() {
        return Err("no fingerprint in it".into());
    }
    Ok(out)
}

fn valid_proxy_url(u: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(u)
        .map_err(|e| format!("not a URL ({e}); e.g. http://proxy.internal:3128"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(
            "must be an http:// or https:// URL of the proxy, e.g. http://proxy.internal:3128"
                .into(),
        );
    }
    Ok(())
}

impl Config {
    /// `SHIPPER_AUTH`.
    pub fn auth_mode(&self) -> AuthMode {
        match self.shipper_auth.as_deref() {
            Some("sigv4") => AuthMode::SigV4,
            _ => AuthMode::Credentials,
        }
    }

    /// The proxies to use (none set = direct connections).
    pub fn proxies(&self) -> Proxies {
        Proxies {
            https: self.https_proxy.clone(),
            http: self.http_proxy.clone(),
            no_proxy: self.no_proxy.clone(),
        }
    }

    /// The pinned certificate fingerprints (validated at start).
    pub fn cert_fingerprints(&self) -> Vec<[u8; 32]> {
        self.elasticsearch_cert_fingerprint
            .as_deref()
            .and_then(|s| parse_fingerprints(s).ok())
            .unwrap_or_default()
    }

    /// Service and region to sign for, given the cluster URL (known only once the secret is
    /// read when it holds the URL). Explicit settings win over the endpoint host; the region
    /// falls back to `AWS_REGION`.
    pub fn sigv4_target(&self, url: Option<&str>) -> Result<(SigV4Service, String), ConfigError> {
        let (service, region) = self.sigv4_explicit()?;
        let from_host = url
            .and_then(|u| reqwest::Url::parse(u).ok())
            .and_then(|u| u.host_str().and_then(sigv4_from_host));
        let service = match service {
            Some(s) => s,
            None => from_host.as_ref().map(|(s, _)| *s).ok_or(ConfigError::Invalid {
                var: "SHIPPER_SIGV4_SERVICE",
                why: "required with SHIPPER_AUTH=sigv4 when the endpoint is not an *.es.amazonaws.com or *.aoss.amazonaws.com host: `es` or `aoss`".into(),
            })?,
        };
        let region = region
            .or_else(|| from_host.map(|(_, r)| r))
            .or_else(|| self.aws_region.clone())
            .ok_or(ConfigError::Invalid {
                var: "SHIPPER_SIGV4_REGION",
                why: "required with SHIPPER_AUTH=sigv4 when neither the endpoint host nor AWS_REGION names the region".into(),
            })?;
        Ok((service, region))
    }

    /// `SHIPPER_SIGV4_SERVICE` and `SHIPPER_SIGV4_REGION` as given, checked.
    fn sigv4_explicit(&self) -> Result<(Option<SigV4Service>, Option<String>), ConfigError> {
        let service = match self.shipper_sigv4_service.as_deref() {
            None => None,
            Some("es") => Some(SigV4Service::Es),
            Some("aoss") => Some(SigV4Service::Aoss),
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "SHIPPER_SIGV4_SERVICE",
                    why: format!(
                        "`{other}` is neither `es` (a managed domain) nor `aoss` (Serverless)"
                    ),
                });
            }
        };
        if let Some(r) = &self.shipper_sigv4_region
            && !r
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_SIGV4_REGION",
                why: format!("`{r}` is not a region name like `us-east-1`"),
            });
        }
        Ok((service, self.shipper_sigv4_region.clone()))
    }

    fn validate_transport(&self) -> Result<(), ConfigError> {
        if let Some(a) = &self.shipper_auth
            && a != "sigv4"
        {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_AUTH",
                why: format!(
                    "`{a}` is not `sigv4` (leave it unset for an API key or user/password)"
                ),
            });
        }
        if self.auth_mode() == AuthMode::SigV4 {
            if self.elasticsearch_api_key.is_some() || self.elasticsearch_username.is_some() {
                return Err(ConfigError::Invalid {
                    var: "SHIPPER_AUTH",
                    why: "sigv4 signs requests with AWS credentials: unset ELASTICSEARCH_API_KEY / ELASTICSEARCH_USERNAME".into(),
                });
            }
            self.sigv4_explicit()?;
            // With the URL in a secret, the rest is checked once the secret is read.
            if self.elasticsearch_url.is_some() {
                self.sigv4_target(self.elasticsearch_url.as_deref())?;
            }
        }
        for (var, v) in [
            ("HTTPS_PROXY", &self.https_proxy),
            ("HTTP_PROXY", &self.http_proxy),
        ] {
            if let Some(u) = v {
                valid_proxy_url(u).map_err(|why| ConfigError::Invalid { var, why })?;
            }
        }
        if let Some(fp) = &self.elasticsearch_cert_fingerprint {
            parse_fingerprints(fp).map_err(|why| ConfigError::Invalid {
                var: "ELASTICSEARCH_CERT_FINGERPRINT",
                why,
            })?;
            if self.elasticsearch_ca_cert.is_some() {
                return Err(ConfigError::Invalid {
                    var: "ELASTICSEARCH_CERT_FINGERPRINT",
                    why: "set either ELASTICSEARCH_CA_CERT (trust a CA) or ELASTICSEARCH_CERT_FINGERPRINT (trust one certificate), not both".into(),
                });
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |o: &Option<String>| o.as_ref().map(|_| "<redacted>");
        f.debug_struct("Config")
            .field("elasticsearch_url", &self.elasticsearch_url)
            .field(
                "elasticsearch_cloud_id",
                &self.elasticsearch_cloud_id.as_ref().map(|_| "<set>"),
            )
            .field(
                "elasticsearch_api_key",
                &redact(&self.elasticsearch_api_key),
            )
            .field("elasticsearch_username", &self.elasticsearch_username)
            .field(
                "elasticsearch_password",
                &redact(&self.elasticsearch_password),
            )
            .field("elasticsearch_secret_arn", &self.elasticsearch_secret_arn)
            .field(
                "elasticsearch_ssm_parameter",
                &self.elasticsearch_ssm_parameter,
            )
            .field("auth", &self.auth_mode())
            .field("proxies", &self.proxies())
            .field("naming", &self.naming())
            .field("limits", &self.limits())
            .finish_non_exhaustive()
    }
}

/// A setting that is missing or wrong, naming the variable.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("{0}")]
    Env(String),
    #[error("{var}: {why}")]
    Invalid { var: &'static str, why: String },
    #[error(
        "no Elasticsearch to send to: set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID (or put `url` in the secret named by ELASTICSEARCH_SECRET_ARN / ELASTICSEARCH_SSM_PARAMETER)"
    )]
    NoTarget,
    /// A routing rule that can't be used: the message names the setting and the rule.
    #[error("{0}")]
    Routes(String),
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads from `vars` (tests pass their own), then validates.
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        // Empty values mean "unset" (Terraform and compose often pass VAR="").
        let vars = lower_case_duplicates_dropped(vars.into_iter().filter(|(_, v)| !v.is_empty()));
        let c: Config = envy::from_iter(vars).map_err(|e| ConfigError::Env(env_error(e)))?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.validate_transport()?;
        self.validate_features()?;
        if self.elasticsearch_username.is_some() != self.elasticsearch_password.is_some() {
            return Err(ConfigError::Invalid {
                var: "ELASTICSEARCH_PASSWORD",
                why: "ELASTICSEARCH_USERNAME and ELASTICSEARCH_PASSWORD go together".into(),
            });
        }
        if let Some(t) = &self.shipper_target
            && !matches!(t.as_str(), "data_stream" | "index")
        {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_TARGET",
                why: format!("`{t}` is neither `data_stream` nor `index`"),
            });
        }
        if let Some(d) = &self.shipper_dataset
            && d != "auto"
            && !valid_name_part(d)
        {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_DATASET",
                why: "lower case letters, digits, `.` and `_` only (no `-`), at most 100 bytes"
                    .into(),
            });
        }
        if let Some(n) = &self.shipper_namespace
            && !valid_name_part(n)
        {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_NAMESPACE",
                why: "lower case letters, digits, `.` and `_` only (no `-`), at most 100 bytes"
                    .into(),
            });
        }
        if self.shipper_max_bulk_bytes == Some(0) {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_MAX_BULK_BYTES",
                why: "must be > 0".into(),
            });
        }
        if self.shipper_max_bulk_docs == Some(0) {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_MAX_BULK_DOCS",
                why: "must be > 0".into(),
            });
        }
        if self.shipper_first_bulk_docs == Some(0) {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_FIRST_BULK_DOCS",
                why: "must be > 0".into(),
            });
        }
        if let Some(id) = &self.elasticsearch_cloud_id {
            crate::service::cloud_id_url(id).map_err(|why| ConfigError::Invalid {
                var: "ELASTICSEARCH_CLOUD_ID",
                why,
            })?;
        }
        self.validate_values()?;
        if let Some(p) = &self.elasticsearch_ca_cert {
            // Read and parsed here, not at the first request: a bad file stops the start.
            let invalid = |why: String| ConfigError::Invalid {
                var: "ELASTICSEARCH_CA_CERT",
                why: format!("{}: {why}", p.display()),
            };
            let pem = std::fs::read(p).map_err(|e| invalid(format!("cannot read it: {e}")))?;
            crate::service::ca_certificates(&pem)
                .map_err(|e| invalid(format!("not a PEM CA certificate bundle: {e}")))?;
        }
        Ok(())
    }

    /// True when something says where Elasticsearch is (directly or via a secret).
    pub fn has_target(&self) -> bool {
        self.elasticsearch_url.is_some()
            || self.elasticsearch_cloud_id.is_some()
            || self.elasticsearch_secret_arn.is_some()
            || self.elasticsearch_ssm_parameter.is_some()
    }

    pub fn naming(&self) -> Naming {
        let d = Naming::default();
        Naming {
            mode: match self.shipper_target.as_deref() {
                Some("index") => TargetMode::Index,
                Some(_) => TargetMode::DataStream,
                None => d.mode,
            },
            dataset: self.shipper_dataset.clone().filter(|d| d != "auto"),
            namespace: self.shipper_namespace.clone().unwrap_or(d.namespace),
            index_prefix: self.shipper_index_prefix.clone().unwrap_or(d.index_prefix),
        }
    }

    pub fn limits(&self) -> Limits {
        let d = Limits::default();
        Limits {
            max_bytes: self.shipper_max_bulk_bytes.unwrap_or(d.max_bytes),
            max_docs: self.shipper_max_bulk_docs.unwrap_or(d.max_docs),
            first_docs: self.shipper_first_bulk_docs.unwrap_or(d.first_docs),
        }
    }

    pub fn gzip(&self) -> bool {
        self.shipper_gzip.unwrap_or(true)
    }

    pub fn deadline_margin(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.shipper_deadline_margin_ms.unwrap_or(2_000))
    }

    pub fn max_retry(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.shipper_max_retry_ms.unwrap_or(60_000))
    }

    pub fn request_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.elasticsearch_timeout_ms.unwrap_or(30_000))
    }

    pub fn health_docs(&self) -> bool {
        self.shipper_health_docs.unwrap_or(true)
    }
}

impl Config {
    /// The numbers, names and URLs that are well-formed but would still break delivery:
    /// a zero timeout (every request times out at once), an index prefix Elasticsearch
    /// refuses as an index name, credentials given twice or in the wrong form, and so on.
    fn validate_values(&self) -> Result<(), ConfigError> {
        let invalid = |var: &'static str, why: &str| {
            Err(ConfigError::Invalid {
                var,
                why: why.to_owned(),
            })
        };
        if self.elasticsearch_url.is_some() && self.elasticsearch_cloud_id.is_some() {
            return invalid(
                "ELASTICSEARCH_CLOUD_ID",
                "set either ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, not both",
            );
        }
        if let Some(u) = &self.elasticsearch_url
            && let Err(why) = check_url(u)
        {
            return invalid("ELASTICSEARCH_URL", &why);
        }
        if let Some(u) = &self.kibana_url
            && let Err(why) = check_url(u)
        {
            return invalid("KIBANA_URL", &why);
        }
        if self.elasticsearch_api_key.is_some() && self.elasticsearch_username.is_some() {
            return invalid(
                "ELASTICSEARCH_API_KEY",
                "set either ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME/PASSWORD, not both",
            );
        }
        if let Some(k) = &self.elasticsearch_api_key {
            // Never quoted: it is a secret.
            if k.contains(':') {
                return invalid(
                    "ELASTICSEARCH_API_KEY",
                    "looks like `id:api_key`; give the encoded form (base64 of `id:api_key`, as Kibana shows it)",
                );
            }
            if k.chars().any(char::is_whitespace) {
                return invalid(
                    "ELASTICSEARCH_API_KEY",
                    "contains whitespace; give the encoded key alone, without `ApiKey ` before it",
                );
            }
        }
        match self.elasticsearch_timeout_ms {
            Some(0) => {
                return invalid(
                    "ELASTICSEARCH_TIMEOUT_MS",
                    "must be > 0 (0 would time out every request at once)",
                );
            }
            Some(t) if t > 900_000 => {
                return invalid(
                    "ELASTICSEARCH_TIMEOUT_MS",
                    "must be at most 900000 (15 minutes, a Lambda's longest run)",
                );
            }
            _ => {}
        }
        if self.shipper_deadline_margin_ms.is_some_and(|m| m > 900_000) {
            return invalid(
                "SHIPPER_DEADLINE_MARGIN_MS",
                "must be at most 900000 (15 minutes, a Lambda's longest run)",
            );
        }
        if self.shipper_max_retry_ms == Some(0) {
            return invalid("SHIPPER_MAX_RETRY_MS", "must be > 0");
        }
        // `http.max_content_length` can't exceed 2 GB: a bigger body is always a 413.
        if self
            .shipper_max_bulk_bytes
            .is_some_and(|b| b > i32::MAX as usize)
        {
            return invalid(
                "SHIPPER_MAX_BULK_BYTES",
                "must be at most 2147483647 (Elasticsearch refuses larger bodies)",
            );
        }
        if self.shipper_ilm_delete_after_days == Some(0) {
            return invalid("SHIPPER_ILM_DELETE_AFTER_DAYS", "must be at least 1");
        }
        if let Some(p) = &self.shipper_index_prefix
            && let Err(why) = check_index_prefix(p)
        {
            return invalid("SHIPPER_INDEX_PREFIX", &why);
        }
        Ok(())
    }
}

/// An `http://` or `https://` URL with a host.
fn check_url(u: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(u).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http:// or https:// URL, not {}://",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query string or a fragment".into());
    }
    Ok(())
}

/// What Elasticsearch accepts at the start of `<prefix>-deadletter-YYYY.MM.DD`
/// (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create:
/// lower case; no `\ / * ? " < > | , # :` or space; not starting with `-`, `_`, `+`; at most 255
/// bytes in all).
fn check_index_prefix(p: &str) -> Result<(), String> {
    if p.to_lowercase() != p {
        return Err("must be lower case (index names are)".into());
    }
    if let Some(c) = p.chars().find(|c| r#"\/*?"<>|,#: "#.contains(*c)) {
        return Err(format!(
            "must not contain `{c}` (not allowed in index names)"
        ));
    }
    if p.starts_with(['-', '_', '+', '.']) {
        return Err("must not start with `-`, `_`, `+` or `.`".into());
    }
    if p.len() > 200 {
        return Err("must be at most 200 bytes (index names are at most 255)".into());
    }
    Ok(())
}

#[cfg(test)]
mod transport_tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn sigv4_takes_service_and_region_from_the_endpoint_host_unless_set() {
        let c = cfg(&[
            ("SHIPPER_AUTH", "sigv4"),
            (
                "ELASTICSEARCH_URL",
                "https://search-logs-7x2k.eu-west-1.es.amazonaws.com",
            ),
            ("AWS_REGION", "ap-northeast-2"),
        ])
        .unwrap();
        assert_eq!(c.auth_mode(), AuthMode::SigV4);
        let url = c.elasticsearch_url.as_deref();
        assert_eq!(
            c.sigv4_target(url).unwrap(),
            (SigV4Service::Es, "eu-west-1".to_owned())
        );
        let aoss = "https://0a1b2c3d4e.us-east-1.aoss.amazonaws.com";
        assert_eq!(
            c.sigv4_target(Some(aoss)).unwrap(),
            (SigV4Service::Aoss, "us-east-1".to_owned())
        );
        // A custom endpoint names neither: the service must be given, the region comes from
        // AWS_REGION; explicit settings always win.
        let custom = "https://logs.example.com";
        let e = c.sigv4_target(Some(custom)).unwrap_err().to_string();
        assert!(e.starts_with("SHIPPER_SIGV4_SERVICE: required"), "{e}");
        let c = cfg(&[
            ("SHIPPER_AUTH", "sigv4"),
            ("SHIPPER_SIGV4_SERVICE", "aoss"),
            ("AWS_REGION", "ap-northeast-2"),
        ])
        .unwrap();
        assert_eq!(
            c.sigv4_target(Some(custom)).unwrap(),
            (SigV4Service::Aoss, "ap-northeast-2".to_owned())
        );
        let c = cfg(&[
            ("SHIPPER_AUTH", "sigv4"),
            ("SHIPPER_SIGV4_SERVICE", "es"),
            ("SHIPPER_SIGV4_REGION", "us-west-2"),
        ])
        .unwrap();
        assert_eq!(
            c.sigv4_target(url).unwrap(),
            (SigV4Service::Es, "us-west-2".to_owned())
        );
        let c = cfg(&[("SHIPPER_AUTH", "sigv4"), ("SHIPPER_SIGV4_SERVICE", "es")]).unwrap();
        let e = c.sigv4_target(Some(custom)).unwrap_err().to_string();
        assert!(e.starts_with("SHIPPER_SIGV4_REGION: required"), "{e}");
    }

    #[test]
    fn bad_signing_settings_stop_the_start_naming_the_variable() {
        for (vars, var) in [
            (vec![("SHIPPER_AUTH", "iam")], "SHIPPER_AUTH"),
            (
                vec![
                    ("SHIPPER_AUTH", "sigv4"),
                    ("SHIPPER_SIGV4_SERVICE", "opensearch"),
                ],
                "SHIPPER_SIGV4_SERVICE",
            ),
            (
                vec![
                    ("SHIPPER_AUTH", "sigv4"),
                    ("SHIPPER_SIGV4_SERVICE", "es"),
                    ("SHIPPER_SIGV4_REGION", "Seoul"),
                ],
                "SHIPPER_SIGV4_REGION",
            ),
            (
                vec![
                    ("SHIPPER_AUTH", "sigv4"),
                    ("ELASTICSEARCH_URL", "https://logs.example.com"),
                    ("AWS_REGION", "us-east-1"),
                ],
                "SHIPPER_SIGV4_SERVICE",
            ),
            (
                vec![
                    ("SHIPPER_AUTH", "sigv4"),
                    ("ELASTICSEARCH_URL", "https://a.us-east-1.es.amazonaws.com"),
                    ("ELASTICSEARCH_API_KEY", "a2V5"),
                ],
                "SHIPPER_AUTH",
            ),
        ] {
            let e = cfg(&vars).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{var}: ")), "{vars:?}: {e}");
        }
    }

    #[test]
    fn proxies_are_validated_and_the_upper_case_variable_wins() {
        let c = cfg(&[
            ("HTTPS_PROXY", "http://proxy.internal:3128"),
            ("https_proxy", "http://other:1"),
            ("no_proxy", "localhost,.internal"),
        ])
        .unwrap();
        assert_eq!(
            c.proxies(),
            Proxies {
                https: Some("http://proxy.internal:3128".into()),
                http: None,
                no_proxy: Some("localhost,.internal".into()),
            }
        );
        // Only the lower-case one set: taken.
        let c = cfg(&[("http_proxy", "http://proxy.internal:3128")]).unwrap();
        assert_eq!(
            c.proxies().http.as_deref(),
            Some("http://proxy.internal:3128")
        );
        for (var, bad) in [
            ("HTTPS_PROXY", "proxy.internal:3128"),
            ("HTTP_PROXY", "ftp://p"),
        ] {
            let e = cfg(&[(var, bad)]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("{var}: ")), "{e}");
        }
    }

    #[test]
    fn a_proxy_password_never_shows_in_debug_output() {
        let c = cfg(&[("HTTPS_PROXY", "http://shipper:hunter2@proxy.internal:3128")]).unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("<redacted>@proxy.internal:3128"), "{s}");
    }

    #[test]
    fn certificate_fingerprints_are_read_as_openssl_prints_them() {
        let hex = "5E:88:48:98:DA:28:04:71:51:D0:E5:6F:8D:C6:29:27:73:60:3D:0D:6A:AB:BD:D6:2A:11:EF:72:1D:15:42:D8";
        let plain = hex.replace(':', "").to_lowercase();
        let c = cfg(&[(
            "ELASTICSEARCH_CERT_FINGERPRINT",
            &format!("sha256 Fingerprint={hex}, {plain}"),
        )])
        .unwrap();
        let fps = c.cert_fingerprints();
        assert_eq!(fps.len(), 2);
        assert_eq!(fps[0], fps[1]);
        assert_eq!(fps[0][0], 0x5E);
        assert_eq!(fps[0][31], 0xD8);
        for bad in ["5E:88", "zz", ","] {
            let e = cfg(&[("ELASTICSEARCH_CERT_FINGERPRINT", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("ELASTICSEARCH_CERT_FINGERPRINT: "),
                "{bad}: {e}"
            );
        }
    }
}

/// envy matches names case-insensitively, so `HTTPS_PROXY` and `https_proxy` both set would be
/// a duplicate field: the upper-case one wins, as in curl and reqwest.
fn lower_case_duplicates_dropped(
    vars: impl Iterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    let vars: Vec<(String, String)> = vars.collect();
    let upper: std::collections::HashSet<String> = vars
        .iter()
        .filter(|(k, _)| *k == k.to_ascii_uppercase())
        .map(|(k, _)| k.clone())
        .collect();
    vars.into_iter()
        .filter(|(k, _)| *k == k.to_ascii_uppercase() || !upper.contains(&k.to_ascii_uppercase()))
        .collect()
}

// ---- features: routing, filtering, redaction, Firehose --------------------------------------

/// What the Lambda answers Firehose for a record it delivered (`SHIPPER_FIREHOSE_RESULT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirehoseResult {
    /// `Ok` with the record's data unchanged: the stream's destination keeps a raw copy.
    Ok,
    /// `Dropped`: nothing goes to the destination.
    Dropped,
}

impl Config {
    fn validate_features(&self) -> Result<(), ConfigError> {
        let sources = [
            self.shipper_routes.is_some(),
            self.shipper_routes_file.is_some(),
            self.shipper_routes_ssm_parameter.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() > 1 {
            return Err(ConfigError::Invalid {
                var: "SHIPPER_ROUTES",
                why: "set one of SHIPPER_ROUTES, SHIPPER_ROUTES_FILE and SHIPPER_ROUTES_SSM_PARAMETER"
                    .into(),
            });
        }
        // The parameter is read (and checked) when the shipper starts: it needs AWS.
        if let Some(json) = &self.shipper_routes {
            crate::route::Routes::parse(json, "SHIPPER_ROUTES").map_err(route_error)?;
        }
        if let Some(path) = &self.shipper_routes_file {
            let name = format!("SHIPPER_ROUTES_FILE ({})", path.display());
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Invalid {
                var: "SHIPPER_ROUTES_FILE",
                why: format!("{}: cannot read it: {e}", path.display()),
            })?;
            crate::route::Routes::parse(&text, &name).map_err(route_error)?;
        }
        self.redactor()?;
        self.firehose_result()?;
        Ok(())
    }

    /// Drop the shipper's own log group (`SHIPPER_LOOP_GUARD`, default on).
    pub fn loop_guard(&self) -> bool {
        self.shipper_loop_guard.unwrap_or(true)
    }

    /// The shipper's own log group, when running as a Lambda.
    pub fn own_log_group(&self) -> Option<String> {
        self.aws_lambda_log_group_name.clone().or_else(|| {
            self.aws_lambda_function_name
                .as_ref()
                .map(|f| format!("/aws/lambda/{f}"))
        })
    }

    pub fn drop_start_end(&self) -> bool {
        self.shipper_drop_start_end.unwrap_or(false)
    }

    /// What `SHIPPER_REDACT`, `SHIPPER_REDACT_KEYS` and `SHIPPER_REDACT_PATTERNS` ask for.
    pub fn redact_spec(&self) -> Result<crate::redact::Spec, ConfigError> {
        let mut spec = crate::redact::Spec {
            keys: crate::redact::DEFAULT_KEYS
                .iter()
                .map(|k| (*k).to_owned())
                .collect(),
            ..Default::default()
        };
        for item in self
            .shipper_redact
            .as_deref()
            .unwrap_or_default()
            .split(',')
        {
            match item.trim() {
                "" => {}
                "email" => spec.email = true,
                "ip" => spec.ip = true,
                "keys" => spec.mask_keys = true,
                other => {
                    return Err(ConfigError::Invalid {
                        var: "SHIPPER_REDACT",
                        why: format!("`{other}` is none of `email`, `ip`, `keys`"),
                    });
                }
            }
        }
        if let Some(keys) = &self.shipper_redact_keys {
            spec.keys = keys
                .split(',')
                .map(|k| k.trim().to_owned())
                .filter(|k| !k.is_empty())
                .collect();
            if spec.keys.is_empty() {
                return Err(ConfigError::Invalid {
                    var: "SHIPPER_REDACT_KEYS",
                    why: "no key names".into(),
                });
            }
        }
        if let Some(p) = &self.shipper_redact_patterns {
            spec.patterns =
                serde_json::from_str::<Vec<String>>(p).map_err(|e| ConfigError::Invalid {
                    var: "SHIPPER_REDACT_PATTERNS",
                    why: format!("a JSON array of regular expressions: {e}"),
                })?;
        }
        Ok(spec)
    }

    /// The compiled redaction; `None` when nothing is redacted.
    pub fn redactor(&self) -> Result<Option<crate::redact::Redactor>, ConfigError> {
        crate::redact::Redactor::new(&self.redact_spec()?).map_err(|why| ConfigError::Invalid {
            var: "SHIPPER_REDACT_PATTERNS",
            why,
        })
    }

    pub fn firehose_result(&self) -> Result<FirehoseResult, ConfigError> {
        match self.shipper_firehose_result.as_deref() {
            None | Some("ok") => Ok(FirehoseResult::Ok),
            Some("dropped") => Ok(FirehoseResult::Dropped),
            Some(other) => Err(ConfigError::Invalid {
                var: "SHIPPER_FIREHOSE_RESULT",
                why: format!("`{other}` is neither `ok` nor `dropped`"),
            }),
        }
    }
}

fn route_error(e: crate::route::RouteError) -> ConfigError {
    ConfigError::Routes(e.to_string())
}

pub(crate) fn valid_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 100
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_')
}

/// envy names the field in lower case; users know the variable in upper case.
fn env_error(e: envy::Error) -> String {
    match e {
        envy::Error::MissingValue(f) => format!("{} is required", f.to_ascii_uppercase()),
        envy::Error::Custom(m) => {
            // e.g. "provided string was not `true` or `false` while parsing value \"x\" provided by SHIPPER_GZIP"
            let var = m
                .rsplit("provided by ")
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            if var.is_empty() || var.len() == m.len() {
                m
            } else {
                format!("{var}: {m}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn the_first_request_size_is_a_setting_issue_15() {
        let c = cfg(&[
            ("ELASTICSEARCH_URL", "http://localhost:9200"),
            ("SHIPPER_FIRST_BULK_DOCS", "1000"),
        ])
        .unwrap();
        assert_eq!(c.limits().first_docs, 1000);
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let c = cfg(&[("ELASTICSEARCH_URL", "http://localhost:9200")]).unwrap();
        assert_eq!(c.limits().max_bytes, 10 * 1024 * 1024);
        assert_eq!(c.limits().max_docs, 5000);
        assert_eq!(c.limits().first_docs, 500);
        assert!(c.gzip());
        assert_eq!(c.naming().namespace, "default");
        assert_eq!(c.naming().dataset, None);
        assert!(c.has_target());
    }

    #[test]
    fn a_bad_value_names_its_variable() {
        let e = cfg(&[("SHIPPER_GZIP", "maybe")]).unwrap_err().to_string();
        assert!(e.contains("SHIPPER_GZIP"), "{e}");
        let e = cfg(&[("SHIPPER_MAX_BULK_BYTES", "ten")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SHIPPER_MAX_BULK_BYTES"), "{e}");
        let e = cfg(&[("SHIPPER_NAMESPACE", "Prod-1")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("SHIPPER_NAMESPACE"), "{e}");
        let e = cfg(&[("ELASTICSEARCH_URL", "localhost:9200")])
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ELASTICSEARCH_URL"), "{e}");
        let e = cfg(&[("SHIPPER_TARGET", "stream")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("SHIPPER_TARGET"), "{e}");
        let e = cfg(&[("ELASTICSEARCH_USERNAME", "elastic")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ELASTICSEARCH_PASSWORD"), "{e}");
    }

    #[test]
    fn a_malformed_cloud_id_stops_the_start_naming_elasticsearch_cloud_id() {
        // host$es_uuid$kibana_uuid, base64, after the deployment name.
        let good = "vocab-logs:ZXMuZXhhbXBsZS5jb206OTI0MyRhYmMxMjMkZGVmNDU2";
        let c = cfg(&[("ELASTICSEARCH_CLOUD_ID", good)]).unwrap();
        assert!(c.has_target());
        // Pasted without its name, an API key by mistake, a URL, base64 of a bare host.
        for bad in [
            "ZXMuZXhhbXBsZS5jb206OTI0MyRhYmMxMjMkZGVmNDU2",
            "vocab-logs:VnVNeDJJWUI6c2VjcmV0LWtleQ==",
            "https://es.example.com:9243",
            "vocab-logs:ZXMuZXhhbXBsZS5jb20=",
        ] {
            let e = cfg(&[("ELASTICSEARCH_CLOUD_ID", bad)])
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with("ELASTICSEARCH_CLOUD_ID: not an Elastic Cloud id"),
                "{bad}: {e}"
            );
            let data = bad.split_once(':').map_or(bad, |(_, d)| d);
            assert!(!e.contains(data), "the id is quoted: {e}");
        }
    }

    #[test]
    fn every_setting_is_validated_at_start_naming_its_variable_issue_10() {
        for (vars, var, why) in [
            (
                &[("ELASTICSEARCH_TIMEOUT_MS", "0")][..],
                "ELASTICSEARCH_TIMEOUT_MS",
                "> 0",
            ),
            (
                &[("ELASTICSEARCH_TIMEOUT_MS", "3600000")],
                "ELASTICSEARCH_TIMEOUT_MS",
                "900000",
            ),
            (
                &[("SHIPPER_INDEX_PREFIX", "Logs")],
                "SHIPPER_INDEX_PREFIX",
                "lower case",
            ),
            (
                &[("SHIPPER_INDEX_PREFIX", "logs/app")],
                "SHIPPER_INDEX_PREFIX",
                "`/`",
            ),
            (
                &[("SHIPPER_INDEX_PREFIX", "my logs")],
                "SHIPPER_INDEX_PREFIX",
                "` `",
            ),
            (
                &[("SHIPPER_INDEX_PREFIX", "_logs")],
                "SHIPPER_INDEX_PREFIX",
                "start",
            ),
            (
                &[("SHIPPER_MAX_RETRY_MS", "0")],
                "SHIPPER_MAX_RETRY_MS",
                "> 0",
            ),
            (
                &[("SHIPPER_FIRST_BULK_DOCS", "0")],
                "SHIPPER_FIRST_BULK_DOCS",
                "> 0",
            ),
            (
                &[("SHIPPER_DEADLINE_MARGIN_MS", "1000000")],
                "SHIPPER_DEADLINE_MARGIN_MS",
                "900000",
            ),
            (
                &[("SHIPPER_MAX_BULK_BYTES", "3000000000")],
                "SHIPPER_MAX_BULK_BYTES",
                "2147483647",
            ),
            (
                &[("SHIPPER_ILM_DELETE_AFTER_DAYS", "0")],
                "SHIPPER_ILM_DELETE_AFTER_DAYS",
                "at least 1",
            ),
            (&[("ELASTICSEARCH_URL", "http://")], "ELASTICSEARCH_URL", ""),
            (
                &[("ELASTICSEARCH_URL", "ftp://es:9200")],
                "ELASTICSEARCH_URL",
                "ftp",
            ),
            (
                &[("ELASTICSEARCH_URL", "https://es:9200/?x=1")],
                "ELASTICSEARCH_URL",
                "query",
            ),
            (&[("KIBANA_URL", "localhost:5601")], "KIBANA_URL", ""),
            (
                &[
                    ("ELASTICSEARCH_URL", "https://es:9200"),
                    (
                        "ELASTICSEARCH_CLOUD_ID",
                        "vocab-logs:ZXMuZXhhbXBsZS5jb206OTI0MyRhYmMxMjMkZGVmNDU2",
                    ),
                ],
                "ELASTICSEARCH_CLOUD_ID",
                "not both",
            ),
            (
                &[
                    ("ELASTICSEARCH_API_KEY", "a2V5"),
                    ("ELASTICSEARCH_USERNAME", "u"),
                    ("ELASTICSEARCH_PASSWORD", "p"),
                ],
                "ELASTICSEARCH_API_KEY",
                "not both",
            ),
            (
                &[("ELASTICSEARCH_API_KEY", "VuaCfGcB:ui2lp2ax")],
                "ELASTICSEARCH_API_KEY",
                "encoded",
            ),
            (
                &[("ELASTICSEARCH_API_KEY", "ApiKey a2V5")],
                "ELASTICSEARCH_API_KEY",
                "whitespace",
            ),
        ] {
            let e = cfg(vars).unwrap_err().to_string();
            assert!(e.starts_with(var), "{vars:?}: {e}");
            assert!(e.contains(why), "{vars:?}: {e}");
            assert!(!e.contains("ui2lp2ax"), "a secret is quoted: {e}");
        }
        // Good values pass.
        let c = cfg(&[
            ("ELASTICSEARCH_URL", "https://es.example.com:9243/proxy"),
            ("ELASTICSEARCH_TIMEOUT_MS", "5000"),
            ("SHIPPER_INDEX_PREFIX", "vocab-logs.v2"),
            ("KIBANA_URL", "http://localhost:5601"),
            (
                "ELASTICSEARCH_API_KEY",
                "VnVhQ2ZHY0JDZGJrUW0tZTVhT3g6dWkybHAyYXhUTm1zeWFrdzl0dk5udw==",
            ),
        ])
        .unwrap();
        assert_eq!(c.request_timeout(), std::time::Duration::from_secs(5));
    }

    #[test]
    fn debug_output_never_shows_secrets() {
        let key = cfg(&[("ELASTICSEARCH_API_KEY", "c2VjcmV0OmtleQ==")]).unwrap();
        let basic = cfg(&[
            ("ELASTICSEARCH_USERNAME", "u"),
            ("ELASTICSEARCH_PASSWORD", "hunter2"),
        ])
        .unwrap();
        let s = format!("{key:?} {basic:?}");
        assert!(
            !s.contains("c2VjcmV0OmtleQ==") && !s.contains("hunter2"),
            "{s}"
        );
    }
}

#[cfg(test)]
mod feature_tests {
    use super::*;

    fn cfg(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn features_are_off_unless_asked_for() {
        let c = cfg(&[]).unwrap();
        assert!(c.loop_guard());
        assert!(!c.drop_start_end());
        assert!(c.redactor().unwrap().is_none());
        assert_eq!(c.firehose_result().unwrap(), FirehoseResult::Ok);
        assert_eq!(c.own_log_group(), None);
    }

    #[test]
    fn the_own_log_group_is_lambdas_setting_or_follows_the_function_name() {
        let c = cfg(&[("AWS_LAMBDA_FUNCTION_NAME", "cloudwatch-shipper")]).unwrap();
        assert_eq!(
            c.own_log_group().as_deref(),
            Some("/aws/lambda/cloudwatch-shipper")
        );
        let c = cfg(&[
            ("AWS_LAMBDA_FUNCTION_NAME", "cloudwatch-shipper"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/custom/shipper"),
        ])
        .unwrap();
        assert_eq!(c.own_log_group().as_deref(), Some("/custom/shipper"));
    }

    #[test]
    fn redaction_settings_are_read_and_checked_naming_the_variable() {
        let c = cfg(&[
            ("SHIPPER_REDACT", "email, keys"),
            ("SHIPPER_REDACT_KEYS", "passwd,api_key"),
            ("SHIPPER_REDACT_PATTERNS", r#"["\\bACCT-[0-9]{6}\\b"]"#),
        ])
        .unwrap();
        let spec = c.redact_spec().unwrap();
        assert!(spec.email && spec.mask_keys && !spec.ip);
        assert_eq!(spec.keys, ["passwd", "api_key"]);
        let r = c.redactor().unwrap().unwrap();
        assert_eq!(
            r.text("ACCT-123456 of a@b.io"),
            "[REDACTED] of [REDACTED:email]"
        );
        for (vars, var) in [
            (&[("SHIPPER_REDACT", "emails")][..], "SHIPPER_REDACT:"),
            (
                &[("SHIPPER_REDACT_PATTERNS", "[\"(\"]")][..],
                "SHIPPER_REDACT_PATTERNS:",
            ),
            (
                &[("SHIPPER_REDACT_PATTERNS", "ACCT")][..],
                "SHIPPER_REDACT_PATTERNS:",
            ),
            (
                &[("SHIPPER_REDACT_KEYS", " , ")][..],
                "SHIPPER_REDACT_KEYS:",
            ),
            (
                &[("SHIPPER_FIREHOSE_RESULT", "drop")][..],
                "SHIPPER_FIREHOSE_RESULT:",
            ),
            (
                &[("SHIPPER_DROP_START_END", "yes")][..],
                "SHIPPER_DROP_START_END",
            ),
        ] {
            let e = cfg(vars).unwrap_err().to_string();
            assert!(e.starts_with(var), "{vars:?}: {e}");
        }
    }

    #[test]
    fn routes_are_checked_at_start_from_the_variable_or_the_file() {
        let e = cfg(&[("SHIPPER_ROUTES", r#"[{"log_group":"*","dataset":"Bad"}]"#)])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("SHIPPER_ROUTES: rule 1: dataset `Bad`"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("shipper-routes-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("routes.json");
        std::fs::write(
            &file,
            r#"[{"name":"waf","log_group":"aws-waf-logs-*","pipeline":""}]"#,
        )
        .unwrap();
        let e = cfg(&[("SHIPPER_ROUTES_FILE", file.to_str().unwrap())])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("SHIPPER_ROUTES_FILE (") && e.contains(r#"rule 1 ("waf"): pipeline"#),
            "{e}"
        );
        std::fs::write(
            &file,
            r#"[{"log_group":"aws-waf-logs-*","dataset":"aws.waf"}]"#,
        )
        .unwrap();
        assert!(cfg(&[("SHIPPER_ROUTES_FILE", file.to_str().unwrap())]).is_ok());
        let e = cfg(&[("SHIPPER_ROUTES_FILE", "/nonexistent/routes.json")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("SHIPPER_ROUTES_FILE: /nonexistent/routes.json: cannot read it"),
            "{e}"
        );
        let e = cfg(&[
            ("SHIPPER_ROUTES", "[]"),
            ("SHIPPER_ROUTES_SSM_PARAMETER", "/shipper/routes"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("set one of"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
