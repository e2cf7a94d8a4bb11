//! Issue 14, "Store correctness": one regression test per bug the review found. Faults that
//! the emulator can't make on demand come from the [`FaultProxy`] (DynamoDB's documented
//! error shapes); races run on the one-request-at-a-time emulator, so moto's own races are
//! excluded (as in the black-box probe that found them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use log_schema::field;
use serde_json::{Value, json};
use tower::ServiceExt;
use vocab_api::store::WordFilter;

use super::fault_proxy::Fault;
use super::harness::{Backend, TestApp, assert_error, per_store, send};

fn items(n: usize, tag: &str) -> Value {
    let words: Vec<Value> = (0..n)
        .map(|i| json!({"word": format!("{tag}{i}"), "meaning": format!("m{i}")}))
        .collect();
    json!({ "items": words })
}

async fn word_count(t: &TestApp, list: &str) -> i64 {
    let (s, l) = t
        .call("GET", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    l["word_count"].as_i64().expect("word_count")
}

async fn stored_words(t: &TestApp, list: &str) -> usize {
    t.store.words("alice", list).await.expect("words").len()
}

async fn raw(t: &TestApp, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = t.router.clone().oneshot(req).await.expect("infallible");
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn issue_14_a_transaction_conflict_is_retried_not_reported_as_list_full() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    proxy.inject(
        "TransactWriteItems",
        0,
        2,
        Fault::Canceled(vec![(1, "TransactionConflict")]),
    );
    let (s, w) = t
        .call(
            "POST",
            &format!("/lists/{list}/words"),
            Some("alice"),
            Some(json!({"word": "물", "meaning": "water"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "a conflict is a race to retry, not a full list: {w}"
    );
    let tries = proxy
        .calls()
        .iter()
        .filter(|c| c.target == "TransactWriteItems")
        .count();
    assert_eq!(tries, 3, "two conflicts, then the write");
    assert_eq!(word_count(&t, &list).await, 1);
}

#[tokio::test]
async fn issue_14_a_throttled_transaction_is_a_503_with_retry_after() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    proxy.inject(
        "TransactWriteItems",
        0,
        1,
        Fault::Canceled(vec![(1, "ThrottlingError")]),
    );
    let req = Request::builder()
        .method("POST")
        .uri(format!("/lists/{list}/words"))
        .header("x-dev-user", "alice")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"word": "물", "meaning": "water"}).to_string(),
        ))
        .expect("request");
    let (s, headers, body) = raw(&t, req).await;
    assert_error(s, &body, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(
        headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    assert_eq!(
        t.logs.lines().last().expect("line")[field::ERROR_TYPE],
        "store_throttled"
    );
    assert_eq!(word_count(&t, &list).await, 0);
}

#[tokio::test]
async fn issue_14_a_bulk_add_that_fails_in_the_middle_leaves_nothing_behind() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    // 250 words = three transactions (99 + 99 + 52); the second is refused.
    proxy.inject(
        "TransactWriteItems",
        1,
        1,
        Fault::Canceled(vec![(7, "ValidationError")]),
    );
    let (s, body) = t
        .call(
            "POST",
            &format!("/lists/{list}/words"),
            Some("alice"),
            Some(items(250, "w")),
        )
        .await;
    assert!(s.is_server_error(), "{s} {body}");
    assert_eq!(word_count(&t, &list).await, 0, "the list's counter is back");
    assert_eq!(
        stored_words(&t, &list).await,
        0,
        "the first transaction's words were taken back"
    );
    // And the same add goes through once DynamoDB is fine again.
    let (s, body) = t
        .call(
            "POST",
            &format!("/lists/{list}/words"),
            Some("alice"),
            Some(items(250, "w")),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(
        (word_count(&t, &list).await, stored_words(&t, &list).await),
        (250, 250)
    );
}

/// The same promise on every store, without fault injection: one word of a 250-word add
/// (in DynamoDB's second transaction) has the id of a word already stored, so that write is
/// refused; nothing of the add may stay, and the word already there is untouched.
async fn issue_14_a_bulk_add_refused_in_the_middle_stores_none_of_its_words(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let existing = t.add_words("alice", &list, &[("물", "water")]).await;
    let now = vocab_api::model::now();
    let mut words: Vec<vocab_api::model::Word> = (0..250)
        .map(|i| vocab_api::model::Word {
            id: vocab_api::model::new_id(),
            list_id: list.clone(),
            word: format!("w{i}"),
            meaning: format!("m{i}"),
            memo: String::new(),
            learned: false,
            in_notebook: false,
            right_count: 0,
            wrong_count: 0,
            created_at: now.clone(),
            updated_at: now.clone(),
        })
        .collect();
    words[150].id.clone_from(&existing[0]);
    let outcome = t.store.add_words("alice", &list, &words, 5000).await;
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(word_count(&t, &list).await, 1, "the list's counter is back");
    let stored = t.store.words("alice", &list).await.expect("words");
    assert_eq!(stored.len(), 1, "none of the add's words stayed");
    assert_eq!(
        (stored[0].word.as_str(), stored[0].meaning.as_str()),
        ("물", "water")
    );
}

#[tokio::test]
async fn issue_14_a_page_of_words_reads_a_page_of_the_table_not_the_whole_list() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    for round in 0..1 {
        t.expect(
            StatusCode::CREATED,
            "POST",
            &format!("/lists/{list}/words"),
            Some("alice"),
            Some(items(300, &format!("r{round}-"))),
        )
        .await;
    }
    proxy.clear_calls();
    let page = t
        .expect(
            StatusCode::OK,
            "GET",
            &format!("/lists/{list}/words?limit=20"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 20);
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let queries: Vec<_> = proxy
        .calls()
        .into_iter()
        .filter(|c| c.target == "Query")
        .collect();
    assert!(!queries.is_empty());
    let scanned: i64 = queries
        .iter()
        .map(|q| q.response["ScannedCount"].as_i64().unwrap_or(0))
        .sum();
    assert!(
        queries
            .iter()
            .all(|q| q.request["Limit"].as_i64().is_some()),
        "{queries:?}"
    );
    assert!(
        scanned < 300,
        "read {scanned} of 300 words for a page of 20"
    );

    proxy.clear_calls();
    let next = t
        .expect(
            StatusCode::OK,
            "GET",
            &format!("/lists/{list}/words?limit=20&cursor={cursor}"),
            Some("alice"),
            None,
        )
        .await;
    assert_ne!(next["items"][0]["id"], page["items"][0]["id"]);
    let first = &proxy
        .calls()
        .into_iter()
        .find(|c| c.target == "Query")
        .expect("a query")
        .request;
    assert!(
        first["ExclusiveStartKey"]["sk"]["S"]
            .as_str()
            .is_some_and(|k| k.ends_with(&cursor)),
        "{first}"
    );
}

async fn issue_14_a_choice_quiz_too_big_for_one_item_is_a_clear_400(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "long").await;
    // 50 words with 1,000-character Hangul meanings: a 50-question choice quiz carries
    // 250 of them (~750 KB), past DynamoDB's 400 KB item limit.
    let syllables: Vec<char> = "가나다라마바사아자차카타파하".chars().collect();
    let words: Vec<Value> = (0..50)
        .map(|i| {
            let meaning: String = (0..1000)
                .map(|j| syllables[(i * 7 + j * (i % 5 + 1)) % syllables.len()])
                .collect();
            json!({"word": format!("단어{i}"), "meaning": meaning})
        })
        .collect();
    t.expect(
        StatusCode::CREATED,
        "POST",
        &format!("/lists/{list}/words"),
        Some("alice"),
        Some(json!({"items": words})),
    )
    .await;
    let (s, e) = t
        .call(
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some("alice"),
            Some(json!({"count": 50, "mode": "choice"})),
        )
        .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "quiz_too_large");
    assert_eq!(e["error"]["field"], "count");
    let message = e["error"]["message"].as_str().expect("message");
    let fit: i64 = message
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("how many fit");
    assert!((1..50).contains(&fit), "{message}");
    let (s, quiz) = t
        .call(
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some("alice"),
            Some(json!({"count": fit - 2, "mode": "choice"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "a quiz of the size it names is stored: {quiz}"
    );
}

#[tokio::test]
async fn issue_14_store_failures_log_a_short_stable_error() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    // More than the SDK's own retries (3 attempts).
    proxy.inject("GetItem", 0, 10, Fault::Internal);
    t.logs.clear();
    let (s, e) = t
        .call("GET", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_error(s, &e, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    let line = &t.logs.lines()[0];
    assert_eq!(line[field::ERROR_TYPE], "store");
    let message = line[field::ERROR_MESSAGE].as_str().expect("error.message");
    assert!(
        message.starts_with("GetItem failed: InternalServerError"),
        "{message}"
    );
    assert!(message.len() < 200, "short: {message}");
    assert!(
        !message.contains("FAULTPROXY0REQUEST") && !message.contains("Response {"),
        "{message}"
    );
}

#[tokio::test]
async fn issue_14_a_throttled_read_is_a_503_not_a_500() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    proxy.inject("GetItem", 0, 10, Fault::Throttling);
    let (s, e) = t
        .call("GET", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_error(s, &e, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
}

#[tokio::test]
async fn issue_14_unknown_names_are_capped_and_query_names_never_logged() {
    let t = TestApp::new().await;
    let huge = "f".repeat(250_000);
    let body = format!(r#"{{"name":"l","source_lang":"ko","target_lang":"en","{huge}":1}}"#);
    let req = Request::builder()
        .method("POST")
        .uri("/lists")
        .header("x-dev-user", "alice")
        .header("content-type", "application/json")
        .body(Body::from(body))
        .expect("request");
    let (s, e) = send(&t.router, req).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_json");
    assert!(
        e["error"]["field"]
            .as_str()
            .is_some_and(|f| f.chars().count() <= 65),
        "capped"
    );
    assert!(e.to_string().len() < 2_000, "{} bytes", e.to_string().len());
    let text = t.logs.text();
    assert!(text.len() < 4_000, "a {} byte log line", text.len());

    t.logs.clear();
    let (s, e) = t
        .call("GET", "/lists?secret_param_name=1", Some("alice"), None)
        .await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_field");
    assert_eq!(
        e["error"]["field"], "secret_param_name",
        "the caller is told"
    );
    assert!(
        !t.logs.text().contains("secret_param_name"),
        "{}",
        t.logs.text()
    );
}

async fn issue_14_a_list_delete_wins_atomically_over_concurrent_adds(b: Backend) {
    let t = TestApp::concurrent(b).await;
    for round in 0..3 {
        let list = t.create_list("alice", &format!("l{round}")).await;
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..12 {
            let router = t.router.clone();
            let uri = format!("/lists/{list}/words");
            tasks.spawn(async move {
                if i == 4 {
                    let req = Request::builder()
                        .method("DELETE")
                        .uri(format!(
                            "/lists/{}",
                            uri.trim_end_matches("/words").trim_start_matches("/lists/")
                        ))
                        .header("x-dev-user", "alice")
                        .body(Body::empty())
                        .expect("request");
                    return send(&router, req).await.0;
                }
                let req = Request::builder()
                    .method("POST")
                    .uri(uri)
                    .header("x-dev-user", "alice")
                    .header("content-type", "application/json")
                    .body(Body::from(
                        json!({"word": format!("w{i}"), "meaning": "m"}).to_string(),
                    ))
                    .expect("request");
                send(&router, req).await.0
            });
        }
        let statuses: Vec<StatusCode> = tasks.join_all().await;
        assert!(
            statuses.iter().all(|s| [
                StatusCode::CREATED,
                StatusCode::NO_CONTENT,
                StatusCode::NOT_FOUND
            ]
            .contains(s)),
            "{statuses:?}"
        );
        let (s, _) = t
            .call("GET", &format!("/lists/{list}"), Some("alice"), None)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            stored_words(&t, &list).await,
            0,
            "round {round}: no word outlives its list"
        );
    }
}

async fn issue_14_contended_patches_back_off_and_never_answer_500(b: Backend) {
    let t = TestApp::concurrent(b).await;
    let list = t.create_list("alice", "l").await;
    let ids = t.add_words("alice", &list, &[("물", "water")]).await;
    let uri = format!("/lists/{list}/words/{}", ids[0]);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..20 {
        let (router, uri) = (t.router.clone(), uri.clone());
        tasks.spawn(async move {
            let req = Request::builder()
                .method("PATCH")
                .uri(uri)
                .header("x-dev-user", "alice")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"learned": i % 2 == 0, "memo": format!("m{i}")}).to_string(),
                ))
                .expect("request");
            send(&router, req).await
        });
    }
    for (s, body) in tasks.join_all().await {
        assert!(
            s == StatusCode::OK || s == StatusCode::CONFLICT,
            "{s} {body}"
        );
        if s == StatusCode::CONFLICT {
            assert_eq!(body["error"]["code"], "conflict");
        }
    }
    let (_, w) = t
        .call("GET", &format!("/lists/{list}/words"), Some("alice"), None)
        .await;
    let learned = w["items"][0]["learned"] == true;
    let (_, l) = t
        .call("GET", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_eq!(
        l["learned_count"],
        i64::from(learned),
        "the counter follows the flag"
    );
}

async fn issue_14_a_client_that_goes_away_does_not_cut_a_write_short(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    t.logs.clear();
    let req = Request::builder()
        .method("POST")
        .uri(format!("/lists/{list}/words"))
        .header("x-dev-user", "alice")
        .header("content-type", "application/json")
        .body(Body::from(items(500, "w").to_string()))
        .expect("request");
    // 500 words: six DynamoDB transactions, or one MongoDB transaction of 500 inserts. The
    // client hangs up 2 ms in, before the add is done (the request future is dropped).
    let gone = tokio::time::timeout(Duration::from_millis(2), t.router.clone().oneshot(req)).await;
    assert!(gone.is_err(), "the add takes longer than 2 ms");
    let mut waited = 0;
    while t.logs.lines().is_empty() && waited < 600 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    let lines = t.logs.lines();
    assert_eq!(
        lines.len(),
        1,
        "the request still writes its one line: {lines:?}"
    );
    assert_eq!(lines[0][field::HTTP_RESPONSE_STATUS_CODE], 201);
    assert_eq!(
        (word_count(&t, &list).await, stored_words(&t, &list).await),
        (500, 500)
    );
}

#[tokio::test]
async fn issue_14_past_the_lambda_deadline_the_write_still_finishes_with_one_line() {
    let t =
        TestApp::with_state(|s| vocab_api::AppState::lambda(s, Duration::from_millis(500))).await;
    let list = t.create_list_as_lambda_user().await;
    t.logs.clear();
    let mut event: Value =
        serde_json::from_str(include_str!("../data/apigw_v2_get_me.json")).expect("fixture");
    event["rawPath"] = json!(format!("/lists/{list}/words"));
    event["requestContext"]["http"]["method"] = json!("POST");
    event["requestContext"]["http"]["path"] = json!(format!("/lists/{list}/words"));
    event["headers"]["content-type"] = json!("application/json");
    event["body"] = json!(items(120, "w").to_string());
    let mut req = lambda_http::request::from_str(&event.to_string()).expect("event");
    let mut ctx = lambda_runtime::Context::default();
    ctx.request_id = "lambda-req-504".into();
    let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock");
    ctx.deadline = u64::try_from((now + Duration::from_millis(550)).as_millis()).expect("ms");
    req.extensions_mut().insert(ctx);
    let response = t.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    let mut waited = 0;
    while t
        .store
        .words(LAMBDA_USER, &list)
        .await
        .expect("words")
        .len()
        < 120
        && waited < 300
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        t.store
            .words(LAMBDA_USER, &list)
            .await
            .expect("words")
            .len(),
        120,
        "the add finished"
    );
    let lines = t.logs.lines();
    assert_eq!(lines.len(), 1, "one line, the 504's: {lines:?}");
    assert_eq!(lines[0][field::ERROR_TYPE], "timeout");
}

