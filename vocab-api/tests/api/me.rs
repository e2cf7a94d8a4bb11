//! `/me`.

use axum::http::StatusCode;
use serde_json::json;

use super::harness::{Backend, TestApp, assert_error, per_store};

async fn me_reports_the_callers_own_stats(b: Backend) {
    let t = TestApp::on(b).await;
    let me = t
        .expect(StatusCode::OK, "GET", "/me", Some("alice"), None)
        .await;
    assert_eq!(me["user_id"], "alice");
    assert_eq!(me["lists"], 0);
    let created = me["created_at"].clone();

    let list = t.create_list("alice", "a").await;
    let words = t
        .add_words("alice", &list, &[("사과", "apple"), ("개", "dog")])
        .await;
    t.expect(
        StatusCode::OK,
        "PATCH",
        &format!("/lists/{list}/words/{}", words[0]),
        Some("alice"),
        Some(json!({"learned": true})),
    )
    .await;
    t.create_list("bob", "b").await;

    let me = t
        .expect(StatusCode::OK, "GET", "/me", Some("alice"), None)
        .await;
    assert_eq!(me["created_at"], created, "created once");
    assert_eq!(me["lists"], 1);
    assert_eq!(me["words"], 2);
    assert_eq!(me["learned"], 1);
    assert_eq!(me["quizzes_taken"], 0);

    let (s, b) = t.call("GET", "/me", None, None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
}

per_store!(me_reports_the_callers_own_stats,);
