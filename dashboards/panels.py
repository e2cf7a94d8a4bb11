"""What each saved object in dashboards/kibana/ asks of Elasticsearch, and whether it gets data.

Shared by the dashboard tests (against the noida-db emulator, or a real cluster when
ELASTICSEARCH_URL is set) and by scripts/kibana_check.py (the real-Kibana job in GitHub Actions):

- reading the NDJSON objects, their panels and the fields they use;
- the KQL the objects use (a subset: `f : *`, `f : "v"`, `f : v`, `f >= n` and `<`, `<=`, `>`,
  `and`, `or`, `not`, parentheses) turned into the query DSL Kibana would send;
- each Lens layer and each aggregation-based visualization turned into the aggregations Kibana
  would send (date_histogram, terms, filters, count, percentiles, avg, sum, max, filtered
  metrics), run against a cluster, with a check that every bucket and metric column got a value;
- each field checked against the cluster's own mapping (after `shipper setup` applied the real
  templates and the pipeline wrote documents) for a type its operation can use.

An API emulator lacks some of Elasticsearch: `run_panel` substitutes, and reports, an equivalent
check where the emulator refuses an aggregation (see SUBSTITUTES).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field as dc_field
from pathlib import Path

KIBANA_DIR = Path(__file__).resolve().parent / "kibana"

NUMERIC = {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
DATES = {"date", "date_nanos"}
# Types a `terms` aggregation (a Lens "top values" column) can run on.
TERMS_TYPES = {"keyword", "constant_keyword", "wildcard", "ip", "boolean"} | NUMERIC
METRIC_OPS = {"percentile": "percentiles", "average": "avg", "sum": "sum", "max": "max", "min": "min",
              "median": "percentiles"}


# ---- loading -----------------------------------------------------------------------------------

def load_objects(directory: Path = KIBANA_DIR) -> list[dict]:
    objs = []
    for path in sorted(directory.glob("*.ndjson")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                obj = json.loads(line)
                obj["_file"] = f"{path.name}:{n}"
                objs.append(obj)
    return objs


def by_key(objs: list[dict]) -> dict:
    return {(o["type"], o["id"]): o for o in objs}


def refs(obj: dict) -> dict[str, str]:
    return {r["name"]: r["id"] for r in obj.get("references", [])}


def lens_layers(obj: dict):
    """(layer id, layer, data view id) of a Lens object."""
    state = obj["attributes"]["state"]
    for layer_id, layer in state["datasourceStates"]["formBased"]["layers"].items():
        yield layer_id, layer, refs(obj).get(f"indexpattern-datasource-layer-{layer_id}")


def search_source(obj: dict) -> dict:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])


def source_data_view(obj: dict) -> str | None:
    """The data view of a saved search or an aggregation-based visualization."""
    return refs(obj).get(search_source(obj).get("indexRefName"))


def vis_state(obj: dict) -> dict:
    return json.loads(obj["attributes"]["visState"])


def data_view_of(obj: dict) -> str | None:
    if obj["type"] == "lens":
        return next(lens_layers(obj))[2]
    return source_data_view(obj)


def panels(objs: list[dict]) -> list[dict]:
    """Every object a dashboard shows as a panel, in dashboard order, each once."""
    known, seen, out = by_key(objs), set(), []
    for d in (o for o in objs if o["type"] == "dashboard"):
        for r in d["references"]:
            key = (r["type"], r["id"])
            if key not in seen:
                seen.add(key)
                out.append(known[key])
    return out


def dashboard_panels(objs: list[dict], dashboard_id: str) -> list[dict]:
    known = by_key(objs)
    return [known[(r["type"], r["id"])] for r in known[("dashboard", dashboard_id)]["references"]]


# ---- KQL subset → query DSL --------------------------------------------------------------------

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
    """The query DSL for the KQL subset the saved objects use (Kibana's own translation:
    `f : *` → exists, `f : "v"` → a match_phrase, which on keyword and numeric fields is a term
    query, `f >= n` → range)."""
    toks = kql_tokens(q)
    if not toks:
        return {"match_all": {}}
    pos = 0

    def peek():
        return toks[pos].lower() if pos < len(toks) else None

    def take():
        nonlocal pos
        if pos >= len(toks):
            raise ValueError(f"KQL {q!r} ends early")
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
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in KQL {q!r}")
            return e
        fld, op, value = take(), take(), take()
        if op == ":":
            if value == "*":
                return {"exists": {"field": fld}}
            v = json.loads(value) if value.startswith('"') else value
            if isinstance(v, str) and re.fullmatch(r"-?\d+", v):
                v = int(v)
            return {"term": {fld: v}}
        rng = {">=": "gte", "<=": "lte", ">": "gt", "<": "lt"}.get(op)
        if rng is None:
            raise ValueError(f"KQL {q!r}: unexpected {op!r} after {fld}")
        return {"range": {fld: {rng: float(value) if "." in value else int(value)}}}

    e = or_expr()
    if pos != len(toks):
        raise ValueError(f"trailing tokens in KQL {q!r}")
    return e


def kql_fields(q: str) -> set[str]:
    out: set[str] = set()

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


def contract_b_fields() -> set[str]:
    """Field names the access-log/WAF section of docs/CONTRACTS.md promises."""
    text = (KIBANA_DIR.parents[1] / "docs" / "CONTRACTS.md").read_text()
    section = text.split("## B.", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"`([a-z_][a-z0-9_.]*)`", section))
    for m in re.finditer(r"`(aws\.(?:apigateway|waf))\.\{([^}]*)\}`", section):
        names |= {f"{m.group(1)}.{k.split('(')[0].strip()}" for k in m.group(2).split(",")}
    return names


# ---- the fields each object uses ---------------------------------------------------------------

def lens_queries(obj: dict, layer: dict) -> list[str]:
    qs = [obj["attributes"]["state"]["query"]["query"]]
    for col in layer["columns"].values():
        if col.get("filter"):
            qs.append(col["filter"]["query"])
        for f in col.get("params", {}).get("filters", []):
            qs.append(f["input"]["query"])
    return [q for q in qs if q]


VIS_AGG_OPS = {"count": "count", "terms": "terms", "date_histogram": "date_histogram", "filters": "filters",
               "avg": "average", "sum": "sum", "max": "max", "min": "min", "percentiles": "percentile"}


def used_fields(objs: list[dict]) -> list[tuple[str, str, str, str]]:
    """(object id, data view id, field, operation) for every field a panel or saved search uses.
    Operations: Lens operation types (terms, date_histogram, percentile, average, sum, max,
    count), `filter` (a KQL query), `column` (a saved search column)."""
    out = []
    for o in objs:
        if o["type"] == "lens":
            for _, layer, dv in lens_layers(o):
                for col in layer["columns"].values():
                    f = col.get("sourceField")
                    if f and f != "___records___":
                        out.append((o["id"], dv, f, col["operationType"]))
                for q in lens_queries(o, layer):
                    out.extend((o["id"], dv, f, "filter") for f in kql_fields(q))
        elif o["type"] == "visualization":
            dv = source_data_view(o)
            for agg in vis_state(o)["aggs"]:
                if agg["params"].get("field"):
                    out.append((o["id"], dv, agg["params"]["field"], VIS_AGG_OPS[agg["type"]]))
                for f in agg["params"].get("filters", []):
                    out.extend((o["id"], dv, fld, "filter") for fld in kql_fields(f["input"]["query"]))
            out.extend((o["id"], dv, f, "filter") for f in kql_fields(search_source(o)["query"]["query"]))
        elif o["type"] == "search":
            dv = source_data_view(o)
            out.extend((o["id"], dv, f, "column") for f in o["attributes"].get("columns", []))
            out.extend((o["id"], dv, f, "filter") for f in kql_fields(search_source(o)["query"]["query"]))
    return out


# ---- mappings ----------------------------------------------------------------------------------

def flatten_mapping(props: dict, prefix: str = "") -> dict[str, str]:
    """Dotted path → type, with multi-fields (error.message.keyword)."""
    out: dict[str, str] = {}
    for name, spec in props.items():
        path = f"{prefix}{name}"
        if "properties" in spec and "type" not in spec:
            out.update(flatten_mapping(spec["properties"], path + "."))
            continue
        out[path] = spec.get("type", "object")
        for sub, subspec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = subspec["type"]
    return out


def field_type(types: dict[str, str], path: str) -> str | None:
    if path in types:
        return types[path]
    # app.<key> lives inside the one flattened field.
    head = path.split(".", 1)[0]
    return "flattened" if types.get(head) == "flattened" else None


def type_problem(op: str, t: str | None) -> str | None:
    """Why a field of type `t` can't serve operation `op`, or None."""
    if t is None:
        return "not mapped"
    if op == "terms" and t not in TERMS_TYPES:
        return f"terms on a {t} field"
    if op in METRIC_OPS and t not in NUMERIC and not (op in ("max", "min") and t in DATES):
        return f"{op} on a {t} field"
    if op == "date_histogram" and t not in DATES:
        return f"date_histogram on a {t} field"
    return None


