//! Input limits and the checks that turn bad input into a `400` naming the field.

use crate::error::ApiError;

/// Largest request body accepted (bytes); bigger answers `413`.
pub const MAX_BODY_BYTES: usize = 256 * 1024;
pub const MAX_LIST_NAME_CHARS: usize = 100;
pub const MAX_WORD_CHARS: usize = 200;
pub const MAX_MEANING_CHARS: usize = 1000;
pub const MAX_MEMO_CHARS: usize = 2000;
/// Ids per `POST /lists/batch-delete`.
pub const MAX_BATCH_LISTS: usize = 100;
/// Ids per `POST /lists/{list_id}/words/batch-delete`.
pub const MAX_BATCH_WORDS: usize = 500;
pub const MAX_BULK_WORDS: usize = 500;
pub const MAX_WORDS_PER_LIST: i64 = 5000;
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 20;
pub const MAX_QUIZ_QUESTIONS: usize = 50;
pub const DEFAULT_QUIZ_QUESTIONS: usize = 10;
pub const MAX_SEARCH_CHARS: usize = 100;
pub const MAX_USER_ID_CHARS: usize = 128;

/// A required, trimmed, non-empty text of at most `max` characters, without control
/// characters (a newline is allowed only when `multiline`).
pub fn text(
    field: &str,
    value: Option<&str>,
    max: usize,
    multiline: bool,
) -> Result<String, ApiError> {
    let Some(value) = value else {
        return Err(ApiError::Invalid {
            code: "required",
            field: Some(field.to_owned()),
            message: "is required".into(),
        });
    };
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::invalid(field, "must not be empty"));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(ApiError::Invalid {
            code: "too_long",
            field: Some(field.to_owned()),
            message: format!("is {chars} characters long; the limit is {max}"),
        });
    }
    if value
        .chars()
        .any(|c| c.is_control() && !(multiline && c == '\n'))
    {
        return Err(ApiError::invalid(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_owned())
}

/// An optional note: trimmed, may be empty (clears it) and span lines, at most `max`
/// characters, no other control characters.
pub fn memo(field: &str, value: &str, max: usize) -> Result<String, ApiError> {
    if value.trim().is_empty() {
        return Ok(String::new());
    }
    text(field, Some(value), max, true)
}

/// The ids of a batch delete: 1 to `max`, each one of our ids (anything else can't exist
/// and is reported `not_found`), duplicates dropped.
pub fn batch_ids(ids: Option<&[String]>, max: usize) -> Result<Vec<String>, ApiError> {
    let Some(ids) = ids else {
        return Err(ApiError::Invalid {
            code: "required",
            field: Some("ids".into()),
            message: "is required".into(),
        });
    };
    if ids.is_empty() || ids.len() > max {
        return Err(ApiError::invalid(
            "ids",
            format!("must hold 1 to {max} ids, not {}", ids.len()),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect())
}

/// A language tag like `ko`, `en` or `en-US` (2–35 ASCII letters, digits and `-`).
pub fn lang(field: &str, value: Option<&str>) -> Result<String, ApiError> {
    let value = text(field, value, 35, false)?;
    let ok = value.len() >= 2
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && value
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(ApiError::invalid(
            field,
            "must be a language tag such as \"ko\" or \"en-US\"",
        ));
    }
    Ok(value)
}

/// An id in a path: anything that isn't one of our ids can't exist, so it is a `404`.
pub fn id(value: &str, what: &'static str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(value)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::NotFound(what))
}

/// `?limit=`: 1..=MAX_PAGE_SIZE, default DEFAULT_PAGE_SIZE.
pub fn page_size(value: Option<&str>) -> Result<u32, ApiError> {
    let Some(v) = value else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    match v.parse::<u32>() {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid(
            "limit",
            format!("must be a whole number from 1 to {MAX_PAGE_SIZE}"),
        )),
    }
}

/// `?cursor=`: a `next_cursor` from an earlier page (an id).
pub fn cursor(value: Option<&str>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| {
            uuid::Uuid::parse_str(v)
                .map(|u| u.to_string())
                .map_err(|_| ApiError::invalid("cursor", "is not a cursor from an earlier page"))
        })
        .transpose()
}

/// The caller's id from the authorizer or the development header.
pub fn user_id(value: &str) -> Option<String> {
    let v = value.trim();
    let ok = !v.is_empty()
        && v.chars().count() <= MAX_USER_ID_CHARS
        && !v.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then(|| v.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_counts_characters_not_bytes_and_trims() {
        let hangul = "가".repeat(MAX_WORD_CHARS);
        assert_eq!(
            text("w", Some(&hangul), MAX_WORD_CHARS, false).ok(),
            Some(hangul)
        );
        assert!(
            text(
                "w",
                Some(&"가".repeat(MAX_WORD_CHARS + 1)),
                MAX_WORD_CHARS,
                false
            )
            .is_err()
        );
        assert_eq!(
            text("w", Some("  a b "), 10, false).ok().as_deref(),
            Some("a b")
        );
        assert!(text("w", Some("a\nb"), 10, false).is_err());
        assert!(text("w", Some("a\nb"), 10, true).is_ok());
    }

    #[test]
    fn ids_limits_and_users() {
        assert!(matches!(
            id("nope", "list"),
            Err(ApiError::NotFound("list"))
        ));
        assert_eq!(page_size(None).ok(), Some(DEFAULT_PAGE_SIZE));
        assert!(page_size(Some("101")).is_err());
        assert!(lang("l", Some("en-US")).is_ok());
        assert!(lang("l", Some("1x")).is_err());
        assert_eq!(user_id(" u-1 ").as_deref(), Some("u-1"));
        assert_eq!(user_id("a b"), None);
        assert_eq!(user_id(&"x".repeat(MAX_USER_ID_CHARS + 1)), None);
    }
}
