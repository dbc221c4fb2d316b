//! The lifecycle's private state. Only this file changes lane states: a new state only through
//! [`State::put`] (and [`State::set`]), the same state with new request bookkeeping only through
//! [`State::stay`], both checked against [`TRANSITIONS`](super::TRANSITIONS); an exit moves every
//! other lane to `Exit` with it.

use super::{
    ANSWER_TIMEOUT_MS, Action, Answer, ClaimOutcome, ErrorCause, ExitReason, HandlerOutcome,
    InputKind, Invocation, MAX_ATTEMPTS, MAX_DEADLINE_AHEAD_MS, MAX_PAYLOAD_BYTES, Misuse, Options,
    Phase, RequestKind, answer, backoff_ms, is_legal,
};
use crate::error_type::ErrorType;
use crate::id::RequestId;
use crate::time::{Deadline, EpochMillis};
use crate::wire::ResponseHead;

/// Where a lane's next Runtime API request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Io {
    /// To be handed out by `poll`.
    Due,
    /// Handed out; waiting for `handle_response` or `handle_transport_error`.
    InFlight,
    /// Failed; handed out again once the clock reaches the instant.
    RetryAt(EpochMillis),
    /// In flight, its answer started: the rest is due by the instant.
    Receiving(EpochMillis),
    /// In flight, its answer stalled: [`Action::AbandonRequest`] is to be handed out (`asked`:
    /// it was), then the outcome is awaited as for `InFlight`.
    Abandon { asked: bool },
}

impl Io {
    /// Whether a request is out, its outcome still to be reported.
    fn in_flight(self) -> bool {
        matches!(
            self,
            Self::InFlight | Self::Receiving(_) | Self::Abandon { .. }
        )
    }
}

/// What a lane in `Report` (or `Claim`) posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Post {
    Response {
        len: usize,
    },
    Error(ErrorCause),
    /// The response is streamed while the handler runs, until `timer` (its timeout) at most.
    Stream {
        timer: Option<EpochMillis>,
        arrived: EpochMillis,
    },
}

/// Where a lane in `Stream` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StreamStep {
    /// [`Action::StreamResponse`] is to be handed out.
    Due,
    /// Streaming while the handler runs.
    Flowing,
    /// [`Action::EndStream`] with `error` is to be handed out (`asked`: it was), then the
    /// answer is awaited.
    End {
        error: Option<ErrorCause>,
        asked: bool,
    },
}

/// One lane's state: one variant per [`Phase`], each holding what that phase needs.
#[derive(Debug)]
pub(super) enum LaneState {
    Init,
    Register {
        asked: bool,
    },
    Poll {
        io: Io,
    },
    Run {
        inv: Invocation,
        timer: Option<EpochMillis>,
        started: bool,
        /// When `/next` delivered the event.
        arrived: EpochMillis,
    },
    Claim {
        inv: Invocation,
        post: Post,
        asked: bool,
    },
    Report {
        inv: Invocation,
        post: Post,
        io: Io,
    },
    Timeout {
        inv: Invocation,
        cause: ErrorCause,
        io: Io,
    },
    Stream {
        inv: Invocation,
        timer: Option<EpochMillis>,
        step: StreamStep,
        /// When `/next` delivered the event.
        arrived: EpochMillis,
    },
    InitReport {
        io: Io,
    },
    Exit,
}

impl LaneState {
    /// About to post `post` for `inv`: in `Timeout` for a timeout, in `Report` otherwise.
    fn report(inv: Invocation, post: Post) -> Self {
        match post {
            Post::Error(cause @ ErrorCause::Timeout { .. }) => Self::Timeout {
                inv,
                cause,
                io: Io::Due,
            },
            Post::Stream { timer, arrived } => Self::Stream {
                inv,
                timer,
                step: StreamStep::Due,
                arrived,
            },
            post => Self::Report {
                inv,
                post,
                io: Io::Due,
            },
        }
    }

