//! Issue 14, "the review list and quiz creation read the whole list": they read only what
//! they show. What the store read is seen twice: on the wire (the [`FaultProxy`] records
//! every DynamoDB call and answer: `ScannedCount`, the keys a `BatchGetItem` asked for) and on
//! the request's log line (`app.items_read`, `app.keys_read`), which operators see too.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use log_schema::field;
use serde_json::{Value, json};
use vocab_api::model::Word;

use super::fault_proxy::{Call, Fault};
use super::harness::{Backend, TestApp, per_store};

fn word(list: &str, i: usize, wrong: i64, right: i64) -> Word {
    let now = vocab_api::model::now();
    Word {
        id: vocab_api::model::new_id(),
        list_id: list.to_owned(),
        word: format!("word{i}"),
        meaning: format!("meaning {i}"),
        memo: String::new(),
        learned: false,
        in_notebook: false,
        right_count: right,
        wrong_count: wrong,
        created_at: now.clone(),
        updated_at: now,
    }
}

/// `n` words stored directly (BatchWriteItem), word `i` with the counters `counts(i)`.
async fn seed(
    t: &TestApp,
    list: &str,
    n: usize,
    counts: impl Fn(usize) -> (i64, i64),
) -> Vec<Word> {
    let words: Vec<Word> = (0..n)
        .map(|i| {
            let (wrong, right) = counts(i);
            word(list, i, wrong, right)
        })
        .collect();
    t.dynamo
        .as_ref()
        .expect("DynamoDB")
        .import_words("alice", list, &words)
        .await
        .expect("import");
    words
}

/// The `app` object of the one request line with this route.
fn app_of(t: &TestApp, route: &str) -> Value {
    let lines: Vec<Value> = t
        .logs
        .lines()
        .into_iter()
        .filter(|l| l[field::HTTP_ROUTE] == route)
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    lines[0][field::APP].clone()
}

/// Items the BatchGetItem calls returned, and the keys they asked for.
fn batch_gets(calls: &[Call]) -> (usize, Vec<String>) {
    let gets: Vec<&Call> = calls
        .iter()
        .filter(|c| c.target == "BatchGetItem")
        .collect();
    let mut returned = 0;
    let mut asked = Vec::new();
    for c in gets {
        for spec in c.request["RequestItems"]
            .as_object()
            .expect("RequestItems")
            .values()
        {
            let keys = spec["Keys"].as_array().expect("Keys");
            assert!(
                keys.len() <= 100,
                "BatchGetItem takes 100 keys: {}",
                keys.len()
            );
            asked.extend(
                keys.iter()
                    .map(|k| k["sk"]["S"].as_str().expect("sk").to_owned()),
            );
        }
        if let Some(r) = c.response["Responses"].as_object() {
            returned += r
                .values()
                .map(|v| v.as_array().map_or(0, Vec::len))
                .sum::<usize>();
        }
    }
    (returned, asked)
}

/// Every Query of the list's words in the table itself (not an index) asks for keys only.
fn assert_no_word_read_whole_by_a_query(calls: &[Call]) {
    for q in calls.iter().filter(|c| c.target == "Query") {
        let word_query = q.request["ExpressionAttributeValues"][":prefix"]["S"]
            .as_str()
            .is_some_and(|p| p.starts_with("WORD#"));
        if word_query && q.request["IndexName"].is_null() {
            assert_eq!(q.request["ProjectionExpression"], "sk", "{:?}", q.request);
        }
    }
}

