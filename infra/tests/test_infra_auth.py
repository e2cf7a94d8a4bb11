"""Sign-in: a Cognito user pool federated with Google, an SPA client without a secret using the
authorization code flow, the hosted UI, and the JWT authorizer wired to both."""

from infra_hcl import attr


def test_the_pool_is_federated_with_google_whose_secret_comes_from_secrets_manager(modules):
    auth = modules["auth"]
    idp = auth.resource("aws_cognito_identity_provider")["google"]
    assert (attr(idp, "provider_name"), attr(idp, "provider_type")) == ("Google", "Google")
    details = attr(idp, "provider_details")
    assert details["client_id"] == "${var.google_client_id}"
    assert details["client_secret"] == "${data.aws_secretsmanager_secret_version.google_client_secret.secret_string}"
    assert set(details["authorize_scopes"].split()) == {"openid", "email", "profile"}
    secret = auth.data["aws_secretsmanager_secret_version"]["google_client_secret"]
    assert attr(secret, "secret_id") == "${var.google_client_secret_id}"
    # The app shows the picture and e-mail.
    assert {"email", "picture", "name"} <= set(attr(idp, "attribute_mapping"))
    pool = auth.resource("aws_cognito_user_pool")["users"]
    # Nobody signs up with a password: Google is the only way in.
    assert attr(pool["admin_create_user_config"][0], "allow_admin_create_user_only") is True
    assert attr(pool, "deletion_protection") == "ACTIVE"


def test_the_web_client_is_public_and_uses_the_authorization_code_flow(modules):
    client = modules["auth"].resource("aws_cognito_user_pool_client")["web"]
    assert attr(client, "generate_secret") is False  # a browser can't keep one: PKCE instead
    assert attr(client, "allowed_oauth_flows") == ["code"]
    assert attr(client, "allowed_oauth_flows_user_pool_client") is True
    assert attr(client, "allowed_oauth_scopes") == "${local.scopes}"
    assert modules["auth"].locals["scopes"] == ["openid", "email", "profile"]
    assert attr(client, "supported_identity_providers") == ["${aws_cognito_identity_provider.google.provider_name}"]
    assert attr(client, "callback_urls") == ["${local.callback_url}"]
    assert attr(client, "logout_urls") == ["${local.logout_url}"]
    assert attr(client, "explicit_auth_flows") == ["ALLOW_REFRESH_TOKEN_AUTH"]


def test_hosted_ui_domain_and_issuer_are_what_the_app_and_the_authorizer_use(modules, stack):
    auth = modules["auth"]
    assert attr(auth.resource("aws_cognito_user_pool_domain")["hosted_ui"], "domain") == "${var.domain_prefix}"
    assert auth.outputs["issuer"]["value"] == ["https://${aws_cognito_user_pool.users.endpoint}"]
    assert auth.outputs["client_id"]["value"] == ["${aws_cognito_user_pool_client.web.id}"]
    config = auth.outputs["web_auth_config"]["value"][0]
    assert config["domain"] == "https://${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${local.region}.amazoncognito.com"
    assert config["issuer"] == auth.outputs["issuer"]["value"][0]
    call = stack.modules["auth"]
    assert attr(call, "app_hostname") == "${var.app_hostname}"
    assert attr(call, "google_client_secret_id") == "${var.google_client_secret_id}"
