//! The `tracing` facade (feature `tracing`): [`LambdaLayer`], a `tracing-subscriber` layer that
//! writes the `log` logger's lines for `tracing` events; see the [module docs](super).

use core::fmt::{self, Write as _};
use core::ops::Range;
use std::boxed::Box;
use std::string::String;
use std::vec::Vec;

use log::{Level, LevelFilter};
use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Dispatch, Event, Metadata, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;

use super::line::{LineIds, LineWriter};
use super::{Config, FLUSH, LogFormat, Output, with_line_ids};
use crate::time::EpochMillis;

/// A [`tracing_subscriber::Layer`] writing Lambda-native lines for `tracing` events, the same
/// lines as [`LambdaLogger`](super::LambdaLogger) writes for `log` records; see the
/// [module docs](super).
///
/// Its level filters at the callsite ([`Layer::register_callsite`], [`Layer::max_level_hint`]),
/// so that an event below it costs `tracing`'s one comparison; with buffering on, events and
/// spans below it are enabled inside invocations only ([`Layer::enabled`]). In a subscriber with
/// other layers that filter is the whole subscriber's (a global filter).
///
/// ```no_run
/// use lambda_runtime_types::config::LogFormat;
/// use lambda_runtime_types::logger::LambdaLayer;
/// use tracing_subscriber::layer::SubscriberExt as _;
///
/// // What the entry points do (with `Config::from_env()`'s format and level):
/// LambdaLayer::new(LogFormat::Json, log::LevelFilter::Info).install().ok();
/// // Or as a layer of a subscriber of your own, set before calling the entry point:
/// let subscriber = tracing_subscriber::registry()
///     .with(LambdaLayer::new(LogFormat::Text, log::LevelFilter::Debug));
/// tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(subscriber)).ok();
/// ```
pub struct LambdaLayer {
    out: Output,
}

impl LambdaLayer {
    /// A layer writing `format` lines up to `level` (`log`'s [`LevelFilter`], as in
    /// [`Config::log_level`]) to stderr.
    pub fn new(format: LogFormat, level: LevelFilter) -> Self {
        Self::from_output(Output::new(format, level))
    }

    pub(super) fn from_output(out: Output) -> Self {
        Self { out }
    }

    /// A layer as `config` asks for ([`Config::log_format`], [`Config::log_level`],
    /// [`Config::log_buffer_lines`]).
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.log_format, config.log_level).with_buffer(config.log_buffer_lines)
    }

    /// This layer keeping up to `lines` events below its level per invocation, in the same
    /// buffer as the `log` logger's ([`LambdaLogger::with_buffer`](super::LambdaLogger::with_buffer)):
    /// written, in order and marked as buffered, only if the invocation fails. 0 keeps none.
    #[must_use]
    pub fn with_buffer(mut self, lines: usize) -> Self {
        self.out.buffer_lines = lines;
        self
    }

    /// This layer writing each line to `sink` instead of stderr (for tests).
    #[must_use]
    pub fn with_sink(mut self, sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.out.sink = Some(std::sync::Arc::new(sink));
        self
    }

    /// The most detailed level written.
    pub fn level(&self) -> LevelFilter {
        self.out.level
    }

    /// Sets `tracing_subscriber::registry().with(self)` as the global default `tracing`
    /// subscriber. Fails, changing nothing, if one is set already (that one stays).
    pub fn install(self) -> Result<(), tracing_core::dispatcher::SetGlobalDefaultError> {
        let out = self.out.clone();
        let subscriber = tracing_subscriber::registry().with(self);
        tracing_core::dispatcher::set_global_default(Dispatch::new(subscriber))?;
        let _ = FLUSH.set(Box::leak(Box::new(out)));
        Ok(())
    }

    /// Appends the line for `event` at `now` (with its newline) to `buf`, with the fields of the
    /// spans of `scope` (root first).
    fn format_line(
        &self,
        level: Level,
        event: &Fields,
        scope: &[&Fields],
        now: EpochMillis,
        buf: &mut Vec<u8>,
    ) {
        // Where a key is looked up: the event, then its spans from the innermost out.
        let last = |key: &str| {
            core::iter::once(event)
                .chain(scope.iter().rev().copied())
                .find_map(|f| f.last_str(key))
        };
        let named = last("requestId").map(|request_id| LineIds {
            request_id,
            trace_id: last("traceId").unwrap_or_default(),
            tenant_id: last("tenantId").unwrap_or_default(),
        });
        let message = match &event.message {
            Some(range) => Text(event.str(range), event.message_complete),
            None => Text("", true),
        };
        let buffered = level > self.out.level;
        with_line_ids(named, |ids| {
            let mut w =
                LineWriter::begin(buf, self.out.format, now, level, &message, ids, buffered);
            let all = || scope.iter().copied().chain(core::iter::once(event));
            for (i, fields) in all().enumerate() {
                for (j, (key, value)) in fields.entries.iter().enumerate() {
                    // Of several fields of the same name the last one wins.
                    let later = fields.entries[j + 1..].iter().any(|(k, _)| k == key)
                        || all().skip(i + 1).any(|f| f.has(key));
                    if !later {
                        value.write(&mut w, key, fields);
                    }
                }
            }
            w.end();
        });
    }
}

