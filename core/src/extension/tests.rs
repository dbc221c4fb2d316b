//! Every behaviour of the extension machine, with no socket, executor or sleep: heads, events
//! and `now` in, actions and phases out.

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

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

// --- scenarios (each returns its harness, so `every_row_is_taken` can collect the rows) ------

fn cold_start_invoke_shutdown() -> Harness {
    let mut h = Harness::ready(Options::external());
    assert!(!h.m.initialized());
    h.invoke(T0 + 3_000);
    assert!(h.m.initialized());
    h.expect_one(Act::RunInvoke(Some(T0 + 3_000)));
    h.step(StepOutcome::Done).unwrap();
    h.expect_one(Act::FetchNext);
    h.shutdown(T0 + 2_000);
    h.expect_one(Act::RunShutdown(Some(
        T0 + 2_000 - DEFAULT_SHUTDOWN_MARGIN_MS,
    )));
    h.step(StepOutcome::Done).unwrap();
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Shutdown)]);
    // Exit is sticky.
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Shutdown)]);
    assert_eq!(
        h.transcript,
        [
            Phase::Register,
            Phase::Init,
            Phase::Next,
            Phase::Invoke,
            Phase::Next,
            Phase::Shutdown,
            Phase::Exit
        ]
    );
    h
}

fn with_telemetry() -> Harness {
    let h = Harness::ready(Options::external().subscribe(true).accept_account_id(true));
    assert_eq!(
        h.transcript,
        [Phase::Register, Phase::Init, Phase::Subscribe, Phase::Next]
    );
    h
}

fn init_step_fails() -> Harness {
    let mut h = Harness::new(Options::external());
    h.drain();
    h.registered();
    h.expect_one(Act::RunInit);
    h.step(StepOutcome::Failed).unwrap();
    h.expect_one(Act::PostInitError(ErrorCause::InitStep));
    h.status(202);
    assert_eq!(h.drain(), [failed(ErrorCause::InitStep)]);
    assert_eq!(
        h.transcript,
        [Phase::Register, Phase::Init, Phase::Report, Phase::Exit]
    );
    h
}

fn invoke_step_fails_after_init() -> Harness {
    let mut h = Harness::ready(Options::internal());
    h.invoke(T0 + 3_000);
    h.drain();
    h.step(StepOutcome::Failed).unwrap();
    // Never init/error after init.
    h.expect_one(Act::PostExitError(ErrorCause::InvokeStep));
    h.status(403);
    assert_eq!(h.drain(), [failed(ErrorCause::InvokeStep)]);
    h
}

fn subscription_refused_then_server_error() -> Vec<Harness> {
    let mut refused = Harness::new(Options::external().subscribe(true));
    refused.drain();
    refused.registered();
    refused.drain();
    refused.step(StepOutcome::Done).unwrap();
    refused.expect_one(Act::Subscribe);
    refused.status(400);
    let cause = ErrorCause::SubscriptionRefused { status: 400 };
    refused.expect_one(Act::PostInitError(cause));
    refused.fail();
    refused.expect_one(Act::PostInitError(cause));
    refused.status(500);
    assert_eq!(refused.drain(), [failed(cause)]);

    let mut broken = Harness::new(Options::external().subscribe(true));
    broken.drain();
    broken.registered();
    broken.drain();
    broken.step(StepOutcome::Done).unwrap();
    broken.drain();
    broken.status(503);
    let request = RequestKind::Subscribe;
    let reason = ExitReason::ServerError {
        request,
        status: 503,
    };
    assert_eq!(broken.drain(), [Act::Exit(reason)]);
    vec![refused, broken]
}

