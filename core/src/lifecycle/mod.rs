//! The invocation lifecycle as a pure state machine.
//!
//! [`Lifecycle`] knows nothing about sockets, clocks or executors. The code driving it (the
//! [`driver`](crate::driver) in this crate, or your own) feeds it facts through the `handle_*`
//! methods, each with the current time, and asks it what to do next with [`Lifecycle::poll`]:
//!
//! 1. Call `poll()` and carry out each [`Action`] until it returns [`Action::Wait`].
//!    An action that settles at once is fed back at once: [`Action::Claim`]'s outcome
//!    (→ [`Lifecycle::handle_claim`]), an event the driver rejects (→
//!    [`Lifecycle::handle_handler_done`]).
//! 2. Wait until the first of: a Runtime API response (→ [`Lifecycle::handle_response`]; a head
//!    whose body did not arrive → [`Lifecycle::handle_truncated_response`]), a transport failure
//!    (→ [`Lifecycle::handle_transport_error`]; the first bytes of an answer that is not yet
//!    whole → [`Lifecycle::handle_answer_started`], optional), a handler finishing
//!    (→ [`Lifecycle::handle_handler_done`]), setup finishing (→ [`Lifecycle::handle_setup`]), or
//!    the `until` of the last `Wait` (→ [`Lifecycle::handle_timeout`]).
//! 3. Go back to 1, until `poll()` returns [`Action::Exit`].
//!
//! A machine has up to `LANES` lanes (one per concurrent invocation, from
//! `AWS_LAMBDA_MAX_CONCURRENCY`); they share one setup. Each lane is in one [`Phase`] at a time
//! and moves along the rows of [`TRANSITIONS`]; what a Runtime API status means for each kind of
//! request is the one table [`STATUS_POLICY`]. Both tables, rendered from the constants (a test
//! fails when this copy is stale):
//!
#![doc = include_str!("transitions.md")]

mod invocation;
mod stream;
mod transition;

pub use invocation::Invocation;

use crate::id::RequestId;
use crate::time::{Deadline, EpochMillis};
use crate::wire::ResponseHead;

/// The largest event or buffered response, in bytes (6 MiB + 100 B, as Lambda and the RIE check).
pub const MAX_PAYLOAD_BYTES: usize = 6_291_556;

/// Default margin before the deadline at which a still-running handler is reported as timed out.
pub const DEFAULT_TIMEOUT_MARGIN_MS: u64 = 100;

/// The largest streamed response, in bytes: Lambda streams up to 200 MB (taken as 200 MiB).
pub const MAX_STREAM_BYTES: u64 = 200 << 20;

/// A deadline further ahead than this is treated as absurd and no timeout is armed
/// (Lambda's longest timeout is 15 minutes).
pub const MAX_DEADLINE_AHEAD_MS: u64 = 60 * 60 * 1000;

/// How long the rest of an answer may take once its first bytes arrived, in milliseconds: a
/// Runtime API answer (head and body) still incomplete this long after its first byte stalled, and
/// is abandoned ([`Action::AbandonRequest`]).
///
/// The wait for the first byte is not bounded: `/next` legitimately waits for an event for as
/// long as the environment lives (frozen meanwhile), and Lambda Managed Instances answer a
/// `/response` only once its body was forwarded. Once an answer starts, though, nothing on the
/// other side waits: the Runtime API is a local HTTP server (a link-local address on Lambda,
/// loopback under an emulator) writing an answer it holds whole, at most [`MAX_PAYLOAD_BYTES`]
/// of body after at most [`MAX_HEAD_BYTES`](crate::wire::MAX_HEAD_BYTES) of head, which takes
/// milliseconds even on a throttled CPU. 5 s leaves three orders of magnitude of room and ends a
/// stalled head or a body dribbling one byte per second in 5 s:
///
/// - a `/next` whose head stalled is a transport failure: logged, asked again after
///   [`backoff_ms`]; [`MAX_ATTEMPTS`] stalls in a row exit with [`ExitReason::Unreachable`], at
///   most 8 × 5 s plus 3.15 s of backoff (43.15 s) after the first;
/// - a `/next` whose head arrived (with a valid request id) but whose body stalled is reported
///   as [`ErrorCause::EventTruncated`], so that the invocation is not lost, and the next event is
///   asked for;
/// - a post whose answer stalled is posted again, as after a transport failure.
///
/// (A head that grows instead of stalling ends sooner: at
/// [`MAX_HEAD_BYTES`](crate::wire::MAX_HEAD_BYTES) it is malformed, a transport failure.)
pub const ANSWER_TIMEOUT_MS: u64 = 5_000;