impl fmt::Debug for LambdaLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaLayer")
            .field("out", &self.out)
            .finish()
    }
}

/// `tracing`'s level as `log`'s.
fn level_of(metadata: &Metadata<'_>) -> Level {
    match *metadata.level() {
        tracing_core::Level::ERROR => Level::Error,
        tracing_core::Level::WARN => Level::Warn,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

impl<S> Layer<S> for LambdaLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if level_of(metadata) <= self.out.level {
            Interest::always()
        } else if self.out.buffer_lines > 0 {
            // Enabled inside invocations only: asked each time.
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        self.out.enabled(level_of(metadata))
    }

    fn max_level_hint(&self) -> Option<tracing_core::LevelFilter> {
        use tracing_core::LevelFilter as F;
        Some(match (self.out.buffer_lines, self.out.level) {
            (1.., _) | (_, LevelFilter::Trace) => F::TRACE,
            (_, LevelFilter::Off) => F::OFF,
            (_, LevelFilter::Error) => F::ERROR,
            (_, LevelFilter::Warn) => F::WARN,
            (_, LevelFilter::Info) => F::INFO,
            (_, LevelFilter::Debug) => F::DEBUG,
        })
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut Recorder(&mut fields, false));
        if let Some(span) = ctx.span(id) {
            let mut extensions = span.extensions_mut();
            match extensions.get_mut::<Fields>() {
                // Another `LambdaLayer` of the same subscriber recorded them already.
                Some(_) => {}
                None => extensions.insert(fields),
            }
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        // Recorded before the span's extensions are locked: a value's `Debug` may log.
        let mut recorded = Fields::default();
        values.record(&mut Recorder(&mut recorded, false));
        if let Some(span) = ctx.span(id) {
            if let Some(fields) = span.extensions_mut().get_mut::<Fields>() {
                fields.append(recorded);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let level = level_of(event.metadata());
        if !self.out.enabled(level) {
            return;
        }
        let now = EpochMillis::now();
        let mut fields = Fields::default();
        event.record(&mut Recorder(&mut fields, true));
        let mut spans: Vec<_> = ctx.event_scope(event).into_iter().flatten().collect();
        spans.reverse();
        let extensions: Vec<_> = spans.iter().map(|s| s.extensions()).collect();
        let scope: Vec<&Fields> = extensions.iter().filter_map(|e| e.get()).collect();
        if level > self.out.level {
            // Below the level, inside an invocation, with buffering on: kept for a failure.
            let mut line = Vec::new();
            self.format_line(level, &fields, &scope, now, &mut line);
            // A layer not installed by `install` (in a subscriber of the user's) flushes too.
            FLUSH.get_or_init(|| Box::leak(Box::new(self.out.clone())));
            self.out.keep(line);
            return;
        }
        self.out
            .emit(&mut |buf| self.format_line(level, &fields, &scope, now, buf));
    }
}

/// The fields recorded for a span or an event, formatted as they are recorded (so that no
/// value is borrowed past the record), in the order recorded; strings in one buffer.
#[derive(Debug, Default)]
struct Fields {
    text: String,
    entries: Vec<(&'static str, FieldValue)>,
    /// An event's `message`.
    message: Option<Range<usize>>,
    /// Whether the message's `Debug` succeeded.
    message_complete: bool,
}

/// One recorded value.
#[derive(Clone, Debug)]
enum FieldValue {
    /// A string in [`Fields::text`]; `false` if its `Debug` failed (then as far as it got).
    Str(Range<usize>, bool),
    U64(u64),
    I64(i64),
    U128(u128),
    I128(i128),
    F64(f64),
    Bool(bool),
}

impl FieldValue {
    fn write(&self, w: &mut LineWriter<'_>, key: &str, fields: &Fields) {
        match *self {
            Self::Str(ref range, true) => w.str(key, fields.str(range)),
            Self::Str(ref range, false) => w.display(key, &Text(fields.str(range), false)),
            Self::U64(v) => w.int(key, v),
            Self::I64(v) => w.int(key, v),
            Self::U128(v) => w.int(key, v),
            Self::I128(v) => w.int(key, v),
            Self::F64(v) => w.f64(key, v),
            Self::Bool(v) => w.bool(key, v),
        }
    }
}

/// A recorded string, and whether it is complete: its `Display` writes it, then fails if not.
struct Text<'a>(&'a str, bool);

impl fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)?;
        if self.1 { Ok(()) } else { Err(fmt::Error) }
    }
}