# ---- talking to a cluster ----------------------------------------------------------------------

@dataclass
class Cluster:
    """An Elasticsearch-API endpoint: the emulator, or a real cluster with credentials."""
    url: str
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    emulator: bool = False
    notes: list[str] = dc_field(default_factory=list)

    def request(self, method: str, path: str, body=None, ctype: str = "application/json"):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = {"Content-Type": ctype}
        if self.api_key:
            headers["Authorization"] = f"ApiKey {self.api_key}"
        elif self.username:
            token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                return e.code, json.loads(raw or b"null")
            except ValueError:
                return e.code, raw.decode(errors="replace")

    def mapping_types(self, index: str) -> dict[str, str]:
        """Dotted field → type over every index behind `index` (a conflict is reported as
        `a|b`, which no operation accepts)."""
        st, body = self.request("GET", f"/{index}/_mapping")
        if st != 200:
            raise AssertionError(f"GET /{index}/_mapping: {st} {body}")
        out: dict[str, str] = {}
        for spec in body.values():
            for path, t in flatten_mapping(spec["mappings"].get("properties", {})).items():
                out[path] = t if out.get(path, t) == t else f"{out[path]}|{t}"
        return out


# ---- panels → aggregations ---------------------------------------------------------------------

# What an emulator may lack, and the equivalent checked instead (the test says which it used):
# - `percentiles` ("Unknown aggregation type"): `stats` on the same field in the same buckets shows
#   the values the percentiles would be computed from exist;
# - `max`/`min` of a date answered null: `top_hits` sorted on the field returns the same date.
SUBSTITUTES = ("percentiles", "date_minmax")
SUBSTITUTE_NAMES = {"percentiles": "percentiles aggregation", "date_minmax": "max/min of a date (answers null)"}


