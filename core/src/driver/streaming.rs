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
use crate::lifecycle::{Invocation, MAX_STREAM_BYTES};
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
    pub(super) fn attach(&mut self, id: &RequestId) -> ResponseStream {
        *self = Self::default();
        self.stream = ResponseStream::attached();
        self.id = Some(id.clone());
        self.stream.clone()
    }

    /// Whether there is nothing to poll.
    pub(super) fn is_idle(&self) -> bool {
        self.writer.is_none() && self.held.is_none() && (self.started || !self.stream.is_started())
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

    /// What the stream has to say: its start, a held handler result, the limit passed, or its
    /// exchange finished.
    pub(super) fn poll(&mut self, cx: &mut TaskContext<'_>) -> Poll<Done<C>> {
        if !self.started && self.stream.is_started() {
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
        let taken = self.stream.taken();
        if taken > MAX_STREAM_BYTES && !self.over_limit {
            self.over_limit = true;
            return Poll::Ready(Done::StreamOverLimit(taken));
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

/// The error trailers for `d`: its type, and its JSON body base64-encoded.
fn trailers_for(d: &Diagnostic) -> Vec<u8> {
    let body = base64::engine::general_purpose::STANDARD.encode(d.to_json());
    let mut out = Vec::new();
    error_trailers(&d.error_type(), &body, |b| out.extend_from_slice(b));
    out
}
