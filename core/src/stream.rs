//! Streaming a response: [`ResponseStream`], the invocation's handle for sending its response in
//! chunks while the handler still runs.
//!
//! Every invocation's [`Context`](crate::Context) carries one ([`Context::stream`]). A handler
//! that never sends through it is buffered as usual: its return value is the response. The first
//! chunk it sends makes the response a stream (Lambda's `streaming` response mode): the runtime
//! posts the chunks as they come, and when the handler returns the stream ends — well, if it
//! returned `Ok` (the return value is then not sent), or with the error in the stream's trailers
//! (`Lambda-Runtime-Function-Error-Type` and `-Body`) if it failed or panicked; an error before
//! the stream started (before the first chunk, or [`ResponseStream::http`]) is a normal
//! `/error`. One handler may so answer some requests buffered and others streamed.
//!
//! [`ResponseStream::send`] completes once the chunk is queued, which it is once the runtime has
//! taken the previous one, and the runtime takes a chunk only when the one before it is written
//! to the Runtime API: a slow reader slows the handler down, and at most two chunks are held in
//! memory. A stream ends at the invocation's timeout (the timeout error in its trailers) and at a
//! chunk that would take it past [`MAX_STREAM_BYTES`] (that chunk is not sent; the too-large
//! error is in the trailers); `send` then fails, as it does when the connection broke or the
//! invocation is over (a handle kept past its invocation sends nothing).
//!
//! Two modes:
//! - raw: any content type ([`ResponseStream::content_type`], `application/octet-stream` by
//!   default), the bytes as sent — for `InvokeWithResponseStream` callers;
//! - HTTP integration ([`ResponseStream::http`]): a Function URL in `RESPONSE_STREAM` mode or an
//!   API Gateway REST API with `responseTransferMode: STREAM` reads the status, headers and
//!   cookies from a JSON prelude sent before the body.
//!
//! ```
//! use lambda_runtime_types::{LambdaEvent, Runner};
//!
//! struct Lines;
//! impl<'a> Runner<'a, (), serde_json::Value, ()> for Lines {
//!     async fn setup(_: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(_: &'a (), event: LambdaEvent<'a, serde_json::Value>) -> anyhow::Result<()> {
//!         let stream = event.ctx.stream();
//!         stream.content_type("text/plain")?;
//!         for n in 1..=3 {
//!             stream.send(format!("line {n}\n")).await?;
//!         }
//!         Ok(())
//!     }
//! }
//! ```
//!
//! [`Context::stream`]: crate::Context::stream

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::poll_fn;
use core::task::{Poll, Waker};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use crate::lifecycle::MAX_STREAM_BYTES;
use crate::wire::{ContentType, HTTP_INTEGRATION, PRELUDE_DELIMITER};

/// The invocation's response stream; see the [module docs](self). Cloning gives another handle to
/// the same stream.
#[derive(Clone, Default)]
pub struct ResponseStream {
    slot: Arc<Mutex<Slot>>,
}

impl PartialEq for ResponseStream {
    /// Handles to the same stream are equal.
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.slot, &other.slot)
    }
}

impl Eq for ResponseStream {}

impl fmt::Debug for ResponseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.lock();
        f.debug_struct("ResponseStream")
            .field("content_type", &slot.content_type)
            .field("started", &slot.started)
            .field("sent", &slot.taken)
            .finish_non_exhaustive()
    }
}

/// Why a chunk could not be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamError {
    /// The stream has ended: the handler timed out, the stream passed [`MAX_STREAM_BYTES`], or
    /// the Runtime API answered or dropped the connection.
    Ended,
    /// The content type is not a valid header value.
    InvalidContentType,
    /// The content type or the HTTP prelude was set after the first chunk.
    AlreadyStarted,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ended => "the response stream has ended",
            Self::InvalidContentType => "a stream's content type must be a valid header value",
            Self::AlreadyStarted => "the response stream has started already",
        })
    }
}

impl core::error::Error for StreamError {}

