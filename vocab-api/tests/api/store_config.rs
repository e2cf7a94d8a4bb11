//! Choosing the store at start (issue 14): the MongoDB connection string from Secrets Manager
//! (on moto's Secrets Manager API), and the errors of a MongoDB store that can't be opened —
//! clear, and never carrying the connection string or the secret's value.

use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use vocab_api::backend::{OpenError, mongodb_uri, open};
use vocab_api::config::{Config, MongoUri, StoreKind};
use vocab_api::mongo::MongoStore;

use super::harness::moto_url;

fn secrets() -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .endpoint_url(moto_url())
        .http_client(vocab_api::dynamo::http_client())
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

async fn secret(client: &aws_sdk_secretsmanager::Client, value: &str) -> String {
    let name = format!("vocab-mongodb-{}", uuid::Uuid::new_v4().simple());
    client
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .expect("create secret")
        .arn()
        .expect("arn")
        .to_owned()
}

#[tokio::test]
async fn the_mongodb_uri_is_read_from_its_secret() {
    let client = secrets();
    let uri = "mongodb+srv://vocab:pa55word@cluster0.example.net/vocab?retryWrites=true";
    let arn = secret(&client, &format!("{uri}\n")).await;
    let got = mongodb_uri(&MongoUri::Secret(arn), &client)
        .await
        .expect("read");
    assert_eq!(got, uri, "the whole string, trimmed");
}

#[tokio::test]
async fn a_secret_that_is_not_a_connection_string_is_refused_without_its_value() {
    let client = secrets();
    let arn = secret(&client, "pa55word-only").await;
    let e = mongodb_uri(&MongoUri::Secret(arn.clone()), &client)
        .await
        .expect_err("refused")
        .to_string();
    assert!(e.contains(&arn) && e.contains("mongodb://"), "{e}");
    assert!(
        !e.contains("pa55word"),
        "the value is never in the error: {e}"
    );
}

#[tokio::test]
async fn a_missing_secret_is_an_error_naming_the_arn_and_the_code() {
    let client = secrets();
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf";
    let e = mongodb_uri(&MongoUri::Secret(arn.into()), &client)
        .await
        .expect_err("refused")
        .to_string();
    assert!(
        e.contains(arn) && e.contains("ResourceNotFoundException"),
        "{e}"
    );
}

#[tokio::test]
async fn mongodb_without_a_uri_says_what_to_set() {
    let config = Config {
        store: StoreKind::MongoDb,
        table: String::new(),
        endpoint: None,
        mongodb_uri: None,
        deadline_margin: std::time::Duration::from_millis(500),
    };
    let e = open(&config, false).await.err().expect("refused");
    assert!(matches!(e, OpenError::Config(_)), "{e:?}");
    assert!(e.to_string().contains("MONGODB_URI"), "{e}");
}

#[tokio::test]
async fn an_unreachable_mongodb_fails_at_start_without_the_password() {
    // Nothing listens on port 9 of loopback (discard, not served): server selection fails.
    let uri = "mongodb://vocab:pa55word@127.0.0.1:9/vocab?serverSelectionTimeoutMS=300&connectTimeoutMS=200";
    let e = MongoStore::connect(uri, None).await.err().expect("refused");
    let text = e.to_string();
    assert!(text.contains("ServerSelection"), "{text}");
    assert!(!text.contains("pa55word"), "{text}");
}
