//! The two AWS API calls the shipper makes at start: Secrets Manager `GetSecretValue` and SSM
//! `GetParameter` (with decryption), as plain AWS JSON 1.1 requests over reqwest.
//!
//! Both services speak the AWS JSON 1.1 protocol: `POST /`, `Content-Type:
//! application/x-amz-json-1.1`, the operation in `X-Amz-Target`, a JSON body, SigV4-signed
//! (https://smithy.io/2.0/aws/protocols/aws-json-1_1-protocol.html). Calling them directly
//! instead of through `aws-sdk-secretsmanager` / `aws-sdk-ssm` takes those two crates — about
//! half of a cold release build's CPU time — out of the build, with the same TLS stack as the
//! cluster's client. Credentials, region and endpoint settings still come from `aws-config`, so
//! profiles, SSO, container and instance credentials keep working.
//!
//! The endpoint is resolved as the SDKs do
//! (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): the
//! service-specific `AWS_ENDPOINT_URL_SECRETS_MANAGER` / `AWS_ENDPOINT_URL_SSM` (or
//! `endpoint_url` in the profile's `services` section), then `AWS_ENDPOINT_URL` (or the
//! profile's `endpoint_url`), else the regional endpoint. Secret values are never logged and
//! never part of an error.

use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::PayloadChecksumKind;
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::service::error_chain;

/// One AWS JSON 1.1 service: its names in settings, signatures, hosts and targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// The SDK service id: `AWS_ENDPOINT_URL_<ID>` and the profile's `services` key derive
    /// from it.
    pub service_id: &'static str,
    /// The SigV4 signing name and the endpoint's host prefix.
    pub signing_name: &'static str,
    /// The `X-Amz-Target` prefix (the Smithy service shape's name).
    pub target_prefix: &'static str,
}

pub const SECRETS_MANAGER: Service = Service {
    service_id: "Secrets Manager",
    signing_name: "secretsmanager",
    target_prefix: "secretsmanager",
};

pub const SSM: Service = Service {
    service_id: "SSM",
    signing_name: "ssm",
    target_prefix: "AmazonSSM",
};

/// Why a call failed, in a few words an operator can act on.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AwsError {
    #[error("no AWS region: set AWS_REGION (or `region` in the AWS profile)")]
    NoRegion,
    #[error("no AWS credentials: {0}")]
    NoCredentials(String),
    #[error("the endpoint `{url}` is not a URL: {why}")]
    Endpoint { url: String, why: String },
    #[error("not found ({code}): check the name/ARN and the region ({region})")]
    NotFound { code: String, region: String },
    #[error("access denied ({code}): {message}")]
    AccessDenied { code: String, message: String },
    #[error(
        "the AWS credentials were refused ({code}): they are wrong, expired or for another partition; sign in again or check AWS_PROFILE / AWS_ACCESS_KEY_ID"
    )]
    BadCredentials { code: String },
    #[error("throttled by AWS ({code}) after {attempts} attempts")]
    Throttled { code: String, attempts: u32 },
    #[error("AWS answered HTTP {status} ({code}): {message}")]
    Service {
        status: u16,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Transport(String),
    #[error("unexpected answer: {0}")]
    Response(String),
}

