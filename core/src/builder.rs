//! One builder for every entry form, on any executor.
//!
//! Both adapters offer it as `builder()` (e.g. `lambda_runtime_types_tokio::builder()`); a
//! custom executor gets it with [`Builder::new`]. What it sets wins over the environment
//! variables that set the same (`LAMBDA_RUNTIME_TIMEOUT_MARGIN_MS`, `LAMBDA_RUNTIME_WATCHDOG`,
//! `LAMBDA_RUNTIME_MEMORY_THRESHOLD_PERCENT`, `LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS`); the rest of
//! the [`Config`] comes from the environment Lambda sets.
//!
//! ```no_run
//! # struct Echo;
//! # impl<'a> lambda_runtime_types::Runner<'a, (), serde_json::Value, serde_json::Value> for Echo {
//! #     async fn setup(_: &'a str) -> anyhow::Result<()> { Ok(()) }
//! #     async fn run(_: &'a (), e: lambda_runtime_types::LambdaEvent<'a, serde_json::Value>)
//! #         -> anyhow::Result<serde_json::Value> { Ok(e.event) }
//! # }
//! # async fn example<E: lambda_runtime_types::driver::Executor>(exec: E) -> anyhow::Result<()> {
//! use std::time::Duration;
//!
//! lambda_runtime_types::Builder::new(exec)
//!     .timeout_margin(Duration::from_millis(250))
//!     .on_shutdown(|| eprintln!("flushing telemetry"))
//!     .shutdown_timeout(Duration::from_millis(150))
//!     .serve(Echo)
//!     .await
//! # }
//! ```

use alloc::boxed::Box;
use core::fmt;
use core::future::Future;
use core::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(doc)]
use crate::config::Config;
use crate::config::Settings;
use crate::driver::Executor;
use crate::runner::{FnHandler, Handler, LambdaEvent, Runner, RunnerHandler};

/// An executor that can also run a future to completion on the calling thread: what the
/// blocking entry forms ([`Builder::run`], [`Builder::run_fn`]) need.
pub trait BlockOn: Executor {
    /// Runs `future` to completion on the calling thread; an error if the executor cannot be
    /// started (e.g. its runtime fails to build).
    fn block_on<F: Future>(&self, future: F) -> anyhow::Result<F::Output>;
}

/// Configures and starts a function; see the [module docs](self).
pub struct Builder<E> {
    exec: E,
    settings: Settings,
}

impl<E: fmt::Debug> fmt::Debug for Builder<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("exec", &self.exec)
            .field("settings", &self.settings)
            .finish()
    }
}

impl<E: Executor> Builder<E> {
    /// A builder for a function on `exec`, with every setting from the environment.
    pub fn new(exec: E) -> Self {
        Self {
            exec,
            settings: Settings::default(),
        }
    }

    /// How long before the deadline a still-running handler is reported as timed out
    /// (`Runtime.HandlerTimeout`); default 100 ms.
    #[must_use]
    pub fn timeout_margin(mut self, margin: Duration) -> Self {
        self.settings.timeout_margin_ms = Some(duration_ms(margin));
        self
    }

    /// Whether the watchdog thread reports handlers that block their thread past the deadline,
    /// memory exhaustion and shutdown (with `std`; default on).
    #[must_use]
    pub fn watchdog(mut self, on: bool) -> Self {
        self.settings.watchdog = Some(on);
        self
    }

    /// Memory use, in percent of the function's memory size, at which the running invocations
    /// are reported as `Runtime.OutOfMemory` and the process exits (default 90; 0 turns the
    /// check off; at most 100).
    #[must_use]
    pub fn memory_threshold_percent(mut self, percent: u8) -> Self {
        self.settings.memory_threshold_percent = Some(percent);
        self
    }

    /// Runs `hook` when the execution environment shuts down (SIGTERM), after the running
    /// invocations were reported as `Runtime.Shutdown`, for at most the
    /// [shutdown timeout](Self::shutdown_timeout); then the process exits 0. It runs on a thread
    /// of its own; use it to flush telemetry or close connections, and keep it short. Needs the
    /// watchdog (and `std`).
    #[must_use]
    pub fn on_shutdown(mut self, hook: impl FnOnce() + Send + 'static) -> Self {
        self.settings.on_shutdown = Some(Box::new(hook));
        self
    }

