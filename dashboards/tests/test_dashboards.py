"""Checks of the Kibana saved objects in dashboards/kibana/, without Kibana.

Static: every NDJSON line is JSON, the embedded JSON strings parse, every panelRefName has its
reference, every referenced id exists, ids are stable and readable, migration versions are no
newer than Kibana 8.19, and every field a visualization or saved search uses is mapped by OUR
component templates (shipper/resources/elasticsearch; fields that only logs@mappings or
ecs@mappings would map do not count) with a type its operation can aggregate.

Against the shipper and the noida-db emulator (an Elasticsearch 8.15 API emulator, not
Elasticsearch): generated CloudWatch batches (gen_events.py + vocab-API-style ECS request lines)
go through `shipper transform`, every field the log dashboards use must appear in its output,
and each Lens layer's aggregations (date_histogram, terms, filters, percentiles, avg, sum, max)
run on noida-db filled with that output must return buckets with values. Shipper-health and
dead-letter fields come from `shipper ship` to noida-db with one data stream made to refuse every
document (its health and dead-letter documents), and must also be in the dead-letter document of
docs/CONTRACTS.md. While `transform`/`ship` are missing these tests fail (they never skip).
"""

from __future__ import annotations

import base64
import fnmatch
import gzip
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KIBANA_DIR = ROOT / "dashboards" / "kibana"
RESOURCES = ROOT / "shipper" / "resources" / "elasticsearch"
GEN_EVENTS = ROOT / "scripts" / "gen_events.py"
NDJSON_FILES = sorted(KIBANA_DIR.glob("*.ndjson"))

# Data view id -> the component templates (ours) of the index templates behind it.
DATA_VIEW_COMPONENTS = {
    "cloudwatch-logs": ["component-ecs-mappings.json", "component-data-stream.json"],
    "shipper-health": ["component-ecs-mappings.json", "component-data-stream.json", "component-health-mappings.json"],
    "shipper-deadletter": ["component-ecs-mappings.json", "component-data-stream.json", "component-deadletter-mappings.json"],
}
NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
NOT_AGGREGATABLE = {"text", "match_only_text"}
METRIC_OPS = {"percentile": "percentiles", "average": "avg", "sum": "sum", "max": "max", "min": "min", "median": "percentiles"}
MAX_MIGRATION_VERSION = (8, 19, 0)


# ---- loading -----------------------------------------------------------------------------------

def load_objects() -> list[dict]:
    objs = []
    for path in NDJSON_FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                obj = json.loads(line)
                obj["_file"] = f"{path.name}:{n}"
                objs.append(obj)
    return objs


def by_key(objs):
    return {(o["type"], o["id"]): o for o in objs}


def lens_layers(obj: dict):
    """(layer id, layer, data view id) of a Lens object."""
    state = obj["attributes"]["state"]
    refs = {r["name"]: r["id"] for r in obj.get("references", [])}
    for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
        yield layer_id, layer, refs.get(f"indexpattern-datasource-layer-{layer_id}")


def search_data_view(obj: dict) -> str | None:
    ssj = json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    refs = {r["name"]: r["id"] for r in obj.get("references", [])}
    return refs.get(ssj.get("indexRefName"))


def used_fields(objs) -> list[tuple[str, str, str, str]]:
    """(object, data view id, field, operation) for every field a Lens column or saved search uses."""
    out = []
    for o in objs:
        if o["type"] == "lens":
            for _, layer, dv in lens_layers(o):
                for col in layer["columns"].values():
                    f = col.get("sourceField")
                    if f and f != "___records___":
                        out.append((o["id"], dv, f, col["operationType"]))
                for kql in lens_queries(o, layer):
                    for f in kql_fields(kql):
                        out.append((o["id"], dv, f, "filter"))
        elif o["type"] == "search":
            dv = search_data_view(o)
            for f in o["attributes"].get("columns", []):
                out.append((o["id"], dv, f, "column"))
            ssj = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            for f in kql_fields(ssj["query"]["query"]):
                out.append((o["id"], dv, f, "filter"))
    return out


def lens_queries(obj, layer) -> list[str]:
    qs = [obj["attributes"]["state"]["query"]["query"]]
    for col in layer["columns"].values():
        if col.get("filter"):
            qs.append(col["filter"]["query"])
        for f in col.get("params", {}).get("filters", []):
            qs.append(f["input"]["query"])
    return [q for q in qs if q]


# ---- mappings of our component templates -------------------------------------------------------

