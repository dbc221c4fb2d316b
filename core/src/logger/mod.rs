//! Lambda-native log lines for the `log` facade (and, with the feature `tracing`, the `tracing`
//! facade): text or Lambda's JSON, with the request id of the invocation whose future wrote the
//! line.
//!
//! The entry points install a [`LambdaLogger`] before setup (unless a logger is installed already,
//! or [`Builder::logger(false)`](crate::Builder::logger) says not to), set from
//! [`Config::log_format`] and [`Config::log_level`] (`AWS_LAMBDA_LOG_FORMAT`,
//! `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `INFO`):
//!
//! ```text
//! 2026-12-02T10:00:00.123Z INFO [8476a536-e9f4-11e8-9739-2dfe598c3fcd] saved order=17
//! {"timestamp":"2026-12-02T10:00:00.123Z","level":"INFO","message":"saved","requestId":"8476a536-e9f4-11e8-9739-2dfe598c3fcd","traceId":"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700","order":17}
//! ```
//!
//! Lines written outside an invocation (setup, between invocations) carry no request id.
//! `traceId` and `tenantId` appear when the invocation has them; a record's key-values (the `log`
//! crate's `kv`) follow, in JSON as keys of their own (numbers and booleans as such, everything
//! else as a string; a key named like one of the fixed ones is dropped), in text as `key=value`.
//!
//! A record can name its invocation itself with a `requestId` key-value (and `traceId`,
//! `tenantId`): it then belongs to that invocation whatever is current, with the current one's
//! other ids only if it is the same. The runtime does so on every line it writes about an
//! invocation, so that a logger of the user's own sees the id too. Its error reports also carry
//! `errorType`, `errorMessage` and `stackTrace` (lines, as a string), which JSON lines write as
//! keys of their own (`stackTrace` as an array of lines, left out when empty) and text lines
//! leave out: their message says the same.
//!
//! # The `tracing` facade
//!
//! With the feature `tracing` (of this crate, or of the adapter crates, which forward it), the
//! same lines are written for `tracing` events by a `LambdaLayer`, a `tracing-subscriber`
//! layer. [`LambdaLogger::install`], and so the entry points, then also set
//! `tracing_subscriber::registry().with(LambdaLayer)` as the global default subscriber, with the
//! same format, level, buffering and output; unless a global subscriber is set already: the
//! user's subscriber is then kept (and a `debug` line of the `log` facade says so).
//! [`Builder::logger(false)`](crate::Builder::logger) installs neither. Both facades can be used
//! side by side, in the same handler: each line names the current invocation either way.
//!
//! A `tracing` event's line has the event's `message` as its message; then the fields of every
//! span the event is in (the root span first, each as recorded, [`record`]ed values included),
//! then the event's own fields, each a key of its own in JSON (`key=value` in text), never nested.
//! Of several fields of the same name the last one wins: an event's field over a span's, an inner
//! span's over an outer one's, a value recorded later over an earlier one. The fixed keys are
//! protected as for `log` records, and a `requestId` field (the event's, else the innermost
//! span's; with `traceId` and `tenantId` from the same place) names the line's invocation as a
//! `requestId` key-value does. Events and spans below the level are disabled at their callsite
//! (`tracing`'s own one-comparison filter), unless buffering is on; a `LambdaLayer` in a
//! subscriber of several layers filters for the whole subscriber.
//!
//! [`record`]: https://docs.rs/tracing/latest/tracing/struct.Span.html#method.record
//!
//! # Which invocation a line belongs to
//!
//! Concurrent invocations are futures polled on one thread, so "the current invocation" is set
//! around each poll of a lane's handler, not per thread: the driver holds an [`InvocationScope`]
//! while it polls the lane (and while it logs about it). A future that the handler spawns on its
//! executor is polled outside that scope; to keep the id, enter an [`InvocationScope`] around each
//! of its polls (a scope held across an `.await` would also mark the futures polled meanwhile).
//! The watchdog's thread enters the invocation's scope when it reports it (a handler that
//! blocks its thread, running out of memory, shutdown) and writes its buffered lines then.
//!
//! # Writing
//!
//! Each line is built whole in a reused buffer and written to stderr with one `write_all` under
//! the stderr lock, so lines never interleave. Nothing here panics: a failed write is ignored,
//! and a message whose `Display` fails is written as far as it got (text) or as `null` (JSON).

