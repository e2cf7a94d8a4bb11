//! The one module that talks HTTP to Elasticsearch / OpenSearch: reqwest over rustls.
//!
//! Everything is built on one narrow call, [`EsClient::send`] (method, path, query, headers,
//! body → [`HttpReply`]): `_bulk` behind the [`BulkClient`] trait, and `setup`'s requests.
//! The client adds what every request needs — the cluster's base URL, credentials, the user
//! agent, the timeout — and, last, hands the finished request to a [`RequestSigner`] when one
//! is configured (SigV4 for Amazon OpenSearch), so a signature covers exactly the bytes sent.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine;
use bytes::Bytes;
pub use reqwest::Method;
pub use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, USER_AGENT};
pub use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::config::Proxies;
use crate::request_builder::{BulkRequest, FILTER_PATH};

/// What the shipper calls itself on the wire.
const USER_AGENT_VALUE: &str = concat!("cloudwatch-es-shipper/", env!("CARGO_PKG_VERSION"));

/// An HTTP answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpReply {
    pub status: u16,
    pub body: Bytes,
}

/// The request never got an HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("request timed out")]
    Timeout,
    #[error("connection failed: {0}")]
    Connection(String),
    /// The TLS handshake failed: the text says why (which certificate check) and what to set.
    #[error("TLS handshake with Elasticsearch failed: {0}")]
    Tls(String),
    /// The request could not be signed (e.g. no AWS credentials could be loaded yet).
    #[error("signing the request failed: {0}")]
    Signing(String),
}

/// Sends one `_bulk` request. The real one is [`EsBulkClient`]; tests script their own.
#[async_trait]
pub trait BulkClient: Send + Sync {
    async fn bulk(&self, req: &BulkRequest, timeout: Duration)
    -> Result<HttpReply, TransportError>;
}

/// Signs a finished request just before it is sent: it sees the final URL, every header and
/// the body bytes as they go on the wire (compressed, when they are), and adds its headers.
#[async_trait]
pub trait RequestSigner: Send + Sync {
    async fn sign(&self, req: &mut reqwest::Request) -> Result<(), TransportError>;
}

/// One request to the cluster, relative to its URL. Build with [`HttpRequest::new`] and the
/// chained setters.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    /// Below the cluster URL, starting with `/` (`/_bulk`, `/_index_template/x`, `/`).
    pub path: String,
    /// Query parameters, encoded by the client.
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Option<Bytes>,
    /// Overrides the client's timeout for this request.
    pub timeout: Option<Duration>,
}

impl HttpRequest {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        HttpRequest {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: HeaderMap::new(),
            body: None,
            timeout: None,
        }
    }

    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.insert(name, value);
        self
    }

    /// A body with its own `Content-Type` (and `Content-Encoding` if it is compressed).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// A JSON body (`Content-Type: application/json`).
    pub fn json(self, body: impl Into<Bytes>) -> Self {
        self.header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
}

/// Where and how to connect, after secrets have been resolved.
#[derive(Clone, Default)]
pub struct Connection {
    pub url: Option<String>,
    pub cloud_id: Option<String>,
    pub api_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub ca_cert_pem: Option<Vec<u8>>,
    pub timeout: Option<Duration>,
    /// Signs every request last (SigV4); `None` = credentials above, if any, as headers.
    pub signer: Option<Arc<dyn RequestSigner>>,
    /// Explicit proxies (`HTTPS_PROXY` …); none = direct. The process environment is not
    /// read here: the settings are, once, in `config`.
    pub proxies: Proxies,
    /// SHA-256 of the server's own certificate: when set, the one certificate trusted
    /// (instead of a CA), whatever signed it.
    pub cert_fingerprints: Vec<[u8; 32]>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("ELASTICSEARCH_URL: {0}")]
    Url(String),
    #[error("ELASTICSEARCH_CLOUD_ID: {0}")]
    CloudId(String),
    #[error("ELASTICSEARCH_CA_CERT: {0}")]
    Cert(String),
    #[error("{var}: {why}")]
    Proxy { var: &'static str, why: String },
    #[error("building the HTTP client: {0}")]
    Build(String),
    #[error("no Elasticsearch URL or cloud id")]
    NoTarget,
}