/// How many times in a row one request may fail at the transport level before the machine
/// gives up and exits ([`ExitReason::Unreachable`]).
pub const MAX_ATTEMPTS: u32 = 8;

/// The delay before retry number `attempt` (1-based) of a request whose connection failed:
/// the first retry is immediate (a keep-alive connection closed by the server is normal), then
/// 50 ms doubling up to 2 s. With [`MAX_ATTEMPTS`] the machine gives up after 3.15 s of retries.
pub const fn backoff_ms(attempt: u32) -> u64 {
    match attempt {
        0 | 1 => 0,
        n => {
            let ms = 50u64 << (n - 2);
            if ms > 2_000 { 2_000 } else { ms }
        }
    }
}

/// Tunables of a [`Lifecycle`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// Concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY`); clamped to `1..=LANES`.
    pub lanes: usize,
    /// How long before the deadline a running handler is reported as timed out.
    pub timeout_margin_ms: u64,
    /// Whether something outside the executor (the `std` watchdog) may report a running
    /// invocation. Then every finished or timed-out invocation goes through [`Phase::Claim`]
    /// ([`Action::Claim`]) before the lane posts anything, so that exactly one report reaches
    /// the Runtime API.
    pub watched: bool,
    /// Whether the runtime registers an internal extension with the Extensions API before its
    /// first `/next` ([`Phase::Register`]): Lambda sends SIGTERM at shutdown only to a runtime
    /// with at least one extension registered, and registration closes at the first `/next`.
    pub extension: bool,
}

impl Options {
    /// One lane, the default margin, no watchdog, no extension.
    pub const fn new() -> Self {
        Self {
            lanes: 1,
            timeout_margin_ms: DEFAULT_TIMEOUT_MARGIN_MS,
            watched: false,
            extension: false,
        }
    }

    /// Sets whether an internal extension is registered first (see [`Options::extension`]).
    #[must_use]
    pub const fn extension(mut self, extension: bool) -> Self {
        self.extension = extension;
        self
    }

    /// Sets the number of lanes.
    #[must_use]
    pub const fn lanes(mut self, lanes: usize) -> Self {
        self.lanes = lanes;
        self
    }

    /// Sets the timeout margin.
    #[must_use]
    pub const fn timeout_margin_ms(mut self, ms: u64) -> Self {
        self.timeout_margin_ms = ms;
        self
    }

    /// Sets whether a watchdog may report invocations (see [`Options::watched`]).
    #[must_use]
    pub const fn watched(mut self, watched: bool) -> Self {
        self.watched = watched;
        self
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// A lane's phase: the data-free projection of its state, one phase per state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Setup has not finished yet (or, on lanes other than 0, the extension is registering).
    Init,
    /// Lane 0, after setup: registering the runtime's internal extension
    /// ([`Action::RegisterExtension`]) before any lane asks for an event.
    Register,
    /// Waiting for `/runtime/invocation/next` (or about to ask for it).
    Poll,
    /// The handler is running.
    Run,
    /// The handler finished or timed out while a watchdog may have reported it: claiming the
    /// invocation before posting anything ([`Action::Claim`]).
    Claim,
    /// Posting the handler's response or error, or the error of an event that could not be run.
    Report,
    /// The handler streams its response: posted chunk by chunk while it runs
    /// ([`Action::StreamResponse`]), ended when it finishes, times out or passes
    /// [`MAX_STREAM_BYTES`] ([`Action::EndStream`]); a failure after the first chunk goes into
    /// the stream's trailers, not to `/error`.
    Stream,
    /// The deadline (minus the margin) passed: posting the timeout error. A handler result that
    /// still arrives is dropped.
    Timeout,
    /// Setup failed: posting its error to `/runtime/init/error`, then exiting.
    InitReport,
    /// Terminal: the process should exit.
    Exit,
}

impl Phase {
    /// Every phase, in declaration order.
    pub const ALL: [Phase; 10] = [
        Self::Init,
        Self::Register,
        Self::Poll,
        Self::Run,
        Self::Claim,
        Self::Report,
        Self::Stream,
        Self::Timeout,
        Self::InitReport,
        Self::Exit,
    ];
}

/// The kinds of input a lane can receive; the labels of [`TRANSITIONS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// [`Lifecycle::handle_setup`] with `Ok`.
    SetupDone,
    /// [`Lifecycle::handle_setup`] with `Err`.
    SetupFailed,
    /// [`Lifecycle::handle_response`]: the response to the lane's request in flight.
    Response,
    /// [`Lifecycle::handle_handler_done`].
    HandlerDone,
    /// [`Lifecycle::handle_transport_error`]: the request in flight got no complete response.
    TransportFailed,
    /// [`Lifecycle::handle_timeout`] found the lane's timer due.
    TimerFired,
    /// [`Lifecycle::handle_claim`] with [`ClaimOutcome::Won`]: nobody else reported the
    /// invocation, and now nobody else will.
    Claimed,
    /// [`Lifecycle::handle_claim`] with [`ClaimOutcome::ReportedElsewhere`]: the watchdog
    /// already posted the invocation's error and got this answer.
    ReportedElsewhere,
    /// [`Lifecycle::handle_extension`]: the registration [`Action::RegisterExtension`] asked for
    /// ended, registered or not.
    ExtensionSettled,
    /// [`Lifecycle::handle_stream_started`]: the running handler has its first chunk to stream.
    StreamStarted,
    /// [`Lifecycle::handle_stream_over_limit`]: the stream passed [`MAX_STREAM_BYTES`].
    StreamOverLimit,
    /// [`Lifecycle::handle_answer_started`]: the first bytes of the answer to the request in
    /// flight arrived, not all of it.
    AnswerStarted,
}

