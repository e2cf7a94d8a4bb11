//! The one Router every binary serves.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};

use crate::error::ApiError;
use crate::request_log;
use crate::routes::{lists, me, quizzes, words};
use crate::store::Store;
use crate::validate::MAX_BODY_BYTES;

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

/// The API: every route, with the request-log, panic and body-limit layers.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/lists", post(lists::create).get(lists::list))
        .route(
            "/lists/{list_id}",
            get(lists::get).patch(lists::rename).delete(lists::delete),
        )
        .route("/lists/{list_id}/words", post(words::add).get(words::list))
        .route(
            "/lists/{list_id}/words/{word_id}",
            patch(words::edit).delete(words::delete),
        )
        .route("/lists/{list_id}/review", get(words::review))
        .route("/lists/{list_id}/quizzes", post(quizzes::create))
        .route("/quizzes/{quiz_id}/answers", post(quizzes::submit))
        .route("/me", get(me::get))
        .route_layer(from_fn_with_state(state.clone(), request_log::route_ctx))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .layer(from_fn(request_log::catch_panic))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .with_state(state)
}