    pub(super) fn phase(&self) -> Phase {
        match self {
            Self::Init => Phase::Init,
            Self::Register { .. } => Phase::Register,
            Self::Poll { .. } => Phase::Poll,
            Self::Run { .. } => Phase::Run,
            Self::Claim { .. } => Phase::Claim,
            Self::Report { .. } => Phase::Report,
            Self::Timeout { .. } => Phase::Timeout,
            Self::Stream { .. } => Phase::Stream,
            Self::InitReport { .. } => Phase::InitReport,
            Self::Exit => Phase::Exit,
        }
    }

    pub(super) fn invocation(&self) -> Option<&Invocation> {
        match self {
            Self::Run { inv, .. }
            | Self::Claim { inv, .. }
            | Self::Report { inv, .. }
            | Self::Timeout { inv, .. }
            | Self::Stream { inv, .. } => Some(inv),
            _ => None,
        }
    }

    fn io(&self) -> Option<Io> {
        match self {
            Self::Poll { io }
            | Self::Report { io, .. }
            | Self::Timeout { io, .. }
            | Self::InitReport { io } => Some(*io),
            Self::Stream {
                step: StreamStep::Due,
                ..
            } => Some(Io::Due),
            Self::Stream { .. } => Some(Io::InFlight),
            _ => None,
        }
    }

    fn set_io(&mut self, new: Io) {
        if let Self::Poll { io }
        | Self::Report { io, .. }
        | Self::Timeout { io, .. }
        | Self::InitReport { io } = self
        {
            *io = new;
        } else if let Self::Stream { step, .. } = self {
            if *step == StreamStep::Due && new == Io::InFlight {
                *step = StreamStep::Flowing;
            }
        }
    }

    /// The request kind this lane's request in flight is, if it has one.
    fn request_kind(&self) -> Option<RequestKind> {
        match self {
            Self::Poll { .. } => Some(RequestKind::Next),
            Self::Report {
                post: Post::Response { .. },
                ..
            } => Some(RequestKind::Response),
            Self::Report { .. } | Self::Timeout { .. } => Some(RequestKind::Error),
            Self::Stream { .. } => Some(RequestKind::Response),
            Self::InitReport { .. } => Some(RequestKind::InitError),
            _ => None,
        }
    }

    /// The instant this lane wants to be woken at.
    fn timer(&self) -> Option<EpochMillis> {
        match self {
            Self::Run { timer, .. } => *timer,
            Self::Stream {
                timer,
                step: StreamStep::Due | StreamStep::Flowing,
                ..
            } => *timer,
            Self::Stream { .. } => None,
            _ => match self.io() {
                Some(Io::RetryAt(t) | Io::Receiving(t)) => Some(t),
                _ => None,
            },
        }
    }
}

#[derive(Debug)]
pub(super) struct Lane {
    pub(super) state: LaneState,
    /// Transport failures (or refusals of `/next`) in a row.
    failures: u32,
}

#[derive(Debug)]
pub(super) struct State<const LANES: usize> {
    pub(super) options: Options,
    pub(super) active: usize,
    pub(super) lanes: [Lane; LANES],
    setup_started: bool,
    exit: Option<ExitReason>,
    /// Lane `poll` looks at first, rotated for fairness.
    cursor: usize,
    /// The latest `now` seen; a clock stepping backwards is clamped to it.
    latest: EpochMillis,
    /// An implausible deadline was logged at warning level already.
    warned_deadline: bool,
    /// The last change of lane state, for the tests of each row of the table.
    #[cfg(test)]
    pub(super) last: Option<(Phase, InputKind, Phase)>,
}

