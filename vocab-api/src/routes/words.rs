//! Words of a list: add (one, `items`, or pasted `word<TAB>meaning` lines), list with
//! filters, edit / mark learned, delete, and the review list of words answered wrong.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryMap};
use crate::log_ctx::LogCtx;
use crate::model::{BatchDeleted, Word, WordPatch, new_id, now};
use crate::quiz::normalize;
use crate::state::AppState;
use crate::store::{AddWords as Added, WordFilter};
use crate::validate::{self, MAX_BULK_WORDS, MAX_MEANING_CHARS, MAX_MEMO_CHARS, MAX_WORD_CHARS};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddWords {
    word: Option<String>,
    meaning: Option<String>,
    memo: Option<String>,
    items: Option<Vec<NewWord>>,
    text: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewWord {
    word: Option<String>,
    meaning: Option<String>,
    memo: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditWord {
    word: Option<String>,
    meaning: Option<String>,
    memo: Option<String>,
    learned: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDelete {
    ids: Option<Vec<String>>,
}

/// A word as added: word, meaning, memo.
type NewTriple = (String, String, String);

fn memo_of(field: &str, memo: Option<&str>) -> Result<String, ApiError> {
    memo.map(|m| validate::memo(field, m, MAX_MEMO_CHARS))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// `POST /lists/{list_id}/words` → 201 with the word, or `{"items","count"}` for bulk.
pub async fn add(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    JsonBody(body): JsonBody<AddWords>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    let single = body.word.is_some() || body.meaning.is_some() || body.memo.is_some();
    let pairs: Vec<NewTriple> = match (single, body.items, body.text) {
        (true, None, None) => vec![(
            validate::text("word", body.word.as_deref(), MAX_WORD_CHARS, false)?,
            validate::text("meaning", body.meaning.as_deref(), MAX_MEANING_CHARS, true)?,
            memo_of("memo", body.memo.as_deref())?,
        )],
        (false, Some(items), None) => {
            bulk_size("items", items.len())?;
            items
                .iter()
                .enumerate()
                .map(|(i, it)| {
                    Ok((
                        validate::text(
                            &format!("items[{i}].word"),
                            it.word.as_deref(),
                            MAX_WORD_CHARS,
                            false,
                        )?,
                        validate::text(
                            &format!("items[{i}].meaning"),
                            it.meaning.as_deref(),
                            MAX_MEANING_CHARS,
                            true,
                        )?,
                        memo_of(&format!("items[{i}].memo"), it.memo.as_deref())?,
                    ))
                })
                .collect::<Result<_, ApiError>>()?
        }
        (false, None, Some(text)) => parse_pasted(&text)?,
        _ => {
            return Err(ApiError::Invalid {
                code: "invalid_body",
                field: None,
                message: "send one of: {\"word\",\"meaning\"}, {\"items\":[…]} or {\"text\":\"word<TAB>meaning lines\"}".into(),
            });
        }
    };
    let at = now();
    let words: Vec<Word> = pairs
        .into_iter()
        .map(|(word, meaning, memo)| Word {
            id: new_id(),
            list_id: list_id.clone(),
            word,
            meaning,
            memo,
            learned: false,
            in_notebook: false,
            right_count: 0,
            wrong_count: 0,
            created_at: at.clone(),
            updated_at: at.clone(),
        })
        .collect();
    log.app("word_count", words.len());
    match st
        .store
        .add_words(&user, &list_id, &words, validate::MAX_WORDS_PER_LIST)
        .await?
    {
        Added::Added => {}
        Added::NoSuchList => return Err(ApiError::NotFound("list")),
        Added::Full { current } => {
            return Err(ApiError::Invalid {
                code: "list_full",
                field: None,
                message: format!(
                    "the list has {current} words; adding {} would pass the limit of {}",
                    words.len(),
                    validate::MAX_WORDS_PER_LIST
                ),
            });
        }
    }
    let body = if single {
        json!(words[0])
    } else {
        json!({"items": words, "count": words.len()})
    };
    Ok((StatusCode::CREATED, Json(body)))
}

fn bulk_size(field: &str, n: usize) -> Result<(), ApiError> {
    if n == 0 || n > MAX_BULK_WORDS {
        return Err(ApiError::invalid(
            field,
            format!("must hold 1 to {MAX_BULK_WORDS} words, not {n}"),
        ));
    }
    Ok(())
}

/// Pasted lines `word<TAB>meaning`; blank lines are skipped.
fn parse_pasted(text: &str) -> Result<Vec<NewTriple>, ApiError> {
    let in_line = |n: usize, e: ApiError| match e {
        ApiError::Invalid {
            code,
            field,
            message,
        } => ApiError::Invalid {
            code,
            field: Some("text".into()),
            message: format!("line {n}: {} {message}", field.unwrap_or_default()),
        },
        other => other,
    };
    let mut pairs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let Some((word, meaning)) = line.split_once('\t') else {
            return Err(ApiError::invalid(
                "text",
                format!("line {n}: expected word<TAB>meaning"),
            ));
        };
        let word =
            validate::text("word", Some(word), MAX_WORD_CHARS, false).map_err(|e| in_line(n, e))?;
        let meaning = validate::text("meaning", Some(meaning), MAX_MEANING_CHARS, false)
            .map_err(|e| in_line(n, e))?;
        pairs.push((word, meaning, String::new()));
    }
    bulk_size("text", pairs.len())?;
    Ok(pairs)
}

/// `GET /lists/{list_id}/words?learned=&min_wrong=&q=&limit=&cursor=`.
pub async fn list(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    query: QueryMap,
) -> Result<Json<Value>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    query.only(&["learned", "min_wrong", "q", "limit", "cursor"])?;
    let learned = match query.get("learned") {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(ApiError::invalid("learned", "must be true or false")),
    };
    let min_wrong = query
        .get("min_wrong")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| ApiError::invalid("min_wrong", "must be a whole number ≥ 0"))
        })
        .transpose()?;
    let search = query
        .get("q")
        .map(|q| validate::text("q", Some(q), validate::MAX_SEARCH_CHARS, false))
        .transpose()?
        .map(|q| normalize(&q));
    let limit = validate::page_size(query.get("limit"))?;
    let cursor = validate::cursor(query.get("cursor"))?;
    let filter = WordFilter {
        learned,
        min_wrong,
        in_notebook: None,
        search,
    };
    st.store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    let page = st
        .store
        .words_page(&user, &list_id, &filter, limit, cursor.as_deref())
        .await?;
    log.app("result_count", page.items.len());
    Ok(Json(json!(page)))
}

