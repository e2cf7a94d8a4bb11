//! Documents → `_bulk` request bodies: split by bytes and by count, optionally gzipped.
//!
//! Body format: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//! (an action line, a source line, each ending in `\n`, the body ending in `\n`). The op is
//! always `create`: data streams accept only `create`, and for dated indices it makes a
//! re-delivered event a 409 instead of a second copy.

use std::io::Write;

use bytes::Bytes;

use crate::document::{Document, json_str};

/// Bulk splitting limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Uncompressed body bytes per request. Elasticsearch's `http.max_content_length` is
    /// 100 MB by default, but small Amazon OpenSearch domains take 10 MiB.
    pub max_bytes: usize,
    /// Actions per request.
    pub max_docs: usize,
    /// Actions in the first request of a streamed delivery ([`crate::deliver::deliver_streamed`]);
    /// each next one doubles, up to `max_docs`. Small: it leaves as soon as it is built.
    pub first_docs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 10 * 1024 * 1024,
            max_docs: 5_000,
            first_docs: 500,
        }
    }
}

/// `filter_path` keeps a 5,000-item response to the few bytes the shipper reads: each item's
/// status, error, the backing index it went to (which shows a rollover the moment it
/// happens, see [`crate::rollover`]) and whether the failure store kept it.
pub const FILTER_PATH: &str = "errors,items.*.status,items.*.error.type,items.*.error.reason,items.*._index,items.*.failure_store";

/// One `_bulk` request: which documents it carries (indices into the caller's slice) and
/// its body.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub items: Vec<usize>,
    /// Cheap to clone: a retry resends the same bytes without copying them.
    pub body: Bytes,
    /// Body length before compression (what the splitter limits).
    pub uncompressed_len: usize,
    pub gzip: bool,
}

