# The production environment: every resource comes from modules/environment; this root holds
# the providers, the state location (versions.tf) and the values that differ per environment.

locals {
  tags = {
    project     = "vocab"
    environment = var.environment
    managed_by  = "terraform"
  }
}

module "environment" {
  source = "../../modules/environment"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    aws.chatbot   = aws.chatbot
  }

  name_prefix                            = var.name_prefix
  artifact_dir                           = var.artifact_dir
  hosted_zone_id                         = var.hosted_zone_id
  app_hostname                           = var.app_hostname
  app_bucket_name                        = var.app_bucket_name
  cognito_domain_prefix                  = var.cognito_domain_prefix
  google_client_id                       = var.google_client_id
  google_client_secret_id                = var.google_client_secret_id
  vocab_store                            = var.vocab_store
  mongodb_uri_secret_arn                 = var.mongodb_uri_secret_arn
  log_retention_days                     = var.log_retention_days
  use_account_subscription_policy        = var.use_account_subscription_policy
  shipper_settings                       = var.shipper_settings
  shipper_reserved_concurrency           = var.shipper_reserved_concurrency
  shipper_us_east_1_reserved_concurrency = var.shipper_us_east_1_reserved_concurrency
  opensearch                             = var.opensearch
  slack_team_id                          = var.slack_team_id
  slack_channel_id                       = var.slack_channel_id
  monthly_budget_usd                     = var.monthly_budget_usd
  github_repository                      = var.github_repository
  github_environment                     = var.github_environment
  create_github_oidc_provider            = var.create_github_oidc_provider
}