/// The HTTP client of one cluster: cheap to clone (the connection pool is shared).
#[derive(Clone)]
pub struct EsClient {
    http: reqwest::Client,
    base: Url,
    /// `ApiKey …` or `Basic …`, marked sensitive so it never shows in debug output.
    auth: Option<HeaderValue>,
    signer: Option<Arc<dyn RequestSigner>>,
}

/// Builds the client (reqwest, rustls with the webpki roots) from a [`Connection`].
pub fn build_client(c: &Connection) -> Result<EsClient, ClientError> {
    let base = if let Some(url) = &c.url {
        let u = Url::parse(url).map_err(|e| ClientError::Url(e.to_string()))?;
        if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
            return Err(ClientError::Url(
                "must be an http:// or https:// URL".into(),
            ));
        }
        u
    } else if let Some(id) = &c.cloud_id {
        cloud_id_url(id).map_err(ClientError::CloudId)?
    } else {
        return Err(ClientError::NoTarget);
    };
    let auth = match (&c.api_key, &c.username, &c.password) {
        (Some(k), _, _) => Some(format!("ApiKey {k}")),
        (None, Some(u), Some(p)) => Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
        )),
        _ => None,
    }
    .map(|v| {
        HeaderValue::try_from(v)
            .map(|mut v| {
                v.set_sensitive(true);
                v
            })
            .map_err(|_| {
                ClientError::Build("the credentials hold characters not allowed in a header".into())
            })
    })
    .transpose()?;
    // Only the proxies given (reqwest would otherwise read the environment by itself).
    let mut builder = reqwest::Client::builder().no_proxy();
    let no_proxy = || {
        c.proxies
            .no_proxy
            .as_deref()
            .and_then(reqwest::NoProxy::from_string)
    };
    if let Some(p) = &c.proxies.https {
        let proxy = reqwest::Proxy::https(p.as_str()).map_err(|e| ClientError::Proxy {
            var: "HTTPS_PROXY",
            why: error_chain(&e),
        })?;
        builder = builder.proxy(proxy.no_proxy(no_proxy()));
    }
    if let Some(p) = &c.proxies.http {
        let proxy = reqwest::Proxy::http(p.as_str()).map_err(|e| ClientError::Proxy {
            var: "HTTP_PROXY",
            why: error_chain(&e),
        })?;
        builder = builder.proxy(proxy.no_proxy(no_proxy()));
    }
    if !c.cert_fingerprints.is_empty() {
        builder = builder.use_preconfigured_tls(pinned_tls(c.cert_fingerprints.clone())?);
    } else if let Some(pem) = &c.ca_cert_pem {
        // Added to rustls' root store beside the built-in (webpki) roots; host name
        // verification stays on.
        for cert in ca_certificates(pem).map_err(ClientError::Cert)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(t) = c.timeout {
        builder = builder.timeout(t);
    }
    let http = builder
        .build()
        .map_err(|e| ClientError::Build(error_chain(&e)))?;
    Ok(EsClient {
        http,
        base,
        auth,
        signer: c.signer.clone(),
    })
}

impl EsClient {
    /// The cluster's base URL.
    pub fn url(&self) -> &Url {
        &self.base
    }

    /// The URL of `path` below the cluster's (a path prefix in the cluster URL is kept).
    fn url_of(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            self.base.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }

