# Why CloudFront in front of the API: AWS WAF can't be associated with an API Gateway HTTP API
# (only REST APIs, ALBs, AppSync, Cognito, App Runner, Verified Access and CloudFront). So the
# web ACL with the per-IP rate rule sits on a CloudFront distribution whose origin is the HTTP
# API. The execute-api endpoint stays reachable directly; the stage throttle in the vocab_api
# module is the backstop for traffic that skips CloudFront, and every route still needs a JWT.

locals {
  rate_rule_name = "per-ip-300-per-minute"

  api_origin_domain = trimsuffix(replace(var.api_origin_endpoint, "https://", ""), "/")
}

# AWS managed CloudFront policies.
data "aws_cloudfront_cache_policy" "caching_optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host_header" {
  # API Gateway routes on its own Host name, so the viewer's Host must not be forwarded.
  name = "Managed-AllViewerExceptHostHeader"
}

data "aws_cloudfront_response_headers_policy" "security_headers" {
  # HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy, X-XSS-Protection.
  name = "Managed-SecurityHeadersPolicy"
}

# ---------------------------------------------------------------- WAF (us-east-1, CLOUDFRONT)

resource "aws_wafv2_web_acl" "edge" {
  provider    = aws.us_east_1
  name        = "vocab-edge"
  description = "Per-IP rate limit and AWS managed protections for the vocab app and API"
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
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "aws-common"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "vocab-edge"
    sampled_requests_enabled   = true
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_338:WAF request logs are for investigating recent blocks; a year of them would only cost money.
  #checkov:skip=CKV_AWS_158:This group is in us-east-1 (WAF for CloudFront logs there) while the project's CMK is regional; the logs hold no bodies and the Authorization header is redacted.
  provider          = aws.us_east_1
  name              = "aws-waf-logs-vocab-edge" # WAF requires the aws-waf-logs- prefix.
  retention_in_days = var.waf_log_retention_days
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
}

# ---------------------------------------------------------------- certificate + DNS

resource "aws_acm_certificate" "edge" {
  provider                  = aws.us_east_1
  domain_name               = var.app_hostname
  subject_alternative_names = [var.api_hostname]
  validation_method         = "DNS"

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
  #checkov:skip=CKV_AWS_18:Every read goes through CloudFront, whose WAF logs record each request; S3 access logs would duplicate them.
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

resource "aws_cloudfront_origin_access_control" "app" {
  name                              = "vocab-app"
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

resource "aws_cloudfront_distribution" "app" {
  #checkov:skip=CKV2_AWS_47:The Log4j rules are in AWSManagedRulesKnownBadInputsRuleSet, which the web ACL has; this check also demands AWSManagedRulesAnonymousIpList, which would block learners behind VPNs.
  #checkov:skip=CKV_AWS_86:The WAF logs every request (with client IP) already; standard logs would need an ACL-enabled bucket.
  #checkov:skip=CKV_AWS_310:One origin; there is no second copy of the bucket to fail over to.
  #checkov:skip=CKV_AWS_374:The app is meant to be reachable from every country.
  enabled             = true
  is_ipv6_enabled     = true
  http_version        = "http2and3"
  comment             = "vocab web app"
  aliases             = [var.app_hostname]
  default_root_object = "index.html"
  price_class         = var.price_class
  web_acl_id          = aws_wafv2_web_acl.edge.arn

  origin {
    origin_id                = "app-bucket"
    domain_name              = aws_s3_bucket.app.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.app.id
  }

  default_cache_behavior {
    target_origin_id           = "app-bucket"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.caching_optimized.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id
  }

  # Single-page app: unknown paths (403 from S3 through OAC without ListBucket) serve index.html.
  custom_error_response {
    error_code         = 403
    response_code      = 200
    response_page_path = "/index.html"
  }

  custom_error_response {
    error_code         = 404
    response_code      = 200
    response_page_path = "/index.html"
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

# ---------------------------------------------------------------- API behind CloudFront + WAF

# CloudFront forwards the Authorization header only when it is part of the cache key, so it is
# in the key; the default TTL of 0 means responses without Cache-Control are not cached at all.
resource "aws_cloudfront_cache_policy" "api" {
  name        = "vocab-api-per-authorization"
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

resource "aws_cloudfront_distribution" "api" {
  #checkov:skip=CKV2_AWS_47:The Log4j rules are in AWSManagedRulesKnownBadInputsRuleSet, which the web ACL has; this check also demands AWSManagedRulesAnonymousIpList, which would block learners behind VPNs.
  #checkov:skip=CKV_AWS_86:The WAF logs every request (with client IP) and API Gateway writes access logs; standard logs would need an ACL-enabled bucket.
  #checkov:skip=CKV_AWS_310:One origin (the HTTP API); there is no second API to fail over to.
  #checkov:skip=CKV_AWS_305:An API has no root object.
  #checkov:skip=CKV_AWS_374:The API is meant to be reachable from every country.
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "vocab API (WAF per-IP rate limit)"
  aliases         = [var.api_hostname]
  price_class     = var.price_class
  web_acl_id      = aws_wafv2_web_acl.edge.arn

  origin {
    origin_id   = "http-api"
    domain_name = local.api_origin_domain

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
  }

  default_cache_behavior {
    target_origin_id           = "http-api"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.api.id
    origin_request_policy_id   = data.aws_cloudfront_origin_request_policy.all_viewer_except_host_header.id
    response_headers_policy_id = data.aws_cloudfront_response_headers_policy.security_headers.id
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
  for_each = {
    "app-A"    = { name = var.app_hostname, type = "A", distribution = aws_cloudfront_distribution.app }
    "app-AAAA" = { name = var.app_hostname, type = "AAAA", distribution = aws_cloudfront_distribution.app }
    "api-A"    = { name = var.api_hostname, type = "A", distribution = aws_cloudfront_distribution.api }
    "api-AAAA" = { name = var.api_hostname, type = "AAAA", distribution = aws_cloudfront_distribution.api }
  }

  zone_id = var.hosted_zone_id
  name    = each.value.name
  type    = each.value.type

  alias {
    name                   = each.value.distribution.domain_name
    zone_id                = each.value.distribution.hosted_zone_id
    evaluate_target_health = false
  }
}
