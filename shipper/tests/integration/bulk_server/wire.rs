//! The wire: NDJSON bulk bodies, encodings, query strings, `filter_path`, error bodies.

use std::io::Read;

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// `{"error":{"root_cause":[…],"type","reason"},"status"}`, the shape of every ES error:
/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions (error responses).
/// An answer already written as JSON.
pub fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub fn es_error(status: StatusCode, etype: &str, reason: &str) -> Response {
    json_response(status, &error_body(status, etype, reason, None))
}

pub fn error_body(status: StatusCode, etype: &str, reason: &str, header: Option<Value>) -> Value {
    let mut cause = json!({"type": etype, "reason": reason});
    if let Some(h) = header {
        cause["header"] = h;
    }
    let mut error = cause.clone();
    error["root_cause"] = json!([cause]);
    json!({"error": error, "status": status.as_u16()})
}

/// One parsed action of a bulk body.
pub struct Action {
    pub op: String,
    pub index: Option<String>,
    pub id: Option<String>,
    /// Line number of the action (1-based).
    pub line: usize,
    pub source: Option<Vec<u8>>,
    /// `source` parsed, by [`parse_sources`]; taken by the write that uses it.
    pub parsed: Option<Parsed>,
}

/// A document source as JSON parsing left it. A source that isn't one JSON object fails its
/// document, not the request (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk).
pub enum Parsed {
    Object(Map<String, Value>),
    /// Valid JSON, but not an object: the token Elasticsearch names.
    NotObject(&'static str),
    /// Not JSON: the column and serde_json's message.
    Invalid(usize, String),
}

/// Parses every action's source: the part of a bulk request that needs no cluster state, done
/// by Elasticsearch for concurrent requests in parallel (on the write thread pool, one thread
/// per core: https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/thread-pool-settings),
/// and so done here outside the server's lock, a few actions at a time, each few just before
/// they are written.
pub fn parse_sources(actions: &mut [Action]) {
    for a in actions {
        a.parsed = a
            .source
            .as_deref()
            .map(|raw| match serde_json::from_slice::<Value>(raw) {
                Ok(Value::Object(o)) => Parsed::Object(o),
                Ok(other) => Parsed::NotObject(token(&other)),
                Err(e) => Parsed::Invalid(e.column(), e.to_string()),
            });
    }
}

pub fn request_error(status: StatusCode, etype: &str, reason: String) -> Response {
    es_error(status, etype, &reason)
}

/// The NDJSON body → actions, or the request-level 400 Elasticsearch answers:
/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
/// ("The final line of data must end with a newline character (\n)"; the action line is
/// `{"<op>":{metadata}}`; index and create need a source line; delete has none).
pub fn parse_bulk(body: &[u8]) -> Result<Vec<Action>, Response> {
    if body.is_empty() {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            "parse_exception",
            "request body is required".into(),
        ));
    }
    if !body.ends_with(b"\n") {
        return Err(request_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]".into(),
        ));
    }
    let lines: Vec<&[u8]> = body[..body.len() - 1].split(|&b| b == b'\n').collect();
    let mut actions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let raw = lines[i];
        let malformed = |detail: String| {
            request_error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                format!("Malformed action/metadata line [{line_no}], {detail}"),
            )
        };
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(malformed(
                "expected START_OBJECT or END_OBJECT but found [null]".into(),
            ));
        }
        let v: Value = serde_json::from_slice(raw).map_err(|e| {
            request_error(
                StatusCode::BAD_REQUEST,
                "x_content_parse_exception",
                format!("[{line_no}:{}] {e}", e.column()),
            )
        })?;
        let obj = match v {
            Value::Object(o) => o,
            other => {
                return Err(malformed(format!(
                    "expected START_OBJECT or END_OBJECT but found [{}]",
                    token(&other)
                )));
            }
        };
        if obj.is_empty() {
            return Err(malformed(
                "expected FIELD_NAME but found [END_OBJECT]".into(),
            ));
        }
        if obj.len() > 1 {
            return Err(malformed(
                "expected END_OBJECT but found [FIELD_NAME]".into(),
            ));
        }
        let (op, meta) = obj.into_iter().next().unwrap_or_default();
        if !matches!(op.as_str(), "create" | "index" | "delete" | "update") {
            return Err(malformed(format!(
                "expected field [create], [delete], [index] or [update] but found [{op}]"
            )));
        }
        let meta = match meta {
            Value::Object(m) => m,
            other => {
                return Err(malformed(format!(
                    "expected START_OBJECT but found [{}]",
                    token(&other)
                )));
            }
        };
        const KNOWN: &[&str] = &[
            "_index",
            "_id",
            "routing",
            "version",
            "version_type",
            "if_seq_no",
            "if_primary_term",
            "pipeline",
            "require_alias",
            "require_data_stream",
            "dynamic_templates",
            "retry_on_conflict",
            "_source",
            "list_executed_pipelines",
        ];
        if let Some(k) = meta.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(request_error(
                StatusCode::BAD_REQUEST,
                "illegal_argument_exception",
                format!("Action/metadata line [{line_no}] contains an unknown parameter [{k}]"),
            ));
        }
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        };
        let index = meta.get("_index").and_then(scalar);
        let id = meta.get("_id").and_then(scalar);
        let source = if op == "delete" {
            None
        } else {
            i += 1;
            match lines.get(i) {
                Some(s) => Some(s.to_vec()),
                // https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-index
                // (an index request without a source fails validation).
                None => {
                    return Err(request_error(
                        StatusCode::BAD_REQUEST,
                        "action_request_validation_exception",
                        "Validation Failed: 1: source is missing;".into(),
                    ));
                }
            }
        };
        actions.push(Action {
            op,
            index,
            id,
            line: line_no,
            source,
            parsed: None,
        });
        i += 1;
    }
    Ok(actions)
}

