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
    CloudConnectionPool, SingleNodeConnectionPool, TransportBuilder,
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
        TransportBuilder::new(
            CloudConnectionPool::new(id).map_err(|e| ClientError::CloudId(e.to_string()))?,
        )
    } else {
        return Err(ClientError::NoTarget);
    };
    if let Some(creds) = creds {
        builder = builder.auth(creds);
    }
    if let Some(pem) = &c.ca_cert_pem {
        let cert = Certificate::from_pem(pem).map_err(|e| ClientError::Cert(e.to_string()))?;
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

fn map_err(e: elasticsearch::Error) -> TransportError {
    if e.is_timeout() {
        TransportError::Timeout
    } else {
        // The error's Display carries the cause chain (refused, reset, TLS…); never a secret.
        TransportError::Connection(error_chain(&e))
    }
}

/// An error with its causes (refused, reset, TLS, AccessDenied…): never carries a secret.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}
