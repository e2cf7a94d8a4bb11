"""More than one environment: a name prefix goes through every resource name, and two
environments in one account (prod and staging) collide on no name."""

import pytest

from infra_hcl import Module, attr, env_dirs
from infra_names import collisions, environment_names, without_prefix

# Named by host, not by prefix: the app's host name differs per environment by definition.
NAMED_BY_HOST = {"aws_apigatewayv2_domain_name"}


def _prefix(env: Module) -> str:
    return attr(env.variables["name_prefix"], "default")


@pytest.mark.parametrize("env", [p.name for p in env_dirs()])
def test_every_resource_name_carries_the_environments_prefix(envs, env):
    names = [n for n in environment_names(envs[env]) if n.rtype not in NAMED_BY_HOST]
    assert len(names) > 50  # every module's resources were reached
    assert without_prefix(names, _prefix(envs[env])) == []
    assert collisions(names) == [], "two resources of one environment want the same name"


def test_prod_and_staging_in_one_account_collide_on_no_name(envs):
    prod, staging = envs["prod"], envs["staging"]
    assert _prefix(prod) != _prefix(staging)
    assert not _prefix(staging).startswith(_prefix(prod) + "-api")  # no prefix is another's name
    assert collisions(environment_names(prod) + environment_names(staging)) == []


ENV = '''
variable "name_prefix" {
  type    = string
  default = "%s"
}
variable "aws_region" {
  type    = string
  default = "eu-west-1"
}
module "m" {
  source      = "../../m"
  name_prefix = var.name_prefix
}
'''
MODULE = '''
variable "name_prefix" {
  type = string
}
resource "aws_sqs_queue" "prefixed" {
  name = "${var.name_prefix}-queue"
}
resource "aws_sns_topic" "fixed" {
  name = "alerts"
}
resource "aws_iam_role" "per_region" {
  name = "role-${data.aws_region.current.region}"
}
'''


def test_the_check_finds_a_fixed_name_that_two_environments_would_share(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "main.tf").write_text(MODULE)
    envs = []
    for name in ("a", "b"):
        d = tmp_path / "envs" / name
        d.mkdir(parents=True)
        (d / "main.tf").write_text(ENV % f"p-{name}")
        (d / "terraform.tfvars.example").write_text("")
        envs.append(environment_names(Module.load(d)))
    problems = collisions(envs[0] + envs[1])
    assert any("aws_sns_topic 'alerts'" in p for p in problems)
    assert any("aws_iam_role 'role-eu-west-1' (global)" in p for p in problems)
    assert not any("queue" in p for p in problems)
    assert sorted(without_prefix(envs[0], "p-a")) == [
        "envs/a > module.m: aws_iam_role.per_region: 'role-eu-west-1'",
        "envs/a > module.m: aws_sns_topic.fixed: 'alerts'",
    ]
