"""One CloudFront distribution serves the app and, under /api/*, the API: unknown app paths get
index.html while API 404s stay 404s, hashed assets are cached a year and index.html never,
and /config.json is written from Terraform's values in the contract's shape."""

import json
import shutil
import subprocess

import pytest

from infra_hcl import INFRA, attr, blocks, contract_web_config_keys

FUNCTIONS = INFRA / "modules" / "edge" / "functions"


def _distribution(modules) -> dict:
    dists = modules["edge"].resource("aws_cloudfront_distribution")
    assert list(dists) == ["app"], "one distribution for the app and the API"
    return dists["app"]


def test_one_distribution_with_the_api_under_api(modules):
    dist = _distribution(modules)
    edge = modules["edge"]
    assert attr(dist, "aliases") == ["${var.app_hostname}"]
    assert attr(dist, "web_acl_id") == "${aws_wafv2_web_acl.edge.arn}"
    origins = {attr(o, "origin_id"): o for o in dist["origin"]}
    app_origin, api_origin = edge.locals["app_origin_id"], edge.locals["api_origin_id"]
    assert attr(origins["${local.app_origin_id}"], "origin_access_control_id") == "${aws_cloudfront_origin_access_control.app.id}"
    api = origins["${local.api_origin_id}"]
    assert attr(api, "domain_name") == "${var.api_origin_domain_name}"
    assert attr(api["custom_origin_config"][0], "origin_protocol_policy") == "https-only"
    assert app_origin != api_origin
    (behaviour,) = dist["ordered_cache_behavior"]
    assert attr(behaviour, "path_pattern") == "/api/*"
    assert attr(behaviour, "target_origin_id") == "${local.api_origin_id}"
    assert set(attr(behaviour, "allowed_methods")) == {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}
    assert attr(behaviour, "viewer_protocol_policy") == "redirect-to-https"
    (fn,) = behaviour["function_association"]
    assert (attr(fn, "event_type"), attr(fn, "function_arn")) == ("viewer-request", "${aws_cloudfront_function.api_prefix.arn}")
    # Authorization reaches the API only as part of the cache key; TTL 0 caches nothing by default.
    assert attr(behaviour, "cache_policy_id") == "${aws_cloudfront_cache_policy.api.id}"
    policy = edge.resource("aws_cloudfront_cache_policy")["api"]
    assert attr(policy, "default_ttl") == 0
    keys = policy["parameters_in_cache_key_and_forwarded_to_origin"][0]["headers_config"][0]["headers"][0]
    assert attr(keys, "items") == ["Authorization"]


def test_spa_fallback_is_a_function_not_a_distribution_wide_error_page(modules):
    # A custom_error_response would turn the API's JSON 404s into index.html with a 200.
    dist = _distribution(modules)
    assert "custom_error_response" not in dist
    default = dist["default_cache_behavior"][0]
    assert attr(default, "target_origin_id") == "${local.app_origin_id}"
    assert attr(default, "allowed_methods") == ["GET", "HEAD"]
    (fn,) = default["function_association"]
    assert (attr(fn, "event_type"), attr(fn, "function_arn")) == ("viewer-request", "${aws_cloudfront_function.spa_fallback.arn}")
    functions = modules["edge"].resource("aws_cloudfront_function")
    for name, file in (("spa_fallback", "spa-fallback.js"), ("api_prefix", "api-prefix.js")):
        assert attr(functions[name], "runtime") == "cloudfront-js-2.0"
        assert attr(functions[name], "publish") is True
        assert attr(functions[name], "code") == "${file(\"${path.module}/functions/%s\")}" % file


def test_files_are_cached_as_their_cache_control_says_and_nothing_without_one(modules):
    edge = modules["edge"]
    default = _distribution(modules)["default_cache_behavior"][0]
    assert attr(default, "cache_policy_id") == "${aws_cloudfront_cache_policy.app.id}"
    policy = edge.resource("aws_cloudfront_cache_policy")["app"]
    # min 0 lets index.html's no-cache mean "not cached"; max a year lets hashed assets stay.
    assert (attr(policy, "min_ttl"), attr(policy, "default_ttl"), attr(policy, "max_ttl")) == (0, 0, 31536000)