/// The Jackson token name Elasticsearch reports for a value.
pub fn token(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Bool(true) => "VALUE_TRUE",
        Value::Bool(false) => "VALUE_FALSE",
        Value::Number(n) if n.is_f64() => "VALUE_NUMBER_FLOAT",
        Value::Number(_) => "VALUE_NUMBER_INT",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
/// (Content-Type `application/x-ndjson`; `application/json` and the versioned
/// `application/vnd.elasticsearch+…;compatible-with=N` types are accepted too). A missing or
/// other media type is refused with 406 by the REST layer:
/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/api-conventions#content-type
pub fn check_content_type(headers: &HeaderMap) -> Result<(), Response> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Err(json_response(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"error": "Content-Type header is missing", "status": 406}),
        ));
    };
    let ct = ct.to_str().unwrap_or("");
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = matches!(
        media.as_str(),
        "application/x-ndjson"
            | "application/json"
            | "application/vnd.elasticsearch+x-ndjson"
            | "application/vnd.elasticsearch+json"
    );
    if ok {
        Ok(())
    } else {
        Err(json_response(
            StatusCode::NOT_ACCEPTABLE,
            &json!({"error": format!("Content-Type header [{ct}] is not supported"), "status": 406}),
        ))
    }
}

/// `http.max_content_length` and `Content-Encoding`.
/// https://www.elastic.co/docs/reference/elasticsearch/configuration-reference/networking-settings
/// "If the body is compressed, the limit applies to the HTTP request body size before
/// compression" (elastic/elasticsearch#94408): the limit is on the inflated body, so a gzipped
/// request is measured after inflating it. Over the limit → 413 with an empty body (the HTTP
/// layer answers before any handler). `http.compression` also covers request bodies sent
/// with `Content-Encoding: gzip` / `deflate`.
pub fn inflate_body(headers: &HeaderMap, body: &Bytes, limit: usize) -> Result<Vec<u8>, Response> {
    let too_large = || (StatusCode::PAYLOAD_TOO_LARGE, "").into_response();
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("identity")
        .trim()
        .to_ascii_lowercase();
    let reader: Box<dyn Read + '_> = match encoding.as_str() {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
        "deflate" | "x-deflate" => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        _ => {
            if body.len() > limit {
                return Err(too_large());
            }
            return Ok(body.to_vec());
        }
    };
    let mut out = Vec::new();
    match reader.take(limit as u64 + 1).read_to_end(&mut out) {
        Ok(_) if out.len() > limit => Err(too_large()),
        Ok(_) => Ok(out),
        Err(e) => Err(es_error(
            StatusCode::BAD_REQUEST,
            "illegal_argument_exception",
            &format!("failed to decompress the request body ({encoding}): {e}"),
        )),
    }
}

pub fn query_param(uri: &Uri, name: &str) -> Option<String> {
    let q = uri.query()?;
    url_decode_pairs(q)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

pub fn url_decode_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Index names: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create
/// (lowercase; no `\ / * ? " < > | , #`, space or `:`; not starting with `-`, `_`, `+`;
/// not `.`/`..`; at most 255 bytes).
pub fn invalid_index_name(name: &str) -> Option<String> {
    let why = if name.to_lowercase() != name {
        "must be lowercase"
    } else if name.chars().any(|c| r#"\/*?"<>|,# :"#.contains(c)) {
        r#"must not contain the following characters [ , ", *, \, <, |, ,, >, /, ?, #, :]"#
    } else if name.starts_with(['-', '_', '+']) {
        "must not start with '_', '-', or '+'"
    } else if name == "." || name == ".." {
        "must not be '.' or '..'"
    } else if name.len() > 255 {
        "index name is too long"
    } else {
        return None;
    };
    Some(format!("Invalid index name [{name}], {why}"))
}

/// https://www.elastic.co/docs/reference/elasticsearch/rest-apis/common-options#common-options-response-filtering
/// A comma list of dotted paths; `*` matches within one name, `**` any number of levels;
/// arrays are transparent; objects and arrays left empty are dropped. Exclusions (`-path`)
/// are not modelled.
pub fn filter_path(v: Value, spec: &str) -> Value {
    let paths = filter_paths(spec);
    let refs: Vec<&[&str]> = paths.iter().map(Vec::as_slice).collect();
    filter(v, &refs).unwrap_or_else(|| json!({}))
}

/// The inclusions of a `filter_path` spec, each split at its dots.
pub fn filter_paths(spec: &str) -> Vec<Vec<&str>> {
    spec.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty() && !p.starts_with('-'))
        .map(|p| p.split('.').collect())
        .collect()
}

