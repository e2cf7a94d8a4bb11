"""Parsed Terraform for the infra tests, and the checks they run.

Every check returns a list of problems (empty = fine) so that the tests can run it both on the
real configuration and on small bad snippets, proving the check can fail.

Parsing: the `hcl2` module comes from python-hcl2, but checkov depends on bc-python-hcl2, a fork
that installs a module with the same name; whichever pip installed last wins. The two write
different shapes (python-hcl2 >= 5 keeps string quotes, unwraps attributes and marks blocks with
`__is_block__`; the fork wraps every attribute value in a one-element list). `load_text` turns
both into the fork's shape, so the checks read one shape:
  body[attr] == [value]           (use `attr(body, name)`)
  body[block_type] == [body, ...]  (use `blocks(body, name)`)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import hcl2

INFRA = Path(__file__).resolve().parent.parent
REPO = INFRA.parent
MODULES = INFRA / "modules"
ENVS = INFRA / "envs"

_MARKERS = {"__start_line__", "__end_line__", "__is_block__", "__comments__", "__inline_comments__"}
_MODERN = not str(getattr(hcl2, "__version__", "0")).startswith("0.")


# ---------------------------------------------------------------- parsing


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def _value(value: Any) -> Any:
    if isinstance(value, str):
        return _unquote(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(str(k)): _value(v) for k, v in value.items() if k not in _MARKERS}
    return value


def _is_block(value: Any) -> bool:
    """A block body, or labels leading to one ({"label": {"label": body}})."""
    if not isinstance(value, dict):
        return False
    if value.get("__is_block__"):
        return True
    inner = [v for k, v in value.items() if k not in _MARKERS]
    return bool(inner) and all(_is_block(v) for v in inner)


def _block(value: dict) -> dict:
    if value.get("__is_block__"):
        return _body(value)
    return {_unquote(k): _block(v) for k, v in value.items() if k not in _MARKERS}


def _body(body: dict) -> dict:
    out: dict = {}
    for key, value in body.items():
        if key in _MARKERS:
            continue
        if isinstance(value, list) and value and all(_is_block(v) for v in value):
            out[key] = [_block(v) for v in value]
        else:
            out[key] = [_value(value)]
    return out


def _strip_lines(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip_lines(v) for k, v in node.items() if k not in _MARKERS}
    if isinstance(node, list):
        return [_strip_lines(v) for v in node]
    return node


def load_text(text: str) -> dict:
    parsed = hcl2.loads(text if text.endswith("\n") else text + "\n")
    return _body(parsed) if _MODERN else _strip_lines(parsed)


def attr(body: dict, name: str, default: Any = None) -> Any:
    value = body.get(name)
    if value is None:
        return default
    return value[0]


def bare(expr: Any) -> Any:
    """A bare reference the parsers render differently (`aws` vs `${aws}`) as plain text."""
    if isinstance(expr, str) and expr.startswith("${") and expr.endswith("}"):
        return expr[2:-1]
    return expr


def blocks(body: dict, name: str) -> list[dict]:
    return body.get(name, [])


def dynamic_blocks(body: dict, name: str) -> list[dict]:
    """The content bodies of `dynamic "<name>"` blocks."""
    found = []
    for entry in body.get("dynamic", []):
        if name in entry:
            found.extend(entry[name].get("content", []))
    return found


def all_blocks(body: dict, name: str) -> list[dict]:
    """Static and dynamic blocks of one type."""
    return blocks(body, name) + dynamic_blocks(body, name)


# ---------------------------------------------------------------- a directory of .tf files


@dataclass
class Module:
    path: Path
    resources: dict[str, dict[str, dict]] = field(default_factory=dict)
    data: dict[str, dict[str, dict]] = field(default_factory=dict)
    variables: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, dict] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict] = field(default_factory=dict)
    terraform: list[dict] = field(default_factory=list)

    @classmethod
    def from_texts(cls, path: Path, texts: list[str]) -> "Module":
        mod = cls(path)
        for text in texts:
            doc = load_text(text)
            for entry in doc.get("resource", []):
                for rtype, named in entry.items():
                    mod.resources.setdefault(rtype, {}).update(named)
            for entry in doc.get("data", []):
                for dtype, named in entry.items():
                    mod.data.setdefault(dtype, {}).update(named)
            for entry in doc.get("variable", []):
                mod.variables.update(entry)
            for entry in doc.get("output", []):
                mod.outputs.update(entry)
            for entry in doc.get("module", []):
                mod.modules.update(entry)
            for entry in doc.get("locals", []):
                mod.locals.update({k: v[0] for k, v in entry.items()})
            mod.terraform.extend(doc.get("terraform", []))
        return mod

    @classmethod
    def load(cls, path: Path) -> "Module":
        return cls.from_texts(path, [p.read_text() for p in sorted(path.glob("*.tf"))])

    def resource(self, rtype: str) -> dict[str, dict]:
        return self.resources.get(rtype, {})

    def module_dir(self, name: str) -> Path:
        return (self.path / attr(self.modules[name], "source")).resolve()


def module_dirs() -> list[Path]:
    return sorted(p for p in MODULES.iterdir() if p.is_dir())


def env_dirs() -> list[Path]:
    return sorted(p for p in ENVS.iterdir() if p.is_dir())


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def references(node: Any, prefix: str) -> set[str]:
    """Names used as `<prefix>.NAME` anywhere in the parsed node (var, local, module...)."""
    found = set()
    for s in strings(node):
        found.update(re.findall(r"(?<![\w.])" + re.escape(prefix) + r"\.([A-Za-z_][\w-]*)", s))
    return found


def default_of(mod: Module, expr: Any) -> Any:
    """The value of a literal, or of `${var.x}` through that variable's default."""
    if isinstance(expr, str):
        m = re.fullmatch(r"\$\{var\.([\w-]+)\}", expr)
        if m and m.group(1) in mod.variables:
            return attr(mod.variables[m.group(1)], "default")
    return expr


