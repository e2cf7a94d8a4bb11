output "name_prefix" {
  description = "Prefix of every name (GitHub environment variable NAME_PREFIX for the deploy workflows)."
  value       = var.name_prefix
}

output "app_url" {
  description = "Web app URL."
  value       = module.edge.app_url
}

output "api_url" {
  description = "API URL for clients (CloudFront + WAF, same origin as the app)."
  value       = module.edge.api_url
}

output "app_bucket_name" {
  description = "Bucket deploy-frontend.yml uploads the build to (GitHub variable APP_BUCKET)."
  value       = module.edge.app_bucket_name
}

output "app_distribution_id" {
  description = "CloudFront distribution deploy-frontend.yml invalidates (GitHub variable APP_DISTRIBUTION_ID)."
  value       = module.edge.app_distribution_id
}

output "web_config" {
  description = "The app's /config.json, as written to the bucket."
  value       = local.web_config
}

output "vocab_function_names" {
  description = "API area => function name (<name_prefix>-api-<area>)."
  value       = module.vocab_api.function_names
}

output "shipper_function_name" {
  description = "Shipper function name, in this region and in us-east-1 (WAF logs)."
  value       = module.shipper.function_name
}

output "elasticsearch_secret_arn" {
  description = "Put the Elasticsearch credentials JSON in this secret (replicated to us-east-1 by Secrets Manager); null with OpenSearch."
  value       = module.shipper.elasticsearch_secret_arn
}

output "cognito_user_pool_id" {
  description = "Cognito user pool of the app's users."
  value       = module.auth.user_pool_id
}

output "cognito_hosted_ui_url" {
  description = "Hosted UI base URL; Google's authorized redirect URI is <this>/oauth2/idpresponse."
  value       = module.auth.hosted_ui_url
}

output "opensearch_dashboards_url" {
  description = "OpenSearch Dashboards, when the opensearch target is on."
  value       = var.opensearch == null ? null : module.opensearch[0].dashboards_url
}

output "deploy_backend_role_arn" {
  description = "Role of deploy-backend.yml (GitHub environment variable AWS_DEPLOY_BACKEND_ROLE_ARN)."
  value       = aws_iam_role.deploy_backend.arn
}

output "deploy_frontend_role_arn" {
  description = "Role of deploy-frontend.yml (GitHub environment variable AWS_DEPLOY_FRONTEND_ROLE_ARN)."
  value       = aws_iam_role.deploy_frontend.arn
}
