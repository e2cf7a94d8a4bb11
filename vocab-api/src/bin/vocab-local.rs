//! The API on 127.0.0.1 for local use: the same router as the Lambdas, under `/` and `/api`,
//! with `GET /config.json` and optionally the built web app (`--web DIR`). The caller comes
//! from the `x-dev-user` header (`--auth dev`) or from `Authorization: Bearer` tokens
//! verified as API Gateway's JWT authorizer does (`--auth jwt`). The store is DynamoDB at
//! `DYNAMODB_ENDPOINT` / `VOCAB_TABLE` (the table is created if missing), or with `--store
//! mongodb` MongoDB at `MONGODB_URI` (default a local server). Log lines go to stdout,
//! exactly as in Lambda.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use serde_json::json;
use vocab_api::config::{Config, MongoUri, StoreKind};
use vocab_api::jwt::{JwtSettings, JwtVerifier};
use vocab_api::web::{Frontend, dev_config};
use vocab_api::{AppState, AuthMode, local_app};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Auth {
    /// The caller is the `x-dev-user` header (anyone can be anyone: loopback only).
    Dev,
    /// `Authorization: Bearer` tokens from the issuer (a Cognito user pool), verified as
    /// API Gateway's JWT authorizer does; the caller is the token's `sub`.
    Jwt,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum StoreArg {
    /// DynamoDB at DYNAMODB_ENDPOINT (moto, DynamoDB Local), table VOCAB_TABLE.
    Dynamodb,
    /// MongoDB at MONGODB_URI (default mongodb://127.0.0.1:27017/vocab-local).
    Mongodb,
}

/// `--store mongodb` without `MONGODB_URI`: a server on this machine.
const LOCAL_MONGODB_URI: &str = "mongodb://127.0.0.1:27017/vocab-local";

#[derive(Parser)]
#[command(about = "Serve the vocab API (and optionally the web app) locally")]
struct Args {
    /// Address to listen on; loopback only.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Serve the built web app from this directory (e.g. web/dist) beside the API.
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
    /// How callers are identified.
    #[arg(long, value_enum, default_value_t = Auth::Dev, env = "VOCAB_AUTH")]
    auth: Auth,
    /// `--auth jwt`: the expected `iss`, e.g. https://cognito-idp.<region>.amazonaws.com/<pool_id>.
    #[arg(long, env = "VOCAB_JWT_ISSUER")]
    jwt_issuer: Option<String>,
    /// `--auth jwt`: the accepted audience (the app client id); repeat for several.
    #[arg(long, env = "VOCAB_JWT_AUDIENCE", value_delimiter = ',')]
    jwt_audience: Vec<String>,
    /// `--auth jwt`: where the signing keys are (default <issuer>/.well-known/jwks.json).
    #[arg(long, env = "VOCAB_JWKS_URL")]
    jwks_url: Option<String>,
    /// `--auth jwt`, for /config.json: the Cognito hosted-UI domain (https://<prefix>.auth.<region>.amazoncognito.com).
    #[arg(long, env = "VOCAB_COGNITO_DOMAIN", default_value = "")]
    cognito_domain: String,
    /// `--auth jwt`, for /config.json: the sign-in callback (default http://<addr>/auth/callback).
    #[arg(long, env = "VOCAB_REDIRECT_URI")]
    redirect_uri: Option<String>,
    /// `--auth jwt`, for /config.json: where sign-out returns (default http://<addr>/).
    #[arg(long, env = "VOCAB_LOGOUT_URI")]
    logout_uri: Option<String>,
    /// `--auth jwt`, for /config.json: the federated identity provider the hosted UI offers.
    #[arg(long, env = "VOCAB_IDENTITY_PROVIDER", default_value = "Google")]
    identity_provider: String,
    /// Where the data is kept.
    #[arg(long, value_enum, default_value_t = StoreArg::Dynamodb, env = "VOCAB_STORE", ignore_case = true)]
    store: StoreArg,
    /// Allow a store in real AWS (no DYNAMODB_ENDPOINT): the table is created there if missing.
    #[arg(long)]
    allow_aws: bool,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(format!(
            "refusing to listen on {}: vocab-local is a development server, so it serves loopback only",
            args.addr
        )
        .into());
    }
    vocab_api::telemetry::init();
    let mut config = Config::from_env(Some("vocab-local"))?;
    config.store = match args.store {
        StoreArg::Dynamodb => StoreKind::DynamoDb,
        StoreArg::Mongodb => StoreKind::MongoDb,
    };
    if config.store == StoreKind::MongoDb && config.mongodb_uri.is_none() {
        config.mongodb_uri = Some(MongoUri::Value(LOCAL_MONGODB_URI.to_owned()));
    }
    if config.store == StoreKind::DynamoDb && config.endpoint.is_none() && !args.allow_aws {
        return Err(
            "DYNAMODB_ENDPOINT is not set: vocab-local would use (and create a table in) \
                    real AWS. Set DYNAMODB_ENDPOINT to a local endpoint (moto, DynamoDB Local), \
                    or pass --allow-aws to mean it"
                .into(),
        );
    }
    let (auth, web_config) = match args.auth {
        Auth::Dev => (AuthMode::DevHeader, dev_config()),
        Auth::Jwt => {
            let issuer = args
                .jwt_issuer
                .as_deref()
                .filter(|i| !i.is_empty())
                .ok_or("--auth jwt needs --jwt-issuer")?;
            if args.jwt_audience.is_empty() {
                return Err("--auth jwt needs --jwt-audience (the app client id)".into());
            }
            let settings =
                JwtSettings::new(issuer, args.jwt_audience.clone(), args.jwks_url.as_deref());
            let origin = format!("http://{}", args.addr);
            let web_config = json!({
                "api_base": "/api",
                "auth": {
                    "mode": "cognito",
                    "issuer": settings.issuer,
                    "domain": args.cognito_domain,
                    "client_id": args.jwt_audience[0],
                    "redirect_uri": args.redirect_uri.clone().unwrap_or_else(|| format!("{origin}/auth/callback")),
                    "logout_uri": args.logout_uri.clone().unwrap_or_else(|| format!("{origin}/")),
                    "scopes": ["openid", "email", "profile"],
                    "identity_provider": args.identity_provider,
                }
            });
            (
                AuthMode::Bearer(Arc::new(JwtVerifier::new(settings))),
                web_config,
            )
        }
    };
    let store = vocab_api::backend::open(&config, true).await?;
    let state = AppState {
        auth,
        ..AppState::local(store)
    };
    if let Some(dir) = &args.web
        && !dir.join("index.html").is_file()
    {
        return Err(format!("--web {}: no index.html there (build the app first: cd web && npm ci && npm run build)", dir.display()).into());
    }
    let frontend = Frontend {
        dir: args.web.clone(),
        config: web_config,
    };
    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    vocab_api::telemetry::cold_start("vocab-local", started.elapsed());
    let where_ = match config.store {
        StoreKind::DynamoDb => format!(
            "DynamoDB table {}, endpoint {}",
            config.table,
            config.endpoint.as_deref().unwrap_or("AWS")
        ),
        // Not the URI itself: it may hold a password.
        StoreKind::MongoDb => "MongoDB".to_owned(),
    };
    eprintln!(
        "vocab-local: http://{} (API also under /api; auth {:?}; web {}; store {})",
        listener.local_addr()?,
        args.auth,
        args.web
            .as_deref()
            .map(|d| d.display().to_string())
            .unwrap_or_else(|| "off".into()),
        where_
    );
    axum::serve(listener, local_app(state, frontend))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