impl InputKind {
    /// Every kind, in declaration order.
    pub const ALL: [InputKind; 12] = [
        Self::SetupDone,
        Self::SetupFailed,
        Self::Response,
        Self::HandlerDone,
        Self::TransportFailed,
        Self::TimerFired,
        Self::Claimed,
        Self::ReportedElsewhere,
        Self::ExtensionSettled,
        Self::StreamStarted,
        Self::StreamOverLimit,
        Self::AnswerStarted,
    ];
}

/// One edge of the lifecycle: in phase `from`, input `input` may lead to phase `to`.
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

/// Every legal edge. A (phase, input) pair that appears in no row is illegal: the `handle_*`
/// call returns [`Misuse::Illegal`] and changes nothing. [`InputKind::TimerFired`] is the one
/// exception: [`Lifecycle::handle_timeout`] is global and spurious calls are no-ops.
#[rustfmt::skip]
pub const TRANSITIONS: &[Transition] = &[
    t(P::Init, I::SetupDone, P::Poll, "setup returned Ok, no extension wanted: fetch the first event"),
    t(P::Init, I::SetupDone, P::Register, "setup returned Ok, an extension wanted (lane 0): register it"),
    t(P::Init, I::SetupDone, P::Init, "setup returned Ok, an extension wanted (other lanes): wait for it"),
    t(P::Init, I::ExtensionSettled, P::Poll, "the extension registered or failed to (other lanes): fetch the first event"),
    t(P::Register, I::ExtensionSettled, P::Poll, "registered, or failed to (logged; the function runs on): fetch the first event"),
    t(P::Init, I::SetupFailed, P::InitReport, "setup returned Err (lane 0): post /runtime/init/error"),
    t(P::Init, I::SetupFailed, P::Exit, "setup returned Err (other lanes)"),
    t(P::Poll, I::Response, P::Run, "/next delivered an event with a valid request id: run the handler"),
    t(P::Poll, I::Response, P::Report, "/next delivered an oversized, truncated or malformed event: post its error"),
    t(P::Poll, I::Response, P::Poll, "/next delivered no valid (or an ambiguous) request id: fetch again; refused: back off"),
    t(P::Poll, I::Response, P::Exit, "/next answered a server error, or was refused MAX_ATTEMPTS times in a row"),
    t(P::Poll, I::TransportFailed, P::Poll, "connection failed: retry after a backoff"),
    t(P::Poll, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Poll, I::TimerFired, P::Poll, "backoff over: fetch again; or the answer stalled: abandon it"),
    t(P::Run, I::HandlerDone, P::Report, "handler finished, not watched: post its response or error"),
    t(P::Run, I::StreamStarted, P::Stream, "the handler's first chunk, not watched: stream the response while it runs"),
    t(P::Run, I::StreamStarted, P::Claim, "the handler's first chunk, watched: claim the invocation first"),
    t(P::Run, I::HandlerDone, P::Claim, "handler finished, watched: claim the invocation first"),
    t(P::Run, I::TimerFired, P::Timeout, "deadline minus margin passed, not watched: post the timeout error"),
    t(P::Run, I::TimerFired, P::Claim, "deadline minus margin passed, watched: claim the invocation first"),
    t(P::Claim, I::Claimed, P::Report, "claimed: post the handler's response or error"),
    t(P::Claim, I::Claimed, P::Timeout, "claimed: post the timeout error"),
    t(P::Claim, I::Claimed, P::Stream, "claimed: stream the response"),
    t(P::Claim, I::ReportedElsewhere, P::Poll, "the watchdog had reported it: drop the result, fetch the next event"),
    t(P::Claim, I::ReportedElsewhere, P::Exit, "the watchdog's report was answered with a server error"),
    t(P::Report, I::Response, P::Poll, "accepted; refused or gone: logged, not retried"),
    t(P::Report, I::Response, P::Report, "a response refused as too large: post its too-large error instead"),
    t(P::Report, I::Response, P::Exit, "server error"),
    t(P::Report, I::TransportFailed, P::Report, "connection failed: post again after a backoff"),
    t(P::Report, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Report, I::TimerFired, P::Report, "backoff over: post again; or the answer stalled: abandon it"),
    t(P::Stream, I::HandlerDone, P::Stream, "the handler finished: end the stream (its error in the trailers if it failed)"),
    t(P::Stream, I::TimerFired, P::Stream, "deadline minus margin passed: end the stream with the timeout in its trailers, drop the handler"),
    t(P::Stream, I::StreamOverLimit, P::Stream, "past MAX_STREAM_BYTES: end the stream with the too-large error in its trailers, drop the handler"),
    t(P::Stream, I::Response, P::Poll, "the stream was answered (refused: logged; the handler, if still running, is dropped)"),
    t(P::Stream, I::Response, P::Exit, "server error"),
    t(P::Stream, I::TransportFailed, P::Poll, "the connection broke mid-stream: logged, never sent again (bytes reached the caller)"),
    t(P::Timeout, I::Response, P::Poll, "the timeout error was accepted, refused or gone"),
    t(P::Timeout, I::Response, P::Exit, "server error"),
    t(P::Timeout, I::HandlerDone, P::Timeout, "a late handler result: dropped, never posted"),
    t(P::Timeout, I::TransportFailed, P::Timeout, "connection failed: post again after a backoff"),
    t(P::Timeout, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Timeout, I::TimerFired, P::Timeout, "backoff over: post again; or the answer stalled: abandon it"),
    t(P::InitReport, I::Response, P::Exit, "any answer: exit (setup failed; a server error says so)"),
    t(P::InitReport, I::TransportFailed, P::InitReport, "connection failed: post again after a backoff"),
    t(P::InitReport, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::InitReport, I::TimerFired, P::InitReport, "backoff over: post again; or the answer stalled: abandon it"),
    t(P::Poll, I::AnswerStarted, P::Poll, "the answer to /next started: the rest is due within ANSWER_TIMEOUT_MS"),
    t(P::Report, I::AnswerStarted, P::Report, "the answer to the post started: the rest is due within ANSWER_TIMEOUT_MS"),
    t(P::Timeout, I::AnswerStarted, P::Timeout, "the answer to the timeout's post started: the rest is due within ANSWER_TIMEOUT_MS"),
    t(P::InitReport, I::AnswerStarted, P::InitReport, "the answer to /runtime/init/error started: the rest is due within ANSWER_TIMEOUT_MS"),
];

