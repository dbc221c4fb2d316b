//! Every behaviour of the lifecycle, with no socket, executor or sleep: bytes and `now` in,
//! actions and phases out.

use std::string::{String, ToString};
use std::vec::Vec;
use std::{format, vec};

use super::*;
use crate::wire::ResponseHead;

/// An owned copy of an [`Action`], so tests can compare lists of them.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Act {
    RunSetup,
    FetchNext(usize),
    RunHandler(usize, String),
    PostResponse(usize, String, Option<String>),
    PostError(usize, String, ErrorCause),
    PostInitError,
    RegisterExtension,
    StreamResponse(usize, String),
    EndStream(usize, String, Option<ErrorCause>),
    Claim(usize, String),
    Abandon(usize),
    Wait(Option<u64>),
    Exit(ExitReason),
}

impl From<Action<'_>> for Act {
    fn from(a: Action<'_>) -> Self {
        let id = |i: &Invocation| i.request_id.to_string();
        match a {
            Action::RunSetup => Act::RunSetup,
            Action::FetchNext { lane } => Act::FetchNext(lane),
            Action::RunHandler {
                lane, invocation, ..
            } => Act::RunHandler(lane, id(invocation)),
            Action::PostResponse { lane, invocation } => Act::PostResponse(
                lane,
                id(invocation),
                invocation.invocation_id.as_ref().map(ToString::to_string),
            ),
            Action::PostError {
                lane,
                invocation,
                cause,
            } => Act::PostError(lane, id(invocation), cause),
            Action::PostInitError { .. } => Act::PostInitError,
            Action::RegisterExtension => Act::RegisterExtension,
            Action::StreamResponse { lane, invocation } => {
                Act::StreamResponse(lane, id(invocation))
            }
            Action::EndStream {
                lane,
                invocation,
                error,
            } => Act::EndStream(lane, id(invocation), error),
            Action::Claim { lane, invocation } => Act::Claim(lane, id(invocation)),
            Action::AbandonRequest { lane } => Act::Abandon(lane),
            Action::Wait { until } => Act::Wait(until.map(EpochMillis::as_millis)),
            Action::Exit(r) => Act::Exit(r),
        }
    }
}

const MAX_STEPS: usize = 64;

/// Drives a machine with a virtual clock and records the phases lane 0 goes through.
struct Harness<const N: usize = 1> {
    m: Lifecycle<N>,
    now: EpochMillis,
    transcript: Vec<Phase>,
}

fn at(ms: u64) -> EpochMillis {
    EpochMillis(ms)
}

const T0: u64 = 1_700_000_000_000;

impl<const N: usize> Harness<N> {
    fn new(options: Options) -> Self {
        let m = Lifecycle::new(options);
        let transcript = vec![m.phase()];
        Self {
            m,
            now: at(T0),
            transcript,
        }
    }

    /// A harness whose setup succeeded and whose lanes all asked for `/next`.
    fn started(options: Options) -> Self {
        let mut h = Self::new(options);
        assert_eq!(h.drain(), [Act::RunSetup, Act::Wait(None)]);
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        h.record();
        let fetches: Vec<_> = (0..h.m.lanes()).map(Act::FetchNext).collect();
        let mut want = fetches;
        want.push(Act::Wait(None));
        assert_eq!(h.drain(), want);
        h
    }

    fn record(&mut self) {
        let p = self.m.phase();
        if self.transcript.last() != Some(&p) {
            self.transcript.push(p);
        }
    }

    /// Polls until `Wait` or `Exit` (inclusive).
    fn drain(&mut self) -> Vec<Act> {
        let mut out = Vec::new();
        for _ in 0..MAX_STEPS {
            let a = Act::from(self.m.poll());
            let stop = matches!(a, Act::Wait(_) | Act::Exit(_));
            out.push(a);
            if stop {
                self.record();
                return out;
            }
        }
        panic!("poll never returned Wait or Exit: {out:?}");
    }

    fn respond(&mut self, lane: usize, head: ResponseHead<'_>, body_len: u64) {
        self.m
            .handle_response(self.now, lane, &head, body_len)
            .unwrap();
        self.record();
    }

    /// `/next` answers 200 with the usual headers.
    fn next(&mut self, lane: usize, id: &str, deadline: u64) {
        let d = std::format!("{deadline}");
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", id.as_bytes())
            .with_header("Lambda-Runtime-Deadline-Ms", d.as_bytes())
            .with_header(
                "Lambda-Runtime-Trace-Id",
                b"Root=1-abc;Parent=def;Sampled=1",
            );
        self.respond(lane, head, 2);
    }

    fn status(&mut self, lane: usize, status: u16) {
        self.respond(lane, ResponseHead::new(status), 0);
    }

    fn done(&mut self, lane: usize, id: &str, outcome: HandlerOutcome) -> Result<(), Misuse> {
        let id = crate::id::RequestId::parse(id.as_bytes()).unwrap();
        let r = self.m.handle_handler_done(self.now, lane, &id, outcome);
        self.record();
        r
    }

    fn advance_to(&mut self, t: u64) {
        self.now = at(t);
        self.m.handle_timeout(self.now);
        self.record();
    }

    fn stream_started(&mut self, lane: usize, id: &str) -> Result<(), Misuse> {
        let id = crate::id::RequestId::parse(id.as_bytes()).unwrap();
        let r = self.m.handle_stream_started(self.now, lane, &id);
        self.record();
        r
    }

    fn fail(&mut self, lane: usize) {
        self.m.handle_transport_error(self.now, lane).unwrap();
        self.record();
    }
}

/// `/next` delivers `id` with a deadline 3 s from now; the handler starts.
fn run_one(h: &mut Harness, id: &str) {
    let now = h.now.as_millis();
    h.next(0, id, now + 3_000);
    assert_eq!(
        h.drain(),
        [Act::RunHandler(0, id.into()), Act::Wait(Some(now + 2_900))]
    );
}

fn ok(len: usize) -> HandlerOutcome {
    HandlerOutcome::Ok { len }
}

// --- setup ---------------------------------------------------------------------------------

#[test]
fn setup_ok_fetches_next() {
    let mut h = Harness::<1>::new(Options::new());
    assert_eq!(h.m.phase(), Phase::Init);
    assert_eq!(h.drain(), [Act::RunSetup, Act::Wait(None)]);
    h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(h.transcript, [Phase::Init, Phase::Poll]);
}

#[test]
fn setup_error_posts_init_error_then_exits_non_zero() {
    let mut h = Harness::<1>::new(Options::new());
    h.drain();
    h.m.handle_setup(h.now, SetupOutcome::Failed).unwrap();
    assert_eq!(h.drain(), [Act::PostInitError, Act::Wait(None)]);
    h.status(0, 202);
    let acts = h.drain();
    assert_eq!(acts, [Act::Exit(ExitReason::SetupFailed)]);
    assert_eq!(h.transcript, [Phase::Init, Phase::InitReport, Phase::Exit]);
}

#[test]
fn setup_error_exits_even_if_init_error_is_refused() {
    for status in [400, 403, 500] {
        let mut h = Harness::<1>::new(Options::new());
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Failed).unwrap();
        h.drain();
        h.status(0, status);
        assert!(matches!(h.drain()[..], [Act::Exit(_)]), "{status}");
    }
}

