"""A test double of the parts of Kibana scripts/kibana_check.py talks to, for running that script
here, where Kibana can't run. It is not Kibana: it renders no chart and runs no query. What it
models, each from Kibana's documentation or source:

- `GET /api/status` → `{"status":{"overall":{"level":"available"}}}` (Kibana status API);
- basic authentication on every `/api` request, 401 without it, and `kbn-xsrf` required on POST
  (400 otherwise) — Kibana's HTTP API conventions;
- `POST /api/saved_objects/_import?overwrite=true`, multipart field `file` (Import saved objects
  API): every reference must be to an object in the same import or already stored, else that
  object is not imported and is reported in `errors` with `error.type: "missing_references"`
  and `success` is false; `successCount`, `successResults[].{type,id,meta.title}`;
- `POST /api/saved_objects/_export` with `objects` and `includeReferencesDeep` (Export saved
  objects API): NDJSON of the objects and, deeply, what they reference, then one line of export
  details `{exportedCount, missingRefCount, missingReferences, excludedObjectsCount,
  excludedObjects}`;
- `GET /api/saved_objects/resolve/{type}/{id}` (Resolve a saved object API):
  `{"saved_object":…, "outcome":"exactMatch"}` or 404;
- `/login` (the basic login form's `data-test-subj` names: loginUsername, loginPassword,
  loginSubmit) and `/app/dashboards#/view/{id}`: a page whose container carries
  `data-shared-items-container` and `data-shared-items-count`, with one `[data-shared-item]` per
  panel that gets `data-render-complete="true"` after a delay — the attributes Kibana's
  screenshotting waits for (src/platform/plugins/shared/screenshot_mode and the dashboard
  viewport). Panels listed in `broken` render with `data-render-error`, those in `empty` show
  "No results found", as a Lens panel with no data does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class KibanaDouble:
    def __init__(self, username: str, password: str):
        self.username, self.password = username, password
        self.store: dict[tuple[str, str], dict] = {}
        self.broken: set[str] = set()
        self.empty: set[str] = set()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # ---- the saved objects APIs ----------------------------------------------------------------

    def import_(self, ndjson: str) -> dict:
        objs = [json.loads(line) for line in ndjson.splitlines() if line.strip()]
        incoming = {(o["type"], o["id"]) for o in objs}
        results, errors = [], []
        for o in objs:
            missing = [{"type": r["type"], "id": r["id"]} for r in o.get("references", [])
                       if (r["type"], r["id"]) not in incoming and (r["type"], r["id"]) not in self.store]
            title = o.get("attributes", {}).get("title")
            if missing:
                errors.append({"id": o["id"], "type": o["type"], "title": title, "meta": {"title": title},
                               "error": {"type": "missing_references", "references": missing}})
                continue
            self.store[(o["type"], o["id"])] = o
            results.append({"type": o["type"], "id": o["id"], "meta": {"title": title}})
        answer = {"successCount": len(results), "success": not errors, "successResults": results}
        if errors:
            answer["errors"] = errors
        return answer

    def export(self, wanted: list[dict], deep: bool) -> str:
        out, missing, seen = [], [], set()

        def add(key):
            if key in seen:
                return
            seen.add(key)
            obj = self.store.get(key)
            if obj is None:
                missing.append({"type": key[0], "id": key[1]})
                return
            out.append(obj)
            if deep:
                for r in obj.get("references", []):
                    add((r["type"], r["id"]))

        for w in wanted:
            add((w["type"], w["id"]))
        details = {"excludedObjects": [], "excludedObjectsCount": 0, "exportedCount": len(out),
                   "missingRefCount": len(missing), "missingReferences": missing}
        return "".join(json.dumps(o) + "\n" for o in out) + json.dumps(details) + "\n"

    # ---- pages ----------------------------------------------------------------------------------

    def dashboard_page(self) -> str:
        dashboards = {k[1]: v for k, v in self.store.items() if k[0] == "dashboard"}
        spec = {did: [{"title": r["id"], "broken": r["id"] in self.broken, "empty": r["id"] in self.empty}
                      for r in d["references"]] for did, d in dashboards.items()}
        return """<!doctype html><html><body><div id="app"></div><script>
