//! Routing per log group and stream: the first rule whose globs match a batch decides where its
//! documents go (dataset, namespace, index, ingest pipeline), what they carry (labels, tags),
//! which messages are kept (include/exclude), or that the batch is dropped.
//!
//! Rules are JSON, from `SHIPPER_ROUTES`, a file (`SHIPPER_ROUTES_FILE`) or an SSM parameter
//! (`SHIPPER_ROUTES_SSM_PARAMETER`) for long ones, checked once at start: a bad rule stops the
//! start with the rule's number and name and what is wrong with it. Batches no rule matches
//! are shipped as without rules. Before any rule, the loop guard drops the shipper's own log
//! group (on by default), as the Datadog forwarder does for its own.

use std::sync::Arc;

use regex::RegexSet;
use serde::Deserialize;
use serde_json::Value;

/// One rule as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    /// Shown in errors and logs; `rule <n>` when absent. (Read from the JSON before the rule
    /// itself, so an error in the rule can name it.)
    #[expect(dead_code, reason = "read from the raw JSON, see Routes::parse")]
    name: Option<String>,
    /// Glob on the log group (`*` any characters, `/` included; `?` one character).
    log_group: String,
    /// Glob on the log stream; any stream when absent.
    log_stream: Option<String>,
    dataset: Option<String>,
    namespace: Option<String>,
    /// Index mode: the index prefix (`<index>-YYYY.MM.DD`) for this rule's batches.
    index: Option<String>,
    /// Ingest pipeline named in each bulk action.
    pipeline: Option<String>,
    /// Written as `labels.<key>` (ECS: keyword key/value pairs).
    fields: Option<serde_json::Map<String, Value>>,
    /// Written as `tags`.
    tags: Option<Vec<String>>,
    #[serde(default)]
    drop: bool,
    /// Regular expressions on the message: an event is kept only if one matches.
    include: Option<Vec<String>>,
    /// Regular expressions on the message: an event is dropped if one matches (before
    /// `include`: exclude wins).
    exclude: Option<Vec<String>>,
    /// Drop Lambda's `START`/`END` platform lines (REPORT is kept); overrides
    /// `SHIPPER_DROP_START_END` for this rule's batches.
    drop_start_end: Option<bool>,
}

/// A rule, checked and compiled.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `rule 2 ("waf")`: how errors and logs name it.
    pub label: String,
    log_group: Glob,
    log_stream: Option<Glob>,
    pub dataset: Option<String>,
    pub namespace: Option<String>,
    pub index: Option<String>,
    pub pipeline: Option<Arc<str>>,
    /// `labels` as JSON text (`{"team":"sec"}`), written into every document of the batch.
    pub labels: Option<String>,
    /// `tags` as JSON text (`["waf"]`).
    pub tags: Option<String>,
    pub drop: bool,
    pub filter: Option<Filter>,
    pub drop_start_end: Option<bool>,
}

/// Include/exclude regular expressions on the message.
#[derive(Debug, Clone)]
pub struct Filter {
    include: Option<RegexSet>,
    exclude: Option<RegexSet>,
}

impl Filter {
    /// True when the message is kept: no exclude matches, and an include matches (if any).
    pub fn keeps(&self, message: &str) -> bool {
        if self.exclude.as_ref().is_some_and(|x| x.is_match(message)) {
            return false;
        }
        self.include.as_ref().is_none_or(|i| i.is_match(message))
    }
}