# ---------------------------------------------------------------- checks


def lambda_log_group_problems(mod: Module) -> list[str]:
    """Every Lambda logs to its own group /aws/lambda/<function_name>, with a retention."""
    problems = []
    groups = mod.resource("aws_cloudwatch_log_group")
    for name, fn in mod.resource("aws_lambda_function").items():
        fn_name = attr(fn, "function_name")
        wanted = f"/aws/lambda/{fn_name}"
        matching = [g for g in groups.values() if attr(g, "name") == wanted]
        if not matching:
            # A local that holds the name counts too: `name = local.own_log_group`.
            matching = [
                g for g in groups.values()
                if (m := re.fullmatch(r"\$\{local\.([\w-]+)\}", str(attr(g, "name"))))
                and mod.locals.get(m.group(1)) == wanted
            ]
        if not matching:
            problems.append(f"{mod.path.name}: aws_lambda_function.{name} has no log group named {wanted}")
            continue
        group = matching[0]
        retention = default_of(mod, attr(group, "retention_in_days"))
        if not isinstance(retention, int) or retention <= 0:
            problems.append(f"{mod.path.name}: log group {wanted} has no retention ({retention!r})")
        if attr(fn, "for_each") != attr(group, "for_each"):
            problems.append(f"{mod.path.name}: {wanted} and its function iterate over different sets")
        configs = blocks(fn, "logging_config")
        target = attr(configs[0], "log_group") if configs else None
        if not (isinstance(target, str) and target.startswith("${aws_cloudwatch_log_group.")):
            problems.append(f"{mod.path.name}: aws_lambda_function.{name} does not log to its Terraform-managed group")
    return problems


DATA_SERVICES = ("dynamodb", "s3", "secretsmanager", "ssm", "sqs", "sns", "kms")
_ANY_RESOURCE = re.compile(r"\*|arn:aws:[a-z0-9-]+:[^:]*:[^:]*:\*")


def _policy_documents(mod: Module) -> Iterator[tuple[str, dict, bool]]:
    """(name, document body, is_key_policy) of every aws_iam_policy_document."""
    key_policies = set()
    for key in mod.resource("aws_kms_key").values():
        key_policies |= {f"{m}" for m in re.findall(r"data\.aws_iam_policy_document\.([\w-]+)", str(attr(key, "policy", "")))}
    for name, doc in mod.data.get("aws_iam_policy_document", {}).items():
        yield name, doc, name in key_policies