#[test]
fn setup_error_with_lanes_reports_once() {
    let mut h = Harness::<4>::new(Options::new().lanes(4));
    h.drain();
    h.m.handle_setup(h.now, SetupOutcome::Failed).unwrap();
    assert_eq!(h.drain(), [Act::PostInitError, Act::Wait(None)]);
    for lane in 1..4 {
        assert_eq!(h.m.lane_phase(lane), Some(Phase::Exit));
    }
}

#[test]
fn setup_is_asked_for_once() {
    let mut h = Harness::<1>::new(Options::new());
    assert_eq!(h.drain(), [Act::RunSetup, Act::Wait(None)]);
    assert_eq!(h.drain(), [Act::Wait(None)]);
}

// --- a full invocation ---------------------------------------------------------------------

#[test]
fn next_runs_the_handler_with_every_header() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header(
            "lambda-runtime-aws-request-id",
            b"8476a536-e9f4-11e8-9739-2dfe598c3fcd",
        )
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000")
        .with_header(
            "Lambda-Runtime-Trace-Id",
            b"Root=1-5759e988;Parent=53995c3f;Sampled=1",
        )
        .with_header("Lambda-Runtime-Invocation-Id", b"inv-42");
    h.respond(0, head, 17);
    assert_eq!(h.m.phase(), Phase::Run);
    let inv = h.m.invocation(0).unwrap().clone();
    assert_eq!(
        inv.request_id.as_str(),
        "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
    );
    assert_eq!(inv.deadline, Some(Deadline(at(1_700_000_003_000))));
    assert_eq!(
        inv.trace_id.unwrap().as_str(),
        "Root=1-5759e988;Parent=53995c3f;Sampled=1"
    );
    assert_eq!(inv.invocation_id.as_ref().unwrap().as_str(), "inv-42");
    let id = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
    assert_eq!(
        h.drain(),
        [Act::RunHandler(0, id.into()), Act::Wait(Some(T0 + 2_900))]
    );
    h.done(0, id, ok(5)).unwrap();
    assert_eq!(
        h.drain(),
        [
            Act::PostResponse(0, id.into(), Some("inv-42".into())),
            Act::Wait(None)
        ]
    );
}

#[test]
fn invocation_id_is_echoed_on_errors_too() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header("Lambda-Runtime-Aws-Request-Id", b"r1")
        .with_header("Lambda-Runtime-Invocation-Id", b"nonce-1");
    h.respond(0, head, 2);
    h.drain();
    h.done(0, "r1", HandlerOutcome::Failed).unwrap();
    match h.m.poll() {
        Action::PostError {
            invocation,
            cause: ErrorCause::Handler,
            ..
        } => {
            assert_eq!(
                invocation.invocation_id.as_ref().unwrap().as_str(),
                "nonce-1"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn invalid_invocation_id_is_not_echoed_but_the_invocation_runs() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header("Lambda-Runtime-Aws-Request-Id", b"r1")
        .with_header("Lambda-Runtime-Invocation-Id", b"evil\r\nX: 1");
    h.respond(0, head, 2);
    assert_eq!(h.drain()[0], Act::RunHandler(0, "r1".into()));
    assert_eq!(h.m.invocation(0).unwrap().invocation_id, None);
}

#[test]
fn cold_start_transcript() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(2)).unwrap();
    assert_eq!(
        h.drain(),
        [Act::PostResponse(0, "r1".into(), None), Act::Wait(None)]
    );
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(
        h.transcript,
        [
            Phase::Init,
            Phase::Poll,
            Phase::Run,
            Phase::Report,
            Phase::Poll
        ]
    );
}

#[test]
fn handler_error_posts_error_then_polls() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", HandlerOutcome::Failed).unwrap();
    assert_eq!(
        h.drain(),
        [
            Act::PostError(0, "r1".into(), ErrorCause::Handler),
            Act::Wait(None)
        ]
    );
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(
        h.transcript,
        [
            Phase::Init,
            Phase::Poll,
            Phase::Run,
            Phase::Report,
            Phase::Poll
        ]
    );
}

#[test]
fn cargo_lambda_answers_200_to_reports() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(2)).unwrap();
    h.drain();
    h.status(0, 200);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
}

#[test]
fn handler_result_for_another_id_is_misuse() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    assert_eq!(h.done(0, "r2", ok(2)), Err(Misuse::WrongRequestId));
    assert_eq!(h.m.phase(), Phase::Run);
}

// --- timeouts ------------------------------------------------------------------------------

#[test]
fn timeout_posts_error_and_drops_late_result() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.advance_to(T0 + 2_899);
    assert_eq!(h.m.phase(), Phase::Run, "not yet due");
    assert_eq!(h.drain(), [Act::Wait(Some(T0 + 2_900))]);
    h.advance_to(T0 + 2_900);
    let cause = ErrorCause::Timeout {
        deadline: Deadline(at(T0 + 3_000)),
        margin_ms: 100,
        budget_ms: 3_000,
    };
    assert_eq!(
        h.drain(),
        [Act::PostError(0, "r1".into(), cause), Act::Wait(None)]
    );
    // The handler finishes while the timeout error is in flight: dropped.
    h.done(0, "r1", ok(2)).unwrap();
    assert_eq!(h.drain(), [Act::Wait(None)]);
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    // ... or even later: still never posted.
    assert!(h.done(0, "r1", ok(2)).is_err());
    assert_eq!(h.drain(), [Act::Wait(None)]);
    assert_eq!(
        h.transcript,
        [
            Phase::Init,
            Phase::Poll,
            Phase::Run,
            Phase::Timeout,
            Phase::Poll
        ]
    );
}

#[test]
fn timeout_margin_is_configurable() {
    let mut h = Harness::<1>::started(Options::new().timeout_margin_ms(500));
    h.next(0, "r1", T0 + 3_000);
    assert_eq!(
        h.drain(),
        [Act::RunHandler(0, "r1".into()), Act::Wait(Some(T0 + 2_500))]
    );
    let mut h = Harness::<1>::started(Options::new().timeout_margin_ms(0));
    h.next(0, "r1", T0 + 3_000);
    assert_eq!(h.drain()[1], Act::Wait(Some(T0 + 3_000)));
}

#[test]
fn deadline_closer_than_the_margin_fires_at_once() {
    let mut h = Harness::<1>::started(Options::new());
    h.next(0, "r1", T0 + 40);
    assert_eq!(
        h.drain(),
        [Act::RunHandler(0, "r1".into()), Act::Wait(Some(T0))]
    );
}

#[test]
fn spurious_and_repeated_timeouts_are_no_ops() {
    let mut h = Harness::<1>::started(Options::new());
    h.advance_to(T0 + 10);
    h.advance_to(T0 + 10);
    assert_eq!(h.drain(), [Act::Wait(None)]);
    run_one(&mut h, "r1");
    h.advance_to(T0 + 2_950);
    h.advance_to(T0 + 2_960);
    let acts = h.drain();
    assert_eq!(acts.len(), 2, "one timeout error, not two: {acts:?}");
}