#[tokio::test]
async fn issue_14_quiz_creation_reads_only_the_chosen_words() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "big").await;
    seed(&t, &list, 300, |_| (0, 0)).await;
    // A typed quiz needs its 10 words; a choice quiz also three distractors for each.
    for (mode, most) in [("typed", 10), ("choice", 40)] {
        proxy.clear_calls();
        t.logs.clear();
        let quiz = t
            .new_quiz("alice", &list, json!({"count": 10, "mode": mode}))
            .await;
        let questions = quiz["questions"].as_array().expect("questions");
        assert_eq!(questions.len(), 10);
        if mode == "choice" {
            for q in questions {
                assert_eq!(q["choices"].as_array().expect("choices").len(), 4, "{q}");
            }
        }
        let calls = proxy.calls();
        assert_no_word_read_whole_by_a_query(&calls);
        let keys_scanned: i64 = calls
            .iter()
            .filter(|c| c.target == "Query")
            .map(|c| c.response["ScannedCount"].as_i64().unwrap_or(0))
            .sum();
        assert_eq!(keys_scanned, 300, "the candidates: every word's key");
        // The questions' words and their distractor candidates in one read (every meaning
        // differs, so no second round is needed).
        assert_eq!(
            calls.iter().filter(|c| c.target == "BatchGetItem").count(),
            1,
            "{mode}"
        );
        let (returned, asked) = batch_gets(&calls);
        let distinct: HashSet<&String> = asked.iter().collect();
        assert_eq!(distinct.len(), asked.len(), "no word asked for twice");
        if mode == "typed" {
            assert_eq!(returned, 10);
        } else {
            assert!((13..=most).contains(&returned), "{mode}: read {returned}");
        }
        let app = app_of(&t, "/lists/{list_id}/quizzes");
        // The list itself (GetItem), then the quiz's words.
        assert_eq!(app["items_read"], json!(returned + 1), "{app}");
        assert_eq!(app["keys_read"], 300, "{app}");
    }
}

#[tokio::test]
async fn issue_14_the_review_list_reads_only_the_words_it_shows() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "big").await;
    // Every tenth word was answered wrong (1 to 30 times), some of them also right.
    let words = seed(&t, &list, 300, |i| {
        if i % 10 == 0 {
            let wrong = i64::try_from(i / 10 + 1).expect("small");
            (wrong, (wrong % 4) * 3)
        } else {
            (0, i64::try_from(i % 3).expect("small"))
        }
    })
    .await;
    let mut expected: Vec<&Word> = words.iter().filter(|w| w.wrong_count > 0).collect();
    expected.sort_by(|a, b| vocab_api::store::review_order(a, b));
    let score = |w: &Word| (w.wrong_count - w.right_count, w.wrong_count);
    assert!(
        expected
            .windows(2)
            .take(6)
            .all(|p| score(p[0]) != score(p[1])),
        "the top of the list has no ties"
    );
    proxy.clear_calls();
    t.logs.clear();
    let review = t
        .expect(
            StatusCode::OK,
            "GET",
            &format!("/lists/{list}/review?limit=5"),
            Some("alice"),
            None,
        )
        .await;
    let got: Vec<&str> = review["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["id"].as_str().expect("id"))
        .collect();
    let want: Vec<&str> = expected.iter().take(5).map(|w| w.id.as_str()).collect();
    assert_eq!(got, want);

    let calls = proxy.calls();
    let queries: Vec<&Call> = calls.iter().filter(|c| c.target == "Query").collect();
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert_eq!(queries[0].request["IndexName"], "review");
    assert_eq!(queries[0].request["Limit"], 5);
    assert_eq!(queries[0].request["ScanIndexForward"], false);
    assert!(queries[0].response["ScannedCount"].as_i64().expect("n") <= 5);
    let (returned, asked) = batch_gets(&calls);
    assert_eq!((returned, asked.len()), (5, 5));
    let app = app_of(&t, "/lists/{list_id}/review");
    assert_eq!(app["items_read"], 6, "the list and 5 words: {app}");
    assert_eq!(app["keys_read"], 5, "{app}");
}

#[tokio::test]
async fn issue_14_unprocessed_keys_of_a_batch_get_are_read_again() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "l").await;
    seed(&t, &list, 30, |_| (0, 0)).await;
    // The first two BatchGetItem calls read one key each and leave the rest unprocessed.
    proxy.inject("BatchGetItem", 0, 2, Fault::Unprocessed);
    proxy.clear_calls();
    let quiz = t
        .new_quiz("alice", &list, json!({"count": 10, "mode": "typed"}))
        .await;
    assert_eq!(quiz["questions"].as_array().expect("questions").len(), 10);
    let calls = proxy.calls();
    let (returned, asked) = batch_gets(&calls);
    assert_eq!(returned, 10);
    assert_eq!(
        calls.iter().filter(|c| c.target == "BatchGetItem").count(),
        3
    );
    // 10 keys, then the 9 left, then the 8 left.
    assert_eq!(asked.len(), 10 + 9 + 8);
    assert_eq!(asked.iter().collect::<HashSet<_>>().len(), 10);
}