const spec = %s;
function render() {
  const id = (location.hash.match(/#\\/view\\/([^?]+)/) || [])[1];
  const panels = spec[id] || [];
  const app = document.getElementById('app');
  app.innerHTML = '';
  const c = document.createElement('div');
  c.setAttribute('data-shared-items-container', '');
  c.setAttribute('data-shared-items-count', String(panels.length));
  app.appendChild(c);
  panels.forEach((p, i) => {
    const el = document.createElement('div');
    el.setAttribute('data-shared-item', '');
    el.setAttribute('data-title', p.title);
    el.setAttribute('data-render-complete', 'false');
    el.textContent = 'Loading ' + p.title;
    c.appendChild(el);
    setTimeout(() => {
      if (p.broken) { el.setAttribute('data-render-error', 'Could not load ' + p.title); }
      el.textContent = p.empty ? 'No results found' : p.title + ': 42';
      el.setAttribute('data-render-complete', 'true');
    }, 200 + 100 * i);
  });
}
window.addEventListener('hashchange', render); render();
</script></body></html>""" % json.dumps(spec)

    LOGIN = """<!doctype html><html><body><form method="post" action="/internal/login">
<input data-test-subj="loginUsername" name="username"><input data-test-subj="loginPassword" name="password" type="password">
<button data-test-subj="loginSubmit" type="submit">Log in</button></form></body></html>"""

    def _handler(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status: int, body, ctype="application/json", headers=None):
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def authorized(self) -> bool:
                auth = self.headers.get("Authorization", "")
                pair = base64.b64encode(f"{double.username}:{double.password}".encode()).decode()
                return auth == f"Basic {pair}" or f"sid={pair}" in self.headers.get("Cookie", "")

            def body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path == "/login":
                    return self.send(200, double.LOGIN, "text/html")
                if not self.authorized():
                    if path.startswith("/app/"):
                        return self.send(302, "", "text/html", {"Location": "/login"})
                    return self.send(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"},
                                     headers={"WWW-Authenticate": 'Basic realm="kibana"'})
                if path == "/api/status":
                    return self.send(200, {"status": {"overall": {"level": "available"}}})
                m = re.fullmatch(r"/api/saved_objects/resolve/([^/]+)/([^/]+)", path)
                if m:
                    obj = double.store.get((m.group(1), m.group(2)))
                    if not obj:
                        return self.send(404, {"statusCode": 404, "error": "Not Found",
                                               "message": f"Saved object [{m.group(1)}/{m.group(2)}] not found"})
                    return self.send(200, {"saved_object": obj, "outcome": "exactMatch"})
                if path.startswith("/app/"):
                    return self.send(200, double.dashboard_page(), "text/html")
                return self.send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})

            def do_POST(self):
                path = self.path.split("?", 1)[0]
                if path == "/internal/login":
                    form = dict(p.split("=", 1) for p in self.body().decode().split("&") if "=" in p)
                    if (form.get("username"), form.get("password")) != (double.username, double.password):
                        return self.send(401, double.LOGIN, "text/html")
                    pair = base64.b64encode(f"{double.username}:{double.password}".encode()).decode()
                    return self.send(302, "", "text/html", {"Location": "/app/home", "Set-Cookie": f"sid={pair}; Path=/"})
                if not self.authorized():
                    return self.send(401, {"statusCode": 401, "error": "Unauthorized", "message": "Unauthorized"})
                if self.headers.get("kbn-xsrf") is None:
                    return self.send(400, {"statusCode": 400, "error": "Bad Request",
                                           "message": "Request must contain a kbn-xsrf header."})
                raw = self.body()
                if path == "/api/saved_objects/_import":
                    boundary = re.search(r"boundary=(.+)", self.headers.get("Content-Type", "")).group(1)
                    part = raw.split(f"--{boundary}".encode())[1]
                    ndjson = part.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n", 1)[0].decode()
                    return self.send(200, double.import_(ndjson))
                if path == "/api/saved_objects/_export":
                    req = json.loads(raw)
                    return self.send(200, double.export(req["objects"], req.get("includeReferencesDeep", False)),
                                     "application/ndjson")
                return self.send(404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"})

        return Handler
