//! SigV4-signed requests for Amazon OpenSearch Service (`es`) and Serverless (`aoss`), checked
//! by an independent verifier: `tests/sigv4_verifier.py` recomputes every signature with
//! botocore's SigV4 code and refuses what AWS refuses (wrong canonical request, unsigned or
//! changed header, payload hash, scope, key, token, clock skew), then forwards what passes to
//! the OpenSearch-API emulator (osmem-server).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use serde_json::Value;
use shipper::config::SigV4Service;
use shipper::service::{
    self, Connection, HeaderValue, HttpRequest, Method, RequestSigner, TransportError,
};
use shipper::sigv4::SigV4Signer;
use shipper::target::{Naming, TargetMode};

use crate::support::{self, Proc};

const REGION: &str = "ap-northeast-2";
const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE//session+token=";

/// The verifier in front of `upstream`, accepting [`AKID`] with [`TOKEN`] for `service`.
fn verifier(upstream: &str, service: &str) -> Proc {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/sigv4_verifier.py");
    let mut c = Command::new("python3");
    c.arg(script)
        .args([
            "--upstream",
            upstream,
            "--service",
            service,
            "--region",
            REGION,
        ])
        .args(["--key", &format!("{AKID}:{SECRET}:{TOKEN}")]);
    support::start_announcing("sigv4_verifier.py", c)
}

fn credentials(akid: &str, secret: &str, token: &str) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new(
        akid,
        secret,
        Some(token.to_owned()),
        None,
        "test",
    ))
}

fn signer(service: SigV4Service) -> SigV4Signer {
    SigV4Signer::new(service, REGION, credentials(AKID, SECRET, TOKEN))
}

fn signed(url: &str, signer: impl RequestSigner + 'static) -> Connection {
    Connection {
        signer: Some(Arc::new(signer)),
        ..support::connection(url)
    }
}

