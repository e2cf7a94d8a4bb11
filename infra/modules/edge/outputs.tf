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

output "app_bucket_name" {
  description = "Bucket to upload the web app build to."
  value       = aws_s3_bucket.app.bucket
}

output "app_distribution_id" {
  description = "CloudFront distribution of the web app (for cache invalidations after an upload)."
  value       = aws_cloudfront_distribution.app.id
}

output "api_distribution_id" {
  description = "CloudFront distribution in front of the API."
  value       = aws_cloudfront_distribution.api.id
}

output "app_url" {
  description = "URL of the web app."
  value       = "https://${var.app_hostname}"
}

output "api_url" {
  description = "URL of the API as clients use it (through CloudFront and the WAF)."
  value       = "https://${var.api_hostname}"
}
