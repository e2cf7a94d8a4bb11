//! Mappings: explicit ones from index templates, dynamic ones by JSON type or dynamic template,
//! and what each field type accepts, with `ignore_malformed` and `ignore_above`.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

/// How a field type treats values (several Elasticsearch types behave alike here).
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Object,
    Flattened,
    Keyword,
    /// `text`, `match_only_text`, `wildcard`: any scalar.
    Text,
    /// `long`, `integer`, `short`, `byte`, `unsigned_long`.
    Long,
    /// `double`, `float`, `half_float`, `scaled_float`.
    Float,
    Boolean,
    /// `date`, `date_nanos`.
    Date,
    Ip,
    /// The first value indexed fixes it (or the mapping does).
    ConstantKeyword(Option<String>),
    /// Any other type: accepted as is (not modelled).
    Other,
}

/// One mapped field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The Elasticsearch type name, as `GET _mapping` would show it (shared: a field is
    /// looked up, and copied, for every value of every document).
    pub ty: Arc<str>,
    pub kind: Kind,
    pub ignore_malformed: Option<bool>,
    pub ignore_above: Option<usize>,
}

impl Field {
    pub fn of_kind(ty: &str, kind: Kind) -> Field {
        Field {
            ty: ty.into(),
            kind,
            ignore_malformed: None,
            ignore_above: None,
        }
    }

    /// A field from its mapping (`{"type": …, "ignore_malformed": …, "ignore_above": …}`);
    /// `properties` without a type is an object.
    pub fn from_mapping(m: &Value) -> Field {
        let ty =
            m.get("type")
                .and_then(Value::as_str)
                .unwrap_or(if m.get("properties").is_some() {
                    "object"
                } else {
                    "keyword"
                });
        let kind = match ty {
            "object" | "nested" => Kind::Object,
            "flattened" | "flat_object" => Kind::Flattened,
            "keyword" => Kind::Keyword,
            "text" | "match_only_text" | "wildcard" => Kind::Text,
            "long" | "integer" | "short" | "byte" | "unsigned_long" => Kind::Long,
            "double" | "float" | "half_float" | "scaled_float" => Kind::Float,
            "boolean" => Kind::Boolean,
            "date" | "date_nanos" => Kind::Date,
            "ip" => Kind::Ip,
            "constant_keyword" => {
                Kind::ConstantKeyword(m.get("value").and_then(Value::as_str).map(str::to_owned))
            }
            _ => Kind::Other,
        };
        Field {
            ty: ty.into(),
            kind,
            ignore_malformed: m.get("ignore_malformed").and_then(Value::as_bool),
            ignore_above: m
                .get("ignore_above")
                .and_then(Value::as_u64)
                .map(|n| n as usize),
        }
    }

    /// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-malformed
    /// ("supported by numeric, boolean, date, date_nanos, geo_point, geo_shape, ip"; not by
    /// object, flattened, keyword or text: elastic/elasticsearch#99400).
    fn supports_ignore_malformed(&self) -> bool {
        matches!(
            self.kind,
            Kind::Long | Kind::Float | Kind::Boolean | Kind::Date | Kind::Ip
        )
    }
}

/// `dynamic` of the root mapping: https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dynamic
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dynamic {
    True,
    False,
    Strict,
}

/// One entry of `dynamic_templates`:
/// https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-templates
/// (`match`/`unmatch` on the field name, `path_match`/`path_unmatch` on the full path, each a
/// pattern or a list of them; `match_mapping_type` on the JSON type; first match wins).
#[derive(Debug, Clone)]
pub struct DynamicTemplate {
    pub name: String,
    matches: Vec<String>,
    unmatches: Vec<String>,
    path_matches: Vec<String>,
    path_unmatches: Vec<String>,
    mapping_types: Vec<String>,
    mapping: Value,
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

impl DynamicTemplate {
    fn from_entry(entry: &Value) -> Option<DynamicTemplate> {
        let (name, t) = entry.as_object()?.iter().next()?;
        Some(DynamicTemplate {
            name: name.clone(),
            matches: strings(t.get("match")),
            unmatches: strings(t.get("unmatch")),
            path_matches: strings(t.get("path_match")),
            path_unmatches: strings(t.get("path_unmatch")),
            mapping_types: strings(t.get("match_mapping_type")),
            mapping: t.get("mapping").cloned().unwrap_or(Value::Null),
        })
    }

