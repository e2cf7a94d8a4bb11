"""Every Lambda: custom runtime on Graviton, and its own log group with a retention."""

import pytest

from infra_hcl import Module, attr, lambda_log_group_problems, runtime_problems


def test_every_module_with_functions_is_checked(modules):
    with_functions = {n for n, m in modules.items() if m.resource("aws_lambda_function")}
    assert with_functions == {"vocab_api", "shipper"}


@pytest.mark.parametrize("name", ["vocab_api", "shipper"])
def test_every_lambda_has_its_log_group_with_retention(modules, name):
    assert lambda_log_group_problems(modules[name]) == []


@pytest.mark.parametrize("name", ["vocab_api", "shipper"])
def test_lambdas_are_provided_al2023_on_arm64(modules, name):
    assert runtime_problems(modules[name]) == []


def test_vocab_api_functions_and_log_groups_cover_the_four_areas(modules):
    api = modules["vocab_api"]
    functions = api.locals["functions"]
    assert {area: f["binary"] for area, f in functions.items()} == {
        "lists": "vocab-lists",
        "words": "vocab-words",
        "quiz": "vocab-quiz",
        "me": "vocab-me",
    }
    fn = api.resource("aws_lambda_function")["api"]
    assert fn["for_each"] == ["${local.functions}"]
    assert fn["function_name"] == ["${var.name_prefix}-api-${each.key}"]


def test_every_function_is_invoked_through_its_live_alias_which_terraform_never_moves(modules):
    """Issue 13: versions behind `live`, so a bad deploy is undone by moving the alias."""
    for name in ("vocab_api", "shipper"):
        mod = modules[name]
        (fn_name,) = mod.resource("aws_lambda_function")
        (alias,) = mod.resource("aws_lambda_alias").values()
        assert attr(alias, "name") == "live"
        assert attr(alias, "function_version") == "$LATEST"
        assert attr(alias["lifecycle"][0], "ignore_changes") == ["${function_version}"], name
        target = attr(alias, "function_name")
        assert target.startswith("${aws_lambda_function." + fn_name) and target.endswith(".function_name}"), target
        # Terraform doesn't publish: deploy-backend.yml does, with the code it deploys.
        assert attr(mod.resource("aws_lambda_function")[fn_name], "publish") in (None, False)
    shipper = modules["shipper"]
    assert attr(shipper.resource("aws_cloudwatch_log_subscription_filter")["ship"], "destination_arn") == "${aws_lambda_alias.live.arn}"
    for name, permission in shipper.resource("aws_lambda_permission").items():
        assert attr(permission, "qualifier") == "${aws_lambda_alias.live.name}", name
    assert "aws_lambda_alias.live.arn" in attr(shipper.resource("aws_cloudwatch_log_account_policy")["ship"], "policy_document")
    invoke = shipper.resource("aws_lambda_function_event_invoke_config")["shipper"]
    assert attr(invoke, "qualifier") == "${aws_lambda_alias.live.name}"


def test_the_shipper_has_a_reserved_concurrency_variable(modules, stack):
    """Issue 13: a log burst can't take the account's concurrency from the API."""
    shipper = modules["shipper"]
    fn = shipper.resource("aws_lambda_function")["shipper"]
    assert attr(fn, "reserved_concurrent_executions") == "${var.reserved_concurrency}"
    assert attr(shipper.variables["reserved_concurrency"], "default") >= 1
    assert attr(stack.modules["shipper"], "reserved_concurrency") == "${var.shipper_reserved_concurrency}"


BAD = '''
resource "aws_lambda_function" "fn" {
  function_name = "orphan"
  runtime       = "provided.al2"
  architectures = ["x86_64"]
  handler       = "bootstrap"
}
resource "aws_cloudwatch_log_group" "wrong" {
  name = "/aws/lambda/someone-else"
}
resource "aws_lambda_function" "kept_forever" {
  function_name = "forever"
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  logging_config {
    log_group = aws_cloudwatch_log_group.forever.name
  }
}
resource "aws_cloudwatch_log_group" "forever" {
  name = "/aws/lambda/forever"
}
'''


def test_checks_catch_a_missing_group_a_missing_retention_and_the_wrong_runtime(tmp_path):
    mod = Module.from_texts(tmp_path, [BAD])
    problems = lambda_log_group_problems(mod)
    assert any("fn has no log group named /aws/lambda/orphan" in p for p in problems)
    assert any("/aws/lambda/forever has no retention" in p for p in problems)
    runtime = runtime_problems(mod)
    assert any("runtime 'provided.al2'" in p for p in runtime)
    assert any("architectures ['x86_64']" in p for p in runtime)
