output "function_name" {
  description = "Shipper Lambda name (FunctionName dimension of the AWS/Lambda and CloudWatchEsShipper metrics)."
  value       = aws_lambda_function.shipper.function_name
}

output "function_arn" {
  description = "Shipper Lambda ARN (unqualified; deploy-backend.yml publishes versions of it)."
  value       = aws_lambda_function.shipper.arn
}

output "alias_arn" {
  description = "ARN of the `live` alias: what the subscriptions invoke."
  value       = aws_lambda_alias.live.arn
}

output "role_arn" {
  description = "The shipper's execution role (for an OpenSearch data access policy)."
  value       = aws_iam_role.shipper.arn
}

output "log_group_name" {
  description = "The shipper's own log group (never shipped)."
  value       = aws_cloudwatch_log_group.shipper.name
}

output "failure_queue_name" {
  description = "SQS queue receiving batches that failed every async retry."
  value       = aws_sqs_queue.failures.name
}

output "failure_queue_arn" {
  description = "ARN of the on-failure queue."
  value       = aws_sqs_queue.failures.arn
}

output "elasticsearch_secret_arn" {
  description = "Secrets Manager secret to fill with the Elasticsearch credentials JSON (url, cloud_id, api_key, username, password); null when shipping to OpenSearch with SigV4."
  value       = local.secret_arn
}

output "elasticsearch_secret_replica_arns" {
  description = "Region => ARN of the created secret's replica there (the same ARN with that region)."
  value       = { for region, _ in var.secret_replica_regions : region => replace(one(aws_secretsmanager_secret.elasticsearch[*].arn), ":${local.region}:", ":${region}:") }
}

output "settings_parameter_path" {
  description = "SSM Parameter Store path of the settings."
  value       = local.parameter_path
}

output "alarm_names" {
  description = "Names of this shipper's CloudWatch alarms."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.function : a.alarm_name],
    [aws_cloudwatch_metric_alarm.failure_queue.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.subscription_delivery : a.alarm_name],
  )
}
