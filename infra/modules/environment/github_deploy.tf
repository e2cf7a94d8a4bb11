# The roles the GitHub workflows assume through GitHub's OIDC provider: no long-lived AWS keys
# in GitHub. Each role can do exactly what its workflow does, and only from jobs that run in
# this environment's GitHub environment (whose deployment branch rule admits main only).

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_github_oidc_provider ? 1 : 0
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1
  url   = "https://token.actions.githubusercontent.com"
}

locals {
  github_oidc_provider_arn = var.create_github_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn

  # Unqualified ARNs, and ARN:* for their versions and aliases.
  deployed_function_arns = concat(
    values(module.vocab_api.function_arns),
    [module.shipper.function_arn, module.shipper_us_east_1.function_arn],
  )
}

data "aws_iam_policy_document" "deploy_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.github_oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

# ---------------------------------------------------------------- deploy-backend.yml

resource "aws_iam_role" "deploy_backend" {
  name                 = "${var.name_prefix}-deploy-backend"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy_backend" {
  statement {
    sid = "ReplaceCodePublishMoveAlias"
    # Deploy: update-function-code, publish-version, update-alias live. Rollback: get the old
    # version's code back into $LATEST and move the alias.
    actions = [
      "lambda:UpdateFunctionCode",
      "lambda:PublishVersion",
      "lambda:GetFunction",
      "lambda:GetFunctionConfiguration",
      "lambda:ListVersionsByFunction",
      "lambda:GetAlias",
      "lambda:UpdateAlias",
    ]
    resources = concat(local.deployed_function_arns, [for arn in local.deployed_function_arns : "${arn}:*"])
  }
}

resource "aws_iam_role_policy" "deploy_backend" {
  name   = "deploy-lambda-code"
  role   = aws_iam_role.deploy_backend.id
  policy = data.aws_iam_policy_document.deploy_backend.json
}

# ---------------------------------------------------------------- deploy-frontend.yml

resource "aws_iam_role" "deploy_frontend" {
  name                 = "${var.name_prefix}-deploy-frontend"
  assume_role_policy   = data.aws_iam_policy_document.deploy_trust.json
  max_session_duration = 3600
}

data "aws_iam_policy_document" "deploy_frontend" {
  statement {
    sid       = "ListTheBucket"
    actions   = ["s3:ListBucket"]
    resources = [module.edge.app_bucket_arn]
  }

  statement {
    sid       = "UploadAndPruneTheBuild"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.edge.app_bucket_arn}/*"]
  }

  statement {
    sid = "ConfigIsTerraformsOnly"
    # /config.json is written by Terraform from its outputs; a build must never replace it.
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:DeleteObject"]
    resources = ["${module.edge.app_bucket_arn}/config.json"]
  }

  statement {
    sid       = "InvalidateTheDistribution"
    actions   = ["cloudfront:CreateInvalidation", "cloudfront:GetInvalidation"]
    resources = [module.edge.app_distribution_arn]
  }
}

resource "aws_iam_role_policy" "deploy_frontend" {
  name   = "deploy-web-app"
  role   = aws_iam_role.deploy_frontend.id
  policy = data.aws_iam_policy_document.deploy_frontend.json
}
