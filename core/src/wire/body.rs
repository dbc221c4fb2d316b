//! [`BodyDecoder`]: finds a response body's bytes for `Content-Length`, chunked and
//! read-until-close framing, without copying them.

use super::{Framing, MAX_HEAD_BYTES, WireError};

/// The longest chunk-size line (size, extensions and CRLF) accepted, in bytes; longer is
/// [`WireError::InvalidChunkSize`].
pub const MAX_CHUNK_SIZE_LINE: usize = 1024;

/// Finds a response body's bytes in the input that follows the head, without copying them.
///
/// Feed it every byte read after the head, in order, as often as needed: each call consumes a
/// prefix of its input and returns the body bytes found there (a sub-slice of the input). Bytes it
/// did not consume must be offered again, with more appended, in the next call. It handles any
/// split of the input, including a chunk-size line or a CRLF cut in two.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyDecoder {
    state: BodyState,
    declared: Option<u64>,
    /// Bytes of trailer fields seen so far (chunked bodies only).
    trailer_bytes: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyState {
    /// `Content-Length` body with this many bytes still to come.
    Length(u64),
    /// Everything until the peer closes.
    UntilClose,
    /// Expecting a chunk-size line.
    ChunkSize,
    /// Inside a chunk's data, this many bytes still to come.
    ChunkData(u64),
    /// Expecting the CRLF after a chunk's data.
    ChunkDataEnd,
    /// After the last chunk: trailer fields, then an empty line.
    Trailers,
    /// The body is complete.
    Done,
}

impl BodyDecoder {
    /// A decoder for a body with the given framing (from
    /// [`ResponseHead::framing`](super::ResponseHead::framing)).
    pub fn new(framing: Framing) -> Self {
        let (state, declared) = match framing {
            Framing::Length(0) => (BodyState::Done, Some(0)),
            Framing::Length(n) => (BodyState::Length(n), Some(n)),
            Framing::Chunked => (BodyState::ChunkSize, None),
            Framing::UntilClose => (BodyState::UntilClose, None),
        };
        Self {
            state,
            declared,
            trailer_bytes: 0,
        }
    }

