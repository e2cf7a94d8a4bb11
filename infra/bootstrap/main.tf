# Run once per AWS account, with administrator credentials, before the environments: the roles
# HCP Terraform assumes (dynamic provider credentials) for the environments' workspaces. A plan
# (every pull request's included) runs with a read-only role; only an apply gets the role that
# can change the account. Kept apart from the environments: a run must not be able to edit the
# role it runs with.

data "aws_caller_identity" "current" {}

locals {
  hostname = "app.terraform.io"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.hcp_terraform[0].arn : (
    "arn:aws:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.hostname}"
  )
  # HCP Terraform's token subject: organization:<o>:project:<p>:workspace:<w>:run_phase:<plan|apply>
  phases = { for pair in setproduct(var.workspaces, ["plan", "apply"]) : "${pair[0]}-${pair[1]}" => { workspace = pair[0], phase = pair[1] } }
}

resource "aws_iam_openid_connect_provider" "hcp_terraform" {
  count          = var.create_oidc_provider ? 1 : 0
  url            = "https://${local.hostname}"
  client_id_list = ["aws.workload.identity"]
}

data "aws_iam_policy_document" "trust" {
  for_each = local.phases

  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.hostname}:aud"
      values   = ["aws.workload.identity"]
    }

    condition {
      test     = "StringLike"
      variable = "${local.hostname}:sub"
      values   = ["organization:${var.organization}:project:${var.project}:workspace:${each.value.workspace}:run_phase:${each.value.phase}"]
    }
  }
}

resource "aws_iam_role" "run" {
  for_each             = local.phases
  name                 = "hcp-terraform-${each.key}"
  description          = "HCP Terraform ${each.value.phase} runs of workspace ${each.value.workspace}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
}

# Plans read everything (ReadOnlyAccess) and the one secret value Terraform reads at plan: the
# Google client secret that Cognito's identity provider needs.
resource "aws_iam_role_policy_attachment" "plan_read_only" {
  for_each   = { for k, v in local.phases : k => v if v.phase == "plan" }
  role       = aws_iam_role.run[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

data "aws_iam_policy_document" "plan_secrets" {
  statement {
    sid       = "GoogleClientSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = var.plan_readable_secret_arns
  }
}

resource "aws_iam_role_policy" "plan_secrets" {
  for_each = { for k, v in local.phases : k => v if v.phase == "plan" && length(var.plan_readable_secret_arns) > 0 }
  name     = "read-secrets-terraform-reads"
  role     = aws_iam_role.run[each.key].id
  policy   = data.aws_iam_policy_document.plan_secrets.json
}

# Applies create roles, keys, policies and everything else of an environment.
resource "aws_iam_role_policy_attachment" "apply_admin" {
  #checkov:skip=CKV_AWS_274:The apply role creates IAM roles, KMS keys and policies for every service of an environment; only HCP Terraform applies of the named workspaces can assume it (run_phase:apply), and plans get a read-only role.
  for_each   = { for k, v in local.phases : k => v if v.phase == "apply" }
  role       = aws_iam_role.run[each.key].name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}
