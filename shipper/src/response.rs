//! `_bulk` response → one outcome per item, in the order the actions were sent.
//!
//! Shape: https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-bulk
//! (`{"took","errors","items":[{"create":{"_index","_id","status","error":{"type","reason"}}}]}`),
//! reduced by [`crate::request_builder::FILTER_PATH`]. Every item has a `status`, so the
//! filtered answer to N actions always has N items: an answer without them (a proxy's `{}`,
//! a body cut short, a server that only says `errors:false`) tells nothing about what was
//! stored, and is an error here, never "all created".

use std::borrow::Cow;

use crate::json::{R, Reader};

/// One item's result, borrowing from the response body.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ItemResult<'a> {
    /// 0 when the item named no status.
    pub status: u16,
    /// The concrete index it went to: a data stream's backing index, or a failure-store index.
    pub index: Option<Cow<'a, str>>,
    pub error_type: Option<String>,
    pub error_reason: Option<String>,
    /// `failure_store: used`: Elasticsearch (9.1+, on by default for `logs-*-*` from 9.2) kept
    /// a document its mappings refused in the data stream's failure store, and answered 201.
    pub failure_store: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ResponseError {
    #[error("bulk response is not JSON: {0}")]
    NotJson(String),
    #[error("bulk response has {got} items for {sent} actions")]
    ItemCount { sent: usize, got: usize },
    #[error(
        "bulk response has no items for {sent} actions (a proxy's or a truncated answer): what was stored is unknown"
    )]
    NoItems { sent: usize },
}

/// Parses a 200 response to a bulk of `sent` actions.
pub fn parse(body: &[u8], sent: usize) -> Result<Vec<ItemResult<'_>>, ResponseError> {
    let items = read(body, sent)
        .map_err(|e| ResponseError::NotJson(format!("{} at byte {}", e.reason, e.at)))?;
    let items = match items {
        Some(items) if !items.is_empty() => items,
        _ if sent == 0 => return Ok(Vec::new()),
        _ => return Err(ResponseError::NoItems { sent }),
    };
    if items.len() != sent {
        return Err(ResponseError::ItemCount {
            sent,
            got: items.len(),
        });
    }
    Ok(items)
}

/// The answer read in one pass with the envelope's reader ([`crate::json`]): serde_json's
/// derived reader of the same shape cost 3.3% of the Lambda's CPU (perf), most of it in
/// visitor calls per item. It accepts and refuses what that reader did (the tests hold it
/// to it): unknown keys skipped (checked as JSON), `null` for an absent value, a repeated
/// field an error, an item that is no object an error, the first op key of an item kept. It is
/// stricter only on what no cluster writes (the tests list it).
fn read(body: &[u8], sent: usize) -> R<Option<Vec<ItemResult<'_>>>> {
    let s = std::str::from_utf8(body).map_err(|e| crate::json::Syntax {
        reason: "invalid UTF-8".into(),
        at: e.valid_up_to(),
    })?;
    let mut r = Reader::new(s);
    if r.peek() != Some(b'{') {
        return Err(r.err("expected an object"));
    }
    let mut items = None;
    let mut seen = false;
    r.object(|r, key| {
        if key != "items" {
            return r.value(IN_ANSWER).map(drop);
        }
        if std::mem::replace(&mut seen, true) {
            return Err(r.err("duplicate field `items`"));
        }
        match r.peek() {
            Some(b'n') => r.literal_null(),
            Some(b'[') => {
                // One item per action sent; no item is shorter than `{}`.
                let mut list = Vec::with_capacity(sent.min(s.len() / 2));
                r.array(|r| {
                    list.push(op(r)?);
                    Ok(())
                })?;
                items = Some(list);
                Ok(())
            }
            _ => Err(r.err("invalid type: expected a sequence")),
        }
    })?;
    if r.peek().is_some() {
        return Err(r.err("trailing characters"));
    }
    Ok(items)
}

