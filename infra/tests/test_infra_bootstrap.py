"""Pull-request plans run with a read-only role: the roles HCP Terraform runs with (infra/bootstrap)
are one per workspace and run phase, and only an apply's can change the account."""

import pytest

from infra_hcl import INFRA, Module, attr, iam_problems, undeclared_variable_problems


@pytest.fixture(scope="module")
def bootstrap() -> Module:
    return Module.load(INFRA / "bootstrap")


def test_each_run_phase_assumes_its_own_role(bootstrap):
    phases = bootstrap.locals["phases"]
    assert "setproduct(var.workspaces" in phases and "'plan', 'apply'" in phases.replace('"', "'")
    trust = bootstrap.data["aws_iam_policy_document"]["trust"]["statement"][0]
    conditions = {attr(c, "variable"): attr(c, "values") for c in trust["condition"]}
    assert conditions["${local.hostname}:sub"] == [
        "organization:${var.organization}:project:${var.project}:workspace:${each.value.workspace}:run_phase:${each.value.phase}"
    ]
    assert conditions["${local.hostname}:aud"] == ["aws.workload.identity"]
    assert bootstrap.locals["hostname"] == "app.terraform.io"
    role = bootstrap.resource("aws_iam_role")["run"]
    assert attr(role, "assume_role_policy") == "${data.aws_iam_policy_document.trust[each.key].json}"


def test_plans_read_only_and_applies_administer(bootstrap):
    attachments = bootstrap.resource("aws_iam_role_policy_attachment")
    plan, apply = attachments["plan_read_only"], attachments["apply_admin"]
    assert "v.phase == \"plan\"" in attr(plan, "for_each")
    assert attr(plan, "policy_arn") == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert "v.phase == \"apply\"" in attr(apply, "for_each")
    assert attr(apply, "policy_arn") == "arn:aws:iam::aws:policy/AdministratorAccess"
    secrets = bootstrap.resource("aws_iam_role_policy")["plan_secrets"]
    assert "v.phase == \"plan\"" in attr(secrets, "for_each")
    doc = bootstrap.data["aws_iam_policy_document"]["plan_secrets"]["statement"][0]
    assert attr(doc, "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(doc, "resources") == "${var.plan_readable_secret_arns}"


def test_bootstrap_is_consistent(bootstrap):
    assert iam_problems(bootstrap) == []
    assert undeclared_variable_problems(bootstrap) == []
    for name, body in bootstrap.variables.items():
        assert attr(body, "description") and attr(body, "type"), name
    readme = (INFRA / "README.md").read_text()
    for needle in ("infra/bootstrap", "TFC_AWS_PLAN_ROLE_ARN", "TFC_AWS_APPLY_ROLE_ARN", "TF_PLAN_API_TOKEN"):
        assert needle in readme
