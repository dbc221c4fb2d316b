//! Scenarios, each returning its harness so that one test can check every row was taken.

use std::vec;
use std::vec::Vec;

use super::*;

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
