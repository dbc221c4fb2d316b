//! Lambda-native log lines for the `log` facade: text or Lambda's JSON, with the request id of
//! the invocation whose future wrote the line.
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
use std::sync::{Arc, Mutex, PoisonError};
use std::vec::Vec;

use log::kv::{self, Key, Value, VisitSource, VisitValue};
use log::{LevelFilter, Log, Metadata, Record};

use crate::config::{Config, LogFormat};
use crate::time::EpochMillis;

/// Where a [`LambdaLogger`] writes a whole line (with its newline).
type Sink = Box<dyn Fn(&[u8]) + Send + Sync>;

/// A [`log::Log`] writing Lambda-native lines; see the [module docs](self).
pub struct LambdaLogger {
    format: LogFormat,
    level: LevelFilter,
    /// `None`: stderr.
    sink: Option<Sink>,
    /// Lines below `level` kept per invocation, written only if it fails; 0: none kept.
    buffer_lines: usize,
}

/// The logger [`LambdaLogger::install`] installed, for writing an invocation's buffered lines.
static INSTALLED: std::sync::OnceLock<&'static LambdaLogger> = std::sync::OnceLock::new();

impl LambdaLogger {
    /// A logger writing `format` lines up to `level` to stderr.
    pub fn new(format: LogFormat, level: LevelFilter) -> Self {
        Self {
            format,
            level,
            sink: None,
            buffer_lines: 0,
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
        self.buffer_lines = lines;
        self
    }

    /// This logger writing each line to `sink` instead of stderr (for tests).
    #[must_use]
    pub fn with_sink(mut self, sink: impl Fn(&[u8]) + Send + Sync + 'static) -> Self {
        self.sink = Some(Box::new(sink));
        self
    }

    /// The most detailed level written.
    pub fn level(&self) -> LevelFilter {
        self.level
    }

    /// Installs this logger as the process's `log` logger and sets `log`'s maximum level to its
    /// level, so that records below it cost one comparison. Fails, changing nothing, if a logger
    /// is installed already (the one installed first stays).
    ///
    /// In JSON mode it also replaces the panic hook, so that what a panic prints (Rust's default
    /// hook writes several lines of text, a backtrace among them) is one JSON line too; see
    /// [`LambdaLogger::panic_line`].
    pub fn install(self) -> Result<(), log::SetLoggerError> {
        let level = match self.buffer_lines {
            0 => self.level,
            _ => LevelFilter::Trace,
        };
        let logger: &'static Self = Box::leak(Box::new(self));
        log::set_logger(logger)?;
        log::set_max_level(level);
        let _ = INSTALLED.set(logger);
        if logger.format == LogFormat::Json {
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
        put(
            &mut buf,
            format_args!(
                r#"{{"timestamp":"{}","level":"ERROR","message":"#,
                now.utc()
            ),
        );
        json_display(
            &mut buf,
            &format_args!("thread '{thread}' panicked at {location}: {message}"),
        );
        let _ = CURRENT.try_with(|current| {
            if let Some(c) = current
                .try_borrow()
                .ok()
                .as_ref()
                .and_then(|c| c.as_deref())
            {
                json_ids(&mut buf, &c.ids());
            }
        });
        json_field(&mut buf, "errorType", crate::error_type::ErrorType::PANIC);
        json_field(&mut buf, "errorMessage", message);
        buf.extend_from_slice(br#","stackTrace":"#);
        json_lines(&mut buf, &std::format!("{location}\n{backtrace}"));
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
        self.write(&line);
    }

    /// Appends the line for `record` at `now` (with its newline) to `buf`.
    fn format_line(&self, record: &Record<'_>, now: EpochMillis, buf: &mut Vec<u8>) {
        let buffered = record.level() > self.level;
        let mut line = |ids: Option<LineIds<'_>>| match self.format {
            LogFormat::Json => json_line(record, now, ids, buffered, buf),
            _ => text_line(record, now, ids, buffered, buf),
        };
        let kvs = record.key_values();
        let named = kv_str(kvs, "requestId");
        let _ = CURRENT.try_with(|current| {
            let current = current.try_borrow().ok();
            let current = current.as_ref().and_then(|c| c.as_deref());
            match (named, current) {
                // The record names its invocation itself: the current one's other ids apply
                // only if it is the same.
                (Some(named), current) if current.is_none_or(|c| c.request_id != *named) => {
                    let (trace_id, tenant_id) = (kv_str(kvs, "traceId"), kv_str(kvs, "tenantId"));
                    line(Some(LineIds {
                        request_id: &named,
                        trace_id: trace_id.as_deref().unwrap_or_default(),
                        tenant_id: tenant_id.as_deref().unwrap_or_default(),
                    }));
                }
                (_, current) => line(current.map(InvocationIds::ids)),
            }
        });
        if buf.last() != Some(&b'\n') {
            buf.push(b'\n');
        }
    }

    fn write(&self, line: &[u8]) {
        match &self.sink {
            Some(sink) => sink(line),
            None => {
                let _ = std::io::stderr().lock().write_all(line);
            }
        }
    }
}

impl Log for LambdaLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.level || (self.buffer_lines > 0 && in_invocation())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let now = EpochMillis::now();
        if record.level() > self.level {
            // Below the level, inside an invocation, with buffering on: kept for a failure.
            let mut line = Vec::new();
            self.format_line(record, now, &mut line);
            let _ = CURRENT.try_with(|current| {
                if let Some(ids) = current.try_borrow().ok().as_ref().and_then(|c| c.as_ref()) {
                    ids.keep(line, self.buffer_lines);
                }
            });
            return;
        }
        // The buffer is reused; a record logged while one is being formatted (from a `Display`
        // impl) gets a fresh one.
        let reused = BUF.try_with(|buf| {
            let Ok(mut buf) = buf.try_borrow_mut() else {
                return false;
            };
            buf.clear();
            self.format_line(record, now, &mut buf);
            self.write(&buf);
            if buf.capacity() > MAX_KEPT_BUFFER {
                *buf = Vec::new();
            }
            true
        });
        if reused != Ok(true) {
            let mut buf = Vec::new();
            self.format_line(record, now, &mut buf);
            self.write(&buf);
        }
    }