/// What the handler and the runtime share.
#[derive(Default)]
pub(crate) struct Slot {
    /// The stream's content type; `None`: `application/octet-stream`.
    content_type: Option<String>,
    /// The first chunk was sent (or the HTTP prelude set): the response is a stream.
    started: bool,
    /// Bytes waiting for the runtime (the HTTP prelude first).
    pending: Option<Vec<u8>>,
    /// Bytes the runtime took so far.
    taken: u64,
    /// The most bytes taken ([`MAX_STREAM_BYTES`]; less in tests).
    limit: u64,
    /// A chunk would have taken the stream past `limit` (this many bytes): it was dropped.
    over_limit: Option<u64>,
    /// No more chunks are taken.
    ended: bool,
    /// The trailers to end the stream with (the error trailers of a failed stream).
    trailers: Vec<u8>,
    /// Whether a runtime is attached (a detached stream, as in [`Context::for_test`], keeps its
    /// chunks in `kept` instead).
    ///
    /// [`Context::for_test`]: crate::Context::for_test
    attached: bool,
    /// What a detached stream received.
    kept: Vec<u8>,
    /// The handler waiting for room, and the runtime waiting for a chunk.
    sender: Option<Waker>,
    writer: Option<Waker>,
}

impl ResponseStream {
    /// A stream whose chunks go to the runtime (the driver's end of it).
    pub(crate) fn attached() -> Self {
        Self::attached_with_limit(MAX_STREAM_BYTES)
    }

    /// [`attached`](Self::attached), taking at most `limit` bytes.
    pub(crate) fn attached_with_limit(limit: u64) -> Self {
        let stream = Self::default();
        let mut slot = stream.lock();
        slot.attached = true;
        slot.limit = limit;
        drop(slot);
        stream
    }

