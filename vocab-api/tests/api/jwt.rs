//! `vocab-local --auth jwt` (contract A, issue 9): bearer tokens verified as API Gateway's
//! JWT authorizer does, tested with real RS256 tokens from moto's Cognito user-pool API
//! (`USER_PASSWORD_AUTH`). moto serves the JWKS at `<moto>/<pool_id>/.well-known/jwks.json`
//! while the tokens' `iss` names the AWS URL, so the JWKS location is set apart.
//!
//! Tokens that moto won't issue (expired, not yet valid, a refresh `token_use`) are signed
//! with moto's own private key (the one its JWKS publishes), so only the claim differs.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use log_schema::field;
use serde_json::{Value, json};
use vocab_api::jwt::{JwtSettings, JwtVerifier};
use vocab_api::{AppState, AuthMode};

use super::harness::{TestApp, moto_url, send};

const REGION: &str = "us-east-1";

async fn cognito(target: &str, body: Value) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/", moto_url()))
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("AWSCognitoIdentityProviderService.{target}"))
        // moto routes by the signing scope's service name.
        .header(
            "authorization",
            format!("AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/cognito-idp/aws4_request, SignedHeaders=host, Signature=0"),
        )
        .body(body.to_string())
        .send()
        .await
        .expect("moto answers");
    let status = response.status();
    let v: Value = response.json().await.expect("JSON");
    assert!(status.is_success(), "{target}: {status} {v}");
    v
}

struct Pool {
    id: String,
    client_id: String,
}

impl Pool {
    async fn new(name: &str) -> Pool {
        let pool = cognito("CreateUserPool", json!({"PoolName": name})).await;
        let id = pool["UserPool"]["Id"].as_str().expect("pool id").to_owned();
        let client_id = Self::client(&id).await;
        Pool { id, client_id }
    }

    async fn client(pool: &str) -> String {
        let client = cognito(
            "CreateUserPoolClient",
            json!({"UserPoolId": pool, "ClientName": "web", "ExplicitAuthFlows": ["USER_PASSWORD_AUTH"]}),
        )
        .await;
        client["UserPoolClient"]["ClientId"]
            .as_str()
            .expect("client id")
            .to_owned()
    }

    fn issuer(&self) -> String {
        format!("https://cognito-idp.{REGION}.amazonaws.com/{}", self.id)
    }

    /// Signs up `user` and signs in through `client_id`: (id token, access token).
    async fn sign_in(&self, user: &str, client_id: &str) -> (String, String) {
        let password = "Korean-단어-1!";
        let _ = cognito(
            "AdminCreateUser",
            json!({"UserPoolId": self.id, "Username": user}),
        )
        .await;
        cognito(
            "AdminSetUserPassword",
            json!({"UserPoolId": self.id, "Username": user, "Password": password, "Permanent": true}),
        )
        .await;
        let auth = cognito(
            "InitiateAuth",
            json!({"ClientId": client_id, "AuthFlow": "USER_PASSWORD_AUTH",
                   "AuthParameters": {"USERNAME": user, "PASSWORD": password}}),
        )
        .await;
        let r = &auth["AuthenticationResult"];
        (
            r["IdToken"].as_str().expect("id token").to_owned(),
            r["AccessToken"].as_str().expect("access token").to_owned(),
        )
    }
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
}

