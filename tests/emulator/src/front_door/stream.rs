//! A streamed answer through the front door: an HTTP-integration stream (a JSON prelude with
//! `statusCode`, `headers`, `cookies`, 8 NUL bytes, then the body) or a raw stream (a 200
//! with the runtime's content type), sent to the client chunk by chunk as it arrives.

use hyper::Response;
use hyper::body::Frame;

use super::message;
use super::reply::{HttpReply, prelude};
use crate::http::Body;
use crate::records::Outcome;
use crate::streaming::{HTTP_INTEGRATION, Streaming, cut, forward, frame_channel};

/// The prelude must end within this many bytes (Function URLs and API Gateway want it
/// early; this is generous).
const PRELUDE_LIMIT: usize = 64 * 1024;

const DELIMITER: [u8; 8] = [0; 8];

pub(super) async fn respond_stream(mut stream: Streaming) -> Response<Body> {
    let (reply, first) = if stream.content_type == HTTP_INTEGRATION {
        let mut head: Vec<u8> = Vec::new();
        let (raw, rest) = loop {
            if let Some(at) = head.windows(8).position(|w| w == DELIMITER) {
                let rest = head.split_off(at + 8);
                head.truncate(at);
                break (head, rest);
            }
            if head.len() > PRELUDE_LIMIT {
                return message(502, "Internal Server Error");
            }
            match stream.next().await {
                Some(chunk) => head.extend_from_slice(&chunk),
                // Ended (or failed) before the body began.
                None => return failed_before_body(&stream),
            }
        };
        match prelude(&raw) {
            Some(reply) => (reply, rest),
            None => return message(502, "Internal Server Error"),
        }
    } else {
        let reply = HttpReply {
            status: 200,
            reason: None,
            headers: vec![("content-type".to_owned(), stream.content_type.clone())],
            body: Vec::new(),
        };
        (reply, Vec::new())
    };
    let (tx, body) = frame_channel();
    tokio::spawn(async move {
        if !first.is_empty() && tx.send(Ok(Frame::data(first.into()))).await.is_err() {
            return;
        }
        // A failure mid-stream cuts the client's connection: the body ends without its last
        // chunk, as a Function URL ends a broken stream.
        if let Ok(Some(_)) = forward(&mut stream, &tx).await {
            cut(&tx).await;
        }
    });
    let (parts, _) = reply.into_response().into_parts();
    Response::from_parts(parts, body)
}

fn failed_before_body(stream: &Streaming) -> Response<Body> {
    match stream.result().map(|result| result.outcome) {
        Some(Outcome::TimedOut) => message(504, "Endpoint request timed out"),
        None | Some(Outcome::Stopped) => message(503, "Service Unavailable"),
        _ => message(502, "Internal Server Error"),
    }
}
