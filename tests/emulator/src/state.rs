//! The emulator's shared state: the invocation queue, dispatch to `/next`, completion, the
//! function process lifecycle, and the records. Everything here is synchronous and runs under
//! one mutex; the HTTP and process tasks call into it and never hold the lock across `.await`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::fault::{Fault, Target};
use crate::options::Options;
use crate::records::{
    Endpoint, InvokeResult, LogLine, LogStream, Outcome, ProcessExit, ResetReason, RuntimeCall,
};
use crate::util::{epoch_ms, invoke_error_body, request_id, trace_id};

/// Derived, immutable configuration.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) options: Options,
    pub(crate) addr: SocketAddr,
    /// `""` or `/a/b`.
    pub(crate) prefix: String,
    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub(crate) runtime_api: String,
    pub(crate) arn: String,
    pub(crate) log_stream: String,
    pub(crate) slots: usize,
}

/// Where the result of an invocation goes.
#[derive(Debug)]
pub(crate) enum Reply {
    Async(oneshot::Sender<InvokeResult>),
    Blocking(std::sync::mpsc::SyncSender<InvokeResult>),
}

impl Reply {
    fn send(self, result: InvokeResult) {
        match self {
            Reply::Async(tx) => drop(tx.send(result)),
            Reply::Blocking(tx) => drop(tx.send(result)),
        }
    }
}

/// An invocation as submitted through the Invoke API or the library.
#[derive(Debug, Default)]
pub(crate) struct Submission {
    pub(crate) payload: Bytes,
    pub(crate) client_context: Option<HeaderValue>,
    pub(crate) cognito_identity: Option<HeaderValue>,
    pub(crate) tenant_id: Option<HeaderValue>,
}

#[derive(Debug)]
struct Invocation {
    sub: Submission,
    trace_id: String,
    nonce: Option<String>,
    submitted: Instant,
    deadline_ms: u64,
    phase: Phase,
    reply: Option<Reply>,
    timer: Option<AbortHandle>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for a slot.
    Queued,
    /// Has a slot and a running timer, waiting for a `/next`.
    Ready,
    /// Delivered on `/next` to this process generation.
    Dispatched { generation: u64 },
}

/// What a `/next` call hands to the function.
#[derive(Debug)]
pub(crate) struct Dispatch {
    pub(crate) request_id: String,
    pub(crate) payload: Bytes,
    pub(crate) deadline_ms: u64,
    pub(crate) trace_id: String,
    pub(crate) nonce: Option<String>,
    pub(crate) client_context: Option<HeaderValue>,
    pub(crate) cognito_identity: Option<HeaderValue>,
    pub(crate) tenant_id: Option<HeaderValue>,
}

/// The answer to a waiting `/next` once something is available.
#[derive(Debug)]
pub(crate) enum NextOutcome {
    Event(Box<Dispatch>, Option<Fault>),
    Fault(Fault),
}

/// A command to the task that owns a function process.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ctl {
    /// `SIGTERM` to the process group, `SIGKILL` after the grace period.
    Terminate,
    /// Send this signal to the process.
    Signal(nix::sys::signal::Signal),
}

#[derive(Debug)]
pub(crate) struct Running {
    pub(crate) generation: u64,
    pub(crate) pid: u32,
    pub(crate) inited: bool,
    pub(crate) ctl: mpsc::UnboundedSender<Ctl>,
    pub(crate) reset: Option<ResetReason>,
}

#[derive(Debug)]
pub(crate) enum Proc {
    /// No process is managed; someone else runs the function.
    External {
        inited: bool,
    },
    /// No process; one is started when an invocation needs it.
    Stopped,
    Running(Running),
}

/// The mutable state.
#[derive(Debug)]
pub(crate) struct State {
    invocations: HashMap<String, Invocation>,
    queue: VecDeque<String>,
    ready: VecDeque<String>,
    active: usize,
    /// Ids the function already answered, with the `/next` count at that moment.
    responded: HashMap<String, u64>,
    responded_order: VecDeque<String>,
    /// Ids that timed out without a reset (concurrency mode): late answers get 410.
    timed_out: VecDeque<String>,
    next_calls: u64,
    pub(crate) process: Proc,
    pub(crate) starts: u64,
    /// An init error posted while no invocation was waiting, for the next one: the call's
    /// sequence number, the generation of the process that posted it, the body and its
    /// content type. It belongs to that process only: dropped once the process exits, a new
    /// one is started, or a `/next` shows that a (restarted) function finished init, so a
    /// fixed and restarted function's first invoke is answered by the new process.
    pub(crate) pending_init_error: Option<PendingInitError>,
    /// The generation whose process posted the last init error (for readiness reports).
    init_failed: Option<u64>,
    pub(crate) calls: Vec<RuntimeCall>,
    call_seq: u64,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) exits: Vec<ProcessExit>,
    faults: VecDeque<(Target, Fault)>,
    pub(crate) stopping: bool,
    /// While a Runtime API call is being handled: its sequence number. Invocations it ends
    /// are answered only once the call is recorded, so an invoker that gets its answer
    /// always finds the call that produced it in the records.
    deferring: Option<u64>,
    deferred: Vec<(u64, Reply, InvokeResult)>,
}

