//! One request/response exchange with the Runtime API on a lane's keep-alive connection.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use super::{Connection, Executor, Outbox};
use crate::diagnostic::Diagnostic;
use crate::error_type::ErrorType;
use crate::id::{InvocationId, RequestId};
use crate::lifecycle::MAX_PAYLOAD_BYTES;
use crate::wire::{self, BodyDecoder, BufferTooSmall, Endpoint, Framing, Request};

/// Bodies up to this size are sent in the same write as the request head.
const COALESCE_BYTES: usize = 16 * 1024;
/// The room a request head is first encoded into: enough for every request but those with a
/// long path prefix, error type or ids.
const HEAD_ROOM: usize = 384;
/// How much the read buffer grows by when it is full.
const READ_CHUNK: usize = 16 * 1024;

/// What a lane's exchange and the driver share about the answer being read: the exchange says
/// when its first bytes arrived (the driver tells the machine, which times the rest), the driver
/// says when to give up on it ([`Action::AbandonRequest`](crate::lifecycle::Action)).
#[derive(Debug, Default)]
pub(super) struct AnswerSignal {
    /// The answer's first bytes arrived and the driver has not yet taken note.
    started: Cell<bool>,
    /// The driver took note of the first bytes already.
    noted: Cell<bool>,
    /// The machine asked to abandon the answer.
    abandon: Cell<bool>,
}

impl AnswerSignal {
    /// A new request: nothing arrived, nothing to abandon.
    fn reset(&self) {
        self.started.set(false);
        self.noted.set(false);
        self.abandon.set(false);
    }

    fn arrived(&self) {
        if !self.noted.get() {
            self.started.set(true);
        }
    }

    /// Whether the answer's first bytes arrived since the last call (true once per request).
    pub(super) fn take_started(&self) -> bool {
        let started = self.started.replace(false);
        if started {
            self.noted.set(true);
        }
        started
    }

    /// Makes the exchange stop reading at its next poll, with [`ExchangeError::Stalled`].
    pub(super) fn abandon(&self) {
        self.abandon.set(true);
    }
}

/// A lane's connection and reusable buffers.
pub(super) struct LaneIo<C> {
    conn: Option<C>,
    /// Shared with the driver's lane, if the driver times answers (the Runtime API lanes do,
    /// the extension driver does not).
    pub(super) answer: Option<Rc<AnswerSignal>>,
    /// The read buffer; it keeps its length (never zero-filled again) and starts with the last
    /// response's head, `head_len` bytes.
    buf: Vec<u8>,
    head_len: usize,
    /// The last response's head as parsed, so that it is parsed once, not once per use.
    index: Option<wire::HeadIndex>,
    /// The last `/next` event payload.
    pub(super) event: Vec<u8>,
    /// Scratch space for request heads.
    head: Vec<u8>,
}

impl<C> LaneIo<C> {
    /// The last response's head (none if the last exchange failed before one arrived).
    pub(super) fn response_head(&self) -> Option<wire::ResponseHead<'_>> {
        let bytes = self.buf.get(..self.head_len)?;
        self.index.as_ref().map(|index| index.head(bytes))
    }

    /// [`response_head`](Self::response_head) into `head`; false (and `head` unchanged) if
    /// there is none.
    pub(super) fn response_head_into<'b>(&'b self, head: &mut wire::ResponseHead<'b>) -> bool {
        let (Some(bytes), Some(index)) = (self.buf.get(..self.head_len), self.index.as_ref())
        else {
            return false;
        };
        index.head_into(bytes, head);
        true
    }

    /// The `Lambda-Runtime-*` fields of the last response's head, without rebuilding it.
    pub(super) fn next_fields(&self) -> Option<wire::header::NextFields<'_>> {
        let bytes = self.buf.get(..self.head_len)?;
        self.index.as_ref().map(|index| index.next_fields(bytes))
    }
}

impl<C> Default for LaneIo<C> {
    fn default() -> Self {
        Self {
            conn: None,
            answer: None,
            buf: Vec::new(),
            head_len: 0,
            index: None,
            event: Vec::new(),
            head: Vec::new(),
        }
    }
}

