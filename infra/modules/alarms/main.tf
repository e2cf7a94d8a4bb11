# Alarm path: CloudWatch alarm / AWS Budgets -> SNS topic -> AWS Chatbot -> Slack channel.
# Alarm actions must use a topic in the alarm's region, and the WAF metrics of a CloudFront web
# ACL (and the WAF logs' shipper) are in us-east-1, so there are two topics; Chatbot subscribes
# to both. The alarms on the API and the shippers live in their modules, which get these topics.

data "aws_caller_identity" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
}

# ---------------------------------------------------------------- encrypted topics

# Publishing services need the key: an AWS managed SNS key can't be opened to them.
data "aws_iam_policy_document" "alerts_key" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" resource means this key only; the account root statement is what lets IAM policies grant use of the key.
  #checkov:skip=CKV_AWS_111:Key policy: "*" resource means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource means this key only.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "AlarmAndBudgetPublishers"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_kms_key" "alerts" {
  description         = "${var.name_prefix}: encrypts the alerts SNS topic"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alerts_key.json
  tags                = var.tags
}

resource "aws_kms_key" "alerts_us_east_1" {
  provider            = aws.us_east_1
  description         = "${var.name_prefix}: encrypts the us-east-1 alerts SNS topic"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.alerts_key.json
  tags                = var.tags
}

resource "aws_sns_topic" "alerts" {
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = aws_kms_key.alerts.arn
  tags              = var.tags
}

resource "aws_sns_topic" "alerts_us_east_1" {
  provider          = aws.us_east_1
  name              = "${var.name_prefix}-alerts"
  kms_master_key_id = aws_kms_key.alerts_us_east_1.arn
  tags              = var.tags
}

data "aws_iam_policy_document" "alerts_topic" {
  for_each = {
    main      = aws_sns_topic.alerts.arn
    us_east_1 = aws_sns_topic.alerts_us_east_1.arn
  }

  statement {
    sid       = "AlarmAndBudgetPublishers"
    actions   = ["sns:Publish"]
    resources = [each.value]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com", "budgets.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic_policy" "alerts" {
  arn    = aws_sns_topic.alerts.arn
  policy = data.aws_iam_policy_document.alerts_topic["main"].json
}

resource "aws_sns_topic_policy" "alerts_us_east_1" {
  provider = aws.us_east_1
  arn      = aws_sns_topic.alerts_us_east_1.arn
  policy   = data.aws_iam_policy_document.alerts_topic["us_east_1"].json
}

# ---------------------------------------------------------------- Chatbot -> Slack

data "aws_iam_policy_document" "assume_chatbot" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["chatbot.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "chatbot" {
  name               = "${var.name_prefix}-chatbot-slack"
  assume_role_policy = data.aws_iam_policy_document.assume_chatbot.json
  tags               = var.tags
}

data "aws_iam_policy_document" "chatbot" {
  statement {
    sid = "ShowAlarms"
    # Enough to render an alarm notification in Slack; nothing else.
    actions   = ["cloudwatch:DescribeAlarms"]
    resources = ["arn:aws:cloudwatch:*:${local.account_id}:alarm:*"]
  }
}

resource "aws_iam_role_policy" "chatbot" {
  name   = "${var.name_prefix}-chatbot-slack"
  role   = aws_iam_role.chatbot.id
  policy = data.aws_iam_policy_document.chatbot.json
}

resource "aws_chatbot_slack_channel_configuration" "alerts" {
  provider           = aws.chatbot
  configuration_name = "${var.name_prefix}-alerts"
  iam_role_arn       = aws_iam_role.chatbot.arn
  slack_team_id      = var.slack_team_id
  slack_channel_id   = var.slack_channel_id
  sns_topic_arns     = [aws_sns_topic.alerts.arn, aws_sns_topic.alerts_us_east_1.arn]
  # Caps what anyone in the channel can do through Chatbot, whatever the role allows.
  guardrail_policy_arns = ["arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"]
  logging_level         = "ERROR"
  tags                  = var.tags
}

# ---------------------------------------------------------------- cost

resource "aws_budgets_budget" "monthly" {
  name         = "${var.name_prefix}-monthly-cost"
  budget_type  = "COST"
  limit_amount = tostring(var.monthly_budget_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.alerts.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.alerts.arn]
  }

  depends_on = [aws_sns_topic_policy.alerts]
}

# ---------------------------------------------------------------- WAF

resource "aws_cloudwatch_metric_alarm" "waf_blocked" {
  provider            = aws.us_east_1
  alarm_name          = "${var.name_prefix}-waf-rate-rule-blocking"
  alarm_description   = "The per-IP rate rule (300 requests/minute) is blocking many requests: an abusive client or a runaway script."
  namespace           = "AWS/WAFV2"
  metric_name         = "BlockedRequests"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.waf_blocked_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = [aws_sns_topic.alerts_us_east_1.arn]
  ok_actions          = [aws_sns_topic.alerts_us_east_1.arn]

  # CLOUDFRONT-scope web ACLs report WebACL and Rule only (no Region dimension).
  dimensions = {
    WebACL = var.web_acl_name
    Rule   = var.waf_rate_rule_name
  }

  tags = var.tags
}
