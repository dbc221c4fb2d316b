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
//! - [`Machine`]: one extension's life as a pure state machine, with its table
//!   ([`TRANSITIONS`]) and its inputs and actions.
//! - With `alloc`, [`telemetry`]: the subscription (validated) and the batches Lambda POSTs,
//!   read record by record so one bad record does not lose the batch.
//!
//! One extension's life, driven by hand (a driver does the same with a socket):
//!
//! ```
//! use lambda_runtime_types::extension::{
//!     Action, Delivered, ExitReason, ExtensionName, Machine, Options, Request, StepOutcome,
//! };
//! use lambda_runtime_types::time::EpochMillis;
//! use lambda_runtime_types::wire::{Endpoint, ResponseHead};
//!
//! let endpoint = Endpoint::parse("127.0.0.1:9001")?;
//! let mut m = Machine::new(ExtensionName::new("my-extension")?, Options::external())?;
//! let now = EpochMillis(1_700_000_000_000);
//! let mut buf = [0u8; 512];
//!
//! // Register: the request is written complete, body included.
//! let Action::Register { name, events, accept_account_id } = m.poll() else { unreachable!() };
//! let n = Request::Register { name, events, accept_account_id }.encode(&endpoint, &mut buf)?;
//! assert!(buf[..n].starts_with(b"POST /2020-01-01/extension/register HTTP/1.1\r\n"));
//! // … send it and read the answer with `wire::parse_head` and `wire::BodyDecoder` …
//! let head = ResponseHead::new(200).with_header("Lambda-Extension-Identifier", b"8c7f-1");
//! m.handle_response(now, &head, None)?;
//!
//! // The init step, then the first `event/next`, which marks the extension ready.
//! assert!(matches!(m.poll(), Action::RunInit { .. }));
//! m.handle_step(now, StepOutcome::Done)?;
//! let Action::FetchNext { id } = m.poll() else { unreachable!() };
//! let n = Request::Next { id }.encode(&endpoint, &mut buf)?;
//! assert!(buf[..n].ends_with(b"Lambda-Extension-Identifier: 8c7f-1\r\n\r\n"));
//!
//! // A SHUTDOWN arrives (with `alloc`: `Delivered::from_parsed(&parse_event(&head, &body))`).
//! let deadline = now.saturating_add(2_000);
//! m.handle_response(now, &ResponseHead::new(200), Some(Delivered::Shutdown { deadline }))?;
//! assert!(matches!(m.poll(), Action::RunShutdown { until: Some(_), .. }));
//! m.handle_step(now, StepOutcome::Done)?;
//! assert_eq!(m.poll(), Action::Exit(ExitReason::Shutdown));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
