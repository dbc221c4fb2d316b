//! The invocation lifecycle as a pure state machine.
//!
//! [`Lifecycle`] knows nothing about sockets, clocks or executors. The code driving it (the
//! [`driver`](crate::driver) in this crate, or your own) feeds it facts through the `handle_*`
//! methods, each with the current time, and asks it what to do next with [`Lifecycle::poll`]:
//!
//! 1. Call `poll()` and carry out each [`Action`] until it returns [`Action::Wait`].
//! 2. Wait until the first of: a Runtime API response (→ [`Lifecycle::handle_response`]), a
//!    transport failure (→ [`Lifecycle::handle_transport_error`]), a handler finishing
//!    (→ [`Lifecycle::handle_handler_done`]), setup finishing (→ [`Lifecycle::handle_setup`]), or
//!    the `until` of the last `Wait` (→ [`Lifecycle::handle_timeout`]).
//! 3. Go back to 1, until `poll()` returns [`Action::Exit`].
//!
//! A machine has up to `LANES` lanes (one per concurrent invocation, from
//! `AWS_LAMBDA_MAX_CONCURRENCY`); they share one setup. Each lane moves through the phases of
//! [`TRANSITIONS`]:
//!
//! ```text
//!            SetupDone              Response 200             HandlerDone
//!   Init ───────────────▶ Poll ─────────────────▶ Run ───────────────────▶ Report
//!    │                     ▲ ▲                     │                         │
//!    │ SetupFailed         │ └─────────────────────┼────── Response 2xx/4xx ─┘
//!    ▼                     │                       │ TimerFired (deadline − margin)
//!  Report ──▶ Exit         │     Response 2xx/4xx  ▼
//!  (init error)            └────────────────── Timeout (a late HandlerDone is dropped)
//!
//!   Run, Timeout ── ReportedElsewhere (the watchdog posted the timeout) ──▶ Poll
//!   Poll ── Response 200 with a cut-off or oversized event ──▶ Report (its error)
//!   any phase with a request in flight ── Response 5xx / too many TransportFailed ──▶ Exit
//! ```

mod transition;

use crate::error::{Misuse, RemoteError};
use crate::id::{InvocationId, RequestId, TraceId};
use crate::time::{Deadline, EpochMillis};
use crate::wire::ResponseHead;

/// The largest event or buffered response, in bytes (6 MiB + 100 B, as Lambda and the RIE check).
pub const MAX_PAYLOAD_BYTES: usize = 6_291_556;

/// Default margin before the deadline at which a still-running handler is reported as timed out.
pub const DEFAULT_TIMEOUT_MARGIN_MS: u64 = 100;

/// A deadline further ahead than this is treated as absurd and no timeout is armed
/// (Lambda's longest timeout is 15 minutes).
pub const MAX_DEADLINE_AHEAD_MS: u64 = 60 * 60 * 1000;

/// How many times in a row one request may fail at the transport level before the machine
/// gives up and exits ([`ExitReason::Unreachable`]).
pub const MAX_ATTEMPTS: u32 = 8;

/// The delay before retry number `attempt` (1-based) of a request whose connection failed:
/// the first retry is immediate (a keep-alive connection closed by the server is normal), then
/// 50 ms doubling up to 2 s. With [`MAX_ATTEMPTS`] the machine gives up after about 5 s.
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
}

