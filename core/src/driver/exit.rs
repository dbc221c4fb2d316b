//! Why the runtime stopped, as the entry points return it, and the process exit code it means.

use core::fmt;

use crate::lifecycle::ExitReason;

/// The error the entry points (the adapters' `run`, `serve` and `exec`, [`super::run_from_env`])
/// return when the runtime stops, inside their `anyhow::Error`: it says why, and
/// [`RuntimeStopped::code_of`] gives the exit code of that reason.
///
/// Returned from `main` as `anyhow::Result<()>`, any error makes the process exit 1. To exit with
/// [`ExitReason::code`] instead (4 for an unreachable Runtime API, which Lambda then reports in
/// `Runtime.ExitError`), end `main` with [`RuntimeStopped::exit_code`]:
///
/// ```no_run
/// use std::process::ExitCode;
/// use lambda_runtime_types::driver::RuntimeStopped;
/// use lambda_runtime_types::lifecycle::ExitReason;
///
/// # fn run() -> anyhow::Result<()> { Err(RuntimeStopped(ExitReason::Unreachable).into()) }
/// fn main() -> ExitCode {
///     // `run()`: an entry point, e.g. `lambda_runtime_types_tokio::run(MyRunner)`.
///     RuntimeStopped::exit_code(run())
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuntimeStopped(pub ExitReason);

impl RuntimeStopped {
    /// Why it stopped.
    pub const fn reason(self) -> ExitReason {
        self.0
    }

    /// The process exit code: [`ExitReason::code`].
    pub const fn code(self) -> i32 {
        self.0.code()
    }

    /// The exit code for an error an entry point returned: its reason's code if the runtime
    /// stopped, 1 if it never started (`AWS_LAMBDA_RUNTIME_API` missing or invalid, say).
    pub fn code_of(error: &anyhow::Error) -> i32 {
        error
            .downcast_ref::<RuntimeStopped>()
            .map_or(1, |stopped| stopped.code())
    }

    /// What `main` ends with, given what an entry point returned: the code
    /// [`RuntimeStopped::code_of`] gives (0 for `Ok` and for a shutdown), and for any other
    /// error the error written to stderr as `main` would write it (`Error: …` and its causes).
    pub fn exit_code(returned: anyhow::Result<()>) -> std::process::ExitCode {
        let code = match returned {
            Ok(()) => 0,
            Err(error) => match Self::code_of(&error) {
                0 => 0,
                code => {
                    std::eprintln!("Error: {error:?}");
                    code
                }
            },
        };
        std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
    }
}

impl fmt::Display for RuntimeStopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the Lambda runtime stopped: {}", self.0)
    }
}

impl core::error::Error for RuntimeStopped {}

#[cfg(test)]
mod tests {
    use std::string::ToString;

    use super::*;

    #[test]
    fn the_code_of_an_entry_points_error() {
        let stopped = anyhow::Error::new(RuntimeStopped(ExitReason::Unreachable));
        assert_eq!(RuntimeStopped::code_of(&stopped), 4);
        assert_eq!(
            stopped.to_string(),
            "the Lambda runtime stopped: the Runtime API is unreachable"
        );
        let refused = anyhow::Error::new(RuntimeStopped(ExitReason::ServerError { status: 500 }));
        assert_eq!(
            RuntimeStopped::code_of(&refused.context("while serving")),
            2
        );
        let before = anyhow::anyhow!("AWS_LAMBDA_RUNTIME_API is not set");
        assert_eq!(RuntimeStopped::code_of(&before), 1);
        assert_eq!(
            RuntimeStopped::exit_code(Err(stopped)),
            std::process::ExitCode::from(4)
        );
        assert_eq!(
            RuntimeStopped::exit_code(Ok(())),
            std::process::ExitCode::SUCCESS
        );
    }
}
