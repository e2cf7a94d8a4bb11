"""The edge blocks an IP above 300 requests per minute, in front of the API."""

from infra_hcl import Module, attr, waf_rate_problems


def test_rate_rule_is_300_per_60_seconds_per_ip_and_attached(modules):
    assert waf_rate_problems(modules["edge"]) == []


def test_the_api_distribution_carries_the_web_acl_and_points_at_the_http_api(modules, prod):
    edge = modules["edge"]
    api = edge.resource("aws_cloudfront_distribution")["api"]
    assert attr(api, "web_acl_id") == "${aws_wafv2_web_acl.edge.arn}"
    origin = api["origin"][0]
    assert attr(origin, "domain_name") == "${local.api_origin_domain}"
    assert "var.api_origin_endpoint" in edge.locals["api_origin_domain"]
    assert prod.modules["edge"]["api_origin_endpoint"] == ["${module.vocab_api.api_endpoint}"]
    # Clients must reach the API through CloudFront, over TLS.
    behavior = api["default_cache_behavior"][0]
    assert attr(behavior, "viewer_protocol_policy") == "redirect-to-https"
    assert attr(origin["custom_origin_config"][0], "origin_protocol_policy") == "https-only"


def test_web_app_bucket_is_private_and_read_through_oac(modules):
    edge = modules["edge"]
    block = edge.resource("aws_s3_bucket_public_access_block")["app"]
    assert all(attr(block, k) is True for k in
               ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
    origin = edge.resource("aws_cloudfront_distribution")["app"]["origin"][0]
    assert attr(origin, "origin_access_control_id") == "${aws_cloudfront_origin_access_control.app.id}"
    statement = edge.data["aws_iam_policy_document"]["app_bucket"]["statement"][0]
    condition = statement["condition"][0]
    assert attr(condition, "variable") == "AWS:SourceArn"
    assert attr(condition, "values") == ["${aws_cloudfront_distribution.app.arn}"]


BAD = '''
resource "aws_wafv2_web_acl" "acl" {
  provider = aws.us_east_1
  scope    = "REGIONAL"
  rule {
    name = "too-lenient"
    action {
      count {}
    }
    statement {
      rate_based_statement {
        limit                 = 300
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }
  }
}
'''


def test_check_catches_a_5_minute_window_a_count_action_and_no_attachment(tmp_path):
    problems = waf_rate_problems(Module.from_texts(tmp_path, [BAD]))
    assert any("(300, 300, 'IP')" in p for p in problems)
    assert any("does not block" in p for p in problems)
    assert any("scope must be CLOUDFRONT" in p for p in problems)
    assert any("attached to no CloudFront distribution" in p for p in problems)