    fn flush(&self) {}
}

impl fmt::Debug for LambdaLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LambdaLogger")
            .field("format", &self.format)
            .field("level", &self.level)
            .field(
                "sink",
                &if self.sink.is_some() {
                    "custom"
                } else {
                    "stderr"
                },
            )
            .finish()
    }
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

/// The ids one line names; an empty trace or tenant id is left out.
#[derive(Clone, Copy)]
struct LineIds<'a> {
    request_id: &'a str,
    trace_id: &'a str,
    tenant_id: &'a str,
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
    let Some(logger) = INSTALLED.get().filter(|_| failed && !lines.is_empty()) else {
        return;
    };
    if dropped > 0 {
        let _scope = InvocationScope::enter(ids);
        log::warn!(
            "{dropped} earlier buffered lines of this invocation were dropped (at most {} are kept)",
            logger.buffer_lines
        );
    }
    for line in &lines {
        logger.write(line);
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

/// `{timestamp} {LEVEL} [{requestId}] {message}` and ` key=value` per key-value (but those of
/// [`ID_KEYS`] and [`ERROR_KEYS`]).
fn text_line(
    record: &Record<'_>,
    now: EpochMillis,
    ids: Option<LineIds<'_>>,
    buffered: bool,
    buf: &mut Vec<u8>,
) {
    put(
        buf,
        format_args!("{} {} ", now.utc(), record.level().as_str()),
    );
    if let Some(ids) = ids {
        put(buf, format_args!("[{}] ", ids.request_id));
    }
    if buffered {
        buf.extend_from_slice(b"(buffered) ");
    }
    put(buf, *record.args());
    let _ = record.key_values().visit(&mut TextPairs(buf));
}

/// One flat JSON object.
fn json_line(
    record: &Record<'_>,
    now: EpochMillis,
    ids: Option<LineIds<'_>>,
    buffered: bool,
    buf: &mut Vec<u8>,
) {
    put(
        buf,
        format_args!(
            r#"{{"timestamp":"{}","level":"{}","message":"#,
            now.utc(),
            record.level().as_str()
        ),
    );
    json_display(buf, record.args());
    if let Some(ids) = ids {
        json_ids(buf, &ids);
    }
    if buffered {
        buf.extend_from_slice(br#","buffered":true"#);
    }
    let _ = record.key_values().visit(&mut JsonPairs(buf));
    buf.push(b'}');
}

/// `requestId`, and `traceId` and `tenantId` when the invocation has them.
fn json_ids(buf: &mut Vec<u8>, ids: &LineIds<'_>) {
    json_field(buf, "requestId", ids.request_id);
    if !ids.trace_id.is_empty() {
        json_field(buf, "traceId", ids.trace_id);
    }
    if !ids.tenant_id.is_empty() {
        json_field(buf, "tenantId", ids.tenant_id);
    }
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

/// The key-values that name the line's invocation: given on a record, they replace the
/// current invocation's ids.
const ID_KEYS: [&str; 3] = ["requestId", "traceId", "tenantId"];

/// The key-values of an error report: JSON keys of their own (`stackTrace`'s lines as an
/// array), left out of text lines, whose message says what they say.
const ERROR_KEYS: [&str; 3] = ["errorType", "errorMessage", "stackTrace"];

/// The keys every JSON line may have: a key-value named like one is dropped (the id keys are
/// written as the line's ids).
const FIXED_KEYS: [&str; 7] = [
    "buffered",
    "timestamp",
    "level",
    "message",
    "requestId",
    "traceId",
    "tenantId",
];

fn json_field(buf: &mut Vec<u8>, key: &str, value: &str) {
    buf.push(b',');
    json_str(buf, key);
    buf.push(b':');
    json_str(buf, value);
}

/// `text`'s non-empty lines, trimmed, as a JSON array of strings.
fn json_lines(buf: &mut Vec<u8>, text: &str) {
    buf.push(b'[');
    let lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    for (i, line) in lines.enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        json_str(buf, line);
    }
    buf.push(b']');
}

fn json_str(buf: &mut Vec<u8>, s: &str) {
    let _ = serde_json::to_writer(&mut *buf, s);
}

/// `value`'s `Display` as a JSON string, escaped as it is written; `null` if it fails.
fn json_display(buf: &mut Vec<u8>, value: &dyn fmt::Display) {
    let mark = buf.len();
    buf.push(b'"');
    if JsonContents(buf).write_fmt(format_args!("{value}")).is_ok() {
        buf.push(b'"');
    } else {
        buf.truncate(mark);
        buf.extend_from_slice(b"null");
    }
}

/// Appends `args` to `buf`. Through `fmt::Write`, so that a `Display` that fails gives an error
/// here, not the panic `io::Write::write_fmt` raises for it; the line keeps what was written.
fn put(buf: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    let _ = Bytes(buf).write_fmt(args);
}

/// `fmt::Write` into a byte buffer.
struct Bytes<'b>(&'b mut Vec<u8>);

impl fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `fmt::Write` of JSON string contents: each piece escaped by `serde_json` as it comes.
struct JsonContents<'b>(&'b mut Vec<u8>);