/// The request an exchange sends.
pub(super) enum Outgoing {
    Next,
    /// A streamed response (its chunks come from the handler; never sent again).
    #[cfg(feature = "std")]
    Stream,
    Response(RequestId, Option<InvocationId>, Vec<u8>),
    Error(RequestId, Option<InvocationId>, Diagnostic),
    InitError(Diagnostic),
}

impl Outgoing {
    /// What the lane holds again when the request must be sent again.
    pub(super) fn into_outbox(self) -> Outbox {
        match self {
            Self::Next => Outbox::Empty,
            #[cfg(feature = "std")]
            Self::Stream => Outbox::Empty,
            Self::Response(_, _, bytes) => Outbox::Response(bytes),
            Self::Error(_, _, d) | Self::InitError(d) => Outbox::Error(d),
        }
    }
}

/// Why an exchange failed.
pub(super) enum ExchangeError {
    Io(String),
    Wire(wire::WireError),
    Closed,
    /// The response head arrived, its body did not.
    Truncated(String),
    /// The answer stalled and the machine had it abandoned.
    Stalled,
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => f.write_str(e),
            Self::Wire(e) => write!(f, "malformed response: {e}"),
            Self::Closed => f.write_str("connection closed before a complete response"),
            Self::Truncated(e) => write!(f, "the body did not arrive: {e}"),
            Self::Stalled => f.write_str("the answer stalled and was abandoned"),
        }
    }
}

fn io_error(e: impl fmt::Display) -> ExchangeError {
    ExchangeError::Io(e.to_string())
}

/// What an exchange gives back: the lane's I/O, the request it sent (kept for a retry), and the
/// response's body length or why it failed.
pub(super) struct Exchanged<C> {
    pub(super) io: Box<LaneIo<C>>,
    pub(super) sent: Outgoing,
    pub(super) result: Result<u64, ExchangeError>,
}

/// Sends `outgoing` on the lane's connection (opening one if needed) and reads the response.
pub(super) async fn exchange<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    mut io: Box<LaneIo<E::Connection>>,
    outgoing: Outgoing,
) -> Exchanged<E::Connection> {
    let result = send_and_receive(exec, endpoint, &mut io, &outgoing).await;
    Exchanged {
        io,
        sent: outgoing,
        result,
    }
}

async fn send_and_receive<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    io: &mut LaneIo<E::Connection>,
    outgoing: &Outgoing,
) -> Result<u64, ExchangeError> {
    let mut error = None;
    let (request, body) = request_for(outgoing, &mut error);
    // The body: the event for `/next`, discarded otherwise.
    let collect = matches!(outgoing, Outgoing::Next);
    send_and_read(exec, endpoint, io, &request, body, collect).await
}

/// A request head an exchange writes: the Runtime API's or the Extensions API's.
pub(super) trait Head {
    fn encode(&self, endpoint: &Endpoint, buf: &mut [u8]) -> Result<usize, BufferTooSmall>;
}

impl Head for Request<'_> {
    fn encode(&self, endpoint: &Endpoint, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        Request::encode(self, endpoint, buf)
    }
}

impl Head for crate::extension::Request<'_> {
    fn encode(&self, endpoint: &Endpoint, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        crate::extension::Request::encode(self, endpoint, buf)
    }
}

/// Sends `request` and `body` on `io`'s connection (opening one if needed) and reads the
/// response: its head into `io` (see [`LaneIo::response_head`]), its body into `io.event` if
/// `collect` (see `read_body`). Returns the body's length; on an error the connection is dropped.
pub(super) async fn send_and_read<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    io: &mut LaneIo<E::Connection>,
    request: &impl Head,
    body: &[u8],
    collect: bool,
) -> Result<u64, ExchangeError> {
    let LaneIo {
        conn,
        answer,
        buf,
        head_len: last_head,
        index,
        event,
        head,
    } = io;
    *last_head = 0;
    *index = None;
    let answer = answer.as_deref();
    if let Some(a) = answer {
        a.reset();
    }
    let result = async {
        let c = write_request(exec, endpoint, conn, head, request, body).await?;
        read_response(c, buf, index, event, last_head, collect, answer).await
    }
    .await;
    match result {
        Ok((body_len, true)) => Ok(body_len),
        Ok((body_len, false)) => {
            *conn = None;
            Ok(body_len)
        }
        Err(e) => {
            *conn = None;
            Err(e)
        }
    }
}

