"""Every Lambda: custom runtime on Graviton, and its own log group with a retention."""

import pytest

from infra_hcl import Module, lambda_log_group_problems, runtime_problems


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
    assert fn["function_name"] == ["vocab-api-${each.key}"]


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
