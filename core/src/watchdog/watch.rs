//! The watchdog's decisions, pure: which lanes are armed, being reported or reported, and —
//! given the time, a memory sample and whether SIGTERM arrived — what must be reported and
//! whether the process must exit. No threads, clocks or sockets: the thread in the parent
//! module samples, posts and exits as told.

use alloc::vec::Vec;

use crate::config::Config;
use crate::lifecycle::{ClaimOutcome, ErrorCause, ExitReason, Invocation};
use crate::time::{Deadline, EpochMillis};

/// One lane as the watchdog sees it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // One per lane, allocated once; no boxing per invocation.
enum LaneWatch {
    /// No handler runs, or the driver claimed the invocation.
    Idle,
    /// A handler runs; the watchdog reports it if it is still running at `timeout_at`.
    Armed {
        invocation: Invocation,
        timeout_at: Option<EpochMillis>,
        /// When the handler started.
        started: EpochMillis,
    },
    /// The watchdog claimed the invocation and is posting its error; the driver must wait.
    Posting,
    /// The watchdog posted, and the Runtime API answered `status`; kept until the driver claims.
    Reported { status: u16 },
}

/// What the watchdog looks for, from the [`Config`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    /// The margin the lifecycle applies to deadlines (for the reports' messages).
    pub(crate) margin_ms: u64,
    /// The function's memory size in MB, if known.
    pub(crate) size_mb: u32,
    /// Memory use, in percent of `size_mb`, at which to report; 0 disables the check.
    pub(crate) threshold_percent: u8,
}

impl Policy {
    pub(crate) fn from_config(config: &Config) -> Self {
        Self {
            margin_ms: config.timeout_margin_ms,
            size_mb: config.memory_size_mb.unwrap_or(0),
            threshold_percent: config.memory_threshold_percent,
        }
    }

    /// Resident bytes at which the running invocations are reported as out of memory.
    pub(crate) fn memory_limit(self) -> Option<u64> {
        (self.size_mb > 0 && self.threshold_percent > 0)
            .then(|| u64::from(self.size_mb) * (1 << 20) * u64::from(self.threshold_percent) / 100)
    }
}

/// One report the watchdog must post: the lane is claimed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Report {
    pub(crate) lane: usize,
    pub(crate) invocation: Invocation,
    pub(crate) cause: ErrorCause,
}

/// What [`Watch::check`] decided: post these reports (each lane is marked as being posted for),
/// then exit if `exit` says so.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Duty {
    pub(crate) reports: Vec<Report>,
    pub(crate) exit: Option<ExitReason>,
}

/// What the driver's claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Claim {
    /// Decided: feed it to the lifecycle.
    Decided(ClaimOutcome),
    /// The watchdog is posting for the lane: ask again once it has posted.
    Wait,
}

/// The watchdog's state, one entry per lane.
#[derive(Debug)]
pub(crate) struct Watch {
    lanes: Vec<LaneWatch>,
    policy: Policy,
}

impl Watch {
    pub(crate) fn new(lanes: usize, policy: Policy) -> Self {
        Self {
            lanes: (0..lanes).map(|_| LaneWatch::Idle).collect(),
            policy,
        }
    }

    /// A handler for `invocation` started on `lane` at `now`; the lifecycle reports it as timed
    /// out at `timeout_at` (`Action::RunHandler::timeout_at`) if it is still running then.
    pub(crate) fn arm(
        &mut self,
        lane: usize,
        invocation: &Invocation,
        timeout_at: Option<EpochMillis>,
        now: EpochMillis,
    ) {
        if let Some(w) = self.lanes.get_mut(lane) {
            *w = LaneWatch::Armed {
                invocation: invocation.clone(),
                timeout_at,
                started: now,
            };
        }
    }

    /// The driver claims `lane` before it reports the invocation itself (`Action::Claim`).
    pub(crate) fn claim(&mut self, lane: usize) -> Claim {
        let Some(w) = self.lanes.get_mut(lane) else {
            return Claim::Decided(ClaimOutcome::Won);
        };
        match core::mem::replace(w, LaneWatch::Idle) {
            LaneWatch::Posting => {
                *w = LaneWatch::Posting;
                Claim::Wait
            }
            LaneWatch::Reported { status } => {
                Claim::Decided(ClaimOutcome::ReportedElsewhere { status })
            }
            LaneWatch::Idle | LaneWatch::Armed { .. } => Claim::Decided(ClaimOutcome::Won),
        }
    }

    /// Whether a handler runs on any lane.
    pub(crate) fn busy(&self) -> bool {
        self.lanes
            .iter()
            .any(|w| matches!(w, LaneWatch::Armed { .. }))
    }

