//! Lambda for the me routes (function `vocab-api-me`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    vocab_api::lambda::run("vocab-me", vocab_api::app).await
}
