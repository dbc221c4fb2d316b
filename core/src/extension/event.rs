//! Reading Extensions API responses (with `alloc`): the register response and the events from
//! `event/next`.
//!
//! Every parser takes the response head and the whole body, checks the status first
//! ([`check_status`]) and never panics: a body of the wrong shape is [`ApiError::Body`], naming
//! what is wrong and where.

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::{ApiError, check_status};
use super::name::ExtensionId;
use super::request::RequestKind;
use crate::time::EpochMillis;
use crate::wire::ResponseHead;

/// The register response's body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// The function's name.
    pub function_name: String,
    /// The function's version (`$LATEST`, `1`, …).
    pub function_version: String,
    /// The function's handler setting.
    pub handler: String,
    /// The account id: only when asked for with `Lambda-Extension-Accept-Feature: accountId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// A successful registration: the identifier for every later request, and the function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// `Lambda-Extension-Identifier`.
    pub id: ExtensionId,
    /// The body.
    pub function: RegisterResponse,
}

/// Reads the answer to `POST /extension/register`.
pub fn parse_register(head: &ResponseHead<'_>, body: &[u8]) -> Result<Registration, ApiError> {
    const KIND: RequestKind = RequestKind::Register;
    check_status(KIND, head, body)?;
    let id = ExtensionId::from_head(head).map_err(|error| ApiError::Protocol {
        request: KIND,
        error,
    })?;
    let function =
        serde_json::from_slice(body).map_err(|e| ApiError::body(KIND, "register body", e))?;
    Ok(Registration { id, function })
}

/// `tracing` of an INVOKE event (absent when the invocation has no trace id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracing {
    /// `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header (`Root=…;Parent=…;Sampled=…`).
    pub value: String,
}

/// An INVOKE event: the function is being invoked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeEvent {
    /// The invocation's deadline, in Unix-epoch milliseconds (cargo-lambda sends 0).
    pub deadline_ms: EpochMillis,
    /// The invocation's request id.
    pub request_id: String,
    /// The ARN that was invoked (cargo-lambda sends the function's name).
    pub invoked_function_arn: String,
    /// The X-Ray trace header, if the invocation has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
}

/// Why the environment shuts down; read case-insensitively (the RIE sends `spindown`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShutdownReason {
    /// `SPINDOWN`: the environment is no longer needed.
    Spindown,
    /// `TIMEOUT`: an invocation timed out.
    Timeout,
    /// `FAILURE`: an error (the runtime or an extension failed).
    Failure,
    /// Any other reason, as sent (the RIE sends `ReleaseFail`, `SandboxTerminated`; cargo-lambda
    /// free text).
    Other(String),
}

impl ShutdownReason {
    /// Reads a reason, ignoring ASCII case.
    pub fn parse(reason: &str) -> Self {
        if reason.eq_ignore_ascii_case("spindown") {
            Self::Spindown
        } else if reason.eq_ignore_ascii_case("timeout") {
            Self::Timeout
        } else if reason.eq_ignore_ascii_case("failure") {
            Self::Failure
        } else {
            Self::Other(reason.to_owned())
        }
    }

    /// The reason as documented (`SPINDOWN`, `TIMEOUT`, `FAILURE`), or as sent.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Spindown => "SPINDOWN",
            Self::Timeout => "TIMEOUT",
            Self::Failure => "FAILURE",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for ShutdownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ShutdownReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShutdownReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <alloc::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}

/// A SHUTDOWN event: the environment shuts down; finish by `deadline_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownEvent {
    /// Why.
    pub shutdown_reason: ShutdownReason,
    /// When the extension is killed, in Unix-epoch milliseconds (cargo-lambda sends 0).
    pub deadline_ms: EpochMillis,
}

/// An event from `event/next`.
///
/// Serialises with its `eventType` (`INVOKE`, `SHUTDOWN`, or an unknown event's own body).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// `INVOKE`.
    Invoke(InvokeEvent),
    /// `SHUTDOWN`.
    Shutdown(ShutdownEvent),
    /// An `eventType` this crate does not know, kept as it came.
    Unknown {
        /// The `eventType`.
        event_type: String,
        /// The whole body.
        body: Value,
    },
}

