//! The one driving loop: feeds I/O results into the [`Lifecycle`] and carries out its actions.
//!
//! It is written once, here, generic over a small executor surface ([`Executor`] and
//! [`Connection`]): open a TCP connection, read, write, sleep for a while, read the clock.
//! The smol and tokio adapters implement that surface; so can any other executor.
//!
//! The loop is three steps, each a function of its own in this file:
//!
//! 1. `carry_out`: call [`Lifecycle::poll`] and carry out each action
//!    (start an exchange with the Runtime API, start the handler, claim an invocation from the
//!    watchdog) until it says `Wait`;
//! 2. `wait`: wait for the first lane's task (an exchange in `exchange.rs`, a
//!    handler run in `invoke.rs`) to finish, or for the machine's timer;
//! 3. `feed`: hand that one fact to the machine with one `handle_*` call.
//!
//! Concurrent invocations (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) run as concurrent futures inside the
//! one future the driver runs: nothing is spawned, so handler futures need not be `Send`.
//! Each lane keeps one keep-alive connection to the Runtime API and reconnects when it is closed.

#[cfg(feature = "std")]
mod blocking;
mod exchange;
#[cfg(feature = "std")]
mod exit;
mod extension;
#[cfg(feature = "std")]
mod extension_env;
mod invoke;
#[cfg(feature = "std")]
mod streaming;

#[cfg(feature = "std")]
pub use exit::RuntimeStopped;
pub use extension::{Extension, ExtensionDriver, NoSteps, Stopped};
#[cfg(feature = "std")]
pub use extension_env::{executable_name, run_extension};

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use core::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::{Config, ShutdownHook};
use crate::context::Context;
use crate::diagnostic::Diagnostic;
use crate::error_type::ErrorType;
use crate::id::RequestId;
#[cfg(feature = "std")]
use crate::lifecycle::ErrorCause;
use crate::lifecycle::{
    Action, ClaimOutcome, ExitReason, HandlerOutcome, Invocation, Lifecycle, SetupOutcome,
};
use crate::runner::{Handler, LambdaEvent, Runner, RunnerHandler};
use crate::time::EpochMillis;
use crate::wire::Endpoint;
use exchange::{AnswerSignal, ExchangeError, Exchanged, LaneIo, Outgoing, exchange};
use invoke::Handled;

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

    /// How many lanes (concurrent invocations, `AWS_LAMBDA_MAX_CONCURRENCY`) this executor can
    /// drive at once; by default [`MAX_LANES`].
    ///
    /// An executor that cannot make progress on one future while another waits (one whose I/O
    /// blocks the thread: a lane idle on `/next` would hold up every running invocation) MUST
    /// return 1; the driver then runs one lane, whatever `AWS_LAMBDA_MAX_CONCURRENCY` says, and
    /// logs once that it does. Such an executor also cannot time out an answer that stalls
    /// ([`ANSWER_TIMEOUT_MS`](crate::lifecycle::ANSWER_TIMEOUT_MS)): its read blocks until the
    /// server sends or closes.
    fn max_lanes(&self) -> usize {
        MAX_LANES
    }
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

/// Runs the [`Runner`] `R` until the lifecycle says to exit: setup once, then invocations
/// forever. Returns the reason to exit (see [`ExitReason::code`]).
pub async fn run<E, Shared, Event, R, Return>(exec: &E, config: Config) -> ExitReason
where
    E: Executor,
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    serve(exec, config, None, &RunnerHandler::<R, Shared>::new()).await
}

