"""Shared fixtures of dashboards/tests and tests/ (the local pipeline): `filled`, the pipeline's
data in the noida-db emulator, and in a real Elasticsearch too when ELASTICSEARCH_URL is set,
filled once per pytest process by scripts/pipeline_data.py; `pending`, which says when a panel
can't have data yet because the part that writes it is still being built (docs/CONTRACTS.md)."""

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
for p in (ROOT / "scripts", ROOT / "dashboards"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import panels  # noqa: E402
import pipeline_data  # noqa: E402


def clusters() -> list[str]:
    return ["emulator"] + (["elasticsearch"] if os.environ.get("ELASTICSEARCH_URL") else [])


@pytest.fixture(scope="session", params=clusters())
def filled(request):
    """(panels.Cluster, pipeline_data.Filled): the emulator, then the real cluster if set."""
    if request.param == "emulator":
        cluster = panels.Cluster(pipeline_data.noida_url(), emulator=True)
    else:
        cluster = panels.Cluster(os.environ["ELASTICSEARCH_URL"], os.environ.get("ELASTICSEARCH_USERNAME"),
                                 os.environ.get("ELASTICSEARCH_PASSWORD"), os.environ.get("ELASTICSEARCH_API_KEY"))
    return cluster, pipeline_data.session_fill(cluster.url)


@pytest.fixture(scope="session")
def pending(filled):
    """pending(obj) → why a panel can't have data yet, or None: it uses fields of contract B
    while the shipper writes no `event.provider` (the access-log/WAF parser has not landed), or
    the web app's lines while the API wrote none (contract A's client events have not landed)."""
    cluster, f = filled
    st, body = cluster.request("POST", f"/{f.logs_index}/_count", {"query": {"exists": {"field": "event.provider"}}})
    no_parser = st == 200 and body["count"] == 0
    promised = panels.contract_b_fields() - {"http.response.status_code", "url.path", "http.request.method",
                                      "event.kind", "event.action", "event.duration", "http.route"}

    def reason(obj) -> str | None:
        used = {fld for _, _, fld, _ in panels.used_fields([obj])}
        if no_parser and used & (promised | {"event.provider"}):
            return ("the shipper writes no event.provider yet: the API Gateway access-log / WAF parser and "
                    f"its mapping (docs/CONTRACTS.md section B) have not landed; uses {sorted(used & promised)}")
        if "vocab-web" in json.dumps(obj["attributes"]) and f.client_event_lines == 0:
            return ("the API wrote no service.name vocab-web line: POST /client-events "
                    "(docs/CONTRACTS.md section A) has not landed")
        return None
    return reason
