//! The one Router every binary serves: the root of the crate's module graph (it imports the
//! layers and the routes; nothing in the crate imports it).

use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Request, Uri};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use axum::routing::{get, patch, post, put};

use crate::auth;
use crate::error::ApiError;
use crate::request_log;
use crate::routes::{client_events, lists, me, notebook, quizzes, words};
use crate::state::AppState;
use crate::validate::MAX_BODY_BYTES;
use crate::web::{self, Frontend};

/// The prefix the browser calls the API under (behind CloudFront and in `vocab-local`).
pub const API_PREFIX: &str = "/api";

/// The API: every route, with the request-log, authentication, panic and body-limit layers.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/lists", post(lists::create).get(lists::list))
        .route("/lists/batch-delete", post(lists::batch_delete))
        .route(
            "/lists/{list_id}",
            get(lists::get).patch(lists::update).delete(lists::delete),
        )
        .route("/lists/{list_id}/words", post(words::add).get(words::list))
        .route(
            "/lists/{list_id}/words/batch-delete",
            post(words::batch_delete),
        )
        .route(
            "/lists/{list_id}/words/{word_id}",
            patch(words::edit).delete(words::delete),
        )
        .route("/lists/{list_id}/review", get(words::review))
        .route("/lists/{list_id}/notebook", get(notebook::list))
        .route(
            "/lists/{list_id}/notebook/{word_id}",
            put(notebook::add).delete(notebook::remove),
        )
        .route("/notebooks", get(notebook::all))
        .route("/lists/{list_id}/quizzes", post(quizzes::create))
        .route("/quizzes/{quiz_id}/answers", post(quizzes::submit))
        .route("/me", get(me::get))
        .route("/client-events", post(client_events::post))
        .route_layer(from_fn_with_state(state.clone(), request_log::route_ctx))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed.into_response() })
        .fallback(|| async { ApiError::NotFound("route").into_response() })
        .layer(from_fn(request_log::catch_panic))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn_with_state(state.clone(), auth::authenticate))
        .layer(from_fn_with_state(state.clone(), request_log::log_request))
        .with_state(state)
}

/// `vocab-local`'s whole origin: the API at `/` and under [`API_PREFIX`] (stripped before
/// routing, so log lines never name it), `GET /config.json`, and with a web directory the
/// app's files and its `index.html` fallback (see [`web::serve`]). `/api/*` always reaches
/// the API, so its 404s stay JSON.
pub fn local_app(state: AppState, frontend: Frontend) -> Router {
    let api = app(state);
    let frontend = Arc::new(frontend);
    Router::new().fallback_service(tower::service_fn(move |req: Request<Body>| {
        let api = api.clone();
        let frontend = frontend.clone();
        async move { Ok::<_, Infallible>(front_door(api, &frontend, req).await) }
    }))
}

async fn front_door(
    api: Router,
    frontend: &Frontend,
    mut req: Request<Body>,
) -> axum::response::Response {
    use tower::ServiceExt;
    let path = req.uri().path();
    if let Some(rest) = path.strip_prefix(API_PREFIX)
        && (rest.is_empty() || rest.starts_with('/'))
    {
        let stripped = match req.uri().query() {
            Some(q) => format!("/{}?{q}", rest.trim_start_matches('/')),
            None => format!("/{}", rest.trim_start_matches('/')),
        };
        if let Ok(uri) = stripped.parse::<Uri>() {
            *req.uri_mut() = uri;
        }
        return api.oneshot(req).await.unwrap_or_else(|e| match e {});
    }
    let head = req.method() == Method::HEAD;
    if path == "/config.json" && (req.method() == Method::GET || head) {
        return web::config_response(&frontend.config, head);
    }
    if let Some(dir) = &frontend.dir {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let accept = req
            .headers()
            .get(axum::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if let Some(response) = web::serve(dir, &method, &path, accept.as_deref()).await {
            return response;
        }
    }
    api.oneshot(req).await.unwrap_or_else(|e| match e {})
}