def iam_problems(mod: Module) -> list[str]:
    """No Allow statement grants "*" actions, a whole data service, or a data action on every resource.

    In a KMS key policy "Resource": "*" means "this key", so there only actions are checked.
    Every policy attached to a role or resource must come from an aws_iam_policy_document, so
    nothing escapes this check through jsonencode.
    """
    problems = []
    for name, doc, is_key_policy in _policy_documents(mod):
        for i, st in enumerate(all_blocks(doc, "statement")):
            where = f"{mod.path.name}: data.aws_iam_policy_document.{name} statement {attr(st, 'sid') or i}"
            if attr(st, "effect", "Allow") != "Allow":
                continue
            if "not_actions" in st or "not_resources" in st:
                problems.append(f"{where}: allows with not_actions/not_resources")
            actions = attr(st, "actions", [])
            if isinstance(actions, str):  # an expression, e.g. each.value.table_actions
                actions = _resolve_actions(mod, actions)
            resources = attr(st, "resources", [])
            for action in actions:
                service = action.split(":", 1)[0].lower()
                if action == "*":
                    problems.append(f"{where}: grants every action")
                elif service in DATA_SERVICES and action.split(":", 1)[1] == "*" and not is_key_policy:
                    problems.append(f"{where}: grants all of {service}")
            touches_data = any(a.split(":", 1)[0].lower() in DATA_SERVICES for a in actions)
            if touches_data and not is_key_policy:
                wide = [r for r in resources if isinstance(r, str) and _ANY_RESOURCE.fullmatch(r)]
                if wide or not resources:
                    problems.append(f"{where}: data actions {actions} on any resource {wide}")
    attach = {
        "aws_iam_role_policy": "policy",
        "aws_iam_policy": "policy",
        "aws_iam_role": "assume_role_policy",
        "aws_kms_key": "policy",
        "aws_s3_bucket_policy": "policy",
        "aws_sns_topic_policy": "policy",
        "aws_sqs_queue_policy": "policy",
        "aws_secretsmanager_secret_policy": "policy",
    }
    for rtype, argument in attach.items():
        for name, res in mod.resource(rtype).items():
            value = attr(res, argument)
            if value is not None and not re.fullmatch(r"\$\{data\.aws_iam_policy_document\.[\w-]+(\[[^\]]+\])?\.json\}", str(value)):
                problems.append(f"{mod.path.name}: {rtype}.{name}.{argument} is not an aws_iam_policy_document")
    return problems


def _resolve_actions(mod: Module, expr: str) -> list[str]:
    """`${each.value.table_actions}` inside a for_each over a local map: every value's actions."""
    m = re.fullmatch(r"\$\{each\.value\.([\w-]+)\}", expr)
    if not m:
        return ["<unresolved " + expr + ">"]
    found: list[str] = []
    for value in mod.locals.values():
        if isinstance(value, dict):
            for item in value.values():
                if isinstance(item, dict) and m.group(1) in item:
                    found.extend(item[m.group(1)])
    return found or ["<unresolved " + expr + ">"]


def waf_rate_problems(mod: Module) -> list[str]:
    """A CLOUDFRONT web ACL blocks an IP above 300 requests in a 60 s window, and is attached."""
    acls = mod.resource("aws_wafv2_web_acl")
    if not acls:
        return [f"{mod.path.name}: no aws_wafv2_web_acl"]
    problems = []
    for name, acl in acls.items():
        found = False
        for rule in blocks(acl, "rule"):
            for statement in blocks(rule, "statement"):
                for rate in blocks(statement, "rate_based_statement"):
                    found = True
                    got = (attr(rate, "limit"), attr(rate, "evaluation_window_sec"), attr(rate, "aggregate_key_type"))
                    if got != (300, 60, "IP"):
                        problems.append(f"aws_wafv2_web_acl.{name}: rate rule is {got}, wanted (300, 60, 'IP')")
                    actions = blocks(rule, "action")
                    if not actions or "block" not in actions[0]:
                        problems.append(f"aws_wafv2_web_acl.{name}: rate rule does not block")
        if not found:
            problems.append(f"aws_wafv2_web_acl.{name}: no rate-based rule")
        if attr(acl, "scope") != "CLOUDFRONT":
            problems.append(f"aws_wafv2_web_acl.{name}: scope must be CLOUDFRONT (WAF can't attach to an HTTP API)")
        if attr(acl, "provider") != "${aws.us_east_1}":
            problems.append(f"aws_wafv2_web_acl.{name}: a CLOUDFRONT web ACL must be created in us-east-1")
        ref = f"${{aws_wafv2_web_acl.{name}.arn}}"
        attached = [d for d, dist in mod.resource("aws_cloudfront_distribution").items() if attr(dist, "web_acl_id") == ref]
        if not attached:
            problems.append(f"aws_wafv2_web_acl.{name}: attached to no CloudFront distribution")
    return problems