impl fmt::Write for JsonContents<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let start = self.0.len();
        serde_json::to_writer(&mut *self.0, s).map_err(|_| fmt::Error)?;
        // `to_writer` quoted the piece: keep what is between the quotes.
        self.0.pop();
        self.0.remove(start);
        Ok(())
    }
}

struct TextPairs<'b>(&'b mut Vec<u8>);

impl<'kvs> VisitSource<'kvs> for TextPairs<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
        let key = key.as_str();
        if !ID_KEYS.contains(&key) && !ERROR_KEYS.contains(&key) {
            put(self.0, format_args!(" {key}={value}"));
        }
        Ok(())
    }
}

struct JsonPairs<'b>(&'b mut Vec<u8>);

impl<'kvs> VisitSource<'kvs> for JsonPairs<'_> {
    fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
        let trace = (key.as_str() == "stackTrace")
            .then(|| value.to_borrowed_str())
            .flatten();
        if FIXED_KEYS.contains(&key.as_str()) || trace.is_some_and(|t| t.trim().is_empty()) {
            return Ok(());
        }
        self.0.push(b',');
        json_str(self.0, key.as_str());
        self.0.push(b':');
        if let Some(trace) = trace {
            json_lines(self.0, trace);
            return Ok(());
        }
        let mark = self.0.len();
        if value.visit(JsonValue(self.0)).is_err() {
            self.0.truncate(mark);
            self.0.extend_from_slice(b"null");
        }
        Ok(())
    }
}

