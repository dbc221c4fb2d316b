//! The lifecycle's private state. Only this file assigns lane states.

use super::{
    Action, ErrorCause, ExitReason, HandlerOutcome, InputKind, Invocation, MAX_ATTEMPTS,
    MAX_DEADLINE_AHEAD_MS, MAX_PAYLOAD_BYTES, Options, Phase, backoff_ms, is_legal,
};
use crate::error::Misuse;
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
}

/// What a lane in `Report` posts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Post {
    Response { len: usize },
    Error(ErrorCause),
}

#[derive(Debug)]
pub(super) enum LaneState {
    Init,
    Poll {
        io: Io,
    },
    Run {
        inv: Invocation,
        timer: Option<EpochMillis>,
        started: bool,
    },
    Report {
        inv: Invocation,
        post: Post,
        io: Io,
    },
    InitReport {
        io: Io,
    },
    Exit,
}

impl LaneState {
    /// About to post `post` for `inv`.
    fn report(inv: Invocation, post: Post) -> Self {
        Self::Report {
            inv,
            post,
            io: Io::Due,
        }
    }

    pub(super) fn phase(&self) -> Phase {
        match self {
            Self::Init => Phase::Init,
            Self::Poll { .. } => Phase::Poll,
            Self::Run { .. } => Phase::Run,
            Self::Report {
                post: Post::Error(ErrorCause::Timeout { .. }),
                ..
            } => Phase::Timeout,
            Self::Report { .. } | Self::InitReport { .. } => Phase::Report,
            Self::Exit => Phase::Exit,
        }
    }

    pub(super) fn invocation(&self) -> Option<&Invocation> {
        match self {
            Self::Run { inv, .. } | Self::Report { inv, .. } => Some(inv),
            _ => None,
        }
    }

    fn io(&self) -> Option<Io> {
        match self {
            Self::Poll { io } | Self::Report { io, .. } | Self::InitReport { io } => Some(*io),
            _ => None,
        }
    }

    fn set_io(&mut self, new: Io) {
        if let Self::Poll { io } | Self::Report { io, .. } | Self::InitReport { io } = self {
            *io = new;
        }
    }