impl<const LANES: usize> State<LANES> {
    pub(super) fn new(mut options: Options) -> Self {
        let active = options.lanes.clamp(1, LANES);
        if active != options.lanes {
            log::warn!("{} lanes requested, using {active}", options.lanes);
        }
        options.lanes = active;
        Self {
            options,
            active,
            lanes: core::array::from_fn(|_| Lane {
                state: LaneState::Init,
                failures: 0,
            }),
            setup_started: false,
            exit: None,
            cursor: 0,
            latest: EpochMillis::ZERO,
            warned_deadline: false,
            #[cfg(test)]
            last: None,
        }
    }

    pub(super) fn clock(&mut self, now: EpochMillis) -> EpochMillis {
        self.latest = self.latest.max(now);
        self.latest
    }

    /// Ok if `input` is legal for `lane`; otherwise the misuse, and nothing changes.
    pub(super) fn check(&self, lane: usize, input: InputKind) -> Result<(), Misuse> {
        if lane >= self.active {
            return Err(Misuse::NoSuchLane(lane));
        }
        let phase = self.lanes[lane].state.phase();
        if is_legal(phase, input) {
            Ok(())
        } else {
            Err(Misuse::Illegal { phase, input })
        }
    }

    fn check_in_flight(&self, lane: usize, input: InputKind) -> Result<(), Misuse> {
        self.check(lane, input)?;
        if self.lanes[lane].state.io().is_some_and(Io::in_flight) {
            Ok(())
        } else {
            Err(Misuse::NoRequestInFlight)
        }
    }

    /// Changes `lane`'s state to `next` on `input`.
    fn set(&mut self, lane: usize, input: InputKind, next: LaneState) {
        let from = self.lanes[lane].state.phase();
        self.put(lane, from, input, next);
    }

    /// `lane` takes the row (its phase, `input`, its phase): the state stays, `change` adjusts
    /// its request bookkeeping (when it is sent again).
    pub(super) fn stay(
        &mut self,
        lane: usize,
        input: InputKind,
        change: impl FnOnce(&mut LaneState),
    ) {
        let phase = self.lanes[lane].state.phase();
        debug_assert!(
            super::TRANSITIONS
                .iter()
                .any(|t| t.from == phase && t.input == input && t.to == phase),
            "transition {phase:?} --{input:?}--> {phase:?} is not in TRANSITIONS"
        );
        #[cfg(test)]
        {
            self.last = Some((phase, input, phase));
        }
        change(&mut self.lanes[lane].state);
    }

    /// Takes `lane`'s state out (leaving `Exit` until [`State::put`]), so that what it holds
    /// moves into the next state instead of being copied.
    pub(super) fn take(&mut self, lane: usize) -> LaneState {
        core::mem::replace(&mut self.lanes[lane].state, LaneState::Exit)
    }

    /// The one assignment of a lane's state: `next`, reached from `from` on `input`.
    pub(super) fn put(&mut self, lane: usize, from: Phase, input: InputKind, next: LaneState) {
        debug_assert!(
            super::TRANSITIONS
                .iter()
                .any(|t| t.from == from && t.input == input && t.to == next.phase()),
            "transition {from:?} --{input:?}--> {:?} is not in TRANSITIONS",
            next.phase()
        );
        #[cfg(test)]
        {
            self.last = Some((from, input, next.phase()));
        }
        self.lanes[lane].state = next;
    }

    fn exit(&mut self, lane: usize, input: InputKind, reason: ExitReason) {
        let from = self.lanes[lane].state.phase();
        self.exit_from(lane, from, input, reason);
    }

    /// [`State::exit`] for a lane whose state was taken out of phase `from`.
    fn exit_from(&mut self, lane: usize, from: Phase, input: InputKind, reason: ExitReason) {
        log::error!("exiting: {reason}");
        self.put(lane, from, input, LaneState::Exit);
        self.exit = Some(reason);
        for l in &mut self.lanes[..self.active] {
            l.state = LaneState::Exit;
        }
    }