/// Reads a response: its head into `buf` (indexed, its length in `last_head`), its body into
/// `event` if `collect`. Returns the body's length and whether the connection may be reused.
/// With `answer`, its first bytes are signalled and reading stops when it is abandoned.
async fn read_response<C: Connection>(
    c: &mut C,
    buf: &mut Vec<u8>,
    index: &mut Option<wire::HeadIndex>,
    event: &mut Vec<u8>,
    last_head: &mut usize,
    collect: bool,
    answer: Option<&AnswerSignal>,
) -> Result<(u64, bool), ExchangeError> {
    let (head_len, filled, framing, keep_alive) = read_head(c, buf, index, answer).await?;
    *last_head = head_len;
    let read = read_body(c, buf, event, head_len, filled, framing, collect, answer).await;
    match read {
        Ok((body_len, reusable)) => Ok((body_len, reusable && keep_alive)),
        Err(e) => Err(ExchangeError::Truncated(e.to_string())),
    }
}

/// Posts `stream` as invocation `id`'s streamed response on the lane's connection: the head,
/// each chunk as the handler gives it, then (once the driver ended the stream) the last chunk
/// and its trailers; then reads the answer. A failure ends the stream, so that the handler's
/// next `send` fails.
#[cfg(feature = "std")]
pub(super) async fn stream_exchange<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    mut io: Box<LaneIo<E::Connection>>,
    id: RequestId,
    invocation_id: Option<InvocationId>,
    stream: crate::stream::ResponseStream,
) -> Exchanged<E::Connection> {
    let result = stream_and_read(
        exec,
        endpoint,
        &mut io,
        &id,
        invocation_id.as_ref(),
        &stream,
    )
    .await;
    if result.is_err() {
        io.conn = None;
        stream.end();
    }
    Exchanged {
        io,
        sent: Outgoing::Stream,
        result,
    }
}

#[cfg(feature = "std")]
async fn stream_and_read<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    io: &mut LaneIo<E::Connection>,
    id: &RequestId,
    invocation_id: Option<&InvocationId>,
    stream: &crate::stream::ResponseStream,
) -> Result<u64, ExchangeError> {
    let LaneIo {
        conn,
        buf,
        head_len: last_head,
        index,
        event,
        head,
        ..
    } = io;
    *last_head = 0;
    *index = None;
    let content_type = stream.posted_content_type();
    let request = Request::StreamResponse {
        id,
        invocation_id,
        content_type: wire::ContentType::new(&content_type)
            .unwrap_or(wire::ContentType::OCTET_STREAM),
    };
    // A fresh connection, closed after the answer, as Lambda's streaming docs ask: a kept-alive
    // one the server closed meanwhile would fail after the head, with nothing to retry.
    *conn = None;
    let c = write_request(exec, endpoint, conn, head, &request, &[]).await?;
    while let Some(chunk) = core::future::poll_fn(|cx| stream.poll_chunk(cx)).await {
        let mut size = [0u8; 18];
        let size = wire::chunk_head(chunk.len(), &mut size);
        if chunk.len() <= COALESCE_BYTES {
            head.clear();
            head.extend_from_slice(size);
            head.extend_from_slice(&chunk);
            head.extend_from_slice(wire::CHUNK_END);
            c.write_all(head).await.map_err(io_error)?;
        } else {
            c.write_all(size).await.map_err(io_error)?;
            c.write_all(&chunk).await.map_err(io_error)?;
            c.write_all(wire::CHUNK_END).await.map_err(io_error)?;
        }
    }
    head.clear();
    head.extend_from_slice(wire::LAST_CHUNK);
    head.extend_from_slice(&stream.trailers());
    head.extend_from_slice(wire::TRAILERS_END);
    c.write_all(head).await.map_err(io_error)?;
    // Not timed: the machine times the stream by the invocation's deadline.
    let (body_len, _) = read_response(c, buf, index, event, last_head, false, None).await?;
    *conn = None;
    Ok(body_len)
}

