//! The one driving loop: feeds I/O results into the [`Lifecycle`] and carries out its actions.
//!
//! It is written once, here, generic over a small executor surface ([`Executor`] and
//! [`Connection`]): open a TCP connection, read, write, sleep until an instant, read the clock.
//! The smol and tokio adapters implement that surface; so can any other executor.
//!
//! Concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) run as concurrent futures inside the
//! one future returned by [`run`]: nothing is spawned, so handler futures need not be `Send`.
//! Each lane keeps one keep-alive connection to the Runtime API and reconnects when it is closed.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::task::Poll;
use core::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::context::Context;
use crate::diagnostic::Diagnostic;
use crate::error_type::ErrorType;
use crate::id::{InvocationId, RequestId};
use crate::lifecycle::{
    Action, ErrorCause, ExitReason, HandlerOutcome, Lifecycle, MAX_PAYLOAD_BYTES, SetupOutcome,
};
use crate::runner::{LambdaEvent, Runner};
use crate::time::EpochMillis;
use crate::wire::{self, BodyDecoder, Endpoint, Framing, Request};

/// The most concurrent invocations the driver runs (`AWS_LAMBDA_MAX_CONCURRENCY` is clamped).
pub const MAX_LANES: usize = 64;

/// What the driver needs from an executor.
pub trait Executor {
    /// A TCP connection to the Runtime API.
    type Connection: Connection<Error = Self::Error>;
    /// The error of connecting, reading and writing (logged, never inspected).
    type Error: fmt::Display;

    /// Opens a TCP connection to `endpoint` (`host()`, `port()`). Adapters should disable
    /// Nagle's algorithm (`TCP_NODELAY`): requests are small and latency-bound.
    fn connect(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = Result<Self::Connection, Self::Error>>;

    /// Completes after `duration` (at once if it is zero). The driver computes it from the
    /// machine's next wake-up and [`Executor::now`]; an early or late wake-up is harmless, since
    /// the machine compares the clock with its timers.
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;

    /// The wall-clock time.
    fn now(&self) -> EpochMillis;
}

/// A byte stream to the Runtime API.
pub trait Connection {
    /// The error of reading and writing.
    type Error: fmt::Display;

    /// Reads into `buf`, returning how many bytes were read; 0 means the peer closed.
    fn read(&mut self, buf: &mut [u8]) -> impl Future<Output = Result<usize, Self::Error>>;

    /// Writes all of `buf`.
    fn write_all(&mut self, buf: &[u8]) -> impl Future<Output = Result<(), Self::Error>>;
}

/// Runs a function until the lifecycle says to exit: setup once, then invocations forever.
///
/// Returns the reason to exit; every reason is a failure (see [`ExitReason::code`]).
pub async fn run<E, Shared, Event, R, Return>(exec: &E, config: Config) -> ExitReason
where
    E: Executor,
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let config = Arc::new(config);
    let endpoint = &config.runtime_api;
    let region = config.region.as_str();
    let mut machine = Box::new(Lifecycle::<MAX_LANES>::new(config.lifecycle_options()));

    // Init: the machine's first action is always RunSetup.
    let first = machine.poll();
    debug_assert_eq!(first, Action::RunSetup);
    let (shared, init_error) = match catch_unwind(R::setup(region)).await {
        Ok(Ok(shared)) => (Some(shared), None),
        Ok(Err(e)) => (
            None,
            Some(Diagnostic::from_error(&e, ErrorType::SETUP_ERROR)),
        ),
        Err(panic) => (None, Some(panic)),
    };
    let outcome = match &init_error {
        None => SetupOutcome::Done,
        Some(d) => {
            log::error!("setup failed: {d}");
            SetupOutcome::Failed
        }
    };
    let _ = machine.handle_setup(exec.now(), outcome);

