//! An AWS Lambda runtime whose core does no I/O.
//!
//! # The sans-IO promise
//!
//! The [`lifecycle`] state machine and the [`wire`] layer never touch a socket, a clock, an
//! environment variable, a thread or a random number generator. What the world knows arrives as
//! an argument (bytes, a status, `now` in Unix-epoch milliseconds); what the core wants done
//! leaves as a returned [`lifecycle::Action`]. So every transition is unit-tested without a
//! socket, an executor or a sleep, and any executor can drive it.
//!
//! # Writing a function
//!
//! Implement [`Runner`] (or write an async closure) and start it with an adapter
//! (`lambda-runtime-types-tokio`, `lambda-runtime-types-smol`): `run(MyRunner)`,
//! `run_fn(async |event| …)`, or `builder()` with settings (timeout margin, watchdog, memory
//! threshold, shutdown hook) and then either. A custom executor implements
//! [`driver::Executor`] and [`driver::Connection`] (and [`BlockOn`] for the blocking forms) and
//! uses the same [`Builder`].
//!
//! # The driving loop
//!
//! Any executor follows the same loop (written once, for all of them, in [`driver`]):
//!
//! 1. Call [`Lifecycle::poll`](lifecycle::Lifecycle::poll) and carry out each action — run setup,
//!    `GET /runtime/invocation/next`, start the handler, claim an invocation from the watchdog,
//!    post a response or an error — until it returns `Wait { until }` (or `Exit`).
//! 2. Wait for the first of: an I/O result, a handler result, or the clock reaching `until`.
//! 3. Feed it in with exactly one `handle_*` call, passing the current time, and go to 1.
//!
//! # The lifecycle
//!
//! Each lane (one per concurrent invocation) is in one [`Phase`](lifecycle::Phase) at a time and
//! moves along the rows of [`lifecycle::TRANSITIONS`]; what each Runtime API status means is
//! [`lifecycle::STATUS_POLICY`]. The [`lifecycle`] module shows both, rendered from the tables.
//! What happens outside the executor (a handler blocking its thread, memory, SIGTERM) is decided
//! by the watchdog's pure part in the same vocabulary ([`lifecycle::ErrorCause`],
//! [`lifecycle::ExitReason`]) and carried out by its thread; a watched machine claims every
//! invocation ([`lifecycle::Phase::Claim`]) before it posts, so each is reported exactly once.
//!
//! # Layers
//!
//! Each module imports only modules above it in this list:
//!
//! - [`time`], [`error_type`], [`id`] (with [`id::RemoteError`]): bounded, `no_std` building
//!   blocks;
//! - [`wire`]: Runtime API request heads out, response heads and bodies in (on `httparse`), one
//!   file per concern, the header names in [`wire::header`];
//! - [`lifecycle`]: the state machine, its tables and [`lifecycle::Misuse`];
//! - [`extension`]: the Extensions and Telemetry APIs (requests, an extension's state machine;
//!   with `alloc`, the responses, events and telemetry records);
//! - with `alloc`: [`Config`], [`Context`], [`Diagnostic`], [`Runner`] and the other entry forms
//!   ([`runner::Handler`]), the [`driver`] (its loop in `mod.rs`, exchanges with the Runtime API
//!   in `exchange.rs`, handler runs in `invoke.rs`), [`rotate`], `batch` (features `sqs`,
//!   `kinesis`, `dynamodb`: SQS, Kinesis and DynamoDB Streams batches with partial-failure
//!   responses), [`http`] (HTTP events from every
//!   origin as one lossless request type, responses shaped per origin);
//! - with `std`: [`Config::from_env`], the [`Builder`], `SystemTime` conversions, panic capture,
//!   the Lambda-native [`logger`] (text or JSON lines with the request id, installed by default),
//!   the watchdog (internal), [`stream`] (a handler's response streamed while it runs), and
//!   [`testing`] (`exec_test`, the in-memory Runtime API and the virtual clock).
//!
//! Users normally depend on an adapter (`lambda-runtime-types-tokio` or
//! `lambda-runtime-types-smol`), which re-exports what a function needs.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(any(feature = "sqs", feature = "kinesis", feature = "dynamodb"))]
pub mod batch;
#[cfg(feature = "std")]
pub mod builder;
#[cfg(feature = "alloc")]
pub mod config;
#[cfg(feature = "alloc")]
pub mod context;
#[cfg(feature = "alloc")]
pub mod diagnostic;
#[cfg(feature = "alloc")]
pub mod driver;
pub mod error_type;
#[cfg(feature = "alloc")]
pub mod event;
pub mod extension;
#[cfg(feature = "alloc")]
pub mod http;
pub mod id;
pub mod lifecycle;
#[cfg(feature = "std")]
pub mod logger;
#[cfg(feature = "alloc")]
pub mod rotate;
#[cfg(feature = "alloc")]
pub mod runner;
#[cfg(feature = "std")]
pub mod stream;
#[cfg(feature = "std")]
pub mod testing;
pub mod time;
#[cfg(feature = "std")]
pub(crate) mod watchdog;
pub mod wire;

#[cfg(feature = "std")]
pub use builder::{BlockOn, Builder};
#[cfg(feature = "alloc")]
pub use config::Config;
#[cfg(feature = "alloc")]
pub use context::Context;
#[cfg(feature = "alloc")]
pub use diagnostic::Diagnostic;
#[cfg(feature = "alloc")]
pub use runner::{LambdaEvent, Runner};
