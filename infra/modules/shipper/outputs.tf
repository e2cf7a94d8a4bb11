output "function_name" {
  description = "Shipper Lambda name (FunctionName dimension of the AWS/Lambda and CloudWatchEsShipper metrics)."
  value       = aws_lambda_function.shipper.function_name
}

output "function_arn" {
  description = "Shipper Lambda ARN (destination of the subscription filters)."
  value       = aws_lambda_function.shipper.arn
}

output "log_group_name" {
  description = "The shipper's own log group."
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
  description = "Secrets Manager secret to fill with the Elasticsearch credentials JSON (url, cloud_id, api_key, username, password)."
  value       = aws_secretsmanager_secret.elasticsearch.arn
}

output "settings_parameter_path" {
  description = "SSM Parameter Store path of the shipper settings."
  value       = local.parameter_path
}
