//! A `tracing` layer that writes one ECS JSON object per event, one per line.
//!
//! tracing-subscriber's own JSON format nests event fields under `fields` and names the level
//! `level`; ECS wants `log.level`, `@timestamp` and dotted names at the top. Span fields (the
//! request id, the user) are copied onto every event inside the span, innermost wins.

use std::io::Write;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::field;

/// Writes ECS JSON lines to `W`. Build it with [`ecs_layer`].
pub struct EcsLayer<W> {
    make_writer: W,
    static_fields: Map<String, Value>,
}

/// An [`EcsLayer`] writing to `make_writer`, adding `service.name` (and any other fixed
/// fields given) to every line.
pub fn ecs_layer<W>(make_writer: W, service_name: &str) -> EcsLayer<W> {
    let mut static_fields = Map::new();
    static_fields.insert(field::SERVICE_NAME.into(), Value::from(service_name));
    EcsLayer {
        make_writer,
        static_fields,
    }
}

impl<W> EcsLayer<W> {
    /// Adds a field written on every line (e.g. `faas.name`).
    pub fn with_static_field(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.static_fields.insert(name.to_owned(), value.into());
        self
    }
}

/// The fields recorded on a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_f64(&mut self, f: &Field, v: f64) {
        self.0.insert(f.name().into(), Value::from(v));
    }
    fn record_i64(&mut self, f: &Field, v: i64) {
        self.0.insert(f.name().into(), Value::from(v));
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        self.0.insert(f.name().into(), Value::from(v));
    }
    fn record_i128(&mut self, f: &Field, v: i128) {
        self.0.insert(f.name().into(), Value::from(v.to_string()));
    }
    fn record_u128(&mut self, f: &Field, v: u128) {
        self.0.insert(f.name().into(), Value::from(v.to_string()));
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        self.0.insert(f.name().into(), Value::from(v));
    }
    fn record_str(&mut self, f: &Field, v: &str) {
        // tracing values are scalars, so the one object field, `app` (domain fields), is
        // recorded as a JSON string and written as the object it holds. Any other string,
        // or an `app` string that isn't a JSON object, stays a string.
        if f.name() == field::APP
            && let Ok(obj @ Value::Object(_)) = serde_json::from_str::<Value>(v)
        {
            self.0.insert(f.name().into(), obj);
            return;
        }
        self.0.insert(f.name().into(), Value::from(v));
    }
    fn record_error(&mut self, f: &Field, v: &(dyn std::error::Error + 'static)) {
        self.0.insert(f.name().into(), Value::from(v.to_string()));
    }
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        self.0
            .insert(f.name().into(), Value::from(format!("{v:?}")));
    }
}

impl<S, W> Layer<S> for EcsLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = Map::new();
        attrs.record(&mut JsonVisitor(&mut fields));
        span.extensions_mut().insert(SpanFields(fields));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        if let Some(SpanFields(fields)) = ext.get_mut::<SpanFields>() {
            values.record(&mut JsonVisitor(fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut line = Map::new();
        line.insert(
            field::TIMESTAMP.into(),
            Value::from(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        line.insert(
            field::LOG_LEVEL.into(),
            Value::from(event.metadata().level().as_str().to_ascii_lowercase()),
        );
        for (k, v) in &self.static_fields {
            line.insert(k.clone(), v.clone());
        }
        if let Some(scope) = ctx.event_scope(event) {
            // from_root: outer spans first, so inner spans overwrite them.
            for span in scope.from_root() {
                if let Some(SpanFields(fields)) = span.extensions().get::<SpanFields>() {
                    for (k, v) in fields {
                        line.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        line.insert(
            field::LOG_LOGGER.into(),
            Value::from(event.metadata().target()),
        );
        // Fields whose value is still `Empty` were declared and never recorded: drop them
        // rather than write nulls.
        line.retain(|_, v| !v.is_null());
        let mut buf = match serde_json::to_vec(&Value::Object(line)) {
            Ok(b) => b,
            Err(_) => return,
        };
        buf.push(b'\n');
        // One write per line so concurrent requests never interleave inside a line.
        let _ = self.make_writer.make_writer().write_all(&buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::layer::SubscriberExt;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl<'a> MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[test]
    fn writes_ecs_names_with_span_fields_and_dotted_event_fields() {
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(ecs_layer(buf.clone(), "vocab-api"));
        tracing::subscriber::with_default(sub, || {
            let span = tracing::info_span!(
                "request",
                faas.execution = "req-1",
                user.id = tracing::field::Empty
            );
            let _g = span.enter();
            span.record("user.id", "u-7");
            tracing::warn!(
                http.response.status_code = 404_u64,
                url.path = "/lists/x",
                "request finished"
            );
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_eq!(out.lines().count(), 1, "one line per event: {out}");
        let v: Value = serde_json::from_str(out.trim_end()).unwrap();
        assert_eq!(v[field::LOG_LEVEL], "warn");
        assert_eq!(v[field::MESSAGE], "request finished");
        assert_eq!(v[field::SERVICE_NAME], "vocab-api");
        assert_eq!(v[field::FAAS_EXECUTION], "req-1");
        assert_eq!(v[field::USER_ID], "u-7");
        assert_eq!(v[field::HTTP_RESPONSE_STATUS_CODE], 404);
        assert_eq!(v[field::URL_PATH], "/lists/x");
        assert!(v[field::TIMESTAMP].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn app_field_holding_a_json_object_is_written_as_an_object() {
        let buf = Buf::default();
        let sub = tracing_subscriber::registry().with(ecs_layer(buf.clone(), "vocab-api"));
        tracing::subscriber::with_default(sub, || {
            tracing::info!({ field::APP } = r#"{"list_id":"l-1","word_count":3}"#, "a");
            tracing::info!({ field::APP } = "not json", "b");
            tracing::info!(other = r#"{"x":1}"#, "c");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0][field::APP]["list_id"], "l-1");
        assert_eq!(lines[0][field::APP]["word_count"], 3);
        assert_eq!(lines[1][field::APP], "not json");
        assert_eq!(lines[2]["other"], r#"{"x":1}"#);
    }
}
