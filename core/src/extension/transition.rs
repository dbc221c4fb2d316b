//! The extension machine's private state. Only this file changes it: a new phase only through
//! [`State::put`], the same phase with new request bookkeeping only through [`State::stay`], both
//! checked against [`TRANSITIONS`](super::TRANSITIONS).

use super::machine::{Action, Delivered, ErrorCause, ExitReason, Misuse, Options, StepOutcome};
use super::name::{ExtensionId, ExtensionName, Kind};
use super::request::RequestKind;
use super::table::{Answer, InputKind, Phase, TRANSITIONS, answer, is_legal};
use crate::lifecycle::{MAX_ATTEMPTS, MAX_DEADLINE_AHEAD_MS, backoff_ms};
use crate::time::EpochMillis;
use crate::wire::ResponseHead;

/// Where the next request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Io {
    /// To be handed out by `poll`.
    Due,
    /// Handed out; waiting for its response or transport failure.
    InFlight,
    /// Failed; handed out again once the clock reaches the instant.
    RetryAt(EpochMillis),
}

/// One variant per [`Phase`], each holding what that phase needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Register {
        io: Io,
    },
    Init {
        started: bool,
    },
    Subscribe {
        io: Io,
    },
    Next {
        io: Io,
    },
    Invoke {
        deadline: Option<EpochMillis>,
        started: bool,
    },
    Shutdown {
        until: Option<EpochMillis>,
        started: bool,
    },
    Report {
        cause: ErrorCause,
        io: Io,
        /// The shutdown deadline (minus the margin) for a failed shutdown step.
        until: Option<EpochMillis>,
    },
    Exit {
        reason: ExitReason,
        give_up: bool,
    },
}

impl Stage {
    fn phase(&self) -> Phase {
        match self {
            Self::Register { .. } => Phase::Register,
            Self::Init { .. } => Phase::Init,
            Self::Subscribe { .. } => Phase::Subscribe,
            Self::Next { .. } => Phase::Next,
            Self::Invoke { .. } => Phase::Invoke,
            Self::Shutdown { .. } => Phase::Shutdown,
            Self::Report { .. } => Phase::Report,
            Self::Exit { .. } => Phase::Exit,
        }
    }

    fn io_mut(&mut self) -> Option<&mut Io> {
        match self {
            Self::Register { io }
            | Self::Subscribe { io }
            | Self::Next { io }
            | Self::Report { io, .. } => Some(io),
            _ => None,
        }
    }

    fn io(mut self) -> Option<Io> {
        self.io_mut().copied()
    }

    fn request(&self) -> Option<RequestKind> {
        match self {
            Self::Register { .. } => Some(RequestKind::Register),
            Self::Subscribe { .. } => Some(RequestKind::Subscribe),
            Self::Next { .. } => Some(RequestKind::Next),
            // Which of the two is decided by `initialized`; the status policy is the same.
            Self::Report { .. } => Some(RequestKind::ExitError),
            _ => None,
        }
    }

    /// The instant the machine wants to be woken at.
    fn timer(self) -> Option<EpochMillis> {
        let retry = match self.io() {
            Some(Io::RetryAt(t)) => Some(t),
            _ => None,
        };
        match self {
            Self::Invoke { deadline, .. } => deadline,
            Self::Shutdown { until, .. } => until,
            Self::Report { until, .. } => match (retry, until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
            _ => retry,
        }
    }
}

#[derive(Debug)]
pub(super) struct State {
    pub(super) name: ExtensionName,
    pub(super) options: Options,
    pub(super) id: Option<ExtensionId>,
    pub(super) initialized: bool,
    stage: Stage,
    /// Transport failures (or malformed events) in a row.
    failures: u32,
    /// The latest `now` seen; a clock stepping backwards is clamped to it.
    latest: EpochMillis,
    /// The last change of stage, for the tests of each row of the table.
    #[cfg(test)]
    pub(super) last: Option<(Phase, InputKind, Phase)>,
}

impl State {
    pub(super) fn new(name: ExtensionName, options: Options) -> Self {
        Self {
            name,
            options,
            id: None,
            initialized: false,
            stage: Stage::Register { io: Io::Due },
            failures: 0,
            latest: EpochMillis::ZERO,
            #[cfg(test)]
            last: None,
        }
    }

