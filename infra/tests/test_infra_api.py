"""The HTTP API exposes exactly the vocab routes, each behind the JWT authorizer, over one table."""

from infra_hcl import attr

ROUTES = {
    "POST /lists": "lists",
    "GET /lists": "lists",
    "GET /lists/{list_id}": "lists",
    "PATCH /lists/{list_id}": "lists",
    "DELETE /lists/{list_id}": "lists",
    "POST /lists/{list_id}/words": "words",
    "GET /lists/{list_id}/words": "words",
    "PATCH /lists/{list_id}/words/{word_id}": "words",
    "DELETE /lists/{list_id}/words/{word_id}": "words",
    "POST /lists/{list_id}/quizzes": "quiz",
    "POST /quizzes/{quiz_id}/answers": "quiz",
    "GET /quizzes/{quiz_id}": "quiz",
    "GET /me": "me",
}


def test_routes_map_to_their_functions(modules):
    api = modules["vocab_api"]
    assert api.locals["routes"] == ROUTES
    assert set(ROUTES.values()) == set(api.locals["functions"])


def test_every_route_requires_a_jwt(modules):
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
    assert attr(api.resource("aws_apigatewayv2_api")["vocab"], "protocol_type") == "HTTP"


def test_single_table_with_string_pk_and_sk_on_demand(modules):
    api = modules["vocab_api"]
    table = api.resource("aws_dynamodb_table")["vocab"]
    assert attr(table, "hash_key") == "pk"
    assert attr(table, "range_key") == "sk"
    assert attr(table, "billing_mode") == "PAY_PER_REQUEST"
    assert {attr(a, "name"): attr(a, "type") for a in table["attribute"]} == {"pk": "S", "sk": "S"}
    fn = api.resource("aws_lambda_function")["api"]
    assert attr(fn["environment"][0], "variables")["VOCAB_TABLE"] == "${aws_dynamodb_table.vocab.name}"