fn register_failures() -> Vec<Harness> {
    let mut out = Vec::new();
    for (kind, status) in [
        (Kind::External, 403),
        (Kind::Internal, 403),
        (Kind::External, 500),
        (Kind::Internal, 500),
    ] {
        let options = match kind {
            Kind::External => Options::external(),
            Kind::Internal => Options::internal(),
        };
        let mut h = Harness::new(options);
        h.drain();
        h.status(status);
        let request = RequestKind::Register;
        let reason = if status == 500 {
            ExitReason::ServerError { request, status }
        } else {
            ExitReason::Refused { request, status }
        };
        let want = match kind {
            Kind::External => Act::Exit(reason),
            Kind::Internal => Act::GiveUp(reason),
        };
        assert_eq!(h.drain(), [want], "{kind:?} {status}");
        out.push(h);
    }
    // 200 without a usable identifier.
    for bad in [None, Some(&b"a b"[..])] {
        let mut h = Harness::new(Options::internal());
        h.drain();
        let mut head = ResponseHead::new(200);
        if let Some(v) = bad {
            head = head.with_header("Lambda-Extension-Identifier", v);
        }
        h.respond(head, None);
        assert_eq!(h.drain(), [Act::GiveUp(ExitReason::InvalidIdentifier)]);
        out.push(h);
    }
    out
}

/// With a request in flight and no failure yet: the first retry is immediate, the next ones
/// back off, and failure number `MAX_ATTEMPTS` gives `want`.
fn retries(mut h: Harness, want: Act) -> Harness {
    let phase = h.m.phase();
    let mut redo = None;
    for attempt in 1..MAX_ATTEMPTS {
        h.fail();
        assert_eq!(h.m.phase(), phase);
        let delay = backoff_ms(attempt);
        if delay == 0 {
            let acts = h.drain();
            assert_eq!(acts.len(), 2, "{acts:?}");
            redo = Some(acts[0].clone());
        } else {
            let at = h.now.as_millis() + delay;
            assert_eq!(h.drain(), [Act::Wait(Some(at))]);
            h.advance_to(at - 1);
            assert_eq!(h.drain(), [Act::Wait(Some(at))], "not yet");
            h.advance_to(at);
            assert_eq!(Some(h.drain()[0].clone()), redo);
        }
    }
    h.fail();
    assert_eq!(h.drain(), [want]);
    h
}

fn transport_failures() -> Vec<Harness> {
    let mut out = Vec::new();
    let unreachable = |request| ExitReason::Unreachable { request };
    let mut h = Harness::new(Options::internal());
    h.drain();
    out.push(retries(h, Act::GiveUp(unreachable(RequestKind::Register))));

    let mut h = Harness::new(Options::external());
    h.drain();
    out.push(retries(h, Act::Exit(unreachable(RequestKind::Register))));

    let h = Harness::ready(Options::external());
    out.push(retries(h, Act::Exit(unreachable(RequestKind::Next))));

    let mut h = Harness::new(Options::external().subscribe(true));
    h.drain();
    h.registered();
    h.drain();
    h.step(StepOutcome::Done).unwrap();
    h.drain();
    out.push(retries(h, Act::Exit(unreachable(RequestKind::Subscribe))));

    let mut h = Harness::ready(Options::external());
    h.invoke(T0 + 3_000);
    h.drain();
    h.step(StepOutcome::Failed).unwrap();
    h.drain();
    out.push(retries(h, failed(ErrorCause::InvokeStep)));
    out
}

fn next_answers() -> Vec<Harness> {
    let mut out = Vec::new();
    let request = RequestKind::Next;
    for (status, reason) in [
        (
            500,
            ExitReason::ServerError {
                request,
                status: 500,
            },
        ),
        (
            403,
            ExitReason::Refused {
                request,
                status: 403,
            },
        ),
    ] {
        let mut h = Harness::ready(Options::external());
        h.status(status);
        assert_eq!(h.drain(), [Act::Exit(reason)]);
        out.push(h);
    }
    // Unknown events are skipped at once; malformed ones back off, and too many exit.
    let mut h = Harness::ready(Options::external());
    h.event(Delivered::Unknown);
    h.expect_one(Act::FetchNext);
    for n in 1..MAX_ATTEMPTS {
        if n % 2 == 0 {
            h.event(Delivered::Malformed);
        } else {
            h.respond(ResponseHead::new(200), None);
        }
        let at = h.now.as_millis() + backoff_ms(n + 1);
        assert_eq!(h.drain(), [Act::Wait(Some(at))]);
        h.advance_to(at);
        h.expect_one(Act::FetchNext);
    }
    h.event(Delivered::Malformed);
    assert_eq!(h.drain(), [Act::Exit(ExitReason::MalformedEvents)]);
    out.push(h);
    out
}