@dataclass
class Column:
    cid: str
    op: str  # date_histogram, terms, filters, count, percentile, average, sum, max, min
    field: str | None = None
    bucketed: bool = False
    data_type: str = "number"
    size: int = 10
    missing: bool = False
    order_by: str | None = None
    filters: list[tuple[str, str]] = dc_field(default_factory=list)  # (label, kql)
    where: str | None = None  # a metric's own KQL filter
    percentile: float = 50


@dataclass
class Panel:
    oid: str
    title: str
    data_view: str
    query: str
    columns: list[Column]


def panel_of(obj: dict) -> Panel:
    if obj["type"] == "lens":
        (_, layer, dv), = list(lens_layers(obj))
        cols = []
        for cid in layer["columnOrder"]:
            c = layer["columns"][cid]
            p = c.get("params", {})
            cols.append(Column(
                cid, c["operationType"], c.get("sourceField"), c["isBucketed"], c.get("dataType", "number"),
                p.get("size", 10), p.get("missingBucket", False),
                p.get("orderBy", {}).get("columnId") if p.get("orderBy", {}).get("type") == "column" else None,
                [(f["label"], f["input"]["query"]) for f in p.get("filters", [])],
                c["filter"]["query"] if c.get("filter") else None, p.get("percentile", 50)))
        return Panel(obj["id"], obj["attributes"]["title"], dv, obj["attributes"]["state"]["query"]["query"], cols)
    if obj["type"] == "visualization":
        vs = vis_state(obj)
        # Kibana nests bucket aggregations split → segment → group, metrics innermost.
        order = {"split": 0, "segment": 1, "group": 2, "metric": 3}
        cols = []
        for agg in sorted((a for a in vs["aggs"] if a.get("enabled", True)), key=lambda a: order[a["schema"]]):
            p = agg["params"]
            op = VIS_AGG_OPS[agg["type"]]
            cols.append(Column(
                agg["id"], op, p.get("field"), agg["schema"] != "metric",
                "date" if op == "date_histogram" else "string", p.get("size", 10), p.get("missingBucket", False),
                p.get("orderBy") if op == "terms" else None,
                [(f.get("label") or f["input"]["query"], f["input"]["query"]) for f in p.get("filters", [])],
                None, (p.get("percents") or [50])[0]))
        return Panel(obj["id"], obj["attributes"]["title"], source_data_view(obj), search_source(obj)["query"]["query"],
                     cols)
    raise ValueError(f"{obj['type']} {obj['id']} is not a chart panel")