def _run_function(file: str, uri: str) -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (Node.js 20: the web app's tests need it too)")
    code = (FUNCTIONS / file).read_text()
    # cloudfront-js-2.0 runs the file with `handler(event)`; nothing else is exported.
    script = code + "\nprocess.stdout.write(JSON.stringify(handler(JSON.parse(process.argv[1]))));"
    event = {"version": "1.0", "context": {"eventType": "viewer-request"},
             "viewer": {"ip": "192.0.2.1"},
             "request": {"method": "GET", "uri": uri, "querystring": {"limit": {"value": "5"}}, "headers": {}, "cookies": {}}}
    out = subprocess.run([node, "-e", script, json.dumps(event)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("uri,expected", [
    ("/", "/index.html"),
    ("/lists/abc", "/index.html"),
    ("/auth/callback", "/index.html"),
    ("/notebooks", "/index.html"),
    ("/index.html", "/index.html"),
    ("/assets/index-1a2b3c.js", "/assets/index-1a2b3c.js"),
    ("/config.json", "/config.json"),
    ("/favicon.ico", "/favicon.ico"),
    ("/assets/missing-0000.css", "/assets/missing-0000.css"),  # stays a 404 from S3
])
def test_app_paths_get_index_html_and_files_stay_files(uri, expected):
    assert _run_function("spa-fallback.js", uri)["uri"] == expected


def test_bare_api_path_is_a_404_not_the_app():
    assert _run_function("spa-fallback.js", "/api")["statusCode"] == 404


@pytest.mark.parametrize("uri,expected", [
    ("/api/lists", "/lists"),
    ("/api/lists/abc/words/batch-delete", "/lists/abc/words/batch-delete"),
    ("/api/me", "/me"),
    ("/api/", "/"),
    ("/api/nothing-here", "/nothing-here"),  # API Gateway's own 404
])
def test_api_prefix_is_stripped_and_the_query_kept(uri, expected):
    request = _run_function("api-prefix.js", uri)
    assert request["uri"] == expected
    assert request["querystring"] == {"limit": {"value": "5"}}


def test_config_json_is_written_from_terraform_values_in_the_contract_shape(modules, stack):
    edge = modules["edge"]
    obj = edge.resource("aws_s3_object")["config"]
    assert attr(obj, "key") == "config.json"
    assert attr(obj, "content") == "${var.web_config_json}"
    assert attr(obj, "cache_control") == "no-cache"
    assert attr(obj, "content_type") == "application/json"
    assert attr(stack.modules["edge"], "web_config_json") == "${jsonencode(local.web_config)}"
    assert stack.locals["web_config"] == {"api_base": "/api", "auth": "${module.auth.web_auth_config}"}
    auth = modules["auth"].outputs["web_auth_config"]["value"][0]
    assert set(auth) == contract_web_config_keys()
    assert auth["mode"] == "cognito"
    assert auth["identity_provider"] == "${aws_cognito_identity_provider.google.provider_name}"
    assert auth["client_id"] == "${aws_cognito_user_pool_client.web.id}"
    assert auth["redirect_uri"] == "${local.callback_url}"
    assert modules["auth"].locals["callback_url"] == "https://${var.app_hostname}/auth/callback"
    assert modules["auth"].locals["logout_url"] == "https://${var.app_hostname}/"


def test_missing_files_are_404s_and_the_bucket_stays_private(modules):
    edge = modules["edge"]
    block = edge.resource("aws_s3_bucket_public_access_block")["app"]
    assert all(attr(block, k) is True for k in
               ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    statements = {attr(s, "sid"): s for s in blocks(edge.data["aws_iam_policy_document"]["app_bucket"], "statement")}
    for sid, actions in (("CloudFrontReadsThroughOac", ["s3:GetObject"]), ("CloudFrontSeesMissingFiles", ["s3:ListBucket"])):
        st = statements[sid]
        assert attr(st, "actions") == actions
        condition = st["condition"][0]
        assert attr(condition, "variable") == "AWS:SourceArn"
        assert attr(condition, "values") == ["${aws_cloudfront_distribution.app.arn}"]
