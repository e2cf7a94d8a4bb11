variable "hosted_zone_id" {
  description = "Route53 hosted zone that holds app_hostname and api_hostname."
  type        = string
}

variable "app_hostname" {
  description = "Host name of the web app (e.g. vocab.example.com)."
  type        = string
}

variable "api_hostname" {
  description = "Host name of the API as clients see it (e.g. api.vocab.example.com)."
  type        = string
}

variable "api_origin_endpoint" {
  description = "Default endpoint of the HTTP API (https://<id>.execute-api.<region>.amazonaws.com), CloudFront's origin for api_hostname."
  type        = string
}

variable "app_bucket_name" {
  description = "Name of the private S3 bucket holding the web app's built files."
  type        = string
}

variable "waf_log_retention_days" {
  description = "Retention of the WAF request logs (log group aws-waf-logs-*, us-east-1)."
  type        = number
  default     = 30
}

variable "price_class" {
  description = "CloudFront price class of both distributions."
  type        = string
  default     = "PriceClass_100"
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
