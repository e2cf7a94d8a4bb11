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
        let vars = vars.into_iter().filter(|(_, v)| !v.is_empty());
        let c: Config = envy::from_iter(vars).map_err(|e| ConfigError::Env(env_error(e)))?;
        c.validate()?;
        Ok(c)
    }

    fn validate(&self) -> Result<(), ConfigError> {
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

fn valid_name_part(s: &str) -> bool {
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
    fn defaults_apply_when_nothing_is_set() {
        let c = cfg(&[("ELASTICSEARCH_URL", "http://localhost:9200")]).unwrap();
        assert_eq!(c.limits().max_bytes, 10 * 1024 * 1024);
        assert_eq!(c.limits().max_docs, 5000);
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
