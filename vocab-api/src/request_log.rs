//! The one log line per request, and the two ways a request can end badly without a handler
//! returning: a panic (caught, answered `500`) and the Lambda deadline (answered `504` just
//! before it). Either way the request still gets its single line.
//!
//! Layers, outermost first: [`log_request`] (timing, deadline, the line) → authentication
//! (`crate::auth::authenticate`, the caller into the [`LogCtx`]) → body limit →
//! [`catch_panic`] → routing → [`route_ctx`] (route template, development faults) → handler.
//! Handlers add domain fields (`app.*`) through the [`LogCtx`] extension.
//! Nothing from bodies or headers is ever logged, apart from the caller id.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lambda_http::RequestExt;
use log_schema::field;
use serde_json::Value;

use crate::error::{ApiError, ErrorInfo};
use crate::log_ctx::LogCtx;
use crate::state::AppState;

/// Target of the request lines (filter on it with `RUST_LOG`).
pub const TARGET: &str = "vocab_api::request";

/// Header that makes `vocab-local` (only it) fail on purpose: `error` (a 500 from a store
/// failure), `panic` (a handler panic), `slow` (sleeps 3 s; with a Lambda deadline, a 504).
pub const DEBUG_FAULT_HEADER: &str = "x-debug-fault";

/// 2020-01-01T00:00:00Z in ms since the epoch.
const EPOCH_2020_MS: u64 = 1_577_836_800_000;

static COLD: AtomicBool = AtomicBool::new(true);

/// Outermost layer: times the request, enforces the Lambda deadline and writes the line.
///
/// The request runs in a task of its own, so that neither a client that goes away (which
/// drops this future) nor the deadline's `504` cuts a handler short in the middle of its
/// writes: the handler always finishes, and the one line is always written.
pub async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use tracing::instrument::WithSubscriber;
    let task = tokio::spawn(run_and_log(state, req, next).with_current_subscriber());
    match task.await {
        Ok(response) => response,
        Err(e) => ApiError::Panic(format!("request task failed: {e}")).into_response(),
    }
}

async fn run_and_log(state: AppState, mut req: Request, next: Next) -> Response {
    use tracing::instrument::WithSubscriber;
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let (execution, deadline) = match req.extensions().lambda_context_ref() {
        // Lambda sends ms since the epoch. Anything before 2020 is not a real deadline
        // (`cargo lambda watch` sends 600000, a relative 10 minutes): run without one.
        Some(ctx) => (
            ctx.request_id.clone(),
            Some(ctx.deadline).filter(|d| *d > EPOCH_2020_MS),
        ),
        None => (uuid::Uuid::new_v4().to_string(), None),
    };
    // Filled on the way: the caller by the auth layer (so it is on every line, even for
    // requests no handler takes: unknown route, 413), the route by the router, `app.*` by
    // the handler.
    let ctx = LogCtx::default();
    req.extensions_mut().insert(ctx.clone());

    // The store counts what this request reads (`app.items_read`, `app.keys_read`).
    let reads = std::sync::Arc::new(crate::store::Reads::default());
    let mut run = tokio::spawn(
        crate::store::Reads::scope(reads.clone(), next.run(req)).with_current_subscriber(),
    );
    let finished = |r: Result<Response, tokio::task::JoinError>| match r {
        Ok(response) => response,
        Err(e) => ApiError::Panic(format!("handler task failed: {e}")).into_response(),
    };
    let response = match deadline.map(remaining) {
        Some(left) => {
            match tokio::time::timeout(left.saturating_sub(state.deadline_margin), &mut run).await {
                Ok(r) => finished(r),
                Err(_) => {
                    // Answer now; the handler goes on (detached) and finishes its writes.
                    ctx.app("deadline_left_ms", left.as_millis() as u64);
                    ApiError::Timeout.into_response()
                }
            }
        }
        None => finished(run.await),
    };

    let status = response.status().as_u16();
    let error = response.extensions().get::<ErrorInfo>();
    if reads.items() > 0 || reads.keys() > 0 {
        ctx.app("items_read", reads.items());
        ctx.app("keys_read", reads.keys());
    }
    let crate::log_ctx::LogFields { route, user, app } = ctx.take();
    let app = (!app.is_empty()).then(|| Value::Object(app).to_string());
    let duration_ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let cold = COLD.swap(false, Ordering::Relaxed);
    let message = format!("{method} {} {status}", route.as_deref().unwrap_or(&path));

    macro_rules! line {
        ($level:expr) => {
            tracing::event!(
                target: TARGET,
                $level,
                { field::HTTP_REQUEST_METHOD } = method.as_str(),
                { field::URL_PATH } = path.as_str(),
                { field::HTTP_ROUTE } = route.as_deref(),
                { field::HTTP_RESPONSE_STATUS_CODE } = u64::from(status),
                { field::EVENT_DURATION } = duration_ns,
                { field::FAAS_EXECUTION } = execution.as_str(),
                { field::FAAS_COLDSTART } = cold,
                { field::USER_ID } = user.as_deref(),
                { field::ERROR_TYPE } = error.map(|e| e.kind),
                { field::ERROR_MESSAGE } = error.map(|e| e.message.as_str()),
                { field::APP } = app.as_deref(),
                "{message}"
            )
        };
    }
    match status {
        500.. => line!(tracing::Level::ERROR),
        400..500 => line!(tracing::Level::WARN),
        _ => line!(tracing::Level::INFO),
    }
    response
}