/// How many arrays and objects are open around a skipped value (the reader's recursion limit
/// counts them, as serde_json's does): the answer, `items`, an op and its item, its `error`.
const IN_ANSWER: usize = 1;
const IN_ITEM: usize = 4;
const IN_ERROR: usize = 5;

/// `{"<op>": {…}}`: the one key is the op name, its value the result.
fn op<'a>(r: &mut Reader<'a>) -> R<ItemResult<'a>> {
    if r.peek() != Some(b'{') {
        return Err(r.err("invalid type: expected an object with one op key"));
    }
    let mut first = None;
    r.object(|r, _op| {
        let i = item(r)?;
        first.get_or_insert(i);
        Ok(())
    })?;
    Ok(first.unwrap_or_default())
}

fn item<'a>(r: &mut Reader<'a>) -> R<ItemResult<'a>> {
    if r.peek() != Some(b'{') {
        return Err(r.err("invalid type: expected an item object"));
    }
    let mut it = ItemResult::default();
    let mut seen = 0u8;
    r.object(|r, key| {
        let bit = match &*key {
            "status" => 1,
            "_index" => 2,
            "error" => 4,
            "failure_store" => 8,
            _ => return r.value(IN_ITEM).map(drop),
        };
        if seen & bit != 0 {
            return Err(r.err(format!("duplicate field `{key}`")));
        }
        seen |= bit;
        match bit {
            1 => it.status = status(r)?,
            2 => it.index = optional_string(r)?,
            4 => (it.error_type, it.error_reason) = error(r)?,
            _ => it.failure_store = optional_string(r)?.as_deref() == Some("used"),
        }
        Ok(())
    })?;
    Ok(it)
}

/// An HTTP status: an integer that fits in a `u16`, as serde reads one.
fn status(r: &mut Reader<'_>) -> R<u16> {
    let at = r.i;
    let text = r.value(IN_ITEM)?;
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse()
            .map_err(|_| r.at(at, "invalid value: expected u16"));
    }
    Err(r.at(at, "invalid type: expected u16"))
}

fn optional_string<'a>(r: &mut Reader<'a>) -> R<Option<Cow<'a, str>>> {
    match r.peek() {
        Some(b'"') => r.strict_string().map(Some),
        Some(b'n') => r.literal_null().map(|()| None),
        _ => Err(r.err("invalid type: expected a string")),
    }
}

