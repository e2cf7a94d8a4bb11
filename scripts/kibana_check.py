#!/usr/bin/env python3
"""Checks the dashboards in a real Elasticsearch + Kibana (the GitHub Actions job
.github/workflows/kibana.yml runs it against Elasticsearch and Kibana 9.x with security on).

1. waits for Elasticsearch (`GET /`) and Kibana (`GET /api/status`, overall level `available`);
2. fills Elasticsearch with the pipeline's data (scripts/pipeline_data.py: `shipper setup
   --kibana-url` — which imports the saved objects — then vocab-traffic → vocab-local →
   `shipper follow`, the access-log and WAF lines, platform lines, real dead letters);
3. imports dashboards/kibana/*.ndjson again through `POST /api/saved_objects/_import?overwrite=true`
   and fails unless the answer is `success: true` with every object in `successResults` and no
   `errors` (a missing reference is an error of type `missing_references`);
4. exports each dashboard with `includeReferencesDeep` and fails unless the export details say
   `missingRefCount: 0`;
5. resolves every object through `GET /api/saved_objects/resolve/{type}/{id}` (outcome
   `exactMatch`, the panels and Lens state present after Kibana's migrations);
6. runs every panel's query and aggregations against Elasticsearch (dashboards/panels.py) and
   fails unless every column gets a value, and every saved search a line, checking each field
   against `_field_caps` (type, aggregatable) first;
7. opens each dashboard in headless Chromium (logged in through Kibana's login form), waits until
   every panel reports `data-render-complete="true"` (the attributes Kibana's own screenshot
   service waits for: `[data-shared-items-container]`'s `data-shared-items-count` and each
   `[data-shared-item]`), fails on a panel in error (`data-render-error`, an embeddable error)
   or showing "No results", and saves a full-page PNG per dashboard.

Every failure is collected and printed; the exit code is 1 if there was any.

    ELASTICSEARCH_USERNAME=elastic ELASTICSEARCH_PASSWORD=... \
    python3 scripts/kibana_check.py --es-url http://localhost:9200 --kibana-url http://localhost:5601 \
        --bin-dir target/release --out artifacts [--chromium /usr/bin/chromium] [--skip-fill]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "dashboards"))
sys.path.insert(0, str(ROOT / "scripts"))
import panels as P  # noqa: E402

# The order `shipper setup` imports the files in (shipper/src/setup.rs SAVED_OBJECTS).
IMPORT_ORDER = ["data-views.ndjson", "searches.ndjson", "dashboard-vocab-api-by-status.ndjson",
                "dashboard-by-log-group.ndjson", "dashboard-shipper-health.ndjson"]
NO_DATA_TEXTS = ["No results found", "No results match your search criteria"]


class Kibana:
    def __init__(self, url: str, username: str | None, password: str | None, api_key: str | None = None):
        self.url = url.rstrip("/")
        self.username, self.password, self.api_key = username, password, api_key

    def headers(self) -> dict:
        h = {"kbn-xsrf": "true"}
        if self.api_key:
            h["Authorization"] = f"ApiKey {self.api_key}"
        elif self.username:
            h["Authorization"] = "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return h

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = "application/json"):
        req = urllib.request.Request(self.url + path, data=body, method=method,
                                     headers={**self.headers(), **({"Content-Type": ctype} if body is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, method: str, path: str, body=None):
        st, raw = self.request(method, path, json.dumps(body).encode() if body is not None else None)
        try:
            return st, json.loads(raw or b"null")
        except ValueError:
            return st, raw.decode(errors="replace")


def wait_for(what: str, probe, seconds: int):
    deadline, last = time.time() + seconds, None
    while time.time() < deadline:
        try:
            ok, last = probe()
            if ok:
                return
        except Exception as e:  # not up yet
            last = e
        time.sleep(3)
    raise RuntimeError(f"{what} not ready after {seconds} s: {last}")


def saved_objects_ndjson() -> str:
    return "".join((P.KIBANA_DIR / name).read_text(encoding="utf-8") for name in IMPORT_ORDER)


def multipart(ndjson: str) -> tuple[str, bytes]:
    boundary = f"kibana-check-{uuid.uuid4().hex}"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.ndjson\"\r\n"
            f"Content-Type: application/ndjson\r\n\r\n").encode() + ndjson.encode() + f"\r\n--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


# ---- the checks; each returns a list of failures --------------------------------------------------

def check_import(kibana: Kibana, objects: list[dict]) -> list[str]:
    """POST /api/saved_objects/_import?overwrite=true (Kibana's import API: a multipart `file`
    field with the NDJSON, `kbn-xsrf` header); `success`, `successCount`, `successResults`,
    `errors` (missing references are `errors[].error.type == "missing_references"`)."""
    ctype, body = multipart(saved_objects_ndjson())
    st, raw = kibana.request("POST", "/api/saved_objects/_import?overwrite=true", body, ctype)
    if st != 200:
        return [f"import: HTTP {st}: {raw[:2000]!r}"]
    answer = json.loads(raw)
    fails = []
    if answer.get("success") is not True:
        fails.append(f"import: success={answer.get('success')}")
    for e in answer.get("errors") or []:
        err = e.get("error", {})
        extra = f" {err.get('references')}" if err.get("type") == "missing_references" else ""
        fails.append(f"import error: {e.get('type')}/{e.get('id')}: {err.get('type')}{extra}")
    if answer.get("successCount") != len(objects):
        fails.append(f"import: successCount {answer.get('successCount')} for {len(objects)} objects")
    imported = {(r["type"], r["id"]) for r in answer.get("successResults") or []}
    missing = {(o["type"], o["id"]) for o in objects} - imported
    if missing:
        fails.append(f"import: not in successResults: {sorted(missing)}")
    return fails


def check_export(kibana: Kibana, objects: list[dict]) -> list[str]:
    """Each dashboard exported with its references (POST /api/saved_objects/_export,
    includeReferencesDeep): the last NDJSON line, the export details, must say missingRefCount 0."""
    fails = []
    for d in (o for o in objects if o["type"] == "dashboard"):
        st, raw = kibana.request("POST", "/api/saved_objects/_export", json.dumps({
            "objects": [{"type": "dashboard", "id": d["id"]}], "includeReferencesDeep": True}).encode())
        if st != 200:
            fails.append(f"export {d['id']}: HTTP {st}: {raw[:500]!r}")
            continue
        lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
        details = lines[-1] if lines and "exportedCount" in lines[-1] else None
        if not details:
            fails.append(f"export {d['id']}: no export details line")
        elif details.get("missingRefCount") != 0:
            fails.append(f"export {d['id']}: missing references {details.get('missingReferences')}")
        exported = {(o["type"], o["id"]) for o in lines[:-1]}
        if ("dashboard", d["id"]) not in exported:
            fails.append(f"export {d['id']}: the dashboard itself is not in the export")
        for r in d["references"]:
            if (r["type"], r["id"]) not in exported:
                fails.append(f"export {d['id']}: its panel {r['type']}/{r['id']} is not in the export")
    return fails


def check_resolve(kibana: Kibana, objects: list[dict]) -> list[str]:
    """GET /api/saved_objects/resolve/{type}/{id}: outcome `exactMatch`, and after Kibana's
    migrations a dashboard still has its panels and a Lens object its state."""
    fails = []
    for o in objects:
        st, body = kibana.json("GET", f"/api/saved_objects/resolve/{o['type']}/{o['id']}")
        if st != 200:
            fails.append(f"resolve {o['type']}/{o['id']}: HTTP {st}: {str(body)[:300]}")
            continue
        if body.get("outcome") != "exactMatch":
            fails.append(f"resolve {o['type']}/{o['id']}: outcome {body.get('outcome')}")
        attrs = body.get("saved_object", {}).get("attributes", {})
        if o["type"] == "dashboard":
            panels = attrs.get("panelsJSON")
            panels = json.loads(panels) if isinstance(panels, str) else panels
            if not panels or len(panels) != len(o["references"]):
                fails.append(f"resolve dashboard/{o['id']}: {len(panels or [])} panels after migration, "
                             f"{len(o['references'])} imported")
        if o["type"] == "lens" and not attrs.get("state", {}).get("datasourceStates"):
            fails.append(f"resolve lens/{o['id']}: no Lens state after migration")
    return fails


def field_caps(cluster: P.Cluster, index: str, fields: set[str]) -> dict[str, dict]:
    """field → {type, aggregatable} from `_field_caps` (what Kibana builds data views from), or
    from `_mapping` where the cluster has no _field_caps (an emulator)."""
    st, body = cluster.request("GET", f"/{index}/_field_caps?fields={','.join(sorted(fields))}")
    if st == 200 and isinstance(body, dict) and "fields" in body:
        out = {}
        for name, by_type in body["fields"].items():
            types = [t for t in by_type if t != "unmapped"]
            if len(types) == 1:
                out[name] = {"type": types[0], "aggregatable": by_type[types[0]].get("aggregatable", False)}
            elif types:
                out[name] = {"type": "|".join(types), "aggregatable": False}
        return out
    types = cluster.mapping_types(index)
    return {f: {"type": P.field_type(types, f), "aggregatable": None} for f in fields if P.field_type(types, f)}


def check_panels(cluster: P.Cluster, objects: list[dict], indices: dict[str, str]) -> list[str]:
    """Every chart panel's aggregations return a value in every column; every saved search a
    line; every field has the type (and, from _field_caps, the aggregatability) it needs."""
    fails = []
    for o in [p for p in P.panels(objects)]:
        dv = P.data_view_of(o)
        index = indices[dv]
        used = P.used_fields([o])
        caps = field_caps(cluster, index, {f for _, _, f, _ in used})
        for _, _, f, op in used:
            cap = caps.get(f) or ({"type": "flattened", "aggregatable": False} if f.startswith("app.") else None)
            why = P.type_problem(op, cap and cap["type"]) if op not in ("filter", "column") else \
                (None if cap else "not mapped")
            if not why and op in ("terms", "date_histogram") and cap and cap["aggregatable"] is False:
                why = "not aggregatable"
            if why:
                fails.append(f"panel {o['id']}: field {f} ({op}): {why}")
        try:
            if o["type"] == "search":
                if not P.run_search(cluster, index, o):
                    fails.append(f"panel {o['id']}: the saved search finds no line")
            else:
                P.run_panel(cluster, index, o)
        except AssertionError as e:
            fails.append(f"panel {o['id']}: {e}")
    return fails


def dashboard_height_px(dashboard: dict) -> int:
    panels = json.loads(dashboard["attributes"]["panelsJSON"])
    rows = max(p["gridData"]["y"] + p["gridData"]["h"] for p in panels)
    return rows * 22 + 400  # a grid row is 20 px + margin in Kibana's dashboard grid


def screenshot_dashboards(kibana: Kibana, objects: list[dict], out: Path, chromium: str,
                          timeout_s: int = 180) -> list[str]:
    """Headless Chromium: log in through the login form, open each dashboard, wait for every
    panel's data-render-complete, check for errors and empty panels, save a full-page PNG."""
    from playwright.sync_api import sync_playwright

    fails = []
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"])
        try:
            page = browser.new_page(viewport={"width": 1920, "height": 1200})
            page.goto(f"{kibana.url}/login")
            page.fill('[data-test-subj="loginUsername"]', kibana.username or "")
            page.fill('[data-test-subj="loginPassword"]', kibana.password or "")
            page.click('[data-test-subj="loginSubmit"]')
            page.wait_for_url("**/app/**", timeout=timeout_s * 1000)
            for d in (o for o in objects if o["type"] == "dashboard"):
                fails += screenshot_one(page, kibana, d, out, timeout_s)
        finally:
            browser.close()
    return fails


