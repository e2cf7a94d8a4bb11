//! Documents → `_bulk` request bodies: split by bytes and by count, optionally gzipped.
//!
//! Body format: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//! (an action line, a source line, each ending in `\n`, the body ending in `\n`). The op is
//! always `create`: data streams accept only `create`, and for dated indices it makes a
//! re-delivered event a 409 instead of a second copy.

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
        if starts_chunk(cur.len(), cur_bytes, n, limits) {
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

/// Whether an item of `n` bytes goes in a new chunk after one of `len` items and `bytes`.
fn starts_chunk(len: usize, bytes: usize, n: usize, limits: Limits) -> bool {
    len > 0 && (bytes + n > limits.max_bytes || len >= limits.max_docs.max(1))
}

/// Encodes one chunk as a request body.
pub fn encode(docs: &[Document], items: Vec<usize>, gzip: bool) -> BulkRequest {
    let cap: usize = items.iter().map(|&i| item_len(&docs[i])).sum();
    let mut enc = Encoder::new(gzip, cap);
    for i in items {
        enc.push(docs, i);
    }
    enc.finish(docs)
}

/// A request body written a document at a time: [`encode`], but a streamed delivery
/// compresses each document as it is built, while the request before it is in flight,
/// instead of after that request's answer (when the cluster would wait for it).
pub struct Encoder {
    items: Vec<usize>,
    gz: Option<Gzip>,
    /// The plain body, or with gzip the items not compressed yet.
    buf: Vec<u8>,
    /// Body bytes already handed to the compressor.
    flushed: usize,
    ok: bool,
}

impl Encoder {
    /// `cap`: the body's expected uncompressed size, when known.
    pub fn new(gzip: bool, cap: usize) -> Self {
        Encoder {
            items: Vec::new(),
            // Items are compressed as they are written: no uncompressed copy of a 10 MiB body
            // is ever held (peak memory is what sizes the Lambda).
            gz: gzip.then(|| Gzip::new(cap / 6 + 64)),
            buf: Vec::with_capacity(if gzip { 64 * 1024 } else { cap }),
            flushed: 0,
            ok: true,
        }
    }

    pub fn push(&mut self, docs: &[Document], i: usize) {
        write_item(&mut self.buf, &docs[i]);
        self.items.push(i);
        if let Some(gz) = self.gz.as_mut()
            && self.buf.len() >= 32 * 1024
        {
            self.flushed += self.buf.len();
            self.ok &= gz.write(&self.buf).is_ok();
            self.buf.clear();
        }
    }

    pub fn items(&self) -> &[usize] {
        &self.items
    }

    /// The request; `docs` only for the (never seen) case of the compressor failing, when
    /// the body is written again without it.
    pub fn finish(mut self, docs: &[Document]) -> BulkRequest {
        if let Some(mut gz) = self.gz.take() {
            let uncompressed_len = self.flushed + self.buf.len();
            if self.ok
                && gz.write(&self.buf).is_ok()
                && let Ok(z) = gz.finish()
            {
                return BulkRequest {
                    items: self.items,
                    body: z.into(),
                    uncompressed_len,
                    gzip: true,
                };
            }
            let mut plain = Encoder::new(false, uncompressed_len);
            for i in self.items {
                plain.push(docs, i);
            }
            return plain.finish(docs);
        }
        BulkRequest {
            uncompressed_len: self.buf.len(),
            items: self.items,
            body: self.buf.into(),
            gzip: false,
        }
    }
}

/// One gzip member (RFC 1952), byte for byte what `flate2::write::GzEncoder` writes at
/// level 1, but on a deflate state kept from the body before. A new state is ~300 KB that
/// zlib-rs allocates and clears: with three bodies an invocation, its set-up was 47% of the
/// Lambda's page faults (perf's page-faults event, 1,000 events).
struct Gzip {
    /// Taken by `Drop`.
    z: Option<flate2::Compress>,
    /// The stream was ended: only then is the state reused. After a stream left mid-way,
    /// zlib-rs 0.6's reset did not start the next one clean (an empty body came out
    /// `80 01 00`, not `03 00`; found by the test below).
    ended: bool,
    crc: flate2::Crc,
    out: Vec<u8>,
}

thread_local! {
    /// Deflate states between bodies. A few: a round's chunks are encoded one at a time.
    static STATES: std::cell::RefCell<Vec<flate2::Compress>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// States kept per thread: more than a round ever holds at once.
const KEPT_STATES: usize = 4;

impl Gzip {
    fn new(cap: usize) -> Self {
        let z = STATES
            .with_borrow_mut(Vec::pop)
            // Level 1: on log text it gets ~90% of level 6's ratio at a fraction of the CPU,
            // and CPU is what a Lambda pays for. Raw deflate: the gzip framing is ours.
            .unwrap_or_else(|| flate2::Compress::new(flate2::Compression::fast(), false));
        let mut out = Vec::with_capacity(cap.max(64));
        // ID1 ID2, CM = deflate, no flags, no mtime, XFL = 4 (fastest), OS = 255 (unknown).
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
        Gzip {
            z: Some(z),
            ended: false,
            crc: flate2::Crc::new(),
            out,
        }
    }

    fn write(&mut self, input: &[u8]) -> Result<(), Stalled> {
        self.crc.update(input);
        self.deflate(input, flate2::FlushCompress::None)
    }

    fn finish(mut self) -> Result<Vec<u8>, Stalled> {
        self.deflate(&[], flate2::FlushCompress::Finish)?;
        self.ended = true;
        let mut out = std::mem::take(&mut self.out);
        out.extend_from_slice(&self.crc.sum().to_le_bytes());
        out.extend_from_slice(&self.crc.amount().to_le_bytes());
        Ok(out)
    }

    /// Feeds `input` through, growing the output as needed; with `Finish`, to the end.
    fn deflate(&mut self, mut input: &[u8], flush: flate2::FlushCompress) -> Result<(), Stalled> {
        let Some(z) = self.z.as_mut() else {
            return Err(Stalled);
        };
        let mut idle = 0;
        loop {
            if self.out.capacity() - self.out.len() < 4096 {
                // Log text deflates to ~1/7 at level 1.
                self.out.reserve(input.len() / 4 + 8192);
            }
            let (was_in, was_out) = (z.total_in(), z.total_out());
            let status = z
                .compress_vec(input, &mut self.out, flush)
                .map_err(|_| Stalled)?;
            input = &input[(z.total_in() - was_in) as usize..];
            let done = match flush {
                flate2::FlushCompress::Finish => status == flate2::Status::StreamEnd,
                _ => input.is_empty(),
            };
            if done {
                return Ok(());
            }
            // With 4 KiB of room deflate always moves; if it ever doesn't, say so rather
            // than spin (the body is then written plain).
            if (z.total_in(), z.total_out()) == (was_in, was_out) {
                idle += 1;
                if idle > 2 {
                    return Err(Stalled);
                }
            }
        }
    }
}

/// The compressor failed or made no progress (never seen).
struct Stalled;

impl Drop for Gzip {
    /// A finished stream's state goes back for the next body.
    fn drop(&mut self) {
        if let Some(mut z) = self.z.take().filter(|_| self.ended) {
            z.reset();
            // `try_with`: nothing to keep it for once the thread is ending.
            let _ = STATES.try_with(|s| {
                let mut s = s.borrow_mut();
                if s.len() < KEPT_STATES {
                    s.push(z);
                }
            });
        }
    }
}

/// [`split`] then [`encode`], a document at a time as documents are built: the same chunks
/// and the same bodies.
pub struct Chunker {
    limits: Limits,
    gzip: bool,
    done: Vec<Encoder>,
    cur: Option<Encoder>,
    cur_bytes: usize,
}

impl Chunker {
    pub fn new(limits: Limits, gzip: bool) -> Self {
        Chunker {
            limits,
            gzip,
            done: Vec::new(),
            cur: None,
            cur_bytes: 0,
        }
    }

    pub fn push(&mut self, docs: &[Document], i: usize) {
        let n = item_len(&docs[i]);
        let len = self.cur.as_ref().map_or(0, |c| c.items().len());
        if starts_chunk(len, self.cur_bytes, n, self.limits) {
            self.done.extend(self.cur.take());
            self.cur_bytes = 0;
        }
        self.cur_bytes += n;
        let gzip = self.gzip;
        self.cur
            .get_or_insert_with(|| Encoder::new(gzip, 0))
            .push(docs, i);
    }

    /// Every document pushed, in order.
    pub fn items(&self) -> impl Iterator<Item = usize> + '_ {
        self.done
            .iter()
            .chain(&self.cur)
            .flat_map(|e| e.items().iter().copied())
    }

    pub fn finish(mut self, docs: &[Document]) -> Vec<BulkRequest> {
        self.done.extend(self.cur.take());
        self.done.into_iter().map(|e| e.finish(docs)).collect()
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

    /// Documents of these source sizes, all of them pending, and the limits.
    fn sized(
        sizes: &[usize],
        max_bytes: usize,
        max_docs: usize,
    ) -> (Vec<Document>, Vec<usize>, Limits) {
        let docs: Vec<_> = sizes.iter().enumerate().map(|(i, &s)| doc(i, s)).collect();
        let pending = (0..docs.len()).collect();
        let limits = Limits {
            max_bytes,
            max_docs,
            ..Limits::default()
        };
        (docs, pending, limits)
    }

    fn inflated(req: &BulkRequest) -> Vec<u8> {
        if !req.gzip {
            return req.body.to_vec();
        }
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&req.body[..]), &mut out)
            .unwrap();
        out
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

    /// What `GzEncoder` writes for the same pieces: the body before deflate states were kept.
    fn flate2_gzip(pieces: &[Vec<u8>]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for p in pieces {
            e.write_all(p).unwrap();
        }
        e.finish().unwrap()
    }

    fn log_text() -> impl Strategy<Value = Vec<u8>> {
        // Repetitive, like log lines, with now and then bytes that don't repeat.
        proptest::collection::vec(
            prop_oneof![
                4 => Just(br#"{"create":{"_index":"logs-a-default","_id":"1"}}"#.to_vec()),
                2 => "[a-z0-9 \"]{0,80}".prop_map(String::into_bytes),
                1 => proptest::collection::vec(any::<u8>(), 0..300),
            ],
            0..40,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #[test]
        fn bodies_on_a_kept_deflate_state_are_the_bytes_gzencoder_writes_issue_15(
            bodies in proptest::collection::vec(
                (proptest::collection::vec(log_text(), 0..6), any::<bool>()),
                1..6,
            ),
        ) {
            // One after another on this thread, as a delivery's bodies are, each on the
            // state the one before left; some dropped unfinished (a piece held back).
            for (pieces, finished) in bodies {
                let mut gz = Gzip::new(0);
                for p in &pieces {
                    prop_assert!(gz.write(p).is_ok());
                }
                if finished {
                    let ours = gz.finish().ok();
                    prop_assert_eq!(ours, Some(flate2_gzip(&pieces)));
                }
            }
            prop_assert!(STATES.with_borrow(Vec::len) <= KEPT_STATES);
        }

        #[test]
        fn the_chunker_makes_the_chunks_and_bodies_of_split_and_encode_issue_15(
            sizes in proptest::collection::vec(0usize..3000, 0..120),
            max_bytes in 100usize..20_000,
            max_docs in 1usize..50,
            gzip: bool,
        ) {
            let (docs, pending, limits) = sized(&sizes, max_bytes, max_docs);
            let mut chunker = Chunker::new(limits, gzip);
            for &i in &pending {
                chunker.push(&docs, i);
            }
            prop_assert_eq!(chunker.items().collect::<Vec<_>>(), pending.clone());
            let streamed = chunker.finish(&docs);
            let whole: Vec<_> = split(&docs, &pending, limits)
                .into_iter()
                .map(|c| encode(&docs, c, gzip))
                .collect();
            prop_assert_eq!(streamed.len(), whole.len());
            for (a, b) in streamed.iter().zip(&whole) {
                prop_assert_eq!(&a.items, &b.items);
                prop_assert_eq!(a.gzip, b.gzip);
                prop_assert_eq!(a.uncompressed_len, b.uncompressed_len);
                prop_assert_eq!(inflated(a), inflated(b));
            }
        }

        #[test]
        fn split_keeps_every_item_once_in_order_within_limits(
            sizes in proptest::collection::vec(0usize..3000, 0..200),
            max_bytes in 100usize..20_000,
            max_docs in 1usize..50,
        ) {
            let (docs, pending, limits) = sized(&sizes, max_bytes, max_docs);
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
