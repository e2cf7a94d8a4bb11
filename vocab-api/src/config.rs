//! Settings read from the environment.

use std::time::Duration;

/// Which database holds the data (`VOCAB_STORE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// One DynamoDB table (`VOCAB_TABLE`, `DYNAMODB_ENDPOINT`).
    DynamoDb,
    /// MongoDB (`MONGODB_URI`, or `MONGODB_URI_SECRET_ARN`), as the original app used.
    MongoDb,
}

impl std::str::FromStr for StoreKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dynamodb" => Ok(StoreKind::DynamoDb),
            "mongodb" => Ok(StoreKind::MongoDb),
            other => Err(format!("{other:?} is not a store: use dynamodb or mongodb")),
        }
    }
}

/// Where the MongoDB connection string comes from. The string carries the password: it is
/// never printed (`Debug` shows only where it came from) nor logged.
#[derive(Clone, PartialEq, Eq)]
pub enum MongoUri {
    /// `MONGODB_URI` itself.
    Value(String),
    /// `MONGODB_URI_SECRET_ARN`: a Secrets Manager secret whose value is the whole string
    /// (what infra gives the Lambda functions; docs/CONTRACTS.md, section C).
    Secret(String),
}

impl std::fmt::Debug for MongoUri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MongoUri::Value(_) => f.write_str("MONGODB_URI (redacted)"),
            MongoUri::Secret(arn) => write!(f, "secret {arn}"),
        }
    }
}

/// Where the data lives and how close to the Lambda deadline we give up.
#[derive(Clone, Debug)]
pub struct Config {
    /// `VOCAB_STORE`: `dynamodb` (default) or `mongodb`.
    pub store: StoreKind,
    /// DynamoDB table (`VOCAB_TABLE`; required with `dynamodb`).
    pub table: String,
    /// Endpoint override (`DYNAMODB_ENDPOINT`), e.g. DynamoDB Local or moto; unset = AWS.
    pub endpoint: Option<String>,
    /// The MongoDB connection string's source (required with `mongodb`): `MONGODB_URI`, or
    /// else `MONGODB_URI_SECRET_ARN`.
    pub mongodb_uri: Option<MongoUri>,
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

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    /// Reads the environment; `VOCAB_TABLE` falls back to `default_table` when given.
    pub fn from_env(default_table: Option<&str>) -> Result<Self, ConfigError> {
        let store = match var("VOCAB_STORE") {
            Some(v) => v.parse().map_err(|reason| ConfigError::Invalid {
                name: "VOCAB_STORE",
                reason,
            })?,
            None => StoreKind::DynamoDb,
        };
        let table = match (var("VOCAB_TABLE"), default_table, store) {
            (Some(t), _, _) => t,
            (None, Some(d), _) => d.to_owned(),
            (None, None, StoreKind::MongoDb) => String::new(),
            (None, None, StoreKind::DynamoDb) => return Err(ConfigError::Missing("VOCAB_TABLE")),
        };
        let mongodb_uri = match (var("MONGODB_URI"), var("MONGODB_URI_SECRET_ARN")) {
            (Some(uri), _) => Some(MongoUri::Value(uri)),
            (None, Some(arn)) => Some(MongoUri::Secret(arn)),
            (None, None) => None,
        };
        if let Some(MongoUri::Value(uri)) = &mongodb_uri
            && !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://"))
        {
            // Not echoed: it may be a password pasted in the wrong place.
            return Err(ConfigError::Invalid {
                name: "MONGODB_URI",
                reason: "must start with mongodb:// or mongodb+srv://".into(),
            });
        }
        let deadline_margin = match var("VOCAB_DEADLINE_MARGIN_MS") {
            Some(v) => {
                Duration::from_millis(v.trim().parse().map_err(|e| ConfigError::Invalid {
                    name: "VOCAB_DEADLINE_MARGIN_MS",
                    reason: format!("{e}"),
                })?)
            }
            None => Duration::from_millis(500),
        };
        Ok(Config {
            store,
            table,
            endpoint: var("DYNAMODB_ENDPOINT"),
            mongodb_uri,
            deadline_margin,
        })
    }
}
