variable "name_prefix" {
  description = "Prefix of every resource name of this environment (e.g. vocab for prod, vocab-staging): two environments in one account must have different prefixes. Lower-case letters, digits and hyphens."
  type        = string

  validation {
    # The strictest users: an OpenSearch domain (<prefix>-logs, 28 characters), S3 and Cognito.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name_prefix)) && !can(regex("aws|amazon|cognito", var.name_prefix))
    error_message = "name_prefix: 3-24 lower-case letters, digits and hyphens, starting with a letter, without aws, amazon or cognito."
  }
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
  description = "Host name of the web app; its API is https://<app_hostname>/api."
  type        = string
}

variable "app_bucket_name" {
  description = "Globally unique name of the web app bucket; null = <name_prefix>-web-<account id>."
  type        = string
  default     = null
}

variable "cognito_domain_prefix" {
  description = "Hosted UI domain prefix (https://<prefix>.auth.<region>.amazoncognito.com); null = <name_prefix>-<hash of the account id>."
  type        = string
  default     = null
}

variable "google_client_id" {
  description = "OAuth client id of the Google Cloud web client used for 'Sign in with Google'."
  type        = string
}

variable "google_client_secret_id" {
  description = "Name or ARN of the Secrets Manager secret holding that client's secret, created by an operator before the first apply (infra/README.md)."
  type        = string
}

variable "vocab_store" {
  description = "Store of the API functions (VOCAB_STORE): dynamodb or mongodb."
  type        = string
  default     = "dynamodb"
}

variable "mongodb_uri_secret_arn" {
  description = "Secrets Manager secret with the MongoDB (Atlas) connection string, when vocab_store = mongodb."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups (functions, access log, WAF logs)."
  type        = number
  default     = 30
}

variable "use_account_subscription_policy" {
  description = "Ship all log groups of the region through one account-level subscription policy instead of one filter per vocab API group (one such policy per account and region)."
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
  description = "Reserved concurrency of the main shipper: the most it can take from the account, so a log burst can't starve the API."
  type        = number
  default     = 20
}

variable "shipper_us_east_1_reserved_concurrency" {
  description = "Reserved concurrency of the WAF logs' shipper in us-east-1."
  type        = number
  default     = 5
}

variable "opensearch" {
  description = "Ship to Amazon OpenSearch Service instead of the Elasticsearch in the secret: kind (domain or serverless) and who may read. Null = Elasticsearch."
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

variable "github_environment" {
  description = "GitHub environment the deploy jobs run in (its deployment branch rule should admit main only); the roles trust exactly repo:<repository>:environment:<this>."
  type        = string
}

variable "create_github_oidc_provider" {
  description = "Create the token.actions.githubusercontent.com OIDC provider; false if the account already has it (one per account: the second environment in an account sets false)."
  type        = bool
  default     = true
}
