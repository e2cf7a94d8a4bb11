provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# CloudFront only uses WAF web ACLs and ACM certificates from us-east-1; the WAF's metrics and
# logs live there too, and so do the WAF logs' shipper and its alarms.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  default_tags {
    tags = local.tags
  }
}

# AWS Chatbot's API is served from us-east-2 only (it is a global service); the channel
# configuration is created through this provider.
provider "aws" {
  alias  = "chatbot"
  region = "us-east-2"

  default_tags {
    tags = local.tags
  }
}
