# One whole environment of the vocab app (envs/prod, envs/staging): keys, API, sign-in, edge,
# shippers, alarms, the optional OpenSearch target and the GitHub deploy roles. Every name
# starts with var.name_prefix, so that two environments can share an account.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.region

  shipper_function_name = "${var.name_prefix}-log-shipper"
  app_bucket_name       = coalesce(var.app_bucket_name, "${var.name_prefix}-web-${local.account_id}")
  # Unique per account without publishing the account id in the sign-in page's address.
  cognito_domain_prefix = coalesce(var.cognito_domain_prefix, "${var.name_prefix}-${substr(sha256(local.account_id), 0, 8)}")

  opensearch_target = var.opensearch == null ? null : module.opensearch[0].target

  # The app's runtime configuration, /config.json (docs/CONTRACTS.md section A).
  web_config = {
    api_base = "/api"
    auth     = module.auth.web_auth_config
  }
}

# ---------------------------------------------------------------- encryption keys

# One customer managed key for the data of this environment in its region (table, secrets,
# queues, log groups, function environments), one in us-east-1 for what must live there (the
# WAF logs and their shipper). IAM policies grant their use per role; CloudWatch Logs needs the
# key policy itself.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" resource means this key only; the account root statement is what lets IAM policies grant use of the key.
  #checkov:skip=CKV_AWS_111:Key policy: "*" resource means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource means this key only.
  for_each = toset([local.region, "us-east-1"])

  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsOfThisAccount"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${each.key}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${each.key}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  description         = "${var.name_prefix}: table, secrets, queues, logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key[local.region].json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.main.key_id
}

resource "aws_kms_key" "us_east_1" {
  provider            = aws.us_east_1
  description         = "${var.name_prefix}: WAF logs and their shipper (us-east-1)"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key["us-east-1"].json
}

resource "aws_kms_alias" "us_east_1" {
  provider      = aws.us_east_1
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.us_east_1.key_id
}

# ---------------------------------------------------------------- modules

module "alarms" {
  source = "../alarms"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    aws.chatbot   = aws.chatbot
  }

  name_prefix        = var.name_prefix
  slack_team_id      = var.slack_team_id
  slack_channel_id   = var.slack_channel_id
  monthly_budget_usd = var.monthly_budget_usd
  web_acl_name       = module.edge.web_acl_name
  waf_rate_rule_name = module.edge.rate_rule_name
}

module "auth" {
  source = "../auth"

  name_prefix             = var.name_prefix
  app_hostname            = var.app_hostname
  domain_prefix           = local.cognito_domain_prefix
  google_client_id        = var.google_client_id
  google_client_secret_id = var.google_client_secret_id
}

module "vocab_api" {
  source = "../vocab_api"

  name_prefix            = var.name_prefix
  kms_key_arn            = aws_kms_key.main.arn
  artifact_dir           = var.artifact_dir
  log_retention_days     = var.log_retention_days
  store                  = var.vocab_store
  mongodb_uri_secret_arn = var.mongodb_uri_secret_arn
  jwt_issuer             = module.auth.issuer
  jwt_audience           = [module.auth.client_id]
  cors_allowed_origins   = ["https://${var.app_hostname}"]
  hosted_zone_id         = var.hosted_zone_id
  origin_parent_domain   = "origin.${var.app_hostname}"
  alarm_topic_arn        = module.alarms.topic_arn
}

module "edge" {
  source = "../edge"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  name_prefix            = var.name_prefix
  hosted_zone_id         = var.hosted_zone_id
  app_hostname           = var.app_hostname
  api_origin_domain_name = module.vocab_api.origin_domain_name
  app_bucket_name        = local.app_bucket_name
  web_config_json        = jsonencode(local.web_config)
  us_east_1_kms_key_arn  = aws_kms_key.us_east_1.arn
  waf_log_retention_days = var.log_retention_days
}

# Ships the API's function logs and access log from this region.
module "shipper" {
  source = "../shipper"

  function_name                   = local.shipper_function_name
  kms_key_arn                     = aws_kms_key.main.arn
  artifact_dir                    = var.artifact_dir
  log_group_names                 = module.vocab_api.log_group_names
  use_account_subscription_policy = var.use_account_subscription_policy
  settings                        = var.shipper_settings
  reserved_concurrency            = var.shipper_reserved_concurrency
  log_retention_days              = var.log_retention_days
  opensearch                      = local.opensearch_target
  secret_replica_regions          = var.opensearch == null ? { "us-east-1" = aws_kms_key.us_east_1.arn } : {}
  alarm_topic_arn                 = module.alarms.topic_arn
}

# The same shipper in us-east-1, for the WAF log group: a CLOUDFRONT web ACL logs only to
# us-east-1, and a subscription filter can only invoke a Lambda in its log group's region. It
# reads the replica of the main secret and writes to the same cluster.
module "shipper_us_east_1" {
  source = "../shipper"
  providers = {
    aws = aws.us_east_1
  }

  function_name               = local.shipper_function_name
  kms_key_arn                 = aws_kms_key.us_east_1.arn
  artifact_dir                = var.artifact_dir
  log_group_names             = { waf = module.edge.waf_log_group_name }
  settings                    = var.shipper_settings
  reserved_concurrency        = var.shipper_us_east_1_reserved_concurrency
  log_retention_days          = var.log_retention_days
  opensearch                  = local.opensearch_target
  create_elasticsearch_secret = false
  elasticsearch_secret_arn    = lookup(module.shipper.elasticsearch_secret_replica_arns, "us-east-1", null)
  alarm_topic_arn             = module.alarms.topic_arn_us_east_1
}

module "opensearch" {
  source = "../opensearch"
  count  = var.opensearch == null ? 0 : 1

  name_prefix           = var.name_prefix
  kind                  = var.opensearch.kind
  writer_role_arns      = [module.shipper.role_arn, module.shipper_us_east_1.role_arn]
  reader_principal_arns = var.opensearch.reader_principal_arns
  kms_key_arn           = aws_kms_key.main.arn
}