/// Runs `handler` (any of the entry forms, see [`Handler`]) until the lifecycle says to exit;
/// `on_shutdown` runs on SIGTERM (with `std` and the watchdog on).
pub(crate) async fn serve<E, H, Shared, Event, Return>(
    exec: &E,
    config: Config,
    mut on_shutdown: Option<ShutdownHook>,
    handler: &H,
) -> ExitReason
where
    E: Executor,
    H: Handler<Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let config = Arc::new(config);
    let options = config.lifecycle_options();
    let options = options.lanes(lanes_for(options.lanes, exec.max_lanes()));
    let mut machine = Box::new(Lifecycle::<MAX_LANES>::new(options));
    // Init: the machine's first action is always RunSetup, carried out here because what it
    // builds is lent to every invocation.
    match machine.poll() {
        Action::RunSetup => {}
        other => log::error!(
            "driver bug: the first action is {}, not RunSetup",
            other.name()
        ),
    }
    let setup = invoke::setup(handler, &config.region).await;
    #[cfg(feature = "std")]
    raise_trim_threshold();
    let lanes = machine.lanes();
    let watchdog = Watchdog::new(&config, lanes, on_shutdown.take());
    if watchdog.is_none() && on_shutdown.is_some() {
        log::warn!("the shutdown hook never runs: it needs the watchdog, which is off");
    }
    let mut driver = Driver {
        machine,
        crew: Crew {
            exec,
            config: &config,
            handler,
            shared: None,
            lanes: (0..lanes).map(|_| Lane::default()).collect(),
            watchdog,
            cursor: 0,
            types: PhantomData,
        },
    };
    let fact = match &setup {
        Ok(shared) => {
            driver.crew.shared = Some(shared);
            Fact::Setup(SetupOutcome::Done)
        }
        Err(d) => {
            log::error!("setup failed: {d}");
            driver.crew.lanes[0].outbox = Outbox::Error(d.clone());
            Fact::Setup(SetupOutcome::Failed)
        }
    };
    driver.feed(exec.now(), fact);
    driver.drive().await
}

/// The lanes to run: `requested` (from `AWS_LAMBDA_MAX_CONCURRENCY`), but no more than the
/// executor can drive (`can`, at least 1); logs when it runs fewer.
fn lanes_for(requested: usize, can: usize) -> usize {
    let can = can.max(1);
    if requested > can {
        log::warn!(
            "AWS_LAMBDA_MAX_CONCURRENCY asks for {requested} concurrent invocations, but this \
             executor drives {can} at a time: running {can}"
        );
        return can;
    }
    requested
}

/// What the adapters' `exec()` does: reads the [`Config`] from the process environment and
/// [`run`]s the function on `exec`.
///
/// Never returns `Ok`: a Lambda runtime only stops when something fails. The error says why
/// (e.g. that `AWS_LAMBDA_RUNTIME_API` is missing and how to run the function locally; a
/// [`RuntimeStopped`] once it ran); returned from `main`, it makes the process exit non-zero
/// ([`RuntimeStopped::code_of`] gives the reason's own code).
#[cfg(feature = "std")]
pub async fn run_from_env<E, Shared, Event, R, Return>(exec: &E) -> anyhow::Result<()>
where
    E: Executor,
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let handler = RunnerHandler::<R, Shared>::new();
    serve_from_env(exec, crate::config::Settings::default(), &handler).await
}

/// [`serve`] with the [`Config`] from the process environment and `settings` applied over it.
#[cfg(feature = "std")]
pub(crate) async fn serve_from_env<E, H, Shared, Event, Return>(
    exec: &E,
    mut settings: crate::config::Settings,
    handler: &H,
) -> anyhow::Result<()>
where
    E: Executor,
    H: Handler<Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let config = settings.apply(Config::from_env()?);
    #[cfg(feature = "logger")]
    if settings.logger != Some(false) {
        // Fails if the user installed a logger before calling the entry point: theirs stays.
        let _ = crate::logger::LambdaLogger::from_config(&config).install();
    }
    if config.region.is_empty() {
        log::warn!("neither AWS_REGION nor AWS_DEFAULT_REGION is set; setup gets an empty region");
    }
    let reason = serve(exec, config, settings.on_shutdown.take(), handler).await;
    Err(RuntimeStopped(reason).into())
}

/// The machine and the crew that carries out its actions.
struct Driver<'a, E: Executor, H, Shared, Event, Return> {
    machine: Box<Lifecycle<MAX_LANES>>,
    crew: Crew<'a, E, H, Shared, Event, Return>,
}

