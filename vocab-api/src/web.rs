//! `vocab-local`'s front door besides the API: the runtime config (`GET /config.json`) and,
//! with `--web DIR`, the built web app from DIR with the cache headers CloudFront gives it
//! (hashed `/assets/*` cached for a year, everything else revalidated) and the single-page
//! app fallback to `index.html`. Depends on nothing else in the crate.

use std::path::{Component, Path, PathBuf};

use axum::body::Body;
use axum::http::{HeaderValue, Method, Response, StatusCode, header};
use serde_json::Value;

/// `Cache-Control` of content-hashed build output (`/assets/*`).
pub const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else (`index.html`, `/config.json`, unhashed files).
pub const CACHE_REVALIDATE: &str = "no-cache";

/// What the front door serves besides the API.
#[derive(Clone, Debug)]
pub struct Frontend {
    /// The built app (`web/dist`), if served.
    pub dir: Option<PathBuf>,
    /// The body of `GET /config.json`.
    pub config: Value,
}

/// The runtime config for the development sign-in (`x-dev-user`).
pub fn dev_config() -> Value {
    serde_json::json!({"api_base": "/api", "auth": {"mode": "dev"}})
}

/// `GET /config.json`: the runtime config, never cached.
pub fn config_response(config: &Value, head: bool) -> Response<Body> {
    let body = if head {
        Body::empty()
    } else {
        Body::from(config.to_string())
    };
    with_headers(StatusCode::OK, "application/json", CACHE_REVALIDATE, body)
}

/// The answer from the app's files for a GET/HEAD of `path`, or `None` when the request is
/// the API's: a file under `dir` is served as it is; any other path is a page of the app
/// (`index.html`) when it is `/` or a browser navigation (`Accept` names `text/html`), so
/// API clients (`fetch`, `curl`, the tests) still reach the API at `/` beside the app.
pub async fn serve(
    dir: &Path,
    method: &Method,
    path: &str,
    accept: Option<&str>,
) -> Option<Response<Body>> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let head = method == Method::HEAD;
    if let Some(file) = safe_join(dir, path)
        && let Ok(bytes) = tokio::fs::read(&file).await
    {
        let cache = if path.starts_with("/assets/") {
            CACHE_IMMUTABLE
        } else {
            CACHE_REVALIDATE
        };
        return Some(file_response(&file, bytes, cache, head));
    }
    let navigation = accept.is_some_and(|a| a.contains("text/html"));
    let is_asset = path.starts_with("/assets/");
    if (path == "/" || navigation) && !is_asset {
        let index = dir.join("index.html");
        return Some(match tokio::fs::read(&index).await {
            Ok(bytes) => file_response(&index, bytes, CACHE_REVALIDATE, head),
            Err(_) => with_headers(
                StatusCode::NOT_FOUND,
                "text/plain; charset=utf-8",
                CACHE_REVALIDATE,
                Body::from("index.html is missing: build the web app (npm run build)"),
            ),
        });
    }
    if is_asset {
        // A missing hashed asset is a plain 404, never the app's page.
        return Some(with_headers(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            CACHE_REVALIDATE,
            Body::from("not found"),
        ));
    }
    None
}

/// `dir` + the URL path, if it names a regular file inside `dir` (no `..`, no hidden
/// files, nothing percent-encoded).
fn safe_join(dir: &Path, url_path: &str) -> Option<PathBuf> {
    let rel = url_path.trim_start_matches('/');
    if rel.is_empty() || rel.contains('%') || rel.contains('\\') {
        return None;
    }
    let rel = Path::new(rel);
    let clean = rel.components().all(|c| match c {
        Component::Normal(s) => !s.to_string_lossy().starts_with('.'),
        _ => false,
    });
    let file = dir.join(rel);
    (clean && file.is_file()).then_some(file)
}

fn file_response(file: &Path, bytes: Vec<u8>, cache: &'static str, head: bool) -> Response<Body> {
    let body = if head {
        Body::empty()
    } else {
        Body::from(bytes)
    };
    with_headers(StatusCode::OK, content_type(file), cache, body)
}

fn with_headers(
    status: StatusCode,
    content_type: &'static str,
    cache: &'static str,
    body: Body,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}
