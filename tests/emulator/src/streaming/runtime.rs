//! The runtime's side of a streamed `/response`: read the chunked body frame by frame,
//! forward each piece to the invoker as it arrives (or keep it for a buffered invoker), read
//! the trailers, enforce the size limit and the bandwidth cap, and end the invocation.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::{Request, Response};
use tokio::sync::mpsc;

use super::throttle::Throttle;
use super::{ERROR_BODY_TRAILER, ERROR_TYPE_TRAILER, Piece, StreamError};
use crate::http::{Body, header_str, headers_vec, json_response};
use crate::options::MAX_PAYLOAD;
use crate::recorder::Recorder;
use crate::records::{Outcome, RuntimeCall, StreamEnd, StreamRecord};
use crate::runtime::{PostRejection, check_post};
use crate::server::{accepted, rejection_response};
use crate::state::{Phase, Shared};
use crate::util::{epoch_ms, error_body, invoke_error_body};

impl Shared {
    /// A streamed `/response` for `id` begins (call `seq`): refuse it like any post, or mark
    /// the invocation as streaming and return where its pieces go (`None`: buffer them).
    fn stream_begin(
        &self,
        seq: u64,
        id: &str,
    ) -> Result<Option<mpsc::Sender<Piece>>, PostRejection> {
        let mut st = self.lock();
        check_post(&st, id, self.config.slots, None)?;
        let inv = st
            .invocations
            .get_mut(id)
            .filter(|inv| matches!(inv.phase, Phase::Dispatched { .. }))
            .ok_or(PostRejection::UnknownId)?;
        inv.stream_seq = Some(seq);
        Ok(inv.sub.stream.clone())
    }
}

/// What the stream's end makes of the invocation, and the runtime's answer.
struct Ending {
    status: u16,
    body: Vec<u8>,
    content_type: Option<String>,
    outcome: Outcome,
    failure: Option<StreamError>,
    answer: Response<Body>,
}

/// Handle a streamed `/response`. The stream is read by a task of its own, which also
/// records the call, so that a connection that breaks (and takes this request's task with it)
/// still ends the invocation and leaves its record.
pub(crate) async fn post_stream(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    id: String,
    rec: Recorder,
) -> Response<Body> {
    let call = rec.hand_off();
    let task = tokio::spawn(read_stream(Arc::clone(shared), req, id, call));
    task.await.unwrap_or_else(|_| {
        json_response(
            500,
            error_body("InternalServerError", "The stream could not be read"),
        )
    })
}

async fn read_stream(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    id: String,
    mut call: RuntimeCall,
) -> Response<Body> {
    let (answer, record) = stream_body(&shared, req, &id, &mut call).await;
    call.stream = Some(record);
    call.status = Some(answer.status().as_u16());
    call.responded_ms = Some(epoch_ms());
    call.response_headers = headers_vec(answer.headers());
    call.response_body = answer
        .body()
        .data
        .as_ref()
        .map(|data| data.to_vec())
        .unwrap_or_default();
    shared.record_call(call);
    answer
}

