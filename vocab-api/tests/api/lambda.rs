//! The Lambda path: API Gateway (HTTP API, payload v2) events through the same router, the
//! caller from the JWT authorizer's `sub`, the Lambda request id and deadline.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use http_body_util::BodyExt;
use log_schema::field;
use serde_json::Value;
use tower::ServiceExt;
use vocab_api::AppState;

use super::harness::TestApp;

const EVENT: &str = include_str!("../data/apigw_v2_get_me.json");

fn event(edit: impl FnOnce(&mut Value), deadline_in: Duration) -> lambda_http::Request {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    let deadline = u64::try_from((now + deadline_in).as_millis()).expect("ms");
    event_with_deadline(edit, deadline)
}

fn event_with_deadline(edit: impl FnOnce(&mut Value), deadline_ms: u64) -> lambda_http::Request {
    let mut v: Value = serde_json::from_str(EVENT).expect("fixture");
    edit(&mut v);
    let mut req = lambda_http::request::from_str(&v.to_string()).expect("API Gateway v2 event");
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "lambda-req-42".into();
    ctx.deadline = deadline_ms;
    req.extensions_mut().insert(ctx);
    req
}

async fn call(t: &TestApp, req: lambda_http::Request) -> (StatusCode, Value) {
    let response = t.router.clone().oneshot(req).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, serde_json::from_slice(&bytes).expect("JSON body"))
}

#[tokio::test]
async fn the_caller_is_the_jwt_sub_and_the_dev_header_is_ignored() {
    let t = TestApp::with_state(|s| AppState::lambda(s, Duration::from_millis(500))).await;
    let (status, me) = call(&t, event(|_| {}, Duration::from_secs(30))).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["user_id"], "3f1c2a9e-jwt-user");

    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(line[field::FAAS_EXECUTION], "lambda-req-42");
    assert_eq!(line[field::USER_ID], "3f1c2a9e-jwt-user");
    assert_eq!(line[field::HTTP_ROUTE], "/me");
    let text = t.logs.text();
    assert!(
        !text.contains("SECRET-TOKEN") && !text.contains("someone-else"),
        "{text}"
    );

    // No authorizer claims: 401, whatever the x-dev-user header says.
    let (status, err) = call(
        &t,
        event(
            |v| v["requestContext"]["authorizer"] = Value::Null,
            Duration::from_secs(30),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["code"], "unauthorized");

    // `cargo lambda watch` sends a relative deadline (600000): not a deadline in the past.
    let (status, me) = call(&t, event_with_deadline(|_| {}, 600_000)).await;
    assert_eq!(status, StatusCode::OK, "{me}");

    // Debug faults are a vocab-local feature only.
    let (status, _) = call(
        &t,
        event(
            |v| v["headers"]["x-debug-fault"] = "error".into(),
            Duration::from_secs(30),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_request_near_the_lambda_deadline_answers_504_with_one_timeout_line() {
    let t = TestApp::with_state(|s| AppState {
        debug_faults: true, // only to make the handler slow
        ..AppState::lambda(s, Duration::from_millis(500))
    })
    .await;
    let started = std::time::Instant::now();
    let (status, err) = call(
        &t,
        event(
            |v| v["headers"]["x-debug-fault"] = "slow".into(),
            Duration::from_millis(800),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT, "{err}");
    assert_eq!(err["error"]["code"], "timeout");
    // The handler sleeps 3 s; the answer came at the budget (~300 ms), with slack for a
    // loaded machine.
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "cut short by the deadline"
    );
    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0][field::ERROR_TYPE], "timeout");
    assert_eq!(lines[0][field::HTTP_RESPONSE_STATUS_CODE], 504);
    assert_eq!(lines[0][field::LOG_LEVEL], "error");
    assert_eq!(lines[0][field::FAAS_EXECUTION], "lambda-req-42");
}
