//! The 5,000-word list bench (issue 14): how many items each read of a full list makes
//! DynamoDB evaluate (whole, or keys only), and how long it takes against the test endpoint. Not a test (it
//! asserts nothing about time); run it with
//! `cargo nextest run -p vocab-api --run-ignored only bench_ --no-capture`.
//! Against moto the times are an emulator's; the items read are what DynamoDB would bill.

use std::time::Instant;

use axum::http::StatusCode;
use serde_json::{Value, json};
use vocab_api::model::Word;

use super::harness::TestApp;

#[tokio::test]
#[ignore = "a benchmark: run with --run-ignored only"]
async fn bench_a_5000_word_list() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "big").await;
    // Filled directly (BatchWriteItem, 25 a call): through the API's transactions of 99
    // words, moto copies the table on every transaction and 5,000 words take over 14 min.
    let started = Instant::now();
    let now = vocab_api::model::now();
    let words: Vec<Word> = (0..5000)
        .map(|i| Word {
            id: vocab_api::model::new_id(),
            list_id: list.clone(),
            word: format!("w{}-{}", i / 500, i % 500),
            meaning: format!("meaning {} {}", i / 500, i % 500),
            memo: String::new(),
            learned: false,
            in_notebook: false,
            // Every tenth word answered wrong (1 to 5 times), so the review list has 500.
            right_count: i64::from(i % 3 == 0),
            wrong_count: if i % 10 == 0 {
                (i / 10 % 5 + 1) as i64
            } else {
                0
            },
            created_at: now.clone(),
            updated_at: now.clone(),
        })
        .collect();
    t.dynamo
        .as_ref()
        .expect("DynamoDB")
        .import_words("alice", &list, &words)
        .await
        .expect("import");
    eprintln!(
        "filled 5,000 words in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (_, l) = t
        .call("GET", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_eq!(l["word_count"], 5000);
    let (_, page) = t
        .call(
            "GET",
            &format!("/lists/{list}/words?limit=100"),
            Some("alice"),
            None,
        )
        .await;
    for w in page["items"].as_array().expect("items").iter().take(20) {
        t.expect(
            StatusCode::OK,
            "PUT",
            &format!("/lists/{list}/notebook/{}", w["id"].as_str().expect("id")),
            Some("alice"),
            None,
        )
        .await;
    }
    // A cursor near the end: page through once.
    let mut cursor = String::new();
    let mut uri = format!("/lists/{list}/words?limit=100");
    for _ in 0..49 {
        let (_, p) = t.call("GET", &uri, Some("alice"), None).await;
        cursor = p["next_cursor"].as_str().expect("more").to_owned();
        uri = format!("/lists/{list}/words?limit=100&cursor={cursor}");
    }
    let cases: Vec<(&str, String, Option<Value>)> = vec![
        (
            "first page of 20 words",
            format!("/lists/{list}/words?limit=20"),
            None,
        ),
        (
            "last page (cursor at 4,900)",
            format!("/lists/{list}/words?limit=100&cursor={cursor}"),
            None,
        ),
        (
            "search ?q= (no match: reads all)",
            format!("/lists/{list}/words?q=zzz"),
            None,
        ),
        (
            "notebook page (20 words in it)",
            format!("/lists/{list}/notebook"),
            None,
        ),
        ("review list", format!("/lists/{list}/review"), None),
        (
            "review list, 100 words",
            format!("/lists/{list}/review?limit=100"),
            None,
        ),
        (
            "typed quiz of 10",
            format!("/lists/{list}/quizzes"),
            Some(json!({"count": 10, "mode": "typed"})),
        ),
        (
            "choice quiz of 10",
            format!("/lists/{list}/quizzes"),
            Some(json!({"count": 10})),
        ),
        (
            "choice quiz of 50",
            format!("/lists/{list}/quizzes"),
            Some(json!({"count": 50})),
        ),
    ];
    eprintln!(
        "| request | median ms | items read whole | keys read (keys-only Query / index) | Query calls | BatchGetItem calls |"
    );
    eprintln!("|---|---|---|---|---|---|");
    for (what, uri, body) in cases {
        let mut times = Vec::new();
        let (mut items, mut keys) = (Value::Null, Value::Null);
        let (mut queries, mut gets) = (0, 0);
        for _ in 0..5 {
            proxy.clear_calls();
            t.logs.clear();
            let start = Instant::now();
            let method = if body.is_some() { "POST" } else { "GET" };
            let (s, b) = t.call(method, &uri, Some("alice"), body.clone()).await;
            assert!(s.is_success(), "{what}: {b}");
            times.push(start.elapsed().as_secs_f64() * 1000.0);
            let calls = proxy.calls();
            queries = calls.iter().filter(|c| c.target == "Query").count();
            gets = calls.iter().filter(|c| c.target == "BatchGetItem").count();
            // What the store counted for the request's log line (`app.items_read`,
            // `app.keys_read`): the items DynamoDB evaluated in full, and the keys it read
            // for a keys-only Query or the review index.
            let line = t
                .logs
                .lines()
                .into_iter()
                .find(|l| l[log_schema::field::APP].is_object())
                .expect("the request line");
            items = line[log_schema::field::APP]["items_read"].clone();
            keys = line[log_schema::field::APP]["keys_read"].clone();
        }
        times.sort_by(f64::total_cmp);
        eprintln!(
            "| {what} | {:.0} | {items} | {keys} | {queries} | {gets} |",
            times[2]
        );
    }
}
