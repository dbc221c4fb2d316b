//! The [`Emulator`] handle: start, invoke, inspect, stop.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::runtime::Runtime;
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use crate::fault::{Fault, Target};
use crate::http::json_header;
use crate::lifecycle::stop_wait;
use crate::options::Options;
use crate::records::{
    Endpoint, ExtensionError, ExtensionExit, ExtensionInfo, InvokeResult, LogLine, PostedError,
    ProcessExit, RuntimeCall, ShutdownStep, TelemetryDelivery,
};
use crate::server::serve;
use crate::state::{Config, Proc, Reply, Shared, Submission};
use crate::streaming::InvokeStream;
use crate::util::{epoch_ms, log_stream_name};

/// A running emulator: an HTTP server on a loopback port serving the Runtime API and the
/// Invoke API, and (unless [`Options::external`]) the supervised function process.
///
/// It runs its own tokio runtime on background threads, so its methods are plain blocking
/// calls usable from ordinary `#[test]` functions; [`Emulator::invoke_async`] is there for
/// async callers. It is `Send + Sync`: share it between threads to invoke concurrently.
/// Dropping it stops it (see [`Emulator::stop`]).
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    runtime: Mutex<Option<Runtime>>,
    server: AbortHandle,
    /// The HTTP front door: its address and its accept loop.
    front_door: Option<(SocketAddr, AbortHandle)>,
}

/// A signal that [`Emulator::signal`] can send to the function process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// `SIGTERM`, what Lambda sends at shutdown.
    Term,
    /// `SIGKILL`.
    Kill,
    /// `SIGINT`.
    Int,
    /// `SIGHUP`.
    Hup,
    /// `SIGQUIT`.
    Quit,
    /// `SIGUSR1`.
    Usr1,
    /// `SIGUSR2`.
    Usr2,
    /// `SIGSTOP` (freeze, as Lambda does between invocations).
    Stop,
    /// `SIGCONT` (thaw).
    Cont,
}

impl Signal {
    fn to_nix(self) -> nix::sys::signal::Signal {
        use nix::sys::signal::Signal as S;
        match self {
            Signal::Term => S::SIGTERM,
            Signal::Kill => S::SIGKILL,
            Signal::Int => S::SIGINT,
            Signal::Hup => S::SIGHUP,
            Signal::Quit => S::SIGQUIT,
            Signal::Usr1 => S::SIGUSR1,
            Signal::Usr2 => S::SIGUSR2,
            Signal::Stop => S::SIGSTOP,
            Signal::Cont => S::SIGCONT,
        }
    }
}

/// One invocation request: the event payload and the optional invoke-time context.
///
/// Byte strings and strings convert into it, so `emu.invoke(br#"{"a":1}"#)` works.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invoke {
    payload: Vec<u8>,
    client_context: Option<String>,
    cognito_identity: Option<String>,
    tenant_id: Option<String>,
    faults: Vec<(Target, Fault)>,
}

impl Invoke {
    /// An invocation with this event payload (an empty payload is sent as `{}`, as Lambda
    /// does).
    pub fn new(payload: impl Into<Vec<u8>>) -> Self {
        Invoke {
            payload: payload.into(),
            ..Invoke::default()
        }
    }

    /// A client context (JSON, not base64; the Invoke API's `X-Amz-Client-Context` carries it
    /// base64-encoded), delivered as `Lambda-Runtime-Client-Context`.
    pub fn client_context(mut self, json: impl Into<String>) -> Self {
        self.client_context = Some(json.into());
        self
    }

    /// A Cognito identity (JSON `{"cognitoIdentityId":..,"cognitoIdentityPoolId":..}`),
    /// delivered as `Lambda-Runtime-Cognito-Identity`.
    pub fn cognito_identity(mut self, json: impl Into<String>) -> Self {
        self.cognito_identity = Some(json.into());
        self
    }

