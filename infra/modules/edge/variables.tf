variable "name_prefix" {
  description = "Prefix of every name this module creates (web ACL, regex sets, OAC, CloudFront functions and policies, WAF log group): these are account-wide, so environments sharing an account need different prefixes."
  type        = string
}

variable "hosted_zone_id" {
  description = "Route53 hosted zone that holds app_hostname."
  type        = string
}

variable "app_hostname" {
  description = "Host name of the web app and its API (under /api), e.g. vocab.example.com."
  type        = string
}

variable "api_origin_domain_name" {
  description = "The API's custom origin domain (module vocab_api `origin_domain_name`), CloudFront's origin for /api/*."
  type        = string
}

variable "app_bucket_name" {
  description = "Name of the private S3 bucket holding the web app's built files."
  type        = string
}

variable "web_config_json" {
  description = "Content of /config.json, the app's runtime configuration (docs/CONTRACTS.md section A)."
  type        = string
}

variable "us_east_1_kms_key_arn" {
  description = "Customer managed key in us-east-1 (whose policy lets CloudWatch Logs there use it) for the WAF log group."
  type        = string
}

variable "waf_log_retention_days" {
  description = "Retention of the WAF request logs (log group aws-waf-logs-*, us-east-1)."
  type        = number
  default     = 30
}

variable "waf_log_allowed_requests" {
  description = "Log every request the WAF sees; false logs only those a rule blocked, counted or challenged (allowed API requests are in the access log anyway)."
  type        = bool
  default     = false
}

variable "price_class" {
  description = "CloudFront price class of the distribution."
  type        = string
  default     = "PriceClass_100"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
