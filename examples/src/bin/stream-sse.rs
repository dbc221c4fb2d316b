//! Server-sent events through a Function URL in `RESPONSE_STREAM` mode (or an API Gateway REST
//! API with `responseTransferMode: STREAM`), on the tokio adapter: the HTTP-integration prelude
//! (status 200, `content-type: text/event-stream`, a cookie), then one event per second for
//! `?n=` seconds (default 5). Try it behind the emulator's front door with `curl -N` (see the
//! README's "Response streaming" section).

use lambda_runtime_types_tokio::lambda_runtime_types::http::HttpRequest;
use lambda_runtime_types_tokio::{LambdaEvent, Runner};

struct Ticks;

impl<'a> Runner<'a, (), HttpRequest, ()> for Ticks {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(_shared: &'a (), event: LambdaEvent<'a, HttpRequest>) -> anyhow::Result<()> {
        let n: u32 = event
            .event
            .query()
            .get("n")
            .and_then(|v| v.parse().ok())
            .unwrap_or(5)
            .min(60);
        let stream = event.ctx.stream();
        stream.http(
            200,
            &[
                ("content-type", "text/event-stream"),
                ("cache-control", "no-cache"),
            ],
            &["seen=1; Path=/"],
        )?;
        for k in 1..=n {
            stream
                .send(format!("event: tick\ndata: {k} of {n}\n\n"))
                .await?;
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Ticks, _>()
}
