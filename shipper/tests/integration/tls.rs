//! HTTPS to a cluster whose certificate comes from a private CA (`ELASTICSEARCH_CA_CERT`), or
//! is pinned by its SHA-256 fingerprint (`ELASTICSEARCH_CERT_FINGERPRINT`).
//!
//! Each test makes its own throwaway CA (rcgen) and puts a TLS front on 127.0.0.1 before the
//! project's `_bulk` server (`bulk_server.rs`), the way a load balancer terminates TLS for a
//! cluster: what the server stored is what went through TLS.
//!
//! What the client does with the CA, from the crate's source (reqwest 0.12.28
//! `async_impl::client::ClientBuilder::build`): `service::build_client` hands each PEM
//! certificate to reqwest's `add_root_certificate`, and reqwest puts them in rustls' root
//! store *beside* its built-in roots, which under the `rustls-tls` feature are Mozilla's list
//! compiled into the binary
//! (webpki-roots); the operating system's store is not read. The host name is verified
//! against the certificate's subjectAltName, so `https://127.0.0.1` needs an IP SAN.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use shipper::handler::ShipError;
use shipper::service::Connection;
use shipper::target::Naming;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::bulk_server::BulkServer;
use crate::support;

/// A CA that exists only for one test.
pub(crate) struct Ca {
    pub(crate) pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    pub(crate) fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for `names` (DNS names or IP addresses), signed by this CA.
    pub(crate) fn server_cert(&self, names: &[&str]) -> ServerCert {
        self.server_cert_with(names, |_| {})
    }

    fn server_cert_with(
        &self,
        names: &[&str],
        edit: impl FnOnce(&mut CertificateParams),
    ) -> ServerCert {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "elasticsearch");
        edit(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    fn pem_der(&self) -> Vec<u8> {
        CertificateDer::from_pem_slice(self.pem.as_bytes())
            .unwrap()
            .to_vec()
    }

    /// The CA certificate in a file, as an operator would hand it over.
    pub(crate) fn write_pem(&self, dir: &TempDir) -> PathBuf {
        let p = dir.0.join("ca.pem");
        std::fs::write(&p, &self.pem).unwrap();
        p
    }
}

pub(crate) struct ServerCert {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// TLS on its own port, relaying the plain bytes to `backend`. Handshakes that fail are
/// recorded with rustls' reason, as the server side of the story.
pub(crate) struct TlsFront {
    pub(crate) url: String,
    failed_handshakes: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    pub(crate) async fn start(backend: &BulkServer, cert: ServerCert) -> TlsFront {
        let backend: SocketAddr = backend.url().trim_start_matches("http://").parse().unwrap();
        // ring, the build's one provider, named rather than installed as a process default.
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(cert.chain, cert.key)
            .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let failed_handshakes = Arc::new(Mutex::new(Vec::new()));
        let failed = failed_handshakes.clone();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, failed) = (acceptor.clone(), failed.clone());
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(s) => s,
                        Err(e) => {
                            failed.lock().unwrap().push(e.to_string());
                            return;
                        }
                    };
                    let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
                });
            }
        });
        TlsFront {
            url,
            failed_handshakes,
            task,
        }
    }

    fn failed_handshakes(&self) -> Vec<String> {
        self.failed_handshakes.lock().unwrap().clone()
    }

    /// The refused handshakes once the server side has caught up: the client gives up as soon
    /// as it reads the alert, possibly before the server task records its end of it (a CI run
    /// saw 0 here). Waits for at least one, then a moment more so a retry would show too.
    async fn failed_handshakes_settled(&self) -> Vec<String> {
        let until = Instant::now() + Duration::from_secs(5);
        while self.failed_handshakes().is_empty() && Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.failed_handshakes()
    }
}

pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "shipper-tls-{tag}-{}-{}",
            std::process::id(),
            support::free_port()
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn naming(ns: &str) -> Naming {
    Naming {
        namespace: ns.into(),
        ..Naming::default()
    }
}

fn https(url: &str, ca_pem: Option<&str>) -> Connection {
    Connection {
        ca_cert_pem: ca_pem.map(|p| p.as_bytes().to_vec()),
        ..support::connection(url)
    }
}

