//! HTTP pieces shared by the APIs: the response body type, building answers, reading request
//! bodies and headers.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use tokio::sync::mpsc;

// ----- response bodies ---------------------------------------------------------------------

/// A response body: all at once, or (for [`Fault::DropConnection`]) a first part followed by
/// an error, which makes hyper abort the connection, or (for streamed responses) the frames
/// of a channel as they come, where an error aborts the connection too.
#[derive(Debug)]
pub(crate) struct Body {
    pub(crate) data: Option<Bytes>,
    fail_after: Option<Pin<Box<tokio::time::Sleep>>>,
    frames: Option<mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>>,
}

impl Body {
    pub(crate) fn full(data: impl Into<Bytes>) -> Self {
        Body {
            data: Some(data.into()),
            fail_after: None,
            frames: None,
        }
    }

    pub(crate) fn broken(first_part: Bytes) -> Self {
        Body {
            data: Some(first_part),
            // Give hyper a moment to flush the head and the first part before the abort.
            fail_after: Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))),
            frames: None,
        }
    }

    /// A body streamed from `frames`: data and trailer frames as they arrive, an error to
    /// cut the connection, the channel's end to end the body.
    pub(crate) fn channel(frames: mpsc::Receiver<Result<Frame<Bytes>, std::io::Error>>) -> Self {
        Body {
            data: None,
            fail_after: None,
            frames: Some(frames),
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if let Some(data) = self.data.take()
            && !data.is_empty()
        {
            return Poll::Ready(Some(Ok(Frame::data(data))));
        }
        if let Some(frames) = self.frames.as_mut() {
            let frame = ready!(frames.poll_recv(cx));
            if frame.is_none() {
                self.frames = None;
            }
            return Poll::Ready(frame);
        }
        match self.fail_after.as_mut() {
            None => Poll::Ready(None),
            Some(sleep) => {
                ready!(sleep.as_mut().poll(cx));
                self.fail_after = None;
                Poll::Ready(Some(Err(std::io::Error::other("injected connection drop"))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.data.as_ref().is_none_or(Bytes::is_empty)
            && self.fail_after.is_none()
            && self.frames.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.data, &self.fail_after, &self.frames) {
            (Some(data), None, None) => SizeHint::with_exact(data.len() as u64),
            (None, None, None) => SizeHint::with_exact(0),
            _ => SizeHint::default(),
        }
    }
}

pub(crate) fn respond(
    status: u16,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Body,
) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        response.headers_mut().append(name, value);
    }
    response
}

pub(crate) fn json_response(status: u16, body: Vec<u8>) -> Response<Body> {
    respond(
        status,
        vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Body::full(body),
    )
}

pub(crate) fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Re-serialize a JSON document compactly so it fits in a header; `None` if it is not JSON.
pub(crate) fn json_header(raw: &[u8]) -> Option<HeaderValue> {
    let value: serde_json::Value = serde_json::from_slice(raw).ok()?;
    HeaderValue::from_bytes(&serde_json::to_vec(&value).ok()?).ok()
}

// ----- reading request bodies -------------------------------------------------------------

#[derive(Debug, Default)]
pub(crate) struct BodyRead {
    /// The body, if it fit in the limit.
    pub(crate) bytes: Vec<u8>,
    /// Bytes received in total.
    pub(crate) len: usize,
    pub(crate) too_large: bool,
    /// The connection failed or the body was cut short.
    pub(crate) broken: bool,
    pub(crate) trailers: Option<HeaderMap>,
}

pub(crate) async fn read_body(mut body: Incoming, limit: usize) -> BodyRead {
    // Keep reading past the limit (discarding) so the client gets our answer instead of a
    // reset, but not forever.
    const DRAIN_LIMIT: usize = 64 << 20;
    let mut out = BodyRead::default();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => match frame.into_data() {
                Ok(data) => {
                    out.len += data.len();
                    if out.len > limit {
                        out.too_large = true;
                        out.bytes = Vec::new();
                    } else {
                        out.bytes.extend_from_slice(&data);
                    }
                    if out.len > DRAIN_LIMIT {
                        break;
                    }
                }
                Err(frame) => {
                    if let Ok(trailers) = frame.into_trailers() {
                        out.trailers = Some(trailers);
                    }
                }
            },
            Err(_) => {
                out.broken = true;
                break;
            }
        }
    }
    out
}

pub(crate) fn headers_vec(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
