//! The Runtime API side of the shared state: `/next` (the init gate, dispatch, `INVOKE` to
//! extensions, `platform.start`), the answers to an invocation, init errors, and the
//! telemetry of an invocation's end.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use serde_json::json;

use crate::extensions::round2;
use crate::fault::{Fault, Target};
use crate::records::{Endpoint, InvokeResult, Outcome, ResetReason};
use crate::state::{
    Dispatch, NextOutcome, PendingInitError, Phase, Proc, RESPONDED_MEMORY, Shared, State,
};
use crate::telemetry::{Class, start_record};

impl Shared {
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
        self.back_at_next(&mut st, tag);
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
        let own = st
            .invocations
            .get_mut(&id)
            .and_then(|inv| take_fault(&mut inv.sub.faults, Endpoint::Next));
        let fault = own.or_else(|| take_fault(&mut st.faults, Endpoint::Next));
        if let Some(fault @ (Fault::Status(_) | Fault::Hangup)) = fault {
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
    pub(crate) fn emit_done(
        &self,
        st: &mut State,
        id: &str,
        result: &InvokeResult,
        dispatched: Instant,
    ) {
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
            "billedDurationMs": ms.ceil() as u64,
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

    /// The next injected fault for a post to `endpoint` (for invocation `id`), if any: the
    /// invocation's own first, then the emulator-wide ones.
    pub(crate) fn take_post_fault(&self, endpoint: Endpoint, id: Option<&str>) -> Option<Fault> {
        let mut st = self.lock();
        let own = id
            .and_then(|id| st.invocations.get_mut(id))
            .and_then(|inv| take_fault(&mut inv.sub.faults, endpoint));
        own.or_else(|| take_fault(&mut st.faults, endpoint))
    }

    /// May the function post a response or error for `id` now?
    pub(crate) fn check_post(&self, id: &str) -> Result<(), PostRejection> {
        check_post(&self.lock(), id, self.config.slots, None)
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
        check_post(&st, id, self.config.slots, Some(seq))?;
        let answered = st
            .invocations
            .get(id)
            .map(|inv| (inv.phase, inv.deadline_ms));
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
        if let Some((Phase::Dispatched { generation }, deadline_ms)) = answered {
            self.await_next(&mut st, generation, deadline_ms);
        }
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

/// May call `seq` (`None`: a call not yet known) answer `id` now? While a response is being
/// streamed, only that call may.
pub(crate) fn check_post(
    st: &State,
    id: &str,
    slots: usize,
    seq: Option<u64>,
) -> Result<(), PostRejection> {
    if let Some(inv) = st.invocations.get(id) {
        if let Phase::Dispatched { .. } = inv.phase {
            if inv.stream_seq.is_some() && inv.stream_seq != seq {
                return Err(PostRejection::OutOfOrder);
            }
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

pub(crate) fn take_fault(
    faults: &mut VecDeque<(Target, Fault)>,
    endpoint: Endpoint,
) -> Option<Fault> {
    let index = faults
        .iter()
        .position(|(target, fault)| target.matches(endpoint) && fault.applies_to(endpoint))?;
    faults.remove(index).map(|(_, fault)| fault)
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