    /// Where a lane goes once its handler's result (or its timeout) is known: straight to the
    /// post, or first to `Claim` when a watchdog may have reported the invocation already.
    pub(super) fn finish(&self, inv: Invocation, post: Post) -> LaneState {
        if self.options.watched {
            LaneState::Claim {
                inv,
                post,
                asked: false,
            }
        } else {
            LaneState::report(inv, post)
        }
    }

    pub(super) fn setup(&mut self, now: EpochMillis, ok: bool) -> Result<(), Misuse> {
        let input = if ok {
            InputKind::SetupDone
        } else {
            InputKind::SetupFailed
        };
        self.check(0, input)?;
        self.clock(now);
        self.setup_started = true;
        let extension = self.options.extension;
        for lane in 0..self.active {
            let next = match (ok, lane) {
                (true, 0) if extension => LaneState::Register { asked: false },
                (true, _) if extension => LaneState::Init,
                (true, _) => LaneState::Poll { io: Io::Due },
                (false, 0) => LaneState::InitReport { io: Io::Due },
                (false, _) => LaneState::Exit,
            };
            self.set(lane, input, next);
        }
        Ok(())
    }

    pub(super) fn extension_settled(
        &mut self,
        now: EpochMillis,
        registered: bool,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::ExtensionSettled;
        self.check(0, INPUT)?;
        // (Init, ExtensionSettled) is a row for the other lanes; lane 0 takes it only in
        // Register, else a registration nobody asked for would skip setup, and only once the
        // registration was handed out (before that, no request is in flight).
        match self.lanes[0].state {
            LaneState::Register { asked: true } => {}
            LaneState::Register { asked: false } => return Err(Misuse::NoRequestInFlight),
            ref other => {
                return Err(Misuse::Illegal {
                    phase: other.phase(),
                    input: INPUT,
                });
            }
        }
        if !registered {
            log::debug!("going on without the internal extension");
        }
        self.clock(now);
        for lane in 0..self.active {
            self.set(lane, INPUT, LaneState::Poll { io: Io::Due });
        }
        Ok(())
    }

    pub(super) fn response(
        &mut self,
        now: EpochMillis,
        lane: usize,
        head: &ResponseHead<'_>,
        body_len: u64,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::Response;
        self.check_in_flight(lane, INPUT)?;
        let now = self.clock(now);
        let status = head.status;
        let Some(kind) = self.lanes[lane].state.request_kind() else {
            // `check_in_flight` admits only lanes with a request in flight.
            return Ok(());
        };
        let verdict = answer(kind, status);
        if verdict == Answer::ServerError {
            self.exit(lane, INPUT, ExitReason::ServerError { status });
            return Ok(());
        }
        let l = &mut self.lanes[lane];
        let next = match &l.state {
            LaneState::Poll { .. } => {
                self.next_answered(now, lane, verdict, head, body_len);
                return Ok(());
            }
            LaneState::InitReport { .. } => {
                if verdict != Answer::Accepted {
                    log::warn!("/runtime/init/error answered {status}");
                }
                self.exit(lane, INPUT, ExitReason::SetupFailed);
                return Ok(());
            }
            LaneState::Report { inv, .. } | LaneState::Timeout { inv, .. } => {
                l.failures = 0;
                let id = &inv.request_id;
                match (verdict, post_of(&l.state)) {
                    (Answer::TooLarge, Some(Post::Response { len })) => {
                        log::warn!(
                            requestId = id.as_str(), errorType = ErrorType::RESPONSE_TOO_LARGE;
                            "response of {len} bytes refused as too large (413)"
                        );
                        let post = Post::Error(ErrorCause::ResponseTooLarge { len });
                        LaneState::report(inv.clone(), post)
                    }
                    (Answer::Accepted, _) => LaneState::Poll { io: Io::Due },
                    (Answer::Gone, _) => {
                        log::warn!(
                            requestId = id.as_str();
                            "report refused: the invocation timed out ({status})"
                        );
                        LaneState::Poll { io: Io::Due }
                    }
                    (_, _) => {
                        log::warn!(
                            requestId = id.as_str();
                            "report refused with {status}; not retried"
                        );
                        LaneState::Poll { io: Io::Due }
                    }
                }
            }
            LaneState::Stream { inv, .. } => {
                l.failures = 0;
                let id = &inv.request_id;
                match verdict {
                    Answer::Accepted => {}
                    Answer::TooLarge => log::warn!(
                        requestId = id.as_str(), errorType = ErrorType::RESPONSE_TOO_LARGE;
                        "the stream was refused as too large ({status})"
                    ),
                    _ => log::warn!(
                        requestId = id.as_str();
                        "the stream was refused with {status}"
                    ),
                }
                LaneState::Poll { io: Io::Due }
            }
            LaneState::Init
            | LaneState::Register { .. }
            | LaneState::Run { .. }
            | LaneState::Claim { .. }
            | LaneState::Exit => {
                return Ok(());
            }
        };
        self.set(lane, INPUT, next);
        Ok(())
    }