def mapping_fields(components: list[str]) -> dict[str, str]:
    """Dotted path -> type, including multi-fields (error.message.keyword)."""
    out: dict[str, str] = {}

    def walk(props: dict, prefix: str):
        for name, spec in props.items():
            path = f"{prefix}{name}"
            if "properties" in spec:
                walk(spec["properties"], path + ".")
                continue
            out[path] = spec.get("type", "object")
            for sub, subspec in spec.get("fields", {}).items():
                out[f"{path}.{sub}"] = subspec["type"]

    for c in components:
        body = json.loads(
            (RESOURCES / c).read_text().replace("__ILM_POLICY__", "p").replace("__PREFIX__", "cloudwatch")
        )
        walk(body["template"]["mappings"].get("properties", {}), "")
    return out


def field_type(fields: dict[str, str], path: str) -> str | None:
    if path in fields:
        return fields[path]
    # app.<key> lives inside the one flattened field.
    head = path.split(".", 1)[0]
    if fields.get(head) == "flattened":
        return "flattened"
    return None


# ---- a small KQL subset: what the saved objects use --------------------------------------------
# field : *   field : "v"   field : v   field >= n (<, <=, >, >=)   and / or / not   ( … )

TOKEN = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|>=|<=|>|<|:|[^\s()":<>=]+)')


def kql_tokens(q: str) -> list[str]:
    pos, toks = 0, []
    q = q.strip()
    while pos < len(q):
        m = TOKEN.match(q, pos)
        if not m:
            raise ValueError(f"cannot tokenize KQL {q!r} at {pos}")
        toks.append(m.group(1))
        pos = m.end()
    return toks


def kql_to_es(q: str) -> dict:
    toks = kql_tokens(q)
    if not toks:
        return {"match_all": {}}
    pos = 0

    def peek():
        return toks[pos].lower() if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def or_expr():
        parts = [and_expr()]
        while peek() == "or":
            take()
            parts.append(and_expr())
        return parts[0] if len(parts) == 1 else {"bool": {"should": parts, "minimum_should_match": 1}}

    def and_expr():
        parts = [not_expr()]
        while peek() == "and":
            take()
            parts.append(not_expr())
        return parts[0] if len(parts) == 1 else {"bool": {"filter": parts}}

    def not_expr():
        if peek() == "not":
            take()
            return {"bool": {"must_not": [not_expr()]}}
        if peek() == "(":
            take()
            e = or_expr()
            assert take() == ")", q
            return e
        field = take()
        op = take()
        value = take()
        if op == ":":
            if value == "*":
                return {"exists": {"field": field}}
            return {"term": {field: json.loads(value) if value.startswith('"') else value}}
        rng = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}[op]
        return {"range": {field: {rng: float(value) if "." in value else int(value)}}}

    e = or_expr()
    assert pos == len(toks), f"trailing tokens in KQL {q!r}"
    return e


def kql_fields(q: str) -> set[str]:
    out = set()

    def walk(e):
        if isinstance(e, dict):
            for k, v in e.items():
                if k == "exists":
                    out.add(v["field"])
                elif k in ("term", "range"):
                    out.update(v.keys())
                else:
                    walk(v)
        elif isinstance(e, list):
            for x in e:
                walk(x)

    walk(kql_to_es(q))
    return out


def test_kql_subset_translates():
    assert kql_to_es("a : *") == {"exists": {"field": "a"}}
    assert kql_to_es('a : "x" or b >= 5') == {
        "bool": {"should": [{"term": {"a": "x"}}, {"range": {"b": {"gte": 5}}}], "minimum_should_match": 1}
    }
    assert kql_fields("x >= 400 and x < 500") == {"x"}


# ---- static checks -----------------------------------------------------------------------------

def test_there_are_saved_objects():
    assert NDJSON_FILES, "no dashboards/kibana/*.ndjson"
    types = {o["type"] for o in load_objects()}
    assert {"index-pattern", "search", "lens", "dashboard"} <= types


@pytest.mark.parametrize("path", NDJSON_FILES, ids=lambda p: p.name)
def test_every_line_is_json_with_type_id_attributes(path):
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, f"{path.name} is empty"
    for n, line in enumerate(lines, 1):
        obj = json.loads(line)
        for key in ("type", "id", "attributes", "references"):
            assert key in obj, f"{path.name}:{n} has no {key}"


def test_embedded_json_strings_parse():
    checked = 0
    for o in load_objects():
        a = o["attributes"]
        for key in ("panelsJSON", "optionsJSON", "fieldFormatMap", "fields", "visState", "uiStateJSON"):
            if key in a:
                json.loads(a[key])
                checked += 1
        if "kibanaSavedObjectMeta" in a:
            json.loads(a["kibanaSavedObjectMeta"]["searchSourceJSON"])
            checked += 1
    assert checked >= 10


