//! Returns its event unchanged, on the smol adapter.

struct Echo;

impl<'a> lambda_runtime_types_smol::Runner<'a, (), serde_json::Value, serde_json::Value> for Echo {
    async fn run(
        _shared: &'a (),
        event: lambda_runtime_types_smol::LambdaEvent<'a, serde_json::Value>,
    ) -> anyhow::Result<serde_json::Value> {
        Ok(event.event)
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Echo, _>()
}
