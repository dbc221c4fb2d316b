//! A local AWS Lambda emulator: the Runtime API a `provided.al2023` function talks to, the
//! RIE-compatible Invoke API people and tests call, and supervision of the function process.
//! No AWS account, no Docker.
//!
//! It behaves like the AWS Runtime Interface Emulator (RIE) where the RIE defines behaviour:
//! `202` for accepted posts, `400 InvalidRequestID` for unknown or stale ids, `403
//! InvalidStateTransition` for out-of-order calls, `413` above 6,291,556 bytes, a timeout
//! counted from the invoke that answers `Sandbox.Timedout` and then resets the function
//! (`SIGTERM`, `SIGKILL` after 2 s, init again on the next invoke), `502` with the init error
//! or `Runtime.ExitError` when init fails or the process dies.
//!
//! # As a library, for tests
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_emulator::{Emulator, Fault, Options, Target};
//!
//! // The AWS-docs style bash + curl function of this repository's end-to-end suites.
//! let emu = Emulator::start(
//!     Options::new(["tests/e2e/fixtures/bash-bootstrap.sh"]).timeout(Duration::from_secs(3)),
//! )?;
//! let result = emu.invoke(br#"{"a":1}"#)?;
//! assert_eq!(result.status, 200);
//! assert_eq!(result.body, br#"{"a":1}"#);
//! assert!(result.function_error.is_none());
//!
//! // Protocol-level assertions: every Runtime API call is recorded.
//! let responses = emu.calls().into_iter().filter(|c| c.path.ends_with("/response")).count();
//! assert_eq!(responses, 1);
//!
//! // Fault injection: the next `/next` delivers a deadline in the past.
//! emu.inject(Target::Next, Fault::DeadlinePast);
//! emu.stop()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # As a program
//!
//! Install it with `cargo install --path tests/emulator` (or `cargo install --git <this
//! repository> lambda-emulator`), then, from your function's package (the command and the
//! event files are relative to the current directory):
//!
//! ```text
//! lambda-emulator --event ev.json -- cargo run --bin myfn
//! lambda-emulator -- ./target/debug/myfn
//! ```
//!
//! Without `--event` it serves until Ctrl-C, prints the Invoke API URL, and logs one line
//! per invocation on stderr (request id, `ok` / the error type / `timeout`, milliseconds).
//! A function that failed init is started again by the next invoke, which the new process
//! answers. In this repository:
//!
//! ```text
//! lambda-emulator --event '{"a":1}' -- ./tests/e2e/fixtures/bash-bootstrap.sh
//! lambda-emulator --event examples/events/echo.json -- cargo run -q -p examples --bin echo-tokio
//! lambda-emulator --timeout 10 -- cargo run -q -p examples --bin echo-tokio
//! curl -d '{"a":1}' http://127.0.0.1:PORT/2015-03-31/functions/function/invocations
//! ```
//!
//! See `lambda-emulator --help`.

#![deny(missing_docs)]

mod emulator;
mod fault;
mod options;
mod process;
mod records;
mod server;
mod state;
mod util;

pub use emulator::{Emulator, Invoke, Signal};
pub use fault::{Fault, Target};
pub use options::{LogFormat, LogLevel, MAX_PAYLOAD, Options};
pub use records::{
    Endpoint, InvokeResult, LogLine, LogStream, Outcome, PostedError, ProcessExit, ResetReason,
    RuntimeCall,
};
