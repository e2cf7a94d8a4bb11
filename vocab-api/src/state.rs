//! What every handler and layer shares: the store handle, how callers are identified, and
//! the deadline margin. Depends only on the store trait below it.

use std::sync::Arc;
use std::time::Duration;

use crate::jwt::JwtVerifier;
use crate::rate_limit::RateLimiter;
use crate::store::Store;

/// `POST /client-events` per user: this many requests at once, then one every
/// [`CLIENT_EVENTS_REFILL`].
pub const CLIENT_EVENTS_BURST: u32 = 10;
pub const CLIENT_EVENTS_REFILL: Duration = Duration::from_secs(3);

fn client_events_limiter() -> Arc<RateLimiter> {
    Arc::new(RateLimiter::new(CLIENT_EVENTS_BURST, CLIENT_EVENTS_REFILL))
}

/// Where the caller's identity comes from.
#[derive(Clone)]
pub enum AuthMode {
    /// The API Gateway JWT authorizer's `sub` claim (the Lambda binaries).
    JwtAuthorizer,
    /// The `x-dev-user` header (`vocab-local` only: anyone can claim any id).
    DevHeader,
    /// `Authorization: Bearer` tokens verified here as API Gateway's JWT authorizer would
    /// (`vocab-local --auth jwt`).
    Bearer(Arc<JwtVerifier>),
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub auth: AuthMode,
    /// Honour the `x-debug-fault` header (`vocab-local` only).
    pub debug_faults: bool,
    /// Answer 504 this long before the Lambda deadline.
    pub deadline_margin: Duration,
    /// The per-user limit of `POST /client-events`.
    pub client_events_limit: Arc<RateLimiter>,
}

impl AppState {
    /// For the Lambda binaries: JWT identity, no debug faults.
    pub fn lambda(store: Arc<dyn Store>, deadline_margin: Duration) -> Self {
        AppState {
            store,
            auth: AuthMode::JwtAuthorizer,
            debug_faults: false,
            deadline_margin,
            client_events_limit: client_events_limiter(),
        }
    }

    /// For `vocab-local` (and tests): the development header and debug faults.
    pub fn local(store: Arc<dyn Store>) -> Self {
        AppState {
            store,
            auth: AuthMode::DevHeader,
            debug_faults: true,
            deadline_margin: Duration::from_millis(500),
            client_events_limit: client_events_limiter(),
        }
    }
}
