//! [`ResponseHead`] and [`parse_head`]: a Runtime API response head, borrowing the read buffer.

use core::fmt;

use super::{MAX_HEAD_BYTES, MAX_HEADERS, WireError, parse_decimal};

/// How a response body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Framing {
    /// Exactly this many bytes (`Content-Length`, or 0 for 1xx, 204 and 304 responses).
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body runs until the server closes the connection.
    UntilClose,
}

/// A parsed response head, borrowing the read buffer.
///
/// A 1xx status is an interim response: the real response follows it on the same connection, so a
/// caller that meets one skips `head_len` bytes and parses again (the Runtime API never sends one,
/// since the runtime never sends `Expect`).
#[derive(Clone, Copy)]
pub struct ResponseHead<'b> {
    /// The status code, 100 to 599.
    pub status: u16,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may be reused after this response's body.
    pub keep_alive: bool,
    headers: [httparse::Header<'b>; MAX_HEADERS],
    header_count: usize,
}

impl<'b> ResponseHead<'b> {
    /// A head without header fields, for tests and for callers that build heads without bytes:
    /// `framing` is `Length(0)` and `keep_alive` is true. Set the public fields to change them.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            framing: Framing::Length(0),
            keep_alive: true,
            headers: [httparse::EMPTY_HEADER; MAX_HEADERS],
            header_count: 0,
        }
    }

    /// Adds a header field. It does not change `framing` or `keep_alive`.
    ///
    /// A head holds at most [`MAX_HEADERS`] fields; further ones are silently ignored.
    #[must_use]
    pub fn with_header(mut self, name: &'b str, value: &'b [u8]) -> Self {
        if let Some(slot) = self.headers.get_mut(self.header_count) {
            *slot = httparse::Header { name, value };
            self.header_count += 1;
        }
        self
    }

    /// The value of the first header field named `name` (compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&'b [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All header fields in the order they arrived, as (name, value).
    pub fn headers(&self) -> impl Iterator<Item = (&'b str, &'b [u8])> + '_ {
        self.headers
            .iter()
            .take(self.header_count)
            .map(|h| (h.name, h.value))
    }
}

impl fmt::Debug for ResponseHead<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        /// Only the slots in use.
        struct Fields<'h, 'b>(&'h ResponseHead<'b>);
        impl fmt::Debug for Fields<'_, '_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_list()
                    .entries(self.0.headers.iter().take(self.0.header_count))
                    .finish()
            }
        }
        f.debug_struct("ResponseHead")
            .field("status", &self.status)
            .field("framing", &self.framing)
            .field("keep_alive", &self.keep_alive)
            .field("headers", &Fields(self))
            .finish()
    }
}

/// Heads are equal when status, framing, `keep_alive` and the header fields (in order) are.
impl PartialEq for ResponseHead<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.status == other.status
            && self.framing == other.framing
            && self.keep_alive == other.keep_alive
            && self.headers().eq(other.headers())
    }
}

impl Eq for ResponseHead<'_> {}

/// Where a parsed head's fields lie in its bytes: a [`ResponseHead`] that does not borrow them, so
/// it can be kept next to the read buffer and turned back into a head without parsing again.
/// (The driver, which needs `alloc`, is its only user.)
#[cfg(feature = "alloc")]
#[derive(Clone, Debug)]
pub(crate) struct HeadIndex {
    status: u16,
    framing: Framing,
    keep_alive: bool,
    fields: [FieldSpan; MAX_HEADERS],
    count: usize,
}

/// A field's name and value as byte ranges of the head (a head is at most [`MAX_HEAD_BYTES`]).
#[cfg(feature = "alloc")]
#[derive(Clone, Copy, Debug, Default)]
struct FieldSpan {
    name: (u16, u16),
    value: (u16, u16),
    /// The name is `KNOWN_NAMES[known - 1]`, byte for byte (0: another name), so that turning
    /// the index back into a head needs no UTF-8 check of it.
    known: u8,
}

