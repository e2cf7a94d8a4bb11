//! `/lists` and `/lists/{list_id}`.

use axum::http::StatusCode;
use serde_json::json;

use super::harness::{Backend, TestApp, assert_error, per_store};

async fn create_get_rename_delete_a_list(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t
        .expect(
            StatusCode::CREATED,
            "POST",
            "/lists",
            Some("alice"),
            Some(json!({"name": "  여행 단어 ", "source_lang": "ko", "target_lang": "en-US"})),
        )
        .await;
    assert_eq!(list["name"], "여행 단어", "trimmed");
    assert_eq!(list["source_lang"], "ko");
    assert_eq!(list["target_lang"], "en-US");
    assert_eq!(list["word_count"], 0);
    assert_eq!(list["learned_count"], 0);
    let id = list["id"].as_str().expect("id");

    let (status, got) = t
        .call("GET", &format!("/lists/{id}"), Some("alice"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, list);

    let renamed = t
        .expect(
            StatusCode::OK,
            "PATCH",
            &format!("/lists/{id}"),
            Some("alice"),
            Some(json!({"name": "Travel"})),
        )
        .await;
    assert_eq!(renamed["name"], "Travel");
    assert_eq!(renamed["id"], id);

    let (status, body) = t
        .call("DELETE", &format!("/lists/{id}"), Some("alice"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_null());
    let (status, body) = t
        .call("GET", &format!("/lists/{id}"), Some("alice"), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
    let (status, body) = t
        .call("DELETE", &format!("/lists/{id}"), Some("alice"), None)
        .await;
    assert_error(status, &body, StatusCode::NOT_FOUND, "not_found");
}

async fn lists_are_paginated_in_creation_order(b: Backend) {
    let t = TestApp::on(b).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(t.create_list("alice", &format!("list {i}")).await);
    }
    t.create_list("bob", "bob's").await;

    let mut seen = Vec::new();
    let mut uri = "/lists?limit=2".to_owned();
    for _ in 0..10 {
        let page = t
            .expect(StatusCode::OK, "GET", &uri, Some("alice"), None)
            .await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|l| l["id"].as_str().expect("id").to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => uri = format!("/lists?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, ids, "all of alice's lists, in order, none of bob's");

    let page = t
        .expect(StatusCode::OK, "GET", "/lists", Some("carol"), None)
        .await;
    assert_eq!(page["items"], json!([]));
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn invalid_list_input_is_a_400_naming_the_field() {
    let t = TestApp::new().await;
    let cases = [
        (
            json!({"source_lang": "ko", "target_lang": "en"}),
            "required",
            Some("name"),
        ),
        (
            json!({"name": "  ", "source_lang": "ko", "target_lang": "en"}),
            "invalid_field",
            Some("name"),
        ),
        (
            json!({"name": "x".repeat(101), "source_lang": "ko", "target_lang": "en"}),
            "too_long",
            Some("name"),
        ),
        (
            json!({"name": "a\u{7}b", "source_lang": "ko", "target_lang": "en"}),
            "invalid_field",
            Some("name"),
        ),
        (
            json!({"name": "n", "source_lang": "k o", "target_lang": "en"}),
            "invalid_field",
            Some("source_lang"),
        ),
        (
            json!({"name": "n", "source_lang": "ko"}),
            "required",
            Some("target_lang"),
        ),
        (
            json!({"name": "n", "source_lang": "ko", "target_lang": "en", "owner": "bob"}),
            "invalid_json",
            Some("owner"),
        ),
        (
            json!({"name": 5, "source_lang": "ko", "target_lang": "en"}),
            "invalid_json",
            None,
        ),
        (json!(["not", "an", "object"]), "invalid_json", None),
    ];
    for (body, code, field) in cases {
        let (status, err) = t
            .call("POST", "/lists", Some("alice"), Some(body.clone()))
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, code);
        assert_eq!(err["error"]["field"].as_str(), field, "{body} → {err}");
    }
    let (status, err) = t.call("POST", "/lists", Some("alice"), None).await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_json");

    for q in [
        "limit=0",
        "limit=101",
        "limit=x",
        "cursor=nope",
        "sort=name",
    ] {
        let (status, err) = t
            .call("GET", &format!("/lists?{q}"), Some("alice"), None)
            .await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_field");
    }

    let id = t.create_list("alice", "ok").await;
    let (status, err) = t
        .call(
            "PATCH",
            &format!("/lists/{id}"),
            Some("alice"),
            Some(json!({"name": ""})),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_field");
    assert_eq!(err["error"]["field"], "name");
}

async fn missing_and_other_users_lists_are_both_404(b: Backend) {
    let t = TestApp::on(b).await;
    let alices = t.create_list("alice", "mine").await;
    let missing = uuid::Uuid::now_v7().to_string();
    for id in [alices.as_str(), missing.as_str(), "not-an-id"] {
        let (s, b) = t
            .call("GET", &format!("/lists/{id}"), Some("mallory"), None)
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
        let (s, b) = t
            .call(
                "PATCH",
                &format!("/lists/{id}"),
                Some("mallory"),
                Some(json!({"name": "pwned"})),
            )
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
        let (s, b) = t
            .call("DELETE", &format!("/lists/{id}"), Some("mallory"), None)
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    // Untouched for its owner.
    let (s, list) = t
        .call("GET", &format!("/lists/{alices}"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["name"], "mine");
}

#[tokio::test]
async fn no_identity_is_401_and_unknown_routes_are_json_errors() {
    let t = TestApp::new().await;
    let (s, b) = t.call("GET", "/lists", None, None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = t.call("GET", "/lists", Some("   "), None).await;
    assert_error(s, &b, StatusCode::UNAUTHORIZED, "unauthorized");
    let (s, b) = t.call("GET", "/nope", Some("alice"), None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = t.call("PUT", "/lists", Some("alice"), None).await;
    assert_error(s, &b, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413() {
    let t = TestApp::new().await;
    let big = "가".repeat(vocab_api::validate::MAX_BODY_BYTES / 3 + 10);
    let (s, b) = t
        .call(
            "POST",
            "/lists",
            Some("alice"),
            Some(json!({"name": big, "source_lang": "ko", "target_lang": "en"})),
        )
        .await;
    assert_error(s, &b, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

per_store!(
    create_get_rename_delete_a_list,
    lists_are_paginated_in_creation_order,
    missing_and_other_users_lists_are_both_404,
);
