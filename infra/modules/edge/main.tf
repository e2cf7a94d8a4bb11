# What users reach: ONE CloudFront distribution at app_hostname serving the web app from a
# private bucket, with the API behind /api/* on the same origin (no CORS, one certificate, one
# WAF), the WAF web ACL in front of both, the certificate and DNS.
#
# Why CloudFront in front of the API: AWS WAF can't be associated with an API Gateway HTTP API
# (only REST APIs, ALBs, AppSync, Cognito, App Runner, Verified Access and CloudFront). So the
# web ACL with the per-IP rate rule sits on the distribution. The API's execute-api endpoint is
# disabled (module vocab_api): CloudFront reaches it at its custom origin domain.

locals {
  rate_rule_name = "per-ip-300-per-minute"

  # Request bodies by path (the URI as the viewer sent it, /api prefix included): the AWS common
  # rule set's SizeRestrictions_BODY would block every body over 8 KB, but bulk word adds are up
  # to 256 KiB. These paths get more than 8 KB:
  #  - words (add, bulk add up to 500, edit with a memo, batch delete up to 500 ids) and quiz
  #    answers (typed answers, up to 50): the API's own limit (256 KiB, answered 413 in the
  #    API's JSON) applies; WAF inspects at most the first 16 KB of a body anyway;
  #  - client events: 16 KiB (docs/CONTRACTS.md section A), enforced here too.
  # Every other body is refused above 8 KB, as the common rule set would have.
  default_body_limit_bytes       = 8192
  client_events_body_limit_bytes = 16384
  api_body_limit_paths = {
    words         = "^/api/lists/[^/]+/words(/[^/]+)?$"
    quiz_answers  = "^/api/quizzes/[^/]+/answers$"
    client_events = "^/api/client-events$"
  }

  app_origin_id = "app-bucket"
  api_origin_id = "http-api"
}

# AWS managed CloudFront policies.
data "aws_cloudfront_origin_request_policy" "all_viewer_except_host_header" {
  # API Gateway routes on its own Host name, so the viewer's Host must not be forwarded.
  name = "Managed-AllViewerExceptHostHeader"
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  # HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, X-XSS-Protection.
  name = "Managed-SecurityHeadersPolicy"
}

# ---------------------------------------------------------------- WAF (us-east-1, CLOUDFRONT)

resource "aws_wafv2_regex_pattern_set" "large_body_paths" {
  provider    = aws.us_east_1
  name        = "${var.name_prefix}-large-body-paths"
  description = "API paths whose bodies may exceed 8 KB (module edge, api_body_limit_paths)"
  scope       = "CLOUDFRONT"

  dynamic "regular_expression" {
    for_each = local.api_body_limit_paths
    content {
      regex_string = regular_expression.value
    }
  }

  tags = var.tags
}

resource "aws_wafv2_regex_pattern_set" "client_events_path" {
  provider    = aws.us_east_1
  name        = "${var.name_prefix}-client-events-path"
  description = "POST /api/client-events: bodies up to 16 KiB"
  scope       = "CLOUDFRONT"

  regular_expression {
    regex_string = local.api_body_limit_paths.client_events
  }

  tags = var.tags
}