use core::fmt::{self, Write as _};
use std::borrow::Cow;
use std::boxed::Box;
use std::cell::RefCell;
use std::io::Write as _;
use std::marker::PhantomData;
use std::string::String;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::vec::Vec;

use log::kv::{self, Key, Value, VisitSource, VisitValue};
use log::{Level, LevelFilter, Log, Metadata, Record};

use crate::config::{Config, LogFormat};
use crate::time::EpochMillis;

mod line;
#[cfg(feature = "tracing")]
mod tracing;

use line::{LineIds, LineWriter};
#[cfg(feature = "tracing")]
pub use tracing::LambdaLayer;

/// The longest line written, in bytes, but for the names of its keys and the marks of values cut
/// short: each value (the message included) is cut where the line would pass it, ending in
/// `… (truncated: N bytes)` with N its whole length. 64 KiB keeps a line within one CloudWatch
/// log event (at most 256 KiB) and the buffer it is built in reused; a handler error's message
/// of megabytes is then written as one line of 64 KiB at most, not as megabytes (and, with its
/// `errorMessage` key in JSON, twice).
pub const MAX_LINE_BYTES: usize = 64 << 10;

/// The most one value of a line may take, in bytes as written (escaped, in JSON): the message and
/// a handler error's `errorMessage` and `stackTrace` each keep 16 KiB, so all three fit a line.
pub const MAX_VALUE_BYTES: usize = 16 << 10;

/// Where lines go: a whole line (with its newline) at a time.
type Sink = dyn Fn(&[u8]) + Send + Sync;

/// What a [`LambdaLogger`] (and a `LambdaLayer`) writes, at which level, where to.
#[derive(Clone)]
struct Output {
    format: LogFormat,
    level: LevelFilter,
    /// `None`: stderr. Shared by the layer installed with the logger.
    sink: Option<Arc<Sink>>,
    /// Lines below `level` kept per invocation, written only if it fails; 0: none kept.
    buffer_lines: usize,
}

/// The output of the logger or layer installed (or of the layer that kept a line first), for
/// writing an invocation's buffered lines.
static FLUSH: OnceLock<&'static Output> = OnceLock::new();

impl Output {
    fn new(format: LogFormat, level: LevelFilter) -> Self {
        Self {
            format,
            level,
            sink: None,
            buffer_lines: 0,
        }
    }

    /// Whether a line at `level` is written now or kept for a failure.
    fn enabled(&self, level: Level) -> bool {
        level <= self.level || (self.buffer_lines > 0 && in_invocation())
    }

    fn write(&self, line: &[u8]) {
        match &self.sink {
            Some(sink) => sink(line),
            None => {
                let _ = std::io::stderr().lock().write_all(line);
            }
        }
    }

    /// Writes the line `format` appends to an empty buffer: the thread's reused one, or a fresh
    /// one for a line written while one is being formatted (from a `Display` impl).
    fn emit(&self, format: &mut dyn FnMut(&mut Vec<u8>)) {
        let reused = BUF.try_with(|buf| {
            let Ok(mut buf) = buf.try_borrow_mut() else {
                return false;
            };
            buf.clear();
            format(&mut buf);
            self.write(&buf);
            if buf.capacity() > MAX_KEPT_BUFFER {
                *buf = Vec::new();
            }
            true
        });
        if reused != Ok(true) {
            let mut buf = Vec::new();
            format(&mut buf);
            self.write(&buf);
        }
    }

