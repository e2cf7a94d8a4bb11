output "api_url" {
  description = "API URL for clients (CloudFront + WAF)."
  value       = module.edge.api_url
}

output "app_url" {
  description = "Web app URL."
  value       = module.edge.app_url
}

output "app_bucket_name" {
  description = "Bucket to upload the web app build to."
  value       = module.edge.app_bucket_name
}

output "app_distribution_id" {
  description = "CloudFront distribution of the web app (invalidate after an upload)."
  value       = module.edge.app_distribution_id
}

output "vocab_function_names" {
  description = "API area => function name; must match .github/workflows/deploy-backend.yml."
  value       = module.vocab_api.function_names
}

output "shipper_function_name" {
  description = "Shipper function name; must match .github/workflows/deploy-backend.yml."
  value       = module.shipper.function_name
}

output "elasticsearch_secret_arn" {
  description = "Put the Elasticsearch credentials JSON in this secret."
  value       = module.shipper.elasticsearch_secret_arn
}

output "deploy_role_arn" {
  description = "Role for deploy-backend.yml (repository variable AWS_DEPLOY_ROLE_ARN)."
  value       = aws_iam_role.deploy.arn
}