/// What happens to a batch.
#[derive(Debug, Clone, Copy)]
pub enum Verdict<'r> {
    /// Ship it, with the first matching rule's settings (or none).
    Ship(Option<&'r Rule>),
    /// The first matching rule says `drop`.
    Drop(&'r Rule),
    /// The shipper's own log group (loop guard).
    OwnLogGroup,
}

/// The rules and the loop guard, built once at start.
#[derive(Debug, Clone, Default)]
pub struct Routes {
    rules: Vec<Rule>,
    /// The shipper's own log group, dropped whatever the rules say (`None` = guard off or
    /// not known, e.g. the CLI).
    own_log_group: Option<String>,
}

/// A rule that can't be used, naming where it came from and which rule it is.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{source_name}: {rule}{why}")]
pub struct RouteError {
    /// `SHIPPER_ROUTES`, `SHIPPER_ROUTES_FILE (routes.json)`, …
    pub source_name: String,
    /// `rule 2 ("waf"): `, or empty when the whole value is wrong.
    pub rule: String,
    pub why: String,
}

impl Routes {
    /// Rules from JSON text (an array of rules, or `{"rules":[…]}`); `source_name` names the
    /// setting in errors.
    pub fn parse(json: &str, source_name: &str) -> Result<Self, RouteError> {
        let err = |rule: String, why: String| RouteError {
            source_name: source_name.to_owned(),
            rule,
            why,
        };
        let v: Value =
            serde_json::from_str(json).map_err(|e| err(String::new(), format!("not JSON: {e}")))?;
        let items = match v {
            Value::Array(items) => items,
            Value::Object(mut o) if o.contains_key("rules") => match o.remove("rules") {
                Some(Value::Array(items)) => items,
                _ => return Err(err(String::new(), "`rules` must be an array".into())),
            },
            _ => {
                return Err(err(
                    String::new(),
                    "expected an array of rules (or {\"rules\": [...]})".into(),
                ));
            }
        };
        let mut rules = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let name = item.get("name").and_then(Value::as_str).map(str::to_owned);
            let label = match &name {
                Some(n) => format!("rule {} ({n:?})", i + 1),
                None => format!("rule {}", i + 1),
            };
            let spec: Spec = serde_json::from_value(item)
                .map_err(|e| err(format!("{label}: "), e.to_string()))?;
            rules.push(compile(spec, label.clone()).map_err(|why| err(format!("{label}: "), why))?);
        }
        Ok(Routes {
            rules,
            own_log_group: None,
        })
    }

    /// Turns the loop guard on for `log_group` (the shipper's own).
    pub fn with_own_log_group(mut self, log_group: Option<String>) -> Self {
        self.own_log_group = log_group.filter(|g| !g.is_empty());
        self
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    pub fn own_log_group(&self) -> Option<&str> {
        self.own_log_group.as_deref()
    }

    /// What to do with a batch of `log_group` / `log_stream`.
    pub fn verdict(&self, log_group: &str, log_stream: &str) -> Verdict<'_> {
        if self.own_log_group.as_deref() == Some(log_group) {
            return Verdict::OwnLogGroup;
        }
        let rule = self.rules.iter().find(|r| {
            r.log_group.matches(log_group)
                && r.log_stream.as_ref().is_none_or(|s| s.matches(log_stream))
        });
        match rule {
            Some(r) if r.drop => Verdict::Drop(r),
            r => Verdict::Ship(r),
        }
    }
}

fn compile(s: Spec, label: String) -> Result<Rule, String> {
    let log_group = Glob::new(&s.log_group).map_err(|w| format!("log_group: {w}"))?;
    let log_stream = s
        .log_stream
        .as_deref()
        .map(Glob::new)
        .transpose()
        .map_err(|w| format!("log_stream: {w}"))?;
    for (what, v) in [("dataset", &s.dataset), ("namespace", &s.namespace)] {
        if let Some(v) = v
            && !crate::config::valid_name_part(v)
        {
            return Err(format!(
                "{what} `{v}`: lower case letters, digits, `.` and `_` only (no `-`), at most 100 bytes"
            ));
        }
    }
    if let Some(i) = &s.index
        && !valid_index_prefix(i)
    {
        return Err(format!(
            "index `{i}`: lower case, no spaces or any of \\ / * ? \" < > | , # :, not starting with - _ +, at most 200 bytes"
        ));
    }
    if let Some(p) = &s.pipeline
        && (p.is_empty() || p.chars().any(|c| c.is_whitespace() || c == '"'))
    {
        return Err(format!("pipeline `{p}`: not a pipeline name"));
    }
    let labels = match &s.fields {
        None => None,
        Some(f) if f.is_empty() => None,
        Some(f) => {
            let mut out = serde_json::Map::new();
            for (k, v) in f {
                if k.is_empty()
                    || !k
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(format!(
                        "fields: key `{k}`: letters, digits, `_` and `-` only (it becomes labels.{k})"
                    ));
                }
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(format!(
                            "fields: `{k}` must be a string, number or boolean (labels are keywords)"
                        ));
                    }
                };
                out.insert(k.clone(), Value::String(text));
            }
            Some(Value::Object(out).to_string())
        }
    };
    let tags = match &s.tags {
        Some(t) if t.iter().any(String::is_empty) => return Err("tags: empty tag".into()),
        Some(t) if !t.is_empty() => Some(serde_json::to_string(t).unwrap_or_default()),
        _ => None,
    };
    let set = |what: &str, pats: &Option<Vec<String>>| -> Result<Option<RegexSet>, String> {
        match pats {
            None => Ok(None),
            Some(p) if p.is_empty() => Ok(None),
            Some(p) => {
                for pat in p {
                    regex::Regex::new(pat).map_err(|e| format!("{what}: `{pat}`: {e}"))?;
                }
                RegexSet::new(p)
                    .map(Some)
                    .map_err(|e| format!("{what}: {e}"))
            }
        }
    };
    let include = set("include", &s.include)?;
    let exclude = set("exclude", &s.exclude)?;
    let filter = (include.is_some() || exclude.is_some()).then_some(Filter { include, exclude });
    if s.drop && (filter.is_some() || s.dataset.is_some() || s.pipeline.is_some()) {
        return Err(
            "`drop` drops the whole batch: it takes no other settings but the globs".into(),
        );
    }
    Ok(Rule {
        label,
        log_group,
        log_stream,
        dataset: s.dataset,
        namespace: s.namespace,
        index: s.index,
        pipeline: s.pipeline.map(Arc::from),
        labels,
        tags,
        drop: s.drop,
        filter,
        drop_start_end: s.drop_start_end,
    })
}

