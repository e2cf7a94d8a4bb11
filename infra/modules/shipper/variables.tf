variable "function_name" {
  description = "Name of the shipper Lambda (the environment passes `<name_prefix>-log-shipper`). Also the FunctionName dimension of its metrics, the prefix of its SSM parameters, secret and queue."
  type        = string
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

variable "reserved_concurrency" {
  description = "Executions reserved for (and at most used by) the shipper, so that a burst of logs can't take the account's concurrency from the API. Past it, CloudWatch Logs retries the batches later."
  type        = number
  default     = 20

  validation {
    condition     = var.reserved_concurrency >= 1
    error_message = "reserved_concurrency must be at least 1 (0 would stop the shipper)."
  }
}

variable "create_elasticsearch_secret" {
  description = "Create the secret `<function_name>/elasticsearch`; false = use elasticsearch_secret_arn (the us-east-1 copy: the main secret's replica)."
  type        = bool
  default     = true
}

variable "elasticsearch_secret_arn" {
  description = "The existing Secrets Manager secret with the Elasticsearch credentials, when create_elasticsearch_secret is false."
  type        = string
  default     = null
}

variable "secret_replica_regions" {
  description = "Region => KMS key ARN there: regions to keep a replica of the created secret in, for shipper copies running there."
  type        = map(string)
  default     = {}
}

variable "opensearch" {
  description = "Ship to Amazon OpenSearch Service instead (module opensearch `target`): endpoint (host), service (`es` for a domain, `aoss` for Serverless) and resource_arn. The shipper then signs with its role (SigV4) and no Elasticsearch secret is created."
  type = object({
    endpoint     = string
    service      = string
    resource_arn = string
  })
  default = null

  validation {
    condition     = var.opensearch == null || contains(["es", "aoss"], try(var.opensearch.service, ""))
    error_message = "opensearch.service must be es (a domain) or aoss (a Serverless collection)."
  }
}

variable "alarm_topic_arn" {
  description = "SNS topic in this module's region that the shipper's alarms publish to."
  type        = string
}

variable "async_event_age_alarm_seconds" {
  description = "Alarm when a batch waited longer than this in Lambda's async queue before it ran."
  type        = number
  default     = 600
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
