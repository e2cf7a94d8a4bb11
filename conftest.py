"""Shared fixture of dashboards/tests and tests/ (the local pipeline): `filled`, the pipeline's
data in the noida-db emulator, and in a real Elasticsearch too when ELASTICSEARCH_URL is set,
filled once per pytest process by scripts/pipeline_data.py."""

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
