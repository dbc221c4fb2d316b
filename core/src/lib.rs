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
//! # The driving loop
//!
//! Any executor follows the same loop (written once, for all of them, in [`driver::run`]):
//!
//! 1. Call [`Lifecycle::poll`](lifecycle::Lifecycle::poll) and carry out each action — run setup,
//!    `GET /runtime/invocation/next`, start the handler, post a response or an error — until it
//!    returns `Wait { until }` (or `Exit`).
//! 2. Wait for the first of: an I/O result, a handler result, or the clock reaching `until`.
//! 3. Feed it in with exactly one `handle_*` call, passing the current time, and go to 1.
//!
//! # The lifecycle
//!
//! Each lane (one per concurrent invocation) moves through these phases; the edges are the rows
//! of [`lifecycle::TRANSITIONS`]:
//!
//! ```text
//!            SetupDone              Response 200             HandlerDone
//!   Init ───────────────▶ Poll ─────────────────▶ Run ───────────────────▶ Report
//!    │                     ▲ ▲                     │                         │
//!    │ SetupFailed         │ └─────────────────────┼────── Response 2xx/4xx ─┘
//!    ▼                     │                       │ TimerFired (deadline − margin)
//!  Report ──▶ Exit         │     Response 2xx/4xx  ▼
//!  (init error)            └────────────────── Timeout (a late HandlerDone is dropped)
//!
//!   Run, Timeout ── ReportedElsewhere (the watchdog posted the timeout) ──▶ Poll
//!   Poll ── Response 200 with a cut-off or oversized event ──▶ Report (its error)
//!   any phase with a request in flight ── Response 5xx / too many TransportFailed ──▶ Exit
//! ```
//!
//! # Layers
//!
//! - [`time`], [`id`], [`error`], [`error_type`]: bounded, `no_std` building blocks;
//! - [`wire`]: Runtime API request heads out, response heads and bodies in (on `httparse`);
//! - [`lifecycle`]: the state machine;
//! - with `alloc`: [`Runner`], [`LambdaEvent`], [`Context`], [`Config`], [`Diagnostic`], the
//!   [`driver`], [`rotate`];
//! - with `std`: [`Config::from_env`], `SystemTime` conversions, panic capture in the driver,
//!   and [`testing`] (`exec_test` against an in-memory Runtime API).
//!
//! Users normally depend on an adapter (`lambda-runtime-types-tokio` or
//! `lambda-runtime-types-smol`), which re-exports this crate.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "alloc")]
pub mod config;
#[cfg(feature = "alloc")]
pub mod context;
#[cfg(feature = "alloc")]
pub mod diagnostic;
#[cfg(feature = "alloc")]
pub mod driver;
pub mod error;
pub mod error_type;
#[cfg(feature = "alloc")]
pub mod event;
pub mod id;
pub mod lifecycle;
#[cfg(feature = "alloc")]
pub mod rotate;
#[cfg(feature = "alloc")]
pub mod runner;
#[cfg(feature = "std")]
pub mod testing;
pub mod time;
#[cfg(feature = "std")]
pub mod watchdog;
pub mod wire;

#[cfg(feature = "alloc")]
pub use config::Config;
#[cfg(feature = "alloc")]
pub use context::Context;
#[cfg(feature = "alloc")]
pub use diagnostic::Diagnostic;
#[cfg(feature = "alloc")]
pub use runner::{LambdaEvent, Runner};