    /// A tenant id, delivered as `Lambda-Runtime-Aws-Tenant-Id`.
    pub fn tenant_id(mut self, tenant: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant.into());
        self
    }

    /// Make a Runtime API call about this invocation misbehave, as [`Emulator::inject`] does
    /// for any call: the first `/next` that would deliver it ([`Target::Next`]) or the first
    /// post for its request id ([`Target::Response`], [`Target::Error`]; [`Target::Any`]
    /// for whichever comes first). Call it again to queue more faults; each is used once, in
    /// order, and those never used go away with the invocation. They apply before the faults
    /// of [`Emulator::inject`].
    pub fn fault(mut self, target: Target, fault: Fault) -> Self {
        self.faults.push((target, fault));
        self
    }

    fn into_submission(self) -> std::io::Result<Submission> {
        let invalid = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{what} must be a JSON document that fits in a header"),
            )
        };
        let json = |raw: Option<String>, what: &str| {
            raw.map(|raw| json_header(raw.as_bytes()).ok_or_else(|| invalid(what)))
                .transpose()
        };
        Ok(Submission {
            payload: if self.payload.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                Bytes::from(self.payload)
            },
            client_context: json(self.client_context, "the client context")?,
            cognito_identity: json(self.cognito_identity, "the Cognito identity")?,
            tenant_id: self
                .tenant_id
                .map(|t| HeaderValue::from_str(&t).map_err(|_| invalid("the tenant id")))
                .transpose()?,
            stream: None,
            faults: self.faults.into(),
        })
    }
}

impl From<&[u8]> for Invoke {
    fn from(payload: &[u8]) -> Self {
        Invoke::new(payload)
    }
}

impl<const N: usize> From<&[u8; N]> for Invoke {
    fn from(payload: &[u8; N]) -> Self {
        Invoke::new(payload.as_slice())
    }
}

impl From<Vec<u8>> for Invoke {
    fn from(payload: Vec<u8>) -> Self {
        Invoke::new(payload)
    }
}

impl From<&str> for Invoke {
    fn from(payload: &str) -> Self {
        Invoke::new(payload.as_bytes())
    }
}

impl From<String> for Invoke {
    fn from(payload: String) -> Self {
        Invoke::new(payload.into_bytes())
    }
}