#[derive(Debug)]
pub(crate) struct PendingInitError {
    seq: u64,
    generation: u64,
    body: Bytes,
    content_type: String,
}

/// How many answered ids to remember for the 400-versus-403 distinction.
const RESPONDED_MEMORY: usize = 1000;

/// Everything the tasks and the [`crate::Emulator`] handle share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) rt: tokio::runtime::Handle,
    state: Mutex<State>,
    /// Woken whenever an invocation becomes ready for dispatch.
    pub(crate) dispatch: Notify,
}

impl Shared {
    pub(crate) fn new(config: Config, rt: tokio::runtime::Handle) -> Self {
        let process = if config.options.command.is_empty() {
            Proc::External { inited: false }
        } else {
            Proc::Stopped
        };
        Shared {
            config,
            rt,
            state: Mutex::new(State {
                invocations: HashMap::new(),
                queue: VecDeque::new(),
                ready: VecDeque::new(),
                active: 0,
                responded: HashMap::new(),
                responded_order: VecDeque::new(),
                timed_out: VecDeque::new(),
                next_calls: 0,
                process,
                starts: 0,
                pending_init_error: None,
                init_failed: None,
                calls: Vec::new(),
                call_seq: 0,
                logs: Vec::new(),
                exits: Vec::new(),
                faults: VecDeque::new(),
                stopping: false,
                deferring: None,
                deferred: Vec::new(),
            }),
            dispatch: Notify::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    // ----- invocations -------------------------------------------------------------------

    /// Queue an invocation; returns its request id. The result goes to `reply`.
    pub(crate) fn submit(self: &Arc<Self>, sub: Submission, reply: Reply) -> String {
        let id = request_id();
        let mut st = self.lock();
        let mut inv = Invocation {
            sub,
            trace_id: trace_id(epoch_ms()),
            nonce: self
                .config
                .options
                .invocation_id
                .then(crate::util::request_id),
            submitted: Instant::now(),
            deadline_ms: 0,
            phase: Phase::Queued,
            reply: Some(reply),
            timer: None,
        };
        if st.stopping {
            let result = self.result(
                &id,
                &inv,
                503,
                invoke_error_body("Emulator.Stopped", "The emulator is stopping"),
                Outcome::Stopped,
            );
            if let Some(reply) = inv.reply.take() {
                reply.send(result);
            }
            return id;
        }
        st.invocations.insert(id.clone(), inv);
        st.queue.push_back(id.clone());
        self.pump(&mut st);
        id
    }

    /// Give queued invocations free slots, start their timers, make sure a process runs.
    fn pump(self: &Arc<Self>, st: &mut State) {
        let mut woke = false;
        while st.active < self.config.slots {
            let Some(id) = st.queue.pop_front() else {
                break;
            };
            st.active += 1;
            let timeout = self.config.options.timeout;
            let Some(inv) = st.invocations.get_mut(&id) else {
                st.active = st.active.saturating_sub(1);
                continue;
            };
            inv.phase = Phase::Ready;
            inv.deadline_ms =
                epoch_ms().saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
            let shared = Arc::clone(self);
            let timer_id = id.clone();
            inv.timer = Some(
                self.rt
                    .spawn(async move {
                        tokio::time::sleep(timeout).await;
                        shared.on_timeout(&timer_id);
                    })
                    .abort_handle(),
            );
            if let Some(PendingInitError {
                seq,
                body,
                content_type,
                ..
            }) = st.pending_init_error.take()
            {
                // The error of an init that failed while nobody was waiting. As with every
                // post, the invoker hears of it once the `/init/error` call is on record.
                let recorded = st
                    .calls
                    .iter()
                    .any(|c| c.seq == seq && (c.status.is_some() || c.abandoned));
                let deferring = st.deferring;
                if !recorded {
                    st.deferring = Some(seq);
                }
                self.finish_init_error(st, &id, body.to_vec(), content_type);
                st.deferring = deferring;
                continue;
            }
            st.ready.push_back(id);
            woke = true;
        }
        if !st.ready.is_empty() {
            self.ensure_process(st);
        }
        if woke {
            self.dispatch.notify_waiters();
        }
    }

    /// End an invocation: stop its timer, free its slot, answer the invoker.
    fn finish(
        self: &Arc<Self>,
        st: &mut State,
        id: &str,
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
        outcome: Outcome,
    ) {
        let Some(mut inv) = st.invocations.remove(id) else {
            return;
        };
        if let Some(timer) = inv.timer.take() {
            timer.abort();
        }
        match inv.phase {
            Phase::Queued => st.queue.retain(|q| q != id),
            Phase::Ready => {
                st.ready.retain(|r| r != id);
                st.active = st.active.saturating_sub(1);
            }
            Phase::Dispatched { .. } => st.active = st.active.saturating_sub(1),
        }
        let mut result = self.result(id, &inv, status, body, outcome);
        if let Some(content_type) = content_type {
            result.content_type = content_type;
        }
        if self.config.options.log_invocations {
            eprintln!(
                "lambda-emulator: {id} {} in {:.1} ms",
                outcome_label(&result),
                result.duration.as_secs_f64() * 1000.0
            );
        }
        if let Some(reply) = inv.reply.take() {
            match st.deferring {
                Some(seq) => st.deferred.push((seq, reply, result)),
                None => reply.send(result),
            }
        }
    }

    fn result(
        &self,
        id: &str,
        inv: &Invocation,
        status: u16,
        body: Vec<u8>,
        outcome: Outcome,
    ) -> InvokeResult {
        InvokeResult {
            request_id: id.to_owned(),
            status,
            body,
            content_type: "application/json".to_owned(),
            function_error: (outcome != Outcome::Response && outcome != Outcome::Stopped)
                .then(|| "Unhandled".to_owned()),
            outcome,
            duration: inv.submitted.elapsed(),
        }
    }

    fn finish_init_error(
        self: &Arc<Self>,
        st: &mut State,
        id: &str,
        body: Vec<u8>,
        content_type: String,
    ) {
        self.finish(st, id, 502, body, Some(content_type), Outcome::InitError);
    }

    fn on_timeout(self: &Arc<Self>, id: &str) {
        let mut st = self.lock();
        let Some(inv) = st.invocations.get(id) else {
            return;
        };
        let phase = inv.phase;
        let message = format!(
            "Task timed out after {:.2} seconds",
            self.config.options.timeout.as_secs_f64()
        );
        self.finish(
            &mut st,
            id,
            200,
            invoke_error_body("Sandbox.Timedout", &message),
            None,
            Outcome::TimedOut,
        );
        match phase {
            // As the RIE-LMI: with concurrency the process keeps serving the other
            // invocations; a late answer for this one gets 410.
            Phase::Dispatched { .. } if self.config.options.concurrency.is_some() => {
                st.timed_out.push_back(id.to_owned());
                while st.timed_out.len() > RESPONDED_MEMORY {
                    st.timed_out.pop_front();
                }
            }
            // As the classic RIE: a timeout resets the sandbox (the process may also be
            // stuck in init, or not polling).
            Phase::Ready | Phase::Dispatched { .. } => self.reset(&mut st, ResetReason::Timeout),
            Phase::Queued => {}
        }
        self.pump(&mut st);
    }

    // ----- the Runtime API ---------------------------------------------------------------

    /// A `/next` arrived: count it, end the init phase, and return the generation it belongs
    /// to (only events for that generation may be delivered on it).
    pub(crate) fn next_arrived(&self) -> u64 {
        let mut st = self.lock();
        st.next_calls += 1;
        // Whoever calls `/next` got through init: an earlier init error is history.
        st.pending_init_error = None;
        match &mut st.process {
            Proc::External { inited } => {
                *inited = true;
                0
            }
            Proc::Running(running) => {
                running.inited = true;
                running.generation
            }
            // A straggler from a process that is gone.
            Proc::Stopped => u64::MAX,
        }
    }

    /// Hand the oldest ready invocation to a `/next` of generation `tag`, if allowed now.
    pub(crate) fn try_dispatch(&self, tag: u64) -> Option<NextOutcome> {
        let mut st = self.lock();
        let generation = match &st.process {
            Proc::External { .. } => 0,
            Proc::Running(running) if running.reset.is_none() => running.generation,
            _ => return None,
        };
        if generation != tag || st.stopping {
            return None;
        }
        let id = st.ready.front()?.clone();
        let fault = take_fault(&mut st.faults, Endpoint::Next);
        if let Some(fault @ Fault::Status(_)) = fault {
            return Some(NextOutcome::Fault(fault));
        }
        st.ready.pop_front();
        let inv = st.invocations.get_mut(&id)?;
        inv.phase = Phase::Dispatched { generation };
        Some(NextOutcome::Event(
            Box::new(Dispatch {
                request_id: id,
                payload: inv.sub.payload.clone(),
                deadline_ms: inv.deadline_ms,
                trace_id: inv.trace_id.clone(),
                nonce: inv.nonce.clone(),
                client_context: inv.sub.client_context.clone(),
                cognito_identity: inv.sub.cognito_identity.clone(),
                tenant_id: inv.sub.tenant_id.clone(),
            }),
            fault,
        ))
    }

    /// The next injected fault for a post to `endpoint`, if any.
    pub(crate) fn take_post_fault(&self, endpoint: Endpoint) -> Option<Fault> {
        take_fault(&mut self.lock().faults, endpoint)
    }

    /// May the function post a response or error for `id` now?
    pub(crate) fn check_post(&self, id: &str) -> Result<(), PostRejection> {
        check_post(&self.lock(), id, self.config.slots)
    }

    /// The function answered `id` (with a response, an error, or something unusable).
    pub(crate) fn complete(
        self: &Arc<Self>,
        seq: u64,
        id: &str,
        status: u16,
        body: Vec<u8>,
        content_type: Option<String>,
        outcome: Outcome,
    ) -> Result<(), PostRejection> {
        let mut st = self.lock();
        check_post(&st, id, self.config.slots)?;
        let next_calls = st.next_calls;
        st.responded.insert(id.to_owned(), next_calls);
        st.responded_order.push_back(id.to_owned());
        while st.responded_order.len() > RESPONDED_MEMORY {
            if let Some(old) = st.responded_order.pop_front() {
                st.responded.remove(&old);
            }
        }
        st.deferring = Some(seq);
        self.finish(&mut st, id, status, body, content_type, outcome);
        st.deferring = None;
        self.pump(&mut st);
        Ok(())
    }

    /// The function posted `/init/error`. `Err` means the call is out of order (403).
    pub(crate) fn init_error(
        self: &Arc<Self>,
        seq: u64,
        body: Vec<u8>,
        content_type: String,
    ) -> Result<(), PostRejection> {
        let mut st = self.lock();
        match &st.process {
            Proc::External { inited: true } => return Err(PostRejection::OutOfOrder),
            Proc::Running(running) if running.inited || running.reset.is_some() => {
                return Err(PostRejection::OutOfOrder);
            }
            Proc::Stopped => return Err(PostRejection::OutOfOrder),
            _ => {}
        }
        let generation = match &st.process {
            Proc::Running(running) => running.generation,
            _ => 0,
        };
        st.init_failed = Some(generation);
        let waiting: Vec<String> = st.ready.iter().cloned().collect();
        if waiting.is_empty() {
            st.pending_init_error = Some(PendingInitError {
                seq,
                generation,
                body: Bytes::from(body),
                content_type,
            });
        } else {
            st.deferring = Some(seq);
            for id in waiting {
                self.finish_init_error(&mut st, &id, body.clone(), content_type.clone());
            }
            st.deferring = None;
        }
        self.reset(&mut st, ResetReason::InitError);
        self.pump(&mut st);
        Ok(())
    }

    // ----- faults, records -------------------------------------------------------------

    pub(crate) fn inject(&self, target: Target, fault: Fault) {
        self.lock().faults.push_back((target, fault));
    }

    /// Allocate the sequence number and generation of a new Runtime API call.
    pub(crate) fn call_started(&self) -> (u64, u64) {
        let mut st = self.lock();
        let seq = st.call_seq;
        st.call_seq += 1;
        let generation = match &st.process {
            Proc::Running(running) => running.generation,
            Proc::External { .. } => 0,
            Proc::Stopped => st.starts,
        };
        (seq, generation)
    }

    /// Record a call as it arrives (no status yet).
    pub(crate) fn record_arrival(&self, call: RuntimeCall) {
        self.lock().calls.push(call);
    }

    /// Record how a call ended (replacing its arrival record), then answer the invocations
    /// it ended.
    pub(crate) fn record_call(&self, call: RuntimeCall) {
        let seq = call.seq;
        let mut st = self.lock();
        match st.calls.iter().rposition(|c| c.seq == seq) {
            Some(index) => st.calls[index] = call,
            None => st.calls.push(call),
        }
        let mut due = Vec::new();
        let mut index = 0;
        while index < st.deferred.len() {
            if st.deferred[index].0 == seq {
                due.push(st.deferred.swap_remove(index));
            } else {
                index += 1;
            }
        }
        drop(st);
        for (_, reply, result) in due {
            reply.send(result);
        }
    }

    pub(crate) fn record_log(&self, stream: LogStream, line: String, generation: u64) {
        if self.config.options.echo_logs {
            eprintln!("{line}");
        }
        self.lock().logs.push(LogLine {
            stream,
            line,
            at_ms: epoch_ms(),
            generation,
        });
    }

    // ----- process lifecycle -----------------------------------------------------------

    /// Start a process if invocations are waiting and none runs.
    fn ensure_process(self: &Arc<Self>, st: &mut State) {
        if !matches!(st.process, Proc::Stopped) || st.stopping {
            return;
        }
        if let Err(err) = self.spawn_process(st) {
            let message = format!("Couldn't start the function: {err}");
            let generation = st.starts;
            st.logs.push(LogLine {
                stream: LogStream::Stderr,
                line: format!("lambda-emulator: {message}"),
                at_ms: epoch_ms(),
                generation,
            });
            if self.config.options.echo_logs {
                eprintln!("lambda-emulator: {message}");
            }
            let waiting: Vec<String> = st.ready.iter().cloned().collect();
            for id in waiting {
                let body = invoke_error_body(
                    "Runtime.InvalidEntrypoint",
                    &format!("RequestId: {id} Error: {message}"),
                );
                self.finish(st, &id, 502, body, None, Outcome::ExitError);
            }
        }
    }

    /// Start the process now (used at start-up); errors if it cannot be spawned.
    pub(crate) fn start_process(self: &Arc<Self>) -> std::io::Result<()> {
        let mut st = self.lock();
        if matches!(st.process, Proc::Stopped) {
            self.spawn_process(&mut st)?;
        }
        Ok(())
    }

    /// Ask the current process to shut down (`SIGTERM`, then `SIGKILL` after the grace).
    fn reset(&self, st: &mut State, reason: ResetReason) {
        if let Proc::Running(running) = &mut st.process
            && running.reset.is_none()
        {
            running.reset = Some(reason);
            let _ = running.ctl.send(Ctl::Terminate);
        }
    }

    /// Send a signal to the current process.
    pub(crate) fn signal(&self, signal: nix::sys::signal::Signal) -> std::io::Result<()> {
        let st = self.lock();
        match &st.process {
            Proc::Running(running) => running
                .ctl
                .send(Ctl::Signal(signal))
                .map_err(|_| std::io::Error::other("the function process is gone")),
            _ => Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no function process is running",
            )),
        }
    }

