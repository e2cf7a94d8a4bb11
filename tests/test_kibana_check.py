"""scripts/kibana_check.py (the real-Kibana job's logic), run as far as it can go here: its
Elasticsearch half against the pipeline's data in the noida-db emulator, its Kibana half against
tests/kibana_double.py (a test double of Kibana's saved-objects API and dashboard page: not
Kibana), its screenshots in Debian's headless Chromium. The import into a real Kibana 9.x, its
migrations and the real rendering run only in GitHub Actions (.github/workflows/kibana.yml).
"""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "dashboards"))
import kibana_check as K  # noqa: E402
import panels as P  # noqa: E402
from kibana_double import KibanaDouble  # noqa: E402

OBJECTS = P.load_objects()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture()
def kibana():
    with KibanaDouble("elastic", "s3cret-pw") as double:
        yield double, K.Kibana(double.url, "elastic", "s3cret-pw")


def test_the_import_of_every_saved_object_succeeds_with_no_errors(kibana):
    double, client = kibana
    assert K.check_import(client, OBJECTS) == []
    assert set(double.store) == {(o["type"], o["id"]) for o in OBJECTS}


def test_a_missing_reference_fails_the_import_check(kibana):
    double, client = kibana
    ndjson = K.saved_objects_ndjson().replace('"id":"cloudwatch-logs"', '"id":"no-such-data-view"', 1)
    ctype, body = K.multipart(ndjson)
    st, raw = client.request("POST", "/api/saved_objects/_import?overwrite=true", body, ctype)
    assert st == 200 and json.loads(raw)["success"] is False
    # The check itself, on the files as they are but with a data view left out of the import:
    K_ORDER = K.IMPORT_ORDER
    try:
        K.IMPORT_ORDER = [n for n in K_ORDER if n != "data-views.ndjson"]
        fails = K.check_import(client, OBJECTS)
    finally:
        K.IMPORT_ORDER = K_ORDER
    assert any("missing_references" in f and "cloudwatch-logs" in f for f in fails), fails


def test_every_dashboard_exports_with_no_missing_reference_and_resolves(kibana):
    double, client = kibana
    assert K.check_import(client, OBJECTS) == []
    assert K.check_export(client, OBJECTS) == []
    assert K.check_resolve(client, OBJECTS) == []
    del double.store[("lens", "waf-blocks-by-rule")]
    fails = K.check_export(client, OBJECTS) + K.check_resolve(client, OBJECTS)
    assert any("export vocab-api-by-status: missing references" in f for f in fails), fails
    assert any(f.startswith("resolve lens/waf-blocks-by-rule: HTTP 404") for f in fails), fails


def test_the_api_checks_fail_without_credentials(kibana):
    double, _ = kibana
    fails = K.check_import(K.Kibana(double.url, "elastic", "wrong"), OBJECTS)
    assert fails and "HTTP 401" in fails[0]


def test_screenshots_wait_for_every_panel_and_report_errors_and_empty_panels(kibana, tmp_path):
    if CHROMIUM is None:
        # .ci/run installs Debian's chromium: in CI its absence is a failure, not a skip.
        assert not os.environ.get("CI"), "no Chromium in CI (.ci/run installs Debian's chromium)"
        pytest.skip("no Chromium here (apt-get install chromium)")
    double, client = kibana
    assert K.check_import(client, OBJECTS) == []
    assert K.screenshot_dashboards(client, OBJECTS, tmp_path, CHROMIUM, timeout_s=60) == []
    for d in (o for o in OBJECTS if o["type"] == "dashboard"):
        png = tmp_path / f"{d['id']}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    double.broken.add("waf-blocks-by-client-ip")
    double.empty.add("lambda-report-by-function")
    fails = K.screenshot_dashboards(client, OBJECTS, tmp_path, CHROMIUM, timeout_s=60)
    assert any("vocab-api-by-status: a panel is in error" in f for f in fails), fails
    assert any("cloudwatch-by-log-group: 'lambda-report-by-function' shows 'No results found'" in f for f in fails), fails


def test_the_panel_check_runs_every_panel_on_the_pipeline_data(filled, pending):
    """The same panel check the real job runs, on the emulator: every failure it reports is a
    panel whose data comes from a part not landed yet (docs/CONTRACTS.md A and B)."""
    cluster, f = filled
    indices = {"cloudwatch-logs": f.logs_index, "shipper-health": f.health_index,
               "shipper-deadletter": f.deadletter_index}
    fails = K.check_panels(cluster, OBJECTS, indices)
    waiting = {o["id"] for o in P.panels(OBJECTS) if pending(o)}
    unexpected = [x for x in fails if x.split(":", 1)[0].removeprefix("panel ") not in waiting]
    assert not unexpected, "\n".join(unexpected)
    if waiting:
        pytest.xfail(f"panels waiting for contract A/B data: {sorted(waiting)}")


def test_the_job_command_runs_here_against_the_emulator_and_the_double(tmp_path, monkeypatch, pending):
    """`scripts/kibana_check.py` as the GitHub job runs it — including its own fill, whose
    `shipper setup --kibana-url` imports the saved objects into the double — with the emulator
    instead of Elasticsearch. Only the panels waiting for contract A/B data may fail."""
    if CHROMIUM is None:
        assert not os.environ.get("CI"), "no Chromium in CI (.ci/run installs Debian's chromium)"
        pytest.skip("no Chromium here (apt-get install chromium)")
    import pipeline_data
    monkeypatch.setenv("ELASTICSEARCH_USERNAME", "elastic")
    monkeypatch.setenv("ELASTICSEARCH_PASSWORD", "s3cret-pw")
    ns = f"kc{os.getpid()}"
    with KibanaDouble("elastic", "s3cret-pw") as double:
        rc = K.main(["--es-url", pipeline_data.noida_url(), "--kibana-url", double.url, "--emulator",
                     "--namespace", ns, "--bin-dir", str(ROOT / "target" / "debug"), "--out", str(tmp_path),
                     "--chromium", CHROMIUM, "--wait", "30"])
        assert set(double.store) == {(o["type"], o["id"]) for o in OBJECTS}, "shipper setup imported nothing"
    report = json.loads((tmp_path / "kibana-check.json").read_text())
    for step in ("import", "export", "resolve", "screenshots"):
        assert report[step] == [], (step, report[step])
    waiting = {o["id"] for o in P.panels(OBJECTS) if pending(o)}
    unexpected = [x for x in report["panels"] if x.split(":", 1)[0].removeprefix("panel ") not in waiting]
    assert not unexpected, "\n".join(unexpected)
    assert rc == (1 if report["panels"] else 0)
    assert sorted(p.name for p in (tmp_path / "screenshots").glob("*.png")) == \
        sorted(f"{o['id']}.png" for o in OBJECTS if o["type"] == "dashboard")