impl Emulator {
    /// Bind the port, start the server and start the function process (so its init runs at
    /// once; a failing init is reported to the first invocation). Errors if the port cannot
    /// be bound or the command cannot be spawned.
    pub fn start(options: Options) -> std::io::Result<Emulator> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("lambda-emulator")
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind((options.bind, options.port))?;
        listener.set_nonblocking(true)?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr = SocketAddr::from((Ipv4Addr::LOCALHOST, addr.port()));
        }
        let prefix = options.normalized_prefix();
        let runtime_api = if prefix.is_empty() {
            addr.to_string()
        } else {
            format!("http://{addr}{prefix}")
        };
        let config = Config {
            arn: format!(
                "arn:aws:lambda:{}:000000000000:function:{}",
                options.region, options.function_name
            ),
            log_stream: log_stream_name(epoch_ms(), &options.version),
            slots: options.slots(),
            addr,
            prefix,
            runtime_api,
            options,
        };
        let shared = Arc::new(Shared::new(config, runtime.handle().clone()));
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let front_door = match shared.config.options.http_listen_addr() {
            Some(at) => {
                let listener = std::net::TcpListener::bind(at)?;
                listener.set_nonblocking(true)?;
                let addr = crate::front_door::reachable(listener.local_addr()?);
                let listener = {
                    let _guard = runtime.enter();
                    tokio::net::TcpListener::from_std(listener)?
                };
                let task = runtime.spawn(crate::front_door::serve(listener, Arc::clone(&shared)));
                Some((addr, task.abort_handle()))
            }
            None => None,
        };
        let server = runtime
            .spawn(serve(listener, Arc::clone(&shared)))
            .abort_handle();
        let emulator = Emulator {
            shared,
            runtime: Mutex::new(Some(runtime)),
            server,
            front_door,
        };
        emulator.shared.start_process()?;
        Ok(emulator)
    }

    /// The address the server listens on (both APIs).
    pub fn addr(&self) -> SocketAddr {
        self.shared.config.addr
    }

    /// The address of the HTTP front door ([`Options::http_front_door`]), if it is open; the
    /// port actually bound when 0 was asked for (an unspecified address is reported as
    /// loopback).
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.front_door.as_ref().map(|(addr, _)| *addr)
    }

    /// The front door's base URL, e.g. `http://127.0.0.1:9000`, if it is open.
    pub fn http_url(&self) -> Option<String> {
        self.http_addr().map(|addr| format!("http://{addr}"))
    }

    /// The value given to the function as `AWS_LAMBDA_RUNTIME_API`: `127.0.0.1:PORT`, or
    /// `http://127.0.0.1:PORT/PREFIX` with [`Options::runtime_api_prefix`].
    pub fn runtime_api(&self) -> &str {
        &self.shared.config.runtime_api
    }

    /// The Invoke API URL, `http://127.0.0.1:PORT/2015-03-31/functions/function/invocations`.
    pub fn invoke_url(&self) -> String {
        format!(
            "http://{}/2015-03-31/functions/function/invocations",
            self.addr()
        )
    }

    /// The Lambda environment variables the function gets (before [`Options::env`]
    /// additions); useful to run a function yourself against an [`Options::external`]
    /// emulator.
    pub fn function_env(&self) -> Vec<(String, String)> {
        self.shared.function_env()
    }

    /// Invoke the function and wait for the answer. Never waits forever: the timeout, a
    /// crash of the function or [`Emulator::stop`] all end the invocation. `Err` only for an
    /// invalid [`Invoke`] or an emulator that went away.
    pub fn invoke(&self, invoke: impl Into<Invoke>) -> std::io::Result<InvokeResult> {
        let rx = self.submit_blocking(invoke.into())?;
        rx.recv().map_err(|_| stopped())
    }

    /// Submit all invocations at once (in order; they are queued in that order), then wait
    /// for all of them. Results are in submission order.
    pub fn invoke_many<I>(&self, invokes: I) -> Vec<std::io::Result<InvokeResult>>
    where
        I: IntoIterator,
        I::Item: Into<Invoke>,
    {
        let pending: Vec<_> = invokes
            .into_iter()
            .map(|invoke| self.submit_blocking(invoke.into()))
            .collect();
        pending
            .into_iter()
            .map(|rx| rx.and_then(|rx| rx.recv().map_err(|_| stopped())))
            .collect()
    }

    /// Invoke the function and read its answer as it arrives, as `InvokeWithResponseStream`
    /// does: a streamed response piece by piece (see [`InvokeStream`]), a buffered one whole.
    /// `Err` only for an invalid [`Invoke`].
    pub fn invoke_stream(&self, invoke: impl Into<Invoke>) -> std::io::Result<InvokeStream> {
        let sub = invoke.into().into_submission()?;
        Ok(InvokeStream::start(&self.shared, sub))
    }

    /// The URL of the streaming Invoke API,
    /// `http://127.0.0.1:PORT/2021-11-15/functions/function/response-streaming-invocations`.
    pub fn invoke_stream_url(&self) -> String {
        format!(
            "http://{}/2021-11-15/functions/function/response-streaming-invocations",
            self.addr()
        )
    }

    /// [`Emulator::invoke`] for async callers (any executor).
    pub async fn invoke_async(&self, invoke: impl Into<Invoke>) -> std::io::Result<InvokeResult> {
        let sub = invoke.into().into_submission()?;
        let (tx, rx) = oneshot::channel();
        self.shared.submit(sub, Reply::Async(tx));
        rx.await.map_err(|_| stopped())
    }

    fn submit_blocking(
        &self,
        invoke: Invoke,
    ) -> std::io::Result<std::sync::mpsc::Receiver<InvokeResult>> {
        let sub = invoke.into_submission()?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.shared.submit(sub, Reply::Blocking(tx));
        Ok(rx)
    }

    /// Every Runtime API call so far, in arrival order, including calls still in progress
    /// (`status: None`).
    pub fn calls(&self) -> Vec<RuntimeCall> {
        let mut calls = self.shared.lock().calls.clone();
        calls.sort_by_key(|call| call.seq);
        calls
    }

    /// The errors the function posted (`/error` and `/init/error`), in arrival order.
    pub fn errors(&self) -> Vec<PostedError> {
        self.calls()
            .into_iter()
            .filter(|call| matches!(call.endpoint, Endpoint::Error | Endpoint::InitError))
            .map(|call| PostedError {
                error_type: call
                    .header("lambda-runtime-function-error-type")
                    .map(ToOwned::to_owned),
                request_id: call.request_id,
                body: call.body,
                status: call.status,
                received_ms: call.received_ms,
            })
            .collect()
    }

    /// Every line the function wrote to stdout or stderr, in the order read.
    pub fn logs(&self) -> Vec<LogLine> {
        self.shared.lock().logs.clone()
    }

    /// All log lines joined with `\n`.
    pub fn log_text(&self) -> String {
        let st = self.shared.lock();
        let mut text = String::new();
        for line in &st.logs {
            text.push_str(&line.line);
            text.push('\n');
        }
        text
    }

    /// How every function process so far ended.
    pub fn exits(&self) -> Vec<ProcessExit> {
        self.shared.lock().exits.clone()
    }

    /// The extensions registered in the current sandbox (the current process generation),
    /// in registration order. Empty once the sandbox is shut down.
    pub fn extensions(&self) -> Vec<ExtensionInfo> {
        self.shared.extension_infos()
    }

    /// How every external extension process so far ended.
    pub fn extension_exits(&self) -> Vec<ExtensionExit> {
        self.shared.lock().ext_exits.clone()
    }

    /// The errors extensions posted (`init/error`, `exit/error`) and the emulator accepted,
    /// in arrival order.
    pub fn extension_errors(&self) -> Vec<ExtensionError> {
        self.shared.lock().extension_errors()
    }

    /// Every step of every shutdown so far (resets and the emulator stopping), in order:
    /// the signals sent to the runtime and the extensions, the `SHUTDOWN` events, with times.
    pub fn shutdown_steps(&self) -> Vec<ShutdownStep> {
        self.shared.lock().shutdown_steps.clone()
    }

    /// Every batch posted (or attempted) to Telemetry API subscribers, in order.
    pub fn telemetry_deliveries(&self) -> Vec<TelemetryDelivery> {
        self.shared.lock().telemetry.clone()
    }

    /// How many times a function process was started (1 after a clean start).
    pub fn starts(&self) -> u64 {
        self.shared.lock().starts
    }

    /// The pid of the running function process, if one runs.
    pub fn pid(&self) -> Option<u32> {
        match &self.shared.lock().process {
            Proc::Running(running) => Some(running.pid),
            _ => None,
        }
    }

    /// Make the next Runtime API call matching `target` misbehave (see [`Fault`]). Faults
    /// queue up and are used once each, in order.
    pub fn inject(&self, target: Target, fault: Fault) {
        self.shared.inject(target, fault);
    }

    /// Send a signal to the function process. A process that exits after it is restarted by
    /// the next invocation, like one that crashed; its exit is in [`Emulator::exits`] with the
    /// time of the `SIGTERM` (if that was the signal).
    pub fn signal(&self, signal: Signal) -> std::io::Result<()> {
        self.shared.signal(signal.to_nix())
    }

    /// Wait until the current function process has finished init: it made its first `/next`
    /// and every extension registered and called `event/next`.
    /// `Err` with [`std::io::ErrorKind::TimedOut`] after `timeout`, or another error if the
    /// process exited or reported an init error first.
    pub fn wait_ready(&self, timeout: Duration) -> std::io::Result<()> {
        let end = Instant::now() + timeout;
        loop {
            match self.shared.readiness() {
                Some(Ok(())) => return Ok(()),
                Some(Err(message)) => return Err(std::io::Error::other(message)),
                None => {}
            }
            if Instant::now() >= end {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the function did not call /next in time",
                ));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Poll `condition` every few milliseconds until it holds (true) or `timeout` passes
    /// (false). For waiting on asynchronous effects, e.g. a log line or a process exit.
    pub fn wait_until(
        &self,
        timeout: Duration,
        mut condition: impl FnMut(&Emulator) -> bool,
    ) -> bool {
        let end = Instant::now() + timeout;
        loop {
            if condition(self) {
                return true;
            }
            if Instant::now() >= end {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Stop: answer pending invocations with 503 `Emulator.Stopped`, shut the function and
    /// its extensions down (reason `spindown`, as [`Options::shutdown_grace`] describes:
    /// `SIGKILL` at once without extensions), wait for them to exit, stop the server.
    /// Idempotent; the records stay readable. `Err` if the process did not go away.
    pub fn stop(&self) -> std::io::Result<()> {
        let runtime = self
            .runtime
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let Some(runtime) = runtime else {
            return Ok(());
        };
        self.shared.begin_stop();
        let end = Instant::now() + stop_wait(&self.shared.config.options);
        while !self.shared.process_gone() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        let gone = self.shared.process_gone();
        self.server.abort();
        if let Some((_, task)) = &self.front_door {
            task.abort();
        }
        runtime.shutdown_background();
        if gone {
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "the function process did not exit",
            ))
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn stopped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotConnected, "the emulator stopped")
}
