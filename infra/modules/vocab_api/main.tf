data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  api_name   = "${var.name_prefix}-api"

  # One Lambda per API area. `binary` is the cargo-lambda binary of crate vocab-api
  # (target/lambda/<binary>/bootstrap.zip); `table_actions` is all that area's handlers do
  # on the table, so a bug in one area can't touch data through another's role.
  # ConditionCheckItem: transactions that check the list still exists (a delete wins over a
  # concurrent add); TransactWriteItems has no IAM action of its own, only its parts do.
  functions = {
    lists = {
      binary = "vocab-lists"
      # BatchWriteItem: deleting lists deletes their words in batches.
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:ConditionCheckItem"]
    }
    words = {
      binary = "vocab-words"
      # BatchGetItem + Query on the review index: the review list reads just the words it shows.
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query", "dynamodb:BatchWriteItem", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"]
    }
    quiz = {
      binary = "vocab-quiz"
      # UpdateItem: a wrong answer puts the word in the list's notebook. BatchGetItem: a new
      # quiz reads only its chosen words.
      table_actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchGetItem", "dynamodb:ConditionCheckItem"]
    }
    me = {
      binary = "vocab-me"
      # Reads the profile with an UpdateItem (if_not_exists created_at) and counts lists by
      # Query; POST /client-events only writes log lines.
      table_actions = ["dynamodb:UpdateItem", "dynamodb:Query"]
    }
  }

  # Route key => API area: exactly the routes of vocab-api's router (infra/tests checks both
  # ways). Every route needs a valid JWT; handlers read the user from `sub`.
  routes = {
    "POST /lists"                                = "lists"
    "GET /lists"                                 = "lists"
    "POST /lists/batch-delete"                   = "lists"
    "GET /lists/{list_id}"                       = "lists"
    "PATCH /lists/{list_id}"                     = "lists"
    "DELETE /lists/{list_id}"                    = "lists"
    "GET /notebooks"                             = "lists"
    "POST /lists/{list_id}/words"                = "words"
    "GET /lists/{list_id}/words"                 = "words"
    "POST /lists/{list_id}/words/batch-delete"   = "words"
    "PATCH /lists/{list_id}/words/{word_id}"     = "words"
    "DELETE /lists/{list_id}/words/{word_id}"    = "words"
    "GET /lists/{list_id}/review"                = "words"
    "GET /lists/{list_id}/notebook"              = "words"
    "PUT /lists/{list_id}/notebook/{word_id}"    = "words"
    "DELETE /lists/{list_id}/notebook/{word_id}" = "words"
    "POST /lists/{list_id}/quizzes"              = "quiz"
    "POST /quizzes/{quiz_id}/answers"            = "quiz"
    "GET /me"                                    = "me"
    "POST /client-events"                        = "me"
  }

  # The store the functions use (VOCAB_STORE); MongoDB's URI is read from its secret at start.
  store_environment = merge(
    { VOCAB_STORE = var.store, VOCAB_TABLE = aws_dynamodb_table.vocab.name },
    var.store == "mongodb" ? { MONGODB_URI_SECRET_ARN = var.mongodb_uri_secret_arn } : {},
  )

  # Exactly the JSON object of docs/CONTRACTS.md section B, one per request.
  access_log_format = jsonencode({
    requestId            = "$context.requestId"
    ip                   = "$context.identity.sourceIp"
    userAgent            = "$context.identity.userAgent"
    requestTimeEpoch     = "$context.requestTimeEpoch"
    httpMethod           = "$context.httpMethod"
    routeKey             = "$context.routeKey"
    path                 = "$context.path"
    protocol             = "$context.protocol"
    status               = "$context.status"
    responseLength       = "$context.responseLength"
    responseLatency      = "$context.responseLatency"
    integrationStatus    = "$context.integrationStatus"
    integrationLatency   = "$context.integrationLatency"
    integrationRequestId = "$context.integration.requestId"
    integrationError     = "$context.integrationErrorMessage"
    authorizerError      = "$context.authorizer.error"
    errorMessage         = "$context.error.message"
    errorResponseType    = "$context.error.responseType"
    domainName           = "$context.domainName"
    stage                = "$context.stage"
    apiId                = "$context.apiId"
  })
}

# ---------------------------------------------------------------- table