/// The names the Runtime API sends, spelled as it sends them: a field named so is turned back
/// into a head with the constant in place of a check of its bytes (equal bytes, equal `str`).
#[cfg(feature = "alloc")]
const KNOWN_NAMES: [&str; 13] = [
    "Content-Type",
    "Content-Length",
    "Date",
    "Connection",
    "Transfer-Encoding",
    super::header::REQUEST_ID,
    super::header::DEADLINE_MS,
    super::header::INVOKED_FUNCTION_ARN,
    super::header::TRACE_ID,
    super::header::CLIENT_CONTEXT,
    super::header::COGNITO_IDENTITY,
    super::header::TENANT_ID,
    super::header::INVOCATION_ID,
];

/// `KNOWN_NAMES`' index of `name` plus one, or 0.
#[cfg(feature = "alloc")]
fn known_name(name: &str) -> u8 {
    KNOWN_NAMES
        .iter()
        .position(|n| n.len() == name.len() && *n == name)
        .map_or(0, |i| i as u8 + 1)
}

#[cfg(feature = "alloc")]
impl<'b> ResponseHead<'b> {
    /// This head as positions in `bytes`, the buffer it was parsed from; `None` if a field does
    /// not lie within `bytes` (e.g. a head built with [`with_header`](Self::with_header)).
    pub(crate) fn index(&self, bytes: &[u8]) -> Option<HeadIndex> {
        let base = bytes.as_ptr() as usize;
        let span = |part: &[u8]| {
            let start = (part.as_ptr() as usize).checked_sub(base)?;
            let end = start.checked_add(part.len())?;
            (end <= bytes.len()).then_some(())?;
            Some((u16::try_from(start).ok()?, u16::try_from(end).ok()?))
        };
        let mut fields = [FieldSpan::default(); MAX_HEADERS];
        for (slot, (name, value)) in fields.iter_mut().zip(self.headers()) {
            *slot = FieldSpan {
                name: span(name.as_bytes())?,
                value: span(value)?,
                known: known_name(name),
            };
        }
        Some(HeadIndex {
            status: self.status,
            framing: self.framing,
            keep_alive: self.keep_alive,
            fields,
            count: self.header_count,
        })
    }
}

#[cfg(feature = "alloc")]
impl HeadIndex {
    /// The head again, borrowing `bytes`, which must be the bytes it was indexed from; fields
    /// that do not fit them (other bytes were passed) are left out.
    pub(crate) fn head<'b>(&self, bytes: &'b [u8]) -> ResponseHead<'b> {
        let mut head = ResponseHead::new(self.status);
        self.head_into(bytes, &mut head);
        head
    }

    /// [`head`](Self::head) into `head` (whatever it held is replaced), so that a caller with
    /// a head at hand does not have the 1 KiB of field slots copied.
    pub(crate) fn head_into<'b>(&self, bytes: &'b [u8], head: &mut ResponseHead<'b>) {
        head.status = self.status;
        head.framing = self.framing;
        head.keep_alive = self.keep_alive;
        head.header_count = 0;
        let part = |(start, end): (u16, u16)| bytes.get(usize::from(start)..usize::from(end));
        for field in self.fields.iter().take(self.count) {
            let name = part(field.name).and_then(|n| {
                match KNOWN_NAMES.get(usize::from(field.known).wrapping_sub(1)) {
                    Some(known) if known.as_bytes() == n => Some(*known),
                    _ => core::str::from_utf8(n).ok(),
                }
            });
            let slot = head.headers.get_mut(head.header_count);
            if let (Some(name), Some(value), Some(slot)) = (name, part(field.value), slot) {
                *slot = httparse::Header { name, value };
                head.header_count += 1;
            }
        }
    }
}

#[cfg(feature = "alloc")]
impl HeadIndex {
    /// The [`ON_NEXT`](super::header::ON_NEXT) fields of the head, read from `bytes` (which must
    /// be the bytes it was indexed from) without rebuilding the head; fields that do not fit
    /// `bytes` are left out, as by [`head`](Self::head).
    pub(crate) fn next_fields<'b>(&self, bytes: &'b [u8]) -> super::header::NextFields<'b> {
        let part = |(start, end): (u16, u16)| bytes.get(usize::from(start)..usize::from(end));
        super::header::NextFields::collect(
            self.fields
                .iter()
                .take(self.count)
                .filter_map(move |f| Some((part(f.name)?, part(f.value)?))),
        )
    }
}