    /// Consumes a prefix of `input` and returns it with the body bytes found in it.
    ///
    /// `data` is a sub-slice of `input` (possibly empty) holding the next body bytes; `consumed`
    /// counts them together with any framing bytes around them. Call again with
    /// `input[consumed..]` plus whatever is read next. When `consumed` is 0 and the body is not
    /// [done](Self::is_done), more input is needed. Once done, nothing more is consumed: bytes
    /// after the body belong to the next response.
    ///
    /// An error leaves the decoder as it was before the call. The response is malformed, so the
    /// connection should not be reused.
    pub fn decode<'i>(&mut self, input: &'i [u8]) -> Result<Decoded<'i>, WireError> {
        let mut next = *self;
        let decoded = next.advance(input)?;
        *self = next;
        Ok(decoded)
    }

    /// [`decode`](Self::decode) without the rollback on error.
    fn advance<'i>(&mut self, input: &'i [u8]) -> Result<Decoded<'i>, WireError> {
        let mut pos = 0usize;
        let mut data: &'i [u8] = &[];
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                BodyState::Done => break,
                BodyState::Length(0) => self.state = BodyState::Done,
                BodyState::ChunkData(0) => self.state = BodyState::ChunkDataEnd,
                BodyState::Length(remaining) | BodyState::ChunkData(remaining) => {
                    // One data run per call, so that `data` is a single sub-slice.
                    if !data.is_empty() || rest.is_empty() {
                        break;
                    }
                    let n = usize::try_from(remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    let Some((taken, _)) = rest.split_at_checked(n) else {
                        break;
                    };
                    data = taken;
                    pos = pos.saturating_add(n);
                    let left = remaining.saturating_sub(n as u64);
                    self.state = match self.state {
                        BodyState::Length(_) => BodyState::Length(left),
                        _ => BodyState::ChunkData(left),
                    };
                }
                BodyState::UntilClose => {
                    if rest.is_empty() {
                        break;
                    }
                    data = rest;
                    pos = input.len();
                    break;
                }
                BodyState::ChunkSize => match chunk_size_line(rest)? {
                    Some((line_len, size)) => {
                        pos = pos.saturating_add(line_len);
                        self.state = if size == 0 {
                            BodyState::Trailers
                        } else {
                            BodyState::ChunkData(size)
                        };
                    }
                    None => break,
                },
                BodyState::ChunkDataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        pos = pos.saturating_add(2);
                        self.state = BodyState::ChunkSize;
                    }
                    [] | [b'\r'] => break,
                    _ => return Err(WireError::InvalidChunk),
                },
                BodyState::Trailers => {
                    // A field line (CRLF included) must fit in what is left of the budget; the
                    // empty line that ends the section is not counted. Look no further than that.
                    let budget = MAX_HEAD_BYTES.saturating_sub(self.trailer_bytes);
                    let window = rest.get(..budget.saturating_add(2)).unwrap_or(rest);
                    match trailer_line(window)? {
                        Some(0) => {
                            pos = pos.saturating_add(2);
                            self.state = BodyState::Done;
                        }
                        Some(line_len) if line_len > budget => {
                            return Err(WireError::TrailersTooLarge);
                        }
                        Some(line_len) => {
                            self.trailer_bytes = self.trailer_bytes.saturating_add(line_len);
                            pos = pos.saturating_add(line_len);
                        }
                        None => {
                            // Incomplete: unless it is the start of the final CRLF, the line
                            // will be at least this long.
                            let started = window.strip_suffix(b"\r").unwrap_or(window).len();
                            if started > 0 && started.saturating_add(2) > budget {
                                return Err(WireError::TrailersTooLarge);
                            }
                            break;
                        }
                    }
                }
            }
        }
        Ok(Decoded {
            consumed: pos,
            data,
        })
    }

    /// Whether the whole body has been decoded.
    pub fn is_done(&self) -> bool {
        self.state == BodyState::Done
    }

    /// Reports that the peer closed the connection.
    ///
    /// For [`Framing::UntilClose`] this ends the body and returns `Ok`; for a complete body it
    /// returns `Ok`; otherwise the body was cut short and it returns
    /// [`WireError::UnexpectedEof`].
    pub fn eof(&mut self) -> Result<(), WireError> {
        match self.state {
            BodyState::Done => Ok(()),
            BodyState::UntilClose => {
                self.state = BodyState::Done;
                Ok(())
            }
            _ => Err(WireError::UnexpectedEof),
        }
    }

    /// The declared total body length, when known up front ([`Framing::Length`]).
    pub fn content_length(&self) -> Option<u64> {
        self.declared
    }
}

/// Parses a chunk-size line at the start of `rest`: `Ok(None)` if incomplete, else its length
/// (CRLF included) and the chunk size.
fn chunk_size_line(rest: &[u8]) -> Result<Option<(usize, u64)>, WireError> {
    let rest = rest.get(..MAX_CHUNK_SIZE_LINE).unwrap_or(rest);
    // `parse_chunk_size` reads an empty size as 0 and lets any byte into an extension; require a
    // hex digit first and no control bytes but HTAB before the CRLF.
    match rest.first() {
        None => return Ok(None),
        Some(b) if !b.is_ascii_hexdigit() => return Err(WireError::InvalidChunkSize),
        Some(_) => {}
    }
    let line_end = rest.iter().position(|&b| b == b'\r').unwrap_or(rest.len());
    let line = rest.get(..line_end).unwrap_or_default();
    if line.iter().any(|&b| b.is_ascii_control() && b != b'\t') {
        return Err(WireError::InvalidChunkSize);
    }
    match httparse::parse_chunk_size(rest) {
        Ok(httparse::Status::Complete((len, size))) => Ok(Some((len, size))),
        Ok(httparse::Status::Partial) if rest.len() >= MAX_CHUNK_SIZE_LINE => {
            Err(WireError::InvalidChunkSize)
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::InvalidChunkSize) => Err(WireError::InvalidChunkSize),
    }
}