#[tokio::test]
async fn issue_14_a_word_answered_before_the_review_index_joins_it_on_its_next_answer() {
    let t = TestApp::new().await;
    let list = t.create_list("alice", "l").await;
    let ids = t
        .add_words("alice", &list, &[("old", "before"), ("new", "after")])
        .await;
    // The old word as an earlier version stored it: counters, but no review attributes.
    let dynamo = t.dynamo.as_ref().expect("DynamoDB");
    dynamo
        .client()
        .update_item()
        .table_name(dynamo.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("USER#alice".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("WORD#{list}#{}", ids[0])),
        )
        .update_expression("SET wrong_count = :w, right_count = :r")
        .expression_attribute_values(":w", aws_sdk_dynamodb::types::AttributeValue::N("3".into()))
        .expression_attribute_values(":r", aws_sdk_dynamodb::types::AttributeValue::N("0".into()))
        .send()
        .await
        .expect("update");
    assert_eq!(review_ids(&t, &list, "").await, Vec::<String>::new());
    // One quiz: the old word right (now 3 wrong, 1 right: net 2), the new one wrong (net 1).
    let answers = HashMap::from([(ids[0].clone(), true), (ids[1].clone(), false)]);
    answer_typed_quiz(&t, &list, &answers).await;
    assert_eq!(
        review_ids(&t, &list, "").await,
        [ids[0].clone(), ids[1].clone()]
    );
    let (_, page) = t
        .call("GET", &format!("/lists/{list}/words"), Some("alice"), None)
        .await;
    assert_eq!(page["items"][0]["wrong_count"], 3);
    assert_eq!(page["items"][0]["right_count"], 1);
}

async fn review_ids(t: &TestApp, list: &str, query: &str) -> Vec<String> {
    let review = t
        .expect(
            StatusCode::OK,
            "GET",
            &format!("/lists/{list}/review{query}"),
            Some("alice"),
            None,
        )
        .await;
    review["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["id"].as_str().expect("id").to_owned())
        .collect()
}

/// Takes a typed quiz of every word of the list, answering each word in `correct` right
/// (its meaning) or wrong, and leaving the others unanswered (wrong too).
async fn answer_typed_quiz(t: &TestApp, list: &str, correct: &HashMap<String, bool>) {
    let page = t
        .expect(
            StatusCode::OK,
            "GET",
            &format!("/lists/{list}/words?limit=100"),
            Some("alice"),
            None,
        )
        .await;
    let meanings: HashMap<String, String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| {
            (
                w["id"].as_str().expect("id").to_owned(),
                w["meaning"].as_str().expect("meaning").to_owned(),
            )
        })
        .collect();
    let quiz = t
        .new_quiz("alice", list, json!({"count": 50, "mode": "typed"}))
        .await;
    let answers: Vec<Value> = quiz["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .filter_map(|q| {
            let id = q["word_id"].as_str().expect("word_id");
            let right = *correct.get(id)?;
            let answer = if right {
                meanings[id].clone()
            } else {
                "no idea".to_owned()
            };
            Some(json!({"word_id": id, "answer": answer}))
        })
        .collect();
    t.expect(
        StatusCode::OK,
        "POST",
        &format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id")),
        Some("alice"),
        Some(json!({ "answers": answers })),
    )
    .await;
}

