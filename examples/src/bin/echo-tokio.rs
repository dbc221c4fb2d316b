//! Returns its event unchanged, on the tokio adapter.

struct Echo;

impl<'a> lambda_runtime_types_tokio::Runner<'a, (), serde_json::Value, serde_json::Value> for Echo {
    async fn run(
        _shared: &'a (),
        event: lambda_runtime_types_tokio::LambdaEvent<'a, serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(event.event)
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Echo, _>()
}