fn invoke_overruns_its_deadline() -> Harness {
    let mut h = Harness::ready(Options::external());
    h.invoke(T0 + 1_000);
    h.expect_one(Act::RunInvoke(Some(T0 + 1_000)));
    assert_eq!(h.drain(), [Act::Wait(Some(T0 + 1_000))], "handed out once");
    h.advance_to(T0 + 1_000);
    h.expect_one(Act::FetchNext);
    // The dropped step's result is a driver bug.
    assert_eq!(
        h.step(StepOutcome::Done),
        Err(Misuse::Illegal {
            phase: Phase::Next,
            input: InputKind::StepDone
        })
    );
    h.shutdown(T0 + 3_000);
    h.drain();
    h
}

fn shutdown_limits() -> Vec<Harness> {
    let mut out = Vec::new();
    // The step overruns: exit at the deadline minus the margin, code 0.
    let mut h = Harness::ready(Options::external().shutdown_margin_ms(100));
    h.shutdown(T0 + 2_000);
    h.expect_one(Act::RunShutdown(Some(T0 + 1_900)));
    h.advance_to(T0 + 1_900);
    assert_eq!(h.drain(), [Act::Exit(ExitReason::ShutdownTimedOut)]);
    assert_eq!(ExitReason::ShutdownTimedOut.code(), 0);
    out.push(h);

    // The step fails: exit/error, bounded by the same deadline.
    let mut h = Harness::ready(Options::external());
    h.shutdown(T0 + 2_000);
    h.drain();
    h.step(StepOutcome::Failed).unwrap();
    let until = T0 + 2_000 - DEFAULT_SHUTDOWN_MARGIN_MS;
    assert_eq!(
        h.drain(),
        [
            Act::PostExitError(ErrorCause::ShutdownStep),
            Act::Wait(Some(until))
        ]
    );
    h.fail();
    h.drain();
    h.fail();
    assert_eq!(h.drain(), [Act::Wait(Some(T0 + backoff_ms(2)))]);
    h.advance_to(until);
    assert_eq!(h.drain(), [failed(ErrorCause::ShutdownStep)]);
    out.push(h);

    // cargo-lambda's deadline 0: no limit.
    let mut h = Harness::ready(Options::external());
    h.shutdown(0);
    h.expect_one(Act::RunShutdown(None));
    h.step(StepOutcome::Done).unwrap();
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Shutdown)]);
    out.push(h);
    out
}

fn all_scenarios() -> Vec<Harness> {
    let mut all = vec![
        cold_start_invoke_shutdown(),
        with_telemetry(),
        init_step_fails(),
        invoke_step_fails_after_init(),
        invoke_overruns_its_deadline(),
    ];
    all.extend(subscription_refused_then_server_error());
    all.extend(register_failures());
    all.extend(transport_failures());
    all.extend(next_answers());
    all.extend(shutdown_limits());
    all
}

#[test]
fn every_row_is_taken_and_only_rows_are_taken() {
    let taken: Vec<_> = all_scenarios().into_iter().flat_map(|h| h.rows).collect();
    for t in TRANSITIONS {
        assert!(
            taken.contains(&(t.from, t.input, t.to)),
            "no scenario takes {t:?}"
        );
    }
    for row in &taken {
        assert!(
            TRANSITIONS.iter().any(|t| (t.from, t.input, t.to) == *row),
            "{row:?} is not in TRANSITIONS"
        );
    }
}

