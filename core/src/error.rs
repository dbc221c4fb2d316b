//! Error types of the core, one flat enum per failure domain.
//!
//! All are small, `Copy + Eq` and carry no strings, so they cost nothing on `no_std`. Each lives
//! where it arises and is re-exported here: [`RemoteError`] in [`id`](crate::id) (what reading
//! the Runtime API's headers returns), [`BufferTooSmall`] in [`wire`](crate::wire) (what
//! [`Request::encode`](crate::wire::Request::encode) returns). [`Misuse`] is defined here.

use core::fmt;

pub use crate::id::RemoteError;
use crate::lifecycle::{InputKind, Phase};
pub use crate::wire::BufferTooSmall;

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