def test_ids_are_unique_stable_and_readable():
    seen = set()
    for o in load_objects():
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", o["id"]), f"{o['_file']}: id {o['id']!r}"
        assert (o["type"], o["id"]) not in seen, f"duplicate {o['type']} {o['id']}"
        seen.add((o["type"], o["id"]))


def version_tuple(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_migration_versions_are_no_newer_than_kibana_8_19():
    for o in load_objects():
        for key in ("typeMigrationVersion", "coreMigrationVersion"):
            assert key in o, f"{o['_file']} has no {key}"
            assert version_tuple(o[key]) <= MAX_MIGRATION_VERSION, f"{o['_file']}: {key} {o[key]}"
        assert "migrationVersion" not in o, "old-style migrationVersion: use typeMigrationVersion"
        if o["type"] == "dashboard":
            for p in json.loads(o["attributes"]["panelsJSON"]):
                if "version" in p:
                    assert version_tuple(p["version"]) <= MAX_MIGRATION_VERSION, f"{o['id']}: panel version {p['version']}"


def test_every_panel_ref_name_has_its_reference():
    for o in load_objects():
        if o["type"] != "dashboard":
            continue
        refs = {r["name"]: r for r in o["references"]}
        panels = json.loads(o["attributes"]["panelsJSON"])
        assert panels
        for p in panels:
            assert "panelRefName" in p, f"{o['id']}: panel {p.get('panelIndex')} is not by reference"
            ref = refs.get(p["panelRefName"])
            assert ref, f"{o['id']}: no reference named {p['panelRefName']}"
            assert ref["type"] == p["type"], f"{o['id']}: {p['panelRefName']} type"
        # and no dangling reference
        assert {p["panelRefName"] for p in panels} == set(refs)


def test_every_referenced_id_exists():
    objs = load_objects()
    known = by_key(objs)
    for o in objs:
        for r in o["references"]:
            assert (r["type"], r["id"]) in known, f"{o['_file']}: {r['name']} -> {r['type']}/{r['id']} missing"
        if o["type"] == "search":
            ssj = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            assert ssj["indexRefName"] in {r["name"] for r in o["references"]}
        if o["type"] == "lens":
            for layer_id, layer, dv in lens_layers(o):
                assert dv, f"{o['id']}: layer {layer_id} has no data view reference"
                assert set(layer["columnOrder"]) == set(layer["columns"]), o["id"]


def test_lens_visualizations_name_existing_columns():
    for o in load_objects():
        if o["type"] != "lens":
            continue
        (_, layer, _), = list(lens_layers(o))
        vis = o["attributes"]["state"]["visualization"]
        if "layers" in vis:  # XY
            for lyr in vis["layers"]:
                ids = [lyr["xAccessor"], *lyr["accessors"], *([lyr["splitAccessor"]] if "splitAccessor" in lyr else [])]
        else:  # datatable
            ids = [c["columnId"] for c in vis["columns"]]
        assert set(ids) == set(layer["columns"]), o["id"]
        for col in layer["columns"].values():
            order = col.get("params", {}).get("orderBy", {})
            if order.get("type") == "column":
                assert order["columnId"] in layer["columns"], o["id"]


def test_every_used_field_is_mapped_by_our_templates_with_a_usable_type():
    objs = load_objects()
    dvs = {o["id"]: o for o in objs if o["type"] == "index-pattern"}
    assert set(dvs) == set(DATA_VIEW_COMPONENTS)
    problems = []
    for obj_id, dv, field, op in used_fields(objs):
        fields = mapping_fields(DATA_VIEW_COMPONENTS[dv])
        t = field_type(fields, field)
        if t is None:
            problems.append(f"{obj_id}: {field} is not mapped by our templates for {dv}")
        elif op == "terms" and t in NOT_AGGREGATABLE | {"flattened"}:
            problems.append(f"{obj_id}: terms on {field} ({t})")
        elif op in METRIC_OPS and t not in NUMERIC and not (op == "max" and t == "date"):
            problems.append(f"{obj_id}: {op} on {field} ({t})")
        elif op == "date_histogram" and t != "date":
            problems.append(f"{obj_id}: date_histogram on {field} ({t})")
    assert not problems, "\n".join(problems)


def test_data_views_match_the_contract_names():
    dvs = {o["id"]: o["attributes"]["title"].split(",") for o in load_objects() if o["type"] == "index-pattern"}
    match = lambda dv, name: any(fnmatch.fnmatchcase(name, p) for p in dvs[dv])  # noqa: E731
    assert match("cloudwatch-logs", "logs-cloudwatch.vocab_api_words-default")
    assert match("cloudwatch-logs", "cloudwatch-2026.11.24")
    assert not match("cloudwatch-logs", "cloudwatch-deadletter-2026.11.24")
    assert not match("cloudwatch-logs", "logs-shipper.health-default")
    assert match("shipper-health", "logs-shipper.health-default") and match("shipper-health", "cloudwatch-health-2026.11.24")
    assert match("shipper-deadletter", "logs-shipper.deadletter-default")
    assert match("shipper-deadletter", "cloudwatch-deadletter-2026.11.24")


# ---- the shipper and noida-db ------------------------------------------------------------------

ROUTES = [
    ("GET", "/lists", "/lists", "lists"),
    ("POST", "/lists", "/lists", "lists"),
    ("GET", "/lists/{list_id}", "/lists/{id}", "lists"),
    ("GET", "/lists/{list_id}/words", "/lists/{id}/words", "words"),
    ("POST", "/lists/{list_id}/words", "/lists/{id}/words", "words"),
    ("DELETE", "/words/{word_id}", "/words/{id}", "words"),
    ("POST", "/quiz", "/quiz", "quiz"),
    ("POST", "/quiz/{quiz_id}/answers", "/quiz/{id}/answers", "quiz"),
    ("GET", "/me", "/me", "me"),
]
FAILURES = [
    (400, "warn", "validation", "word: must not be empty"),
    (401, "warn", "unauthorized", "missing or invalid bearer token"),
    (404, "warn", "not_found", "list not found"),
    (409, "warn", "conflict", "word already in list"),
    (500, "error", "store", "DynamoDB: ProvisionedThroughputExceededException"),
    (504, "error", "timeout", "deadline exceeded"),
]


def vocab_payloads(seed: int = 1, invocations: int = 240) -> list[str]:
    """CloudWatch subscription payloads of the vocab API's four Lambdas: platform lines exactly as
    Lambda writes them around one ECS request line per invocation, shaped like
    log_schema::EcsLayer + vocab-api request_log (dotted ECS keys, `app` as a JSON string)."""
    rng = random.Random(seed)
    t0 = 1795510800000  # 2026-11-24T09:00:00Z
    per_group: dict[str, list[dict]] = {}
    n_id = 0
    for i in range(invocations):
        method, route, path_tpl, area = rng.choice(ROUTES)
        group = f"/aws/lambda/vocab-api-{area}"
        events = per_group.setdefault(group, [])
        ts = t0 + i * 1500 + rng.randrange(1000)
        req = f"{rng.getrandbits(128):032x}"
        req = f"{req[:8]}-{req[8:12]}-{req[12:16]}-{req[16:20]}-{req[20:]}"
        cold = not events or rng.random() < 0.05
        path = path_tpl.replace("{id}", f"l{rng.randrange(1000)}")
        line = {
            "@timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1000)) + f".{ts % 1000:03d}Z",
            "log.level": "info",
            "service.name": "vocab-api",
            "faas.name": f"vocab-api-{area}",
            "faas.version": "$LATEST",
            "cloud.region": "ap-northeast-2",
            "http.request.method": method,
            "url.path": path,
            "http.route": route,
            "http.response.status_code": 200 if method != "POST" else 201,
            "event.duration": int(rng.lognormvariate(16, 0.8)),
            "faas.execution": req,
            "faas.coldstart": cold,
            "user.id": f"u-{rng.randrange(50)}",
            "app": json.dumps({"list_id": f"l{rng.randrange(1000)}", "word_count": rng.randrange(200)}),
            "log.logger": "vocab_api::request",
        }
        if rng.random() < 0.2:
            status, level, etype, emsg = rng.choice(FAILURES)
            line.update({"http.response.status_code": status, "log.level": level, "error.type": etype, "error.message": emsg})
        line["message"] = f"{method} {route} {line['http.response.status_code']}"
        msgs = []
        if cold:
            msgs.append("INIT_START Runtime Version: provided:al2023.v94\tRuntime Version ARN: "
                        "arn:aws:lambda:ap-northeast-2::runtime:0e5e2d6c1f7b8a1d0c4e9f3b2a7d6c5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c\n")
        msgs.append(f"START RequestId: {req} Version: $LATEST\n")
        msgs.append(json.dumps(line, ensure_ascii=False) + "\n")
        msgs.append(f"END RequestId: {req}\n")
        dur = line["event.duration"] / 1e6 + rng.random()
        report = (f"REPORT RequestId: {req}\tDuration: {dur:.2f} ms\tBilled Duration: {int(dur) + 1} ms\t"
                  f"Memory Size: 256 MB\tMax Memory Used: {rng.randrange(30, 90)} MB\t")
        if cold:
            report += f"Init Duration: {rng.uniform(20, 120):.2f} ms\t"
        msgs.append(report + "\n")
        for k, m in enumerate(msgs):
            n_id += 1
            events.append({"id": f"{n_id:056d}", "timestamp": ts + k, "message": m})
    payloads = []
    for group, events in sorted(per_group.items()):
        inner = {"messageType": "DATA_MESSAGE", "owner": "123456789012", "logGroup": group,
                 "logStream": "2026/11/24/[$LATEST]" + f"{abs(hash(group)) % 16**32:032x}",
                 "subscriptionFilters": ["to-es"], "logEvents": events}
        data = base64.b64encode(gzip.compress(json.dumps(inner).encode(), mtime=0)).decode()
        payloads.append(json.dumps({"awslogs": {"data": data}}))
    return payloads


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method: str, url: str, body: bytes | None = None, ctype: str = "application/json"):
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


