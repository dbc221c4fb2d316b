//! A response stream that fails mid-way, on the tokio adapter: two chunks, then an error. The
//! caller gets the two chunks, then the error — reported in the stream's trailers
//! (`Lambda-Runtime-Function-Error-Type` / `-Body`), the only place Lambda can take it once
//! bytes have been sent.

use lambda_runtime_types_tokio::{LambdaEvent, Runner};
use serde_json::Value;

struct Fails;

impl<'a> Runner<'a, (), Value, ()> for Fails {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_shared: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<()> {
        let stream = event.ctx.stream();
        stream.content_type("text/plain")?;
        stream.send("first chunk\n").await?;
        stream.send("second chunk\n").await?;
        anyhow::bail!("the upstream feed closed after two chunks")
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Fails, _>()
}
