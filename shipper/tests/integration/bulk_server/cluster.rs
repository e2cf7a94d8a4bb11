//! The cluster's metadata: index and component templates (the built-in `logs` ones, and what
//! `shipper setup` puts), indices, data streams with backing indices, rollover, and how names
//! resolve for reads and writes.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use super::mapping::{Field, Mapping};
use super::wire::glob;

/// A stored document.
#[derive(Debug, Clone)]
pub struct Stored {
    pub source: Value,
    /// Fields whose value was not indexed (`ignore_malformed`, `ignore_above`).
    pub ignored: Vec<String>,
}

/// One index: a plain one, a data stream's backing index or a failure-store index.
#[derive(Debug)]
pub struct Index {
    pub name: String,
    /// `index.creation_date`, ms since the epoch.
    pub created_ms: i64,
    pub data_stream: Option<String>,
    pub failure_store: bool,
    /// `index.number_of_shards`: an item's shard is a hash of its `_id`.
    pub shards: u32,
    pub mapping: Mapping,
    pub docs: BTreeMap<String, Stored>,
    pub versions: HashMap<String, u64>,
    /// Successful writes per `_id`.
    pub writes: HashMap<String, u32>,
    pub auto_id: u64,
    /// Closed indices refuse reads and writes:
    /// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-close
    pub closed: bool,
    /// Flat settings as `GET _settings?flat_settings` shows them.
    pub settings: Map<String, Value>,
}

impl Index {
    pub fn new(
        name: &str,
        composed: &Composed,
        created_ms: i64,
        data_stream: Option<&str>,
        failure_store: bool,
    ) -> Index {
        let mut settings = composed.settings.clone();
        let shards = settings
            .get("index.number_of_shards")
            .and_then(|v| match v {
                Value::String(s) => s.parse().ok(),
                other => other.as_u64().map(|n| n as u32),
            })
            .unwrap_or(1)
            .max(1);
        settings.insert("index.creation_date".into(), json!(created_ms.to_string()));
        settings.insert("index.number_of_shards".into(), json!(shards.to_string()));
        settings.insert("index.provided_name".into(), json!(name));
        let mapping = if failure_store {
            // Failure-store documents have their own fixed mapping; not modelled beyond "accepts".
            Mapping::from_template(&json!({"dynamic": false}), &Map::new(), false)
        } else {
            Mapping::from_template(
                &composed.mappings,
                &composed.settings,
                data_stream.is_some(),
            )
        };
        Index {
            name: name.to_owned(),
            created_ms,
            data_stream: data_stream.map(str::to_owned),
            failure_store,
            shards,
            mapping,
            docs: BTreeMap::new(),
            versions: HashMap::new(),
            writes: HashMap::new(),
            auto_id: 0,
            closed: false,
            settings,
        }
    }

    pub fn shard_of(&self, id: &str) -> u32 {
        (fnv(id.as_bytes()) % u64::from(self.shards)) as u32
    }

    pub fn field(&self, path: &str) -> Option<&Field> {
        self.mapping.fields.get(path)
    }
}

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, x| {
        (h ^ u64::from(*x)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// https://www.elastic.co/docs/manage-data/data-store/data-streams
#[derive(Debug)]
pub struct DataStream {
    pub name: String,
    /// Backing indices, oldest first; the last one is the write index.
    pub indices: Vec<String>,
    pub failure_indices: Vec<String>,
    /// https://www.elastic.co/docs/manage-data/data-store/data-streams/failure-store
    pub failure_store: bool,
    /// Backing and failure indices share one generation counter.
    pub generation: u64,
    pub template: String,
}

impl DataStream {
    pub fn write_index(&self) -> &str {
        self.indices.last().map_or("", String::as_str)
    }
}

/// A composable index template: https://www.elastic.co/docs/manage-data/data-store/templates
#[derive(Debug, Clone)]
pub struct Template {
    pub name: String,
    pub patterns: Vec<String>,
    pub priority: i64,
    pub data_stream: bool,
    pub composed_of: Vec<String>,
    pub ignore_missing: Vec<String>,
    /// The template's own `template` block (settings, mappings, data_stream_options).
    pub body: Value,
    /// https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-put-index-template
    /// (`allow_auto_create` overrides `action.auto_create_index`).
    pub allow_auto_create: Option<bool>,
    /// As `PUT` received it (for `GET`).
    pub raw: Value,
}

impl Template {
    pub fn from_json(name: &str, v: &Value) -> Result<Template, String> {
        let patterns: Vec<String> = match v.get("index_patterns") {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => return Err("index_patterns is missing".into()),
        };
        let list = |k: &str| -> Vec<String> {
            v.get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        Ok(Template {
            name: name.to_owned(),
            patterns,
            priority: v.get("priority").and_then(Value::as_i64).unwrap_or(0),
            data_stream: v.get("data_stream").is_some_and(Value::is_object),
            composed_of: list("composed_of"),
            ignore_missing: list("ignore_missing_component_templates"),
            body: v.get("template").cloned().unwrap_or_else(|| json!({})),
            allow_auto_create: v.get("allow_auto_create").and_then(Value::as_bool),
            raw: v.clone(),
        })
    }

    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| glob(p, name))
    }
}

/// What a template resolves to after its component templates are merged in.
#[derive(Debug, Clone, Default)]
pub struct Composed {
    pub settings: Map<String, Value>,
    pub mappings: Value,
    pub failure_store: bool,
}

/// Settings as dotted keys (`{"index":{"mapping":{"ignore_malformed":true}}}` →
/// `index.mapping.ignore_malformed`), `index.` prefixed as Elasticsearch normalizes them.
fn flatten_settings(v: &Value, prefix: &str, out: &mut Map<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_settings(c, &key, out);
            }
        }
        other => {
            let key = if prefix.starts_with("index.") {
                prefix.to_owned()
            } else {
                format!("index.{prefix}")
            };
            out.insert(key, other.clone());
        }
    }
}

