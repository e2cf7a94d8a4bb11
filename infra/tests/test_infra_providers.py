"""AWS provider v6: the version constraint says so everywhere, and nothing uses what v6
deprecated or removed."""

import re

import pytest

from infra_hcl import INFRA, attr, load_text

VERSION_FILES = sorted(INFRA.glob("**/versions.tf"))
TF_FILES = sorted(p for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts)

# Deprecated or removed in v6 (the v6 upgrade guide and the data source's docs):
# data.aws_region's `name` is `region`; aws_opensearch_domain's `kibana_endpoint` is gone
# (`dashboard_endpoint`); aws_s3_bucket's `region` attribute is `bucket_region`.
DEPRECATED = {
    r"data\.aws_region\.[\w-]+\.name\b": "data.aws_region.<x>.region",
    r"\.kibana_endpoint\b": "dashboard_endpoint",
    r"aws_s3_bucket\.[\w-]+\.region\b": "bucket_region",
}


def _aws_constraint(path) -> str:
    doc = load_text(path.read_text())
    (terraform,) = doc["terraform"]
    (providers,) = terraform["required_providers"]
    return attr(providers, "aws")["version"]


@pytest.mark.parametrize("path", VERSION_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_configuration_requires_aws_provider_6(path):
    constraint = _aws_constraint(path)
    assert constraint == ">= 6.0, < 7.0", f"{path}: {constraint}"


def test_every_module_and_environment_has_a_versions_file():
    dirs = {p.parent for p in TF_FILES}
    assert dirs == {p.parent for p in VERSION_FILES}


@pytest.mark.parametrize("pattern,instead", DEPRECATED.items())
def test_nothing_uses_what_provider_6_deprecated(pattern, instead):
    found = [f"{p.relative_to(INFRA)}:{n}" for p in TF_FILES
             for n, line in enumerate(p.read_text().splitlines(), 1) if re.search(pattern, line)]
    assert found == [], f"use {instead}: {found}"


def test_the_deprecation_check_would_find_the_old_region_name():
    line = "  region = data.aws_region.current.name"
    assert re.search(next(iter(DEPRECATED)), line)
