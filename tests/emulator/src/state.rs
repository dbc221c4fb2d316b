//! The emulator's shared state: the invocation queue, dispatch to `/next`, completion, the
//! function process lifecycle, and the records. Everything here is synchronous and runs under
//! one mutex; the HTTP and process tasks call into it and never hold the lock across `.await`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::AbortHandle;

use serde_json::json;

use crate::extensions::{Sandbox, round2};
use crate::fault::{Fault, Target};
use crate::options::Options;
use crate::records::{
    Endpoint, ExtensionExit, InvokeResult, LogLine, LogStream, Outcome, ProcessExit, ResetReason,
    RuntimeCall, ShutdownStep, TelemetryDelivery,
};
use crate::telemetry::{Class, line_record, start_record};
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
pub(crate) struct Invocation {
    sub: Submission,
    trace_id: String,
    nonce: Option<String>,
    submitted: Instant,
    deadline_ms: u64,
    pub(crate) phase: Phase,
    reply: Option<Reply>,
    timer: Option<AbortHandle>,
    /// When it was delivered on `/next`.
    dispatched: Option<Instant>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
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
    /// Send this signal to the process group (a shutdown step).
    Group(nix::sys::signal::Signal),
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
    /// The process exited; its sandbox is still being shut down.
    pub(crate) exited: bool,
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
    pub(crate) invocations: HashMap<String, Invocation>,
    queue: VecDeque<String>,
    pub(crate) ready: VecDeque<String>,
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
    pub(crate) init_failed: Option<u64>,
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
    /// The extensions of the current sandbox.
    pub(crate) sandbox: Sandbox,
    pub(crate) ext_exits: Vec<ExtensionExit>,
    pub(crate) shutdown_steps: Vec<ShutdownStep>,
    pub(crate) telemetry: Vec<TelemetryDelivery>,
    /// Shutdown tasks not finished yet.
    pub(crate) shutdowns_running: usize,
}

