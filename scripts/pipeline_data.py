#!/usr/bin/env python3
"""Fills an Elasticsearch (or the noida-db emulator) with what the system really writes, the way
docker-compose.yml runs it, so the dashboards can be checked on it:

1. `shipper setup` applies the real ILM policy and index templates (and, with --kibana-url,
   imports the saved objects);
2. `vocab-local` (its store: moto's DynamoDB API, or DYNAMODB_ENDPOINT) serves `vocab-traffic`
   for a few seconds, then one batch of client events as the web app posts them (so every
   "Web app" panel has data); its stdout is the API's log lines, exactly as in Lambda;
3. `shipper follow --once` ships those lines as CloudWatch-shaped batches of log group
   `/aws/lambda/vocab-api-local`, through the Lambda's code path;
4. `scripts/gen_edge_logs.py` writes the API Gateway access-log and WAF lines AWS would have
   written for those same requests, plus the ones no Lambda saw (WAF blocks, authorizer 401s,
   throttling 429s), in their documented shapes; `shipper ship` sends them;
5. `scripts/gen_events.py` (the shared payload generator) adds Lambda platform lines
   (INIT_START/START/END/REPORT) and text lines for a Lambda log group: `vocab-local` has no
   Lambda runtime, so it writes no REPORT lines;
6. one dataset gets an index template mapping `message` as `long`, so that Elasticsearch refuses
   its documents and the shipper writes real dead letters (the dead-letter panels' data).

Every document lands in namespace `--namespace` (SHIPPER_NAMESPACE), so runs sharing a cluster
don't mix. Credentials for a secured cluster come from the environment the shipper reads
(ELASTICSEARCH_USERNAME/PASSWORD or ELASTICSEARCH_API_KEY).

    python3 scripts/pipeline_data.py --url http://localhost:9200 --namespace default \
        [--bin-dir target/release] [--moto-url http://127.0.0.1:5000] [--workdir DIR]

Prints a JSON summary on stdout. Used by tests/test_local_pipeline.py, dashboards/tests and
scripts/kibana_check.py.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
API_LOG_GROUP = "/aws/lambda/vocab-api-local"
PLATFORM_LOG_GROUP = "/aws/lambda/vocab-api-words"
# Its documents are refused on purpose (see step 6).
REFUSED_LOG_GROUP = "/aws/lambda/vocab-deadletter-demo"
REFUSED_DATASET = "cloudwatch.vocab_deadletter_demo"


@dataclass
class Filled:
    url: str
    namespace: str
    workdir: str
    api_log: str
    api_lines: int = 0
    request_lines: int = 0
    client_event_lines: int = 0
    edge: dict = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)

    @property
    def logs_index(self) -> str:
        return f"logs-cloudwatch*-{self.namespace}"

    @property
    def health_index(self) -> str:
        return f"logs-shipper.health-{self.namespace}"

    @property
    def deadletter_index(self) -> str:
        return f"logs-shipper.deadletter-{self.namespace}"


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url: str, what: str, seconds: float = 60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer at {url}")


def build(bin_dir: Path):
    """`cargo build` of the binaries the pipeline runs (debug or release after bin_dir's name)."""
    args = ["cargo", "build", "-q", "-p", "vocab-api", "-p", "shipper", "--bins"]
    if bin_dir.name == "release":
        args.append("--release")
    subprocess.run(args, cwd=ROOT, check=True)


def run(cmd: list, what: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    if r.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {r.returncode}):\n{r.stderr[-4000:]}")
    return r


def es_request(url: str, method: str, path: str, body: dict | None = None):
    """A request with the shipper's credentials from the environment (for step 6)."""
    import base64
    headers = {"Content-Type": "application/json"}
    if os.environ.get("ELASTICSEARCH_API_KEY"):
        headers["Authorization"] = "ApiKey " + os.environ["ELASTICSEARCH_API_KEY"]
    elif os.environ.get("ELASTICSEARCH_USERNAME"):
        pair = f"{os.environ['ELASTICSEARCH_USERNAME']}:{os.environ.get('ELASTICSEARCH_PASSWORD', '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    req = urllib.request.Request(url.rstrip("/") + path, method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def api_traffic(bin_dir: Path, moto_url: str | None, workdir: Path, seconds: int, rate: int, users: int,
                seed: int) -> Path:
    """vocab-traffic → vocab-local; returns the file of the API's stdout (its log lines)."""
    log = workdir / "vocab-api.log"
    port = free_port()
    env = dict(os.environ, VOCAB_TABLE=f"pipeline-{port}", AWS_REGION=os.environ.get("AWS_REGION", "us-east-1"))
    if moto_url:
        env.update(DYNAMODB_ENDPOINT=moto_url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing")
    with open(log, "w") as out:
        api = subprocess.Popen([str(bin_dir / "vocab-local"), "--addr", f"127.0.0.1:{port}"],
                               stdout=out, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_http(f"http://127.0.0.1:{port}/me", "vocab-local")
            subprocess.run([str(bin_dir / "vocab-traffic"), "--base-url", f"http://127.0.0.1:{port}",
                            "--rate", str(rate), "--duration", str(seconds), "--users", str(users),
                            "--seed", str(seed)],
                           check=True, stdout=subprocess.DEVNULL, env=env, timeout=600)
            post_client_events(f"http://127.0.0.1:{port}")
        finally:
            api.terminate()
            api.wait(timeout=30)
    return log


# What the web app's telemetry sends (docs/CONTRACTS.md section A), from a browser: one event of
# each kind on a few pages, so every "Web app" panel has data whatever vocab-traffic's random
# picks were. Same route, same lines as the app's own reports.
CLIENT_EVENTS = [
    {"type": "page_load", "page": "/", "duration_ms": 412},
    {"type": "page_load", "page": "/lists/demo", "duration_ms": 1234},
    {"type": "page_load", "page": "/notebooks", "duration_ms": 2875},
    {"type": "error", "page": "/lists/demo/study", "error_type": "TypeError",
     "message": "Cannot read properties of undefined (reading 'meaning')",
     "stack": "TypeError: Cannot read properties of undefined\n    at Card (assets/index.js:1:2345)"},
    {"type": "api_error", "page": "/lists/demo", "message": "Failed to fetch", "api_method": "GET",
     "api_path": "/lists/{list_id}/words", "status": 0},
    {"type": "api_error", "page": "/notebooks", "message": "Service Unavailable", "api_method": "GET",
     "api_path": "/notebooks", "status": 503},
]
BROWSER_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")


def post_client_events(base: str) -> int | None:
    """POST /api/client-events as the browser app does; the HTTP status, or None when this API
    has no such route yet (404)."""
    req = urllib.request.Request(f"{base}/api/client-events", method="POST",
                                 data=json.dumps({"events": CLIENT_EVENTS}).encode(),
                                 headers={"Content-Type": "application/json", "x-dev-user": "browser-demo",
                                          "User-Agent": BROWSER_UA})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise RuntimeError(f"POST /api/client-events: {e.code} {e.read()[:500]!r}") from e


def fill(url: str, namespace: str, bin_dir: Path, workdir: Path, moto_url: str | None = None,
         kibana_url: str | None = None, seconds: int = 10, rate: int = 30, users: int = 3, seed: int = 7,
         do_build: bool = True) -> Filled:
    workdir.mkdir(parents=True, exist_ok=True)
    if do_build:
        build(bin_dir)
    shipper = bin_dir / "shipper"
    ship_env = {"SHIPPER_NAMESPACE": namespace, "SHIPPER_TARGET": "data_stream"}

    # 1. The real templates (and saved objects), before the first document.
    setup = [shipper, "setup", "--url", url] + (["--kibana-url", kibana_url] if kibana_url else [])
    r = run(setup, "shipper setup", ship_env)
    filled = Filled(url, namespace, str(workdir), "")
    filled.steps.append("setup: " + " | ".join(r.stdout.strip().splitlines()[-3:]))

    # 2–3. The API's own lines, through `shipper follow`.
    api_log = api_traffic(bin_dir, moto_url, workdir, seconds, rate, users, seed)
    lines = [line for line in api_log.read_text(encoding="utf-8").splitlines() if line.strip()]
    filled.api_log = str(api_log)
    filled.api_lines = len(lines)
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if obj.get("service.name") == "vocab-api" and "http.response.status_code" in obj:
            filled.request_lines += 1
        if obj.get("service.name") == "vocab-web":
            filled.client_event_lines += 1
    r = run([shipper, "follow", "--once", "--log-group", API_LOG_GROUP, "--url", url, api_log], "shipper follow",
            ship_env)
    filled.steps.append("follow: " + r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "follow")

    # 4. API Gateway access logs and WAF logs for the same requests, and the refused ones.
    edge = workdir / "edge.jsonl"
    r = run([sys.executable, SCRIPTS / "gen_edge_logs.py", "--api-log", api_log, "--out", edge, "--seed", seed],
            "gen_edge_logs.py")
    filled.edge = json.loads(r.stderr.strip().splitlines()[-1])
    r = run([shipper, "ship", "--url", url, edge], "shipper ship (edge logs)", ship_env)
    filled.steps.append("ship edge: " + r.stderr.strip().splitlines()[-1])

    # 5. Lambda platform lines (REPORT…) and text lines, from the shared generator.
    platform = workdir / "platform.jsonl"
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1800))
    run([sys.executable, SCRIPTS / "gen_events.py", "--events", "1500", "--batches", "1", "--seed", "1",
         "--mix", "json=0,text=100,malformed=0", "--large", "0", "--log-group", PLATFORM_LOG_GROUP,
         "--start", start, "--out", platform], "gen_events.py")
    r = run([shipper, "ship", "--url", url, platform], "shipper ship (platform lines)", ship_env)
    filled.steps.append("ship platform: " + r.stderr.strip().splitlines()[-1])

    # 6. Dead letters: a dataset whose template maps `message` as long, so every document of it
    # is refused (mapper_parsing_exception) and dead-lettered by the shipper.
    st, body = es_request(url, "PUT", f"/_index_template/test-refuse-{REFUSED_DATASET}", {
        "index_patterns": [f"logs-{REFUSED_DATASET}-*"], "priority": 300, "data_stream": {},
        "template": {"mappings": {"properties": {"message": {"type": "long"}}}}})
    if st != 200:
        raise RuntimeError(f"PUT the refusing template: {st} {body}")
    refused = workdir / "refused.jsonl"
    run([sys.executable, SCRIPTS / "gen_events.py", "--events", "40", "--batches", "1", "--seed", "3",
         "--mix", "json=50,text=50,malformed=0", "--large", "0", "--log-group", REFUSED_LOG_GROUP,
         "--start", start, "--out", refused], "gen_events.py (refused)")
    r = subprocess.run([str(shipper), "ship", "--url", url, str(refused)], capture_output=True, text=True,
                       timeout=600, env={**os.environ, **ship_env})
    filled.steps.append("ship refused: " + (r.stderr.strip().splitlines() or [""])[-1])

    es_request(url, "POST", "/_refresh")
    return filled


