variable "aws_region" {
  description = "Region of the provider (IAM is global; this only picks the endpoint)."
  type        = string
  default     = "us-east-1"
}

variable "organization" {
  description = "HCP Terraform organization of the workspaces."
  type        = string
}

variable "project" {
  description = "HCP Terraform project of the workspaces (`Default Project` unless you made one)."
  type        = string
  default     = "Default Project"
}

variable "workspaces" {
  description = "Workspaces of the environments in this account, e.g. [\"vocab-prod\", \"vocab-staging\"]: each gets a plan and an apply role."
  type        = list(string)
}

variable "plan_readable_secret_arns" {
  description = "Secrets whose value a plan reads (the environments' Google client secrets, read by module auth); ARNs, wildcards allowed for the random suffix."
  type        = list(string)
  default     = []
}

variable "create_oidc_provider" {
  description = "Create the app.terraform.io OIDC provider (one per account); false if it exists."
  type        = bool
  default     = true
}
