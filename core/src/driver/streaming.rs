//! A lane's response stream: the handle its handler sends chunks through, and the exchange that
//! posts them ([`Action::StreamResponse`](crate::lifecycle::Action::StreamResponse)).

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use base64::Engine as _;

use super::exchange::{Exchanged, LaneIo, stream_exchange};
use super::{Done, Executor, Handled};
use crate::diagnostic::Diagnostic;
use crate::id::RequestId;
use crate::lifecycle::Invocation;
use crate::stream::ResponseStream;
use crate::wire::{Endpoint, error_trailers};

/// The stream of a lane's current invocation.
pub(super) struct LaneStream<'a, C> {
    stream: ResponseStream,
    id: Option<RequestId>,
    /// `StreamStarted` was reported.
    started: bool,
    /// `StreamOverLimit` was reported.
    over_limit: bool,
    /// A handler result that came before its first chunk was reported: held until then.
    held: Option<Handled>,
    /// The exchange posting the stream.
    writer: Option<Pin<Box<dyn Future<Output = Exchanged<C>> + 'a>>>,
}

impl<C> Default for LaneStream<'_, C> {
    fn default() -> Self {
        Self {
            stream: ResponseStream::default(),
            id: None,
            started: false,
            over_limit: false,
            held: None,
            writer: None,
        }
    }
}

impl<'a, C> LaneStream<'a, C> {
    /// A fresh stream for invocation `id`, attached to this lane; the handle for its context.
    /// The last invocation's stream is ended first: a handle kept past it sends nothing.
    pub(super) fn attach(&mut self, id: &RequestId) -> ResponseStream {
        self.stream.end();
        *self = Self::default();
        self.stream = ResponseStream::attached();
        self.id = Some(id.clone());
        self.stream.clone()
    }

    /// Whether there is nothing to poll.
    pub(super) fn is_idle(&self) -> bool {
        self.writer.is_none() && self.held.is_none() && self.started
    }

    /// The handler finished with `done`: if it sent a chunk that was not reported yet, the
    /// start is reported first and `done` is held until the next poll.
    pub(super) fn hold_back(&mut self, done: Done<C>) -> Done<C> {
        match done {
            Done::Handled(handled) if self.stream.is_started() && !self.started => {
                self.held = Some(handled);
                self.report_start()
            }
            done => done,
        }
    }

    fn report_start(&mut self) -> Done<C> {
        self.started = true;
        match &self.id {
            Some(id) => Done::StreamStarted(id.clone()),
            // `attach` always sets the id.
            None => Done::StreamOverLimit(0),
        }
    }

    /// The invocation no longer belongs to the lane (reported, buffered or by the watchdog):
    /// its stream is ended, so that a handle kept past it gets an error, and a result held back
    /// for it is dropped.
    pub(super) fn abandon(&mut self) {
        self.stream.end();
        self.held = None;
        self.started = true;
    }

    /// What the stream has to say: its start, a held handler result, the limit passed, or its
    /// exchange finished.
    pub(super) fn poll(&mut self, cx: &mut TaskContext<'_>) -> Poll<Done<C>> {
        // Registers `cx` for the first chunk, which may come from another task or thread.
        if !self.started && self.stream.poll_started(cx) {
            return Poll::Ready(self.report_start());
        }
        if let Some(handled) = self.held.take() {
            return Poll::Ready(Done::Handled(handled));
        }
        let Some(writer) = self.writer.as_mut() else {
            return Poll::Pending;
        };
        if let Poll::Ready(exchanged) = writer.as_mut().poll(cx) {
            self.writer = None;
            return Poll::Ready(Done::Exchanged(exchanged));
        }
        if let Some(len) = self.stream.over_limit().filter(|_| !self.over_limit) {
            self.over_limit = true;
            return Poll::Ready(Done::StreamOverLimit(len));
        }
        Poll::Pending
    }

    /// Starts posting the stream for `invocation` on `io`.
    pub(super) fn start_writer<E: Executor<Connection = C>>(
        &mut self,
        exec: &'a E,
        endpoint: &'a Endpoint,
        io: Box<LaneIo<C>>,
        invocation: &Invocation,
    ) where
        C: 'a,
    {
        let id = invocation.request_id.clone();
        let inv = invocation.invocation_id.clone();
        let stream = self.stream.clone();
        self.writer = Some(Box::pin(stream_exchange(
            exec, endpoint, io, id, inv, stream,
        )));
    }

    /// Ends the stream: no more chunks, and `error`'s trailers if it failed.
    pub(super) fn end(&mut self, error: Option<&Diagnostic>) {
        let trailers = error.map(trailers_for).unwrap_or_default();
        self.stream.end_with(trailers);
    }
}

/// The most bytes of error message, and of stack trace, a stream's error trailers carry: HTTP
/// servers bound the trailer section (Go's, which Lambda's Runtime API is written in, to its
/// read buffer, commonly 4 KiB), so the error body stays under 3 KiB once base64-encoded.
const MAX_TRAILER_TEXT: usize = 768;

/// The error trailers for `d`: its type, and its JSON body (message and stack trace cut to
/// [`MAX_TRAILER_TEXT`] bytes each) base64-encoded.
fn trailers_for(d: &Diagnostic) -> Vec<u8> {
    let mut short = Diagnostic::new(
        d.error_type.clone(),
        cut(&d.error_message, MAX_TRAILER_TEXT),
    );
    let mut room = MAX_TRAILER_TEXT;
    for line in &d.stack_trace {
        let line = cut(line, room);
        if line.is_empty() {
            break;
        }
        room -= line.len();
        short.stack_trace.push(line.into());
    }
    let body = base64::engine::general_purpose::STANDARD.encode(short.to_json());
    let mut out = Vec::new();
    error_trailers(&d.error_type(), &body, |b| out.extend_from_slice(b));
    out
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_trailers_stay_small_whatever_the_error() {
        let mut d = Diagnostic::new("Function.Broke", "é".repeat(10_000));
        d.stack_trace = (0..1_000)
            .map(|n| std::format!("caused by: frame {n}"))
            .collect();
        let trailers = trailers_for(&d);
        assert!(trailers.len() < 3 * 1024, "{} bytes", trailers.len());
        let text = core::str::from_utf8(&trailers).unwrap();
        assert!(text.starts_with("Lambda-Runtime-Function-Error-Type: Function.Broke\r\n"));
        let body = text
            .lines()
            .find_map(|l| l.strip_prefix("Lambda-Runtime-Function-Error-Body: "))
            .unwrap();
        let json = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert!(v["errorMessage"].as_str().unwrap().starts_with("éé"));
        assert!(!v["stackTrace"].as_array().unwrap().is_empty());
    }
}