#[test]
fn missing_garbage_or_absurd_deadlines_arm_no_timer() {
    let cases: [&[u8]; 7] = [
        b"",
        b"soon",
        b"-5",
        b"1700000003000.5",
        b"99999999999999999999999",
        b"1000",                 // a small constant, as some local emulators send
        b"18446744073709551615", // far in the future
    ];
    for deadline in cases {
        let mut h = Harness::<1>::started(Options::new());
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", b"r1")
            .with_header("Lambda-Runtime-Deadline-Ms", deadline);
        h.respond(0, head, 2);
        assert_eq!(
            h.drain(),
            [Act::RunHandler(0, "r1".into()), Act::Wait(None)],
            "{deadline:?}"
        );
        h.advance_to(u64::MAX);
        assert_eq!(h.m.phase(), Phase::Run);
        h.done(0, "r1", ok(1)).unwrap();
        assert_eq!(h.drain()[0], Act::PostResponse(0, "r1".into(), None));
    }
    let mut h = Harness::<1>::started(Options::new());
    h.respond(
        0,
        ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"r1"),
        2,
    );
    assert_eq!(
        h.drain(),
        [Act::RunHandler(0, "r1".into()), Act::Wait(None)]
    );
}

#[test]
fn a_clock_stepping_back_does_not_undo_time() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.advance_to(T0 + 2_950);
    h.advance_to(T0);
    assert_eq!(h.m.phase(), Phase::Timeout);
}

// --- request ids ---------------------------------------------------------------------------

#[test]
fn missing_request_id_goes_back_to_poll() {
    let mut h = Harness::<1>::started(Options::new());
    h.respond(
        0,
        ResponseHead::new(200).with_header("Lambda-Runtime-Deadline-Ms", b"1"),
        2,
    );
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(h.transcript, [Phase::Init, Phase::Poll]);
}

#[test]
fn unsafe_request_ids_are_never_used() {
    let long = "a".repeat(129);
    for id in [
        "a/b",
        "..",
        "x/../y",
        "a%2Fb",
        "a b",
        "a\r\nb",
        "a\nb",
        long.as_str(),
        "",
    ] {
        let mut h = Harness::<1>::started(Options::new());
        let head =
            ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", id.as_bytes());
        h.respond(0, head, 2);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)], "{id:?}");
        assert_eq!(h.m.invocation(0), None);
    }
}

// --- statuses ------------------------------------------------------------------------------

#[test]
fn rejected_reports_are_logged_not_retried() {
    for status in [400, 403, 404, 410, 413] {
        let mut h = Harness::<1>::started(Options::new());
        run_one(&mut h, "r1");
        h.done(0, "r1", HandlerOutcome::Failed).unwrap();
        h.drain();
        h.status(0, status);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)], "{status}");
    }
}

#[test]
fn rejected_responses_are_logged_not_retried() {
    for status in [400, 403, 410] {
        let mut h = Harness::<1>::started(Options::new());
        run_one(&mut h, "r1");
        h.done(0, "r1", ok(3)).unwrap();
        h.drain();
        h.status(0, status);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)], "{status}");
    }
}

#[test]
fn status_413_on_response_posts_too_large_error_for_same_id() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(6_000_000)).unwrap();
    assert_eq!(h.drain()[0], Act::PostResponse(0, "r1".into(), None));
    h.status(0, 413);
    let cause = ErrorCause::ResponseTooLarge { len: 6_000_000 };
    assert_eq!(
        h.drain(),
        [Act::PostError(0, "r1".into(), cause), Act::Wait(None)]
    );
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
}

#[test]
fn oversized_response_is_never_sent() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(MAX_PAYLOAD_BYTES)).unwrap();
    assert_eq!(
        h.drain()[0],
        Act::PostResponse(0, "r1".into(), None),
        "the limit itself is fine"
    );
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(MAX_PAYLOAD_BYTES + 1)).unwrap();
    let cause = ErrorCause::ResponseTooLarge {
        len: MAX_PAYLOAD_BYTES + 1,
    };
    assert_eq!(
        h.drain(),
        [Act::PostError(0, "r1".into(), cause), Act::Wait(None)]
    );
}

#[test]
fn oversized_event_is_reported_without_running_the_handler() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"r1");
    h.respond(0, head, MAX_PAYLOAD_BYTES as u64 + 1);
    let cause = ErrorCause::EventTooLarge {
        len: MAX_PAYLOAD_BYTES as u64 + 1,
    };
    assert_eq!(
        h.drain(),
        [Act::PostError(0, "r1".into(), cause), Act::Wait(None)]
    );
}

#[test]
fn server_error_exits_promptly_from_every_endpoint() {
    // /next
    let mut h = Harness::<1>::started(Options::new());
    h.status(0, 500);
    assert_eq!(
        h.drain(),
        [Act::Exit(ExitReason::ServerError { status: 500 })]
    );
    // /response and /error
    for outcome in [ok(2), HandlerOutcome::Failed] {
        let mut h = Harness::<1>::started(Options::new());
        run_one(&mut h, "r1");
        h.done(0, "r1", outcome).unwrap();
        h.drain();
        h.status(0, 500);
        assert_eq!(
            h.drain(),
            [Act::Exit(ExitReason::ServerError { status: 500 })]
        );
        assert_ne!(ExitReason::ServerError { status: 500 }.code(), 0);
    }
    // the timeout error
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.advance_to(T0 + 3_000);
    h.drain();
    h.status(0, 503);
    assert_eq!(
        h.drain(),
        [Act::Exit(ExitReason::ServerError { status: 503 })]
    );
    assert_eq!(h.transcript.last(), Some(&Phase::Exit));
    // Exit is terminal.
    assert_eq!(
        h.drain(),
        [Act::Exit(ExitReason::ServerError { status: 503 })]
    );
}

#[test]
fn next_refused_backs_off_then_exits() {
    let mut h = Harness::<1>::started(Options::new());
    let mut waits = Vec::new();
    for _ in 1..MAX_ATTEMPTS {
        h.status(0, 403);
        let acts = h.drain();
        let [Act::Wait(Some(until))] = acts[..] else {
            panic!("{acts:?}")
        };
        waits.push(until - h.now.as_millis());
        h.advance_to(until);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    }
    assert!(
        waits.windows(2).all(|w| w[0] <= w[1]),
        "backoff grows: {waits:?}"
    );
    assert!(waits[0] > 0, "never a busy loop: {waits:?}");
    h.status(0, 403);
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Refused { status: 403 })]);
}

// --- transport failures --------------------------------------------------------------------

#[test]
fn dropped_connection_retries_with_bounded_backoff_then_exits() {
    let mut h = Harness::<1>::started(Options::new());
    h.fail(0);
    assert_eq!(
        h.drain(),
        [Act::FetchNext(0), Act::Wait(None)],
        "first retry is immediate"
    );
    let mut total = 0;
    for attempt in 2..MAX_ATTEMPTS {
        h.fail(0);
        let acts = h.drain();
        let [Act::Wait(Some(until))] = acts[..] else {
            panic!("attempt {attempt}: {acts:?}")
        };
        let delay = until - h.now.as_millis();
        assert_eq!(delay, backoff_ms(attempt));
        assert!(delay > 0 && delay <= 2_000);
        total += delay;
        h.advance_to(until);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    }
    assert!(total < 10_000, "gives up within seconds: {total} ms");
    h.fail(0);
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Unreachable)]);
}

#[test]
fn dropped_connection_while_reporting_reposts_the_same_thing() {
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(3)).unwrap();
    h.drain();
    h.fail(0);
    assert_eq!(
        h.drain(),
        [Act::PostResponse(0, "r1".into(), None), Act::Wait(None)]
    );
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
}