/// Looks for one trailer line at the start of `rest`: `Ok(None)` if incomplete, `Some(0)` for the
/// empty line that ends the trailers, else the line's length with its CRLF. The field is checked
/// loosely (a token, a colon, no control bytes but HTAB) and otherwise ignored.
fn trailer_line(rest: &[u8]) -> Result<Option<usize>, WireError> {
    let Some(cr) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return Ok(None);
    };
    let (line, end) = rest.split_at(cr);
    match end {
        [b'\r', b'\n', ..] => {}
        [b'\r'] => return Ok(None),
        _ => return Err(WireError::InvalidTrailer),
    }
    if line.is_empty() {
        return Ok(Some(0));
    }
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(WireError::InvalidTrailer);
    };
    let (name, value) = line.split_at(colon);
    let name_ok = !name.is_empty() && name.iter().all(|&b| is_token_byte(b));
    let value_ok = value.iter().all(|&b| !b.is_ascii_control() || b == b'\t');
    if !name_ok || !value_ok {
        return Err(WireError::InvalidTrailer);
    }
    Ok(Some(line.len().saturating_add(2)))
}

/// `tchar` of RFC 9110 §5.6.2.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// What one [`BodyDecoder::decode`] call found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decoded<'i> {
    /// How many bytes of the input were used (body and framing bytes).
    pub consumed: usize,
    /// The body bytes found, a sub-slice of the input; may be empty.
    pub data: &'i [u8],
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::check_decoded;
    use std::vec::Vec;

    /// Feeds `input` to a decoder in reads of the given sizes (the last size repeats), offering
    /// unconsumed bytes again as a real read loop does, then reports EOF if the body is not done.
    fn decode_in_reads(
        framing: Framing,
        input: &[u8],
        reads: &[usize],
    ) -> Result<Vec<u8>, WireError> {
        let mut decoder = BodyDecoder::new(framing);
        let mut body = Vec::new();
        let mut start = 0;
        let mut avail = 0;
        let mut read = 0;
        for _ in 0..10 * input.len() + 10 {
            let window = &input[start..avail];
            let out = decoder.decode(window)?;
            check_decoded(window, &out);
            body.extend_from_slice(out.data);
            start += out.consumed;
            if decoder.is_done() {
                return Ok(body);
            }
            if out.consumed == 0 {
                if avail == input.len() {
                    decoder.eof()?;
                    assert!(decoder.is_done());
                    return Ok(body);
                }
                let step = reads
                    .get(read)
                    .or(reads.last())
                    .copied()
                    .unwrap_or(1)
                    .max(1);
                read += 1;
                avail = (avail + step).min(input.len());
            }
        }
        panic!("decoder made no progress");
    }

    fn decode_all_ways(framing: Framing, input: &[u8]) -> Result<Vec<u8>, WireError> {
        let whole = decode_in_reads(framing, input, &[input.len()]);
        assert_eq!(decode_in_reads(framing, input, &[1]), whole, "byte by byte");
        for split in 0..=input.len() {
            let got = decode_in_reads(framing, input, &[split, input.len()]);
            assert_eq!(got, whole, "split at {split}");
        }
        whole
    }

    #[test]
    fn body_content_length() {
        let input = b"hello world";
        assert_eq!(decode_all_ways(Framing::Length(11), input).unwrap(), input);
        let mut d = BodyDecoder::new(Framing::Length(11));
        assert_eq!(d.content_length(), Some(11));
        assert_eq!(
            d.decode(b"hello"),
            Ok(Decoded {
                consumed: 5,
                data: b"hello"
            })
        );
        assert!(!d.is_done());
        assert_eq!(
            d.decode(b" world, and the next response"),
            Ok(Decoded {
                consumed: 6,
                data: b" world"
            })
        );
        assert!(d.is_done());
        assert_eq!(
            d.decode(b"more"),
            Ok(Decoded {
                consumed: 0,
                data: b""
            })
        );
        assert_eq!(d.eof(), Ok(()));
    }

    #[test]
    fn body_content_length_zero_is_done() {
        let mut d = BodyDecoder::new(Framing::Length(0));
        assert!(d.is_done());
        assert_eq!(d.content_length(), Some(0));
        assert_eq!(
            d.decode(b"HTTP/1.1"),
            Ok(Decoded {
                consumed: 0,
                data: b""
            })
        );
    }

    #[test]
    fn body_content_length_truncated() {
        assert_eq!(
            decode_all_ways(Framing::Length(12), b"hello world"),
            Err(WireError::UnexpectedEof)
        );
        let mut d = BodyDecoder::new(Framing::Length(u64::MAX));
        assert_eq!(d.decode(b"abc").unwrap().consumed, 3);
        assert_eq!(d.eof(), Err(WireError::UnexpectedEof));
    }

    #[test]
    fn body_until_close() {
        let input = b"a\r\n0\r\n\r\nbody";
        assert_eq!(decode_all_ways(Framing::UntilClose, input).unwrap(), input);
        let mut d = BodyDecoder::new(Framing::UntilClose);
        assert_eq!(d.content_length(), None);
        assert!(!d.is_done());
        assert_eq!(d.eof(), Ok(()));
        assert!(d.is_done());
    }

    const CHUNKED: &[u8] = b"5;name=value;quoted=\"a;b\"\r\nhello\r\n\
        1\t; ext\r\n \r\n\
        A\r\n0123456789\r\n\
        0000000000000001\r\n!\r\n\
        0;last\r\nTrailer-One: 1\r\nLambda-Runtime-Function-Error-Type: Runtime.X\r\n\r\n";

    #[test]
    fn body_chunked_with_extensions_and_trailers() {
        let body = decode_all_ways(Framing::Chunked, CHUNKED).unwrap();
        assert_eq!(body, b"hello 0123456789!");
        let mut d = BodyDecoder::new(Framing::Chunked);
        assert_eq!(d.content_length(), None);
        // Whole input: data comes one chunk per call; trailers are skipped with the last chunk.
        let mut rest = CHUNKED;
        let mut pieces = Vec::new();
        while !d.is_done() {
            let out = d.decode(rest).unwrap();
            pieces.push(out.data);
            rest = &rest[out.consumed..];
        }
        assert_eq!(pieces, [&b"hello"[..], b" ", b"0123456789", b"!"]);
        assert!(rest.is_empty());
    }

    #[test]
    fn body_chunked_leaves_next_response_alone() {
        let mut input = b"3\r\nabc\r\n0\r\n\r\n".to_vec();
        let body_len = input.len();
        input.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let mut d = BodyDecoder::new(Framing::Chunked);
        let mut start = 0;
        while !d.is_done() {
            start += d.decode(&input[start..]).unwrap().consumed;
        }
        assert_eq!(start, body_len);
    }

    #[test]
    fn body_chunked_empty() {
        assert_eq!(
            decode_all_ways(Framing::Chunked, b"0\r\n\r\n").unwrap(),
            b""
        );
    }

    #[test]
    fn body_chunked_truncated() {
        for cut in 0..CHUNKED.len() {
            assert_eq!(
                decode_in_reads(Framing::Chunked, &CHUNKED[..cut], &[3]),
                Err(WireError::UnexpectedEof),
                "cut at {cut}"
            );
        }
    }

    macro_rules! chunked_err {
        ($($name:ident: $input:expr => $err:ident;)*) => {
            $(
                #[test]
                fn $name() {
                    let input: &[u8] = $input;
                    let want = Err(WireError::$err);
                    assert_eq!(decode_in_reads(Framing::Chunked, input, &[input.len()]), want);
                    assert_eq!(decode_in_reads(Framing::Chunked, input, &[1]), want);
                }
            )*
        };
    }

    chunked_err! {
        chunk_empty_size: b"\r\n" => InvalidChunkSize;
        chunk_ext_without_size: b";a\r\n" => InvalidChunkSize;
        chunk_leading_space: b" 1\r\nx\r\n0\r\n\r\n" => InvalidChunkSize;
        chunk_non_hex: b"g\r\n" => InvalidChunkSize;
        chunk_negative: b"-1\r\n" => InvalidChunkSize;
        chunk_too_many_digits: b"10000000000000000\r\n" => InvalidChunkSize;
        chunk_bare_lf: b"1\nx\r\n0\r\n\r\n" => InvalidChunkSize;
        chunk_cr_without_lf: b"1\rx" => InvalidChunkSize;
        chunk_lf_in_extension: b"1;a\nb\r\nx\r\n0\r\n\r\n" => InvalidChunkSize;
        chunk_nul_in_extension: b"1;a\0\r\nx\r\n0\r\n\r\n" => InvalidChunkSize;
        chunk_data_without_crlf: b"1\r\nxy\r\n0\r\n\r\n" => InvalidChunk;
        chunk_data_lf_only: b"1\r\nx\n0\r\n\r\n" => InvalidChunk;
        chunk_data_cr_then_junk: b"1\r\nx\rz0\r\n\r\n" => InvalidChunk;
        trailer_without_colon: b"0\r\nnocolon\r\n\r\n" => InvalidTrailer;
        trailer_bad_name: b"0\r\nbad name: 1\r\n\r\n" => InvalidTrailer;
        trailer_empty_name: b"0\r\n: 1\r\n\r\n" => InvalidTrailer;
        trailer_bare_lf: b"0\r\nA: 1\n\r\n" => InvalidTrailer;
        trailer_nul_in_value: b"0\r\nA: \x001\r\n\r\n" => InvalidTrailer;
        trailer_cr_junk: b"0\r\n\rx" => InvalidTrailer;
    }

    #[test]
    fn chunk_size_line_limit() {
        let mut line = b"1;".to_vec();
        line.resize(MAX_CHUNK_SIZE_LINE - 2, b'e');
        line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(
            decode_in_reads(Framing::Chunked, &line, &[line.len()]).unwrap(),
            b"x"
        );
        assert_eq!(
            decode_in_reads(Framing::Chunked, &line, &[7]).unwrap(),
            b"x"
        );

        let mut long = b"1;".to_vec();
        long.resize(MAX_CHUNK_SIZE_LINE - 1, b'e');
        long.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(
            decode_in_reads(Framing::Chunked, &long, &[long.len()]),
            Err(WireError::InvalidChunkSize)
        );
        assert_eq!(
            decode_in_reads(Framing::Chunked, &long, &[7]),
            Err(WireError::InvalidChunkSize)
        );
        // An endless extension fails once the bound is reached, not at EOF.
        let endless = std::vec![b'e'; 4 * MAX_CHUNK_SIZE_LINE];
        let mut d = BodyDecoder::new(Framing::Chunked);
        assert_eq!(
            d.decode(b"1;e"),
            Ok(Decoded {
                consumed: 0,
                data: b""
            })
        );
        let mut input = b"1;".to_vec();
        input.extend_from_slice(&endless);
        assert_eq!(d.decode(&input), Err(WireError::InvalidChunkSize));
    }

    #[test]
    fn errors_leave_the_decoder_unchanged() {
        let mut d = BodyDecoder::new(Framing::Chunked);
        assert_eq!(d.decode(b"1\r\nx").unwrap().consumed, 4);
        let before = d;
        assert_eq!(d.decode(b"\r\nzz\r\n"), Err(WireError::InvalidChunkSize));
        assert_eq!(d, before);
        assert_eq!(d.decode(b"\r\n0\r\n\r\n").unwrap().consumed, 7);
        assert!(d.is_done());
    }

    #[test]
    fn huge_chunk_size() {
        let mut d = BodyDecoder::new(Framing::Chunked);
        let out = d.decode(b"ffffffffffffffff\r\nabc").unwrap();
        assert_eq!(
            out,
            Decoded {
                consumed: 21,
                data: b"abc"
            }
        );
        assert_eq!(d.eof(), Err(WireError::UnexpectedEof));
    }

    #[test]
    fn trailer_section_limit() {
        let build = |value_len: usize| {
            let mut input = b"0\r\nX: ".to_vec();
            input.resize(3 + value_len, b'v');
            input.extend_from_slice(b"\r\n\r\n");
            input
        };
        // One trailer line of exactly MAX_HEAD_BYTES bytes (with its CRLF) is accepted...
        let ok = build(MAX_HEAD_BYTES - 2);
        assert_eq!(
            decode_in_reads(Framing::Chunked, &ok, &[ok.len()]).unwrap(),
            b""
        );
        assert_eq!(
            decode_in_reads(Framing::Chunked, &ok, &[1000]).unwrap(),
            b""
        );
        // ...one byte more is not, however it arrives.
        let over = build(MAX_HEAD_BYTES - 1);
        for reads in [&[over.len()][..], &[1000], &[1]] {
            assert_eq!(
                decode_in_reads(Framing::Chunked, &over, reads),
                Err(WireError::TrailersTooLarge)
            );
        }
        // Many small trailers add up.
        let mut many = b"0\r\n".to_vec();
        while many.len() < MAX_HEAD_BYTES + 100 {
            many.extend_from_slice(b"A: 1\r\n");
        }
        many.extend_from_slice(b"\r\n");
        for reads in [&[many.len()][..], &[5]] {
            assert_eq!(
                decode_in_reads(Framing::Chunked, &many, reads),
                Err(WireError::TrailersTooLarge)
            );
        }
    }
}