async fn issue_14_the_review_list_is_most_missed_first_and_follows_answers(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let ids = t
        .add_words(
            "alice",
            &list,
            &[("가", "a"), ("나", "b"), ("다", "c"), ("라", "d")],
        )
        .await;
    let (a, bb, c, d) = (&ids[0], &ids[1], &ids[2], &ids[3]);
    let round = |pairs: &[(&String, bool)]| -> HashMap<String, bool> {
        pairs.iter().map(|(id, ok)| ((*id).clone(), *ok)).collect()
    };
    assert!(review_ids(&t, &list, "").await.is_empty());
    // a and b wrong once: both in, tied (net 1, 1 wrong).
    answer_typed_quiz(
        &t,
        &list,
        &round(&[(a, false), (bb, false), (c, true), (d, true)]),
    )
    .await;
    let both: HashSet<String> = review_ids(&t, &list, "").await.into_iter().collect();
    assert_eq!(both, HashSet::from([a.clone(), bb.clone()]));
    // a: 2 wrong (net 2); b: 1 wrong 1 right (net 0); c: 1 wrong 2 right (net -1).
    answer_typed_quiz(
        &t,
        &list,
        &round(&[(a, false), (bb, true), (c, false), (d, true)]),
    )
    .await;
    answer_typed_quiz(
        &t,
        &list,
        &round(&[(a, true), (bb, true), (c, true), (d, true)]),
    )
    .await;
    answer_typed_quiz(
        &t,
        &list,
        &round(&[(a, false), (bb, false), (c, true), (d, true)]),
    )
    .await;
    // a: 3 wrong 1 right (net 2); b: 2 wrong 2 right (net 0); c: 1 wrong 3 right (net -2).
    assert_eq!(
        review_ids(&t, &list, "").await,
        [a.clone(), bb.clone(), c.clone()],
        "most missed first; d was never missed"
    );
    assert_eq!(
        review_ids(&t, &list, "?limit=2").await,
        [a.clone(), bb.clone()]
    );
    // An edit keeps a word where it is; a deleted word leaves.
    t.expect(
        StatusCode::OK,
        "PATCH",
        &format!("/lists/{list}/words/{bb}"),
        Some("alice"),
        Some(json!({"meaning": "bee"})),
    )
    .await;
    t.expect(
        StatusCode::NO_CONTENT,
        "DELETE",
        &format!("/lists/{list}/words/{a}"),
        Some("alice"),
        None,
    )
    .await;
    assert_eq!(review_ids(&t, &list, "").await, [bb.clone(), c.clone()]);
    // Another user's review of the list: 404, as before.
    t.expect(
        StatusCode::NOT_FOUND,
        "GET",
        &format!("/lists/{list}/review"),
        Some("mallory"),
        None,
    )
    .await;
}

per_store!(issue_14_the_review_list_is_most_missed_first_and_follows_answers);

#[tokio::test]
async fn issue_14_an_unfiltered_page_reads_the_page_and_one_more() {
    let (t, proxy) = TestApp::faulty(false).await;
    let list = t.create_list("alice", "big").await;
    seed(&t, &list, 300, |_| (0, 0)).await;
    proxy.clear_calls();
    t.logs.clear();
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
    assert!(page["next_cursor"].is_string());
    let calls = proxy.calls();
    let queries: Vec<&Call> = calls.iter().filter(|c| c.target == "Query").collect();
    assert_eq!(queries.len(), 1);
    assert_eq!(queries[0].request["Limit"], 21, "the page and one more");
    let app = app_of(&t, "/lists/{list_id}/words");
    assert_eq!(app["items_read"], 22, "the list and 21 words: {app}");
}

#[tokio::test]
async fn issue_14_create_table_adds_the_review_index_to_an_older_table() {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = super::harness::client(false).await;
    let table = format!("vocab-test-{}", uuid::Uuid::new_v4().simple());
    // The table as the first version made it: keys only, no index.
    let key = |name: &str, kind| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key")
    };
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    client
        .create_table()
        .table_name(&table)
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .attribute_definitions(attr("pk"))
        .attribute_definitions(attr("sk"))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create the old table");
    vocab_api::dynamo::create_table(&client, &table)
        .await
        .expect("create_table on an existing table");
    let described = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe");
    let indexes: Vec<&str> = described
        .table()
        .expect("table")
        .global_secondary_indexes()
        .iter()
        .filter_map(|i| i.index_name())
        .collect();
    assert_eq!(indexes, [vocab_api::dynamo::REVIEW_INDEX]);
    // And the store's review query runs on it.
    let store = vocab_api::dynamo::DynamoStore::new(client, table);
    let review = vocab_api::Store::review(&store, "alice", &vocab_api::model::new_id(), 10)
        .await
        .expect("review");
    assert!(review.is_empty());
}
