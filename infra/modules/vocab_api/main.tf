data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  # One Lambda per API area. `binary` is the cargo-lambda binary of crate vocab-api
  # (target/lambda/<binary>/bootstrap.zip); `table_actions` is all that area's handlers do
  # on the table, so a bug in one area can't touch data through another's role.
  functions = {
    lists = {
      binary = "vocab-lists"
      # BatchWriteItem: deleting a list deletes its words in batches.
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem"]
    }
    words = {
      binary        = "vocab-words"
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"]
    }
    quiz = {
      binary        = "vocab-quiz"
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"]
    }
    me = {
      binary = "vocab-me"
      # Reads the profile with an UpdateItem (if_not_exists created_at) and counts lists by Query.
      table_actions = ["dynamodb:UpdateItem", "dynamodb:Query"]
    }
  }

  # Route key => API area. Every route needs a valid JWT; handlers read the user from `sub`.
  routes = {
    "POST /lists"                             = "lists"
    "GET /lists"                              = "lists"
    "GET /lists/{list_id}"                    = "lists"
    "PATCH /lists/{list_id}"                  = "lists"
    "DELETE /lists/{list_id}"                 = "lists"
    "POST /lists/{list_id}/words"             = "words"
    "GET /lists/{list_id}/words"              = "words"
    "PATCH /lists/{list_id}/words/{word_id}"  = "words"
    "DELETE /lists/{list_id}/words/{word_id}" = "words"
    "POST /lists/{list_id}/quizzes"           = "quiz"
    "POST /quizzes/{quiz_id}/answers"         = "quiz"
    "GET /quizzes/{quiz_id}"                  = "quiz"
    "GET /me"                                 = "me"
  }
}

# ---------------------------------------------------------------- table

resource "aws_dynamodb_table" "vocab" {
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) capacity scales by itself; auto scaling only applies to provisioned tables.
  name                        = var.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = true

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}

# ---------------------------------------------------------------- functions

# Terraform owns the functions' configuration; deploy-backend.yml owns their code. Until the
# first deploy (or when artifact_dir is null) the function runs this stub, which fails loudly.
data "archive_file" "placeholder" {
  type             = "zip"
  output_path      = "${path.module}/.build/placeholder.zip"
  output_file_mode = "0755"

  source {
    filename = "bootstrap"
    content  = "#!/bin/sh\necho 'placeholder: deploy the code with .github/workflows/deploy-backend.yml' >&2\nexit 1\n"
  }
}

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Lines are shipped to Elasticsearch (ILM keeps them there); CloudWatch only needs to bridge an Elasticsearch outage, a year would just cost money.
  for_each          = local.functions
  name              = "/aws/lambda/vocab-api-${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
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
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "vocab-api-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "Table"
    actions   = each.value.table_actions
    resources = [aws_dynamodb_table.vocab.arn]
  }

  statement {
    sid       = "TableKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${data.aws_region.current.name}.amazonaws.com"]
    }
  }

  statement {
    sid = "OwnLogs"
    # Only this function's own group; the group itself is created here, not by Lambda.
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid = "Tracing"
    # X-Ray's write actions have no resource-level permissions: "*" is the only valid resource.
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "function" {
  for_each = local.functions
  name     = "vocab-api-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Talks only to DynamoDB and CloudWatch over IAM-authenticated public endpoints; a VPC would add NAT cost and no protection.
  #checkov:skip=CKV_AWS_115:Load is bounded by the WAF per-IP rule and the stage throttle; reserving concurrency fails on accounts with the default low concurrency quota.
  #checkov:skip=CKV_AWS_272:Code is built and deployed by our own CI (OIDC role, update-function-code); no AWS Signer profile is set up.
  for_each      = local.functions
  function_name = "vocab-api-${each.key}"
  description   = "vocab API: ${each.key} routes (binary ${each.value.binary} of crate vocab-api)"
  role          = aws_iam_role.function[each.key].arn
  runtime       = "provided.al2023"
  architectures = ["arm64"]
  handler       = "bootstrap"
  memory_size   = var.memory_size
  timeout       = var.timeout_seconds
  kms_key_arn   = var.kms_key_arn

  filename         = var.artifact_dir == null ? data.archive_file.placeholder.output_path : "${var.artifact_dir}/${each.value.binary}/bootstrap.zip"
  source_code_hash = var.artifact_dir == null ? data.archive_file.placeholder.output_base64sha256 : filebase64sha256("${var.artifact_dir}/${each.value.binary}/bootstrap.zip")

  environment {
    variables = {
      VOCAB_TABLE = aws_dynamodb_table.vocab.name
      RUST_LOG    = "info"
    }
  }

  logging_config {
    # Text: the app writes its own ECS JSON lines (log_schema::EcsLayer) and the shipper parses
    # the platform lines in the plain format Lambda writes them.
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.function[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  lifecycle {
    # deploy-backend.yml updates the code; a later apply must not roll it back to the stub.
    ignore_changes = [filename, source_code_hash]
  }

  tags = var.tags
}

# ---------------------------------------------------------------- HTTP API

resource "aws_apigatewayv2_api" "vocab" {
  name          = "vocab-api"
  protocol_type = "HTTP"

  cors_configuration {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST", "PATCH", "DELETE", "OPTIONS"]
    allow_headers = ["authorization", "content-type"]
    max_age       = 3600
  }

  tags = var.tags
}

resource "aws_apigatewayv2_authorizer" "jwt" {
  api_id           = aws_apigatewayv2_api.vocab.id
  name             = "jwt"
  authorizer_type  = "JWT"
  identity_sources = ["$request.header.Authorization"]

  jwt_configuration {
    issuer   = var.jwt_issuer
    audience = var.jwt_audience
  }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each               = local.functions
  api_id                 = aws_apigatewayv2_api.vocab.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api[each.key].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "route" {
  for_each           = local.routes
  api_id             = aws_apigatewayv2_api.vocab.id
  route_key          = each.key
  target             = "integrations/${aws_apigatewayv2_integration.function[each.value].id}"
  authorization_type = "JWT"
  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id
}

resource "aws_cloudwatch_log_group" "access" {
  #checkov:skip=CKV_AWS_338:Access logs are for recent troubleshooting; the request lines that matter are in the functions' logs in Elasticsearch.
  name              = "/aws/apigateway/vocab-api/access"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.vocab.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    format = jsonencode({
      requestId        = "$context.requestId"
      ip               = "$context.identity.sourceIp"
      requestTime      = "$context.requestTime"
      routeKey         = "$context.routeKey"
      status           = "$context.status"
      responseLength   = "$context.responseLength"
      integrationError = "$context.integrationErrorMessage"
      authorizerError  = "$context.authorizer.error"
    })
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api_gateway" {
  for_each      = local.functions
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage/route of this API only.
  source_arn = "${aws_apigatewayv2_api.vocab.execution_arn}/*/*"
}
