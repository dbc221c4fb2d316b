//! Writing a streamed response: `Transfer-Encoding: chunked` framing and the error trailers.
//!
//! A streamed `/response` ([`Request::StreamResponse`](super::Request::StreamResponse)) is sent
//! as chunks, each `{size in hex}\r\n{bytes}\r\n` ([`chunk_head`], [`CHUNK_END`]), then
//! [`LAST_CHUNK`], then the trailers, then an empty line ([`TRAILERS_END`]). A stream that
//! fails after its first bytes cannot become an `/error` post any more: Lambda reads the
//! failure from the `Lambda-Runtime-Function-Error-Type` and `Lambda-Runtime-Function-Error-Body`
//! trailers ([`error_trailers`]), the body base64-encoded. A stream that ends well has no
//! trailers.
//!
//! ```
//! use lambda_runtime_types::wire::{CHUNK_END, LAST_CHUNK, TRAILERS_END, chunk_head};
//!
//! let mut body = Vec::new();
//! for chunk in [&b"hello "[..], b"world"] {
//!     let mut head = [0u8; 18];
//!     body.extend_from_slice(chunk_head(chunk.len(), &mut head));
//!     body.extend_from_slice(chunk);
//!     body.extend_from_slice(CHUNK_END);
//! }
//! body.extend_from_slice(LAST_CHUNK);
//! body.extend_from_slice(TRAILERS_END);
//! assert_eq!(body, b"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n");
//! ```

use core::fmt;

use super::header;
use crate::error_type::ErrorType;

/// What ends a chunk's bytes.
pub const CHUNK_END: &[u8] = b"\r\n";

/// The zero-size chunk that ends the body; the trailers (if any) follow.
pub const LAST_CHUNK: &[u8] = b"0\r\n";

/// The empty line that ends the trailers (and the request).
pub const TRAILERS_END: &[u8] = b"\r\n";

/// The content type of an HTTP-integration stream (a Function URL in `RESPONSE_STREAM` mode, an
/// API Gateway REST API with `responseTransferMode: STREAM`): a JSON prelude (`statusCode`,
/// `headers`, `cookies`), [`PRELUDE_DELIMITER`], then the payload.
pub const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// The 8 NUL bytes between an HTTP-integration stream's JSON prelude and its payload.
pub const PRELUDE_DELIMITER: &[u8; 8] = &[0; 8];

/// The longest [`ContentType`] accepted, in bytes.
pub const MAX_CONTENT_TYPE_LEN: usize = 256;

/// The `Content-Type` of a streamed response: visible ASCII, spaces and tabs (no line breaks),
/// at most [`MAX_CONTENT_TYPE_LEN`] bytes, so safe to put into a header as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContentType<'a>(&'a str);

impl<'a> ContentType<'a> {
    /// The HTTP-integration content type ([`HTTP_INTEGRATION`]).
    pub const HTTP_INTEGRATION: ContentType<'static> = ContentType(HTTP_INTEGRATION);

    /// `application/octet-stream`, for raw bytes of no declared type.
    pub const OCTET_STREAM: ContentType<'static> = ContentType("application/octet-stream");

    /// Validates `value`.
    pub fn new(value: &'a str) -> Result<Self, InvalidContentType> {
        let ok = !value.is_empty()
            && value.len() <= MAX_CONTENT_TYPE_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_graphic() || b == b' ' || b == b'\t');
        if ok {
            Ok(Self(value))
        } else {
            Err(InvalidContentType)
        }
    }

    /// The value.
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

/// A content type that is empty, too long, or has bytes a header value cannot carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidContentType;

impl fmt::Display for InvalidContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a streamed response's content type must be 1 to {MAX_CONTENT_TYPE_LEN} bytes of \
             visible ASCII, spaces or tabs"
        )
    }
}

impl core::error::Error for InvalidContentType {}

