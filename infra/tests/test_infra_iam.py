"""IAM is scoped: no "*" actions, no whole data services, no data actions on every resource."""

import pytest

from infra_hcl import Module, attr, env_dirs, iam_problems, module_dirs

ALL_DIRS = [p.name for p in module_dirs()] + ["envs/" + p.name for p in env_dirs()]


@pytest.mark.parametrize("name", ALL_DIRS)
def test_policies_are_scoped(modules, envs, name):
    mod = envs[name.split("/", 1)[1]] if name.startswith("envs/") else modules[name]
    assert iam_problems(mod) == []


def test_each_api_function_gets_only_its_own_table_actions(modules):
    api = modules["vocab_api"]
    functions = api.locals["functions"]
    # `me` only reads: a profile upsert (UpdateItem) and a Query, never deletes.
    assert sorted(functions["me"]["table_actions"]) == ["dynamodb:Query", "dynamodb:UpdateItem"]
    assert all("dynamodb:Scan" not in f["table_actions"] for f in functions.values())
    doc = api.data["aws_iam_policy_document"]["function"]
    table = [s for s in doc["statement"] if attr(s, "sid") == "Table"][0]
    assert attr(table, "actions") == "${each.value.table_actions}"
    assert attr(table, "resources") == ["${aws_dynamodb_table.vocab.arn}"]


def test_shipper_reads_only_its_secret_and_parameters(modules):
    doc = modules["shipper"].data["aws_iam_policy_document"]["shipper"]
    by_sid = {attr(s, "sid"): s for s in doc["statement"]}
    assert attr(by_sid["ElasticsearchCredentials"], "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(by_sid["ElasticsearchCredentials"], "resources") == ["${aws_secretsmanager_secret.elasticsearch.arn}"]
    assert attr(by_sid["OwnParameters"], "resources") == [
        "arn:aws:ssm:${local.region}:${local.account_id}:parameter/${var.function_name}/*"
    ]
    assert attr(by_sid["OnFailureDestination"], "resources") == ["${aws_sqs_queue.failures.arn}"]
    assert attr(by_sid["OwnLogs"], "resources") == ["${aws_cloudwatch_log_group.shipper.arn}:*"]


BAD = '''
data "aws_iam_policy_document" "everything" {
  statement {
    actions   = ["*"]
    resources = ["arn:aws:s3:::bucket"]
  }
}
data "aws_iam_policy_document" "whole_table_service" {
  statement {
    actions   = ["dynamodb:*"]
    resources = [aws_dynamodb_table.t.arn]
  }
}
data "aws_iam_policy_document" "any_secret" {
  statement {
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]
  }
}
data "aws_iam_policy_document" "any_table" {
  statement {
    actions   = ["dynamodb:GetItem"]
    resources = ["arn:aws:dynamodb:eu-west-1:123456789012:*"]
  }
}
resource "aws_iam_role_policy" "inline" {
  role   = "r"
  policy = jsonencode({ Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}
'''

GOOD = '''
data "aws_iam_policy_document" "fine" {
  statement {
    actions   = ["dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.t.arn]
  }
  statement {
    actions   = ["xray:PutTraceSegments"]
    resources = ["*"]
  }
  statement {
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = ["*"]
  }
}
resource "aws_iam_role_policy" "inline" {
  role   = "r"
  policy = data.aws_iam_policy_document.fine.json
}
'''


def test_check_catches_wildcards_and_unchecked_inline_policies(tmp_path):
    problems = iam_problems(Module.from_texts(tmp_path, [BAD]))
    assert any("everything" in p and "grants every action" in p for p in problems)
    assert any("whole_table_service" in p and "grants all of dynamodb" in p for p in problems)
    assert any("any_secret" in p and "on any resource" in p for p in problems)
    assert any("any_table" in p and "on any resource" in p for p in problems)
    assert any("aws_iam_role_policy.inline.policy is not an aws_iam_policy_document" in p for p in problems)
    assert len(problems) == 5


def test_check_accepts_scoped_policies_and_non_data_wildcards(tmp_path):
    assert iam_problems(Module.from_texts(tmp_path, [GOOD])) == []
