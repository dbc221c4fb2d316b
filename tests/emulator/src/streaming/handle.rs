//! [`InvokeStream`]: a streamed invocation read from a plain (blocking) test, piece by piece.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use super::{First, StreamError};
use crate::records::InvokeResult;
use crate::state::{Shared, Submission};

#[derive(Debug)]
enum Event {
    Head(String),
    Chunk(Vec<u8>),
    End(Option<StreamError>, Option<InvokeResult>),
    Buffered(InvokeResult),
    Stopped,
}

/// An invocation whose answer is read as it arrives, from [`crate::Emulator::invoke_stream`]:
/// what `InvokeWithResponseStream` gives, as a blocking iterator of pieces with timeouts.
///
/// ```no_run
/// use std::time::Duration;
/// # let emu = lambda_emulator::Emulator::start(lambda_emulator::Options::external())?;
/// let mut stream = emu.invoke_stream("{}")?;
/// let first = stream.next_chunk(Duration::from_secs(5))?; // before the function finished
/// let done = stream.finish(Duration::from_secs(5))?;
/// assert!(done.streamed && done.error_type.is_none());
/// # let _ = first;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct InvokeStream {
    request_id: String,
    events: Receiver<Event>,
    content_type: Option<String>,
    streamed: bool,
    chunks: Vec<Vec<u8>>,
    end: Option<(Option<StreamError>, InvokeResult)>,
}

/// How a streamed invocation ended, from [`InvokeStream::finish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedInvoke {
    /// The request id of the invocation.
    pub request_id: String,
    /// True when the function streamed its answer; false for a buffered answer (or a failure
    /// before any stream began), which came whole as one chunk.
    pub streamed: bool,
    /// The `Content-Type` of the answer (the runtime's for a stream).
    pub content_type: String,
    /// Every piece received, in order, including those [`InvokeStream::next_chunk`] returned.
    pub chunks: Vec<Vec<u8>>,
    /// The error type the stream ended with: the function's `Lambda-Runtime-Function-Error-Type`
    /// trailer, `Runtime.TruncatedResponse` (the runtime's connection broke),
    /// `Function.ResponseSizeTooLarge` (the size limit), `Sandbox.Timedout`; for a buffered
    /// answer, the error type of a failed invocation. `None` when it succeeded.
    pub error_type: Option<String>,
    /// The error document that goes with [`StreamedInvoke::error_type`] (the decoded
    /// `Lambda-Runtime-Function-Error-Body` trailer for a function error).
    pub error_body: Option<Vec<u8>>,
    /// The invocation's result as a buffered invoke would see it (its body capped at the
    /// buffered payload limit).
    pub result: InvokeResult,
}

impl StreamedInvoke {
    /// All the pieces joined.
    pub fn body(&self) -> Vec<u8> {
        self.chunks.concat()
    }

    /// [`StreamedInvoke::body`] as text (lossy UTF-8).
    pub fn body_string(&self) -> String {
        String::from_utf8_lossy(&self.body()).into_owned()
    }
}

impl InvokeStream {
    pub(crate) fn start(shared: &Arc<Shared>, sub: Submission) -> InvokeStream {
        let (request_id, pending) = super::submit(shared, sub);
        let (tx, events) = sync_channel(64);
        shared.rt.spawn(async move {
            let mut stream = match pending.first().await {
                First::Buffered(result) => {
                    let _ = send(&tx, Event::Buffered(result)).await;
                    return;
                }
                First::Stopped => {
                    let _ = send(&tx, Event::Stopped).await;
                    return;
                }
                First::Stream(stream) => stream,
            };
            let head = Event::Head(stream.content_type.clone());
            if send(&tx, head).await.is_err() {
                return;
            }
            while let Some(chunk) = stream.next().await {
                if send(&tx, Event::Chunk(chunk.to_vec())).await.is_err() {
                    return;
                }
            }
            let end = Event::End(stream.failure(), stream.result().cloned());
            let _ = send(&tx, end).await;
        });
        InvokeStream {
            request_id,
            events,
            content_type: None,
            streamed: false,
            chunks: Vec::new(),
            end: None,
        }
    }

    /// The request id of the invocation.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// The next piece of the answer, as it arrives: `Ok(Some(piece))`, `Ok(None)` once the
    /// answer ended (a buffered answer is one piece). `Err` with
    /// [`std::io::ErrorKind::TimedOut`] when nothing arrived within `timeout`, or
    /// [`std::io::ErrorKind::NotConnected`] when the emulator stopped.
    pub fn next_chunk(&mut self, timeout: Duration) -> std::io::Result<Option<Vec<u8>>> {
        let end = Instant::now() + timeout;
        while self.end.is_none() {
            let left = end.saturating_duration_since(Instant::now());
            let event = match self.events.recv_timeout(left) {
                Ok(event) => event,
                Err(RecvTimeoutError::Timeout) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "no piece of the answer arrived in time",
                    ));
                }
                Err(RecvTimeoutError::Disconnected) => return Err(stopped()),
            };
            match event {
                Event::Head(content_type) => {
                    self.streamed = true;
                    self.content_type = Some(content_type);
                }
                Event::Chunk(chunk) => {
                    self.chunks.push(chunk.clone());
                    return Ok(Some(chunk));
                }
                Event::End(failure, Some(result)) => self.end = Some((failure, result)),
                Event::End(_, None) | Event::Stopped => return Err(stopped()),
                Event::Buffered(result) => {
                    self.content_type = Some(result.content_type.clone());
                    let failure = StreamError::of(Some(&result));
                    let body = result.body.clone();
                    self.end = Some((failure, result));
                    if !body.is_empty() {
                        self.chunks.push(body.clone());
                        return Ok(Some(body));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Whether the function streamed (true once its stream began; false for a buffered
    /// answer, or before anything arrived).
    pub fn streamed(&self) -> bool {
        self.streamed
    }

    /// Read the rest of the answer (each piece within `timeout` of the previous one) and
    /// return how it ended. Errors as [`InvokeStream::next_chunk`].
    pub fn finish(mut self, timeout: Duration) -> std::io::Result<StreamedInvoke> {
        while self.next_chunk(timeout)?.is_some() {}
        let Some((failure, result)) = self.end else {
            return Err(stopped());
        };
        let (error_type, error_body) = match failure {
            Some(error) => (Some(error.error_type), Some(error.body)),
            None => (None, None),
        };
        Ok(StreamedInvoke {
            request_id: self.request_id,
            streamed: self.streamed,
            content_type: self
                .content_type
                .unwrap_or_else(|| result.content_type.clone()),
            chunks: self.chunks,
            error_type,
            error_body,
            result,
        })
    }
}

impl Iterator for InvokeStream {
    type Item = std::io::Result<Vec<u8>>;

    /// The pieces, each awaited at most 60 s; ends with the answer.
    fn next(&mut self) -> Option<Self::Item> {
        self.next_chunk(Duration::from_secs(60)).transpose()
    }
}

/// Hand `event` to the (blocking) reader without blocking the emulator's threads: a full
/// channel holds the stream back, as a slow HTTP client would.
async fn send(tx: &SyncSender<Event>, mut event: Event) -> Result<(), ()> {
    loop {
        match tx.try_send(event) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Disconnected(_)) => return Err(()),
            Err(TrySendError::Full(back)) => {
                event = back;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "the emulator stopped")
}