    fn applies(&self, path: &str, leaf: &str, json_type: &str) -> bool {
        let any = |pats: &[String], s: &str| pats.iter().any(|p| super::wire::glob(p, s));
        (self.matches.is_empty() || any(&self.matches, leaf))
            && !any(&self.unmatches, leaf)
            && (self.path_matches.is_empty() || any(&self.path_matches, path))
            && !any(&self.path_unmatches, path)
            && (self.mapping_types.is_empty()
                || self
                    .mapping_types
                    .iter()
                    .any(|t| t == json_type || t == "*"))
    }
}

/// An index's mapping and the settings that change how documents are checked.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub fields: BTreeMap<String, Field>,
    pub dynamic_templates: Vec<DynamicTemplate>,
    pub date_detection: bool,
    pub dynamic: Dynamic,
    /// `index.mapping.ignore_malformed`: the default for fields that support it.
    pub ignore_malformed: bool,
    /// A data stream's `@timestamp` never ignores a malformed value (it must be a date).
    pub data_stream: bool,
}

impl Mapping {
    /// A mapping from composed template `mappings` and flat `settings`. Without a template:
    /// `Mapping::from_template(&Value::Null, &Map::new(), false)` = dynamic, date detection on.
    pub fn from_template(
        mappings: &Value,
        settings: &Map<String, Value>,
        data_stream: bool,
    ) -> Mapping {
        let mut fields = BTreeMap::new();
        if let Some(p) = mappings.get("properties").and_then(Value::as_object) {
            add_properties(&mut fields, p, "");
        }
        let dynamic_templates = mappings
            .get("dynamic_templates")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(DynamicTemplate::from_entry).collect())
            .unwrap_or_default();
        let dynamic = match mappings.get("dynamic") {
            Some(Value::Bool(false)) => Dynamic::False,
            Some(Value::String(s)) if s == "false" => Dynamic::False,
            Some(Value::String(s)) if s == "strict" => Dynamic::Strict,
            _ => Dynamic::True,
        };
        let flag = |k: &str| match settings.get(k) {
            Some(Value::Bool(b)) => Some(*b),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        Mapping {
            fields,
            dynamic_templates,
            // https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-field-mapping#date-detection
            date_detection: mappings
                .get("date_detection")
                .and_then(Value::as_bool)
                .unwrap_or(true),
            dynamic,
            ignore_malformed: flag("index.mapping.ignore_malformed").unwrap_or(false),
            data_stream,
        }
    }
}

/// `properties` (nested, or with dotted names) → flat paths.
fn add_properties(fields: &mut BTreeMap<String, Field>, props: &Map<String, Value>, prefix: &str) {
    for (name, m) in props {
        let mut path = prefix.to_owned();
        let parts: Vec<&str> = name.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(part);
            if i + 1 < parts.len() {
                fields
                    .entry(path.clone())
                    .or_insert_with(|| Field::of_kind("object", Kind::Object));
            }
        }
        let f = Field::from_mapping(m);
        let is_object = f.kind == Kind::Object;
        fields.insert(path.clone(), f);
        if is_object && let Some(p) = m.get("properties").and_then(Value::as_object) {
            add_properties(fields, p, &path);
        }
    }
}

/// Why a document was refused.
pub struct MappingError {
    pub reason: String,
    pub caused_by: Option<(&'static str, String)>,
    /// `strict_dynamic_mapping_exception` instead of `document_parsing_exception`.
    pub strict: bool,
}

/// Checks one document against an index's mapping, staging the fields it would add and the
/// fields whose values it would ignore. Nothing is applied unless the whole document passes
/// (a refused document adds no mapping).
/// https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-field-mapping
/// (JSON → field type: `true`/`false` → boolean, integer → long, floating point → float,
/// object → object, string → date when date detection matches, else text; null adds nothing;
/// an array takes the type of its first non-null value).
/// Mapping limits (`index.mapping.total_fields.limit`, depth) are not modelled.
pub struct DocCheck<'a> {
    pub mapping: &'a Mapping,
    pub staged: BTreeMap<String, Field>,
    /// Paths whose value was not indexed: `_ignored`
    /// (https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/mapping-ignored-field).
    pub ignored: Vec<String>,
    pub id: &'a str,
}

impl<'a> DocCheck<'a> {
    pub fn new(mapping: &'a Mapping, id: &'a str) -> Self {
        DocCheck {
            mapping,
            staged: BTreeMap::new(),
            ignored: Vec::new(),
            id,
        }
    }

    fn get(&self, path: &str) -> Option<Field> {
        self.staged
            .get(path)
            .or_else(|| self.mapping.fields.get(path))
            .cloned()
    }

    fn ignore(&mut self, path: &str) {
        if !self.ignored.iter().any(|p| p == path) {
            self.ignored.push(path.to_owned());
        }
    }

