output "target" {
  description = "What the shipper module's `opensearch` input takes: endpoint (host name, no scheme), SigV4 service, and the resource its IAM policy names."
  value = local.is_domain ? {
    endpoint     = aws_opensearch_domain.logs[0].endpoint
    service      = "es"
    resource_arn = aws_opensearch_domain.logs[0].arn
    } : {
    endpoint     = trimprefix(aws_opensearchserverless_collection.logs[0].collection_endpoint, "https://")
    service      = "aoss"
    resource_arn = aws_opensearchserverless_collection.logs[0].arn
  }
}

output "dashboards_url" {
  description = "OpenSearch Dashboards of the domain or collection."
  value       = local.is_domain ? "https://${aws_opensearch_domain.logs[0].dashboard_endpoint}" : aws_opensearchserverless_collection.logs[0].dashboard_endpoint
}
