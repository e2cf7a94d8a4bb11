"""The names an environment gives its AWS resources, worked out from the parsed HCL.

Terraform can't run here (no providers), so this evaluates just enough of the configuration:
from an environment root down through every module call, it renders each resource's name
arguments with the values that reach it (`var.*` from the call or the default, `local.*`,
`each.key` over a literal or local map, the region of the resource's provider). What can't be
known before apply (random ids, the account id, hashes) stays a placeholder, which is the same
in two environments of one account: so two environments collide exactly when their rendered
names are equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from infra_hcl import Module, attr, bare, load_text

# Name arguments by resource type; a resource type not listed has no name of its own that
# must be unique (or none that this project sets).
NAME_ARGS = {
    "aws_lambda_function": "function_name",
    "aws_cloudwatch_log_group": "name",
    "aws_iam_role": "name",
    "aws_dynamodb_table": "name",
    "aws_apigatewayv2_api": "name",
    "aws_apigatewayv2_domain_name": "domain_name",
    "aws_sqs_queue": "name",
    "aws_sns_topic": "name",
    "aws_secretsmanager_secret": "name",
    "aws_ssm_parameter": "name",
    "aws_kms_alias": "name",
    "aws_cloudwatch_metric_alarm": "alarm_name",
    "aws_chatbot_slack_channel_configuration": "configuration_name",
    "aws_budgets_budget": "name",
    "aws_wafv2_web_acl": "name",
    "aws_wafv2_regex_pattern_set": "name",
    "aws_cloudfront_origin_access_control": "name",
    "aws_cloudfront_function": "name",
    "aws_cloudfront_cache_policy": "name",
    "aws_s3_bucket": "bucket",
    "aws_cognito_user_pool": "name",
    "aws_cognito_user_pool_domain": "domain",
    "aws_cloudwatch_log_account_policy": "policy_name",
    "aws_cloudwatch_log_resource_policy": "policy_name",
    "aws_opensearch_domain": "domain_name",
    "aws_opensearchserverless_collection": "name",
}
# Names that are one per account whatever the region (the others are per region).
GLOBAL_TYPES = {
    "aws_iam_role", "aws_s3_bucket", "aws_cloudfront_origin_access_control", "aws_cloudfront_function",
    "aws_cloudfront_cache_policy", "aws_budgets_budget", "aws_chatbot_slack_channel_configuration",
}
ALIAS_REGIONS = {"us_east_1": "us-east-1", "chatbot": "us-east-2"}
UNKNOWN = "<?>"


@dataclass(frozen=True)
class Name:
    rtype: str
    region: str
    value: str
    where: str  # module path and resource address, for messages

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.rtype, "global" if self.rtype in GLOBAL_TYPES else self.region, self.value)


def _interpolations(text: str) -> Iterator[tuple[int, int, str]]:
    """(start, end, inner) of each top-level ${...} in text, braces and quotes nested."""
    i = 0
    while (start := text.find("${", i)) >= 0:
        depth, j, quote = 0, start + 1, None
        while j < len(text):
            c = text[j]
            if quote:
                if c == "\\":
                    j += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        yield start, j + 1, text[start + 2:j]
        i = j + 1


class Scope:
    def __init__(self, mod: Module, inputs: dict[str, Any], region: str, each_key: str | None = None):
        self.mod, self.inputs, self.region, self.each_key = mod, inputs, region, each_key

    def var(self, name: str) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        return attr(self.mod.variables.get(name, {}), "default")

    def expr(self, inner: str) -> Any:
        """The value of one expression, or UNKNOWN."""
        inner = inner.strip()
        if m := re.fullmatch(r"var\.([\w-]+)", inner):
            return self.var(m.group(1))
        if m := re.fullmatch(r"local\.([\w-]+)", inner):
            value = self.mod.locals.get(m.group(1), UNKNOWN)
            return self.render(value) if isinstance(value, str) else value
        if inner == "each.key" and self.each_key is not None:
            return self.each_key
        if re.fullmatch(r"data\.aws_region\.[\w-]+\.region", inner):
            return self.region
        if re.fullmatch(r"data\.aws_caller_identity\.[\w-]+\.account_id", inner):
            return "<account>"
        # coalesce(var.x, "<template>"): the template when the variable is null.
        if m := re.fullmatch(r'coalesce\(\s*var\.([\w-]+)\s*,\s*"(.*)"\s*\)', inner, re.S):
            value = self.var(m.group(1))
            return value if value is not None else self.render(m.group(2))
        if inner.startswith("substr(sha256("):
            return "<hash>"
        # Another resource's name: aws_dynamodb_table.vocab.name.
        if (m := re.fullmatch(r"(aws_\w+)\.([\w-]+)\.(\w+)", inner)) and NAME_ARGS.get(m.group(1)) == m.group(3):
            res = self.mod.resource(m.group(1)).get(m.group(2))
            if res is not None and "for_each" not in res:
                return self.render(attr(res, m.group(3)))
        return UNKNOWN

    def render(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        spans = list(_interpolations(value))
        if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] == len(value):
            return self.expr(spans[0][2])
        out, last = [], 0
        for start, end, inner in spans:
            out.append(value[last:start])
            got = self.expr(inner)
            out.append(UNKNOWN if got is None else str(got))
            last = end
        out.append(value[last:])
        return "".join(out)

    def each_keys(self, for_each: Any) -> list[str] | None:
        """Keys a for_each iterates over, when they are known before apply."""
        value = for_each
        if isinstance(value, str):
            inner = value[2:-1] if value.startswith("${") and value.endswith("}") else value
            if m := re.fullmatch(r"toset\(\[(.*)\]\)", inner):
                return re.findall(r"'([^']*)'|\"([^\"]*)\"", m.group(1)) and [
                    a or b for a, b in re.findall(r"'([^']*)'|\"([^\"]*)\"", m.group(1))
                ]
            value = self.render(value)
        if isinstance(value, dict):
            return list(value)
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return value
        return None


def _resource_region(res: dict, scope: Scope) -> str:
    provider = bare(attr(res, "provider"))
    if isinstance(provider, str) and provider.startswith("aws."):
        return ALIAS_REGIONS.get(provider[4:], provider)
    return scope.region


def environment_names(env: Module) -> list[Name]:
    """Every unique-by-name resource an environment root creates, with its rendered name, for
    the values of its terraform.tfvars.example and the variables' defaults."""
    tfvars = load_text((env.path / "terraform.tfvars.example").read_text())
    inputs = {k: v[0] for k, v in tfvars.items()}
    scope = Scope(env, inputs, "")
    scope.region = scope.var("aws_region")
    return list(_names(env, scope, "envs/" + env.path.name))


