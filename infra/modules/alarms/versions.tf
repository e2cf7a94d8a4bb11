terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 7.0"
      # Metrics of a CLOUDFRONT-scope web ACL exist only in us-east-1, so its alarm (and topic) live there.
      configuration_aliases = [aws.us_east_1]
    }
  }
}
