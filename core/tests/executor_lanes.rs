//! An executor that drives one lane at a time gets one lane, whatever
//! `AWS_LAMBDA_MAX_CONCURRENCY` asks for: a lane idle on `/next` never holds up another's
//! invocation.
#![cfg(feature = "std")]

use std::time::Duration;

use lambda_runtime_types::driver::{self, Executor};
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, block_on};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::Endpoint;
use lambda_runtime_types::{Config, LambdaEvent, Runner};
use serde_json::Value;

/// The in-memory executor, saying it drives `lanes` lanes.
struct Capped {
    inner: MemoryExecutor,
    lanes: usize,
}

impl Executor for Capped {
    type Connection = <MemoryExecutor as Executor>::Connection;
    type Error = <MemoryExecutor as Executor>::Error;

    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = Result<Self::Connection, Self::Error>> {
        self.inner.connect(endpoint)
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        self.inner.sleep(duration)
    }
    fn now(&self) -> EpochMillis {
        self.inner.now()
    }
    fn max_lanes(&self) -> usize {
        self.lanes
    }
}

struct Echo;

impl<'a> Runner<'a, (), Value, Value> for Echo {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
        Ok(event.event)
    }
}

/// Serves two events with `AWS_LAMBDA_MAX_CONCURRENCY=4` on an executor of `lanes` lanes;
/// the endpoints called, in order (`next`, `response`).
fn calls_with(lanes: usize) -> Vec<&'static str> {
    let api = FakeRuntimeApi::new();
    api.push("a", b"1".to_vec());
    api.push("b", b"2".to_vec());
    let exec = Capped {
        inner: MemoryExecutor::new(api.clone()),
        lanes,
    };
    let mut config = Config::for_endpoint(api.endpoint());
    config.max_concurrency = 4;
    block_on(async {
        let mut run = std::pin::pin!(driver::run::<_, (), Value, Echo, Value>(&exec, config));
        std::future::poll_fn(|cx| {
            if run.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
            match api.idle(cx.waker()) {
                true => std::task::Poll::Ready(()),
                false => std::task::Poll::Pending,
            }
        })
        .await;
    });
    api.calls()
        .iter()
        .map(|c| match c.path.rsplit('/').next() {
            Some("next") => "next",
            Some("response") => "response",
            _ => "other",
        })
        .collect()
}

#[test]
fn one_lane_for_an_executor_that_drives_one() {
    assert_eq!(
        calls_with(1),
        ["next", "response", "next", "response", "next"],
        "one /next at a time, each event answered before the next is asked for"
    );
}

#[test]
fn every_lane_asked_for_where_the_executor_drives_them() {
    let calls = calls_with(4);
    assert_eq!(
        &calls[..3],
        ["next", "next", "next"],
        "lanes ask for events at once: {calls:?}"
    );
}