impl Options {
    /// One lane and the default margin.
    pub const fn new() -> Self {
        Self {
            lanes: 1,
            timeout_margin_ms: DEFAULT_TIMEOUT_MARGIN_MS,
        }
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
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// The data-free projection of a lane's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Setup has not finished yet.
    Init,
    /// Waiting for `/runtime/invocation/next` (or about to ask for it).
    Poll,
    /// The handler is running.
    Run,
    /// Posting a response, an error, or the init error.
    Report,
    /// The deadline (minus the margin) passed: posting the timeout error. A handler result that
    /// still arrives is dropped.
    Timeout,
    /// Terminal: the process should exit.
    Exit,
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
    /// [`Lifecycle::handle_reported_elsewhere`]: something outside the executor (the watchdog)
    /// already posted the lane's timeout error and got this answer.
    ReportedElsewhere,
}

impl InputKind {
    /// Every kind, in declaration order.
    pub const ALL: [InputKind; 7] = [
        Self::SetupDone,
        Self::SetupFailed,
        Self::Response,
        Self::HandlerDone,
        Self::TransportFailed,
        Self::TimerFired,
        Self::ReportedElsewhere,
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
    t(P::Init, I::SetupDone, P::Poll, "setup returned Ok: fetch the first event"),
    t(P::Init, I::SetupFailed, P::Report, "setup returned Err (lane 0): post /runtime/init/error"),
    t(P::Init, I::SetupFailed, P::Exit, "setup returned Err (other lanes)"),
    t(P::Poll, I::Response, P::Run, "/next 200 with a valid request id: run the handler"),
    t(P::Poll, I::Response, P::Report, "/next 200 with an oversized or truncated event: post its error"),
    t(P::Poll, I::Response, P::Poll, "/next 200 without a valid request id, or 4xx: fetch again"),
    t(P::Poll, I::Response, P::Exit, "/next 5xx, or 4xx too many times in a row"),
    t(P::Poll, I::TransportFailed, P::Poll, "connection failed: retry after a backoff"),
    t(P::Poll, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Poll, I::TimerFired, P::Poll, "backoff over: fetch again"),
    t(P::Run, I::HandlerDone, P::Report, "handler finished: post its response or error"),
    t(P::Run, I::TimerFired, P::Timeout, "deadline minus margin passed: post the timeout error"),
    t(P::Run, I::ReportedElsewhere, P::Poll, "the watchdog reported the blocked handler: 2xx/4xx"),
    t(P::Run, I::ReportedElsewhere, P::Exit, "the watchdog's report was answered 5xx"),
    t(P::Report, I::Response, P::Poll, "2xx accepted; 400/403/410/other 4xx logged"),
    t(P::Report, I::Response, P::Report, "413 on /response: post a too-large error instead"),
    t(P::Report, I::Response, P::Exit, "5xx, or any answer to /runtime/init/error"),
    t(P::Report, I::TransportFailed, P::Report, "connection failed: post again after a backoff"),
    t(P::Report, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Report, I::TimerFired, P::Report, "backoff over: post again"),
    t(P::Timeout, I::Response, P::Poll, "the timeout error was answered 2xx/4xx"),
    t(P::Timeout, I::Response, P::Exit, "5xx"),
    t(P::Timeout, I::HandlerDone, P::Timeout, "a late handler result: dropped, never posted"),
    t(P::Timeout, I::TransportFailed, P::Timeout, "connection failed: post again after a backoff"),
    t(P::Timeout, I::TransportFailed, P::Exit, "connection failed MAX_ATTEMPTS times in a row"),
    t(P::Timeout, I::TimerFired, P::Timeout, "backoff over: post again"),
    t(P::Timeout, I::ReportedElsewhere, P::Poll, "the watchdog posted this timeout first: 2xx/4xx"),
    t(P::Timeout, I::ReportedElsewhere, P::Exit, "the watchdog's report was answered 5xx"),
];

/// Whether `TRANSITIONS` has a row for (`from`, `input`).
pub fn is_legal(from: Phase, input: InputKind) -> bool {
    TRANSITIONS
        .iter()
        .any(|t| t.from == from && t.input == input)
}

/// The metadata of one invocation, copied out of the `/next` response headers.
///
/// The event payload stays with the driver; everything here is bounded and `no_std`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: RequestId,
    /// `Lambda-Runtime-Invocation-Id`, echoed on the `/response` or `/error` of this invocation.
    pub invocation_id: Option<InvocationId>,
    /// `Lambda-Runtime-Deadline-Ms`, if present and a number.
    pub deadline: Option<Deadline>,
    /// `Lambda-Runtime-Trace-Id`, if present and well-formed.
    pub trace_id: Option<TraceId>,
}

impl Invocation {
    /// Reads the invocation headers of a `/next` response.
    ///
    /// Only a missing or invalid request id is an error; a malformed deadline, trace id or
    /// invocation id is dropped (and logged) so that the invocation still runs.
    pub fn from_head(head: &ResponseHead<'_>) -> Result<Self, RemoteError> {
        let request_id = match head.header("Lambda-Runtime-Aws-Request-Id") {
            None => return Err(RemoteError::MissingRequestId),
            Some(v) => RequestId::parse(v)?,
        };
        let invocation_id = non_empty(head.header("Lambda-Runtime-Invocation-Id"))
            .and_then(|v| ok_or_log(InvocationId::parse(v), &request_id));
        let trace_id = non_empty(head.header("Lambda-Runtime-Trace-Id"))
            .and_then(|v| ok_or_log(TraceId::parse(v), &request_id));
        let deadline = non_empty(head.header("Lambda-Runtime-Deadline-Ms")).and_then(|v| {
            let parsed = parse_u64(v).map(|ms| Deadline(EpochMillis(ms)));
            if parsed.is_none() {
                log::warn!("[{request_id}] ignoring unparsable Lambda-Runtime-Deadline-Ms");
            }
            parsed
        });
        Ok(Self {
            request_id,
            invocation_id,
            deadline,
            trace_id,
        })
    }
}

fn non_empty(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|v| !v.is_empty())
}

fn ok_or_log<T>(r: Result<T, RemoteError>, id: &RequestId) -> Option<T> {
    r.map_err(|e| log::warn!("[{id}] ignoring header: {e}"))
        .ok()
}

/// Parses ASCII decimal digits into a `u64`; `None` on anything else or overflow.
fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

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
    },
    /// The handler's response is larger than [`MAX_PAYLOAD_BYTES`] (or the API answered 413).
    ResponseTooLarge {
        /// The response's size in bytes.
        len: usize,
    },
    /// The `/next` response's head arrived but its body did not (the connection broke or the
    /// body was malformed); the handler was not called.
    EventTruncated,
    /// The event is larger than [`MAX_PAYLOAD_BYTES`]; the handler was not called.
    EventTooLarge {
        /// The event's size in bytes, as far as it was read.
        len: u64,
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
}

impl ExitReason {
    /// The process exit code: always non-zero, since every reason is a failure.
    pub const fn code(self) -> i32 {
        match self {
            Self::SetupFailed => 1,
            Self::ServerError { .. } => 2,
            Self::Refused { .. } => 3,
            Self::Unreachable => 4,
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
        self.state.response(now, lane, head.status, head, body_len)
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

    /// Something outside the executor (the `std` watchdog) already posted the timeout error of
    /// the handler running on `lane` and the Runtime API answered `status`: the lane does not
    /// post it again.
    pub fn handle_reported_elsewhere(
        &mut self,
        now: EpochMillis,
        lane: usize,
        status: u16,
    ) -> Result<(), Misuse> {
        self.state.reported_elsewhere(now, lane, status)
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