    fn ignores_malformed(&self, path: &str, f: &Field) -> bool {
        if self.mapping.data_stream && path == "@timestamp" {
            return false;
        }
        f.supports_ignore_malformed() && f.ignore_malformed.unwrap_or(self.mapping.ignore_malformed)
    }

    /// The field a new path gets: the first dynamic template that applies, else by JSON type.
    fn dynamic_field(&self, path: &str, leaf: &str, v: &Value) -> Field {
        let json_type = match v {
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_f64() => "double",
            Value::Number(_) => "long",
            Value::String(_) => "string",
            Value::Object(_) => "object",
            _ => "null",
        };
        if let Some(t) = self
            .mapping
            .dynamic_templates
            .iter()
            .find(|t| t.applies(path, leaf, json_type))
        {
            return Field::from_mapping(&t.mapping);
        }
        match v {
            Value::Object(_) => Field::of_kind("object", Kind::Object),
            Value::Bool(_) => Field::of_kind("boolean", Kind::Boolean),
            Value::Number(n) if n.is_f64() => Field::of_kind("float", Kind::Float),
            Value::Number(_) => Field::of_kind("long", Kind::Long),
            // https://www.elastic.co/docs/manage-data/data-store/mapping/dynamic-field-mapping#date-detection
            Value::String(s) if self.mapping.date_detection && is_date(s) => {
                Field::of_kind("date", Kind::Date)
            }
            _ => Field::of_kind("text", Kind::Text),
        }
    }