/// Everything but the machine: kept apart so that an action borrowed from the machine can be
/// carried out while it is borrowed.
struct Crew<'a, E: Executor, H, Shared, Event, Return> {
    exec: &'a E,
    config: &'a Arc<Config>,
    handler: &'a H,
    /// What setup built; `None` if it failed.
    shared: Option<&'a Shared>,
    /// One per lane of the machine, by index.
    lanes: Vec<Lane<'a, E::Connection>>,
    watchdog: Option<Watchdog>,
    /// The lane whose task `wait` polls first, rotated for fairness.
    cursor: usize,
    types: PhantomData<fn(Event) -> Return>,
}

/// The driver's side of one of the machine's lanes.
struct Lane<'a, C> {
    /// The connection and buffers; `None` while an exchange owns them. Boxed, so that handing
    /// them to an exchange and back moves a pointer, not the head index and buffers.
    io: Option<Box<LaneIo<C>>>,
    /// What runs on the lane: an exchange or the handler.
    task: Option<Task<'a, C>>,
    /// Shared with the lane's exchanges: when their answers start, when to abandon them.
    answer: Rc<AnswerSignal>,
    /// What the lane's next post sends.
    outbox: Outbox,
    /// The last posted response's buffer, reused for the next response.
    spare_response: Vec<u8>,
    /// The ids of the lane's last invocation, for the log lines written while it runs.
    #[cfg(feature = "std")]
    log_ids: Option<Arc<crate::logger::InvocationIds>>,
    /// The response stream of the lane's invocation.
    #[cfg(feature = "std")]
    stream: streaming::LaneStream<'a, C>,
}

impl<C> Default for Lane<'_, C> {
    fn default() -> Self {
        Self {
            io: Some(Box::default()),
            task: None,
            answer: Rc::default(),
            outbox: Outbox::Empty,
            spare_response: Vec::new(),
            #[cfg(feature = "std")]
            log_ids: None,
            #[cfg(feature = "std")]
            stream: streaming::LaneStream::default(),
        }
    }
}

/// What a lane's next post sends.
#[derive(Default)]
enum Outbox {
    #[default]
    Empty,
    /// The handler's serialised response.
    Response(Vec<u8>),
    /// The diagnostic of a failed handler, event or setup.
    Error(Diagnostic),
}

/// What runs on a lane.
enum Task<'a, C> {
    Exchange(Pin<Box<dyn Future<Output = Exchanged<C>> + 'a>>),
    Handler(Pin<Box<dyn Future<Output = Handled> + 'a>>),
}

/// A finished [`Task`], or what the lane's response stream says.
#[allow(clippy::large_enum_variant)] // Moved once per completed task; boxing would allocate.
enum Done<C> {
    Exchanged(Exchanged<C>),
    Handled(Handled),
    /// The first bytes of the answer to the lane's exchange arrived, not all of it.
    AnswerStarted,
    /// The handler sent its first chunk.
    #[cfg(feature = "std")]
    StreamStarted(RequestId),
    /// The stream passed `MAX_STREAM_BYTES` (this many bytes so far).
    #[cfg(feature = "std")]
    StreamOverLimit(u64),
}

impl<C> Task<'_, C> {
    fn poll(&mut self, cx: &mut TaskContext<'_>) -> Poll<Done<C>> {
        match self {
            Self::Exchange(f) => f.as_mut().poll(cx).map(Done::Exchanged),
            Self::Handler(f) => f.as_mut().poll(cx).map(Done::Handled),
        }
    }
}

/// One fact for the machine: the argument of one `handle_*` call.
enum Fact {
    Setup(SetupOutcome),
    /// The lane's exchange got a whole response (its head is in the lane's I/O).
    Response {
        lane: usize,
        body_len: u64,
    },
    /// The lane's exchange got a response head, but not its body.
    Truncated {
        lane: usize,
    },
    TransportFailed {
        lane: usize,
    },
    AnswerStarted {
        lane: usize,
    },
    HandlerDone {
        lane: usize,
        id: RequestId,
        outcome: HandlerOutcome,
    },
    Claimed {
        lane: usize,
        outcome: ClaimOutcome,
    },
    #[cfg(feature = "std")]
    StreamStarted {
        lane: usize,
        id: RequestId,
    },
    #[cfg(feature = "std")]
    StreamOverLimit {
        lane: usize,
        len: u64,
    },
    TimerFired,
    ExtensionSettled {
        registered: bool,
    },
}

