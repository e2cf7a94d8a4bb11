//! The request's log context: what the one log line per request will say beyond the
//! request itself (route template, caller, domain fields). Created by the request log
//! layer, filled on the way by the auth layer, the router and the handlers. Depends on
//! nothing else in the crate.

use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

/// Per-request facts gathered on the way for the log line (a request extension).
#[derive(Clone, Default)]
pub struct LogCtx(Arc<Mutex<LogFields>>);

/// What [`LogCtx::take`] hands to the line writer.
#[derive(Default)]
pub struct LogFields {
    pub route: Option<String>,
    pub user: Option<String>,
    pub app: Map<String, Value>,
}

impl LogCtx {
    fn with<R>(&self, f: impl FnOnce(&mut LogFields) -> R) -> R {
        let mut guard = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(&mut guard)
    }

    /// Sets `user.id`.
    pub fn user(&self, id: &str) {
        self.with(|f| f.user = Some(id.to_owned()));
    }

    /// Sets `http.route` (the route template).
    pub fn route(&self, template: &str) {
        self.with(|f| f.route = Some(template.to_owned()));
    }

    /// Adds a domain field, written as `app.<key>`.
    pub fn app(&self, key: &str, value: impl Into<Value>) {
        self.with(|f| f.app.insert(key.to_owned(), value.into()));
    }

    /// Everything gathered so far (leaving the context empty).
    pub fn take(&self) -> LogFields {
        self.with(std::mem::take)
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for LogCtx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<LogCtx>()
            .cloned()
            .unwrap_or_default())
    }
}