/// Index names: lower case, none of `\ / * ? " < > | , # :` or spaces, not starting with
/// `-`, `_` or `+` (https://www.elastic.co/docs/api/doc/elasticsearch/operation/operation-indices-create).
fn valid_index_prefix(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 200
        && !s.starts_with(['-', '_', '+'])
        && s.chars()
            .all(|c| !c.is_uppercase() && !c.is_whitespace() && !"\\/*?\"<>|,#:".contains(c))
}

/// A glob: `*` matches any run of characters (`/` too: log group names are paths, and
/// `/aws/lambda/*` should match every function), `?` one character, the rest itself.
#[derive(Debug, Clone, PartialEq)]
pub struct Glob {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Lit(String),
    Any,
    One,
}

impl Glob {
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("empty pattern (use `*` for any)".into());
        }
        let mut parts = Vec::new();
        for c in pattern.chars() {
            match c {
                '*' => {
                    if parts.last() != Some(&Part::Any) {
                        parts.push(Part::Any);
                    }
                }
                '?' => parts.push(Part::One),
                c => match parts.last_mut() {
                    Some(Part::Lit(s)) => s.push(c),
                    _ => parts.push(Part::Lit(c.to_string())),
                },
            }
        }
        Ok(Glob { parts })
    }

    pub fn matches(&self, s: &str) -> bool {
        matches_from(&self.parts, s)
    }
}

/// Backtracks only at `*`, and only to the next place its following literal occurs.
fn matches_from(parts: &[Part], s: &str) -> bool {
    match parts.split_first() {
        None => s.is_empty(),
        Some((Part::Lit(l), rest)) => s
            .strip_prefix(l.as_str())
            .is_some_and(|t| matches_from(rest, t)),
        Some((Part::One, rest)) => {
            let mut chars = s.chars();
            chars.next().is_some() && matches_from(rest, chars.as_str())
        }
        Some((Part::Any, rest)) => {
            if rest.is_empty() {
                return true;
            }
            // Try every position where the rest could start.
            let mut at = s;
            loop {
                if matches_from(rest, at) {
                    return true;
                }
                let mut chars = at.chars();
                if chars.next().is_none() {
                    return false;
                }
                at = chars.as_str();
            }
        }
    }
}

/// Reads the rules the settings name: `SHIPPER_ROUTES` (JSON), `SHIPPER_ROUTES_FILE`, or
/// `SHIPPER_ROUTES_SSM_PARAMETER` (at most one), and turns on the loop guard for
/// `own_log_group` when `SHIPPER_LOOP_GUARD` is on.
pub async fn load(cfg: &crate::config::Config) -> Result<Routes, RouteError> {
    let own = cfg.loop_guard().then(|| cfg.own_log_group()).flatten();
    let routes = if let Some(json) = &cfg.shipper_routes {
        Routes::parse(json, "SHIPPER_ROUTES")?
    } else if let Some(path) = &cfg.shipper_routes_file {
        let name = format!("SHIPPER_ROUTES_FILE ({})", path.display());
        let text = std::fs::read_to_string(path).map_err(|e| RouteError {
            source_name: name.clone(),
            rule: String::new(),
            why: format!("cannot read it: {e}"),
        })?;
        Routes::parse(&text, &name)?
    } else if let Some(param) = &cfg.shipper_routes_ssm_parameter {
        let name = format!("SHIPPER_ROUTES_SSM_PARAMETER ({param})");
        let aws = crate::aws_api::AwsApi::new(crate::secrets::aws_sdk_config().await);
        let text = match aws {
            Ok(api) => api.get_parameter(param).await,
            Err(e) => Err(e),
        }
        .map_err(|e| RouteError {
            source_name: name.clone(),
            rule: String::new(),
            why: format!("reading the parameter failed: {e}"),
        })?;
        Routes::parse(&text, &name)?
    } else {
        Routes::default()
    };
    Ok(routes.with_own_log_group(own))
}

#[cfg(test)]
mod tests;
