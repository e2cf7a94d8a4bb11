"""The WAF in front of the app and the API: an IP above 300 requests per minute is blocked, and
a request body is refused by size only when it is larger than its path may really receive."""

import re

import pytest

from infra_hcl import REPO, Module, attr, blocks, waf_rate_problems


def test_rate_rule_is_300_per_60_seconds_per_ip_and_attached(modules):
    assert waf_rate_problems(modules["edge"]) == []


BAD = '''
resource "aws_wafv2_web_acl" "acl" {
  provider = aws.us_east_1
  scope    = "REGIONAL"
  rule {
    name = "too-lenient"
    action {
      count {}
    }
    statement {
      rate_based_statement {
        limit                 = 300
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }
  }
}
'''


def test_check_catches_a_5_minute_window_a_count_action_and_no_attachment(tmp_path):
    problems = waf_rate_problems(Module.from_texts(tmp_path, [BAD]))
    assert any("(300, 300, 'IP')" in p for p in problems)
    assert any("does not block" in p for p in problems)
    assert any("scope must be CLOUDFRONT" in p for p in problems)
    assert any("attached to no CloudFront distribution" in p for p in problems)


# ---------------------------------------------------------------- body sizes by path


def _rules(edge: Module) -> dict[str, dict]:
    return {attr(r, "name"): r for r in blocks(edge.resource("aws_wafv2_web_acl")["edge"], "rule")}


def _regexes(edge: Module, pattern_set: str) -> list[str]:
    paths = edge.locals["api_body_limit_paths"]
    res = edge.resource("aws_wafv2_regex_pattern_set")[pattern_set]
    found = []
    for entry in res.get("dynamic", []):
        if "regular_expression" in entry:
            assert entry["regular_expression"]["for_each"] == ["${local.api_body_limit_paths}"]
            found += list(paths.values())
    for block in blocks(res, "regular_expression"):
        ref = re.fullmatch(r"\$\{local\.api_body_limit_paths\.(\w+)\}", attr(block, "regex_string"))
        found.append(paths[ref.group(1)] if ref else attr(block, "regex_string"))
    return found


def _size_statement(statement: dict) -> tuple[int, str]:
    size = statement["size_constraint_statement"][0]
    body = size["field_to_match"][0]["body"][0]
    assert attr(size, "comparison_operator") == "GT"
    return attr(size, "size"), attr(body, "oversize_handling")


def waf_body_limit(edge: Module, method: str, path: str) -> int | None:
    """The largest body the WAF lets through for a request (None: the WAF doesn't limit it,
    the API's own limit applies), evaluated from the rules as WAF would."""
    if method in ("GET", "HEAD", "DELETE"):
        return None
    large = [re.compile(r) for r in _regexes(edge, "large_body_paths")]
    client_events = [re.compile(r) for r in _regexes(edge, "client_events_path")]
    rules = _rules(edge)
    default_rule = rules["body-over-8kb"]["statement"][0]["and_statement"][0]["statement"]
    size, oversize = _size_statement(default_rule[0])
    assert default_rule[1]["not_statement"][0]["statement"][0]["regex_pattern_set_reference_statement"][0]["arn"] == [
        "${aws_wafv2_regex_pattern_set.large_body_paths.arn}"
    ]
    assert oversize == "MATCH"  # past WAF's inspection limit, the body is over 8 KB for sure
    limits = []
    if not any(r.search(path) for r in large):
        limits.append(edge.locals[size[len("${local."):-1]] if isinstance(size, str) else size)
    events_rule = rules["client-events-over-16kb"]["statement"][0]["and_statement"][0]["statement"]
    events_size, events_oversize = _size_statement(events_rule[1])
    assert events_oversize == "MATCH"
    if any(r.search(path) for r in client_events):
        limits.append(edge.locals[events_size[len("${local."):-1]] if isinstance(events_size, str) else events_size)
    return min(limits) if limits else None


def _api_limit_bytes() -> int:
    text = (REPO / "vocab-api" / "src" / "validate.rs").read_text()
    m = re.search(r"pub const MAX_BODY_BYTES: usize = (\d+) \* (\d+);", text)
    return int(m.group(1)) * int(m.group(2))


def test_the_common_rule_sets_8kb_body_block_is_replaced_by_per_path_rules(modules):
    # Issue 13: SizeRestrictions_BODY blocked every body over 8 KB, bulk word adds (up to the
    # API's 256 KiB) among them.
    edge = modules["edge"]
    common = _rules(edge)["aws-common"]["statement"][0]["managed_rule_group_statement"][0]
    assert attr(common, "name") == "AWSManagedRulesCommonRuleSet"
    overrides = {attr(o, "name"): o for o in blocks(common, "rule_action_override")}
    assert "count" in overrides["SizeRestrictions_BODY"]["action_to_use"][0]
    for name in ("body-over-8kb", "client-events-over-16kb"):
        rule = _rules(edge)[name]
        assert "block" in rule["action"][0], name
        assert attr(rule, "priority") > attr(_rules(edge)["aws-common"], "priority")


@pytest.mark.parametrize("method,path,expected", [
    # Bulk adds (500 words), a word with a 2,000-character memo, 500 ids to delete, 50 typed
    # answers: the API's own limit, answered 413 in its JSON.
    ("POST", "/api/lists/L1/words", None),
    ("PATCH", "/api/lists/L1/words/W1", None),
    ("POST", "/api/lists/L1/words/batch-delete", None),
    ("POST", "/api/quizzes/Q1/answers", None),
    # docs/CONTRACTS.md section A: client events are at most 16 KiB.
    ("POST", "/api/client-events", 16384),
    # Everything else carries small bodies: list names, 100 ids, quiz options.
    ("POST", "/api/lists", 8192),
    ("PATCH", "/api/lists/L1", 8192),
    ("POST", "/api/lists/batch-delete", 8192),
    ("POST", "/api/lists/L1/quizzes", 8192),
    ("POST", "/api/lists/L1/words/W1/extra", 8192),
    ("GET", "/api/lists/L1/words", None),
])
def test_each_path_may_receive_the_body_it_really_takes(modules, method, path, expected):
    assert waf_body_limit(modules["edge"], method, path) == expected


def test_every_route_with_a_body_has_a_limit_at_least_what_the_api_accepts_there(modules):
    """Routes whose bodies can exceed 8 KB are the large-body paths; every route of the API is
    one of the table above, so a new route with a big body has to be added on purpose."""
    routes = modules["vocab_api"].locals["routes"]
    known = {
        "POST /lists/{list_id}/words", "PATCH /lists/{list_id}/words/{word_id}",
        "POST /lists/{list_id}/words/batch-delete", "POST /quizzes/{quiz_id}/answers", "POST /client-events",
        "POST /lists", "PATCH /lists/{list_id}", "POST /lists/batch-delete", "POST /lists/{list_id}/quizzes",
        "PUT /lists/{list_id}/notebook/{word_id}",
    }
    with_body = {r for r in routes if r.split()[0] in ("POST", "PUT", "PATCH")}
    assert with_body <= known, f"decide the WAF body limit of {sorted(with_body - known)} (module edge)"
    assert _api_limit_bytes() > 16384, "the large-body paths exist because the API takes more than WAF inspects"
