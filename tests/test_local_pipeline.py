"""The local pipeline of docker-compose.yml, run here without Docker, against emulators:

vocab-traffic → vocab-local (its store: moto's DynamoDB API) → the API's stdout log lines →
`shipper follow` (CloudWatch-shaped batches through the Lambda's code path) → noida-db (an
Elasticsearch-API emulator, not Elasticsearch).

Asserts that every line the API wrote becomes one searchable document with the fields the
dashboards use, including 4xx and 5xx requests.
"""
import json
import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from importlib.resources import files

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_http(url, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.2)
    raise AssertionError(f"{what} did not answer at {url}")


def es(url, path, body=None):
    req = urllib.request.Request(url + path, method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


@pytest.fixture(scope="module")
def services():
    procs = []
    tmp = tempfile.mkdtemp(prefix="pipeline-")
    urls = {}
    if os.environ.get("MOTO_URL"):
        urls["moto"] = os.environ["MOTO_URL"]
    else:
        p = free_port()
        procs.append(subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(p)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls["moto"] = f"http://127.0.0.1:{p}"
        wait_http(urls["moto"] + "/moto-api/", "moto")
    if os.environ.get("NOIDA_URL"):
        urls["es"] = os.environ["NOIDA_URL"]
    else:
        p = free_port()
        # The server binary itself: the `noida-db` script is a wrapper that would outlive a kill.
        procs.append(subprocess.Popen([str(files("noida_db").joinpath("noida-db")), "start", "--data-dir", tmp,
                                       "--host", "127.0.0.1", "--only", "elasticsearch",
                                       "--elasticsearch-port", str(p)],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        urls["es"] = f"http://127.0.0.1:{p}"
        wait_http(urls["es"], "noida-db")
    subprocess.run(["cargo", "build", "-q", "-p", "vocab-api", "-p", "shipper", "--bins"], cwd=ROOT, check=True)
    yield urls, tmp
    for p in procs:
        p.kill()
        p.wait()


def test_api_log_lines_reach_the_index_through_shipper_follow(services):
    urls, tmp = services
    log = os.path.join(tmp, "vocab-api.log")
    port = free_port()
    env = dict(os.environ, DYNAMODB_ENDPOINT=urls["moto"], VOCAB_TABLE=f"pipeline-{port}",
               AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1")
    with open(log, "w") as out:
        api = subprocess.Popen([os.path.join(BIN, "vocab-local"), "--addr", f"127.0.0.1:{port}"],
                               stdout=out, stderr=subprocess.DEVNULL, env=env)
        try:
            wait_http(f"http://127.0.0.1:{port}/me", "vocab-local")
            subprocess.run([os.path.join(BIN, "vocab-traffic"), "--base-url", f"http://127.0.0.1:{port}",
                            "--rate", "60", "--duration", "4", "--users", "3", "--seed", "7"],
                           check=True, stdout=subprocess.DEVNULL, env=env, timeout=120)
        finally:
            api.terminate()
            api.wait(timeout=30)
    lines = [l for l in open(log, encoding="utf-8") if l.strip()]
    requests = [json.loads(l) for l in lines if '"http.response.status_code"' in l]
    assert len(requests) > 50, f"only {len(requests)} request lines"
    statuses = {r["http.response.status_code"] for r in requests}
    assert any(400 <= s < 500 for s in statuses) and any(s >= 500 for s in statuses), statuses

    ns = f"pipe{port}"
    r = subprocess.run([os.path.join(BIN, "shipper"), "follow", "--once", "--log-group", "/aws/lambda/vocab-api-local",
                        "--url", urls["es"], log],
                       env=dict(os.environ, SHIPPER_NAMESPACE=ns), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    target = f"logs-cloudwatch.vocab_api_local-{ns}"
    es(urls["es"], f"/{target}/_refresh", {})
    assert es(urls["es"], f"/{target}/_count", {})["count"] == len(lines)
    agg = es(urls["es"], f"/{target}/_search", {
        "size": 0,
        "aggs": {"status": {"terms": {"field": "http.response.status_code", "size": 50}}},
    })
    by_status = {b["key"]: b["doc_count"] for b in agg["aggregations"]["status"]["buckets"]}
    expected = {}
    for req in requests:
        expected[req["http.response.status_code"]] = expected.get(req["http.response.status_code"], 0) + 1
    assert by_status == expected

    # Following the same file again resumes at its checkpoint: nothing to send.
    r = subprocess.run([os.path.join(BIN, "shipper"), "follow", "--once", "--log-group", "/aws/lambda/vocab-api-local",
                        "--url", urls["es"], log],
                       env=dict(os.environ, SHIPPER_NAMESPACE=ns), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "done: 0 events" in r.stderr, r.stderr
    # Without the checkpoint the same lines get the same ids: 409s, no duplicates.
    r = subprocess.run([os.path.join(BIN, "shipper"), "follow", "--once", "--no-checkpoint", "--log-group",
                        "/aws/lambda/vocab-api-local", "--url", urls["es"], log],
                       env=dict(os.environ, SHIPPER_NAMESPACE=ns), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert f"{len(lines)} already present" in r.stderr, r.stderr
    es(urls["es"], f"/{target}/_refresh", {})
    assert es(urls["es"], f"/{target}/_count", {})["count"] == len(lines)
