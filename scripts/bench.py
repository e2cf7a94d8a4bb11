#!/usr/bin/env python3
"""Whole-process transform throughput for the README, on the Lambda artifact's build (run by
scripts/bench): `shipper transform` of 10 × 10,000 generated events on one core (events/s, MB/s
of decoded JSON). End to end (as a Lambda, beside the Node.js blueprint, into a server that
does a cluster's work) is `cargo bench -p shipper --bench lambda`.
"""
import base64
import gzip
import json
import os
import subprocess
import sys
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


if __name__ == "__main__":
    main()