    /// Whether the next check needs a memory sample: handlers run and the check is on.
    pub(crate) fn wants_memory_sample(&self) -> bool {
        self.busy() && self.policy.memory_limit().is_some()
    }

    /// What must be reported at `now`, given the resident memory (if sampled) and whether
    /// SIGTERM arrived. Shutdown comes first, then memory, then the timeouts that are due.
    pub(crate) fn check(&mut self, now: EpochMillis, resident: Option<u64>, sigterm: bool) -> Duty {
        if sigterm {
            return Duty {
                reports: self.claim_for(|_| true, |_, _| ErrorCause::Shutdown),
                exit: Some(ExitReason::Shutdown),
            };
        }
        let policy = self.policy;
        if let (Some(limit), Some(rss)) = (policy.memory_limit(), resident) {
            if rss >= limit && self.busy() {
                let cause = ErrorCause::OutOfMemory {
                    used_mb: rss >> 20,
                    size_mb: policy.size_mb,
                    threshold_percent: policy.threshold_percent,
                };
                return Duty {
                    reports: self.claim_for(|_| true, |_, _| cause),
                    exit: Some(ExitReason::OutOfMemory),
                };
            }
        }
        let due = |t: Option<EpochMillis>| t.is_some_and(|t| t <= now);
        let timed_out = |inv: &Invocation, started: EpochMillis| {
            let deadline = inv.deadline.unwrap_or(Deadline(now));
            ErrorCause::BlockedTimeout {
                deadline,
                margin_ms: policy.margin_ms,
                budget_ms: deadline.at().millis_since(started),
            }
        };
        Duty {
            reports: self.claim_for(due, timed_out),
            exit: None,
        }
    }

    /// The watchdog's post for `lane` was answered with `status`, or (`None`) could not be made:
    /// then the driver reports the invocation itself.
    pub(crate) fn posted(&mut self, lane: usize, status: Option<u16>) {
        if let Some(w) = self.lanes.get_mut(lane) {
            if matches!(w, LaneWatch::Posting) {
                *w = status.map_or(LaneWatch::Idle, |status| LaneWatch::Reported { status });
            }
        }
    }

    /// The watchdog thread ended mid-post: the lanes it was posting for go back to the driver.
    pub(crate) fn release(&mut self) {
        for w in &mut self.lanes {
            if matches!(w, LaneWatch::Posting) {
                *w = LaneWatch::Idle;
            }
        }
    }

