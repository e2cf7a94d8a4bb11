//! Bearer-token verification the way API Gateway's HTTP API JWT authorizer does it, for
//! `vocab-local --auth jwt` (in Lambda, API Gateway has done it before the request arrives).
//! Depends on nothing else in the crate.
//!
//! API Gateway's steps (Developer Guide, "Control access to HTTP APIs with JWT authorizers",
//! section "Authorizing API requests with a JWT authorizer"):
//! 1. the token from the identity source (`Authorization`), bare or prefixed with `Bearer`;
//! 2. decode it;
//! 3. check the algorithm and signature with the public key from the issuer's `jwks_uri`
//!    (RSA-based algorithms only; keys cached up to two hours);
//! 4. claims: `kid` must match a key of the JWKS; `iss` must equal the configured issuer;
//!    `aud` — or `client_id` when there is no `aud` (Cognito access tokens) — must match one
//!    of the configured audiences (`aud` wins when both are present); `exp` after now;
//!    `nbf` and `iat` before now.
//!
//! Cognito's own rule is added (Cognito Developer Guide, "Verifying a JSON web token"): a
//! `token_use` claim, when present, must be `id` or `access` (never a refresh or other
//! token type). The caller is the `sub` claim.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::Value;

/// How long fetched keys are trusted before fetching again (API Gateway: up to 2 hours).
pub const KEY_CACHE: Duration = Duration::from_secs(2 * 60 * 60);
/// An unknown `kid` fetches the keys again (key rotation), at most this often.
const REFETCH_UNKNOWN_KID: Duration = Duration::from_secs(60);

/// What the verifier accepts.
#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// The expected `iss`, e.g. `https://cognito-idp.<region>.amazonaws.com/<pool_id>`.
    pub issuer: String,
    /// Accepted `aud` / `client_id` values (the app client ids).
    pub audiences: Vec<String>,
    /// Where the signing keys are (default `<issuer>/.well-known/jwks.json`).
    pub jwks_url: String,
}

impl JwtSettings {
    pub fn new(issuer: &str, audiences: Vec<String>, jwks_url: Option<&str>) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        let jwks_url = jwks_url
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{issuer}/.well-known/jwks.json"));
        JwtSettings {
            issuer,
            audiences,
            jwks_url,
        }
    }
}

/// Why a request's token was refused (each answers `401`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("no bearer token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("unsupported algorithm (RSA only)")]
    Algorithm,
    #[error("no signing key with the token's kid")]
    UnknownKey,
    #[error("bad signature")]
    Signature,
    #[error("wrong issuer")]
    Issuer,
    #[error("wrong audience")]
    Audience,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("wrong token_use")]
    TokenUse,
    #[error("no sub claim")]
    NoSubject,
    #[error("signing keys unavailable: {0}")]
    Keys(String),
}

/// An RSA public key from a JWKS.
#[derive(Clone, Debug)]
pub struct RsaKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// The keys of a JWKS document by `kid` (RSA keys only; others are skipped).
pub fn parse_jwks(bytes: &[u8]) -> Result<HashMap<String, RsaKey>, TokenError> {
    #[derive(Deserialize)]
    struct Jwks {
        keys: Vec<Jwk>,
    }
    #[derive(Deserialize)]
    struct Jwk {
        kty: String,
        kid: Option<String>,
        n: Option<String>,
        e: Option<String>,
    }
    let jwks: Jwks = serde_json::from_slice(bytes)
        .map_err(|e| TokenError::Keys(format!("not a JWKS document: {e}")))?;
    let mut keys = HashMap::new();
    for k in jwks.keys {
        if let (true, Some(kid), Some(n), Some(e)) = (k.kty == "RSA", k.kid, k.n, k.e)
            && let (Ok(n), Ok(e)) = (URL_SAFE_NO_PAD.decode(n), URL_SAFE_NO_PAD.decode(e))
        {
            keys.insert(kid, RsaKey { n, e });
        }
    }
    Ok(keys)
}

/// The token from an `Authorization` value: `Bearer <jwt>` or the bare token.
pub fn token_from_header(value: &str) -> Option<&str> {
    let v = value.trim();
    let token = match v.split_once(char::is_whitespace) {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        _ if v.eq_ignore_ascii_case("bearer") => "",
        _ => v,
    };
    (!token.is_empty()).then_some(token)
}

/// The token's header (`kid`, `alg`), without checking anything.
fn header_of(token: &str) -> Result<(String, String), TokenError> {
    #[derive(Deserialize)]
    struct Header {
        alg: String,
        kid: Option<String>,
    }
    let first = token.split('.').next().ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(first)
        .map_err(|_| TokenError::Malformed)?;
    let h: Header = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    Ok((h.kid.ok_or(TokenError::UnknownKey)?, h.alg))
}

