//! The runtime's own internal extension, on a thread of its own with blocking sockets.
//!
//! Lambda sends SIGTERM at shutdown only to a runtime with an extension registered, so the
//! runtime registers one (no events) before its first `/next` and keeps its `event/next` asked
//! for. That request never returns while the process runs: on the function's executor it would
//! hold up an executor whose I/O blocks (a custom one, `examples::custom_executor`), so the
//! extension runs the same [`ExtensionDriver`] on an OS thread instead, as the watchdog does its
//! posts. The thread starts at init and then sleeps in a blocking read: no CPU, one small stack.

use alloc::sync::Arc;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::{Connection, Executor, ExtensionDriver, NoSteps, Stopped};
use crate::extension::{Events, ExtensionName, Options};
use crate::time::EpochMillis;
use crate::wire::Endpoint;

/// The name the runtime's internal extension registers with.
pub const EXTENSION_NAME: &str = "lambda-runtime-types";

/// How long init waits for the registration's answer before going on without it (Lambda's
/// init phase is 10 s; loopback answers in well under a millisecond).
const REGISTER_WAIT: Duration = Duration::from_secs(2);

/// Registers the runtime's internal extension at `endpoint` and serves it on a thread of its
/// own; whether it registered (within [`REGISTER_WAIT`]). A failure is logged; the function runs
/// on without the extension.
pub(super) fn register_runtime_extension(endpoint: &Endpoint) -> bool {
    let settled = Arc::new(Settled::default());
    let signal = settled.clone();
    let endpoint = endpoint.clone();
    let spawned = std::thread::Builder::new()
        .name("lambda-extension".into())
        .spawn(move || crate::testing::block_on(serve(endpoint, &signal)));
    if let Err(e) = spawned {
        log::warn!("cannot start the runtime's extension thread: {e}");
        return false;
    }
    let outcome = settled
        .outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let (outcome, _) = settled
        .cond
        .wait_timeout_while(outcome, REGISTER_WAIT, |o| o.is_none())
        .unwrap_or_else(PoisonError::into_inner);
    match *outcome {
        Some(registered) => registered,
        None => {
            log::warn!("the runtime's extension did not register within {REGISTER_WAIT:?}");
            false
        }
    }
}

/// Whether the registration ended, and how.
#[derive(Default)]
struct Settled {
    outcome: Mutex<Option<bool>>,
    cond: Condvar,
}

impl Settled {
    fn set(&self, registered: bool) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(registered);
        self.cond.notify_all();
    }
}

/// The extension thread: registers, says so, then serves `event/next` until the machine stops.
async fn serve(endpoint: Endpoint, settled: &Settled) {
    let failed = |reason: &dyn core::fmt::Display| {
        log::warn!(
            "the runtime's extension did not register ({reason}): Lambda will not send SIGTERM \
             at shutdown, so invocations running then are not reported"
        );
        settled.set(false);
    };
    let name = match ExtensionName::new(EXTENSION_NAME) {
        Ok(name) => name,
        Err(e) => return failed(&e),
    };
    let options = Options::internal().events(Events::NONE);
    let mut driver = match ExtensionDriver::new(&Blocking, endpoint, name, options) {
        Ok(driver) => driver,
        Err(e) => return failed(&e),
    };
    if let Err(Stopped::Exit(reason) | Stopped::GaveUp(reason)) =
        driver.register(&mut NoSteps).await
    {
        return failed(&reason);
    }
    settled.set(true);
    match driver.run(&mut NoSteps).await {
        Stopped::Exit(reason) | Stopped::GaveUp(reason) => {
            log::warn!("the runtime's extension stopped: {reason}");
        }
    }
}

/// Blocking sockets and sleeps: fine on a thread that does nothing else.
struct Blocking;

struct BlockingConnection(TcpStream);

impl Executor for Blocking {
    type Connection = BlockingConnection;
    type Error = io::Error;

    async fn connect(&self, endpoint: &Endpoint) -> io::Result<BlockingConnection> {
        let stream = TcpStream::connect((endpoint.host(), endpoint.port()))?;
        stream.set_nodelay(true)?;
        Ok(BlockingConnection(stream))
    }

    async fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }

    fn now(&self) -> EpochMillis {
        EpochMillis::now()
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
