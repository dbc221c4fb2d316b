//! Why an event is not a usable HTTP event.

use core::fmt;

use super::Origin;

/// An event that is not an HTTP event of a known origin, or a malformed one.
///
/// Its message names the origin and the key at fault, never what the event holds (it may be a
/// secret), e.g. "HTTP event (API Gateway REST): `body` is not valid base64". Deserialising an
/// [`HttpRequest`](super::HttpRequest) reports it as a serde error, so the runtime posts it as
/// `Runtime.InvalidEvent` like any event that does not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidHttpEvent {
    origin: Option<Origin>,
    problem: Problem,
}

/// What is wrong with an event; see [`InvalidHttpEvent`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The event is not a JSON object.
    NotAnObject,
    /// The event has none of the keys that identify an HTTP origin.
    UnknownOrigin,
    /// The event is an API Gateway Lambda authorizer's (it has `methodArn` or `routeArn`).
    Authorizer,
    /// A key the origin requires is missing (or `null`).
    Missing(&'static str),
    /// A key has a value of the wrong type; `expected` says what it should be.
    WrongType {
        /// The key, e.g. `"headers"`.
        key: &'static str,
        /// What it should hold, e.g. `"an object of strings"`.
        expected: &'static str,
    },
    /// `body` is marked `isBase64Encoded` but is not valid base64.
    InvalidBase64,
}

impl InvalidHttpEvent {
    pub(crate) const fn new(origin: Option<Origin>, problem: Problem) -> Self {
        Self { origin, problem }
    }

    /// The origin the event was recognised as, if it was.
    pub const fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// What is wrong.
    pub const fn problem(&self) -> Problem {
        self.problem
    }
}

impl fmt::Display for InvalidHttpEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.origin {
            Some(origin) => write!(f, "HTTP event ({origin}): ")?,
            None => f.write_str("HTTP event: ")?,
        }
        match self.problem {
            Problem::NotAnObject => f.write_str("the event is not a JSON object"),
            Problem::UnknownOrigin => f.write_str(
                "not an HTTP event of a known origin (API Gateway REST, HTTP or WebSocket API, \
                 Lambda function URL, ALB, VPC Lattice): no `requestContext.http`, \
                 `requestContext.httpMethod`, `requestContext.elb`, \
                 `requestContext.serviceNetworkArn`, `requestContext.eventType` or `raw_path`",
            ),
            Problem::Authorizer => f.write_str(
                "an API Gateway authorizer event (it has `methodArn` or `routeArn`), not an HTTP \
                 request",
            ),
            Problem::Missing(key) => write!(f, "`{key}` is missing"),
            Problem::WrongType { key, expected } => write!(f, "`{key}` is not {expected}"),
            Problem::InvalidBase64 => f.write_str("`body` is not valid base64"),
        }
    }
}

impl core::error::Error for InvalidHttpEvent {}
