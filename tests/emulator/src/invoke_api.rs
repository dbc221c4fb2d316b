//! The Invoke API (for users and tests): `POST /2015-03-31/functions/NAME/invocations`, as
//! the RIE and Lambda answer it, and `POST /2021-11-15/functions/NAME/response-streaming-invocations`
//! (`InvokeWithResponseStream`, answered in `streaming/`).

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response};
use tokio::sync::oneshot;

use crate::http::{Body, header_str, header_value, json_header, read_body, respond};
use crate::options::MAX_PAYLOAD;
use crate::records::InvokeResult;
use crate::state::Shared;
use crate::state::{Reply, Submission};

fn api_error(status: u16, error_type: &str, message: &str) -> Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({ "Type": "User", "message": message }))
        .unwrap_or_default();
    respond(
        status,
        vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                HeaderName::from_static("x-amzn-errortype"),
                header_value(error_type),
            ),
        ],
        Body::full(body),
    )
}

/// Which Invoke API operation a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    /// `POST /2015-03-31/functions/NAME/invocations`.
    Invoke,
    /// `POST /2021-11-15/functions/NAME/response-streaming-invocations`.
    InvokeWithResponseStream,
}

pub(crate) async fn invoke_api(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    rest: &str,
    operation: Operation,
) -> Response<Body> {
    let config = &shared.config;
    let suffix = match operation {
        Operation::Invoke => "/invocations",
        Operation::InvokeWithResponseStream => "/response-streaming-invocations",
    };
    let Some(name) = rest.strip_suffix(suffix) else {
        return api_error(404, "ResourceNotFoundException", "Unknown operation");
    };
    if name != "function" && name != config.options.function_name && name != config.arn {
        return api_error(
            404,
            "ResourceNotFoundException",
            &format!("Function not found: {name}"),
        );
    }
    if req.method() != Method::POST {
        return api_error(405, "MethodNotAllowed", "Use POST to invoke");
    }
    let headers = req.headers().clone();
    let invocation_type =
        header_str(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
    let allowed: &[&str] = match operation {
        Operation::Invoke => &["RequestResponse", "Event", "DryRun"],
        Operation::InvokeWithResponseStream => &["RequestResponse", "DryRun"],
    };
    if !allowed.contains(&invocation_type) {
        return api_error(
            400,
            "InvalidParameterValueException",
            &format!("X-Amz-Invocation-Type must be {}", allowed.join(", ")),
        );
    }
    let mut sub = Submission::default();
    if let Some(encoded) = headers.get("x-amz-client-context") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.as_bytes())
            .ok()
            .and_then(|raw| json_header(&raw));
        match decoded {
            Some(value) => sub.client_context = Some(value),
            None => {
                return api_error(
                    400,
                    "InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object.",
                );
            }
        }
    }
    if let Some(raw) = headers.get("x-amz-cognito-identity") {
        match json_header(raw.as_bytes()) {
            Some(value) => sub.cognito_identity = Some(value),
            None => {
                return api_error(
                    400,
                    "InvalidRequestContentException",
                    "X-Amz-Cognito-Identity must be a JSON object.",
                );
            }
        }
    }
    sub.tenant_id = headers.get("x-amz-tenant-id").cloned();
    let read = read_body(req.into_body(), MAX_PAYLOAD).await;
    if read.too_large {
        return api_error(
            413,
            "RequestTooLargeException",
            &format!(
                "{} byte payload is too large for the RequestResponse invocation type \
                 ({MAX_PAYLOAD} byte maximum)",
                read.len
            ),
        );
    }
    if read.broken {
        return api_error(
            400,
            "InvalidRequestContentException",
            "Truncated request body",
        );
    }
    if invocation_type == "DryRun" {
        return respond(204, Vec::new(), Body::full(Bytes::new()));
    }
    sub.payload = if read.bytes.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        Bytes::from(read.bytes)
    };
    if operation == Operation::InvokeWithResponseStream {
        let trailers = header_str(&headers, "te").is_some_and(|te| {
            te.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("trailers"))
        });
        return crate::streaming::invoke_response_stream(shared, sub, trailers).await;
    }
    let (tx, rx) = oneshot::channel();
    let id = shared.submit(sub, Reply::Async(tx));
    if invocation_type == "Event" {
        return respond(
            202,
            vec![(
                HeaderName::from_static("x-amzn-requestid"),
                header_value(&id),
            )],
            Body::full(Bytes::new()),
        );
    }
    match rx.await {
        Ok(result) => invoke_response(&result),
        Err(_) => api_error(503, "ServiceException", "The emulator stopped"),
    }
}

pub(crate) fn invoke_response(result: &InvokeResult) -> Response<Body> {
    let mut headers = vec![
        (CONTENT_TYPE, header_value(&result.content_type)),
        (
            HeaderName::from_static("x-amzn-requestid"),
            header_value(&result.request_id),
        ),
        (
            HeaderName::from_static("x-amz-executed-version"),
            HeaderValue::from_static("$LATEST"),
        ),
    ];
    if let Some(error) = &result.function_error {
        headers.push((
            HeaderName::from_static("x-amz-function-error"),
            header_value(error),
        ));
    }
    respond(result.status, headers, Body::full(result.body.clone()))
}
