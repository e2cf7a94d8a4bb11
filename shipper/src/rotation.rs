//! A 401 reads the credentials again once before it counts: a rotated secret (Secrets Manager
//! rotation, a new API key put in the parameter) reaches a warm Lambda without a restart.
//!
//! [`Rotating`] is a [`BulkClient`] and an [`IdLookup`] over the clients a [`ClientSource`]
//! builds. On a 401 it asks the source for new clients (at most once per
//! [`MIN_INTERVAL`] per process, so a cluster that refuses every key doesn't turn each request
//! into a Secrets Manager call) and sends the request once more; a second 401 is returned as it
//! is, and delivery stops on it as before.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tracing::{info, warn};

use crate::request_builder::BulkRequest;
use crate::rollover::{Copy, IdLookup, LookupError, WriteIndex};
use crate::service::{BulkClient, HttpReply, TransportError};

/// Re-reads at most this often.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);

/// The clients a connection gives: for `_bulk`, and for the rollover lookups.
#[derive(Clone)]
pub struct Clients {
    pub bulk: Arc<dyn BulkClient>,
    pub lookup: Arc<dyn IdLookup>,
}

/// Where fresh clients come from: the secret (or parameter) read again.
#[async_trait]
pub trait ClientSource: Send + Sync {
    async fn connect(&self) -> Result<Clients, String>;
}

struct Current {
    clients: Clients,
    generation: u64,
}

pub struct Rotating {
    current: RwLock<Current>,
    source: Arc<dyn ClientSource>,
    /// When the source was last asked; held across the ask so concurrent 401s ask once.
    last: tokio::sync::Mutex<Option<Instant>>,
}

impl Rotating {
    pub fn new(clients: Clients, source: Arc<dyn ClientSource>) -> Self {
        Rotating {
            current: RwLock::new(Current {
                clients,
                generation: 0,
            }),
            source,
            last: tokio::sync::Mutex::new(None),
        }
    }

    fn current(&self) -> (Clients, u64) {
        let c = self.current.read().unwrap_or_else(|p| p.into_inner());
        (c.clients.clone(), c.generation)
    }

    /// After a 401 from clients of `generation`: true when newer clients are there to try
    /// (read now, or by a concurrent request since).
    async fn renew(&self, generation: u64) -> bool {
        let mut last = self.last.lock().await;
        if self.current().1 != generation {
            return true;
        }
        if last.is_some_and(|t| t.elapsed() < MIN_INTERVAL) {
            return false;
        }
        *last = Some(Instant::now());
        match self.source.connect().await {
            Ok(clients) => {
                let mut c = self.current.write().unwrap_or_else(|p| p.into_inner());
                c.clients = clients;
                c.generation += 1;
                info!(
                    "Elasticsearch answered 401: credentials read again; retrying once with them"
                );
                true
            }
            Err(e) => {
                warn!(error.message = %e, "Elasticsearch answered 401 and reading the credentials again failed");
                false
            }
        }
    }
}

#[async_trait]
impl BulkClient for Rotating {
    async fn bulk(
        &self,
        req: &BulkRequest,
        timeout: Duration,
    ) -> Result<HttpReply, TransportError> {
        let (c, generation) = self.current();
        let reply = c.bulk.bulk(req, timeout).await?;
        if reply.status == 401 && self.renew(generation).await {
            return self.current().0.bulk.bulk(req, timeout).await;
        }
        Ok(reply)
    }
}

fn unauthorized<T>(r: &Result<T, LookupError>) -> bool {
    matches!(r, Err(LookupError::Refused { status: 401, .. }))
}

#[async_trait]
impl IdLookup for Rotating {
    async fn write_index(
        &self,
        data_stream: &str,
        timeout: Duration,
    ) -> Result<Option<WriteIndex>, LookupError> {
        let (c, generation) = self.current();
        let r = c.lookup.write_index(data_stream, timeout).await;
        if unauthorized(&r) && self.renew(generation).await {
            return self
                .current()
                .0
                .lookup
                .write_index(data_stream, timeout)
                .await;
        }
        r
    }

    async fn copies(
        &self,
        target: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<Copy>, LookupError> {
        let (c, generation) = self.current();
        let r = c.lookup.copies(target, ids, timeout).await;
        if unauthorized(&r) && self.renew(generation).await {
            return self.current().0.lookup.copies(target, ids, timeout).await;
        }
        r
    }

    async fn present_in(
        &self,
        index: &str,
        ids: &[&str],
        timeout: Duration,
    ) -> Result<Vec<String>, LookupError> {
        let (c, generation) = self.current();
        let r = c.lookup.present_in(index, ids, timeout).await;
        if unauthorized(&r) && self.renew(generation).await {
            return self
                .current()
                .0
                .lookup
                .present_in(index, ids, timeout)
                .await;
        }
        r
    }
}

/// The real [`ClientSource`]: the secret or parameter named in the settings, read again, and
/// the clients built from it.
pub struct FromSettings(pub crate::config::Config);

#[async_trait]
impl ClientSource for FromSettings {
    async fn connect(&self) -> Result<Clients, String> {
        let conn = crate::secrets::resolve(&self.0)
            .await
            .map_err(|e| e.to_string())?;
        clients(&conn).map_err(|e| e.to_string())
    }
}

/// `_bulk` and lookup clients for a connection.
pub fn clients(conn: &crate::service::Connection) -> Result<Clients, crate::service::ClientError> {
    let client = crate::service::build_client(conn)?;
    Ok(Clients {
        bulk: Arc::new(crate::service::EsBulkClient::new(client.clone())),
        lookup: Arc::new(crate::lookup::EsLookup::new(client)),
    })
}

/// The clients for the settings: rotating when the credentials come from a secret or a
/// parameter (which can change), plain otherwise.
pub async fn for_settings(
    cfg: &crate::config::Config,
    conn: &crate::service::Connection,
) -> Result<Clients, crate::service::ClientError> {
    let plain = clients(conn)?;
    if cfg.elasticsearch_secret_arn.is_none() && cfg.elasticsearch_ssm_parameter.is_none() {
        return Ok(plain);
    }
    let r = Arc::new(Rotating::new(plain, Arc::new(FromSettings(cfg.clone()))));
    Ok(Clients {
        bulk: r.clone(),
        lookup: r,
    })
}