    /// Sends one request and reads the whole answer, whatever its status.
    pub async fn send(&self, req: HttpRequest) -> Result<HttpReply, TransportError> {
        let mut b = self.http.request(req.method, self.url_of(&req.path));
        if !req.query.is_empty() {
            b = b.query(&req.query);
        }
        let mut headers = req.headers;
        headers
            .entry(USER_AGENT)
            .or_insert(HeaderValue::from_static(USER_AGENT_VALUE));
        if let Some(auth) = &self.auth {
            headers.entry(AUTHORIZATION).or_insert(auth.clone());
        }
        b = b.headers(headers);
        if let Some(t) = req.timeout {
            b = b.timeout(t);
        }
        if let Some(body) = req.body {
            b = b.body(body);
        }
        let mut request = b.build().map_err(|e| map_err(&e))?;
        if let Some(signer) = &self.signer {
            signer.sign(&mut request).await?;
        }
        let resp = self.http.execute(request).await.map_err(|e| map_err(&e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| map_err(&e))?;
        Ok(HttpReply { status, body })
    }
}

/// The certificates of a PEM CA bundle, checked the way the client will load them.
///
/// The PEM blocks are decoded here, but the X.509 inside is only read by rustls when the
/// HTTP client is built, where a bad block would surface as "building the HTTP client"
/// without naming the setting. So a client holding only these roots is built here, at
/// start-up, to fail early and by name.
pub fn ca_certificates(pem: &[u8]) -> Result<Vec<reqwest::Certificate>, String> {
    // The PEM reader would say something less helpful of a DER file.
    if memchr::memmem::find(pem, b"-----BEGIN CERTIFICATE-----").is_none() {
        return Err("no `-----BEGIN CERTIFICATE-----` block in it (a DER file converts with `openssl x509 -inform der -in ca.der -out ca.pem`)".into());
    }
    let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| error_chain(&e))?;
    certs
        .iter()
        .fold(
            reqwest::Client::builder().tls_built_in_root_certs(false),
            |b, c| b.add_root_certificate(c.clone()),
        )
        .build()
        .map_err(|e| error_chain(&e))?;
    Ok(certs)
}

/// The Elasticsearch URL an Elastic Cloud id stands for (`https://<es_uuid>.<host>[:port]`),
/// following https://www.elastic.co/docs/deploy-manage/deploy/elastic-cloud/find-cloud-id
/// (`<name>:<base64 of host[:port]$es_uuid$kibana_uuid>`). The error never quotes the id.
pub fn cloud_id_url(cloud_id: &str) -> Result<Url, String> {
    let bad = |why: &str| {
        format!(
            "not an Elastic Cloud id (`<name>:<base64 of host[:port]$es_uuid$kibana_uuid>`, as the deployment's page shows it): {why}"
        )
    };
    let Some((name, data)) = cloud_id.split_once(':') else {
        return Err(bad("no `:` after the deployment name"));
    };
    if name.is_empty() {
        return Err(bad("the deployment name before `:` is empty"));
    }
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let decoded = engine
        .decode(data.trim())
        .map_err(|_| bad("the part after `:` is not base64"))?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad("the decoded part is not text"))?;
    let mut parts = decoded.split('$');
    let host = parts.next().unwrap_or_default().trim();
    if host.is_empty() {
        return Err(bad("the decoded part has no host before the first `$`"));
    }
    let Some(uuid) = parts.next().map(str::trim).filter(|u| !u.is_empty()) else {
        return Err(bad(
            "the decoded part has no Elasticsearch id after the host (`host$es_uuid`)",
        ));
    };
    Url::parse(&format!("https://{uuid}.{host}"))
        .map_err(|e| bad(&format!("the host it names is not valid in a URL ({e})")))
}

/// [`BulkClient`] over [`EsClient`].
#[derive(Clone)]
pub struct EsBulkClient {
    client: EsClient,
}

impl EsBulkClient {
    pub fn new(client: EsClient) -> Self {
        EsBulkClient { client }
    }
    pub fn client(&self) -> &EsClient {
        &self.client
    }
}