    #[cfg(feature = "std")]
    raise_trim_threshold();
    let lanes = machine.lanes();
    let mut slots: Vec<Slot<'_, E::Connection>> = (0..lanes).map(|_| Slot::default()).collect();
    if let Some(d) = init_error {
        slots[0].body = Body::Error(d);
    }
    let dog = Watchdog::new(&config, lanes);
    let mut cursor = 0;
    loop {
        // 1. Carry out every action until the machine says to wait.
        let until = loop {
            let now = exec.now();
            let (lane, outgoing) = match machine.poll() {
                Action::Wait { until } => break until,
                Action::Exit(reason) => return reason,
                Action::RunSetup => continue,
                Action::FetchNext { lane } => (lane, Outgoing::Next),
                Action::RunHandler {
                    lane,
                    invocation,
                    timeout_at,
                } => {
                    let id = invocation.request_id.clone();
                    let s = &mut slots[lane];
                    let io = s.io.get_or_insert_with(LaneIo::default);
                    let ctx = match io.response_head() {
                        Some(head) => Context::from_invocation(invocation, &head, config.clone()),
                        None => Context::new(id.as_str(), config.clone()),
                    };
                    // A user `Deserialize` impl may panic on what the network sent.
                    let event = catch(|| crate::event::from_slice::<Event>(&io.body));
                    match (event, shared.as_ref()) {
                        (Ok(Ok(event)), Some(shared)) => {
                            if let Some(dog) = &dog {
                                dog.arm(lane, invocation, timeout_at);
                            }
                            let event = LambdaEvent::new(event, region, ctx);
                            let out = core::mem::take(&mut s.spare);
                            s.task = Some(handle::<R, _, _, _, _>(shared, event, id, out));
                        }
                        (event, _) => {
                            let d = match event {
                                Ok(Err(e)) => {
                                    // Not the message: it may quote the event.
                                    log::warn!(
                                        "[{id}] event rejected: {:?} error at line {} column {}",
                                        e.classify(),
                                        e.line(),
                                        e.column()
                                    );
                                    Diagnostic::invalid_event(&e)
                                }
                                Err(panic) => panic,
                                // The machine runs no handler after a failed setup.
                                Ok(Ok(_)) => Diagnostic::new(ErrorType::SETUP_ERROR, "no setup"),
                            };
                            s.body = Body::Error(d);
                            let failed = HandlerOutcome::Failed;
                            let _ = machine.handle_handler_done(now, lane, &id, failed);
                        }
                    }
                    continue;
                }
                Action::PostResponse { lane, invocation } => {
                    let body = match core::mem::take(&mut slots[lane].body) {
                        Body::Response(bytes) => bytes,
                        _ => Vec::new(),
                    };
                    let (id, inv) = (
                        invocation.request_id.clone(),
                        invocation.invocation_id.clone(),
                    );
                    (lane, Outgoing::Response(id, inv, body))
                }
                Action::PostError {
                    lane,
                    invocation,
                    cause,
                } => {
                    // The watchdog may have posted this timeout already: exactly one report.
                    if let (Some(dog), ErrorCause::Timeout { .. }) = (&dog, cause) {
                        if let Disarmed::Reported { status } = dog.disarm(lane) {
                            let _ = machine.handle_reported_elsewhere(now, lane, status);
                            continue;
                        }
                    }
                    let held = core::mem::take(&mut slots[lane].body);
                    let d = match (Diagnostic::from_cause(cause), held) {
                        (Some(d), _) | (None, Body::Error(d)) => d,
                        (None, _) => Diagnostic::new(ErrorType::HANDLER_ERROR, "unknown failure"),
                    };
                    let (id, inv) = (
                        invocation.request_id.clone(),
                        invocation.invocation_id.clone(),
                    );
                    (lane, Outgoing::Error(id, inv, d))
                }
                Action::PostInitError { lane } => {
                    let d = match core::mem::take(&mut slots[lane].body) {
                        Body::Error(d) => d,
                        _ => Diagnostic::new(ErrorType::SETUP_ERROR, "setup failed"),
                    };
                    (lane, Outgoing::InitError(d))
                }
            };
            // Replacing the task drops a timed-out handler's future: it never reports.
            let s = &mut slots[lane];
            s.task = Some(exchange(exec, endpoint, s.io.take(), outgoing));
        };

        // 2. Wait for the first lane to finish its task, or for the timer.
        let mut sleep = until.map(|t| Box::pin(exec.sleep(t.duration_since(exec.now()))));
        let done = poll_fn(|cx| {
            for k in 0..lanes {
                let lane = (cursor + k) % lanes;
                if let Some(task) = &mut slots[lane].task {
                    if let Poll::Ready(done) = task.as_mut().poll(cx) {
                        slots[lane].task = None;
                        return Poll::Ready(Some((lane, done)));
                    }
                }
            }
            if let Some(s) = &mut sleep {
                if s.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(None);
                }
            }
            Poll::Pending
        })
        .await;

