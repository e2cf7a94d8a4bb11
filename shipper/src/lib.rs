//! CloudWatch Logs → Elasticsearch, losslessly.
//!
//! The modules below are the data path, in order. Everything up to `retry` is plain functions
//! over bytes and structs; `service` is the only module that talks HTTP.

pub mod config; //         settings from the environment, validated once at start
pub mod json; //           one-pass JSON reading (strings unescaped as scanned), used by the next two
pub mod decode; //         awslogs payload → base64 → gzip/zlib → LogsData
pub mod parse; //          one message → JSON fields, Lambda platform line, access log, WAF record, or text
pub mod route; //          log group/stream globs → dataset, namespace, index, pipeline, labels, filters, drop
pub mod redact; //         e-mail, IP, custom patterns and secret-looking keys masked before anything leaves
pub mod target; //         log group → data stream / dated index name
pub mod document; //       event + parse → ECS document and its idempotent _id; per-batch routing/filter/redact
pub mod request_builder; // documents → _bulk NDJSON bodies, split by bytes and count, gzipped
pub mod response; //       _bulk response → one outcome per item
pub mod retry; //          which items to resend, backoff with jitter inside the deadline
pub mod rollover; //       which re-delivered events a rollover could let in twice, and the cache that says
pub mod sigv4; //          SigV4 request signing for Amazon OpenSearch (es) and Serverless (aoss)
pub mod service; //        BulkClient and EsClient::send: the one place that talks HTTP (reqwest)
pub mod lookup; //         IdLookup over EsClient::send: write-index creation time, which ids exist
pub mod rotation; //       a 401 reads the secret again once (rotation) before it counts
pub mod dead_letter; //    refused events and undecodable payloads → dead-letter stream
pub mod deliver; //        the loop: send, classify, retry only the failed, dead-letter the rest
pub mod metrics; //        one EMF line + health document per invocation
pub mod handler; //        Lambda events (awslogs, Kinesis, Firehose) → deliver
pub mod aws_api; //        Secrets Manager GetSecretValue and SSM GetParameter: signed AWS JSON 1.1 over reqwest
pub mod secrets; //        credentials from Secrets Manager / SSM Parameter Store
pub mod cli; //            transform / ship / setup / follow
pub mod follow; //         follow: lines → batches, cancel-safe reads, checkpoint, rotation, back-pressure
pub mod setup; //          index templates, ILM, Kibana saved objects
#[doc(hidden)]
pub mod fuzzing; //        what the fuzz targets check, and the replay of what they found
