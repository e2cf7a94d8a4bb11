//! Who is calling. Behind API Gateway: the JWT authorizer's `sub` claim from the request
//! context (payload v2). In `vocab-local` only: the `x-dev-user` header. No identity → `401`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap};
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use crate::app::{AppState, AuthMode};
use crate::error::ApiError;
use crate::request_log::LogCtx;
use crate::validate;

/// The development header `vocab-local` takes the caller from.
pub const DEV_USER_HEADER: &str = "x-dev-user";

/// The caller's user id.
#[derive(Clone, Debug)]
pub struct Caller(pub String);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = identify(&parts.headers, &parts.extensions, state.auth)
            .ok_or(ApiError::Unauthorized)?;
        if let Some(ctx) = parts.extensions.get::<LogCtx>() {
            ctx.user(&user);
        }
        Ok(Caller(user))
    }
}

/// The caller's id, if the request carries a valid one for `mode`.
pub fn identify(headers: &HeaderMap, extensions: &Extensions, mode: AuthMode) -> Option<String> {
    let raw = match mode {
        AuthMode::JwtAuthorizer => jwt_sub(extensions),
        AuthMode::DevHeader => headers
            .get(DEV_USER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    raw.as_deref().and_then(validate::user_id)
}

fn jwt_sub(extensions: &Extensions) -> Option<String> {
    match extensions.request_context_ref()? {
        RequestContext::ApiGatewayV2(ctx) => ctx
            .authorizer
            .as_ref()?
            .jwt
            .as_ref()?
            .claims
            .get("sub")
            .cloned(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