/// Documents of the generated events (not health documents or dead letters).
pub(crate) fn log_docs(s: &BulkServer) -> usize {
    s.targets()
        .iter()
        .filter(|t| t.starts_with("logs-cloudwatch."))
        .map(|t| s.count(t))
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ships_through_a_custom_ca_and_every_document_lands() {
    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper test CA");
    let front = TlsFront::start(&es, ca.server_cert(&["127.0.0.1"])).await;
    let sh = support::shipper(&https(&front.url, Some(&ca.pem)), naming("tls"));

    let payloads = support::generate_data(400, 3, 21, &[]);
    let out = sh
        .ship(payloads, Instant::now() + Duration::from_secs(60), "tls-ok")
        .await;

    let received = out.summary.received;
    let summary = out.into_result().expect("delivered through TLS");
    assert!(received >= 1000, "generated {received} events");
    assert_eq!(summary.stats.indexed, received);
    assert_eq!(log_docs(&es) as u64, received);
    assert!(es.duplicates().is_empty(), "{:?}", es.duplicates());
    assert!(front.failed_handshakes().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_ca_or_with_another_ca_shipping_stops_at_the_first_certificate_error_and_nothing_is_delivered()
 {
    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper test CA");
    let front = TlsFront::start(&es, ca.server_cert(&["127.0.0.1"])).await;
    let other = Ca::new("some other CA");
    for (case, trusted) in [("no CA", None), ("another CA", Some(other.pem.as_str()))] {
        let sh = support::shipper(&https(&front.url, trusted), naming("tlsbad"));
        let payloads = support::generate_data(50, 1, 22, &[]);
        let out = sh
            .ship(
                payloads,
                Instant::now() + Duration::from_secs(60),
                "tls-bad",
            )
            .await;
        assert_eq!(out.summary.received, 50, "{case}");
        assert_eq!(out.summary.stats.indexed, 0, "{case}");
        assert_eq!(out.summary.dead_lettered, 0, "{case}");
        assert_eq!(out.undelivered, 50, "{case}");
        let err = out.into_result().unwrap_err();
        // The same certificate fails the same check on every retry: stopping at once leaves
        // the time budget (and the Lambda's bill) alone; Lambda's own retry comes later.
        assert!(matches!(err, ShipError::Fatal(_)), "{case}: {err}");
        let msg = err.to_string();
        for says in [
            "TLS handshake with Elasticsearch failed",
            "not signed by a CA the shipper trusts",
            "set ELASTICSEARCH_CA_CERT",
            "UnknownIssuer",
        ] {
            assert!(msg.contains(says), "{case}: no `{says}` in: {msg}");
        }
    }
    assert_eq!(es.stats().requests, 0, "no HTTP request got through");
    let refused = front.failed_handshakes_settled().await;
    assert!(
        // One handshake per case, and never a retry.
        refused.len() == 2 && refused.iter().all(|e| e.contains("UnknownCA")),
        "no retries: {refused:?}"
    );
}

/// The CA vouches for a certificate, not for whichever host presents it or for ever: rustls
/// still checks the URL's host against the subjectAltName (IP addresses included) and the
/// validity dates, and the error says which check failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_trusted_ca_is_refused_for_another_name_or_out_of_its_dates() {
    let ca = Ca::new("shipper test CA");
    let cases = [
        (
            "another name",
            ca.server_cert(&["localhost", "10.0.0.9"]),
            vec![
                "not issued for the host in the URL",
                r#"certificate not valid for name "127.0.0.1""#,
                r#"only valid for DnsName("localhost") or IpAddress(10.0.0.9)"#,
            ],
        ),
        (
            "expired",
            ca.server_cert_with(&["127.0.0.1"], |p| {
                p.not_before = rcgen::date_time_ymd(2020, 1, 1);
                p.not_after = rcgen::date_time_ymd(2021, 1, 1);
            }),
            vec!["outside its validity period", "certificate expired"],
        ),
    ];
    for (case, cert, says) in cases {
        let es = BulkServer::with_defaults().await;
        let front = TlsFront::start(&es, cert).await;
        let sh = support::shipper(&https(&front.url, Some(&ca.pem)), naming("tlsname"));
        let out = sh
            .ship(
                support::generate_data(20, 1, 23, &[]),
                Instant::now() + Duration::from_millis(500),
                "tls-name",
            )
            .await;
        assert_eq!(out.summary.stats.indexed, 0, "{case}");
        let msg = out.into_result().unwrap_err().to_string();
        assert!(
            msg.contains("TLS handshake with Elasticsearch failed: "),
            "{case}: {msg}"
        );
        for says in says {
            assert!(msg.contains(says), "{case}: no `{says}` in: {msg}");
        }
        assert_eq!(es.stats().requests, 0, "{case}");
    }
}

/// The usual slip the other way round: an `https://` URL for a cluster that serves plain HTTP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_url_to_a_plain_http_server_is_called_a_tls_failure_with_the_fix() {
    let es = BulkServer::with_defaults().await;
    let url = es.url().replace("http://", "https://");
    let sh = support::shipper(&https(&url, None), naming("tlsplain"));
    let out = sh
        .ship(
            support::generate_data(10, 1, 26, &[]),
            Instant::now() + Duration::from_millis(500),
            "tls-plain",
        )
        .await;
    assert_eq!(out.summary.stats.indexed, 0);
    let msg = out.into_result().unwrap_err().to_string();
    assert!(
        msg.contains("TLS handshake with Elasticsearch failed: the server did not answer in TLS; if it serves plain HTTP, use an http:// URL"),
        "{msg}"
    );
}

/// The whole path an operator uses: the variable names a file, the CLI reads and trusts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ship_trusts_the_ca_file_named_by_elasticsearch_ca_cert() {
    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper test CA");
    let front = TlsFront::start(&es, ca.server_cert(&["127.0.0.1"])).await;
    let dir = TempDir::new("ok");
    let ca_file = ca.write_pem(&dir);
    let input = dir.0.join("batches.jsonl");
    std::fs::write(&input, support::generate(300, 2, 24, &[]).join("\n")).unwrap();

    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", &front.url])
        .arg(&input)
        .env("ELASTICSEARCH_CA_CERT", &ca_file);
    let out = run(c).await;

    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("done: 600 events"), "{err}");
    assert_eq!(log_docs(&es), 600);
}

