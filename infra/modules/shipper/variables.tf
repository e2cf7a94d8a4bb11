variable "function_name" {
  description = "Name of the shipper Lambda. Also the FunctionName dimension of its metrics and the prefix of its SSM parameters."
  type        = string
  default     = "cloudwatch-es-shipper"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the secret, the on-failure queue, the log group and the function's environment."
  type        = string
}

variable "artifact_dir" {
  description = "Directory holding `shipper/bootstrap.zip` from `cargo lambda build --release --arm64 --output-format zip`. Null = a placeholder zip; deploy-backend.yml deploys the code."
  type        = string
  default     = null
}

variable "log_group_names" {
  description = "Key => log group name of every group to ship (the vocab API's groups). Each gets a subscription filter unless use_account_subscription_policy is true."
  type        = map(string)
}

variable "filter_pattern" {
  description = "CloudWatch Logs filter pattern of the subscriptions; empty ships every line."
  type        = string
  default     = ""
}

variable "use_account_subscription_policy" {
  description = "Ship every log group of the account (except the shipper's own) through one account-level subscription filter policy instead of one filter per group in log_group_names."
  type        = bool
  default     = false
}

variable "settings" {
  description = "Shipper settings (names from docs/CONTRACTS.md, e.g. SHIPPER_TARGET, SHIPPER_NAMESPACE, KIBANA_URL). Stored in SSM Parameter Store under /<function_name>/settings/ and given to the function as environment. Credentials never go here: they live in the Secrets Manager secret."
  type        = map(string)
  default = {
    SHIPPER_TARGET    = "data_stream"
    SHIPPER_NAMESPACE = "default"
    RUST_LOG          = "info"
  }

  validation {
    condition     = length(setintersection(keys(var.settings), ["ELASTICSEARCH_API_KEY", "ELASTICSEARCH_PASSWORD", "ELASTICSEARCH_USERNAME", "ELASTICSEARCH_SECRET_ARN"])) == 0
    error_message = "Credentials belong in the Secrets Manager secret, not in settings."
  }
}

variable "memory_size" {
  description = "Memory (MB) of the shipper. Batches are at most 1 MB compressed, but decompressed and turned into bulk bodies they need headroom."
  type        = number
  default     = 512
}

variable "timeout_seconds" {
  description = "Timeout of one invocation; the shipper stops retrying SHIPPER_DEADLINE_MARGIN_MS before it."
  type        = number
  default     = 60
}

variable "maximum_retry_attempts" {
  description = "Lambda retries of a failed asynchronous invocation (0-2) before the batch goes to the on-failure queue."
  type        = number
  default     = 2
}

variable "maximum_event_age_seconds" {
  description = "Oldest batch Lambda still retries (60-21600 s)."
  type        = number
  default     = 3600
}

variable "log_retention_days" {
  description = "Retention of the shipper's own log group (not shipped, to avoid a loop)."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