/// Later mappings win field by field; `dynamic_templates` accumulate, a later one replacing
/// an earlier one of the same name
/// (https://www.elastic.co/docs/manage-data/data-store/templates#merging-component-templates).
fn merge_mappings(base: &mut Value, add: &Value) {
    let (Some(b), Some(a)) = (base.as_object_mut(), add.as_object()) else {
        if !add.is_null() {
            *base = add.clone();
        }
        return;
    };
    for (k, v) in a {
        match k.as_str() {
            "properties" => {
                let slot = b.entry("properties").or_insert_with(|| json!({}));
                merge_properties(slot, v);
            }
            "dynamic_templates" => {
                let slot = b.entry("dynamic_templates").or_insert_with(|| json!([]));
                if let (Some(existing), Some(new)) = (slot.as_array_mut(), v.as_array()) {
                    for t in new {
                        let name = t.as_object().and_then(|o| o.keys().next().cloned());
                        existing.retain(|e| {
                            e.as_object().and_then(|o| o.keys().next().cloned()) != name
                        });
                        existing.push(t.clone());
                    }
                }
            }
            _ => {
                b.insert(k.clone(), v.clone());
            }
        }
    }
}

fn merge_properties(base: &mut Value, add: &Value) {
    let (Some(b), Some(a)) = (base.as_object_mut(), add.as_object()) else {
        return;
    };
    for (name, m) in a {
        match (b.get_mut(name), m.get("properties")) {
            (Some(existing), Some(props)) if existing.get("properties").is_some() => {
                let slot = existing
                    .as_object_mut()
                    .and_then(|o| o.get_mut("properties"));
                if let Some(slot) = slot {
                    merge_properties(slot, props);
                }
            }
            _ => {
                b.insert(name.clone(), m.clone());
            }
        }
    }
}

/// Templates and the built-in ones.
pub struct Templates {
    pub components: BTreeMap<String, Value>,
    pub index: BTreeMap<String, Template>,
    pub ilm: BTreeMap<String, Value>,
}

