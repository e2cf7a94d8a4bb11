"""Modules, variables and outputs line up; logs reach the shipper; alarms reach Slack."""

from pathlib import Path

import pytest

from infra_hcl import (
    INFRA, Module, attr, bare, env_dirs, load_text, module_call_problems, module_dirs, subscription_problems,
    undeclared_variable_problems,
)

ALL_DIRS = [p.name for p in module_dirs()] + ["envs/" + p.name for p in env_dirs()]


def _mod(modules, envs, name):
    return envs[name.split("/", 1)[1]] if name.startswith("envs/") else modules[name]


@pytest.mark.parametrize("name", ALL_DIRS)
def test_every_variable_used_is_declared(modules, envs, name):
    assert undeclared_variable_problems(_mod(modules, envs, name)) == []


@pytest.mark.parametrize("name", ALL_DIRS)
def test_every_variable_is_typed_and_described(modules, envs, name):
    for var, body in _mod(modules, envs, name).variables.items():
        assert attr(body, "type"), f"{name}: var.{var} has no type"
        assert attr(body, "description"), f"{name}: var.{var} has no description"


@pytest.mark.parametrize("env", [p.name for p in env_dirs()])
def test_module_calls_match_module_variables_and_outputs(envs, env):
    assert module_call_problems(envs[env]) == []


def test_the_environment_uses_every_module(prod):
    used = {prod.module_dir(name).name for name in prod.modules}
    assert used == {p.name for p in module_dirs()}


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: p.name)
def test_every_module_has_readme_variables_and_outputs(path: Path):
    for file in ("README.md", "variables.tf", "outputs.tf", "main.tf", "versions.tf"):
        assert (path / file).is_file(), f"{path.name} has no {file}"


@pytest.mark.parametrize("path", module_dirs(), ids=lambda p: p.name)
def test_module_readme_documents_every_variable_and_output(path: Path):
    mod = Module.load(path)
    readme = (path / "README.md").read_text()
    missing = [f"var {v}" for v in mod.variables if f"`{v}`" not in readme]
    missing += [f"output {o}" for o in mod.outputs if f"`{o}`" not in readme]
    assert missing == [], f"{path.name}/README.md does not mention {missing}"


def test_every_vocab_api_log_group_is_subscribed_to_the_shipper(modules, prod):
    assert subscription_problems(modules["vocab_api"], prod, modules["shipper"]) == []


BAD_SHIPPER = '''
resource "aws_lambda_function" "shipper" {
  function_name = "s"
}
resource "aws_cloudwatch_log_subscription_filter" "ship" {
  for_each        = var.log_group_names
  log_group_name  = each.value
  destination_arn = aws_kinesis_stream.somewhere.arn
}
'''

BAD_ENV = '''
module "shipper" {
  source          = "../../modules/shipper"
  log_group_names = { only = "/aws/lambda/vocab-api-me" }
}
'''


def test_subscription_check_catches_a_wrong_destination_and_a_partial_list(modules, tmp_path):
    problems = subscription_problems(
        modules["vocab_api"], Module.from_texts(tmp_path, [BAD_ENV]), Module.from_texts(tmp_path, [BAD_SHIPPER])
    )
    assert any("not module.vocab_api.log_group_names" in p for p in problems)
    assert any("no subscription filter" in p for p in problems)
    assert any("may not invoke" in p for p in problems)
    assert any("account-level" in p for p in problems)


def test_variable_checks_catch_undeclared_and_misnamed_inputs(tmp_path):
    mod = Module.from_texts(tmp_path, ['output "x" {\n  value = var.nowhere\n}\n'])
    assert undeclared_variable_problems(mod) == [f"{tmp_path.name}: var.nowhere is used but not declared"]
    env_dir = INFRA / "envs" / "prod"
    caller = Module.from_texts(env_dir, [
        'module "shipper" {\n  source = "../../modules/shipper"\n  log_groups = {}\n}\n'
        'output "o" {\n  value = module.shipper.no_such_output\n}\n'
    ])
    problems = module_call_problems(caller)
    assert "module.shipper: passes log_groups, which shipper does not declare" in problems
    assert "module.shipper: does not pass required variable kms_key_arn" in problems
    assert "module.shipper.no_such_output is not an output of shipper" in problems


def test_shipper_gets_its_credentials_from_one_secret_and_settings_from_ssm(modules):
    shipper = modules["shipper"]
    fn = shipper.resource("aws_lambda_function")["shipper"]
    env = attr(fn["environment"][0], "variables")
    # One expression merging the SSM parameters with the secret's ARN (docs/CONTRACTS.md names).
    assert "ELASTICSEARCH_SECRET_ARN" in env
    assert "aws_secretsmanager_secret.elasticsearch.arn" in env
    assert "aws_ssm_parameter.setting" in env
    assert "aws_secretsmanager_secret_version" not in shipper.resources, "the secret's value must not be in Terraform"
    invoke = shipper.resource("aws_lambda_function_event_invoke_config")["shipper"]
    assert attr(invoke, "maximum_retry_attempts") == "${var.maximum_retry_attempts}"
    on_failure = invoke["destination_config"][0]["on_failure"][0]
    assert attr(on_failure, "destination") == "${aws_sqs_queue.failures.arn}"
    assert attr(shipper.resource("aws_sqs_queue")["failures"], "kms_master_key_id") == "${var.kms_key_arn}"