    /// Claims every armed lane whose timeout instant `pick` accepts, marking it `Posting`.
    fn claim_for(
        &mut self,
        pick: impl Fn(Option<EpochMillis>) -> bool,
        cause: impl Fn(&Invocation, EpochMillis) -> ErrorCause,
    ) -> Vec<Report> {
        let mut out = Vec::new();
        for (lane, w) in self.lanes.iter_mut().enumerate() {
            if matches!(w, LaneWatch::Armed { timeout_at, .. } if pick(*timeout_at)) {
                if let LaneWatch::Armed {
                    invocation,
                    started,
                    ..
                } = core::mem::replace(w, LaneWatch::Posting)
                {
                    let cause = cause(&invocation, started);
                    out.push(Report {
                        lane,
                        invocation,
                        cause,
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::wire::ResponseHead;

    const MIB: u64 = 1 << 20;

    /// An invocation of `id` with its deadline at 3 s after the epoch.
    pub(in crate::watchdog) fn invocation(id: &str) -> Invocation {
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", id.as_bytes())
            .with_header("Lambda-Runtime-Deadline-Ms", b"3000");
        Invocation::from_head(&head).unwrap()
    }

    fn policy(size_mb: u32, threshold_percent: u8) -> Policy {
        Policy {
            margin_ms: 100,
            size_mb,
            threshold_percent,
        }
    }

    fn at(ms: u64) -> EpochMillis {
        EpochMillis::from_millis(ms)
    }

    fn ids(duty: &Duty) -> Vec<(usize, &str)> {
        duty.reports
            .iter()
            .map(|r| (r.lane, r.invocation.request_id.as_str()))
            .collect()
    }

    #[test]
    fn a_handler_finishing_in_time_is_the_drivers_to_report() {
        let mut w = Watch::new(1, policy(0, 0));
        w.arm(0, &invocation("r1"), Some(at(2_900)), at(0));
        assert_eq!(w.check(at(2_899), None, false), Duty::default());
        assert_eq!(w.claim(0), Claim::Decided(ClaimOutcome::Won));
        assert_eq!(w.check(at(5_000), None, false), Duty::default(), "disarmed");
        assert_eq!(
            w.claim(0),
            Claim::Decided(ClaimOutcome::Won),
            "claims repeat"
        );
    }

    #[test]
    fn a_blocked_handler_is_claimed_at_its_timeout_and_reported_once() {
        let mut w = Watch::new(2, policy(0, 0));
        w.arm(0, &invocation("fast"), None, at(0));
        w.arm(1, &invocation("blocked"), Some(at(2_900)), at(0));
        let duty = w.check(at(2_900), None, false);
        assert_eq!(ids(&duty), [(1, "blocked")]);
        assert_eq!(
            duty.reports[0].cause,
            ErrorCause::BlockedTimeout {
                deadline: Deadline(at(3_000)),
                margin_ms: 100,
                budget_ms: 3_000
            }
        );
        assert_eq!(duty.exit, None);
        assert_eq!(w.claim(1), Claim::Wait, "the driver waits while it posts");
        assert_eq!(
            w.check(at(2_910), None, false),
            Duty::default(),
            "claimed once"
        );
        w.posted(1, Some(202));
        assert_eq!(
            w.claim(1),
            Claim::Decided(ClaimOutcome::ReportedElsewhere { status: 202 })
        );
        assert_eq!(
            w.claim(1),
            Claim::Decided(ClaimOutcome::Won),
            "handed back once"
        );
        assert_eq!(w.claim(0), Claim::Decided(ClaimOutcome::Won));
    }

    #[test]
    fn a_post_that_fails_leaves_the_report_to_the_driver() {
        let mut w = Watch::new(1, policy(0, 0));
        w.arm(0, &invocation("r1"), Some(at(10)), at(0));
        assert_eq!(w.check(at(10), None, false).reports.len(), 1);
        w.posted(0, None);
        assert_eq!(w.claim(0), Claim::Decided(ClaimOutcome::Won));
    }

    #[test]
    fn a_thread_that_ends_mid_post_hands_its_lanes_back() {
        let mut w = Watch::new(1, policy(0, 0));
        w.arm(0, &invocation("r1"), Some(at(10)), at(0));
        assert_eq!(w.check(at(10), None, false).reports.len(), 1);
        w.release();
        assert_eq!(w.claim(0), Claim::Decided(ClaimOutcome::Won));
    }

    #[test]
    fn memory_over_the_threshold_reports_every_running_invocation_and_exits() {
        let mut w = Watch::new(3, policy(128, 90));
        assert!(!w.wants_memory_sample(), "nothing runs");
        w.arm(0, &invocation("a"), Some(at(2_900)), at(0));
        w.arm(2, &invocation("c"), None, at(0));
        assert!(w.wants_memory_sample());
        let limit = 128 * MIB * 90 / 100;
        assert_eq!(w.check(at(0), Some(limit - 1), false), Duty::default());
        let duty = w.check(at(0), Some(limit), false);
        assert_eq!(ids(&duty), [(0, "a"), (2, "c")]);
        assert_eq!(
            duty.reports[0].cause,
            ErrorCause::OutOfMemory {
                used_mb: limit >> 20,
                size_mb: 128,
                threshold_percent: 90
            }
        );
        assert_eq!(duty.exit, Some(ExitReason::OutOfMemory));
    }

    #[test]
    fn memory_is_not_checked_when_off_or_idle() {
        let mut off = Watch::new(1, policy(128, 0));
        off.arm(0, &invocation("a"), None, at(0));
        assert!(!off.wants_memory_sample());
        assert_eq!(off.check(at(0), Some(u64::MAX), false), Duty::default());
        let mut unknown = Watch::new(1, policy(0, 90));
        unknown.arm(0, &invocation("a"), None, at(0));
        assert_eq!(unknown.check(at(0), Some(u64::MAX), false), Duty::default());
        let mut idle = Watch::new(1, policy(128, 90));
        assert_eq!(idle.check(at(0), Some(u64::MAX), false), Duty::default());
    }

    #[test]
    fn sigterm_reports_what_runs_and_exits_zero_even_when_idle() {
        let mut w = Watch::new(2, policy(128, 90));
        w.arm(1, &invocation("b"), Some(at(2_900)), at(0));
        let duty = w.check(at(0), Some(u64::MAX), true);
        assert_eq!(ids(&duty), [(1, "b")]);
        assert_eq!(duty.reports[0].cause, ErrorCause::Shutdown);
        assert_eq!(duty.exit, Some(ExitReason::Shutdown));
        let mut idle = Watch::new(1, policy(0, 0));
        let duty = idle.check(at(0), None, true);
        assert!(duty.reports.is_empty());
        assert_eq!(duty.exit, Some(ExitReason::Shutdown));
    }

    #[test]
    fn the_threshold_comes_from_the_config() {
        let mut c = Config::for_endpoint(crate::wire::Endpoint::parse("127.0.0.1:9").unwrap());
        c.memory_size_mb = Some(1024);
        c.memory_threshold_percent = 50;
        assert_eq!(Policy::from_config(&c).memory_limit(), Some(512 * MIB));
    }
}