        // 3. Report what happened.
        let now = exec.now();
        let Some((lane, done)) = done else {
            machine.handle_timeout(now);
            continue;
        };
        cursor = (lane + 1) % lanes;
        let s = &mut slots[lane];
        let result = match done {
            Done::Exchanged(io, outgoing, Ok(body_len)) => {
                if let Outgoing::Response(_, _, bytes) = outgoing {
                    s.spare = bytes;
                }
                let io = s.io.insert(io);
                match io.response_head() {
                    Some(head) => machine.handle_response(now, lane, &head, body_len),
                    None => machine.handle_transport_error(now, lane),
                }
            }
            Done::Exchanged(io, _, Err(ExchangeError::Truncated(e))) => {
                // The head arrived: an invocation it delivered must still be reported.
                log::warn!("Runtime API response cut off: {e}");
                let io = s.io.insert(io);
                match io.response_head() {
                    Some(head) => machine.handle_truncated_response(now, lane, &head),
                    None => machine.handle_transport_error(now, lane),
                }
            }
            Done::Exchanged(io, outgoing, Err(e)) => {
                log::warn!("Runtime API request failed: {e}");
                s.io = Some(io);
                // Kept for the retry the machine will ask for.
                s.body = outgoing.into_body();
                machine.handle_transport_error(now, lane)
            }
            Done::Handled(id, result) => {
                let disarmed = dog.as_ref().map_or(Disarmed::Clear, |dog| dog.disarm(lane));
                match (disarmed, result) {
                    (Disarmed::Reported { status }, _) => {
                        // The handler blocked past its timeout and the watchdog reported it.
                        log::warn!("[{id}] late handler result dropped");
                        machine.handle_reported_elsewhere(now, lane, status)
                    }
                    (Disarmed::Clear, Ok(bytes)) => {
                        let len = bytes.len();
                        s.body = Body::Response(bytes);
                        machine.handle_handler_done(now, lane, &id, HandlerOutcome::Ok { len })
                    }
                    (Disarmed::Clear, Err(diagnostic)) => {
                        log::warn!("[{id}] {diagnostic}");
                        s.body = Body::Error(diagnostic);
                        machine.handle_handler_done(now, lane, &id, HandlerOutcome::Failed)
                    }
                }
            }
        };
        if let Err(misuse) = result {
            log::error!("driver bug: {misuse}");
        }
    }
}

#[cfg(feature = "std")]
use crate::watchdog::{Disarmed, Watchdog};

/// Without `std` there is no watchdog: nothing outside the executor can report.
#[cfg(not(feature = "std"))]
#[allow(dead_code)] // The stand-in never reports.
enum Disarmed {
    Clear,
    Reported { status: u16 },
}

#[cfg(not(feature = "std"))]
struct Watchdog;

#[cfg(not(feature = "std"))]
impl Watchdog {
    fn new(_: &Config, _: usize) -> Option<Self> {
        None
    }
    fn arm(&self, _: usize, _: &crate::lifecycle::Invocation, _: Option<EpochMillis>) {}
    fn disarm(&self, _: usize) -> Disarmed {
        Disarmed::Clear
    }
}

/// Bodies up to this size are sent in the same write as the request head.
const COALESCE_BYTES: usize = 16 * 1024;
/// How much the read buffer grows by when it is full.
const READ_CHUNK: usize = 16 * 1024;

/// What the adapters' `exec()` does: reads the [`Config`] from the process environment and
/// [`run`]s the function on `exec`.
///
/// Never returns `Ok`: a Lambda runtime only stops when something fails. The error says why
/// (e.g. that `AWS_LAMBDA_RUNTIME_API` is missing and how to run the function locally); returned
/// from `main`, it makes the process exit non-zero.
#[cfg(feature = "std")]
pub async fn run_from_env<E, Shared, Event, R, Return>(exec: &E) -> anyhow::Result<()>
where
    E: Executor,
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let config = Config::from_env()?;
    if config.region.is_empty() {
        log::warn!("neither AWS_REGION nor AWS_DEFAULT_REGION is set; setup gets an empty region");
    }
    let reason = run::<E, Shared, Event, R, Return>(exec, config).await;
    Err(anyhow::anyhow!("the Lambda runtime stopped: {reason}"))
}

