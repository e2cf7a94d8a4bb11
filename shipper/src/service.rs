//! The one module that talks HTTP to Elasticsearch, behind the narrow [`BulkClient`] trait.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Method;
use elasticsearch::http::headers::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue};
use elasticsearch::http::transport::{
    CloudConnectionPool, ConnectionPool, SingleNodeConnectionPool, TransportBuilder,
};

use crate::request_builder::{BulkRequest, FILTER_PATH};

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
}

/// Sends one `_bulk` request. The real one is [`EsBulkClient`]; tests script their own.
#[async_trait]
pub trait BulkClient: Send + Sync {
    async fn bulk(&self, req: &BulkRequest, timeout: Duration)
    -> Result<HttpReply, TransportError>;
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
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("ELASTICSEARCH_URL: {0}")]
    Url(String),
    #[error("ELASTICSEARCH_CLOUD_ID: {0}")]
    CloudId(String),
    #[error("ELASTICSEARCH_CA_CERT: {0}")]
    Cert(String),
    #[error("building the HTTP client: {0}")]
    Build(String),
    #[error("no Elasticsearch URL or cloud id")]
    NoTarget,
}

/// Builds the official client (rustls) from a [`Connection`].
pub fn build_client(c: &Connection) -> Result<Elasticsearch, ClientError> {
    let creds = match (&c.api_key, &c.username, &c.password) {
        (Some(k), _, _) => Some(Credentials::EncodedApiKey(k.clone())),
        (None, Some(u), Some(p)) => Some(Credentials::Basic(u.clone(), p.clone())),
        _ => None,
    };
    let mut builder = if let Some(url) = &c.url {
        let url =
            elasticsearch::http::Url::parse(url).map_err(|e| ClientError::Url(e.to_string()))?;
        TransportBuilder::new(SingleNodeConnectionPool::new(url))
    } else if let Some(id) = &c.cloud_id {
        TransportBuilder::new(cloud_pool(id).map_err(ClientError::CloudId)?)
    } else {
        return Err(ClientError::NoTarget);
    };
    if let Some(creds) = creds {
        builder = builder.auth(creds);
    }
    if let Some(pem) = &c.ca_cert_pem {
        let cert = ca_certificates(pem).map_err(ClientError::Cert)?;
        // `Full` adds these to reqwest's root store beside its built-in (webpki) roots, and
        // keeps host name verification on.
        builder = builder.cert_validation(CertificateValidation::Full(cert));
    }
    if let Some(t) = c.timeout {
        builder = builder.timeout(t);
    }
    // Compression is done by the request builder (level 1, measured); not by the transport.
    let transport = builder
        .request_body_compression(false)
        .build()
        .map_err(|e| ClientError::Build(e.to_string()))?;
    Ok(Elasticsearch::new(transport))
}

/// The certificates of a PEM CA bundle, checked the way the transport will load them.
///
/// `Certificate::from_pem` only looks for the BEGIN/END lines; the base64 and the X.509
/// inside are read by rustls when the HTTP client is built, where a bad block would surface
/// as "building the HTTP client" without naming the setting. So a client holding only these
/// roots is built here, at start-up, to fail early and by name.
pub fn ca_certificates(pem: &[u8]) -> Result<Certificate, String> {
    // `from_pem` would say "stream did not contain valid UTF-8" of a DER file.
    if memchr::memmem::find(pem, b"-----BEGIN CERTIFICATE-----").is_none() {
        return Err("no `-----BEGIN CERTIFICATE-----` block in it (a DER file converts with `openssl x509 -inform der -in ca.der -out ca.pem`)".into());
    }
    let cert = Certificate::from_pem(pem).map_err(|e| e.to_string())?;
    cert.iter()
        .fold(
            reqwest::Client::builder().tls_built_in_root_certs(false),
            |b, c| b.add_root_certificate(c.clone()),
        )
        .build()
        .map_err(|e| error_chain(&e))?;
    Ok(cert)
}

/// The Elasticsearch URL an Elastic Cloud id stands for (`https://<es_uuid>.<host>[:port]`),
/// as the client's connection pool uses it. The error never quotes the id.
pub fn cloud_id_url(cloud_id: &str) -> Result<elasticsearch::http::Url, String> {
    Ok((*cloud_pool(cloud_id)?.next().url()).clone())
}

fn cloud_pool(cloud_id: &str) -> Result<CloudConnectionPool, String> {
    CloudConnectionPool::new(cloud_id).map_err(|e| {
        // The crate's message quotes the undecodable part of the id; keep ids out of logs like
        // the other connection settings.
        let data = cloud_id.split_once(':').map_or("", |(_, d)| d);
        let mut why = e.to_string();
        if !data.is_empty() {
            why = why.replace(data, "…");
        }
        format!(
            "not an Elastic Cloud id (`<name>:<base64 of host[:port]$es_uuid$kibana_uuid>`, as the deployment's page shows it): {why}"
        )
    })
}

/// [`BulkClient`] over the official `elasticsearch` crate.
#[derive(Clone)]
pub struct EsBulkClient {
    client: Elasticsearch,
}

impl EsBulkClient {
    pub fn new(client: Elasticsearch) -> Self {
        EsBulkClient { client }
    }
    pub fn client(&self) -> &Elasticsearch {
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
        let mut headers = HeaderMap::new();
        // Plain NDJSON, not the ES 8 compatibility media type: OpenSearch answers that with 406.
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        if req.gzip {
            headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let query = [("filter_path", FILTER_PATH)];
        let body = req.body.clone();
        let resp = self
            .client
            .send(
                Method::Post,
                "/_bulk",
                headers,
                Some(&query),
                Some(body),
                Some(timeout),
            )
            .await
            .map_err(map_err)?;
        let status = resp.status_code().as_u16();
        let body = resp.bytes().await.map_err(map_err)?;
        Ok(HttpReply { status, body })
    }
}

pub(crate) fn map_err(e: elasticsearch::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else if let Some(tls) = tls_cause(&e) {
        // rustls' own words ("invalid peer certificate: UnknownIssuer") don't say which
        // setting fixes it.
        TransportError::Tls(match tls_advice(tls) {
            Some(advice) => format!("{advice} ({})", error_chain(&e)),
            None => error_chain(&e),
        })
    } else {
        // The error's Display carries the cause chain (refused, reset…); never a secret.
        TransportError::Connection(error_chain(&e))
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
fn tls_advice(e: &rustls::Error) -> Option<&'static str> {
    use rustls::CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => Some(
            "the server's certificate is not signed by a CA the shipper trusts (the Mozilla roots built into it, and ELASTICSEARCH_CA_CERT); set ELASTICSEARCH_CA_CERT to a PEM file holding the CA that signed it",
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
}

/// An error with its causes (refused, reset, TLS, AccessDenied…): never carries a secret.
/// A cause that only repeats its parent's text (the client's error wrapping reqwest's) is
/// skipped.
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
        assert!(build_client(&c).is_ok());
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
