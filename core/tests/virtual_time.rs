//! Timeouts and back-offs through the real driver and the in-memory Runtime API, in virtual
//! time: no sleep, no thread; the clock jumps to the next timer whenever nothing else can happen.
#![cfg(feature = "std")]

use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use std::time::{Duration, Instant};

use lambda_runtime_types::lifecycle::{
    DEFAULT_TIMEOUT_MARGIN_MS, ExitReason, MAX_ATTEMPTS, backoff_ms,
};
use lambda_runtime_types::testing::{
    FakeFault, FakeRuntimeApi, MAX_STEPS, MemoryExecutor, PostKind, RecordedCall, RecordedPost,
    VIRTUAL_EPOCH, VirtualClock, run_virtual,
};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};

/// What a [`Sleepy`] invocation does: sleep `ms` of virtual time and answer, or, without `ms`,
/// never finish.
#[derive(serde::Deserialize)]
struct Cmd {
    ms: Option<u64>,
}

struct Sleepy;
impl<'a> Runner<'a, (), Cmd, Value> for Sleepy {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        let Some(ms) = event.event.ms else {
            // Still running, forever.
            return core::future::pending().await;
        };
        let clock = VirtualClock::current().expect("the handler runs under run_virtual");
        clock.sleep(Duration::from_millis(ms)).await;
        // When the runtime will report it as timed out, in ms after the clock's start.
        let timeout_at = event
            .ctx
            .timeout_at
            .map(|at| at.millis_since(VIRTUAL_EPOCH));
        Ok(json!({"slept": ms, "id": event.ctx.request_id, "timeout_at": timeout_at}))
    }
}

/// Milliseconds after the virtual clock's start.
fn t(ms: u64) -> lambda_runtime_types::time::EpochMillis {
    VIRTUAL_EPOCH.saturating_add(ms)
}

const THREE_S: Duration = Duration::from_secs(3);

/// The timeout instant of an invocation delivered at `delivered` with a 3 s timeout.
fn timeout_at(delivered: u64) -> lambda_runtime_types::time::EpochMillis {
    t(delivered + 3_000 - DEFAULT_TIMEOUT_MARGIN_MS)
}

struct Outcome {
    exited: Option<ExitReason>,
    /// Virtual time when `run_virtual` returned.
    end: lambda_runtime_types::time::EpochMillis,
    posts: Vec<RecordedPost>,
    calls: Vec<RecordedCall>,
}

/// Runs `Sleepy` against `api` in virtual time until it exits or nothing is left to happen, and
/// checks that it took no real time to speak of.
fn drive(api: &FakeRuntimeApi, configure: impl FnOnce(&mut Config)) -> Outcome {
    let exec = MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().expect("a virtual clock").clone();
    assert_eq!(clock.now(), VIRTUAL_EPOCH);
    let mut config = Config::for_endpoint(api.endpoint());
    configure(&mut config);
    let wall = Instant::now();
    let exited = run_virtual(
        &clock,
        driver::run::<_, (), Cmd, Sleepy, Value>(&exec, config),
    );
    let wall = wall.elapsed();
    assert!(
        wall < Duration::from_millis(500),
        "virtual time took {wall:?} of wall time"
    );
    assert_eq!(clock.timers(), 0, "no timer is left behind");
    Outcome {
        exited,
        end: clock.now(),
        posts: api.posts(),
        calls: api.calls(),
    }
}

fn ids(posts: &[RecordedPost]) -> Vec<&str> {
    posts
        .iter()
        .map(|p| p.request_id.as_deref().unwrap_or("<init>"))
        .collect()
}

fn body(p: &RecordedPost) -> Value {
    serde_json::from_slice(&p.body).unwrap()
}

/// The virtual instants (ms after the start) of the `/next` calls.
fn next_calls(calls: &[RecordedCall]) -> Vec<u64> {
    calls
        .iter()
        .filter(|c| c.path.ends_with("/runtime/invocation/next"))
        .map(|c| c.at.millis_since(VIRTUAL_EPOCH))
        .collect()
}

