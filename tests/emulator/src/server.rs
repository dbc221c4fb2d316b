//! The HTTP side: one hyper HTTP/1.1 server carrying the Runtime API (for the function), the
//! Extensions and Telemetry APIs (`ext_api.rs`) and the Invoke API (`invoke_api.rs`).

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::fault::Fault;
use crate::http::{Body, BodyRead, header_str, header_value, json_response, read_body, respond};
use crate::invoke_api::Operation;
use crate::options::MAX_PAYLOAD;
use crate::recorder::Recorder;
use crate::records::{Endpoint, Outcome};
use crate::runtime::PostRejection;
use crate::state::{Dispatch, NextOutcome, Shared};
use crate::util::{epoch_ms, error_body, invoke_error_body};

const ERROR_CAUSE_CONTENT_TYPE: &str = "application/vnd.aws.lambda.error.cause+json";

/// Accept connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections: u64 = 0;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let connection = connections;
        connections += 1;
        tokio::spawn(async move {
            // Set when an answer asks for the connection to be closed after it.
            let close = Arc::new(Notify::new());
            let close_after = Arc::clone(&close);
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                let close_after = Arc::clone(&close_after);
                async move {
                    let response = route(shared, req, connection).await;
                    match response.extensions().get::<Disconnect>() {
                        // An error from the service makes hyper drop the connection unanswered.
                        Some(Disconnect::Now) => Err(std::io::Error::other("injected hangup")),
                        Some(Disconnect::AfterAnswer) => {
                            close_after.notify_one();
                            Ok(response)
                        }
                        None => Ok(response),
                    }
                }
            });
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                () = close.notified() => {
                    // No more requests on it: closed once the answer in progress is written.
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>, connection: u64) -> Response<Body> {
    if let Some(rest) = req.uri().path().strip_prefix("/2015-03-31/functions/") {
        let rest = rest.to_owned();
        return crate::invoke_api::invoke_api(&shared, req, &rest, Operation::Invoke).await;
    }
    if let Some(rest) = req.uri().path().strip_prefix("/2021-11-15/functions/") {
        let rest = rest.to_owned();
        let operation = Operation::InvokeWithResponseStream;
        return crate::invoke_api::invoke_api(&shared, req, &rest, operation).await;
    }
    if let Some(endpoint) = crate::ext_api::endpoint(req.uri().path(), &shared.config.prefix) {
        return crate::ext_api::handle(&shared, req, endpoint, connection).await;
    }
    runtime_api(&shared, req, connection).await
}

/// Marks an answer that must not be sent as usual ([`Fault::Hangup`],
/// [`Fault::CloseAfterAnswer`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disconnect {
    /// Close the connection instead of sending this answer.
    Now,
    /// Send this answer, then close the connection.
    AfterAnswer,
}

/// The answer of [`Fault::Hangup`]: none, the connection is closed.
fn hangup() -> Response<Body> {
    let mut response = Response::new(Body::full(Bytes::new()));
    response.extensions_mut().insert(Disconnect::Now);
    response
}

fn is_hangup(response: &Response<Body>) -> bool {
    response.extensions().get::<Disconnect>() == Some(&Disconnect::Now)
}

// ----- the Runtime API --------------------------------------------------------------------

fn parse_runtime_path(path: &str, prefix: &str) -> (Endpoint, Option<String>) {
    let Some(rest) = path
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix("/2018-06-01/"))
    else {
        return (Endpoint::Other, None);
    };
    match rest {
        "runtime/invocation/next" => return (Endpoint::Next, None),
        "runtime/init/error" => return (Endpoint::InitError, None),
        "ping" => return (Endpoint::Ping, None),
        _ => {}
    }
    if let Some(inner) = rest.strip_prefix("runtime/invocation/") {
        for (suffix, endpoint) in [
            ("/response", Endpoint::Response),
            ("/error", Endpoint::Error),
        ] {
            if let Some(id) = inner.strip_suffix(suffix)
                && !id.is_empty()
                && !id.contains('/')
            {
                return (endpoint, Some(id.to_owned()));
            }
        }
    }
    (Endpoint::Other, None)
}

