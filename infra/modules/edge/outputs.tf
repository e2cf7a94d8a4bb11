output "web_acl_name" {
  description = "Name of the WAF web ACL (WebACL dimension of the AWS/WAFV2 metrics, in us-east-1)."
  value       = aws_wafv2_web_acl.edge.name
}

output "web_acl_arn" {
  description = "ARN of the WAF web ACL."
  value       = aws_wafv2_web_acl.edge.arn
}

output "rate_rule_name" {
  description = "Name of the per-IP rate rule (Rule dimension of its BlockedRequests metric)."
  value       = local.rate_rule_name
}

output "waf_log_group_name" {
  description = "The WAF's log group (us-east-1, aws-waf-logs-*), shipped by the us-east-1 copy of the shipper."
  value       = aws_cloudwatch_log_group.waf.name
}

output "app_bucket_name" {
  description = "Bucket to upload the web app build to (deploy-frontend.yml)."
  value       = aws_s3_bucket.app.bucket
}

output "app_bucket_arn" {
  description = "ARN of the web app bucket (the deploy role's permissions)."
  value       = aws_s3_bucket.app.arn
}

output "app_distribution_id" {
  description = "CloudFront distribution of the app and the API (invalidations after an upload)."
  value       = aws_cloudfront_distribution.app.id
}

output "app_distribution_arn" {
  description = "ARN of that distribution (the deploy role's invalidation permission)."
  value       = aws_cloudfront_distribution.app.arn
}

output "app_url" {
  description = "URL of the web app."
  value       = "https://${var.app_hostname}"
}

output "api_url" {
  description = "URL of the API as clients use it: the app's origin, /api."
  value       = "https://${var.app_hostname}/api"
}