    /// The process of `generation` has exited.
    pub(crate) fn on_exit(self: &Arc<Self>, exit: ProcessExit) {
        let mut st = self.lock();
        // `exit.reset` is the reason as of the exit: a reset asked for while the supervisor
        // collected the last output came too late to be the cause.
        let reset = exit.reset;
        let inited = match &st.process {
            Proc::Running(running) if running.generation == exit.generation => running.inited,
            _ => {
                st.exits.push(exit);
                return;
            }
        };
        st.process = Proc::Stopped;
        // Its init error answered nobody; the next invocation starts a new process (perhaps
        // a fixed one), and that process answers it.
        if st
            .pending_init_error
            .as_ref()
            .is_some_and(|pending| pending.generation == exit.generation)
        {
            st.pending_init_error = None;
        }
        let description = exit.describe();
        let generation = exit.generation;
        st.exits.push(exit);
        // Invocations the process had taken die with it; if it never finished init, the
        // invocations waiting for that init fail too (a crash loop must not spin forever).
        let mut doomed: Vec<String> = st
            .invocations
            .iter()
            .filter(|(_, inv)| inv.phase == Phase::Dispatched { generation })
            .map(|(id, _)| id.clone())
            .collect();
        if !inited && reset.is_none() {
            doomed.extend(st.ready.iter().cloned());
        }
        for id in doomed {
            let message = if reset == Some(ResetReason::Timeout) {
                format!(
                    "RequestId: {id} Error: Runtime was reset after another invocation timed out ({description})"
                )
            } else if description == "exit status 0" {
                format!("RequestId: {id} Error: Runtime exited without providing a reason")
            } else {
                format!("RequestId: {id} Error: Runtime exited with error: {description}")
            };
            let body = invoke_error_body("Runtime.ExitError", &message);
            self.finish(&mut st, &id, 502, body, None, Outcome::ExitError);
        }
        self.pump(&mut st);
        if !st.ready.is_empty() {
            self.ensure_process(&mut st);
        }
    }

