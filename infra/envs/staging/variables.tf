# Values of this environment. Defaults that differ between envs/prod and envs/staging:
# name_prefix, environment, github_environment, create_github_oidc_provider.

variable "name_prefix" {
  description = "Prefix of every resource name of this environment."
  type        = string
  default     = "vocab-staging"
}

variable "environment" {
  description = "Environment name, in the tags."
  type        = string
  default     = "staging"
}

variable "github_environment" {
  description = "GitHub environment the deploy jobs of this environment run in."
  type        = string
  default     = "staging"
}

variable "create_github_oidc_provider" {
  description = "Create the GitHub OIDC provider (one per account): staging usually shares prod's account, where prod creates it."
  type        = bool
  default     = false
}

variable "aws_region" {
  description = "Region of the API, the table, the shipper and the alarms."
  type        = string
  default     = "ap-northeast-2"
}

variable "artifact_dir" {
  description = "Directory with <binary>/bootstrap.zip from cargo lambda build (e.g. ../../../target/lambda) to deploy code from this apply; null leaves code to deploy-backend.yml."
  type        = string
  default     = null
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone of app_hostname."
  type        = string
}

variable "app_hostname" {
  description = "Host name of the web app (its API is https://<app_hostname>/api)."
  type        = string
}

variable "app_bucket_name" {
  description = "Globally unique name of the web app bucket; null = <name_prefix>-web-<account id>."
  type        = string
  default     = null
}

variable "cognito_domain_prefix" {
  description = "Hosted UI domain prefix; null = derived from name_prefix and the account."
  type        = string
  default     = null
}

variable "google_client_id" {
  description = "OAuth client id of the Google web client for 'Sign in with Google'."
  type        = string
}

variable "google_client_secret_id" {
  description = "Secrets Manager secret (name or ARN) holding the Google client secret."
  type        = string
}

variable "vocab_store" {
  description = "Store of the API (VOCAB_STORE): dynamodb or mongodb."
  type        = string
  default     = "dynamodb"
}

variable "mongodb_uri_secret_arn" {
  description = "Secrets Manager secret with the MongoDB Atlas connection string (vocab_store = mongodb)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups."
  type        = number
  default     = 30
}

variable "use_account_subscription_policy" {
  description = "Ship every log group of the region through one account-level subscription policy instead of per-group filters."
  type        = bool
  default     = false
}

variable "shipper_settings" {
  description = "Shipper settings (docs/CONTRACTS.md) stored in SSM Parameter Store; credentials go in the Secrets Manager secret instead."
  type        = map(string)
  default = {
    SHIPPER_TARGET    = "data_stream"
    SHIPPER_NAMESPACE = "default"
    RUST_LOG          = "info"
  }
}

variable "shipper_reserved_concurrency" {
  description = "Reserved concurrency of the shipper, so a log burst can't starve the API."
  type        = number
  default     = 20
}

variable "shipper_us_east_1_reserved_concurrency" {
  description = "Reserved concurrency of the WAF logs' shipper in us-east-1."
  type        = number
  default     = 5
}

variable "opensearch" {
  description = "Ship to Amazon OpenSearch Service instead of Elasticsearch: { kind = \"domain\" | \"serverless\", reader_principal_arns = [...] }; null = Elasticsearch."
  type = object({
    kind                  = string
    reader_principal_arns = optional(list(string), [])
  })
  default = null
}

variable "slack_team_id" {
  description = "Slack workspace id for AWS Chatbot."
  type        = string
}

variable "slack_channel_id" {
  description = "Slack channel id for the alarms."
  type        = string
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget (USD)."
  type        = number
  default     = 50
}

variable "github_repository" {
  description = "owner/name of the GitHub repository whose workflows may deploy (OIDC)."
  type        = string
}
