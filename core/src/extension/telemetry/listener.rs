//! The listener side of a subscription, without I/O: frame the POST Lambda sends, read its
//! batch, and answer it. The caller owns the socket, so this works on any executor.

use alloc::vec::Vec;

use super::batch::{BadRecord, BatchError, TelemetryEvent, parse_batch};

/// The largest request [`frame_request`] accepts: Lambda's POSTs are at most twice
/// `maxBytes` (1,048,576 at most) plus metadata.
pub const MAX_REQUEST_BYTES: usize = 4 << 20;

/// The answer to every batch: `200`, empty, and the connection closed (Lambda counts any
/// other status as a failed delivery and retries the batch, which would fail the same way).
pub const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// The answer to a request that is not a POST this listener can read (`400`, connection
/// closed).
pub const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// How far the bytes read so far go towards one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing<'a> {
    /// Read more (the head or the body is not complete).
    Incomplete,
    /// The request is complete: its body, and how many bytes of the buffer it took.
    Complete {
        /// The body (the batch).
        body: &'a [u8],
        /// Head and body, in bytes.
        len: usize,
    },
    /// Not a request this listener reads: answer [`BAD_REQUEST`] and close.
    Invalid(&'static str),
}

/// Frames one HTTP/1.1 request in `buf` (what was read from the connection so far): a head,
/// then a body of `Content-Length` bytes. Chunked bodies, heads of more than 32 headers and
/// requests over [`MAX_REQUEST_BYTES`] are [`Framing::Invalid`].
pub fn frame_request(buf: &[u8]) -> Framing<'_> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() < MAX_REQUEST_BYTES => {
            return Framing::Incomplete;
        }
        Ok(httparse::Status::Partial) => return Framing::Invalid("request head too large"),
        Err(_) => return Framing::Invalid("malformed request head"),
    };
    let mut length = 0usize;
    for h in request.headers.iter() {
        if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Framing::Invalid("chunked request bodies are not supported");
        }
        if h.name.eq_ignore_ascii_case("content-length") {
            let parsed = core::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok());
            match parsed {
                Some(n) => length = n,
                None => return Framing::Invalid("invalid Content-Length"),
            }
        }
    }
    if length > MAX_REQUEST_BYTES.saturating_sub(head_len) {
        return Framing::Invalid("request body too large");
    }
    let len = head_len + length;
    match buf.get(head_len..len) {
        Some(body) => Framing::Complete { body, len },
        None => Framing::Incomplete,
    }
}

/// A batch as received: the records read, and what could not be read (each already logged).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Received {
    /// The records read, in order.
    pub events: Vec<TelemetryEvent>,
    /// The elements that could not be read, in order.
    pub bad: Vec<BadRecord>,
    /// Set when the body was not a JSON array at all (then nothing was read).
    pub malformed: Option<BatchError>,
}

impl Received {
    /// What to answer: always [`RESPONSE`] (200), even when records were bad.
    pub fn response(&self) -> &'static [u8] {
        RESPONSE
    }
}

/// Reads the body of a telemetry POST ([`parse_batch`]): the records that parse are kept, each
/// one that does not is logged (`log::warn!`) and kept in [`Received::bad`]; a body that is not
/// a JSON array is logged and kept in [`Received::malformed`]. Answer with
/// [`Received::response`].
///
/// ```
/// use lambda_runtime_types::extension::telemetry::{Framing, Record, frame_request, receive};
///
/// let body = br#"[{"time":"2025-01-29T10:00:00.000Z","type":"platform.start","record":{"requestId":"r1"}},{"type":5}]"#;
/// let mut request = format!(
///     "POST /telemetry HTTP/1.1\r\nHost: sandbox.localdomain:8080\r\nContent-Length: {}\r\n\r\n",
///     body.len()
/// )
/// .into_bytes();
/// assert_eq!(frame_request(&request), Framing::Incomplete);
/// request.extend_from_slice(body);
/// let Framing::Complete { body, .. } = frame_request(&request) else { unreachable!() };
///
/// let received = receive(body);
/// assert!(matches!(&received.events[0].record, Record::Start(s) if s.request_id == "r1"));
/// assert_eq!(received.bad.len(), 1);
/// assert!(received.response().starts_with(b"HTTP/1.1 200 OK\r\n"));
/// ```
pub fn receive(body: &[u8]) -> Received {
    let mut received = Received::default();
    match parse_batch(body) {
        Ok(records) => {
            for record in records {
                match record {
                    Ok(event) => received.events.push(event),
                    Err(bad) => {
                        log::warn!("{bad}");
                        received.bad.push(bad);
                    }
                }
            }
        }
        Err(e) => {
            log::warn!("{e}");
            received.malformed = Some(e);
        }
    }
    received
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_a_request_as_it_arrives() {
        let whole = b"POST /t HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]extra";
        for cut in 0..whole.len() - 7 {
            assert_eq!(
                frame_request(&whole[..cut]),
                Framing::Incomplete,
                "cut {cut}"
            );
        }
        let framed = frame_request(whole);
        assert_eq!(
            framed,
            Framing::Complete {
                body: b"[]",
                len: whole.len() - 5
            }
        );
        assert_eq!(
            frame_request(b"POST / HTTP/1.1\r\n\r\n"),
            Framing::Complete { body: b"", len: 19 }
        );
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let cases: [&[u8]; 4] = [
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
            b"\x00\x01 nonsense\r\n\r\n",
        ];
        for case in cases {
            assert!(
                matches!(frame_request(case), Framing::Invalid(_)),
                "{case:?}"
            );
        }
        let huge = alloc::format!("POST / HTTP/1.1\r\nContent-Length: {MAX_REQUEST_BYTES}\r\n\r\n");
        assert!(matches!(
            frame_request(huge.as_bytes()),
            Framing::Invalid(_)
        ));
    }

    #[test]
    fn receive_keeps_the_good_records_and_always_answers_200() {
        let r = receive(br#"[{"time":"t","type":"function","record":"a\n"},{"time":"t","type":"platform.report","record":{}}]"#);
        assert_eq!((r.events.len(), r.bad.len()), (1, 1));
        assert_eq!(r.response(), RESPONSE);
        let r = receive(b"{not json");
        assert!(r.malformed.is_some() && r.events.is_empty());
        assert_eq!(r.response(), RESPONSE);
    }
}
