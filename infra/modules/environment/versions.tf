terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
      # us_east_1: CloudFront's certificate and WAF, the WAF logs and their shipper, and their
      # alarms. chatbot: AWS Chatbot's API is served from us-east-2 only.
      configuration_aliases = [aws.us_east_1, aws.chatbot]
    }
  }
}