#[test]
fn a_success_resets_the_failure_count() {
    let mut h = Harness::<1>::started(Options::new());
    for _ in 0..3 {
        for _ in 1..MAX_ATTEMPTS {
            h.fail(0);
            if let [Act::Wait(Some(until))] = h.drain()[..] {
                h.advance_to(until);
                h.drain();
            }
        }
        run_one(&mut h, "r1");
        h.done(0, "r1", ok(1)).unwrap();
        h.drain();
        h.status(0, 202);
        h.drain();
    }
    assert_eq!(h.m.phase(), Phase::Poll);
}

#[test]
fn responses_without_a_request_in_flight_are_misuse() {
    let mut h = Harness::<1>::started(Options::new());
    h.fail(0);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    h.fail(0);
    // Waiting for the backoff: nothing is in flight.
    assert_eq!(
        h.m.handle_response(h.now, 0, &ResponseHead::new(200), 0),
        Err(Misuse::NoRequestInFlight)
    );
    assert_eq!(
        h.m.handle_transport_error(h.now, 0),
        Err(Misuse::NoRequestInFlight)
    );
    assert_eq!(
        h.m.handle_transport_error(h.now, 7),
        Err(Misuse::NoSuchLane(7))
    );
}

// --- lanes ---------------------------------------------------------------------------------

#[test]
fn lanes_share_one_setup_and_run_independently() {
    let mut h = Harness::<4>::started(Options::new().lanes(4));
    assert_eq!(h.m.lanes(), 4);
    h.next(2, "c", T0 + 1_000);
    h.next(0, "a", T0 + 5_000);
    let acts = h.drain();
    assert!(acts.contains(&Act::RunHandler(2, "c".into())));
    assert!(acts.contains(&Act::RunHandler(0, "a".into())));
    assert_eq!(acts.last(), Some(&Act::Wait(Some(T0 + 900))));
    h.advance_to(T0 + 900);
    let cause = ErrorCause::Timeout {
        deadline: Deadline(at(T0 + 1_000)),
        margin_ms: 100,
        budget_ms: 1_000,
    };
    assert_eq!(
        h.drain(),
        [
            Act::PostError(2, "c".into(), cause),
            Act::Wait(Some(T0 + 4_900))
        ]
    );
    h.done(0, "a", ok(1)).unwrap();
    assert_eq!(
        h.drain(),
        [Act::PostResponse(0, "a".into(), None), Act::Wait(None)]
    );
    assert_eq!(h.m.lane_phase(1), Some(Phase::Poll));
    assert_eq!(h.m.lane_phase(2), Some(Phase::Timeout));
    assert_eq!(h.m.lane_phase(4), None);
}

#[test]
fn lanes_are_clamped() {
    assert_eq!(Lifecycle::<2>::new(Options::new().lanes(9)).lanes(), 2);
    assert_eq!(Lifecycle::<2>::new(Options::new().lanes(0)).lanes(), 1);
}

#[test]
fn a_server_error_on_one_lane_stops_all() {
    let mut h = Harness::<3>::started(Options::new().lanes(3));
    h.status(1, 500);
    assert_eq!(
        h.drain(),
        [Act::Exit(ExitReason::ServerError { status: 500 })]
    );
    for lane in 0..3 {
        assert_eq!(h.m.lane_phase(lane), Some(Phase::Exit));
    }
}

// --- the table -----------------------------------------------------------------------------

/// A single-lane machine brought into `phase` (watched for `Claim`, the one phase only a
/// watched machine has; registering an extension for `Register`).
fn machine_in(phase: Phase) -> Harness {
    let options = Options::new()
        .watched(phase == Phase::Claim)
        .extension(phase == Phase::Register);
    let mut h = Harness::<1>::new(options);
    h.drain();
    if phase == Phase::Init {
        return h;
    }
    let outcome = match phase {
        Phase::InitReport => SetupOutcome::Failed,
        _ => SetupOutcome::Done,
    };
    h.m.handle_setup(h.now, outcome).unwrap();
    h.drain();
    match phase {
        Phase::Run | Phase::Claim | Phase::Report => {
            run_one(&mut h, "r1");
            if phase != Phase::Run {
                h.done(0, "r1", ok(1)).unwrap();
                h.drain();
            }
        }
        Phase::Timeout => {
            run_one(&mut h, "r1");
            h.advance_to(T0 + 3_000);
            h.drain();
        }
        Phase::Exit => {
            h.status(0, 500);
            h.drain();
        }
        Phase::Stream => {
            run_one(&mut h, "r1");
            h.stream_started(0, "r1").unwrap();
            h.drain();
        }
        Phase::Init | Phase::Register | Phase::Poll | Phase::InitReport => {}
    }
    assert_eq!(h.m.phase(), phase);
    h
}

fn feed(h: &mut Harness, input: InputKind) -> Result<(), Misuse> {
    let now = h.now;
    let id = crate::id::RequestId::parse(b"r1").unwrap();
    match input {
        InputKind::SetupDone => h.m.handle_setup(now, SetupOutcome::Done),
        InputKind::SetupFailed => h.m.handle_setup(now, SetupOutcome::Failed),
        InputKind::Response => h.m.handle_response(now, 0, &ResponseHead::new(202), 0),
        InputKind::HandlerDone => h.m.handle_handler_done(now, 0, &id, ok(1)),
        InputKind::TransportFailed => h.m.handle_transport_error(now, 0),
        InputKind::TimerFired => {
            h.m.handle_timeout(now);
            Ok(())
        }
        InputKind::Claimed => h.m.handle_claim(now, 0, ClaimOutcome::Won),
        InputKind::ReportedElsewhere => {
            let outcome = ClaimOutcome::ReportedElsewhere { status: 202 };
            h.m.handle_claim(now, 0, outcome)
        }
        InputKind::ExtensionSettled => h.m.handle_extension(now, true),
        InputKind::StreamStarted => h.m.handle_stream_started(now, 0, &id),
        InputKind::StreamOverLimit => h.m.handle_stream_over_limit(now, 0, 1),
        InputKind::AnswerStarted => h.m.handle_answer_started(now, 0),
    }
}

#[test]
fn every_pair_outside_the_table_is_misuse_and_changes_nothing() {
    for phase in Phase::ALL {
        for input in InputKind::ALL {
            if input == InputKind::TimerFired || is_legal(phase, input) {
                continue;
            }
            let mut h = machine_in(phase);
            let before = format!("{:?}", h.m);
            assert_eq!(
                feed(&mut h, input),
                Err(Misuse::Illegal { phase, input }),
                "{phase:?} {input:?}"
            );
            assert_eq!(
                format!("{:?}", h.m),
                before,
                "{phase:?} {input:?} changed the state"
            );
        }
    }
}

#[test]
fn every_pair_in_the_table_is_accepted() {
    for phase in Phase::ALL {
        for input in InputKind::ALL {
            if !is_legal(phase, input) || input == InputKind::TimerFired {
                continue;
            }
            if (phase, input) == (Phase::Init, InputKind::ExtensionSettled) {
                // A row of the lanes other than 0 (row_extension_settled_other_lanes_fetch);
                // lane 0 in Init refuses it (an_extension_settling_before_setup_is_misuse).
                continue;
            }
            let mut h = machine_in(phase);
            assert_eq!(feed(&mut h, input), Ok(()), "{phase:?} {input:?}");
            let to = h.m.phase();
            assert!(
                TRANSITIONS
                    .iter()
                    .any(|t| t.from == phase && t.input == input && t.to == to),
                "{phase:?} --{input:?}--> {to:?} is not in the table"
            );
        }
    }
}

