output "function_names" {
  description = "API area => Lambda function name (<prefix>-api-<area>)."
  value       = { for area, fn in aws_lambda_function.api : area => fn.function_name }
}

output "function_arns" {
  description = "API area => Lambda function ARN."
  value       = { for area, fn in aws_lambda_function.api : area => fn.arn }
}

output "binaries" {
  description = "API area => cargo-lambda binary of crate vocab-api that deploy-backend.yml puts in that function."
  value       = { for area, f in local.functions : area => f.binary }
}

output "log_group_names" {
  description = "What the shipper subscribes to: area => the function's log group, and `access` => the API Gateway access log."
  value = merge(
    { for area, group in aws_cloudwatch_log_group.function : area => group.name },
    { access = aws_cloudwatch_log_group.access.name },
  )
}

output "access_log_group_name" {
  description = "API Gateway access log group (/aws/apigateway/<api name>/access), one JSON line per request (docs/CONTRACTS.md section B)."
  value       = aws_cloudwatch_log_group.access.name
}

output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.vocab.id
}

output "origin_domain_name" {
  description = "The only host the API answers at (its execute-api endpoint is disabled): CloudFront's origin."
  value       = aws_apigatewayv2_domain_name.origin.domain_name
}

output "table_name" {
  description = "DynamoDB table name."
  value       = aws_dynamodb_table.vocab.name
}

output "table_arn" {
  description = "DynamoDB table ARN."
  value       = aws_dynamodb_table.vocab.arn
}

output "alarm_names" {
  description = "Names of this module's CloudWatch alarms."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.function_errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.function_throttles : a.alarm_name],
    [
      aws_cloudwatch_metric_alarm.api_5xx_rate.alarm_name,
      aws_cloudwatch_metric_alarm.api_p99_latency.alarm_name,
      aws_cloudwatch_metric_alarm.table_throttles.alarm_name,
      aws_cloudwatch_metric_alarm.table_system_errors.alarm_name,
    ],
  )
}
