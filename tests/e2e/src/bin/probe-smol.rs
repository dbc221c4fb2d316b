//! The end-to-end probe function on the smol adapter (see `tests/e2e/probe/mod.rs`).

#[path = "../../probe/mod.rs"]
mod probe;

struct Smol;

impl probe::Sleep for Smol {
    async fn sleep(ms: u64) {
        async_io::Timer::after(std::time::Duration::from_millis(ms)).await;
    }
}

/// Exits with the code of the reason the runtime stopped (4 for an unreachable Runtime API, …),
/// as `tests/hostile.rs` checks.
fn main() -> std::process::ExitCode {
    lambda_runtime_types::driver::RuntimeStopped::exit_code(
        lambda_runtime_types_smol::builder()
            .on_shutdown(probe::shutdown_hook())
            .run(probe::Probe::<Smol>::new()),
    )
}
