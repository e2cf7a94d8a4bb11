output "user_pool_id" {
  description = "Cognito user pool id."
  value       = aws_cognito_user_pool.users.id
}

output "issuer" {
  description = "Issuer of the pool's tokens (the JWT authorizer's issuer): https://cognito-idp.<region>.amazonaws.com/<pool id>."
  value       = "https://${aws_cognito_user_pool.users.endpoint}"
}

output "client_id" {
  description = "The web app's client id (the JWT authorizer's audience)."
  value       = aws_cognito_user_pool_client.web.id
}

output "hosted_ui_url" {
  description = "Hosted UI base URL: https://<domain_prefix>.auth.<region>.amazoncognito.com."
  value       = "https://${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${local.region}.amazoncognito.com"
}

output "web_auth_config" {
  description = "The `auth` object of the web app's /config.json (docs/CONTRACTS.md section A)."
  value = {
    mode              = "cognito"
    issuer            = "https://${aws_cognito_user_pool.users.endpoint}"
    domain            = "https://${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${local.region}.amazoncognito.com"
    client_id         = aws_cognito_user_pool_client.web.id
    redirect_uri      = local.callback_url
    logout_uri        = local.logout_url
    scopes            = local.scopes
    identity_provider = aws_cognito_identity_provider.google.provider_name
  }
}
