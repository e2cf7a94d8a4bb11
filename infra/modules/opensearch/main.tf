# Optional target: Amazon OpenSearch Service instead of Elastic (Cloud). Either a managed domain
# (`kind = "domain"`, SigV4 service `es`) or an OpenSearch Serverless time-series collection
# (`kind = "serverless"`, service `aoss`). The shipper signs its requests with its own role; this
# module lets exactly those roles write, nobody else, and has no passwords at all.

data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  name      = "${var.name_prefix}-logs"
  is_domain = var.kind == "domain"
}

# ---------------------------------------------------------------- managed domain

resource "aws_opensearch_domain" "logs" {
  #checkov:skip=CKV2_AWS_52:Access is IAM only (the domain policy names the shipper roles, requests are SigV4-signed); fine-grained access control would add an internal user database we don't use.
  #checkov:skip=CKV_AWS_317:Audit logs need fine-grained access control (see CKV2_AWS_52); who calls the domain is limited by its IAM policy.
  #checkov:skip=CKV_AWS_248:Fine-grained access control is off for the reason above; IAM decides every request.
  #checkov:skip=CKV_AWS_137:Reached over its public HTTPS endpoint with SigV4, like the Elastic Cloud target; a VPC domain would need the shipper in a VPC with a NAT gateway.
  #checkov:skip=CKV_AWS_318:Three zones triple the cost of a logs domain this size; snapshots are automatic and the logs are also in CloudWatch for their retention.
  #checkov:skip=CKV2_AWS_59:Dedicated master nodes cost more than the one or two data nodes a logs domain this size has; they matter from about ten nodes.
  count          = local.is_domain ? 1 : 0
  domain_name    = local.name
  engine_version = var.engine_version

  cluster_config {
    instance_type  = var.instance_type
    instance_count = var.instance_count
  }

  ebs_options {
    ebs_enabled = true
    volume_type = "gp3"
    volume_size = var.volume_size_gb
  }

  encrypt_at_rest {
    enabled    = true
    kms_key_id = var.kms_key_arn
  }

  node_to_node_encryption {
    enabled = true
  }

  domain_endpoint_options {
    enforce_https       = true
    tls_security_policy = "Policy-Min-TLS-1-2-PFS-2023-10"
  }

  log_publishing_options {
    cloudwatch_log_group_arn = aws_cloudwatch_log_group.domain[0].arn
    log_type                 = "ES_APPLICATION_LOGS"
  }

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "domain" {
  #checkov:skip=CKV_AWS_338:The domain's own error log, for recent troubleshooting only.
  count             = local.is_domain ? 1 : 0
  name              = "/aws/opensearch/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

data "aws_iam_policy_document" "domain_logs" {
  count = local.is_domain ? 1 : 0

  statement {
    sid       = "OpenSearchWritesItsLog"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.domain[0].arn}:*"]

    principals {
      type        = "Service"
      identifiers = ["es.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "domain" {
  count           = local.is_domain ? 1 : 0
  policy_name     = "${local.name}-logs"
  policy_document = data.aws_iam_policy_document.domain_logs[0].json
}

data "aws_iam_policy_document" "domain" {
  count = local.is_domain ? 1 : 0

  statement {
    sid       = "Writers"
    actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
    resources = ["${aws_opensearch_domain.logs[0].arn}/*"]

    principals {
      type        = "AWS"
      identifiers = var.writer_role_arns
    }
  }

  dynamic "statement" {
    for_each = length(var.reader_principal_arns) > 0 ? [true] : []
    content {
      sid       = "Readers"
      actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost"]
      resources = ["${aws_opensearch_domain.logs[0].arn}/*"]

      principals {
        type        = "AWS"
        identifiers = var.reader_principal_arns
      }
    }
  }
}

resource "aws_opensearch_domain_policy" "logs" {
  count           = local.is_domain ? 1 : 0
  domain_name     = aws_opensearch_domain.logs[0].domain_name
  access_policies = data.aws_iam_policy_document.domain[0].json
}

# ---------------------------------------------------------------- serverless collection

resource "aws_opensearchserverless_security_policy" "encryption" {
  count = local.is_domain ? 0 : 1
  name  = local.name
  type  = "encryption"
  policy = jsonencode({
    Rules       = [{ ResourceType = "collection", Resource = ["collection/${local.name}"] }]
    AWSOwnedKey = false
    KmsARN      = var.kms_key_arn
  })
}

resource "aws_opensearchserverless_security_policy" "network" {
  count = local.is_domain ? 0 : 1
  name  = local.name
  type  = "network"
  # Public endpoint, like the Elastic Cloud target; every request still needs SigV4 and the
  # data access policy below.
  policy = jsonencode([{
    Rules = [
      { ResourceType = "collection", Resource = ["collection/${local.name}"] },
      { ResourceType = "dashboard", Resource = ["collection/${local.name}"] },
    ]
    AllowFromPublic = true
  }])
}

resource "aws_opensearchserverless_collection" "logs" {
  count       = local.is_domain ? 0 : 1
  name        = local.name
  description = "CloudWatch logs of ${var.name_prefix}, written by the shipper"
  # Time series: append-only, no custom _id (the shipper's Serverless target mode).
  type = "TIMESERIES"
  tags = var.tags

  depends_on = [aws_opensearchserverless_security_policy.encryption, aws_opensearchserverless_security_policy.network]
}

resource "aws_opensearchserverless_access_policy" "logs" {
  count = local.is_domain ? 0 : 1
  name  = local.name
  type  = "data"
  policy = jsonencode(concat(
    [{
      Description = "The shipper roles create indices and templates and write documents"
      Rules = [
        {
          ResourceType = "index"
          Resource     = ["index/${local.name}/*"]
          Permission   = ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex", "aoss:WriteDocument", "aoss:ReadDocument"]
        },
        {
          ResourceType = "collection"
          Resource     = ["collection/${local.name}"]
          Permission   = ["aoss:CreateCollectionItems", "aoss:DescribeCollectionItems", "aoss:UpdateCollectionItems"]
        },
      ]
      Principal = var.writer_role_arns
    }],
    length(var.reader_principal_arns) == 0 ? [] : [{
      Description = "People and tools that read the logs"
      Rules = [
        { ResourceType = "index", Resource = ["index/${local.name}/*"], Permission = ["aoss:DescribeIndex", "aoss:ReadDocument"] },
        { ResourceType = "collection", Resource = ["collection/${local.name}"], Permission = ["aoss:DescribeCollectionItems"] },
      ]
      Principal = var.reader_principal_arns
    }],
  ))
}
