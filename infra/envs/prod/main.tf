data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  tags = {
    project     = "vocab"
    environment = var.environment
    managed_by  = "terraform"
  }
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
}

# ---------------------------------------------------------------- encryption key

# One customer managed key for the data of this environment (table, secret, queue, log groups,
# function environments). IAM policies grant its use per role; CloudWatch Logs needs the key
# policy itself.
data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_109:Key policy: "*" resource means this key only; the account root statement is what lets IAM policies grant use of the key.
  #checkov:skip=CKV_AWS_111:Key policy: "*" resource means this key only.
  #checkov:skip=CKV_AWS_356:Key policy: "*" resource means this key only.
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
      identifiers = ["logs.${local.region}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:aws:logs:${local.region}:${local.account_id}:log-group:*"]
    }
  }
}

resource "aws_kms_key" "main" {
  description         = "vocab ${var.environment}: table, secrets, queues, logs"
  enable_key_rotation = true
  policy              = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/vocab-${var.environment}"
  target_key_id = aws_kms_key.main.key_id
}

# ---------------------------------------------------------------- modules

module "vocab_api" {
  source = "../../modules/vocab_api"

  kms_key_arn          = aws_kms_key.main.arn
  artifact_dir         = var.artifact_dir
  log_retention_days   = var.log_retention_days
  jwt_issuer           = var.jwt_issuer
  jwt_audience         = var.jwt_audience
  cors_allowed_origins = ["https://${var.app_hostname}"]
}

module "shipper" {
  source = "../../modules/shipper"

  kms_key_arn                     = aws_kms_key.main.arn
  artifact_dir                    = var.artifact_dir
  log_group_names                 = module.vocab_api.log_group_names
  use_account_subscription_policy = var.use_account_subscription_policy
  settings                        = var.shipper_settings
  log_retention_days              = var.log_retention_days
}

module "edge" {
  source = "../../modules/edge"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
  }

  hosted_zone_id      = var.hosted_zone_id
  app_hostname        = var.app_hostname
  api_hostname        = var.api_hostname
  api_origin_endpoint = module.vocab_api.api_endpoint
  app_bucket_name     = var.app_bucket_name
}

module "alarms" {
  source = "../../modules/alarms"
  providers = {
    aws           = aws
    aws.us_east_1 = aws.us_east_1
    aws.chatbot   = aws.chatbot
  }

  slack_team_id              = var.slack_team_id
  slack_channel_id           = var.slack_channel_id
  monthly_budget_usd         = var.monthly_budget_usd
  web_acl_name               = module.edge.web_acl_name
  waf_rate_rule_name         = module.edge.rate_rule_name
  shipper_function_name      = module.shipper.function_name
  shipper_failure_queue_name = module.shipper.failure_queue_name
}
