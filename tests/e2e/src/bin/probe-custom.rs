//! The end-to-end probe function on the custom executor of `examples`
//! (see `tests/e2e/probe/mod.rs`).

#[path = "../../probe/mod.rs"]
mod probe;

struct Custom;

impl probe::Sleep for Custom {
    async fn sleep(ms: u64) {
        futures_timer::Delay::new(std::time::Duration::from_millis(ms)).await;
    }
}

/// Exits with the code of the reason the runtime stopped (4 for an unreachable Runtime API, …),
/// as `tests/hostile.rs` checks.
fn main() -> std::process::ExitCode {
    lambda_runtime_types::driver::RuntimeStopped::exit_code(
        examples::custom_executor::builder()
            .on_shutdown(probe::shutdown_hook())
            .run(probe::Probe::<Custom>::new()),
    )
}