/// Whether `TRANSITIONS` has a row for (`from`, `input`).
pub fn is_legal(from: Phase, input: InputKind) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.input == input)
}

/// The Runtime API requests whose answers the machine reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `GET /runtime/invocation/next`.
    Next,
    /// `POST /runtime/invocation/{id}/response`.
    Response,
    /// `POST /runtime/invocation/{id}/error` (also the watchdog's).
    Error,
    /// `POST /runtime/init/error`.
    InitError,
}

/// What a Runtime API status means, per [`STATUS_POLICY`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// `/next` delivered an event.
    Delivered,
    /// The report was accepted.
    Accepted,
    /// The request was refused (a bug on one side, or a stale id): `/next` backs off and asks
    /// again, a report is logged and not retried.
    Refused,
    /// The invocation had timed out already (410): logged, not retried.
    Gone,
    /// The response was too large (413): its too-large error is posted instead.
    TooLarge,
    /// "Container error. Non-recoverable state. Runtime should exit promptly."
    ServerError,
}

/// One row of [`STATUS_POLICY`]: for these request kinds and statuses, this answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusRule {
    /// The request kinds the rule applies to.
    pub kinds: &'static [RequestKind],
    /// The lowest status the rule applies to.
    pub lowest: u16,
    /// The highest status the rule applies to.
    pub highest: u16,
    /// What such a status means.
    pub answer: Answer,
}

const ANY: &[RequestKind] = &[
    RequestKind::Next,
    RequestKind::Response,
    RequestKind::Error,
    RequestKind::InitError,
];
const REPORTS: &[RequestKind] = &[
    RequestKind::Response,
    RequestKind::Error,
    RequestKind::InitError,
];

const fn rule(
    kinds: &'static [RequestKind],
    lowest: u16,
    highest: u16,
    answer: Answer,
) -> StatusRule {
    StatusRule {
        kinds,
        lowest,
        highest,
        answer,
    }
}