    /// Refuse new work, fail everything pending and ask the process to stop.
    pub(crate) fn begin_stop(self: &Arc<Self>) {
        let mut st = self.lock();
        st.stopping = true;
        let ids: Vec<String> = st.invocations.keys().cloned().collect();
        for id in ids {
            let body = invoke_error_body("Emulator.Stopped", "The emulator was stopped");
            self.finish(&mut st, &id, 503, body, None, Outcome::Stopped);
        }
        st.pending_init_error = None;
        self.reset(&mut st, ResetReason::Stop);
    }

    /// True when no managed process is alive.
    pub(crate) fn process_gone(&self) -> bool {
        !matches!(self.lock().process, Proc::Running(_))
    }
}

/// Why a post for a request id is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PostRejection {
    /// 400 `InvalidRequestID`: unknown, stale, or not delivered.
    UnknownId,
    /// 403 `InvalidStateTransition`: already answered, no `/next` since.
    OutOfOrder,
    /// 410 `InvokeTimeout`: the invocation timed out (concurrency mode, as the RIE-LMI).
    TimedOut,
}

fn check_post(st: &State, id: &str, slots: usize) -> Result<(), PostRejection> {
    if let Some(inv) = st.invocations.get(id) {
        if let Phase::Dispatched { .. } = inv.phase {
            return Ok(());
        }
        return Err(PostRejection::UnknownId);
    }
    if st.timed_out.iter().any(|t| t == id) {
        return Err(PostRejection::TimedOut);
    }
    match st.responded.get(id) {
        // As the classic RIE: a second answer before the next `/next` is a bad state
        // transition; later it is just an id that is no longer current. With concurrency the
        // RIE-LMI answers 400 in both cases.
        Some(&at) if slots == 1 && at == st.next_calls => Err(PostRejection::OutOfOrder),
        _ => Err(PostRejection::UnknownId),
    }
}

