//! `/lists/{list_id}/quizzes`, `/quizzes/{quiz_id}/answers`, the review list, and counters
//! under concurrent submissions.

use std::collections::{HashMap, HashSet};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use super::harness::{Backend, TestApp, assert_error, ko_en, per_store, send};

/// A list of the Korean–English fixture words; returns (list id, meaning by word id).
async fn fixture_list(t: &TestApp, user: &str) -> (String, HashMap<String, (String, String)>) {
    let list = t.create_list(user, "ko-en").await;
    let pairs = ko_en();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(w, m)| (w.as_str(), m.as_str()))
        .collect();
    let ids = t.add_words(user, &list, &refs).await;
    (list, ids.into_iter().zip(pairs).collect())
}

async fn choice_quiz_is_scored_and_counted_once(b: Backend) {
    let t = TestApp::on(b).await;
    let (list, words) = fixture_list(&t, "alice").await;
    let quiz = t
        .new_quiz("alice", &list, json!({"count": 5, "mode": "choice"}))
        .await;
    assert_eq!(quiz["count"], 5);
    assert_eq!(quiz["mode"], "choice");
    assert_eq!(quiz["direction"], "word_to_meaning");
    let questions = quiz["questions"].as_array().expect("questions");
    assert_eq!(questions.len(), 5);
    let meanings: HashSet<&str> = words.values().map(|(_, m)| m.as_str()).collect();
    for q in questions {
        assert!(q.get("answer").is_none(), "answers are not sent: {q}");
        let (word, meaning) = &words[q["word_id"].as_str().expect("word_id")];
        assert_eq!(q["prompt"], word.as_str());
        let choices: Vec<&str> = q["choices"]
            .as_array()
            .expect("choices")
            .iter()
            .map(|c| c.as_str().expect("choice"))
            .collect();
        assert_eq!(choices.len(), 4);
        assert!(choices.contains(&meaning.as_str()));
        assert!(
            choices.iter().all(|c| meanings.contains(c)),
            "distractors from the list"
        );
    }

    // Three right, one wrong, one unanswered.
    let answers: Vec<Value> = questions
        .iter()
        .take(4)
        .enumerate()
        .map(|(i, q)| {
            let id = q["word_id"].as_str().expect("word_id");
            let answer = if i < 3 {
                format!("  {}  ", words[id].1.to_uppercase())
            } else {
                "wrong".into()
            };
            json!({"word_id": id, "answer": answer})
        })
        .collect();
    let uri = format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id"));
    let result = t
        .expect(
            StatusCode::OK,
            "POST",
            &uri,
            Some("alice"),
            Some(json!({ "answers": answers })),
        )
        .await;
    assert_eq!(result["score"], 3);
    assert_eq!(result["total"], 5);
    let results = result["results"].as_array().expect("results");
    assert_eq!(results.iter().filter(|r| r["correct"] == true).count(), 3);
    assert!(results[4]["given"].is_null());
    assert_eq!(
        results[4]["expected"],
        words[results[4]["word_id"].as_str().expect("id")]
            .1
            .as_str()
    );

    let (s, err) = t
        .call(
            "POST",
            &uri,
            Some("alice"),
            Some(json!({ "answers": answers })),
        )
        .await;
    assert_error(s, &err, StatusCode::CONFLICT, "already_submitted");

    // Per-word counters and the review list (the two missed words, most missed first).
    let (_, page) = t
        .call(
            "GET",
            &format!("/lists/{list}/words?min_wrong=1"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 2);
    let (_, page) = t
        .call(
            "GET",
            &format!("/lists/{list}/words?limit=100"),
            Some("alice"),
            None,
        )
        .await;
    let right: i64 = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["right_count"].as_i64().expect("n"))
        .sum();
    assert_eq!(right, 3);
    let (s, review) = t
        .call("GET", &format!("/lists/{list}/review"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let missed: HashSet<&str> = results
        .iter()
        .filter(|r| r["correct"] == false)
        .map(|r| r["word_id"].as_str().expect("id"))
        .collect();
    let reviewed: HashSet<&str> = review["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["id"].as_str().expect("id"))
        .collect();
    assert_eq!(reviewed, missed);

    let (_, me) = t.call("GET", "/me", Some("alice"), None).await;
    assert_eq!(me["quizzes_taken"], 1);
    assert_eq!(me["answers_right"], 3);
    assert_eq!(me["answers_wrong"], 2);
}

async fn typed_reverse_quiz_and_count_larger_than_the_list(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "small").await;
    t.add_words("alice", &list, &[("물", "water"), ("불", "fire")])
        .await;
    let quiz = t
        .new_quiz(
            "alice",
            &list,
            json!({"count": 50, "mode": "typed", "direction": "meaning_to_word"}),
        )
        .await;
    assert_eq!(quiz["requested"], 50);
    assert_eq!(quiz["count"], 2, "one question per word");
    let questions = quiz["questions"].as_array().expect("questions");
    let prompts: HashSet<&str> = questions
        .iter()
        .map(|q| q["prompt"].as_str().expect("prompt"))
        .collect();
    assert_eq!(prompts, HashSet::from(["water", "fire"]));
    assert!(questions.iter().all(|q| q["choices"].is_null()));
    let answers: Vec<Value> = questions
        .iter()
        .map(|q| {
            // "물" for every question: right for "water", wrong for "fire".
            json!({"word_id": q["word_id"], "answer": "물"})
        })
        .collect();
    let uri = format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id"));
    let (s, r) = t
        .call(
            "POST",
            &uri,
            Some("alice"),
            Some(json!({ "answers": answers })),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["score"], 1);

    // A one-word list: a choice question with just the answer.
    let one = t.create_list("alice", "one").await;
    t.add_words("alice", &one, &[("해", "sun")]).await;
    let quiz = t.new_quiz("alice", &one, json!({})).await;
    assert_eq!(quiz["count"], 1);
    assert_eq!(quiz["questions"][0]["choices"], json!(["sun"]));
}

#[tokio::test]
async fn invalid_quiz_requests_are_400() {
    let t = TestApp::new().await;
    let empty = t.create_list("alice", "empty").await;
    let (s, err) = t
        .call(
            "POST",
            &format!("/lists/{empty}/quizzes"),
            Some("alice"),
            Some(json!({})),
        )
        .await;
    assert_error(s, &err, StatusCode::BAD_REQUEST, "empty_list");

    let (list, _) = fixture_list(&t, "alice").await;
    let uri = format!("/lists/{list}/quizzes");
    for (body, field) in [
        (json!({"count": 0}), "count"),
        (json!({"count": 51}), "count"),
        (json!({"mode": "essay"}), "mode"),
        (json!({"direction": "sideways"}), "direction"),
    ] {
        let (s, err) = t.call("POST", &uri, Some("alice"), Some(body)).await;
        assert_error(s, &err, StatusCode::BAD_REQUEST, "invalid_field");
        assert_eq!(err["error"]["field"], field);
    }

    let quiz = t.new_quiz("alice", &list, json!({"count": 2})).await;
    let q0 = quiz["questions"][0]["word_id"].clone();
    let uri = format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id"));
    let stranger = uuid::Uuid::now_v7().to_string();
    for (body, code, field) in [
        (json!({}), "required", Some("answers")),
        (
            json!({"answers": [{"answer": "x"}]}),
            "required",
            Some("answers[0].word_id"),
        ),
        (
            json!({"answers": [{"word_id": stranger, "answer": "x"}]}),
            "invalid_field",
            Some("answers[0].word_id"),
        ),
        (
            json!({"answers": [{"word_id": q0, "answer": "x"}, {"word_id": q0, "answer": "y"}]}),
            "invalid_field",
            Some("answers[1].word_id"),
        ),
        (
            json!({"answers": [{"word_id": q0, "answer": "x".repeat(1001)}]}),
            "too_long",
            Some("answers[0].answer"),
        ),
    ] {
        let (s, err) = t
            .call("POST", &uri, Some("alice"), Some(body.clone()))
            .await;
        assert_error(s, &err, StatusCode::BAD_REQUEST, code);
        assert_eq!(err["error"]["field"].as_str(), field, "{body}");
    }
    // None of those counted: the quiz can still be submitted.
    let (s, r) = t
        .call("POST", &uri, Some("alice"), Some(json!({"answers": []})))
        .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["score"], 0);
}

async fn other_users_and_missing_quizzes_are_404(b: Backend) {
    let t = TestApp::on(b).await;
    let (list, _) = fixture_list(&t, "alice").await;
    let (s, err) = t
        .call(
            "POST",
            &format!("/lists/{list}/quizzes"),
            Some("mallory"),
            Some(json!({})),
        )
        .await;
    assert_error(s, &err, StatusCode::NOT_FOUND, "not_found");
    let quiz = t.new_quiz("alice", &list, json!({})).await;
    let missing = uuid::Uuid::now_v7().to_string();
    for (user, id) in [
        ("mallory", quiz["id"].as_str().expect("id")),
        ("alice", missing.as_str()),
        ("alice", "x"),
    ] {
        let (s, err) = t
            .call(
                "POST",
                &format!("/quizzes/{id}/answers"),
                Some(user),
                Some(json!({"answers": []})),
            )
            .await;
        assert_error(s, &err, StatusCode::NOT_FOUND, "not_found");
    }
    // Mallory's attempt didn't use up alice's submission.
    let (s, _) = t
        .call(
            "POST",
            &format!("/quizzes/{}/answers", quiz["id"].as_str().expect("id")),
            Some("alice"),
            Some(json!({"answers": []})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
}

fn answer_request(quiz_id: &str, answers: &[Value]) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(format!("/quizzes/{quiz_id}/answers"))
        .header("x-dev-user", "alice")
        .header("content-type", "application/json")
        .body(Body::from(json!({ "answers": answers }).to_string()))
        .expect("request")
}

async fn counters_are_exact_under_concurrent_submissions(b: Backend) {
    const QUIZZES: usize = 24;
    let t = TestApp::concurrent(b).await;
    let list = t.create_list("alice", "l").await;
    let pairs = [
        ("일", "one"),
        ("이", "two"),
        ("삼", "three"),
        ("사", "four"),
        ("오", "five"),
    ];
    let ids = t.add_words("alice", &list, &pairs).await;
    let meaning: HashMap<&str, &str> = ids
        .iter()
        .map(String::as_str)
        .zip(pairs.iter().map(|p| p.1))
        .collect();

    let mut quizzes = Vec::new();
    for _ in 0..QUIZZES {
        quizzes.push(
            t.new_quiz("alice", &list, json!({"count": 5, "mode": "typed"}))
                .await,
        );
    }
    // Quiz i answers word j right when (i + j) % 3 != 0; every question is answered.
    let mut expected: HashMap<String, (i64, i64)> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, quiz) in quizzes.iter().enumerate() {
        let answers: Vec<Value> = quiz["questions"]
            .as_array()
            .expect("questions")
            .iter()
            .map(|q| {
                let id = q["word_id"].as_str().expect("word_id");
                let j = ids.iter().position(|w| w == id).expect("known word");
                let right = (i + j) % 3 != 0;
                let e = expected.entry(id.to_owned()).or_default();
                if right {
                    e.0 += 1
                } else {
                    e.1 += 1
                }
                json!({"word_id": id, "answer": if right { meaning[id] } else { "nope" }})
            })
            .collect();
        let router = t.router.clone();
        let req = answer_request(quiz["id"].as_str().expect("id"), &answers);
        tasks.spawn(async move { send(&router, req).await });
    }
    // And one quiz submitted ten times at once: exactly one wins.
    let extra = t
        .new_quiz("alice", &list, json!({"count": 5, "mode": "typed"}))
        .await;
    let extra_answers: Vec<Value> = extra["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| json!({"word_id": q["word_id"], "answer": meaning[q["word_id"].as_str().expect("id")]}))
        .collect();
    for _ in 0..10 {
        let router = t.router.clone();
        let req = answer_request(extra["id"].as_str().expect("id"), &extra_answers);
        tasks.spawn(async move { send(&router, req).await });
    }
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.expect("task");
        assert!(
            status == StatusCode::OK || status == StatusCode::CONFLICT,
            "{status} {body}"
        );
        *statuses.entry(status.as_u16()).or_default() += 1;
    }
    assert_eq!(statuses.get(&200), Some(&(QUIZZES + 1)));
    assert_eq!(statuses.get(&409), Some(&9));
    for id in &ids {
        let e = expected.entry(id.clone()).or_default();
        e.0 += 1; // the extra quiz, all right
    }

    let (_, page) = t
        .call("GET", &format!("/lists/{list}/words"), Some("alice"), None)
        .await;
    for w in page["items"].as_array().expect("items") {
        let id = w["id"].as_str().expect("id");
        assert_eq!(
            (
                w["right_count"].as_i64().expect("r"),
                w["wrong_count"].as_i64().expect("w")
            ),
            expected[id],
            "counts of {}",
            w["word"]
        );
    }
    let (_, me) = t.call("GET", "/me", Some("alice"), None).await;
    assert_eq!(me["quizzes_taken"], QUIZZES as i64 + 1);
    let total_right: i64 = expected.values().map(|e| e.0).sum();
    let total_wrong: i64 = expected.values().map(|e| e.1).sum();
    assert_eq!(me["answers_right"], total_right);
    assert_eq!(me["answers_wrong"], total_wrong);
}

per_store!(
    choice_quiz_is_scored_and_counted_once,
    typed_reverse_quiz_and_count_larger_than_the_list,
    other_users_and_missing_quizzes_are_404;
    multi_thread: counters_are_exact_under_concurrent_submissions
);
