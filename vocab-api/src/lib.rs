//! The vocabulary app's API: word lists, words, quizzes and the caller's profile.
//!
//! One axum [`Router`](axum::Router), built by [`app::app`], serves every route. The Lambda
//! binaries (`vocab-lists`, `vocab-words`, `vocab-quiz`, `vocab-me`) run it behind API Gateway
//! (HTTP API, payload v2); `vocab-local` serves it on 127.0.0.1. Every request writes exactly
//! one ECS JSON log line (field names from [`log_schema::field`]).
//!
//! Modules, from the bottom of the (one-way) import graph up; a module imports only modules
//! above it in this list (`tests/api/layering.rs` checks there is no cycle):

pub mod config; // settings from the environment: which store and where, deadline margin
pub mod model; // domain types as the API returns them
pub mod store; // the narrow storage trait
pub mod dynamo; // its DynamoDB implementation (single table) and `create_table`
pub mod mongo; // its MongoDB implementation (the original app's database)
pub mod backend; // opens the store `VOCAB_STORE` names (MongoDB URI from env or Secrets Manager)
pub mod error; // ApiError → JSON error response (one IntoResponse impl)
pub mod validate; // input limits and per-field checks
pub mod quiz; // quiz generation and answer checking (pure functions)
pub mod jwt; // bearer tokens verified as API Gateway's JWT authorizer does (vocab-local)
pub mod rate_limit; // a per-user token bucket (client events)
pub mod web; // vocab-local's runtime config and the built web app's files
pub mod log_ctx; // the request's log context (route, caller, `app.*` fields)
pub mod state; // AppState: the store handle, the auth mode, the deadline margin
pub mod extract; // body and query extractors that answer with our JSON errors (400/413)
pub mod auth; // middleware: the caller, resolved once into a request extension
pub mod request_log; // one log line per request, Lambda deadline timeout, panic → 500
pub mod routes; // handlers: lists, words, quizzes, me
pub mod telemetry; // tracing setup (ECS JSON lines on stdout), cold-start line, panic hook
pub mod lambda; // the shared `main` of the four Lambda binaries
pub mod app; // the root: the Router, `app(state)`

pub use app::{app, local_app};
pub use state::{AppState, AuthMode};
pub use store::Store;
