//! Lambda for the lists routes (function `vocab-api-lists`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    vocab_api::lambda::run("vocab-lists", vocab_api::app).await
}