async fn stream_body(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    id: &str,
    call: &mut RuntimeCall,
) -> (Response<Body>, StreamRecord) {
    let seq = call.seq;
    let (parts, mut body) = req.into_parts();
    let content_type = header_str(&parts.headers, "content-type")
        .unwrap_or("application/octet-stream")
        .to_owned();
    let mut record = StreamRecord {
        content_type: content_type.clone(),
        ..StreamRecord::default()
    };
    let mut sink = match shared.stream_begin(seq, id) {
        Ok(sink) => sink,
        Err(rejection) => {
            record.end = StreamEnd::Abandoned;
            return (rejection_response(rejection), record);
        }
    };
    record.forwarded = sink.is_some();
    if let Some(tx) = &sink
        && tx
            .send(Piece::Head {
                content_type: content_type.clone(),
            })
            .await
            .is_err()
    {
        sink = None;
    }
    let options = &shared.config.options;
    // A buffered invoker gets what Lambda's Invoke gives: at most the buffered payload.
    let limit = if record.forwarded {
        options.stream_limit
    } else {
        MAX_PAYLOAD as u64
    };
    let mut throttle = options.stream_bandwidth.then(Throttle::lambda);
    let started = Instant::now();
    let mut kept: Vec<u8> = Vec::new();
    let end = loop {
        let frame = match body.frame().await {
            None => break StreamEnd::Complete,
            Some(Err(_)) => break StreamEnd::Truncated,
            Some(Ok(frame)) => frame,
        };
        let data = match frame.into_data() {
            Ok(data) => data,
            Err(frame) => {
                if let Ok(trailers) = frame.into_trailers() {
                    record.trailers.extend(headers_vec(&trailers));
                }
                continue;
            }
        };
        if data.is_empty() {
            continue;
        }
        let now = epoch_ms();
        record.first_chunk_ms.get_or_insert(now);
        record.last_chunk_ms = Some(now);
        record.chunk_count += 1;
        if record.chunk_sizes.len() < StreamRecord::MAX_SIZES {
            record.chunk_sizes.push(data.len());
        }
        record.total += data.len() as u64;
        if record.total > limit {
            break StreamEnd::Oversized;
        }
        let room = MAX_PAYLOAD.saturating_sub(kept.len()).min(data.len());
        kept.extend_from_slice(&data[..room]);
        if let Some(tx) = &sink
            && tx.send(Piece::Chunk(data)).await.is_err()
        {
            // The invoker went away: read on (and drop) so the runtime gets its answer.
            sink = None;
        }
        if let Some(throttle) = throttle.as_mut() {
            let wait = throttle.wait(record.total, started.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
    };
    record.end = end;
    record.error_type = record.trailer(ERROR_TYPE_TRAILER).map(ToOwned::to_owned);
    record.error_body = record.trailer(ERROR_BODY_TRAILER).and_then(|b64| {
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .ok()
    });
    call.body_len = usize::try_from(record.total).unwrap_or(usize::MAX);
    call.body = kept.clone();
    let ending = ending(id, &record, kept, limit, &content_type);
    if let (Some(tx), Some(failure)) = (&sink, ending.failure) {
        let _ = tx.send(Piece::Failed(failure)).await;
    }
    drop(sink);
    let answer = match shared.complete(
        seq,
        id,
        ending.status,
        ending.body,
        ending.content_type,
        ending.outcome,
    ) {
        Ok(()) => ending.answer,
        Err(rejection) => {
            record.end = StreamEnd::Abandoned;
            rejection_response(rejection)
        }
    };
    (answer, record)
}

fn ending(
    id: &str,
    record: &StreamRecord,
    kept: Vec<u8>,
    limit: u64,
    content_type: &str,
) -> Ending {
    let failed = |error_type: &str, body: Vec<u8>, outcome, status, answer| Ending {
        status,
        body: body.clone(),
        content_type: None,
        outcome,
        failure: Some(StreamError {
            error_type: error_type.to_owned(),
            body,
        }),
        answer,
    };
    match record.end {
        StreamEnd::Truncated => failed(
            "Runtime.TruncatedResponse",
            invoke_error_body(
                "Runtime.TruncatedResponse",
                &format!("RequestId: {id} Error: The runtime's response stream was cut short"),
            ),
            Outcome::InvalidResponse,
            502,
            json_response(
                400,
                error_body("TruncatedHTTPRequest", "HTTP request detected as truncated"),
            ),
        ),
        StreamEnd::Oversized => failed(
            "Function.ResponseSizeTooLarge",
            invoke_error_body(
                "Function.ResponseSizeTooLarge",
                &format!(
                    "Response payload size exceeded maximum allowed payload size ({limit} \
                     bytes)."
                ),
            ),
            Outcome::ResponseTooLarge,
            200,
            json_response(
                413,
                error_body(
                    "RequestEntityTooLarge",
                    &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
                ),
            ),
        ),
        _ => match &record.error_type {
            Some(error_type) => failed(
                error_type,
                record
                    .error_body
                    .clone()
                    .filter(|body| !body.is_empty())
                    .unwrap_or_else(|| invoke_error_body(error_type, "")),
                Outcome::FunctionError,
                200,
                accepted(),
            ),
            None => Ending {
                status: 200,
                body: kept,
                content_type: Some(content_type.to_owned()),
                outcome: Outcome::Response,
                failure: None,
                answer: accepted(),
            },
        },
    }
}
