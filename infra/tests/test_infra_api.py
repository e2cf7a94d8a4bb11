"""The HTTP API exposes exactly the router's routes, each behind the JWT authorizer, invoking
the `live` alias of its area's function; it answers only at its custom domain; its access log
has exactly the contract's format."""

import ast
import re

from infra_hcl import REPO, Module, attr, contract_access_log_format, router_routes, rust_routes


def test_terraform_routes_are_exactly_the_routers_routes(modules):
    # Regression: GET /quizzes/{quiz_id} was in Terraform but not in the router, and
    # GET /lists/{list_id}/review in the router but not in Terraform (a 404 in production).
    terraform = set(modules["vocab_api"].locals["routes"])
    router = router_routes()
    assert sorted(terraform - router) == [], "routes in Terraform that the router does not serve"
    assert sorted(router - terraform) == [], "routes of the router that API Gateway does not send"


def test_every_route_goes_to_an_existing_area_and_the_contract_routes_to_the_areas_that_fit(modules):
    api = modules["vocab_api"]
    routes, functions = api.locals["routes"], api.locals["functions"]
    assert set(routes.values()) == set(functions)
    # docs/CONTRACTS.md section A: client events are the `me` area's.
    assert routes["POST /client-events"] == "me"
    assert routes["POST /lists/batch-delete"] == "lists"
    assert routes["GET /notebooks"] == "lists"
    for route in ("POST /lists/{list_id}/words/batch-delete", "GET /lists/{list_id}/notebook",
                  "PUT /lists/{list_id}/notebook/{word_id}", "DELETE /lists/{list_id}/notebook/{word_id}"):
        assert routes[route] == "words", route


def test_route_parser_reads_methods_of_the_chain_not_of_handler_names():
    source = '''
        .route("/lists", post(lists::create).get(lists::list))
        .route(
            "/lists/{list_id}",
            get(lists::get).patch(lists::rename).delete(lists::delete),
        )
        .route("/x", put(|s: State<S>| async move { s.get(1) }))
    '''
    assert rust_routes(source) == {
        "POST /lists", "GET /lists", "GET /lists/{list_id}", "PATCH /lists/{list_id}", "DELETE /lists/{list_id}",
        "PUT /x",
    }


def test_every_route_requires_a_jwt_from_the_user_pool(modules, stack):
    api = modules["vocab_api"]
    route = api.resource("aws_apigatewayv2_route")["route"]
    assert attr(route, "for_each") == "${local.routes}"
    assert attr(route, "route_key") == "${each.key}"
    assert attr(route, "authorization_type") == "JWT"
    assert attr(route, "authorizer_id") == "${aws_apigatewayv2_authorizer.jwt.id}"
    assert attr(route, "target") == "integrations/${aws_apigatewayv2_integration.function[each.value].id}"
    authorizer = api.resource("aws_apigatewayv2_authorizer")["jwt"]
    assert attr(authorizer, "authorizer_type") == "JWT"
    assert attr(authorizer, "identity_sources") == ["$request.header.Authorization"]
    jwt = authorizer["jwt_configuration"][0]
    assert (attr(jwt, "issuer"), attr(jwt, "audience")) == ("${var.jwt_issuer}", "${var.jwt_audience}")
    # Wired to the Cognito pool and the web app's client, not left for someone to fill in.
    call = stack.modules["vocab_api"]
    assert attr(call, "jwt_issuer") == "${module.auth.issuer}"
    assert attr(call, "jwt_audience") == ["${module.auth.client_id}"]
    assert attr(api.resource("aws_apigatewayv2_api")["vocab"], "protocol_type") == "HTTP"


def test_api_gateway_invokes_the_live_alias_of_each_area(modules):
    api = modules["vocab_api"]
    alias = api.resource("aws_lambda_alias")["live"]
    assert attr(alias, "for_each") == "${local.functions}"
    assert attr(alias, "name") == "live"
    assert attr(alias, "function_version") == "$LATEST"  # the stub, until the first deploy
    # Terraform never moves it: deploy-backend.yml does (deploy and rollback).
    assert attr(alias["lifecycle"][0], "ignore_changes") == ["${function_version}"]
    integration = api.resource("aws_apigatewayv2_integration")["function"]
    assert attr(integration, "integration_uri") == "${aws_lambda_alias.live[each.key].invoke_arn}"
    permission = api.resource("aws_lambda_permission")["api_gateway"]
    assert attr(permission, "qualifier") == "${aws_lambda_alias.live[each.key].name}"
    assert attr(permission, "source_arn") == "${aws_apigatewayv2_api.vocab.execution_arn}/*/*"