async fn runtime_api(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    connection: u64,
) -> Response<Body> {
    let (endpoint, id) = parse_runtime_path(req.uri().path(), &shared.config.prefix);
    let mut rec = Recorder::arrived(shared, &req, endpoint, id.clone(), connection);
    let method = req.method().clone();
    let response = match (endpoint, id) {
        (Endpoint::Next, _) if method == Method::GET => next(shared, &mut rec).await,
        (Endpoint::Ping, _) if method == Method::GET => respond(
            200,
            vec![(CONTENT_TYPE, HeaderValue::from_static("text/plain"))],
            Body::full("pong"),
        ),
        (Endpoint::Response | Endpoint::Error | Endpoint::InitError, id)
            if method == Method::POST =>
        {
            return post(shared, req, endpoint, id, rec).await;
        }
        (Endpoint::Other, _) => json_response(
            404,
            error_body("NotFound", "The requested resource could not be found"),
        ),
        _ => json_response(
            405,
            error_body(
                "MethodNotAllowed",
                "The method is not allowed for this path",
            ),
        ),
    };
    if is_hangup(&response) {
        // Never answered: dropping the recorder records the call as abandoned.
        drop(rec);
        return response;
    }
    rec.finish(response)
}

fn fault_response(code: u16) -> Response<Body> {
    let (error_type, message) = match code {
        400 => ("InvalidRequestID", "Invalid request ID"),
        403 => (
            "InvalidStateTransition",
            "State transition is not allowed (injected fault)",
        ),
        410 => ("InvokeTimeout", "Invoke timeout"),
        413 => (
            "RequestEntityTooLarge",
            "Exceeded maximum allowed payload size (6291556 bytes).",
        ),
        500 => (
            "InternalServerError",
            "Internal server error (injected fault)",
        ),
        _ => ("InjectedFault", "Injected fault"),
    };
    json_response(code, error_body(error_type, message))
}

async fn next(shared: &Arc<Shared>, rec: &mut Recorder) -> Response<Body> {
    let tag = shared.next_arrived();
    let outcome = loop {
        let notified = shared.dispatch.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(outcome) = shared.try_dispatch(tag) {
            break outcome;
        }
        notified.await;
    };
    match outcome {
        NextOutcome::Fault(Fault::Hangup) => {
            rec.call().fault = Some(Fault::Hangup);
            hangup()
        }
        NextOutcome::Fault(fault) => {
            rec.call().fault = Some(fault.clone());
            let code = match fault {
                Fault::Status(code) => code,
                _ => 500,
            };
            fault_response(code)
        }
        NextOutcome::Event(dispatch, fault) => {
            rec.call().request_id = Some(dispatch.request_id.clone());
            rec.call().fault = fault.clone();
            if let Some(Fault::Delay(delay)) = &fault {
                tokio::time::sleep(*delay).await;
            }
            event_response(shared, *dispatch, fault.as_ref())
        }
    }
}

fn event_response(shared: &Shared, d: Dispatch, fault: Option<&Fault>) -> Response<Body> {
    let mut headers: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut add = |name: &'static str, value: HeaderValue| {
        headers.push((HeaderName::from_static(name), value));
    };
    if fault != Some(&Fault::MissingRequestId) {
        add("lambda-runtime-aws-request-id", header_value(&d.request_id));
    }
    let deadline = match fault {
        Some(Fault::DeadlinePast) => epoch_ms().saturating_sub(1000).to_string(),
        Some(Fault::DeadlineAbsurd) => u64::MAX.to_string(),
        Some(Fault::Deadline(value)) => value.to_string(),
        _ => d.deadline_ms.to_string(),
    };
    if fault == Some(&Fault::GarbageHeaders) {
        add(
            "lambda-runtime-deadline-ms",
            HeaderValue::from_static("12o0-not-a-number"),
        );
        add(
            "lambda-runtime-invoked-function-arn",
            HeaderValue::from_bytes(b"arn:\xff\xfe\x80garbage")
                .unwrap_or(HeaderValue::from_static("x")),
        );
        add(
            "lambda-runtime-trace-id",
            HeaderValue::from_bytes(b"Root=\xc3\x28\xa0\xa1;;;")
                .unwrap_or(HeaderValue::from_static("x")),
        );
    } else {
        add("lambda-runtime-deadline-ms", header_value(&deadline));
        add(
            "lambda-runtime-invoked-function-arn",
            header_value(&shared.config.arn),
        );
        add("lambda-runtime-trace-id", header_value(&d.trace_id));
    }
    add("content-type", HeaderValue::from_static("application/json"));
    if let Some(value) = d.client_context {
        add("lambda-runtime-client-context", value);
    }
    if let Some(value) = d.cognito_identity {
        add("lambda-runtime-cognito-identity", value);
    }
    if let Some(value) = d.tenant_id {
        add("lambda-runtime-aws-tenant-id", value);
    }
    if let Some(nonce) = &d.nonce {
        add("lambda-runtime-invocation-id", header_value(nonce));
    }
    shape_body(200, headers, d.payload, fault)
}

