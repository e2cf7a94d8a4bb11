#!/usr/bin/env python3
"""Whole-process figures for the README, on the release binary (run by scripts/bench):

- transform throughput of `shipper transform` (events/s, MB/s of decoded JSON), one process;
- the binary **as a Lambda**, against a loopback stand-in for the Lambda Runtime API that hands
  it one 1,000- or 10,000-event subscription payload: peak RSS, process start → first bulk
  request, and start → invocation answered;
- `shipper ship` (the CLI replay) of the same batches: peak RSS and total time.

The stub reads every `_bulk` body and answers each action created (one item per action, as
Elasticsearch does: a bare `{"errors":false}` is not an answer the shipper may count as
indexed, issue 10), so the shipper is measured, not an emulator. Numbers vary with the machine;
the README says which machine.
"""
import base64
import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "dist", "shipper")
TMP = os.environ.get("TMPDIR", "/tmp")


def gen(events, batches, path):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_events.py"), "--events", str(events),
                    "--batches", str(batches), "--seed", "42", "--out", path], check=True)
    decoded = 0
    with open(path) as f:
        for line in f:
            decoded += len(gzip.decompress(base64.b64decode(json.loads(line)["awslogs"]["data"])))
    return decoded


class Stub(http.server.BaseHTTPRequestHandler):
    """`_bulk` (every item created) and the two Lambda Runtime API calls the runtime makes
    (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html)."""
    first = None
    answered = None
    event = None
    served = False
    protocol_version = "HTTP/1.1"

    def reply(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            if Stub.served:
                time.sleep(3600)  # no second event: the process is killed while it waits
            Stub.served = True
            deadline = int(time.time() * 1000) + 60_000
            self.reply(200, Stub.event, [("Lambda-Runtime-Aws-Request-Id", "bench-1"),
                                         ("Lambda-Runtime-Deadline-Ms", str(deadline)),
                                         ("Lambda-Runtime-Invoked-Function-Arn",
                                          "arn:aws:lambda:ap-northeast-2:123456789012:function:shipper"),
                                         ("Lambda-Runtime-Trace-Id", "Root=1-0-0")])
        elif "/_settings/" in self.path:
            # The write-index check a cold start makes (GET <ds>/_settings/index.creation_date):
            # one backing index, created before the generated events, so nothing is looked up.
            ds = self.path.lstrip("/").split("/")[0]
            self.reply(200, json.dumps({f".ds-{ds}-2026.11.24-000001": {
                "settings": {"index.creation_date": "1795478400000"}}}).encode())
        else:
            self.reply(200, b'{"version":{"number":"9.5.0"}}')

    @staticmethod
    def all_created(body):
        """One `create` item per action line (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk)."""
        lines = [l for l in body.split(b"\n") if l]
        items = []
        for action in lines[0::2]:
            (op, meta), = json.loads(action).items()
            items.append({op: {"_index": f".ds-{meta['_index']}-2026.11.24-000001", "status": 201}})
        return json.dumps({"errors": False, "items": items}).encode()

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        if "/runtime/" in self.path:
            Stub.answered = time.monotonic()
            self.reply(202, b"{}")
            return
        if Stub.first is None:
            Stub.first = time.monotonic()
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.reply(200, Stub.all_created(body))

    def log_message(self, *a):
        pass


def run(cmd, env=None):
    """Runs cmd; returns (wall seconds, peak RSS in MB, exit code)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    return t0, time.monotonic() - t0, ru.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main():
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} missing: cargo build --profile dist -p shipper")
    f10k = os.path.join(TMP, "bench-10k-x10.jsonl")
    dec = gen(10_000, 10, f10k)
    best = None
    for _ in range(3):
        _, secs, rss, rc = run(["taskset", "-c", "0", BIN, "transform", f10k])
        assert rc == 0
        best = secs if best is None else min(best, secs)
    print(f"transform (one core, whole process): {100_000 / best:,.0f} events/s, "
          f"{dec / best / 1e6:,.1f} MB/s of decoded JSON (100,000 events in {best:.3f} s)")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    srv.daemon_threads = True
    srv.handle_error = lambda *a: None  # the killed Lambda's pending /next call: not an error
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    port = srv.server_address[1]
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, SHIPPER_HEALTH_DOCS="false")
    lambda_env = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", ELASTICSEARCH_URL=url,
                      AWS_LAMBDA_FUNCTION_NAME="shipper", AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128",
                      AWS_LAMBDA_FUNCTION_VERSION="$LATEST", AWS_REGION="ap-northeast-2", RUST_LOG="warn")
    for events in (1_000, 10_000):
        path = os.path.join(TMP, f"bench-{events}.jsonl")
        gen(events, 1, path)
        with open(path, "rb") as f:
            Stub.event = f.readline().strip()
        # As a Lambda: one invocation, then killed while it waits for the next.
        Stub.first = Stub.answered = None
        Stub.served = False
        t0 = time.monotonic()
        p = subprocess.Popen([BIN], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=lambda_env)
        while Stub.answered is None and time.monotonic() - t0 < 30:
            time.sleep(0.001)
        p.kill()
        _, _, ru = os.wait4(p.pid, 0)
        assert Stub.answered is not None, "the Lambda never answered"
        print(f"lambda {events:>6,} events: peak RSS {ru.ru_maxrss / 1024:.1f} MB, "
              f"start → first bulk request {(Stub.first - t0) * 1000:.1f} ms, "
              f"start → invocation answered {(Stub.answered - t0) * 1000:.1f} ms")
        Stub.first = None
        t0, secs, rss, rc = run([BIN, "ship", "--url", url, path], env)
        assert rc == 0, f"ship exited {rc}"
        print(f"ship   {events:>6,} events: peak RSS {rss:.1f} MB, total {secs * 1000:.1f} ms")
    srv.shutdown()


if __name__ == "__main__":
    main()