def test_every_alarm_reaches_slack_through_chatbot(modules):
    alarms = modules["alarms"]
    chatbot = alarms.resource("aws_chatbot_slack_channel_configuration")["alerts"]
    topics = set(attr(chatbot, "sns_topic_arns"))
    assert attr(chatbot, "slack_channel_id") == "${var.slack_channel_id}"
    assert attr(chatbot, "slack_team_id") == "${var.slack_team_id}"
    for name, alarm in alarms.resource("aws_cloudwatch_metric_alarm").items():
        assert set(attr(alarm, "alarm_actions")) <= topics, f"alarm {name} goes nowhere Chatbot listens"
        assert attr(alarm, "actions_enabled") is True
    for notification in alarms.resource("aws_budgets_budget")["monthly"]["notification"]:
        assert set(attr(notification, "subscriber_sns_topic_arns")) <= topics


def _alarm(alarms: Module, namespace: str, metric: str) -> dict:
    found = [a for a in alarms.resource("aws_cloudwatch_metric_alarm").values()
             if attr(a, "namespace") == namespace and attr(a, "metric_name") == metric]
    assert found, f"no alarm on {namespace}/{metric}"
    return found[0]


def test_alarms_watch_the_shipper_and_the_waf_by_their_real_names(modules, prod):
    alarms = modules["alarms"]
    fn_dim = {"FunctionName": "${var.shipper_function_name}"}
    assert attr(_alarm(alarms, "AWS/Lambda", "Errors"), "dimensions") == fn_dim
    assert attr(_alarm(alarms, "CloudWatchEsShipper", "EventsDeadLettered"), "dimensions") == fn_dim
    assert attr(_alarm(alarms, "AWS/SQS", "ApproximateNumberOfMessagesVisible"), "dimensions") == {
        "QueueName": "${var.shipper_failure_queue_name}"
    }
    waf = _alarm(alarms, "AWS/WAFV2", "BlockedRequests")
    assert attr(waf, "provider") == "${aws.us_east_1}"
    assert attr(waf, "dimensions") == {"WebACL": "${var.web_acl_name}", "Rule": "${var.waf_rate_rule_name}"}
    call = prod.modules["alarms"]
    assert call["shipper_function_name"] == ["${module.shipper.function_name}"]
    assert call["shipper_failure_queue_name"] == ["${module.shipper.failure_queue_name}"]
    assert call["web_acl_name"] == ["${module.edge.web_acl_name}"]
    assert call["waf_rate_rule_name"] == ["${module.edge.rate_rule_name}"]


def test_the_metric_names_are_the_ones_the_shipper_emits():
    # The EMF line is written by the shipper crate; a renamed metric would silence the alarm.
    source = "\n".join(p.read_text() for p in (INFRA.parent / "shipper" / "src").rglob("*.rs"))
    for name in ("CloudWatchEsShipper", "EventsDeadLettered", "FunctionName"):
        assert f'"{name}"' in source, f"the shipper no longer writes {name}"


def test_state_lives_on_hcp_terraform_with_a_documented_local_fallback(prod):
    terraform = prod.terraform[0]
    assert "cloud" in terraform, "envs/prod has no cloud block"
    assert "backend" not in terraform
    override = (prod.path / "local_backend_override.tf.example").read_text()
    assert 'backend "local"' in override
    readme = (INFRA / "README.md").read_text()
    for needle in ("TF_CLOUD_ORGANIZATION", "TF_WORKSPACE", "local_backend_override.tf"):
        assert needle in readme, f"infra/README.md does not explain {needle}"


def _aliased_providers(mod: Module) -> dict[str, str]:
    """alias => region of the aliased aws providers of a root module."""
    found = {}
    for path in sorted(mod.path.glob("*.tf")):
        for entry in load_text(path.read_text()).get("provider", []):
            body = entry.get("aws")
            if body and attr(body, "alias"):
                found[attr(body, "alias")] = attr(body, "region")
    return found


def test_regional_resources_use_the_provider_of_the_region_that_serves_them(modules, prod):
    providers = _aliased_providers(prod)
    assert providers["us_east_1"] == "us-east-1"
    assert providers["chatbot"] == "us-east-2"  # AWS Chatbot has no endpoint in most regions
    chatbot = modules["alarms"].resource("aws_chatbot_slack_channel_configuration")["alerts"]
    assert attr(chatbot, "provider") == "${aws.chatbot}"
    edge = modules["edge"]
    for rtype in ("aws_wafv2_web_acl", "aws_acm_certificate", "aws_acm_certificate_validation"):
        for name, res in edge.resource(rtype).items():
            assert attr(res, "provider") == "${aws.us_east_1}", f"{rtype}.{name} must be in us-east-1 for CloudFront"
    passed = {bare(k): bare(v) for k, v in attr(prod.modules["alarms"], "providers").items()}
    assert passed == {"aws": "aws", "aws.us_east_1": "aws.us_east_1", "aws.chatbot": "aws.chatbot"}