const LAMBDA_USER: &str = "3f1c2a9e-jwt-user";

impl TestApp {
    async fn create_list_as_lambda_user(&self) -> String {
        let list = vocab_api::model::WordList {
            id: vocab_api::model::new_id(),
            name: "l".into(),
            source_lang: "ko".into(),
            target_lang: "en".into(),
            word_count: 0,
            learned_count: 0,
            favorite: false,
            notebook_count: 0,
            created_at: vocab_api::model::now(),
            updated_at: vocab_api::model::now(),
        };
        self.store
            .create_list(LAMBDA_USER, &list)
            .await
            .expect("create");
        list.id
    }
}

#[tokio::test]
async fn issue_14_a_path_that_is_not_utf8_is_a_json_400_with_an_error_type() {
    let t = TestApp::new().await;
    let (s, e) = t.call("GET", "/lists/%ff", Some("alice"), None).await;
    assert_error(s, &e, StatusCode::BAD_REQUEST, "invalid_request");
    let line = &t.logs.lines()[0];
    assert_eq!(line[field::ERROR_TYPE], "validation");
    assert_eq!(line[field::HTTP_RESPONSE_STATUS_CODE], 400);
}

#[test]
fn issue_14_vocab_local_refuses_real_aws_without_allow_aws() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vocab-local"))
        .args(["--addr", "127.0.0.1:0"])
        .env_remove("DYNAMODB_ENDPOINT")
        .env("AWS_ACCESS_KEY_ID", "unused")
        .env("AWS_SECRET_ACCESS_KEY", "unused")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run vocab-local");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--allow-aws") && stderr.contains("DYNAMODB_ENDPOINT"),
        "{stderr}"
    );
}

