//! `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY`, through a real forward proxy: proxy.py (PyPI
//! `proxy.py`), with basic auth on, so a request that reaches the cluster without its
//! credentials in the proxy URL can't have gone through it. Its access log (one line per
//! connection, written when the connection closes) tells which targets it carried.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::bulk_server::BulkServer;
use crate::support::{self, Proc};
use crate::tls::{Ca, TempDir, TlsFront, log_docs, run};

/// proxy.py on a free loopback port, requiring `shipper:pw` (Proxy-Authorization: Basic),
/// its log in `log`.
fn proxy_py(log: &Path) -> Proc {
    let port = support::free_port();
    let mut c = Command::new("proxy");
    c.args(["--hostname", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--basic-auth",
            "shipper:pw",
            "--num-workers",
            "1",
            "--num-acceptors",
            "1",
        ])
        .args(["--log-file".as_ref(), log.as_os_str()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let url = format!("http://127.0.0.1:{port}");
    let p = support::spawn(
        "proxy.py (pip install proxy.py: see requirements-dev.txt)",
        c,
        url,
    );
    support::wait_http(&p.url, "proxy.py");
    p
}

/// The access-log lines that name `target` (`CONNECT host:port` for https, `GET host:port/…`
/// for plain http), waiting a moment for connections closed just now to be logged.
fn carried(log: &Path, target: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines: Vec<String> = std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("access_log") && l.contains(target))
            .map(str::to_owned)
            .collect();
        if !lines.is_empty() || Instant::now() > deadline {
            return lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn host_port(url: &str) -> String {
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .trim_end_matches('/')
        .to_owned()
}

/// An https cluster (private CA) reached through `HTTPS_PROXY` as a CONNECT tunnel, and a
/// plain-http one through `HTTP_PROXY` as an absolute-form request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ship_goes_through_the_proxy_named_by_https_proxy_and_http_proxy() {
    let dir = TempDir::new("proxy");
    let log = dir.0.join("proxy.log");
    let proxy = proxy_py(&log);
    let with_auth = proxy.url.replace("http://", "http://shipper:pw@");

    let es = BulkServer::with_defaults().await;
    let ca = Ca::new("shipper proxy test CA");
    let front = TlsFront::start(&es, ca.server_cert(&["127.0.0.1"])).await;
    let ca_file = ca.write_pem(&dir);
    let input = dir.0.join("batches.jsonl");
    std::fs::write(&input, support::generate(100, 2, 31, &[]).join("\n")).unwrap();

    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", &front.url])
        .arg(&input)
        .env("ELASTICSEARCH_CA_CERT", &ca_file)
        .env("HTTPS_PROXY", &with_auth);
    let out = run(c).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(log_docs(&es), 200);
    let tunnels = carried(&log, &format!("CONNECT {}", host_port(&front.url)));
    assert!(
        !tunnels.is_empty(),
        "no CONNECT to the cluster in the proxy log"
    );

    let plain = BulkServer::with_defaults().await;
    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", plain.url()])
        .arg(&input)
        .env("http_proxy", &with_auth);
    let out = run(c).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(log_docs(&plain), 200);
    // The first request of the connection is logged: the write-index lookup or `_bulk`.
    let forwarded = carried(&log, &format!(" {}/", host_port(plain.url())));
    assert!(
        !forwarded.is_empty(),
        "no request to the cluster in the proxy log"
    );
}

/// `NO_PROXY` lists what is reached directly: the same settings with the cluster's address in
/// `NO_PROXY` ship without the proxy (here, a proxy that isn't even listening), and without it
/// the shipper keeps to the proxy and fails rather than going around it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_proxy_reaches_listed_hosts_directly_and_nothing_else_goes_around_the_proxy() {
    let es = BulkServer::with_defaults().await;
    let dead_proxy = format!("http://127.0.0.1:{}", support::free_port());
    let dir = TempDir::new("noproxy");
    let input = dir.0.join("batches.jsonl");
    std::fs::write(&input, support::generate(50, 1, 32, &[]).join("\n")).unwrap();

    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", es.url()])
        .arg(&input)
        .env("HTTP_PROXY", &dead_proxy)
        .env("NO_PROXY", "localhost, 127.0.0.0/8");
    let out = run(c).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(log_docs(&es), 50);

    let before = es.stats().requests;
    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", es.url()])
        .arg(&input)
        .env("HTTP_PROXY", &dead_proxy)
        .env("NO_PROXY", "es.internal")
        .env("SHIPPER_MAX_RETRY_MS", "300");
    let out = run(c).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("connection failed"), "{err}");
    assert_eq!(
        es.stats().requests,
        before,
        "the second run never reached it"
    );
}

#[test]
fn a_malformed_proxy_setting_stops_the_cli_naming_the_variable() {
    let mut c = crate::cli::shipper();
    c.args(["ship", "--url", "http://127.0.0.1:9", "-"])
        .env("HTTPS_PROXY", "proxy.internal:3128")
        .stdin(Stdio::null());
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("shipper: HTTPS_PROXY: "), "{err}");
}
