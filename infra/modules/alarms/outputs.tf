output "topic_arn" {
  description = "SNS topic (main region) that Chatbot forwards to Slack: budget and shipper alarms."
  value       = aws_sns_topic.alerts.arn
}

output "topic_arn_us_east_1" {
  description = "SNS topic in us-east-1 for alarms on us-east-1 metrics (WAF for CloudFront)."
  value       = aws_sns_topic.alerts_us_east_1.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = [
    aws_cloudwatch_metric_alarm.waf_blocked.alarm_name,
    aws_cloudwatch_metric_alarm.shipper_errors.alarm_name,
    aws_cloudwatch_metric_alarm.shipper_dead_letters.alarm_name,
    aws_cloudwatch_metric_alarm.shipper_failure_queue.alarm_name,
    aws_cloudwatch_metric_alarm.shipper_destination_failures.alarm_name,
  ]
}
