//! The Extensions API and the Telemetry API, sans-IO like the [`lifecycle`](crate::lifecycle).
//!
//! An extension registers (`POST /2020-01-01/extension/register`), may subscribe to the
//! Telemetry API during init (`PUT /2022-07-01/telemetry`), then loops on
//! `GET /2020-01-01/extension/event/next`; it reports failures on `init/error` (before its first
//! `event/next`) or `exit/error` (after it).
//!
//! - [`Request`] writes those requests into a caller's buffer, allocation-free; responses are
//!   read with the Runtime API's own [`parse_head`](crate::wire::parse_head) and
//!   [`BodyDecoder`](crate::wire::BodyDecoder), at the same [`Endpoint`](crate::wire::Endpoint)
//!   (`AWS_LAMBDA_RUNTIME_API`).
//! - Names, identifiers and error types are bounded and validated ([`ExtensionName`],
//!   [`ExtensionId`], [`ExtensionErrorType`]); the `Lambda-Extension-*` header names are in
//!   [`header`].
//! - With `alloc`: [`parse_register`], [`parse_event`] ([`Event`]: INVOKE, SHUTDOWN, or an
//!   unknown event kept as it came) and [`check_status`] read the responses, failing with an
//!   [`ApiError`] that carries the status and the body's `errorType`/`errorMessage`, or names
//!   what is wrong with a body; [`ErrorReport`] is the body of `init/error` and `exit/error`.
//! - With `alloc`, [`telemetry`]: the subscription (validated) and the batches Lambda POSTs,
//!   read record by record so one bad record does not lose the batch.

#[cfg(feature = "alloc")]
mod error;
#[cfg(feature = "alloc")]
mod event;
pub mod header;
mod machine;
mod name;
mod request;
mod table;
#[cfg(feature = "alloc")]
pub mod telemetry;
#[cfg(test)]
mod tests;
mod transition;

#[cfg(feature = "alloc")]
pub use error::{ApiError, ErrorReport, check_status};
#[cfg(feature = "alloc")]
pub use event::{
    Event, InvokeEvent, RegisterResponse, Registration, ShutdownEvent, ShutdownReason, Tracing,
    parse_event, parse_register,
};

pub use machine::{
    Action, ConfigError, DEFAULT_SHUTDOWN_MARGIN_MS, Delivered, ErrorCause, ExitReason, Machine,
    Misuse, Options, StepOutcome,
};
pub use name::{
    EventType, Events, ExtensionErrorType, ExtensionId, ExtensionName, Kind, MAX_ERROR_TYPE_LEN,
    MAX_IDENTIFIER_LEN, MAX_NAME_LEN, NameError, ProtocolError,
};
pub use request::{Request, RequestKind};
pub use table::{Answer, InputKind, Phase, TRANSITIONS, Transition, answer, is_legal};

/// The Extensions API version path segment (after the endpoint's prefix).
pub const EXTENSION_API_VERSION: &str = "/2020-01-01";

/// The Telemetry API version path segment (after the endpoint's prefix).
pub const TELEMETRY_API_VERSION: &str = "/2022-07-01";
