output "plan_role_arns" {
  description = "Workspace => role for TFC_AWS_PLAN_ROLE_ARN (read-only)."
  value       = { for k, v in local.phases : v.workspace => aws_iam_role.run[k].arn if v.phase == "plan" }
}

output "apply_role_arns" {
  description = "Workspace => role for TFC_AWS_APPLY_ROLE_ARN."
  value       = { for k, v in local.phases : v.workspace => aws_iam_role.run[k].arn if v.phase == "apply" }
}