/// A lane's connection and reusable buffers.
struct LaneIo<C> {
    conn: Option<C>,
    /// The read buffer; it keeps its length (never zero-filled again) and starts with the last
    /// response's head, `head_len` bytes.
    buf: Vec<u8>,
    head_len: usize,
    /// The last response's head as parsed, so that it is parsed once, not once per use.
    index: Option<wire::HeadIndex>,
    /// The last `/next` event payload.
    body: Vec<u8>,
    /// Scratch space for request heads.
    head: Vec<u8>,
}

impl<C> LaneIo<C> {
    /// The last response's head (none if the last exchange failed before one arrived).
    fn response_head(&self) -> Option<wire::ResponseHead<'_>> {
        let bytes = self.buf.get(..self.head_len)?;
        self.index.as_ref().map(|index| index.head(bytes))
    }
}

impl<C> Default for LaneIo<C> {
    fn default() -> Self {
        Self {
            conn: None,
            buf: Vec::new(),
            head_len: 0,
            index: None,
            body: Vec::new(),
            head: Vec::new(),
        }
    }
}

/// What a lane holds between actions: what its next post sends.
#[derive(Default)]
enum Body {
    #[default]
    None,
    Response(Vec<u8>),
    Error(Diagnostic),
}

type Task<'a, C> = Pin<Box<dyn Future<Output = Done<C>> + 'a>>;

struct Slot<'a, C> {
    /// `None` while an exchange owns it.
    io: Option<LaneIo<C>>,
    task: Option<Task<'a, C>>,
    body: Body,
    /// The last posted response's buffer, reused for the next one.
    spare: Vec<u8>,
}

impl<C> Default for Slot<'_, C> {
    fn default() -> Self {
        Self {
            io: Some(LaneIo::default()),
            task: None,
            body: Body::None,
            spare: Vec::new(),
        }
    }
}

#[allow(clippy::large_enum_variant)] // Moved once per completed task; boxing would allocate.
enum Done<C> {
    /// A request/response exchange finished: the request it sent (kept for a retry), and the
    /// response's body length or why it failed.
    Exchanged(LaneIo<C>, Outgoing, Result<u64, ExchangeError>),
    /// A handler finished: its serialised response or its diagnostic.
    Handled(RequestId, Result<Vec<u8>, Diagnostic>),
}

/// The request an exchange sends.
enum Outgoing {
    Next,
    Response(RequestId, Option<InvocationId>, Vec<u8>),
    Error(RequestId, Option<InvocationId>, Diagnostic),
    InitError(Diagnostic),
}

impl Outgoing {
    /// What the lane holds again when the request must be sent again.
    fn into_body(self) -> Body {
        match self {
            Self::Next => Body::None,
            Self::Response(_, _, bytes) => Body::Response(bytes),
            Self::Error(_, _, d) | Self::InitError(d) => Body::Error(d),
        }
    }
}

/// Why an exchange failed.
enum ExchangeError {
    Io(String),
    Wire(wire::WireError),
    Closed,
    /// The response head arrived, its body did not.
    Truncated(String),
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(e) => f.write_str(e),
            Self::Wire(e) => write!(f, "malformed response: {e}"),
            Self::Closed => f.write_str("connection closed before a complete response"),
            Self::Truncated(e) => write!(f, "the body did not arrive: {e}"),
        }
    }
}

fn io_error(e: impl fmt::Display) -> ExchangeError {
    ExchangeError::Io(e.to_string())
}

/// Sends `outgoing` on the lane's connection (opening one if needed) and reads the response.
fn exchange<'a, E: Executor>(
    exec: &'a E,
    endpoint: &'a Endpoint,
    io: Option<LaneIo<E::Connection>>,
    outgoing: Outgoing,
) -> Task<'a, E::Connection> {
    Box::pin(async move {
        let mut io = io.unwrap_or_default();
        let result = send_and_receive(exec, endpoint, &mut io, &outgoing).await;
        if result.is_err() {
            io.conn = None;
        }
        Done::Exchanged(io, outgoing, result)
    })
}