    pub(super) fn phase(&self) -> Phase {
        self.stage.phase()
    }

    fn clock(&mut self, now: EpochMillis) -> EpochMillis {
        self.latest = self.latest.max(now);
        self.latest
    }

    fn check(&self, input: InputKind) -> Result<(), Misuse> {
        let phase = self.phase();
        if is_legal(phase, input) {
            Ok(())
        } else {
            Err(Misuse::Illegal { phase, input })
        }
    }

    /// The one assignment of a new stage, reached on `input`.
    fn put(&mut self, input: InputKind, next: Stage) {
        let from = self.phase();
        debug_assert!(
            TRANSITIONS
                .iter()
                .any(|t| t.from == from && t.input == input && t.to == next.phase()),
            "transition {from:?} --{input:?}--> {:?} is not in TRANSITIONS",
            next.phase()
        );
        #[cfg(test)]
        {
            self.last = Some((from, input, next.phase()));
        }
        self.stage = next;
    }

    /// The row (phase, `input`, phase): the same request, sent again at `io`.
    fn stay(&mut self, input: InputKind, io: Io) {
        let phase = self.phase();
        debug_assert!(
            TRANSITIONS
                .iter()
                .any(|t| t.from == phase && t.input == input && t.to == phase),
            "transition {phase:?} --{input:?}--> {phase:?} is not in TRANSITIONS"
        );
        #[cfg(test)]
        {
            self.last = Some((phase, input, phase));
        }
        if let Some(slot) = self.stage.io_mut() {
            *slot = io;
        }
    }

    fn exit(&mut self, input: InputKind, reason: ExitReason) {
        // An internal extension that never registered was never waited for: it gives up alone.
        let give_up = self.options.kind == Kind::Internal && self.phase() == Phase::Register;
        if give_up {
            log::warn!("extension {} gives up: {reason}", self.name);
        } else if reason.code() == 0 {
            log::info!("extension {} exits: {reason}", self.name);
        } else {
            log::error!("extension {} exits: {reason}", self.name);
        }
        self.put(input, Stage::Exit { reason, give_up });
    }

    /// A failure to post: `until` bounds the posting during a shutdown.
    fn report(&mut self, input: InputKind, cause: ErrorCause, until: Option<EpochMillis>) {
        self.failures = 0;
        let io = Io::Due;
        self.put(input, Stage::Report { cause, io, until });
    }

    fn fetch_next(&mut self, input: InputKind) {
        self.put(input, Stage::Next { io: Io::Due });
    }

    pub(super) fn response(
        &mut self,
        now: EpochMillis,
        head: &ResponseHead<'_>,
        delivered: Option<Delivered>,
    ) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::Response;
        self.check(INPUT)?;
        if self.stage.io() != Some(Io::InFlight) {
            return Err(Misuse::NothingInFlight);
        }
        let now = self.clock(now);
        let status = head.status;
        let Some(request) = self.stage.request() else {
            return Ok(());
        };
        let verdict = answer(status);
        match self.stage {
            Stage::Register { .. } => self.registered(head, verdict),
            Stage::Subscribe { .. } => match verdict {
                Answer::Accepted => {
                    self.failures = 0;
                    self.fetch_next(INPUT);
                }
                Answer::Refused => {
                    log::error!("the telemetry subscription was refused with {status}");
                    self.report(INPUT, ErrorCause::SubscriptionRefused { status }, None);
                }
                Answer::ServerError => {
                    self.exit(INPUT, ExitReason::ServerError { request, status })
                }
            },
            Stage::Next { .. } => match verdict {
                Answer::Accepted => self.delivered(now, delivered.unwrap_or(Delivered::Malformed)),
                Answer::Refused => self.exit(INPUT, ExitReason::Refused { request, status }),
                Answer::ServerError => {
                    self.exit(INPUT, ExitReason::ServerError { request, status })
                }
            },
            Stage::Report { cause, .. } => {
                if verdict != Answer::Accepted {
                    log::warn!("the extension's error report was answered {status}");
                }
                self.exit(INPUT, ExitReason::Failed { cause });
            }
            _ => {}
        }
        Ok(())
    }