/// A harness in `phase`, with its request or step handed out.
fn reach(phase: Phase) -> Harness {
    let mut h = Harness::new(Options::external().subscribe(true));
    let drive: &[fn(&mut Harness)] = &[
        |h| h.registered(),
        |h| h.step(StepOutcome::Done).unwrap(),
        |h| h.status(200),
        |h| h.invoke(T0 + 5_000),
    ];
    h.drain();
    for go in drive {
        if h.m.phase() == phase {
            return h;
        }
        go(&mut h);
        h.drain();
    }
    match phase {
        Phase::Invoke => {}
        Phase::Shutdown | Phase::Report | Phase::Exit => {
            h.step(StepOutcome::Done).unwrap();
            h.drain();
            h.shutdown(T0 + 5_000);
            h.drain();
            if phase != Phase::Shutdown {
                h.step(StepOutcome::Failed).unwrap();
                h.drain();
            }
            if phase == Phase::Exit {
                h.status(202);
                h.drain();
            }
        }
        _ => unreachable!(),
    }
    assert_eq!(h.m.phase(), phase);
    h
}

#[test]
fn every_pair_not_in_the_table_is_refused_and_changes_nothing() {
    for phase in Phase::ALL {
        for input in InputKind::ALL {
            if is_legal(phase, input) || input == InputKind::TimerFired {
                continue;
            }
            let mut h = reach(phase);
            let now = h.now;
            let r = match input {
                InputKind::Response => h.m.handle_response(now, &ResponseHead::new(200), None),
                InputKind::TransportFailed => h.m.handle_transport_error(now),
                InputKind::StepDone => h.m.handle_step(now, StepOutcome::Done),
                InputKind::StepFailed => h.m.handle_step(now, StepOutcome::Failed),
                InputKind::TimerFired => unreachable!(),
            };
            assert_eq!(r, Err(Misuse::Illegal { phase, input }));
            assert_eq!(h.m.phase(), phase);
        }
    }
}

#[test]
fn inputs_without_a_request_or_step_in_flight_are_refused() {
    let mut h = Harness::new(Options::external());
    let now = h.now;
    let head = ResponseHead::new(200);
    assert_eq!(
        h.m.handle_response(now, &head, None),
        Err(Misuse::NothingInFlight)
    );
    assert_eq!(
        h.m.handle_transport_error(now),
        Err(Misuse::NothingInFlight)
    );
    h.drain();
    h.registered();
    assert_eq!(
        h.m.handle_step(now, StepOutcome::Done),
        Err(Misuse::NothingInFlight),
        "RunInit not handed out yet"
    );
    assert_eq!(h.m.phase(), Phase::Init);
    assert_eq!(h.m.id().map(ExtensionId::as_str), Some(ID));
}

#[test]
fn timers_are_idempotent_and_the_clock_never_goes_back() {
    let mut h = Harness::ready(Options::external());
    h.advance_to(T0 + 10);
    h.advance_to(T0 + 10);
    assert_eq!(h.drain(), [Act::Wait(None)], "spurious timeouts do nothing");
    h.now = EpochMillis(T0);
    h.invoke(T0 + 1_000);
    h.drain();
    h.advance_to(T0 + 5);
    assert_eq!(h.m.phase(), Phase::Invoke);
    // A deadline already passed (by the clamped clock) arms nothing.
    let mut h = Harness::ready(Options::external());
    h.advance_to(T0 + 500);
    h.now = EpochMillis(T0);
    h.invoke(T0 + 100);
    h.expect_one(Act::RunInvoke(None));
}

#[test]
fn internal_extensions_may_not_take_shutdown() {
    let name = ExtensionName::new("int").unwrap();
    for events in [Events::ALL, Events::SHUTDOWN] {
        let r = Machine::new(name.clone(), Options::internal().events(events));
        assert_eq!(r.unwrap_err(), ConfigError::InternalShutdown);
    }
    for events in [Events::NONE, Events::INVOKE] {
        assert!(Machine::new(name.clone(), Options::internal().events(events)).is_ok());
    }
    assert!(Machine::new(name, Options::external().events(Events::SHUTDOWN)).is_ok());
    assert_eq!(
        ConfigError::InternalShutdown.to_string(),
        "an internal extension may not register for SHUTDOWN"
    );
}

