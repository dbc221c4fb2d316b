//! What the watchdog costs, measured through the runtime's public API:
//!
//! - per invocation: the same invocations through the real driver against the in-memory
//!   Runtime API of `lambda_runtime_types::testing`, with the watchdog on and off, interleaved;
//!   the difference per invocation is what the watchdog adds to each (handing the running
//!   invocation to the watchdog thread and taking it back);
//! - one memory sample, as the watchdog thread takes it every 10 ms while handlers run: one read
//!   of `/proc/self/statm`.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin watchdog-cost
//! ```

use std::future::poll_fn;
use std::hint::black_box;
use std::io::Read as _;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use lambda_runtime_types::testing::{self, FakeRuntimeApi, MemoryExecutor};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::Value;

/// Invocations per timed run.
const INVOCATIONS: usize = 20_000;
/// Timed runs per setting, interleaved; the fastest of each counts.
const ROUNDS: usize = 7;
/// The watchdog thread's sampling interval while handlers run.
const SAMPLE_EVERY_MS: f64 = 10.0;

struct Echo;

impl<'a> Runner<'a, (), Value, Value> for Echo {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_shared: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
        Ok(event.event)
    }
}

/// Serves `INVOCATIONS` small events through the driver; how long that took.
fn serve(watchdog: bool) -> Duration {
    let api = FakeRuntimeApi::new();
    for n in 0..INVOCATIONS {
        api.push(&format!("req-{n}"), br#"{"a":1}"#.to_vec());
    }
    let exec = MemoryExecutor::new(api.clone());
    let mut config = Config::for_endpoint(api.endpoint());
    config.watchdog = watchdog;
    let started = Instant::now();
    let exited = testing::block_on(async {
        let mut run = pin!(driver::run::<_, (), Value, Echo, Value>(&exec, config));
        poll_fn(|cx| {
            if let Poll::Ready(reason) = run.as_mut().poll(cx) {
                return Poll::Ready(Some(reason));
            }
            // Idle: every event was served and the driver waits for the next.
            if api.idle(cx.waker()) {
                Poll::Ready(None)
            } else {
                Poll::Pending
            }
        })
        .await
    });
    let took = started.elapsed();
    assert!(exited.is_none(), "the runtime exited: {exited:?}");
    assert_eq!(api.posts().len(), INVOCATIONS, "every invocation answered");
    took
}

/// The resident memory, read as the watchdog reads it.
fn resident_pages() -> Option<u64> {
    let mut buf = [0u8; 128];
    let n = std::fs::File::open("/proc/self/statm")
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    std::str::from_utf8(&buf[..n])
        .ok()?
        .split_ascii_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn main() {
    let (mut on, mut off) = (Duration::MAX, Duration::MAX);
    serve(true);
    serve(false);
    for _ in 0..ROUNDS {
        on = on.min(serve(true));
        off = off.min(serve(false));
    }
    let per = |d: Duration| d.as_nanos() as f64 / INVOCATIONS as f64;
    println!(
        "per invocation through the driver (in-memory Runtime API, fastest of {ROUNDS} runs of \
         {INVOCATIONS}): watchdog on {:.0} ns, off {:.0} ns, difference {:.0} ns",
        per(on),
        per(off),
        per(on) - per(off)
    );

    let samples = 20_000;
    let started = Instant::now();
    for _ in 0..samples {
        black_box(resident_pages());
    }
    let sample_us = started.elapsed().as_secs_f64() * 1e6 / f64::from(samples);
    let per_second = 1000.0 / SAMPLE_EVERY_MS;
    println!("one memory sample (statm):    {sample_us:.1} µs");
    println!(
        "watchdog thread while handlers run: {per_second:.0} samples/s = {:.2} % of one CPU",
        per_second * sample_us / 1e4
    );
}