impl Fields {
    /// The string recorded at `range`.
    fn str(&self, range: &Range<usize>) -> &str {
        self.text.get(range.clone()).unwrap_or_default()
    }

    /// The last string recorded as `key`.
    fn last_str(&self, key: &str) -> Option<&str> {
        self.entries.iter().rev().find_map(|(k, v)| match v {
            FieldValue::Str(range, _) if *k == key => Some(self.str(range)),
            _ => None,
        })
    }

    fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| *k == key)
    }

    fn push(&mut self, field: &Field, value: FieldValue) {
        self.entries.push((field.name(), value));
    }

    /// Records `value`'s `Debug` as a string.
    fn debug(&mut self, value: &dyn fmt::Debug) -> FieldValue {
        let start = self.text.len();
        let complete = write!(self.text, "{value:?}").is_ok();
        FieldValue::Str(start..self.text.len(), complete)
    }

    /// Appends the fields recorded in `other` (a span's values recorded later).
    fn append(&mut self, other: Self) {
        let offset = self.text.len();
        self.text.push_str(&other.text);
        let shift = |r: Range<usize>| r.start + offset..r.end + offset;
        self.entries
            .extend(other.entries.into_iter().map(|(k, v)| match v {
                FieldValue::Str(r, complete) => (k, FieldValue::Str(shift(r), complete)),
                v => (k, v),
            }));
    }
}

/// Records values into [`Fields`]; `true`: an event's, whose `message` is its message.
struct Recorder<'f>(&'f mut Fields, bool);

