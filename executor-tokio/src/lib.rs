//! The tokio adapter for [`lambda_runtime_types`]: TCP and timers on tokio, nothing else.
//!
//! Three ways to start a function from `main`, and the seed crate's spelling of the first:
//!
//! ```no_run
//! use lambda_runtime_types_tokio::{LambdaEvent, Runner};
//! use serde_json::Value;
//!
//! struct Echo;
//!
//! impl<'a> Runner<'a, (), Value, Value> for Echo {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(_shared: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
//!         Ok(event.event)
//!     }
//! }
//!
//! // 1. A Runner value; its types are inferred.
//! fn main() -> anyhow::Result<()> {
//!     lambda_runtime_types_tokio::run(Echo)
//! }
//!
//! // 2. A closure, for the common case; capture shared data (or an `Arc` of it).
//! fn main_with_a_closure() -> anyhow::Result<()> {
//!     let greeting = String::from("hello");
//!     lambda_runtime_types_tokio::run_fn(async |e: LambdaEvent<'_, Value>| {
//!         Ok::<_, anyhow::Error>(serde_json::json!({ "greeting": greeting, "event": e.event }))
//!     })
//! }
//!
//! // 3. The builder, for what the environment does not set; then either form.
//! fn main_with_settings() -> anyhow::Result<()> {
//!     lambda_runtime_types_tokio::builder()
//!         .timeout_margin(std::time::Duration::from_millis(250))
//!         .on_shutdown(|| eprintln!("shutting down"))
//!         .run(Echo)
//! }
//!
//! // The seed crate's form, types spelled out.
//! fn main_as_before() -> anyhow::Result<()> {
//!     lambda_runtime_types_tokio::exec_tokio::<_, _, Echo, _>()
//! }
//! ```
//!
//! The blocking forms build a **current-thread** runtime: worker threads only add start-up time,
//! memory and wake-ups to a function that runs one invocation at a time. Use [`exec`] or
//! [`Builder::serve`] inside a runtime of your own if your handlers need a multi-threaded one.
//!
//! The X-Ray trace id is on [`Context::xray_trace_id`]; `_X_AMZN_TRACE_ID` is **not** set:
//! changing the environment while other threads may read it is undefined behaviour.
#![deny(missing_docs)]

use std::io;
use std::time::Duration;

/// The core crate, for what the root leaves out (the state machine, the driver's executor
/// traits, `testing`).
pub use lambda_runtime_types;
use lambda_runtime_types::driver::{Connection, Executor};
use lambda_runtime_types::runner::RunnerHandler;
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::Endpoint;
pub use lambda_runtime_types::{
    BlockOn, Builder, Config, Context, Diagnostic, LambdaEvent, Runner, error_type::ErrorType,
    rotate, testing::TestOutcome,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
/// The executor this adapter runs on.
pub use tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The executor surface on tokio.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokioRuntime;

/// A Runtime API connection on tokio.
#[derive(Debug)]
pub struct TokioConnection(TcpStream);

impl Executor for TokioRuntime {
    type Connection = TokioConnection;
    type Error = io::Error;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<TokioConnection> {
        let stream = TcpStream::connect((endpoint.host(), endpoint.port())).await?;
        stream.set_nodelay(true)?;
        Ok(TokioConnection(stream))
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        tokio::time::sleep(duration)
    }

    fn now(&self) -> EpochMillis {
        EpochMillis::now()
    }
}

impl BlockOn for TokioRuntime {
    fn block_on<F: Future>(&self, future: F) -> anyhow::Result<F::Output> {
        if tokio::runtime::Handle::try_current().is_ok() {
            anyhow::bail!("{IN_A_RUNTIME}");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(runtime.block_on(future))
    }
}

impl Connection for TokioConnection {
    type Error = io::Error;

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
}

const IN_A_RUNTIME: &str = "a blocking entry point (run, run_fn, exec_tokio, builder().run…) \
    was called inside a tokio runtime (e.g. under #[tokio::main]); there, await the async one \
    instead: builder().serve(runner).await, serve_fn(…).await or exec::<…>().await";

/// The [`Builder`] on tokio: set what the environment does not, then `run` or `serve`.
pub fn builder() -> Builder<TokioRuntime> {
    Builder::new(TokioRuntime)
}

/// Runs the [`Runner`] `runner` on a current-thread runtime: call it from `main`. Returns only
/// when the runtime must stop, with the reason as the error.
pub fn run<R, Shared, Event, Return>(runner: R) -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run(runner)
}

/// Runs the async closure `f` once per invocation on a current-thread runtime: call it from
/// `main`. Returns only when the runtime must stop, with the reason as the error.
pub fn run_fn<F, Event, Return, Error>(f: F) -> anyhow::Result<()>
where
    F: for<'a> AsyncFn(LambdaEvent<'a, Event>) -> Result<Return, Error>,
    Error: Into<anyhow::Error>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run_fn(f)
}

/// Runs the `tower::Service` `svc` (an axum `Router` as it is) as an HTTP function (feature
/// `tower`), with [`lambda_runtime_types::http::service`]: call it from `main`.
#[cfg(feature = "tower")]
pub fn run_service<S>(svc: S) -> anyhow::Result<()>
where
    lambda_runtime_types::http::ServiceHandler<S>: lambda_runtime_types::http::ServeHttp,
{
    builder().run_handler(&lambda_runtime_types::http::service(svc))
}

/// Runs the function `R` inside an existing tokio runtime (needs the `net` and `time` drivers).
///
/// Returns only when the runtime must stop, with the reason as the error.
pub async fn exec<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder()
        .serve_handler(&RunnerHandler::<R, Shared>::new())
        .await
}

/// Builds a current-thread tokio runtime and runs the function `R` on it: call it from `main`.
pub fn exec_tokio<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run_handler(&RunnerHandler::<R, Shared>::new())
}

/// Runs `R` over the test data in `json` (`{"region": …, "invocations": [ … ]}`) on a
/// current-thread tokio runtime, against an in-memory Runtime API; see
/// [`lambda_runtime_types::testing::exec_test`].
pub fn exec_test<Shared, Event, R, Return>(json: &str) -> anyhow::Result<Vec<TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let test = lambda_runtime_types::testing::exec_test::<Shared, Event, R, Return>(json);
    TokioRuntime.block_on(test)?
}