/// What each status means for each request kind: the first rule that matches decides.
#[rustfmt::skip]
pub const STATUS_POLICY: &[StatusRule] = &[
    rule(ANY, 500, u16::MAX, Answer::ServerError),
    rule(&[RequestKind::Next], 200, 200, Answer::Delivered),
    rule(&[RequestKind::Next], 0, 499, Answer::Refused),
    rule(REPORTS, 200, 299, Answer::Accepted),
    rule(&[RequestKind::Response], 413, 413, Answer::TooLarge),
    rule(&[RequestKind::Response, RequestKind::Error], 410, 410, Answer::Gone),
    rule(REPORTS, 0, 499, Answer::Refused),
];

/// What `status` means as the answer to a `kind` request (the first matching row of
/// [`STATUS_POLICY`]).
pub fn answer(kind: RequestKind, status: u16) -> Answer {
    STATUS_POLICY
        .iter()
        .find(|r| r.kinds.contains(&kind) && (r.lowest..=r.highest).contains(&status))
        .map_or(Answer::Refused, |r| r.answer)
}

/// An input that is illegal in the current state: a bug in the code driving the machine.
///
/// The machine's state is unchanged when one is returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// `input` is not in [`TRANSITIONS`] for `phase`.
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

impl core::fmt::Display for Misuse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Illegal { phase, input } => write!(f, "{input:?} is illegal in phase {phase:?}"),
            Self::NoSuchLane(n) => write!(f, "no lane {n}"),
            Self::WrongRequestId => f.write_str("handler result for another request id"),
            Self::NoRequestInFlight => f.write_str("no request in flight on that lane"),
        }
    }
}

impl core::error::Error for Misuse {}

/// Why an `/error` is posted for an invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCause {
    /// The handler failed (an `Err`, a panic, an event that did not deserialise, a return value
    /// that did not serialise): the driver holds the diagnostic it built.
    Handler,
    /// The deadline minus the margin passed while the handler ran.
    Timeout {
        /// The invocation's deadline.
        deadline: Deadline,
        /// The margin that was applied.
        margin_ms: u64,
        /// From the event's arrival to the deadline: the function's timeout, as far as the
        /// runtime can tell.
        budget_ms: u64,
    },
    /// The handler's response is larger than [`MAX_PAYLOAD_BYTES`] (or the API answered 413).
    ResponseTooLarge {
        /// The response's size in bytes.
        len: usize,
    },
    /// The `/next` response's head arrived but its body did not (the connection broke or the
    /// body was malformed); the handler was not called.
    EventTruncated,
    /// The `/next` response's head had this `Lambda-Runtime-*` field twice with different
    /// values (its request id was unambiguous); the handler was not called.
    EventMalformed {
        /// The field's name, as [`crate::wire::header`] spells it.
        header: &'static str,
    },
    /// The event is larger than [`MAX_PAYLOAD_BYTES`]; the handler was not called.
    EventTooLarge {
        /// The event's size in bytes, as far as it was read.
        len: u64,
    },
    /// The deadline minus the margin passed while the handler blocked its thread (and with it
    /// the executor): reported by the watchdog.
    BlockedTimeout {
        /// The invocation's deadline.
        deadline: Deadline,
        /// The margin that was applied.
        margin_ms: u64,
        /// From the handler's start to the deadline: the function's timeout, as far as the
        /// runtime can tell.
        budget_ms: u64,
    },
    /// The process's memory reached the threshold while the invocation ran: reported by the
    /// watchdog, which then exits ([`ExitReason::OutOfMemory`]).
    OutOfMemory {
        /// Resident memory, in MiB.
        used_mb: u64,
        /// The function's memory size, in MB.
        size_mb: u32,
        /// The threshold, in percent of `size_mb`.
        threshold_percent: u8,
    },
    /// The execution environment is shutting down (SIGTERM) while the invocation runs:
    /// reported by the watchdog, which then exits ([`ExitReason::Shutdown`]).
    Shutdown,
}

impl ErrorCause {
    /// The `errorType` reported for this cause; `None` for [`ErrorCause::Handler`], whose
    /// diagnostic names its own.
    pub const fn error_type(self) -> Option<&'static str> {
        use crate::error_type::ErrorType;
        Some(match self {
            Self::Handler => return None,
            Self::Timeout { .. } | Self::BlockedTimeout { .. } => ErrorType::TIMEOUT,
            Self::ResponseTooLarge { .. } => ErrorType::RESPONSE_TOO_LARGE,
            Self::EventTruncated => ErrorType::TRUNCATED_EVENT,
            Self::EventMalformed { .. } => ErrorType::MALFORMED_EVENT,
            Self::EventTooLarge { .. } => ErrorType::EVENT_TOO_LARGE,
            Self::OutOfMemory { .. } => ErrorType::OUT_OF_MEMORY,
            Self::Shutdown => ErrorType::SHUTDOWN,
        })
    }
}

