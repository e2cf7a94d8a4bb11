//! The API on 127.0.0.1 for local use: the same router as the Lambdas, the caller taken from
//! the `x-dev-user` header, the store from `DYNAMODB_ENDPOINT` / `VOCAB_TABLE` (the table is
//! created if missing). Log lines go to stdout, exactly as in Lambda.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use vocab_api::config::Config;
use vocab_api::dynamo::{DynamoStore, connect, create_table};
use vocab_api::{AppState, app};

#[derive(Parser)]
#[command(about = "Serve the vocab API locally (identity from the x-dev-user header)")]
struct Args {
    /// Address to listen on; loopback only (anyone can claim any user with the header).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: vocab-local trusts the x-dev-user header, so it serves loopback only",
            args.addr
        )
        .into());
    }
    vocab_api::telemetry::init();
    let config = Config::from_env(Some("vocab-local"))?;
    let client = connect(&config).await;
    create_table(&client, &config.table).await?;
    let state = AppState::local(Arc::new(DynamoStore::new(client, config.table.clone())));
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    vocab_api::telemetry::cold_start("vocab-local", started.elapsed());
    eprintln!(
        "vocab-local: http://{} (table {}, endpoint {})",
        listener.local_addr()?,
        config.table,
        config.endpoint.as_deref().unwrap_or("AWS")
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