/// The request `outgoing` sends and its body; an error's JSON and type are kept in `error`.
fn request_for<'a>(
    outgoing: &'a Outgoing,
    error: &'a mut Option<(Vec<u8>, ErrorType)>,
) -> (Request<'a>, &'a [u8]) {
    match outgoing {
        Outgoing::Next => (Request::Next, &[]),
        // Written by `stream_exchange`, never here.
        #[cfg(feature = "std")]
        Outgoing::Stream => (Request::Next, &[]),
        Outgoing::Response(id, inv, bytes) => {
            let r = Request::Response {
                id,
                invocation_id: inv.as_ref(),
                content_length: bytes.len(),
            };
            (r, bytes)
        }
        Outgoing::Error(id, inv, d) => {
            let (json, error_type) = &*error.insert((d.to_json(), d.error_type()));
            let r = Request::Error {
                id,
                invocation_id: inv.as_ref(),
                error_type,
                content_length: json.len(),
            };
            (r, json)
        }
        Outgoing::InitError(d) => {
            let (json, error_type) = &*error.insert((d.to_json(), d.error_type()));
            let r = Request::InitError {
                error_type,
                content_length: json.len(),
            };
            (r, json)
        }
    }
}

/// Encodes `request` into `head` and writes it and `body` on the lane's connection, opening one
/// if there is none.
async fn write_request<'c, E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    conn: &'c mut Option<E::Connection>,
    head: &mut Vec<u8>,
    request: &impl Head,
    body: &[u8],
) -> Result<&'c mut E::Connection, ExchangeError> {
    // Encoded once into room that fits the usual head; measured and encoded again otherwise.
    head.clear();
    head.resize(HEAD_ROOM, 0);
    let n = match request.encode(endpoint, head) {
        Ok(n) => n,
        Err(BufferTooSmall { required }) => {
            head.resize(required, 0);
            request.encode(endpoint, head).map_err(io_error)?
        }
    };
    head.truncate(n);
    if conn.is_none() {
        // Boxed: an executor's connect future can be large, and kept inline it would make every
        // exchange future (allocated per request) that much larger, though a lane connects
        // once.
        let connect = Box::pin(exec.connect(endpoint));
        *conn = Some(connect.await.map_err(io_error)?);
    }
    let Some(c) = conn.as_mut() else {
        return Err(ExchangeError::Closed);
    };
    if body.len() <= COALESCE_BYTES {
        head.extend_from_slice(body);
        c.write_all(head).await.map_err(io_error)?;
    } else {
        c.write_all(head).await.map_err(io_error)?;
        c.write_all(body).await.map_err(io_error)?;
    }
    Ok(c)
}

/// Reads the response head into `buf` (interim 1xx heads are skipped) and indexes it. Returns
/// its length, how much of `buf` is filled (the head and what followed it), its framing and
/// whether the connection may be kept.
async fn read_head<C: Connection>(
    c: &mut C,
    buf: &mut Vec<u8>,
    index: &mut Option<wire::HeadIndex>,
    answer: Option<&AnswerSignal>,
) -> Result<(usize, usize, Framing, bool), ExchangeError> {
    let mut filled = 0;
    loop {
        let parsed = match filled {
            0 => Ok(None),
            _ => wire::parse_indexed(&buf[..filled]),
        };
        match parsed {
            Ok(Some(h)) if h.status < 200 => {
                buf.copy_within(h.len..filled, 0);
                filled -= h.len;
                continue;
            }
            Ok(Some(h)) => {
                *index = h.index;
                debug_assert!(index.is_some(), "a parsed head's fields lie in its bytes");
                return Ok((h.len, filled, h.framing, h.keep_alive));
            }
            Ok(None) => {}
            Err(e) => return Err(ExchangeError::Wire(e)),
        }
        if filled == buf.len() {
            buf.resize(filled + READ_CHUNK, 0);
        }
        let n = read_some(c, &mut buf[filled..], answer).await?;
        if n == 0 {
            return Err(ExchangeError::Closed);
        }
        if let Some(a) = answer {
            a.arrived();
        }
        filled += n;
    }
}

