provider "aws" {
  region = var.aws_region

  default_tags {
    tags = local.tags
  }
}

# CloudFront only uses WAF web ACLs and ACM certificates from us-east-1, and the WAF metrics
# (hence their alarm) live there too.
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