#[test]
fn the_table_has_no_duplicate_rows_and_every_phase_is_reachable() {
    for (i, a) in TRANSITIONS.iter().enumerate() {
        for b in &TRANSITIONS[i + 1..] {
            assert!(
                !(a.from == b.from && a.input == b.input && a.to == b.to),
                "{a:?}"
            );
        }
    }
    for p in Phase::ALL {
        assert!(
            p == Phase::Init || TRANSITIONS.iter().any(|t| t.to == p),
            "{p:?}"
        );
    }
}

// --- one test per row of the table ----------------------------------------------------------

/// The change of lane state that a row test's scenario made last.
type Edge = (Phase, InputKind, Phase);

/// Asserts that `edge` is row `row` of [`TRANSITIONS`].
fn check_row(row: usize, edge: Option<Edge>) {
    let t = TRANSITIONS[row];
    assert_eq!(
        edge,
        Some((t.from, t.input, t.to)),
        "row {row} ({:?} --{:?}--> {:?}: {})",
        t.from,
        t.input,
        t.to,
        t.when
    );
}

/// One `#[test]` per row, in the table's order: each scenario returns the edge it took last,
/// which must be its row.
macro_rules! row_tests {
    ($($name:ident => $scenario:expr;)*) => {
        /// The row tests, by row.
        const ROW_TESTS: &[&str] = &[$(stringify!($name)),*];
        row_tests!(@each 0usize; $($name => $scenario;)*);
    };
    (@each $row:expr; $name:ident => $scenario:expr; $($rest:tt)*) => {
        #[test]
        fn $name() {
            check_row($row, $scenario);
        }
        row_tests!(@each $row + 1usize; $($rest)*);
    };
    (@each $row:expr;) => {};
}

#[test]
fn the_extension_registers_once_before_any_lane_fetches() {
    for registered in [true, false] {
        let mut m = Lifecycle::<2>::new(Options::new().lanes(2).extension(true));
        assert_eq!(m.poll(), Action::RunSetup);
        m.handle_setup(EpochMillis(1), SetupOutcome::Done).unwrap();
        assert_eq!(m.poll(), Action::RegisterExtension);
        assert_eq!(m.poll(), Action::Wait { until: None }, "asked for once");
        assert_eq!(m.lane_phase(1), Some(Phase::Init));
        // Nothing else is legal meanwhile: no lane has a request in flight.
        assert!(m.handle_transport_error(EpochMillis(2), 0).is_err());
        m.handle_extension(EpochMillis(3), registered).unwrap();
        let mut fetching: Vec<Act> = (0..2).map(|_| m.poll().into()).collect();
        fetching.sort_by_key(|a| format!("{a:?}"));
        assert_eq!(fetching, [Act::FetchNext(0), Act::FetchNext(1)]);
        assert!(
            m.handle_extension(EpochMillis(4), true).is_err(),
            "settled once"
        );
    }
}

#[test]
fn an_extension_settling_before_setup_is_misuse() {
    // Found by the fuzzer (tests/fuzz): lane 0 took the other lanes' (Init, ExtensionSettled)
    // row while setup ran, and every lane fetched events before setup had finished.
    for lanes in [1, 2] {
        let mut m = Lifecycle::<2>::new(Options::new().lanes(lanes).extension(true));
        assert_eq!(m.poll(), Action::RunSetup);
        assert_eq!(
            m.handle_extension(EpochMillis(1), true),
            Err(Misuse::Illegal {
                phase: Phase::Init,
                input: InputKind::ExtensionSettled
            })
        );
        assert_eq!(m.poll(), Action::Wait { until: None });
        assert!((0..lanes).all(|l| m.lane_phase(l) == Some(Phase::Init)));
        m.handle_setup(EpochMillis(2), SetupOutcome::Done).unwrap();
        // Settling before the registration was handed out is refused too.
        assert_eq!(
            m.handle_extension(EpochMillis(2), true),
            Err(Misuse::NoRequestInFlight)
        );
        assert_eq!(m.lane_phase(0), Some(Phase::Register));
        assert_eq!(m.poll(), Action::RegisterExtension);
        m.handle_extension(EpochMillis(3), true).unwrap();
        assert_eq!(m.lane_phase(0), Some(Phase::Poll));
    }
}

#[test]
fn without_the_option_no_extension_is_registered() {
    let mut m = Lifecycle::<1>::new(Options::new());
    assert_eq!(m.poll(), Action::RunSetup);
    m.handle_setup(EpochMillis(1), SetupOutcome::Done).unwrap();
    assert_eq!(m.poll(), Action::FetchNext { lane: 0 });
    assert!(m.handle_extension(EpochMillis(2), true).is_err());
}

#[test]
fn a_streamed_response_is_posted_while_the_handler_runs_and_ended_by_its_result() {
    for (outcome, error) in [
        (ok(0), None),
        (HandlerOutcome::Failed, Some(ErrorCause::Handler)),
    ] {
        let mut h = running(Options::new());
        h.stream_started(0, "r1").unwrap();
        assert_eq!(
            h.drain(),
            [
                Act::StreamResponse(0, "r1".into()),
                Act::Wait(Some(T0 + 2_900))
            ]
        );
        h.done(0, "r1", outcome).unwrap();
        assert_eq!(
            h.drain(),
            [Act::EndStream(0, "r1".into(), error), Act::Wait(None)],
            "the timer is off once the stream ends"
        );
        // A second reason to end changes nothing.
        h.m.handle_stream_over_limit(h.now, 0, MAX_STREAM_BYTES + 1)
            .unwrap();
        assert_eq!(h.drain(), [Act::Wait(None)]);
        h.status(0, 202);
        assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    }
}

#[test]
fn a_stream_that_times_out_ends_with_the_timeout_and_drops_the_late_result() {
    let mut h = streaming(Options::new());
    h.advance_to(T0 + 2_900);
    let acts = h.drain();
    assert!(
        matches!(
            acts.as_slice(),
            [Act::EndStream(0, id, Some(ErrorCause::Timeout { .. })), Act::Wait(None)] if id == "r1"
        ),
        "{acts:?}"
    );
    h.done(0, "r1", ok(1)).unwrap();
    assert_eq!(h.drain(), [Act::Wait(None)], "the late result is not sent");
    assert_eq!(h.m.phase(), Phase::Stream);
}

#[test]
fn a_watched_stream_is_claimed_before_it_is_posted() {
    let mut h = running(watched());
    h.stream_started(0, "r1").unwrap();
    assert_eq!(h.drain(), [Act::Claim(0, "r1".into()), Act::Wait(None)]);
    h.m.handle_claim(h.now, 0, ClaimOutcome::Won).unwrap();
    assert_eq!(
        h.drain(),
        [
            Act::StreamResponse(0, "r1".into()),
            Act::Wait(Some(T0 + 2_900))
        ]
    );
    assert!(
        h.stream_started(0, "r1").is_err(),
        "a stream starts once: it is no longer running"
    );
}

#[test]
fn every_row_has_its_test() {
    assert_eq!(ROW_TESTS.len(), TRANSITIONS.len(), "{ROW_TESTS:?}");
}

fn last<const N: usize>(h: &Harness<N>) -> Option<Edge> {
    h.m.state.last
}

fn watched() -> Options {
    Options::new().watched(true)
}