    fn registered(&mut self, head: &ResponseHead<'_>, verdict: Answer) {
        const INPUT: InputKind = InputKind::Response;
        let (request, status) = (RequestKind::Register, head.status);
        match verdict {
            Answer::Accepted => match ExtensionId::from_head(head) {
                Ok(id) => {
                    self.failures = 0;
                    self.id = Some(id);
                    self.put(INPUT, Stage::Init { started: false });
                }
                Err(e) => {
                    log::error!("extension/register answered {status}: {e}");
                    self.exit(INPUT, ExitReason::InvalidIdentifier);
                }
            },
            Answer::Refused => self.exit(INPUT, ExitReason::Refused { request, status }),
            Answer::ServerError => self.exit(INPUT, ExitReason::ServerError { request, status }),
        }
    }

    /// `event/next` answered 2xx with `delivered`.
    fn delivered(&mut self, now: EpochMillis, delivered: Delivered) {
        const INPUT: InputKind = InputKind::Response;
        if !self.initialized {
            log::debug!("extension {} is initialised", self.name);
        }
        self.initialized = true;
        match delivered {
            Delivered::Invoke { deadline } => {
                self.failures = 0;
                let deadline = plausible(now, deadline);
                let started = false;
                self.put(INPUT, Stage::Invoke { deadline, started });
            }
            Delivered::Shutdown { deadline } => {
                self.failures = 0;
                let until = plausible(now, deadline)
                    .map(|d| d.saturating_sub(self.options.shutdown_margin_ms).max(now));
                if until.is_none() {
                    log::warn!("SHUTDOWN with implausible deadline {deadline}: no time limit");
                }
                let started = false;
                self.put(INPUT, Stage::Shutdown { until, started });
            }
            Delivered::Unknown => {
                log::warn!("event/next delivered an event of an unknown type; ignored");
                self.failures = 0;
                self.stay(INPUT, Io::Due);
            }
            Delivered::Malformed => {
                self.failures += 1;
                log::warn!(
                    "event/next delivered a malformed event ({} in a row)",
                    self.failures
                );
                if self.failures >= MAX_ATTEMPTS {
                    self.exit(INPUT, ExitReason::MalformedEvents);
                } else {
                    let at = now.saturating_add(backoff_ms(self.failures.saturating_add(1)));
                    self.stay(INPUT, Io::RetryAt(at));
                }
            }
        }
    }

    pub(super) fn transport_failed(&mut self, now: EpochMillis) -> Result<(), Misuse> {
        const INPUT: InputKind = InputKind::TransportFailed;
        self.check(INPUT)?;
        if self.stage.io() != Some(Io::InFlight) {
            return Err(Misuse::NothingInFlight);
        }
        let now = self.clock(now);
        self.failures += 1;
        if self.failures >= MAX_ATTEMPTS {
            let reason = match self.stage {
                Stage::Report { cause, .. } => ExitReason::Failed { cause },
                stage => ExitReason::Unreachable {
                    request: stage.request().unwrap_or(RequestKind::Next),
                },
            };
            self.exit(INPUT, reason);
            return Ok(());
        }
        let delay = backoff_ms(self.failures);
        log::warn!(
            "extension API request failed ({} in a row), retrying in {delay} ms",
            self.failures
        );
        let io = if delay == 0 {
            Io::Due
        } else {
            Io::RetryAt(now.saturating_add(delay))
        };
        self.stay(INPUT, io);
        Ok(())
    }