def panel_aggs(panel: Panel, substitute: frozenset = frozenset()) -> dict:
    """The aggregations of a panel: bucket columns nested in order, metrics innermost."""
    buckets = [c for c in panel.columns if c.bucketed]
    metrics = [c for c in panel.columns if not c.bucketed]
    by_id = {c.cid: c for c in panel.columns}

    def metric_agg(c: Column):
        if c.op == "count":
            # Lens counts documents: the bucket's doc_count (in a filter agg when filtered).
            return {"filter": kql_to_es(c.where) if c.where else {"match_all": {}}}
        if c.op in ("percentile", "median"):
            agg = ({"stats": {"field": c.field}} if "percentiles" in substitute
                   else {"percentiles": {"field": c.field, "percents": [c.percentile]}})
        elif c.op in ("max", "min") and c.data_type == "date" and "date_minmax" in substitute:
            agg = {"top_hits": {"size": 1, "sort": [{c.field: "desc" if c.op == "max" else "asc"}], "_source": [c.field]}}
        else:
            agg = {METRIC_OPS[c.op]: {"field": c.field}}
        if c.where:
            return {"filter": kql_to_es(c.where), "aggs": {"v": agg}}
        return agg

    inner = {c.cid: metric_agg(c) for c in metrics}
    for c in reversed(buckets):
        if c.op == "date_histogram":
            agg = {"date_histogram": {"field": c.field, "fixed_interval": "5m", "min_doc_count": 1}}
        elif c.op == "terms":
            agg = {"terms": {"field": c.field, "size": c.size}}
            if c.missing:
                # Lens's "include documents without this field"; "(missing value)" in Kibana.
                agg["terms"]["missing"] = "__missing__" if c.data_type in ("string", "ip") else -1
            target = by_id.get(c.order_by or "")
            if target and not target.bucketed and target.op in ("average", "sum", "max", "min") and not target.where:
                if not (target.data_type == "date" and "date_minmax" in substitute):
                    agg["terms"]["order"] = {target.cid: "desc"}
        elif c.op == "filters":
            agg = {"filters": {"filters": {label: kql_to_es(q) for label, q in c.filters}}}
        else:
            raise AssertionError(f"{panel.oid}: bucket operation {c.op} not handled")
        agg["aggs"] = inner
        inner = {c.cid: agg}
    return inner


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
        return node["count"] or None
    return node.get("value")


