//! The test server's own behaviour, request by request, against raw HTTP.

use super::*;
use std::io::Write;

const FP: &str = shipper::request_builder::FILTER_PATH;

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn post_ndjson(url: &str, path: &str, body: &str) -> (u16, HeaderMap, Value) {
    let r = client()
        .post(format!("{url}{path}"))
        .header("content-type", "application/x-ndjson")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let h = r.headers().clone();
    let v = r.json::<Value>().await.unwrap_or(Value::Null);
    (status, h, v)
}

fn statuses(v: &Value) -> Vec<u64> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i.as_object().unwrap().values().next().unwrap()["status"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

fn item(v: &Value, i: usize) -> &Value {
    v["items"][i].as_object().unwrap().values().next().unwrap()
}

#[tokio::test]
async fn the_root_answers_like_elasticsearch_9() {
    let s = BulkServer::with_defaults().await;
    let r = client().get(s.url()).send().await.unwrap();
    assert_eq!(r.headers()["x-elastic-product"], "Elasticsearch");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["version"]["number"], "9.5.0");
    assert_eq!(v["tagline"], "You Know, for Search");
}

#[tokio::test]
async fn a_bulk_answers_one_item_per_action_in_order_with_index_id_and_status() {
    let s = BulkServer::with_defaults().await;
    let body = concat!(
        "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"one\"}\n",
        "{\"create\":{\"_id\":\"2\"}}\n{\"@timestamp\":\"2026-11-24T09:00:01Z\",\"message\":\"two\"}\n",
        "{\"index\":{\"_index\":\"plain\",\"_id\":\"3\"}}\n{\"n\":1}\n",
        "{\"delete\":{\"_index\":\"plain\",\"_id\":\"nope\"}}\n",
    );
    let (status, _, v) = post_ndjson(s.url(), "/logs-a-default/_bulk", body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(statuses(&v), vec![201, 201, 201, 404]);
    assert_eq!(v["errors"], false);
    assert!(v["took"].is_u64());
    assert!(
        item(&v, 0)["_index"]
            .as_str()
            .unwrap()
            .starts_with(".ds-logs-a-default-")
    );
    assert_eq!(item(&v, 1)["_id"], "2");
    assert_eq!(item(&v, 2)["_index"], "plain");
    assert_eq!(item(&v, 0)["result"], "created");
    assert!(v["items"][3].get("delete").is_some());
    assert_eq!(s.count("logs-a-default"), 2);
    assert_eq!(s.count("plain"), 1);
}

#[tokio::test]
async fn create_of_an_existing_id_is_an_item_409_version_conflict_and_stores_nothing_new() {
    let s = BulkServer::with_defaults().await;
    let line = "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"x\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"m\"}\n";
    let (_, _, first) = post_ndjson(s.url(), "/_bulk", line).await;
    assert_eq!(statuses(&first), vec![201]);
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &line.repeat(2)).await;
    assert_eq!(status, 200);
    assert_eq!(statuses(&v), vec![409, 409]);
    assert_eq!(v["errors"], true);
    assert_eq!(
        item(&v, 0)["error"]["type"],
        "version_conflict_engine_exception"
    );
    assert!(
        item(&v, 0)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("document already exists")
    );
    assert_eq!(s.count("logs-a-default"), 1);
    assert_eq!(s.writes("logs-a-default", "x"), 1);
    assert!(s.duplicates().is_empty());
}

