//! The CLI as a user runs it: the real binary, real files, exit codes, one-line errors.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::support;

pub fn shipper() -> Command {
    run_as(Command::new(env!("CARGO_BIN_EXE_shipper")))
}

/// `c` (the shipper, or a command that runs it) without the user's settings.
fn run_as(mut c: Command) -> Command {
    // Keep the user's settings out of the test.
    for (k, _) in std::env::vars() {
        if k.starts_with("SHIPPER_")
            || k.starts_with("ELASTICSEARCH_")
            || k == "AWS_LAMBDA_RUNTIME_API"
            || k.to_ascii_uppercase().ends_with("_PROXY")
        {
            c.env_remove(k);
        }
    }
    c
}

pub fn run_with_stdin(mut c: Command, input: &[u8]) -> std::process::Output {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// `shipper transform -` of `input`, which must succeed: its NDJSON rows.
fn transform_rows(input: &[u8]) -> Vec<Value> {
    let mut c = shipper();
    c.args(["transform", "-"]);
    let out = run_with_stdin(c, input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn transform_writes_create_actions_and_documents_for_every_event() {
    let lines = support::generate(300, 2, 11, &[]).join("\n");
    let rows = transform_rows(lines.as_bytes());
    assert_eq!(rows.len(), 2 * 600);
    for pair in rows.chunks(2) {
        let action = &pair[0]["create"];
        assert!(
            action["_index"]
                .as_str()
                .unwrap()
                .starts_with("logs-cloudwatch.vocab_api_words-")
        );
        assert_eq!(action["_id"], pair[1]["event"]["id"]);
        assert!(pair[1]["@timestamp"].is_string());
    }
}

#[test]
fn transform_accepts_the_decoded_inner_json_and_skips_control_messages() {
    let inner = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"9","timestamp":0,"message":"[ERROR] x\n"}]}"#;
    let control = std::fs::read_to_string(support::data_file("control-message.json")).unwrap();
    let mut c = shipper();
    c.args(["transform"]);
    let out = run_with_stdin(c, format!("{inner}\n{control}").as_bytes());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2);
    assert!(text.contains(r#""message":"[ERROR] x""#), "{text}");
}

#[test]
fn bad_input_is_one_line_naming_file_and_position_with_a_nonzero_exit() {
    let dir = std::env::temp_dir().join(format!("shipper-cli-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = support::generate(5, 1, 1, &[]).remove(0);
    let cases = [
        (
            "notjson.jsonl",
            format!("{good}\n{{oops"),
            "notjson.jsonl:2:",
            "not JSON",
        ),
        (
            "notgzip.jsonl",
            format!("{good}\n{{\"awslogs\":{{\"data\":\"aGVsbG8=\"}}}}"),
            "notgzip.jsonl:2:1:",
            "neither gzip nor zlib",
        ),
        (
            "notb64.jsonl",
            "{\"awslogs\":{\"data\":\"%%%\"}}".to_owned(),
            "notb64.jsonl:1:1:",
            "not valid base64",
        ),
        (
            "other.jsonl",
            "{\"hello\":1}".to_owned(),
            "other.jsonl:1:1:",
            "not a CloudWatch Logs payload",
        ),
    ];
    for (name, content, at, why) in cases {
        let p = dir.join(name);
        std::fs::write(&p, content).unwrap();
        for sub in ["transform", "ship"] {
            let mut c = shipper();
            c.args([sub, p.to_str().unwrap()])
                .env("ELASTICSEARCH_URL", "http://127.0.0.1:9");
            let out = c.output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{sub} {name}: {err}");
            assert_eq!(
                err.trim_end().lines().count(),
                1,
                "{sub} {name}: one line, got {err}"
            );
            assert!(err.contains(at) && err.contains(why), "{sub} {name}: {err}");
            if sub == "transform" {
                assert!(
                    out.stdout.is_empty() || name == "notjson.jsonl" || name == "notgzip.jsonl"
                );
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ship_replays_files_into_the_emulator_with_a_summary() {
    let es = support::noida();
    let dir = std::env::temp_dir().join(format!("shipper-ship-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("batches.jsonl");
    std::fs::write(&p, support::generate(500, 3, 5, &[]).join("\n")).unwrap();
    let ns = support::unique_namespace("cli");
    let mut c = shipper();
    c.args(["ship", "--url", es.url(), p.to_str().unwrap()])
        .env("SHIPPER_NAMESPACE", &ns);
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // What the check found is said before anything is sent.
    let checked = err.find("input checked: 3 payloads, 1500 events in ");
    let progress = err.find("payloads 3/3");
    assert!(progress.is_some(), "progress line: {err}");
    assert!(
        checked.is_some() && checked < progress,
        "check line first: {err}"
    );
    assert!(err.contains("done: 1500 events"), "summary: {err}");
    assert!(err.contains("1500 indexed"), "summary: {err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The check runs on several threads: the bad payload named is the first in the file, not
/// the first a thread found. Line 25 fails only at its very end (a 10,000-event payload whose
/// gzip checksum is wrong), line 35 at once (not base64), and the lines between are small, so
/// another thread reaches line 35 long before line 25 is inflated.
#[test]
fn ship_names_the_first_bad_payload_in_the_input_whichever_thread_finds_one_first_issue_15() {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let dir = std::env::temp_dir().join(format!("shipper-check-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let big: Value = serde_json::from_str(&support::generate(10_000, 1, 41, &[])[0]).unwrap();
    let mut gz = b64
        .decode(big["awslogs"]["data"].as_str().unwrap())
        .unwrap();
    let crc = gz.len() - 8;
    gz[crc] ^= 0xff;
    let late = serde_json::json!({"awslogs": {"data": b64.encode(&gz)}}).to_string();
    let small = support::generate(20, 38, 42, &[]);
    let mut lines: Vec<String> = small[..24].to_vec();
    lines.push(late);
    lines.extend_from_slice(&small[24..33]);
    lines.push("{\"awslogs\":{\"data\":\"%%%\"}}".into());
    lines.extend_from_slice(&small[33..]);
    assert_eq!(lines.len(), 40);
    let p = dir.join("batches.jsonl");
    std::fs::write(&p, lines.join("\n")).unwrap();
    // Three times on every CPU, once on one (`taskset`: a thread of its own only with two).
    for one_cpu in [false, false, false, true] {
        let mut c = shipper();
        if one_cpu {
            let mut taskset = Command::new("taskset");
            taskset.args(["-c", "0", env!("CARGO_BIN_EXE_shipper")]);
            c = run_as(taskset);
        }
        let out = c
            .args(["ship", "--url", "http://127.0.0.1:9", p.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("batches.jsonl:25:1:"), "{err}");
        assert!(!err.contains(":35:"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Files and stdin in one run: everything is checked before the first request (a bad last
/// file sends nothing), then each input is read again and sent (stdin from what was kept).
#[test]
fn ship_checks_every_input_before_sending_then_sends_files_and_stdin_in_order() {
    let es = support::noida();
    let dir = std::env::temp_dir().join(format!("shipper-ship2-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, c) = (dir.join("a.jsonl"), dir.join("c.jsonl"));
    std::fs::write(&a, support::generate(200, 2, 31, &[]).join("\n")).unwrap();
    let stdin = support::generate(100, 1, 32, &[]).join("\n");
    let ns = support::unique_namespace("cli2");
    let conn = support::connection(es.url());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let stored = || {
        rt.block_on(support::count(
            &conn,
            &format!("logs-cloudwatch.*-{ns}"),
            None,
        ))
    };
    let run = || {
        let mut cmd = shipper();
        cmd.args(["ship", "--url", es.url()])
            .args([a.to_str().unwrap(), "-", c.to_str().unwrap()])
            .env("SHIPPER_NAMESPACE", &ns);
        run_with_stdin(cmd, stdin.as_bytes())
    };

    std::fs::write(&c, "{\"awslogs\":{\"data\":\"%%%\"}}").unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("c.jsonl:1:1:"), "{err}");
    assert!(!err.contains("input checked"), "{err}");
    // noida answers 404 for a pattern matching no index: count nothing as zero.
    let none = rt.block_on(support::es_json(
        &conn,
        reqwest::Method::GET,
        &format!("logs-cloudwatch.*-{ns}/_count"),
        None,
    ));
    assert_eq!(none.1["count"].as_u64().unwrap_or(0), 0, "{none:?}");

    std::fs::write(&c, support::generate(50, 1, 33, &[]).join("\n")).unwrap();
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("payloads 4/4"), "progress line: {err}");
    assert!(err.contains("done: 550 events"), "summary: {err}");
    assert_eq!(stored(), 550);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn ship_refuses_a_concurrency_outside_1_to_64_naming_the_flag_issue_15() {
    for bad in ["0", "65", "many"] {
        let mut c = shipper();
        c.args(["ship", "--concurrency", bad, "-"])
            .env("ELASTICSEARCH_URL", "http://127.0.0.1:9");
        let out = run_with_stdin(c, b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad}: {err}");
        assert!(err.contains("--concurrency"), "{bad}: {err}");
    }
}

#[test]
fn a_bad_setting_names_the_variable_and_exits_2() {
    let mut c = shipper();
    c.args(["transform", "-"])
        .env("SHIPPER_MAX_BULK_DOCS", "many");
    let out = run_with_stdin(c, b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHIPPER_MAX_BULK_DOCS"));
}

#[test]
fn transform_re_drives_dead_letter_records_from_a_search_answer() {
    let inner = r#"{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/f","logStream":"s","subscriptionFilters":[],"logEvents":[{"id":"77","timestamp":0,"message":"{\"status\":\"ok\"}"}]}"#;
    let search = serde_json::json!({"hits": {"hits": [
        {"_index": "logs-shipper.deadletter-default", "_id": "77", "_source": {"deadletter": {"payload": inner}, "error": {"type": "mapper_parsing_exception"}}}
    ]}});
    let rows = transform_rows(search.to_string().as_bytes());
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["create"]["_id"], "77");
    assert_eq!(rows[1]["app"]["status"], "ok");
}

/// The connection comes from a Secrets Manager secret and an SSM SecureString parameter held
/// by the AWS emulator (moto), not from the environment; the secret's values never reach the
/// output.
#[test]
fn ship_takes_its_connection_from_secrets_manager_or_ssm() {
    let moto = support::moto();
    let es = support::noida();
    let ns = support::unique_namespace("sec");
    let secret =
        serde_json::json!({"url": es.url(), "username": "elastic", "password": "s3cr3t-pw"})
            .to_string();
    let script = r#"
import boto3, sys
kw = dict(endpoint_url=sys.argv[1], region_name="ap-northeast-2", aws_access_key_id="t", aws_secret_access_key="t")
arn = boto3.client("secretsmanager", **kw).create_secret(Name=sys.argv[2], SecretString=sys.argv[3])["ARN"]
boto3.client("ssm", **kw).put_parameter(Name="/" + sys.argv[2], Value=sys.argv[3], Type="SecureString")
print(arn)
"#;
    let name = format!("shipper-es-{ns}");
    let out = Command::new("python3")
        .args(["-c", script, moto.url(), &name, &secret])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let arn = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let dir = std::env::temp_dir().join(format!("shipper-sec-{}", support::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("b.jsonl");
    std::fs::write(&p, support::generate(20, 1, 2, &[]).join("\n")).unwrap();
    for (var, value) in [
        ("ELASTICSEARCH_SECRET_ARN", arn.as_str()),
        ("ELASTICSEARCH_SSM_PARAMETER", &format!("/{name}")),
    ] {
        let mut c = shipper();
        c.args(["ship", p.to_str().unwrap()])
            .env(var, value)
            .env("SHIPPER_NAMESPACE", &ns)
            .env("AWS_ENDPOINT_URL", moto.url())
            .env("AWS_REGION", "ap-northeast-2")
            .env("AWS_ACCESS_KEY_ID", "t")
            .env("AWS_SECRET_ACCESS_KEY", "t");
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{var}: {err}");
        assert!(err.contains("done: 20 events"), "{var}: {err}");
        assert!(
            !err.contains("s3cr3t-pw"),
            "{var}: the password leaked: {err}"
        );
    }
    // A secret that doesn't exist: the error names the variable.
    let mut c = shipper();
    c.args(["ship", p.to_str().unwrap()])
        .env(
            "ELASTICSEARCH_SECRET_ARN",
            "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:nope",
        )
        .env("AWS_ENDPOINT_URL", moto.url())
        .env("AWS_REGION", "ap-northeast-2")
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t");
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("ELASTICSEARCH_SECRET_ARN"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

/// A secret or parameter that doesn't exist stops the start with one short line naming the
/// setting and the AWS error type (issue 15 replaced the AWS SDK clients by direct calls).
#[test]
fn a_missing_secret_or_parameter_is_named_with_its_aws_error_type() {
    let moto = support::moto();
    let cases = [
        (
            "ELASTICSEARCH_SECRET_ARN",
            "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:absent",
            "ship",
            "not found (ResourceNotFoundException)",
        ),
        (
            "ELASTICSEARCH_SSM_PARAMETER",
            "/shipper/absent",
            "ship",
            "not found (ParameterNotFound)",
        ),
        (
            "SHIPPER_ROUTES_SSM_PARAMETER",
            "/shipper/absent-routes",
            "transform",
            "not found (ParameterNotFound)",
        ),
    ];
    for (var, value, command, expected) in cases {
        let mut c = shipper();
        c.arg(command)
            .arg(support::data_file("aws-lambda-events-example.json"))
            .env(var, value)
            .env("ELASTICSEARCH_URL", "http://127.0.0.1:9")
            .env("AWS_ENDPOINT_URL", moto.url())
            .env("AWS_REGION", "ap-northeast-2")
            .env("AWS_ACCESS_KEY_ID", "t")
            .env("AWS_SECRET_ACCESS_KEY", "t");
        let out = c.output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{var}: {err}");
        assert!(err.contains(var), "{var}: {err}");
        assert!(err.contains(expected), "{var}: {err}");
    }
}

/// A plain-text SSM parameter in the AWS emulator.
fn put_ssm_parameter(moto: &support::Endpoint, name: &str, value: &str) {
    let script = r#"
import boto3, sys
boto3.client("ssm", endpoint_url=sys.argv[1], region_name="ap-northeast-2", aws_access_key_id="t",
             aws_secret_access_key="t").put_parameter(Name=sys.argv[2], Value=sys.argv[3], Type="String")
"#;
    let out = Command::new("python3")
        .args(["-c", script, moto.url(), name, value])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `shipper transform` of the example payload with its routing rules in SSM parameter `name`
/// (the endpoint left to the caller).
fn transform_routed_by(name: &str) -> Command {
    let mut c = shipper();
    c.args(["transform"])
        .arg(support::data_file("aws-lambda-events-example.json"))
        .env("SHIPPER_ROUTES_SSM_PARAMETER", name)
        .env("AWS_REGION", "ap-northeast-2")
        .env("AWS_ACCESS_KEY_ID", "t")
        .env("AWS_SECRET_ACCESS_KEY", "t");
    c
}

/// `AWS_ENDPOINT_URL_SSM` wins over `AWS_ENDPOINT_URL`, as in the AWS SDKs
/// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html): the global
/// one points at a closed port here, so only the service-specific one can answer.
#[test]
fn the_service_specific_endpoint_setting_wins_over_the_global_one() {
    let moto = support::moto();
    let name = format!("/shipper-routes-ep-{}", support::free_port());
    let rules = r#"[{"name":"all","log_group":"*","dataset":"routed.by_endpoint"}]"#;
    put_ssm_parameter(&moto, &name, rules);
    let closed = format!("http://127.0.0.1:{}", support::free_port());
    let mut c = transform_routed_by(&name);
    c.env("AWS_ENDPOINT_URL", &closed)
        .env("AWS_ENDPOINT_URL_SSM", moto.url());
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("logs-routed.by_endpoint-default"),
        "{err}"
    );
}

/// Routing rules kept in an SSM parameter (the AWS emulator's), read with the same signed
/// AWS JSON call as the connection's parameter (one TLS stack: reqwest's).
#[test]
fn transform_reads_its_routing_rules_from_an_ssm_parameter() {
    let moto = support::moto();
    let name = format!("/shipper-routes-{}", support::free_port());
    let rules = r#"[{"name":"all","log_group":"*","dataset":"routed.by_ssm"}]"#;
    put_ssm_parameter(&moto, &name, rules);
    let mut c = transform_routed_by(&name);
    c.env("AWS_ENDPOINT_URL", moto.url());
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let first: Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default(),
    )
    .unwrap();
    assert_eq!(
        first["create"]["_index"], "logs-routed.by_ssm-default",
        "{first}"
    );
}