#[async_trait]
impl BulkClient for EsBulkClient {
    async fn bulk(
        &self,
        req: &BulkRequest,
        timeout: Duration,
    ) -> Result<HttpReply, TransportError> {
        // Plain NDJSON, not the ES 8 compatibility media type: OpenSearch answers that with 406.
        let mut r = HttpRequest::new(Method::POST, "/_bulk")
            .query("filter_path", FILTER_PATH)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            )
            .body(req.body.clone())
            .timeout(timeout);
        if req.gzip {
            // Compressed by the request builder (level 1, measured), not here.
            r = r.header(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        self.client.send(r).await
    }
}

fn map_err(e: &reqwest::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if let Some(tls) = tls_cause(e) {
        // rustls' own words ("invalid peer certificate: UnknownIssuer") don't say which
        // setting fixes it.
        TransportError::Tls(match tls_advice(tls) {
            Some(advice) => format!("{advice} ({})", error_chain(e)),
            None => error_chain(e),
        })
    } else {
        // The error's Display carries the cause chain (refused, reset…); never a secret.
        TransportError::Connection(error_chain(e))
    }
}

/// The rustls error under a failed request. It travels inside `io::Error`s (tokio-rustls
/// wraps it, hyper-rustls wraps that again), whose `source()` skips what they wrap, so each
/// link's `io::Error` is opened down to the bottom.
fn tls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    fn unwrap_io<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
        if let Some(t) = e.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        let inner = e.downcast_ref::<std::io::Error>()?.get_ref()?;
        unwrap_io(inner)
    }
    let mut cur = Some(e);
    while let Some(c) = cur {
        if let Some(t) = unwrap_io(c) {
            return Some(t);
        }
        cur = c.source();
    }
    None
}

/// What to do about the handshake failures an operator can fix from the settings.
fn tls_advice(e: &rustls::Error) -> Option<String> {
    use rustls::CertificateError as C;
    if let rustls::Error::InvalidCertificate(C::Other(o)) = e
        && let Some(PinMismatch(got)) = o.0.downcast_ref::<PinMismatch>()
    {
        return Some(format!(
            "the server's certificate has SHA-256 fingerprint {}, not one ELASTICSEARCH_CERT_FINGERPRINT pins; if the cluster's certificate was renewed, pin the new one",
            hex_colons(got)
        ));
    }
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => Some(
            "the server's certificate is not signed by a CA the shipper trusts (the Mozilla roots built into it, and ELASTICSEARCH_CA_CERT); set ELASTICSEARCH_CA_CERT to a PEM file holding the CA that signed it, or ELASTICSEARCH_CERT_FINGERPRINT to the certificate's SHA-256",
        ),
        rustls::Error::InvalidCertificate(
            C::NotValidForName | C::NotValidForNameContext { .. },
        ) => Some(
            "the server's certificate is not issued for the host in the URL; connect with a name or IP address its subjectAltName lists",
        ),
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => Some(
            "the server's certificate is outside its validity period (or this machine's clock is wrong)",
        ),
        rustls::Error::InvalidMessage(_) => {
            Some("the server did not answer in TLS; if it serves plain HTTP, use an http:// URL")
        }
        _ => None,
    }
    .map(str::to_owned)
}

/// A server certificate whose SHA-256 is not pinned.
#[derive(Debug)]
struct PinMismatch([u8; 32]);

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "certificate fingerprint {} is not pinned",
            hex_colons(&self.0)
        )
    }
}

impl std::error::Error for PinMismatch {}

