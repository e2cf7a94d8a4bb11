//! Set-up only: tracing, config, clients, then the Lambda runtime or the CLI.

use std::sync::Arc;

use clap::Parser;
use lambda_runtime::{LambdaEvent, service_fn};
use shipper::config::Config;
use shipper::handler::{self, Invocation, Shipper};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

fn main() -> anyhow::Result<()> {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_some() {
        // One thread: an invocation is one task (its requests one at a time), so worker
        // threads would only hand its connections' I/O back and forth, on CPU the Lambda's
        // memory size rations.
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(lambda_main())
    } else {
        // CLI: parse arguments before anything else so `--help` is instant.
        let cli = shipper::cli::Cli::parse();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        tracing_subscriber::registry()
            .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .init();
        let code = rt.block_on(shipper::cli::main(cli));
        std::process::exit(code);
    }
}

async fn lambda_main() -> anyhow::Result<()> {
    let function_name =
        std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "shipper".into());
    tracing_subscriber::registry()
        .with(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with(
            log_schema::ecs_layer(std::io::stdout, "shipper")
                .with_static_field(log_schema::field::FAAS_NAME, function_name.clone()),
        )
        .init();
    // A bad setting fails the init phase with the variable's name, before any event is taken.
    let cfg = Config::from_env()?;
    let conn = shipper::secrets::resolve(&cfg).await?;
    // A 401 reads the secret again once (rotation) before it counts.
    let clients = shipper::rotation::for_settings(&cfg, &conn).await?;
    let routes = shipper::route::load(&cfg).await?;
    let transform = shipper::document::Transform::from_config(&cfg, routes)?;
    let shipper = Arc::new(Shipper::from_config(
        &cfg,
        clients.bulk,
        Some(clients.lookup),
        function_name,
        transform,
    ));
    lambda_runtime::run(service_fn(move |ev: LambdaEvent<Invocation>| {
        let shipper = shipper.clone();
        async move { handler::handle(&shipper, ev).await }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}