    /// Keeps `line` (below the level) in the current invocation's buffer, for a failure.
    fn keep(&self, line: Vec<u8>) {
        let _ = CURRENT.try_with(|current| {
            if let Some(ids) = current.try_borrow().ok().as_ref().and_then(|c| c.as_ref()) {
                ids.keep(line, self.buffer_lines);
            }
        });
    }
}

impl fmt::Debug for Output {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sink = if self.sink.is_some() {
            "custom"
        } else {
            "stderr"
        };
        f.debug_struct("Output")
            .field("format", &self.format)
            .field("level", &self.level)
            .field("sink", &sink)
            .field("buffer_lines", &self.buffer_lines)
            .finish()
    }
}

/// A [`log::Log`] writing Lambda-native lines; see the [module docs](self).
pub struct LambdaLogger {
    out: Output,
}

impl LambdaLogger {
    /// A logger writing `format` lines up to `level` to stderr.
    pub fn new(format: LogFormat, level: LevelFilter) -> Self {
        Self {
            out: Output::new(format, level),
        }
    }

    /// A logger as `config` asks for ([`Config::log_format`], [`Config::log_level`],
    /// [`Config::log_buffer_lines`]).
    pub fn from_config(config: &Config) -> Self {
        Self::new(config.log_format, config.log_level).with_buffer(config.log_buffer_lines)
    }

    /// This logger keeping up to `lines` records below its level per invocation, written (in
    /// order, marked as buffered) only if the invocation fails, dropped otherwise. When the
    /// buffer is full the oldest line is dropped, and the flush says how many were. 0 keeps none.
    /// Records below the level are then formatted inside invocations, so they cost a line's
    /// formatting instead of one comparison.
    #[must_use]
    pub fn with_buffer(mut self, lines: usize) -> Self {
        self.out.buffer_lines = lines;
        self
    }

    /// This logger writing each line to `sink` instead of stderr (for tests).
    #[must_use]
    pub fn with_sink(mut self, sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.out.sink = Some(Arc::new(sink));
        self
    }

    /// The most detailed level written.
    pub fn level(&self) -> LevelFilter {
        self.out.level
    }

