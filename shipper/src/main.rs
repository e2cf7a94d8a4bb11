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
    keep_freed_memory();
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

/// Tells glibc's malloc to keep memory it is given back, without `mallopt` (no unsafe here).
///
/// By default a buffer of 128 KiB or more is its own `mmap`, and freed memory at the top of
/// the heap is handed back to the OS past 128 KiB, so every invocation faulted its payload,
/// bodies and documents into fresh zeroed pages again: ~100 page faults per 1,000-event
/// invocation, ~5% of its CPU at 128 MB (perf; `GLIBC_TUNABLES` with the thresholds below
/// measured the same). Freeing an `mmap`ed block raises both thresholds to its size (the
/// mmap threshold to it, the trim threshold to twice it, up to 32 MiB on 64-bit: mallopt(3),
/// "M_MMAP_THRESHOLD"), so one untouched ~32 MiB block allocated and freed at start does what
/// `mallopt(M_MMAP_THRESHOLD, 32 MiB)` would. What is kept is what an invocation used, up to
/// 64 MiB free; peak RSS rose by up to ~1 MB (a freed buffer is not always reused in place).
/// Other allocators: one `mmap` and `munmap`.
fn keep_freed_memory() {
    // Under 32 MiB with its header and flag bits, or glibc leaves the thresholds alone.
    let block: Vec<u8> = Vec::with_capacity((32 << 20) - (64 << 10));
    drop(std::hint::black_box(block));
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
