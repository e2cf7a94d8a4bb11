output "name_prefix" {
  description = "GitHub environment variable NAME_PREFIX of the deploy workflows."
  value       = module.environment.name_prefix
}

output "app_url" {
  description = "Web app URL."
  value       = module.environment.app_url
}

output "api_url" {
  description = "API URL (same origin as the app)."
  value       = module.environment.api_url
}

output "app_bucket_name" {
  description = "GitHub environment variable APP_BUCKET of deploy-frontend.yml."
  value       = module.environment.app_bucket_name
}

output "app_distribution_id" {
  description = "GitHub environment variable APP_DISTRIBUTION_ID of deploy-frontend.yml."
  value       = module.environment.app_distribution_id
}

output "web_config" {
  description = "The app's /config.json."
  value       = module.environment.web_config
}

output "vocab_function_names" {
  description = "API area => function name."
  value       = module.environment.vocab_function_names
}

output "shipper_function_name" {
  description = "Shipper function name (this region and us-east-1)."
  value       = module.environment.shipper_function_name
}

output "elasticsearch_secret_arn" {
  description = "Put the Elasticsearch credentials JSON in this secret."
  value       = module.environment.elasticsearch_secret_arn
}

output "cognito_user_pool_id" {
  description = "Cognito user pool id."
  value       = module.environment.cognito_user_pool_id
}

output "cognito_hosted_ui_url" {
  description = "Hosted UI; Google's authorized redirect URI is <this>/oauth2/idpresponse."
  value       = module.environment.cognito_hosted_ui_url
}

output "opensearch_dashboards_url" {
  description = "OpenSearch Dashboards, when the opensearch target is on."
  value       = module.environment.opensearch_dashboards_url
}

output "deploy_backend_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_BACKEND_ROLE_ARN."
  value       = module.environment.deploy_backend_role_arn
}

output "deploy_frontend_role_arn" {
  description = "GitHub environment variable AWS_DEPLOY_FRONTEND_ROLE_ARN."
  value       = module.environment.deploy_frontend_role_arn
}
