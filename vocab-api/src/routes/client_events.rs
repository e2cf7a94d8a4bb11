//! `POST /client-events`: the web app reports its own failures and page loads. Each event
//! becomes one ECS log line of its own (`service.name: vocab-web`), which the shipper
//! indexes like every other line; the request itself still writes its usual request line.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use log_schema::field;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::log_ctx::LogCtx;
use crate::state::AppState;

/// Target (`log.logger`) of the event lines.
pub const TARGET: &str = "vocab_api::client_events";
/// `service.name` of the event lines: the web app's, not the API's.
pub const SERVICE: &str = "vocab-web";
/// Largest body (bytes); more answers `413`.
pub const MAX_BODY: usize = 16 * 1024;
/// Most events per request; more answers `400`.
pub const MAX_EVENTS: usize = 20;
/// Longest kept `message` / `stack` / other strings, in characters (longer ones are cut).
pub const MAX_MESSAGE: usize = 1_000;
pub const MAX_STACK: usize = 4_000;
pub const MAX_OTHER: usize = 200;
/// Longest kept `User-Agent`.
const MAX_USER_AGENT: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    events: Option<Vec<EventIn>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventIn {
    #[serde(rename = "type")]
    kind: Option<String>,
    page: Option<String>,
    message: Option<String>,
    error_type: Option<String>,
    stack: Option<String>,
    api_method: Option<String>,
    api_path: Option<String>,
    status: Option<u16>,
    duration_ms: Option<f64>,
}

/// `POST /client-events` `{"events":[…]}` → 202 `{"accepted":N}`.
pub async fn post(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    if let Err(wait) = st.client_events_limit.check(&user) {
        return Err(ApiError::RateLimited {
            retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
        });
    }
    let bytes = axum::body::to_bytes(body, MAX_BODY)
        .await
        .map_err(|_| ApiError::PayloadTooLarge { limit: MAX_BODY })?;
    let batch: Batch = crate::extract::json_object(&bytes)?;
    let Some(events) = batch.events else {
        return Err(ApiError::Invalid {
            code: "required",
            field: Some("events".into()),
            message: "is required".into(),
        });
    };
    if events.is_empty() || events.len() > MAX_EVENTS {
        return Err(ApiError::invalid(
            "events",
            format!("must hold 1 to {MAX_EVENTS} events, not {}", events.len()),
        ));
    }
    let events = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| check(i, e))
        .collect::<Result<Vec<_>, _>>()?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| cap(ua, MAX_USER_AGENT));
    for event in &events {
        write_line(event, &user, user_agent.as_deref());
    }
    log.app("event_count", events.len());
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "accepted": events.len() })),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Error,
    ApiError,
    PageLoad,
}

/// An event as it will be logged: validated and capped.
struct Event {
    kind: Kind,
    page: String,
    message: Option<String>,
    error_type: Option<String>,
    stack: Option<String>,
    api_method: Option<String>,
    api_path: Option<String>,
    status: Option<u16>,
    duration_ns: Option<u64>,
}

fn check(i: usize, e: EventIn) -> Result<Event, ApiError> {
    let at = |name: &str| format!("events[{i}].{name}");
    let kind = match e.kind.as_deref() {
        Some("error") => Kind::Error,
        Some("api_error") => Kind::ApiError,
        Some("page_load") => Kind::PageLoad,
        Some(_) => {
            return Err(ApiError::invalid(
                at("type"),
                "must be \"error\", \"api_error\" or \"page_load\"",
            ));
        }
        None => {
            return Err(ApiError::Invalid {
                code: "required",
                field: Some(at("type")),
                message: "is required".into(),
            });
        }
    };
    // The page's path only: a query string is never logged.
    let page = e
        .page
        .as_deref()
        .map(|p| p.split(['?', '#']).next().unwrap_or(""))
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| ApiError::invalid(at("page"), "must be the page's path, starting with /"))?;
    if e.status.is_some_and(|s| s > 599) {
        return Err(ApiError::invalid(
            at("status"),
            "must be an HTTP status (0 = network failure)",
        ));
    }
    let duration_ns = match e.duration_ms {
        None => None,
        Some(ms) if ms.is_finite() && (0.0..=3_600_000.0).contains(&ms) => {
            Some((ms * 1_000_000.0) as u64)
        }
        Some(_) => {
            return Err(ApiError::invalid(
                at("duration_ms"),
                "must be a number of milliseconds from 0 to 3600000",
            ));
        }
    };
    let other = |v: Option<String>| v.map(|s| cap(&s, MAX_OTHER));
    Ok(Event {
        kind,
        page: cap(page, MAX_OTHER),
        message: e.message.map(|s| cap(&s, MAX_MESSAGE)),
        error_type: other(e.error_type),
        stack: e.stack.map(|s| cap(&s, MAX_STACK)),
        api_method: other(e.api_method),
        api_path: other(e.api_path).map(|p| p.split('?').next().unwrap_or("").to_owned()),
        status: e.status,
        duration_ns,
    })
}

/// At most `max` characters.
fn cap(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => s[..i].to_owned(),
        None => s.to_owned(),
    }
}

fn write_line(e: &Event, user: &str, user_agent: Option<&str>) {
    let action = match e.kind {
        Kind::Error => "client.error",
        Kind::ApiError => "client.api_error",
        Kind::PageLoad => "client.page_load",
    };
    let error_type = match e.kind {
        Kind::PageLoad => None,
        Kind::Error => Some(e.error_type.clone().unwrap_or_else(|| "Error".into())),
        Kind::ApiError => Some(e.error_type.clone().unwrap_or_else(|| match e.status {
            Some(0) | None => "network".into(),
            Some(s) => format!("http_{s}"),
        })),
    };
    let app = (e.kind == Kind::ApiError).then(|| {
        json!({"api_method": e.api_method, "api_path": e.api_path, "api_status": e.status})
            .to_string()
    });
    let message = match e.kind {
        Kind::PageLoad => format!("page load {}", e.page),
        _ => format!(
            "{action} on {}: {}",
            e.page,
            e.message.as_deref().unwrap_or("(no message)")
        ),
    };
    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                target: TARGET,
                $level,
                { field::SERVICE_NAME } = SERVICE,
                { field::EVENT_KIND } = "event",
                { field::EVENT_ACTION } = action,
                { field::URL_PATH } = e.page.as_str(),
                { field::USER_AGENT_ORIGINAL } = user_agent,
                { field::USER_ID } = user,
                { field::ERROR_TYPE } = error_type.as_deref(),
                { field::ERROR_MESSAGE } = e.message.as_deref().filter(|_| e.kind != Kind::PageLoad),
                { field::ERROR_STACK_TRACE } = e.stack.as_deref().filter(|_| e.kind != Kind::PageLoad),
                { field::EVENT_DURATION } = e.duration_ns,
                { field::APP } = app.as_deref(),
                "{message}"
            )
        };
    }
    match e.kind {
        Kind::PageLoad => line!(tracing::Level::INFO),
        _ => line!(tracing::Level::ERROR),
    }
}
