//! The streaming Invoke API's answer (`InvokeWithResponseStream`): the runtime's pieces
//! written to the caller as chunks as they arrive; a mid-stream failure as trailers (or, when
//! the caller did not send `TE: trailers`, a cut connection).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::Response;
use hyper::body::Frame;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TRAILER};
use tokio::sync::mpsc;

use super::{ERROR_BODY_TRAILER, ERROR_TYPE_TRAILER, First, StreamError, Streaming};
use crate::http::{Body, header_value, respond};
use crate::invoke_api::invoke_response;
use crate::state::{Shared, Submission};
use crate::util::invoke_error_body;

/// Frames on their way to hyper.
pub(crate) type Frames = mpsc::Sender<Result<Frame<Bytes>, std::io::Error>>;

/// A body fed from a channel, and its sending end.
pub(crate) fn frame_channel() -> (Frames, Body) {
    let (tx, rx) = mpsc::channel(4);
    (tx, Body::channel(rx))
}

/// Cut the client's connection: hyper aborts it on a body error. A short pause first lets
/// hyper flush what it was given.
pub(crate) async fn cut(tx: &Frames) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let _ = tx
        .send(Err(std::io::Error::other("the response stream failed")))
        .await;
}

/// Copy the rest of `stream` to `tx`; the stream's failure, if any, at the end.
pub(crate) async fn forward(
    stream: &mut Streaming,
    tx: &Frames,
) -> Result<Option<StreamError>, ()> {
    while let Some(chunk) = stream.next().await {
        if tx.send(Ok(Frame::data(chunk))).await.is_err() {
            // The client went away; dropping the stream lets the runtime's side read on.
            return Err(());
        }
    }
    Ok(stream.failure())
}

pub(crate) async fn invoke_response_stream(
    shared: &Arc<Shared>,
    sub: Submission,
    trailers: bool,
) -> Response<Body> {
    let (id, pending) = super::submit(shared, sub);
    let mut stream = match pending.first().await {
        First::Buffered(result) => return invoke_response(&result),
        First::Stopped => {
            let body = invoke_error_body("Emulator.Stopped", "The emulator stopped");
            return respond(503, Vec::new(), Body::full(body));
        }
        First::Stream(stream) => stream,
    };
    let headers = vec![
        (CONTENT_TYPE, header_value(&stream.content_type)),
        (
            HeaderName::from_static("x-amzn-requestid"),
            header_value(&id),
        ),
        (
            HeaderName::from_static("x-amz-executed-version"),
            HeaderValue::from_static("$LATEST"),
        ),
        (
            TRAILER,
            HeaderValue::from_static(
                "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
            ),
        ),
    ];
    let (tx, body) = frame_channel();
    tokio::spawn(async move {
        let Ok(Some(failure)) = forward(&mut stream, &tx).await else {
            return;
        };
        if trailers {
            let _ = tx.send(Ok(Frame::trailers(error_trailers(&failure)))).await;
        } else {
            cut(&tx).await;
        }
    });
    respond(200, headers, body)
}

fn error_trailers(failure: &StreamError) -> HeaderMap {
    let mut map = HeaderMap::new();
    map.insert(
        HeaderName::from_static(ERROR_TYPE_TRAILER),
        header_value(&failure.error_type),
    );
    let b64 = base64::engine::general_purpose::STANDARD.encode(&failure.body);
    map.insert(
        HeaderName::from_static(ERROR_BODY_TRAILER),
        header_value(&b64),
    );
    map
}