/// The action and source lines of one document.
pub fn write_item(out: &mut Vec<u8>, doc: &Document) {
    out.extend_from_slice(br#"{"create":{"_index":"#);
    // Index names and ids are plain ASCII in practice, but an id is input data: escape it
    // (as serde_json does, 8 clean bytes at a step: serde_json's writer cost ~500
    // instructions per action here, callgrind).
    json_str(out, &doc.index);
    out.extend_from_slice(br#","_id":"#);
    json_str(out, &doc.id);
    if let Some(p) = &doc.pipeline {
        // A routing rule's ingest pipeline, per action (`pipeline` in the bulk action's
        // metadata, as the bulk API documents it).
        out.extend_from_slice(br#","pipeline":"#);
        json_str(out, p);
    }
    out.extend_from_slice(b"}}\n");
    out.extend_from_slice(&doc.source);
    out.push(b'\n');
}

/// The bytes [`write_item`] writes for `doc`, without writing them.
pub fn item_len(doc: &Document) -> usize {
    // {"create":{"_index":"…","_id":"…"}}\n + source + \n ; ids/indices rarely need escapes,
    // and over-estimating by their escapes is harmless for a limit.
    35 + doc.index.len()
        + doc.id.len()
        + doc.source.len()
        + doc.pipeline.as_ref().map_or(0, |p| 14 + p.len())
}

/// Splits `pending` (indices into `docs`) into chunks within `limits`. A single document over
/// the byte limit travels alone: the server decides (413 → dead letter), not the splitter.
pub fn split(docs: &[Document], pending: &[usize], limits: Limits) -> Vec<Vec<usize>> {
    let mut chunks = Vec::new();
    let mut cur = Vec::new();
    let mut cur_bytes = 0usize;
    for &i in pending {
        let n = item_len(&docs[i]);
        if !cur.is_empty()
            && (cur_bytes + n > limits.max_bytes || cur.len() >= limits.max_docs.max(1))
        {
            chunks.push(std::mem::take(&mut cur));
            cur_bytes = 0;
        }
        cur.push(i);
        cur_bytes += n;
    }
    if !cur.is_empty() {
        chunks.push(cur);
    }
    chunks
}

/// Encodes one chunk as a request body.
pub fn encode(docs: &[Document], items: Vec<usize>, gzip: bool) -> BulkRequest {
    let cap: usize = items.iter().map(|&i| item_len(&docs[i])).sum();
    if gzip {
        // Items are compressed as they are written: no uncompressed copy of a 10 MiB body is
        // ever held (peak memory is what sizes the Lambda). Level 1: on log text it gets
        // ~90% of level 6's ratio at a fraction of the CPU, and CPU is what a Lambda pays for.
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(cap / 6 + 64),
            flate2::Compression::fast(),
        );
        let mut staging = Vec::with_capacity(64 * 1024);
        let mut uncompressed_len = 0;
        let mut ok = true;
        for &i in &items {
            write_item(&mut staging, &docs[i]);
            if staging.len() >= 32 * 1024 {
                uncompressed_len += staging.len();
                ok &= enc.write_all(&staging).is_ok();
                staging.clear();
            }
        }
        uncompressed_len += staging.len();
        ok &= enc.write_all(&staging).is_ok();
        if ok && let Ok(z) = enc.finish() {
            return BulkRequest {
                items,
                body: z.into(),
                uncompressed_len,
                gzip: true,
            };
        }
    }
    let mut body = Vec::with_capacity(cap);
    for &i in &items {
        write_item(&mut body, &docs[i]);
    }
    BulkRequest {
        uncompressed_len: body.len(),
        items,
        body: body.into(),
        gzip: false,
    }
}

/// A body of `delete` actions for `(index, id)` pairs: removes the extra copies a rollover let
/// in (a delete must name the backing index, not the data stream). `items` are positions in
/// `targets`.
pub fn encode_deletes(targets: &[(String, String)]) -> BulkRequest {
    let mut body = Vec::with_capacity(targets.len() * 96);
    for (index, id) in targets {
        body.extend_from_slice(br#"{"delete":{"_index":"#);
        serde_json::to_writer(&mut body, index).unwrap_or_default();
        body.extend_from_slice(br#","_id":"#);
        serde_json::to_writer(&mut body, id).unwrap_or_default();
        body.extend_from_slice(b"}}\n");
    }
    BulkRequest {
        items: (0..targets.len()).collect(),
        uncompressed_len: body.len(),
        body: body.into(),
        gzip: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn doc(id: usize, size: usize) -> Document {
        Document {
            id: id.to_string(),
            index: "logs-x-default".into(),
            source: vec![b'a'; size],
            timestamp_ms: 0,
            pipeline: None,
        }
    }

    #[test]
    fn body_is_create_action_then_source_each_line_newline_terminated() {
        let mut d = doc(1, 0);
        d.source = br#"{"message":"hi"}"#.to_vec();
        d.id = "a\"b".into();
        let req = encode(&[d], vec![0], false);
        assert_eq!(
            String::from_utf8(req.body.to_vec()).unwrap(),
            "{\"create\":{\"_index\":\"logs-x-default\",\"_id\":\"a\\\"b\"}}\n{\"message\":\"hi\"}\n"
        );
    }

    #[test]
    fn deletes_name_the_backing_index_and_the_id_and_have_no_source_line() {
        let req = encode_deletes(&[(".ds-logs-x-default-2026.11.25-000002".into(), "e\"1".into())]);
        assert_eq!(
            String::from_utf8(req.body.to_vec()).unwrap(),
            "{\"delete\":{\"_index\":\".ds-logs-x-default-2026.11.25-000002\",\"_id\":\"e\\\"1\"}}\n"
        );
        assert_eq!(req.items, vec![0]);
    }

    #[test]
    fn gzipped_body_inflates_to_the_plain_body() {
        let docs: Vec<_> = (0..50).map(|i| doc(i, 100)).collect();
        let plain = encode(&docs, (0..50).collect(), false);
        let z = encode(&docs, (0..50).collect(), true);
        assert!(z.gzip && z.body.len() < plain.body.len());
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z.body[..]), &mut out)
            .unwrap();
        assert_eq!(out, plain.body);
        assert_eq!(z.uncompressed_len, plain.body.len());
    }

    #[test]
    fn an_oversized_document_travels_alone() {
        let docs = vec![doc(0, 10), doc(1, 1000), doc(2, 10)];
        let chunks = split(
            &docs,
            &[0, 1, 2],
            Limits {
                max_bytes: 200,
                max_docs: 10,
                ..Limits::default()
            },
        );
        assert_eq!(chunks, vec![vec![0], vec![1], vec![2]]);
    }

    proptest! {
        #[test]
        fn split_keeps_every_item_once_in_order_within_limits(
            sizes in proptest::collection::vec(0usize..3000, 0..200),
            max_bytes in 100usize..20_000,
            max_docs in 1usize..50,
        ) {
            let docs: Vec<_> = sizes.iter().enumerate().map(|(i, &s)| doc(i, s)).collect();
            let pending: Vec<usize> = (0..docs.len()).collect();
            let limits = Limits { max_bytes, max_docs, ..Limits::default() };
            let chunks = split(&docs, &pending, limits);
            let flat: Vec<usize> = chunks.iter().flatten().copied().collect();
            prop_assert_eq!(flat, pending);
            for c in &chunks {
                prop_assert!(!c.is_empty());
                prop_assert!(c.len() <= max_docs);
                let bytes: usize = c.iter().map(|&i| item_len(&docs[i])).sum();
                prop_assert!(c.len() == 1 || bytes <= max_bytes, "chunk of {} items is {} bytes", c.len(), bytes);
                let real = encode(&docs, c.clone(), false).body.len();
                prop_assert!(real <= bytes, "item_len must not under-estimate: {} > {}", real, bytes);
            }
        }
    }
}
