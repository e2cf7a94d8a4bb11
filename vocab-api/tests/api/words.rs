//! `/lists/{list_id}/words`, `/lists/{list_id}/words/{word_id}`.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::harness::{Backend, TestApp, assert_error, ko_en, per_store};

async fn list_counts(t: &TestApp, user: &str, list: &str) -> (i64, i64) {
    let (s, l) = t
        .call("GET", &format!("/lists/{list}"), Some(user), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    (
        l["word_count"].as_i64().expect("word_count"),
        l["learned_count"].as_i64().expect("learned_count"),
    )
}

fn words_of(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|w| w["word"].as_str().expect("word").to_owned())
        .collect()
}

async fn add_single_bulk_and_pasted_words(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "ko-en").await;
    let uri = format!("/lists/{list}/words");

    let w = t
        .expect(
            StatusCode::CREATED,
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"word": " 사과 ", "meaning": "apple\n(fruit)"})),
        )
        .await;
    assert_eq!(w["word"], "사과");
    assert_eq!(w["meaning"], "apple\n(fruit)");
    assert_eq!(w["list_id"], list.as_str());
    assert_eq!(w["learned"], false);
    assert_eq!(w["right_count"], 0);

    let bulk = t
        .expect(
            StatusCode::CREATED,
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"items": [{"word": "개", "meaning": "dog"}, {"word": "고양이", "meaning": "cat"}]})),
        )
        .await;
    assert_eq!(bulk["count"], 2);

    let pasted: String = ko_en()
        .iter()
        .skip(4)
        .map(|(w, m)| format!("{w}\t{m}\n"))
        .collect::<String>()
        + "\n   \n";
    let (s, bulk) = t
        .call("POST", &uri, Some("alice"), Some(json!({"text": pasted})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{bulk}");
    let pasted_count = ko_en().len() - 4;
    assert_eq!(bulk["count"], pasted_count);
    assert_eq!(bulk["items"][0]["word"], ko_en()[4].0.as_str());

    assert_eq!(
        list_counts(&t, "alice", &list).await,
        (3 + pasted_count as i64, 0)
    );
    let (s, page) = t
        .call("GET", &format!("{uri}?limit=100"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let words = words_of(&page);
    assert_eq!(words.len(), 3 + pasted_count);
    assert_eq!(&words[..3], ["사과", "개", "고양이"], "creation order");
}

#[tokio::test]
async fn invalid_words_are_400_naming_the_field() {
    let t = TestApp::new().await;
    let list = t.create_list("alice", "l").await;
    let uri = format!("/lists/{list}/words");
    let many: Vec<Value> = (0..501)
        .map(|i| json!({"word": format!("w{i}"), "meaning": "m"}))
        .collect();
    let cases = [
        (json!({"word": "사과"}), "required", Some("meaning")),
        (json!({"meaning": "apple"}), "required", Some("word")),
        (
            json!({"word": "w".repeat(201), "meaning": "m"}),
            "too_long",
            Some("word"),
        ),
        (
            json!({"word": "w", "meaning": "m".repeat(1001)}),
            "too_long",
            Some("meaning"),
        ),
        (
            json!({"word": "a\tb", "meaning": "m"}),
            "invalid_field",
            Some("word"),
        ),
        (json!({"items": []}), "invalid_field", Some("items")),
        (json!({"items": many}), "invalid_field", Some("items")),
        (
            json!({"items": [{"word": "ok", "meaning": "ok"}, {"word": "", "meaning": "x"}]}),
            "invalid_field",
            Some("items[1].word"),
        ),
        (
            json!({"word": "w", "meaning": "m", "items": []}),
            "invalid_body",
            None,
        ),
        (json!({}), "invalid_body", None),
        (
            json!({"text": "사과\tapple\nno tab here\n"}),
            "invalid_field",
            Some("text"),
        ),
        (json!({"text": "\n\n"}), "invalid_field", Some("text")),
        (
            json!({"word": "w", "meaning": "m", "learned": true}),
            "invalid_json",
            Some("learned"),
        ),
    ];
    for (body, code, field) in cases {
        let (s, err) = t
            .call("POST", &uri, Some("alice"), Some(body.clone()))
            .await;
        assert_error(s, &err, StatusCode::BAD_REQUEST, code);
        assert_eq!(err["error"]["field"].as_str(), field, "{body} → {err}");
    }
    let (_, err) = t
        .call(
            "POST",
            &uri,
            Some("alice"),
            Some(json!({"text": "사과\tapple\nno tab here\n"})),
        )
        .await;
    assert!(
        err["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("line 2"),
        "{err}"
    );
    assert_eq!(
        list_counts(&t, "alice", &list).await,
        (0, 0),
        "nothing was added"
    );

    for q in [
        "learned=maybe",
        "min_wrong=-1",
        "limit=0",
        "cursor=x",
        "color=red",
    ] {
        let (s, err) = t
            .call("GET", &format!("{uri}?{q}"), Some("alice"), None)
            .await;
        assert_error(s, &err, StatusCode::BAD_REQUEST, "invalid_field");
    }
    let ids = t.add_words("alice", &list, &[("a", "b")]).await;
    let (s, err) = t
        .call(
            "PATCH",
            &format!("{uri}/{}", ids[0]),
            Some("alice"),
            Some(json!({})),
        )
        .await;
    assert_error(s, &err, StatusCode::BAD_REQUEST, "invalid_body");
    let (s, err) = t
        .call(
            "PATCH",
            &format!("{uri}/{}", ids[0]),
            Some("alice"),
            Some(json!({"learned": "yes"})),
        )
        .await;
    assert_error(s, &err, StatusCode::BAD_REQUEST, "invalid_json");
}

async fn filters_search_and_pagination(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let pairs: Vec<(String, String)> = ko_en();
    let refs: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(w, m)| (w.as_str(), m.as_str()))
        .collect();
    let ids = t.add_words("alice", &list, &refs).await;
    let uri = format!("/lists/{list}/words");
    for id in &ids[..3] {
        let (s, w) = t
            .call(
                "PATCH",
                &format!("{uri}/{id}"),
                Some("alice"),
                Some(json!({"learned": true})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{w}");
        assert_eq!(w["learned"], true);
    }

    let (_, page) = t
        .call("GET", &format!("{uri}?learned=true"), Some("alice"), None)
        .await;
    assert_eq!(words_of(&page), ["사과", "바나나", "고양이"]);
    let (_, page) = t
        .call(
            "GET",
            &format!("{uri}?learned=false&limit=100"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(words_of(&page).len(), pairs.len() - 3);
    let (_, page) = t
        .call("GET", &format!("{uri}?q=APPLE"), Some("alice"), None)
        .await;
    assert_eq!(
        words_of(&page),
        ["사과"],
        "meaning search, case-insensitive"
    );
    let (_, page) = t
        .call("GET", &format!("{uri}?q=%EB%B0%94"), Some("alice"), None)
        .await;
    assert_eq!(words_of(&page), ["바나나", "바다"], "Korean substring 바");
    let (_, page) = t
        .call("GET", &format!("{uri}?min_wrong=1"), Some("alice"), None)
        .await;
    assert_eq!(words_of(&page), Vec::<String>::new());

    let mut all = Vec::new();
    let mut next = format!("{uri}?limit=5");
    loop {
        let page = t
            .expect(StatusCode::OK, "GET", &next, Some("alice"), None)
            .await;
        all.extend(words_of(&page));
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("{uri}?limit=5&cursor={c}"),
            None => break,
        }
    }
    let expected: Vec<String> = pairs.iter().map(|(w, _)| w.clone()).collect();
    assert_eq!(all, expected);
}

async fn edit_learned_and_delete_keep_list_counts_exact(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let ids = t
        .add_words(
            "alice",
            &list,
            &[("하나", "one"), ("둘", "two"), ("셋", "three")],
        )
        .await;
    let word = |id: &str| format!("/lists/{list}/words/{id}");

    let (s, w) = t
        .call(
            "PATCH",
            &word(&ids[0]),
            Some("alice"),
            Some(json!({"meaning": "one (1)", "learned": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{w}");
    assert_eq!(w["meaning"], "one (1)");
    assert_eq!(w["word"], "하나");
    // Marking learned twice counts once.
    let (s, _) = t
        .call(
            "PATCH",
            &word(&ids[0]),
            Some("alice"),
            Some(json!({"learned": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    t.expect(
        StatusCode::OK,
        "PATCH",
        &word(&ids[1]),
        Some("alice"),
        Some(json!({"learned": true})),
    )
    .await;
    assert_eq!(list_counts(&t, "alice", &list).await, (3, 2));
    t.expect(
        StatusCode::OK,
        "PATCH",
        &word(&ids[1]),
        Some("alice"),
        Some(json!({"learned": false})),
    )
    .await;
    assert_eq!(list_counts(&t, "alice", &list).await, (3, 1));

    t.expect(
        StatusCode::NO_CONTENT,
        "DELETE",
        &word(&ids[0]),
        Some("alice"),
        None,
    )
    .await;
    assert_eq!(list_counts(&t, "alice", &list).await, (2, 0));
    let (s, b) = t.call("DELETE", &word(&ids[0]), Some("alice"), None).await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = t
        .call(
            "PATCH",
            &word(&ids[0]),
            Some("alice"),
            Some(json!({"learned": true})),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(list_counts(&t, "alice", &list).await, (2, 0));

    // Deleting the list takes its words with it.
    let (s, _) = t
        .call("DELETE", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, b) = t
        .call(
            "PATCH",
            &word(&ids[1]),
            Some("alice"),
            Some(json!({"word": "x"})),
        )
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    let (s, b) = t
        .call("GET", &format!("/lists/{list}/words"), Some("alice"), None)
        .await;
    assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
}

async fn other_users_and_missing_lists_and_words_are_404(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "l").await;
    let other_list = t.create_list("alice", "other").await;
    let ids = t.add_words("alice", &list, &[("비밀", "secret")]).await;
    let missing = uuid::Uuid::now_v7().to_string();
    let body = json!({"word": "x", "meaning": "y"});

    for (user, l) in [
        ("mallory", list.as_str()),
        ("alice", missing.as_str()),
        ("alice", "zzz"),
    ] {
        let (s, b) = t
            .call(
                "POST",
                &format!("/lists/{l}/words"),
                Some(user),
                Some(body.clone()),
            )
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
        let (s, b) = t
            .call("GET", &format!("/lists/{l}/words"), Some(user), None)
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
        let (s, b) = t
            .call("GET", &format!("/lists/{l}/review"), Some(user), None)
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    // Another user, a word under the wrong list, an unknown word: all 404.
    for (user, l, w) in [
        ("mallory", list.as_str(), ids[0].as_str()),
        ("alice", other_list.as_str(), ids[0].as_str()),
        ("alice", list.as_str(), missing.as_str()),
    ] {
        let uri = format!("/lists/{l}/words/{w}");
        let (s, b) = t
            .call("PATCH", &uri, Some(user), Some(json!({"learned": true})))
            .await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
        let (s, b) = t.call("DELETE", &uri, Some(user), None).await;
        assert_error(s, &b, StatusCode::NOT_FOUND, "not_found");
    }
    let (s, page) = t
        .call("GET", &format!("/lists/{list}/words"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(words_of(&page), ["비밀"]);
    assert_eq!(page["items"][0]["learned"], false);
}

async fn a_bulk_add_larger_than_one_transaction_counts_every_word(b: Backend) {
    let t = TestApp::on(b).await;
    let list = t.create_list("alice", "big").await;
    let text: String = (0..230).map(|i| format!("단어{i}\tword {i}\n")).collect();
    let body = t
        .expect(
            StatusCode::CREATED,
            "POST",
            &format!("/lists/{list}/words"),
            Some("alice"),
            Some(json!({ "text": text })),
        )
        .await;
    assert_eq!(body["count"], 230);
    assert_eq!(list_counts(&t, "alice", &list).await, (230, 0));
    let (_, page) = t
        .call(
            "GET",
            &format!("/lists/{list}/words?q=word%20229"),
            Some("alice"),
            None,
        )
        .await;
    assert_eq!(words_of(&page), ["단어229"]);
    let (s, _) = t
        .call("DELETE", &format!("/lists/{list}"), Some("alice"), None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (_, me) = t.call("GET", "/me", Some("alice"), None).await;
    assert_eq!(me["words"], 0);
}

per_store!(
    add_single_bulk_and_pasted_words,
    filters_search_and_pagination,
    edit_learned_and_delete_keep_list_counts_exact,
    other_users_and_missing_lists_and_words_are_404,
    a_bulk_add_larger_than_one_transaction_counts_every_word,
);