#[tokio::test]
async fn a_data_stream_refuses_index_ops_and_documents_without_timestamp() {
    // Elasticsearch before 9.2: no failure store in `logs@settings`.
    let s = BulkServer::start(Settings {
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    let body = concat!(
        "{\"index\":{\"_index\":\"logs-a-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\"}\n",
        "{\"create\":{\"_index\":\"logs-a-default\",\"_id\":\"2\"}}\n{\"message\":\"no timestamp\"}\n",
        "{\"index\":{\"_index\":\"logs-nodash\",\"_id\":\"3\"}}\n{\"message\":\"not a data stream name\"}\n",
    );
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", body).await;
    assert_eq!(statuses(&v), vec![400, 400, 201]);
    assert_eq!(item(&v, 0)["error"]["type"], "illegal_argument_exception");
    assert_eq!(
        item(&v, 0)["error"]["reason"],
        "only write ops with an op_type of create are allowed in data streams"
    );
    assert_eq!(item(&v, 1)["error"]["type"], "document_parsing_exception");
    assert!(
        item(&v, 1)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("[@timestamp] is missing")
    );
}

/// The server parses and writes a request a few documents at a time (`WRITE_CHUNK`); a
/// request several times that long is still one request: its items answered in order, each
/// with its own outcome, and what an earlier document wrote (a field's type, an id) holding
/// for the later ones across the chunks' edges.
#[tokio::test]
async fn a_request_longer_than_a_write_chunk_is_answered_item_by_item_in_order() {
    let s = BulkServer::with_defaults().await;
    let n = WRITE_CHUNK * 2 + 50;
    let edge = WRITE_CHUNK;
    let mut body = String::new();
    let mut expected = Vec::new();
    for i in 0..n {
        let (id, src, status) = if [edge - 1, edge, edge + 1].contains(&i) {
            (i.to_string(), "{\"n\": 1,".to_owned(), 400)
        } else if i == edge + 20 {
            // The id of document 5, written a chunk before.
            ("5".to_owned(), "{\"n\": 2}".to_owned(), 409)
        } else if i == 2 * edge + 10 {
            // `n` was mapped as a long by document 0.
            (i.to_string(), "{\"n\": \"x\"}".to_owned(), 400)
        } else {
            (i.to_string(), format!("{{\"n\": {i}}}"), 201)
        };
        body.push_str(&format!(
            "{{\"create\":{{\"_index\":\"plain-chunks\",\"_id\":\"{id}\"}}}}\n{src}\n"
        ));
        expected.push((id, status));
    }
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &body).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["errors"], true);
    let got: Vec<(String, u64)> = (0..n)
        .map(|i| {
            let it = item(&v, i);
            (
                it["_id"].as_str().unwrap().to_owned(),
                it["status"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = expected
        .into_iter()
        .map(|(id, st)| (id, st as u64))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(v["items"].as_array().unwrap().len(), n);
    assert_eq!(
        item(&v, edge)["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(
        item(&v, edge + 20)["error"]["type"],
        "version_conflict_engine_exception"
    );
    assert!(
        item(&v, 2 * edge + 10)["error"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("failed to parse field [n] of type [long]"),
        "{v}"
    );
    assert_eq!(s.count("plain-chunks"), n - 5);
    assert_eq!(s.doc("plain-chunks", "5").unwrap()["n"], 5);
}

#[tokio::test]
async fn in_an_index_without_template_the_first_type_of_a_field_fixes_it_and_a_conflict_is_an_item_400()
 {
    let s = BulkServer::with_defaults().await;
    let t = "plain-m";
    let doc = |id: &str, src: &str| {
        format!("{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"{id}\"}}}}\n{src}\n")
    };
    let body = [
        doc("1", r#"{"http":{"response":{"status_code":200}}}"#),
        // Coerced: a numeric string into a long is fine.
        doc("2", r#"{"http":{"response":{"status_code":"201"}}}"#),
        doc("3", r#"{"http":{"response":{"status_code":"ok"}}}"#),
        // The same conflict, written as a dotted key.
        doc("4", r#"{"http.response.status_code":"nope"}"#),
        // An object field receiving a scalar.
        doc("5", r#"{"http":"flat"}"#),
        // Date detection: a date-looking string fixes `seen` as a date.
        doc("6", r#"{"seen":"2026-11-24T09:00:00Z"}"#),
        doc("7", r#"{"seen":"yesterday"}"#),
    ]
    .concat();
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &body).await;
    assert_eq!(statuses(&v), vec![201, 201, 400, 400, 400, 201, 400], "{v}");
    let e3 = &item(&v, 2)["error"];
    assert_eq!(e3["type"], "document_parsing_exception");
    assert_eq!(
        e3["reason"],
        "failed to parse field [http.response.status_code] of type [long] in document with id '3'. Preview of field's value: 'ok'"
    );
    assert_eq!(e3["caused_by"]["type"], "number_format_exception");
    assert!(
        item(&v, 4)["error"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("object mapping for [http] tried to parse field [http] as object")
    );
    assert_eq!(
        s.field_type(t, "http.response.status_code").as_deref(),
        Some("long")
    );
    assert_eq!(s.field_type(t, "seen").as_deref(), Some("date"));
    assert_eq!(s.count(t), 3);
    // A refused document adds no mapping.
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &doc("10", r#"{"new":1,"http":5}"#)).await;
    assert_eq!(statuses(&v), vec![400]);
    assert_eq!(s.field_type(t, "new"), None);
}

#[tokio::test]
async fn after_shipper_setup_mappings_come_from_its_templates_and_logs_settings_ignore_malformed_values()
 {
    // `shipper setup` against the server: the shipper's templates, composed with the built-in
    // `logs@mappings`, `logs@settings` (ignore_malformed) and `ecs@mappings`.
    let s = BulkServer::with_setup(Settings {
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    let t = "logs-cloudwatch.m-default";
    let doc = |id: &str, src: &str| {
        format!("{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"{id}\"}}}}\n{src}\n")
    };
    let ts = r#""@timestamp":"2026-11-24T09:00:00Z""#;
    let body = [
        doc("1", &format!(r#"{{{ts},"message":"m","http":{{"response":{{"status_code":200}}}},"app":{{"status":200}}}}"#)),
        // ignore_malformed: the value is dropped from the index, the document kept.
        doc("2", &format!(r#"{{{ts},"http":{{"response":{{"status_code":"ok"}}}}}}"#)),
        // …but not for `@timestamp` of a data stream, nor for objects and keywords.
        doc("3", r#"{"@timestamp":"yesterday"}"#),
        doc("4", &format!(r#"{{{ts},"log":{{"level":{{"n":1}}}}}}"#)),
        doc("5", &format!(r#"{{{ts},"http":"flat"}}"#)),
        // Under the flattened `app`, any type goes.
        doc("6", &format!(r#"{{{ts},"app":{{"status":"ok","nested":{{"x":[1,"a",true]}}}}}}"#)),
        // constant_keyword: the first dataset value fixes it.
        doc("7", &format!(r#"{{{ts},"data_stream":{{"dataset":"cloudwatch.m"}}}}"#)),
        doc("8", &format!(r#"{{{ts},"data_stream":{{"dataset":"other"}}}}"#)),
        // ecs@mappings: an unmapped string is a keyword, ignored above 1024 characters.
        doc("9", &format!(r#"{{{ts},"extra":"{}"}}"#, "x".repeat(1100))),
    ]
    .concat();
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &body).await;
    assert_eq!(
        statuses(&v),
        vec![201, 201, 400, 400, 400, 201, 201, 400, 201],
        "{v}"
    );
    assert_eq!(
        s.ignored(t, "2"),
        vec!["http.response.status_code".to_owned()]
    );
    assert_eq!(s.ignored(t, "9"), vec!["extra".to_owned()]);
    assert!(s.ignored(t, "1").is_empty());
    assert!(
        item(&v, 2)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("failed to parse field [@timestamp] of type [date]"),
        "{v}"
    );
    assert!(
        item(&v, 7)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("[constant_keyword] field [data_stream.dataset]")
    );
    for (path, ty) in [
        ("message", "match_only_text"),
        ("app", "flattened"),
        ("http.response.status_code", "long"),
        ("log.level", "keyword"),
        ("data_stream.dataset", "constant_keyword"),
        ("extra", "keyword"),
    ] {
        assert_eq!(s.field_type(t, path).as_deref(), Some(ty), "{path}");
    }
    // The same conflict in index mode (no `logs@settings`): refused.
    s.setup(shipper::setup::Target::Index).await;
    let (_, _, v) = post_ndjson(
        s.url(),
        "/_bulk",
        &format!(
            "{{\"create\":{{\"_index\":\"cloudwatch-2026.11.24\",\"_id\":\"1\"}}}}\n{{{ts},\"http\":{{\"response\":{{\"status_code\":\"ok\"}}}}}}\n"
        ),
    )
    .await;
    assert_eq!(statuses(&v), vec![400], "{v}");
    assert_eq!(
        s.field_type("cloudwatch-2026.11.24", "app").as_deref(),
        Some("flattened")
    );
}

#[tokio::test]
async fn from_9_2_the_failure_store_keeps_what_the_mappings_refuse_and_answers_201() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let t = "logs-cloudwatch.fs-default";
    let body = format!(
        "{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"a\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"log\":{{\"level\":{{\"n\":1}}}}}}\n\
         {{\"create\":{{\"_index\":\"{t}\",\"_id\":\"b\"}}}}\n{{\"message\":\"no timestamp\"}}\n\
         {{\"create\":{{\"_index\":\"{t}\",\"_id\":\"c\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\"}}\n"
    );
    let (_, _, v) = post_ndjson(s.url(), &format!("/_bulk?filter_path={FP}"), &body).await;
    assert_eq!(statuses(&v), vec![201, 201, 201], "{v}");
    assert_eq!(item(&v, 0)["failure_store"], "used");
    assert!(
        item(&v, 0)["_index"]
            .as_str()
            .unwrap()
            .starts_with(&format!(".fs-{t}-"))
    );
    assert!(item(&v, 2).get("failure_store").is_none());
    assert_eq!(s.count(t), 1);
    let kept = s.failure_store_docs(t);
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0]["document"]["id"], "a");
    assert_eq!(kept[0]["error"]["type"], "document_parsing_exception");
}

#[tokio::test]
async fn a_rollover_makes_a_new_write_index_and_create_of_a_stored_id_is_accepted_again() {
    let s = BulkServer::with_setup(Settings::default()).await;
    let t = "logs-cloudwatch.r-default";
    let line = format!(
        "{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"x\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\"}}\n"
    );
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line).await;
    let first = item(&v, 0)["_index"].as_str().unwrap().to_owned();
    assert!(first.ends_with("-000001"), "{first}");
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line).await;
    assert_eq!(statuses(&v), vec![409]);
    // POST <ds>/_rollover, as ILM's rollover action does.
    let r: Value = client()
        .post(format!("{}/{t}/_rollover", s.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["rolled_over"], true);
    assert_eq!(r["old_index"], first.as_str());
    let second = r["new_index"].as_str().unwrap().to_owned();
    assert!(second.ends_with("-000002"), "{second}");
    // The 409 is scoped to one backing index (elastic/elasticsearch#44794).
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line).await;
    assert_eq!(statuses(&v), vec![201]);
    assert_eq!(item(&v, 0)["_index"], second.as_str());
    assert_eq!(s.duplicates(), vec![(t.to_owned(), "x".to_owned(), 2)]);
    assert_eq!(s.created_twice(), vec![(t.to_owned(), "x".to_owned())]);
    // GET _data_stream lists the backing indices, the write index last.
    let d: Value = client()
        .get(format!("{}/_data_stream/{t}", s.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let names: Vec<&str> = d["data_streams"][0]["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["index_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec![first.as_str(), second.as_str()]);
    assert_eq!(d["data_streams"][0]["generation"], 2);
    // Each backing index has its creation date.
    let st: Value = client()
        .get(format!(
            "{}/{t}/_settings/index.creation_date?flat_settings=true",
            s.url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        st[&first]["settings"]["index.creation_date"].is_string(),
        "{st}"
    );
    assert!(
        st[&second]["settings"]["index.creation_date"].is_string(),
        "{st}"
    );
    // An ids search covers every backing index; _mget names one.
    let hits: Value = client()
        .post(format!(
            "{}/{t}/_search?filter_path=hits.hits._id,hits.hits._index",
            s.url()
        ))
        .json(&json!({"size": 10, "_source": false, "query": {"ids": {"values": ["x", "y"]}}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hits["hits"]["hits"].as_array().unwrap().len(), 2, "{hits}");
    let m: Value = client()
        .post(format!(
            "{}/{first}/_mget?filter_path=docs._id,docs.found",
            s.url()
        ))
        .json(&json!({"ids": ["x", "y"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        m,
        json!({"docs": [{"_id": "x", "found": true}, {"_id": "y", "found": false}]})
    );
    // A delete must name the backing index; the data stream name is refused.
    let del = format!(
        "{{\"delete\":{{\"_index\":\"{second}\",\"_id\":\"x\"}}}}\n{{\"delete\":{{\"_index\":\"{t}\",\"_id\":\"x\"}}}}\n"
    );
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &del).await;
    assert_eq!(statuses(&v), vec![200, 400], "{v}");
    assert!(s.duplicates().is_empty());
    assert_eq!(
        s.created_twice().len(),
        1,
        "once created twice stays on record"
    );
    // Rolling over something that isn't a data stream is refused.
    let r = client()
        .post(format!("{}/plain/_rollover", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_closed_index_refuses_writes_with_index_closed_exception_and_a_deleted_one_is_recreated()
{
    let s = BulkServer::with_defaults().await;
    let line = "{\"create\":{\"_index\":\"cloudwatch-2026.11.01\",\"_id\":\"1\"}}\n{\"m\":1}\n";
    post_ndjson(s.url(), "/_bulk", line).await;
    let r = client()
        .post(format!("{}/cloudwatch-2026.11.01/_close", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", line).await;
    assert_eq!(statuses(&v), vec![400]);
    assert_eq!(item(&v, 0)["error"]["type"], "index_closed_exception");
    let r = client()
        .delete(format!("{}/cloudwatch-2026.11.01", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", line).await;
    assert_eq!(statuses(&v), vec![201], "a deleted index is created again");
}

#[tokio::test]
async fn without_auto_configure_a_new_data_stream_is_an_item_403_and_existing_ones_take_writes() {
    let s = BulkServer::start(Settings {
        credentials: vec![Credential::ApiKey(
            base64::engine::general_purpose::STANDARD
                .encode("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"),
        )],
        ..Settings::default()
    })
    .await;
    let key = base64::engine::general_purpose::STANDARD
        .encode("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw");
    let send = |target: &'static str| {
        client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .header("authorization", format!("ApiKey {key}"))
            .body(format!("{{\"create\":{{\"_index\":\"{target}\",\"_id\":\"1\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\"}}\n"))
            .send()
    };
    let v: Value = send("logs-old-default")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(statuses(&v), vec![201]);
    s.set_no_auto_configure(true);
    let v: Value = send("logs-new-default")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(statuses(&v), vec![403]);
    assert_eq!(item(&v, 0)["error"]["type"], "security_exception");
    assert_eq!(
        item(&v, 0)["error"]["reason"],
        "action [indices:admin/auto_create] is unauthorized for API key id [VuaCfGcBCdbkQm-e5aOx] of user [shipper] on indices [logs-new-default], this action is granted by the index privileges [auto_configure,create_index,manage,all]"
    );
    let v: Value = send("logs-old-default")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        statuses(&v),
        vec![409],
        "an existing data stream needs no auto_configure"
    );
}

#[tokio::test]
async fn action_auto_create_index_refuses_new_targets_with_an_item_404_unless_a_template_allows_it()
{
    let s = BulkServer::with_defaults().await;
    let line = |t: &str| {
        format!(
            "{{\"create\":{{\"_index\":\"{t}\",\"_id\":\"1\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\"}}\n"
        )
    };
    s.set_auto_create_index(AutoCreate::False);
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line("logs-a-default")).await;
    assert_eq!(statuses(&v), vec![404]);
    assert_eq!(item(&v, 0)["error"]["type"], "index_not_found_exception");
    assert_eq!(
        item(&v, 0)["error"]["reason"],
        "no such index [logs-a-default] and [action.auto_create_index] is [false]"
    );
    s.set_auto_create_index(AutoCreate::Patterns(vec!["-logs-*".into(), "*".into()]));
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line("logs-a-default")).await;
    assert!(
        item(&v, 0)["error"]["reason"]
            .as_str()
            .unwrap()
            .contains("contains [-logs-*] which forbids")
    );
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line("other")).await;
    assert_eq!(statuses(&v), vec![201]);
    // A template's allow_auto_create wins over the setting.
    let r = client()
        .put(format!("{}/_index_template/allowed", s.url()))
        .json(&json!({"index_patterns": ["logs-allowed-*"], "priority": 300, "data_stream": {}, "allow_auto_create": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (_, _, v) = post_ndjson(s.url(), "/_bulk", &line("logs-allowed-default")).await;
    assert_eq!(statuses(&v), vec![201], "{v}");
}

#[tokio::test]
async fn a_request_429_refuses_the_whole_request_and_shard_faults_hit_every_item_of_a_shard() {
    let s = BulkServer::with_defaults().await;
    // Three shards, so items spread over them.
    let r = client()
        .put(format!("{}/_index_template/sharded", s.url()))
        .json(&json!({"index_patterns": ["sharded-*"], "template": {"settings": {"number_of_shards": 3}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    s.set_faults(Faults {
        request_429_rate: 1.0,
        ..Faults::default()
    });
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("sharded-a", 2)).await;
    assert_eq!(status, 429);
    assert_eq!(v["error"]["type"], "es_rejected_execution_exception");
    assert!(
        v["error"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("rejected execution of coordinating operation")
    );
    assert_eq!(s.count("sharded-a"), 0);
    s.set_faults(Faults {
        seed: 5,
        shard_503_rate: 0.5,
        shard_429_rate: 0.5,
        ..Faults::default()
    });
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("sharded-a", 60)).await;
    assert_eq!(status, 200);
    // Items of one shard share one fate.
    let mut fate: BTreeMap<String, u64> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for i in 0..60 {
        let it = item(&v, i);
        let st = it["status"].as_u64().unwrap();
        seen.insert(st);
        let shard = match st {
            503 => {
                let r = it["error"]["reason"].as_str().unwrap();
                assert!(
                    r.contains("primary shard is not active Timeout: [1m]"),
                    "{r}"
                );
                r.split("][")
                    .nth(1)
                    .unwrap()
                    .split(']')
                    .next()
                    .unwrap()
                    .to_owned()
            }
            _ => continue,
        };
        assert_eq!(*fate.entry(shard).or_insert(st), st);
    }
    assert!(seen.len() >= 2, "{seen:?}");
}

#[tokio::test]
async fn a_200_without_items_applies_nothing() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            empty_200_rate: 1.0,
            ..Faults::default()
        },
        ..Settings::default()
    })
    .await;
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-e-default", 3)).await;
    assert_eq!((status, v), (200, json!({"errors": false})));
    assert_eq!(s.count("logs-e-default"), 0);
    assert_eq!(s.stats().empty_200, 1);
}

#[tokio::test]
async fn shipper_setup_runs_against_the_server_and_every_template_it_sends_is_kept() {
    let s = BulkServer::with_setup(Settings::default()).await;
    for (path, key) in [
        ("/_index_template/logs-cloudwatch", "index_templates"),
        (
            "/_component_template/cloudwatch-shipper@ecs-mappings",
            "component_templates",
        ),
    ] {
        let v: Value = client()
            .get(format!("{}{path}", s.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v[key].as_array().map(Vec::len), Some(1), "{path}: {v}");
    }
    let r = client()
        .get(format!(
            "{}/_ilm/policy/{}",
            s.url(),
            shipper::setup::ILM_POLICY
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_malformed_action_line_fails_the_whole_request_with_400() {
    let s = BulkServer::with_defaults().await;
    let cases = [
        (
            "{\"upsert\":{\"_id\":\"1\"}}\n{}\n",
            "illegal_argument_exception",
            "expected field [create], [delete], [index] or [update] but found [upsert]",
        ),
        (
            "[1]\n",
            "illegal_argument_exception",
            "Malformed action/metadata line [1], expected START_OBJECT or END_OBJECT but found [START_ARRAY]",
        ),
        (
            "{\"create\":{\"_index\":\"i\"}}\n{}\n\n",
            "illegal_argument_exception",
            "Malformed action/metadata line [3]",
        ),
        (
            "{\"create\":{\"_index\":\"i\",\"bogus\":1}}\n{}\n",
            "illegal_argument_exception",
            "contains an unknown parameter [bogus]",
        ),
        (
            "{\"create\":{\"_index\":\"i\"}}\n{}",
            "illegal_argument_exception",
            "The bulk request must be terminated by a newline [\\n]",
        ),
        ("not json\n", "x_content_parse_exception", "[1:"),
        (
            "{\"create\":{}}\n{}\n",
            "action_request_validation_exception",
            "index is missing",
        ),
    ];
    for (body, etype, reason) in cases {
        // With the shipper's filter_path: error answers are never filtered.
        let (status, _, v) = post_ndjson(s.url(), &format!("/_bulk?filter_path={FP}"), body).await;
        assert_eq!(status, 400, "{body:?}: {v}");
        assert_eq!(v["status"], 400);
        assert_eq!(v["error"]["type"], etype, "{body:?}: {v}");
        assert!(
            v["error"]["reason"].as_str().unwrap().contains(reason),
            "{body:?}: {v}"
        );
        assert_eq!(v["error"]["root_cause"][0]["type"], etype);
    }
    assert!(
        s.targets().is_empty(),
        "nothing of a refused request is applied"
    );
}

#[tokio::test]
async fn a_bulk_without_an_ndjson_or_json_content_type_is_406() {
    let s = BulkServer::with_defaults().await;
    let body = "{\"create\":{\"_index\":\"i\",\"_id\":\"1\"}}\n{}\n";
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "text/plain")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 406);
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/json; charset=UTF-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(b).unwrap();
    e.finish().unwrap()
}

#[tokio::test]
async fn a_gzipped_body_is_inflated_and_filter_path_keeps_only_what_the_shipper_asks_for() {
    let s = BulkServer::with_defaults().await;
    let body = concat!(
        "{\"create\":{\"_index\":\"plain-g\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"n\":1}\n",
        "{\"create\":{\"_index\":\"plain-g\",\"_id\":\"2\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"n\":\"x\"}\n",
    );
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .query(&[("filter_path", FP)])
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(gzip(body.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    let reason = "failed to parse field [n] of type [long] in document with id '2'. Preview of field's value: 'x'";
    assert_eq!(
        v,
        json!({"errors": true, "items": [
            {"create": {"_index": "plain-g", "status": 201}},
            {"create": {"_index": "plain-g", "status": 400, "error": {"type": "document_parsing_exception", "reason": reason}}}
        ]})
    );
    assert_eq!(s.count("plain-g"), 1);
    // A corrupt gzip body is a 400, not a crash.
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(b"\x1f\x8bnot gzip".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[test]
fn filter_path_supports_wildcards_double_wildcards_and_drops_empty_branches() {
    let v = json!({"took": 3, "errors": false, "items": [{"create": {"_id": "1", "status": 201}}, {"index": {"status": 200, "error": {"type": "t", "reason": "r", "x": 1}}}], "a": {"b": {"c": 1, "d": 2}}});
    assert_eq!(filter_path(v.clone(), "errors"), json!({"errors": false}));
    assert_eq!(
        filter_path(v.clone(), "items.*.status"),
        json!({"items": [{"create": {"status": 201}}, {"index": {"status": 200}}]})
    );
    assert_eq!(
        filter_path(v.clone(), "items.*.error.type"),
        json!({"items": [{"index": {"error": {"type": "t"}}}]})
    );
    assert_eq!(
        filter_path(v.clone(), "**.c"),
        json!({"a": {"b": {"c": 1}}})
    );
    assert_eq!(
        filter_path(v.clone(), "a.*.d,took"),
        json!({"took": 3, "a": {"b": {"d": 2}}})
    );
    assert_eq!(filter_path(v.clone(), "nothing.here"), json!({}));
    assert_eq!(
        filter_path(v.clone(), "ite*.create._id"),
        json!({"items": [{"create": {"_id": "1"}}]})
    );
}

/// The `_bulk` answer is written item by item as the items are made (`wire::BulkAnswer`); it
/// must be, byte for byte, `filter_path` over the whole answer as one tree: for the shipper's
/// spec, for specs with `*` and `**`, and for ones that keep some items, none, or nothing.
#[test]
fn a_bulk_answer_written_item_by_item_is_the_whole_answer_filtered() {
    let items = [
        json!({"create": {"_index": ".ds-logs-a-default-2026.11.27-000001", "_id": "1", "_version": 1,
            "result": "created", "_shards": {"total": 2, "successful": 1, "failed": 0},
            "_seq_no": 1, "_primary_term": 1, "status": 201}}),
        json!({"create": {"_index": ".ds-logs-a-default-2026.11.27-000001", "_id": "2", "status": 409,
            "error": {"type": "version_conflict_engine_exception", "reason": "[2]: version conflict, \"quoted\"",
            "index_uuid": "u", "shard": "0", "index": "i"}}}),
        json!({"index": {"_index": "x", "_id": "3", "status": 400, "error": {"type": "document_parsing_exception",
            "reason": "r", "caused_by": {"type": "t", "reason": "c"}}}}),
        json!({"create": {"_index": ".fs-logs-a-default-2026.11.27-000002", "_id": "4", "status": 201,
            "failure_store": "used"}}),
        json!({"delete": {"_index": "x", "_id": "5", "_version": 1, "status": 404, "result": "not_found"}}),
    ];
    let specs = [
        None,
        Some(FP),
        Some("errors"),
        Some("took"),
        Some("items"),
        Some("items.*.status"),
        Some("items.create"),
        Some("items.*.error"),
        Some("items.*.error.caused_by.type,errors"),
        Some("it*.*._id,took"),
        Some("*"),
        Some("**"),
        Some("**.status"),
        Some("**.error.**"),
        Some("nothing.here"),
        Some("-took"),
        Some(""),
    ];
    let mut compared = 0;
    for n in 1..=items.len() {
        for errors in [false, true] {
            for spec in specs {
                let whole = json!({"errors": errors, "took": 7, "items": items[..n]});
                let expected = match spec {
                    None => whole.to_string(),
                    Some(s) => filter_path(whole, s).to_string(),
                };
                let paths = spec.map(wire::filter_paths);
                let mut answer = wire::BulkAnswer::new(paths.as_deref());
                for item in &items[..n] {
                    answer.push(item.clone());
                }
                let got = String::from_utf8(answer.finish(errors, 7)).unwrap();
                assert_eq!(got, expected, "filter_path {spec:?}, {n} items");
                compared += 1;
            }
        }
    }
    assert_eq!(compared, 5 * 2 * specs.len());
}

#[tokio::test]
async fn a_body_over_http_max_content_length_after_inflating_is_413_for_the_whole_request() {
    let s = BulkServer::start(Settings {
        max_content_length: 4096,
        ..Settings::default()
    })
    .await;
    let one = "{\"create\":{\"_index\":\"logs-l-default\",\"_id\":\"ID\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"message\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}\n";
    let body: String = (0..60).map(|i| one.replace("ID", &i.to_string())).collect();
    let small: String = (0..10).map(|i| one.replace("ID", &i.to_string())).collect();
    assert!(body.len() > 4096 && small.len() < 4096);
    let z = gzip(body.as_bytes());
    assert!(
        z.len() < 4096,
        "compressed it fits, but the limit is on the inflated body"
    );
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/x-ndjson")
        .header("content-encoding", "gzip")
        .body(z)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let (status, _, _) = post_ndjson(s.url(), "/_bulk", &body).await;
    assert_eq!(status, 413);
    assert_eq!(
        s.count("logs-l-default"),
        0,
        "nothing of a 413 request is applied"
    );
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &small).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(s.stats().bulk(413), 2);
}

#[tokio::test]
async fn with_security_on_missing_or_wrong_credentials_get_401_with_www_authenticate() {
    let s = BulkServer::start(Settings {
        credentials: vec![
            Credential::Basic {
                user: "elastic".into(),
                password: "s3cret".into(),
            },
            Credential::ApiKey("a2V5aWQ6a2V5".into()),
        ],
        ..Settings::default()
    })
    .await;
    let body = "{\"create\":{\"_index\":\"logs-s-default\",\"_id\":\"1\"}}\n{\"@timestamp\":\"2026-11-24T09:00:00Z\"}\n";
    let send = |auth: Option<(&'static str, String)>| {
        let mut r = client()
            .post(format!("{}/_bulk", s.url()))
            .header("content-type", "application/x-ndjson")
            .body(body);
        if let Some((k, v)) = auth {
            r = r.header(k, v);
        }
        r.send()
    };
    for (auth, reason) in [
        (
            None,
            "missing authentication credentials for REST request [/_bulk]",
        ),
        (
            Some((
                "authorization",
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode("elastic:wrong")
                ),
            )),
            "unable to authenticate user [elastic] for REST request [/_bulk]",
        ),
        (
            Some(("authorization", "ApiKey bm9wZTpub3Bl".to_owned())),
            "unable to authenticate with provided credentials",
        ),
    ] {
        let r = send(auth).await.unwrap();
        assert_eq!(r.status(), 401);
        let schemes: Vec<_> = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            schemes,
            vec![
                r#"Basic realm="security", charset="UTF-8""#.to_owned(),
                "ApiKey".to_owned()
            ]
        );
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["status"], 401);
        assert_eq!(v["error"]["type"], "security_exception");
        assert!(
            v["error"]["reason"].as_str().unwrap().starts_with(reason),
            "{v}"
        );
    }
    assert_eq!(s.count("logs-s-default"), 0);
    let r = client()
        .get(s.url())
        .basic_auth("elastic", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = send(Some(("authorization", "ApiKey a2V5aWQ6a2V5".to_owned())))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(s.count("logs-s-default"), 1);
}

fn docs_body(target: &str, n: usize) -> String {
    (0..n).map(|i| format!("{{\"create\":{{\"_index\":\"{target}\",\"_id\":\"{i}\"}}}}\n{{\"@timestamp\":\"2026-11-24T09:00:00Z\",\"i\":{i}}}\n")).collect()
}

#[tokio::test]
async fn injected_faults_are_deterministic_by_seed() {
    let faults = Faults {
        seed: 42,
        item_429_rate: 0.2,
        item_400_rate: 0.1,
        burst_503_rate: 0.2,
        burst_503_len: 2,
        ..Faults::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let s = BulkServer::start(Settings {
            faults: faults.clone(),
            logs_failure_store: false,
            ..Settings::default()
        })
        .await;
        let mut seen = Vec::new();
        for round in 0..8 {
            let (status, _, v) = post_ndjson(
                s.url(),
                "/_bulk",
                &docs_body(&format!("logs-f{round}-default"), 50),
            )
            .await;
            seen.push((status, if status == 200 { statuses(&v) } else { vec![] }));
        }
        runs.push((seen, s.stats().injected_400));
    }
    assert_eq!(runs[0], runs[1]);
    let all: Vec<u64> = runs[0].0.iter().flat_map(|(_, s)| s.clone()).collect();
    assert!(
        all.contains(&429) && all.contains(&400) && all.contains(&201),
        "{all:?}"
    );
    assert!(runs[0].0.iter().any(|(s, _)| *s == 503));
}

#[tokio::test]
async fn an_injected_400_is_permanent_for_that_document_and_never_hits_a_stored_id() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            seed: 3,
            item_400_rate: 0.3,
            ..Faults::default()
        },
        logs_failure_store: false,
        ..Settings::default()
    })
    .await;
    let body = docs_body("logs-p-default", 40);
    let (_, _, first) = post_ndjson(s.url(), "/_bulk", &body).await;
    let (_, _, second) = post_ndjson(s.url(), "/_bulk", &body).await;
    let (a, b) = (statuses(&first), statuses(&second));
    assert!(a.contains(&400));
    for (x, y) in a.iter().zip(&b) {
        match x {
            201 => assert_eq!(*y, 409),
            400 => assert_eq!(*y, 400),
            other => panic!("unexpected {other}"),
        }
    }
}

#[tokio::test]
async fn a_dropped_connection_gets_no_answer_and_a_drop_after_the_writes_keeps_them() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            seed: 1,
            drop_after_rate: 1.0,
            ..Faults::default()
        },
        ..Settings::default()
    })
    .await;
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/x-ndjson")
        .body(docs_body("logs-d-default", 3))
        .send()
        .await;
    assert!(r.is_err(), "expected no answer, got {r:?}");
    assert_eq!(s.count("logs-d-default"), 3);
    s.set_faults(Faults {
        seed: 1,
        drop_before_rate: 1.0,
        ..Faults::default()
    });
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/x-ndjson")
        .body(docs_body("logs-e-default", 3))
        .send()
        .await;
    assert!(r.is_err());
    assert_eq!(s.count("logs-e-default"), 0);
    assert_eq!(s.stats().dropped, 2);
    // The server still answers afterwards, on a new connection.
    s.set_faults(Faults::default());
    let (status, _, _) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-e-default", 3)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_slow_answer_arrives_after_the_configured_delay_with_the_writes_applied() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            slow_rate: 1.0,
            slow: Duration::from_millis(300),
            ..Faults::default()
        },
        ..Settings::default()
    })
    .await;
    let t0 = Instant::now();
    let r = client()
        .post(format!("{}/_bulk", s.url()))
        .header("content-type", "application/x-ndjson")
        .timeout(Duration::from_millis(100))
        .body(docs_body("logs-w-default", 2))
        .send()
        .await;
    assert!(r.unwrap_err().is_timeout());
    assert!(t0.elapsed() < Duration::from_millis(300));
    assert_eq!(s.count("logs-w-default"), 2);
    let t0 = Instant::now();
    let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-w-default", 2)).await;
    assert!(t0.elapsed() >= Duration::from_millis(300));
    assert_eq!((status, statuses(&v)), (200, vec![409, 409]));
}

#[tokio::test]
async fn a_503_burst_lasts_exactly_its_length() {
    let s = BulkServer::start(Settings {
        faults: Faults {
            burst_503_rate: 1.0,
            burst_503_len: 3,
            ..Faults::default()
        },
        ..Settings::default()
    })
    .await;
    for _ in 0..3 {
        let (status, _, v) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-u-default", 1)).await;
        assert_eq!(status, 503);
        assert_eq!(v["error"]["type"], "cluster_block_exception");
    }
    s.set_faults(Faults {
        burst_503_rate: 0.0,
        ..Faults::default()
    });
    let (status, _, _) = post_ndjson(s.url(), "/_bulk", &docs_body("logs-u-default", 1)).await;
    assert_eq!(status, 200);
    assert_eq!(s.stats().bulk(503), 3);
}

#[tokio::test]
async fn count_and_refresh_answer_for_existing_targets_and_404_for_unknown_ones() {
    let s = BulkServer::with_defaults().await;
    post_ndjson(s.url(), "/_bulk", &docs_body("logs-c-default", 4)).await;
    let conn = crate::support::connection(s.url());
    assert_eq!(
        crate::support::count(&conn, "logs-c-default", None).await,
        4
    );
    assert_eq!(crate::support::count(&conn, "logs-c-*", None).await, 4);
    let (status, v) =
        crate::support::es_json(&conn, reqwest::Method::GET, "nope/_count", None).await;
    assert_eq!(
        (status, v["error"]["type"].as_str()),
        (404, Some("index_not_found_exception"))
    );
}
