//! Every behaviour of the extension machine (scenarios in `scenarios.rs`, the table in
//! `table.rs`), with no socket, executor or sleep: heads, events
//! and `now` in, actions and phases out.

use std::string::{String, ToString};
use std::vec;
use std::vec::Vec;

use super::*;
use crate::lifecycle::{MAX_ATTEMPTS, backoff_ms};
use crate::time::EpochMillis;
use crate::wire::ResponseHead;

const ID: &str = "c6af9ac6-7b61-11e6-9a41-93e812345678";
const T0: u64 = 1_700_000_000_000;
const MAX_STEPS: usize = 32;

/// An owned copy of an [`Action`], so tests can compare lists of them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Act {
    Register(String, Events, bool),
    RunInit,
    Subscribe,
    FetchNext,
    RunInvoke(Option<u64>),
    RunShutdown(Option<u64>),
    PostInitError(ErrorCause),
    PostExitError(ErrorCause),
    Wait(Option<u64>),
    GiveUp(ExitReason),
    Exit(ExitReason),
}

impl From<Action<'_>> for Act {
    fn from(a: Action<'_>) -> Self {
        let ms = |t: Option<EpochMillis>| t.map(EpochMillis::as_millis);
        let check = |id: &ExtensionId| assert_eq!(id.as_str(), ID);
        match a {
            Action::Register {
                name,
                events,
                accept_account_id,
            } => Act::Register(name.to_string(), events, accept_account_id),
            Action::RunInit { id } => (check(id), Act::RunInit).1,
            Action::Subscribe { id } => (check(id), Act::Subscribe).1,
            Action::FetchNext { id } => (check(id), Act::FetchNext).1,
            Action::RunInvoke { id, deadline } => (check(id), Act::RunInvoke(ms(deadline))).1,
            Action::RunShutdown { id, until } => (check(id), Act::RunShutdown(ms(until))).1,
            Action::PostInitError { id, cause } => (check(id), Act::PostInitError(cause)).1,
            Action::PostExitError { id, cause } => (check(id), Act::PostExitError(cause)).1,
            Action::Wait { until } => Act::Wait(ms(until)),
            Action::GiveUp(r) => Act::GiveUp(r),
            Action::Exit(r) => Act::Exit(r),
        }
    }
}

/// Drives a machine with a virtual clock; records its phases and the rows it takes.
struct Harness {
    m: Machine,
    now: EpochMillis,
    transcript: Vec<Phase>,
    rows: Vec<(Phase, InputKind, Phase)>,
}

impl Harness {
    fn new(options: Options) -> Self {
        let m = Machine::new(ExtensionName::new("ext").unwrap(), options).unwrap();
        let transcript = vec![m.phase()];
        Self {
            m,
            now: EpochMillis(T0),
            transcript,
            rows: Vec::new(),
        }
    }

    /// An external extension that registered, ran its init step and asked for `event/next`.
    fn ready(options: Options) -> Self {
        let mut h = Self::new(options);
        h.expect_one(Act::Register(
            "ext".into(),
            options.events,
            options.accept_account_id,
        ));
        h.registered();
        h.expect_one(Act::RunInit);
        h.step(StepOutcome::Done).unwrap();
        if options.subscribe {
            h.expect_one(Act::Subscribe);
            h.status(200);
        }
        h.expect_one(Act::FetchNext);
        h
    }

    fn record(&mut self) {
        if let Some(row) = self.m.state.last.take() {
            self.rows.push(row);
        }
        let p = self.m.phase();
        if self.transcript.last() != Some(&p) {
            self.transcript.push(p);
        }
    }

    /// Polls until `Wait`, `Exit` or `GiveUp` (inclusive).
    fn drain(&mut self) -> Vec<Act> {
        let mut out = Vec::new();
        for _ in 0..MAX_STEPS {
            let a = Act::from(self.m.poll());
            let stop = matches!(a, Act::Wait(_) | Act::Exit(_) | Act::GiveUp(_));
            out.push(a);
            if stop {
                return out;
            }
        }
        panic!("poll never stopped: {out:?}");
    }

    /// `act`, then `Wait` for the step's time limit if it is a step with one, else `Wait(None)`.
    fn expect_one(&mut self, act: Act) {
        let until = match act {
            Act::RunInvoke(limit) | Act::RunShutdown(limit) => limit,
            _ => None,
        };
        assert_eq!(self.drain(), [act, Act::Wait(until)]);
    }

    fn respond(&mut self, head: ResponseHead<'_>, delivered: Option<Delivered>) {
        self.m.handle_response(self.now, &head, delivered).unwrap();
        self.record();
    }

    fn registered(&mut self) {
        let head = ResponseHead::new(200).with_header("Lambda-Extension-Identifier", ID.as_bytes());
        self.respond(head, None);
    }

    fn status(&mut self, status: u16) {
        self.respond(ResponseHead::new(status), None);
    }

    fn event(&mut self, delivered: Delivered) {
        self.respond(ResponseHead::new(200), Some(delivered));
    }

    fn invoke(&mut self, deadline: u64) {
        self.event(Delivered::Invoke {
            deadline: EpochMillis(deadline),
        });
    }

    fn shutdown(&mut self, deadline: u64) {
        self.event(Delivered::Shutdown {
            deadline: EpochMillis(deadline),
        });
    }

    fn fail(&mut self) {
        self.m.handle_transport_error(self.now).unwrap();
        self.record();
    }

    fn step(&mut self, outcome: StepOutcome) -> Result<(), Misuse> {
        let r = self.m.handle_step(self.now, outcome);
        self.record();
        r
    }

    fn advance_to(&mut self, t: u64) {
        self.now = EpochMillis(t);
        self.m.handle_timeout(self.now);
        self.record();
    }
}

fn failed(cause: ErrorCause) -> Act {
    Act::Exit(ExitReason::Failed { cause })
}

fn failed_reason() -> ExitReason {
    ExitReason::Failed {
        cause: ErrorCause::InvokeStep,
    }
}

mod random;
mod scenarios;
mod table;