    pub fn object(&mut self, obj: &Map<String, Value>, prefix: &str) -> Result<(), MappingError> {
        for (k, v) in obj {
            // A dotted key is the same field as the nested objects it names:
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/object
            let parts: Vec<&str> = k.split('.').collect();
            let mut path = prefix.to_owned();
            let mut under_flattened = false;
            for (i, part) in parts.iter().enumerate() {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part);
                if i + 1 == parts.len() {
                    break;
                }
                match self.get(&path) {
                    None => {
                        self.staged
                            .insert(path.clone(), Field::of_kind("object", Kind::Object));
                    }
                    Some(f) if f.kind == Kind::Object => {}
                    Some(f) if f.kind == Kind::Flattened => {
                        under_flattened = true;
                        break;
                    }
                    Some(f) => {
                        return Err(MappingError {
                            reason: format!(
                                "Could not dynamically add mapping for field [{}{k}]. Existing mapping for [{path}] must be of type object but found [{}].",
                                if prefix.is_empty() {
                                    String::new()
                                } else {
                                    format!("{prefix}.")
                                },
                                f.ty
                            ),
                            caused_by: None,
                            strict: false,
                        });
                    }
                }
            }
            if under_flattened {
                continue;
            }
            let leaf = parts.last().copied().unwrap_or_default();
            self.value(&path, leaf, v)?;
        }
        Ok(())
    }

    fn value(&mut self, path: &str, leaf: &str, v: &Value) -> Result<(), MappingError> {
        if let Value::Array(a) = v {
            for e in a {
                self.value(path, leaf, e)?;
            }
            return Ok(());
        }
        if v.is_null() {
            return Ok(());
        }
        let field = match self.get(path) {
            Some(f) => f,
            None => match self.mapping.dynamic {
                // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/dynamic
                Dynamic::False => return Ok(()),
                Dynamic::Strict => {
                    return Err(MappingError {
                        reason: format!(
                            "[1:1] mapping set to strict, dynamic introduction of [{leaf}] within [_doc] is not allowed"
                        ),
                        caused_by: None,
                        strict: true,
                    });
                }
                Dynamic::True => {
                    let f = self.dynamic_field(path, leaf, v);
                    self.staged.insert(path.to_owned(), f.clone());
                    f
                }
            },
        };
        match (&field.kind, v) {
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/flattened
            // "the entire object is mapped as a single field": its leaves never conflict.
            (Kind::Flattened, _) => Ok(()),
            (Kind::Object, Value::Object(o)) => self.object(o, path),
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/object
            (Kind::Object, _) => Err(MappingError {
                reason: format!(
                    "object mapping for [{path}] tried to parse field [{leaf}] as object, but found a concrete value"
                ),
                caused_by: None,
                strict: false,
            }),
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/keyword#constant-keyword-field-type
            (Kind::ConstantKeyword(c), scalar) if !scalar.is_object() => {
                let given = match scalar {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                match c {
                    None => {
                        let mut f = field.clone();
                        f.kind = Kind::ConstantKeyword(Some(given));
                        self.staged.insert(path.to_owned(), f);
                        Ok(())
                    }
                    Some(c) if *c == given => Ok(()),
                    Some(c) => Err(MappingError {
                        reason: format!(
                            "[constant_keyword] field [{path}] only accepts values that are equal to the value defined in the mappings [{c}], but got [{given}]"
                        ),
                        caused_by: None,
                        strict: false,
                    }),
                }
            }
            // https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/ignore-above
            // "Strings longer than the ignore_above setting will not be indexed or stored":
            // the document is accepted.
            (Kind::Keyword, Value::String(s))
                if field.ignore_above.is_some_and(|n| s.chars().count() > n) =>
            {
                self.ignore(path);
                Ok(())
            }
            _ => match accepts(&field.kind, v) {
                Ok(()) => Ok(()),
                Err(_) if self.ignores_malformed(path, &field) => {
                    self.ignore(path);
                    Ok(())
                }
                Err(cause) => Err(self.parse_error(path, &field, v, cause)),
            },
        }
    }

    /// https://www.elastic.co/docs/troubleshoot/elasticsearch/failed-to-parse-field-of-type
    fn parse_error(
        &self,
        path: &str,
        f: &Field,
        v: &Value,
        cause: (&'static str, String),
    ) -> MappingError {
        let preview = match v {
            Value::String(s) => s.chars().take(100).collect::<String>(),
            other => other.to_string().chars().take(100).collect(),
        };
        MappingError {
            reason: format!(
                "failed to parse field [{path}] of type [{}] in document with id '{}'. Preview of field's value: '{preview}'",
                f.ty, self.id
            ),
            caused_by: Some(cause),
            strict: false,
        }
    }
}

/// What a mapped field accepts, with the default `coerce: true`:
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/coerce
/// (numeric strings into numbers, floats truncated into integers),
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/boolean
/// (`true`, `false`, `"true"`, `"false"`, `""`), keyword and text take any scalar, and
/// https://www.elastic.co/docs/reference/elasticsearch/mapping-reference/date
/// (default format `strict_date_optional_time||epoch_millis`). An object is accepted only by
/// object and flattened fields.
fn accepts(k: &Kind, v: &Value) -> Result<(), (&'static str, String)> {
    let as_text = || match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if v.is_object() {
        return Err((
            "illegal_state_exception",
            "Can't get text on a START_OBJECT".into(),
        ));
    }
    let ok = match k {
        Kind::Long => match v {
            Value::Number(n) => n
                .as_f64()
                .is_some_and(|f| f.is_finite() && f.abs() < 9.2e18),
            Value::String(s) => s
                .trim()
                .parse::<f64>()
                .is_ok_and(|f| f.is_finite() && f.abs() < 9.2e18),
            _ => false,
        },
        Kind::Float => match v {
            Value::Number(_) => true,
            Value::String(s) => s.trim().parse::<f64>().is_ok_and(f64::is_finite),
            _ => false,
        },
        Kind::Boolean => match v {
            Value::Bool(_) => return Ok(()),
            Value::String(s) if matches!(s.as_str(), "true" | "false" | "") => return Ok(()),
            _ => {
                return Err((
                    "illegal_argument_exception",
                    format!(
                        "Failed to parse value [{}] as only [true] or [false] are allowed.",
                        as_text()
                    ),
                ));
            }
        },
        Kind::Date => match v {
            Value::String(s) => is_date(s) || s.parse::<i64>().is_ok(),
            Value::Number(n) => n.is_i64(),
            _ => false,
        },
        Kind::Ip => match v {
            Value::String(s) => s.parse::<std::net::IpAddr>().is_ok(),
            _ => false,
        },
        Kind::Keyword
        | Kind::Text
        | Kind::Object
        | Kind::Flattened
        | Kind::ConstantKeyword(_)
        | Kind::Other => true,
    };
    if ok {
        return Ok(());
    }
    Err(match k {
        Kind::Date => (
            "illegal_argument_exception",
            format!(
                "failed to parse date field [{}] with format [strict_date_optional_time||epoch_millis]",
                as_text()
            ),
        ),
        Kind::Ip => (
            "illegal_argument_exception",
            format!("'{}' is not an IP string literal.", as_text()),
        ),
        _ => (
            "number_format_exception",
            format!("For input string: \"{}\"", as_text()),
        ),
    })
}

/// `strict_date_optional_time` (the forms logs use) for date detection and date fields.
pub fn is_date(s: &str) -> bool {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    DateTime::parse_from_rfc3339(s).is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").is_ok()
        || NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}
