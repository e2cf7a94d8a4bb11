"""IAM is scoped: no "*" actions, no whole data services, no data actions on every resource."""

import pytest

from infra_hcl import Module, all_blocks, attr, env_dirs, iam_problems, module_dirs

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
    assert all("dynamodb:DeleteItem" not in f["table_actions"] for a, f in functions.items() if a in ("quiz", "me"))
    assert all("dynamodb:Scan" not in f["table_actions"] for f in functions.values())
    doc = api.data["aws_iam_policy_document"]["function"]
    table = [s for s in doc["statement"] if attr(s, "sid") == "Table"][0]
    assert attr(table, "actions") == "${each.value.table_actions}"
    # The table and its review index (a Query on an index is authorized on the index's ARN).
    assert attr(table, "resources") == ["${aws_dynamodb_table.vocab.arn}", "${aws_dynamodb_table.vocab.arn}/index/review"]


def test_shipper_reads_only_its_secret_and_parameters(modules):
    shipper = modules["shipper"]
    doc = shipper.data["aws_iam_policy_document"]["shipper"]
    by_sid = {attr(s, "sid"): s for s in all_blocks(doc, "statement")}
    assert attr(by_sid["ElasticsearchCredentials"], "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(by_sid["ElasticsearchCredentials"], "resources") == ["${statement.value}"]
    (credentials,) = [d["statement"] for d in doc["dynamic"] if attr(d["statement"]["content"][0], "sid") == "ElasticsearchCredentials"]
    assert credentials["for_each"] == ["${local.secret_arn == None ? [] : ['${local.secret_arn}']}"]
    assert "aws_secretsmanager_secret.elasticsearch[*].arn" in shipper.locals["secret_arn"]
    assert attr(shipper.resource("aws_secretsmanager_secret")["elasticsearch"], "count") == "${local.create_secret ? 1 : 0}"
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


# DynamoDB calls of the SDK => the IAM action each needs (TransactWriteItems has none of its own:
# its parts are checked as PutItem/UpdateItem/DeleteItem/ConditionCheckItem).
SDK_ACTIONS = {
    "get_item": "GetItem", "put_item": "PutItem", "update_item": "UpdateItem", "delete_item": "DeleteItem",
    "query": "Query", "scan": "Scan", "batch_write_item": "BatchWriteItem", "batch_get_item": "BatchGetItem",
}


def test_the_api_roles_cover_every_dynamodb_call_the_store_makes_and_none_scans(modules):
    import re

    from infra_hcl import REPO

    source = "\n".join(p.read_text() for p in (REPO / "vocab-api" / "src").rglob("*.rs"))
    called = {SDK_ACTIONS[m] for m in re.findall(r"\.(" + "|".join(SDK_ACTIONS) + r")\(\)", source)}
    granted = {a.split(":", 1)[1] for f in modules["vocab_api"].locals["functions"].values() for a in f["table_actions"]}
    assert "Scan" not in called, "a Scan reads every user's data: use a Query on the user's partition"
    assert called <= granted, f"no API role may call {sorted(called - granted)}"
    if ".transact_write_items()" in source:
        assert {"PutItem", "UpdateItem", "DeleteItem"} <= granted


def test_the_deploy_roles_can_do_exactly_what_their_workflows_do(stack):
    backend = {attr(s, "sid"): s for s in all_blocks(stack.data["aws_iam_policy_document"]["deploy_backend"], "statement")}
    (code,) = backend.values()
    assert set(attr(code, "actions")) == {
        "lambda:UpdateFunctionCode", "lambda:PublishVersion", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
        "lambda:ListVersionsByFunction", "lambda:GetAlias", "lambda:UpdateAlias",
    }
    assert "local.deployed_function_arns" in attr(code, "resources")
    arns = stack.locals["deployed_function_arns"]
    for ref in ("module.vocab_api.function_arns", "module.shipper.function_arn", "module.shipper_us_east_1.function_arn"):
        assert ref in arns
    frontend = {attr(s, "sid"): s for s in all_blocks(stack.data["aws_iam_policy_document"]["deploy_frontend"], "statement")}
    assert attr(frontend["ListTheBucket"], "resources") == ["${module.edge.app_bucket_arn}"]
    assert attr(frontend["UploadAndPruneTheBuild"], "actions") == ["s3:PutObject", "s3:DeleteObject"]
    assert attr(frontend["UploadAndPruneTheBuild"], "resources") == ["${module.edge.app_bucket_arn}/*"]
    assert attr(frontend["ConfigIsTerraformsOnly"], "effect") == "Deny"
    assert attr(frontend["ConfigIsTerraformsOnly"], "resources") == ["${module.edge.app_bucket_arn}/config.json"]
    assert attr(frontend["InvalidateTheDistribution"], "actions") == ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    assert attr(frontend["InvalidateTheDistribution"], "resources") == ["${module.edge.app_distribution_arn}"]
    assert set(frontend) == {"ListTheBucket", "UploadAndPruneTheBuild", "ConfigIsTerraformsOnly", "InvalidateTheDistribution"}


def test_deploy_roles_trust_only_the_repositorys_jobs_in_this_github_environment(stack):
    trust = stack.data["aws_iam_policy_document"]["deploy_trust"]["statement"][0]
    conditions = {attr(c, "variable"): attr(c, "values") for c in trust["condition"]}
    assert conditions["token.actions.githubusercontent.com:sub"] == ["repo:${var.github_repository}:environment:${var.github_environment}"]
    assert conditions["token.actions.githubusercontent.com:aud"] == ["sts.amazonaws.com"]
    for role in ("deploy_backend", "deploy_frontend"):
        assert attr(stack.resource("aws_iam_role")[role], "assume_role_policy") == "${data.aws_iam_policy_document.deploy_trust.json}"