/// Writes one key-value's value as JSON.
struct JsonValue<'b>(&'b mut Vec<u8>);

impl<'v> VisitValue<'v> for JsonValue<'_> {
    fn visit_any(&mut self, value: Value<'_>) -> Result<(), kv::Error> {
        json_display(self.0, &value);
        Ok(())
    }

    fn visit_null(&mut self) -> Result<(), kv::Error> {
        self.0.extend_from_slice(b"null");
        Ok(())
    }

    fn visit_u64(&mut self, value: u64) -> Result<(), kv::Error> {
        put(self.0, format_args!("{value}"));
        Ok(())
    }

    fn visit_i64(&mut self, value: i64) -> Result<(), kv::Error> {
        put(self.0, format_args!("{value}"));
        Ok(())
    }

    fn visit_u128(&mut self, value: u128) -> Result<(), kv::Error> {
        put(self.0, format_args!("{value}"));
        Ok(())
    }

    fn visit_i128(&mut self, value: i128) -> Result<(), kv::Error> {
        put(self.0, format_args!("{value}"));
        Ok(())
    }

    fn visit_f64(&mut self, value: f64) -> Result<(), kv::Error> {
        if value.is_finite() {
            let _ = serde_json::to_writer(&mut *self.0, &value);
        } else {
            json_display(self.0, &value);
        }
        Ok(())
    }

    fn visit_bool(&mut self, value: bool) -> Result<(), kv::Error> {
        self.0
            .extend_from_slice(if value { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_str(&mut self, value: &str) -> Result<(), kv::Error> {
        json_str(self.0, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(logger: &LambdaLogger, record: &Record<'_>) -> String {
        let mut buf = Vec::new();
        logger.format_line(
            record,
            EpochMillis::from_millis(1_764_669_600_123),
            &mut buf,
        );
        String::from_utf8(buf).unwrap()
    }

    fn info(args: core::fmt::Arguments<'_>, f: impl FnOnce(&Record<'_>) -> String) -> String {
        f(&Record::builder().args(args).level(log::Level::Info).build())
    }

    #[test]
    fn text_lines_name_the_request_id_only_inside_an_invocation() {
        let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
        let outside = info(format_args!("ready"), |r| line(&logger, r));
        assert_eq!(outside, "2025-12-02T10:00:00.123Z INFO ready\n");
        let scope = InvocationScope::enter(&InvocationIds::new("req-1", Some("Root=1-abc"), None));
        let inside = info(format_args!("saved"), |r| line(&logger, r));
        assert_eq!(inside, "2025-12-02T10:00:00.123Z INFO [req-1] saved\n");
        drop(scope);
        let after = info(format_args!("idle"), |r| line(&logger, r));
        assert_eq!(after, "2025-12-02T10:00:00.123Z INFO idle\n");
    }

    #[test]
    fn json_lines_are_flat_objects_with_escaped_values() {
        let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
        let ids = InvocationIds::new("req-2", Some("Root=1-abc"), Some("tenant-9"));
        let _scope = InvocationScope::enter(&ids);
        let pairs: [(&str, Value<'_>); 4] = [
            ("order", Value::from(17u64)),
            ("paid", Value::from(true)),
            ("note", Value::from("a \"quote\"")),
            ("level", Value::from("shadowed")),
        ];
        let record = Record::builder()
            .args(format_args!("line one\nline \"two\" \u{7}"))
            .level(log::Level::Warn)
            .key_values(&pairs)
            .build();
        let text = line(&logger, &record);
        assert!(
            text.ends_with("}\n") && text.matches('\n').count() == 1,
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "timestamp": "2025-12-02T10:00:00.123Z",
                "level": "WARN",
                "message": "line one\nline \"two\" \u{7}",
                "requestId": "req-2",
                "traceId": "Root=1-abc",
                "tenantId": "tenant-9",
                "order": 17,
                "paid": true,
                "note": "a \"quote\"",
            })
        );
    }

    fn json_of(logger: &LambdaLogger, pairs: &[(&str, Value<'_>)]) -> serde_json::Value {
        let record = Record::builder()
            .args(format_args!("m"))
            .level(log::Level::Error)
            .key_values(&pairs)
            .build();
        serde_json::from_str(&line(logger, &record)).unwrap()
    }

    #[test]
    fn a_record_naming_its_request_id_names_that_invocation() {
        let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
        let named = [("requestId", Value::from("req-4"))];
        let v = json_of(&logger, &named);
        assert_eq!((&v["requestId"], v.get("traceId")), (&"req-4".into(), None));
        let ids = InvocationIds::new("req-3", Some("Root=1-abc"), Some("t"));
        let _scope = InvocationScope::enter(&ids);
        // Another invocation than the current one: none of the current one's ids.
        let v = json_of(&logger, &named);
        assert_eq!(v["requestId"], "req-4");
        assert!(
            v.get("traceId").is_none() && v.get("tenantId").is_none(),
            "{v}"
        );
        // The current one: its other ids too.
        let v = json_of(&logger, &[("requestId", Value::from("req-3"))]);
        assert_eq!(
            (&v["traceId"], &v["tenantId"]),
            (&"Root=1-abc".into(), &"t".into())
        );
        let text = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
        let record = Record::builder()
            .args(format_args!("m"))
            .level(log::Level::Warn)
            .key_values(&named)
            .build();
        assert_eq!(
            line(&text, &record),
            "2025-12-02T10:00:00.123Z WARN [req-4] m\n"
        );
    }

    #[test]
    fn error_keys_are_json_fields_and_left_out_of_text() {
        let pairs: [(&str, Value<'_>); 4] = [
            ("errorType", Value::from("Function.Oops")),
            ("errorMessage", Value::from("oops")),
            ("stackTrace", Value::from("caused by: a\n  caused by: b\n")),
            ("order", Value::from(3u64)),
        ];
        let json = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
        let v = json_of(&json, &pairs);
        assert_eq!(v["errorType"], "Function.Oops");
        assert_eq!(v["errorMessage"], "oops");
        assert_eq!(
            v["stackTrace"],
            serde_json::json!(["caused by: a", "caused by: b"])
        );
        let no_trace = json_of(&json, &[("stackTrace", Value::from(""))]);
        assert!(no_trace.get("stackTrace").is_none(), "{no_trace}");
        let text = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
        let record = Record::builder()
            .args(format_args!("Function.Oops: oops"))
            .level(log::Level::Warn)
            .key_values(&pairs)
            .build();
        assert_eq!(
            line(&text, &record),
            "2025-12-02T10:00:00.123Z WARN Function.Oops: oops order=3\n"
        );
    }

    #[test]
    fn a_failing_display_still_gives_valid_json() {
        struct Fails;
        impl core::fmt::Display for Fails {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("partial")?;
                Err(core::fmt::Error)
            }
        }
        let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
        let text = info(format_args!("{}", Fails), |r| line(&logger, r));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["message"], serde_json::Value::Null);
        assert!(v.get("requestId").is_none());
        let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
        let text = info(format_args!("{}", Fails), |r| line(&logger, r));
        assert_eq!(text, "2025-12-02T10:00:00.123Z INFO partial\n");
    }

    #[test]
    fn records_below_the_level_are_not_written() {
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
        let seen = lines.clone();
        let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Warn)
            .with_sink(move |l| seen.lock().unwrap().push(l.to_vec()));
        for level in [log::Level::Debug, log::Level::Info, log::Level::Error] {
            logger.log(
                &Record::builder()
                    .args(format_args!("x"))
                    .level(level)
                    .build(),
            );
        }
        let lines = lines.lock().unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].ends_with(b" ERROR x\n"));
    }
}