/// The wire form of the known events, for serialising.
#[derive(Serialize)]
#[serde(tag = "eventType")]
enum Tagged<'a> {
    #[serde(rename = "INVOKE")]
    Invoke(&'a InvokeEvent),
    #[serde(rename = "SHUTDOWN")]
    Shutdown(&'a ShutdownEvent),
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Invoke(e) => Tagged::Invoke(e).serialize(s),
            Self::Shutdown(e) => Tagged::Shutdown(e).serialize(s),
            Self::Unknown { body, .. } => body.serialize(s),
        }
    }
}

impl Event {
    /// Reads an event from a JSON value: an object with a string `eventType` (matched ignoring
    /// ASCII case). The error names what is wrong (`INVOKE event: missing field requestId`).
    pub fn from_value(body: Value) -> Result<Self, String> {
        let Some(event_type) = body.get("eventType").and_then(Value::as_str) else {
            let what = if body.is_object() {
                "no string eventType"
            } else {
                "not a JSON object"
            };
            return Err(what.to_string());
        };
        let typed = |what: &str, r: Result<Self, serde_json::Error>| {
            r.map_err(|e| format!("{what} event: {e}"))
        };
        if event_type.eq_ignore_ascii_case("INVOKE") {
            typed("INVOKE", serde_json::from_value(body).map(Self::Invoke))
        } else if event_type.eq_ignore_ascii_case("SHUTDOWN") {
            typed("SHUTDOWN", serde_json::from_value(body).map(Self::Shutdown))
        } else {
            Ok(Self::Unknown {
                event_type: event_type.to_owned(),
                body,
            })
        }
    }