#[derive(Debug)]
pub(crate) struct PendingInitError {
    /// The call that posted it (none for an extension that crashed).
    seq: Option<u64>,
    pub(crate) generation: u64,
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
    /// Woken whenever an invocation becomes ready for dispatch (or the init gate may open).
    pub(crate) dispatch: Notify,
    /// Woken whenever an event is queued for an extension.
    pub(crate) ext_events: Notify,
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
                sandbox: Sandbox::new(0, true),
                ext_exits: Vec::new(),
                shutdown_steps: Vec::new(),
                telemetry: Vec::new(),
                shutdowns_running: 0,
            }),
            dispatch: Notify::new(),
            ext_events: Notify::new(),
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
            dispatched: None,
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
    pub(crate) fn pump(self: &Arc<Self>, st: &mut State) {
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
                let recorded = seq.is_none_or(|seq| {
                    st.calls
                        .iter()
                        .any(|c| c.seq == seq && (c.status.is_some() || c.abandoned))
                });
                let deferring = st.deferring;
                if !recorded {
                    st.deferring = seq;
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
    pub(crate) fn finish(
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
        if let (Phase::Dispatched { .. }, Some(at)) = (inv.phase, inv.dispatched) {
            self.emit_done(st, id, &result, at);
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
        let tag = match &mut st.process {
            Proc::External { inited } => {
                *inited = true;
                0
            }
            Proc::Running(running) => {
                running.inited = true;
                running.generation
            }
            // A straggler from a process that is gone.
            Proc::Stopped => return u64::MAX,
        };
        // The runtime's first `/next` closes registration and ends the runtime's init.
        if st.sandbox.generation == tag && !st.sandbox.runtime_ready {
            st.sandbox.runtime_ready = true;
            st.sandbox.registration_open = false;
            let record = json!({
                "initializationType": self.initialization_type(),
                "phase": "init",
                "status": "success",
            });
            st.sandbox
                .emit(Class::Platform, "platform.initRuntimeDone", record);
        }
        self.check_init_complete(&mut st);
        tag
    }

    /// Hand the oldest ready invocation to a `/next` of generation `tag`, if allowed now.
    pub(crate) fn try_dispatch(&self, tag: u64) -> Option<NextOutcome> {
        let mut st = self.lock();
        let generation = match &st.process {
            Proc::External { .. } => 0,
            Proc::Running(running) if running.reset.is_none() => running.generation,
            _ => return None,
        };
        if generation != tag || st.stopping || !st.sandbox.init_complete {
            return None;
        }
        // As Lambda: the next invocation waits until the extensions are done with the last.
        if self.config.slots == 1 && st.sandbox.invoke_busy() {
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
        inv.dispatched = Some(Instant::now());
        let invoke = json!({
            "eventType": "INVOKE",
            "deadlineMs": inv.deadline_ms,
            "requestId": id,
            "invokedFunctionArn": self.config.arn,
            "tracing": { "type": "X-Amzn-Trace-Id", "value": inv.trace_id },
        });
        let tenant = inv
            .sub
            .tenant_id
            .as_ref()
            .and_then(|t| t.to_str().ok())
            .map(ToOwned::to_owned);
        let inv = st.invocations.get(&id)?;
        let dispatch = Dispatch {
            request_id: id.clone(),
            payload: inv.sub.payload.clone(),
            deadline_ms: inv.deadline_ms,
            trace_id: inv.trace_id.clone(),
            nonce: inv.nonce.clone(),
            client_context: inv.sub.client_context.clone(),
            cognito_identity: inv.sub.cognito_identity.clone(),
            tenant_id: inv.sub.tenant_id.clone(),
        };
        let start = start_record(&id, &self.config.options.version, tenant.as_deref());
        st.sandbox.emit(Class::Platform, "platform.start", start);
        if st.sandbox.queue_invoke(&invoke, &id) {
            self.ext_events.notify_waiters();
        }
        Some(NextOutcome::Event(Box::new(dispatch), fault))
    }

    /// `platform.runtimeDone` and `platform.report` for an invocation that was delivered.
    fn emit_done(&self, st: &mut State, id: &str, result: &InvokeResult, dispatched: Instant) {
        let (status, error_type) = match result.outcome {
            Outcome::Response => ("success", None),
            Outcome::FunctionError => ("error", result.error_type()),
            Outcome::TimedOut => ("timeout", Some("Sandbox.Timedout".to_owned())),
            _ => (
                "failure",
                result
                    .error_type()
                    .or_else(|| Some("Runtime.ExitError".to_owned())),
            ),
        };
        let ms = round2(dispatched.elapsed().as_secs_f64() * 1000.0);
        let mut done = json!({
            "requestId": id,
            "status": status,
            "metrics": { "durationMs": ms, "producedBytes": result.body.len() },
        });
        let max_memory = match &st.process {
            Proc::Running(running) => max_memory_mb(running.pid),
            _ => 0,
        };
        let mut metrics = json!({
            "durationMs": ms,
            "billedDurationMs": ms.ceil(),
            "memorySizeMB": self.config.options.memory_mb,
            "maxMemoryUsedMB": max_memory,
        });
        if let Some(init) = st.sandbox.init_duration_ms.take() {
            metrics["initDurationMs"] = json!(round2(init));
        }
        let mut report = json!({ "requestId": id, "status": status, "metrics": metrics });
        if let Some(error_type) = error_type {
            done["errorType"] = json!(error_type);
            report["errorType"] = json!(error_type);
        }
        st.sandbox
            .emit(Class::Platform, "platform.runtimeDone", done);
        st.sandbox.emit(Class::Platform, "platform.report", report);
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
        let record = json!({
            "initializationType": self.initialization_type(),
            "phase": "init",
            "status": "error",
        });
        st.sandbox
            .emit(Class::Platform, "platform.initRuntimeDone", record);
        self.fail_init(&mut st, Some(seq), body, content_type);
        Ok(())
    }

    /// Init failed (the runtime's or an extension's init error, or an extension crash): the
    /// waiting invocations get `body` (or the next one does), and the sandbox is reset.
    pub(crate) fn fail_init(
        self: &Arc<Self>,
        st: &mut State,
        seq: Option<u64>,
        body: Vec<u8>,
        content_type: String,
    ) {
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
            st.deferring = seq;
            for id in waiting {
                self.finish_init_error(st, &id, body.clone(), content_type.clone());
            }
            st.deferring = None;
        }
        self.reset(st, ResetReason::InitError);
        self.pump(st);
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

    /// A line from the function or (with its name) an external extension.
    pub(crate) fn record_log(
        &self,
        stream: LogStream,
        line: String,
        generation: u64,
        extension: Option<String>,
    ) {
        if self.config.options.echo_logs {
            eprintln!("{line}");
        }
        let mut st = self.lock();
        if st.sandbox.generation == generation {
            let class = match extension {
                Some(_) => Class::Extension,
                None => Class::Function,
            };
            let kind = match class {
                Class::Extension => "extension",
                _ => "function",
            };
            st.sandbox.emit(class, kind, line_record(&line));
        }
        st.logs.push(LogLine {
            stream,
            line,
            at_ms: epoch_ms(),
            generation,
            extension,
        });
    }

    /// A note of the emulator's own, among the logs (and echoed with them).
    pub(crate) fn note(&self, line: String) {
        if self.config.options.echo_logs {
            eprintln!("{line}");
        }
        let mut st = self.lock();
        let generation = st.sandbox.generation;
        st.logs.push(LogLine {
            stream: LogStream::Stderr,
            line,
            at_ms: epoch_ms(),
            generation,
            extension: None,
        });
    }
}

/// The peak resident memory of `pid` in MB (`VmHWM`), 0 if unknown.
fn max_memory_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb.div_ceil(1024))
        })
        .unwrap_or(0)
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
