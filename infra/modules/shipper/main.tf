data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  region         = data.aws_region.current.region
  account_id     = data.aws_caller_identity.current.account_id
  parameter_path = "/${var.function_name}/settings"
  # The shipper's own group is never shipped: its lines would trigger the shipper again, forever.
  own_log_group = "/aws/lambda/${var.function_name}"

  # Where the credentials come from: a secret this module creates (the default), an existing
  # one (the us-east-1 copy reads the main secret's replica), or none at all when the shipper
  # signs its requests to Amazon OpenSearch with its role (SigV4). Decided by inputs known at
  # plan time: the replica's ARN is not known before the main secret exists.
  create_secret = var.opensearch == null && var.create_elasticsearch_secret
  secret_arn    = var.opensearch != null ? null : (local.create_secret ? one(aws_secretsmanager_secret.elasticsearch[*].arn) : var.elasticsearch_secret_arn)

  # SigV4 settings of the transport (docs/CONTRACTS.md, "Amazon OpenSearch"): the region comes
  # from the endpoint's host name; dated indices, since OpenSearch has no Elasticsearch-style
  # data streams for these mappings.
  opensearch_settings = var.opensearch == null ? {} : {
    ELASTICSEARCH_URL     = "https://${var.opensearch.endpoint}"
    SHIPPER_AUTH          = "sigv4"
    SHIPPER_SIGV4_SERVICE = var.opensearch.service
    SHIPPER_TARGET        = "index"
  }
  settings = merge(var.settings, local.opensearch_settings)
}

# ---------------------------------------------------------------- credentials and settings

# The secret's value (JSON: url, cloud_id, api_key, username, password) is put with
# `aws secretsmanager put-secret-value` by an operator, so it is never in git or in Terraform state.
resource "aws_secretsmanager_secret" "elasticsearch" {
  #checkov:skip=CKV2_AWS_57:The API key is issued by Elasticsearch; rotating it needs a rotation Lambda that talks to the cluster, which we don't have yet. Rotate by creating a new key and putting it here.
  count                   = local.create_secret ? 1 : 0
  name                    = "${var.function_name}/elasticsearch"
  description             = "Elasticsearch credentials of the log shipper (JSON: url, cloud_id, api_key, username, password)."
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = 7

  # Copies kept in sync by Secrets Manager, for shipper copies in other regions (the WAF logs'
  # shipper in us-east-1): a function reads secrets through its own region's endpoint.
  dynamic "replica" {
    for_each = var.secret_replica_regions
    content {
      region     = replica.key
      kms_key_id = replica.value
    }
  }

  tags = var.tags
}

# Settings are copied into the function's environment at apply, not read at run time, on
# purpose: a published version freezes its environment, so the `live` alias moves code and
# settings together and a rollback restores both; and a burst of cold starts never waits on
# (or is throttled by) Parameter Store. The parameters show what runs; change `settings` and
# apply, then publish (deploy-backend.yml) to make it live. See README "Settings".
resource "aws_ssm_parameter" "setting" {
  #checkov:skip=CKV_AWS_337:Same reason as CKV2_AWS_34 below: non-secret settings.
  #checkov:skip=CKV2_AWS_34:These are non-secret settings (target mode, namespace, URLs of public endpoints); the credentials are in Secrets Manager.
  for_each    = local.settings
  name        = "${local.parameter_path}/${each.key}"
  description = "Shipper setting ${each.key} (docs/CONTRACTS.md)"
  type        = "String"
  value       = each.value
  tags        = var.tags
}

# ---------------------------------------------------------------- function

data "archive_file" "placeholder" {
  type             = "zip"
  output_path      = "${path.module}/.build/placeholder.zip"
  output_file_mode = "0755"

  source {
    filename = "bootstrap"
    content  = "#!/bin/sh\necho 'placeholder: deploy the code with .github/workflows/deploy-backend.yml' >&2\nexit 1\n"
  }
}

resource "aws_cloudwatch_log_group" "shipper" {
  #checkov:skip=CKV_AWS_338:The shipper's own lines are only for troubleshooting recent runs; its per-invocation health docs are in Elasticsearch.
  name              = local.own_log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_sqs_queue" "failures" {
  name                      = "${var.function_name}-failures"
  kms_master_key_id         = var.kms_key_arn
  message_retention_seconds = 1209600 # 14 days, the SQS maximum: time to fix the cluster and replay.
  tags                      = var.tags
}

data "aws_iam_policy_document" "assume_lambda" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "shipper" {
  # IAM is global: the region keeps the us-east-1 copy's role apart from the main one's.
  name               = "${var.function_name}-${local.region}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "shipper" {
  dynamic "statement" {
    for_each = local.secret_arn == null ? [] : [local.secret_arn]
    content {
      sid       = "ElasticsearchCredentials"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    # Amazon OpenSearch Service domain: the HTTP verbs the shipper uses (_bulk, templates, setup).
    for_each = var.opensearch != null && try(var.opensearch.service, "") == "es" ? [var.opensearch.resource_arn] : []
    content {
      sid       = "OpenSearchDomain"
      actions   = ["es:ESHttpGet", "es:ESHttpHead", "es:ESHttpPost", "es:ESHttpPut"]
      resources = ["${statement.value}/*"]
    }
  }

  dynamic "statement" {
    # OpenSearch Serverless: IAM lets the role call the collection's endpoint; what it may do
    # there is the collection's data access policy (module opensearch).
    for_each = var.opensearch != null && try(var.opensearch.service, "") == "aoss" ? [var.opensearch.resource_arn] : []
    content {
      sid       = "OpenSearchServerless"
      actions   = ["aoss:APIAccessAll"]
      resources = [statement.value]
    }
  }

  statement {
    sid = "OwnParameters"
    # Its own path only: the settings, and the SecureString that ELASTICSEARCH_SSM_PARAMETER may
    # point at instead of the secret (docs/CONTRACTS.md).
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = ["arn:aws:ssm:${local.region}:${local.account_id}:parameter/${var.function_name}/*"]
  }

  statement {
    sid = "Key"
    # Only through the services that hold data encrypted with it for this function.
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values = [
        "secretsmanager.${local.region}.amazonaws.com",
        "ssm.${local.region}.amazonaws.com",
        "sqs.${local.region}.amazonaws.com",
        "lambda.${local.region}.amazonaws.com",
      ]
    }
  }

  statement {
    sid = "OnFailureDestination"
    # Lambda sends failed async events to the destination with the function's role.
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failures.arn]
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.shipper.arn}:*"]
  }
}

