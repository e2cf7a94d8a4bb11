"""Alarms for the product, not only the shipper; every one reaches Slack through SNS and AWS
Chatbot, on a topic of its own region."""

import pytest

from infra_hcl import Module, attr, bare

# Module => the variable its alarms publish to.
ALARM_MODULES = {"vocab_api": "alarm_topic_arn", "shipper": "alarm_topic_arn", "alarms": None}


def _alarms(mod: Module) -> dict[str, dict]:
    return mod.resource("aws_cloudwatch_metric_alarm")


def _metrics(alarm: dict) -> set[tuple[str, str]]:
    """(namespace, metric) of an alarm, metric math included."""
    found = set()
    if attr(alarm, "metric_name"):
        found.add((attr(alarm, "namespace"), attr(alarm, "metric_name")))
    queries = list(alarm.get("metric_query", []))
    for entry in alarm.get("dynamic", []):
        if "metric_query" in entry:
            queries += entry["metric_query"]["content"]
            # dynamic over a literal map/list of metric names: expand it
            for_each = entry["metric_query"]["for_each"][0]
            for q in entry["metric_query"]["content"]:
                metric = q["metric"][0]
                if attr(metric, "metric_name") == "${metric_query.value}" and isinstance(for_each, dict):
                    found |= {(attr(metric, "namespace"), m) for m in for_each.values()}
    for q in queries:
        for metric in q.get("metric", []):
            name = attr(metric, "metric_name")
            if not name.startswith("${"):
                found.add((attr(metric, "namespace"), name))
    return found


def _covered(mod: Module) -> dict[tuple[str, str], dict]:
    out = {}
    for alarm in _alarms(mod).values():
        for metric in _metrics(alarm):
            out[metric] = alarm
    for table in mod.locals.values():  # the shipper's table of one-threshold alarms
        if isinstance(table, dict) and all(isinstance(v, dict) and "metric" in v for v in table.values()) and table:
            for row in table.values():
                out[(row["namespace"], row["metric"])] = row
    return out


@pytest.mark.parametrize("metric", [
    ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"),
    ("AWS/ApiGateway", "5xx"), ("AWS/ApiGateway", "Count"), ("AWS/ApiGateway", "Latency"),
    ("AWS/DynamoDB", "ReadThrottleEvents"), ("AWS/DynamoDB", "WriteThrottleEvents"), ("AWS/DynamoDB", "SystemErrors"),
])
def test_the_api_has_alarms_on_functions_gateway_and_table(modules, metric):
    assert metric in _covered(modules["vocab_api"]), f"no API alarm on {metric}"


def test_api_alarms_are_per_function_and_the_latency_one_is_p99(modules):
    api = modules["vocab_api"]
    for name in ("function_errors", "function_throttles"):
        alarm = _alarms(api)[name]
        assert attr(alarm, "for_each") == "${local.functions}"
        assert attr(alarm, "dimensions") == {"FunctionName": "${aws_lambda_function.api[each.key].function_name}"}
    assert attr(_alarms(api)["api_p99_latency"], "extended_statistic") == "p99"
    rate = _alarms(api)["api_5xx_rate"]
    (expression,) = [q for q in rate["metric_query"] if attr(q, "return_data")]
    assert "errors / requests" in attr(expression, "expression")


@pytest.mark.parametrize("metric", [
    ("AWS/Lambda", "Errors"), ("AWS/Lambda", "Throttles"), ("AWS/Lambda", "Duration"),
    ("AWS/Lambda", "AsyncEventAge"), ("AWS/Lambda", "AsyncEventsDropped"), ("AWS/Lambda", "DestinationDeliveryFailures"),
    ("CloudWatchEsShipper", "EventsDeadLettered"), ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    ("AWS/Logs", "DeliveryErrors"),
])
def test_the_shipper_has_alarms_on_throttles_duration_async_age_drops_and_delivery(modules, metric):
    assert metric in _covered(modules["shipper"]), f"no shipper alarm on {metric}"


def test_the_shipper_duration_alarm_is_near_its_own_timeout(modules):
    row = modules["shipper"].locals["function_alarms"]["near-timeout"]
    assert row["statistic"] == "Maximum"
    assert row["threshold"] == "${var.timeout_seconds * 1000 * 0.8}"
    delivery = _alarms(modules["shipper"])["subscription_delivery"]
    assert attr(delivery, "for_each") == "${aws_cloudwatch_log_subscription_filter.ship}"
    assert set(attr(delivery, "dimensions")) == {"LogGroupName", "DestinationType", "FilterName"}


