//! The `main` of the four Lambda binaries (one function per area behind API Gateway; each
//! serves the same router, API Gateway sends it its area's routes).

use std::time::Instant;

use axum::Router;

use crate::config::Config;
use crate::state::AppState;

/// Logging, config, store, cold-start line, then the Lambda runtime loop serving the router
/// `app` builds (`vocab_api::app`).
pub async fn run(binary: &str, app: fn(AppState) -> Router) -> Result<(), lambda_http::Error> {
    let started = Instant::now();
    crate::telemetry::init();
    let config = Config::from_env(None)?;
    let store = crate::backend::open(&config, false).await?;
    let state = AppState::lambda(store, config.deadline_margin);
    crate::telemetry::cold_start(binary, started.elapsed());
    lambda_http::run(app(state)).await
}