resource "aws_dynamodb_table" "vocab" {
  #checkov:skip=CKV2_AWS_16:On-demand (PAY_PER_REQUEST) capacity scales by itself; auto scaling only applies to provisioned tables.
  name                        = var.name_prefix
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

  attribute {
    name = "review_pk"
    type = "S"
  }

  attribute {
    name = "review_score"
    type = "N"
  }

  # The review list (GET /lists/{list_id}/review): sparse, only words answered wrong carry
  # review_pk (the list and the user); review_score orders them most missed first. Keys only:
  # the API reads the words it shows by key (vocab-api/src/dynamo.rs, create_table).
  global_secondary_index {
    name            = "review"
    hash_key        = "review_pk"
    range_key       = "review_score"
    projection_type = "KEYS_ONLY"
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

# Terraform owns the functions' configuration; deploy-backend.yml owns their code and which
# version the `live` alias points at. Until the first deploy (or when artifact_dir is null) the
# function runs this stub, which fails loudly.
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
  name              = "/aws/lambda/${var.name_prefix}-api-${each.key}"
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
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each           = local.functions
  name               = "${var.name_prefix}-api-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.assume_lambda.json
  tags               = var.tags
}

data "aws_iam_policy_document" "function" {
  for_each = local.functions

  statement {
    sid       = "Table"
    actions   = each.value.table_actions
    resources = [aws_dynamodb_table.vocab.arn, "${aws_dynamodb_table.vocab.arn}/index/review"]
  }

  statement {
    sid       = "TableKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["dynamodb.${local.region}.amazonaws.com", "secretsmanager.${local.region}.amazonaws.com"]
    }
  }

  dynamic "statement" {
    # The MongoDB connection string (with its password) lives in Secrets Manager, never in the
    # function's environment or in Terraform.
    for_each = var.store == "mongodb" ? [var.mongodb_uri_secret_arn] : []
    content {
      sid       = "MongoUri"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
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
  name     = "${var.name_prefix}-api-${each.key}"
  role     = aws_iam_role.function[each.key].id
  policy   = data.aws_iam_policy_document.function[each.key].json
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_117:Talks only to DynamoDB (or MongoDB Atlas) and CloudWatch over authenticated public endpoints; a VPC would add NAT cost and no protection.
  #checkov:skip=CKV_AWS_115:Load is bounded by the WAF per-IP rule and the stage throttle; reserving concurrency for the API would take it from the account pool the shipper's reservation already carves.
  #checkov:skip=CKV_AWS_272:Code is built by our own CI and deployed through the OIDC role (update-function-code, publish-version); no AWS Signer profile is set up.
  for_each      = local.functions
  function_name = "${var.name_prefix}-api-${each.key}"
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
    variables = merge(local.store_environment, { RUST_LOG = "info" })
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

# API Gateway invokes the `live` alias, never $LATEST: a deploy publishes a version and moves
# the alias to it, and undoing a bad deploy is moving the alias back (deploy-backend.yml,
# rollback). It starts at $LATEST (the stub); Terraform never moves it afterwards.
resource "aws_lambda_alias" "live" {
  for_each         = local.functions
  name             = "live"
  description      = "The version API Gateway invokes; moved by deploy-backend.yml"
  function_name    = aws_lambda_function.api[each.key].function_name
  function_version = "$LATEST"

  lifecycle {
    ignore_changes = [function_version]
  }
}

# ---------------------------------------------------------------- HTTP API

resource "aws_apigatewayv2_api" "vocab" {
  name          = local.api_name
  protocol_type = "HTTP"
  # The execute-api URL would let anyone skip CloudFront and its WAF (the per-IP rate rule):
  # the API answers only at its custom domain below, CloudFront's origin.
  disable_execute_api_endpoint = true

  cors_configuration {
    allow_origins = var.cors_allowed_origins
    allow_methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
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
  integration_uri        = aws_lambda_alias.live[each.key].invoke_arn
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
  #checkov:skip=CKV_AWS_338:Access logs are shipped to Elasticsearch like the functions' lines; CloudWatch only bridges an outage.
  name              = "/aws/apigateway/${local.api_name}/access"
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
    format          = local.access_log_format
  }

  tags = var.tags
}

resource "aws_lambda_permission" "api_gateway" {
  for_each      = local.functions
  statement_id  = "AllowHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api[each.key].function_name
  qualifier     = aws_lambda_alias.live[each.key].name
  principal     = "apigateway.amazonaws.com"
  # Any stage/route of this API only.
  source_arn = "${aws_apigatewayv2_api.vocab.execution_arn}/*/*"
}

# ---------------------------------------------------------------- origin domain

# With the execute-api endpoint disabled, the API is reached at this regional custom domain,
# CloudFront's origin. Its name is a random label under a wildcard certificate, so it is in no
# certificate transparency log and CloudFront is the only published way in.
resource "random_id" "origin_label" {
  byte_length = 12
}

locals {
  origin_domain_name = "${random_id.origin_label.hex}.${var.origin_parent_domain}"
}

resource "aws_acm_certificate" "origin" {
  domain_name       = "*.${var.origin_parent_domain}"
  validation_method = "DNS"

  lifecycle {
    create_before_destroy = true
  }

  tags = var.tags
}

resource "aws_route53_record" "origin_validation" {
  for_each = {
    for option in aws_acm_certificate.origin.domain_validation_options : option.domain_name => option
  }

  zone_id         = var.hosted_zone_id
  name            = each.value.resource_record_name
  type            = each.value.resource_record_type
  records         = [each.value.resource_record_value]
  ttl             = 300
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "origin" {
  certificate_arn         = aws_acm_certificate.origin.arn
  validation_record_fqdns = [for record in aws_route53_record.origin_validation : record.fqdn]
}

resource "aws_apigatewayv2_domain_name" "origin" {
  domain_name = local.origin_domain_name

  domain_name_configuration {
    certificate_arn = aws_acm_certificate_validation.origin.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  tags = var.tags
}

resource "aws_apigatewayv2_api_mapping" "origin" {
  api_id      = aws_apigatewayv2_api.vocab.id
  domain_name = aws_apigatewayv2_domain_name.origin.id
  stage       = aws_apigatewayv2_stage.default.id
}

resource "aws_route53_record" "origin" {
  zone_id = var.hosted_zone_id
  name    = local.origin_domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.origin.domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.origin.domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
