//! `echo` on a custom executor (see `examples/src/custom_executor.rs`).

struct Echo;

impl<'a> lambda_runtime_types::Runner<'a, (), serde_json::Value, serde_json::Value> for Echo {
    async fn run(
        _shared: &'a (),
        event: lambda_runtime_types::LambdaEvent<'a, serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(event.event)
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    examples::custom_executor::exec_blocking::<_, _, Echo, _>()
}