/// A started harness whose handler for `r1` is running.
fn running(options: Options) -> Harness {
    let mut h = Harness::<1>::started(options);
    run_one(&mut h, "r1");
    h
}

/// A harness whose handler for `r1` returned `outcome` and whose post is in flight (or, when
/// watched, whose claim is asked for).
fn finished(options: Options, outcome: HandlerOutcome) -> Harness {
    let mut h = running(options);
    h.done(0, "r1", outcome).unwrap();
    h.drain();
    h
}

/// A harness whose handler for `r1` sent its first chunk and whose stream is being posted (or,
/// when watched, whose claim is asked for).
fn streaming(options: Options) -> Harness {
    let mut h = running(options);
    h.stream_started(0, "r1").unwrap();
    h.drain();
    h
}

/// A harness whose handler for `r1` timed out and whose timeout post is in flight (or, when
/// watched, whose claim is asked for).
fn timed_out(options: Options) -> Harness {
    let mut h = running(options);
    h.advance_to(T0 + 2_900);
    h.drain();
    h
}

/// A harness whose setup failed and whose init error post is in flight.
fn init_failed() -> Harness {
    let mut h = Harness::<1>::new(Options::new());
    h.drain();
    h.m.handle_setup(h.now, SetupOutcome::Failed).unwrap();
    h.drain();
    h
}

/// Fails lane 0's request once and, if the machine backs off, lets the backoff pass.
fn fail_and_retry<const N: usize>(h: &mut Harness<N>) {
    h.fail(0);
    if let [.., Act::Wait(Some(t))] = h.drain()[..] {
        h.advance_to(t);
        h.drain();
    }
}

/// Fails lane 0's request until the machine gives up.
fn fail_until_exit<const N: usize>(h: &mut Harness<N>) -> Option<Edge> {
    for _ in 1..MAX_ATTEMPTS {
        fail_and_retry(h);
    }
    h.fail(0);
    assert_eq!(h.drain(), [Act::Exit(ExitReason::Unreachable)]);
    last(h)
}

fn claim(h: &mut Harness, outcome: ClaimOutcome) -> Option<Edge> {
    h.m.handle_claim(h.now, 0, outcome).unwrap();
    last(h)
}

fn elsewhere(status: u16) -> ClaimOutcome {
    ClaimOutcome::ReportedElsewhere { status }
}

row_tests! {
    row_setup_done_fetches => {
        let mut h = Harness::<1>::new(Options::new());
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        last(&h)
    };
    row_setup_done_registers_the_extension => {
        let mut h = Harness::<1>::new(Options::new().extension(true));
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        last(&h)
    };
    row_setup_done_other_lanes_wait_for_the_extension => {
        let mut h = Harness::<2>::new(Options::new().lanes(2).extension(true));
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        last(&h)
    };
    row_extension_settled_other_lanes_fetch => {
        let mut h = Harness::<2>::new(Options::new().lanes(2).extension(true));
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        h.drain();
        h.m.handle_extension(h.now, true).unwrap();
        last(&h)
    };
    row_extension_settled_fetches => {
        let mut h = Harness::<1>::new(Options::new().extension(true));
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Done).unwrap();
        h.drain();
        h.m.handle_extension(h.now, false).unwrap();
        last(&h)
    };
    row_setup_failed_posts_init_error => last(&init_failed());
    row_setup_failed_other_lanes_exit => {
        let mut h = Harness::<2>::new(Options::new().lanes(2));
        h.drain();
        h.m.handle_setup(h.now, SetupOutcome::Failed).unwrap();
        last(&h)
    };
    row_next_runs_the_handler => last(&running(Options::new()));
    row_next_oversized_event_is_reported => {
        let mut h = Harness::<1>::started(Options::new());
        let head = ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"r1");
        h.respond(0, head, MAX_PAYLOAD_BYTES as u64 + 1);
        last(&h)
    };
    row_next_without_request_id_fetches_again => {
        let mut h = Harness::<1>::started(Options::new());
        h.status(0, 200);
        last(&h)
    };
    row_next_server_error_exits => {
        let mut h = Harness::<1>::started(Options::new());
        h.status(0, 503);
        last(&h)
    };
    row_next_transport_failure_retries => {
        let mut h = Harness::<1>::started(Options::new());
        h.fail(0);
        last(&h)
    };
    row_next_transport_failures_exit => fail_until_exit(&mut Harness::<1>::started(Options::new()));
    row_next_backoff_over_fetches_again => {
        let mut h = Harness::<1>::started(Options::new());
        h.status(0, 403);
        h.advance_to(T0 + backoff_ms(2));
        last(&h)
    };
    row_handler_done_posts => last(&finished(Options::new(), ok(1)));
    row_stream_started_streams => last(&streaming(Options::new()));
    row_stream_started_watched_claims => last(&streaming(watched()));
    row_handler_done_watched_claims => last(&finished(watched(), ok(1)));
    row_timeout_posts => last(&timed_out(Options::new()));
    row_timeout_watched_claims => last(&timed_out(watched()));
    row_claimed_posts_the_result => claim(&mut finished(watched(), ok(1)), ClaimOutcome::Won);
    row_claimed_posts_the_timeout => claim(&mut timed_out(watched()), ClaimOutcome::Won);
    row_claimed_streams => claim(&mut streaming(watched()), ClaimOutcome::Won);
    row_reported_elsewhere_fetches => claim(&mut finished(watched(), ok(1)), elsewhere(202));
    row_reported_elsewhere_server_error_exits => {
        claim(&mut finished(watched(), ok(1)), elsewhere(500))
    };
    row_report_accepted_fetches => {
        let mut h = finished(Options::new(), ok(1));
        h.status(0, 202);
        last(&h)
    };
    row_response_too_large_posts_its_error => {
        let mut h = finished(Options::new(), ok(1));
        h.status(0, 413);
        last(&h)
    };
    row_report_server_error_exits => {
        let mut h = finished(Options::new(), ok(1));
        h.status(0, 500);
        last(&h)
    };
    row_report_transport_failure_reposts => {
        let mut h = finished(Options::new(), ok(1));
        h.fail(0);
        last(&h)
    };
    row_report_transport_failures_exit => fail_until_exit(&mut finished(Options::new(), ok(1)));
    row_report_backoff_over_reposts => {
        let mut h = finished(Options::new(), ok(1));
        fail_and_retry(&mut h);
        fail_and_retry(&mut h);
        last(&h)
    };
    row_stream_handler_done_ends_it => {
        let mut h = streaming(Options::new());
        h.done(0, "r1", HandlerOutcome::Failed).unwrap();
        last(&h)
    };
    row_stream_timeout_ends_it => {
        let mut h = streaming(Options::new());
        h.advance_to(T0 + 2_900);
        last(&h)
    };
    row_stream_over_limit_ends_it => {
        let mut h = streaming(Options::new());
        h.m.handle_stream_over_limit(h.now, 0, MAX_STREAM_BYTES + 1).unwrap();
        last(&h)
    };
    row_stream_answered_fetches => {
        let mut h = streaming(Options::new());
        h.status(0, 202);
        last(&h)
    };
    row_stream_server_error_exits => {
        let mut h = streaming(Options::new());
        h.status(0, 500);
        last(&h)
    };
    row_stream_transport_failure_fetches => {
        let mut h = streaming(Options::new());
        h.fail(0);
        last(&h)
    };
    row_timeout_accepted_fetches => {
        let mut h = timed_out(Options::new());
        h.status(0, 202);
        last(&h)
    };
    row_timeout_server_error_exits => {
        let mut h = timed_out(Options::new());
        h.status(0, 500);
        last(&h)
    };
    row_timeout_late_result_dropped => {
        let mut h = timed_out(Options::new());
        h.done(0, "r1", ok(1)).unwrap();
        last(&h)
    };
    row_timeout_transport_failure_reposts => {
        let mut h = timed_out(Options::new());
        h.fail(0);
        last(&h)
    };
    row_timeout_transport_failures_exit => fail_until_exit(&mut timed_out(Options::new()));
    row_timeout_backoff_over_reposts => {
        let mut h = timed_out(Options::new());
        fail_and_retry(&mut h);
        fail_and_retry(&mut h);
        last(&h)
    };
    row_init_error_answered_exits => {
        let mut h = init_failed();
        h.status(0, 202);
        last(&h)
    };
    row_init_error_transport_failure_reposts => {
        let mut h = init_failed();
        h.fail(0);
        last(&h)
    };
    row_init_error_transport_failures_exit => fail_until_exit(&mut init_failed());
    row_init_error_backoff_over_reposts => {
        let mut h = init_failed();
        fail_and_retry(&mut h);
        fail_and_retry(&mut h);
        last(&h)
    };
    row_next_answer_started => answer_started(Harness::<1>::started(Options::new()));
    row_post_answer_started => answer_started(finished(Options::new(), ok(1)));
    row_timeout_post_answer_started => answer_started(timed_out(Options::new()));
    row_init_error_answer_started => answer_started(init_failed());
}