    fn next_answered(
        &mut self,
        now: EpochMillis,
        lane: usize,
        verdict: Answer,
        head: &ResponseHead<'_>,
        body_len: u64,
    ) {
        const INPUT: InputKind = InputKind::Response;
        let status = head.status;
        if verdict != Answer::Delivered {
            log::warn!("/next answered {status}");
            self.lanes[lane].failures += 1;
            let failures = self.lanes[lane].failures;
            if failures >= MAX_ATTEMPTS {
                self.exit(lane, INPUT, ExitReason::Refused { status });
            } else {
                let at = now.saturating_add(backoff_ms(failures.saturating_add(1)));
                let io = Io::RetryAt(at);
                self.set(lane, INPUT, LaneState::Poll { io });
            }
            return;
        }
        self.lanes[lane].failures = 0;
        let fields = crate::wire::header::NextFields::read(head);
        let inv = match Invocation::from_fields(&fields) {
            Ok(inv) => inv,
            Err(e) => {
                log::error!("/next answered 200 but the invocation cannot be reported: {e}");
                self.set(lane, INPUT, LaneState::Poll { io: Io::Due });
                return;
            }
        };
        if let Some(header) = fields.conflicting() {
            log::error!(
                requestId = inv.request_id.as_str(), errorType = ErrorType::MALFORMED_EVENT;
                "/next answered with {header} twice, with different values: the event is malformed"
            );
            let post = Post::Error(ErrorCause::EventMalformed { header });
            self.set(lane, INPUT, LaneState::report(inv, post));
            return;
        }
        if body_len > MAX_PAYLOAD_BYTES as u64 {
            log::warn!(
                requestId = inv.request_id.as_str(),
                errorType = ErrorType::EVENT_TOO_LARGE;
                "event of {body_len} bytes is too large"
            );
            let post = Post::Error(ErrorCause::EventTooLarge { len: body_len });
            self.set(lane, INPUT, LaneState::report(inv, post));
            return;
        }
        let timer = self.timeout_at(now, &inv);
        let run = LaneState::Run {
            inv,
            timer,
            started: false,
            arrived: now,
        };
        self.set(lane, INPUT, run);
    }

    /// When `inv` times out (its deadline minus the margin), or `None` for a missing or
    /// implausible deadline.
    fn timeout_at(&mut self, now: EpochMillis, inv: &Invocation) -> Option<EpochMillis> {
        let d = inv.deadline?;
        let ahead = d.at().millis_since(now);
        if d.at() <= now || ahead > MAX_DEADLINE_AHEAD_MS {
            // Local emulators send such deadlines on every invocation: say it once.
            let level = if self.warned_deadline {
                log::Level::Debug
            } else {
                log::Level::Warn
            };
            self.warned_deadline = true;
            log::log!(
                level,
                requestId = inv.request_id.as_str();
                "implausible deadline {} (now {now}): no timeout armed",
                d.at()
            );
            return None;
        }
        Some(
            d.at()
                .saturating_sub(self.options.timeout_margin_ms)
                .max(now),
        )
    }

