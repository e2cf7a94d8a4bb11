# Alarms on the product itself; each publishes to var.alarm_topic_arn (SNS -> AWS Chatbot ->
# Slack, module `alarms`), on alarm and on recovery.

locals {
  alarm_actions = [var.alarm_topic_arn]
  # DynamoDB reports SystemErrors per operation only (TableName + Operation dimensions).
  table_operations = ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "BatchWriteItem", "TransactWriteItems"]
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-api-${each.key}-errors"
  alarm_description   = "The ${each.key} API function failed invocations (a panic, a timeout or an init error): requests got 500/502/504."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    FunctionName = aws_lambda_function.api[each.key].function_name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "function_throttles" {
  for_each            = local.functions
  alarm_name          = "${var.name_prefix}-api-${each.key}-throttles"
  alarm_description   = "Lambda throttled the ${each.key} API function (account concurrency exhausted): requests got 429/500."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    FunctionName = aws_lambda_function.api[each.key].function_name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${local.api_name}-5xx-rate"
  alarm_description   = "More than ${var.api_5xx_rate_percent}% of API requests answered 5xx over 5 minutes (at least 10 requests)."
  evaluation_periods  = 1
  threshold           = var.api_5xx_rate_percent
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    label       = "5xx per 100 requests"
    return_data = true
    # Below 10 requests a single failure is not a rate worth waking anyone for.
    expression = "IF(requests >= 10, 100 * errors / requests, 0)"
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5xx"
      period      = 300
      stat        = "Sum"
      dimensions = {
        ApiId = aws_apigatewayv2_api.vocab.id
        Stage = aws_apigatewayv2_stage.default.name
      }
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      period      = 300
      stat        = "Sum"
      dimensions = {
        ApiId = aws_apigatewayv2_api.vocab.id
        Stage = aws_apigatewayv2_stage.default.name
      }
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "api_p99_latency" {
  alarm_name          = "${local.api_name}-p99-latency"
  alarm_description   = "API Gateway's p99 latency stayed above ${var.api_p99_latency_ms} ms for 15 minutes."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.api_p99_latency_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    ApiId = aws_apigatewayv2_api.vocab.id
    Stage = aws_apigatewayv2_stage.default.name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "table_throttles" {
  alarm_name          = "${aws_dynamodb_table.vocab.name}-table-throttles"
  alarm_description   = "DynamoDB throttled reads or writes of the vocab table (on-demand capacity ramping up, or a hot partition)."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    label       = "read + write throttle events"
    return_data = true
    expression  = "reads + writes"
  }

  dynamic "metric_query" {
    for_each = { reads = "ReadThrottleEvents", writes = "WriteThrottleEvents" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value
        period      = 300
        stat        = "Sum"
        dimensions = {
          TableName = aws_dynamodb_table.vocab.name
        }
      }
    }
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "table_system_errors" {
  alarm_name          = "${aws_dynamodb_table.vocab.name}-table-system-errors"
  alarm_description   = "DynamoDB answered 500s (SystemErrors) to the vocab API: an AWS-side problem, requests failed."
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "errors"
    label       = "system errors, all operations"
    return_data = true
    expression  = "SUM(METRICS(\"op\"))"
  }

  dynamic "metric_query" {
    for_each = local.table_operations
    content {
      id = "op${metric_query.key}"
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "SystemErrors"
        period      = 300
        stat        = "Sum"
        dimensions = {
          TableName = aws_dynamodb_table.vocab.name
          Operation = metric_query.value
        }
      }
    }
  }

  tags = var.tags
}
