variable "name_prefix" {
  description = "Prefix of the user pool (`<prefix>-users`) and app client (`<prefix>-web`) names."
  type        = string
}

variable "app_hostname" {
  description = "Host name the web app is served at; the callback (https://<host>/auth/callback) and sign-out (https://<host>/) URLs are built from it."
  type        = string
}

variable "domain_prefix" {
  description = "Hosted UI domain prefix: https://<prefix>.auth.<region>.amazoncognito.com. Unique in the region across all AWS accounts; may not contain aws, amazon or cognito."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.domain_prefix)) && !can(regex("aws|amazon|cognito", var.domain_prefix))
    error_message = "domain_prefix: lower-case letters, digits and hyphens, and no aws, amazon or cognito."
  }
}

variable "google_client_id" {
  description = "OAuth client id of the Google Cloud web client (its authorized redirect URI: https://<domain_prefix>.auth.<region>.amazoncognito.com/oauth2/idpresponse)."
  type        = string
}

variable "google_client_secret_id" {
  description = "Name or ARN of the Secrets Manager secret holding that client's secret (the plain string), created by an operator before the apply."
  type        = string
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