/// Parses a response head at the start of `buf`.
///
/// Returns `Ok(None)` when more bytes are needed, and `Ok(Some((head, head_len)))` once the head
/// is complete; the body (if any) starts at `buf[head_len..]`.
///
/// Framing follows RFC 9112 §6.3: 1xx, 204 and 304 responses have no body; a
/// `Transfer-Encoding` of exactly `chunked` gives [`Framing::Chunked`] (a `Content-Length` next
/// to it is ignored, and the connection is then not reused since such a response may be an attack);
/// otherwise `Content-Length` gives [`Framing::Length`] (several fields or list elements must all
/// agree); with neither, the body runs until the server closes ([`Framing::UntilClose`], never
/// kept alive). Any transfer coding other than a single `chunked`, and `Transfer-Encoding` in an
/// HTTP/1.0 response, is [`WireError::UnsupportedTransferEncoding`]: this layer cannot decode
/// them.
///
/// `keep_alive`: HTTP/1.1 keeps the connection unless `Connection` has `close`; HTTP/1.0 closes it
/// unless `Connection` has `keep-alive`.
///
/// A head longer than [`MAX_HEAD_BYTES`] is [`WireError::HeadTooLarge`], however the bytes
/// arrive; only the first [`MAX_HEAD_BYTES`] bytes of `buf` are looked at.
pub fn parse_head(buf: &[u8]) -> Result<Option<(ResponseHead<'_>, usize)>, WireError> {
    let mut head = ResponseHead::new(0);
    Ok(parse_head_into(buf, &mut head)?.map(|head_len| (head, head_len)))
}

/// A head parsed by [`parse_indexed`]: what the driver keeps of it.
#[cfg(feature = "alloc")]
#[derive(Debug)]
pub(crate) struct IndexedHead {
    /// The head's length in bytes.
    pub(crate) len: usize,
    pub(crate) status: u16,
    pub(crate) framing: Framing,
    pub(crate) keep_alive: bool,
    /// Always `Some`: the fields lie in the bytes they were parsed from.
    pub(crate) index: Option<HeadIndex>,
}

/// [`parse_head`], keeping the head as an index into `buf` (no copy of the parsed head).
#[cfg(feature = "alloc")]
pub(crate) fn parse_indexed(buf: &[u8]) -> Result<Option<IndexedHead>, WireError> {
    let mut head = ResponseHead::new(0);
    let Some(len) = parse_head_into(buf, &mut head)? else {
        return Ok(None);
    };
    Ok(Some(IndexedHead {
        len,
        status: head.status,
        framing: head.framing,
        keep_alive: head.keep_alive,
        index: head.index(&buf[..len]),
    }))
}

/// [`parse_head`] into `head` (the fields are parsed in place, not copied); its length if it is
/// complete. On `Ok(None)` or an error, `head` holds nothing of use.
fn parse_head_into<'b>(
    buf: &'b [u8],
    head: &mut ResponseHead<'b>,
) -> Result<Option<usize>, WireError> {
    let window = buf.get(..MAX_HEAD_BYTES).unwrap_or(buf);
    let mut response = httparse::Response::new(&mut head.headers);
    let head_len = match response.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if window.len() >= MAX_HEAD_BYTES => {
            return Err(WireError::HeadTooLarge);
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(WireError::from_httparse(e)),
    };
    let http10 = response.version == Some(0);
    let Some(status @ 100..=599) = response.code else {
        return Err(WireError::InvalidStatusLine);
    };
    head.header_count = response.headers.len();
    head.status = status;

    let fields = FramingFields::read(head);
    let mut keep_alive = if http10 {
        fields.keep_alive_token
    } else {
        !fields.close_token
    };

    let framing = if matches!(status, 100..=199 | 204 | 304) {
        Framing::Length(0)
    } else if fields.transfer_encoding {
        if http10 || !fields.chunked() {
            return Err(WireError::UnsupportedTransferEncoding);
        }
        if fields.content_length_field {
            keep_alive = false;
        }
        Framing::Chunked
    } else if let Some(n) = fields.content_length? {
        Framing::Length(n)
    } else {
        keep_alive = false;
        Framing::UntilClose
    };
    head.framing = framing;
    head.keep_alive = keep_alive;
    Ok(Some(head_len))
}

