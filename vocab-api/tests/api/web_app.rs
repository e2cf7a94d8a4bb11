//! Contract section A (issue 9): what the web app needs beyond the original API —
//! favourites, memos, the incorrect-answers notebook, multi-select delete, client events,
//! and `vocab-local`'s front door (`/api`, `/config.json`, the built app's files).

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use log_schema::field;
use serde_json::{Value, json};
use tower::ServiceExt;
use vocab_api::AppState;
use vocab_api::web::{Frontend, dev_config};

use super::harness::{Backend, TestApp, assert_error, per_store};

async fn lists_have_a_favourite_flag_and_words_a_memo(b: Backend) {
    let t = TestApp::on(b).await;
    let (s, list) = t
        .call(
            "POST",
            "/lists",
            Some("alice"),
            Some(
                json!({"name": "여행", "source_lang": "ko", "target_lang": "en", "favorite": true}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{list}");
    assert_eq!(list["favorite"], true);
    assert_eq!(list["notebook_count"], 0);
    let id = list["id"].as_str().expect("id");
    let plain = t.create_list("alice", "plain").await;
    let (_, got) = t
        .call("GET", &format!("/lists/{plain}"), Some("alice"), None)
        .await;
    assert_eq!(got["favorite"], false, "default");

    let l = t
        .expect(
            StatusCode::OK,
            "PATCH",
            &format!("/lists/{id}"),
            Some("alice"),
            Some(json!({"favorite": false})),
        )
        .await;
    assert_eq!(
        (l["favorite"].clone(), l["name"].clone()),
        (json!(false), json!("여행"))
    );
    let l = t
        .expect(
            StatusCode::OK,
            "PATCH",
            &format!("/lists/{id}"),
            Some("alice"),
            Some(json!({"name": "Trip", "favorite": true})),
        )
        .await;
    assert_eq!(
        (l["favorite"].clone(), l["name"].clone()),
        (json!(true), json!("Trip"))
    );
    let (s, e) = t
        .call(
            "PATCH",
            &format!("/lists/{id}"),
            Some("alice"),
            Some(json!({})),
        )
        .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_body");
    let (_, all) = t.call("GET", "/lists", Some("alice"), None).await;
    let favs: Vec<bool> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|l| l["favorite"] == true)
        .collect();
    assert_eq!(favs, [true, false], "creation order kept");

    // Memos: single add, bulk add, PATCH, cleared with "", limited to 2000 characters.
    let uri = format!("/lists/{id}/words");
    let (s, w) = t
        .call(
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"word": "사과", "meaning": "apple", "memo": "빨간 과일\n(red)"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{w}");
    assert_eq!(w["memo"], "빨간 과일\n(red)");
    assert_eq!(w["in_notebook"], false);
    let (s, bulk) = t
        .call("POST", &uri, Some("alice"), Some(json!({"items": [{"word": "개", "meaning": "dog"}, {"word": "물", "meaning": "water", "memo": "마시다"}]})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bulk}");
    assert_eq!(bulk["items"][0]["memo"], "");
    assert_eq!(bulk["items"][1]["memo"], "마시다");
    let word = format!("{uri}/{}", w["id"].as_str().expect("word id"));
    let (s, e) = t
        .call(
            "PATCH",
            &word,
            Some("alice"),
            Some(json!({"memo": "가".repeat(2001)})),
        )
        .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "too_long");
    assert_eq!(e["error"]["field"], "memo");
    let (s, e) = t
        .call(
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"items": [{"word": "a", "meaning": "b", "memo": "x\u{7}"}]})),
        )
        .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_field");
    assert_eq!(e["error"]["field"], "items[0].memo");
    let (s, w2) = t
        .call(
            "PATCH",
            &word,
            Some("alice"),
            Some(json!({"memo": "가".repeat(2000)})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w2}");
    let (s, w3) = t
        .call("PATCH", &word, Some("alice"), Some(json!({"memo": ""})))
        .await;
    assert_eq!(s, StatusCode::OK, "{w3}");
    assert_eq!(w3["memo"], "");
    assert_eq!(w3["meaning"], "apple", "the rest unchanged");
}

async fn notebook_ids(t: &TestApp, user: &str, list: &str) -> Vec<String> {
    let (s, page) = t
        .call(
            "GET",
            &format!("/lists/{list}/notebook?limit=100"),
            Some(user),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn notebook_count(t: &TestApp, user: &str, list: &str) -> i64 {
    let (_, l) = t
        .call("GET", &format!("/lists/{list}"), Some(user), None)
        .await;
    l["notebook_count"].as_i64().expect("notebook_count")
}

async fn the_notebook_takes_words_by_hand_and_by_wrong_quiz_answers(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let ids = t
        .add_words(
            "alice",
            &list,
            &[
                ("사과", "apple"),
                ("개", "dog"),
                ("물", "water"),
                ("책", "book"),
            ],
        )
        .await;
    let nb = |w: &str| format!("/lists/{list}/notebook/{w}");

    // By hand: idempotent both ways, counted once.
    for _ in 0..2 {
        let w = t
            .expect(StatusCode::OK, "PUT", &nb(&ids[0]), Some("alice"), None)
            .await;
        assert_eq!(w["in_notebook"], true);
    }
    assert_eq!(notebook_ids(&t, "alice", &list).await, [ids[0].clone()]);
    assert_eq!(notebook_count(&t, "alice", &list).await, 1);
    for _ in 0..2 {
        t.expect(
            StatusCode::NO_CONTENT,
            "DELETE",
            &nb(&ids[0]),
            Some("alice"),
            None,
        )
        .await;
    }
    assert!(notebook_ids(&t, "alice", &list).await.is_empty());
    assert_eq!(notebook_count(&t, "alice", &list).await, 0);

    // Another user's word, a missing word, a junk id: 404.
    let missing = uuid::Uuid::now_v7().to_string();
    for (user, w) in [
        ("mallory", ids[1].as_str()),
        ("alice", missing.as_str()),
        ("alice", "zzz"),
    ] {
        let (s, b) = t.call("PUT", &nb(w), Some(user), None).await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    let (s, b) = t
        .call(
            "GET",
            &format!("/lists/{list}/notebook"),
            Some("mallory"),
            None,
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");

    // By a quiz: every wrong (or unanswered) word goes in, right ones don't.
    let (s, quiz) = t
        .call(
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some("alice"),
            Some(json!({"mode": "typed", "count": 4})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{quiz}");
    let meaning = |word_id: &str| {
        let i = ids
            .iter()
            .position(|x| x == word_id)
            .expect("a word of the list");
        ["apple", "dog", "water", "book"][i]
    };
    let questions = quiz["questions"].as_array().expect("questions");
    let right: Vec<&str> = questions[..2]
        .iter()
        .map(|q| q["word_id"].as_str().expect("id"))
        .collect();
    let wrong_given = questions[2]["word_id"].as_str().expect("id");
    let unanswered = questions[3]["word_id"].as_str().expect("id");
    let mut answers: Vec<Value> = right
        .iter()
        .map(|w| json!({"word_id": w, "answer": meaning(w)}))
        .collect();
    answers.push(json!({"word_id": wrong_given, "answer": "틀림"}));
    let (s, r) = t
        .call(
            "POST",
            &format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id")),
            Some("alice"),
            Some(json!({"answers": answers})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let got: BTreeSet<String> = notebook_ids(&t, "alice", &list).await.into_iter().collect();
    let want: BTreeSet<String> = [wrong_given, unanswered]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(got, want);
    assert_eq!(notebook_count(&t, "alice", &list).await, 2);

    // GET /notebooks: this list with its count; an empty notebook's list is not there.
    t.create_list("alice", "empty").await;
    let all = t
        .expect(StatusCode::OK, "GET", "/notebooks", Some("alice"), None)
        .await;
    assert_eq!(all["items"].as_array().expect("items").len(), 1, "{all}");
    assert_eq!(all["items"][0]["list"]["id"], list.as_str());
    assert_eq!(all["items"][0]["count"], 2);
    let (_, none) = t.call("GET", "/notebooks", Some("bob"), None).await;
    assert_eq!(none, json!({"items": []}));

    // Deleting a word in the notebook takes it out of the count.
    let (s, _) = t
        .call(
            "DELETE",
            &format!("/lists/{list}/words/{wrong_given}"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(notebook_count(&t, "alice", &list).await, 1);
}

async fn batch_deletes_report_what_was_deleted_and_what_was_not_found(b: Backend) {
    let t = TestApp::on(b).await;
    let a1 = t.create_list("alice", "a1").await;
    let a2 = t.create_list("alice", "a2").await;
    let keep = t.create_list("alice", "keep").await;
    let bobs = t.create_list("bob", "b").await;
    let missing = uuid::Uuid::now_v7().to_string();
    let r = t
        .expect(
            StatusCode::OK,
            "POST",
            "/lists/batch-delete",
            Some("alice"),
            Some(json!({"ids": [a1, a2, bobs, missing, "junk", a1]})),
        )
        .await;
    assert_eq!(r["deleted"], json!([a1, a2]));
    assert_eq!(r["not_found"], json!([bobs, missing, "junk"]));
    let (s, _) = t
        .call("GET", &format!("/lists/{bobs}"), Some("bob"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "bob's list is untouched");
    let (_, mine) = t.call("GET", "/lists", Some("alice"), None).await;
    assert_eq!(mine["items"].as_array().expect("items").len(), 1);

    let ids = t
        .add_words("alice", &keep, &[("a", "1"), ("b", "2"), ("c", "3")])
        .await;
    t.expect(
        StatusCode::OK,
        "PATCH",
        &format!("/lists/{keep}/words/{}", ids[0]),
        Some("alice"),
        Some(json!({"learned": true})),
    )
    .await;
    t.expect(
        StatusCode::OK,
        "PUT",
        &format!("/lists/{keep}/notebook/{}", ids[1]),
        Some("alice"),
        None,
    )
    .await;
    let uri = format!("/lists/{keep}/words/batch-delete");
    let r = t
        .expect(
            StatusCode::OK,
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"ids": [ids[0], ids[1], missing]})),
        )
        .await;
    assert_eq!(r["deleted"], json!([ids[0], ids[1]]));
    assert_eq!(r["not_found"], json!([missing]));
    let (_, l) = t
        .call("GET", &format!("/lists/{keep}"), Some("alice"), None)
        .await;
    assert_eq!(
        (
            l["word_count"].clone(),
            l["learned_count"].clone(),
            l["notebook_count"].clone()
        ),
        (json!(1), json!(0), json!(0))
    );
    let (s, b) = t
        .call(
            "POST",
            &uri,
            Some("mallory"),
            Some(json!({"ids": [ids[2]]})),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");

    let too_many: Vec<String> = (0..101).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    for (u, body, field) in [
        ("/lists/batch-delete", json!({"ids": too_many}), "ids"),
        ("/lists/batch-delete", json!({"ids": []}), "ids"),
        ("/lists/batch-delete", json!({}), "ids"),
        (
            uri.as_str(),
            json!({"ids": (0..501).map(|i| i.to_string()).collect::<Vec<_>>()}),
            "ids",
        ),
    ] {
        let e = t
            .expect(
                StatusCode::BAD_REQUEST,
                "POST",
                u,
                Some("alice"),
                Some(body),
            )
            .await;
        assert_eq!(e["error"]["field"], field);
    }
}

async fn post_events(
    t: &TestApp,
    user: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value, Option<String>) {
    let mut req = Request::builder()
        .method("POST")
        .uri("/client-events")
        .header("content-type", "application/json")
        .header(
            header::USER_AGENT,
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
        );
    if let Some(u) = user {
        req = req.header("x-dev-user", u);
    }
    let response = t
        .router
        .clone()
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let retry = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        retry,
    )
}

fn keys(line: &Value) -> BTreeSet<&str> {
    line.as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn client_events_write_one_line_each_with_exactly_the_contract_fields() {
    let t = TestApp::new().await;
    let body = json!({"events": [
        {"type": "error", "page": "/lists/abc?token=SECRET", "message": "x".repeat(5000), "error_type": "TypeError", "stack": "at f (app.js:1:2)\n".repeat(500)},
        {"type": "api_error", "page": "/lists", "message": "Failed to fetch", "api_method": "GET", "api_path": "/lists/{list_id}?q=SECRET", "status": 0},
        {"type": "page_load", "page": "/", "duration_ms": 812.5},
    ]});
    let (s, r, _) = post_events(&t, Some("alice"), body.to_string().into_bytes()).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{r}");
    assert_eq!(r, json!({"accepted": 3}));
    let lines = t.logs.lines();
    assert_eq!(
        lines.len(),
        4,
        "one line per event and the request's own: {lines:#?}"
    );
    let (events, request) = (&lines[..3], &lines[3]);
    assert_eq!(request[field::HTTP_ROUTE], "/client-events");
    assert_eq!(request[field::HTTP_RESPONSE_STATUS_CODE], 202);
    assert_eq!(request[field::SERVICE_NAME], "vocab-api");

    let common = [
        field::TIMESTAMP,
        field::LOG_LEVEL,
        field::MESSAGE,
        field::SERVICE_NAME,
        field::LOG_LOGGER,
        field::EVENT_KIND,
        field::EVENT_ACTION,
        field::URL_PATH,
        field::USER_AGENT_ORIGINAL,
        field::USER_ID,
    ];
    let with = |extra: &[&'static str]| -> BTreeSet<&str> {
        common.iter().chain(extra).copied().collect()
    };
    assert_eq!(
        keys(&events[0]),
        with(&[
            field::ERROR_TYPE,
            field::ERROR_MESSAGE,
            field::ERROR_STACK_TRACE
        ])
    );
    assert_eq!(
        keys(&events[1]),
        with(&[field::ERROR_TYPE, field::ERROR_MESSAGE, field::APP])
    );
    assert_eq!(keys(&events[2]), with(&[field::EVENT_DURATION]));
    for (line, action, level) in events
        .iter()
        .zip([
            ("client.error", "error"),
            ("client.api_error", "error"),
            ("client.page_load", "info"),
        ])
        .map(|(l, (a, lv))| (l, a, lv))
    {
        assert_eq!(line[field::SERVICE_NAME], "vocab-web");
        assert_eq!(line[field::LOG_LOGGER], "vocab_api::client_events");
        assert_eq!(line[field::EVENT_KIND], "event");
        assert_eq!(line[field::EVENT_ACTION], action);
        assert_eq!(line[field::LOG_LEVEL], level);
        assert_eq!(line[field::USER_ID], "alice");
        assert_eq!(
            line[field::USER_AGENT_ORIGINAL],
            "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0"
        );
        assert!(line.get(field::HTTP_RESPONSE_STATUS_CODE).is_none());
    }
    assert_eq!(events[0][field::URL_PATH], "/lists/abc", "no query string");
    assert_eq!(events[0][field::ERROR_TYPE], "TypeError");
    assert_eq!(
        events[0][field::ERROR_MESSAGE]
            .as_str()
            .expect("msg")
            .chars()
            .count(),
        1000
    );
    assert_eq!(
        events[0][field::ERROR_STACK_TRACE]
            .as_str()
            .expect("stack")
            .chars()
            .count(),
        4000
    );
    assert_eq!(events[1][field::ERROR_TYPE], "network");
    assert_eq!(
        events[1][field::APP],
        json!({"api_method": "GET", "api_path": "/lists/{list_id}", "api_status": 0})
    );
    assert_eq!(events[2][field::EVENT_DURATION], 812_500_000);
    assert!(!t.logs.text().contains("SECRET"));
}

#[tokio::test]
async fn client_events_are_bounded_validated_and_rate_limited() {
    let t = TestApp::new().await;
    let event = json!({"type": "error", "page": "/", "message": "boom"});
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (
            json!({"events": vec![event.clone(); 21]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            json!({"events": []}).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            json!({"events": [{"type": "crash", "page": "/"}]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            json!({"events": [{"type": "error", "page": "no-slash"}]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_field",
        ),
        (
            json!({"events": [{"type": "error", "page": "/", "status": "500"}]})
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "invalid_json",
        ),
        (
            json!({"events": [{"type": "error", "page": "/", "message": "m".repeat(17 * 1024)}]})
                .to_string()
                .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (body, want, code) in cases {
        let (s, e, _) = post_events(&t, Some("alice"), body).await;
        assert_error(s, &e, want, code);
    }
    let (s, e, _) = post_events(
        &t,
        None,
        json!({"events": [event]}).to_string().into_bytes(),
    )
    .await;
    assert_error(s, &e, StatusCode::UNAUTHORIZED, "unauthorized");
    let event_lines = t
        .logs
        .lines()
        .iter()
        .filter(|l| l[field::SERVICE_NAME] == "vocab-web")
        .count();
    assert_eq!(event_lines, 0, "nothing logged from refused batches");

    // The burst allowance (the refused batches above count too), then 429 with Retry-After;
    // another user is not affected.
    let ok = json!({"events": [event]}).to_string().into_bytes();
    let mut limited = None;
    for _ in 0..vocab_api::state::CLIENT_EVENTS_BURST {
        let (s, e, retry) = post_events(&t, Some("alice"), ok.clone()).await;
        if s == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(e["error"]["code"], "rate_limited");
            limited = retry;
            break;
        }
        assert_eq!(s, StatusCode::ACCEPTED, "{e}");
    }
    let retry = limited
        .expect("429 within the burst")
        .parse::<u64>()
        .expect("seconds");
    assert!(
        (1..=vocab_api::state::CLIENT_EVENTS_REFILL.as_secs()).contains(&retry),
        "{retry}"
    );
    let (s, _, _) = post_events(&t, Some("bob"), ok).await;
    assert_eq!(s, StatusCode::ACCEPTED);
}

fn temp_web_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vocab-web-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("assets")).expect("mkdir");
    std::fs::write(
        dir.join("index.html"),
        "<!doctype html><title>Remember Me</title>",
    )
    .expect("index");
    std::fs::write(dir.join("assets/app-3f9a1c.js"), "console.log('app')").expect("asset");
    std::fs::write(dir.join("favicon.svg"), "<svg/>").expect("favicon");
    dir
}

async fn get(t: &TestApp, uri: &str, accept: Option<&str>) -> (StatusCode, String, String, String) {
    let mut req = Request::builder().uri(uri).header("x-dev-user", "alice");
    if let Some(a) = accept {
        req = req.header(header::ACCEPT, a);
    }
    let response = t
        .router
        .clone()
        .oneshot(req.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let h = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (status, ctype, cache) = (
        response.status(),
        h(header::CONTENT_TYPE),
        h(header::CACHE_CONTROL),
    );
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        ctype,
        cache,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

#[tokio::test]
async fn vocab_local_serves_the_api_under_api_the_config_and_the_app_with_its_cache_headers() {
    let dir = temp_web_dir();
    let t = TestApp::local(
        AppState::local,
        Frontend {
            dir: Some(dir.clone()),
            config: dev_config(),
        },
    )
    .await;
    let html = Some("text/html,application/xhtml+xml,*/*;q=0.8");

    let list = t.create_list("alice", "l").await;
    t.logs.clear();
    let (s, _, _, body) = get(&t, &format!("/api/lists/{list}?x=1"), None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let line = &t.logs.lines()[0];
    assert_eq!(
        line[field::URL_PATH],
        format!("/lists/{list}"),
        "the prefix is stripped before routing and logging"
    );
    assert_eq!(line[field::HTTP_ROUTE], "/lists/{list_id}");
    let (s, ctype, _, body) = get(&t, "/api/no/such/route", html).await;
    assert_eq!(
        (s, ctype.as_str()),
        (StatusCode::NOT_FOUND, "application/json"),
        "API 404s stay JSON: {body}"
    );
    let (s, ctype, _, _) = get(&t, &format!("/api/lists/{list}"), html).await;
    assert_eq!((s, ctype.as_str()), (StatusCode::OK, "application/json"));
    let (s, _, _, body) = get(&t, "/lists", None).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "the API stays at / for API clients: {body}"
    );

    let (s, ctype, cache, body) = get(&t, "/config.json", None).await;
    assert_eq!(
        (s, ctype.as_str(), cache.as_str()),
        (StatusCode::OK, "application/json", "no-cache")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("json"),
        json!({"api_base": "/api", "auth": {"mode": "dev"}})
    );

    let (s, ctype, cache, body) = get(&t, "/assets/app-3f9a1c.js", None).await;
    assert_eq!(
        (s, cache.as_str(), body.as_str()),
        (
            StatusCode::OK,
            "public, max-age=31536000, immutable",
            "console.log('app')"
        )
    );
    assert!(ctype.starts_with("text/javascript"), "{ctype}");
    for page in ["/", "/lists/0190abcd/study", "/auth/callback?code=x"] {
        let (s, ctype, cache, body) = get(&t, page, html).await;
        assert_eq!((s, cache.as_str()), (StatusCode::OK, "no-cache"), "{page}");
        assert!(
            ctype.starts_with("text/html") && body.contains("Remember Me"),
            "{page}: {body}"
        );
    }
    let (s, _, cache, _) = get(&t, "/favicon.svg", None).await;
    assert_eq!((s, cache.as_str()), (StatusCode::OK, "no-cache"));
    let (s, _, _, body) = get(&t, "/assets/app-old.js", html).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a missing asset is not the page: {body}"
    );
    for sneaky in ["/../Cargo.toml", "/%2e%2e/Cargo.toml", "/.hidden"] {
        let (s, _, _, body) = get(&t, sneaky, None).await;
        assert_ne!(s, StatusCode::OK, "{sneaky}: {body}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

per_store!(
    lists_have_a_favourite_flag_and_words_a_memo,
    the_notebook_takes_words_by_hand_and_by_wrong_quiz_answers,
    batch_deletes_report_what_was_deleted_and_what_was_not_found,
);
