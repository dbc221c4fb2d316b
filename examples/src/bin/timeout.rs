//! A handler that awaits longer than its deadline: the runtime reports
//! `Runtime.HandlerTimeout` for the invocation 100 ms before the deadline, drops the handler's
//! future, and serves the next invocation. Event: `{"sleep_ms": 5000}`.

use std::time::Duration;

#[derive(serde::Deserialize)]
struct Event {
    sleep_ms: u64,
}

struct Runner;

impl<'a> lambda_runtime_types_tokio::Runner<'a, (), Event, String> for Runner {
    async fn run(
        _shared: &'a (),
        event: lambda_runtime_types_tokio::LambdaEvent<'a, Event>,
    ) -> anyhow::Result<String> {
        tokio::time::sleep(Duration::from_millis(event.event.sleep_ms)).await;
        Ok(format!("slept {} ms", event.event.sleep_ms))
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Runner, _>()
}
