# Alarms on this shipper; each publishes to var.alarm_topic_arn (an SNS topic in this region:
# an alarm can only notify a topic of its own region) on alarm and on recovery.

locals {
  alarm_actions = [var.alarm_topic_arn]

  # Metric alarms with one threshold each: name suffix => what, metric, statistic, threshold.
  function_alarms = {
    errors = {
      description = "The log shipper failed invocations; Lambda retries them, then sends them to the on-failure queue."
      namespace   = "AWS/Lambda", metric = "Errors", statistic = "Sum", threshold = 0
    }
    throttles = {
      description = "Lambda throttled the shipper (its reserved concurrency is used up): CloudWatch Logs holds and retries the batches, so logs arrive late."
      namespace   = "AWS/Lambda", metric = "Throttles", statistic = "Sum", threshold = 0
    }
    "near-timeout" = {
      description = "An invocation ran longer than 80% of the shipper's timeout: the cluster is slow or batches are too big, and the next ones may time out."
      namespace   = "AWS/Lambda", metric = "Duration", statistic = "Maximum", threshold = var.timeout_seconds * 1000 * 0.8
    }
    "event-age" = {
      description = "Batches waited more than ${var.async_event_age_alarm_seconds} s in Lambda's async queue before running (the async equivalent of iterator age): logs are late."
      namespace   = "AWS/Lambda", metric = "AsyncEventAge", statistic = "Maximum", threshold = var.async_event_age_alarm_seconds * 1000
    }
    "events-dropped" = {
      description = "Lambda dropped async events (too old, or retries used up) without running them: check the on-failure queue; what is not there is lost."
      namespace   = "AWS/Lambda", metric = "AsyncEventsDropped", statistic = "Sum", threshold = 0
    }
    "lost-batches" = {
      description = "Lambda could not put a failed batch on the on-failure queue: those log lines are lost."
      namespace   = "AWS/Lambda", metric = "DestinationDeliveryFailures", statistic = "Sum", threshold = 0
    }
    "dead-letters" = {
      description = "Elasticsearch refused documents; they are in logs-shipper.deadletter-* and can be replayed with `shipper ship`."
      namespace   = "CloudWatchEsShipper", metric = "EventsDeadLettered", statistic = "Sum", threshold = 0 # the shipper's EMF line
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "function" {
  for_each            = local.function_alarms
  alarm_name          = "${var.function_name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    FunctionName = aws_lambda_function.shipper.function_name
  }

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "failure_queue" {
  alarm_name          = "${var.function_name}-failed-batches"
  alarm_description   = "Batches failed every async retry and wait in the on-failure queue (14 days) to be replayed."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  actions_enabled     = true
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  dimensions = {
    QueueName = aws_sqs_queue.failures.name
  }

  tags = var.tags
}

# CloudWatch Logs could not invoke the shipper for a subscribed group (permission, throttling
# past its retries): those lines never reach the shipper at all.
resource "aws_cloudwatch_metric_alarm" "subscription_delivery" {
  for_each            = aws_cloudwatch_log_subscription_filter.ship
  alarm_name          = "${var.function_name}-delivery-errors-${each.key}"
  alarm_description   = "CloudWatch Logs failed to deliver ${each.value.log_group_name} to the shipper."
  namespace           = "AWS/Logs"
  metric_name         = "DeliveryErrors"
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
    LogGroupName    = each.value.log_group_name
    DestinationType = "Lambda"
    FilterName      = each.value.name
  }

  tags = var.tags
}
