//! The Runtime API wire layer: request heads out, response heads and bodies in.
//!
//! Everything here is pure and allocation-free. [`Request::encode`] writes an HTTP/1.1 request
//! head into a buffer the caller provides; the caller writes the body after it. [`parse_head`]
//! parses a response head borrowing the caller's read buffer, and [`BodyDecoder`] finds the body
//! bytes in whatever the caller reads next, for `Content-Length`, chunked and read-until-close
//! framing, without copying them.
//!
//! Nothing the network sends can make this module panic: every malformed, oversized or truncated
//! input is a [`WireError`]. Bounds are named constants: [`MAX_HEADERS`] header fields and
//! [`MAX_HEAD_BYTES`] bytes for a response head (and, separately, for a chunked body's trailer
//! section), [`MAX_CHUNK_SIZE_LINE`] bytes for a chunk-size line.
//!
//! The Runtime API address comes from `AWS_LAMBDA_RUNTIME_API`; [`Endpoint::parse`] accepts both
//! the `host:port` form Lambda sets and the `http://host:port/prefix` form cargo-lambda sets.
//!
//! ```
//! use lambda_runtime_types::wire::{parse_head, BodyDecoder, Endpoint, Framing, Request};
//!
//! let endpoint = Endpoint::parse("127.0.0.1:9001")?;
//! let mut out = [0u8; 256];
//! let n = Request::Next.encode(&endpoint, &mut out)?;
//! assert!(out[..n].starts_with(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\n"));
//!
//! // What the socket returned, possibly over several reads:
//! let read = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
//! let Some((head, head_len)) = parse_head(read)? else { panic!("read more") };
//! assert_eq!((head.status, head.framing), (200, Framing::Chunked));
//!
//! let mut decoder = BodyDecoder::new(head.framing);
//! let mut rest = &read[head_len..];
//! let mut body = Vec::new();
//! while !decoder.is_done() {
//!     let decoded = decoder.decode(rest)?;
//!     assert!(decoded.consumed > 0, "read more, or call eof() if the peer closed");
//!     body.extend_from_slice(decoded.data);
//!     rest = &rest[decoded.consumed..];
//! }
//! assert_eq!(body, b"{}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! One file per concern: the address ([`Endpoint`]), request heads ([`Request`]), a streamed
//! response's chunks and trailers ([`chunk_head`], [`error_trailers`]), response heads
//! ([`parse_head`], [`ResponseHead`]), bodies ([`BodyDecoder`]) and the `Lambda-Runtime-*`
//! header names ([`header`]); this file holds what they share (the bounds, [`WireError`], the
//! decimal helpers).

mod body;
mod chunked;
mod endpoint;
pub mod header;
mod request;
mod response;

use core::fmt;

pub use body::{BodyDecoder, Decoded, MAX_CHUNK_SIZE_LINE};
pub use chunked::{
    CHUNK_END, ContentType, HTTP_INTEGRATION, InvalidContentType, LAST_CHUNK, MAX_CONTENT_TYPE_LEN,
    PRELUDE_DELIMITER, TRAILERS_END, chunk_head, error_trailers,
};
pub use endpoint::{Endpoint, EndpointError, MAX_AUTHORITY_LEN, MAX_PREFIX_LEN};
pub use request::{BufferTooSmall, Request, USER_AGENT};
pub use response::{Framing, ResponseHead, parse_head};
#[cfg(feature = "alloc")]
pub(crate) use response::{HeadIndex, parse_indexed};

/// The Runtime API version path segment every request path contains (after the prefix).
pub const API_VERSION: &str = "/2018-06-01";

/// The most header fields a response head may have; more is [`WireError::TooManyHeaders`].
pub const MAX_HEADERS: usize = 32;

/// The longest response head accepted, in bytes; a head still incomplete after this many bytes
/// is [`WireError::HeadTooLarge`]. The same bound applies to a chunked body's trailer section.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// A malformed, oversized or truncated Runtime API response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireError {
    /// The status line is not `HTTP/1.x NNN reason` with a status from 100 to 599.
    InvalidStatusLine,
    /// A header field has an invalid name, value or line ending.
    InvalidHeader,
    /// The head has more than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
    /// The head is longer than [`MAX_HEAD_BYTES`].
    HeadTooLarge,
    /// A `Content-Length` that is not a number, or several that differ.
    InvalidContentLength,
    /// A `Transfer-Encoding` other than a single `chunked`, or one in an HTTP/1.0 response.
    UnsupportedTransferEncoding,
    /// A malformed or overlong chunk-size line.
    InvalidChunkSize,
    /// A chunk's data is not followed by CRLF.
    InvalidChunk,
    /// A malformed trailer field after the last chunk.
    InvalidTrailer,
    /// The trailer section is longer than [`MAX_HEAD_BYTES`].
    TrailersTooLarge,
    /// The connection closed before the body was complete.
    UnexpectedEof,
}