/// `ok`, `timeout`, or the error type of the answer (from its body, else the outcome).
fn outcome_label(result: &InvokeResult) -> String {
    match result.outcome {
        Outcome::Response => "ok".to_owned(),
        Outcome::TimedOut => "timeout".to_owned(),
        outcome => result
            .error_type()
            .unwrap_or_else(|| format!("{outcome:?}")),
    }
}

fn take_fault(faults: &mut VecDeque<(Target, Fault)>, endpoint: Endpoint) -> Option<Fault> {
    let index = faults
        .iter()
        .position(|(target, fault)| target.matches(endpoint) && fault.applies_to(endpoint))?;
    faults.remove(index).map(|(_, fault)| fault)
}

/// How long to wait for a process to go away when stopping: grace plus slack.
pub(crate) fn stop_wait(grace: Duration) -> Duration {
    grace + Duration::from_secs(5)
}

impl Shared {
    /// `Some(Ok)` once the current process made its first `/next`, `Some(Err)` if it failed
    /// to initialize, `None` while it is still initializing.
    pub(crate) fn readiness(&self) -> Option<Result<(), String>> {
        let st = self.lock();
        if st.pending_init_error.is_some() {
            return Some(Err("the function reported an init error".to_owned()));
        }
        match &st.process {
            Proc::External { inited } => inited.then_some(Ok(())),
            Proc::Running(running) if running.reset.is_some() => {
                Some(Err("the function is being reset".to_owned()))
            }
            Proc::Running(running) => running.inited.then_some(Ok(())),
            Proc::Stopped => Some(Err(match st.exits.last() {
                Some(exit) if st.init_failed == Some(exit.generation) => format!(
                    "the function reported an init error and exited ({})",
                    exit.describe()
                ),
                Some(exit) => format!("the function exited during init ({})", exit.describe()),
                None => "the function is not running".to_owned(),
            })),
        }
    }
}
