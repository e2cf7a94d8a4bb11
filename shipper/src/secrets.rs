//! Connection settings, completed from AWS Secrets Manager or SSM Parameter Store when named.
//!
//! The secret (or SecureString parameter) is JSON with any of `url`, `cloud_id`, `api_key`,
//! `username`, `password`. Values set directly in the environment win, so an operator can
//! override one piece without editing the secret. Nothing here is ever logged.

use serde::Deserialize;

use crate::config::Config;
use crate::service::Connection;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("ELASTICSEARCH_SECRET_ARN: reading the secret failed: {0}")]
    SecretsManager(String),
    #[error("ELASTICSEARCH_SSM_PARAMETER: reading the parameter failed: {0}")]
    Ssm(String),
    #[error("{var}: the value is not JSON with url/cloud_id/api_key/username/password: {why}")]
    Format { var: &'static str, why: String },
    #[error("ELASTICSEARCH_CA_CERT: {0}")]
    CaCert(std::io::Error),
    #[error(
        "no Elasticsearch to send to: set ELASTICSEARCH_URL or ELASTICSEARCH_CLOUD_ID, or put `url` in the secret"
    )]
    NoTarget,
    #[error("{0}")]
    Setting(#[from] crate::config::ConfigError),
    #[error("SHIPPER_AUTH=sigv4: {0}")]
    Credentials(String),
}

#[derive(Debug, Default, Deserialize)]
struct SecretDoc {
    url: Option<String>,
    cloud_id: Option<String>,
    api_key: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

/// Parses a secret's JSON (tests and the SDK path share this).
fn parse_secret(var: &'static str, s: &str) -> Result<SecretDoc, SecretError> {
    serde_json::from_str(s).map_err(|e| SecretError::Format {
        var,
        why: e.to_string(),
    })
}

fn merge(c: &mut Connection, d: SecretDoc) {
    c.url = c.url.take().or(d.url);
    c.cloud_id = c.cloud_id.take().or(d.cloud_id);
    c.api_key = c.api_key.take().or(d.api_key);
    if c.username.is_none() && c.password.is_none() {
        c.username = d.username;
        c.password = d.password;
    }
}

/// The connection from the environment alone (no AWS calls).
pub fn connection_from_env(cfg: &Config) -> Result<Connection, SecretError> {
    let ca_cert_pem = match &cfg.elasticsearch_ca_cert {
        Some(p) => Some(std::fs::read(p).map_err(SecretError::CaCert)?),
        None => None,
    };
    Ok(Connection {
        url: cfg.elasticsearch_url.clone(),
        cloud_id: cfg.elasticsearch_cloud_id.clone(),
        api_key: cfg.elasticsearch_api_key.clone(),
        username: cfg.elasticsearch_username.clone(),
        password: cfg.elasticsearch_password.clone(),
        ca_cert_pem,
        timeout: Some(cfg.request_timeout()),
        signer: None,
        proxies: cfg.proxies(),
        cert_fingerprints: cfg.cert_fingerprints(),
    })
}

/// The AWS settings (region, endpoints, the standard credential chain) from `aws-config`, with
/// its HTTP client (used by the credential providers: SSO, STS, container, IMDS) on rustls +
/// ring, the TLS stack reqwest uses (its default client would bring aws-lc as a second one).
pub async fn aws_sdk_config() -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await
}

/// The full connection: environment, then the secret and/or parameter when named.
/// `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM`) points
/// these calls elsewhere, e.g. at an emulator in tests ([`crate::aws_api::endpoint`]).
pub async fn resolve(cfg: &Config) -> Result<Connection, SecretError> {
    let mut c = connection_from_env(cfg)?;
    let sigv4 = cfg.auth_mode() == crate::config::AuthMode::SigV4;
    let secrets =
        cfg.elasticsearch_secret_arn.is_some() || cfg.elasticsearch_ssm_parameter.is_some();
    let aws = if sigv4 || secrets {
        Some(aws_sdk_config().await)
    } else {
        None
    };
    if let Some(aws) = aws.as_ref().filter(|_| secrets) {
        let api = crate::aws_api::AwsApi::new(aws.clone())
            .map_err(|e| SecretError::SecretsManager(e.to_string()))?;
        if let Some(arn) = &cfg.elasticsearch_secret_arn {
            let s = api
                .get_secret_string(arn)
                .await
                .map_err(|e| SecretError::SecretsManager(e.to_string()))?
                .ok_or_else(|| SecretError::Format {
                    var: "ELASTICSEARCH_SECRET_ARN",
                    why: "the secret has no string value".into(),
                })?;
            merge(&mut c, parse_secret("ELASTICSEARCH_SECRET_ARN", &s)?);
        }
        if let Some(name) = &cfg.elasticsearch_ssm_parameter {
            let v = api
                .get_parameter(name)
                .await
                .map_err(|e| SecretError::Ssm(e.to_string()))?;
            merge(&mut c, parse_secret("ELASTICSEARCH_SSM_PARAMETER", &v)?);
        }
    }
    if c.url.is_none() && c.cloud_id.is_none() {
        return Err(SecretError::NoTarget);
    }
    if let Some(aws) = aws.as_ref().filter(|_| sigv4) {
        // The URL may have come from the secret: service and region are settled only now.
        let (service, region) = cfg.sigv4_target(c.url.as_deref())?;
        // A key from the secret would be sent beside the signature: refuse it, as config
        // refuses one from the environment.
        if c.api_key.is_some() || c.username.is_some() {
            return Err(crate::config::ConfigError::Invalid {
                var: "SHIPPER_AUTH",
                why: "sigv4 signs requests with AWS credentials: remove api_key / username from the secret".into(),
            }
            .into());
        }
        let credentials = aws.credentials_provider().ok_or_else(|| {
            SecretError::Credentials("the AWS SDK configured no credential provider".into())
        })?;
        let signer = crate::sigv4::SigV4Signer::new(service, region, credentials);
        // Fail the start, not every request, when the chain finds no credentials at all.
        signer.credentials().await.map_err(|e| match e {
            crate::service::TransportError::Signing(why) => SecretError::Credentials(why),
            other => SecretError::Credentials(other.to_string()),
        })?;
        c.signer = Some(std::sync::Arc::new(signer));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_values_win_over_the_secret() {
        let mut c = Connection {
            api_key: Some("env-key".into()),
            ..Connection::default()
        };
        merge(
            &mut c,
            parse_secret("X", r#"{"url":"https://es:9200","api_key":"secret-key"}"#).unwrap(),
        );
        assert_eq!(c.url.as_deref(), Some("https://es:9200"));
        assert_eq!(c.api_key.as_deref(), Some("env-key"));
    }

    #[test]
    fn a_malformed_secret_names_its_variable_without_echoing_it() {
        let e = parse_secret("ELASTICSEARCH_SECRET_ARN", "hunter2")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("ELASTICSEARCH_SECRET_ARN"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
