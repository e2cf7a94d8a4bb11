//! The one Router every binary serves: the root of the crate's module graph (it imports the
//! layers and the routes; nothing in the crate imports it).

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post};

use crate::auth;
use crate::error::ApiError;
use crate::request_log;
use crate::routes::{lists, me, quizzes, words};
use crate::state::AppState;
use crate::validate::MAX_BODY_BYTES;

/// The API: every route, with the request-log, authentication, panic and body-limit layers.
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
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .with_state(state)
}
