//! The seed's basic example: no shared data, no event, no return value.

struct Runner;

impl<'a> lambda_runtime_types_tokio::Runner<'a, (), (), ()> for Runner {
    async fn run(
        _shared: &'a (),
        _event: lambda_runtime_types_tokio::LambdaEvent<'a, ()>,
    ) -> anyhow::Result<()> {
        // Run code on every invocation
        Ok(())
    }

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        // Setup logging to make sure that errors are printed
        Ok(())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Runner, _>()
}
