//! One line writer for both facades: the fixed part of a line (timestamp, level, ids, buffered
//! mark, message), then its key-values one typed pair at a time, then its end. The `log`
//! logger's key-value visitors and the `tracing` layer's field visitor are thin adapters over it,
//! so that both write the same lines.

use core::fmt::{self, Write as _};
use std::vec::Vec;

use log::Level;

use crate::config::LogFormat;
use crate::time::EpochMillis;

/// The ids one line names; an empty trace or tenant id is left out.
#[derive(Clone, Copy, Debug)]
pub(super) struct LineIds<'a> {
    pub(super) request_id: &'a str,
    pub(super) trace_id: &'a str,
    pub(super) tenant_id: &'a str,
}

/// The key-values that name the line's invocation: given on a record, they replace the
/// current invocation's ids.
pub(super) const ID_KEYS: [&str; 3] = ["requestId", "traceId", "tenantId"];

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

/// Writes one line into a buffer: [`LineWriter::begin`], then any number of pairs, then
/// [`LineWriter::end`].
///
/// Text: `{timestamp} {LEVEL} [{requestId}] (buffered) {message}`, then ` key=value` per pair
/// (but those of [`ID_KEYS`] and [`ERROR_KEYS`]). JSON: one flat object with `timestamp`,
/// `level`, `message`, the ids, `buffered`, then a key of its own per pair (but those named like
/// [`FIXED_KEYS`]; `stackTrace` as an array of lines, left out when empty).
pub(super) struct LineWriter<'b> {
    buf: &'b mut Vec<u8>,
    json: bool,
}

impl<'b> LineWriter<'b> {
    /// Appends the fixed part of a line to `buf`.
    pub(super) fn begin(
        buf: &'b mut Vec<u8>,
        format: LogFormat,
        now: EpochMillis,
        level: Level,
        message: &dyn fmt::Display,
        ids: Option<LineIds<'_>>,
        buffered: bool,
    ) -> Self {
        let json = format == LogFormat::Json;
        if json {
            put(
                buf,
                format_args!(
                    r#"{{"timestamp":"{}","level":"{}","message":"#,
                    now.utc(),
                    level.as_str()
                ),
            );
            json_display(buf, message);
            if let Some(ids) = ids {
                json_ids(buf, &ids);
            }
            if buffered {
                buf.extend_from_slice(br#","buffered":true"#);
            }
        } else {
            put(buf, format_args!("{} {} ", now.utc(), level.as_str()));
            if let Some(ids) = ids {
                put(buf, format_args!("[{}] ", ids.request_id));
            }
            if buffered {
                buf.extend_from_slice(b"(buffered) ");
            }
            put(buf, format_args!("{message}"));
        }
        Self { buf, json }
    }

    /// Ends the line: the JSON object's brace, and the newline unless the line ends with one.
    pub(super) fn end(self) {
        if self.json {
            self.buf.push(b'}');
        }
        if self.buf.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
    }

    /// Writes what comes before the value of the pair `key` (`,"key":` or ` key=`), unless the
    /// line leaves the key out; whether it does not.
    fn key(&mut self, key: &str) -> bool {
        if self.json {
            if FIXED_KEYS.contains(&key) {
                return false;
            }
            self.buf.push(b',');
            json_str(self.buf, key);
            self.buf.push(b':');
        } else {
            if ID_KEYS.contains(&key) || ERROR_KEYS.contains(&key) {
                return false;
            }
            put(self.buf, format_args!(" {key}="));
        }
        true
    }

    /// A string; in JSON, `stackTrace` as an array of its lines, left out when it has none.
    pub(super) fn str(&mut self, key: &str, value: &str) {
        if self.json && key == "stackTrace" {
            if !value.trim().is_empty() && self.key(key) {
                json_lines(self.buf, value);
            }
            return;
        }
        if self.key(key) {
            match self.json {
                true => json_str(self.buf, value),
                false => self.buf.extend_from_slice(value.as_bytes()),
            }
        }
    }

    /// A value's `Display`, as a string; in JSON `null` if it fails.
    pub(super) fn display(&mut self, key: &str, value: &dyn fmt::Display) {
        if self.key(key) {
            match self.json {
                true => json_display(self.buf, value),
                false => put(self.buf, format_args!("{value}")),
            }
        }
    }

    /// An integer (any width), as a JSON number.
    pub(super) fn int(&mut self, key: &str, value: impl fmt::Display) {
        if self.key(key) {
            put(self.buf, format_args!("{value}"));
        }
    }

    /// A float: a JSON number when finite, else a string (`NaN`, `inf`).
    pub(super) fn f64(&mut self, key: &str, value: f64) {
        if !self.key(key) {
            return;
        }
        if !self.json {
            put(self.buf, format_args!("{value}"));
        } else if value.is_finite() {
            let _ = serde_json::to_writer(&mut *self.buf, &value);
        } else {
            json_display(self.buf, &value);
        }
    }

    /// A boolean.
    pub(super) fn bool(&mut self, key: &str, value: bool) {
        if self.key(key) {
            self.buf
                .extend_from_slice(if value { b"true" } else { b"false" });
        }
    }

    /// No value: `null` in JSON, `None` in text (as the `log` crate displays it).
    pub(super) fn null(&mut self, key: &str) {
        if self.key(key) {
            let none: &[u8] = if self.json { b"null" } else { b"None" };
            self.buf.extend_from_slice(none);
        }
    }
}

/// `requestId`, and `traceId` and `tenantId` when the invocation has them.
pub(super) fn json_ids(buf: &mut Vec<u8>, ids: &LineIds<'_>) {
    json_field(buf, "requestId", ids.request_id);
    if !ids.trace_id.is_empty() {
        json_field(buf, "traceId", ids.trace_id);
    }
    if !ids.tenant_id.is_empty() {
        json_field(buf, "tenantId", ids.tenant_id);
    }
}

pub(super) fn json_field(buf: &mut Vec<u8>, key: &str, value: &str) {
    buf.push(b',');
    json_str(buf, key);
    buf.push(b':');
    json_str(buf, value);
}

/// `text`'s non-empty lines, trimmed, as a JSON array of strings.
pub(super) fn json_lines(buf: &mut Vec<u8>, text: &str) {
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
pub(super) fn json_display(buf: &mut Vec<u8>, value: &dyn fmt::Display) {
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
pub(super) fn put(buf: &mut Vec<u8>, args: fmt::Arguments<'_>) {
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
