//! What every handler and layer shares: the store handle, how callers are identified, and
//! the deadline margin. Depends only on the store trait below it.

use std::sync::Arc;
use std::time::Duration;

use crate::store::Store;

/// Where the caller's identity comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// The API Gateway JWT authorizer's `sub` claim (the Lambda binaries).
    JwtAuthorizer,
    /// The `x-dev-user` header (`vocab-local` only: anyone can claim any id).
    DevHeader,
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
}

impl AppState {
    /// For the Lambda binaries: JWT identity, no debug faults.
    pub fn lambda(store: Arc<dyn Store>, deadline_margin: Duration) -> Self {
        AppState {
            store,
            auth: AuthMode::JwtAuthorizer,
            debug_faults: false,
            deadline_margin,
        }
    }

    /// For `vocab-local` (and tests): the development header and debug faults.
    pub fn local(store: Arc<dyn Store>) -> Self {
        AppState {
            store,
            auth: AuthMode::DevHeader,
            debug_faults: true,
            deadline_margin: Duration::from_millis(500),
        }
    }
}
