//! The request log: exactly one ECS JSON line per request, with the contract's fields, and
//! nothing secret (no bodies, no Authorization header). Panics and injected failures too.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use log_schema::field;
use serde_json::{Value, json};

use super::harness::{TestApp, send};

const SECRET_TOKEN: &str = "Bearer sk-live-DO-NOT-LOG-123";
const SECRET_WORD: &str = "비밀번호-hunter2";

async fn request(
    t: &TestApp,
    method: &str,
    uri: &str,
    user: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", SECRET_TOKEN)
        .header("cookie", "session=DO-NOT-LOG");
    if let Some(u) = user {
        req = req.header("x-dev-user", u);
    }
    let body = body
        .map(|b| Body::from(b.to_string()))
        .unwrap_or_else(Body::empty);
    send(&t.router, req.body(body).expect("request")).await
}

#[tokio::test]
async fn each_request_writes_exactly_one_line_with_the_contract_fields_and_no_secrets() {
    let t = TestApp::new().await;
    let list = t.create_list("alice", "l").await;
    t.logs.clear();
    let missing = uuid::Uuid::now_v7();

    // (method, uri, user, body, status, route, error.type)
    type Case<'a> = (
        &'a str,
        String,
        Option<&'a str>,
        Option<Value>,
        u16,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: Vec<Case> = vec![
        (
            "POST",
            format!("/lists/{list}/words"),
            Some("alice"),
            Some(json!({"word": SECRET_WORD, "meaning": "password"})),
            201,
            Some("/lists/{list_id}/words"),
            None,
        ),
        (
            "GET",
            format!("/lists/{list}?x=1"),
            Some("alice"),
            None,
            200,
            Some("/lists/{list_id}"),
            None,
        ),
        (
            "GET",
            format!("/lists/{missing}"),
            Some("alice"),
            None,
            404,
            Some("/lists/{list_id}"),
            Some("not_found"),
        ),
        (
            "POST",
            "/lists".into(),
            Some("alice"),
            Some(json!({"name": SECRET_WORD})),
            400,
            Some("/lists"),
            Some("validation"),
        ),
        (
            "POST",
            format!("/lists/{list}/quizzes"),
            Some("alice"),
            Some(json!({"count": SECRET_WORD})),
            400,
            Some("/lists/{list_id}/quizzes"),
            Some("validation"),
        ),
        (
            "GET",
            "/me".into(),
            None,
            None,
            401,
            Some("/me"),
            Some("unauthorized"),
        ),
        (
            "GET",
            "/no/such/route".into(),
            Some("alice"),
            None,
            404,
            None,
            Some("not_found"),
        ),
    ];
    for (i, (method, uri, user, body, status, route, error_type)) in cases.into_iter().enumerate() {
        let (got, resp) = request(&t, method, &uri, user, body).await;
        assert_eq!(got.as_u16(), status, "{uri}: {resp}");
        let lines = t.logs.lines();
        assert_eq!(
            lines.len(),
            i + 1,
            "exactly one line per request: {lines:#?}"
        );
        let line = &lines[i];
        assert_eq!(line[field::SERVICE_NAME], "vocab-api");
        assert_eq!(line[field::HTTP_REQUEST_METHOD], method);
        assert_eq!(
            line[field::URL_PATH],
            uri.split('?').next().expect("path"),
            "path only, no query"
        );
        assert_eq!(line[field::HTTP_RESPONSE_STATUS_CODE], status);
        assert_eq!(line[field::HTTP_ROUTE].as_str(), route);
        assert!(
            line[field::EVENT_DURATION].as_u64().is_some_and(|d| d > 0),
            "{line}"
        );
        assert!(
            line[field::FAAS_EXECUTION]
                .as_str()
                .is_some_and(|e| !e.is_empty())
        );
        assert!(
            line[field::TIMESTAMP]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
        assert!(
            line[field::MESSAGE]
                .as_str()
                .is_some_and(|m| m.contains(&status.to_string()))
        );
        assert_eq!(line[field::USER_ID].as_str(), user);
        let level = match status {
            500.. => "error",
            400.. => "warn",
            _ => "info",
        };
        assert_eq!(line[field::LOG_LEVEL], level);
        assert_eq!(line[field::ERROR_TYPE].as_str(), error_type, "{line}");
        assert_eq!(
            line[field::ERROR_MESSAGE].is_string(),
            error_type.is_some(),
            "{line}"
        );
    }
    let lines = t.logs.lines();
    assert_eq!(
        lines[0][field::APP]["list_id"],
        list.as_str(),
        "domain fields in one object"
    );
    assert_eq!(lines[0][field::APP]["word_count"], 1);

    let text = t.logs.text();
    for secret in [
        "sk-live",
        "DO-NOT-LOG",
        "hunter2",
        "비밀번호",
        "password",
        "authorization",
        "cookie",
    ] {
        assert!(
            !text.to_lowercase().contains(&secret.to_lowercase()),
            "{secret} leaked: {text}"
        );
    }
}

#[tokio::test]
async fn quiz_score_is_a_domain_field() {
    let t = TestApp::new().await;
    let list = t.create_list("alice", "l").await;
    t.add_words("alice", &list, &[("물", "water")]).await;
    let (_, quiz) = t
        .call(
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some("alice"),
            Some(json!({})),
        )
        .await;
    t.logs.clear();
    let answers =
        json!({"answers": [{"word_id": quiz["questions"][0]["word_id"], "answer": "water"}]});
    t.expect(
        StatusCode::OK,
        "POST",
        &format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id")),
        Some("alice"),
        Some(answers),
    )
    .await;
    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0][field::HTTP_ROUTE], "/quizzes/{quiz_id}/answers");
    assert_eq!(lines[0][field::APP]["quiz_score"], 1);
    assert_eq!(lines[0][field::APP]["quiz_total"], 1);
    assert_eq!(lines[0][field::APP]["list_id"], list.as_str());
}

#[tokio::test]
async fn a_panic_is_a_500_with_one_line_and_no_internals_in_the_body() {
    let t = TestApp::new().await;
    let req = Request::builder()
        .uri("/me")
        .header("x-dev-user", "alice")
        .header("x-debug-fault", "panic")
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(&t.router, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        json!({"error": {"code": "internal", "field": null, "message": "internal error"}})
    );
    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    assert_eq!(lines[0][field::ERROR_TYPE], "panic");
    let message = lines[0][field::ERROR_MESSAGE]
        .as_str()
        .expect("error.message");
    assert!(
        message.contains("injected fault") && message.contains("request_log.rs"),
        "{message}"
    );
    assert_eq!(lines[0][field::LOG_LEVEL], "error");
    assert_eq!(lines[0][field::HTTP_ROUTE], "/me");

    // The server keeps serving.
    t.expect(StatusCode::OK, "GET", "/me", Some("alice"), None)
        .await;
}

#[tokio::test]
async fn an_injected_store_failure_is_a_500_without_internals() {
    let t = TestApp::new().await;
    let req = Request::builder()
        .uri("/lists")
        .header("x-dev-user", "alice")
        .header("x-debug-fault", "error")
        .body(Body::empty())
        .expect("request");
    let (status, body) = send(&t.router, req).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["message"], "internal error");
    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0][field::ERROR_TYPE], "internal");
    assert!(
        lines[0][field::ERROR_MESSAGE]
            .as_str()
            .expect("msg")
            .contains("store unavailable")
    );
}
