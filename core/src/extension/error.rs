//! Errors of the Extensions and Telemetry APIs (with `alloc`): the answers that refuse a request
//! ([`check_status`], [`ApiError`]), and the error body an extension posts ([`ErrorReport`]).

use alloc::borrow::ToOwned;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::name::{ExtensionErrorType, ProtocolError};
use super::request::RequestKind;
use crate::wire::ResponseHead;

/// An Extensions or Telemetry API response that is an error, or cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiError {
    /// The API answered with a status other than 2xx.
    Status {
        /// The request that was answered.
        request: RequestKind,
        /// The status code.
        status: u16,
        /// The body's `errorType`, if it had one (`Extension.InvalidEventType`, …).
        error_type: Option<String>,
        /// The body's `errorMessage`, if it had one.
        error_message: Option<String>,
    },
    /// A header the response must have is missing or malformed.
    Protocol {
        /// The request that was answered.
        request: RequestKind,
        /// What is wrong.
        error: ProtocolError,
    },
    /// The body does not have the documented shape.
    Body {
        /// The request that was answered.
        request: RequestKind,
        /// What is wrong and where (serde's message, with line and column when it has them).
        message: String,
    },
}

impl ApiError {
    /// The status of an [`ApiError::Status`]; `None` for the other errors.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub(super) fn body(request: RequestKind, what: &str, err: impl fmt::Display) -> Self {
        Self::Body {
            request,
            message: format!("{what}: {err}"),
        }
    }
}

/// How a request is named in messages.
fn request_name(kind: RequestKind) -> &'static str {
    match kind {
        RequestKind::Register => "extension/register",
        RequestKind::Subscribe => "telemetry subscription",
        RequestKind::Next => "extension/event/next",
        RequestKind::InitError => "extension/init/error",
        RequestKind::ExitError => "extension/exit/error",
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status {
                request,
                status,
                error_type,
                error_message,
            } => {
                write!(f, "{} answered {status}", request_name(*request))?;
                match (error_type, error_message) {
                    (Some(t), Some(m)) => write!(f, ": {t}: {m}"),
                    (Some(s), None) | (None, Some(s)) => write!(f, ": {s}"),
                    (None, None) => Ok(()),
                }
            }
            Self::Protocol { request, error } => {
                write!(f, "{} response: {error}", request_name(*request))
            }
            Self::Body { request, message } => {
                write!(
                    f,
                    "malformed {} response: {message}",
                    request_name(*request)
                )
            }
        }
    }
}

impl core::error::Error for ApiError {}

/// `Ok` for a 2xx answer to `request`; otherwise [`ApiError::Status`] with the `errorType` and
/// `errorMessage` of `body` if it is a JSON object that has them as strings (any other body is
/// fine too: an error is an error).
pub fn check_status(
    request: RequestKind,
    head: &ResponseHead<'_>,
    body: &[u8],
) -> Result<(), ApiError> {
    let status = head.status;
    if (200..300).contains(&status) {
        return Ok(());
    }
    let fields = serde_json::from_slice::<Value>(body).ok();
    let field = |name: &str| {
        fields
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(ToOwned::to_owned)
    };
    Err(ApiError::Status {
        request,
        status,
        error_type: field("errorType"),
        error_message: field("errorMessage"),
    })
}

/// The body of `init/error` and `exit/error`: `{"errorType", "errorMessage", "stackTrace"}`.
///
/// Build it with [`ErrorReport::new`] from the same [`ExtensionErrorType`] that goes into the
/// `Lambda-Extension-Function-Error-Type` header, so the two agree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorReport {
    /// The error type.
    pub error_type: String,
    /// A human-readable message.
    pub error_message: String,
    /// Further lines: the cause chain.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

impl ErrorReport {
    /// A report of type `error_type` with `message` and no stack trace.
    pub fn new(error_type: &ExtensionErrorType, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.as_str().to_owned(),
            error_message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// A report of `err`: its message, and its cause chain as the stack trace.
    pub fn from_error(error_type: &ExtensionErrorType, err: &anyhow::Error) -> Self {
        let mut report = Self::new(error_type, err.to_string());
        report.stack_trace = err
            .chain()
            .skip(1)
            .map(|e| format!("caused by: {e}"))
            .collect();
        report
    }

    /// The error type as it goes into the header ([`ExtensionErrorType::normalized`]).
    pub fn header_error_type(&self) -> ExtensionErrorType {
        ExtensionErrorType::normalized(&self.error_type)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings and a list of strings always serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_statuses_keep_what_the_body_says() {
        let cases: [(&[u8], Option<&str>, Option<&str>); 5] = [
            (
                br#"{"errorType":"T","errorMessage":"M"}"#,
                Some("T"),
                Some("M"),
            ),
            (br#"{"errorType":"T"}"#, Some("T"), None),
            (br#"{"errorType":5,"errorMessage":"M"}"#, None, Some("M")),
            (b"Internal Server Error", None, None),
            (b"", None, None),
        ];
        for (body, t, m) in cases {
            let e = check_status(RequestKind::Next, &ResponseHead::new(500), body).unwrap_err();
            assert_eq!(
                e,
                ApiError::Status {
                    request: RequestKind::Next,
                    status: 500,
                    error_type: t.map(Into::into),
                    error_message: m.map(Into::into),
                }
            );
        }
        assert_eq!(
            check_status(RequestKind::Subscribe, &ResponseHead::new(202), b"x"),
            Ok(())
        );
        let e = check_status(RequestKind::ExitError, &ResponseHead::new(404), b"");
        assert_eq!(
            e.unwrap_err().to_string(),
            "extension/exit/error answered 404"
        );
    }

    #[test]
    fn error_reports() {
        let t = ExtensionErrorType::new(ExtensionErrorType::INVOKE_FAILED).unwrap();
        let err = anyhow::anyhow!("disk full").context("flush failed");
        let r = ErrorReport::from_error(&t, &err);
        let v: Value = serde_json::from_slice(&r.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"errorType": "Extension.InvokeFailed", "errorMessage": "flush failed",
                   "stackTrace": ["caused by: disk full"]})
        );
        assert_eq!(r.header_error_type(), t);
        let plain = ErrorReport::new(&t, "m");
        let v: Value = serde_json::from_slice(&plain.to_json()).unwrap();
        assert_eq!(
            v,
            json!({"errorType": "Extension.InvokeFailed", "errorMessage": "m"})
        );
        assert_eq!(serde_json::from_value::<ErrorReport>(v).unwrap(), plain);
    }
}
