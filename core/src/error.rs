//! Error types of the core, one flat enum per failure domain.
//!
//! All are small, `Copy + Eq` and carry no strings, so they cost nothing on `no_std`.

use core::fmt;

use crate::lifecycle::{InputKind, Phase};

/// The Runtime API sent something malformed or unexpected.
///
/// The machine logs these and carries on (the invocation is reported where it can be); they are
/// returned so that a driver or test can see what happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteError {
    /// A `/next` response without `Lambda-Runtime-Aws-Request-Id`.
    MissingRequestId,
    /// A request id that is empty, too long or has bytes that must not go into a URL path.
    InvalidRequestId,
    /// A `Lambda-Runtime-Invocation-Id` that must not be echoed in a header.
    InvalidInvocationId,
    /// A `Lambda-Runtime-Trace-Id` that is not visible ASCII or is too long.
    InvalidTraceId,
    /// A status code the endpoint is not expected to return, or an error status.
    UnexpectedStatus(u16),
    /// The event on `/next` is larger than [`crate::lifecycle::MAX_PAYLOAD_BYTES`].
    EventTooLarge,
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingRequestId => f.write_str("missing request id header"),
            Self::InvalidRequestId => f.write_str("invalid request id header"),
            Self::InvalidInvocationId => f.write_str("invalid invocation id header"),
            Self::InvalidTraceId => f.write_str("invalid trace id header"),
            Self::UnexpectedStatus(s) => write!(f, "unexpected status {s}"),
            Self::EventTooLarge => f.write_str("event payload too large"),
        }
    }
}

impl core::error::Error for RemoteError {}

/// An input that is illegal in the current state: a bug in the code driving the machine.
///
/// The machine's state is unchanged when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// `input` is not in [`crate::lifecycle::TRANSITIONS`] for `phase`.
    Illegal {
        /// The lane's phase when the input arrived.
        phase: Phase,
        /// The input that arrived.
        input: InputKind,
    },
    /// The lane index is not below the machine's lane count.
    NoSuchLane(usize),
    /// A handler result named a request id other than the one running on that lane.
    WrongRequestId,
    /// A response or transport failure reported for a lane with no request in flight.
    NoRequestInFlight,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Illegal { phase, input } => write!(f, "{input:?} is illegal in phase {phase:?}"),
            Self::NoSuchLane(n) => write!(f, "no lane {n}"),
            Self::WrongRequestId => f.write_str("handler result for another request id"),
            Self::NoRequestInFlight => f.write_str("no request in flight on that lane"),
        }
    }
}

impl core::error::Error for Misuse {}

/// A caller-provided buffer is too small; `required` bytes would fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// The size that would have been enough.
    pub required: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small, {} bytes required", self.required)
    }
}

impl core::error::Error for BufferTooSmall {}
