terraform {
  required_version = ">= 1.6"

  # State and runs on HCP Terraform. A cloud block can't read variables, so the organization and
  # workspace come from the environment: TF_CLOUD_ORGANIZATION and TF_WORKSPACE (set as
  # repository variables for .github/workflows/terraform.yml, exported by hand locally).
  # To try the configuration without HCP Terraform, copy local_backend_override.tf.example to
  # local_backend_override.tf: a backend block in an override file replaces this cloud block.
  cloud {}

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = ">= 2.4"
    }
    random = {
      source  = "hashicorp/random"
      version = ">= 3.6"
    }
  }
}
