//! A counter shared by every invocation of one execution environment, on smol: returns how many
//! invocations this environment has served and when it was set up. Lock-free, so it also works
//! with `AWS_LAMBDA_MAX_CONCURRENCY` > 1.

use std::sync::atomic::{AtomicU64, Ordering};

struct Shared {
    invocations: AtomicU64,
    region: String,
}

#[derive(serde::Serialize)]
struct Return {
    invocation: u64,
    region: String,
}

struct Runner;

impl<'a> lambda_runtime_types_smol::Runner<'a, Shared, (), Return> for Runner {
    async fn run(
        shared: &'a Shared,
        _event: lambda_runtime_types_smol::LambdaEvent<'a, ()>,
    ) -> anyhow::Result<Return> {
        let invocation = shared.invocations.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(Return {
            invocation,
            region: shared.region.clone(),
        })
    }

    async fn setup(region: &'a str) -> anyhow::Result<Shared> {
        Ok(Shared {
            invocations: AtomicU64::new(0),
            region: region.to_owned(),
        })
    }
}

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Runner, _>()
}