/// One read, or [`ExchangeError::Stalled`] once `answer` is abandoned.
async fn read_some<C: Connection>(
    c: &mut C,
    buf: &mut [u8],
    answer: Option<&AnswerSignal>,
) -> Result<usize, ExchangeError> {
    let Some(answer) = answer else {
        return c.read(buf).await.map_err(io_error);
    };
    let mut read = pin!(c.read(buf));
    poll_fn(|cx| {
        if answer.abandon.get() {
            return Poll::Ready(Err(ExchangeError::Stalled));
        }
        read.as_mut().poll(cx).map(|r| r.map_err(io_error))
    })
    .await
}

/// Reads the body that follows the head in `buf[..filled]`: into `event` if `collect` (at most
/// `MAX_PAYLOAD_BYTES + 1` bytes), discarded otherwise (`event` is then left as it is: keeping
/// its length spares zero-filling it again for the next event of that size). Returns its length
/// and whether the connection can carry another request (all of the body read, nothing after it).
#[allow(clippy::too_many_arguments)] // The lane's parts, borrowed apart.
async fn read_body<C: Connection>(
    c: &mut C,
    buf: &mut Vec<u8>,
    event: &mut Vec<u8>,
    head_len: usize,
    mut filled: usize,
    framing: Framing,
    collect: bool,
    answer: Option<&AnswerSignal>,
) -> Result<(u64, bool), ExchangeError> {
    let cap = MAX_PAYLOAD_BYTES + 1;
    let read_past = filled - head_len;
    match framing {
        Framing::Length(len) if collect && len > cap as u64 => {
            // Not read: the lifecycle reports the event as too large; the connection is spent.
            event.clear();
            Ok((len, false))
        }
        Framing::Length(len) if collect => {
            // Read straight into the event buffer (only newly grown space is zero-filled).
            let len_usize = len as usize;
            let already = read_past.min(len_usize);
            event.truncate(len_usize);
            event.resize(len_usize, 0);
            event[..already].copy_from_slice(&buf[head_len..head_len + already]);
            let mut got = already;
            while got < len_usize {
                let n = read_some(c, &mut event[got..], answer).await?;
                if n == 0 {
                    return Err(ExchangeError::Closed);
                }
                got += n;
            }
            Ok((len, read_past <= len_usize))
        }
        _ => {
            if collect {
                event.clear();
            }
            let mut decoder = BodyDecoder::new(framing);
            let mut start = head_len;
            let mut total: u64 = 0;
            while !decoder.is_done() {
                let d = decoder
                    .decode(&buf[start..filled])
                    .map_err(ExchangeError::Wire)?;
                total += d.data.len() as u64;
                if collect && event.len() < cap {
                    let room = cap - event.len();
                    event.extend_from_slice(&d.data[..d.data.len().min(room)]);
                }
                start += d.consumed;
                if decoder.is_done() {
                    break;
                }
                if collect && total > cap as u64 {
                    return Ok((total, false));
                }
                if d.consumed == 0 || start == filled {
                    // Keep the head, move the unread rest behind it, read more.
                    buf.copy_within(start..filled, head_len);
                    filled = head_len + (filled - start);
                    start = head_len;
                    if filled == buf.len() {
                        buf.resize(filled + READ_CHUNK, 0);
                    }
                    let n = read_some(c, &mut buf[filled..], answer).await?;
                    if n == 0 {
                        decoder.eof().map_err(ExchangeError::Wire)?;
                        return Ok((total, false));
                    }
                    filled += n;
                }
            }
            Ok((total, start == filled))
        }
    }
}
