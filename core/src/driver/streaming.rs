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
        // Not `Self::default()`: its stream would be allocated only to be dropped.
        let stream = ResponseStream::attached();
        *self = Self {
            stream: stream.clone(),
            id: Some(id.clone()),
            started: false,
            over_limit: false,
            held: None,
            writer: None,
        };
        stream
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

/// The most bytes of error message, and of stack trace, a stream's error trailers carry, as
/// escaped in the JSON body: HTTP servers bound the trailer section (Go's, which Lambda's
/// Runtime API is written in, to its read buffer, commonly 4 KiB), so the error body stays under
/// 3 KiB once base64-encoded, however the text escapes.
const MAX_TRAILER_TEXT: usize = 768;

/// The last stack line of trailers that left lines out.
const TRAILER_CUT_MARK: &str = "… (truncated)";

/// What a stack line costs beyond its escaped text: its quotes and the comma after it.
const LINE_OVERHEAD: usize = 3;

/// The error trailers for `d`: its type, and its JSON body (message and stack trace cut to
/// [`MAX_TRAILER_TEXT`] escaped bytes each, a cut stack trace ending in a mark) base64-encoded.
fn trailers_for(d: &Diagnostic) -> Vec<u8> {
    let mut short = Diagnostic::new(
        d.error_type.clone(),
        cut_escaped(&d.error_message, MAX_TRAILER_TEXT),
    );
    let mark = escaped_len(TRAILER_CUT_MARK) + LINE_OVERHEAD;
    let mut room = MAX_TRAILER_TEXT - mark;
    for (i, line) in d.stack_trace.iter().enumerate() {
        let cost = escaped_len(line) + LINE_OVERHEAD;
        // The last line may use the mark's room: no mark is needed after it.
        let last = i + 1 == d.stack_trace.len();
        if cost <= room || (last && cost <= room + mark) {
            room = room.saturating_sub(cost);
            short.stack_trace.push(line.clone());
            continue;
        }
        let part = cut_escaped(line, room.saturating_sub(LINE_OVERHEAD));
        if !part.is_empty() {
            short.stack_trace.push(part.into());
        }
        short.stack_trace.push(TRAILER_CUT_MARK.into());
        break;
    }
    let body = base64::engine::general_purpose::STANDARD.encode(short.to_json());
    let mut out = Vec::new();
    error_trailers(&d.error_type(), &body, |b| out.extend_from_slice(b));
    out
}

/// The bytes `c` takes in a JSON string as serde_json writes it.
fn escaped_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\u{8}' | '\u{c}' | '\n' | '\r' | '\t' => 2,
        '\0'..='\u{1f}' => 6,
        c => c.len_utf8(),
    }
}

/// The bytes `s` takes in a JSON string, without its quotes.
fn escaped_len(s: &str) -> usize {
    s.chars().map(escaped_char_len).sum()
}

/// The longest start of `s` (at a character boundary) that takes at most `max` bytes escaped.
fn cut_escaped(s: &str, max: usize) -> &str {
    let mut used = 0;
    for (at, c) in s.char_indices() {
        used += escaped_char_len(c);
        if used > max {
            return &s[..at];
        }
    }
    s
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
        let v = trailer_body(&trailers);
        assert!(v["errorMessage"].as_str().unwrap().starts_with("éé"));
        let stack = v["stackTrace"].as_array().unwrap();
        assert_eq!(stack[0], "caused by: frame 0");
        assert_eq!(stack.last().unwrap(), TRAILER_CUT_MARK);
    }

    /// The JSON body the trailers carry, decoded.
    fn trailer_body(trailers: &[u8]) -> serde_json::Value {
        let text = core::str::from_utf8(trailers).unwrap();
        let body = text
            .lines()
            .find_map(|l| l.strip_prefix("Lambda-Runtime-Function-Error-Body: "))
            .unwrap();
        let json = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn escaping_and_empty_lines_do_not_break_the_bound() {
        let mut d = Diagnostic::new("Function.Broke", "\u{1}\"".repeat(10_000));
        d.stack_trace = std::vec!["\u{2}".repeat(5_000), "".into(), "x".into()];
        let trailers = trailers_for(&d);
        assert!(trailers.len() < 3 * 1024, "{} bytes", trailers.len());
        let v = trailer_body(&trailers);
        assert!(v["errorMessage"].as_str().unwrap().starts_with("\u{1}\""));
        assert_eq!(
            v["stackTrace"].as_array().unwrap().last().unwrap(),
            TRAILER_CUT_MARK
        );

        // Empty lines are kept, not taken for the end of the trace.
        d.stack_trace = std::vec!["a".into(), "".into(), "b".into()];
        let v = trailer_body(&trailers_for(&d));
        assert_eq!(v["stackTrace"], serde_json::json!(["a", "", "b"]));
    }

    #[test]
    fn escaped_lengths_match_serde_json() {
        for s in [
            "plain",
            "é\"\\",
            "\n\r\t\u{8}\u{c}",
            "\u{0}\u{1f}\u{7f}",
            "€🦀",
        ] {
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(escaped_len(s), json.len() - 2, "{s:?}");
        }
        assert_eq!(cut_escaped("ab\u{1}c", 7), "ab");
        assert_eq!(cut_escaped("ab\u{1}c", 8), "ab\u{1}");
        assert_eq!(cut_escaped("éé", 3), "é");
    }
}