impl AwsError {
    /// Worth another attempt: throttling, a server-side fault, or the network.
    fn is_retryable(&self) -> bool {
        match self {
            AwsError::Throttled { .. } | AwsError::Transport(_) => true,
            AwsError::Service { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// The longest AWS message kept in an error (they name ARNs and principals, never values).
const MAX_MESSAGE: usize = 300;

/// Attempts per call, as the SDK's standard retry mode.
const ATTEMPTS: u32 = 3;

/// Maps an AWS JSON error answer to an [`AwsError`]. The code comes from the
/// `X-Amzn-ErrorType` header or the body's `__type`, with any `namespace#` prefix and `:…`
/// suffix removed, as the protocol specifies.
pub fn error_from_answer(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
    region: &str,
) -> AwsError {
    #[derive(Deserialize, Default)]
    struct ErrorBody {
        #[serde(rename = "__type")]
        kind: Option<String>,
        #[serde(alias = "Message", alias = "errorMessage")]
        message: Option<String>,
    }
    let parsed: ErrorBody = serde_json::from_slice(body).unwrap_or_default();
    let raw = error_type_header
        .map(str::to_owned)
        .or(parsed.kind)
        .unwrap_or_default();
    let code = sanitize_code(&raw);
    let mut message = parsed.message.unwrap_or_default();
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    match code.as_str() {
        "ResourceNotFoundException" | "ParameterNotFound" | "ParameterVersionNotFound" => {
            AwsError::NotFound {
                code,
                region: region.to_owned(),
            }
        }
        "AccessDeniedException" | "AccessDenied" => AwsError::AccessDenied { code, message },
        "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "SignatureDoesNotMatch"
        | "ExpiredTokenException"
        | "ExpiredToken"
        | "MissingAuthenticationTokenException"
        | "IncompleteSignature" => AwsError::BadCredentials { code },
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "ProvisionedThroughputExceededException" => AwsError::Throttled { code, attempts: 1 },
        _ => AwsError::Service {
            status,
            code: if code.is_empty() {
                "no error type".into()
            } else {
                code
            },
            message: if message.is_empty() {
                "no message".into()
            } else {
                message
            },
        },
    }
}

fn sanitize_code(raw: &str) -> String {
    let s = raw.split(':').next().unwrap_or_default();
    let s = s.rsplit('#').next().unwrap_or_default();
    s.trim().to_owned()
}

/// The endpoint for `service`: the service-specific setting, then the global one, else the
/// regional AWS endpoint (`.amazonaws.com.cn` in the China regions).
pub fn endpoint(service: Service, sdk: &SdkConfig, region: &str) -> String {
    let specific = sdk.service_config().and_then(|conf| {
        let key = aws_types::service_config::ServiceConfigKey::builder()
            .service_id(service.service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .ok()?;
        conf.load_config(key)
    });
    if let Some(url) = specific.or_else(|| sdk.endpoint_url().map(str::to_owned)) {
        return url;
    }
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    format!("https://{}.{region}.{suffix}", service.signing_name)
}

/// Where a call goes: the endpoint URL and the region its signature is scoped to.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub endpoint: &'a str,
    pub region: &'a str,
}

/// Builds one signed AWS JSON 1.1 request (no I/O: tests look at it).
pub fn request(
    http: &reqwest::Client,
    service: Service,
    operation: &str,
    Target { endpoint, region }: Target<'_>,
    body: &serde_json::Value,
    creds: Credentials,
    time: SystemTime,
) -> Result<reqwest::Request, AwsError> {
    // The JSON protocols always post to the endpoint's own path (`/` for a bare host).
    let mut url = reqwest::Url::parse(endpoint).map_err(|e| AwsError::Endpoint {
        url: endpoint.to_owned(),
        why: e.to_string(),
    })?;
    if url.path().is_empty() {
        url.set_path("/");
    }
    let mut req = http
        .post(url)
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "x-amz-target",
            format!("{}.{operation}", service.target_prefix),
        )
        .body(body.to_string())
        .build()
        .map_err(|e| AwsError::Endpoint {
            url: endpoint.to_owned(),
            why: error_chain(&e),
        })?;
    crate::sigv4::sign_request(
        &mut req,
        creds,
        region,
        service.signing_name,
        time,
        PayloadChecksumKind::NoHeader,
    )
    .map_err(|e| AwsError::NoCredentials(e.to_string()))?;
    Ok(req)
}

/// A client for the start-up calls: the SDK settings (region, endpoints, credential chain)
/// and one reqwest client; credentials are fetched once and shared by both calls.
pub struct AwsApi {
    sdk: SdkConfig,
    http: reqwest::Client,
    creds: Mutex<Option<Credentials>>,
}

impl AwsApi {
    pub fn new(sdk: SdkConfig) -> Result<Self, AwsError> {
        // Direct connections, as the SDK's client made them (no proxy from the environment).
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| AwsError::Transport(error_chain(&e)))?;
        Ok(AwsApi {
            sdk,
            http,
            creds: Mutex::new(None),
        })
    }

    fn region(&self) -> Result<String, AwsError> {
        self.sdk
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or(AwsError::NoRegion)
    }

    async fn credentials(&self) -> Result<Credentials, AwsError> {
        use aws_credential_types::provider::ProvideCredentials;
        let mut cached = self.creds.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|exp| SystemTime::now() + Duration::from_secs(60) < exp)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let provider = self
            .sdk
            .credentials_provider()
            .ok_or_else(|| AwsError::NoCredentials("no credential provider configured".into()))?;
        let c = provider
            .provide_credentials()
            .await
            .map_err(|e| AwsError::NoCredentials(error_chain(&e)))?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// One call, retried on throttling, server faults and network errors with backoff.
    async fn call(
        &self,
        service: Service,
        operation: &str,
        body: serde_json::Value,
    ) -> Result<bytes::Bytes, AwsError> {
        let region = self.region()?;
        let endpoint = endpoint(service, &self.sdk, &region);
        let mut attempt = 1;
        loop {
            let creds = self.credentials().await?;
            let req = request(
                &self.http,
                service,
                operation,
                Target {
                    endpoint: &endpoint,
                    region: &region,
                },
                &body,
                creds,
                SystemTime::now(),
            )?;
            let outcome = self.send(req, &region).await;
            match outcome {
                Err(e) if e.is_retryable() && attempt < ATTEMPTS => {
                    // Full jitter on 100 ms · 2^n, as the SDK's standard retry strategy.
                    let cap = 100u64 << attempt;
                    tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=cap))).await;
                    attempt += 1;
                }
                Err(AwsError::Throttled { code, .. }) => {
                    return Err(AwsError::Throttled {
                        code,
                        attempts: attempt,
                    });
                }
                other => return other,
            }
        }
    }

    async fn send(&self, req: reqwest::Request, region: &str) -> Result<bytes::Bytes, AwsError> {
        let host = req.url().host_str().unwrap_or_default().to_owned();
        let res = self.http.execute(req).await.map_err(|e| {
            AwsError::Transport(if e.is_timeout() {
                format!("{host}: request timed out")
            } else {
                // reqwest's text names the URL.
                error_chain(&e)
            })
        })?;
        let status = res.status().as_u16();
        let error_type = res
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = res
            .bytes()
            .await
            .map_err(|e| AwsError::Transport(format!("{host}: {}", error_chain(&e))))?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(error_from_answer(
                status,
                error_type.as_deref(),
                &body,
                region,
            ))
        }
    }

    /// `GetSecretValue`: the secret's string (`None` when it holds only binary data).
    pub async fn get_secret_string(&self, secret_id: &str) -> Result<Option<String>, AwsError> {
        #[derive(Deserialize)]
        struct Out {
            #[serde(rename = "SecretString")]
            secret_string: Option<String>,
        }
        let body = self
            .call(
                SECRETS_MANAGER,
                "GetSecretValue",
                serde_json::json!({ "SecretId": secret_id }),
            )
            .await?;
        // serde_json's error names a position, never the value.
        let out: Out = serde_json::from_slice(&body)
            .map_err(|e| AwsError::Response(format!("GetSecretValue: {e}")))?;
        Ok(out.secret_string)
    }

    /// `GetParameter` with decryption (SecureString parameters come back in clear).
    pub async fn get_parameter(&self, name: &str) -> Result<String, AwsError> {
        #[derive(Deserialize)]
        struct Parameter {
            #[serde(rename = "Value")]
            value: Option<String>,
        }
        #[derive(Deserialize)]
        struct Out {
            #[serde(rename = "Parameter")]
            parameter: Option<Parameter>,
        }
        let body = self
            .call(
                SSM,
                "GetParameter",
                serde_json::json!({ "Name": name, "WithDecryption": true }),
            )
            .await?;
        let out: Out = serde_json::from_slice(&body)
            .map_err(|e| AwsError::Response(format!("GetParameter: {e}")))?;
        Ok(out.parameter.and_then(|p| p.value).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials::new("AKIDEXAMPLE", "secret", Some("tok".into()), None, "test")
    }

    #[test]
    fn a_get_secret_value_request_is_a_signed_json_post_to_the_root() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600); // 2026-01-01
        let req = request(
            &reqwest::Client::new(),
            SECRETS_MANAGER,
            "GetSecretValue",
            Target {
                endpoint: "https://secretsmanager.eu-west-1.amazonaws.com",
                region: "eu-west-1",
            },
            &serde_json::json!({"SecretId": "es"}),
            creds(),
            t,
        )
        .unwrap();
        assert_eq!(req.method(), "POST");
        assert_eq!(
            req.url().as_str(),
            "https://secretsmanager.eu-west-1.amazonaws.com/"
        );
        let h = |n: &str| req.headers()[n].to_str().unwrap().to_owned();
        assert_eq!(h("content-type"), "application/x-amz-json-1.1");
        assert_eq!(h("x-amz-target"), "secretsmanager.GetSecretValue");
        assert_eq!(h("x-amz-date"), "20260101T000000Z");
        assert_eq!(h("x-amz-security-token"), "tok");
        let auth = h("authorization");
        assert!(
            auth.starts_with(
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/secretsmanager/aws4_request, SignedHeaders="
            ),
            "{auth}"
        );
        for signed in ["content-type", "host", "x-amz-date", "x-amz-target"] {
            assert!(auth.contains(signed), "{signed} not signed: {auth}");
        }
        assert!(req.headers()["authorization"].is_sensitive());
        let body: serde_json::Value =
            serde_json::from_slice(req.body().unwrap().as_bytes().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({"SecretId": "es"}));
    }

    #[test]
    fn a_get_parameter_request_targets_amazon_ssm_and_keeps_the_endpoint_path() {
        let req = request(
            &reqwest::Client::new(),
            SSM,
            "GetParameter",
            Target {
                endpoint: "http://127.0.0.1:5000/prefix",
                region: "ap-northeast-2",
            },
            &serde_json::json!({"Name": "/p", "WithDecryption": true}),
            creds(),
            SystemTime::now(),
        )
        .unwrap();
        assert_eq!(req.url().as_str(), "http://127.0.0.1:5000/prefix");
        assert_eq!(req.headers()["x-amz-target"], "AmazonSSM.GetParameter");
        let auth = req.headers()["authorization"].to_str().unwrap().to_owned();
        assert!(auth.contains("/ap-northeast-2/ssm/aws4_request"), "{auth}");
    }

    #[test]
    fn a_bad_endpoint_is_named_in_the_error() {
        let e = request(
            &reqwest::Client::new(),
            SSM,
            "GetParameter",
            Target {
                endpoint: "not a url",
                region: "us-east-1",
            },
            &serde_json::json!({}),
            creds(),
            SystemTime::now(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("`not a url`"), "{e}");
    }

    #[derive(Debug)]
    struct Env(Vec<(&'static str, &'static str)>);
    impl aws_types::service_config::LoadServiceConfig for Env {
        fn load_config(
            &self,
            key: aws_types::service_config::ServiceConfigKey<'_>,
        ) -> Option<String> {
            // As aws-config builds the variable: `<env>_<SERVICE ID upper, spaces → _>`.
            let var = format!(
                "{}_{}",
                key.env(),
                key.service_id().to_uppercase().replace(' ', "_")
            );
            self.0
                .iter()
                .find(|(k, _)| *k == var)
                .map(|(_, v)| v.to_string())
        }
    }

    fn sdk(global: Option<&str>, env: Vec<(&'static str, &'static str)>) -> SdkConfig {
        let mut b = SdkConfig::builder().service_config(Env(env));
        if let Some(g) = global {
            b = b.endpoint_url(g);
        }
        b.build()
    }

    #[test]
    fn the_service_specific_endpoint_wins_over_the_global_one_then_the_regional_default() {
        let both = sdk(
            Some("http://global:1"),
            vec![
                ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://sm:2"),
                ("AWS_ENDPOINT_URL_SSM", "http://ssm:3"),
            ],
        );
        assert_eq!(endpoint(SECRETS_MANAGER, &both, "eu-west-1"), "http://sm:2");
        assert_eq!(endpoint(SSM, &both, "eu-west-1"), "http://ssm:3");
        let global = sdk(Some("http://global:1"), vec![]);
        assert_eq!(endpoint(SSM, &global, "eu-west-1"), "http://global:1");
        let none = sdk(None, vec![]);
        assert_eq!(
            endpoint(SECRETS_MANAGER, &none, "eu-west-1"),
            "https://secretsmanager.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            endpoint(SSM, &none, "cn-north-1"),
            "https://ssm.cn-north-1.amazonaws.com.cn"
        );
    }

    #[test]
    fn error_answers_map_to_short_messages_by_their_type() {
        let e = |status, header, body: &str| {
            error_from_answer(status, header, body.as_bytes(), "eu-west-1")
        };
        assert_eq!(
            e(
                400,
                None,
                r#"{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}"#
            ),
            AwsError::NotFound {
                code: "ResourceNotFoundException".into(),
                region: "eu-west-1".into()
            }
        );
        assert_eq!(
            e(400, None, r#"{"__type":"ParameterNotFound","message":""}"#).to_string(),
            "not found (ParameterNotFound): check the name/ARN and the region (eu-west-1)"
        );
        // The header wins, and namespaces and `:` suffixes are dropped.
        assert!(matches!(
            e(400, Some("com.amazonaws.ssm#AccessDeniedException:http://internal.amazon.com/"), r#"{"message":"User: arn:aws:iam::1:user/x is not authorized"}"#),
            AwsError::AccessDenied { code, message } if code == "AccessDeniedException" && message.contains("not authorized")
        ));
        for code in [
            "UnrecognizedClientException",
            "ExpiredTokenException",
            "InvalidSignatureException",
        ] {
            let body = format!(r#"{{"__type":"{code}","message":"x"}}"#);
            assert_eq!(
                e(400, None, &body),
                AwsError::BadCredentials { code: code.into() }
            );
        }
        let throttled = e(
            400,
            None,
            r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#,
        );
        assert!(throttled.is_retryable());
        let fault = e(500, None, r#"{"__type":"InternalServiceError"}"#);
        assert!(fault.is_retryable(), "{fault}");
        let not_json = e(502, None, "<html>bad gateway</html>");
        assert_eq!(
            not_json.to_string(),
            "AWS answered HTTP 502 (no error type): no message"
        );
        assert!(
            !e(
                400,
                None,
                r#"{"__type":"ValidationException","message":"bad"}"#
            )
            .is_retryable()
        );
    }

    #[test]
    fn a_long_aws_message_is_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let body = format!(r#"{{"__type":"AccessDeniedException","Message":"{long}"}}"#);
        let AwsError::AccessDenied { message, .. } =
            error_from_answer(400, None, body.as_bytes(), "r")
        else {
            panic!()
        };
        assert!(
            message.len() <= MAX_MESSAGE + '…'.len_utf8(),
            "{}",
            message.len()
        );
        assert!(message.ends_with('…'));
    }
}
