//! The vocabulary app's API: word lists, words, quizzes and the caller's profile.
//!
//! One axum [`Router`](axum::Router), built by [`app::app`], serves every route. The Lambda
//! binaries (`vocab-lists`, `vocab-words`, `vocab-quiz`, `vocab-me`) run it behind API Gateway
//! (HTTP API, payload v2); `vocab-local` serves it on 127.0.0.1. Every request writes exactly
//! one ECS JSON log line (field names from [`log_schema::field`]).
//!
//! Modules, in the order a request meets them:

pub mod app; // the Router: routes and layers, `app(state)`
pub mod auth; // the caller: JWT `sub` claim (Lambda) or `x-dev-user` (vocab-local only)
pub mod config; // settings from the environment: table name, endpoint, deadline margin
pub mod dynamo; // its DynamoDB implementation (single table) and `create_table`
pub mod error;
pub mod extract; // body and query extractors that answer with our JSON errors (400/413)
pub mod lambda; // the shared `main` of the four Lambda binaries
pub mod model; // domain types as the API returns them
pub mod quiz; // quiz generation and answer checking (pure functions)
pub mod request_log; // one log line per request, Lambda deadline timeout, panic → 500
pub mod routes; // handlers: lists, words, quizzes, me
pub mod store; // the narrow storage trait
pub mod telemetry; // tracing setup (ECS JSON lines on stdout), cold-start line, panic hook
pub mod validate; // input limits and per-field checks // ApiError → JSON error response (one IntoResponse impl)

pub use app::{AppState, AuthMode, app};
pub use store::Store;