    fn lock(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets the content type of a raw stream (before the first chunk).
    pub fn content_type(&self, content_type: &str) -> Result<(), StreamError> {
        ContentType::new(content_type).map_err(|_| StreamError::InvalidContentType)?;
        let mut slot = self.lock();
        if slot.started {
            return Err(StreamError::AlreadyStarted);
        }
        slot.content_type = Some(content_type.into());
        Ok(())
    }

    /// Makes this an HTTP-integration stream whose response has `status`, `headers` (a name
    /// given twice is sent once, its values joined with `, `) and `cookies` (each becomes a
    /// `Set-Cookie`): the prelude is sent before the first chunk (or alone, if the handler sends
    /// none). Call it before the first chunk.
    pub fn http(
        &self,
        status: u16,
        headers: &[(&str, &str)],
        cookies: &[&str],
    ) -> Result<(), StreamError> {
        let prelude = http_prelude(status, headers, cookies);
        let mut slot = self.lock();
        if slot.started {
            return Err(StreamError::AlreadyStarted);
        }
        slot.content_type = Some(HTTP_INTEGRATION.into());
        slot.started = true;
        slot.pending = Some(prelude);
        wake(&mut slot.writer);
        Ok(())
    }

    /// Sends `chunk`; completes once the runtime has taken it (see the [module docs](self)). An
    /// empty chunk sends nothing.
    pub async fn send(&self, chunk: impl Into<Vec<u8>>) -> Result<(), StreamError> {
        let mut chunk = Some(chunk.into()).filter(|c| !c.is_empty());
        poll_fn(|cx| {
            let mut slot = self.lock();
            if slot.ended || slot.over_limit.is_some() {
                return Poll::Ready(Err(StreamError::Ended));
            }
            if !slot.attached {
                if let Some(c) = chunk.take() {
                    slot.started = true;
                    slot.kept.extend_from_slice(&c);
                }
                return Poll::Ready(Ok(()));
            }
            if slot.pending.is_some() {
                slot.sender = Some(cx.waker().clone());
                return Poll::Pending;
            }
            if let Some(c) = chunk.take() {
                slot.started = true;
                slot.pending = Some(c);
                wake(&mut slot.writer);
            }
            Poll::Ready(Ok(()))
        })
        .await
    }

    /// What a stream not attached to a runtime (the one of [`Context::for_test`]) has received:
    /// for unit tests of streaming handlers. Empty for the runtime's streams.
    ///
    /// [`Context::for_test`]: crate::Context::for_test
    pub fn received(&self) -> Vec<u8> {
        self.lock().kept.clone()
    }

    /// Whether the response became a stream.
    pub fn is_started(&self) -> bool {
        self.lock().started
    }

    // --- the runtime's end ---------------------------------------------------------------------

    /// The content type to post the stream with.
    pub(crate) fn posted_content_type(&self) -> String {
        self.lock()
            .content_type
            .clone()
            .unwrap_or_else(|| ContentType::OCTET_STREAM.as_str().into())
    }

    /// The bytes taken so far.
    #[cfg(test)]
    pub(crate) fn taken(&self) -> u64 {
        self.lock().taken
    }

    /// Whether the handler started the stream; if not, `cx` is woken when it does (from
    /// whichever task or thread sends the first chunk).
    pub(crate) fn poll_started(&self, cx: &mut core::task::Context<'_>) -> bool {
        let mut slot = self.lock();
        if !slot.started && !slot.ended {
            slot.writer = Some(cx.waker().clone());
        }
        slot.started
    }

    /// How many bytes a chunk would have taken the stream to, if one was refused for passing
    /// the limit.
    pub(crate) fn over_limit(&self) -> Option<u64> {
        self.lock().over_limit
    }

    /// The next chunk, when there is one (`Some(None)`: the stream was ended). A chunk that
    /// would pass the limit is dropped and recorded ([`over_limit`](Self::over_limit)); the
    /// stream then waits to be ended.
    pub(crate) fn poll_chunk(&self, cx: &mut core::task::Context<'_>) -> Poll<Option<Vec<u8>>> {
        let mut slot = self.lock();
        if let Some(chunk) = slot.pending.take() {
            let after = slot.taken.saturating_add(chunk.len() as u64);
            wake(&mut slot.sender);
            if after > slot.limit {
                slot.over_limit = Some(after);
            } else {
                slot.taken = after;
                return Poll::Ready(Some(chunk));
            }
        }
        if slot.ended {
            return Poll::Ready(None);
        }
        slot.writer = Some(cx.waker().clone());
        Poll::Pending
    }

    /// No more chunks are taken; a handler waiting in `send` (or sending later, through a handle
    /// kept past its invocation) gets [`StreamError::Ended`]. A chunk already pending is still
    /// written.
    pub(crate) fn end(&self) {
        self.end_with(Vec::new());
    }

    /// [`end`](Self::end), with `trailers` (whole header lines) after the last chunk.
    pub(crate) fn end_with(&self, trailers: Vec<u8>) {
        let mut slot = self.lock();
        if !slot.ended {
            slot.trailers = trailers;
        }
        slot.ended = true;
        wake(&mut slot.sender);
        wake(&mut slot.writer);
    }

    /// The trailers the stream ends with.
    pub(crate) fn trailers(&self) -> Vec<u8> {
        self.lock().trailers.clone()
    }
}

fn wake(waker: &mut Option<Waker>) {
    if let Some(w) = waker.take() {
        w.wake();
    }
}

/// The JSON prelude of an HTTP-integration stream, then the 8 NUL bytes.
fn http_prelude(status: u16, headers: &[(&str, &str)], cookies: &[&str]) -> Vec<u8> {
    let mut joined: Vec<(&str, String)> = Vec::new();
    for (name, value) in headers {
        match joined
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => {
                v.push_str(", ");
                v.push_str(value);
            }
            None => joined.push((name, (*value).into())),
        }
    }
    let headers: serde_json::Map<String, serde_json::Value> = joined
        .into_iter()
        .map(|(n, v)| (n.into(), v.into()))
        .collect();
    let prelude = serde_json::json!({
        "statusCode": status,
        "headers": headers,
        "cookies": cookies,
    });
    let mut bytes = serde_json::to_vec(&prelude).unwrap_or_default();
    bytes.extend_from_slice(PRELUDE_DELIMITER);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    #[test]
    fn a_detached_stream_keeps_what_it_received() {
        let stream = ResponseStream::default();
        assert!(!stream.is_started());
        block_on(async {
            stream.send("a").await.unwrap();
            stream.send(Vec::new()).await.unwrap();
            stream.send(b"bc".to_vec()).await.unwrap();
        });
        assert_eq!(stream.received(), b"abc");
        assert_eq!(stream.content_type("x/y"), Err(StreamError::AlreadyStarted));
    }