# ---- for the tests: one emulator of each and one fill per pytest process ---------------------------

_PROCS: list[subprocess.Popen] = []
_FILLED: dict[str, Filled] = {}


def _stop_started():
    for p in _PROCS:
        p.kill()
        p.wait()


atexit.register(_stop_started)


def noida_url() -> str:
    """NOIDA_URL (scripts/test starts it), or a noida-db started here and stopped at exit."""
    if os.environ.get("NOIDA_URL"):
        return os.environ["NOIDA_URL"].rstrip("/")
    from importlib.resources import files
    # The `noida-db` script is a wrapper whose child is the server: start the server itself, so
    # that stopping it by PID stops it.
    port = free_port()
    _PROCS.append(subprocess.Popen(
        [str(files("noida_db").joinpath("noida-db")), "start", "--data-dir", tempfile.mkdtemp(prefix="noida-"),
         "--host", "127.0.0.1", "--only", "elasticsearch", "--elasticsearch-port", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"
    wait_http(url, "noida-db")
    os.environ["NOIDA_URL"] = url
    return url


def moto_url() -> str:
    """MOTO_URL (scripts/test starts it), or a moto server started here and stopped at exit."""
    if os.environ.get("MOTO_URL"):
        return os.environ["MOTO_URL"].rstrip("/")
    port = free_port()
    _PROCS.append(subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    url = f"http://127.0.0.1:{port}"
    wait_http(url + "/moto-api/", "moto")
    os.environ["MOTO_URL"] = url
    return url


def session_fill(url: str) -> Filled:
    """The pipeline's data in `url`, filled once per process (the dashboard tests and
    tests/test_local_pipeline.py share it), in a namespace of its own."""
    if url not in _FILLED:
        ns = f"pipe{os.getpid()}x{random.randrange(10**6)}"
        bin_dir = Path(os.environ.get("PIPELINE_BIN_DIR", ROOT / "target" / "debug"))
        _FILLED[url] = fill(url, ns, bin_dir, Path(tempfile.mkdtemp(prefix="pipeline-")), moto_url())
    return _FILLED[url]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("ELASTICSEARCH_URL"), help="Elasticsearch URL")
    ap.add_argument("--kibana-url", default=None, help="also import the saved objects (shipper setup)")
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "debug"))
    ap.add_argument("--moto-url", default=os.environ.get("MOTO_URL"),
                    help="moto server for vocab-local's DynamoDB (default: DYNAMODB_ENDPOINT or AWS)")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--seconds", type=int, default=20, help="how long vocab-traffic runs")
    ap.add_argument("--rate", type=int, default=20, help="vocab-traffic requests per second")
    ap.add_argument("--no-build", action="store_true", help="use the binaries already in --bin-dir")
    args = ap.parse_args(argv)
    if not args.url:
        ap.error("--url or ELASTICSEARCH_URL is required")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pipeline-data-"))
    filled = fill(args.url, args.namespace, Path(args.bin_dir), workdir, args.moto_url, args.kibana_url,
                  seconds=args.seconds, rate=args.rate, do_build=not args.no_build)
    print(json.dumps(asdict(filled), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