impl Templates {
    /// The built-in `logs` index template (priority 100, `logs-*-*`, data streams) and its
    /// component templates, reduced to what changes how documents are stored:
    /// https://www.elastic.co/docs/manage-data/data-store/data-streams/logs-data-stream
    /// and the files Elasticsearch installs (x-pack/plugin/core/template-resources:
    /// `logs@mappings.json`, `logs@settings.json`, `ecs@mappings.json`, `logs@template.json`):
    /// - `logs@mappings`: `date_detection: false`, `@timestamp` (`date_nanos`),
    ///   `data_stream.*` as `constant_keyword` (`type` fixed to `logs`);
    /// - `logs@settings`: `index.mapping.ignore_malformed: true` (a value of the wrong type is
    ///   ignored, not the document), and from 9.2 the failure store on
    ///   (elastic/elasticsearch#131261: documents the mappings refuse are kept there);
    /// - `ecs@mappings`: dynamic templates: `@timestamp` as a date that never ignores a
    ///   malformed value, `message` as `match_only_text`, `*.ip` as `ip`, `*.timestamp`-like
    ///   names as dates, every other string as a `keyword` (`ignore_above: 1024`).
    pub fn builtin(failure_store: bool) -> Templates {
        let mut components = BTreeMap::new();
        components.insert(
            "logs@mappings".to_owned(),
            json!({"template": {"mappings": {
            "date_detection": false,
            "properties": {
                "@timestamp": {"type": "date_nanos"},
                "data_stream.type": {"type": "constant_keyword", "value": "logs"},
                "data_stream.dataset": {"type": "constant_keyword"},
                "data_stream.namespace": {"type": "constant_keyword"}
            }}}}),
        );
        let mut settings = json!({"template": {"settings": {"index": {
            "lifecycle": {"name": "logs@lifecycle"},
            "codec": "best_compression",
            "mapping": {"ignore_malformed": true, "total_fields": {"ignore_dynamic_beyond_limit": true}}
        }}}});
        if failure_store {
            settings["template"]["data_stream_options"] =
                json!({"failure_store": {"enabled": true}});
        }
        components.insert("logs@settings".to_owned(), settings);
        components.insert(
            "ecs@mappings".to_owned(),
            json!({"template": {"mappings": {"dynamic_templates": [
                {"ecs_timestamp": {"match": "@timestamp", "mapping": {"type": "date", "ignore_malformed": false}}},
                {"ecs_message_match_only_text": {"path_match": ["message", "*.message"], "mapping": {"type": "match_only_text"}}},
                {"ecs_ip": {"path_match": ["ip", "*.ip", "*_ip"], "match_mapping_type": "string", "mapping": {"type": "ip"}}},
                {"ecs_date": {"path_match": ["*.timestamp", "*_timestamp", "*.not_after", "*.not_before", "*.accessed", "created", "*.created", "*.installed", "*.creation_date", "*.ctime", "*.mtime", "ingested", "*.ingested", "*.start", "*.end"], "mapping": {"type": "date"}}},
                {"all_strings_to_keywords": {"match_mapping_type": "string", "mapping": {"type": "keyword", "ignore_above": 1024}}}
            ]}}}),
        );
        let logs = json!({
            "index_patterns": ["logs-*-*"],
            "priority": 100,
            "data_stream": {},
            "composed_of": ["logs@mappings", "logs@settings", "logs@custom", "ecs@mappings"],
            "ignore_missing_component_templates": ["logs@custom"],
            "_meta": {"managed": true}
        });
        let mut index = BTreeMap::new();
        index.insert(
            "logs".to_owned(),
            Template::from_json("logs", &logs).unwrap_or_else(|_| unreachable!()),
        );
        Templates {
            components,
            index,
            ilm: BTreeMap::new(),
        }
    }

    /// The highest-priority index template whose pattern matches `name`:
    /// https://www.elastic.co/docs/manage-data/data-store/templates ("If an index matches more
    /// than one index template, the index template with the highest priority is used").
    pub fn find(&self, name: &str) -> Option<&Template> {
        self.index
            .values()
            .filter(|t| t.matches(name))
            .max_by_key(|t| t.priority)
    }

    /// A template with its component templates merged in, in order, then its own block.
    pub fn compose(&self, t: &Template) -> Composed {
        let mut settings = Map::new();
        let mut mappings = json!({});
        let mut failure_store = false;
        let blocks = t
            .composed_of
            .iter()
            .filter_map(|c| self.components.get(c).and_then(|v| v.get("template")))
            .chain(std::iter::once(&t.body));
        for b in blocks {
            if let Some(s) = b.get("settings") {
                flatten_settings(s, "", &mut settings);
            }
            if let Some(m) = b.get("mappings") {
                merge_mappings(&mut mappings, m);
            }
            if let Some(f) = b
                .pointer("/data_stream_options/failure_store/enabled")
                .and_then(Value::as_bool)
            {
                failure_store = f;
            }
        }
        Composed {
            settings,
            mappings,
            failure_store,
        }
    }

    /// `PUT _index_template/<name>` checks: its component templates must exist unless listed
    /// in `ignore_missing_component_templates`.
    pub fn check(&self, t: &Template) -> Result<(), String> {
        let missing: Vec<&String> = t
            .composed_of
            .iter()
            .filter(|c| !self.components.contains_key(*c) && !t.ignore_missing.contains(c))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "index template [{}] specifies component templates {:?} that do not exist",
                t.name, missing
            ))
        }
    }
}

/// `.ds-<data stream>-<yyyy.MM.dd>-<generation>` (or `.fs-` for the failure store):
/// https://www.elastic.co/docs/manage-data/data-store/data-streams#data-streams-generation
pub fn backing_name(prefix: &str, data_stream: &str, now_ms: i64, generation: u64) -> String {
    let day = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .format("%Y.%m.%d");
    format!("{prefix}-{data_stream}-{day}-{generation:06}")
}
