variable "table_name" {
  description = "Name of the DynamoDB single table the API stores lists, words and quizzes in (the functions get it as VOCAB_TABLE)."
  type        = string
  default     = "vocab"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the table, the log groups and the functions' environment. Its policy must let CloudWatch Logs use it."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the functions' CloudWatch log groups. The shipper copies every line to Elasticsearch, so this only needs to cover an Elasticsearch outage."
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

variable "jwt_issuer" {
  description = "Issuer URL of the JWT authorizer (e.g. https://cognito-idp.<region>.amazonaws.com/<pool id>). The API takes the user from the token's `sub` claim."
  type        = string
}

variable "jwt_audience" {
  description = "Accepted `aud` values (the app client ids)."
  type        = list(string)
}

variable "cors_allowed_origins" {
  description = "Origins the web app is served from (CORS)."
  type        = list(string)
  default     = []
}

variable "throttling_rate_limit" {
  description = "Steady-state requests per second for the whole stage: a backstop behind the WAF per-IP rule, which only sees traffic that comes through CloudFront."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "Burst of the stage throttle."
  type        = number
  default     = 200
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