    /// How long the shutdown hook may run (default 200 ms). Lambda sends SIGTERM only when an
    /// extension is registered (see [`Builder::extension`]), and then allows the runtime at
    /// most 500 ms with an internal extension registered, 300 ms with only external ones.
    #[must_use]
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.settings.shutdown_timeout_ms = Some(duration_ms(timeout));
        self
    }

    /// Whether the runtime registers an internal extension before its first invocation
    /// (default on; [`Config::extension`](crate::Config::extension)). Lambda sends SIGTERM at
    /// shutdown only when an extension is registered: without one, running invocations are
    /// not reported and the shutdown hook never runs.
    #[must_use]
    pub fn extension(mut self, on: bool) -> Self {
        self.settings.extension = Some(on);
        self
    }

    /// Whether the entry point installs the Lambda-native [logger](crate::logger) before setup
    /// (default on): text or JSON lines as `AWS_LAMBDA_LOG_FORMAT` says, at the level of
    /// `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`, else `INFO`), with the request id of the
    /// invocation that wrote them. With `false` nothing is installed, and the runtime's own reports
    /// (handler errors, panics, rejected events, setup failures, timeouts) go to whichever `log`
    /// logger there is, if any.
    ///
    /// To keep a logger of your own, install it before calling the entry point: the `log` crate
    /// takes only the first logger, so this one is then not installed.
    ///
    /// With the feature `tracing` the entry point also sets the `tracing` subscriber
    /// (`logger::LambdaLayer`, the same lines for `tracing` events) unless one is set already;
    /// `false` sets neither.
    ///
    /// `false` still links the logger's code; to leave it out of the binary (about 80 KB
    /// stripped), turn off the `logger` feature (the adapters' default feature), and this
    /// setting has no effect.
    #[must_use]
    pub fn logger(mut self, on: bool) -> Self {
        self.settings.logger = Some(on);
        self
    }

    /// Keeps up to `lines` log lines below the level per invocation and writes them (in order,
    /// marked as buffered) only if the invocation fails: a handler error, a panic, a timeout, a
    /// rejected event; dropped otherwise. When the buffer is full its oldest line is dropped, and
    /// the flush says how many were. Default 0: none kept (`LAMBDA_RUNTIME_LOG_BUFFER_LINES`).
    /// Not flushed when the watchdog exits the process (memory, SIGTERM).
    #[must_use]
    pub fn buffer_debug_lines(mut self, lines: usize) -> Self {
        self.settings.log_buffer_lines = Some(lines);
        self
    }

    /// Runs the [`Runner`] `runner` until the runtime must stop, which it says as the error.
    /// Only the value's type matters (a `Runner`'s methods take no `self`): give shared state
    /// to `setup`, not to the value's fields.
    pub async fn serve<R, Shared, Event, Return>(self, runner: R) -> anyhow::Result<()>
    where
        R: for<'a> Runner<'a, Shared, Event, Return>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        let _ = runner;
        self.serve_handler(&RunnerHandler::<R, Shared>::new()).await
    }

    /// Runs the async closure `f` once per invocation, until the runtime must stop, which it
    /// says as the error.
    pub async fn serve_fn<F, Event, Return, Error>(self, f: F) -> anyhow::Result<()>
    where
        F: for<'a> AsyncFn(LambdaEvent<'a, Event>) -> Result<Return, Error>,
        Error: Into<anyhow::Error>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        self.serve_handler(&FnHandler(f)).await
    }

    /// Runs any [`Handler`] until the runtime must stop, which it says as the error.
    pub async fn serve_handler<H, Shared, Event, Return>(self, handler: &H) -> anyhow::Result<()>
    where
        H: Handler<Shared, Event, Return>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        crate::driver::serve_from_env(&self.exec, self.settings, handler).await
    }
}

impl<E: BlockOn> Builder<E> {
    /// [`Builder::serve`] on the calling thread: call it from `main`.
    pub fn run<R, Shared, Event, Return>(self, runner: R) -> anyhow::Result<()>
    where
        R: for<'a> Runner<'a, Shared, Event, Return>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        let _ = runner;
        self.run_handler(&RunnerHandler::<R, Shared>::new())
    }

    /// [`Builder::serve_fn`] on the calling thread: call it from `main`.
    pub fn run_fn<F, Event, Return, Error>(self, f: F) -> anyhow::Result<()>
    where
        F: for<'a> AsyncFn(LambdaEvent<'a, Event>) -> Result<Return, Error>,
        Error: Into<anyhow::Error>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        self.run_handler(&FnHandler(f))
    }

    /// [`Builder::serve_handler`] on the calling thread.
    pub fn run_handler<H, Shared, Event, Return>(self, handler: &H) -> anyhow::Result<()>
    where
        H: Handler<Shared, Event, Return>,
        Event: DeserializeOwned,
        Return: Serialize,
    {
        let Self { exec, settings } = self;
        exec.block_on(crate::driver::serve_from_env(&exec, settings, handler))?
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