/// Reports the first bytes of lane 0's answer; the edge taken.
fn answer_started(mut h: Harness) -> Option<Edge> {
    h.m.handle_answer_started(h.now, 0).unwrap();
    last(&h)
}

// --- answers that stall ----------------------------------------------------------------------

#[test]
fn a_stalled_next_head_is_abandoned_then_asked_for_again() {
    let mut h = Harness::<1>::started(Options::new());
    h.m.handle_answer_started(h.now, 0).unwrap();
    assert_eq!(h.drain(), [Act::Wait(Some(T0 + ANSWER_TIMEOUT_MS))]);
    assert_eq!(
        h.m.handle_answer_started(h.now, 0),
        Err(Misuse::NoRequestInFlight),
        "reported once per request"
    );
    h.advance_to(T0 + ANSWER_TIMEOUT_MS - 1);
    assert_eq!(
        h.drain(),
        [Act::Wait(Some(T0 + ANSWER_TIMEOUT_MS))],
        "not yet"
    );
    h.advance_to(T0 + ANSWER_TIMEOUT_MS);
    assert_eq!(h.drain(), [Act::Abandon(0), Act::Wait(None)]);
    assert_eq!(h.drain(), [Act::Wait(None)], "asked for once");
    // No head arrived: a transport failure, retried at once (the first retry has no backoff).
    h.fail(0);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    run_one(&mut h, "after-the-stall");
    assert_eq!(h.transcript, [Phase::Init, Phase::Poll, Phase::Run]);
}

#[test]
fn stalled_next_heads_in_a_row_exit() {
    let mut h = Harness::<1>::started(Options::new());
    for attempt in 1..=MAX_ATTEMPTS {
        h.m.handle_answer_started(h.now, 0).unwrap();
        h.drain();
        let stalled = h.now.as_millis() + ANSWER_TIMEOUT_MS;
        h.advance_to(stalled);
        assert_eq!(h.drain(), [Act::Abandon(0), Act::Wait(None)]);
        h.fail(0);
        let acts = h.drain();
        if attempt == MAX_ATTEMPTS {
            assert_eq!(acts, [Act::Exit(ExitReason::Unreachable)]);
        } else if let [Act::Wait(Some(t))] = acts[..] {
            h.advance_to(t);
            assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
        } else {
            assert_eq!(
                acts,
                [Act::FetchNext(0), Act::Wait(None)],
                "attempt {attempt}"
            );
        }
    }
    assert!(
        h.now.as_millis() - T0 <= u64::from(MAX_ATTEMPTS) * ANSWER_TIMEOUT_MS + 3_150,
        "the documented bound"
    );
}

#[test]
fn a_next_whose_body_stalls_is_reported_as_truncated() {
    let mut h = Harness::<1>::started(Options::new());
    h.m.handle_answer_started(h.now, 0).unwrap();
    h.drain();
    h.advance_to(T0 + ANSWER_TIMEOUT_MS);
    assert_eq!(h.drain(), [Act::Abandon(0), Act::Wait(None)]);
    let head = ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"dribbled");
    h.m.handle_truncated_response(h.now, 0, &head).unwrap();
    assert_eq!(
        h.drain(),
        [
            Act::PostError(0, "dribbled".into(), ErrorCause::EventTruncated),
            Act::Wait(None)
        ]
    );
}

#[test]
fn an_answer_that_completes_after_it_started_is_taken_as_usual() {
    let mut h = finished(Options::new(), ok(1));
    h.m.handle_answer_started(h.now, 0).unwrap();
    assert_eq!(h.drain(), [Act::Wait(Some(T0 + ANSWER_TIMEOUT_MS))]);
    h.status(0, 202);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    h.advance_to(T0 + ANSWER_TIMEOUT_MS);
    assert_eq!(
        h.drain(),
        [Act::Wait(None)],
        "the stall timer went with the answer"
    );
    // Even one that completes after the machine asked to abandon it.
    h.m.handle_answer_started(h.now, 0).unwrap();
    h.advance_to(T0 + 2 * ANSWER_TIMEOUT_MS);
    assert_eq!(h.drain(), [Act::Abandon(0), Act::Wait(None)]);
    h.next(0, "r2", T0 + 20_000);
    assert_eq!(h.drain()[0], Act::RunHandler(0, "r2".into()));
}

#[test]
fn a_stalled_post_is_posted_again() {
    let mut h = finished(Options::new(), ok(1));
    h.m.handle_answer_started(h.now, 0).unwrap();
    h.advance_to(T0 + ANSWER_TIMEOUT_MS);
    assert_eq!(h.drain(), [Act::Abandon(0), Act::Wait(None)]);
    h.fail(0);
    assert_eq!(
        h.drain(),
        [Act::PostResponse(0, "r1".into(), None), Act::Wait(None)]
    );
}

// --- conflicting headers ---------------------------------------------------------------------

#[test]
fn two_different_request_ids_are_not_routed_to_either() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header("Lambda-Runtime-Aws-Request-Id", b"first")
        .with_header("Lambda-Runtime-Aws-Request-Id", b"second");
    assert_eq!(
        Invocation::from_head(&head),
        Err(crate::id::RemoteError::ConflictingHeader(
            "Lambda-Runtime-Aws-Request-Id"
        ))
    );
    h.respond(0, head, 2);
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(h.transcript, [Phase::Init, Phase::Poll]);
}

#[test]
fn identical_duplicates_are_accepted() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header("Lambda-Runtime-Aws-Request-Id", b"same")
        .with_header("lambda-runtime-aws-request-id", b"same")
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000")
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000");
    h.respond(0, head, 2);
    assert_eq!(h.drain()[0], Act::RunHandler(0, "same".into()));
}

