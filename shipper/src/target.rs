//! Where a batch's documents go: a data stream named from the log group, or a dated index.

use std::borrow::Cow;

/// How documents are addressed in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetMode {
    /// `logs-<dataset>-<namespace>` data streams (Elasticsearch 7.9+). `create` only.
    DataStream,
    /// `<prefix>-YYYY.MM.DD` indices by the event's own day (OpenSearch, older clusters).
    Index,
}

/// The naming settings, from [`crate::config::Config`].
#[derive(Debug, Clone)]
pub struct Naming {
    pub mode: TargetMode,
    /// `None` = derive from the log group (`auto`).
    pub dataset: Option<String>,
    pub namespace: String,
    pub index_prefix: String,
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            mode: TargetMode::DataStream,
            dataset: None,
            namespace: "default".into(),
            index_prefix: "cloudwatch".into(),
        }
    }
}

/// What kind of document: the three streams the shipper writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Logs,
    DeadLetter,
    Health,
}

pub const DEAD_LETTER_DATASET: &str = "shipper.deadletter";
pub const HEALTH_DATASET: &str = "shipper.health";

impl Naming {
    /// The data stream dataset for a log group.
    pub fn dataset(&self, log_group: &str) -> Cow<'_, str> {
        match &self.dataset {
            Some(d) => Cow::Borrowed(d),
            None => Cow::Owned(derive_dataset(log_group)),
        }
    }

    /// The `_index` of the bulk action: a data stream name, or a dated index for `day`
    /// (`YYYY.MM.DD` of the event's timestamp, so a re-delivered event lands in the same index
    /// and `create` finds its `_id` there).
    pub fn target(&self, stream: Stream, dataset: &str, timestamp_ms: i64) -> String {
        match self.mode {
            TargetMode::DataStream => {
                let ds = match stream {
                    Stream::Logs => dataset,
                    Stream::DeadLetter => DEAD_LETTER_DATASET,
                    Stream::Health => HEALTH_DATASET,
                };
                format!("logs-{ds}-{}", self.namespace)
            }
            TargetMode::Index => {
                let day = chrono::DateTime::from_timestamp_millis(timestamp_ms)
                    .unwrap_or_default()
                    .format("%Y.%m.%d");
                match stream {
                    Stream::Logs => format!("{}-{day}", self.index_prefix),
                    Stream::DeadLetter => format!("{}-deadletter-{day}", self.index_prefix),
                    Stream::Health => format!("{}-health-{day}", self.index_prefix),
                }
            }
        }
    }
}

/// `/aws/lambda/vocab-api-words` → `cloudwatch.vocab_api_words`; any other group →
/// `cloudwatch.<group, sanitized>`. Data stream names allow neither `-` in the dataset nor
/// upper case, `\ / * ? " < > | , #` or spaces; the whole name is capped at 255 bytes.
pub fn derive_dataset(log_group: &str) -> String {
    let name = log_group
        .strip_prefix("/aws/lambda/")
        .unwrap_or(log_group.trim_start_matches('/'));
    let mut out = String::with_capacity(11 + name.len());
    out.push_str("cloudwatch");
    if name.is_empty() {
        return out;
    }
    out.push('.');
    let mut last_us = true;
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        let keep = c.is_ascii_alphanumeric() || c == '.';
        if keep {
            out.push(c);
            last_us = false;
        } else if !last_us {
            out.push('_');
            last_us = true;
        }
    }
    while out.ends_with(['_', '.']) {
        out.pop();
    }
    // 100 bytes keeps `logs-<dataset>-<namespace>` well under the 255-byte limit.
    out.truncate(100);
    out
}

/// The function name of a `/aws/lambda/<name>` group.
pub fn faas_name(log_group: &str) -> Option<&str> {
    log_group
        .strip_prefix("/aws/lambda/")
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derives_a_valid_dataset_from_any_log_group() {
        assert_eq!(
            derive_dataset("/aws/lambda/vocab-api-words"),
            "cloudwatch.vocab_api_words"
        );
        assert_eq!(
            derive_dataset("API-Gateway-Execution-Logs_abc/prod"),
            "cloudwatch.api_gateway_execution_logs_abc_prod"
        );
        assert_eq!(derive_dataset(""), "cloudwatch");
        assert_eq!(
            derive_dataset("/aws/lambda/Ünïcode Fn"),
            "cloudwatch.n_code_fn"
        );
        assert!(derive_dataset(&"x".repeat(500)).len() <= 100);
    }

    #[test]
    fn dated_index_follows_the_event_day_not_today() {
        let n = Naming {
            mode: TargetMode::Index,
            ..Naming::default()
        };
        // 2015-08-24T18:23:07Z
        assert_eq!(
            n.target(Stream::Logs, "x", 1_440_440_587_000),
            "cloudwatch-2015.08.24"
        );
        assert_eq!(
            n.target(Stream::DeadLetter, "x", 1_440_440_587_000),
            "cloudwatch-deadletter-2015.08.24"
        );
    }

    #[test]
    fn data_stream_names_follow_the_logs_dataset_namespace_scheme() {
        let n = Naming::default();
        assert_eq!(
            n.target(Stream::Logs, "cloudwatch.f", 0),
            "logs-cloudwatch.f-default"
        );
        assert_eq!(
            n.target(Stream::DeadLetter, "cloudwatch.f", 0),
            "logs-shipper.deadletter-default"
        );
        assert_eq!(
            n.target(Stream::Health, "cloudwatch.f", 0),
            "logs-shipper.health-default"
        );
    }
}