/// What an operator sees when the CA is missing: the check that failed and the setting that
/// fixes it. The OS trust store plays no part (the client's roots are compiled in), so a CA
/// given the OpenSSL way, `SSL_CERT_FILE`, is not trusted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_elasticsearch_ca_cert_ship_fails_saying_the_certificate_is_untrusted_and_what_to_set()
 {
    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper test CA");
    let front = TlsFront::start(&es, ca.server_cert(&["127.0.0.1"])).await;
    let dir = TempDir::new("untrusted");
    let ca_file = ca.write_pem(&dir);
    let input = dir.0.join("batches.jsonl");
    std::fs::write(&input, support::generate(40, 1, 25, &[]).join("\n")).unwrap();

    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", &front.url])
        .arg(&input)
        .env("SSL_CERT_FILE", &ca_file);
    let out = run(c).await;

    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let last = err.lines().last().unwrap_or_default();
    for says in [
        "retrying cannot help",
        "TLS handshake with Elasticsearch failed",
        "set ELASTICSEARCH_CA_CERT",
    ] {
        assert!(last.contains(says), "no `{says}` in: {last}");
    }
    assert_eq!(es.stats().requests, 0);
}

#[test]
fn an_unreadable_or_non_pem_ca_file_stops_the_cli_with_a_config_error_naming_elasticsearch_ca_cert()
{
    let dir = TempDir::new("bad");
    let ca = Ca::new("shipper test CA");
    let der = ca.pem_der();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let body_of = |pem: &str| {
        pem.lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    };
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        ("missing", dir.0.join("nope.pem"), "cannot read it"),
        ("a directory", dir.0.clone(), "cannot read it"),
        ("empty", write("empty.pem", b""), "no `-----BEGIN CERTIFICATE-----`"),
        ("DER, not PEM", write("ca.der", &der), "openssl x509 -inform der"),
        (
            "a private key",
            write("key.pem", KeyPair::generate().unwrap().serialize_pem().as_bytes()),
            "no `-----BEGIN CERTIFICATE-----`",
        ),
        (
            "broken base64",
            write(
                "broken.pem",
                format!("-----BEGIN CERTIFICATE-----\n{}!!\n-----END CERTIFICATE-----\n", body_of(&ca.pem)).as_bytes(),
            ),
            "invalid certificate encoding",
        ),
        (
            "base64 of something else",
            write(
                "notx509.pem",
                b"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGUgYXQgYWxs\n-----END CERTIFICATE-----\n",
            ),
            "BadEncoding",
        ),
    ];
    for (case, path, says) in cases {
        let mut c = crate::cli::shipper();
        c.args(["ship", "--url", "https://127.0.0.1:9", "-"])
            .env("ELASTICSEARCH_CA_CERT", &path)
            .stdin(std::process::Stdio::null());
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{case}: {err}");
        let want = format!("shipper: ELASTICSEARCH_CA_CERT: {}: ", path.display());
        assert!(err.starts_with(&want), "{case}: {err}");
        assert!(err.contains(says), "{case}: no `{says}` in: {err}");
        assert_eq!(err.lines().count(), 1, "{case}: {err}");
    }
}

