//! The smol adapter for [`lambda_runtime_types`]: TCP and timers on `async-io`, nothing else.
//!
//! Three ways to start a function from `main`, and the seed crate's spelling of the first:
//!
//! ```no_run
//! use lambda_runtime_types_smol::{LambdaEvent, Runner};
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
//!     lambda_runtime_types_smol::run(Echo)
//! }
//!
//! // 2. A closure, for the common case; capture shared data (or an `Arc` of it).
//! fn main_with_a_closure() -> anyhow::Result<()> {
//!     let greeting = String::from("hello");
//!     lambda_runtime_types_smol::run_fn(async |e: LambdaEvent<'_, Value>| {
//!         Ok::<_, anyhow::Error>(serde_json::json!({ "greeting": greeting, "event": e.event }))
//!     })
//! }
//!
//! // 3. The builder, for what the environment does not set; then either form.
//! fn main_with_settings() -> anyhow::Result<()> {
//!     lambda_runtime_types_smol::builder()
//!         .timeout_margin(std::time::Duration::from_millis(250))
//!         .on_shutdown(|| eprintln!("shutting down"))
//!         .run(Echo)
//! }
//!
//! // The seed crate's form, types spelled out.
//! fn main_as_before() -> anyhow::Result<()> {
//!     lambda_runtime_types_smol::exec_smol::<_, _, Echo, _>()
//! }
//! ```
//!
//! The blocking forms run the function with `async_io::block_on` (which is what
//! `smol::block_on` is) on the calling thread; [`exec`] and [`Builder::serve`] run it inside any
//! executor that can drive `async-io` I/O (smol, `async-executor`, `async_io::block_on`).
//!
//! The X-Ray trace id is on [`Context::xray_trace_id`]; `_X_AMZN_TRACE_ID` is **not** set,
//! because changing the process environment while other threads may read it (async-io's reactor
//! thread, DNS resolution, an SDK) is undefined behaviour (`std::env::set_var` is `unsafe`).
#![deny(missing_docs)]

use std::io;
use std::net::TcpStream;
use std::time::Duration;

/// The executor this adapter runs on (`smol` is built on it).
pub use async_io;
use async_io::{Async, Timer};
/// The `futures` helpers this adapter uses.
pub use futures_lite;
use futures_lite::{AsyncReadExt, AsyncWriteExt};
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

/// The executor surface on async-io.
#[derive(Clone, Copy, Debug, Default)]
pub struct SmolRuntime;

/// A Runtime API connection on async-io.
#[derive(Debug)]
pub struct SmolConnection(Async<TcpStream>);

impl Executor for SmolRuntime {
    type Connection = SmolConnection;
    type Error = io::Error;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<SmolConnection> {
        // Resolving `localhost`-style names blocks briefly; Lambda gives an IP address.
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(endpoint.host(), endpoint.port()))?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?;
        let stream = Async::<TcpStream>::connect(addr).await?;
        stream.get_ref().set_nodelay(true)?;
        Ok(SmolConnection(stream))
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        let timer = Timer::after(duration);
        async move {
            timer.await;
        }
    }

    fn now(&self) -> EpochMillis {
        EpochMillis::now()
    }
}

impl BlockOn for SmolRuntime {
    fn block_on<F: Future>(&self, future: F) -> anyhow::Result<F::Output> {
        Ok(async_io::block_on(future))
    }
}

impl Connection for SmolConnection {
    type Error = io::Error;

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
}

/// The [`Builder`] on async-io: set what the environment does not, then `run` or `serve`.
pub fn builder() -> Builder<SmolRuntime> {
    Builder::new(SmolRuntime)
}

/// Runs the [`Runner`] `runner` on the calling thread: call it from `main`. Returns only
/// when the runtime must stop, with the reason as the error.
pub fn run<R, Shared, Event, Return>(runner: R) -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run(runner)
}

/// Runs the async closure `f` once per invocation on the calling thread: call it from `main`.
/// Returns only when the runtime must stop, with the reason as the error.
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

/// Runs the function `R` inside an executor that drives async-io (e.g. smol).
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

/// Runs the function `R` on the calling thread: call it from `main`.
pub fn exec_smol<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run_handler(&RunnerHandler::<R, Shared>::new())
}

/// Runs `R` over the test data in `json` (`{"region": …, "invocations": [ … ]}`) on a
/// the calling thread, against an in-memory Runtime API; see
/// [`lambda_runtime_types::testing::exec_test`].
pub fn exec_test<Shared, Event, R, Return>(json: &str) -> anyhow::Result<Vec<TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let test = lambda_runtime_types::testing::exec_test::<Shared, Event, R, Return>(json);
    SmolRuntime.block_on(test)?
}
