//! A custom executor neither adapter uses: `pollster` runs the future, blocking `std::net` does
//! the I/O and `futures-timer` the deadline timer. It implements the core's two executor traits
//! (and `BlockOn`, for the blocking entry forms) and hands itself to the core's [`Builder`];
//! nothing else is needed.
//!
//! Blocking I/O suits the classic one-invocation-at-a-time environment: while a request is
//! in flight nothing else needs the thread. It says so with [`Executor::max_lanes`] = 1: with
//! `AWS_LAMBDA_MAX_CONCURRENCY` > 1 the driver runs one lane (and logs that it does) instead of
//! lanes that would wait for each other; use an adapter for concurrent invocations. For the same
//! reason an answer of the Runtime API that stalls blocks it until the server closes.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lambda_runtime_types::driver::{Connection, Executor};
use lambda_runtime_types::runner::RunnerHandler;
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::Endpoint;
use lambda_runtime_types::{BlockOn, Builder, Runner};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The executor surface: blocking sockets, a timer thread, the system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockingRuntime;

/// A blocking Runtime API connection.
#[derive(Debug)]
pub struct BlockingConnection(TcpStream);

impl Executor for BlockingRuntime {
    type Connection = BlockingConnection;
    type Error = io::Error;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<BlockingConnection> {
        let stream = TcpStream::connect((endpoint.host(), endpoint.port()))?;
        stream.set_nodelay(true)?;
        Ok(BlockingConnection(stream))
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        futures_timer::Delay::new(duration)
    }

    fn now(&self) -> EpochMillis {
        EpochMillis::now()
    }

    /// One: a blocking read holds the thread, so a second lane would stall the first.
    fn max_lanes(&self) -> usize {
        1
    }
}

impl Connection for BlockingConnection {
    type Error = io::Error;

    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }

    async fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }
}

impl BlockOn for BlockingRuntime {
    fn block_on<F: Future>(&self, future: F) -> anyhow::Result<F::Output> {
        Ok(pollster::block_on(future))
    }
}

/// The [`Builder`] on this executor.
pub fn builder() -> Builder<BlockingRuntime> {
    Builder::new(BlockingRuntime)
}

/// Runs the function `R` with `pollster::block_on`: call it from `main`.
pub fn exec_blocking<Shared, Event, R, Return>() -> anyhow::Result<()>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    builder().run_handler(&RunnerHandler::<R, Shared>::new())
}