def runtime_problems(mod: Module) -> list[str]:
    problems = []
    for name, fn in mod.resource("aws_lambda_function").items():
        if attr(fn, "runtime") != "provided.al2023":
            problems.append(f"{mod.path.name}: aws_lambda_function.{name} runtime {attr(fn, 'runtime')!r}")
        if attr(fn, "architectures") != ["arm64"]:
            problems.append(f"{mod.path.name}: aws_lambda_function.{name} architectures {attr(fn, 'architectures')!r}")
        if attr(fn, "handler") != "bootstrap":
            problems.append(f"{mod.path.name}: aws_lambda_function.{name} handler must be bootstrap for a custom runtime")
    return problems


def undeclared_variable_problems(mod: Module) -> list[str]:
    body = {
        "resource": mod.resources, "data": mod.data, "output": mod.outputs,
        "locals": mod.locals, "module": mod.modules,
        "variable": {n: {k: v for k, v in b.items() if k == "validation"} for n, b in mod.variables.items()},
    }
    return [f"{mod.path.name}: var.{v} is used but not declared" for v in sorted(references(body, "var") - set(mod.variables))]


def module_call_problems(caller: Module) -> list[str]:
    """Each module call passes only declared variables, all required ones, and uses real outputs."""
    problems = []
    called: dict[str, Module] = {}
    for name, call in caller.modules.items():
        target = Module.load(caller.module_dir(name))
        called[name] = target
        passed = set(call) - {"source", "version", "providers", "depends_on", "count", "for_each"}
        for arg in sorted(passed - set(target.variables)):
            problems.append(f"module.{name}: passes {arg}, which {target.path.name} does not declare")
        required = {v for v, b in target.variables.items() if "default" not in b}
        for arg in sorted(required - passed):
            problems.append(f"module.{name}: does not pass required variable {arg}")
    everything = [caller.resources, caller.data, caller.outputs, caller.locals, caller.modules]
    for s in strings(everything):
        for mod_name, output in re.findall(r"(?<![\w.])module\.([\w-]+)\.([\w-]+)", s):
            if mod_name not in called:
                problems.append(f"module.{mod_name} is used but not declared")
            elif output not in called[mod_name].outputs:
                problems.append(f"module.{mod_name}.{output} is not an output of {called[mod_name].path.name}")
    return problems


def subscription_problems(api: Module, env: Module, shipper: Module, api_call: str = "vocab_api",
                          shipper_call: str = "shipper") -> list[str]:
    """Every vocab API function's log group reaches the shipper: per-group filters by default,
    the account-level subscription policy as the documented alternative."""
    problems = []
    fn_groups = {
        name for name, g in api.resource("aws_cloudwatch_log_group").items()
        if str(attr(g, "name", "")).startswith("/aws/lambda/vocab-api-")
    }
    if not fn_groups:
        problems.append("vocab API: no /aws/lambda/vocab-api-* log groups")
    output = str(attr(api.outputs.get("log_group_names", {}), "value", ""))
    if not any(f"aws_cloudwatch_log_group.{g}" in output for g in fn_groups):
        problems.append("vocab API: output log_group_names is not built from the functions' log groups")
    passed = env.modules.get(shipper_call, {}).get("log_group_names")
    if passed != [f"${{module.{api_call}.log_group_names}}"]:
        problems.append(f"env: module.{shipper_call}.log_group_names is {passed}, not module.{api_call}.log_group_names")

    shipper_fns = set(shipper.resource("aws_lambda_function"))
    destinations = {f"${{aws_lambda_function.{f}.arn}}" for f in shipper_fns}
    filters = shipper.resource("aws_cloudwatch_log_subscription_filter")
    good_filters = [
        f for f in filters.values()
        if "var.log_group_names" in str(attr(f, "for_each"))
        and attr(f, "log_group_name") == "${each.value}"
        and attr(f, "destination_arn") in destinations
    ]
    if not good_filters:
        problems.append("shipper: no subscription filter per log_group_names entry with the shipper as destination")
    permitted = [
        p for p in shipper.resource("aws_lambda_permission").values()
        if attr(p, "principal") == "logs.amazonaws.com"
        and "var.log_group_names" in str(attr(p, "for_each"))
        and re.fullmatch(r"\$\{aws_lambda_function\.[\w-]+\.function_name\}", str(attr(p, "function_name")))
    ]
    if not permitted:
        problems.append("shipper: logs.amazonaws.com may not invoke the shipper for each log group")
    policies = [
        p for p in shipper.resource("aws_cloudwatch_log_account_policy").values()
        if attr(p, "policy_type") == "SUBSCRIPTION_FILTER_POLICY"
        and any(d[2:-1] in str(attr(p, "policy_document")) for d in destinations)
    ]
    if not policies:
        problems.append("shipper: no account-level SUBSCRIPTION_FILTER_POLICY to the shipper")
    elif "NOT IN" not in str(attr(policies[0], "selection_criteria")):
        problems.append("shipper: the account policy would subscribe the shipper to its own logs")
    return problems