    /// Installs this logger as the process's `log` logger and sets `log`'s maximum level to its
    /// level, so that records below it cost one comparison. Fails, changing nothing, if a logger
    /// is installed already (the one installed first stays).
    ///
    /// In JSON mode it also replaces the panic hook, so that what a panic prints (Rust's default
    /// hook writes several lines of text, a backtrace among them) is one JSON line too; see
    /// [`LambdaLogger::panic_line`].
    ///
    /// With the feature `tracing` it first also installs a `LambdaLayer` with the same settings
    /// and output as the global default `tracing` subscriber (`LambdaLayer::install`), whether
    /// or not the `log` logger is installed; a subscriber set already is kept.
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        #[cfg(feature = "tracing")]
        let tracing = LambdaLayer::from_output(self.out.clone()).install();
        let level = match self.out.buffer_lines {
            0 => self.out.level,
            _ => LevelFilter::Trace,
        };
        let logger: &'static Self = Box::leak(Box::new(self));
        let installed = log::set_logger(logger);
        #[cfg(feature = "tracing")]
        if tracing.is_err() {
            log::debug!(
                "a global tracing subscriber is set already: it is kept, and writes the tracing events"
            );
        }
        installed?;
        log::set_max_level(level);
        let _ = FLUSH.set(&logger.out);
        if logger.out.format == LogFormat::Json {
            std::panic::set_hook(Box::new(|info| logger.write_panic(info)));
        }
        Ok(())
    }

    /// The JSON line for a panic with `message` at `location` (`file:line:column`) on the
    /// thread `thread`, at `now`, with the current invocation's ids: level `ERROR`, `message`
    /// as Rust's hook would say it, `errorType` `Function.Panic`, `errorMessage`, and
    /// `stackTrace` (the location, then the backtrace's lines when `RUST_BACKTRACE` asks for
    /// one).
    pub fn panic_line(
        thread: &str,
        message: &str,
        location: &str,
        backtrace: &str,
        now: EpochMillis,
    ) -> Vec<u8> {
        let mut buf = Vec::new();
        line::put(
            &mut buf,
            format_args!(
                r#"{{"timestamp":"{}","level":"ERROR","message":"#,
                now.utc()
            ),
        );
        line::json_display_within(
            &mut buf,
            &format_args!("thread '{thread}' panicked at {location}: {message}"),
            MAX_VALUE_BYTES,
        );
        let _ = CURRENT.try_with(|current| {
            if let Some(c) = current
                .try_borrow()
                .ok()
                .as_ref()
                .and_then(|c| c.as_deref())
            {
                line::json_ids(&mut buf, &c.ids());
            }
        });
        line::json_field(&mut buf, "errorType", crate::error_type::ErrorType::PANIC);
        buf.extend_from_slice(br#","errorMessage":"#);
        line::json_display_within(&mut buf, &message, MAX_VALUE_BYTES);
        buf.extend_from_slice(br#","stackTrace":"#);
        let trace = std::format!("{location}\n{backtrace}");
        line::json_lines_within(&mut buf, &trace, MAX_VALUE_BYTES);
        buf.extend_from_slice(b"}\n");
        buf
    }

    /// The panic hook in JSON mode: one line, written whole.
    fn write_panic(&self, info: &std::panic::PanicHookInfo<'_>) {
        // What Rust's own hook says for a payload that is not a string.
        let message = crate::diagnostic::panic_message(info.payload()).unwrap_or("Box<dyn Any>");
        let location = info
            .location()
            .map(|l| std::format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let thread = std::thread::current();
        let backtrace = std::backtrace::Backtrace::capture();
        let backtrace = match backtrace.status() {
            std::backtrace::BacktraceStatus::Captured => std::format!("{backtrace}"),
            _ => String::new(),
        };
        let line = Self::panic_line(
            thread.name().unwrap_or("<unnamed>"),
            message,
            &location,
            &backtrace,
            EpochMillis::now(),
        );
        self.out.write(&line);
    }

    /// Appends the line for `record` at `now` (with its newline) to `buf`.
    fn format_line(&self, record: &Record<'_>, now: EpochMillis, buf: &mut Vec<u8>) {
        let kvs = record.key_values();
        let named = kv_str(kvs, "requestId");
        let (trace_id, tenant_id) = match named {
            Some(_) => (kv_str(kvs, "traceId"), kv_str(kvs, "tenantId")),
            None => (None, None),
        };
        let named = named.as_deref().map(|request_id| LineIds {
            request_id,
            trace_id: trace_id.as_deref().unwrap_or_default(),
            tenant_id: tenant_id.as_deref().unwrap_or_default(),
        });
        let buffered = record.level() > self.out.level;
        with_line_ids(named, |ids| {
            let mut w = LineWriter::begin(
                buf,
                self.out.format,
                now,
                record.level(),
                record.args(),
                ids,
                buffered,
            );
            let _ = kvs.visit(&mut Pairs(&mut w));
            w.end();
        });
    }
}

impl Log for LambdaLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.out.enabled(metadata.level())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = EpochMillis::now();
        if record.level() > self.out.level {
            // Below the level, inside an invocation, with buffering on: kept for a failure.
            let mut line = Vec::new();
            self.format_line(record, now, &mut line);
            self.out.keep(line);
            return;
        }
        self.out.emit(&mut |buf| self.format_line(record, now, buf));
    }

    fn flush(&self) {}
}

impl fmt::Debug for LambdaLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaLogger")
            .field("format", &self.out.format)
            .field("level", &self.out.level)
            .field(
                "sink",
                &if self.out.sink.is_some() {
                    "custom"
                } else {
                    "stderr"
                },
            )
            .finish()
    }
}

