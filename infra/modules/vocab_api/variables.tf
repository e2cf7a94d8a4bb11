variable "name_prefix" {
  description = "Prefix of every name this module creates (functions `<prefix>-api-<area>`, table `<prefix>`, API `<prefix>-api`), so that environments can share an account."
  type        = string
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the table, the log groups and the functions' environment. Its policy must let CloudWatch Logs use it."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' and the access log's CloudWatch log groups. The shipper copies every line to Elasticsearch, so this only needs to cover an Elasticsearch outage."
  type        = number
  default     = 30
}

variable "artifact_dir" {
  description = "Directory holding `<binary>/bootstrap.zip` from `cargo lambda build --release --arm64 --output-format zip` (e.g. ../../../target/lambda). Null = a placeholder zip; the code is then deployed by .github/workflows/deploy-backend.yml."
  type        = string
  default     = null
}

variable "memory_size" {
  description = "Memory (MB) of each API function."
  type        = number
  default     = 256
}

variable "timeout_seconds" {
  description = "Timeout of each API function. API Gateway gives up after 30 s anyway."
  type        = number
  default     = 10
}

variable "store" {
  description = "The store the functions use (VOCAB_STORE): `dynamodb` (the table this module creates) or `mongodb` (e.g. MongoDB Atlas, URI in mongodb_uri_secret_arn)."
  type        = string
  default     = "dynamodb"

  validation {
    condition     = contains(["dynamodb", "mongodb"], var.store)
    error_message = "store must be dynamodb or mongodb."
  }
}

variable "mongodb_uri_secret_arn" {
  description = "Secrets Manager secret whose value is the MongoDB connection string (mongodb+srv://user:password@cluster/db), created by the operator; passed as MONGODB_URI_SECRET_ARN. Required when store = mongodb."
  type        = string
  default     = null

  validation {
    condition     = var.mongodb_uri_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", var.mongodb_uri_secret_arn))
    error_message = "mongodb_uri_secret_arn must be the ARN of a Secrets Manager secret."
  }
}

variable "jwt_issuer" {
  description = "Issuer URL of the JWT authorizer: the Cognito user pool, https://cognito-idp.<region>.amazonaws.com/<pool id> (module auth's `issuer`). The API takes the user from the token's `sub` claim."
  type        = string
}

variable "jwt_audience" {
  description = "Accepted `aud` values (for Cognito access tokens: `client_id`): the web app's client id."
  type        = list(string)
}

variable "cors_allowed_origins" {
  description = "Origins the web app is served from (CORS). The app calls the API on its own origin (/api), so this only matters to other clients."
  type        = list(string)
  default     = []
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second for the whole stage, behind the WAF's per-IP rule."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "Burst of the stage throttle."
  type        = number
  default     = 200
}

variable "hosted_zone_id" {
  description = "Route53 zone holding origin_parent_domain: the origin certificate's validation records and the origin domain's alias."
  type        = string
}

variable "origin_parent_domain" {
  description = "Parent of the API's origin domain (e.g. origin.vocab.example.com): the API answers at <random label>.<this>, under a wildcard certificate."
  type        = string
}

variable "alarm_topic_arn" {
  description = "SNS topic (this region) the API alarms publish to (module alarms `topic_arn`)."
  type        = string
}

variable "api_5xx_rate_percent" {
  description = "Alarm when more than this percentage of requests answer 5xx in 5 minutes."
  type        = number
  default     = 5
}

variable "api_p99_latency_ms" {
  description = "Alarm when API Gateway's p99 latency stays above this for 15 minutes."
  type        = number
  default     = 3000
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