/// Verifies `token` with `keys` at `now` (seconds since the epoch); the claims when valid.
pub fn verify_with(
    keys: &HashMap<String, RsaKey>,
    settings: &JwtSettings,
    token: &str,
    now: u64,
) -> Result<serde_json::Map<String, Value>, TokenError> {
    let parts: Vec<&str> = token.split('.').collect();
    let [head, payload, signature] = parts[..] else {
        return Err(TokenError::Malformed);
    };
    let (kid, alg) = header_of(token)?;
    let algorithm: &'static ring::signature::RsaParameters = match alg.as_str() {
        "RS256" => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &ring::signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &ring::signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return Err(TokenError::Algorithm),
    };
    let key = keys.get(&kid).ok_or(TokenError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    let signed = &token[..head.len() + 1 + payload.len()];
    ring::signature::RsaPublicKeyComponents {
        n: &key.n,
        e: &key.e,
    }
    .verify(algorithm, signed.as_bytes(), &signature)
    .map_err(|_| TokenError::Signature)?;

    let claims: serde_json::Map<String, Value> = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(TokenError::Malformed)?;
    if claims.get("iss").and_then(Value::as_str) != Some(settings.issuer.as_str()) {
        return Err(TokenError::Issuer);
    }
    let accepted = |v: &Value| {
        v.as_str()
            .is_some_and(|a| settings.audiences.iter().any(|x| x == a))
    };
    let audience_ok = match claims.get("aud") {
        Some(Value::Array(auds)) => auds.iter().any(accepted),
        Some(aud) => accepted(aud),
        None => claims.get("client_id").is_some_and(accepted),
    };
    if !audience_ok {
        return Err(TokenError::Audience);
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_f64);
    match time("exp") {
        Some(exp) if exp > now as f64 => {}
        _ => return Err(TokenError::Expired),
    }
    for name in ["nbf", "iat"] {
        if time(name).is_some_and(|t| t > now as f64) {
            return Err(TokenError::NotYetValid);
        }
    }
    match claims.get("token_use") {
        None => {}
        Some(Value::String(u)) if u == "id" || u == "access" => {}
        Some(_) => return Err(TokenError::TokenUse),
    }
    if !claims.get("sub").is_some_and(Value::is_string) {
        return Err(TokenError::NoSubject);
    }
    Ok(claims)
}

struct KeyCache {
    keys: HashMap<String, RsaKey>,
    fetched: Option<Instant>,
    last_try: Option<Instant>,
}

/// A verifier with its cached keys, fetched from `jwks_url` when needed.
pub struct JwtVerifier {
    settings: JwtSettings,
    http: reqwest::Client,
    cache: tokio::sync::Mutex<KeyCache>,
}

impl JwtVerifier {
    pub fn new(settings: JwtSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        JwtVerifier {
            settings,
            http,
            cache: tokio::sync::Mutex::new(KeyCache {
                keys: HashMap::new(),
                fetched: None,
                last_try: None,
            }),
        }
    }

    pub fn settings(&self) -> &JwtSettings {
        &self.settings
    }

    /// The caller (`sub`) of a request with this `Authorization` header value.
    pub async fn verify(&self, authorization: Option<&str>) -> Result<String, TokenError> {
        let token = authorization
            .and_then(token_from_header)
            .ok_or(TokenError::Missing)?;
        let (kid, _) = header_of(token)?;
        let keys = self.keys_for(&kid).await?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = verify_with(&keys, &self.settings, token, now)?;
        claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(TokenError::NoSubject)
    }

    /// The cached keys, fetched again when stale or when `kid` is unknown (at most once a
    /// minute for unknown kids, so junk tokens can't make us hammer the issuer).
    async fn keys_for(&self, kid: &str) -> Result<HashMap<String, RsaKey>, TokenError> {
        let mut cache = self.cache.lock().await;
        let stale = cache.fetched.is_none_or(|t| t.elapsed() > KEY_CACHE);
        let unknown = !cache.keys.contains_key(kid)
            && cache
                .last_try
                .is_none_or(|t| t.elapsed() > REFETCH_UNKNOWN_KID);
        if stale || unknown {
            cache.last_try = Some(Instant::now());
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched = Some(Instant::now());
                }
                Err(e) if stale => return Err(e),
                Err(_) => {}
            }
        }
        Ok(cache.keys.clone())
    }

    async fn fetch(&self) -> Result<HashMap<String, RsaKey>, TokenError> {
        let failed = |e: reqwest::Error| TokenError::Keys(e.without_url().to_string());
        let response = self
            .http
            .get(&self.settings.jwks_url)
            .send()
            .await
            .map_err(failed)?
            .error_for_status()
            .map_err(failed)?;
        parse_jwks(&response.bytes().await.map_err(failed)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_bare_or_after_bearer_in_any_case() {
        assert_eq!(token_from_header("Bearer a.b.c"), Some("a.b.c"));
        assert_eq!(token_from_header("bearer  a.b.c "), Some("a.b.c"));
        assert_eq!(token_from_header("a.b.c"), Some("a.b.c"));
        assert_eq!(token_from_header("Bearer "), None);
        assert_eq!(token_from_header(""), None);
    }

    #[test]
    fn jwks_keeps_rsa_keys_by_kid() {
        let keys = parse_jwks(
            br#"{"keys":[{"kty":"RSA","kid":"k1","n":"AQAB","e":"AQAB"},{"kty":"EC","kid":"k2"}]}"#,
        )
        .expect("jwks");
        assert!(keys.contains_key("k1") && !keys.contains_key("k2"));
        assert!(parse_jwks(b"{}").is_err());
    }

    #[test]
    fn unsigned_and_symmetric_tokens_are_refused_before_any_key_is_used() {
        let settings = JwtSettings::new("https://issuer", vec!["c".into()], None);
        let enc = |v: &str| URL_SAFE_NO_PAD.encode(v);
        for alg in ["none", "HS256", "ES256"] {
            let token = format!(
                "{}.{}.",
                enc(&format!(r#"{{"alg":"{alg}","kid":"k"}}"#)),
                enc(r#"{"sub":"x"}"#)
            );
            assert_eq!(
                verify_with(&HashMap::new(), &settings, &token, 0).err(),
                Some(TokenError::Algorithm),
                "{alg}"
            );
        }
        assert_eq!(
            verify_with(&HashMap::new(), &settings, "not-a-jwt", 0).err(),
            Some(TokenError::Malformed)
        );
    }
}