/// Calls `line` with the ids a line names: `named`'s if given (a record's `requestId`
/// key-value, a `tracing` event's `requestId` field) and not the current invocation's; else the current invocation's, if any.
fn with_line_ids(named: Option<LineIds<'_>>, line: impl FnOnce(Option<LineIds<'_>>)) {
    let _ = CURRENT.try_with(|current| {
        let current = current.try_borrow().ok();
        let current = current.as_ref().and_then(|c| c.as_deref());
        line(match (named, current) {
            // The line names its invocation itself: the current one's other ids apply only if
            // it is the same.
            (Some(named), current) if current.is_none_or(|c| c.request_id != named.request_id) => {
                Some(named)
            }
            (_, current) => current.map(InvocationIds::ids),
        });
    });
}

/// The ids a line logged for an invocation names: made once per invocation and shared by every
/// poll of its handler ([`InvocationScope::enter`] only counts a reference), and by the
/// watchdog's thread when it reports the invocation.
#[derive(Debug, Default)]
pub struct InvocationIds {
    request_id: String,
    /// Empty when the invocation has none.
    trace_id: String,
    /// Empty when the invocation has none.
    tenant_id: String,
    /// Lines below the level, kept until the invocation ends ([`end_invocation`]).
    buffered: Mutex<Buffered>,
}

/// An invocation's buffered lines, and how many older ones the bound dropped.
#[derive(Debug, Default)]
struct Buffered {
    lines: std::collections::VecDeque<Vec<u8>>,
    dropped: usize,
}

impl InvocationIds {
    /// The ids of the invocation `request_id`, with its trace and tenant ids if it has them.
    pub fn new(request_id: &str, trace_id: Option<&str>, tenant_id: Option<&str>) -> Arc<Self> {
        let mut ids = None;
        Self::renew(&mut ids, request_id, trace_id, tenant_id);
        ids.unwrap_or_default()
    }

    /// Sets `ids` to these ids, rewriting the ones it holds in place (no allocation once their
    /// strings have grown) when no scope holds them any more.
    pub fn renew(
        ids: &mut Option<Arc<Self>>,
        request_id: &str,
        trace_id: Option<&str>,
        tenant_id: Option<&str>,
    ) {
        let mut arc = ids.take().unwrap_or_default();
        if Arc::get_mut(&mut arc).is_none() {
            arc = Arc::default();
        }
        if let Some(i) = Arc::get_mut(&mut arc) {
            replace(&mut i.request_id, request_id);
            replace(&mut i.trace_id, trace_id.unwrap_or_default());
            replace(&mut i.tenant_id, tenant_id.unwrap_or_default());
            let buffered = i.buffered.get_mut().unwrap_or_else(PoisonError::into_inner);
            buffered.lines.clear();
            buffered.dropped = 0;
        }
        *ids = Some(arc);
    }

    /// The invocation's request id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    fn ids(&self) -> LineIds<'_> {
        LineIds {
            request_id: &self.request_id,
            trace_id: &self.trace_id,
            tenant_id: &self.tenant_id,
        }
    }

    fn buffered(&self) -> std::sync::MutexGuard<'_, Buffered> {
        self.buffered.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `line` for a failure, dropping the oldest beyond `bound` lines.
    fn keep(&self, line: Vec<u8>, bound: usize) {
        let mut b = self.buffered();
        if b.lines.len() >= bound {
            b.lines.pop_front();
            b.dropped += 1;
        }
        b.lines.push_back(line);
    }
}

/// The invocation of `ids` ended: if it `failed` (an error, a panic, a timeout, a rejected
/// event, running out of memory), its buffered lines are written in order, after a line saying
/// how many older ones the bound dropped, if any; otherwise they are dropped. The lines are
/// taken out: a second call writes nothing.
pub fn end_invocation(ids: &Arc<InvocationIds>, failed: bool) {
    let mut b = ids.buffered();
    let (lines, dropped) = (
        core::mem::take(&mut b.lines),
        core::mem::take(&mut b.dropped),
    );
    drop(b);
    let Some(out) = FLUSH.get().filter(|_| failed && !lines.is_empty()) else {
        return;
    };
    if dropped > 0 {
        let _scope = InvocationScope::enter(ids);
        log::warn!(
            "{dropped} earlier buffered lines of this invocation were dropped (at most {} are kept)",
            out.buffer_lines
        );
    }
    for line in &lines {
        out.write(line);
    }
}

