//! Lambda for the words routes (function `vocab-api-words`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    vocab_api::lambda::run("vocab-words", vocab_api::app).await
}
