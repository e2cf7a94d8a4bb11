"""Modules, variables and outputs line up; every log group reaches a shipper in its region;
the environments are the same configuration with their own names."""

from pathlib import Path

import pytest

from infra_hcl import (
    INFRA, Module, all_blocks, attr, bare, env_dirs, load_text, module_call_problems, module_dirs,
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


@pytest.mark.parametrize("name", ["envs/" + p.name for p in env_dirs()] + ["environment"])
def test_module_calls_match_module_variables_and_outputs(modules, envs, name):
    assert module_call_problems(_mod(modules, envs, name)) == []


def test_each_environment_is_the_environment_module_and_that_uses_every_module(envs, stack):
    for name, env in envs.items():
        assert {env.module_dir(m).name for m in env.modules} == {"environment"}, name
    used = {stack.module_dir(name).name for name in stack.modules}
    assert used == {p.name for p in module_dirs()} - {"environment"}


def test_staging_and_prod_differ_only_in_their_documented_defaults(envs):
    """Issue 13: envs/staging beside envs/prod, the same configuration (no drift)."""
    assert {"prod", "staging"} <= set(envs)
    prod, staging = envs["prod"], envs["staging"]
    assert prod.modules == staging.modules
    assert prod.outputs == staging.outputs
    assert prod.locals == staging.locals
    assert (prod.path / "providers.tf").read_text() == (staging.path / "providers.tf").read_text()
    assert (prod.path / "versions.tf").read_text() == (staging.path / "versions.tf").read_text()
    per_env = {"name_prefix", "environment", "github_environment", "create_github_oidc_provider"}
    assert set(prod.variables) == set(staging.variables)
    for var in set(prod.variables) - per_env:
        assert prod.variables[var] == staging.variables[var], var
    defaults = {v: (attr(prod.variables[v], "default"), attr(staging.variables[v], "default")) for v in per_env}
    assert all(a != b for a, b in defaults.values()), defaults


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


# ---------------------------------------------------------------- logs reach the shippers


def test_function_logs_and_the_access_log_are_subscribed_to_the_shipper_in_their_region(modules, stack):
    api = modules["vocab_api"]
    output = attr(api.outputs["log_group_names"], "value")
    assert "aws_cloudwatch_log_group.function" in output
    assert "access = '${aws_cloudwatch_log_group.access.name}'" in output or "'access': '${aws_cloudwatch_log_group.access.name}'" in output
    call = stack.modules["shipper"]
    assert attr(call, "log_group_names") == "${module.vocab_api.log_group_names}"
    assert "providers" not in call  # the API's region
    shipper = modules["shipper"]
    filters = shipper.resource("aws_cloudwatch_log_subscription_filter")["ship"]
    assert "var.log_group_names" in attr(filters, "for_each")
    assert attr(filters, "log_group_name") == "${each.value}"
    assert attr(filters, "destination_arn") == "${aws_lambda_alias.live.arn}"
    permission = shipper.resource("aws_lambda_permission")["logs"]
    assert attr(permission, "principal") == "logs.amazonaws.com"
    assert attr(permission, "source_arn") == "arn:aws:logs:${local.region}:${local.account_id}:log-group:${each.value}:*"


def test_waf_logs_are_shipped_by_a_shipper_in_us_east_1(modules, stack):
    """A CLOUDFRONT web ACL logs only to us-east-1, and a subscription filter's Lambda must be
    in its log group's region: so a copy of the shipper runs there."""
    edge = modules["edge"]
    group = edge.resource("aws_cloudwatch_log_group")["waf"]
    assert attr(group, "provider") == "${aws.us_east_1}"
    assert attr(group, "name").startswith("aws-waf-logs-")
    assert attr(group, "kms_key_id") == "${var.us_east_1_kms_key_arn}"
    assert attr(group, "retention_in_days") == "${var.waf_log_retention_days}"
    logging = edge.resource("aws_wafv2_web_acl_logging_configuration")["edge"]
    assert attr(logging, "provider") == "${aws.us_east_1}"
    assert attr(logging, "log_destination_configs") == ["${aws_cloudwatch_log_group.waf.arn}"]
    assert edge.outputs["waf_log_group_name"]["value"] == ["${aws_cloudwatch_log_group.waf.name}"]
    copy = stack.modules["shipper_us_east_1"]
    assert stack.module_dir("shipper_us_east_1").name == "shipper"
    assert {bare(k): bare(v) for k, v in attr(copy, "providers").items()} == {"aws": "aws.us_east_1"}
    assert attr(copy, "log_group_names") == {"waf": "${module.edge.waf_log_group_name}"}
    assert attr(copy, "kms_key_arn") == "${aws_kms_key.us_east_1.arn}"
    assert attr(copy, "alarm_topic_arn") == "${module.alarms.topic_arn_us_east_1}"
    # Same cluster, same credentials: the main secret's replica in us-east-1.
    assert attr(copy, "elasticsearch_secret_arn") == '${lookup(module.shipper.elasticsearch_secret_replica_arns,"us-east-1",null)}' or \
        "module.shipper.elasticsearch_secret_replica_arns" in attr(copy, "elasticsearch_secret_arn")
    assert "us-east-1" in attr(stack.modules["shipper"], "secret_replica_regions")
    # Whether a secret is created must be known at plan time (count): an input, not the ARN.
    assert attr(copy, "create_elasticsearch_secret") is False
    assert modules["shipper"].locals["create_secret"] == "${var.opensearch == None && var.create_elasticsearch_secret}"
    assert attr(stack.resource("aws_kms_key")["us_east_1"], "provider") == "${aws.us_east_1}"


def test_the_account_policy_alternative_never_ships_the_shippers_own_group(modules):
    policy = modules["shipper"].resource("aws_cloudwatch_log_account_policy")["ship"]
    assert attr(policy, "policy_type") == "SUBSCRIPTION_FILTER_POLICY"
    assert "NOT IN" in attr(policy, "selection_criteria") and "local.own_log_group" in attr(policy, "selection_criteria")


def test_every_log_group_has_a_retention_and_the_environments_key(modules):
    for name, mod in modules.items():
        for gname, group in mod.resource("aws_cloudwatch_log_group").items():
            assert attr(group, "retention_in_days") is not None, f"{name}: {gname}"
            assert str(attr(group, "kms_key_id", "")).startswith("${var."), f"{name}: {gname} is not encrypted with the CMK"


# ---------------------------------------------------------------- shipper settings


def test_shipper_gets_its_credentials_from_one_secret_and_settings_from_ssm(modules):
    shipper = modules["shipper"]
    fn = shipper.resource("aws_lambda_function")["shipper"]
    env = attr(fn["environment"][0], "variables")
    # One expression merging the SSM parameters with the secret's ARN (docs/CONTRACTS.md names).
    assert "ELASTICSEARCH_SECRET_ARN" in env and "local.secret_arn" in env
    assert "aws_ssm_parameter.setting" in env
    assert "aws_secretsmanager_secret_version" not in shipper.resources, "the secret's value must not be in Terraform"
    invoke = shipper.resource("aws_lambda_function_event_invoke_config")["shipper"]
    assert attr(invoke, "maximum_retry_attempts") == "${var.maximum_retry_attempts}"
    on_failure = invoke["destination_config"][0]["on_failure"][0]
    assert attr(on_failure, "destination") == "${aws_sqs_queue.failures.arn}"
    assert attr(shipper.resource("aws_sqs_queue")["failures"], "kms_master_key_id") == "${var.kms_key_arn}"


def test_settings_are_copied_at_apply_for_a_documented_reason(modules):
    """Issue 13: Parameter Store values read at run time, or the documented reason they're
    copied at apply. They are copied: a published version freezes its environment, so the live
    alias moves code and settings together and a rollback restores both."""
    shipper = modules["shipper"]
    parameter = shipper.resource("aws_ssm_parameter")["setting"]
    assert attr(parameter, "for_each") == "${local.settings}"
    main = (INFRA / "modules" / "shipper" / "main.tf").read_text()
    readme = (INFRA / "modules" / "shipper" / "README.md").read_text()
    for text in (main, readme):
        assert "rollback" in text and "alias" in text and "cold start" in text.replace("cold-start", "cold start")


def test_opensearch_target_replaces_the_secret_with_sigv4_settings_and_scoped_access(modules, stack):
    """Issue 11: an optional Amazon OpenSearch target; the shipper signs with its role."""
    shipper = modules["shipper"]
    settings = shipper.locals["opensearch_settings"]
    # Exactly the variables docs/CONTRACTS.md names for the shipper's SigV4 transport.
    contract = (INFRA.parent / "docs" / "CONTRACTS.md").read_text()
    for name in ("ELASTICSEARCH_URL", "SHIPPER_AUTH", "SHIPPER_SIGV4_SERVICE", "SHIPPER_TARGET"):
        assert name in settings and f"`{name}" in contract
    assert "'index'" in settings  # OpenSearch has no data streams for these mappings
    assert "'sigv4'" in settings and "var.opensearch.service" in settings
    assert "var.opensearch == None" in shipper.locals["create_secret"]
    doc = shipper.data["aws_iam_policy_document"]["shipper"]
    sids = {attr(s, "sid"): s for s in all_blocks(doc, "statement")}
    assert attr(sids["OpenSearchDomain"], "resources") == ["${statement.value}/*"]
    assert attr(sids["OpenSearchServerless"], "actions") == ["aoss:APIAccessAll"]
    call = stack.modules["opensearch"]
    assert attr(call, "writer_role_arns") == ["${module.shipper.role_arn}", "${module.shipper_us_east_1.role_arn}"]
    assert attr(stack.modules["shipper"], "opensearch") == "${local.opensearch_target}"
    assert attr(stack.modules["shipper_us_east_1"], "opensearch") == "${local.opensearch_target}"
    os_mod = modules["opensearch"]
    domain_policy = os_mod.data["aws_iam_policy_document"]["domain"]
    writers = {attr(s, "sid"): s for s in all_blocks(domain_policy, "statement")}["Writers"]
    assert attr(writers["principals"][0], "identifiers") == "${var.writer_role_arns}"
    access = attr(os_mod.resource("aws_opensearchserverless_access_policy")["logs"], "policy")
    assert "var.writer_role_arns" in access and "aoss:WriteDocument" in access
    assert attr(os_mod.resource("aws_opensearchserverless_collection")["logs"], "type") == "TIMESERIES"
    target = os_mod.outputs["target"]["value"][0]
    assert "'es'" in target and "'aoss'" in target


# ---------------------------------------------------------------- state and providers


def test_state_lives_on_hcp_terraform_with_a_documented_local_fallback(envs):
    readme = (INFRA / "README.md").read_text()
    for name, env in envs.items():
        terraform = env.terraform[0]
        assert "cloud" in terraform, f"envs/{name} has no cloud block"
        assert "backend" not in terraform
        override = (env.path / "local_backend_override.tf.example").read_text()
        assert 'backend "local"' in override
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


def test_regional_resources_use_the_provider_of_the_region_that_serves_them(modules, envs, stack):
    for env in envs.values():
        providers = _aliased_providers(env)
        assert providers["us_east_1"] == "us-east-1"
        assert providers["chatbot"] == "us-east-2"  # AWS Chatbot has no endpoint in most regions
        passed = {bare(k): bare(v) for k, v in attr(env.modules["environment"], "providers").items()}
        assert passed == {"aws": "aws", "aws.us_east_1": "aws.us_east_1", "aws.chatbot": "aws.chatbot"}
    chatbot = modules["alarms"].resource("aws_chatbot_slack_channel_configuration")["alerts"]
    assert attr(chatbot, "provider") == "${aws.chatbot}"
    edge = modules["edge"]
    for rtype in ("aws_wafv2_web_acl", "aws_wafv2_regex_pattern_set", "aws_acm_certificate", "aws_acm_certificate_validation"):
        for name, res in edge.resource(rtype).items():
            assert attr(res, "provider") == "${aws.us_east_1}", f"{rtype}.{name} must be in us-east-1 for CloudFront"
    # The API's origin certificate is regional: the API's own region.
    assert attr(modules["vocab_api"].resource("aws_acm_certificate")["origin"], "provider") is None
    passed = {bare(k): bare(v) for k, v in attr(stack.modules["alarms"], "providers").items()}
    assert passed == {"aws": "aws", "aws.us_east_1": "aws.us_east_1", "aws.chatbot": "aws.chatbot"}