impl WireError {
    fn from_httparse(e: httparse::Error) -> Self {
        match e {
            httparse::Error::TooManyHeaders => Self::TooManyHeaders,
            httparse::Error::HeaderName
            | httparse::Error::HeaderValue
            | httparse::Error::NewLine => Self::InvalidHeader,
            httparse::Error::Status | httparse::Error::Token | httparse::Error::Version => {
                Self::InvalidStatusLine
            }
        }
    }
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidStatusLine => "invalid status line",
            Self::InvalidHeader => "invalid header field",
            Self::TooManyHeaders => "too many header fields",
            Self::HeadTooLarge => "response head too large",
            Self::InvalidContentLength => "invalid content-length",
            Self::UnsupportedTransferEncoding => "unsupported transfer-encoding",
            Self::InvalidChunkSize => "invalid chunk size line",
            Self::InvalidChunk => "missing crlf after chunk data",
            Self::InvalidTrailer => "invalid trailer field",
            Self::TrailersTooLarge => "trailer section too large",
            Self::UnexpectedEof => "connection closed before the body was complete",
        })
    }
}

impl core::error::Error for WireError {}

/// A non-empty run of ASCII digits that fits in a `u64`; `None` on anything else (a sign,
/// whitespace, an empty value) or overflow.
///
/// The crate's one decimal parser: `Content-Length`, an [`Endpoint`]'s port and
/// `Lambda-Runtime-Deadline-Ms` are all read with it.
pub(crate) fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Formats `n` in decimal into `digits` and returns the text.
fn format_decimal(mut n: u64, digits: &mut [u8; 20]) -> &str {
    let mut start = digits.len();
    for slot in digits.iter_mut().rev() {
        // `n % 10` is a single digit, so the cast cannot truncate.
        *slot = b'0' + (n % 10) as u8;
        n /= 10;
        start -= 1;
        if n == 0 {
            break;
        }
    }
    let text = digits.get(start..).unwrap_or_default();
    core::str::from_utf8(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// `data` is a sub-slice of `window` within the consumed prefix.
    pub(super) fn check_decoded(window: &[u8], out: &Decoded<'_>) {
        assert!(out.consumed <= window.len());
        assert!(out.data.len() <= out.consumed);
        if !out.data.is_empty() {
            let base = window.as_ptr() as usize;
            let at = out.data.as_ptr() as usize;
            assert!(at >= base && at + out.data.len() <= base + out.consumed);
        }
    }

    #[test]
    fn parse_decimal_edges() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"007"), Some(7));
        assert_eq!(parse_decimal(b"1700000003000"), Some(1_700_000_003_000));
        assert_eq!(parse_decimal(b"18446744073709551615"), Some(u64::MAX));
        for bad in [
            &b""[..],
            b"18446744073709551616",
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"1.5",
            b"0x10",
            "\u{661}".as_bytes(),
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn format_decimal_edges() {
        let mut d = [0u8; 20];
        assert_eq!(format_decimal(0, &mut d), "0");
        assert_eq!(format_decimal(7, &mut d), "7");
        assert_eq!(format_decimal(10, &mut d), "10");
        assert_eq!(format_decimal(u64::MAX, &mut d), "18446744073709551615");
    }

    #[test]
    fn error_display_is_short_and_lowercase() {
        for e in [
            WireError::InvalidStatusLine,
            WireError::InvalidHeader,
            WireError::TooManyHeaders,
            WireError::HeadTooLarge,
            WireError::InvalidContentLength,
            WireError::UnsupportedTransferEncoding,
            WireError::InvalidChunkSize,
            WireError::InvalidChunk,
            WireError::InvalidTrailer,
            WireError::TrailersTooLarge,
            WireError::UnexpectedEof,
        ] {
            let s = std::format!("{e}");
            assert!(
                !s.is_empty() && s == s.to_lowercase() && s.len() < 60,
                "{s}"
            );
        }
    }

    // -----------------------------------------------------------------------------------------
    // Property test: random and mutated responses never panic; valid ones round-trip
    // -----------------------------------------------------------------------------------------

    /// xorshift64*: small, deterministic, good enough to pick splits and mutations.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
        fn chance(&mut self, one_in: usize) -> bool {
            self.below(one_in) == 0
        }
        fn pick<T: Copy>(&mut self, items: &[T]) -> T {
            items[self.below(items.len())]
        }
    }

    struct Generated {
        bytes: Vec<u8>,
        status: u16,
        head_len: usize,
        body: Vec<u8>,
    }

    fn random_case(rng: &mut Rng, s: &str) -> std::string::String {
        s.chars()
            .map(|c| {
                if rng.chance(2) {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    }

    fn generate(rng: &mut Rng) -> Generated {
        let status = rng.pick(&[200u16, 202, 400, 403, 410, 413, 500, 204, 304]);
        let mut head = std::format!("HTTP/1.{} {status} Reason\r\n", rng.below(2));
        let http10 = head.starts_with("HTTP/1.0");
        for _ in 0..rng.below(6) {
            let name = rng_pick_name(rng);
            let name = random_case(rng, name);
            head.push_str(&std::format!("{name}: value-{}\r\n", rng.next() % 1000));
        }
        let body_len = if rng.chance(4) { 0 } else { rng.below(300) };
        let mut body: Vec<u8> = (0..body_len)
            .map(|_| rng.pick(b"ab\r\n0;:\x00\xff"))
            .collect();
        let bodiless = matches!(status, 204 | 304);
        if bodiless {
            body.clear();
        }
        let mode = rng.below(3);
        let mut encoded = Vec::new();
        if !bodiless && mode == 0 && !http10 {
            head.push_str(&std::format!(
                "{}: chunked\r\n",
                random_case(rng, "transfer-encoding")
            ));
            let mut rest = &body[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len().min(64));
                let ext = if rng.chance(3) { ";k=v;x" } else { "" };
                let size = if rng.chance(2) {
                    std::format!("{n:x}")
                } else {
                    std::format!("{n:X}")
                };
                encoded.extend_from_slice(std::format!("{size}{ext}\r\n").as_bytes());
                encoded.extend_from_slice(&rest[..n]);
                encoded.extend_from_slice(b"\r\n");
                rest = &rest[n..];
            }
            encoded.extend_from_slice(b"0\r\n");
            for i in 0..rng.below(3) {
                encoded.extend_from_slice(std::format!("T{i}: t\r\n").as_bytes());
            }
            encoded.extend_from_slice(b"\r\n");
        } else if bodiless || mode == 1 {
            head.push_str(&std::format!("Content-Length: {}\r\n", body.len()));
            encoded.extend_from_slice(&body);
        } else {
            // Until close: no framing header at all.
            encoded.extend_from_slice(&body);
        }
        head.push_str("\r\n");
        let head_len = head.len();
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(&encoded);
        Generated {
            bytes,
            status,
            head_len,
            body,
        }
    }

    fn rng_pick_name(rng: &mut Rng) -> &'static str {
        rng.pick(&[
            "Lambda-Runtime-Aws-Request-Id",
            "Lambda-Runtime-Deadline-Ms",
            "Lambda-Runtime-Trace-Id",
            "Content-Type",
            "Date",
            "X-Other",
        ])
    }

    fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(6) {
                0 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                1 => bytes.truncate(at),
                2 => bytes.insert(at, rng.pick(b"\r\n\x00 ;:,0123456789abcdefABCDEF\x7f\xff")),
                3 => {
                    let huge: &[u8] = rng.pick(&[
                        &b"99999999999999999999999"[..],
                        b"18446744073709551616",
                        b"ffffffffffffffffff",
                        b"\r\n\r\n",
                        b"\r\n0\r\n\r\n",
                        b"Content-Length: 5\r\n",
                        b"Transfer-Encoding: chunked\r\n",
                    ]);
                    for (i, &b) in huge.iter().enumerate() {
                        bytes.insert(at + i, b);
                    }
                }
                4 if at < bytes.len() => {
                    let end = (at + 1 + rng.below(8)).min(bytes.len());
                    bytes.drain(at..end);
                }
                _ => {
                    if let Some(b) = bytes.get_mut(at) {
                        *b = rng.pick(b"\r\n\x00");
                    }
                }
            }
        }
    }

    /// What a read loop would see: head status and length, body, or the first error.
    #[derive(Debug, PartialEq)]
    struct Outcome {
        status: u16,
        head_len: usize,
        body: Vec<u8>,
    }

    /// Reads `input` in random-sized pieces, as an adapter would: parse the head (retrying as
    /// the buffer grows), then decode the body, then EOF. Must never panic or spin.
    fn run(rng: &mut Rng, input: &[u8]) -> Result<Option<Outcome>, WireError> {
        let max_read = rng.pick(&[1usize, 3, 16, 64, 4096]);
        let mut avail = 0;
        let grow = |rng: &mut Rng, avail: &mut usize| {
            *avail = (*avail + 1 + rng.below(max_read)).min(input.len());
        };
        let (status, framing, head_len) = loop {
            match parse_head(&input[..avail])? {
                Some((head, n)) => {
                    assert!(n <= avail && n <= MAX_HEAD_BYTES);
                    assert!((100..=599).contains(&head.status));
                    // Kept as an index and rebuilt, it is the same head, without a parse.
                    #[cfg(feature = "alloc")]
                    {
                        let index = head.index(&input[..n]).expect("fields lie in the head");
                        assert_eq!(index.head(&input[..n]), head);
                        // Its Lambda fields read from the index are the head's.
                        let (fields, of_head) = (
                            index.next_fields(&input[..n]),
                            header::NextFields::read(&head),
                        );
                        for name in header::ON_NEXT {
                            assert_eq!(fields.get(name), of_head.get(name), "{name}");
                        }
                        assert_eq!(fields.conflicting(), of_head.conflicting());
                    }
                    break (head.status, head.framing, n);
                }
                None if avail == input.len() => return Ok(None),
                None => grow(rng, &mut avail),
            }
        };
        let mut decoder = BodyDecoder::new(framing);
        let mut body = Vec::new();
        let mut start = head_len;
        for _ in 0..4 * input.len() + 16 {
            let window = &input[start..avail];
            let out = decoder.decode(window)?;
            check_decoded(window, &out);
            body.extend_from_slice(out.data);
            start += out.consumed;
            if decoder.is_done() {
                return Ok(Some(Outcome {
                    status,
                    head_len,
                    body,
                }));
            }
            if out.consumed == 0 {
                if avail == input.len() {
                    decoder.eof()?;
                    return Ok(Some(Outcome {
                        status,
                        head_len,
                        body,
                    }));
                }
                grow(rng, &mut avail);
            }
        }
        panic!("no progress on {input:?}");
    }

    const CASES: usize = 20_000;

    #[test]
    fn property_valid_responses_round_trip() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..CASES / 2 {
            let g = generate(&mut rng);
            let got = run(&mut rng, &g.bytes);
            let want = Outcome {
                status: g.status,
                head_len: g.head_len,
                body: g.body.clone(),
            };
            assert_eq!(
                got,
                Ok(Some(want)),
                "case {case}: {:?}",
                std::string::String::from_utf8_lossy(&g.bytes)
            );
        }
    }

    #[test]
    fn property_mutated_and_random_input_never_panics() {
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut outcomes = [0usize; 3];
        for case in 0..CASES {
            let bytes = match case % 4 {
                0 => (0..rng.below(200)).map(|_| rng.next() as u8).collect(),
                1 => {
                    let mut b = b"HTTP/1.1 200 OK\r\n".to_vec();
                    b.extend(
                        (0..rng.below(200)).map(|_| rng.pick(b"\r\n:; 0123456789abcdefXY-\x00")),
                    );
                    b
                }
                _ => {
                    let mut b = generate(&mut rng).bytes;
                    mutate(&mut rng, &mut b);
                    b
                }
            };
            let got = run(&mut rng, &bytes);
            // However the bytes are split into reads, the outcome is the same.
            let again = run(&mut rng, &bytes);
            assert_eq!(
                got,
                again,
                "case {case}: {:?}",
                std::string::String::from_utf8_lossy(&bytes)
            );
            match got {
                Ok(Some(_)) => outcomes[0] += 1,
                Ok(None) => outcomes[1] += 1,
                Err(_) => outcomes[2] += 1,
            }
        }
        // The mutations reach all three outcomes, so the test exercises more than one path.
        std::eprintln!("ok / incomplete / error: {outcomes:?}");
        assert!(outcomes.iter().all(|&n| n > CASES / 100), "{outcomes:?}");
    }
}
