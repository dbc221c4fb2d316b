//! Response streaming: the pieces of a streamed `/response` travel from the runtime's
//! connection (`runtime.rs`) to the invoker as they arrive, through a small bounded channel
//! per invocation, so a slow invoker slows the reading of the runtime's stream instead of
//! making the emulator buffer it. The invoker side is here; `handle.rs` is the library's
//! blocking [`InvokeStream`], `throttle.rs` Lambda's bandwidth cap.

mod handle;
mod invoke;
mod runtime;
mod throttle;

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use crate::records::{InvokeResult, Outcome};
use crate::state::{Reply, Shared, Submission};

pub use handle::{InvokeStream, StreamedInvoke};
pub(crate) use invoke::{cut, forward, frame_channel, invoke_response_stream};
pub(crate) use runtime::post_stream;

/// The `Content-Type` of an HTTP-integration stream: a JSON prelude, 8 NUL bytes, the body.
pub(crate) const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// The trailer names of a mid-stream error, on the runtime's request and on the streaming
/// Invoke API's answer.
pub(crate) const ERROR_TYPE_TRAILER: &str = "lambda-runtime-function-error-type";
pub(crate) const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";

/// How many pieces may wait for a slow invoker.
const QUEUE: usize = 16;

/// What travels from the runtime side to an invoker that reads a stream.
#[derive(Debug)]
pub(crate) enum Piece {
    /// The runtime began streaming.
    Head {
        content_type: String,
    },
    Chunk(Bytes),
    /// The stream ended with an error (trailers, a broken connection, the size limit).
    Failed(StreamError),
}

/// Why a stream ended badly: the error type and the error document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StreamError {
    pub(crate) error_type: String,
    pub(crate) body: Vec<u8>,
}

impl StreamError {
    /// The error of an invocation that ended without a streamed error (a timeout, a stop).
    fn of(result: Option<&InvokeResult>) -> Option<StreamError> {
        let Some(result) = result else {
            return Some(StreamError {
                error_type: "Emulator.Stopped".to_owned(),
                body: crate::util::invoke_error_body("Emulator.Stopped", "The emulator stopped"),
            });
        };
        (result.outcome != Outcome::Response).then(|| StreamError {
            error_type: result
                .error_type()
                .unwrap_or_else(|| format!("{:?}", result.outcome)),
            body: result.body.clone(),
        })
    }
}

/// An invocation submitted by an invoker able to read a stream.
#[derive(Debug)]
pub(crate) struct Pending {
    pieces: mpsc::Receiver<Piece>,
    result: oneshot::Receiver<InvokeResult>,
}

/// How the function began answering.
#[derive(Debug)]
pub(crate) enum First {
    /// A buffered answer (or a failure before any stream began), whole.
    Buffered(InvokeResult),
    Stream(Streaming),
    /// The emulator stopped.
    Stopped,
}

/// Queue an invocation whose answer may be streamed; returns its request id.
pub(crate) fn submit(shared: &Arc<Shared>, mut sub: Submission) -> (String, Pending) {
    let (tx, pieces) = mpsc::channel(QUEUE);
    sub.stream = Some(tx);
    let (reply, result) = oneshot::channel();
    let id = shared.submit(sub, Reply::Async(reply));
    (id, Pending { pieces, result })
}

impl Pending {
    /// Wait until the function answers whole or begins streaming.
    pub(crate) async fn first(mut self) -> First {
        let head = tokio::select! {
            biased;
            piece = self.pieces.recv() => piece,
            result = &mut self.result => {
                return result.map_or(First::Stopped, First::Buffered);
            }
        };
        match head {
            Some(Piece::Head { content_type }) => First::Stream(Streaming {
                content_type,
                pieces: self.pieces,
                result: self.result,
                failure: None,
                done: None,
            }),
            _ => self.result.await.map_or(First::Stopped, First::Buffered),
        }
    }
}

/// A stream being received.
#[derive(Debug)]
pub(crate) struct Streaming {
    /// The runtime's `Content-Type`.
    pub(crate) content_type: String,
    pieces: mpsc::Receiver<Piece>,
    result: oneshot::Receiver<InvokeResult>,
    failure: Option<StreamError>,
    /// Set once the stream ended: the invocation's result (`None` if the emulator stopped).
    done: Option<Option<InvokeResult>>,
}

impl Streaming {
    /// The next piece of the body, `None` once the stream ended (then see
    /// [`Streaming::failure`]).
    pub(crate) async fn next(&mut self) -> Option<Bytes> {
        while self.done.is_none() {
            let piece = tokio::select! {
                biased;
                piece = self.pieces.recv() => piece,
                result = &mut self.result => {
                    // The invocation ended (a timeout, a stop) while the runtime still streams.
                    self.done = Some(result.ok());
                    return None;
                }
            };
            match piece {
                Some(Piece::Chunk(chunk)) => return Some(chunk),
                Some(Piece::Head { .. }) => {}
                Some(Piece::Failed(error)) => self.failure = Some(error),
                None => {
                    let result = (&mut self.result).await.ok();
                    self.done = Some(result);
                }
            }
        }
        None
    }

    /// Why the stream ended badly, once [`Streaming::next`] returned `None`; `None` for a
    /// stream that completed.
    pub(crate) fn failure(&self) -> Option<StreamError> {
        match &self.done {
            None => None,
            Some(result) => self
                .failure
                .clone()
                .or_else(|| StreamError::of(result.as_ref())),
        }
    }

    /// How the invocation ended, once the stream ended (`None` before, or if the emulator
    /// stopped).
    pub(crate) fn result(&self) -> Option<&InvokeResult> {
        self.done.as_ref()?.as_ref()
    }
}