    /// The instant this lane wants to be woken at.
    fn timer(&self) -> Option<EpochMillis> {
        match self {
            Self::Run { timer, .. } => *timer,
            _ => match self.io() {
                Some(Io::RetryAt(t)) => Some(t),
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
        }
    }

    fn clock(&mut self, now: EpochMillis) -> EpochMillis {
        self.latest = self.latest.max(now);
        self.latest
    }

    /// The lane, if `input` is legal for it; otherwise the misuse and no change.
    fn check(&self, lane: usize, input: InputKind) -> Result<(), Misuse> {
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
        if self.lanes[lane].state.io() == Some(Io::InFlight) {
            Ok(())
        } else {
            Err(Misuse::NoRequestInFlight)
        }
    }

    fn set(&mut self, lane: usize, input: InputKind, next: LaneState) {
        debug_assert!(
            super::TRANSITIONS
                .iter()
                .any(|t| t.from == self.lanes[lane].state.phase()
                    && t.input == input
                    && t.to == next.phase()),
            "transition {:?} --{input:?}--> {:?} is not in TRANSITIONS",
            self.lanes[lane].state.phase(),
            next.phase()
        );
        self.lanes[lane].state = next;
    }

    fn exit(&mut self, lane: usize, input: InputKind, reason: ExitReason) {
        log::error!("exiting: {reason}");
        self.set(lane, input, LaneState::Exit);
        self.exit = Some(reason);
        for l in &mut self.lanes[..self.active] {
            l.state = LaneState::Exit;
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
        for lane in 0..self.active {
            let next = match (ok, lane) {
                (true, _) => LaneState::Poll { io: Io::Due },
                (false, 0) => LaneState::InitReport { io: Io::Due },
                (false, _) => LaneState::Exit,
            };
            self.set(lane, input, next);
        }
        Ok(())
    }

    pub(super) fn response(
        &mut self,
        now: EpochMillis,
        lane: usize,
        status: u16,
        head: &ResponseHead<'_>,
        body_len: u64,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::Response;
        self.check_in_flight(lane, INPUT)?;
        let now = self.clock(now);
        if status >= 500 {
            self.exit(lane, INPUT, ExitReason::ServerError { status });
            return Ok(());
        }
        let l = &mut self.lanes[lane];
        let next = match &l.state {
            LaneState::Poll { .. } => {
                self.next_answered(now, lane, status, head, body_len);
                return Ok(());
            }
            LaneState::InitReport { .. } => {
                if !(200..300).contains(&status) {
                    log::warn!("/runtime/init/error answered {status}");
                }
                self.exit(lane, INPUT, ExitReason::SetupFailed);
                return Ok(());
            }
            LaneState::Report { inv, post, .. } => {
                l.failures = 0;
                let id = &inv.request_id;
                match (status, *post) {
                    (200..=299, _) => LaneState::Poll { io: Io::Due },
                    (413, Post::Response { len }) => {
                        log::warn!("[{id}] response of {len} bytes refused as too large (413)");
                        let post = Post::Error(ErrorCause::ResponseTooLarge { len });
                        LaneState::report(inv.clone(), post)
                    }
                    (410, _) => {
                        log::warn!("[{id}] report refused: the invocation timed out (410)");
                        LaneState::Poll { io: Io::Due }
                    }
                    (_, _) => {
                        log::warn!("[{id}] report refused with {status}; not retried");
                        LaneState::Poll { io: Io::Due }
                    }
                }
            }
            // `check_in_flight` admits only lanes with a request in flight.
            LaneState::Init | LaneState::Run { .. } | LaneState::Exit => return Ok(()),
        };
        self.set(lane, INPUT, next);
        Ok(())
    }

    fn next_answered(
        &mut self,
        now: EpochMillis,
        lane: usize,
        status: u16,
        head: &ResponseHead<'_>,
        body_len: u64,
    ) {
        const INPUT: InputKind = InputKind::Response;
        if status != 200 {
            log::warn!("/next answered {status}");
            self.lanes[lane].failures += 1;
            let failures = self.lanes[lane].failures;
            if failures >= MAX_ATTEMPTS {
                self.exit(lane, INPUT, ExitReason::Refused { status });
            } else {
                let at = now.saturating_add(backoff_ms(failures.saturating_add(1)));
                self.set(
                    lane,
                    INPUT,
                    LaneState::Poll {
                        io: Io::RetryAt(at),
                    },
                );
            }
            return;
        }
        self.lanes[lane].failures = 0;
        let inv = match Invocation::from_head(head) {
            Ok(inv) => inv,
            Err(e) => {
                log::error!("/next answered 200 but the invocation cannot be reported: {e}");
                self.set(lane, INPUT, LaneState::Poll { io: Io::Due });
                return;
            }
        };
        if body_len > MAX_PAYLOAD_BYTES as u64 {
            log::warn!(
                "[{}] event of {body_len} bytes is too large",
                inv.request_id
            );
            let post = Post::Error(ErrorCause::EventTooLarge { len: body_len });
            self.set(lane, INPUT, LaneState::report(inv, post));
            return;
        }
        let warned = &mut self.warned_deadline;
        let timer = inv.deadline.and_then(|d| {
            let ahead = d.at().millis_since(now);
            if d.at() <= now || ahead > MAX_DEADLINE_AHEAD_MS {
                // Local emulators send such deadlines on every invocation: say it once.
                let level = if *warned {
                    log::Level::Debug
                } else {
                    log::Level::Warn
                };
                *warned = true;
                log::log!(
                    level,
                    "[{}] implausible deadline {} (now {now}): no timeout armed",
                    inv.request_id,
                    d.at()
                );
                None
            } else {
                Some(
                    d.at()
                        .saturating_sub(self.options.timeout_margin_ms)
                        .max(now),
                )
            }
        });
        self.set(
            lane,
            INPUT,
            LaneState::Run {
                inv,
                timer,
                started: false,
            },
        );
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
        let inv = (is_next && head.status == 200)
            .then(|| Invocation::from_head(head).ok())
            .flatten();
        let Some(inv) = inv else {
            // The status line is what matters for every other answer.
            return self.response(now, lane, head.status, head, 0);
        };
        self.check_in_flight(lane, INPUT)?;
        self.clock(now);
        self.lanes[lane].failures = 0;
        log::warn!("[{}] the event's body was cut off", inv.request_id);
        let post = Post::Error(ErrorCause::EventTruncated);
        self.set(lane, INPUT, LaneState::report(inv, post));
        Ok(())
    }

    pub(super) fn reported_elsewhere(
        &mut self,
        now: EpochMillis,
        lane: usize,
        status: u16,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::ReportedElsewhere;
        self.check(lane, INPUT)?;
        self.clock(now);
        if status >= 500 {
            self.exit(lane, INPUT, ExitReason::ServerError { status });
            return Ok(());
        }
        if !(200..300).contains(&status) {
            log::warn!("the watchdog's report was refused with {status}; not retried");
        }
        self.lanes[lane].failures = 0;
        self.set(lane, INPUT, LaneState::Poll { io: Io::Due });
        Ok(())
    }

    pub(super) fn transport_failed(&mut self, now: EpochMillis, lane: usize) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::TransportFailed;
        self.check_in_flight(lane, INPUT)?;
        let now = self.clock(now);
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
        debug_assert!(super::is_legal(l.state.phase(), INPUT));
        l.state.set_io(io);
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
        let LaneState::Run { inv, .. } = state else {
            log::warn!("[{id}] handler finished after its timeout was reported; dropped");
            return Ok(());
        };
        let post = match outcome {
            HandlerOutcome::Ok { len } if len > MAX_PAYLOAD_BYTES => {
                log::warn!("[{id}] response of {len} bytes is too large");
                Post::Error(ErrorCause::ResponseTooLarge { len })
            }
            HandlerOutcome::Ok { len } => Post::Response { len },
            HandlerOutcome::Failed => Post::Error(ErrorCause::Handler),
        };
        let next = LaneState::report(inv.clone(), post);
        self.clock(now);
        self.set(lane, INPUT, next);
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
            if let LaneState::Run { inv, .. } = state {
                let deadline = inv.deadline.unwrap_or(Deadline(now));
                log::error!(
                    "[{}] handler timed out (deadline {})",
                    inv.request_id,
                    deadline.at()
                );
                let cause = ErrorCause::Timeout {
                    deadline,
                    margin_ms: self.options.timeout_margin_ms,
                };
                let post = Post::Error(cause);
                let next = LaneState::report(inv.clone(), post);
                self.set(lane, InputKind::TimerFired, next);
            } else {
                state.set_io(Io::Due);
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
        match &self.lanes[lane].state {
            LaneState::Poll { .. } => Action::FetchNext { lane },
            LaneState::Run { inv, timer, .. } => Action::RunHandler {
                lane,
                invocation: inv,
                timeout_at: *timer,
            },
            LaneState::Report {
                inv,
                post: Post::Response { .. },
                ..
            } => Action::PostResponse {
                lane,
                invocation: inv,
            },
            LaneState::Report {
                inv,
                post: Post::Error(cause),
                ..
            } => Action::PostError {
                lane,
                invocation: inv,
                cause: *cause,
            },
            LaneState::InitReport { .. } => Action::PostInitError { lane },
            // `take_due` never picks these.
            LaneState::Init | LaneState::Exit => Action::Wait { until: None },
        }
    }

    /// The next lane with an action due (round-robin), marked as handed out.
    fn take_due(&mut self) -> Option<usize> {
        for k in 0..self.active {
            let lane = (self.cursor + k) % self.active;
            let state = &mut self.lanes[lane].state;
            let due = if let LaneState::Run { started, .. } = state {
                !core::mem::replace(started, true)
            } else if state.io() == Some(Io::Due) {
                state.set_io(Io::InFlight);
                true
            } else {
                false
            };
            if due {
                self.cursor = (lane + 1) % self.active;
                return Some(lane);
            }
        }
        None
    }
}