    pub(super) fn truncated(
        &mut self,
        now: EpochMillis,
        lane: usize,
        head: &ResponseHead<'_>,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::Response;
        let is_next = matches!(
            self.lanes.get(lane).map(|l| &l.state),
            Some(LaneState::Poll { .. })
        );
        let inv = (is_next && answer(RequestKind::Next, head.status) == Answer::Delivered)
            .then(|| Invocation::from_head(head).ok())
            .flatten();
        let Some(inv) = inv else {
            // The status line is what matters for every other answer.
            return self.response(now, lane, head, 0);
        };
        self.check_in_flight(lane, INPUT)?;
        self.clock(now);
        self.lanes[lane].failures = 0;
        log::warn!(
            requestId = inv.request_id.as_str(), errorType = ErrorType::TRUNCATED_EVENT;
            "the event's body was cut off"
        );
        let post = Post::Error(ErrorCause::EventTruncated);
        self.set(lane, INPUT, LaneState::report(inv, post));
        Ok(())
    }

    pub(super) fn answer_started(&mut self, now: EpochMillis, lane: usize) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::AnswerStarted;
        self.check(lane, INPUT)?;
        if self.lanes[lane].state.io() != Some(Io::InFlight) {
            return Err(Misuse::NoRequestInFlight);
        }
        let now = self.clock(now);
        let due = now.saturating_add(ANSWER_TIMEOUT_MS);
        self.stay(lane, INPUT, |state| state.set_io(Io::Receiving(due)));
        Ok(())
    }

    pub(super) fn claim(
        &mut self,
        now: EpochMillis,
        lane: usize,
        outcome: ClaimOutcome,
    ) -> Result<(), Misuse> {
        let input = match outcome {
            ClaimOutcome::Won => InputKind::Claimed,
            ClaimOutcome::ReportedElsewhere { .. } => InputKind::ReportedElsewhere,
        };
        self.check(lane, input)?;
        self.clock(now);
        // `check` admits only lanes in `Claim`.
        let LaneState::Claim { inv, post, .. } = self.take(lane) else {
            return Ok(());
        };
        let next = match outcome {
            ClaimOutcome::Won => LaneState::report(inv, post),
            ClaimOutcome::ReportedElsewhere { status } => {
                let id = &inv.request_id;
                match answer(RequestKind::Error, status) {
                    Answer::ServerError => {
                        let reason = ExitReason::ServerError { status };
                        self.exit_from(lane, Phase::Claim, input, reason);
                        return Ok(());
                    }
                    Answer::Accepted => {}
                    _ => log::warn!(
                        requestId = id.as_str();
                        "the watchdog's report was refused with {status}"
                    ),
                }
                if matches!(
                    post,
                    Post::Response { .. } | Post::Error(ErrorCause::Handler) | Post::Stream { .. }
                ) {
                    log::warn!(
                        requestId = id.as_str();
                        "late handler result dropped: the watchdog reported it"
                    );
                }
                self.lanes[lane].failures = 0;
                LaneState::Poll { io: Io::Due }
            }
        };
        self.put(lane, Phase::Claim, input, next);
        Ok(())
    }

    pub(super) fn transport_failed(&mut self, now: EpochMillis, lane: usize) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::TransportFailed;
        self.check_in_flight(lane, INPUT)?;
        let now = self.clock(now);
        if let LaneState::Stream { inv, .. } = &self.lanes[lane].state {
            log::error!(
                requestId = inv.request_id.as_str();
                "the connection broke while streaming the response: the caller got what was \
                 sent so far (Lambda reports it as truncated); not sent again"
            );
            self.set(lane, INPUT, LaneState::Poll { io: Io::Due });
            return Ok(());
        }
        let l = &mut self.lanes[lane];
        l.failures += 1;
        if l.failures >= MAX_ATTEMPTS {
            self.exit(lane, INPUT, ExitReason::Unreachable);
            return Ok(());
        }
        let delay = backoff_ms(l.failures);
        log::warn!(
            "Runtime API request failed ({} in a row), retrying in {delay} ms",
            l.failures
        );
        let io = if delay == 0 {
            Io::Due
        } else {
            Io::RetryAt(now.saturating_add(delay))
        };
        // Same phase, same request: only when it is sent again changes.
        self.stay(lane, INPUT, |state| state.set_io(io));
        Ok(())
    }

    pub(super) fn handler_done(
        &mut self,
        now: EpochMillis,
        lane: usize,
        id: &RequestId,
        outcome: HandlerOutcome,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::HandlerDone;
        self.check(lane, INPUT)?;
        let state = &self.lanes[lane].state;
        if state.invocation().map(|inv| &inv.request_id) != Some(id) {
            return Err(Misuse::WrongRequestId);
        }
        if let LaneState::Stream { .. } = state {
            let error = match outcome {
                HandlerOutcome::Failed => Some(ErrorCause::Handler),
                HandlerOutcome::Ok { .. } => None,
            };
            self.clock(now);
            self.end_stream(lane, INPUT, error);
            return Ok(());
        }
        if !matches!(state, LaneState::Run { .. }) {
            log::warn!(
                requestId = id.as_str();
                "handler finished after its timeout was reported; dropped"
            );
            self.stay(lane, INPUT, |_| {});
            return Ok(());
        }
        let post = match outcome {
            HandlerOutcome::Ok { len } if len > MAX_PAYLOAD_BYTES => {
                log::warn!(
                    requestId = id.as_str(), errorType = ErrorType::RESPONSE_TOO_LARGE;
                    "response of {len} bytes is too large"
                );
                Post::Error(ErrorCause::ResponseTooLarge { len })
            }
            HandlerOutcome::Ok { len } => Post::Response { len },
            HandlerOutcome::Failed => Post::Error(ErrorCause::Handler),
        };
        self.clock(now);
        let LaneState::Run { inv, .. } = self.take(lane) else {
            return Ok(());
        };
        let next = self.finish(inv, post);
        self.put(lane, Phase::Run, INPUT, next);
        Ok(())
    }

    pub(super) fn timeout(&mut self, now: EpochMillis) {
        let now = self.clock(now);
        for lane in 0..self.active {
            let state = &mut self.lanes[lane].state;
            match state.timer() {
                Some(t) if t <= now => {}
                _ => continue,
            }
            if let LaneState::Run { .. } = state {
                let LaneState::Run { inv, arrived, .. } = self.take(lane) else {
                    continue;
                };
                let deadline = inv.deadline.unwrap_or(Deadline(now));
                log::error!(
                    requestId = inv.request_id.as_str(), errorType = ErrorType::TIMEOUT;
                    "handler timed out (deadline {})",
                    deadline.at()
                );
                let cause = ErrorCause::Timeout {
                    deadline,
                    margin_ms: self.options.timeout_margin_ms,
                    budget_ms: deadline.at().millis_since(arrived),
                };
                let next = self.finish(inv, Post::Error(cause));
                self.put(lane, Phase::Run, InputKind::TimerFired, next);
            } else if let LaneState::Stream { inv, arrived, .. } = state {
                let deadline = inv.deadline.unwrap_or(Deadline(now));
                log::error!(
                    requestId = inv.request_id.as_str(), errorType = ErrorType::TIMEOUT;
                    "handler timed out while streaming (deadline {})",
                    deadline.at()
                );
                let budget_ms = deadline.at().millis_since(*arrived);
                let cause = ErrorCause::Timeout {
                    deadline,
                    margin_ms: self.options.timeout_margin_ms,
                    budget_ms,
                };
                self.end_stream(lane, InputKind::TimerFired, Some(cause));
            } else if let Some(Io::Receiving(_)) = state.io() {
                let what = match state.request_kind() {
                    Some(RequestKind::Next) => "/next",
                    Some(RequestKind::InitError) => "/runtime/init/error",
                    _ => "a post",
                };
                log::warn!(
                    "the Runtime API's answer to {what} stalled: incomplete {ANSWER_TIMEOUT_MS} ms \
                     after its first bytes; abandoning it"
                );
                let io = Io::Abandon { asked: false };
                self.stay(lane, InputKind::TimerFired, |state| state.set_io(io));
            } else {
                // A backoff is over: the same request is due again.
                self.stay(lane, InputKind::TimerFired, |state| state.set_io(Io::Due));
            }
        }
    }

    pub(super) fn poll(&mut self) -> Action<'_> {
        if let Some(reason) = self.exit {
            return Action::Exit(reason);
        }
        if !self.setup_started {
            self.setup_started = true;
            return Action::RunSetup;
        }
        let Some(lane) = self.take_due() else {
            let until = self.lanes[..self.active]
                .iter()
                .filter_map(|l| l.state.timer())
                .min();
            return Action::Wait { until };
        };
        if let Some(Io::Abandon { .. }) = self.lanes[lane].state.io() {
            return Action::AbandonRequest { lane };
        }
        match &self.lanes[lane].state {
            LaneState::Poll { .. } => Action::FetchNext { lane },
            LaneState::Run { inv, timer, .. } => Action::RunHandler {
                lane,
                invocation: inv,
                timeout_at: *timer,
            },
            LaneState::Claim { inv, .. } => Action::Claim {
                lane,
                invocation: inv,
            },
            // `LaneState::report` makes a `Stream` state of a streamed post: a `Report` never
            // holds one.
            LaneState::Report {
                inv,
                post: Post::Response { .. } | Post::Stream { .. },
                ..
            } => Action::PostResponse {
                lane,
                invocation: inv,
            },
            LaneState::Report {
                inv,
                post: Post::Error(cause),
                ..
            }
            | LaneState::Timeout { inv, cause, .. } => Action::PostError {
                lane,
                invocation: inv,
                cause: *cause,
            },
            LaneState::InitReport { .. } => Action::PostInitError { lane },
            LaneState::Register { .. } => Action::RegisterExtension,
            LaneState::Stream {
                inv,
                step: StreamStep::End { error, .. },
                ..
            } => Action::EndStream {
                lane,
                invocation: inv,
                error: *error,
            },
            LaneState::Stream { inv, .. } => Action::StreamResponse {
                lane,
                invocation: inv,
            },
            // `take_due` never picks these.
            LaneState::Init | LaneState::Exit => Action::Wait { until: None },
        }
    }

    /// The next lane with an action due (round-robin), marked as handed out.
    fn take_due(&mut self) -> Option<usize> {
        for k in 0..self.active {
            let lane = (self.cursor + k) % self.active;
            let state = &mut self.lanes[lane].state;
            let due = match state {
                LaneState::Run { started: once, .. }
                | LaneState::Claim { asked: once, .. }
                | LaneState::Register { asked: once }
                | LaneState::Stream {
                    step: StreamStep::End { asked: once, .. },
                    ..
                } => !core::mem::replace(once, true),
                _ if state.io() == Some(Io::Due) => {
                    state.set_io(Io::InFlight);
                    true
                }
                _ if state.io() == Some(Io::Abandon { asked: false }) => {
                    state.set_io(Io::Abandon { asked: true });
                    true
                }
                _ => false,
            };
            if due {
                self.cursor = (lane + 1) % self.active;
                return Some(lane);
            }
        }
        None
    }
}

/// What a lane in `Report` or `Timeout` posts.
fn post_of(state: &LaneState) -> Option<Post> {
    match state {
        LaneState::Report { post, .. } => Some(*post),
        LaneState::Timeout { cause, .. } => Some(Post::Error(*cause)),
        _ => None,
    }
}
