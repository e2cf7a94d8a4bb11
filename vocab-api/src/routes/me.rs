//! The caller's profile and stats.

use axum::Json;
use axum::extract::State;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::log_ctx::LogCtx;
use crate::model::Profile;
use crate::state::AppState;

/// `GET /me` (the first call creates the profile).
pub async fn get(
    State(st): State<AppState>,
    Caller(user): Caller,
    log: LogCtx,
) -> Result<Json<Profile>, ApiError> {
    let profile = st.store.profile(&user).await?;
    log.app("list_count", profile.lists);
    log.app("word_count", profile.words);
    Ok(Json(profile))
}
