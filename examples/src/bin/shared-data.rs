//! The seed's shared data example: setup builds data that every invocation of this execution
//! environment sees; interior mutability lets invocations change it.

#[derive(Default)]
struct Shared {
    invocations: tokio::sync::Mutex<u64>,
}

struct Runner;

impl<'a> lambda_runtime_types_tokio::Runner<'a, Shared, (), u64> for Runner {
    async fn run(
        shared: &'a Shared,
        _event: lambda_runtime_types_tokio::LambdaEvent<'a, ()>,
    ) -> anyhow::Result<u64> {
        let mut invocations = shared.invocations.lock().await;
        *invocations += 1;
        Ok(*invocations)
    }

    async fn setup(_region: &'a str) -> anyhow::Result<Shared> {
        Ok(Shared::default())
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Runner, _>()
}
