# Sign-in: a Cognito user pool federated with Google. People sign in with Google only, through
# the hosted UI (authorization code + PKCE from the single-page app, no client secret); the
# HTTP API's JWT authorizer trusts this pool's tokens for this app client.

data "aws_region" "current" {}

# The Google OAuth client secret, put in Secrets Manager by an operator (README: first apply).
# Cognito needs the value itself, so it passes through Terraform: state is encrypted and
# access-controlled on HCP Terraform; the secret is never in git or in a tfvars file.
data "aws_secretsmanager_secret_version" "google_client_secret" {
  secret_id = var.google_client_secret_id
}

locals {
  region       = data.aws_region.current.region
  callback_url = "https://${var.app_hostname}/auth/callback"
  logout_url   = "https://${var.app_hostname}/"
  scopes       = ["openid", "email", "profile"]
}

resource "aws_cognito_user_pool" "users" {
  name                = "${var.name_prefix}-users"
  deletion_protection = "ACTIVE"
  # Google verified the address; Cognito keeps it as the user's e-mail.
  auto_verified_attributes = ["email"]
  mfa_configuration        = "OFF" # sign-in is Google's, with Google's second factor

  # No self-service sign-up with a password: every user comes through Google.
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }

  tags = var.tags
}

resource "aws_cognito_identity_provider" "google" {
  user_pool_id  = aws_cognito_user_pool.users.id
  provider_name = "Google"
  provider_type = "Google"

  provider_details = {
    client_id        = var.google_client_id
    client_secret    = data.aws_secretsmanager_secret_version.google_client_secret.secret_string
    authorize_scopes = "openid email profile"
  }

  # The app shows the picture and e-mail; `sub` of the pool's tokens is the pool's own id.
  attribute_mapping = {
    username       = "sub"
    email          = "email"
    email_verified = "email_verified"
    name           = "name"
    picture        = "picture"
  }
}

resource "aws_cognito_user_pool_client" "web" {
  name         = "${var.name_prefix}-web"
  user_pool_id = aws_cognito_user_pool.users.id

  # A public client (a browser can't keep a secret): authorization code with PKCE.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = local.scopes
  supported_identity_providers         = [aws_cognito_identity_provider.google.provider_name]
  callback_urls                        = [local.callback_url]
  logout_urls                          = [local.logout_url]
  # Only refresh-token sign-in besides the hosted UI: no passwords reach this client.
  explicit_auth_flows           = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  # The app keeps tokens in memory only; an hour of access, a day before Google again.
  access_token_validity  = 60
  id_token_validity      = 60
  refresh_token_validity = 24
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }
}

resource "aws_cognito_user_pool_domain" "hosted_ui" {
  # https://<domain_prefix>.auth.<region>.amazoncognito.com
  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.users.id
}
