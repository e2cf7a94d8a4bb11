"""Makes a real CloudWatch Logs subscription payload with moto's server (an AWS emulator).

PutLogEvents → subscription filter → Firehose → S3; prints the S3 object (the gzipped
subscription payload, exactly as the emulator wrote it) as base64 on stdout.
Usage: python3 moto_subscription.py MOTO_URL LOG_GROUP MESSAGES_JSON
"""
import base64
import json
import sys
import time

import boto3

url, group, messages = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
kw = dict(endpoint_url=url, region_name="ap-northeast-2",
          aws_access_key_id="testing", aws_secret_access_key="testing")
logs, s3, firehose = (boto3.client(s, **kw) for s in ("logs", "s3", "firehose"))

bucket = "shipper-e2e-" + str(int(time.time() * 1000))
s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
stream = firehose.create_delivery_stream(
    DeliveryStreamName=bucket,
    ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::123456789012:role/firehose",
        "BucketARN": f"arn:aws:s3:::{bucket}",
    },
)["DeliveryStreamARN"]
logs.create_log_group(logGroupName=group)
logs.create_log_stream(logGroupName=group, logStreamName="2026/11/25/[$LATEST]e2e")
logs.put_subscription_filter(
    logGroupName=group, filterName="to-shipper", filterPattern="",
    destinationArn=stream, roleArn="arn:aws:iam::123456789012:role/cwl",
)
now = int(time.time() * 1000)
logs.put_log_events(
    logGroupName=group, logStreamName="2026/11/25/[$LATEST]e2e",
    logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)],
)
keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
if not keys:
    sys.exit("moto wrote no object to S3")
for k in keys:
    body = s3.get_object(Bucket=bucket, Key=k)["Body"].read()
    print(base64.b64encode(body).decode())