impl Visit for Recorder<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let value = self.0.debug(value);
        match value {
            FieldValue::Str(range, complete) if self.1 && field.name() == "message" => {
                self.0.message = Some(range);
                self.0.message_complete = complete;
            }
            value => self.0.push(field, value),
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if self.1 && field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
            return;
        }
        let start = self.0.text.len();
        self.0.text.push_str(value);
        let range = start..self.0.text.len();
        self.0.push(field, FieldValue::Str(range, true));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.push(field, FieldValue::U64(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.push(field, FieldValue::I64(value));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.0.push(field, FieldValue::U128(value));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.0.push(field, FieldValue::I128(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.push(field, FieldValue::F64(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.push(field, FieldValue::Bool(value));
    }
}

#[cfg(test)]
mod tests {
    use std::format;
    use std::sync::{Arc, Mutex};

    use ::tracing::{debug, error, field, info, info_span, warn};
    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::logger::{InvocationIds, InvocationScope};

    /// The lines `layer` (writing to a sink) writes while `f` runs with it as the thread's
    /// subscriber.
    fn lines(layer: LambdaLayer, f: impl FnOnce()) -> Vec<String> {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = lines.clone();
        let layer =
            layer.with_sink(move |l| sink.lock().unwrap().push(String::from_utf8_lossy(l).into()));
        ::tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), f);
        let lines = lines.lock().unwrap().clone();
        for line in &lines {
            assert!(
                line.ends_with('\n') && line.matches('\n').count() == 1,
                "{line:?}"
            );
        }
        lines
    }

    fn json(lines: &[String]) -> Vec<serde_json::Value> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    fn json_layer() -> LambdaLayer {
        LambdaLayer::new(LogFormat::Json, LevelFilter::Info)
    }

    #[test]
    fn span_and_event_fields_are_keys_of_their_own_the_last_of_a_name_winning() {
        let ids = InvocationIds::new("req-1", Some("Root=1-abc"), Some("tenant-9"));
        let lines = lines(json_layer(), || {
            let _scope = InvocationScope::enter(&ids);
            let outer = info_span!("handler", order = 17u64, user = "ann", step = field::Empty);
            let _outer = outer.enter();
            outer.record("step", 1u64);
            let inner = info_span!("save", step = 2i64, table = %"orders");
            let _inner = inner.enter();
            info!(paid = true, ratio = 0.5, big = 5u128, note = ?"a \"quote\"", "saved {}", 3);
            info!(order = 18u64, min = i128::MIN, "overridden");
        });
        let v = json(&lines);
        assert_eq!(
            v[0],
            serde_json::json!({
                "timestamp": v[0]["timestamp"],
                "level": "INFO",
                "message": "saved 3",
                "requestId": "req-1",
                "traceId": "Root=1-abc",
                "tenantId": "tenant-9",
                "order": 17,
                "user": "ann",
                "step": 2,
                "table": "orders",
                "paid": true,
                "ratio": 0.5,
                "big": 5,
                "note": "\"a \\\"quote\\\"\"",
            })
        );
        assert!(v[0]["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(v[0].as_object().unwrap().values().all(|v| !v.is_object()));
        // An event's field over a span's, written once; the spans' order: root first.
        assert_eq!((&v[1]["order"], &v[1]["step"]), (&18.into(), &2.into()));
        assert_eq!(lines[1].matches(r#""order""#).count(), 1, "{}", lines[1]);
        assert!(
            lines[1].contains(&format!(r#""min":{}"#, i128::MIN)),
            "{}",
            lines[1]
        );
        assert_eq!(lines[0].matches(r#""step""#).count(), 1, "{}", lines[0]);
        let keys: Vec<&String> = v[0].as_object().unwrap().keys().collect();
        let at = |k: &str| lines[0].find(&format!("\"{k}\"")).unwrap();
        assert!(
            at("user") < at("table") && at("table") < at("paid"),
            "{keys:?}"
        );
    }

    #[test]
    fn text_lines_have_the_fields_as_key_value_pairs() {
        let ids = InvocationIds::new("req-2", None, None);
        let layer = LambdaLayer::new(LogFormat::Text, LevelFilter::Info);
        let lines = lines(layer, || {
            let span = info_span!("handler", order = 17u64);
            let _span = span.enter();
            info!("outside");
            let _scope = InvocationScope::enter(&ids);
            warn!(errorType = "Function.Oops", paid = false, "saved");
        });
        assert!(lines[0].ends_with("Z INFO outside order=17\n"), "{lines:?}");
        assert!(
            lines[1].ends_with("Z WARN [req-2] saved order=17 paid=false\n"),
            "{lines:?}"
        );
    }

    #[test]
    fn events_below_the_level_are_not_written() {
        let layer = LambdaLayer::new(LogFormat::Json, LevelFilter::Warn);
        let lines = lines(layer, || {
            ::tracing::trace!("t");
            debug!("d");
            info!("i");
            warn!("w");
            error!("e");
        });
        let levels: Vec<_> = json(&lines).iter().map(|v| v["level"].clone()).collect();
        assert_eq!(levels, ["WARN", "ERROR"]);
        let hint = <LambdaLayer as Layer<tracing_subscriber::Registry>>::max_level_hint;
        let off = LambdaLayer::new(LogFormat::Text, LevelFilter::Off);
        assert_eq!(hint(&off), Some(tracing_core::LevelFilter::OFF));
        let buffering = off.with_buffer(5);
        assert_eq!(hint(&buffering), Some(tracing_core::LevelFilter::TRACE));
    }

    #[test]
    fn fixed_keys_are_protected_and_error_keys_written_as_for_log() {
        let lines = lines(json_layer(), || {
            let span = info_span!("s", message = "span message", level = "x");
            let _span = span.enter();
            error!(
                timestamp = "x",
                buffered = true,
                errorType = "Function.Oops",
                errorMessage = "oops",
                stackTrace = "caused by: a\n  caused by: b\n",
                "Function.Oops: oops"
            );
            error!(stackTrace = "", "no trace");
        });
        let v = json(&lines);
        assert_eq!(v[0]["message"], "Function.Oops: oops");
        assert_eq!(v[0]["level"], "ERROR");
        assert_eq!(
            (&v[0]["errorType"], &v[0]["errorMessage"]),
            (&"Function.Oops".into(), &"oops".into())
        );
        assert_eq!(
            v[0]["stackTrace"],
            serde_json::json!(["caused by: a", "caused by: b"])
        );
        assert!(
            v[0].get("buffered").is_none() && v[0]["timestamp"] != "x",
            "{}",
            v[0]
        );
        assert!(v[1].get("stackTrace").is_none(), "{}", v[1]);
    }

    #[test]
    fn a_request_id_field_names_the_invocation() {
        let ids = InvocationIds::new("req-3", Some("Root=1-abc"), Some("t"));
        let lines = lines(json_layer(), || {
            info!(requestId = "req-4", traceId = "Root=1-def", "outside");
            let _scope = InvocationScope::enter(&ids);
            info!(requestId = "req-4", "another");
            info!(requestId = "req-3", "the current one");
            let span = info_span!("job", requestId = "req-5");
            let _span = span.enter();
            info!("in a span naming it");
        });
        let v = json(&lines);
        assert_eq!(
            (&v[0]["requestId"], &v[0]["traceId"]),
            (&"req-4".into(), &"Root=1-def".into())
        );
        assert_eq!(v[1]["requestId"], "req-4");
        assert!(
            v[1].get("traceId").is_none() && v[1].get("tenantId").is_none(),
            "{}",
            v[1]
        );
        assert_eq!(
            (&v[2]["traceId"], &v[2]["tenantId"]),
            (&"Root=1-abc".into(), &"t".into())
        );
        assert_eq!(v[3]["requestId"], "req-5");
        let text =
            super::tests::lines(LambdaLayer::new(LogFormat::Text, LevelFilter::Info), || {
                info!(requestId = "req-4", "m");
            });
        assert!(text[0].ends_with("Z INFO [req-4] m\n"), "{text:?}");
    }

    #[test]
    fn a_failing_debug_still_gives_valid_json_and_no_message_an_empty_one() {
        struct Fails;
        impl fmt::Display for Fails {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("partial")?;
                Err(fmt::Error)
            }
        }
        let lines = lines(json_layer(), || {
            info!(value = %Fails, "{}", Fails);
            info!(order = 1u64);
        });
        let v = json(&lines);
        assert_eq!(
            (&v[0]["message"], &v[0]["value"]),
            (&serde_json::Value::Null, &serde_json::Value::Null)
        );
        assert_eq!((&v[1]["message"], &v[1]["order"]), (&"".into(), &1.into()));
        let text =
            super::tests::lines(LambdaLayer::new(LogFormat::Text, LevelFilter::Info), || {
                info!(value = %Fails, "{}", Fails);
            });
        assert!(
            text[0].ends_with("Z INFO partial value=partial\n"),
            "{text:?}"
        );
    }

    #[test]
    fn events_below_the_level_are_kept_in_the_invocation_buffer() {
        let ids = InvocationIds::new("req-6", None, None);
        let layer = json_layer().with_buffer(2);
        let lines = lines(layer, || {
            debug!("not inside an invocation: dropped, a6b1");
            let _scope = InvocationScope::enter(&ids);
            let span = ::tracing::debug_span!("below", order = 3u64);
            let _span = span.enter();
            for n in 1..=3 {
                debug!("kept {n}, a6b1");
            }
            info!("written, a6b1");
        });
        // Only this test's lines (another test's flush may write to this sink).
        let mine: Vec<_> = lines.iter().filter(|l| l.contains("a6b1")).collect();
        assert_eq!(mine.len(), 1, "{lines:?}");
        assert!(mine[0].contains(r#""order":3"#), "{}", mine[0]);
        let buffered = ids.buffered();
        assert_eq!(buffered.dropped, 1);
        let kept: Vec<serde_json::Value> = buffered
            .lines
            .iter()
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        let messages: Vec<_> = kept.iter().map(|v| v["message"].clone()).collect();
        assert_eq!(messages, ["kept 2, a6b1", "kept 3, a6b1"]);
        assert!(
            kept.iter()
                .all(|v| v["buffered"] == true && v["requestId"] == "req-6" && v["order"] == 3)
        );
    }
}
