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

impl Config {
    /// Reads the environment; `VOCAB_TABLE` falls back to `default_table` when given.
    pub fn from_env(default_table: Option<&str>) -> Result<Self, ConfigError> {
        Self::from_vars(default_table, |name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] over any source of variables (`lookup` gives a variable's value);
    /// an empty or blank value counts as unset.
    pub fn from_vars(
        default_table: Option<&str>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_vars(None, |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn the_store_is_dynamodb_unless_vocab_store_says_mongodb() {
        let c = config(&[("VOCAB_TABLE", "t")]).expect("config");
        assert_eq!((c.store, c.table.as_str()), (StoreKind::DynamoDb, "t"));
        let c = config(&[
            ("VOCAB_STORE", " MongoDB "),
            ("MONGODB_URI", "mongodb://h/db"),
        ])
        .expect("config");
        assert_eq!(c.store, StoreKind::MongoDb);
        assert_eq!(
            c.mongodb_uri,
            Some(MongoUri::Value("mongodb://h/db".into()))
        );
        // MongoDB needs no table; DynamoDB does.
        assert!(matches!(
            config(&[("VOCAB_STORE", "dynamodb")]),
            Err(ConfigError::Missing("VOCAB_TABLE"))
        ));
    }

    #[test]
    fn an_unknown_store_is_a_clear_error_naming_the_choices() {
        let e = config(&[("VOCAB_STORE", "postgres"), ("VOCAB_TABLE", "t")])
            .expect_err("refused")
            .to_string();
        assert!(
            e.contains("VOCAB_STORE") && e.contains("dynamodb or mongodb"),
            "{e}"
        );
    }

    #[test]
    fn the_uri_comes_from_the_environment_before_the_secret() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mongo-AbCdEf";
        let c =
            config(&[("VOCAB_STORE", "mongodb"), ("MONGODB_URI_SECRET_ARN", arn)]).expect("config");
        assert_eq!(c.mongodb_uri, Some(MongoUri::Secret(arn.into())));
        let c = config(&[
            ("VOCAB_STORE", "mongodb"),
            ("MONGODB_URI_SECRET_ARN", arn),
            (
                "MONGODB_URI",
                "mongodb+srv://u:p@cluster0.example.net/vocab",
            ),
        ])
        .expect("config");
        assert!(matches!(c.mongodb_uri, Some(MongoUri::Value(_))));
    }

    #[test]
    fn a_uri_that_is_not_one_is_refused_without_echoing_it() {
        let e = config(&[
            ("VOCAB_STORE", "mongodb"),
            ("MONGODB_URI", "hunter2-secret"),
        ])
        .expect_err("refused")
        .to_string();
        assert!(e.contains("MONGODB_URI") && e.contains("mongodb://"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_config_never_prints_the_connection_string() {
        let c = config(&[
            ("VOCAB_STORE", "mongodb"),
            (
                "MONGODB_URI",
                "mongodb+srv://u:s3cret@cluster0.example.net/vocab",
            ),
        ])
        .expect("config");
        let printed = format!("{c:?}");
        assert!(
            !printed.contains("s3cret") && printed.contains("redacted"),
            "{printed}"
        );
    }
}
