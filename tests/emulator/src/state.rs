//! The emulator's shared state: the invocation queue, timers and completion, and the records.
//! Everything here is synchronous and runs under one mutex; the HTTP and process tasks call
//! into it and never hold the lock across `.await`. The Runtime API side is in `runtime.rs`,
//! the process lifecycle in `lifecycle.rs`, the extensions' sandbox in `extensions.rs`.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use bytes::Bytes;
use hyper::header::HeaderValue;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::task::AbortHandle;

use crate::extensions::Sandbox;
use crate::fault::{Fault, Target};
use crate::options::Options;
use crate::records::{
    ExtensionExit, InvokeResult, LogLine, LogStream, Outcome, ProcessExit, ResetReason,
    RuntimeCall, ShutdownStep, TelemetryDelivery,
};
use crate::telemetry::{Class, line_record};
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
    /// Where the pieces of a streamed answer go, for an invoker that reads streams.
    pub(crate) stream: Option<mpsc::Sender<crate::streaming::Piece>>,
    /// Faults for the calls about this invocation ([`crate::Invoke::fault`]).
    pub(crate) faults: VecDeque<(Target, Fault)>,
}

#[derive(Debug)]
pub(crate) struct Invocation {
    pub(crate) sub: Submission,
    pub(crate) trace_id: String,
    pub(crate) nonce: Option<String>,
    pub(crate) submitted: Instant,
    pub(crate) deadline_ms: u64,
    pub(crate) phase: Phase,
    pub(crate) reply: Option<Reply>,
    pub(crate) timer: Option<AbortHandle>,
    /// When it was delivered on `/next`.
    pub(crate) dispatched: Option<Instant>,
    /// The streamed `/response` call in progress for it, if any.
    pub(crate) stream_seq: Option<u64>,
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
    pub(crate) queue: VecDeque<String>,
    pub(crate) ready: VecDeque<String>,
    pub(crate) active: usize,
    /// Ids the function already answered, with the `/next` count at that moment.
    pub(crate) responded: HashMap<String, u64>,
    pub(crate) responded_order: VecDeque<String>,
    /// Ids that timed out without a reset (concurrency mode): late answers get 410.
    pub(crate) timed_out: VecDeque<String>,
    pub(crate) next_calls: u64,
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
    pub(crate) call_seq: u64,
    pub(crate) logs: Vec<LogLine>,
    pub(crate) exits: Vec<ProcessExit>,
    pub(crate) faults: VecDeque<(Target, Fault)>,
    pub(crate) stopping: bool,
    /// While a Runtime API call is being handled: its sequence number. Invocations it ends
    /// are answered only once the call is recorded, so an invoker that gets its answer
    /// always finds the call that produced it in the records.
    pub(crate) deferring: Option<u64>,
    pub(crate) deferred: Vec<(u64, Reply, InvokeResult)>,
    /// The extensions of the current sandbox.
    pub(crate) sandbox: Sandbox,
    pub(crate) ext_exits: Vec<ExtensionExit>,
    pub(crate) shutdown_steps: Vec<ShutdownStep>,
    pub(crate) telemetry: Vec<TelemetryDelivery>,
    /// Shutdown tasks not finished yet.
    pub(crate) shutdowns_running: usize,
    /// The process that answered the last invocation, until it is back at `/next` (or reset
    /// at that invocation's deadline).
    pub(crate) awaiting_next: Option<AwaitingNext>,
}

/// A process that answered an invocation and has not asked for the next one yet.
#[derive(Debug)]
pub(crate) struct AwaitingNext {
    pub(crate) generation: u64,
    /// Resets the process at the invocation's deadline.
    pub(crate) timer: AbortHandle,
}

#[derive(Debug)]
pub(crate) struct PendingInitError {
    /// The call that posted it (none for an extension that crashed).
    pub(crate) seq: Option<u64>,
    pub(crate) generation: u64,
    pub(crate) body: Bytes,
    pub(crate) content_type: String,
}

/// How many answered ids to remember for the 400-versus-403 distinction.
pub(crate) const RESPONDED_MEMORY: usize = 1000;

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
                awaiting_next: None,
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
            stream_seq: None,
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

    pub(crate) fn finish_init_error(
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
        self.time_out(&mut st, id);
    }

    /// [`Fault::Expire`]: time `id` out now, as its timer would, for the call `seq` (whose
    /// record the invoker's answer waits for).
    pub(crate) fn expire(self: &Arc<Self>, seq: u64, id: &str) {
        let mut st = self.lock();
        let deferring = st.deferring.replace(seq);
        self.time_out(&mut st, id);
        st.deferring = deferring;
    }

    fn time_out(self: &Arc<Self>, st: &mut State, id: &str) {
        let Some(inv) = st.invocations.get(id) else {
            return;
        };
        let phase = inv.phase;
        let message = format!(
            "Task timed out after {:.2} seconds",
            self.config.options.timeout.as_secs_f64()
        );
        self.finish(
            st,
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
            Phase::Ready | Phase::Dispatched { .. } => self.reset(st, ResetReason::Timeout),
            Phase::Queued => {}
        }
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
        let mut st = self.lock();
        let generation = st.sandbox.generation;
        self.note_locked(&mut st, generation, line);
    }

    /// [`Self::note`] with the state already locked, about the process of `generation`.
    pub(crate) fn note_locked(&self, st: &mut State, generation: u64, line: String) {
        if self.config.options.echo_logs {
            eprintln!("{line}");
        }
        st.logs.push(LogLine {
            stream: LogStream::Stderr,
            line,
            at_ms: epoch_ms(),
            generation,
            extension: None,
        });
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
