terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 6.0, < 7.0"
      # us_east_1: metrics of a CLOUDFRONT-scope web ACL exist only there, so its alarm (and
      # topic) live there. chatbot: AWS Chatbot is a global service whose API is served from
      # us-east-2 (there is no chatbot endpoint in most regions, us-east-1 included).
      configuration_aliases = [aws.us_east_1, aws.chatbot]
    }
  }
}