#[test]
fn a_handler_that_never_finishes_is_timed_out_at_deadline_minus_margin() {
    let api = FakeRuntimeApi::new();
    api.push_with_timeout("stuck", br#"{}"#.to_vec(), THREE_S);
    api.push_with_timeout("next", br#"{"ms":10}"#.to_vec(), THREE_S);
    let o = drive(&api, |_| {});
    assert_eq!(o.exited, None, "the runtime keeps waiting for invocations");
    assert!(
        api.idle(&std::task::Waker::noop().clone()),
        "it ends on a /next with nothing to serve"
    );

    assert_eq!(ids(&o.posts), ["stuck", "next"], "{:?}", o.posts);
    let timeout = &o.posts[0];
    assert_eq!(timeout.kind, PostKind::Error);
    assert_eq!(
        timeout.error_type.as_deref(),
        Some("Runtime.HandlerTimeout")
    );
    assert_eq!(body(timeout)["errorType"], "Runtime.HandlerTimeout");
    assert_eq!(
        timeout.at,
        timeout_at(0),
        "reported at the deadline minus the 100 ms margin, not before or after"
    );

    // The next invocation is fetched at once and served as usual.
    assert_eq!(next_calls(&o.calls), [0, 2_900, 2_910]);
    let next = &o.posts[1];
    assert_eq!(next.kind, PostKind::Response);
    assert_eq!(
        body(next),
        json!({"slept": 10, "id": "next", "timeout_at": 2_900 + 2_900})
    );
    assert_eq!(next.at, t(2_910));
    assert_eq!(o.end, t(2_910), "no timer is armed while waiting on /next");
}

#[test]
fn the_margin_comes_from_the_config() {
    let api = FakeRuntimeApi::new();
    api.push_with_timeout("stuck", br#"{}"#.to_vec(), THREE_S);
    let o = drive(&api, |c| c.timeout_margin_ms = 750);
    assert_eq!(ids(&o.posts), ["stuck"]);
    assert_eq!(
        o.posts[0].error_type.as_deref(),
        Some("Runtime.HandlerTimeout")
    );
    assert_eq!(o.posts[0].at, t(2_250));
}

#[test]
fn a_handler_that_finishes_just_before_the_timeout_is_answered() {
    let api = FakeRuntimeApi::new();
    api.push_with_timeout("close-call", br#"{"ms":2899}"#.to_vec(), THREE_S);
    api.push_with_timeout("next", br#"{"ms":1}"#.to_vec(), THREE_S);
    let o = drive(&api, |_| {});
    assert_eq!(o.exited, None);
    assert_eq!(ids(&o.posts), ["close-call", "next"], "{:?}", o.posts);
    assert!(
        o.posts.iter().all(|p| p.kind == PostKind::Response),
        "no timeout: {:?}",
        o.posts
    );
    assert_eq!(
        body(&o.posts[0]),
        json!({"slept": 2899, "id": "close-call", "timeout_at": 2_900})
    );
    assert_eq!(o.posts[0].at, t(2_899));
    assert_eq!(o.posts[1].at, t(2_900));
    assert_eq!(o.end, t(2_900));
}

#[test]
fn a_handler_that_finishes_just_after_the_timeout_is_reported_once_as_timed_out() {
    let api = FakeRuntimeApi::new();
    api.push_with_timeout("late", br#"{"ms":2901}"#.to_vec(), THREE_S);
    api.push_with_timeout("next", br#"{"ms":1}"#.to_vec(), THREE_S);
    let o = drive(&api, |_| {});
    assert_eq!(ids(&o.posts), ["late", "next"], "{:?}", o.posts);
    assert_eq!(
        o.posts[0].error_type.as_deref(),
        Some("Runtime.HandlerTimeout")
    );
    assert_eq!(o.posts[0].at, timeout_at(0));
    // The late handler's future is dropped: its 2901 ms timer never fires.
    assert_eq!(o.posts[1].kind, PostKind::Response);
    assert_eq!(o.posts[1].at, t(2_901));
    assert_eq!(o.end, t(2_901));
}

#[test]
fn each_lane_times_out_on_its_own_deadline() {
    let api = FakeRuntimeApi::new();
    api.push_with_timeout("stuck", br#"{}"#.to_vec(), THREE_S);
    api.push_with_timeout("quick", br#"{"ms":1000}"#.to_vec(), Duration::from_secs(2));
    let o = drive(&api, |c| c.max_concurrency = 2);
    assert_eq!(ids(&o.posts), ["quick", "stuck"], "{:?}", o.posts);
    assert_eq!(o.posts[0].kind, PostKind::Response);
    assert_eq!(o.posts[0].at, t(1_000));
    assert_eq!(
        o.posts[1].error_type.as_deref(),
        Some("Runtime.HandlerTimeout")
    );
    assert_eq!(o.posts[1].at, timeout_at(0));
}

#[test]
fn a_dropped_connection_is_retried_after_the_documented_backoff() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"ms":0}"#.to_vec());
    // Calls 0, 1, 2: /next, connection closed unanswered; call 3: /next served.
    for call in 0..3 {
        api.fault(call, FakeFault::Close);
    }
    let o = drive(&api, |_| {});
    assert_eq!(o.exited, None);
    // First retry at once, then 50 ms, then 100 ms after that.
    assert_eq!(next_calls(&o.calls)[..4], [0, 0, 50, 150]);
    let from_backoff: Vec<u64> = (0..4)
        .map(|n| (1..=n).map(backoff_ms).sum::<u64>())
        .collect();
    assert_eq!(next_calls(&o.calls)[..4], from_backoff[..]);
    assert_eq!(ids(&o.posts), ["a"]);
    assert_eq!(o.posts[0].kind, PostKind::Response);
    assert_eq!(o.posts[0].at, t(150));
}

#[test]
fn a_post_whose_connection_drops_is_retried_after_the_same_backoff() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"ms":5}"#.to_vec());
    // Call 0: /next a; calls 1 and 2: /response a, closed unanswered; call 3: /response a.
    api.fault(1, FakeFault::Close);
    api.fault(2, FakeFault::Close);
    let o = drive(&api, |_| {});
    let posts_at: Vec<u64> = o
        .calls
        .iter()
        .filter(|c| c.method == "POST")
        .map(|c| c.at.millis_since(VIRTUAL_EPOCH))
        .collect();
    assert_eq!(posts_at, [5, 5, 55]);
    assert_eq!(
        ids(&o.posts),
        ["a"],
        "recorded once: the dropped ones never arrived"
    );
    assert_eq!(o.posts[0].at, t(55));
    assert_eq!(
        body(&o.posts[0]),
        json!({"slept": 5, "id": "a", "timeout_at": null})
    );
}

#[test]
fn max_attempts_dropped_connections_in_a_row_exit_unreachable() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"ms":0}"#.to_vec());
    for call in 0..MAX_ATTEMPTS as usize {
        api.fault(call, FakeFault::Close);
    }
    let o = drive(&api, |_| {});
    assert_eq!(o.exited, Some(ExitReason::Unreachable));
    assert_eq!(
        next_calls(&o.calls),
        [0, 0, 50, 150, 350, 750, 1_550, 3_150],
        "one attempt and MAX_ATTEMPTS - 1 retries, 50 ms doubling after the first"
    );
    assert_eq!(
        o.calls.len(),
        MAX_ATTEMPTS as usize,
        "no attempt after the last"
    );
    assert_eq!(o.end, t(3_150), "it exits as the last attempt fails");
    assert!(o.posts.is_empty());
    assert_eq!(api.fetches(), 0);
}

#[test]
fn a_refused_next_is_retried_after_50_ms() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"ms":0}"#.to_vec());
    api.force_status(0, 403);
    api.force_status(1, 403);
    let o = drive(&api, |_| {});
    assert_eq!(next_calls(&o.calls)[..3], [0, 50, 150]);
    assert_eq!(ids(&o.posts), ["a"]);
    assert_eq!(o.posts[0].at, t(150));
}

#[test]
fn an_invocation_without_a_deadline_runs_until_it_finishes() {
    let api = FakeRuntimeApi::new();
    api.push("no-deadline", br#"{"ms":3600000}"#.to_vec());
    api.push("stuck", br#"{}"#.to_vec());
    let o = drive(&api, |_| {});
    assert_eq!(ids(&o.posts), ["no-deadline"]);
    assert_eq!(o.posts[0].at, t(3_600_000), "an hour of virtual time");
    // The second never finishes and has no timer: nothing is left to happen.
    assert_eq!(o.exited, None);
    assert_eq!(o.end, t(3_600_000));
}

#[test]
fn run_virtual_jumps_only_when_nothing_else_can_happen() {
    let clock = VirtualClock::new();
    let seen = run_virtual(&clock, async {
        let c = VirtualClock::current().unwrap();
        let mut seen = vec![];
        // A cooperative yield is not a reason to move the clock.
        YieldOnce(false).await;
        seen.push(c.now().millis_since(VIRTUAL_EPOCH));
        c.sleep(Duration::from_millis(30)).await;
        seen.push(c.now().millis_since(VIRTUAL_EPOCH));
        c.sleep(Duration::ZERO).await;
        seen.push(c.now().millis_since(VIRTUAL_EPOCH));
        // Only the earliest of two timers is jumped to; the dropped one is forgotten.
        let long = c.sleep(Duration::from_millis(1_000));
        let mut long = Box::pin(long);
        let short = c.sleep(Duration::from_millis(10));
        Race(long.as_mut(), short).await;
        seen.push(c.now().millis_since(VIRTUAL_EPOCH));
        drop(long);
        assert_eq!(c.next_timer(), None);
        seen
    });
    assert_eq!(seen, Some(vec![0, 30, 30, 40]));
    assert!(
        VirtualClock::current().is_none(),
        "only while run_virtual runs"
    );

    // Pending for ever with no timer: `None` at once, and the clock stays put.
    let clock = VirtualClock::starting_at(t(5));
    assert_eq!(run_virtual(&clock, core::future::pending::<()>()), None);
    assert_eq!(clock.now(), t(5));
}

#[test]
#[should_panic(expected = "MAX_STEPS")]
fn a_future_that_wakes_itself_forever_fails_instead_of_hanging() {
    struct Spin;
    impl Future for Spin {
        type Output = ();
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    let _ = MAX_STEPS;
    run_virtual(&VirtualClock::new(), Spin);
}

/// Pending once (having woken itself), then ready.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Ready when either is.
struct Race<A, B>(A, B);
impl<A: Future + Unpin, B: Future + Unpin> Future for Race<A, B> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if Pin::new(&mut self.0).poll(cx).is_ready() || Pin::new(&mut self.1).poll(cx).is_ready() {
            return Poll::Ready(());
        }
        Poll::Pending
    }
}
