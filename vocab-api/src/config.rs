//! Settings read from the environment.

use std::time::Duration;

/// Where the data lives and how close to the Lambda deadline we give up.
#[derive(Clone, Debug)]
pub struct Config {
    /// DynamoDB table (`VOCAB_TABLE`).
    pub table: String,
    /// Endpoint override (`DYNAMODB_ENDPOINT`), e.g. DynamoDB Local or moto; unset = AWS.
    pub endpoint: Option<String>,
    /// Answer 504 this long before the Lambda deadline (`VOCAB_DEADLINE_MARGIN_MS`, 500).
    pub deadline_margin: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    /// Reads the environment; `VOCAB_TABLE` falls back to `default_table` when given.
    pub fn from_env(default_table: Option<&str>) -> Result<Self, ConfigError> {
        let table = match std::env::var("VOCAB_TABLE") {
            Ok(t) if !t.trim().is_empty() => t,
            _ => default_table
                .map(str::to_owned)
                .ok_or(ConfigError::Missing("VOCAB_TABLE"))?,
        };
        let endpoint = std::env::var("DYNAMODB_ENDPOINT")
            .ok()
            .filter(|e| !e.trim().is_empty());
        let deadline_margin = match std::env::var("VOCAB_DEADLINE_MARGIN_MS") {
            Ok(v) => Duration::from_millis(v.trim().parse().map_err(|e| ConfigError::Invalid {
                name: "VOCAB_DEADLINE_MARGIN_MS",
                reason: format!("{e}"),
            })?),
            Err(_) => Duration::from_millis(500),
        };
        Ok(Config {
            table,
            endpoint,
            deadline_margin,
        })
    }
}
