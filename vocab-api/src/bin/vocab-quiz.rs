//! Lambda for the quiz routes (function `vocab-api-quiz`).

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    vocab_api::lambda::run("vocab-quiz", vocab_api::app).await
}
