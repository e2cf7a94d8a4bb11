//! Extractors that fail with our JSON errors instead of axum's plain-text rejections.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::validate::MAX_BODY_BYTES;

/// A JSON body: `413` over the size limit, `400` (code `invalid_json`) when it doesn't parse
/// or has the wrong shape, naming the field when serde says which.
pub struct JsonBody<T>(pub T);

impl<T, S> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                }
            } else {
                ApiError::Invalid {
                    code: "invalid_body",
                    field: None,
                    message: "the request body could not be read".into(),
                }
            }
        })?;
        json_object(&bytes).map(JsonBody)
    }
}

/// Parses a JSON object body into `T`, with the same `400`s as [`JsonBody`].
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::Invalid {
            code: "invalid_json",
            field: None,
            message: "a JSON object body is required".into(),
        });
    }
    let invalid = |e: serde_json::Error| ApiError::Invalid {
        code: "invalid_json",
        field: field_in(&e.to_string()),
        message: describe(&e),
    };
    // An object only: serde would also fill a struct from an array.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(invalid)?;
    if !value.is_object() {
        return Err(ApiError::Invalid {
            code: "invalid_json",
            field: None,
            message: "the body must be a JSON object".into(),
        });
    }
    serde_json::from_value(value).map_err(invalid)
}

/// serde's message without the offending value (serde quotes it: `invalid type: string
/// "…", expected …`), since error messages are logged and bodies never are.
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let text = e.to_string();
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            format!("malformed JSON at line {} column {}", e.line(), e.column())
        }
        Category::Data => match field_in(&text) {
            // Only names: the field, and the ones we expected.
            Some(_) => text,
            None => match text.find(", expected ") {
                Some(i) => format!("wrong type or value: expected {}", &text[i + 11..]),
                None => "wrong type or value".to_owned(),
            },
        },
    }
}

/// serde names a field in backticks for unknown / missing / duplicate fields.
fn field_in(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    let name = &message[start..start + len];
    (message.starts_with("unknown field")
        || message.starts_with("missing field")
        || message.starts_with("duplicate field"))
    .then(|| name.to_owned())
}

/// The query string as a map; a malformed one is a `400`.
pub struct QueryMap(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map(|q| QueryMap(q.0))
            .map_err(|_| ApiError::Invalid {
                code: "invalid_query",
                field: None,
                message: "malformed query string".into(),
            })
    }
}

impl QueryMap {
    pub fn get(&self, k: &str) -> Option<&str> {
        self.0.get(k).map(String::as_str)
    }

    /// `400` for parameters the route doesn't know (a typo would otherwise be ignored).
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ApiError::invalid(
                k.clone(),
                format!("unknown query parameter; known: {}", known.join(", ")),
            )),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        count: Option<i64>,
    }

    fn err(json: &str) -> serde_json::Error {
        serde_json::from_str::<Body>(json).expect_err("invalid")
    }

    #[test]
    fn messages_name_fields_but_never_echo_values() {
        let wrong_type = describe(&err(r#"{"count":"hunter2"}"#));
        assert!(!wrong_type.contains("hunter2"), "{wrong_type}");
        assert!(wrong_type.contains("expected i64"), "{wrong_type}");
        let unknown = err(r#"{"owner":"x"}"#);
        assert_eq!(field_in(&unknown.to_string()).as_deref(), Some("owner"));
        assert!(describe(&err(r#"{"count":"#)).starts_with("malformed JSON"));
    }
}
