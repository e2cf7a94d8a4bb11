//! Word lists: create, list (paginated), get, rename, delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryMap};
use crate::log_ctx::LogCtx;
use crate::model::{BatchDeleted, ListPatch, WordList, new_id, now};
use crate::state::AppState;
use crate::validate;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateList {
    name: Option<String>,
    source_lang: Option<String>,
    target_lang: Option<String>,
    favorite: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateList {
    name: Option<String>,
    favorite: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchDelete {
    ids: Option<Vec<String>>,
}

/// `POST /lists` → 201 with the list.
pub async fn create(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    JsonBody(body): JsonBody<CreateList>,
) -> Result<(StatusCode, Json<WordList>), ApiError> {
    let name = validate::text(
        "name",
        body.name.as_deref(),
        validate::MAX_LIST_NAME_CHARS,
        false,
    )?;
    let source_lang = validate::lang("source_lang", body.source_lang.as_deref())?;
    let target_lang = validate::lang("target_lang", body.target_lang.as_deref())?;
    let at = now();
    let list = WordList {
        id: new_id(),
        name,
        source_lang,
        target_lang,
        word_count: 0,
        learned_count: 0,
        favorite: body.favorite.unwrap_or(false),
        notebook_count: 0,
        created_at: at.clone(),
        updated_at: at,
    };
    log.app("list_id", list.id.as_str());
    st.store.create_list(&user, &list).await?;
    Ok((StatusCode::CREATED, Json(list)))
}

/// `GET /lists?limit=&cursor=` → `{"items":[…],"next_cursor":…}`.
pub async fn list(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    query: QueryMap,
) -> Result<Json<Value>, ApiError> {
    query.only(&["limit", "cursor"])?;
    let limit = validate::page_size(query.get("limit"))?;
    let cursor = validate::cursor(query.get("cursor"))?;
    let page = st.store.lists(&user, limit, cursor.as_deref()).await?;
    log.app("result_count", page.items.len());
    Ok(Json(json!(page)))
}

/// `GET /lists/{list_id}`.
pub async fn get(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
) -> Result<Json<WordList>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    let list = st
        .store
        .get_list(&user, &list_id)
        .await?
        .ok_or(ApiError::NotFound("list"))?;
    log.app("word_count", list.word_count);
    Ok(Json(list))
}

/// `PATCH /lists/{list_id}` `{"name"?, "favorite"?}`.
pub async fn update(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
    JsonBody(body): JsonBody<UpdateList>,
) -> Result<Json<WordList>, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    if body.name.is_none() && body.favorite.is_none() {
        return Err(ApiError::Invalid {
            code: "invalid_body",
            field: None,
            message: "nothing to change: send name or favorite".into(),
        });
    }
    let patch = ListPatch {
        name: body
            .name
            .as_deref()
            .map(|n| validate::text("name", Some(n), validate::MAX_LIST_NAME_CHARS, false))
            .transpose()?,
        favorite: body.favorite,
    };
    st.store
        .update_list(&user, &list_id, &patch)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("list"))
}

/// `DELETE /lists/{list_id}` → 204 (its words go with it).
pub async fn delete(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    Path(list_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let list_id = validate::id(&list_id, "list")?;
    log.app("list_id", list_id.as_str());
    if st.store.delete_list(&user, &list_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("list"))
    }
}

/// `POST /lists/batch-delete` `{"ids":[…]}` → `{"deleted","not_found"}` (another user's
/// ids are `not_found`, exactly like missing ones).
pub async fn batch_delete(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
    JsonBody(body): JsonBody<BatchDelete>,
) -> Result<Json<BatchDeleted>, ApiError> {
    let ids = validate::batch_ids(body.ids.as_deref(), validate::MAX_BATCH_LISTS)?;
    let mut out = BatchDeleted::default();
    for id in ids {
        let deleted = match validate::id(&id, "list") {
            Ok(list_id) => st.store.delete_list(&user, &list_id).await?,
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
