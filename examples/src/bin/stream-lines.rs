//! A raw response stream on the tokio adapter: `count` lines (default 5), one every `ms`
//! milliseconds (default 200), each sent as soon as it is written — for
//! `InvokeWithResponseStream` callers. Run it locally with the emulator's streaming invoke
//! (see the README's "Response streaming" section).

use lambda_runtime_types_tokio::{LambdaEvent, Runner};
use serde_json::Value;

struct Lines;

impl<'a> Runner<'a, (), Value, ()> for Lines {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_shared: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<()> {
        let count = event.event["count"].as_u64().unwrap_or(5);
        let ms = event.event["ms"].as_u64().unwrap_or(200);
        let stream = event.ctx.stream();
        stream.content_type("text/plain; charset=utf-8")?;
        for n in 1..=count {
            stream.send(format!("line {n} of {count}\n")).await?;
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Lines, _>()
}