/// How claiming an invocation ([`Action::Claim`]) ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// Nobody else had reported the invocation, and now nobody else will: the lane posts.
    Won,
    /// The watchdog had posted the invocation's error already and the Runtime API answered
    /// `status`: the lane posts nothing.
    ReportedElsewhere {
        /// The answer to the watchdog's post.
        status: u16,
    },
}

/// How the user's setup ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetupOutcome {
    /// Setup returned `Ok`.
    Done,
    /// Setup returned `Err`; the driver holds the diagnostic.
    Failed,
}

/// What a handler produced, as far as the machine needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerOutcome {
    /// A serialised response of `len` bytes, held by the driver.
    Ok {
        /// Size of the serialised response.
        len: usize,
    },
    /// A failure; the driver holds the diagnostic to post.
    Failed,
}

/// Why the process should exit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// Setup failed and the init error was reported (or could not be).
    SetupFailed,
    /// The Runtime API answered 5xx: "Runtime should exit promptly".
    ServerError {
        /// The status code.
        status: u16,
    },
    /// `/next` was refused (4xx) [`MAX_ATTEMPTS`] times in a row.
    Refused {
        /// The last status code.
        status: u16,
    },
    /// The Runtime API could not be reached [`MAX_ATTEMPTS`] times in a row.
    Unreachable,
    /// Memory reached the threshold; the running invocations were reported
    /// ([`ErrorCause::OutOfMemory`]) so that Lambda replaces the environment.
    OutOfMemory,
    /// SIGTERM: the environment is shutting down; the running invocations were reported
    /// ([`ErrorCause::Shutdown`]) and the shutdown hook ran.
    Shutdown,
}

impl ExitReason {
    /// The process exit code: 0 for [`ExitReason::Shutdown`] (Lambda asked the process to
    /// stop), non-zero for every failure.
    pub const fn code(self) -> i32 {
        match self {
            Self::Shutdown => 0,
            Self::SetupFailed => 1,
            Self::ServerError { .. } => 2,
            Self::Refused { .. } => 3,
            Self::Unreachable => 4,
            Self::OutOfMemory => 5,
        }
    }
}

impl core::fmt::Display for ExitReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::SetupFailed => f.write_str("setup failed"),
            Self::ServerError { status } => {
                write!(
                    f,
                    "the Runtime API answered {status}, a non-recoverable error"
                )
            }
            Self::Refused { status } => {
                write!(
                    f,
                    "the Runtime API refused /next with {status} too many times"
                )
            }
            Self::Unreachable => f.write_str("the Runtime API is unreachable"),
            Self::OutOfMemory => f.write_str("the function ran out of memory"),
            Self::Shutdown => f.write_str("the execution environment is shutting down"),
        }
    }
}

