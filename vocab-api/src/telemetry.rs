//! Logging setup: ECS JSON lines on stdout through [`log_schema::ecs_layer`], one per
//! request (see [`crate::request_log`]), plus a cold-start line once per process.

use std::time::Duration;

use log_schema::field;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// `service.name` on every line.
pub const SERVICE_NAME: &str = "vocab-api";

/// Installs the JSON logger (filter from `RUST_LOG`, default: our lines at info, libraries'
/// warnings) and the panic hook.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,vocab_api=info"));
    let mut layer = log_schema::ecs_layer(std::io::stdout, SERVICE_NAME);
    if let Ok(name) = std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
        layer = layer.with_static_field(field::FAAS_NAME, name);
    }
    if let Ok(version) = std::env::var("AWS_LAMBDA_FUNCTION_VERSION") {
        layer = layer.with_static_field(field::FAAS_VERSION, version);
    }
    if let Ok(region) = std::env::var("AWS_REGION") {
        layer = layer.with_static_field(field::CLOUD_REGION, region);
    }
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
    crate::request_log::install_panic_hook();
}

/// The once-per-process line: which binary started and how long its setup took.
pub fn cold_start(binary: &str, init: Duration) {
    let app = serde_json::json!({ "binary": binary, "init_ms": init.as_millis() as u64 });
    tracing::event!(
        target: "vocab_api::lifecycle",
        tracing::Level::INFO,
        { field::FAAS_COLDSTART } = true,
        { field::EVENT_DURATION } = u64::try_from(init.as_nanos()).unwrap_or(u64::MAX),
        { field::APP } = app.to_string().as_str(),
        "cold start: {binary} ready in {} ms",
        init.as_millis()
    );
}