/// Time left before the deadline (ms since the epoch).
fn remaining(deadline_ms: u64) -> Duration {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

/// Inside routing (`route_layer`): records the route template, and in `vocab-local` applies
/// the [`DEBUG_FAULT_HEADER`].
pub async fn route_ctx(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let (Some(path), Some(ctx)) = (
        req.extensions().get::<MatchedPath>(),
        req.extensions().get::<LogCtx>(),
    ) {
        ctx.route(path.as_str());
    }
    if state.debug_faults {
        let fault = req
            .headers()
            .get(DEBUG_FAULT_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match fault.as_deref() {
            Some("error") => {
                return ApiError::Internal("injected fault: store unavailable".into())
                    .into_response();
            }
            Some("panic") => panic!("injected fault: handler panicked"),
            Some("slow") => tokio::time::sleep(Duration::from_secs(3)).await,
            _ => {}
        }
    }
    let response = next.run(req).await;
    // axum's own rejections (a path segment that isn't UTF-8 after percent-decoding, say)
    // are plain text: answer them with our JSON error like every other failure.
    if response.status().is_client_error() && response.extensions().get::<ErrorInfo>().is_none() {
        return ApiError::Invalid {
            code: "invalid_request",
            field: None,
            message: format!(
                "the request could not be read ({}): check the URL's percent-encoding",
                response.status()
            ),
        }
        .into_response();
    }
    response
}

thread_local! {
    /// Depth of `catch_panic` polls on this thread: the panic hook stays quiet inside one.
    static CATCHING: Cell<u32> = const { Cell::new(0) };
    /// The last caught panic's message and location, left by the hook for `catch_panic`.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that writes panics outside a request as one ECS line, and leaves a
/// request's panic (message and location) to its request line. Call once at startup.
pub fn install_panic_hook() {
    install_panic_hook_with(|text| {
        tracing::event!(
            target: "vocab_api::panic",
            tracing::Level::ERROR,
            { field::ERROR_TYPE } = "panic",
            { field::ERROR_MESSAGE } = text,
            "panic outside a request"
        );
    });
}

/// Like [`install_panic_hook`], with `outside` called (with the panic's message and
/// location) for panics outside a request.
pub fn install_panic_hook_with(outside: impl Fn(&str) + Send + Sync + 'static) {
    std::panic::set_hook(Box::new(move |info| {
        let payload = payload_text(info.payload());
        let text = match info.location() {
            Some(l) => format!("{payload} at {}:{}:{}", l.file(), l.line(), l.column()),
            None => payload,
        };
        if CATCHING.with(Cell::get) > 0 {
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        } else {
            outside(&text);
        }
    }));
}

fn payload_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Turns a panic in a handler into a `500` (with `error.type: panic` on the line).
pub async fn catch_panic(req: Request, next: Next) -> Response {
    match CatchUnwind(Box::pin(next.run(req))).await {
        Ok(response) => response,
        Err(payload) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            ApiError::Panic(text).into_response()
        }
    }
}

struct CatchUnwind<F: ?Sized>(Pin<Box<F>>);

impl<F: Future + ?Sized> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        CATCHING.with(|c| c.set(c.get() + 1));
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| inner.as_mut().poll(cx)));
        CATCHING.with(|c| c.set(c.get().saturating_sub(1)));
        match polled {
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}
