//! The echo function writing one log record per invocation (`examples/src/echo_log.rs`), on the
//! tokio adapter.

#[path = "../echo_log.rs"]
mod echo_log;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, echo_log::Echo, _>()
}