/// `GET /lists/{list_id}/review?limit=`: words answered wrong, most-missed first.
pub async fn review(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    query: QueryMap,
) -> Result<Json<Value>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    query.only(&["limit"])?;
    let limit = validate::page_size(query.get("limit"))?;
    st.store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    let items = st.store.review(&user, &list_id, limit).await?;
    log.app("result_count", items.len());
    Ok(Json(json!({"items": items})))
}

/// `PATCH /lists/{list_id}/words/{word_id}` `{"word"?,"meaning"?,"learned"?}`.
pub async fn edit(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path((list_id, word_id)): Path<(String, String)>,
    JsonBody(body): JsonBody<EditWord>,
) -> Result<Json<Word>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    let word_id = validate::id(&word_id, "word")?;
    log.app("list_id", list_id.as_str());
    log.app("word_id", word_id.as_str());
    if body.word.is_none()
        && body.meaning.is_none()
        && body.memo.is_none()
        && body.learned.is_none()
    {
        return Err(ApiError::Invalid {
            code: "invalid_body",
            field: None,
            message: "nothing to change: send word, meaning, memo or learned".into(),
        });
    }
    let patch = WordPatch {
        word: body
            .word
            .as_deref()
            .map(|w| validate::text("word", Some(w), MAX_WORD_CHARS, false))
            .transpose()?,
        meaning: body
            .meaning
            .as_deref()
            .map(|m| validate::text("meaning", Some(m), MAX_MEANING_CHARS, true))
            .transpose()?,
        memo: body
            .memo
            .as_deref()
            .map(|m| validate::memo("memo", m, MAX_MEMO_CHARS))
            .transpose()?,
        learned: body.learned,
    };
    if let Some(l) = patch.learned {
        log.app("learned", l);
    }
    st.store
        .update_word(&user, &list_id, &word_id, &patch)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("word"))
}

/// `DELETE /lists/{list_id}/words/{word_id}` → 204.
pub async fn delete(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path((list_id, word_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    let word_id = validate::id(&word_id, "word")?;
    log.app("list_id", list_id.as_str());
    log.app("word_id", word_id.as_str());
    if st.store.delete_word(&user, &list_id, &word_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("word"))
    }
}

/// `POST /lists/{list_id}/words/batch-delete` `{"ids":[…]}` → `{"deleted","not_found"}`.
pub async fn batch_delete(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    JsonBody(body): JsonBody<BatchDelete>,
) -> Result<Json<BatchDeleted>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    let ids = validate::batch_ids(body.ids.as_deref(), validate::MAX_BATCH_WORDS)?;
    st.store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    let mut out = BatchDeleted::default();
    for id in ids {
        let deleted = match validate::id(&id, "word") {
            Ok(word_id) => st.store.delete_word(&user, &list_id, &word_id).await?,
            Err(_) => false,
        };
        if deleted {
            out.deleted.push(id);
        } else {
            out.not_found.push(id);
        }
    }
    log.app("deleted_count", out.deleted.len());
    log.app("not_found_count", out.not_found.len());
    Ok(Json(out))
}