impl ServerCert {
    /// SHA-256 of the leaf certificate, as `openssl x509 -noout -fingerprint -sha256` prints it.
    pub(crate) fn fingerprint(&self) -> String {
        use sha2::Digest;
        sha2::Sha256::digest(self.chain[0].as_ref())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    }
}

fn pinned(url: &str, fingerprint: &str) -> Connection {
    Connection {
        cert_fingerprints: shipper::config::parse_fingerprints(fingerprint).unwrap(),
        ..support::connection(url)
    }
}

/// A cluster with a self-signed certificate for names the URL doesn't use (Elasticsearch's
/// own auto-generated setup is like this): no CA file, only the pin, and it ships.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_certificate_is_trusted_whoever_signed_it_and_whatever_names_it_carries() {
    let es = BulkServer::with_defaults().await;
    let own_ca = Ca::new("nobody trusts this CA");
    let cert = own_ca.server_cert(&["es01.internal"]);
    let fp = cert.fingerprint();
    let front = TlsFront::start(&es, cert).await;
    let sh = support::shipper(&pinned(&front.url, &fp), naming("pin"));
    let out = sh
        .ship(
            support::generate_data(300, 2, 27, &[]),
            Instant::now() + Duration::from_secs(60),
            "pin-ok",
        )
        .await;
    let received = out.summary.received;
    out.into_result()
        .expect("delivered to the pinned certificate");
    assert_eq!(log_docs(&es) as u64, received);
    assert!(front.failed_handshakes().is_empty());
}

/// Another certificate — even one a trusted CA signed for the right name — is refused at the
/// first handshake, and the error shows the fingerprint the server has, to compare or re-pin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_other_than_the_pinned_one_is_refused_at_once_showing_its_fingerprint() {
    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper test CA");
    let served = ca.server_cert(&["127.0.0.1"]);
    let served_fp = served.fingerprint();
    let expected = ca.server_cert(&["127.0.0.1"]).fingerprint();
    let front = TlsFront::start(&es, served).await;
    let conn = Connection {
        // The CA would vouch for it: the pin decides alone.
        ca_cert_pem: Some(ca.pem.as_bytes().to_vec()),
        ..pinned(&front.url, &expected)
    };
    let sh = support::shipper(&conn, naming("pinbad"));
    let out = sh
        .ship(
            support::generate_data(30, 1, 28, &[]),
            Instant::now() + Duration::from_secs(60),
            "pin-bad",
        )
        .await;
    let err = out.into_result().unwrap_err();
    assert!(matches!(err, ShipError::Fatal(_)), "{err}");
    let msg = err.to_string();
    for says in [
        "TLS handshake with Elasticsearch failed",
        &format!(
            "has SHA-256 fingerprint {served_fp}, not one ELASTICSEARCH_CERT_FINGERPRINT pins"
        ),
    ] {
        assert!(msg.contains(says), "no `{says}` in: {msg}");
    }
    assert_eq!(es.stats().requests, 0);
    assert_eq!(
        front.failed_handshakes_settled().await.len(),
        1,
        "no retries"
    );
}

/// The operator's path: the fingerprint pasted as openssl prints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ship_trusts_the_certificate_pinned_by_elasticsearch_cert_fingerprint() {
    let es = BulkServer::with_defaults().await;
    let cert = Ca::new("self-signed setup").server_cert(&["127.0.0.1"]);
    let fp = cert.fingerprint();
    let front = TlsFront::start(&es, cert).await;
    let dir = TempDir::new("pin");
    let input = dir.0.join("batches.jsonl");
    std::fs::write(&input, support::generate(100, 2, 29, &[]).join("\n")).unwrap();

    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", &front.url]).arg(&input).env(
        "ELASTICSEARCH_CERT_FINGERPRINT",
        format!("sha256 Fingerprint={fp}"),
    );
    let out = run(c).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(log_docs(&es), 200);
}

pub(crate) async fn run(mut c: Command) -> std::process::Output {
    tokio::task::spawn_blocking(move || c.output().unwrap())
        .await
        .unwrap()
}
