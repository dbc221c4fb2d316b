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
///
/// Every value (the message included) is cut to what is left of the line's
/// [`MAX_LINE_BYTES`](super::MAX_LINE_BYTES), and to [`MAX_VALUE_BYTES`](super::MAX_VALUE_BYTES)
/// at most, counted as written (escaped, in JSON); a cut value ends with
/// `… (truncated: N bytes)`, N its whole length.
pub(super) struct LineWriter<'b> {
    buf: &'b mut Vec<u8>,
    json: bool,
    /// Where the line ends at the latest (but for the names of its keys and the cut marks).
    limit: usize,
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
        let limit = buf.len() + super::MAX_LINE_BYTES;
        let room = super::MAX_VALUE_BYTES;
        if json {
            put(
                buf,
                format_args!(
                    r#"{{"timestamp":"{}","level":"{}","message":"#,
                    now.utc(),
                    level.as_str()
                ),
            );
            let _ = json_display_within(buf, message, room);
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
            put_within(buf, format_args!("{message}"), room);
        }
        Self { buf, json, limit }
    }

    /// How much of the line a value may take.
    fn room(&self) -> usize {
        self.limit
            .saturating_sub(self.buf.len())
            .min(super::MAX_VALUE_BYTES)
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
                let room = self.room();
                json_lines_within(self.buf, value, room);
            }
            return;
        }
        if self.key(key) {
            let room = self.room();
            match self.json {
                true => _ = json_display_within(self.buf, &value, room),
                false => put_within(self.buf, format_args!("{value}"), room),
            }
        }
    }

    /// A value's `Display`, as a string; in JSON `null` if it fails.
    pub(super) fn display(&mut self, key: &str, value: &dyn fmt::Display) {
        if self.key(key) {
            let room = self.room();
            match self.json {
                true => _ = json_display_within(self.buf, value, room),
                false => put_within(self.buf, format_args!("{value}"), room),
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

/// `text`'s non-empty lines, trimmed, as a JSON array of strings, within `room` bytes as
/// written: the lines that do not fit are left out but for a last element saying how many bytes
/// of lines there were.
pub(super) fn json_lines_within(buf: &mut Vec<u8>, text: &str, room: usize) {
    let limit = buf.len().saturating_add(room);
    buf.push(b'[');
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = true;
    while let Some(line) = lines.next() {
        if !first {
            buf.push(b',');
        }
        first = false;
        let room = limit.saturating_sub(buf.len());
        if !json_display_within(buf, &line, room) {
            let rest: usize = lines.map(str::len).sum();
            if rest > 0 {
                put(
                    buf,
                    format_args!(",\"… (truncated: {} more bytes of lines)\"", rest),
                );
            }
            break;
        }
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

/// [`put`] of at most `room` bytes of `args` (cut at a character boundary, then marked).
pub(super) fn put_within(buf: &mut Vec<u8>, args: fmt::Arguments<'_>, room: usize) {
    let mut w = Within::new(buf, room, false);
    let _ = w.write_fmt(args);
    w.finish();
}

/// [`json_display`] of at most `room` bytes as escaped (cut before a character, then marked);
/// whether it was whole.
pub(super) fn json_display_within(
    buf: &mut Vec<u8>,
    value: &dyn fmt::Display,
    room: usize,
) -> bool {
    let mark = buf.len();
    buf.push(b'"');
    let mut w = Within::new(buf, room, true);
    if w.write_fmt(format_args!("{value}")).is_err() {
        buf.truncate(mark);
        buf.extend_from_slice(b"null");
        return true;
    }
    let whole = w.finish();
    buf.push(b'"');
    whole
}

/// `fmt::Write` that keeps the first `room` bytes written (escaped as JSON string contents with
/// `json`) and counts the rest.
struct Within<'b> {
    buf: &'b mut Vec<u8>,
    room: usize,
    json: bool,
    /// Bytes written to it, kept or not.
    total: usize,
    cut: bool,
}

impl<'b> Within<'b> {
    fn new(buf: &'b mut Vec<u8>, room: usize, json: bool) -> Self {
        Self {
            buf,
            room,
            json,
            total: 0,
            cut: false,
        }
    }

    /// Marks a cut value; whether it was whole.
    fn finish(self) -> bool {
        if self.cut {
            put(
                self.buf,
                format_args!("… (truncated: {} bytes)", self.total),
            );
        }
        !self.cut
    }
}

impl fmt::Write for Within<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.total += s.len();
        if self.cut {
            return Ok(());
        }
        if self.json && s.len().saturating_mul(6) <= self.room {
            // Fits however it escapes: `serde_json`'s escaping, measured.
            let before = self.buf.len();
            JsonContents(self.buf).write_str(s)?;
            self.room -= self.buf.len() - before;
        } else if self.json {
            for c in s.chars() {
                let mut tmp = [0u8; 6];
                let escaped = json_escape(c, &mut tmp);
                if escaped.len() > self.room {
                    self.cut = true;
                    break;
                }
                self.buf.extend_from_slice(escaped);
                self.room -= escaped.len();
            }
        } else if s.len() <= self.room {
            self.buf.extend_from_slice(s.as_bytes());
            self.room -= s.len();
        } else {
            let mut end = self.room;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            self.buf.extend_from_slice(&s.as_bytes()[..end]);
            self.room = 0;
            self.cut = true;
        }
        Ok(())
    }
}

/// `c` as JSON string contents, as `serde_json` escapes it.
fn json_escape(c: char, tmp: &mut [u8; 6]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match c {
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        _ => None,
    };
    if let Some(letter) = short {
        tmp[0] = b'\\';
        tmp[1] = letter;
        return &tmp[..2];
    }
    if (c as u32) < 0x20 {
        let b = c as u8;
        *tmp = [
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ];
        return &tmp[..];
    }
    c.encode_utf8(tmp).as_bytes()
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