# ---------------------------------------------------------------- the API's router

_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def _call_args(text: str, open_paren: int) -> tuple[str, int]:
    """The text between a call's parentheses (nested calls, strings and closures kept)."""
    depth, i, quote = 0, open_paren, False
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 1
            elif c == '"':
                quote = False
        elif c == '"':
            quote = True
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i], i
        i += 1
    raise ValueError("unbalanced call")


def _top_level_methods(handler: str) -> set[str]:
    """`post(lists::create).get(lists::list)` -> {POST, GET}: method calls at depth 0 only, so
    handler paths like `lists::get` inside them don't count."""
    found, depth, i = set(), 0, 0
    while i < len(handler):
        c = handler[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            m = re.match(r"(?:\.|\b)(" + "|".join(_METHODS) + r")\s*\(", handler[i:])
            if m and (i == 0 or handler[i] == "." or not (handler[i - 1].isalnum() or handler[i - 1] in "_:")):
                found.add(m.group(1).upper())
                i += m.end() - 1
                continue
        i += 1
    return found


def rust_routes(source: str) -> set[str]:
    """Route keys (`METHOD /path`) of every axum `.route("/path", method(...)...)` in source."""
    routes = set()
    for m in re.finditer(r"\.route\s*\(", source):
        args, _ = _call_args(source, m.end() - 1)
        path = re.match(r'\s*"([^"]+)"\s*,', args)
        if not path:
            continue
        for method in _top_level_methods(args[path.end():]):
            routes.add(f"{method} {path.group(1)}")
    return routes


# Routes vocab-local serves that are not API routes (docs/CONTRACTS.md section A): the runtime
# configuration, an S3 object behind CloudFront in production.
LOCAL_ONLY_PATHS = {"/config.json"}


def router_routes() -> set[str]:
    """The routes of vocab-api's router, as the Lambdas serve them (binaries' own files aside)."""
    src = REPO / "vocab-api" / "src"
    routes = set()
    for path in sorted(src.rglob("*.rs")):
        if path.parent.name == "bin":
            continue
        routes |= rust_routes(path.read_text())
    return {r for r in routes if r.split(" ", 1)[1] not in LOCAL_ONLY_PATHS}


# ---------------------------------------------------------------- docs/CONTRACTS.md

def contract_access_log_format() -> dict[str, str]:
    """The access log format of docs/CONTRACTS.md section B, as a dict."""
    import json

    text = (REPO / "docs" / "CONTRACTS.md").read_text()
    section = text[text.index("**Access log format**"):]
    body = section[section.index("`{") + 1:section.index("}`") + 1]
    return json.loads(re.sub(r"`\s*`", "", body.replace("\n", "")))


def contract_web_config_keys() -> set[str]:
    """Keys of the cognito `auth` object of /config.json in docs/CONTRACTS.md section A."""
    import json

    text = (REPO / "docs" / "CONTRACTS.md").read_text()
    m = re.search(r'`(\{"api_base":"/api","auth":\{"mode":"cognito".*?\}\})`', text, re.S)
    return set(json.loads(m.group(1).replace("…", ""))["auth"])