/// `AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it.
fn hex_colons(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Trusts exactly the certificates whose SHA-256 is pinned, as the leaf, whatever signed them
/// and whatever names they carry (the pin names one certificate, which is stronger than both
/// checks). The handshake signature is still verified, so only the holder of the pinned
/// certificate's key can complete it.
#[derive(Debug)]
struct PinnedCert {
    pins: Vec<[u8; 32]>,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        let got: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
        if self.pins.contains(&got) {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Other(rustls::OtherError(Arc::new(PinMismatch(got)))),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The TLS settings for certificate pinning (ring, as reqwest's own).
fn pinned_tls(pins: Vec<[u8; 32]>) -> Result<rustls::ClientConfig, ClientError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = PinnedCert {
        pins,
        algorithms: provider.signature_verification_algorithms,
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Build(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// An error with its causes (refused, reset, TLS, AccessDenied…): never carries a secret.
/// A cause that only repeats its parent's text is skipped.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut last = s.clone();
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        if text != last {
            s.push_str(": ");
            s.push_str(&text);
            last = text;
        }
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn cloud_id(name: &str, decoded: &str) -> String {
        let data = base64::engine::general_purpose::STANDARD.encode(decoded);
        format!("{name}:{data}")
    }

    #[test]
    fn a_cloud_id_stands_for_https_to_the_elasticsearch_uuid_under_its_host() {
        // As a deployment's page shows it (this one is from Kibana's own tests of the format).
        let id = "staging:dXMtZWFzdC0xLmF3cy5mb3VuZC5pbyRjZWM2ZjI2MWE3NGJmMjRjZTMzYmI4ODExYjg0Mjk0ZiRjNmMyY2E2ZDA0MjI0OWFmMGNjN2Q3YTllOTYyNTc0Mw==";
        assert_eq!(
            cloud_id_url(id).unwrap().as_str(),
            "https://cec6f261a74bf24ce33bb8811b84294f.us-east-1.aws.found.io/"
        );
        let id = cloud_id(
            "vocab-logs",
            "ap-northeast-2.aws.elastic-cloud.com:9243$4fa8821e75634032bed1cf22110e2f97$ee1c6d4bd6d24c4e9e02a33ebe7d0ded",
        );
        assert_eq!(
            cloud_id_url(&id).unwrap().as_str(),
            "https://4fa8821e75634032bed1cf22110e2f97.ap-northeast-2.aws.elastic-cloud.com:9243/"
        );
        // 443 is https' own port: the same URL as without one.
        let id = cloud_id("vocab-logs", "es.example.com:443$abc123$def456");
        assert_eq!(
            cloud_id_url(&id).unwrap().as_str(),
            "https://abc123.es.example.com/"
        );
        // Older ids have no Kibana part.
        let id = cloud_id("vocab-logs", "es.example.com$abc123");
        assert_eq!(
            cloud_id_url(&id).unwrap().as_str(),
            "https://abc123.es.example.com/"
        );
        let c = Connection {
            cloud_id: Some(id),
            ..Connection::default()
        };
        assert_eq!(
            build_client(&c).unwrap().url().as_str(),
            "https://abc123.es.example.com/"
        );
    }

    #[test]
    fn a_malformed_cloud_id_is_refused_by_name_without_quoting_it() {
        let secretish = "c2VjcmV0LWRlcGxveW1lbnQ";
        for id in [
            "vocab-logs".to_owned(),
            format!("vocab-logs:{secretish}!"),
            cloud_id("vocab-logs", "es.example.com"),
            cloud_id("", "es.example.com$abc123$def456"),
            cloud_id("vocab-logs", "$abc123$def456"),
        ] {
            let why = cloud_id_url(&id).unwrap_err();
            assert!(why.starts_with("not an Elastic Cloud id"), "{id}: {why}");
            assert!(!why.contains(secretish), "{id}: {why}");
            let c = Connection {
                cloud_id: Some(id.clone()),
                ..Connection::default()
            };
            let e = build_client(&c).err().unwrap().to_string();
            assert!(e.starts_with("ELASTICSEARCH_CLOUD_ID: "), "{id}: {e}");
        }
    }

    #[test]
    fn paths_are_joined_below_the_cluster_url_keeping_its_prefix() {
        for (base, path, want) in [
            ("http://es:9200", "/_bulk", "http://es:9200/_bulk"),
            ("http://es:9200/", "/_bulk", "http://es:9200/_bulk"),
            ("https://proxy/es", "/_bulk", "https://proxy/es/_bulk"),
            ("https://proxy/es/", "/", "https://proxy/es/"),
        ] {
            let c = build_client(&Connection {
                url: Some(base.into()),
                ..Connection::default()
            })
            .unwrap();
            assert_eq!(c.url_of(path).as_str(), want, "{base} + {path}");
        }
    }

    #[test]
    fn a_cause_that_repeats_its_parent_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Same(#[source] Inner);
        #[derive(Debug, thiserror::Error)]
        #[error("error sending request")]
        struct Inner(#[source] std::io::Error);
        let e = Same(Inner(std::io::Error::other("refused")));
        assert_eq!(error_chain(&e), "error sending request: refused");
    }
}
