//! The shipper's integration tests: one binary (`tests/integration/main.rs`), one module per file beside it.
//!
//! "Emulator" below means a third-party program speaking the Elasticsearch / OpenSearch / AWS
//! API (noida-db, osmem-server, moto), never the real service; with `ELASTICSEARCH_URL` set,
//! the `emulators` tests also run against that real cluster.

// Test plumbing may panic on a broken environment: that *is* the test failing.
#![allow(clippy::unwrap_used)]

mod support; //     emulator processes, generated payloads, search helpers
mod bulk_server; // the project's own `_bulk` server, faithful to the ES docs, with fault injection
mod emulators; //   real batches shipped into noida-db and osmem-server (and ELASTICSEARCH_URL), read back
mod faults; //      429s, 400s, 503s, empty answers, dropped connections: nothing lost, nothing duplicated
mod exactly_once; // issue 10: rollovers, replays, re-drives, odd answers, out-of-range timestamps
mod streamed; //    issue 15: requests leave while the batch is built; nothing lost or doubled
mod follow; //      `shipper follow`: partial lines, checkpoint, truncation, rotation, back-pressure, stdin
mod moto_e2e; //    a payload made by moto (PutLogEvents → subscription → Firehose → S3), shipped
mod lambda; //      the Lambda handler: awslogs, Kinesis partial failures, control messages, bad payloads
mod cli; //         transform / ship: output, exit codes, one-line errors with file and position
mod inputs; //      Firehose (transformation Lambda, S3 objects), routing rules and redaction, end to end
mod setup; //       `shipper setup` on the emulators (and ELASTICSEARCH_URL) and a fake Kibana import API
mod proxy; //       HTTPS_PROXY / HTTP_PROXY / NO_PROXY through a real forward proxy (proxy.py)
mod sigv4; //       SigV4 for Amazon OpenSearch, checked by an independent verifier (botocore) in front of osmem-server
mod tls; //         HTTPS with a throwaway CA: ELASTICSEARCH_CA_CERT trusted, other CAs and bad files refused