/// Apply the body-shaping faults to an answer.
fn shape_body(
    status: u16,
    mut headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    fault: Option<&Fault>,
) -> Response<Body> {
    match fault {
        Some(Fault::TruncateBody) => {
            let half = body.slice(..body.len() / 2);
            respond(status, headers, Body::full(half))
        }
        Some(Fault::DropConnection) => {
            headers.push((CONTENT_LENGTH, HeaderValue::from(body.len())));
            let half = body.slice(..body.len() / 2);
            respond(status, headers, Body::broken(half))
        }
        Some(Fault::CloseAfterAnswer) => {
            let mut response = respond(status, headers, Body::full(body));
            response.extensions_mut().insert(Disconnect::AfterAnswer);
            response
        }
        _ => respond(status, headers, Body::full(body)),
    }
}

pub(crate) fn rejection_response(rejection: PostRejection) -> Response<Body> {
    match rejection {
        PostRejection::UnknownId => {
            json_response(400, error_body("InvalidRequestID", "Invalid request ID"))
        }
        PostRejection::TimedOut => {
            json_response(410, error_body("InvokeTimeout", "Invoke timeout"))
        }
        PostRejection::OutOfOrder => json_response(
            403,
            error_body(
                "InvalidStateTransition",
                "State transition from RuntimeResponseSentState to InvocationResponse failed \
                 for runtime. Error: State transition is not allowed",
            ),
        ),
    }
}

async fn post(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    endpoint: Endpoint,
    id: Option<String>,
    mut rec: Recorder,
) -> Response<Body> {
    let fault = shared.take_post_fault(endpoint, id.as_deref());
    rec.call().fault = fault.clone();
    if let Some(Fault::Delay(delay)) = &fault {
        tokio::time::sleep(*delay).await;
    }
    let streaming = req
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|mode| mode.as_bytes() == b"streaming");
    if let (Endpoint::Response, Some(id), true, None | Some(Fault::Delay(_))) =
        (endpoint, &id, streaming, &fault)
    {
        let id = id.clone();
        return crate::streaming::post_stream(shared, req, id, rec).await;
    }
    let (parts, body) = req.into_parts();
    let read = read_body(body, MAX_PAYLOAD).await;
    rec.call().body_len = read.len;
    rec.call().body = read.bytes.clone();
    let seq = rec.call().seq;
    match (&fault, &id) {
        (Some(Fault::Status(code)), _) => return rec.finish(fault_response(*code)),
        // Read, not taken, never answered: the recorder records the call as abandoned.
        (Some(Fault::Hangup), _) => return hangup(),
        (Some(Fault::Expire), Some(id)) => {
            shared.expire(seq, id);
            return rec.finish(fault_response(410));
        }
        _ => {}
    }
    let answer = match (endpoint, id) {
        (Endpoint::Response, Some(id)) => post_response(shared, seq, &id, &parts.headers, read),
        (Endpoint::Error, Some(id)) => post_error(shared, seq, &id, &parts.headers, read),
        _ => post_init_error(shared, seq, &parts.headers, read),
    };
    let response = match answer {
        Ok(response) => response,
        Err(rejection) => rejection_response(rejection),
    };
    if fault.is_none() {
        return rec.finish(response);
    }
    // Re-shape the answer for the body and header faults.
    let (mut parts, body) = response.into_parts();
    let body = match body.data {
        Some(data) => data,
        None => Bytes::new(),
    };
    if fault == Some(Fault::GarbageHeaders) {
        parts.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_bytes(b"\xff\xfe;;garbage/\x80")
                .unwrap_or(HeaderValue::from_static("x")),
        );
    }
    let headers = parts
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    rec.finish(shape_body(
        parts.status.as_u16(),
        headers,
        body,
        fault.as_ref(),
    ))
}