    #[test]
    fn the_runtime_takes_one_chunk_at_a_time() {
        let stream = ResponseStream::attached();
        let waker = Waker::noop();
        let mut cx = core::task::Context::from_waker(waker);
        let mut first = core::pin::pin!(stream.send("one"));
        assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        let mut second = core::pin::pin!(stream.send("two"));
        assert!(
            second.as_mut().poll(&mut cx).is_pending(),
            "one chunk waits"
        );
        assert_eq!(
            stream.poll_chunk(&mut cx),
            Poll::Ready(Some(b"one".to_vec()))
        );
        assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
        assert_eq!(
            stream.poll_chunk(&mut cx),
            Poll::Ready(Some(b"two".to_vec()))
        );
        assert!(stream.poll_chunk(&mut cx).is_pending());
        stream.end();
        assert_eq!(stream.poll_chunk(&mut cx), Poll::Ready(None));
        assert_eq!(block_on(stream.send("late")), Err(StreamError::Ended));
        assert_eq!(stream.taken(), 6);
    }

    #[test]
    fn a_chunk_past_the_limit_is_dropped_and_ends_the_sending() {
        let stream = ResponseStream::attached_with_limit(5);
        let waker = Waker::noop();
        let mut cx = core::task::Context::from_waker(waker);
        assert_eq!(block_on(stream.send("abc")), Ok(()));
        assert_eq!(
            stream.poll_chunk(&mut cx),
            Poll::Ready(Some(b"abc".to_vec()))
        );
        assert_eq!(block_on(stream.send("def")), Ok(()), "queued");
        assert!(
            stream.poll_chunk(&mut cx).is_pending(),
            "not taken: it passes the limit"
        );
        assert_eq!(stream.over_limit(), Some(6));
        assert_eq!(block_on(stream.send("g")), Err(StreamError::Ended));
        stream.end_with(b"X: y\r\n".to_vec());
        assert_eq!(stream.poll_chunk(&mut cx), Poll::Ready(None));
        assert_eq!(
            (stream.taken(), stream.trailers()),
            (3, b"X: y\r\n".to_vec())
        );
    }

    #[test]
    fn the_first_chunk_wakes_whoever_waits_for_the_start() {
        struct Flag(std::sync::atomic::AtomicBool);
        impl alloc::task::Wake for Flag {
            fn wake(self: Arc<Self>) {
                self.0.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let flag = Arc::new(Flag(false.into()));
        let waker = Waker::from(flag.clone());
        let mut cx = core::task::Context::from_waker(&waker);
        let stream = ResponseStream::attached();
        assert!(!stream.poll_started(&mut cx));
        let sender = stream.clone();
        std::thread::spawn(move || block_on(sender.send("from a thread")))
            .join()
            .unwrap()
            .unwrap();
        assert!(flag.0.load(std::sync::atomic::Ordering::SeqCst), "woken");
        assert!(stream.poll_started(&mut cx));
    }

    #[test]
    fn the_http_prelude_joins_repeated_headers_and_ends_with_eight_nuls() {
        let stream = ResponseStream::attached();
        stream
            .http(
                201,
                &[("Vary", "a"), ("x-id", "1"), ("vary", "b")],
                &["s=1; Secure"],
            )
            .unwrap();
        assert_eq!(stream.posted_content_type(), HTTP_INTEGRATION);
        let waker = Waker::noop();
        let mut cx = core::task::Context::from_waker(waker);
        let Poll::Ready(Some(prelude)) = stream.poll_chunk(&mut cx) else {
            panic!("the prelude is the first chunk")
        };
        let (json, nuls) = prelude.split_at(prelude.len() - 8);
        assert_eq!(nuls, [0; 8]);
        let v: serde_json::Value = serde_json::from_slice(json).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "statusCode": 201,
                "headers": {"Vary": "a, b", "x-id": "1"},
                "cookies": ["s=1; Secure"],
            })
        );
        assert_eq!(stream.http(200, &[], &[]), Err(StreamError::AlreadyStarted));
    }
}