impl<'a, E, H, Shared, Event, Return> Driver<'a, E, H, Shared, Event, Return>
where
    E: Executor,
    H: Handler<Shared, Event, Return>,
    Event: DeserializeOwned + 'a,
    Return: Serialize + 'a,
{
    /// The loop, until the machine says to exit.
    ///
    /// The clock is read once per wake-up, and again after each action that may take a while
    /// (see `carry_out`).
    async fn drive(mut self) -> ExitReason {
        let mut now = self.crew.exec.now();
        loop {
            let until = match self.carry_out(&mut now) {
                Ok(until) => until,
                Err(reason) => return reason,
            };
            let fact = self.wait(until, now).await;
            now = self.crew.exec.now();
            self.feed(now, fact);
        }
    }

    /// Step 1: carries out every action until the machine says to wait (`Ok`, with its timer)
    /// or to exit (`Err`). An action that settles at once (a claim, a rejected event) gives a
    /// fact, fed before the next action.
    ///
    /// `now` is read again after every action but those that only start a request (their
    /// exchange runs later, in `wait`): starting the handler deserialises the event, a claim may
    /// wait for the watchdog's post, registering the extension waits for its answer.
    fn carry_out(&mut self, now: &mut EpochMillis) -> Result<Option<EpochMillis>, ExitReason> {
        loop {
            let (fact, quick) = match self.machine.poll() {
                Action::Wait { until } => return Ok(until),
                Action::Exit(reason) => return Err(reason),
                action => {
                    let quick = matches!(
                        action,
                        Action::FetchNext { .. }
                            | Action::PostResponse { .. }
                            | Action::PostError { .. }
                            | Action::PostInitError { .. }
                            | Action::AbandonRequest { .. }
                    );
                    (self.crew.dispatch(action, *now), quick)
                }
            };
            if !quick {
                *now = self.crew.exec.now();
            }
            if let Some(fact) = fact {
                self.feed(*now, fact);
            }
        }
    }

    /// Step 2: waits for the first lane's task to finish, or for the clock (`now` when the
    /// machine was last drained) to reach `until`.
    async fn wait(&mut self, until: Option<EpochMillis>, now: EpochMillis) -> Fact {
        let exec = self.crew.exec;
        let sleep = until.map(|t| exec.sleep(t.duration_since(now)));
        let mut sleep = core::pin::pin!(sleep);
        let lanes = &mut self.crew.lanes;
        #[cfg(feature = "std")]
        let machine = &self.machine;
        let (count, cursor) = (lanes.len(), self.crew.cursor);
        let done = poll_fn(|cx| {
            for k in 0..count {
                let lane = (cursor + k) % count;
                #[cfg(feature = "std")]
                let idle = lanes[lane].task.is_none() && lanes[lane].stream.is_idle();
                #[cfg(not(feature = "std"))]
                let idle = lanes[lane].task.is_none();
                if idle {
                    continue;
                }
                // Log lines written while the lane's task runs carry its invocation's ids.
                #[cfg(feature = "std")]
                let _scope = scope(machine, lane, &lanes[lane]);
                let l = &mut lanes[lane];
                if let Some(Poll::Ready(done)) = l.task.as_mut().map(|t| t.poll(cx)) {
                    l.task = None;
                    #[cfg(feature = "std")]
                    let done = l.stream.hold_back(done);
                    return Poll::Ready(Some((lane, done)));
                }
                if matches!(l.task, Some(Task::Exchange(_))) && l.answer.take_started() {
                    return Poll::Ready(Some((lane, Done::AnswerStarted)));
                }
                #[cfg(feature = "std")]
                if let Poll::Ready(done) = l.stream.poll(cx) {
                    return Poll::Ready(Some((lane, done)));
                }
            }
            match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
                Some(Poll::Ready(())) => Poll::Ready(None),
                _ => Poll::Pending,
            }
        })
        .await;
        let Some((lane, done)) = done else {
            return Fact::TimerFired;
        };
        self.crew.cursor = (lane + 1) % count;
        #[cfg(feature = "std")]
        let _scope = scope(&self.machine, lane, &self.crew.lanes[lane]);
        self.crew.settle(lane, done)
    }

    /// Step 3: feeds one fact to the machine. A [`Misuse`](crate::lifecycle::Misuse) is a bug
    /// in this driver: logged, and the machine is unchanged.
    fn feed(&mut self, now: EpochMillis, fact: Fact) {
        let machine = &mut self.machine;
        let lanes = &self.crew.lanes;
        // The lane's last response head, rebuilt in place into `slot`.
        let head_into = |lane: usize, slot: &mut _| {
            let io: Option<&Box<LaneIo<E::Connection>>> = lanes[lane].io.as_ref();
            io.is_some_and(|io| io.response_head_into(slot))
        };
        let result = match fact {
            Fact::Setup(outcome) => machine.handle_setup(now, outcome),
            Fact::Response { lane, body_len } => {
                let mut slot = crate::wire::ResponseHead::new(0);
                if head_into(lane, &mut slot) {
                    machine.handle_response(now, lane, &slot, body_len)
                } else {
                    machine.handle_transport_error(now, lane)
                }
            }
            Fact::Truncated { lane } => {
                let mut slot = crate::wire::ResponseHead::new(0);
                if head_into(lane, &mut slot) {
                    machine.handle_truncated_response(now, lane, &slot)
                } else {
                    machine.handle_transport_error(now, lane)
                }
            }
            Fact::TransportFailed { lane } => machine.handle_transport_error(now, lane),
            Fact::AnswerStarted { lane } => machine.handle_answer_started(now, lane),
            Fact::HandlerDone { lane, id, outcome } => {
                machine.handle_handler_done(now, lane, &id, outcome)
            }
            Fact::Claimed { lane, outcome } => machine.handle_claim(now, lane, outcome),
            Fact::ExtensionSettled { registered } => machine.handle_extension(now, registered),
            #[cfg(feature = "std")]
            Fact::StreamStarted { lane, id } => machine.handle_stream_started(now, lane, &id),
            #[cfg(feature = "std")]
            Fact::StreamOverLimit { lane, len } => machine.handle_stream_over_limit(now, lane, len),
            Fact::TimerFired => {
                machine.handle_timeout(now);
                Ok(())
            }
        };
        if let Err(misuse) = result {
            log::error!("driver bug: {misuse}");
        }
    }
}