/// What the driver must do next; returned by [`Lifecycle::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Run the user's setup once, then report with [`Lifecycle::handle_setup`].
    RunSetup,
    /// Send `GET /runtime/invocation/next` on `lane` **without a client timeout** (the
    /// environment may be frozen between invocations) and report the response with
    /// [`Lifecycle::handle_response`] (reading at most [`MAX_PAYLOAD_BYTES`] of body) or the
    /// failure with [`Lifecycle::handle_transport_error`].
    FetchNext {
        /// The lane.
        lane: usize,
    },
    /// Start the handler for `invocation` with the event payload of the last `/next` on `lane`,
    /// then report with [`Lifecycle::handle_handler_done`].
    RunHandler {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
        /// When the machine will report the handler as timed out if it has not finished (the
        /// deadline minus the margin), or `None` if no plausible deadline was given. A driver
        /// whose handlers may block the executor hands this instant to a watchdog outside it.
        timeout_at: Option<EpochMillis>,
    },
    /// The invocation on `lane` finished or timed out while a watchdog may have reported it
    /// (only with [`Options::watched`]). Claim it from the watchdog, so that the watchdog never
    /// reports it, before waiting for anything else, and report with [`Lifecycle::handle_claim`]:
    /// [`ClaimOutcome::Won`], or the answer the watchdog's own post got. A driver with nothing
    /// outside it that reports (and so `watched` off) never sees this; if it does, it answers
    /// `Won`.
    Claim {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
    },
    /// Post the handler's response bytes to `/invocation/{id}/response`, echoing the invocation
    /// id if there is one, and report the answer as for `FetchNext`.
    PostResponse {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
    },
    /// Post an error to `/invocation/{id}/error`, echoing the invocation id if there is one,
    /// and report the answer as for `FetchNext`. For [`ErrorCause::Timeout`] the handler MUST
    /// be stopped (its future dropped) or its result discarded: it is never posted.
    PostError {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
        /// Why.
        cause: ErrorCause,
    },
    /// Start posting `invocation`'s response as a stream on `lane`
    /// ([`Request::StreamResponse`](crate::wire::Request::StreamResponse)), sending the chunks
    /// the still-running handler produces as they come, until told to end it with
    /// [`Action::EndStream`]; then report the answer as for `FetchNext`. The handler's result
    /// still comes in with [`Lifecycle::handle_handler_done`]; a stream past
    /// [`MAX_STREAM_BYTES`] is reported with [`Lifecycle::handle_stream_over_limit`].
    StreamResponse {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
    },
    /// End the stream on `lane`: the last chunk, then, if `error` is set, the error trailers
    /// (`Lambda-Runtime-Function-Error-Type` and `-Body`) for it ([`ErrorCause::Handler`]: the
    /// handler's diagnostic the driver holds). For any error but [`ErrorCause::Handler`] the
    /// handler MUST be dropped first: nothing more of it is sent.
    EndStream {
        /// The lane.
        lane: usize,
        /// The invocation.
        invocation: &'a Invocation,
        /// Why the stream failed, if it did.
        error: Option<ErrorCause>,
    },
    /// The answer to `lane`'s request in flight stalled ([`ANSWER_TIMEOUT_MS`] after its first
    /// bytes, announced with [`Lifecycle::handle_answer_started`], it is still incomplete): stop
    /// reading it and drop the connection, then report what arrived, with
    /// [`Lifecycle::handle_truncated_response`] if the head is complete, else with
    /// [`Lifecycle::handle_transport_error`] (an answer that completes meanwhile is reported as
    /// usual).
    AbandonRequest {
        /// The lane.
        lane: usize,
    },
    /// Register the runtime's internal extension with the Extensions API (no events: it only
    /// makes Lambda send SIGTERM at shutdown), keep its `event/next` asked for as long as the
    /// process runs, and report with [`Lifecycle::handle_extension`] once the registration
    /// ended, whichever way, so that the first `/next` comes after it.
    RegisterExtension,
    /// Post setup's error to `/runtime/init/error` and report the answer as for `FetchNext`.
    PostInitError {
        /// The lane whose connection to use.
        lane: usize,
    },
    /// Nothing to do until an input arrives or, if set, until `until`
    /// (then call [`Lifecycle::handle_timeout`]).
    Wait {
        /// The earliest timer, if any is armed.
        until: Option<EpochMillis>,
    },
    /// Stop: exit the process with [`ExitReason::code`].
    Exit(ExitReason),
}

impl Action<'_> {
    /// The action's name, e.g. `"FetchNext"` (for log lines that need no more than that).
    pub const fn name(&self) -> &'static str {
        match self {
            Self::RunSetup => "RunSetup",
            Self::FetchNext { .. } => "FetchNext",
            Self::RunHandler { .. } => "RunHandler",
            Self::Claim { .. } => "Claim",
            Self::PostResponse { .. } => "PostResponse",
            Self::PostError { .. } => "PostError",
            Self::StreamResponse { .. } => "StreamResponse",
            Self::EndStream { .. } => "EndStream",
            Self::AbandonRequest { .. } => "AbandonRequest",
            Self::RegisterExtension => "RegisterExtension",
            Self::PostInitError { .. } => "PostInitError",
            Self::Wait { .. } => "Wait",
            Self::Exit(_) => "Exit",
        }
    }
}

/// The lifecycle state machine with up to `LANES` concurrent invocations.
///
/// See the [module docs](self) for the driving loop.
#[derive(Debug)]
pub struct Lifecycle<const LANES: usize = 1> {
    state: transition::State<LANES>,
}

impl<const LANES: usize> Lifecycle<LANES> {
    /// A machine in phase `Init`; its first action is [`Action::RunSetup`].
    pub fn new(options: Options) -> Self {
        const { assert!(LANES > 0, "a Lifecycle needs at least one lane") };
        Self {
            state: transition::State::new(options),
        }
    }

    /// The number of lanes in use (`options.lanes` clamped to `1..=LANES`).
    pub fn lanes(&self) -> usize {
        self.state.active
    }

    /// The options in use (with `lanes` clamped).
    pub fn options(&self) -> Options {
        self.state.options
    }

    /// The phase of lane 0 (the only lane in the classic, sequential case).
    pub fn phase(&self) -> Phase {
        self.state.lanes[0].state.phase()
    }