def test_the_metric_names_are_the_ones_the_shipper_emits():
    from infra_hcl import REPO
    # The EMF line is written by the shipper crate; a renamed metric would silence the alarm.
    source = "\n".join(p.read_text() for p in (REPO / "shipper" / "src").rglob("*.rs"))
    for name in ("CloudWatchEsShipper", "EventsDeadLettered", "FunctionName"):
        assert f'"{name}"' in source, f"the shipper no longer writes {name}"


@pytest.mark.parametrize("name", ALARM_MODULES)
def test_every_alarm_notifies_and_recovers_through_its_modules_topic(modules, name):
    mod, var = modules[name], ALARM_MODULES[name]
    alarms = _alarms(mod)
    assert alarms, f"{name} has no alarms"
    for aname, alarm in alarms.items():
        assert attr(alarm, "actions_enabled") is True, aname
        actions, ok = attr(alarm, "alarm_actions"), attr(alarm, "ok_actions")
        if var:
            assert actions == ok == "${local.alarm_actions}", aname
            assert mod.locals["alarm_actions"] == [f"${{var.{var}}}"]
        else:
            topic = "${aws_sns_topic.alerts_us_east_1.arn}" if attr(alarm, "provider") == "${aws.us_east_1}" else "${aws_sns_topic.alerts.arn}"
            assert actions == ok == [topic], aname


def test_every_topic_an_alarm_uses_is_in_its_region_and_forwarded_to_slack(modules, stack):
    alarms = modules["alarms"]
    chatbot = alarms.resource("aws_chatbot_slack_channel_configuration")["alerts"]
    assert set(attr(chatbot, "sns_topic_arns")) == {"${aws_sns_topic.alerts.arn}", "${aws_sns_topic.alerts_us_east_1.arn}"}
    assert attr(chatbot, "slack_channel_id") == "${var.slack_channel_id}"
    assert attr(chatbot, "slack_team_id") == "${var.slack_team_id}"
    assert attr(alarms.resource("aws_sns_topic")["alerts_us_east_1"], "provider") == "${aws.us_east_1}"
    assert attr(alarms.resource("aws_sns_topic")["alerts"], "provider") is None
    assert alarms.outputs["topic_arn"]["value"] == ["${aws_sns_topic.alerts.arn}"]
    assert alarms.outputs["topic_arn_us_east_1"]["value"] == ["${aws_sns_topic.alerts_us_east_1.arn}"]
    # Each module's alarms go to the topic of the region its provider is in.
    for call_name, call in stack.modules.items():
        if stack.module_dir(call_name).name not in ("vocab_api", "shipper"):
            continue
        region_alias = bare((attr(call, "providers") or {}).get("aws", "aws"))
        wanted = "${module.alarms.topic_arn_us_east_1}" if region_alias == "aws.us_east_1" else "${module.alarms.topic_arn}"
        assert attr(call, "alarm_topic_arn") == wanted, call_name
    for notification in alarms.resource("aws_budgets_budget")["monthly"]["notification"]:
        assert set(attr(notification, "subscriber_sns_topic_arns")) <= set(attr(chatbot, "sns_topic_arns"))


def test_the_waf_alarm_watches_the_rate_rule_by_its_real_names(modules, stack):
    waf = _alarms(modules["alarms"])["waf_blocked"]
    assert attr(waf, "provider") == "${aws.us_east_1}"
    assert attr(waf, "dimensions") == {"WebACL": "${var.web_acl_name}", "Rule": "${var.waf_rate_rule_name}"}
    call = stack.modules["alarms"]
    assert attr(call, "web_acl_name") == "${module.edge.web_acl_name}"
    assert attr(call, "waf_rate_rule_name") == "${module.edge.rate_rule_name}"


BAD = '''
locals {
  alarm_actions = [var.alarm_topic_arn]
}
resource "aws_cloudwatch_metric_alarm" "silent" {
  alarm_name      = "x"
  actions_enabled = true
  alarm_actions   = []
}
'''


def test_the_wiring_check_catches_an_alarm_that_notifies_nobody(tmp_path):
    mod = Module.from_texts(tmp_path, [BAD])
    with pytest.raises(AssertionError):
        test_every_alarm_notifies_and_recovers_through_its_modules_topic({"shipper": mod}, "shipper")