#[test]
fn another_conflicting_lambda_field_makes_the_event_malformed() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200)
        .with_header("Lambda-Runtime-Aws-Request-Id", b"r-9")
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000")
        .with_header("Lambda-Runtime-Deadline-Ms", b"1700000009000");
    h.respond(0, head, 2);
    let header = "Lambda-Runtime-Deadline-Ms";
    assert_eq!(
        h.drain(),
        [
            Act::PostError(0, "r-9".into(), ErrorCause::EventMalformed { header }),
            Act::Wait(None)
        ]
    );
}

// --- the rendered tables --------------------------------------------------------------------

/// The markdown the module docs include: the phases' edges, [`TRANSITIONS`] and
/// [`STATUS_POLICY`], rendered from the constants.
fn render() -> String {
    use core::fmt::Write as _;
    let mut md = String::new();
    md.push_str("<!-- Rendered from TRANSITIONS and STATUS_POLICY by a test in ");
    md.push_str("core/src/lifecycle/tests.rs;\n     `UPDATE_TRANSITIONS=1 cargo test -p ");
    md.push_str("lambda-runtime-types --lib rendered` rewrites it. -->\n\n");
    md.push_str("Where each phase can go (`input → phase`):\n\n```text\n");
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
        let _ = writeln!(md, "{:<10} {edges}", format!("{from:?}"));
    }
    md.push_str("```\n\n");
    md.push_str("| # | from | input | to | when |\n|---:|---|---|---|---|\n");
    for (i, t) in TRANSITIONS.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {i} | `{:?}` | `{:?}` | `{:?}` | {} |",
            t.from, t.input, t.to, t.when
        );
    }
    md.push_str("\nWhat a status means (the first matching rule decides):\n\n");
    md.push_str("| requests | statuses | answer |\n|---|---|---|\n");
    for r in STATUS_POLICY {
        let kinds: Vec<String> = r.kinds.iter().map(|k| format!("`{k:?}`")).collect();
        let statuses = match (r.lowest, r.highest) {
            (lo, hi) if lo == hi => format!("{lo}"),
            (lo, u16::MAX) => format!("{lo} and above"),
            (0, hi) => format!("up to {hi} (not matched above)"),
            (lo, hi) => format!("{lo}–{hi}"),
        };
        let _ = writeln!(
            md,
            "| {} | {statuses} | `{:?}` |",
            kinds.join(", "),
            r.answer
        );
    }
    md
}

#[test]
fn the_rendered_tables_are_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/lifecycle/transitions.md");
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

// --- the status policy -----------------------------------------------------------------------

#[test]
fn every_status_of_every_request_kind_has_one_meaning() {
    use RequestKind::*;
    for status in 0..=u16::MAX {
        assert_eq!(answer(Next, status) == Answer::Delivered, status == 200);
        for kind in [Next, Response, Error, InitError] {
            let a = answer(kind, status);
            assert_eq!(a == Answer::ServerError, status >= 500, "{kind:?} {status}");
            if kind != Next {
                assert_eq!(a == Answer::Accepted, (200..300).contains(&status));
            }
        }
        assert_eq!(answer(Response, status) == Answer::TooLarge, status == 413);
        assert_ne!(answer(Error, status), Answer::TooLarge);
        for kind in [Response, Error] {
            assert_eq!(answer(kind, status) == Answer::Gone, status == 410);
        }
        assert_ne!(answer(InitError, status), Answer::Gone);
    }
}

#[test]
fn run_handler_says_when_the_timeout_will_be_reported() {
    let mut h = Harness::<1>::started(Options::new());
    h.next(0, "r1", T0 + 3_000);
    match h.m.poll() {
        Action::RunHandler { timeout_at, .. } => assert_eq!(timeout_at, Some(at(T0 + 2_900))),
        other => panic!("{other:?}"),
    }
    let mut h = Harness::<1>::started(Options::new());
    h.respond(
        0,
        ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"r2"),
        2,
    );
    match h.m.poll() {
        Action::RunHandler { timeout_at, .. } => assert_eq!(timeout_at, None),
        other => panic!("{other:?}"),
    }
}

// --- reports made outside the executor, truncated events ----------------------------------

#[test]
fn a_watched_invocation_is_claimed_before_anything_is_posted() {
    // The handler blocked: the watchdog posted its timeout; the late result is dropped.
    let mut h = finished(watched(), ok(1));
    h.m.handle_claim(h.now, 0, elsewhere(202)).unwrap();
    h.record();
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    assert_eq!(
        h.transcript,
        [
            Phase::Init,
            Phase::Poll,
            Phase::Run,
            Phase::Claim,
            Phase::Poll
        ]
    );

    // The driver claimed first: the result is posted as usual.
    let mut h = running(watched());
    h.done(0, "r1", ok(1)).unwrap();
    assert_eq!(h.drain(), [Act::Claim(0, "r1".into()), Act::Wait(None)]);
    h.m.handle_claim(h.now, 0, ClaimOutcome::Won).unwrap();
    assert_eq!(
        h.drain(),
        [Act::PostResponse(0, "r1".into(), None), Act::Wait(None)]
    );

    // The machine's own timer fired: claimed, then posted as a timeout.
    let mut h = timed_out(watched());
    h.m.handle_claim(h.now, 0, ClaimOutcome::Won).unwrap();
    assert!(matches!(
        h.drain()[..],
        [
            Act::PostError(0, _, ErrorCause::Timeout { .. }),
            Act::Wait(None)
        ]
    ));
    assert_eq!(h.m.phase(), Phase::Timeout);

    // A claim answers only the claim it was asked for.
    let mut h = running(watched());
    assert_eq!(
        h.m.handle_claim(h.now, 0, ClaimOutcome::Won),
        Err(Misuse::Illegal {
            phase: Phase::Run,
            input: InputKind::Claimed
        })
    );

    // A 5xx answer to the watchdog's post stops the runtime like any other.
    let mut h = timed_out(watched());
    h.m.handle_claim(h.now, 0, elsewhere(500)).unwrap();
    assert_eq!(
        h.drain(),
        [Act::Exit(ExitReason::ServerError { status: 500 })]
    );
}

#[test]
fn a_truncated_event_is_reported_not_lost() {
    let mut h = Harness::<1>::started(Options::new());
    let head = ResponseHead::new(200).with_header("Lambda-Runtime-Aws-Request-Id", b"r1");
    h.m.handle_truncated_response(h.now, 0, &head).unwrap();
    h.record();
    assert_eq!(
        h.drain(),
        [
            Act::PostError(0, "r1".into(), ErrorCause::EventTruncated),
            Act::Wait(None)
        ]
    );
    assert_eq!(h.transcript, [Phase::Init, Phase::Poll, Phase::Report]);
}

#[test]
fn a_truncated_answer_without_an_invocation_counts_by_its_status() {
    // /next 200 without an id: fetch again.
    let mut h = Harness::<1>::started(Options::new());
    h.m.handle_truncated_response(h.now, 0, &ResponseHead::new(200))
        .unwrap();
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
    // A post answered 202 with a cut body: accepted.
    let mut h = Harness::<1>::started(Options::new());
    run_one(&mut h, "r1");
    h.done(0, "r1", ok(1)).unwrap();
    h.drain();
    h.m.handle_truncated_response(h.now, 0, &ResponseHead::new(202))
        .unwrap();
    assert_eq!(h.drain(), [Act::FetchNext(0), Act::Wait(None)]);
}
