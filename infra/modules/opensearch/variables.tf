variable "name_prefix" {
  description = "Prefix of the domain or collection name (`<prefix>-logs`; a domain name has at most 28 characters)."
  type        = string
}

variable "kind" {
  description = "`domain` (Amazon OpenSearch Service managed domain, SigV4 service es) or `serverless` (OpenSearch Serverless time-series collection, service aoss)."
  type        = string
  default     = "domain"

  validation {
    condition     = contains(["domain", "serverless"], var.kind)
    error_message = "kind must be domain or serverless."
  }
}

variable "writer_role_arns" {
  description = "IAM roles that may write (the shippers' execution roles)."
  type        = list(string)
}

variable "reader_principal_arns" {
  description = "IAM principals that may read the logs (people's roles, OpenSearch Dashboards users)."
  type        = list(string)
  default     = []
}

variable "kms_key_arn" {
  description = "Customer managed key for encryption at rest (and the domain's log group)."
  type        = string
}

variable "engine_version" {
  description = "Domain engine version."
  type        = string
  default     = "OpenSearch_2.19"
}

variable "instance_type" {
  description = "Domain data node instance type."
  type        = string
  default     = "t3.medium.search"
}

variable "instance_count" {
  description = "Domain data nodes."
  type        = number
  default     = 1
}

variable "volume_size_gb" {
  description = "EBS volume per data node (GB)."
  type        = number
  default     = 20
}

variable "log_retention_days" {
  description = "Retention of the domain's application log group."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