/// Each of `claims` signed RS256 with moto's Cognito key (kid `dummy`, as in its JWKS).
fn sign_with_motos_key(claims: &[Value]) -> Vec<String> {
    const SCRIPT: &str = "import gzip, json, os, sys, moto\n\
from joserfc import jwt\n\
from joserfc.jwk import RSAKey\n\
path = os.path.join(os.path.dirname(moto.__file__), 'cognitoidp', 'resources', 'jwks-private.json.gz')\n\
key = RSAKey.import_key(json.load(gzip.open(path)))\n\
for c in json.loads(sys.argv[1]):\n    print(jwt.encode({'alg': 'RS256', 'kid': key.kid or 'dummy'}, c, key))";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(Value::from(claims.to_vec()).to_string())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn me(t: &TestApp, authorization: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder()
        .uri("/me")
        .header("x-dev-user", "someone-else");
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    send(&t.router, req.body(Body::empty()).expect("request")).await
}

#[tokio::test]
async fn bearer_tokens_are_verified_as_api_gateways_jwt_authorizer_does() {
    let pool = Pool::new("vocab").await;
    let other_client = Pool::client(&pool.id).await;
    let other_pool = Pool::new("elsewhere").await;
    let (id_token, access_token) = pool.sign_in("alice", &pool.client_id).await;
    let (other_audience, _) = pool.sign_in("carol", &other_client).await;
    let (other_issuer, _) = other_pool.sign_in("dave", &other_pool.client_id).await;
    let sub = claims(&id_token)["sub"].as_str().expect("sub").to_owned();

    let settings = JwtSettings::new(
        &pool.issuer(),
        vec![pool.client_id.clone()],
        Some(&format!("{}/{}/.well-known/jwks.json", moto_url(), pool.id)),
    );
    let verifier = Arc::new(JwtVerifier::new(settings));
    let t = TestApp::with_state(move |s| AppState {
        auth: AuthMode::Bearer(verifier),
        ..AppState::local(s)
    })
    .await;

    // Valid: the id token (`aud`) and the access token (`client_id`, no `aud`), with or
    // without the Bearer prefix; the caller is `sub`, never the x-dev-user header.
    for auth in [
        format!("Bearer {id_token}"),
        format!("Bearer {access_token}"),
        id_token.clone(),
    ] {
        let (s, body) = me(&t, Some(&auth)).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        assert_eq!(body["user_id"], sub.as_str());
    }

    let base = claims(&id_token);
    // Edited claims are collected and signed in one go (python starts once); `forged`
    // returns a placeholder replaced by the signed token below.
    let to_sign = std::cell::RefCell::new(Vec::new());
    let forged = |edit: &dyn Fn(&mut Value)| {
        let mut c = base.clone();
        edit(&mut c);
        let mut all = to_sign.borrow_mut();
        all.push(c);
        format!("FORGED#{}", all.len() - 1)
    };
    let control = forged(&|_| {});

    let mut tampered = id_token.split('.').map(str::to_owned).collect::<Vec<_>>();
    let mut c = base.clone();
    c["sub"] = json!("mallory");
    tampered[1] = URL_SAFE_NO_PAD.encode(c.to_string());
    let refused: Vec<(&str, Option<String>, &str)> = vec![
        ("no token", None, "no bearer token"),
        ("not a JWT", Some("Bearer not.a.jwt".into()), "malformed"),
        (
            "bad signature",
            Some(format!("Bearer {}", tampered.join("."))),
            "bad signature",
        ),
        (
            "wrong audience (another app client)",
            Some(format!("Bearer {other_audience}")),
            "wrong audience",
        ),
        (
            "wrong issuer (another pool)",
            Some(format!("Bearer {other_issuer}")),
            "wrong issuer",
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                forged(&|c| {
                    c["exp"] = json!(now() - 5);
                    c["iat"] = json!(now() - 3605);
                })
            )),
            "expired",
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                forged(&|c| c["nbf"] = json!(now() + 600))
            )),
            "not valid yet",
        ),
        (
            "issued in the future",
            Some(format!(
                "Bearer {}",
                forged(&|c| c["iat"] = json!(now() + 600))
            )),
            "not valid yet",
        ),
        (
            "refresh token_use",
            Some(format!(
                "Bearer {}",
                forged(&|c| c["token_use"] = json!("refresh"))
            )),
            "token_use",
        ),
        (
            "no exp",
            Some(format!(
                "Bearer {}",
                forged(&|c| {
                    c.as_object_mut().expect("obj").remove("exp");
                })
            )),
            "expired",
        ),
        (
            "an aud that doesn't match wins over a client_id that does",
            Some(format!(
                "Bearer {}",
                forged(&|c| {
                    c["aud"] = json!("other");
                    c["client_id"] = json!(pool.client_id);
                })
            )),
            "wrong audience",
        ),
    ];
    let signed = sign_with_motos_key(&to_sign.borrow());
    let real = |auth: &str| match auth.split_once("FORGED#") {
        Some((prefix, i)) => format!("{prefix}{}", signed[i.parse::<usize>().expect("index")]),
        None => auth.to_owned(),
    };
    let refused: Vec<(&str, Option<String>, &str)> = refused
        .into_iter()
        .map(|(what, auth, reason)| (what, auth.as_deref().map(real), reason))
        .collect();
    // The control: a token signed the same way with the claims unchanged is accepted.
    let (s, body) = me(&t, Some(&real(&format!("Bearer {control}")))).await;
    assert_eq!(s, StatusCode::OK, "{body}");

    t.logs.clear();
    for (i, (what, auth, reason)) in refused.iter().enumerate() {
        let (s, body) = me(&t, auth.as_deref()).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["error"]["code"], "unauthorized", "{what}");
        let line = &t.logs.lines()[i];
        assert_eq!(line[field::ERROR_TYPE], "unauthorized", "{what}");
        let message = line[field::ERROR_MESSAGE].as_str().expect("error.message");
        assert!(message.contains(reason), "{what}: {message}");
        assert!(
            line.get(field::USER_ID).is_none(),
            "{what}: no caller on the line"
        );
    }
    assert!(
        !t.logs.text().contains(&id_token[..40]),
        "tokens are never logged"
    );
}