impl<'a, E, H, Shared, Event, Return> Crew<'a, E, H, Shared, Event, Return>
where
    E: Executor,
    H: Handler<Shared, Event, Return>,
    Event: DeserializeOwned + 'a,
    Return: Serialize + 'a,
{
    /// Carries out one action (never `Wait` or `Exit`, which `carry_out` handles).
    fn dispatch(&mut self, action: Action<'_>, now: EpochMillis) -> Option<Fact> {
        match action {
            Action::FetchNext { lane } => self.start_exchange(lane, Outgoing::Next),
            Action::RunHandler {
                lane,
                invocation,
                timeout_at,
            } => return self.start_handler(lane, invocation, timeout_at, now),
            Action::Claim { lane, invocation } => return Some(self.claim(lane, invocation)),
            Action::PostResponse { lane, invocation } => {
                let bytes = match core::mem::take(&mut self.lanes[lane].outbox) {
                    Outbox::Response(bytes) => bytes,
                    _ => {
                        log::error!("driver bug: no response held for {}", invocation.request_id);
                        Vec::new()
                    }
                };
                let ids = (
                    invocation.request_id.clone(),
                    invocation.invocation_id.clone(),
                );
                // Its buffered lines stay until the next invocation on the lane: a response
                // refused as too large still makes this one fail.
                #[cfg(feature = "std")]
                self.lanes[lane].stream.abandon();
                self.start_exchange(lane, Outgoing::Response(ids.0, ids.1, bytes));
            }
            Action::PostError {
                lane,
                invocation,
                cause,
            } => {
                let held = core::mem::take(&mut self.lanes[lane].outbox);
                let d = match (Diagnostic::from_cause(cause), held) {
                    (Some(d), _) | (None, Outbox::Error(d)) => d,
                    (None, _) => Diagnostic::new(ErrorType::HANDLER_ERROR, "unknown failure"),
                };
                let ids = (
                    invocation.request_id.clone(),
                    invocation.invocation_id.clone(),
                );
                self.end_invocation(lane, true);
                #[cfg(feature = "std")]
                self.lanes[lane].stream.abandon();
                self.start_exchange(lane, Outgoing::Error(ids.0, ids.1, d));
            }
            #[cfg(feature = "std")]
            Action::StreamResponse { lane, invocation } => {
                let (exec, config): (&'a E, &'a Arc<Config>) = (self.exec, self.config);
                let l = &mut self.lanes[lane];
                let io = l.io.take().unwrap_or_default();
                l.stream
                    .start_writer(exec, &config.runtime_api, io, invocation);
            }
            #[cfg(feature = "std")]
            Action::EndStream { lane, error, .. } => {
                let l = &mut self.lanes[lane];
                if !matches!(error, None | Some(ErrorCause::Handler)) {
                    // Timed out or too large: nothing more of the handler is sent.
                    l.task = None;
                }
                let held = core::mem::take(&mut l.outbox);
                let diagnostic = match (error.map(Diagnostic::from_cause), held) {
                    (None, _) => None,
                    (Some(Some(d)), _) | (Some(None), Outbox::Error(d)) => Some(d),
                    (Some(None), _) => {
                        Some(Diagnostic::new(ErrorType::HANDLER_ERROR, "unknown failure"))
                    }
                };
                l.stream.end(diagnostic.as_ref());
                self.end_invocation(lane, error.is_some());
            }
            #[cfg(not(feature = "std"))]
            Action::StreamResponse { .. } | Action::EndStream { .. } => {
                log::error!("driver bug: {} without std", action.name());
            }
            Action::AbandonRequest { lane } => self.lanes[lane].answer.abandon(),
            Action::RegisterExtension => {
                // Settled before the first `/next`, as Lambda requires.
                #[cfg(feature = "std")]
                let registered = blocking::register_runtime_extension(&self.config.runtime_api);
                #[cfg(not(feature = "std"))]
                let registered = false;
                return Some(Fact::ExtensionSettled { registered });
            }
            Action::PostInitError { lane } => {
                let d = match core::mem::take(&mut self.lanes[lane].outbox) {
                    Outbox::Error(d) => d,
                    _ => Diagnostic::new(ErrorType::SETUP_ERROR, "setup failed"),
                };
                self.start_exchange(lane, Outgoing::InitError(d));
            }
            Action::RunSetup | Action::Wait { .. } | Action::Exit(_) => {
                log::error!("driver bug: {} dispatched", action.name());
            }
        }
        None
    }

    /// Starts the handler for `invocation` on `lane`, or gives the failure of an event that
    /// does not deserialise.
    fn start_handler(
        &mut self,
        lane: usize,
        invocation: &Invocation,
        timeout_at: Option<EpochMillis>,
        now: EpochMillis,
    ) -> Option<Fact> {
        let (config, handler): (&'a Arc<Config>, &'a H) = (self.config, self.handler);
        let id = invocation.request_id.clone();
        let l = &mut self.lanes[lane];
        let io = l.io.get_or_insert_with(Box::default);
        #[cfg(feature = "std")]
        let stream = l.stream.attach(&id);
        #[cfg(feature = "std")]
        let mut ctx = match io.next_fields() {
            Some(fields) => Context::from_fields(invocation, &fields, config.clone(), stream),
            None => {
                let mut ctx = Context::new(id.as_str(), config.clone());
                ctx.stream = stream;
                ctx
            }
        };
        #[cfg(not(feature = "std"))]
        let mut ctx = match io.next_fields() {
            Some(fields) => Context::from_fields(invocation, &fields, config.clone()),
            None => Context::new(id.as_str(), config.clone()),
        };
        ctx.timeout_at = timeout_at;
        // Lines about this invocation, a rejected event's included, name it.
        #[cfg(feature = "std")]
        crate::logger::InvocationIds::renew(
            &mut l.log_ids,
            &ctx.request_id,
            ctx.xray_trace_id.as_deref(),
            ctx.tenant_id.as_deref(),
        );
        #[cfg(feature = "std")]
        let _scope = l
            .log_ids
            .as_ref()
            .map(crate::logger::InvocationScope::enter);
        // The machine runs no handler after a failed setup.
        let shared = self
            .shared
            .ok_or_else(|| Diagnostic::new(ErrorType::SETUP_ERROR, "no setup"));
        let (shared, event) = match shared.and_then(|s| Ok((s, invoke::decode(&id, &io.event)?))) {
            Ok(started) => started,
            Err(diagnostic) => {
                l.outbox = Outbox::Error(diagnostic);
                let outcome = HandlerOutcome::Failed;
                return Some(Fact::HandlerDone { lane, id, outcome });
            }
        };
        if let Some(dog) = &self.watchdog {
            #[cfg(feature = "std")]
            let ids = l.log_ids.clone();
            #[cfg(not(feature = "std"))]
            let ids = None;
            dog.arm(lane, invocation, ids, timeout_at, now);
        }
        let event = LambdaEvent::new(event, config.region.as_str(), ctx);
        let out = core::mem::take(&mut l.spare_response);
        let run = invoke::run(handler, shared, event, id, out);
        l.task = Some(Task::Handler(Box::pin(run)));
        None
    }

    /// Claims the invocation on `lane` from the watchdog; a result it reported already is
    /// dropped.
    fn claim(&mut self, lane: usize, invocation: &Invocation) -> Fact {
        let outcome = match &self.watchdog {
            Some(dog) => dog.claim(lane),
            None => ClaimOutcome::Won,
        };
        if let ClaimOutcome::ReportedElsewhere { .. } = outcome {
            log::debug!(requestId = invocation.request_id.as_str(); "reported by the watchdog");
            self.end_invocation(lane, true);
            let l = &mut self.lanes[lane];
            #[cfg(feature = "std")]
            l.stream.abandon();
            if let Outbox::Response(bytes) = core::mem::take(&mut l.outbox) {
                l.spare_response = bytes;
            }
        }
        Fact::Claimed { lane, outcome }
    }

    /// The lane's invocation is being reported: as failed (its buffered log lines are written)
    /// or not (they are dropped).
    fn end_invocation(&self, lane: usize, failed: bool) {
        #[cfg(feature = "std")]
        if let Some(ids) = &self.lanes[lane].log_ids {
            crate::logger::end_invocation(ids, failed);
        }
        #[cfg(not(feature = "std"))]
        let _ = (lane, failed);
    }

    /// Starts sending `outgoing` on `lane`.
    ///
    /// This is the one place a handler's future is dropped: a lane whose handler still runs when
    /// the machine has it post is posting that handler's timeout, and the handler must never
    /// report.
    fn start_exchange(&mut self, lane: usize, outgoing: Outgoing) {
        let (exec, config): (&'a E, &'a Arc<Config>) = (self.exec, self.config);
        let l = &mut self.lanes[lane];
        if let Some(Task::Handler(timed_out)) = l.task.take() {
            drop(timed_out);
        }
        let mut io = l.io.take().unwrap_or_default();
        if io.answer.is_none() {
            io.answer = Some(l.answer.clone());
        }
        let exchange = exchange(exec, &config.runtime_api, io, outgoing);
        l.task = Some(Task::Exchange(Box::pin(exchange)));
    }

    /// Takes a finished task's result back into `lane` and says what happened.
    fn settle(&mut self, lane: usize, done: Done<E::Connection>) -> Fact {
        let l = &mut self.lanes[lane];
        match done {
            Done::Exchanged(Exchanged { io, sent, result }) => {
                l.io = Some(io);
                match result {
                    Ok(body_len) => {
                        if let Outgoing::Response(_, _, bytes) = sent {
                            l.spare_response = bytes;
                        }
                        Fact::Response { lane, body_len }
                    }
                    Err(ExchangeError::Truncated(e)) => {
                        // The head arrived: an invocation it delivered must still be reported.
                        log::warn!("Runtime API response cut off: {e}");
                        Fact::Truncated { lane }
                    }
                    Err(e) => {
                        log::warn!("Runtime API request failed: {e}");
                        // Kept for the retry the machine will ask for.
                        l.outbox = sent.into_outbox();
                        Fact::TransportFailed { lane }
                    }
                }
            }
            Done::AnswerStarted => Fact::AnswerStarted { lane },
            #[cfg(feature = "std")]
            Done::StreamStarted(id) => Fact::StreamStarted { lane, id },
            #[cfg(feature = "std")]
            Done::StreamOverLimit(len) => Fact::StreamOverLimit { lane, len },
            Done::Handled(Handled { id, result }) => {
                let outcome = match result {
                    Ok(bytes) => {
                        let len = bytes.len();
                        l.outbox = Outbox::Response(bytes);
                        HandlerOutcome::Ok { len }
                    }
                    Err(diagnostic) => {
                        // Logged inside the lane's scope: the logger names the invocation.
                        log_diagnostic(&id, &diagnostic);
                        l.outbox = Outbox::Error(diagnostic);
                        HandlerOutcome::Failed
                    }
                };
                Fact::HandlerDone { lane, id, outcome }
            }
        }
    }
}