resource "aws_wafv2_web_acl" "edge" {
  provider    = aws.us_east_1
  name        = "${var.name_prefix}-edge"
  description = "Per-IP rate limit, body sizes by path and AWS managed protections for the vocab app and API"
  scope       = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = local.rate_rule_name
    priority = 0

    action {
      block {}
    }

    statement {
      rate_based_statement {
        # 300 requests in a 60-second window from one client IP => that IP is blocked until its
        # rate drops below the limit again.
        limit                 = 300
        evaluation_window_sec = 60
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = local.rate_rule_name
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 1

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        # Includes the Log4j (Log4Shell) rules.
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"

        # Its one-size-for-all 8 KB body limit is replaced by the per-path rules below; it
        # still counts (and labels) what it would have blocked.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "body-over-8kb"
    priority = 3

    action {
      block {}
    }

    statement {
      and_statement {
        statement {
          size_constraint_statement {
            comparison_operator = "GT"
            size                = local.default_body_limit_bytes

            field_to_match {
              body {
                # Past WAF's inspection limit (16 KB) the size is over 8 KB for sure.
                oversize_handling = "MATCH"
              }
            }

            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }

        statement {
          not_statement {
            statement {
              regex_pattern_set_reference_statement {
                arn = aws_wafv2_regex_pattern_set.large_body_paths.arn

                field_to_match {
                  uri_path {}
                }

                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "body-over-8kb"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "client-events-over-16kb"
    priority = 4

    action {
      block {}
    }

    statement {
      and_statement {
        statement {
          regex_pattern_set_reference_statement {
            arn = aws_wafv2_regex_pattern_set.client_events_path.arn

            field_to_match {
              uri_path {}
            }

            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }

        statement {
          size_constraint_statement {
            comparison_operator = "GT"
            size                = local.client_events_body_limit_bytes

            field_to_match {
              body {
                # 16 KiB is WAF's default inspection limit for CloudFront: anything past it is over.
                oversize_handling = "MATCH"
              }
            }

            text_transformation {
              priority = 0
              type     = "NONE"
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "client-events-over-16kb"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${var.name_prefix}-edge"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

# WAF logs of a CLOUDFRONT web ACL can only go to a log group in us-east-1, named
# aws-waf-logs-*. A subscription filter can only invoke a Lambda in the group's own region, so
# the environment runs a copy of the shipper in us-east-1 for this group (module environment).
resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_338:WAF request logs are shipped to Elasticsearch; CloudWatch only bridges an outage, a year of them would only cost money.
  provider          = aws.us_east_1
  name              = "aws-waf-logs-${var.name_prefix}-edge" # WAF requires the aws-waf-logs- prefix.
  retention_in_days = var.waf_log_retention_days
  kms_key_id        = var.us_east_1_kms_key_arn
  tags              = var.tags
}

resource "aws_wafv2_web_acl_logging_configuration" "edge" {
  provider                = aws.us_east_1
  resource_arn            = aws_wafv2_web_acl.edge.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }

  # Allowed requests are in the API's access log already; by default only what a rule blocked,
  # counted or challenged is logged (and paid for).
  dynamic "logging_filter" {
    for_each = var.waf_log_allowed_requests ? [] : [true]
    content {
      default_behavior = "DROP"

      filter {
        behavior    = "KEEP"
        requirement = "MEETS_ANY"

        dynamic "condition" {
          for_each = ["BLOCK", "COUNT", "CAPTCHA", "CHALLENGE", "EXCLUDED_AS_COUNT"]
          content {
            action_condition {
              action = condition.value
            }
          }
        }
      }
    }
  }
}

# ---------------------------------------------------------------- certificate + DNS

resource "aws_acm_certificate" "edge" {
  provider          = aws.us_east_1
  domain_name       = var.app_hostname
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }

  tags = var.tags
}

resource "aws_route53_record" "validation" {
  for_each = {
    for option in aws_acm_certificate.edge.domain_validation_options : option.domain_name => option
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "edge" {
  provider                = aws.us_east_1
  certificate_arn         = aws_acm_certificate.edge.arn
  validation_record_fqdns = [for record in aws_route53_record.validation : record.fqdn]
}

# ---------------------------------------------------------------- web app: private S3 + OAC

resource "aws_s3_bucket" "app" {
  #checkov:skip=CKV_AWS_18:Every read goes through CloudFront, whose WAF logs and the API access logs record requests; S3 access logs would duplicate them.
  #checkov:skip=CKV_AWS_144:The bucket holds build output that CI can re-upload from git; replication adds nothing.
  #checkov:skip=CKV2_AWS_62:Nothing reacts to uploads of the static build.
  #checkov:skip=CKV_AWS_145:Public web assets; SSE-S3 is enough and OAC reads it without a KMS key policy for CloudFront.
  bucket = var.app_bucket_name
  tags   = var.tags
}

resource "aws_s3_bucket_public_access_block" "app" {
  bucket                  = aws_s3_bucket.app.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "app" {
  bucket = aws_s3_bucket.app.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "app" {
  bucket = aws_s3_bucket.app.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "app" {
  bucket = aws_s3_bucket.app.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "app" {
  bucket = aws_s3_bucket.app.id

  rule {
    id     = "old-builds"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }
}

# The app's runtime configuration (docs/CONTRACTS.md section A), written at every apply from
# the same values as the outputs; deploy-frontend.yml never overwrites or deletes it.
resource "aws_s3_object" "config" {
  bucket        = aws_s3_bucket.app.id
  key           = "config.json"
  content       = var.web_config_json
  content_type  = "application/json"
  cache_control = "no-cache"
  tags          = var.tags
}

resource "aws_cloudfront_origin_access_control" "app" {
  name                              = "${var.name_prefix}-app"
  description                       = "CloudFront reads the private web app bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_iam_policy_document" "app_bucket" {
  statement {
    sid       = "CloudFrontReadsThroughOac"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.app.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.app.arn]
    }
  }

  statement {
    # With ListBucket a missing file is S3's 404, not a 403 (AccessDenied): the browser sees
    # a missing asset as what it is.
    sid       = "CloudFrontSeesMissingFiles"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.app.arn]

    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.app.arn]
    }
  }

  statement {
    sid       = "TlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.app.arn, "${aws_s3_bucket.app.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "app" {
  bucket = aws_s3_bucket.app.id
  policy = data.aws_iam_policy_document.app_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.app]
}

# ---------------------------------------------------------------- CloudFront

resource "aws_cloudfront_function" "spa_fallback" {
  name    = "${var.name_prefix}-spa-fallback"
  runtime = "cloudfront-js-2.0"
  comment = "App paths without a file extension get index.html; files stay files"
  publish = true
  code    = file("${path.module}/functions/spa-fallback.js")
}

resource "aws_cloudfront_function" "api_prefix" {
  name    = "${var.name_prefix}-api-prefix"
  runtime = "cloudfront-js-2.0"
  comment = "Strips /api before the request reaches API Gateway"
  publish = true
  code    = file("${path.module}/functions/api-prefix.js")
}

# The app's files: CloudFront keeps each for as long as its own Cache-Control says, which
# deploy-frontend.yml sets per file (hashed assets a year, index.html and config.json
# no-cache). Without a Cache-Control nothing is cached (default TTL 0).
resource "aws_cloudfront_cache_policy" "app" {
  name        = "${var.name_prefix}-app-origin-cache-control"
  comment     = "Cache as long as the object's Cache-Control says; nothing without one"
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = 31536000

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    headers_config {
      header_behavior = "none"
    }

    cookies_config {
      cookie_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# CloudFront forwards the Authorization header only when it is part of the cache key, so it is
# in the key; the default TTL of 0 means responses without Cache-Control are not cached at all.
resource "aws_cloudfront_cache_policy" "api" {
  name        = "${var.name_prefix}-api-per-authorization"
  comment     = "Per-user cache key; nothing cached unless the API says so"
  min_ttl     = 0
  default_ttl = 0
  max_ttl     = 1

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_brotli = true
    enable_accept_encoding_gzip   = true

    headers_config {
      header_behavior = "whitelist"

      headers {
        items = ["Authorization"]
      }
    }

    cookies_config {
      cookie_behavior = "none"
    }

    query_strings_config {
      query_string_behavior = "all"
    }
  }
}

resource "aws_cloudfront_distribution" "app" {
  #checkov:skip=CKV2_AWS_47:The Log4j rules are in AWSManagedRulesKnownBadInputsRuleSet, which the web ACL has; this check also demands AWSManagedRulesAnonymousIpList, which would block learners behind VPNs.
  #checkov:skip=CKV_AWS_86:The WAF logs what its rules act on and API Gateway writes an access log of every API request; standard logs would need an ACL-enabled bucket.
  #checkov:skip=CKV_AWS_310:The two origins serve different paths; there is no second copy of either to fail over to.
  #checkov:skip=CKV_AWS_374:The app is meant to be reachable from every country.
  enabled             = true
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  comment             = "${var.name_prefix}: web app, API under /api"
  aliases             = [var.app_hostname]
  default_root_object = "index.html"
  price_class         = var.price_class
  web_acl_id          = aws_wafv2_web_acl.edge.arn

  origin {
    origin_id                = local.app_origin_id
    domain_name              = aws_s3_bucket.app.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.app.id
  }

  origin {
    origin_id   = local.api_origin_id
    domain_name = var.api_origin_domain_name

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  # The app. No custom_error_response: a distribution-wide one would also turn the API's JSON
  # 404s into index.html; the SPA fallback is the viewer-request function instead.
  default_cache_behavior {
    target_origin_id           = local.app_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.app.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.spa_fallback.arn
    }
  }

  # The API, same origin as the app.
  ordered_cache_behavior {
    path_pattern               = "/api/*"
    target_origin_id           = local.api_origin_id
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.api.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host_header.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id

    function_association {
      event_type   = "viewer-request"
      function_arn = aws_cloudfront_function.api_prefix.arn
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    acm_certificate_arn      = aws_acm_certificate_validation.edge.certificate_arn
    ssl_support_method       = "sni-only"
    minimum_protocol_version = "TLSv1.2_2021"
  }

  tags = var.tags
}

resource "aws_route53_record" "alias" {
  for_each = toset(["A", "AAAA"])

  zone_id = var.hosted_zone_id
  name    = var.app_hostname
  type    = each.key

  alias {
    name                   = aws_cloudfront_distribution.app.domain_name
    zone_id                = aws_cloudfront_distribution.app.hosted_zone_id
    evaluate_target_health = false
  }
}