#[test]
fn status_meanings_and_exit_codes() {
    for status in 0..=u16::MAX {
        let a = answer(status);
        assert_eq!(a == Answer::Accepted, (200..300).contains(&status));
        assert_eq!(a == Answer::ServerError, status >= 500);
    }
    let request = RequestKind::Next;
    let codes = [
        (ExitReason::Shutdown, 0),
        (failed_reason(), 1),
        (
            ExitReason::ServerError {
                request,
                status: 500,
            },
            2,
        ),
        (
            ExitReason::Refused {
                request,
                status: 403,
            },
            3,
        ),
        (ExitReason::InvalidIdentifier, 3),
        (ExitReason::MalformedEvents, 3),
        (ExitReason::Unreachable { request }, 4),
    ];
    for (reason, code) in codes {
        assert_eq!(reason.code(), code, "{reason:?}");
        assert!(!reason.to_string().is_empty());
    }
}

fn failed_reason() -> ExitReason {
    ExitReason::Failed {
        cause: ErrorCause::InvokeStep,
    }
}

#[cfg(feature = "alloc")]
#[test]
fn parsed_events_become_deliveries() {
    let head = ResponseHead::new(200);
    let body = br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":7}"#;
    let deadline = EpochMillis(7);
    let parsed = parse_event(&head, body);
    assert_eq!(
        Delivered::from_parsed(&parsed),
        Some(Delivered::Shutdown { deadline })
    );
    let parsed = parse_event(&head, br#"{"eventType":"X"}"#);
    assert_eq!(Delivered::from_parsed(&parsed), Some(Delivered::Unknown));
    let parsed = parse_event(&head, b"nope");
    assert_eq!(Delivered::from_parsed(&parsed), Some(Delivered::Malformed));
    let parsed = parse_event(&ResponseHead::new(500), b"");
    assert_eq!(Delivered::from_parsed(&parsed), None);
}

// --- the rendered table ----------------------------------------------------------------------

fn render() -> String {
    use core::fmt::Write as _;
    let mut md = String::new();
    md.push_str("<!-- Rendered from TRANSITIONS by a test in core/src/extension/tests.rs;\n");
    md.push_str("     `UPDATE_TRANSITIONS=1 cargo test -p lambda-runtime-types --lib rendered` ");
    md.push_str("rewrites it. -->\n\nWhere each phase can go (`input → phase`):\n\n```text\n");
    for from in Phase::ALL {
        let mut edges: Vec<String> = Vec::new();
        for t in TRANSITIONS.iter().filter(|t| t.from == from) {
            let edge = format!("{:?} → {:?}", t.input, t.to);
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }
        let edges = if edges.is_empty() {
            "(terminal)".to_string()
        } else {
            edges.join(", ")
        };
        let _ = writeln!(md, "{:<9} {edges}", format!("{from:?}"));
    }
    md.push_str("```\n\n| # | from | input | to | when |\n|---:|---|---|---|---|\n");
    for (i, t) in TRANSITIONS.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {i} | `{:?}` | `{:?}` | `{:?}` | {} |",
            t.from, t.input, t.to, t.when
        );
    }
    md
}

#[test]
fn the_rendered_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/extension/transitions.md");
    let rendered = render();
    if std::env::var_os("UPDATE_TRANSITIONS").is_some() {
        std::fs::write(path, &rendered).unwrap();
    }
    assert!(
        include_str!("transitions.md") == rendered,
        "{path} is stale: run `UPDATE_TRANSITIONS=1 cargo test -p lambda-runtime-types --lib \
         rendered` (twice: the first run writes it, the second compiles it in)"
    );
}