def screenshot_one(page, kibana: Kibana, d: dict, out: Path, timeout_s: int) -> list[str]:
    fails = []
    page.set_viewport_size({"width": 1920, "height": dashboard_height_px(d)})
    page.goto(f"{kibana.url}/app/dashboards#/view/{d['id']}")
    container = page.wait_for_selector("[data-shared-items-container]", timeout=timeout_s * 1000)
    deadline = time.time() + timeout_s
    expected = done = 0
    while time.time() < deadline:
        expected = int(container.get_attribute("data-shared-items-count") or 0)
        done = page.locator('[data-shared-item][data-render-complete="true"]').count()
        if expected and done >= expected:
            break
        time.sleep(1)
    page.wait_for_timeout(1000)  # let the last chart's animation end before the picture
    path = out / f"{d['id']}.png"
    page.screenshot(path=str(path), full_page=True)
    if not expected or done < expected:
        fails.append(f"dashboard {d['id']}: {done} of {expected} panels finished rendering in {timeout_s} s "
                     f"(screenshot {path.name})")
    errors = page.locator('[data-render-error], [data-test-subj="embeddableError"], '
                          '[data-test-subj="embeddableStackError"]')
    for i in range(errors.count()):
        el = errors.nth(i)
        fails.append(f"dashboard {d['id']}: a panel is in error: "
                     f"{(el.get_attribute('data-render-error') or el.inner_text())[:300]}")
    items = page.locator("[data-shared-item]")
    for i in range(items.count()):
        text = items.nth(i).inner_text()
        for phrase in NO_DATA_TEXTS:
            if phrase in text:
                title = items.nth(i).get_attribute("data-title") or f"panel {i + 1}"
                fails.append(f"dashboard {d['id']}: {title!r} shows {phrase!r}")
    return fails


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--es-url", default=os.environ.get("ELASTICSEARCH_URL"))
    ap.add_argument("--kibana-url", default=os.environ.get("KIBANA_URL"))
    ap.add_argument("--namespace", default="default")
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "release"))
    ap.add_argument("--out", default="artifacts", help="where the screenshots and the report go")
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
                    or shutil.which("chromium-browser") or shutil.which("google-chrome"))
    ap.add_argument("--skip-fill", action="store_true", help="the cluster already holds the pipeline's data")
    ap.add_argument("--emulator", action="store_true", help="the Elasticsearch URL is an API emulator")
    ap.add_argument("--wait", type=int, default=300, help="seconds to wait for Elasticsearch and Kibana")
    args = ap.parse_args(argv)
    if not args.es_url or not args.kibana_url:
        ap.error("--es-url and --kibana-url (or ELASTICSEARCH_URL and KIBANA_URL) are required")
    user, password = os.environ.get("ELASTICSEARCH_USERNAME"), os.environ.get("ELASTICSEARCH_PASSWORD")
    api_key = os.environ.get("ELASTICSEARCH_API_KEY")
    cluster = P.Cluster(args.es_url, user, password, api_key, emulator=args.emulator)
    kibana = Kibana(args.kibana_url, user, password, api_key)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    wait_for("Elasticsearch", lambda: (cluster.request("GET", "/")[0] == 200, cluster.request("GET", "/")), args.wait)

    def kibana_ready():
        st, body = kibana.json("GET", "/api/status")
        level = body.get("status", {}).get("overall", {}).get("level") if isinstance(body, dict) else None
        return st == 200 and level == "available", (st, level)
    wait_for("Kibana", kibana_ready, args.wait)

    namespace = args.namespace
    if not args.skip_fill:
        import pipeline_data
        filled = pipeline_data.fill(args.es_url, namespace, Path(args.bin_dir),
                                    Path(tempfile.mkdtemp(prefix="kibana-check-")), pipeline_data.moto_url(),
                                    kibana_url=args.kibana_url, do_build=False)
        print("pipeline:", json.dumps({k: v for k, v in filled.__dict__.items() if k != "steps"}), file=sys.stderr)
        for s in filled.steps:
            print("  " + s, file=sys.stderr)

    objects = P.load_objects()
    indices = {"cloudwatch-logs": f"logs-cloudwatch*-{namespace}", "shipper-health": f"logs-shipper.health-{namespace}",
               "shipper-deadletter": f"logs-shipper.deadletter-{namespace}"}
    report: dict[str, list[str]] = {}
    for name, step in [("import", lambda: check_import(kibana, objects)),
                       ("export", lambda: check_export(kibana, objects)),
                       ("resolve", lambda: check_resolve(kibana, objects)),
                       ("panels", lambda: check_panels(cluster, objects, indices)),
                       ("screenshots", lambda: screenshot_dashboards(kibana, objects, out / "screenshots",
                                                                     args.chromium))]:
        try:
            report[name] = step()
        except Exception:
            report[name] = [f"{name}: {traceback.format_exc()}"]
        print(f"{name}: {'ok' if not report[name] else f'{len(report[name])} failure(s)'}", file=sys.stderr)
        for f in report[name]:
            print(f"  {f}", file=sys.stderr)
    if cluster.notes:
        report["emulator substitutions"] = sorted(set(cluster.notes))
    (out / "kibana-check.json").write_text(json.dumps(report, indent=2))
    failed = sum(len(v) for k, v in report.items() if k != "emulator substitutions")
    print(f"kibana check: {'passed' if not failed else f'{failed} failure(s)'}; report in {out / 'kibana-check.json'}",
          file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
