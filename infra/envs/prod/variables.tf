variable "aws_region" {
  description = "Region of the API, the table, the shipper and the alarms."
  type        = string
  default     = "ap-northeast-2"
}

variable "environment" {
  description = "Environment name, used in tags."
  type        = string
  default     = "prod"
}

variable "artifact_dir" {
  description = "Directory with <binary>/bootstrap.zip from cargo lambda build (e.g. ../../../target/lambda) to deploy code from this apply; null leaves code to deploy-backend.yml."
  type        = string
  default     = null
}

variable "jwt_issuer" {
  description = "Issuer URL of the tokens the API accepts."
  type        = string
}

variable "jwt_audience" {
  description = "Accepted audiences (client ids) of the tokens."
  type        = list(string)
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone of app_hostname and api_hostname."
  type        = string
}

variable "app_hostname" {
  description = "Host name of the web app."
  type        = string
}

variable "api_hostname" {
  description = "Host name of the API."
  type        = string
}

variable "app_bucket_name" {
  description = "Globally unique name of the web app bucket."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the Lambda log groups."
  type        = number
  default     = 30
}

variable "use_account_subscription_policy" {
  description = "Ship all log groups of the account through one account-level subscription policy instead of one filter per vocab API group."
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
  description = "owner/name of the GitHub repository whose main branch may deploy Lambda code (OIDC)."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider; false if the account already has it (one per account)."
  type        = bool
  default     = true
}