#[tokio::test]
async fn issue_14_the_filter_used_by_pages_matches_the_routes_rules() {
    // The store's WordFilter is what the listing and the notebook use; a word matches when
    // every set part matches.
    let w = vocab_api::model::Word {
        id: "1".into(),
        list_id: "l".into(),
        word: "Apple".into(),
        meaning: "사과".into(),
        memo: String::new(),
        learned: true,
        in_notebook: false,
        right_count: 0,
        wrong_count: 2,
        created_at: String::new(),
        updated_at: String::new(),
    };
    let f = |learned, min_wrong, in_notebook, search: Option<&str>| WordFilter {
        learned,
        min_wrong,
        in_notebook,
        search: search.map(str::to_owned),
    };
    let n = vocab_api::quiz::normalize;
    assert!(f(Some(true), Some(2), Some(false), Some("appl")).matches(&w, n));
    assert!(!f(Some(false), None, None, None).matches(&w, n));
    assert!(!f(None, Some(3), None, None).matches(&w, n));
    assert!(!f(None, None, Some(true), None).matches(&w, n));
    assert!(f(None, None, None, Some("사")).matches(&w, n));
}

per_store!(
    issue_14_a_bulk_add_refused_in_the_middle_stores_none_of_its_words,
    issue_14_a_choice_quiz_too_big_for_one_item_is_a_clear_400,
    issue_14_a_list_delete_wins_atomically_over_concurrent_adds,
    issue_14_contended_patches_back_off_and_never_answer_500,
    issue_14_a_client_that_goes_away_does_not_cut_a_write_short,
);
