//! The incorrect-answers notebook (오답 노트) of each list: words put there by hand or by a
//! wrong quiz answer, listed per list and across lists.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::QueryMap;
use crate::log_ctx::LogCtx;
use crate::model::Word;
use crate::state::AppState;
use crate::store::WordFilter;
use crate::validate;

/// `GET /lists/{list_id}/notebook?limit=&cursor=` → `{"items","next_cursor"}`.
pub async fn list(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    query: QueryMap,
) -> Result<Json<Value>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    query.only(&["limit", "cursor"])?;
    let limit = validate::page_size(query.get("limit"))?;
    let cursor = validate::cursor(query.get("cursor"))?;
    st.store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    let filter = WordFilter {
        in_notebook: Some(true),
        ..WordFilter::default()
    };
    let page = st
        .store
        .words_page(&user, &list_id, &filter, limit, cursor.as_deref())
        .await?;
    log.app("result_count", page.items.len());
    Ok(Json(json!(page)))
}

/// `PUT /lists/{list_id}/notebook/{word_id}` → 200 with the word (idempotent).
pub async fn add(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path((list_id, word_id)): Path<(String, String)>,
) -> Result<Json<Word>, ApiError> {
    let (list_id, word_id) = ids(&log, &list_id, &word_id)?;
    st.store
        .set_in_notebook(&user, &list_id, &word_id, true)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("word"))
}

/// `DELETE /lists/{list_id}/notebook/{word_id}` → 204 (idempotent: also when it wasn't
/// there; `404` only for a missing word).
pub async fn remove(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path((list_id, word_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let (list_id, word_id) = ids(&log, &list_id, &word_id)?;
    st.store
        .set_in_notebook(&user, &list_id, &word_id, false)
        .await?
        .map(|_| StatusCode::NO_CONTENT)
        .ok_or(ApiError::NotFound("word"))
}

/// `GET /notebooks` → `{"items":[{"list","count"}]}` for every list with a non-empty notebook.
pub async fn all(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
) -> Result<Json<Value>, ApiError> {
    let items = st.store.notebooks(&user).await?;
    log.app("result_count", items.len());
    Ok(Json(json!({ "items": items })))
}

fn ids(log: &LogCtx, list_id: &str, word_id: &str) -> Result<(String, String), ApiError> {
    let list_id = validate::id(list_id, "list")?;
    let word_id = validate::id(word_id, "word")?;
    log.app("list_id", list_id.as_str());
    log.app("word_id", word_id.as_str());
    Ok((list_id, word_id))
}
