#!/usr/bin/env python3
"""Whole-process figures for the README, on the release binary (run by scripts/bench):

- transform throughput of `shipper transform` (events/s, MB/s of decoded JSON), one process;
- `shipper ship` of one 1,000- and one 10,000-event batch to a loopback `_bulk` stub:
  peak RSS, process start → first bulk request, and total time.

The stub answers every request `{"errors":false}` (all created) so the shipper is measured,
not an emulator. Numbers vary with the machine; the README says which machine.
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
SHARED = os.environ.get("SHARED_DIR", os.path.join(os.path.dirname(ROOT), "shared"))
BIN = os.path.join(ROOT, "target", "release", "shipper")
TMP = os.environ.get("TMPDIR", "/tmp")


def gen(events, batches, path):
    subprocess.run([sys.executable, os.path.join(SHARED, "gen_events.py"), "--events", str(events),
                    "--batches", str(batches), "--seed", "42", "--out", path], check=True)
    decoded = 0
    with open(path) as f:
        for line in f:
            decoded += len(gzip.decompress(base64.b64decode(json.loads(line)["awslogs"]["data"])))
    return decoded


class Stub(http.server.BaseHTTPRequestHandler):
    first = None
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        if Stub.first is None:
            Stub.first = time.monotonic()
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"errors":false}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

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
        sys.exit(f"{BIN} missing: cargo build --release -p shipper")
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
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{srv.server_address[1]}"
    env = dict(os.environ, SHIPPER_HEALTH_DOCS="false")
    for events in (1_000, 10_000):
        path = os.path.join(TMP, f"bench-{events}.jsonl")
        gen(events, 1, path)
        Stub.first = None
        t0, secs, rss, rc = run([BIN, "ship", "--url", url, path], env)
        assert rc == 0, f"ship exited {rc}"
        first = (Stub.first - t0) * 1000
        print(f"ship {events:>6,} events: peak RSS {rss:.1f} MB, start → first bulk request {first:.1f} ms, "
              f"total {secs * 1000:.1f} ms")
    srv.shutdown()


if __name__ == "__main__":
    main()