    /// The phase of `lane`, or `None` if there is no such lane.
    pub fn lane_phase(&self, lane: usize) -> Option<Phase> {
        (lane < self.state.active).then(|| self.state.lanes[lane].state.phase())
    }

    /// The invocation running or being reported on `lane`, if any.
    pub fn invocation(&self, lane: usize) -> Option<&Invocation> {
        self.state
            .lanes
            .get(lane)
            .and_then(|l| l.state.invocation())
    }

    /// Setup finished. After [`SetupOutcome::Failed`] the driver posts its diagnostic when asked
    /// with [`Action::PostInitError`].
    pub fn handle_setup(&mut self, now: EpochMillis, outcome: SetupOutcome) -> Result<(), Misuse> {
        self.state.setup(now, outcome == SetupOutcome::Done)
    }

    /// The response to `lane`'s request in flight arrived: its head and how many body bytes
    /// it had (for `/next`, the event's size; more than [`MAX_PAYLOAD_BYTES`] is refused).
    pub fn handle_response(
        &mut self,
        now: EpochMillis,
        lane: usize,
        head: &ResponseHead<'_>,
        body_len: u64,
    ) -> Result<(), Misuse> {
        self.state.response(now, lane, head, body_len)
    }

    /// The head of the response to `lane`'s request in flight arrived, but its body did not
    /// (the connection broke, or the body was malformed). For a `/next` that delivered a valid
    /// request id the invocation is reported as [`ErrorCause::EventTruncated`] — it must not be
    /// lost; otherwise this is a transport failure.
    pub fn handle_truncated_response(
        &mut self,
        now: EpochMillis,
        lane: usize,
        head: &ResponseHead<'_>,
    ) -> Result<(), Misuse> {
        self.state.truncated(now, lane, head)
    }

    /// The handler running on `lane` for `id` has its first chunk to stream: the response is
    /// streamed ([`Action::StreamResponse`]) instead of posted when the handler returns.
    pub fn handle_stream_started(
        &mut self,
        now: EpochMillis,
        lane: usize,
        id: &RequestId,
    ) -> Result<(), Misuse> {
        self.state.stream_started(now, lane, id)
    }

    /// The stream on `lane` passed [`MAX_STREAM_BYTES`] (`len` bytes so far): it is ended with
    /// [`ErrorCause::ResponseTooLarge`].
    pub fn handle_stream_over_limit(
        &mut self,
        now: EpochMillis,
        lane: usize,
        len: u64,
    ) -> Result<(), Misuse> {
        self.state.stream_over_limit(now, lane, len)
    }

    /// The registration [`Action::RegisterExtension`] asked for ended (`registered` or not; a
    /// failure is the driver's to log): the lanes fetch their first events.
    pub fn handle_extension(&mut self, now: EpochMillis, registered: bool) -> Result<(), Misuse> {
        self.state.extension_settled(now, registered)
    }

    /// The first bytes of the answer to `lane`'s request in flight arrived, and not all of it:
    /// the rest must arrive within [`ANSWER_TIMEOUT_MS`], or the machine asks for the request to
    /// be abandoned ([`Action::AbandonRequest`]). Reported at most once per request; a driver
    /// that gets whole answers at once need not report it at all.
    pub fn handle_answer_started(&mut self, now: EpochMillis, lane: usize) -> Result<(), Misuse> {
        self.state.answer_started(now, lane)
    }

    /// The claim that [`Action::Claim`] asked for on `lane` ended with `outcome`.
    pub fn handle_claim(
        &mut self,
        now: EpochMillis,
        lane: usize,
        outcome: ClaimOutcome,
    ) -> Result<(), Misuse> {
        self.state.claim(now, lane, outcome)
    }

    /// `lane`'s request in flight failed: the connection could not be opened, was closed, or
    /// the response was malformed. The machine retries after [`backoff_ms`] or exits.
    pub fn handle_transport_error(&mut self, now: EpochMillis, lane: usize) -> Result<(), Misuse> {
        self.state.transport_failed(now, lane)
    }

    /// The handler for `request_id` on `lane` finished.
    pub fn handle_handler_done(
        &mut self,
        now: EpochMillis,
        lane: usize,
        request_id: &RequestId,
        outcome: HandlerOutcome,
    ) -> Result<(), Misuse> {
        self.state.handler_done(now, lane, request_id, outcome)
    }

    /// Time passed: fires every timer due at `now`. Spurious or repeated calls are no-ops.
    pub fn handle_timeout(&mut self, now: EpochMillis) {
        self.state.timeout(now);
    }

    /// The next thing to do. Call until it returns [`Action::Wait`] or [`Action::Exit`].
    pub fn poll(&mut self) -> Action<'_> {
        self.state.poll()
    }
}

#[cfg(test)]
mod tests;
