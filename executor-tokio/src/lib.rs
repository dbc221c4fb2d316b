//! The tokio adapter for [`lambda_runtime_types`]: TCP and timers on tokio, nothing else.
//!
//! ```no_run
//! struct Runner;
//! impl<'a> lambda_runtime_types_tokio::Runner<'a, (), serde_json::Value, serde_json::Value> for Runner {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(
//!         _shared: &'a (),
//!         event: lambda_runtime_types_tokio::LambdaEvent<'a, serde_json::Value>,
//!     ) -> anyhow::Result<serde_json::Value> {
//!         Ok(event.event)
//!     }
//! }
//!
//! pub fn main() -> anyhow::Result<()> {
//!     lambda_runtime_types_tokio::exec_tokio::<_, _, Runner, _>()
//! }
//! ```
//!
//! [`exec_tokio`] builds a **current-thread** runtime. A Lambda function handles one invocation
//! at a time (or a few concurrent ones as futures, with `AWS_LAMBDA_MAX_CONCURRENCY`), so worker
//! threads only add start-up time, memory and cross-thread wake-ups: see the README's Performance
//! section for the measured cold start and throughput. Use [`exec`] inside a runtime you built
//! yourself if your handlers need a multi-threaded one (e.g. for `spawn_blocking`-heavy work).
//!
//! The X-Ray trace id is on [`Context::xray_trace_id`]; `_X_AMZN_TRACE_ID` is **not** set,
//! because changing the process environment while other threads may read it (tokio's blocking
//! pool, DNS resolution, the AWS SDK) is undefined behaviour (`std::env::set_var` is `unsafe`).
#![deny(missing_docs)]

use std::io;
use std::time::Duration;

use lambda_runtime_types::driver::{Connection, Executor};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::Endpoint;
pub use lambda_runtime_types::*;
use serde::Serialize;
use serde::de::DeserializeOwned;
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

impl Connection for TokioConnection {
    type Error = io::Error;

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
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
    driver::run_from_env::<_, Shared, Event, R, Return>(&TokioRuntime).await
}

/// Builds a current-thread tokio runtime and runs the function `R` on it: call it from `main`.
pub fn exec_tokio<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    runtime()?.block_on(exec::<Shared, Event, R, Return>())
}

/// Runs `R` over the test data in `json` (`{"region": …, "invocations": [ … ]}`) on a
/// current-thread tokio runtime, against an in-memory Runtime API; see
/// [`testing::exec_test`].
pub fn exec_test<Shared, Event, R, Return>(json: &str) -> anyhow::Result<Vec<testing::TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    runtime()?.block_on(testing::exec_test::<Shared, Event, R, Return>(json))
}

fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The README's Rust examples are compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