    pub(super) fn step(&mut self, now: EpochMillis, outcome: StepOutcome) -> Result<(), Misuse> {
        let input = match outcome {
            StepOutcome::Done => InputKind::StepDone,
            StepOutcome::Failed => InputKind::StepFailed,
        };
        self.check(input)?;
        let (started, cause, until) = match self.stage {
            Stage::Init { started } => (started, ErrorCause::InitStep, None),
            Stage::Invoke { started, .. } => (started, ErrorCause::InvokeStep, None),
            Stage::Shutdown { started, until } => (started, ErrorCause::ShutdownStep, until),
            _ => return Err(Misuse::NothingInFlight),
        };
        if !started {
            return Err(Misuse::NothingInFlight);
        }
        self.clock(now);
        match (outcome, self.stage) {
            (StepOutcome::Failed, _) => {
                log::error!("extension {}: {:?} failed", self.name, cause);
                self.report(input, cause, until);
            }
            (StepOutcome::Done, Stage::Init { .. }) if self.options.subscribe => {
                self.put(input, Stage::Subscribe { io: Io::Due });
            }
            (StepOutcome::Done, Stage::Shutdown { .. }) => self.exit(input, ExitReason::Shutdown),
            (StepOutcome::Done, _) => self.fetch_next(input),
        }
        Ok(())
    }

    pub(super) fn timeout(&mut self, now: EpochMillis) {
        const INPUT: InputKind = InputKind::TimerFired;
        let now = self.clock(now);
        if self.stage.timer().is_none_or(|t| t > now) {
            return;
        }
        match self.stage {
            Stage::Invoke { .. } => {
                log::warn!(
                    "extension {}: the per-invoke step overran the deadline; dropped",
                    self.name
                );
                self.fetch_next(INPUT);
            }
            Stage::Shutdown { .. } => self.exit(INPUT, ExitReason::ShutdownTimedOut),
            Stage::Report { cause, until, .. } if until.is_some_and(|u| u <= now) => {
                log::warn!("the shutdown deadline passed before the error was posted");
                self.exit(INPUT, ExitReason::Failed { cause });
            }
            _ => self.stay(INPUT, Io::Due),
        }
    }

    pub(super) fn poll(&mut self) -> Action<'_> {
        if let Stage::Exit { reason, give_up } = self.stage {
            return if give_up {
                Action::GiveUp(reason)
            } else {
                Action::Exit(reason)
            };
        }
        let due = match &mut self.stage {
            Stage::Init { started }
            | Stage::Invoke { started, .. }
            | Stage::Shutdown { started, .. } => !core::mem::replace(started, true),
            stage => match stage.io_mut() {
                Some(io) if *io == Io::Due => {
                    *io = Io::InFlight;
                    true
                }
                _ => false,
            },
        };
        if !due {
            return Action::Wait {
                until: self.stage.timer(),
            };
        }
        let Some(id) = self.id.as_ref() else {
            // Only `Register` runs before there is an identifier.
            return Action::Register {
                name: &self.name,
                events: self.options.events,
                accept_account_id: self.options.accept_account_id,
            };
        };
        match self.stage {
            Stage::Register { .. } => Action::Register {
                name: &self.name,
                events: self.options.events,
                accept_account_id: self.options.accept_account_id,
            },
            Stage::Init { .. } => Action::RunInit { id },
            Stage::Subscribe { .. } => Action::Subscribe { id },
            Stage::Next { .. } => Action::FetchNext { id },
            Stage::Invoke { deadline, .. } => Action::RunInvoke { id, deadline },
            Stage::Shutdown { until, .. } => Action::RunShutdown { id, until },
            Stage::Report { cause, .. } if self.initialized => Action::PostExitError { id, cause },
            Stage::Report { cause, .. } => Action::PostInitError { id, cause },
            Stage::Exit { .. } => Action::Wait { until: None },
        }
    }
}

/// `deadline` if it is in the future and not absurdly far; `None` otherwise (cargo-lambda
/// sends 0).
fn plausible(now: EpochMillis, deadline: EpochMillis) -> Option<EpochMillis> {
    (deadline > now && deadline.millis_since(now) <= MAX_DEADLINE_AHEAD_MS).then_some(deadline)
}
