//! Opens the store the configuration names (`VOCAB_STORE`): DynamoDB or MongoDB, the
//! MongoDB connection string from the environment or from Secrets Manager.

use std::sync::Arc;

use crate::config::{Config, ConfigError, MongoUri, StoreKind};
use crate::dynamo::{DynamoStore, connect, create_table};
use crate::mongo::MongoStore;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The MongoDB connection string's secret could not be read, or isn't one. Never
    /// carries the secret's value.
    #[error("MONGODB_URI_SECRET_ARN {arn}: {reason}")]
    Secret { arn: String, reason: String },
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The store `config` names, ready to serve: with DynamoDB the table is created first when
/// `create_table` is set (`vocab-local`); with MongoDB the indexes are always made sure of.
pub async fn open(config: &Config, create: bool) -> Result<Arc<dyn Store>, OpenError> {
    match config.store {
        StoreKind::DynamoDb => {
            if config.table.is_empty() {
                return Err(ConfigError::Missing("VOCAB_TABLE").into());
            }
            let client = connect(config).await;
            if create {
                create_table(&client, &config.table).await?;
            }
            Ok(Arc::new(DynamoStore::new(client, config.table.clone())))
        }
        StoreKind::MongoDb => {
            let source = config.mongodb_uri.as_ref().ok_or(ConfigError::Missing(
                "MONGODB_URI (or MONGODB_URI_SECRET_ARN) with VOCAB_STORE=mongodb",
            ))?;
            let uri = match source {
                MongoUri::Value(uri) => uri.clone(),
                MongoUri::Secret(_) => {
                    // The same HTTPS client (rustls on ring) as the DynamoDB store: one TLS stack.
                    let aws = aws_config::defaults(aws_config::BehaviorVersion::latest())
                        .http_client(crate::dynamo::http_client())
                        .load()
                        .await;
                    mongodb_uri(source, &aws_sdk_secretsmanager::Client::new(&aws)).await?
                }
            };
            Ok(Arc::new(MongoStore::connect(&uri, None).await?))
        }
    }
}

/// The connection string `source` names: `MONGODB_URI` as it is, or the value of the
/// Secrets Manager secret (`GetSecretValue`, current version), which must be the whole
/// `mongodb://` / `mongodb+srv://` string.
pub async fn mongodb_uri(
    source: &MongoUri,
    secrets: &aws_sdk_secretsmanager::Client,
) -> Result<String, OpenError> {
    let arn = match source {
        MongoUri::Value(uri) => return Ok(uri.clone()),
        MongoUri::Secret(arn) => arn,
    };
    let fail = |reason: String| OpenError::Secret {
        arn: arn.clone(),
        reason,
    };
    let out = secrets
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
            let code = e.code().unwrap_or("request failed").to_owned();
            let message = e
                .message()
                .unwrap_or_default()
                .chars()
                .take(160)
                .collect::<String>();
            fail(format!("GetSecretValue failed: {code}: {message}"))
        })?;
    let value = out
        .secret_string()
        .map(str::trim)
        .ok_or_else(|| fail("the secret has no string value (SecretString)".into()))?;
    if !(value.starts_with("mongodb://") || value.starts_with("mongodb+srv://")) {
        return Err(fail(
            "the secret's value is not a connection string: it must be the whole \
             mongodb:// or mongodb+srv:// string"
                .into(),
        ));
    }
    Ok(value.to_owned())
}