async fn send_and_receive<E: Executor>(
    exec: &E,
    endpoint: &Endpoint,
    io: &mut LaneIo<E::Connection>,
    outgoing: &Outgoing,
) -> Result<u64, ExchangeError> {
    let error_json;
    let error_type;
    let (request, body): (Request<'_>, &[u8]) = match outgoing {
        Outgoing::Next => (Request::Next, &[]),
        Outgoing::Response(id, inv, bytes) => {
            let r = Request::Response {
                id,
                invocation_id: inv.as_ref(),
                content_length: bytes.len(),
            };
            (r, bytes)
        }
        Outgoing::Error(id, inv, d) => {
            error_json = d.to_json();
            error_type = d.error_type();
            let r = Request::Error {
                id,
                invocation_id: inv.as_ref(),
                error_type: &error_type,
                content_length: error_json.len(),
            };
            (r, &error_json)
        }
        Outgoing::InitError(d) => {
            error_json = d.to_json();
            error_type = d.error_type();
            let r = Request::InitError {
                error_type: &error_type,
                content_length: error_json.len(),
            };
            (r, &error_json)
        }
    };
    let LaneIo {
        conn,
        buf,
        head_len: last_head,
        index,
        body: event,
        head,
    } = io;
    *last_head = 0;
    *index = None;
    head.clear();
    head.resize(request.encoded_len(endpoint), 0);
    let n = request.encode(endpoint, head).map_err(io_error)?;
    head.truncate(n);
    if conn.is_none() {
        *conn = Some(exec.connect(endpoint).await.map_err(io_error)?);
    }
    let Some(c) = conn.as_mut() else {
        return Err(ExchangeError::Closed);
    };
    if body.len() <= COALESCE_BYTES {
        head.extend_from_slice(body);
        c.write_all(head).await.map_err(io_error)?;
    } else {
        c.write_all(head).await.map_err(io_error)?;
        c.write_all(body).await.map_err(io_error)?;
    }

    // The response head; interim 1xx heads are skipped.
    let mut filled = 0;
    let (head_len, framing, keep_alive) = loop {
        let parsed = match filled {
            0 => Ok(None),
            _ => wire::parse_head(&buf[..filled]),
        };
        match parsed {
            Ok(Some((h, len))) if h.status < 200 => {
                buf.copy_within(len..filled, 0);
                filled -= len;
                continue;
            }
            Ok(Some((h, len))) => {
                *index = h.index(&buf[..len]);
                debug_assert!(index.is_some(), "a parsed head's fields lie in its bytes");
                break (len, h.framing, h.keep_alive);
            }
            Ok(None) => {}
            Err(e) => return Err(ExchangeError::Wire(e)),
        }
        if filled == buf.len() {
            buf.resize(filled + READ_CHUNK, 0);
        }
        let n = c.read(&mut buf[filled..]).await.map_err(io_error)?;
        if n == 0 {
            return Err(ExchangeError::Closed);
        }
        filled += n;
    };

    // The body: the event for `/next`, discarded otherwise.
    let collect = matches!(outgoing, Outgoing::Next);
    *last_head = head_len;
    let read = read_body(c, buf, event, head_len, filled, framing, collect).await;
    match read {
        Ok((body_len, reusable)) => {
            if !(reusable && keep_alive) {
                *conn = None;
            }
            Ok(body_len)
        }
        Err(e) => {
            *conn = None;
            Err(ExchangeError::Truncated(e.to_string()))
        }
    }
}

