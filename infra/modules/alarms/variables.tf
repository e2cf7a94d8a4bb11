variable "name_prefix" {
  description = "Prefix of every name this module creates (topics, Chatbot configuration and role, budget, alarm)."
  type        = string
}

variable "slack_team_id" {
  description = "Slack workspace id (T...). The workspace must have been authorized once in the AWS Chatbot console."
  type        = string
}

variable "slack_channel_id" {
  description = "Slack channel id (C...) that receives the alarms."
  type        = string
}

variable "monthly_budget_usd" {
  description = "Monthly cost budget in USD; Slack hears at 80% actual and 100% forecast."
  type        = number
  default     = 50
}

variable "web_acl_name" {
  description = "Name of the CLOUDFRONT-scope WAF web ACL (WebACL metric dimension)."
  type        = string
}

variable "waf_rate_rule_name" {
  description = "Name of the per-IP rate rule (Rule metric dimension)."
  type        = string
}

variable "waf_blocked_threshold" {
  description = "Alarm when the rate rule blocks more than this many requests in 5 minutes."
  type        = number
  default     = 100
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