/// `error`: its `type` and `reason`, owned (they outlive the answer in dead letters).
fn error(r: &mut Reader<'_>) -> R<(Option<String>, Option<String>)> {
    let (mut kind, mut reason) = (None, None);
    match r.peek() {
        Some(b'n') => r.literal_null()?,
        Some(b'{') => {
            let mut seen = 0u8;
            r.object(|r, key| {
                let (bit, slot) = match &*key {
                    "type" => (1, &mut kind),
                    "reason" => (2, &mut reason),
                    _ => return r.value(IN_ERROR).map(drop),
                };
                if seen & bit != 0 {
                    return Err(r.err(format!("duplicate field `{key}`")));
                }
                seen |= bit;
                *slot = optional_string(r)?.map(Cow::into_owned);
                Ok(())
            })?;
        }
        _ => return Err(r.err("invalid type: expected an error object")),
    }
    Ok((kind, reason))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The serde_json reader `parse` replaced (issue 15), kept as the reference it is held to.
    mod serde_reference {
        use std::borrow::Cow;

        use serde::Deserialize;
        use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

        use super::super::ItemResult;

        #[derive(Deserialize)]
        struct Raw<'a> {
            #[serde(borrow, default)]
            items: Option<Vec<Op<'a>>>,
        }

        struct Op<'a>(Item<'a>);

        impl<'de: 'a, 'a> Deserialize<'de> for Op<'a> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V<'a>(std::marker::PhantomData<&'a ()>);
                impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                    type Value = Op<'a>;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an object with one op key")
                    }
                    fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Op<'a>, M::Error> {
                        let mut item = None;
                        while let Some(_op) = m.next_key::<IgnoredAny>()? {
                            let v: Item<'a> = m.next_value()?;
                            item.get_or_insert(v);
                        }
                        Ok(Op(item.unwrap_or_default()))
                    }
                }
                d.deserialize_map(V(std::marker::PhantomData))
            }
        }

        #[derive(Deserialize, Default)]
        struct Item<'a> {
            #[serde(default)]
            status: u16,
            #[serde(borrow, rename = "_index", default)]
            index: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            error: Option<ItemError<'a>>,
            #[serde(borrow, default)]
            failure_store: Option<Cow<'a, str>>,
        }

        #[derive(Deserialize, Default)]
        struct ItemError<'a> {
            #[serde(borrow, rename = "type", default)]
            kind: Option<Cow<'a, str>>,
            #[serde(borrow, default)]
            reason: Option<Cow<'a, str>>,
        }

        /// `None`: not JSON of that shape; else the items, if any.
        pub fn read(body: &[u8]) -> Option<Option<Vec<ItemResult<'_>>>> {
            let raw: Raw<'_> = serde_json::from_slice(body).ok()?;
            Some(raw.items.map(|items| {
                items
                    .into_iter()
                    .map(|Op(i)| {
                        let (error_type, error_reason) = match i.error {
                            Some(e) => (e.kind.map(Cow::into_owned), e.reason.map(Cow::into_owned)),
                            None => (None, None),
                        };
                        ItemResult {
                            status: i.status,
                            index: i.index,
                            error_type,
                            error_reason,
                            failure_store: i.failure_store.as_deref() == Some("used"),
                        }
                    })
                    .collect()
            }))
        }
    }

    /// Some JSON value for a key nobody reads.
    fn any_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (-1e6f64..1e6).prop_map(serde_json::Value::from),
            "[a-z\\\\\"\u{e9}\u{1f600}\n]{0,6}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 12, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(serde_json::Value::from),
                proptest::collection::btree_map("x_[a-z]{0,3}", inner, 0..3)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A string, `null`, or now and then a value of the wrong type.
    fn stringish() -> impl Strategy<Value = serde_json::Value> {
        prop_oneof![
            6 => "[a-z.\\\\\"\u{e9}-]{0,12}".prop_map(serde_json::Value::from),
            2 => Just(serde_json::Value::Null),
            1 => Just(serde_json::Value::from("used")),
            1 => any_json(),
        ]
    }

    /// An item as Elasticsearch writes one, with now and then what it never writes.
    fn item_json() -> impl Strategy<Value = serde_json::Value> {
        let status = prop_oneof![
            8 => prop_oneof![Just(201u64), Just(409), Just(429), Just(400), Just(503)]
                .prop_map(serde_json::Value::from),
            1 => (0u64..80_000).prop_map(serde_json::Value::from),
            1 => any_json(),
        ];
        let error = prop_oneof![
            2 => Just(None),
            3 => proptest::option::of((stringish(), stringish(), proptest::option::of(any_json())))
                .prop_map(|e| e.map(|(t, r, extra)| {
                    let mut m = serde_json::Map::new();
                    m.insert("type".into(), t);
                    m.insert("reason".into(), r);
                    if let Some(x) = extra {
                        m.insert("x_caused_by".into(), x);
                    }
                    serde_json::Value::Object(m)
                })),
            // Not an array: serde's derive read one as the fields in order; this reader
            // refuses it (below).
            1 => any_json().prop_filter("an array", |v| !v.is_array()).prop_map(Some),
        ];
        (
            proptest::option::of(status),
            proptest::option::of(stringish()),
            error,
            proptest::option::of(stringish()),
            proptest::option::of(any_json()),
        )
            .prop_map(|(status, index, error, fs, extra)| {
                let mut m = serde_json::Map::new();
                for (k, v) in [
                    ("_index", index),
                    ("status", status),
                    ("error", error),
                    ("failure_store", fs),
                    ("x_id", extra),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                serde_json::Value::Object(m)
            })
    }

    /// Where an item or an error could be read from an array (see above).
    fn no_array_in_an_object(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Object(m) => m
                .values()
                .all(|x| !x.is_array() && no_array_in_an_object(x)),
            serde_json::Value::Array(a) => a.iter().all(no_array_in_an_object),
            _ => true,
        }
    }

    fn answer_json() -> impl Strategy<Value = String> {
        let op = prop_oneof![
            8 => item_json().prop_map(|i| serde_json::json!({ "create": i })),
            1 => (item_json(), item_json()).prop_map(|(a, b)| serde_json::json!({ "create": a, "index": b })),
            1 => any_json().prop_filter("an array in an object", no_array_in_an_object),
        ];
        (
            proptest::option::of(prop_oneof![
                8 => proptest::collection::vec(op, 0..6).prop_map(serde_json::Value::from),
                1 => any_json().prop_filter("an array in an object", no_array_in_an_object),
            ]),
            proptest::option::of(any_json()),
            any::<bool>(),
        )
            .prop_map(|(items, extra, pretty)| {
                let mut m = serde_json::Map::new();
                m.insert("took".into(), 3.into());
                if let Some(x) = extra {
                    m.insert("x_errors".into(), x);
                }
                if let Some(items) = items {
                    m.insert("items".into(), items);
                }
                let v = serde_json::Value::Object(m);
                if pretty {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    v.to_string()
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        #[test]
        fn reads_answers_as_the_serde_reader_did_issue_15(body in answer_json()) {
            let ours = read(body.as_bytes(), 3).ok();
            prop_assert_eq!(ours, serde_reference::read(body.as_bytes()), "{}", body);
        }

        #[test]
        fn refuses_what_the_serde_reader_refused_after_a_byte_changes_issue_15(
            body in answer_json(),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'}'), Just(b']'), Just(b','), Just(b':'),
                Just(b'0'), Just(b'n'), Just(b' '),
                // Not `e`: an exponent made from digits can leave f64's range (see below).
                (0u8..0x80).prop_filter("an exponent", |b| !matches!(b, b'e' | b'E')),
            ],
            cut in any::<bool>(),
        ) {
            let mut b = body.into_bytes();
            let i = at.index(b.len());
            if cut {
                b.truncate(i);
            } else {
                b[i] = byte;
            }
            let ours = read(&b, 3).ok();
            if std::str::from_utf8(&b).is_err() {
                // A character cut in two (see below).
                prop_assert!(ours.is_none());
            } else {
                prop_assert_eq!(ours, serde_reference::read(&b), "{}", String::from_utf8_lossy(&b));
            }
        }
    }

    #[test]
    fn repeated_fields_and_wrong_types_are_errors_as_before_issue_15() {
        for body in [
            r#"{"items":[],"items":[]}"#,
            r#"{"items":[{"create":{"status":201,"status":201}}]}"#,
            r#"{"items":[{"create":{"error":{"type":"a","type":"b"}}}]}"#,
            r#"{"items":[{"create":{"status":"201"}}]}"#,
            r#"{"items":[{"create":{"status":201.0}}]}"#,
            r#"{"items":[{"create":{"status":70000}}]}"#,
            r#"{"items":[{"create":{"status":-1}}]}"#,
            r#"{"items":[{"create":null}]}"#,
            r#"{"items":[7]}"#,
            r#"{"items":{}}"#,
            r#"{"items":[{"create":{"_index":"\ud800"}}]}"#,
            r#"{"items":[]} x"#,
        ] {
            assert!(read(body.as_bytes(), 3).is_err(), "{body}");
            assert!(serde_reference::read(body.as_bytes()).is_none(), "{body}");
        }
        // Stricter than serde on what no cluster writes: an array where an object belongs
        // (serde's derive reads it as the fields in order), and bytes that are not UTF-8 or a
        // number beyond f64 in a value nobody reads (serde_json skips those unchecked; the
        // reader checks skipped values as serde_json checks a `Value`). Either way the answer is
        // unreadable, and the request is sent again, which a 409 makes harmless.
        for body in [
            &br#"{"items":[{"create":[201]}]}"#[..],
            br#"{"items":[{"create":{"status":201,"error":[]}}]}"#,
            b"{\"items\":[{\"create\":{\"status\":201,\"x\":\"\xff\"}}]}",
            br#"{"took":7e7841304,"items":[{"create":{"status":201}}]}"#,
        ] {
            assert!(read(body, 3).is_err(), "{}", String::from_utf8_lossy(body));
            assert!(serde_reference::read(body).is_some());
        }
        // And what both accept: escapes in keys and values, nulls for absent values.
        let body = r#"{"items":[{"cre\u0061te":{"st\u0061tus":201,"_index":"a\u00e9","error":null,"failure_store":null}},{}]}"#;
        let ours = read(body.as_bytes(), 3).ok();
        assert_eq!(ours, serde_reference::read(body.as_bytes()));
        let items = ours.flatten().unwrap_or_default();
        assert_eq!(items[0].status, 201);
        assert_eq!(items[0].index.as_deref(), Some("a\u{e9}"));
        assert_eq!(items[1], ItemResult::default());
    }

    #[test]
    fn reads_each_items_status_index_and_error_in_order() {
        let body = br#"{"took":3,"errors":true,"items":[
            {"create":{"_index":".ds-logs-a-2026.11.24-000001","_id":"1","status":201}},
            {"create":{"_index":".ds-logs-a-2026.11.24-000001","_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"[2]: version conflict, document already exists"}}},
            {"create":{"_index":"logs-a","_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"rejected execution"}}},
            {"create":{"_index":"logs-a","_id":"4","status":400,"error":{"type":"mapper_parsing_exception","reason":"failed to parse field [x]"}}}]}"#;
        let items = parse(body, 4).unwrap();
        assert_eq!(
            items.iter().map(|i| i.status).collect::<Vec<_>>(),
            vec![201, 409, 429, 400]
        );
        assert_eq!(
            items[0].index.as_deref(),
            Some(".ds-logs-a-2026.11.24-000001")
        );
        assert_eq!(
            items[3].error_type.as_deref(),
            Some("mapper_parsing_exception")
        );
        assert_eq!(
            items[1].error_reason.as_deref(),
            Some("[2]: version conflict, document already exists")
        );
        assert!(items.iter().all(|i| !i.failure_store));
    }

    #[test]
    fn a_document_kept_in_the_failure_store_is_flagged() {
        let body = br#"{"errors":false,"items":[{"create":{"_index":".fs-logs-a-2026.11.24-000002","status":201,"failure_store":"used"}}]}"#;
        let items = parse(body, 1).unwrap();
        assert!(items[0].failure_store);
        assert_eq!(items[0].status, 201);
    }

    #[test]
    fn a_200_without_items_is_not_all_created_issue_10() {
        // What the shipper counted as "all indexed" before: a proxy's `{}`, `errors:false`
        // alone, an empty item list.
        for body in [
            &b"{}"[..],
            br#"{"errors":false}"#,
            br#"{"errors":false,"items":[]}"#,
        ] {
            assert_eq!(parse(body, 3), Err(ResponseError::NoItems { sent: 3 }));
        }
        // A truncated body is not JSON.
        assert!(matches!(
            parse(br#"{"errors":false,"items":[{"create":{"status":201}}"#, 2),
            Err(ResponseError::NotJson(_))
        ));
    }

    #[test]
    fn a_short_item_list_is_an_error_not_a_guess() {
        let e = parse(br#"{"errors":true,"items":[{"create":{"status":201}}]}"#, 2).unwrap_err();
        assert_eq!(e, ResponseError::ItemCount { sent: 2, got: 1 });
        assert!(matches!(
            parse(b"<html>", 1),
            Err(ResponseError::NotJson(_))
        ));
    }

    #[test]
    fn an_item_without_status_reads_as_status_zero() {
        let items = parse(br#"{"items":[{"create":{}},{}]}"#, 2).unwrap();
        assert_eq!(items[0].status, 0);
        assert_eq!(items[1].status, 0);
    }
}