def _names(mod: Module, scope: Scope, where: str) -> Iterator[Name]:
    for rtype, arg in NAME_ARGS.items():
        for rname, res in mod.resource(rtype).items():
            if attr(res, "count") is not None and scope.render(attr(res, "count")) == 0:
                continue
            region = _resource_region(res, scope)
            keys = scope.each_keys(attr(res, "for_each")) if "for_each" in res else [None]
            for key in keys or ["<each>"]:
                inner = Scope(mod, scope.inputs, scope.region, key)
                value = inner.render(attr(res, arg))
                if value is None:
                    continue
                yield Name(rtype, region, str(value), f"{where}: {rtype}.{rname}")
    for call_name, call in mod.modules.items():
        target = Module.load((mod.path / attr(call, "source")).resolve())
        inputs = {
            k: scope.render(v[0]) for k, v in call.items()
            if k not in ("source", "providers", "count", "for_each", "depends_on")
        }
        region = scope.region
        providers = attr(call, "providers") or {}
        default = bare(providers.get("aws", "aws"))
        if isinstance(default, str) and default.startswith("aws."):
            region = ALIAS_REGIONS.get(default[4:], default)
        yield from _names(target, Scope(target, inputs, region), f"{where} > module.{call_name}")


def collisions(names: list[Name]) -> list[str]:
    """Names two resources would both take (type, region when regional, name)."""
    seen: dict[tuple[str, str, str], Name] = {}
    problems = []
    for n in names:
        if n.key in seen and seen[n.key].where != n.where:
            problems.append(f"{n.rtype} {n.value!r} ({n.key[1]}): {seen[n.key].where} and {n.where}")
        seen.setdefault(n.key, n)
    return problems


def without_prefix(names: list[Name], prefix: str) -> list[str]:
    """Names that don't carry the environment's prefix (so another environment would reuse them)."""
    return [f"{n.where}: {n.value!r}" for n in names if prefix not in n.value]


def load_env(path: Path) -> Module:
    return Module.load(path)
