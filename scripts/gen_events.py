#!/usr/bin/env python3
# Copied from the project's shared measurement harness (shared/gen_events.py) so that the tests,
# the benchmarks and GitHub Actions need nothing outside this repository. Test data, not product.
"""Deterministic generator of CloudWatch Logs -> Lambda subscription payloads.

Measurement harness only (not the product).

Each payload is what Lambda hands a subscription-filter function:

    {"awslogs": {"data": "<base64(gzip(inner JSON))>"}}

with inner JSON

    {"messageType": "DATA_MESSAGE", "owner": "123456789012",
     "logGroup": "/aws/lambda/vocab-api-words",
     "logStream": "2026/11/24/[$LATEST]<32 hex>",
     "subscriptionFilters": ["to-es"],
     "logEvents": [{"id": "<56 digits>", "timestamp": 1795510800000, "message": "..."}]}

The log group is modelled as a Rust HTTP API on Lambda: events come in
invocations (INIT_START on cold starts, START, a few application lines, END,
REPORT), in timestamp order, like CloudWatch delivers them. Application lines are
a mix of
  json       tracing-subscriber JSON formatter lines (fields: message, method, path,
             status, latency_ms, request_id, user_id; some with span/spans)
  text       plain text, Korean text, multi-line panics / stack traces
  malformed  JSON-looking lines that are not (truncated, single quotes, trailing
             commas, NaN, prefix + JSON, two objects on one line, ...)
  large      a few very large messages (up to --max-large-bytes, default 256 KB)
Lambda platform lines (START/END/REPORT/INIT_START, sometimes XRAY) are written
exactly as Lambda writes them, including the trailing "\\n".

Output: one payload per line (JSONL) on stdout or --out.

  --format lambda   the Lambda payload {"awslogs":{"data":...}}   (default)
  --format inner    the decoded inner JSON
  --control         a CONTROL_MESSAGE instead of data

Examples
  python3 gen_events.py --events 1000 --batches 20 --seed 1 --out /tmp/p1000.jsonl
  python3 gen_events.py --events 10000 --batches 5 --out /tmp/p10k.jsonl --stats
  python3 gen_events.py --events 50 --format inner | head -c 2000
  python3 gen_events.py --control
Same arguments + same seed => byte-identical output (gzip mtime is fixed to 0).
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import gzip
import json
import random
import string
import sys
import uuid

MAX_EVENTS = 10_000            # CloudWatch Logs: max events per batch
MAX_PAYLOAD_BYTES = 1_048_576  # Lambda async invocation payload limit (1 MB): caps the base64 payload
MAX_EVENT_BYTES = 262_144      # CloudWatch Logs: max event size incl. 26 bytes overhead (256 KB)
EVENT_OVERHEAD = 26

OWNER = "123456789012"
LOG_GROUP = "/aws/lambda/vocab-api-words"
FILTER = "to-es"
DEFAULT_START = "2026-11-24T09:00:00Z"

TARGETS = [
    "vocab_api::http", "vocab_api::handlers::words", "vocab_api::handlers::decks",
    "vocab_api::db", "vocab_api::auth", "tower_http::trace::on_response",
    "lambda_runtime", "aws_sdk_dynamodb::operation",
]
ROUTES = [
    ("GET", "/words/{id}"), ("GET", "/words"), ("POST", "/words"), ("PUT", "/words/{id}"),
    ("DELETE", "/words/{id}"), ("GET", "/decks/{id}/words"), ("POST", "/decks/{id}/review"),
    ("GET", "/health"), ("GET", "/search"),
]
MESSAGES = [
    "request completed", "finished processing request", "word fetched", "cache miss, loading from dynamodb",
    "deck review recorded", "validation failed", "user not authorised", "upstream timeout",
    "conditional check failed", "rate limited",
]
KOREAN = [
    "단어 '사과'를 찾을 수 없습니다",
    "사용자 인증에 실패했습니다: 토큰이 만료되었습니다",
    "복습 일정이 업데이트되었습니다 (다음 복습: 3일 후)",
    "데이터베이스 연결 시간 초과 — 재시도 중",
    "새 단어장 '토익 필수 어휘 800'이(가) 생성되었습니다",
    "요청 본문을 해석할 수 없습니다: 예상치 못한 문자 '}'",
    "캐시 적중률 92.4% — 정상",
    "경고: 응답 지연 1.2초 초과 (GET /words)",
]
WORDS = ["apple", "사과", "ephemeral", "ubiquitous", "gregarious", "학교", "serendipity", "laconic",
         "물", "obfuscate", "quintessential", "사랑", "pragmatic", "ameliorate", "바다", "zeitgeist"]
PLAIN = [
    "Starting vocab-api v1.14.2 (git 3f9c2ab) on provided.al2023",
    "loaded 12873 words into warm cache in 84 ms",
    "connection pool: 4 idle, 0 busy",
    "retrying DynamoDB GetItem after ProvisionedThroughputExceededException (attempt 2/5)",
    "config: table=vocab-words region=ap-northeast-2 cache_ttl=300s",
    "shutting down gracefully",
]


def rfc3339_us(ms: int, extra_us: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc) + dt.timedelta(microseconds=extra_us)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def iso_ms(ms: int) -> str:
    t = dt.datetime.fromtimestamp(ms / 1000, tz=dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class Gen:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.r = random.Random(args.seed)
        start = dt.datetime.strptime(args.start, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
        self.ts = int(start.timestamp() * 1000)
        self.id_seq = 0
        self.warm = False
        self.stream = self.new_stream()

    # ---- ids -------------------------------------------------------------
    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.r.getrandbits(128), version=4))

    def new_stream(self) -> str:
        day = dt.datetime.fromtimestamp(self.ts / 1000, tz=dt.timezone.utc).strftime("%Y/%m/%d")
        return f"{day}/[$LATEST]{self.r.getrandbits(128):032x}"

    def event_id(self, ts: int) -> str:
        # 56 decimal digits, increasing with time like real CloudWatch event ids
        self.id_seq += 1
        v = ts * 10**43 + (self.id_seq % 10**8) * 10**35 + self.r.getrandbits(120) % 10**35
        s = str(v)
        return s[:56].rjust(56, "0")

    # ---- message kinds ----------------------------------------------------
    def tracing_json(self, ts: int, req_id: str) -> str:
        r = self.r
        method, route = r.choice(ROUTES)
        path = route.replace("{id}", str(r.randint(1, 99999)))
        if route == "/search":
            path += "?q=" + r.choice(WORDS)
        status = r.choices([200, 201, 204, 304, 400, 401, 404, 409, 429, 500, 503],
                           [60, 8, 4, 3, 5, 3, 8, 2, 2, 3, 2])[0]
        level = "ERROR" if status >= 500 else "WARN" if status >= 400 else r.choices(["INFO", "DEBUG"], [9, 1])[0]
        fields = {
            "message": r.choice(MESSAGES),
            "method": method,
            "path": path,
            "status": status,
            "latency_ms": round(r.lognormvariate(2.3, 0.9), 3),
            "request_id": req_id,
            "user_id": f"u_{r.getrandbits(40):010x}" if r.random() < 0.8 else None,
        }
        if fields["user_id"] is None:
            del fields["user_id"]
        if r.random() < 0.15:
            fields["word"] = r.choice(WORDS)
        line = {"timestamp": rfc3339_us(ts, r.randint(0, 999)), "level": level, "fields": fields,
                "target": r.choice(TARGETS)}
        if r.random() < 0.4:
            span = {"method": method, "uri": path, "request_id": req_id, "name": "request"}
            line["span"] = span
            line["spans"] = [{"name": "lambda_invocation", "requestId": req_id}, span]
        # tracing-subscriber writes compact JSON, non-ASCII unescaped, one line + '\n'
        return json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n"

    def panic_trace(self) -> str:
        r = self.r
        file_ = r.choice(["src/handlers/words.rs", "src/db.rs", "src/auth.rs"])
        frames = [
            "rust_begin_unwind", "core::panicking::panic_fmt", "core::panicking::panic",
            "core::option::unwrap_failed", "vocab_api::handlers::words::get_word::{{closure}}",
            "vocab_api::router::dispatch::{{closure}}", "tokio::runtime::task::core::Core<T,S>::poll",
            "lambda_runtime::run::{{closure}}", "tokio::runtime::park::CachedParkThread::block_on",
            "vocab_api::main",
        ]
        out = [f"thread 'tokio-runtime-worker' panicked at {file_}:{r.randint(10, 400)}:{r.randint(5, 40)}:",
               r.choice(["called `Option::unwrap()` on a `None` value",
                         "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }",
                         "index out of bounds: the len is 0 but the index is 0",
                         "단어 ID가 유효하지 않습니다: \"abc\""]),
               "stack backtrace:"]
        for i, f in enumerate(frames[: r.randint(4, len(frames))]):
            out.append(f"  {i:2d}: {f}")
            if r.random() < 0.5:
                out.append(f"             at /rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/panicking.rs:{r.randint(50, 300)}:5")
        out.append("note: Some details are omitted, run with `RUST_BACKTRACE=full` for a verbose backtrace.")
        return "\n".join(out) + "\n"

    def text_line(self, ts: int, req_id: str) -> str:
        r = self.r
        k = r.random()
        if k < 0.30:
            return r.choice(KOREAN) + "\n"
        if k < 0.45:
            return self.panic_trace()
        if k < 0.55:
            # Node-style console line with tab-separated prefix (a sibling function's format)
            return f"{iso_ms(ts)}\t{req_id}\tINFO\t{r.choice(KOREAN + PLAIN)}\n"
        if k < 0.65:
            # tracing-subscriber default (non-JSON) "full" formatter line
            return (f"{rfc3339_us(ts, r.randint(0, 999))}  {r.choice(['INFO', 'WARN', 'DEBUG'])} "
                    f"{r.choice(TARGETS)}: {r.choice(MESSAGES)} request_id={req_id}\n")
        return r.choice(PLAIN) + "\n"

    def malformed(self, ts: int, req_id: str) -> str:
        r = self.r
        good = json.dumps({"level": "INFO", "msg": r.choice(MESSAGES), "request_id": req_id, "word": r.choice(WORDS)},
                          ensure_ascii=False, separators=(",", ":"))
        k = r.randrange(10)
        if k == 0:
            return good[: r.randint(5, len(good) - 2)] + "\n"                     # truncated
        if k == 1:
            return good.replace('"', "'") + "\n"                                   # single quotes
        if k == 2:
            return good[:-1] + ",}\n"                                              # trailing comma
        if k == 3:
            return '{"latency_ms":NaN,"status":200,"path":"/words"}\n'            # NaN
        if k == 4:
            return f"{iso_ms(ts)}\t{req_id}\tERROR\t" + good + "\n"                # prefix + valid JSON
        if k == 5:
            return good + good + "\n"                                              # two objects
        if k == 6:
            return '{"level":"INFO","fields":{"message":"unterminated string}}\n'  # unterminated
        if k == 7:
            return "[1,2,3]\n" if r.random() < 0.5 else '"just a json string"\n'  # valid JSON, not an object
        if k == 8:
            return '{"status":200,"status":500,"dup":"duplicate keys"}\n'         # valid but duplicate keys
        return "{ this is not json at all: " + r.choice(KOREAN) + " }\n"

    def large(self, ts: int, req_id: str) -> str:
        r = self.r
        size = min(self.a.max_large_bytes, MAX_EVENT_BYTES - EVENT_OVERHEAD)
        size = max(1024, r.randint(size // 2, size))
        k = r.randrange(3)
        if k == 0:
            # huge JSON debug dump of a deck (compresses well), then cut to size
            items = []
            n = 0
            while n < size:
                w = {"id": r.randint(1, 10**6), "word": r.choice(WORDS), "meaning": r.choice(KOREAN),
                     "ease": round(r.uniform(1.3, 2.8), 2), "due": iso_ms(ts + r.randint(0, 10**9))}
                s = json.dumps(w, ensure_ascii=False, separators=(",", ":"))
                items.append(s)
                n += len(s.encode()) + 1
            body = '{"timestamp":"%s","level":"DEBUG","fields":{"message":"deck dump","request_id":"%s","deck":[%s]},"target":"vocab_api::debug"}' % (
                rfc3339_us(ts, 0), req_id, ",".join(items))
            enc = body.encode()[: size - 1]
            return enc.decode("utf-8", "ignore") + "\n"
        if k == 1:
            # response body logged as base64 (compresses poorly, so kept <= 64 KB)
            size = min(size, 65_536)
            raw = r.getrandbits(8 * (size * 3 // 4)).to_bytes(size * 3 // 4, "little")
            return f"response body (base64): {base64.b64encode(raw).decode()[: size - 30]}\n"
        # very long single-line text with mixed scripts
        parts = []
        n = 0
        while n < size:
            s = r.choice(KOREAN + PLAIN + MESSAGES)
            parts.append(s)
            n += len(s.encode()) + 3
        return (" | ".join(parts).encode()[: size - 1]).decode("utf-8", "ignore") + "\n"

    # ---- platform lines ---------------------------------------------------
    def platform_start(self, req_id: str) -> str:
        return f"START RequestId: {req_id} Version: $LATEST\n"

    def platform_end(self, req_id: str) -> str:
        return f"END RequestId: {req_id}\n"

    def platform_report(self, req_id: str, cold: bool) -> str:
        r = self.r
        dur = round(r.lognormvariate(2.4, 0.8), 2)
        init = round(r.uniform(20, 160), 2) if cold else 0.0
        billed = int(dur + init) + 1
        s = (f"REPORT RequestId: {req_id}\tDuration: {dur:.2f} ms\tBilled Duration: {billed} ms\t"
             f"Memory Size: 128 MB\tMax Memory Used: {r.randint(18, 48)} MB\t")
        if cold:
            s += f"Init Duration: {init:.2f} ms\t"
        if r.random() < 0.1:
            s += (f"\nXRAY TraceId: 1-{(self.ts // 1000):08x}-{r.getrandbits(96):024x}\t"
                  f"SegmentId: {r.getrandbits(64):016x}\tSampled: true\t")
        return s + "\n"

    def platform_init(self) -> str:
        return ("INIT_START Runtime Version: provided:al2023.v94\tRuntime Version ARN: "
                "arn:aws:lambda:ap-northeast-2::runtime:0e5e2d6c1f7b8a1d0c4e9f3b2a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c\n")

    # ---- batches ------------------------------------------------------------
    def batch_messages(self, n: int) -> list[tuple[int, str]]:
        a, r = self.a, self.r
        w = a.mix
        kinds = list(w.keys())
        weights = [w[k] for k in kinds]
        n_large = a.large if a.large is not None else (min(3, n // 1000) if n >= 1000 else 0)
        large_at = set(r.sample(range(n), min(n_large, n))) if n_large else set()
        out: list[tuple[int, str]] = []
        while len(out) < n:
            req_id = self.uuid4()
            cold = not self.warm or r.random() < a.cold_rate
            if cold and self.warm:
                self.stream = self.new_stream()  # a new execution environment => new log stream
            inv: list[str] = []
            if cold:
                inv.append(self.platform_init())
            inv.append(self.platform_start(req_id))
            for _ in range(max(0, int(r.expovariate(1 / a.lines_per_invocation)))):
                idx = len(out) + len(inv)
                if idx in large_at:
                    inv.append(("large", None))
                    continue
                inv.append((r.choices(kinds, weights)[0], None))
            inv.append(self.platform_end(req_id))
            inv.append(self.platform_report(req_id, cold))
            self.warm = True
            for item in inv:
                if len(out) >= n:
                    break
                self.ts += r.choice([0, 0, 1, 1, 2, 3, 5, 8, 13])
                if isinstance(item, tuple):
                    kind, b = item
                    if kind == "json":
                        msg = self.tracing_json(self.ts, req_id)
                    elif kind == "text":
                        msg = self.text_line(self.ts, req_id)
                    elif kind == "malformed":
                        msg = self.malformed(self.ts, req_id)
                    else:
                        msg = self.large(self.ts, req_id)
                else:
                    msg = item
                out.append((self.ts, msg))
            self.ts += r.randint(5, 400)  # idle gap between invocations
        return out

    def data_payload(self, n: int) -> dict:
        msgs = self.batch_messages(n)
        events = [{"id": self.event_id(ts), "timestamp": ts, "message": m} for ts, m in msgs]
        return {"messageType": "DATA_MESSAGE", "owner": OWNER, "logGroup": self.a.log_group,
                "logStream": self.stream, "subscriptionFilters": [FILTER], "logEvents": events}

    def control_payload(self) -> dict:
        return {"messageType": "CONTROL_MESSAGE", "owner": "CloudwatchLogs", "logGroup": "", "logStream": "",
                "subscriptionFilters": [],
                "logEvents": [{"id": "", "timestamp": self.ts,
                               "message": "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}


def encode(inner: dict, level: int) -> tuple[bytes, bytes, str]:
    raw = json.dumps(inner, ensure_ascii=False, separators=(",", ":")).encode()
    gz = gzip.compress(raw, compresslevel=level, mtime=0)
    return raw, gz, base64.b64encode(gz).decode()


def parse_mix(s: str) -> dict[str, float]:
    out = {}
    for part in s.split(","):
        k, v = part.split("=")
        k = k.strip()
        if k not in ("json", "text", "malformed"):
            raise SystemExit(f"--mix: unknown kind {k!r} (json,text,malformed; large is --large)")
        out[k] = float(v)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=1000, help=f"events per batch (max {MAX_EVENTS})")
    p.add_argument("--batches", type=int, default=1, help="number of payloads to write")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--format", choices=["lambda", "inner"], default="lambda")
    p.add_argument("--control", action="store_true", help="write CONTROL_MESSAGE payload(s) instead")
    p.add_argument("--mix", type=parse_mix, default=parse_mix("json=80,text=14,malformed=6"),
                   help="weights of application-line kinds (default json=80,text=14,malformed=6)")
    p.add_argument("--large", type=int, default=None,
                   help="very large messages per batch (default: min(3, events//1000))")
    p.add_argument("--max-large-bytes", type=int, default=MAX_EVENT_BYTES - EVENT_OVERHEAD)
    p.add_argument("--lines-per-invocation", type=float, default=4.0,
                   help="mean application lines per Lambda invocation (default 4)")
    p.add_argument("--cold-rate", type=float, default=0.01, help="fraction of invocations that are cold starts")
    p.add_argument("--log-group", default=LOG_GROUP)
    p.add_argument("--start", default=DEFAULT_START, help="first timestamp, e.g. 2026-11-24T09:00:00Z")
    p.add_argument("--gzip-level", type=int, default=6)
    p.add_argument("--max-payload-bytes", type=int, default=MAX_PAYLOAD_BYTES,
                   help="cap on the Lambda payload size (base64 JSON); events are dropped from the end "
                        "of a batch to fit (default 1048576 = Lambda's 1 MB async payload limit)")
    p.add_argument("--no-limits", dest="enforce_limits", action="store_false",
                   help="allow > 10,000 events and payloads over --max-payload-bytes")
    p.add_argument("--out", help="write JSONL here instead of stdout")
    p.add_argument("--stats", action="store_true", help="print per-batch sizes to stderr")
    a = p.parse_args()
    if a.events < 1 or (a.events > MAX_EVENTS and a.enforce_limits):
        raise SystemExit(f"--events must be 1..{MAX_EVENTS} (or pass --no-limits)")

    g = Gen(a)
    out = open(a.out, "w", encoding="utf-8") if a.out else sys.stdout
    tot_ev = tot_raw = tot_gz = 0
    truncated = 0
    for b in range(a.batches):
        inner = g.control_payload() if a.control else g.data_payload(a.events)
        raw, gz, b64 = encode(inner, a.gzip_level)
        # keep the Lambda payload under the cap by dropping events from the end of the batch
        while a.enforce_limits and len(b64) + 24 > a.max_payload_bytes and len(inner["logEvents"]) > 1:
            evs = inner["logEvents"]
            keep = max(1, min(len(evs) - 1, int(len(evs) * a.max_payload_bytes / (len(b64) + 24) * 0.98)))
            truncated += len(evs) - keep
            inner["logEvents"] = evs[:keep]
            raw, gz, b64 = encode(inner, a.gzip_level)
        if a.format == "inner":
            out.write(raw.decode() + "\n")
        else:
            out.write(json.dumps({"awslogs": {"data": b64}}, separators=(",", ":")) + "\n")
        n = len(inner["logEvents"])
        tot_ev += n
        tot_raw += len(raw)
        tot_gz += len(gz)
        if a.stats:
            msg_bytes = sum(len(e["message"].encode()) + EVENT_OVERHEAD for e in inner["logEvents"])
            print(f"batch {b}: events={n} inner_json={len(raw)} B gzip={len(gz)} B base64={len(b64)} B "
                  f"cw_batch_bytes={msg_bytes}", file=sys.stderr)
    if a.stats or truncated:
        print(f"total: batches={a.batches} events={tot_ev} inner_json={tot_raw} B gzip={tot_gz} B"
              + (f" (dropped {truncated} events to stay under {a.max_payload_bytes} B payload)" if truncated else ""),
              file=sys.stderr)
    if a.out:
        out.close()


if __name__ == "__main__":
    main()