pub(crate) fn accepted() -> Response<Body> {
    json_response(202, br#"{"status":"OK"}"#.to_vec())
}

fn post_response(
    shared: &Arc<Shared>,
    seq: u64,
    id: &str,
    headers: &HeaderMap,
    read: BodyRead,
) -> Result<Response<Body>, PostRejection> {
    shared.check_post(id)?;
    if read.broken {
        let body = invoke_error_body(
            "Runtime.TruncatedResponse",
            &format!("RequestId: {id} Error: The runtime's response was cut short"),
        );
        shared.complete(seq, id, 502, body, None, Outcome::InvalidResponse)?;
        return Ok(json_response(
            400,
            error_body("TruncatedHTTPRequest", "HTTP request detected as truncated"),
        ));
    }
    if read.too_large {
        let body = invoke_error_body(
            "Function.ResponseSizeTooLarge",
            &format!(
                "Response payload size ({} bytes) exceeded maximum allowed payload size \
                 ({MAX_PAYLOAD} bytes).",
                read.len
            ),
        );
        shared.complete(seq, id, 200, body, None, Outcome::ResponseTooLarge)?;
        return Ok(json_response(
            413,
            error_body(
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."),
            ),
        ));
    }
    match headers.get("lambda-runtime-function-response-mode") {
        Some(mode) if mode.as_bytes() != b"streaming" && !mode.is_empty() => {
            let body = invoke_error_body(
                "Runtime.InvalidResponseModeHeader",
                &format!("RequestId: {id} Error: Invalid response mode header value"),
            );
            shared.complete(seq, id, 502, body, None, Outcome::InvalidResponse)?;
            return Ok(json_response(
                400,
                error_body(
                    "InvalidFunctionResponseMode",
                    "Invalid function response mode",
                ),
            ));
        }
        _ => {}
    }
    // A streamed response can end with an error in trailers.
    if let Some(trailers) = &read.trailers
        && let Some(error_type) = header_str(trailers, "lambda-runtime-function-error-type")
    {
        let body = header_str(trailers, "lambda-runtime-function-error-body")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .unwrap_or_else(|| invoke_error_body(error_type, ""));
        shared.complete(seq, id, 200, body, None, Outcome::FunctionError)?;
        return Ok(accepted());
    }
    let content_type = header_str(headers, "content-type")
        .unwrap_or("application/json")
        .to_owned();
    shared.complete(
        seq,
        id,
        200,
        read.bytes,
        Some(content_type),
        Outcome::Response,
    )?;
    Ok(accepted())
}

/// The error body as the invoker sees it: the posted body (minus an X-Ray `errorCause`), or
/// one built from the error-type header when the body is empty.
fn error_document(headers: &HeaderMap, body: Vec<u8>) -> Vec<u8> {
    let error_type = header_str(headers, "lambda-runtime-function-error-type");
    if body.iter().all(u8::is_ascii_whitespace) {
        return invoke_error_body(error_type.unwrap_or("Runtime.Unknown"), "");
    }
    if header_str(headers, "content-type") == Some(ERROR_CAUSE_CONTENT_TYPE)
        && let Ok(serde_json::Value::Object(mut map)) = serde_json::from_slice(&body)
    {
        map.remove("errorCause");
        if let Ok(stripped) = serde_json::to_vec(&map) {
            return stripped;
        }
    }
    body
}

fn post_error(
    shared: &Arc<Shared>,
    seq: u64,
    id: &str,
    headers: &HeaderMap,
    read: BodyRead,
) -> Result<Response<Body>, PostRejection> {
    shared.check_post(id)?;
    if read.too_large {
        let body = invoke_error_body(
            "Function.ResponseSizeTooLarge",
            "The error payload exceeded the maximum allowed payload size",
        );
        shared.complete(seq, id, 200, body, None, Outcome::ResponseTooLarge)?;
        return Ok(json_response(
            413,
            error_body(
                "RequestEntityTooLarge",
                &format!("Exceeded maximum allowed payload size ({MAX_PAYLOAD} bytes)."),
            ),
        ));
    }
    let body = error_document(headers, read.bytes);
    shared.complete(seq, id, 200, body, None, Outcome::FunctionError)?;
    Ok(accepted())
}

fn post_init_error(
    shared: &Arc<Shared>,
    seq: u64,
    headers: &HeaderMap,
    read: BodyRead,
) -> Result<Response<Body>, PostRejection> {
    let body = error_document(headers, read.bytes);
    let content_type = if serde_json::from_slice::<serde_json::Value>(&body).is_ok() {
        "application/json"
    } else {
        "application/octet-stream"
    };
    shared.init_error(seq, body, content_type.to_owned())?;
    Ok(accepted())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_paths() {
        assert_eq!(
            parse_runtime_path("/2018-06-01/runtime/invocation/next", ""),
            (Endpoint::Next, None)
        );
        assert_eq!(
            parse_runtime_path(
                "/.rt/fn/2018-06-01/runtime/invocation/abc/response",
                "/.rt/fn"
            ),
            (Endpoint::Response, Some("abc".to_owned()))
        );
        assert_eq!(
            parse_runtime_path("/2018-06-01/runtime/invocation/abc/error", "/.rt/fn"),
            (Endpoint::Other, None)
        );
        assert_eq!(
            parse_runtime_path("/2018-06-01/runtime/invocation//error", ""),
            (Endpoint::Other, None)
        );
        assert_eq!(
            parse_runtime_path("/2018-06-01/runtime/init/error", ""),
            (Endpoint::InitError, None)
        );
    }
}
