//! Every failure a handler can return, and the one place it becomes an HTTP response:
//! `{"error":{"code","field","message"}}`. 5xx bodies never carry internals; the request log
//! line gets the real cause through the [`ErrorInfo`] response extension.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Invalid input: which field (if any) and why.
    #[error("{}{message}", field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    #[error("no caller identity")]
    Unauthorized,
    /// No caller, and why (`invalid token: token expired`); answered like `Unauthorized`.
    #[error("{0}")]
    Unauthenticated(String),
    /// Missing, or another user's: the answer is the same.
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Too many requests from this caller; try again after `retry_after_s` seconds.
    #[error("too many requests; retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u64 },
    #[error("no answer before the Lambda deadline")]
    Timeout,
    #[error("panic: {0}")]
    Panic(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the request log line says about a failed request (`error.type`, `error.message`).
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub kind: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            code: "invalid_field",
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Invalid { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Timeout => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Panic(_) | ApiError::Internal(_) | ApiError::Store(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The machine-readable code in the response body.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Invalid { code, .. } | ApiError::Conflict { code, .. } => code,
            ApiError::Unauthorized | ApiError::Unauthenticated(_) => "unauthorized",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Timeout => "timeout",
            ApiError::Panic(_) | ApiError::Internal(_) | ApiError::Store(_) => "internal",
        }
    }

    /// `error.type` in the log line.
    fn kind(&self) -> &'static str {
        match self {
            ApiError::Invalid { .. } => "validation",
            ApiError::Panic(_) => "panic",
            ApiError::Store(_) => "store",
            other => other.code(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let field = match &self {
            ApiError::Invalid { field, .. } => field.clone(),
            _ => None,
        };
        let message = if status.is_server_error() && status != StatusCode::GATEWAY_TIMEOUT {
            "internal error".to_owned()
        } else {
            match &self {
                ApiError::Invalid { message, .. } => message.clone(),
                other => other.to_string(),
            }
        };
        let body = json!({"error": {"code": self.code(), "field": field, "message": message}});
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_s } = &self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(*retry_after_s),
            );
        }
        response.extensions_mut().insert(ErrorInfo {
            kind: self.kind(),
            message: self.to_string(),
        });
        response
    }
}