/// The head of a chunk of `len` bytes (`{len in lowercase hex}\r\n`), written into `buf`. A
/// zero `len` is [`LAST_CHUNK`]: don't send empty chunks in the middle of a stream.
pub fn chunk_head(len: usize, buf: &mut [u8; 18]) -> &[u8] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut n = len as u64;
    let mut start = 16;
    loop {
        start -= 1;
        // `n & 0xf` is a nibble, so the index is in bounds.
        buf[start] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    buf[16] = b'\r';
    buf[17] = b'\n';
    &buf[start..]
}

/// The trailers of a stream that failed mid-way:
/// `Lambda-Runtime-Function-Error-Type: {error_type}\r\n` and
/// `Lambda-Runtime-Function-Error-Body: {body_base64}\r\n`, appended through `put`. The caller
/// base64-encodes the error body (`{"errorType", "errorMessage", …}`); a value with a byte a
/// header value cannot carry is left out, never written.
pub fn error_trailers(error_type: &ErrorType, body_base64: &str, mut put: impl FnMut(&[u8])) {
    put(header::FUNCTION_ERROR_TYPE.as_bytes());
    put(b": ");
    put(error_type.as_str().as_bytes());
    put(b"\r\n");
    let safe = body_base64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if safe {
        put(header::FUNCTION_ERROR_BODY.as_bytes());
        put(b": ");
        put(body_base64.as_bytes());
        put(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{BodyDecoder, Framing};

    #[test]
    fn chunk_heads_are_lowercase_hex() {
        let mut buf = [0u8; 18];
        assert_eq!(chunk_head(0, &mut buf), b"0\r\n");
        assert_eq!(chunk_head(10, &mut buf), b"a\r\n");
        assert_eq!(chunk_head(0x1f2e, &mut buf), b"1f2e\r\n");
        assert_eq!(
            chunk_head(usize::MAX, &mut buf),
            std::format!("{:x}\r\n", usize::MAX).as_bytes()
        );
    }

    #[test]
    fn a_failed_stream_decodes_to_its_bytes_and_trailers() {
        let mut wire = std::vec::Vec::new();
        let mut head = [0u8; 18];
        wire.extend_from_slice(chunk_head(3, &mut head));
        wire.extend_from_slice(b"abc");
        wire.extend_from_slice(CHUNK_END);
        wire.extend_from_slice(LAST_CHUNK);
        let error_type = ErrorType::new("Function.StreamBroke");
        error_trailers(&error_type, "eyJ4IjoxfQ==", |b| wire.extend_from_slice(b));
        wire.extend_from_slice(TRAILERS_END);
        assert!(wire.ends_with(
            b"0\r\nLambda-Runtime-Function-Error-Type: Function.StreamBroke\r\n\
              Lambda-Runtime-Function-Error-Body: eyJ4IjoxfQ==\r\n\r\n"
        ));
        // The runtime's own decoder reads it back: the bytes, and the end after the trailers.
        let mut decoder = BodyDecoder::new(Framing::Chunked);
        let decoded = decoder.decode(&wire).unwrap();
        assert_eq!(decoded.data, b"abc");
        let rest = &wire[decoded.consumed..];
        let mut seen = 0;
        let mut at = 0;
        while !decoder.is_done() {
            let d = decoder.decode(&rest[at..]).unwrap();
            seen += d.data.len();
            at += d.consumed;
        }
        assert_eq!((seen, at), (0, rest.len()));
    }

    #[test]
    fn an_unsafe_error_body_is_left_out() {
        let mut out = std::vec::Vec::new();
        let error_type = ErrorType::new("Function.X");
        error_trailers(&error_type, "a\r\nInjected: 1", |b| {
            out.extend_from_slice(b)
        });
        let want = std::format!(
            "Lambda-Runtime-Function-Error-Type: {}\r\n",
            error_type.as_str()
        );
        assert_eq!(out, want.as_bytes());
    }

    #[test]
    fn content_types_are_header_safe() {
        assert_eq!(
            ContentType::new("text/event-stream; charset=utf-8").map(|c| c.as_str()),
            Ok("text/event-stream; charset=utf-8")
        );
        for bad in ["", "text/plain\r\nX: y", "tëxt", &"a".repeat(257)] {
            assert_eq!(ContentType::new(bad), Err(InvalidContentType), "{bad:?}");
        }
    }
}
