//! The machine's phases, inputs and transition table, and what a status means.

#[cfg(doc)]
use super::machine::{Action, Machine, Misuse, StepOutcome};

/// The machine's phase: the data-free projection of its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Posting `extension/register`.
    Register,
    /// The user's init step is running.
    Init,
    /// Subscribing to the Telemetry API.
    Subscribe,
    /// Waiting for `event/next` (or about to ask for it).
    Next,
    /// The per-invoke step for an INVOKE is running.
    Invoke,
    /// The shutdown step for a SHUTDOWN is running.
    Shutdown,
    /// Posting a failure to `init/error` or `exit/error`, then exiting.
    Report,
    /// Terminal: the extension is finished ([`Action::Exit`] or [`Action::GiveUp`]).
    Exit,
}

impl Phase {
    /// Every phase, in declaration order.
    pub const ALL: [Phase; 8] = [
        Self::Register,
        Self::Init,
        Self::Subscribe,
        Self::Next,
        Self::Invoke,
        Self::Shutdown,
        Self::Report,
        Self::Exit,
    ];
}

/// The kinds of input; the labels of [`TRANSITIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// [`Machine::handle_response`].
    Response,
    /// [`Machine::handle_transport_error`].
    TransportFailed,
    /// [`Machine::handle_step`] with [`StepOutcome::Done`].
    StepDone,
    /// [`Machine::handle_step`] with [`StepOutcome::Failed`].
    StepFailed,
    /// [`Machine::handle_timeout`] found the timer due.
    TimerFired,
}

impl InputKind {
    /// Every kind, in declaration order.
    pub const ALL: [InputKind; 5] = [
        Self::Response,
        Self::TransportFailed,
        Self::StepDone,
        Self::StepFailed,
        Self::TimerFired,
    ];
}

/// One edge: in phase `from`, input `input` may lead to phase `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// Phase before the input.
    pub from: Phase,
    /// The input.
    pub input: InputKind,
    /// Phase after the input.
    pub to: Phase,
    /// The condition that selects this edge.
    pub when: &'static str,
}

const fn t(from: Phase, input: InputKind, to: Phase, when: &'static str) -> Transition {
    Transition {
        from,
        input,
        to,
        when,
    }
}

use InputKind as I;
use Phase as P;

/// Every legal edge. A (phase, input) pair in no row is illegal: the `handle_*` call returns
/// [`Misuse::Illegal`] and changes nothing ([`Machine::handle_timeout`] is the exception: a
/// spurious call is a no-op).
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &[
    t(P::Register, I::Response, P::Init, "registered (2xx with a valid identifier): run the init step"),
    t(P::Register, I::Response, P::Exit, "refused, server error or no valid identifier: external exits, internal gives up"),
    t(P::Register, I::TransportFailed, P::Register, "connection failed: register again after a backoff"),
    t(P::Register, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row: external exits, internal gives up"),
    t(P::Register, I::TimerFired, P::Register, "backoff over: register again"),
    t(P::Init, I::StepDone, P::Subscribe, "init step done, telemetry wanted: subscribe"),
    t(P::Init, I::StepDone, P::Next, "init step done: the first event/next marks the extension ready"),
    t(P::Init, I::StepFailed, P::Report, "init step failed: post init/error"),
    t(P::Subscribe, I::Response, P::Next, "subscribed (2xx): the first event/next"),
    t(P::Subscribe, I::Response, P::Report, "subscription refused (4xx): post init/error"),
    t(P::Subscribe, I::Response, P::Exit, "server error"),
    t(P::Subscribe, I::TransportFailed, P::Subscribe, "connection failed: subscribe again after a backoff"),
    t(P::Subscribe, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Subscribe, I::TimerFired, P::Subscribe, "backoff over: subscribe again"),
    t(P::Next, I::Response, P::Invoke, "INVOKE delivered: run the per-invoke step"),
    t(P::Next, I::Response, P::Shutdown, "SHUTDOWN delivered: run the shutdown step"),
    t(P::Next, I::Response, P::Next, "an unknown event: fetch again; a malformed one: back off, fetch again"),
    t(P::Next, I::Response, P::Exit, "server error, refused (4xx), or MAX_ATTEMPTS malformed events in a row"),
    t(P::Next, I::TransportFailed, P::Next, "connection failed: fetch again after a backoff"),
    t(P::Next, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Next, I::TimerFired, P::Next, "backoff over: fetch again"),
    t(P::Invoke, I::StepDone, P::Next, "per-invoke step done: fetch the next event"),
    t(P::Invoke, I::StepFailed, P::Report, "per-invoke step failed: post exit/error"),
    t(P::Invoke, I::TimerFired, P::Next, "the invocation's deadline passed: the step is dropped, fetch the next event"),
    t(P::Shutdown, I::StepDone, P::Exit, "shutdown step done: exit"),
    t(P::Shutdown, I::StepFailed, P::Report, "shutdown step failed: post exit/error"),
    t(P::Shutdown, I::TimerFired, P::Exit, "the shutdown deadline (minus the margin) passed: exit, the step is dropped"),
    t(P::Report, I::Response, P::Exit, "any answer: exit with the failure"),
    t(P::Report, I::TransportFailed, P::Report, "connection failed: post again after a backoff"),
    t(P::Report, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Report, I::TimerFired, P::Report, "backoff over: post again"),
    t(P::Report, I::TimerFired, P::Exit, "the shutdown deadline (minus the margin) passed: exit"),
];

/// Whether [`TRANSITIONS`] has a row for (`from`, `input`).
pub fn is_legal(from: Phase, input: InputKind) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.input == input)
}

/// What a status means, for every request an extension sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// 2xx: accepted (for `event/next`: an event was delivered). The RIE's Telemetry stub
    /// answers 202, cargo-lambda 200.
    Accepted,
    /// 1xx, 3xx or 4xx: refused (403 for a call out of order, a bad name or identifier; 404
    /// when extensions are disabled).
    Refused,
    /// 500 and above: "Container error. Non-recoverable state. Extension should exit promptly."
    ServerError,
}

/// What `status` means as the answer to any extension request.
pub const fn answer(status: u16) -> Answer {
    match status {
        200..=299 => Answer::Accepted,
        500.. => Answer::ServerError,
        _ => Answer::Refused,
    }
}