@pytest.fixture(scope="module")
def noida():
    """NOIDA_URL (scripts/test starts it), or a noida-db started here and stopped by PID."""
    if os.environ.get("NOIDA_URL"):
        yield os.environ["NOIDA_URL"].rstrip("/")
        return
    try:
        from importlib.resources import files

        # The `noida-db` script is a Python wrapper running the real binary as a child: start the
        # binary itself, so that stopping it by PID stops the server.
        exe = str(files("noida_db").joinpath("noida-db"))
    except ImportError:
        pytest.fail("noida-db is not installed (pip install noida-db) and NOIDA_URL is unset")
    port = free_port()
    data = tempfile.mkdtemp(prefix="dash-noida-")
    proc = subprocess.Popen(
        [exe, "start", "--data-dir", data, "--host", "127.0.0.1", "--only", "elasticsearch",
         "--elasticsearch-port", str(port)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except Exception:
                time.sleep(0.1)
        else:
            pytest.fail("noida-db did not answer")
        yield url
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(data, ignore_errors=True)


def cargo_shipper(*args: str, env: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    # SHIPPER_BIN: an already built shipper binary (e.g. target/release/shipper) instead of cargo run.
    cmd = [os.environ["SHIPPER_BIN"], *args] if os.environ.get("SHIPPER_BIN") else ["cargo", "run", "-q", "-p", "shipper", "--", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> Path:
    """gen_events.py batches (platform lines, tracing JSON, text, malformed) + vocab API lines."""
    gen = GEN_EVENTS
    assert gen.exists(), f"{gen} missing"
    out = subprocess.run([sys.executable, str(gen), "--events", "2000", "--seed", "1"],
                         capture_output=True, text=True, check=True)
    path = tmp_path_factory.mktemp("batches") / "payloads.jsonl"
    lines = [line for line in out.stdout.splitlines() if line.strip()] + vocab_payloads()
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def bulk(batches) -> list[tuple[dict, dict]]:
    """(action, document) pairs of `shipper transform` over the batches. Fails, never skips,
    while the command is missing."""
    r = cargo_shipper("transform", str(batches))
    assert r.returncode == 0, f"`shipper transform` failed (exit {r.returncode}):\n{r.stderr[-4000:]}"
    lines = [line for line in r.stdout.splitlines() if line.strip()]
    assert lines and len(lines) % 2 == 0, f"transform output is not action/document pairs: {r.stdout[:500]}"
    pairs = [(json.loads(a), json.loads(d)) for a, d in zip(lines[::2], lines[1::2])]
    return pairs


def leaf_paths(doc: dict, prefix: str = "") -> set[str]:
    """Dotted paths of a document's values; `app` (flattened) counts as itself and its keys."""
    out = set()
    for k, v in doc.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            if path == "app":
                out.add(path)
            out |= leaf_paths(v, path + ".")
        else:
            out.add(path)
    return out


def produced_fields(docs) -> set[str]:
    out = set()
    for d in docs:
        out |= leaf_paths(d)
    # A multi-field (error.message.keyword) is produced with its parent.
    return out


def test_transform_output_goes_to_the_log_data_streams(bulk):
    indices = {next(iter(a.values()))["_index"] for a, _ in bulk}
    pats = ["logs-cloudwatch*-*", "cloudwatch-2*"]
    assert all(any(fnmatch.fnmatchcase(i, p) for p in pats) for i in indices), indices
    groups = {d["aws"]["cloudwatch"]["log_group"] for _, d in bulk}
    assert {"/aws/lambda/vocab-api-lists", "/aws/lambda/vocab-api-quiz", "/aws/lambda/vocab-api-me"} <= groups


def test_every_log_dashboard_field_is_produced_by_the_shipper(bulk):
    produced = produced_fields(d for _, d in bulk)
    missing = []
    for obj_id, dv, field, _ in used_fields(load_objects()):
        if dv != "cloudwatch-logs":
            continue
        base = field[: -len(".keyword")] if field.endswith(".keyword") else field
        if base not in produced:
            missing.append(f"{obj_id}: {field}")
    assert not missing, "fields nobody writes:\n" + "\n".join(sorted(set(missing)))


def contract_deadletter_fields() -> set[str]:
    text = (ROOT / "docs" / "CONTRACTS.md").read_text()
    section = text.split("Dead-letter doc:", 1)[1].split("Health doc:", 1)[0]
    names = set(re.findall(r"`([a-z_@][a-z0-9_.@*]*)`", section))
    return {n for n in names if not n.startswith("shipper ")}


def test_every_deadletter_field_is_in_the_dead_letter_contract():
    allowed = contract_deadletter_fields()
    for obj_id, dv, field, _ in used_fields(load_objects()):
        if dv != "shipper-deadletter":
            continue
        ok = field in allowed or any(a.endswith(".*") and field.startswith(a[:-1]) for a in allowed)
        ok = ok or (field.endswith(".keyword") and field[: -len(".keyword")] in allowed)
        assert ok, f"{obj_id}: {field} is not a field of the dead-letter document ({sorted(allowed)})"


# ---- running the dashboards' aggregations ------------------------------------------------------

def put_templates(url: str):
    """The same component/index templates `shipper setup` PUTs (data stream mode)."""
    sub = lambda t: t.replace("__ILM_POLICY__", "cloudwatch-shipper").replace("__DELETE_AFTER_DAYS__", "30").replace("__PREFIX__", "cloudwatch")  # noqa: E731
    components = {"ecs-mappings": "component-ecs-mappings.json", "deadletter-mappings": "component-deadletter-mappings.json",
                  "health-mappings": "component-health-mappings.json", "data-stream": "component-data-stream.json"}
    for name, f in components.items():
        st, body = http("PUT", f"{url}/_component_template/cloudwatch-shipper@{name}", sub((RESOURCES / f).read_text()).encode())
        assert st == 200, body
    for name, f in {"logs-cloudwatch": "index-template-logs.json", "logs-shipper.deadletter": "index-template-deadletter.json",
                    "logs-shipper.health": "index-template-health.json"}.items():
        st, body = http("PUT", f"{url}/_index_template/{name}", sub((RESOURCES / f).read_text()).encode())
        assert st == 200, body


@pytest.fixture(scope="module")
def filled(noida, bulk):
    """noida-db with the templates and the transform output, in a namespace of its own."""
    put_templates(noida)
    ns = f"dash{os.getpid()}x{random.randrange(10**6)}"
    out = []
    for action, doc in bulk:
        op, meta = next(iter(action.items()))
        index = re.sub(r"-[^-]+$", f"-{ns}", meta["_index"])
        out.append(json.dumps({op: {**meta, "_index": index}}))
        out.append(json.dumps(doc, ensure_ascii=False))
    body = ("\n".join(out) + "\n").encode()
    st, answer = http("POST", f"{noida}/_bulk?refresh=true", body, "application/x-ndjson")
    assert st == 200, answer
    failed = [i for i in answer["items"] if next(iter(i.values()))["status"] >= 300]
    assert not failed, f"{len(failed)} documents refused, e.g. {failed[:3]}"
    return noida, ns


# What noida-db (an emulator) lacks, and the equivalent the test runs instead, with a warning:
# - `percentiles` is not implemented ("Unknown aggregation type"): `stats` on the same field in the
#   same buckets shows the values exist (the percentile maths itself is Elasticsearch's);
# - `max`/`min` on a date field answer null: `top_hits` sorted on the field gives the same date.
# Against Elasticsearch itself (ELASTICSEARCH_URL) neither substitution is needed.
EMULATOR_SUBSTITUTES = {"percentiles", "date_minmax"}


def layer_aggs(layer: dict, substitute: frozenset = frozenset()) -> tuple[list[str], dict]:
    """The Elasticsearch aggregations of a Lens layer: bucket columns nested in order, metrics inside."""
    cols = layer["columns"]
    buckets = [c for c in layer["columnOrder"] if cols[c]["isBucketed"]]
    metrics = [c for c in layer["columnOrder"] if not cols[c]["isBucketed"]]

    def metric_agg(cid):
        col = cols[cid]
        op = col["operationType"]
        field = col.get("sourceField")
        if op == "count":
            # Lens counts documents: the bucket's doc_count (in a filter agg when filtered).
            return {"filter": kql_to_es(col["filter"]["query"]) if col.get("filter") else {"match_all": {}}}
        if op in ("percentile", "median"):
            if "percentiles" in substitute:
                agg = {"stats": {"field": field}}
            else:
                agg = {"percentiles": {"field": field, "percents": [col["params"].get("percentile", 50)]}}
        elif op in ("max", "min") and col["dataType"] == "date" and "date_minmax" in substitute:
            agg = {"top_hits": {"size": 1, "sort": [{field: "desc" if op == "max" else "asc"}], "_source": [field]}}
        else:
            agg = {METRIC_OPS[op]: {"field": field}}
        if col.get("filter"):
            return {"filter": kql_to_es(col["filter"]["query"]), "aggs": {"v": agg}}
        return agg

    inner = {m: metric_agg(m) for m in metrics}
    for cid in reversed(buckets):
        col = cols[cid]
        op = col["operationType"]
        if op == "date_histogram":
            agg = {"date_histogram": {"field": col["sourceField"], "fixed_interval": "5m", "min_doc_count": 1}}
        elif op == "terms":
            agg = {"terms": {"field": col["sourceField"], "size": col["params"]["size"]}}
            order = col["params"]["orderBy"]
            if order.get("type") == "column" and order["columnId"] in metrics and cols[order["columnId"]]["operationType"] in ("average", "sum", "max", "min"):
                agg["terms"]["order"] = {order["columnId"]: col["params"]["orderDirection"]}
        elif op == "filters":
            agg = {"filters": {"filters": {f["label"]: kql_to_es(f["input"]["query"]) for f in col["params"]["filters"]}}}
        else:
            raise AssertionError(f"bucket operation {op} not handled")
        agg["aggs"] = inner
        inner = {cid: agg}
    return buckets, inner


def metric_value(node: dict):
    if "v" in node:
        node = node["v"]
    elif "doc_count" in node:  # a count column
        return node["doc_count"]
    if "values" in node:  # percentiles
        vals = node["values"]
        return next(iter(vals.values())) if isinstance(vals, dict) else vals[0]["value"]
    if "hits" in node:  # top_hits standing in for max/min of a date
        hits = node["hits"]["hits"]
        return next(iter(hits[0]["_source"].values()), None) if hits else None
    if "count" in node and "avg" in node:  # stats standing in for percentiles
        return node["count"]
    return node.get("value")


def walk_buckets(node: dict, bucket_cols: list[str], metric_cols: list[str], seen: dict):
    """Records, per column, whether some bucket had a value: a count above 0 (so a filtered
    count's filter matches something), any other metric not null (a sum of zeros is a value:
    nothing is retried against an emulator that never answers 429)."""
    if not bucket_cols:
        for m in metric_cols:
            v = metric_value(node[m])
            is_count = "doc_count" in node[m] and "v" not in node[m]
            if (v or 0) > 0 if is_count else v is not None:
                seen[m] = True
        return
    agg = node[bucket_cols[0]]
    bks = agg["buckets"]
    bks = list(bks.values()) if isinstance(bks, dict) else bks
    for b in bks:
        if b["doc_count"] > 0:
            seen[bucket_cols[0]] = True
            walk_buckets(b, bucket_cols[1:], metric_cols, seen)


def run_lens(url: str, index: str, obj: dict) -> dict:
    (_, layer, _), = list(lens_layers(obj))
    metric_cols = [c for c in layer["columnOrder"] if not layer["columns"][c]["isBucketed"]]
    query = kql_to_es(obj["attributes"]["state"]["query"]["query"])
    substitute: set[str] = set()
    while True:
        bucket_cols, aggs = layer_aggs(layer, frozenset(substitute))
        st, answer = http("POST", f"{url}/{index}/_search", json.dumps({"size": 0, "query": query, "aggs": aggs}).encode())
        if st == 400 and "Unknown aggregation type [percentiles]" in json.dumps(answer) and "percentiles" not in substitute:
            warnings.warn(f"{obj['id']}: the emulator has no percentiles aggregation; checked the values with stats")
            substitute.add("percentiles")
            continue
        assert st == 200, f"{obj['id']}: {answer}"
        seen: dict = {}
        walk_buckets(answer["aggregations"], bucket_cols, metric_cols, seen)
        missing = [c for c in bucket_cols + metric_cols if not seen.get(c)]
        date_minmax = [c for c in missing if layer["columns"][c]["operationType"] in ("max", "min")
                       and layer["columns"][c]["dataType"] == "date"]
        if date_minmax and "date_minmax" not in substitute:
            warnings.warn(f"{obj['id']}: the emulator answers null for max/min of a date; checked with top_hits")
            substitute.add("date_minmax")
            continue
        assert not missing, f"{obj['id']}: no bucket/value for columns {missing}: {json.dumps(answer['aggregations'])[:1500]}"
        return answer


LOG_LENSES = [o["id"] for o in load_objects() if o["type"] == "lens"
              and next(lens_layers(o))[2] == "cloudwatch-logs"] if NDJSON_FILES else []


@pytest.mark.parametrize("lens_id", LOG_LENSES)
def test_log_dashboard_aggregations_return_buckets(filled, lens_id):
    url, ns = filled
    obj = by_key(load_objects())[("lens", lens_id)]
    run_lens(url, f"logs-cloudwatch*-{ns}", obj)


def test_raw_log_searches_return_documents(filled):
    url, ns = filled
    for o in load_objects():
        if o["type"] != "search" or search_data_view(o) != "cloudwatch-logs":
            continue
        ssj = json.loads(o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        body = {"size": 5, "query": kql_to_es(ssj["query"]["query"]), "sort": [{"@timestamp": "desc"}],
                "_source": o["attributes"]["columns"] + ["@timestamp"]}
        st, answer = http("POST", f"{url}/logs-cloudwatch*-{ns}/_search", json.dumps(body).encode())
        assert st == 200, answer
        assert answer["hits"]["hits"], f"{o['id']}: no documents"


@pytest.fixture(scope="module")
def shipped(noida, batches):
    """`shipper ship` of the batches to noida-db in a namespace of its own, with one data stream
    made to refuse every document (an existing index mapping `message` as long: noida-db answers
    400 document_parsing_exception like Elasticsearch), so that the shipper writes dead letters
    as well as health documents. Returns (namespace, health docs, dead-letter docs)."""
    put_templates(noida)
    ns = f"ship{os.getpid()}x{random.randrange(10**6)}"
    st, body = http("PUT", f"{noida}/logs-cloudwatch.vocab_api_me-{ns}",
                    json.dumps({"mappings": {"properties": {"message": {"type": "long"}}}}).encode())
    assert st == 200, body
    r = cargo_shipper("ship", "--url", noida, str(batches), env={"SHIPPER_NAMESPACE": ns, "SHIPPER_TARGET": "data_stream"})
    http("POST", f"{noida}/_refresh", b"")
    docs = {}
    for kind in ("health", "deadletter"):
        st, answer = http("POST", f"{noida}/logs-shipper.{kind}-{ns}/_search",
                          json.dumps({"size": 1000, "sort": [{"@timestamp": "desc"}]}).encode())
        docs[kind] = [h["_source"] for h in answer.get("hits", {}).get("hits", [])] if st == 200 else []
        assert docs[kind], (f"`shipper ship` (exit {r.returncode}) wrote no {kind} document to "
                            f"logs-shipper.{kind}-{ns}:\n{r.stderr[-4000:]}")
    return ns, docs["health"], docs["deadletter"]


def dashboard_fields(dv: str) -> set[tuple[str, str]]:
    return {(obj_id, field) for obj_id, view, field, _ in used_fields(load_objects()) if view == dv}


def test_every_health_dashboard_field_is_produced_by_the_shipper(shipped):
    produced = produced_fields(shipped[1])
    missing = sorted(f"{o}: {f}" for o, f in dashboard_fields("shipper-health") if f not in produced)
    assert not missing, "health fields nobody writes:\n" + "\n".join(missing)


def test_every_deadletter_dashboard_field_is_produced_by_the_shipper(shipped):
    produced = produced_fields(shipped[2])
    missing = sorted(f"{o}: {f}" for o, f in dashboard_fields("shipper-deadletter")
                     if f.removesuffix(".keyword") not in produced)
    assert not missing, "dead-letter fields nobody writes:\n" + "\n".join(missing)


def lenses_on(dv: str) -> list[str]:
    if not NDJSON_FILES:
        return []
    return [o["id"] for o in load_objects() if o["type"] == "lens" and next(lens_layers(o))[2] == dv]


@pytest.mark.parametrize("lens_id", lenses_on("shipper-health") + lenses_on("shipper-deadletter"))
def test_shipper_dashboard_aggregations_return_buckets(noida, shipped, lens_id):
    obj = by_key(load_objects())[("lens", lens_id)]
    dv = next(lens_layers(obj))[2]
    kind = "health" if dv == "shipper-health" else "deadletter"
    run_lens(noida, f"logs-shipper.{kind}-{shipped[0]}", obj)


def test_dead_letter_search_returns_records(noida, shipped):
    obj = by_key(load_objects())[("search", "shipper-dead-letter-records")]
    body = {"size": 5, "sort": [{"@timestamp": "desc"}], "_source": obj["attributes"]["columns"]}
    st, answer = http("POST", f"{noida}/logs-shipper.deadletter-{shipped[0]}/_search", json.dumps(body).encode())
    assert st == 200 and answer["hits"]["hits"], answer