@dataclass
class PanelResult:
    oid: str
    answer: dict
    # column id → bucket keys seen (bucket columns) or values seen (metric columns)
    seen: dict[str, list]
    substituted: list[str]


def walk_buckets(node: dict, buckets: list[Column], metrics: list[Column], seen: dict):
    """Records, per column, the non-empty buckets' keys and the metric values: a count above 0
    (so a filtered count's filter matches something), any other metric not null (a sum of zeros
    is a value: nothing is retried against an emulator that never answers 429)."""
    if not buckets:
        for m in metrics:
            v = metric_value(node[m.cid])
            is_count = m.op == "count"
            if ((v or 0) > 0) if is_count else v is not None:
                seen.setdefault(m.cid, []).append(v)
        return
    agg = node[buckets[0].cid]
    bks = agg["buckets"]
    items = list(bks.items()) if isinstance(bks, dict) else [(b.get("key_as_string", b["key"]), b) for b in bks]
    for key, b in items:
        if b["doc_count"] > 0:
            seen.setdefault(buckets[0].cid, []).append(key)
            walk_buckets(b, buckets[1:], metrics, seen)


def run_panel(cluster: Cluster, index: str, obj: dict, extra_filter: dict | None = None) -> PanelResult:
    """Runs a panel's query and aggregations; raises AssertionError naming the columns that got
    no bucket or value. On an emulator, substitutes what it lacks (SUBSTITUTES) and says so."""
    panel = panel_of(obj)
    buckets = [c for c in panel.columns if c.bucketed]
    metrics = [c for c in panel.columns if not c.bucketed]
    query = kql_to_es(panel.query)
    if extra_filter:
        query = {"bool": {"filter": [query, extra_filter]}}
    substitute: set[str] = set()
    while True:
        aggs = panel_aggs(panel, frozenset(substitute))
        st, answer = cluster.request("POST", f"/{index}/_search", {"size": 0, "query": query, "aggs": aggs})
        text = json.dumps(answer)
        if st == 400 and "percentiles" in text and "percentiles" not in substitute and cluster.emulator:
            substitute.add("percentiles")
            continue
        assert st == 200, f"{panel.oid}: {st} {text[:2000]}"
        seen: dict = {}
        walk_buckets(answer["aggregations"], buckets, metrics, seen)
        missing = [c.cid for c in panel.columns if not seen.get(c.cid)]
        date_minmax = [c for c in missing if next(x for x in panel.columns if x.cid == c).op in ("max", "min")]
        if date_minmax and "date_minmax" not in substitute and cluster.emulator:
            substitute.add("date_minmax")
            continue
        assert not missing, (f"{panel.oid} ({panel.title}): no bucket/value for columns {missing}: "
                             f"{text[:1500]}")
        for s in sorted(substitute):
            cluster.notes.append(f"{panel.oid}: the emulator has no {SUBSTITUTE_NAMES[s]}; checked with "
                                 f"{'stats' if s == 'percentiles' else 'top_hits'} instead")
        return PanelResult(panel.oid, answer, seen, sorted(substitute))


def run_search(cluster: Cluster, index: str, obj: dict, size: int = 5) -> list[dict]:
    """The newest documents of a saved search (its query, its columns)."""
    ssj = search_source(obj)
    body = {"size": size, "query": kql_to_es(ssj["query"]["query"]), "sort": [{"@timestamp": "desc"}],
            "_source": obj["attributes"]["columns"] + ["@timestamp"]}
    st, answer = cluster.request("POST", f"/{index}/_search", body)
    assert st == 200, f"{obj['id']}: {st} {answer}"
    return [h["_source"] for h in answer["hits"]["hits"]]
