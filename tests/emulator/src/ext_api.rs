//! The HTTP side of the Extensions API (`/2020-01-01/extension/...`), the Telemetry API
//! (`/2022-07-01/telemetry`) and the Logs API stub (`/2020-08-15/logs`), served on the Runtime
//! API's address. Calls are recorded like the Runtime API's.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response};

use crate::extensions::{ApiError, Registration};
use crate::http::{Body, header_str, header_value, json_response, read_body, respond};
use crate::recorder::Recorder;
use crate::records::Endpoint;
use crate::state::Shared;
use crate::util::{error_body, invoke_error_body, request_id};

/// Request bodies of these APIs are small; more is cut off (and refused as malformed).
const BODY_LIMIT: usize = 1 << 20;

/// The endpoint of an Extensions, Telemetry or Logs API path (with or without the Runtime
/// API prefix); `None` for other paths.
pub(crate) fn endpoint(path: &str, prefix: &str) -> Option<Endpoint> {
    let path = path.strip_prefix(prefix).unwrap_or(path);
    let endpoint = match path {
        "/2020-01-01/extension/register" => Endpoint::ExtensionRegister,
        "/2020-01-01/extension/event/next" => Endpoint::ExtensionNext,
        "/2020-01-01/extension/init/error" => Endpoint::ExtensionInitError,
        "/2020-01-01/extension/exit/error" => Endpoint::ExtensionExitError,
        "/2022-07-01/telemetry" => Endpoint::TelemetrySubscribe,
        "/2020-08-15/logs" => Endpoint::LogsSubscribe,
        _ if ["/2020-01-01/", "/2022-07-01/", "/2020-08-15/"]
            .iter()
            .any(|api| path.starts_with(api)) =>
        {
            Endpoint::Other
        }
        _ => return None,
    };
    Some(endpoint)
}

fn api_error(err: &ApiError) -> Response<Body> {
    json_response(err.status, error_body(err.error_type, &err.message))
}

/// Answer one call.
pub(crate) async fn handle(
    shared: &Arc<Shared>,
    req: Request<Incoming>,
    endpoint: Endpoint,
    connection: u64,
) -> Response<Body> {
    let mut rec = Recorder::arrived(shared, &req, endpoint, None, connection);
    let method = req.method().clone();
    let headers = req.headers().clone();
    let id = header_str(&headers, "lambda-extension-identifier").map(ToOwned::to_owned);
    let expected = match endpoint {
        Endpoint::ExtensionNext => Method::GET,
        Endpoint::TelemetrySubscribe | Endpoint::LogsSubscribe => Method::PUT,
        _ => Method::POST,
    };
    if endpoint == Endpoint::Other {
        let body = error_body("NotFound", "The requested resource could not be found");
        return rec.finish(json_response(404, body));
    }
    if method != expected {
        let body = error_body(
            "MethodNotAllowed",
            "The method is not allowed for this path",
        );
        return rec.finish(json_response(405, body));
    }
    if endpoint == Endpoint::ExtensionNext {
        let response = next(shared, &mut rec, id).await;
        return rec.finish(response);
    }
    let read = read_body(req.into_body(), BODY_LIMIT).await;
    rec.call().body_len = read.len;
    rec.call().body = read.bytes.clone();
    let body = if read.too_large || read.broken {
        b"\xff".to_vec() // not JSON: refused as malformed
    } else {
        read.bytes
    };
    let seq = rec.call().seq;
    let response = match endpoint {
        Endpoint::ExtensionRegister => {
            let name = header_str(&headers, "lambda-extension-name");
            let account_id = header_str(&headers, "lambda-extension-accept-feature")
                .is_some_and(|f| f.split(',').any(|f| f.trim() == "accountId"));
            let reg = Registration {
                name,
                account_id,
                body: &body,
            };
            rec.call().request_id = name.map(ToOwned::to_owned);
            match shared.ext_register(&reg) {
                Ok((id, body)) => respond(
                    200,
                    vec![
                        (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                        (
                            HeaderName::from_static("lambda-extension-identifier"),
                            header_value(&id),
                        ),
                    ],
                    Body::full(serde_json::to_vec(&body).unwrap_or_default()),
                ),
                Err(err) => api_error(&err),
            }
        }
        Endpoint::ExtensionInitError | Endpoint::ExtensionExitError => {
            let init = endpoint == Endpoint::ExtensionInitError;
            let error_type = header_str(&headers, "lambda-extension-function-error-type");
            match shared.ext_error(seq, init, id.as_deref(), error_type) {
                Ok(name) => {
                    rec.call().request_id = Some(name);
                    json_response(202, br#"{"status":"OK"}"#.to_vec())
                }
                Err(err) => api_error(&err),
            }
        }
        Endpoint::TelemetrySubscribe => match shared.telemetry_subscribe(id.as_deref(), &body) {
            Ok(name) => {
                rec.call().request_id = Some(name);
                json_response(200, br#""OK""#.to_vec())
            }
            Err(err) => api_error(&err),
        },
        // As the RIE: the Logs API is a stub.
        _ => json_response(
            202,
            invoke_error_body(
                "Logs.NotSupported",
                "Logs API is not supported by lambda-emulator; use the Telemetry API",
            ),
        ),
    };
    rec.finish(response)
}

/// Marks the extension no longer waiting if its `event/next` goes away unanswered.
struct Waiting {
    shared: Arc<Shared>,
    id: String,
    answered: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if !self.answered {
            self.shared.ext_next_left(&self.id);
        }
    }
}

/// `GET /extension/event/next`: block until an event is queued for the extension.
async fn next(shared: &Arc<Shared>, rec: &mut Recorder, id: Option<String>) -> Response<Body> {
    let name = match shared.ext_next_arrived(id.as_deref()) {
        Ok(name) => name,
        Err(err) => return api_error(&err),
    };
    let _ = name;
    let id = id.unwrap_or_default();
    let mut waiting = Waiting {
        shared: Arc::clone(shared),
        id: id.clone(),
        answered: false,
    };
    let event = loop {
        let notified = shared.ext_events.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(event) = shared.ext_take_event(&id) {
            break event;
        }
        notified.await;
    };
    waiting.answered = true;
    let mut headers = Vec::new();
    if event.request_id.is_some() {
        headers.push((
            HeaderName::from_static("lambda-extension-event-identifier"),
            header_value(&request_id()),
        ));
        headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    }
    rec.call().request_id = event.request_id;
    respond(200, headers, Body::full(event.body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(
            endpoint("/2020-01-01/extension/register", ""),
            Some(Endpoint::ExtensionRegister)
        );
        assert_eq!(
            endpoint("/.rt/fn/2020-01-01/extension/event/next", "/.rt/fn"),
            Some(Endpoint::ExtensionNext)
        );
        assert_eq!(
            endpoint("/2022-07-01/telemetry", "/.rt/fn"),
            Some(Endpoint::TelemetrySubscribe)
        );
        assert_eq!(endpoint("/2020-01-01/nope", ""), Some(Endpoint::Other));
        assert_eq!(endpoint("/2018-06-01/runtime/invocation/next", ""), None);
    }
}
