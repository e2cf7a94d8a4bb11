//! Who is calling, resolved once per request by the [`authenticate`] middleware into a
//! [`Caller`] request extension (and the log context's `user.id`). Behind API Gateway: the
//! JWT authorizer's `sub` claim from the request context (payload v2). In `vocab-local`
//! only: the `x-dev-user` header. Handlers take [`Caller`]; without an identity it rejects
//! with `401`.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{Extensions, HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use lambda_http::RequestExt;
use lambda_http::request::RequestContext;

use crate::error::ApiError;
use crate::log_ctx::LogCtx;
use crate::state::{AppState, AuthMode};
use crate::validate;

/// The development header `vocab-local` takes the caller from.
pub const DEV_USER_HEADER: &str = "x-dev-user";

/// The caller's user id (a request extension once [`authenticate`] found one).
#[derive(Clone, Debug)]
pub struct Caller(pub String);

/// Middleware: resolves the caller once and records it for the handlers ([`Caller`]) and
/// for the request's log line ([`LogCtx`]). A request without one goes on: routes that need
/// a caller answer `401`, unknown routes `404`.
pub async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    match identify(req.headers(), req.extensions(), &state.auth).await {
        Ok(user) => {
            if let Some(ctx) = req.extensions().get::<LogCtx>() {
                ctx.user(&user);
            }
            req.extensions_mut().insert(Caller(user));
        }
        Err(why) => {
            req.extensions_mut().insert(NoCaller(why));
        }
    }
    next.run(req).await
}

/// Why a request has no [`Caller`] (the `401`'s message and log line say it).
#[derive(Clone, Debug)]
struct NoCaller(String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        Err(match parts.extensions.get::<NoCaller>() {
            Some(NoCaller(why)) => ApiError::Unauthenticated(why.clone()),
            None => ApiError::Unauthorized,
        })
    }
}

/// The caller's id, if the request carries a valid one for `mode`; else why not.
async fn identify(
    headers: &HeaderMap,
    extensions: &Extensions,
    mode: &AuthMode,
) -> Result<String, String> {
    let raw = match mode {
        AuthMode::JwtAuthorizer => jwt_sub(extensions).ok_or("no JWT authorizer claims")?,
        AuthMode::DevHeader => headers
            .get(DEV_USER_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or("no x-dev-user header")?,
        AuthMode::Bearer(verifier) => {
            let header = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            verifier
                .verify(header)
                .await
                .map_err(|e| format!("invalid token: {e}"))?
        }
    };
    validate::user_id(&raw).ok_or_else(|| "invalid user id".to_owned())
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
