output "function_names" {
  description = "API area => Lambda function name (vocab-api-<area>)."
  value       = { for area, fn in aws_lambda_function.api : area => fn.function_name }
}

output "function_arns" {
  description = "API area => Lambda function ARN."
  value       = { for area, fn in aws_lambda_function.api : area => fn.arn }
}

output "log_group_names" {
  description = "API area => CloudWatch log group of that function; the shipper subscribes to each."
  value       = { for area, group in aws_cloudwatch_log_group.function : area => group.name }
}

output "api_id" {
  description = "HTTP API id."
  value       = aws_apigatewayv2_api.vocab.id
}

output "api_endpoint" {
  description = "Default endpoint of the HTTP API (https://<id>.execute-api.<region>.amazonaws.com): CloudFront's origin."
  value       = aws_apigatewayv2_api.vocab.api_endpoint
}

output "table_name" {
  description = "DynamoDB table name."
  value       = aws_dynamodb_table.vocab.name
}

output "table_arn" {
  description = "DynamoDB table ARN."
  value       = aws_dynamodb_table.vocab.arn
}