/// Whether an invocation is current on this thread.
fn in_invocation() -> bool {
    CURRENT
        .try_with(|c| c.try_borrow().is_ok_and(|c| c.is_some()))
        .unwrap_or(false)
}

/// Marks the invocation whose code runs on this thread until the scope is dropped: every line
/// logged meanwhile on this thread carries its ids. Dropping it makes the invocation that was
/// current before current again.
#[derive(Debug)]
pub struct InvocationScope {
    /// The invocation that was current before, made current again when the scope ends.
    previous: Option<Arc<InvocationIds>>,
    /// Thread-bound: the current invocation is per thread.
    _thread: PhantomData<*const ()>,
}

impl InvocationScope {
    /// Makes the invocation of `ids` current.
    pub fn enter(ids: &Arc<InvocationIds>) -> Self {
        let previous = CURRENT
            .try_with(|current| {
                current
                    .try_borrow_mut()
                    .ok()
                    .and_then(|mut c| c.replace(ids.clone()))
            })
            .ok()
            .flatten();
        Self {
            previous,
            _thread: PhantomData,
        }
    }
}

impl Drop for InvocationScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CURRENT.try_with(|current| {
            if let Ok(mut c) = current.try_borrow_mut() {
                *c = previous;
            }
        });
    }
}

/// A line buffer grown past this is not kept for the next line.
const MAX_KEPT_BUFFER: usize = 64 << 10;

std::thread_local! {
    /// The invocation whose code runs on this thread, if any.
    static CURRENT: RefCell<Option<Arc<InvocationIds>>> = const { RefCell::new(None) };
    static BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

fn replace(s: &mut String, with: &str) {
    s.clear();
    s.push_str(with);
}

/// The key-value `key` of a record as a string, if it has one.
fn kv_str<'a>(kvs: &'a dyn kv::Source, key: &str) -> Option<Cow<'a, str>> {
    let value = kvs.get(Key::from_str(key))?;
    Some(match value.to_borrowed_str() {
        Some(s) => Cow::Borrowed(s),
        None => {
            let mut s = String::new();
            let _ = write!(s, "{value}");
            Cow::Owned(s)
        }
    })
}

/// A record's key-values, each written as a pair of its type.
struct Pairs<'w, 'b>(&'w mut LineWriter<'b>);

impl<'kvs> VisitSource<'kvs> for Pairs<'_, '_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
        let _ = value.visit(Pair(self.0, key.as_str()));
        Ok(())
    }
}

/// One key-value: its value as the line writer's pair of the same type.
struct Pair<'w, 'b, 'k>(&'w mut LineWriter<'b>, &'k str);

impl<'v> VisitValue<'v> for Pair<'_, '_, '_> {
    fn visit_any(&mut self, value: Value<'_>) -> Result<(), kv::Error> {
        self.0.display(self.1, &value);
        Ok(())
    }

    fn visit_null(&mut self) -> Result<(), kv::Error> {
        self.0.null(self.1);
        Ok(())
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), kv::Error> {
        self.0.int(self.1, value);
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), kv::Error> {
        self.0.int(self.1, value);
        Ok(())
    }

    fn visit_u128(&mut self, value: u128) -> Result<(), kv::Error> {
        self.0.int(self.1, value);
        Ok(())
    }

    fn visit_i128(&mut self, value: i128) -> Result<(), kv::Error> {
        self.0.int(self.1, value);
        Ok(())
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), kv::Error> {
        self.0.f64(self.1, value);
        Ok(())
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), kv::Error> {
        self.0.bool(self.1, value);
        Ok(())
    }

    fn visit_str(&mut self, value: &str) -> Result<(), kv::Error> {
        self.0.str(self.1, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