    /// The event's `eventType` (`INVOKE`, `SHUTDOWN`, or an unknown one as sent).
    pub fn event_type(&self) -> &str {
        match self {
            Self::Invoke(_) => "INVOKE",
            Self::Shutdown(_) => "SHUTDOWN",
            Self::Unknown { event_type, .. } => event_type,
        }
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Reads the answer to `GET /extension/event/next`.
pub fn parse_event(head: &ResponseHead<'_>, body: &[u8]) -> Result<Event, ApiError> {
    const KIND: RequestKind = RequestKind::Next;
    check_status(KIND, head, body)?;
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::body(KIND, "the event is not JSON", e))?;
    Event::from_value(value).map_err(|message| ApiError::Body {
        request: KIND,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extension::ProtocolError;
    use serde_json::json;

    const ID: &[u8] = b"c6af9ac6-7b61-11e6-9a41-93e812345678";

    fn ok() -> ResponseHead<'static> {
        ResponseHead::new(200)
    }

    #[test]
    fn register_response() {
        let head = ok().with_header("Lambda-Extension-Identifier", ID);
        let body = br#"{"functionName":"f","functionVersion":"$LATEST","handler":"h.main"}"#;
        let r = parse_register(&head, body).unwrap();
        assert_eq!(r.id.as_str().as_bytes(), ID);
        assert_eq!(r.function.function_name, "f");
        assert_eq!(r.function.account_id, None);
        let body = br#"{"functionName":"f","functionVersion":"1","handler":"h","accountId":"123"}"#;
        let r = parse_register(&head, body).unwrap();
        assert_eq!(r.function.account_id.as_deref(), Some("123"));
        let back: RegisterResponse =
            serde_json::from_slice(&serde_json::to_vec(&r.function).unwrap()).unwrap();
        assert_eq!(back, r.function);
    }

    #[test]
    fn register_failures_name_the_problem() {
        let body = br#"{"functionName":"f","functionVersion":"1","handler":"h"}"#;
        assert_eq!(
            parse_register(&ok(), body),
            Err(ApiError::Protocol {
                request: RequestKind::Register,
                error: ProtocolError::MissingIdentifier
            })
        );
        let bad = ok().with_header("Lambda-Extension-Identifier", b"a\x01b");
        assert!(matches!(
            parse_register(&bad, body),
            Err(ApiError::Protocol {
                error: ProtocolError::InvalidIdentifier,
                ..
            })
        ));
        let head = ok().with_header("Lambda-Extension-Identifier", ID);
        let e = parse_register(&head, br#"{"functionName":"f"}"#).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("malformed extension/register response"),
            "{text}"
        );
        assert!(text.contains("missing field `functionVersion`"), "{text}");
        let refused = ResponseHead::new(403);
        let body = br#"{"errorType":"Extension.InvalidEventType","errorMessage":"no SHUTDOWN"}"#;
        let e = parse_register(&refused, body).unwrap_err();
        assert_eq!(e.status(), Some(403));
        assert_eq!(
            e.to_string(),
            "extension/register answered 403: Extension.InvalidEventType: no SHUTDOWN"
        );
    }

    #[test]
    fn invoke_events() {
        let body = json!({
            "eventType": "INVOKE", "deadlineMs": 1_700_000_003_000u64, "requestId": "r-1",
            "invokedFunctionArn": "arn:aws:lambda:us-east-1:123:function:f",
            "tracing": {"type": "X-Amzn-Trace-Id", "value": "Root=1-a;Parent=b;Sampled=1"}
        });
        let bytes = serde_json::to_vec(&body).unwrap();
        let Event::Invoke(e) = parse_event(&ok(), &bytes).unwrap() else {
            panic!("not an invoke");
        };
        assert_eq!(e.deadline_ms, EpochMillis(1_700_000_003_000));
        assert_eq!(e.tracing.as_ref().unwrap().kind, "X-Amzn-Trace-Id");
        // Round trip, with the tag.
        let event = Event::Invoke(e);
        let back = serde_json::to_value(&event).unwrap();
        assert_eq!(back, body);
        assert_eq!(serde_json::from_value::<Event>(back).unwrap(), event);
        // The RIE leaves `tracing` out without a trace id; cargo-lambda sends deadline 0.
        let bare =
            br#"{"eventType":"invoke","deadlineMs":0,"requestId":"r","invokedFunctionArn":"f"}"#;
        let Event::Invoke(e) = parse_event(&ok(), bare).unwrap() else {
            panic!("not an invoke");
        };
        assert_eq!((e.deadline_ms, e.tracing), (EpochMillis(0), None));
    }

    #[test]
    fn shutdown_events_and_reasons() {
        for (sent, want) in [
            ("SPINDOWN", ShutdownReason::Spindown),
            ("spindown", ShutdownReason::Spindown),
            ("Timeout", ShutdownReason::Timeout),
            ("failure", ShutdownReason::Failure),
            ("ReleaseFail", ShutdownReason::Other("ReleaseFail".into())),
            ("", ShutdownReason::Other(String::new())),
        ] {
            let body = json!({"eventType": "SHUTDOWN", "shutdownReason": sent, "deadlineMs": 9});
            let event = parse_event(&ok(), &serde_json::to_vec(&body).unwrap()).unwrap();
            let Event::Shutdown(e) = &event else {
                panic!("not a shutdown");
            };
            assert_eq!(e.shutdown_reason, want);
            assert_eq!(e.deadline_ms, EpochMillis(9));
            let again: Event =
                serde_json::from_slice(&serde_json::to_vec(&event).unwrap()).unwrap();
            assert_eq!(again, event);
        }
        assert_eq!(ShutdownReason::Timeout.to_string(), "TIMEOUT");
    }

    #[test]
    fn unknown_events_are_kept() {
        let body = json!({"eventType": "RESTORE", "x": [1, 2]});
        let event = parse_event(&ok(), &serde_json::to_vec(&body).unwrap()).unwrap();
        assert_eq!(event.event_type(), "RESTORE");
        assert_eq!(
            event,
            Event::Unknown {
                event_type: "RESTORE".into(),
                body: body.clone()
            }
        );
        assert_eq!(serde_json::to_value(&event).unwrap(), body);
    }

    #[test]
    fn malformed_events_name_the_problem() {
        for (body, want) in [
            (
                &b"{"[..],
                "the event is not JSON: EOF while parsing an object at line 1 column 1",
            ),
            (b"[1]", "not a JSON object"),
            (b"{\"eventType\":1}", "no string eventType"),
            (
                br#"{"eventType":"INVOKE","deadlineMs":1,"invokedFunctionArn":"f"}"#,
                "INVOKE event: missing field `requestId`",
            ),
            (
                br#"{"eventType":"SHUTDOWN","shutdownReason":"x","deadlineMs":-1}"#,
                "SHUTDOWN event: invalid value: integer `-1`, expected u64",
            ),
        ] {
            let e = parse_event(&ok(), body).unwrap_err();
            assert_eq!(
                e,
                ApiError::Body {
                    request: RequestKind::Next,
                    message: want.into()
                },
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let e = parse_event(&ResponseHead::new(403), b"{}").unwrap_err();
        assert_eq!(e.status(), Some(403));
    }
}
