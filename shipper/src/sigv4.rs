//! AWS Signature Version 4 for Amazon OpenSearch Service (`es`) and OpenSearch Serverless
//! (`aoss`), as a [`RequestSigner`] the HTTP client calls last, on the finished request.
//!
//! The signature is made by `aws-sigv4` (the AWS SDK's own signer), over the body bytes as
//! they are sent — gzipped when `SHIPPER_GZIP` is on — and carries their SHA-256 in
//! `x-amz-content-sha256`, which OpenSearch Serverless requires
//! (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/serverless-clients.html).
//! Credentials come from a provider (in the Lambda: the standard chain, i.e. the role's
//! keys in the environment) and are kept until shortly before they expire.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use tokio::sync::Mutex;

use crate::config::SigV4Service;
use crate::service::{HeaderName, HeaderValue, RequestSigner, TransportError};

/// Credentials are fetched again this long before they expire, so a request never goes out
/// with keys that lapse in flight (the AWS SDK's own cache refreshes a few minutes early too).
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// Signs requests for one service and region.
pub struct SigV4Signer {
    service: SigV4Service,
    region: String,
    provider: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
    clock: Arc<dyn Fn() -> SystemTime + Send + Sync>,
}

impl SigV4Signer {
    pub fn new(
        service: SigV4Service,
        region: impl Into<String>,
        provider: SharedCredentialsProvider,
    ) -> Self {
        SigV4Signer {
            service,
            region: region.into(),
            provider,
            cached: Mutex::new(None),
            clock: Arc::new(SystemTime::now),
        }
    }

    /// The time used for signatures and expiry (tests move it).
    pub fn with_clock(mut self, clock: impl Fn() -> SystemTime + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn service(&self) -> SigV4Service {
        self.service
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    /// The cached credentials, or fresh ones when there are none yet or they expire within
    /// [`REFRESH_BEFORE_EXPIRY`].
    pub async fn credentials(&self) -> Result<Credentials, TransportError> {
        let mut cached = self.cached.lock().await;
        let now = (self.clock)();
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|exp| now + REFRESH_BEFORE_EXPIRY < exp)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self.provider.provide_credentials().await.map_err(|e| {
            TransportError::Signing(format!(
                "no AWS credentials for SigV4 ({})",
                crate::service::error_chain(&e)
            ))
        })?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

#[async_trait]
impl RequestSigner for SigV4Signer {
    async fn sign(&self, req: &mut reqwest::Request) -> Result<(), TransportError> {
        let creds = self.credentials().await?;
        // `x-amz-content-sha256`: required by OpenSearch Serverless, accepted by domains.
        sign_request(
            req,
            creds,
            &self.region,
            self.service.name(),
            (self.clock)(),
            PayloadChecksumKind::XAmzSha256,
        )
    }
}

/// Signs a finished request in place (adds `authorization`, `x-amz-date`, the session token
/// and, when asked, `x-amz-content-sha256`) for one service name and region. Shared by the
/// cluster's signer and the AWS API calls in [`crate::aws_api`].
pub(crate) fn sign_request(
    req: &mut reqwest::Request,
    creds: Credentials,
    region: &str,
    service_name: &str,
    time: SystemTime,
    checksum: PayloadChecksumKind,
) -> Result<(), TransportError> {
    let identity = creds.into();
    let mut settings = SigningSettings::default();
    settings.payload_checksum_kind = checksum;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service_name)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| TransportError::Signing(e.to_string()))?
        .into();
    let body: &[u8] = match req.body() {
        Some(b) => b
            .as_bytes()
            .ok_or_else(|| TransportError::Signing("a streamed body cannot be signed".into()))?,
        None => &[],
    };
    let headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        req.method().as_str(),
        req.url().as_str(),
        headers.into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| TransportError::Signing(crate::service::error_chain(&e)))?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| TransportError::Signing(crate::service::error_chain(&e)))?
        .into_parts();
    let (new_headers, _params) = instructions.into_parts();
    for h in new_headers {
        let mut value =
            HeaderValue::from_str(h.value()).map_err(|e| TransportError::Signing(e.to_string()))?;
        // Kept out of any debug output of the request, whatever the signer flags.
        value.set_sensitive(
            h.sensitive() || matches!(h.name(), "authorization" | "x-amz-security-token"),
        );
        req.headers_mut()
            .insert(HeaderName::from_static(h.name()), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use aws_credential_types::provider::future;

    use super::*;

    /// Hands out numbered credentials that expire `lifetime` after `now`.
    #[derive(Debug)]
    struct Rotating {
        calls: Arc<AtomicUsize>,
        now: SystemTime,
        lifetime: Duration,
    }

    impl ProvideCredentials for Rotating {
        fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
        where
            Self: 'a,
        {
            let n = self.calls.fetch_add(1, Ordering::SeqCst);
            future::ProvideCredentials::ready(Ok(Credentials::new(
                format!("AKID{n}"),
                "secret",
                Some("token".into()),
                Some(self.now + self.lifetime),
                "test",
            )))
        }
    }

    fn signer(lifetime: Duration, calls: &Arc<AtomicUsize>, at: SystemTime) -> SigV4Signer {
        let provider = Rotating {
            calls: calls.clone(),
            now: at,
            lifetime,
        };
        SigV4Signer::new(
            SigV4Service::Es,
            "ap-northeast-2",
            SharedCredentialsProvider::new(provider),
        )
    }

    #[tokio::test]
    async fn credentials_are_kept_while_fresh_and_fetched_again_before_they_expire() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let calls = Arc::new(AtomicUsize::new(0));
        // Valid for an hour: kept.
        let s = signer(Duration::from_secs(3600), &calls, start).with_clock(move || start);
        assert_eq!(s.credentials().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(s.credentials().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // Four minutes left: inside the refresh window, so every call fetches anew.
        let calls = Arc::new(AtomicUsize::new(0));
        let s = signer(Duration::from_secs(240), &calls, start).with_clock(move || start);
        assert_eq!(s.credentials().await.unwrap().access_key_id(), "AKID0");
        assert_eq!(s.credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_signed_request_carries_the_payload_hash_the_token_and_a_scoped_signature() {
        let calls = Arc::new(AtomicUsize::new(0));
        let now = SystemTime::now();
        let s = signer(Duration::from_secs(3600), &calls, now);
        let body = b"{\"create\":{}}\n{}\n".to_vec();
        let mut req = reqwest::Client::new()
            .post(
                "https://search-logs-abc.ap-northeast-2.es.amazonaws.com/_bulk?filter_path=errors",
            )
            .header("content-type", "application/x-ndjson")
            .body(body.clone())
            .build()
            .unwrap();
        s.sign(&mut req).await.unwrap();
        let h = |n: &str| req.headers()[n].to_str().unwrap().to_owned();
        use sha2::Digest;
        let hash: String = sha2::Sha256::digest(&body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(h("x-amz-content-sha256"), hash);
        assert_eq!(h("x-amz-security-token"), "token");
        let auth = h("authorization");
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKID0/"),
            "{auth}"
        );
        assert!(auth.contains("/ap-northeast-2/es/aws4_request"), "{auth}");
        for signed in ["content-type", "host", "x-amz-content-sha256", "x-amz-date"] {
            assert!(auth.contains(signed), "{signed} not signed: {auth}");
        }
    }
}