/// A handler's error as a log line: the diagnostic as the message, and, in JSON, its
/// `errorType`, `errorMessage` and `stackTrace` as keys of their own.
fn log_diagnostic(id: &RequestId, d: &Diagnostic) {
    let stack_trace = d.stack_trace.join("\n");
    log::warn!(
        requestId = id.as_str(),
        errorType = d.error_type().as_str(),
        errorMessage = d.error_message.as_str(),
        stackTrace = stack_trace.as_str();
        "{d}"
    );
}

/// The lane's invocation, if it has one, as the current one for log lines (see
/// [`crate::logger`]).
#[cfg(feature = "std")]
fn scope<C>(
    machine: &Lifecycle<MAX_LANES>,
    lane: usize,
    l: &Lane<'_, C>,
) -> Option<crate::logger::InvocationScope> {
    machine.invocation(lane)?;
    l.log_ids
        .as_ref()
        .map(crate::logger::InvocationScope::enter)
}

#[cfg(feature = "std")]
use crate::watchdog::Watchdog;

/// Without `std` there is no watchdog: nothing outside the executor can report.
#[cfg(not(feature = "std"))]
struct Watchdog;

#[cfg(not(feature = "std"))]
impl Watchdog {
    fn new(_: &Config, _: usize, _: Option<ShutdownHook>) -> Option<Self> {
        None
    }
    fn arm(&self, _: usize, _: &Invocation, _: Option<()>, _: Option<EpochMillis>, _: EpochMillis) {
    }
    fn claim(&self, _: usize) -> ClaimOutcome {
        ClaimOutcome::Won
    }
}

/// Allocates and frees one 8 MiB block once. With glibc's malloc this raises its dynamic mmap
/// threshold to 8 MiB and its trim threshold to 16 MiB, so the heap is no longer given back to
/// the kernel (and faulted in again, page by page) after every invocation whose event or
/// response is over 128 KiB; with other allocators it costs one allocation at start-up.
#[cfg(feature = "std")]
fn raise_trim_threshold() {
    drop(core::hint::black_box(Vec::<u8>::with_capacity(8 << 20)));
}