/// What the `Connection`, `Transfer-Encoding` and `Content-Length` fields of a head say, read in
/// one pass over its fields (other names are passed over by their length).
struct FramingFields {
    /// A `Connection` element is `close`.
    close_token: bool,
    /// A `Connection` element is `keep-alive`.
    keep_alive_token: bool,
    /// There is a `Transfer-Encoding` field.
    transfer_encoding: bool,
    /// The `Transfer-Encoding` elements of all its fields: how many, and whether the first is
    /// `chunked`.
    codings: usize,
    first_coding_chunked: bool,
    /// There is a `Content-Length` field.
    content_length_field: bool,
    /// The agreed `Content-Length`, if any field is present: every element of every field must
    /// be a number, and all must be the same.
    content_length: Result<Option<u64>, WireError>,
}

impl FramingFields {
    fn read(head: &ResponseHead<'_>) -> Self {
        let mut f = Self {
            close_token: false,
            keep_alive_token: false,
            transfer_encoding: false,
            codings: 0,
            first_coding_chunked: false,
            content_length_field: false,
            content_length: Ok(None),
        };
        let named = |name: &str, wanted: &str| {
            name.len() == wanted.len() && name.eq_ignore_ascii_case(wanted)
        };
        for (name, value) in head.headers() {
            if named(name, "connection") {
                for t in list_elements(value) {
                    f.close_token |= t.eq_ignore_ascii_case(b"close");
                    f.keep_alive_token |= t.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if named(name, "transfer-encoding") {
                f.transfer_encoding = true;
                for c in list_elements(value) {
                    if f.codings == 0 {
                        f.first_coding_chunked = c.eq_ignore_ascii_case(b"chunked");
                    }
                    f.codings += 1;
                }
            } else if named(name, "content-length") {
                f.content_length_field = true;
                if let Ok(found) = f.content_length {
                    f.content_length = agreed_length(found, value);
                }
            }
        }
        f
    }

    /// Whether the `Transfer-Encoding` fields, taken together, are exactly one `chunked`.
    fn chunked(&self) -> bool {
        self.codings == 1 && self.first_coding_chunked
    }
}

/// The `Content-Length` agreed by the fields before (`found`) and the field `value`.
fn agreed_length(mut found: Option<u64>, value: &[u8]) -> Result<Option<u64>, WireError> {
    let mut empty = true;
    for element in list_elements(value) {
        empty = false;
        let n = parse_decimal(element).ok_or(WireError::InvalidContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(WireError::InvalidContentLength);
        }
        found = Some(n);
    }
    if empty {
        return Err(WireError::InvalidContentLength);
    }
    Ok(found)
}

/// The non-empty elements of a comma-separated header list, without surrounding whitespace.
fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// `head!(name, bytes, |head, head_len| checks)`: the bytes must parse into a complete head.
    /// `head!(name, bytes, Err(variant))`: they must fail. `head!(name, bytes, Partial)`: more
    /// bytes are needed.
    macro_rules! head {
        ($name:ident, $buf:expr, |$head:ident, $len:ident| $body:expr) => {
            #[test]
            fn $name() {
                let buf: &[u8] = $buf;
                let ($head, $len) = parse_head(buf).expect("parse error").expect("partial");
                $body
            }
        };
        ($name:ident, $buf:expr, Err($err:ident)) => {
            #[test]
            fn $name() {
                let buf: &[u8] = $buf;
                assert_eq!(
                    parse_head(buf).map(|h| h.map(|(_, n)| n)),
                    Err(WireError::$err)
                );
            }
        };
        ($name:ident, $buf:expr, Partial) => {
            #[test]
            fn $name() {
                let buf: &[u8] = $buf;
                assert_eq!(parse_head(buf).map(|h| h.map(|(_, n)| n)), Ok(None));
            }
        };
    }

    head!(
        head_200_content_length,
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        |h, n| {
            assert_eq!(
                (h.status, h.framing, h.keep_alive, n),
                (200, Framing::Length(2), true, 38)
            );
        }
    );
    head!(
        head_202_no_reason,
        b"HTTP/1.1 202\r\nContent-Length: 16\r\n\r\n",
        |h, _n| {
            assert_eq!((h.status, h.framing), (202, Framing::Length(16)));
        }
    );
    head!(head_lambda_next, b"HTTP/1.1 200 OK\r\n\
        Content-Type: application/json\r\n\
        Lambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\n\
        Lambda-Runtime-Deadline-Ms: 1542409706888\r\n\
        Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:f\r\n\
        Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
        Date: Fri, 16 Nov 2018 22:48:26 GMT\r\n\
        Content-Length: 13\r\n\r\n{\"hello\":\"w\"}", |h, n| {
        assert_eq!((h.status, h.framing, h.keep_alive), (200, Framing::Length(13), true));
        assert_eq!(
            h.header("lambda-runtime-aws-request-id"),
            Some(&b"8476a536-e9f4-11e8-9739-2dfe598c3fcd"[..])
        );
        assert_eq!(h.header("LAMBDA-RUNTIME-DEADLINE-MS"), Some(&b"1542409706888"[..]));
        assert_eq!(h.header("Lambda-Runtime-Client-Context"), None);
        assert_eq!(h.headers().count(), 7);
        assert_eq!(h.headers().next(), Some(("Content-Type", &b"application/json"[..])));
        assert_eq!(n, 408);
    });
    head!(
        head_first_occurrence_wins,
        b"HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert_eq!(h.header("X-A"), Some(&b"1"[..]));
            let names: Vec<_> = h.headers().map(|(n, _)| n).collect();
            assert_eq!(names, ["X-A", "x-a", "Content-Length"]);
        }
    );
    head!(
        head_empty_header_value,
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Client-Context:\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert_eq!(h.header("lambda-runtime-client-context"), Some(&b""[..]));
        }
    );
    head!(
        head_value_whitespace_trimmed,
        b"HTTP/1.1 200 OK\r\nX-A:   v  \r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert_eq!(h.header("x-a"), Some(&b"v"[..]));
        }
    );
    head!(
        head_204_no_length,
        b"HTTP/1.1 204 No Content\r\n\r\n",
        |h, _n| {
            assert_eq!((h.framing, h.keep_alive), (Framing::Length(0), true));
        }
    );
    head!(
        head_304_ignores_length,
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(0));
        }
    );
    head!(
        head_204_ignores_transfer_encoding,
        b"HTTP/1.1 204 No Content\r\nTransfer-Encoding: gzip\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(0));
        }
    );
    head!(
        head_100_continue,
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n",
        |h, n| {
            assert_eq!((h.status, h.framing, n), (100, Framing::Length(0), 25));
        }
    );
    head!(
        head_chunked,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        |h, _n| {
            assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, true));
        }
    );
    head!(
        head_chunked_case_insensitive,
        b"HTTP/1.1 200 OK\r\ntransfer-encoding:  CHUNKED \r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Chunked);
        }
    );
    head!(
        head_chunked_beats_content_length,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        |h, _n| {
            assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
        }
    );
    head!(
        head_chunked_with_bad_content_length,
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        |h, _n| {
            assert_eq!((h.framing, h.keep_alive), (Framing::Chunked, false));
        }
    );
    head!(
        head_te_gzip_chunked,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_split_fields,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_chunked_twice,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_chunked_not_last,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_gzip,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 1\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_empty,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_http10,
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        Err(UnsupportedTransferEncoding)
    );
    head!(
        head_te_chunked_empty_elements,
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: , chunked ,\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Chunked);
        }
    );
    head!(
        head_cl_repeated_equal,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(5));
        }
    );
    head!(
        head_cl_list_equal,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(5));
        }
    );
    head!(
        head_cl_max,
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(u64::MAX));
        }
    );
    head!(
        head_cl_leading_zeros,
        b"HTTP/1.1 200 OK\r\nContent-Length: 007\r\n\r\n",
        |h, _n| {
            assert_eq!(h.framing, Framing::Length(7));
        }
    );
    head!(
        head_cl_differ,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_list_differ,
        b"HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_alpha,
        b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_negative,
        b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_plus,
        b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_hex,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_empty,
        b"HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_inner_space,
        b"HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_overflow,
        b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551616\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_cl_huge,
        b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999999999\r\n\r\n",
        Err(InvalidContentLength)
    );
    head!(
        head_until_close,
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc",
        |h, _n| {
            assert_eq!((h.framing, h.keep_alive), (Framing::UntilClose, false));
        }
    );
    head!(
        head_connection_close,
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(!h.keep_alive);
        }
    );
    head!(
        head_connection_close_in_list,
        b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(!h.keep_alive);
        }
    );
    head!(
        head_connection_other_token,
        b"HTTP/1.1 200 OK\r\nConnection: closed, upgrade\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(h.keep_alive);
        }
    );
    head!(
        head_http10_default_close,
        b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(!h.keep_alive);
        }
    );
    head!(
        head_http10_keep_alive,
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(h.keep_alive);
        }
    );
    head!(
        head_http10_second_connection_field,
        b"HTTP/1.0 200 OK\r\nConnection: x\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert!(h.keep_alive);
        }
    );
    head!(
        head_bare_lf,
        b"HTTP/1.1 200 OK\nContent-Length: 1\n\nx",
        |h, n| {
            assert_eq!((h.framing, n), (Framing::Length(1), 35));
        }
    );
    head!(
        head_error_status,
        b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert_eq!(h.status, 500);
        }
    );
    head!(
        head_max_headers,
        b"HTTP/1.1 200 OK\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nContent-Length: 0\r\n\r\n",
        |h, _n| {
            assert_eq!(h.headers().count(), MAX_HEADERS);
            assert_eq!(h.framing, Framing::Length(0));
        }
    );
    head!(
        head_too_many_headers,
        b"HTTP/1.1 200 OK\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\
        A: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\nA: 1\r\n\r\n",
        Err(TooManyHeaders)
    );
    head!(head_http2, b"HTTP/2 200\r\n\r\n", Err(InvalidStatusLine));
    head!(
        head_http11_lowercase,
        b"http/1.1 200 OK\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_two_digit_status,
        b"HTTP/1.1 20 OK\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_four_digit_status,
        b"HTTP/1.1 2000 OK\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_status_600,
        b"HTTP/1.1 600 X\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_status_099,
        b"HTTP/1.1 099 X\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_not_http,
        b"SSH-2.0-OpenSSH\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_nul_in_reason,
        b"HTTP/1.1 200 O\0K\r\n\r\n",
        Err(InvalidStatusLine)
    );
    head!(
        head_space_in_name,
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        Err(InvalidHeader)
    );
    head!(
        head_no_colon,
        b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n",
        Err(InvalidHeader)
    );
    head!(
        head_nul_in_value,
        b"HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n",
        Err(InvalidHeader)
    );
    head!(
        head_cr_in_value,
        b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n",
        Err(InvalidHeader)
    );
    head!(
        head_obs_fold,
        b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n",
        Err(InvalidHeader)
    );
    head!(head_empty, b"", Partial);
    head!(head_partial_status, b"HTTP/1.1 20", Partial);
    head!(
        head_partial_headers,
        b"HTTP/1.1 200 OK\r\nContent-Le",
        Partial
    );
    head!(
        head_partial_final_crlf,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r",
        Partial
    );

    #[test]
    fn head_too_large_incomplete() {
        let mut buf = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        buf.resize(MAX_HEAD_BYTES - 1, b'a');
        assert_eq!(parse_head(&buf).map(|h| h.is_some()), Ok(false));
        buf.push(b'a');
        assert_eq!(
            parse_head(&buf).map(|h| h.is_some()),
            Err(WireError::HeadTooLarge)
        );
        buf.resize(MAX_HEAD_BYTES * 4, b'a');
        assert_eq!(
            parse_head(&buf).map(|h| h.is_some()),
            Err(WireError::HeadTooLarge)
        );
    }

    #[test]
    fn head_too_large_complete() {
        let build = |len: usize| {
            let mut buf = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            buf.resize(len - 4, b'a');
            buf.extend_from_slice(b"\r\n\r\nbody");
            buf
        };
        let at_limit = build(MAX_HEAD_BYTES);
        let (_, n) = parse_head(&at_limit).unwrap().unwrap();
        assert_eq!(n, MAX_HEAD_BYTES);
        let over = build(MAX_HEAD_BYTES + 1);
        assert_eq!(
            parse_head(&over).map(|h| h.is_some()),
            Err(WireError::HeadTooLarge)
        );
    }

    #[test]
    fn response_head_builder() {
        let h = ResponseHead::new(202)
            .with_header("Lambda-Runtime-Aws-Request-Id", b"abc")
            .with_header("X-B", b"2");
        assert_eq!(
            (h.status, h.framing, h.keep_alive),
            (202, Framing::Length(0), true)
        );
        assert_eq!(h.header("lambda-runtime-aws-request-id"), Some(&b"abc"[..]));
        assert_eq!(h.headers().count(), 2);
        assert_eq!(ResponseHead::new(200).headers().count(), 0);
        let full =
            (0..MAX_HEADERS + 3).fold(ResponseHead::new(200), |h, _| h.with_header("A", b"1"));
        assert_eq!(full.headers().count(), MAX_HEADERS);
    }

    #[test]
    fn built_head_equals_parsed_head() {
        let buf = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
            Content-Length: 16\r\n\r\n";
        let (parsed, _) = parse_head(buf).unwrap().unwrap();
        let mut built = ResponseHead::new(202)
            .with_header("Content-Type", b"application/json")
            .with_header("Content-Length", b"16");
        assert_ne!(parsed, built);
        built.framing = Framing::Length(16);
        assert_eq!(parsed, built);
        let debug = std::format!("{parsed:?}");
        assert!(
            debug.starts_with(
                "ResponseHead { status: 202, framing: Length(16), keep_alive: true, headers: ["
            ),
            "{debug}"
        );
        assert_eq!(debug.matches("name").count(), 2, "{debug}");
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn an_index_needs_the_bytes_it_was_taken_from() {
        let bytes = b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\nX-A: b\r\n\r\n";
        let (head, n) = parse_head(bytes).unwrap().unwrap();
        let index = head.index(&bytes[..n]).unwrap();
        assert_eq!(index.head(&bytes[..n]).header("x-a"), Some(&b"b"[..]));
        // Fields outside the given bytes are not indexed ...
        assert!(head.index(&bytes[..20]).is_none());
        assert!(
            ResponseHead::new(200)
                .with_header("a", b"b")
                .index(bytes)
                .is_none()
        );
        // ... and other bytes give a head without the fields that do not fit, never a panic.
        let short = index.head(&bytes[..30]);
        assert_eq!((short.status, short.headers().count()), (202, 0));
        assert_eq!(index.head(b"").framing, Framing::Length(2));
        // A known name is taken from the constant only where the bytes still spell it.
        let other = b"HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\nX-A: b\r\n\r\n";
        let names: Vec<_> = index.head(&other[..n]).headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["content-length", "X-A"]);
        let names: Vec<_> = index.head(&bytes[..n]).headers().map(|(n, _)| n).collect();
        assert_eq!(names, ["Content-Length", "X-A"]);
    }
}