def test_the_execute_api_url_is_closed_and_cloudfront_reaches_the_custom_domain(modules, stack):
    # Issue 13: the execute-api URL answered directly, bypassing the WAF's per-IP rule.
    api = modules["vocab_api"]
    assert attr(api.resource("aws_apigatewayv2_api")["vocab"], "disable_execute_api_endpoint") is True
    domain = api.resource("aws_apigatewayv2_domain_name")["origin"]
    config = domain["domain_name_configuration"][0]
    assert attr(config, "endpoint_type") == "REGIONAL"
    assert attr(config, "security_policy") == "TLS_1_2"
    assert attr(domain, "domain_name") == "${local.origin_domain_name}"
    assert "random_id.origin_label.hex" in api.locals["origin_domain_name"]
    assert attr(api.resource("aws_acm_certificate")["origin"], "domain_name") == "*.${var.origin_parent_domain}"
    mapping = api.resource("aws_apigatewayv2_api_mapping")["origin"]
    assert attr(mapping, "domain_name") == "${aws_apigatewayv2_domain_name.origin.id}"
    assert api.outputs["origin_domain_name"]["value"] == ["${aws_apigatewayv2_domain_name.origin.domain_name}"]
    assert attr(stack.modules["edge"], "api_origin_domain_name") == "${module.vocab_api.origin_domain_name}"


def _access_log_format(api: Module) -> dict:
    expr = api.locals["access_log_format"]
    m = re.fullmatch(r"\$\{jsonencode\((\{.*\})\)\}", expr, re.S)
    return ast.literal_eval(m.group(1))


def test_access_log_is_json_with_exactly_the_contract_format(modules):
    api = modules["vocab_api"]
    assert _access_log_format(api) == contract_access_log_format()
    stage = api.resource("aws_apigatewayv2_stage")["default"]
    settings = stage["access_log_settings"][0]
    assert attr(settings, "format") == "${local.access_log_format}"
    assert attr(settings, "destination_arn") == "${aws_cloudwatch_log_group.access.arn}"
    group = api.resource("aws_cloudwatch_log_group")["access"]
    assert attr(group, "name") == "/aws/apigateway/${local.api_name}/access"
    assert attr(group, "kms_key_id") == "${var.kms_key_arn}"
    assert attr(group, "retention_in_days") == "${var.log_retention_days}"


def test_table_and_store_settings(modules, stack):
    api = modules["vocab_api"]
    table = api.resource("aws_dynamodb_table")["vocab"]
    assert attr(table, "hash_key") == "pk"
    assert attr(table, "range_key") == "sk"
    assert attr(table, "billing_mode") == "PAY_PER_REQUEST"
    assert {attr(a, "name"): attr(a, "type") for a in table["attribute"]} == {
        "pk": "S", "sk": "S", "review_pk": "S", "review_score": "N"
    }
    # Issue 14: the review list's sparse index, as the store's create_table makes it.
    (index,) = table["global_secondary_index"]
    store = (REPO / "vocab-api" / "src" / "dynamo.rs").read_text()
    assert f'pub const REVIEW_INDEX: &str = "{attr(index, "name")}";' in store
    assert (attr(index, "hash_key"), attr(index, "range_key")) == ("review_pk", "review_score")
    assert f'const REVIEW_PK: &str = "{attr(index, "hash_key")}";' in store
    assert f'const REVIEW_SCORE: &str = "{attr(index, "range_key")}";' in store
    assert attr(index, "projection_type") == "KEYS_ONLY" and "ProjectionType::KeysOnly" in store
    env = api.locals["store_environment"]
    # Issue 14: the store is chosen by VOCAB_STORE; MongoDB's URI comes from a secret.
    assert "'VOCAB_STORE': '${var.store}'" in env and "'VOCAB_TABLE': '${aws_dynamodb_table.vocab.name}'" in env
    assert "'MONGODB_URI_SECRET_ARN': '${var.mongodb_uri_secret_arn}'" in env
    assert attr(api.variables["store"], "default") == "dynamodb"
    contract = (REPO / "docs" / "CONTRACTS.md").read_text()
    section = contract[contract.index("## C. The vocab API functions' environment"):]
    for name in ("VOCAB_STORE", "VOCAB_TABLE", "MONGODB_URI_SECRET_ARN"):
        assert f"`{name}`" in section
    fn = api.resource("aws_lambda_function")["api"]
    assert "local.store_environment" in attr(fn["environment"][0], "variables")
    assert attr(stack.modules["vocab_api"], "store") == "${var.vocab_store}"
    assert attr(stack.modules["vocab_api"], "mongodb_uri_secret_arn") == "${var.mongodb_uri_secret_arn}"


def test_only_a_mongodb_store_may_read_the_mongodb_secret(modules):
    doc = modules["vocab_api"].data["aws_iam_policy_document"]["function"]
    mongo = [d["statement"] for d in doc["dynamic"] if "statement" in d]
    assert len(mongo) == 1
    assert mongo[0]["for_each"] == ["${var.store == \"mongodb\" ? ['${var.mongodb_uri_secret_arn}'] : []}"]
    content = mongo[0]["content"][0]
    assert attr(content, "actions") == ["secretsmanager:GetSecretValue"]
    assert attr(content, "resources") == ["${statement.value}"]