/// Reads the body that follows the head in `buf[..filled]`: into `event` if `collect` (at most
/// `MAX_PAYLOAD_BYTES + 1` bytes), discarded otherwise (`event` is then left as it is: keeping
/// its length spares zero-filling it again for the next event of that size). Returns its length
/// and whether the connection can carry another request (all of the body read, nothing after it).
async fn read_body<C: Connection>(
    c: &mut C,
    buf: &mut Vec<u8>,
    event: &mut Vec<u8>,
    head_len: usize,
    mut filled: usize,
    framing: Framing,
    collect: bool,
) -> Result<(u64, bool), ExchangeError> {
    let cap = MAX_PAYLOAD_BYTES + 1;
    let read_past = filled - head_len;
    match framing {
        Framing::Length(len) if collect && len > cap as u64 => {
            // Not read: the lifecycle reports the event as too large; the connection is spent.
            event.clear();
            Ok((len, false))
        }
        Framing::Length(len) if collect => {
            // Read straight into the event buffer (only newly grown space is zero-filled).
            let len_usize = len as usize;
            let already = read_past.min(len_usize);
            event.truncate(len_usize);
            event.resize(len_usize, 0);
            event[..already].copy_from_slice(&buf[head_len..head_len + already]);
            let mut got = already;
            while got < len_usize {
                let n = c.read(&mut event[got..]).await.map_err(io_error)?;
                if n == 0 {
                    return Err(ExchangeError::Closed);
                }
                got += n;
            }
            Ok((len, read_past <= len_usize))
        }
        _ => {
            if collect {
                event.clear();
            }
            let mut decoder = BodyDecoder::new(framing);
            let mut start = head_len;
            let mut total: u64 = 0;
            while !decoder.is_done() {
                let d = decoder
                    .decode(&buf[start..filled])
                    .map_err(ExchangeError::Wire)?;
                total += d.data.len() as u64;
                if collect && event.len() < cap {
                    let room = cap - event.len();
                    event.extend_from_slice(&d.data[..d.data.len().min(room)]);
                }
                start += d.consumed;
                if decoder.is_done() {
                    break;
                }
                if collect && total > cap as u64 {
                    return Ok((total, false));
                }
                if d.consumed == 0 || start == filled {
                    // Keep the head, move the unread rest behind it, read more.
                    buf.copy_within(start..filled, head_len);
                    filled = head_len + (filled - start);
                    start = head_len;
                    if filled == buf.len() {
                        buf.resize(filled + READ_CHUNK, 0);
                    }
                    let n = c.read(&mut buf[filled..]).await.map_err(io_error)?;
                    if n == 0 {
                        decoder.eof().map_err(ExchangeError::Wire)?;
                        return Ok((total, false));
                    }
                    filled += n;
                }
            }
            Ok((total, start == filled))
        }
    }
}

/// The future of one handler run: deserialised event in, serialised response or diagnostic out.
fn handle<'a, R, Shared, Event, Return, C: 'a>(
    shared: &'a Shared,
    event: LambdaEvent<'a, Event>,
    id: RequestId,
    mut out: Vec<u8>,
) -> Task<'a, C>
where
    R: Runner<'a, Shared, Event, Return> + 'a,
    Event: 'a,
    Return: Serialize + 'a,
{
    Box::pin(async move {
        let result = match catch_unwind(R::run(shared, event)).await {
            // A user `Serialize` impl may panic too.
            Ok(Ok(value)) => {
                catch(|| serialize_into(&mut out, &value).map(|()| out)).and_then(|r| {
                    r.map_err(|e| {
                        Diagnostic::new(
                            ErrorType::SERIALIZATION_ERROR,
                            format!("the handler's return value could not be serialised: {e}"),
                        )
                    })
                })
            }
            Ok(Err(e)) => Err(Diagnostic::from_error(&e, ErrorType::HANDLER_ERROR)),
            Err(panic) => Err(panic),
        };
        Done::Handled(id, result)
    })
}

/// Allocates and frees one 8 MiB block once. With glibc's malloc this raises its dynamic mmap
/// threshold to 8 MiB and its trim threshold to 16 MiB, so the heap is no longer given back to
/// the kernel (and faulted in again, page by page) after every invocation whose event or
/// response is over 128 KiB; with other allocators it costs one allocation at start-up.
#[cfg(feature = "std")]
fn raise_trim_threshold() {
    drop(core::hint::black_box(Vec::<u8>::with_capacity(8 << 20)));
}

/// Serialises `value` into `out`, reusing its allocation where serde_json can (with `std`).
fn serialize_into<T: Serialize>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    #[cfg(feature = "std")]
    {
        out.clear();
        serde_json::to_writer(out, value)
    }
    #[cfg(not(feature = "std"))]
    {
        *out = serde_json::to_vec(value)?;
        Ok(())
    }
}

/// Runs `f`, turning a panic into a [`Diagnostic`] (with `std`; without it, panics are not
/// caught).
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Diagnostic> {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|payload| Diagnostic::panic(&*payload))
    }
    #[cfg(not(feature = "std"))]
    Ok(f())
}

/// Polls `fut`, turning a panic into a [`Diagnostic`] (see [`catch`]).
async fn catch_unwind<F: Future>(fut: F) -> Result<F::Output, Diagnostic> {
    let mut fut = core::pin::pin!(fut);
    poll_fn(move |cx| match catch(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}
