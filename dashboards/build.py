#!/usr/bin/env python3
"""Writes the Kibana saved objects in dashboards/kibana/*.ndjson from the definitions below.

    python3 dashboards/build.py           # rewrite the NDJSON files
    python3 dashboards/build.py --check   # exit 1 if a file differs from what this script writes

Lens objects are verbose and their parts must agree with each other (column ids, accessors,
references); writing them from one definition keeps ids, labels and filters consistent and
reviewable. The NDJSON files stay the product (`shipper setup` embeds them) and are checked in;
`dashboards/tests` fails when they and this script disagree.

Format: Kibana 8.19 and 9.x import these. Every object carries `typeMigrationVersion` ≤ 8.19
and `coreMigrationVersion` 8.8.0, so newer Kibanas migrate them forward on import (a 9.x Kibana,
for instance, turns a Lens XY layer's `splitAccessor` into `splitAccessors`). Dashboards hold
their panels by reference (`panelRefName`), so re-importing with `overwrite=true` updates them in
place.

Which documents each panel counts (docs/CONTRACTS.md, section B): the Lambda's own request lines
are `service.name : "vocab-api"`, the API Gateway access log lines `event.provider :
"apigateway"`, the WAF's `event.provider : "waf"`, the web app's client events `service.name :
"vocab-web"`. Access-log and WAF documents also carry `http.response.status_code`, so no panel
selects requests by that field alone: each names its source, and nothing is counted twice.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent / "kibana"

LENS_VERSION = "8.9.0"
SEARCH_VERSION = "8.0.0"
DATA_VIEW_VERSION = "8.0.0"
VIS_VERSION = "8.5.0"
DASHBOARD_VERSION = "8.9.0"
CORE_VERSION = "8.8.0"

LOGS = "cloudwatch-logs"
HEALTH = "shipper-health"
DEADLETTER = "shipper-deadletter"

# ---- the documents each view selects ----------------------------------------------------------
LAMBDA_REQUESTS = 'service.name : "vocab-api" and http.response.status_code : *'
ACCESS_LOG = 'event.provider : "apigateway"'
WAF = 'event.provider : "waf"'
WAF_BLOCKS = 'event.provider : "waf" and event.action : "block"'
WEB = 'service.name : "vocab-web"'
# Contract A: client.error and client.api_error lines are level error, client.page_load lines level
# info and the only ones with event.duration. Selected by those (log.level, event.duration: ECS
# fields the shipper maps from any application line) rather than by event.action.
WEB_ERRORS = 'service.name : "vocab-web" and log.level : "error"'
WEB_PAGE_LOADS = 'service.name : "vocab-web" and event.duration : *'
# Answered by API Gateway itself: no integration (Lambda) status in the access log line.
NO_INTEGRATION = "not aws.apigateway.integration_status : *"
AUTHORIZER_FAILURES = (f'{ACCESS_LOG} and (http.response.status_code : 401 or http.response.status_code : 403) '
                       f'and {NO_INTEGRATION}')
THROTTLED = f"{ACCESS_LOG} and http.response.status_code : 429 and {NO_INTEGRATION}"

# The original system's "status" of a log line: its severity, NORMAL for lines with none (Lambda's
# START/END/REPORT among them). The shipper writes ECS's lower-case levels (parse.rs
# normalize_level: fatal, error, warn, info, debug, trace); other spellings are kept as they came.
LEVEL_BUCKETS = [
    ("CRITICAL", 'log.level : "fatal" or log.level : "critical"'),
    ("ERROR", 'log.level : "error"'),
    ("WARNING", 'log.level : "warn" or log.level : "warning"'),
    ("INFO", 'log.level : "info"'),
    ("DEBUG", 'log.level : "debug" or log.level : "trace"'),
    ("NORMAL (no level)", "not log.level : *"),
]
_KNOWN_LEVELS = " or ".join(f"({q})" for _, q in LEVEL_BUCKETS[:-1])
LEVEL_BUCKETS.insert(5, ("OTHER level", f"log.level : * and not ({_KNOWN_LEVELS})"))
# One colour per status wherever the agg-based chart draws it (its uiState `vis.colors`).
LEVEL_COLORS = {"CRITICAL": "#BD271E", "ERROR": "#E7664C", "WARNING": "#D6BF57", "INFO": "#6092C0",
                "DEBUG": "#A2ABBA", "OTHER level": "#9170B8", "NORMAL (no level)": "#D3DAE6"}

STATUS_CLASSES = [
    ("2xx/3xx", "http.response.status_code < 400"),
    ("4xx", "http.response.status_code >= 400 and http.response.status_code < 500"),
    ("5xx", "http.response.status_code >= 500"),
]


# ---- Lens columns ------------------------------------------------------------------------------

def kql(q: str) -> dict:
    return {"query": q, "language": "kuery"}


def date_histogram() -> dict:
    return {"label": "@timestamp", "dataType": "date", "operationType": "date_histogram",
            "sourceField": "@timestamp", "isBucketed": True, "scale": "interval",
            "params": {"interval": "auto", "includeEmptyRows": True, "dropPartials": False}}


def terms(field: str, size: int, order_by: str, label: str | None = None, data_type: str = "string",
          other: bool = True, missing: bool = False) -> dict:
    col = {"label": label or f"Top {size} values of {field}", "dataType": data_type, "operationType": "terms",
           "sourceField": field, "isBucketed": True, "scale": "ordinal",
           "params": {"size": size, "orderBy": {"type": "column", "columnId": order_by}, "orderDirection": "desc",
                      "otherBucket": other, "missingBucket": missing, "parentFormat": {"id": "terms"}}}
    if label:
        col["customLabel"] = True
    return col


def filters(label: str, buckets: list[tuple[str, str]]) -> dict:
    return {"label": label, "customLabel": True, "dataType": "string", "operationType": "filters",
            "isBucketed": True, "scale": "ordinal",
            "params": {"filters": [{"input": kql(q), "label": name} for name, q in buckets]}}


def count(label: str, where: str | None = None) -> dict:
    col = {"label": label, "dataType": "number", "operationType": "count", "sourceField": "___records___",
           "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True}}
    if where:
        col["filter"] = kql(where)
        col["customLabel"] = True
    return col


def metric(op: str, field: str, label: str, where: str | None = None, data_type: str = "number", **params) -> dict:
    col = {"label": label, "customLabel": True, "dataType": data_type, "operationType": op, "sourceField": field,
           "isBucketed": False, "scale": "ratio", "params": {"emptyAsNull": True, **params}}
    if where:
        col["filter"] = kql(where)
    return col


def percentile(field: str, p: int, label: str, where: str | None = None) -> dict:
    return metric("percentile", field, label, where, percentile=p)


def last_seen() -> dict:
    return metric("max", "@timestamp", "Last seen", data_type="date")


# ---- Lens visualizations -----------------------------------------------------------------------

def xy(series: str, x: str, accessors: list[str], split: str | None = None) -> dict:
    layer = {"layerId": "layer1", "layerType": "data", "seriesType": series, "xAccessor": x, "accessors": accessors}
    if split:
        layer["splitAccessor"] = split
    return {"legend": {"isVisible": True, "position": "right"}, "valueLabels": "hide", "fittingFunction": "None",
            "preferredSeriesType": series, "layers": [layer],
            "axisTitlesVisibilitySettings": {"x": True, "yLeft": True, "yRight": True}}


def table(columns: list[str]) -> dict:
    return {"layerId": "layer1", "layerType": "data", "columns": [{"columnId": c} for c in columns]}


def lens(oid: str, title: str, description: str, columns: dict[str, dict], vis: dict, query: str = "",
         data_view: str = LOGS) -> dict:
    vis_type = "lnsXY" if "layers" in vis else "lnsDatatable"
    layer = {"columnOrder": list(columns), "columns": columns, "incompleteColumns": {}}
    return {
        "type": "lens", "id": oid,
        "attributes": {
            "title": title, "description": description, "visualizationType": vis_type,
            "state": {"datasourceStates": {"formBased": {"layers": {"layer1": layer}}},
                      "visualization": vis, "query": kql(query), "filters": [], "internalReferences": [],
                      "adHocDataViews": {}},
        },
        "references": [{"type": "index-pattern", "id": data_view, "name": "indexpattern-datasource-layer-layer1"}],
        "typeMigrationVersion": LENS_VERSION, "coreMigrationVersion": CORE_VERSION, "managed": False,
    }


def over_time(oid: str, title: str, description: str, split: dict | None, query: str, metrics: dict[str, dict] | None = None,
              series: str = "bar_stacked", data_view: str = LOGS) -> dict:
    metrics = metrics or {"n": count("Count")}
    cols = {"ts": date_histogram(), **({"split": split} if split else {}), **metrics}
    return lens(oid, title, description, cols, xy(series, "ts", list(metrics), "split" if split else None), query, data_view)


def data_table(oid: str, title: str, description: str, columns: dict[str, dict], query: str = "",
               data_view: str = LOGS) -> dict:
    return lens(oid, title, description, columns, table(list(columns)), query, data_view)


# ---- other object types ------------------------------------------------------------------------

def data_view(oid: str, title: str, name: str, field_formats: dict | None = None) -> dict:
    attrs = {"title": title, "name": name, "timeFieldName": "@timestamp", "allowNoIndex": True}
    if field_formats:
        attrs["fieldFormatMap"] = json.dumps(field_formats)
    return {"type": "index-pattern", "id": oid, "attributes": attrs, "references": [],
            "typeMigrationVersion": DATA_VIEW_VERSION, "coreMigrationVersion": CORE_VERSION, "managed": False}


def search_source(query: str, with_index: bool = True) -> str:
    s = {"query": kql(query), "filter": []}
    if with_index:
        s["indexRefName"] = "kibanaSavedObjectMeta.searchSourceJSON.index"
    return json.dumps(s)


INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"


def saved_search(oid: str, title: str, description: str, columns: list[str], query: str = "",
                 data_view: str = LOGS) -> dict:
    return {
        "type": "search", "id": oid,
        "attributes": {"title": title, "description": description, "columns": columns,
                       "sort": [["@timestamp", "desc"]], "grid": {}, "hideChart": False, "isTextBasedQuery": False,
                       "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(query)}},
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": data_view}],
        "typeMigrationVersion": SEARCH_VERSION, "coreMigrationVersion": CORE_VERSION, "managed": False,
    }


def small_multiples(oid: str, title: str, description: str, split_field: str, series: list[tuple[str, str]],
                    colors: dict[str, str], query: str = "", data_view: str = LOGS) -> dict:
    """An aggregation-based vertical bar chart split into one chart per `split_field` value (a row
    each), stacked by named filters: Lens has one breakdown per chart, and this needs two (log
    group and status) plus a named bucket for unleveled lines. Clicking a bar filters the
    dashboard by its log group, its status filter and its time bucket. The params are the
    histogram type's defaults (src/plugins/vis_types/xy, histogramVisTypeDefinition); the
    split aggregation's `row: true` lays the charts out in rows (Kibana's vis schemas read
    `split_row`/`split_column` from that agg param)."""
    vis_state = {
        "title": title, "type": "histogram",
        "aggs": [
            {"id": "1", "enabled": True, "type": "count", "params": {"emptyAsNull": False}, "schema": "metric"},
            {"id": "2", "enabled": True, "type": "terms", "schema": "split",
             "params": {"field": split_field, "orderBy": "1", "order": "desc", "size": 10, "otherBucket": False,
                        "otherBucketLabel": "Other", "missingBucket": False, "missingBucketLabel": "Missing",
                        "row": True}},
            {"id": "3", "enabled": True, "type": "date_histogram", "schema": "segment",
             "params": {"field": "@timestamp", "useNormalizedEsInterval": True, "scaleMetricValues": False,
                        "interval": "auto", "drop_partials": False, "min_doc_count": 1, "extended_bounds": {}}},
            {"id": "4", "enabled": True, "type": "filters", "schema": "group",
             "params": {"filters": [{"input": kql(q), "label": name} for name, q in series]}},
        ],
        "params": {
            "type": "histogram",
            "grid": {"categoryLines": False},
            "categoryAxes": [{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": True,
                              "scale": {"type": "linear"}, "labels": {"show": True, "filter": True, "truncate": 100},
                              "title": {}, "style": {}}],
            "valueAxes": [{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": True,
                           "scale": {"type": "linear", "mode": "normal"},
                           "labels": {"show": True, "rotate": 0, "filter": True, "truncate": 100},
                           "title": {"text": "Log lines"}, "style": {}}],
            "seriesParams": [{"show": True, "type": "histogram", "mode": "stacked", "data": {"label": "Log lines", "id": "1"},
                              "interpolate": "linear", "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": True,
                              "lineWidth": 2, "showCircles": True, "circlesRadius": 1}],
            "radiusRatio": 0, "addTooltip": True, "detailedTooltip": True,
            "palette": {"type": "palette", "name": "default"},
            "addLegend": True, "legendPosition": "right", "legendSize": "auto", "times": [], "addTimeMarker": False,
            "truncateLegend": True, "maxLegendLines": 1, "labels": {"show": False},
            "thresholdLine": {"show": False, "value": 10, "width": 1, "style": "full", "color": "#E7664C"},
        },
    }
    return {
        "type": "visualization", "id": oid,
        "attributes": {"title": title, "description": description, "visState": json.dumps(vis_state),
                       "uiStateJSON": json.dumps({"vis": {"colors": colors}}), "version": 1,
                       "kibanaSavedObjectMeta": {"searchSourceJSON": search_source(query)}},
        "references": [{"name": INDEX_REF, "type": "index-pattern", "id": data_view}],
        "typeMigrationVersion": VIS_VERSION, "coreMigrationVersion": CORE_VERSION, "managed": False,
    }


# Dashboard id -> the objects of its panels, in order.
PANELS: dict[str, list[dict]] = {}


def dashboard(oid: str, title: str, description: str, rows: list[list[tuple[dict, int, int]]]) -> dict:
    """`rows`: each a list of (object, width, height) laid left to right on a 48-column grid."""
    panels, refs, y = [], [], 0
    n = 0
    PANELS[oid] = []
    for row in rows:
        x, height = 0, 0
        for obj, w, h in row:
            PANELS[oid].append(obj)
            n += 1
            pid = f"p{n}"
            panels.append({"version": DASHBOARD_VERSION, "type": obj["type"],
                           "gridData": {"x": x, "y": y, "w": w, "h": h, "i": pid}, "panelIndex": pid,
                           "embeddableConfig": {"enhancements": {}}, "panelRefName": f"panel_{pid}"})
            refs.append({"name": f"panel_{pid}", "type": obj["type"], "id": obj["id"]})
            x += w
            height = max(height, h)
        assert x <= 48, f"{oid}: row wider than the grid"
        y += height
    return {
        "type": "dashboard", "id": oid,
        "attributes": {"title": title, "description": description, "timeRestore": True, "timeFrom": "now-24h",
                       "timeTo": "now", "refreshInterval": {"pause": False, "value": 30000},
                       "optionsJSON": json.dumps({"useMargins": True, "syncColors": False, "syncCursor": True,
                                                  "syncTooltips": False, "hidePanelTitles": False}),
                       "panelsJSON": json.dumps(panels),
                       "kibanaSavedObjectMeta": {"searchSourceJSON": search_source("", with_index=False)}},
        "references": refs,
        "typeMigrationVersion": DASHBOARD_VERSION, "coreMigrationVersion": CORE_VERSION, "managed": False,
    }


# ---- data views and searches -------------------------------------------------------------------

NS_AS_MS = {"id": "duration", "params": {"inputFormat": "nanoseconds", "outputFormat": "asMilliseconds",
                                         "outputPrecision": 1}}

DATA_VIEWS = [
    data_view(LOGS, "logs-cloudwatch*-*,cloudwatch-2*", "CloudWatch logs (shipper)", {"event.duration": NS_AS_MS}),
    data_view(HEALTH, "logs-shipper.health-*,cloudwatch-health-*", "Shipper health"),
    data_view(DEADLETTER, "logs-shipper.deadletter-*,cloudwatch-deadletter-*", "Shipper dead letters"),
]

RAW_LOGS = saved_search("cloudwatch-raw-logs", "CloudWatch raw logs", "Every event the shipper indexed, newest first.",
                        ["aws.cloudwatch.log_group", "log.level", "message"])
LOG_LINES_BY_STATUS = saved_search(
    "log-lines-by-status", "Log lines by status",
    "Every log line with its log group and status (log.level; none = NORMAL). Click a bar of a "
    "status chart on the same dashboard to see the lines behind it.",
    ["aws.cloudwatch.log_group", "log.level", "event.action", "message"])
LAMBDA_REQUEST_LINES = saved_search(
    "vocab-api-requests", "Vocab API requests (the Lambda's lines)", "One line per request that reached a vocab API Lambda.",
    ["http.request.method", "http.route", "http.response.status_code", "event.duration", "user.id", "error.type", "message"],
    LAMBDA_REQUESTS)
EDGE_REQUEST_LINES = saved_search(
    "edge-requests", "API Gateway and WAF request lines",
    "Every request API Gateway answered (access log) and every request the WAF judged, with the rule "
    "and client IP.",
    ["event.provider", "event.action", "http.request.method", "url.path", "http.response.status_code", "source.ip",
     "rule.id", "aws.apigateway.authorizer_error"],
    'event.provider : "apigateway" or event.provider : "waf"')
WEB_EVENT_LINES = saved_search(
    "vocab-web-client-events", "Web app client events",
    "What the web app reported about itself: uncaught errors, failed API calls as the browser saw them, page loads.",
    ["log.level", "url.path", "error.type", "error.message", "event.duration", "user_agent.original"], WEB)
DEAD_LETTER_RECORDS = saved_search(
    "shipper-dead-letter-records", "Shipper dead-letter records",
    "Events Elasticsearch refused, with the reason. deadletter.payload replays with `shipper ship`.",
    ["error.type", "error.message", "deadletter.status", "deadletter.target", "aws.cloudwatch.log_group", "message"],
    data_view=DEADLETTER)
SEARCHES = [RAW_LOGS, LOG_LINES_BY_STATUS, LAMBDA_REQUEST_LINES, EDGE_REQUEST_LINES, WEB_EVENT_LINES,
            DEAD_LETTER_RECORDS]

# ---- Vocab API by status -----------------------------------------------------------------------

LOG_STATUS_OVER_TIME = over_time(
    "log-status-over-time", "Log lines by status over time",
    "Every log line of every log group by its status: its level, or NORMAL for lines with none "
    "(Lambda's START/END/REPORT among them). Click a bar to filter the dashboard by it.",
    filters("Status", LEVEL_BUCKETS), "", {"n": count("Log lines")})
LOG_STATUS_PER_GROUP = small_multiples(
    "log-status-by-log-group", "Log lines by status, one chart per log group",
    "The same statuses over time, split by aws.cloudwatch.log_group. Click a bar to filter the "
    "dashboard (and the log lines below) by its log group, status and time.",
    "aws.cloudwatch.log_group", LEVEL_BUCKETS, LEVEL_COLORS)

STATUS_CODE_SPLIT = terms("http.response.status_code", 10, "n", "Status code", data_type="number")
REQUESTS_ACCESS_LOG = over_time(
    "requests-by-status-apigateway", "Every request by status (API Gateway access log)",
    "Every request API Gateway answered, including those that never reached a Lambda (401 from the "
    "JWT authorizer, 429 from stage throttling).",
    STATUS_CODE_SPLIT, ACCESS_LOG, {"n": count("Requests")})
REQUESTS_LAMBDA = over_time(
    "vocab-api-requests-by-status", "Requests by status (the Lambda's own lines)",
    "Requests that reached a vocab API Lambda, by the status it answered (service.name vocab-api).",
    STATUS_CODE_SPLIT, LAMBDA_REQUESTS, {"n": count("Requests")})
ERROR_SHARE = over_time(
    "vocab-api-error-rate", "2xx-3xx / 4xx / 5xx share of every request (API Gateway)",
    "The error rate of every request API Gateway answered.",
    filters("Status class", STATUS_CLASSES), ACCESS_LOG, {"n": count("Requests")}, series="bar_percentage_stacked")
REFUSED_BEFORE_LAMBDA = over_time(
    "requests-refused-before-lambda", "Refused before the Lambda: WAF blocks, authorizer, throttling",
    "Requests no Lambda saw: blocked by the WAF at CloudFront (403), refused by API Gateway's JWT "
    "authorizer (401/403) or by stage throttling (429).",
    filters("Refused by", [("WAF block (403)", WAF_BLOCKS), ("Authorizer (401/403)", AUTHORIZER_FAILURES),
                           ("Throttled (429)", THROTTLED)]),
    f"{WAF_BLOCKS} or ({ACCESS_LOG} and {NO_INTEGRATION})", {"n": count("Requests")})

APIGW_MS = f"{ACCESS_LOG}"
LAMBDA_MS = f"{LAMBDA_REQUESTS}"
LATENCY_METRICS = {
    f"{src}{p}": percentile("event.duration", p, f"{name} p{p}", where)
    for src, name, where in (("gw", "API Gateway", APIGW_MS), ("fn", "Lambda", LAMBDA_MS))
    for p in (50, 95, 99)
}
LATENCY_OVER_TIME = over_time(
    "latency-apigateway-vs-lambda", "Latency p50 / p95 / p99: API Gateway vs the Lambda",
    "event.duration of the access log (API Gateway's responseLatency) and of the Lambda's request "
    "lines. The gap is what the Lambda doesn't see: cold start (init) and the integration.",
    None, f"{ACCESS_LOG} or ({LAMBDA_REQUESTS})", LATENCY_METRICS, series="line")
LATENCY_BY_ROUTE = data_table(
    "vocab-api-latency-by-route", "Latency per route: API Gateway vs the Lambda (p50 / p95 / p99)",
    "Per route template (http.route): requests API Gateway answered, then each side's percentiles.",
    {"route": terms("http.route", 25, "n", "Route"), "n": count("Requests (API Gateway)", APIGW_MS),
     **LATENCY_METRICS},
    f"{ACCESS_LOG} or ({LAMBDA_REQUESTS})")
SLOWEST_ROUTES = data_table(
    "vocab-api-slowest-routes", "Slowest routes in the Lambda (average latency)",
    "Routes by the Lambda's average event.duration.",
    {"route": terms("http.route", 10, "avg", "Route", other=False),
     "avg": metric("average", "event.duration", "Average latency"), "n": count("Requests")},
    LAMBDA_REQUESTS)
TOP_ERRORS = data_table(
    "vocab-api-top-errors", "Top error messages (the Lambda's 4xx / 5xx)",
    "error.type and error.message of the requests a Lambda answered with 4xx or 5xx.",
    {"type": terms("error.type", 10, "n", "error.type"),
     "msg": terms("error.message.keyword", 10, "n", "error.message"),
     "n": count("Requests")},
    f"{LAMBDA_REQUESTS} and http.response.status_code >= 400")

WAF_BY_RULE = over_time(
    "waf-blocks-by-rule", "WAF: blocked requests by rule",
    "Requests the WAF blocked, by terminating rule (rule.id: the rate rule or a managed rule group).",
    terms("rule.id", 10, "n", "Rule"), WAF_BLOCKS, {"n": count("Blocked requests")})
WAF_BY_IP = over_time(
    "waf-blocks-by-client-ip", "WAF: blocked requests by client IP",
    "Requests the WAF blocked, by client IP: the rate rule's effect on each client.",
    terms("source.ip", 10, "n", "Client IP", data_type="ip"), WAF_BLOCKS, {"n": count("Blocked requests")})
AUTHORIZER_TABLE = data_table(
    "authorizer-failures", "Authorizer failures by reason and route",
    "Requests API Gateway's JWT authorizer refused (401/403 without an integration): the "
    "authorizer's error, the route, how many and when last.",
    {"reason": terms("aws.apigateway.authorizer_error", 10, "n", "Authorizer error", missing=True),
     "route": terms("aws.apigateway.route_key", 10, "n", "Route key"),
     "n": count("Requests"), "last": last_seen()},
    AUTHORIZER_FAILURES)

WEB_ERRORS_BY_PAGE = data_table(
    "web-client-errors-by-page", "Web app: client errors by page and type",
    "Uncaught errors and failed API calls (error.type http_<status> or network) the web app reported, by "
    "page (url.path) and error type.",
    {"page": terms("url.path", 20, "n", "Page"), "type": terms("error.type", 10, "n", "Error type"),
     "n": count("Errors"), "last": last_seen()},
    WEB_ERRORS)
WEB_ERRORS_OVER_TIME = over_time(
    "web-client-errors-over-time", "Web app: client errors over time by type",
    "Client errors reported by the web app, stacked by error.type.",
    terms("error.type", 10, "n", "Error type"), WEB_ERRORS, {"n": count("Errors")})
WEB_PAGE_LOAD_TABLE = data_table(
    "web-page-load-by-page", "Web app: page-load time per page (p50 / p95 / p99)",
    "Page loads the browsers reported (event.duration), per page.",
    {"page": terms("url.path", 20, "n", "Page"), "n": count("Page loads"),
     **{f"p{p}": percentile("event.duration", p, f"p{p}") for p in (50, 95, 99)}},
    WEB_PAGE_LOADS)
WEB_PAGE_LOADS_OVER_TIME = over_time(
    "web-page-load-over-time", "Web app: page-load time p50 / p95 / p99",
    "Page-load percentiles over time, every page.",
    None, WEB_PAGE_LOADS, {f"p{p}": percentile("event.duration", p, f"p{p}") for p in (50, 95, 99)}, series="line")

BY_STATUS = dashboard(
    "vocab-api-by-status", "Vocab API by status",
    "Every request by HTTP status (API Gateway beside the Lambda), what was refused before the "
    "Lambda (WAF, authorizer, throttling), latency on both sides, log lines by status (severity) "
    "per log group, and the web app's own errors and page loads.",
    [
        [(REQUESTS_ACCESS_LOG, 24, 14), (REQUESTS_LAMBDA, 24, 14)],
        [(ERROR_SHARE, 24, 14), (REFUSED_BEFORE_LAMBDA, 24, 14)],
        [(LATENCY_OVER_TIME, 24, 15), (LATENCY_BY_ROUTE, 24, 15)],
        [(WAF_BY_RULE, 24, 14), (WAF_BY_IP, 24, 14)],
        [(AUTHORIZER_TABLE, 24, 12), (TOP_ERRORS, 24, 12)],
        [(SLOWEST_ROUTES, 24, 12), (EDGE_REQUEST_LINES, 24, 12)],
        [(LOG_STATUS_OVER_TIME, 48, 13)],
        [(LOG_STATUS_PER_GROUP, 48, 26)],
        [(LOG_LINES_BY_STATUS, 48, 15)],
        [(WEB_ERRORS_BY_PAGE, 24, 14), (WEB_ERRORS_OVER_TIME, 24, 14)],
        [(WEB_PAGE_LOAD_TABLE, 24, 14), (WEB_PAGE_LOADS_OVER_TIME, 24, 14)],
        [(WEB_EVENT_LINES, 48, 12)],
        [(LAMBDA_REQUEST_LINES, 48, 15)],
    ])

# ---- CloudWatch by log group -------------------------------------------------------------------

REPORT = 'event.action : "platform.report"'
GROUPS_OVER_TIME = over_time(
    "log-groups-events-over-time", "Events over time per log group", "",
    terms("aws.cloudwatch.log_group", 10, "n"), "", {"n": count("Events")})
GROUPS_TABLE = data_table(
    "log-groups-table", "Log groups: events, errors, last seen", "",
    {"group": terms("aws.cloudwatch.log_group", 50, "n", "Log group", other=False), "n": count("Events"),
     "errors": count("Errors", 'log.level : "error" or log.level : "fatal" or http.response.status_code >= 500'),
     "last": last_seen()})
REPORT_TABLE = data_table(
    "lambda-report-by-function", "Lambda REPORT per function", "",
    {"fn": terms("faas.name", 25, "inv", "Function", other=False), "inv": count("Invocations"),
     "dur": metric("average", "aws.lambda.report.duration_ms", "Avg duration (ms)"),
     "billed": metric("average", "aws.lambda.report.billed_duration_ms", "Avg billed duration (ms)"),
     "maxmem": metric("max", "aws.lambda.report.max_memory_used_mb", "Max memory used (MB)"),
     "memsize": metric("max", "aws.lambda.report.memory_size_mb", "Memory size (MB)"),
     "init": metric("average", "aws.lambda.report.init_duration_ms", "Avg init duration (ms)"),
     "cold": count("Cold starts", "aws.lambda.report.init_duration_ms : *")},
    REPORT)
REPORT_DURATION = over_time(
    "lambda-duration-over-time", "Lambda duration vs billed duration", "", None, REPORT,
    {"dur": metric("average", "aws.lambda.report.duration_ms", "Avg duration (ms)"),
     "billed": metric("average", "aws.lambda.report.billed_duration_ms", "Avg billed duration (ms)"),
     "init": metric("average", "aws.lambda.report.init_duration_ms", "Avg init duration (ms)")}, series="line")
REPORT_MEMORY = over_time(
    "lambda-memory-over-time", "Lambda max memory used vs memory size", "", None, REPORT,
    {"used": metric("max", "aws.lambda.report.max_memory_used_mb", "Max memory used (MB)"),
     "size": metric("max", "aws.lambda.report.memory_size_mb", "Memory size (MB)")}, series="line")
BY_LOG_GROUP = dashboard(
    "cloudwatch-by-log-group", "CloudWatch by log group",
    "Events per log group, errors and last seen, Lambda REPORT numbers per function.",
    [
        [(GROUPS_OVER_TIME, 48, 15)],
        [(GROUPS_TABLE, 48, 12)],
        [(REPORT_TABLE, 48, 12)],
        [(REPORT_DURATION, 24, 15), (REPORT_MEMORY, 24, 15)],
        [(RAW_LOGS, 48, 15)],
    ])

# ---- Shipper health ----------------------------------------------------------------------------

SHIPPER_EVENTS = over_time(
    "shipper-events-over-time", "Shipper: documents indexed / retried / dead-lettered", "", None, "",
    {"indexed": metric("sum", "shipper.events.indexed", "Indexed"),
     "present": metric("sum", "shipper.events.already_present", "Already present"),
     "retried": metric("sum", "shipper.events.retried", "Retried"),
     "dead": metric("sum", "shipper.events.dead_lettered", "Dead-lettered")}, series="line", data_view=HEALTH)
SHIPPER_LATENCY = over_time(
    "shipper-bulk-latency", "Shipper: bulk latency and requests", "", None, "",
    {"lat": metric("average", "shipper.bulk_latency_ms", "Avg bulk latency (ms)"),
     "req": metric("sum", "shipper.requests", "Bulk requests")}, series="line", data_view=HEALTH)
DEADLETTER_REASONS = data_table(
    "shipper-deadletter-reasons", "Shipper: dead letters by reason", "",
    {"type": terms("error.type", 10, "n", "error.type"),
     "status": terms("deadletter.status", 10, "n", "HTTP status", data_type="number"),
     "n": count("Dead letters")}, data_view=DEADLETTER)
SHIPPER_HEALTH = dashboard(
    "shipper-health", "Shipper health",
    "Documents indexed, retried and dead-lettered per invocation; the dead-letter records with their reasons.",
    [
        [(SHIPPER_EVENTS, 48, 15)],
        [(SHIPPER_LATENCY, 24, 15), (DEADLETTER_REASONS, 24, 15)],
        [(DEAD_LETTER_RECORDS, 48, 15)],
    ])


def files() -> dict[str, list[dict]]:
    """File name -> its objects: data views, searches, then per dashboard its Lens and
    visualization objects followed by the dashboard (the order `shipper setup` imports them in)."""
    out = {"data-views.ndjson": DATA_VIEWS, "searches.ndjson": SEARCHES}
    for name, dash in (("dashboard-vocab-api-by-status.ndjson", BY_STATUS),
                       ("dashboard-by-log-group.ndjson", BY_LOG_GROUP),
                       ("dashboard-shipper-health.ndjson", SHIPPER_HEALTH)):
        out[name] = [o for o in PANELS[dash["id"]] if o["type"] != "search"] + [dash]
    return out


def render(objs: list[dict]) -> str:
    return "".join(json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n" for o in objs)


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for name, objs in files().items():
        path = OUT / name
        text = render(objs)
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("out of date (run python3 dashboards/build.py): " + ", ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