resource "aws_iam_role_policy" "shipper" {
  name   = var.function_name
  role   = aws_iam_role.shipper.id
  policy = data.aws_iam_policy_document.shipper.json
}

resource "aws_lambda_function" "shipper" {
  #checkov:skip=CKV_AWS_116:Invoked asynchronously by CloudWatch Logs; failures go to the on-failure destination (aws_lambda_function_event_invoke_config), which keeps the error context a DLQ would drop.
  #checkov:skip=CKV_AWS_117:Sends to Elasticsearch over its public HTTPS endpoint (Elastic Cloud, or an OpenSearch domain with SigV4); a VPC would need a NAT gateway and protect nothing.
  #checkov:skip=CKV_AWS_272:Code is built by our own CI and deployed through the OIDC role (update-function-code, publish-version); no AWS Signer profile is set up.
  #checkov:skip=CKV_AWS_50:The shipper writes one health document per invocation to Elasticsearch and EMF metrics; X-Ray traces of CloudWatch Logs invocations add nothing.
  function_name = var.function_name
  description   = "Ships CloudWatch Logs subscription batches to Elasticsearch (binary shipper)"
  role          = aws_iam_role.shipper.arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  memory_size   = var.memory_size
  timeout       = var.timeout_seconds
  kms_key_arn   = var.kms_key_arn
  # A burst of logs may not take every execution slot of the account away from the API; past
  # this, CloudWatch Logs holds and retries the batches (AsyncEventAge shows the backlog).
  reserved_concurrent_executions = var.reserved_concurrency

  filename         = var.artifact_dir == null ? data.archive_file.placeholder.output_path : "${var.artifact_dir}/shipper/bootstrap.zip"
  source_code_hash = var.artifact_dir == null ? data.archive_file.placeholder.output_base64sha256 : filebase64sha256("${var.artifact_dir}/shipper/bootstrap.zip")

  environment {
    # Settings come from their SSM parameters, so Parameter Store shows exactly what runs.
    variables = merge(
      { for name, parameter in aws_ssm_parameter.setting : name => parameter.value },
      local.secret_arn == null ? {} : { ELASTICSEARCH_SECRET_ARN = local.secret_arn },
    )
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.shipper.name
  }

  lifecycle {
    ignore_changes = [filename, source_code_hash]
  }

  tags = var.tags
}

# Subscriptions invoke the `live` alias: a deploy publishes a version and moves the alias,
# a rollback moves it back (deploy-backend.yml). Terraform only creates it, at $LATEST.
resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version CloudWatch Logs invokes; moved by deploy-backend.yml"
  function_name    = aws_lambda_function.shipper.function_name
  function_version = "$LATEST"

  lifecycle {
    ignore_changes = [function_version]
  }
}

resource "aws_lambda_function_event_invoke_config" "shipper" {
  function_name                = aws_lambda_function.shipper.function_name
  qualifier                    = aws_lambda_alias.live.name
  maximum_retry_attempts       = var.maximum_retry_attempts
  maximum_event_age_in_seconds = var.maximum_event_age_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.failures.arn
    }
  }

  depends_on = [aws_iam_role_policy.shipper]
}

# ---------------------------------------------------------------- subscriptions

resource "aws_lambda_permission" "logs" {
  for_each      = var.use_account_subscription_policy ? tomap({}) : var.log_group_names
  statement_id  = "AllowLogs-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.shipper.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "logs.amazonaws.com"
  source_arn    = "arn:aws:logs:${local.region}:${local.account_id}:log-group:${each.value}:*"
}

resource "aws_cloudwatch_log_subscription_filter" "ship" {
  for_each        = var.use_account_subscription_policy ? tomap({}) : var.log_group_names
  name            = "to-${var.function_name}"
  log_group_name  = each.value
  filter_pattern  = var.filter_pattern
  destination_arn = aws_lambda_alias.live.arn

  depends_on = [aws_lambda_permission.logs]
}

resource "aws_lambda_permission" "logs_account" {
  count          = var.use_account_subscription_policy ? 1 : 0
  statement_id   = "AllowLogsAccountPolicy"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.shipper.function_name
  qualifier      = aws_lambda_alias.live.name
  principal      = "logs.amazonaws.com"
  source_arn     = "arn:aws:logs:${local.region}:${local.account_id}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_account_policy" "ship" {
  count       = var.use_account_subscription_policy ? 1 : 0
  policy_name = "to-${var.function_name}"
  policy_type = "SUBSCRIPTION_FILTER_POLICY"
  policy_document = jsonencode({
    DestinationArn = aws_lambda_alias.live.arn
    FilterPattern  = var.filter_pattern
  })
  # Excluding its own group is what stops the shipper from shipping (and triggering) itself.
  selection_criteria = "LogGroupName NOT IN [\"${local.own_log_group}\"]"

  depends_on = [aws_lambda_permission.logs_account]
}