async fn stats(v: &Proc) -> (u64, Vec<Value>) {
    let s: Value = reqwest::get(format!("{}/__verifier/stats", v.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        s["verified"].as_u64().unwrap(),
        s["refused"].as_array().unwrap().clone(),
    )
}

async fn index_mode_through_the_verifier(service: SigV4Service, gzip: bool) {
    let os = support::osmem();
    let v = verifier(os.url(), service.name());
    let conn = signed(&v.url, signer(service));
    let prefix = support::unique_namespace(&format!("sig{}", service.name()));
    let naming = Naming {
        mode: TargetMode::Index,
        index_prefix: prefix.clone(),
        ..Naming::default()
    };
    crate::emulators::ship_read_back_and_reship_gzip(&conn, naming, &format!("{prefix}-2*"), gzip)
        .await;
    let (verified, refused) = stats(&v).await;
    assert!(refused.is_empty(), "{refused:?}");
    // Two rounds of bulks plus the reads: every one of them signed and verified.
    assert!(verified >= 8, "only {verified} verified requests");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_mode_signed_for_a_domain_lands_in_the_opensearch_emulator_through_the_verifier() {
    index_mode_through_the_verifier(SigV4Service::Es, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzipped_bulks_signed_for_serverless_land_in_the_opensearch_emulator_through_the_verifier()
{
    index_mode_through_the_verifier(SigV4Service::Aoss, true).await;
}

/// Signs, then changes the request the way a bug (or an attacker) would.
struct Tamper<F: Fn(&mut reqwest::Request) + Send + Sync>(SigV4Signer, F);

#[async_trait]
impl<F: Fn(&mut reqwest::Request) + Send + Sync> RequestSigner for Tamper<F> {
    async fn sign(&self, req: &mut reqwest::Request) -> Result<(), TransportError> {
        self.0.sign(req).await?;
        (self.1)(req);
        Ok(())
    }
}

async fn bulk_status(conn: &Connection) -> (u16, String) {
    let client = service::build_client(conn).unwrap();
    let reply = client
        .send(
            HttpRequest::new(Method::POST, "/_bulk")
                .query("filter_path", "errors,items.*.status")
                .header(
                    reqwest::header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-ndjson"),
                )
                .body("{\"create\":{\"_index\":\"sigv4-refusals\"}}\n{\"a\":1}\n"),
        )
        .await
        .unwrap();
    (
        reply.status,
        String::from_utf8_lossy(&reply.body).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_verifier_refuses_what_aws_refuses_and_accepts_the_shippers_signature() {
    let os = support::osmem();
    let v = verifier(os.url(), "es");
    let ten_minutes_ago = || SystemTime::now() - Duration::from_secs(600);
    let cases: Vec<(&str, Connection, u16, &str)> = vec![
        (
            "no signature",
            support::connection(&v.url),
            403,
            "User: anonymous is not authorized",
        ),
        (
            "wrong secret key",
            signed(
                &v.url,
                SigV4Signer::new(SigV4Service::Es, REGION, credentials(AKID, "not-it", TOKEN)),
            ),
            403,
            "signature we calculated does not match",
        ),
        (
            "unknown access key",
            signed(
                &v.url,
                SigV4Signer::new(
                    SigV4Service::Es,
                    REGION,
                    credentials("AKIAOTHER", SECRET, TOKEN),
                ),
            ),
            403,
            "security token included in the request is invalid",
        ),
        (
            "another session token",
            signed(
                &v.url,
                SigV4Signer::new(SigV4Service::Es, REGION, credentials(AKID, SECRET, "old")),
            ),
            403,
            "security token included in the request is invalid",
        ),
        (
            "scoped to another region",
            signed(
                &v.url,
                SigV4Signer::new(
                    SigV4Service::Es,
                    "us-east-1",
                    credentials(AKID, SECRET, TOKEN),
                ),
            ),
            403,
            "scoped to a valid region",
        ),
        (
            "scoped to another service",
            signed(&v.url, signer(SigV4Service::Aoss)),
            403,
            "scoped to correct service: 'es'",
        ),
        (
            "clock ten minutes slow",
            signed(&v.url, signer(SigV4Service::Es).with_clock(ten_minutes_ago)),
            403,
            "Signature expired",
        ),
        (
            "a signed header changed after signing",
            signed(
                &v.url,
                Tamper(signer(SigV4Service::Es), |r| {
                    r.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/json"));
                }),
            ),
            403,
            "signature we calculated does not match",
        ),
        (
            "a query parameter added after signing (canonical request differs)",
            signed(
                &v.url,
                Tamper(signer(SigV4Service::Es), |r| {
                    r.url_mut().query_pairs_mut().append_pair("refresh", "true");
                }),
            ),
            403,
            "signature we calculated does not match",
        ),
        (
            "an unsigned x-amz header added",
            signed(
                &v.url,
                Tamper(signer(SigV4Service::Es), |r| {
                    r.headers_mut()
                        .insert("x-amz-meta-extra", HeaderValue::from_static("1"));
                }),
            ),
            403,
            "headers present in the request which were not signed",
        ),
        (
            "the body changed after signing",
            signed(
                &v.url,
                Tamper(signer(SigV4Service::Es), |r| {
                    *r.body_mut() = Some("{\"create\":{}}\n{\"b\":2}\n".into());
                }),
            ),
            400,
            "'x-amz-content-sha256' header does not match",
        ),
    ];
    for (case, conn, status, says) in cases {
        let (got, body) = bulk_status(&conn).await;
        assert_eq!(got, status, "{case}: {body}");
        assert!(body.contains(says), "{case}: no `{says}` in {body}");
    }
    let (verified, refused) = stats(&v).await;
    assert_eq!(verified, 0);
    assert_eq!(refused.len(), 11);

    // And the shipper's own signature passes, reaching the emulator.
    let (got, body) = bulk_status(&signed(&v.url, signer(SigV4Service::Es))).await;
    assert_eq!(got, 200, "{body}");
    assert!(body.contains("\"status\":201"), "{body}");
    assert_eq!(stats(&v).await.0, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_signature_stops_delivery_at_once_saying_why() {
    let os = support::osmem();
    let v = verifier(os.url(), "es");
    let conn = signed(
        &v.url,
        signer(SigV4Service::Es).with_clock(|| SystemTime::now() - Duration::from_secs(900)),
    );
    let sh = support::shipper(
        &conn,
        Naming {
            mode: TargetMode::Index,
            index_prefix: support::unique_namespace("sigskew"),
            ..Naming::default()
        },
    );
    let payloads = support::generate_data(50, 1, 11, &[]);
    let t0 = Instant::now();
    let out = sh
        .ship(payloads, t0 + Duration::from_secs(30), "sigv4-skew")
        .await;
    let fatal = out.fatal.clone().expect("a 403 is fatal");
    assert!(
        fatal.contains("403") && fatal.contains("Signature expired"),
        "{fatal}"
    );
    assert!(t0.elapsed() < Duration::from_secs(10), "no retrying a 403");
    assert_eq!(stats(&v).await.1.len(), 1, "one request, refused once");
}

/// The binary as an operator runs it: credentials from the standard chain (here the
/// environment variables Lambda sets for the role), service and region from the settings
/// because a loopback URL names neither.
#[test]
fn ship_signs_with_credentials_from_the_standard_aws_chain() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let os = support::osmem();
    let v = verifier(os.url(), "aoss");
    let prefix = support::unique_namespace("sigcli");
    let input = support::generate(100, 2, 13, &[]).join("\n");
    let mut c = crate::cli::shipper();
    c.args(["ship", "-"])
        .env("ELASTICSEARCH_URL", &v.url)
        .env("SHIPPER_AUTH", "sigv4")
        .env("SHIPPER_SIGV4_SERVICE", "aoss")
        .env("SHIPPER_SIGV4_REGION", REGION)
        .env("SHIPPER_TARGET", "index")
        .env("SHIPPER_INDEX_PREFIX", &prefix)
        .env("AWS_ACCESS_KEY_ID", AKID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        // Nothing else in the chain may answer: no profile files, no instance metadata.
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = crate::cli::run_with_stdin(c, input.as_bytes());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let conn = signed(&v.url, signer(SigV4Service::Aoss));
    let n = rt.block_on(support::count(&conn, &format!("{prefix}-2*"), None));
    assert_eq!(n, 200, "{err}");
    let (verified, refused) = rt.block_on(stats(&v));
    assert!(refused.is_empty(), "{refused:?}");
    assert!(verified >= 2);
}

#[test]
fn ship_without_any_aws_credentials_stops_at_start_naming_shipper_auth() {
    let mut c = crate::cli::shipper();
    c.args(["ship", "-"])
        .env(
            "ELASTICSEARCH_URL",
            "https://abc.us-east-1.aoss.amazonaws.com",
        )
        .env("SHIPPER_AUTH", "sigv4")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_WEB_IDENTITY_TOKEN_FILE")
        .env_remove("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
        .env_remove("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let out = crate::cli::run_with_stdin(c, b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("SHIPPER_AUTH=sigv4: ") && err.contains("no AWS credentials"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}
