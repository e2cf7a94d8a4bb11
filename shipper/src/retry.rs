//! What to do with each bulk item and each failed request, and how long to wait.
//!
//! Item statuses follow the bulk API docs: 2xx created; 409 `version_conflict_engine_exception`
//! on `create` means the `_id` is already there (an earlier delivery of the same event);
//! 429 `es_rejected_execution_exception` and 5xx are transient; 403 (a missing privilege, e.g.
//! `auto_configure` to create a data stream) and 404 (`index_not_found_exception`: the
//! cluster won't create the target) are the cluster's configuration, not the event's fault;
//! any other 4xx (e.g. `mapper_parsing_exception`) will fail the same way every time.

use std::time::Duration;

use crate::response::ItemResult;

/// The fate of one item.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    Indexed,
    /// 409: indexed by an earlier delivery. Counts as success.
    AlreadyPresent,
    /// 429 / 5xx: send again (only this item).
    Retry,
    /// 403 / 404: the cluster's configuration refuses it. Not the event's fault, so not
    /// dead-lettered; not fixed by retrying within one invocation either: the invocation fails
    /// with the reason, so Lambda retries it later and the alarm on errors fires.
    Misconfigured {
        status: u16,
        error_type: String,
        reason: String,
    },
    /// Any other 4xx: goes to the dead-letter stream with the reason.
    Reject {
        status: u16,
        error_type: String,
        reason: String,
    },
}

pub fn classify_item(r: &ItemResult<'_>) -> ItemOutcome {
    match r.status {
        200..=299 => ItemOutcome::Indexed,
        409 => ItemOutcome::AlreadyPresent,
        429 | 500..=599 => ItemOutcome::Retry,
        // 0 = the response named no status: unknown, so not safe to call it refused.
        0 => ItemOutcome::Retry,
        s @ (403 | 404) => ItemOutcome::Misconfigured {
            status: s,
            error_type: r.error_type.clone().unwrap_or_else(|| format!("http_{s}")),
            reason: r.error_reason.clone().unwrap_or_default(),
        },
        s => ItemOutcome::Reject {
            status: s,
            error_type: r.error_type.clone().unwrap_or_else(|| format!("http_{s}")),
            reason: r.error_reason.clone().unwrap_or_default(),
        },
    }
}

/// The fate of a whole request that did not come back as a 200 bulk response.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestOutcome {
    /// Connection refused/reset, timeout, 429, 5xx: resend the same items later.
    Retry,
    /// 413: the body is over `http.max_content_length`; resend in halves.
    Split,
    /// 401/403: credentials are wrong; retrying can't help and would hide the cause.
    Fatal,
    /// 404 for the whole request: the URL doesn't lead to Elasticsearch's `_bulk` (a path
    /// prefix behind a proxy): configuration, not the events' fault.
    Misconfigured,
    /// Any other 4xx for the whole request: the items can't be indexed as sent.
    Reject,
}

pub fn classify_status(status: u16) -> RequestOutcome {
    match status {
        413 => RequestOutcome::Split,
        401 | 403 => RequestOutcome::Fatal,
        404 => RequestOutcome::Misconfigured,
        408 | 429 | 500..=599 => RequestOutcome::Retry,
        400..=499 => RequestOutcome::Reject,
        // 1xx/3xx are not bulk answers; treat as transient.
        _ => RequestOutcome::Retry,
    }
}

/// Exponential backoff with full jitter
/// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(5),
        }
    }
}

impl Backoff {
    /// The wait before attempt `attempt` (1 = first retry), given a uniform sample in [0,1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.min(20).saturating_sub(1));
        let cap = exp.min(self.max);
        // Never zero: a zero wait against a 429 just repeats the overload.
        cap.mul_f64(unit.clamp(0.0, 1.0)).max(self.base / 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(status: u16, t: Option<&str>) -> ItemResult<'static> {
        ItemResult {
            status,
            error_type: t.map(Into::into),
            error_reason: Some("why".into()),
            ..ItemResult::default()
        }
    }

    #[test]
    fn classifies_every_item_status_class() {
        assert_eq!(classify_item(&item(201, None)), ItemOutcome::Indexed);
        assert_eq!(
            classify_item(&item(409, Some("version_conflict_engine_exception"))),
            ItemOutcome::AlreadyPresent
        );
        assert_eq!(
            classify_item(&item(429, Some("es_rejected_execution_exception"))),
            ItemOutcome::Retry
        );
        assert_eq!(
            classify_item(&item(503, Some("unavailable_shards_exception"))),
            ItemOutcome::Retry
        );
        assert_eq!(
            classify_item(&item(400, Some("mapper_parsing_exception"))),
            ItemOutcome::Reject {
                status: 400,
                error_type: "mapper_parsing_exception".into(),
                reason: "why".into()
            }
        );
        assert_eq!(classify_item(&item(0, None)), ItemOutcome::Retry);
    }

    #[test]
    fn an_item_403_or_404_is_the_clusters_configuration_not_a_dead_letter_issue_10() {
        for (status, t) in [
            (403, "security_exception"),
            (404, "index_not_found_exception"),
        ] {
            assert_eq!(
                classify_item(&item(status, Some(t))),
                ItemOutcome::Misconfigured {
                    status,
                    error_type: t.into(),
                    reason: "why".into()
                }
            );
        }
        assert_eq!(classify_status(404), RequestOutcome::Misconfigured);
    }

    #[test]
    fn classifies_whole_request_failures() {
        assert_eq!(classify_status(413), RequestOutcome::Split);
        assert_eq!(classify_status(401), RequestOutcome::Fatal);
        assert_eq!(classify_status(503), RequestOutcome::Retry);
        assert_eq!(classify_status(429), RequestOutcome::Retry);
        assert_eq!(classify_status(400), RequestOutcome::Reject);
    }

    #[test]
    fn backoff_grows_is_capped_and_never_zero() {
        let b = Backoff::default();
        assert_eq!(b.delay(1, 1.0), Duration::from_millis(100));
        assert_eq!(b.delay(3, 1.0), Duration::from_millis(400));
        assert_eq!(b.delay(30, 1.0), Duration::from_secs(5));
        assert_eq!(b.delay(3, 0.0), Duration::from_millis(25));
    }
}
