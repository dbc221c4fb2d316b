//! The smol adapter for [`lambda_runtime_types`]: TCP and timers on `async-io`, nothing else.
//!
//! ```no_run
//! struct Runner;
//! impl<'a> lambda_runtime_types_smol::Runner<'a, (), serde_json::Value, serde_json::Value> for Runner {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(
//!         _shared: &'a (),
//!         event: lambda_runtime_types_smol::LambdaEvent<'a, serde_json::Value>,
//!     ) -> anyhow::Result<serde_json::Value> {
//!         Ok(event.event)
//!     }
//! }
//!
//! pub fn main() -> anyhow::Result<()> {
//!     lambda_runtime_types_smol::exec_smol::<_, _, Runner, _>()
//! }
//! ```
//!
//! [`exec_smol`] runs the function with `async_io::block_on` (which is what `smol::block_on`
//! is) on the calling thread; [`exec`] runs it inside any executor that can drive `async-io`
//! I/O (smol, `async-executor`, `async_io::block_on`).
//!
//! The X-Ray trace id is on [`Context::xray_trace_id`]; `_X_AMZN_TRACE_ID` is **not** set,
//! because changing the process environment while other threads may read it (async-io's reactor
//! thread, DNS resolution, an SDK) is undefined behaviour (`std::env::set_var` is `unsafe`).
#![deny(missing_docs)]

use std::io;
use std::net::TcpStream;
use std::time::Duration;

use async_io::{Async, Timer};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use lambda_runtime_types::driver::{Connection, Executor};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::Endpoint;
pub use lambda_runtime_types::*;
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

impl Connection for SmolConnection {
    type Error = io::Error;

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).await
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf).await
    }
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
    driver::run_from_env::<_, Shared, Event, R, Return>(&SmolRuntime).await
}

/// Runs the function `R` on the calling thread: call it from `main`.
pub fn exec_smol<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    async_io::block_on(exec::<Shared, Event, R, Return>())
}

/// Runs `R` over the test data in `json` (`{"region": …, "invocations": [ … ]}`) on the calling
/// thread, against an in-memory Runtime API; see
/// [`testing::exec_test`].
pub fn exec_test<Shared, Event, R, Return>(json: &str) -> anyhow::Result<Vec<testing::TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    async_io::block_on(testing::exec_test::<Shared, Event, R, Return>(json))
}
