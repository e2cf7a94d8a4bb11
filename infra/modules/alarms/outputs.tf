output "topic_arn" {
  description = "SNS topic (main region) that Chatbot forwards to Slack: the budget, the API's and the main shipper's alarms."
  value       = aws_sns_topic.alerts.arn
}

output "topic_arn_us_east_1" {
  description = "SNS topic in us-east-1 for alarms on us-east-1 metrics (WAF for CloudFront, the WAF logs' shipper)."
  value       = aws_sns_topic.alerts_us_east_1.arn
}

output "alarm_names" {
  description = "Names of this module's CloudWatch alarms (the others are in vocab_api and shipper)."
  value       = [aws_cloudwatch_metric_alarm.waf_blocked.alarm_name]
}