/// The paths that go on into the member `key` of an object the `paths` apply to: what is left
/// of each path whose first name matches `key`, and each `**` path both as it is and past it.
fn child_paths<'a>(paths: &[&'a [&'a str]], key: &str, next: &mut Vec<&'a [&'a str]>) {
    next.clear();
    for p in paths {
        if p[0] == "**" {
            next.push(p);
            match p.get(1) {
                Some(first) if glob(first, key) => next.push(&p[2..]),
                Some(_) => {}
                None => next.push(&p[1..]),
            }
        } else if glob(p[0], key) {
            next.push(&p[1..]);
        }
    }
}

/// Takes the answer apart rather than copying what it keeps: a bulk answer has an item per
/// document.
fn filter(v: Value, paths: &[&[&str]]) -> Option<Value> {
    if paths.iter().any(|p| p.is_empty()) {
        return Some(v);
    }
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            let mut next: Vec<&[&str]> = Vec::new();
            for (k, child) in m {
                child_paths(paths, &k, &mut next);
                if !next.is_empty()
                    && let Some(c) = filter(child, &next)
                {
                    out.insert(k, c);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(a) => {
            let out: Vec<Value> = a.into_iter().filter_map(|e| filter(e, paths)).collect();
            (!out.is_empty()).then_some(Value::Array(out))
        }
        _ => None,
    }
}

/// A `_bulk` answer written item by item as the items are made, `filter_path` applied to each
/// on the way: the bytes `filter_path` over the whole answer would give (a test holds them to
/// it), without the answer ever held as one tree. Elasticsearch writes its answer the same
/// way: `BulkResponse` is a `ChunkedToXContentObject`, its items serialized a few at a time
/// through the `filter_path` filtering generator. A tree of 5,000 items, each made between two
/// documents' writes and walked again afterwards, cost this server more per item the longer
/// the request (timed: ~13 against ~7 ms per 10,000 items in requests of 5,000 and of 500).
pub struct BulkAnswer<'a> {
    /// The spec's paths (`filter_paths`); `None`: no `filter_path`, everything is kept.
    paths: Option<Vec<&'a [&'a str]>>,
    /// What of them goes on into each item.
    item_paths: Option<Vec<&'a [&'a str]>>,
    items: Vec<u8>,
    kept: usize,
}

impl<'a> BulkAnswer<'a> {
    pub fn new(paths: Option<&'a [Vec<&'a str>]>) -> Self {
        let paths: Option<Vec<&[&str]>> = paths.map(|p| p.iter().map(Vec::as_slice).collect());
        let item_paths = paths.as_ref().map(|p| {
            let mut next = Vec::new();
            child_paths(p, "items", &mut next);
            next
        });
        BulkAnswer {
            paths,
            item_paths,
            items: Vec::new(),
            kept: 0,
        }
    }

    /// One item, `{"<op>": {…}}`, in the answer's order.
    pub fn push(&mut self, item: Value) {
        // Arrays are transparent: each item gets the paths "items" passes on.
        let kept = match self.item_paths.as_deref() {
            None => Some(item),
            Some([]) => None,
            Some(paths) => filter(item, paths),
        };
        if let Some(v) = kept {
            if self.kept > 0 {
                self.items.push(b',');
            }
            self.kept += 1;
            // Writing a `Value` into a `Vec` cannot fail.
            let _ = serde_json::to_writer(&mut self.items, &v);
        }
    }

    /// The whole answer, as `Value::to_string` writes the filtered tree: its members in the
    /// order a `Map` keeps them (sorted: `errors`, `items`, `took`), each kept or not as
    /// `filter_path` keeps it.
    pub fn finish(self, errors: bool, took: u64) -> Vec<u8> {
        let member = |key: &str, v: Value| -> Option<String> {
            let kept = match &self.paths {
                None => Some(v),
                Some(paths) => {
                    let mut next = Vec::new();
                    child_paths(paths, key, &mut next);
                    filter(v, &next)
                }
            };
            kept.map(|v| format!("\"{key}\":{v}"))
        };
        let errors = member("errors", errors.into());
        let took = member("took", took.into());
        let items = (self.kept > 0).then_some(&self.items);
        let mut out = Vec::with_capacity(self.items.len() + 64);
        out.push(b'{');
        if let Some(e) = &errors {
            out.extend_from_slice(e.as_bytes());
        }
        if let Some(items) = items {
            if errors.is_some() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"items\":[");
            out.extend_from_slice(items);
            out.push(b']');
        }
        if let Some(t) = &took {
            if errors.is_some() || items.is_some() {
                out.push(b',');
            }
            out.extend_from_slice(t.as_bytes());
        }
        out.push(b'}');
        out
    }
}

/// `*` matches any run of characters.
pub fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((head, rest)) => {
            let Some(tail) = s.strip_prefix(head) else {
                return false;
            };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len())
                .filter(|&i| tail.is_char_boundary(i))
                .any(|i| glob(rest, &tail[i..]))
        }
    }
}
