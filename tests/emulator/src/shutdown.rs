//! A shutdown as Lambda does it, for a reset or the emulator stopping: with no extension
//! registered the runtime is killed at once; otherwise it gets `SIGTERM` and its share of the
//! budget, then `SIGKILL`; then the telemetry is flushed, the external extensions subscribed
//! to `SHUTDOWN` get it with the rest of the budget as their deadline, and what remains at the
//! deadline is killed. Every step is recorded ([`crate::Emulator::shutdown_steps`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde_json::json;

use crate::extensions::ExtEvent;
use crate::records::{ShutdownAction, ShutdownStep};
use crate::state::{Ctl, Proc, Shared, State};
use crate::util::epoch_ms;

/// How long to wait for a killed process to be reaped.
const REAP_WAIT: Duration = Duration::from_secs(10);

/// The runtime's share of the shutdown with an internal extension registered.
const SHARE_WITH_INTERNAL: Duration = Duration::from_millis(500);
/// The runtime's share of the shutdown with only external extensions.
const SHARE_EXTERNAL_ONLY: Duration = Duration::from_millis(300);

/// Poll `condition` every few milliseconds until it holds (true) or `limit` passes (false).
async fn wait_for(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit.min(Duration::from_secs(365 * 86_400));
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= end {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn runtime_alive(st: &State, generation: u64) -> bool {
    matches!(&st.process, Proc::Running(r) if r.generation == generation && !r.exited)
}

impl Shared {
    fn step(&self, st: &mut State, generation: u64, action: ShutdownAction) {
        st.shutdown_steps.push(ShutdownStep {
            generation,
            at_ms: epoch_ms(),
            action,
        });
    }

    /// Send `signal` to the runtime's process group and record it.
    fn signal_runtime(&self, generation: u64, signal: Signal) {
        let mut st = self.lock();
        if let Proc::Running(running) = &st.process
            && running.generation == generation
            && !running.exited
        {
            let _ = running.ctl.send(Ctl::Group(signal));
            let action = if signal == Signal::SIGKILL {
                ShutdownAction::RuntimeSigkill
            } else {
                ShutdownAction::RuntimeSigterm
            };
            self.step(&mut st, generation, action);
        }
    }

    /// `SIGKILL` the process group of every launched extension still alive for which `pick`
    /// holds.
    fn kill_extensions(
        &self,
        st: &mut State,
        generation: u64,
        pick: impl Fn(&State, &str) -> bool,
    ) {
        let targets: Vec<(String, u32)> = st
            .sandbox
            .launched
            .iter()
            .filter(|l| l.alive && !l.sigkilled)
            .map(|l| (l.name.clone(), l.pid))
            .filter(|(name, _)| pick(st, name))
            .collect();
        for (name, pid) in targets {
            if let Ok(pid) = i32::try_from(pid)
                && pid > 0
            {
                let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
            }
            if let Some(l) = st.sandbox.launched.iter_mut().find(|l| l.name == name) {
                l.sigkilled = true;
            }
            self.step(
                st,
                generation,
                ShutdownAction::ExtensionSigkill { extension: name },
            );
        }
    }
}

/// Whether the extension `name` was sent `SHUTDOWN` and is not done with it yet.
fn shutdown_pending(st: &State, name: &str) -> bool {
    st.sandbox
        .extensions
        .iter()
        .any(|e| e.name == name && e.shutdown_sent && !e.shutdown_done)
}

/// Run the shutdown of the sandbox of `generation`.
pub(crate) async fn run(shared: Arc<Shared>, generation: u64, reason: &'static str) {
    let o = &shared.config.options;
    let start = Instant::now();
    let (internal, external) = {
        let mut st = shared.lock();
        let internal = st.sandbox.extensions.iter().filter(|e| !e.external).count();
        let external = st.sandbox.extensions.len() - internal;
        let begin = ShutdownAction::Begin {
            reason: reason.to_owned(),
            internal,
            external,
        };
        shared.step(&mut st, generation, begin);
        (internal, external)
    };
    let registered = internal + external > 0;
    if runtime_alive(&shared.lock(), generation) {
        let gone = || !runtime_alive(&shared.lock(), generation);
        if registered || o.sigterm_without_extensions {
            let share = match (registered, o.runtime_shutdown_share) {
                (false, _) => o.shutdown_grace,
                (true, Some(share)) => share,
                (true, None) if internal > 0 => SHARE_WITH_INTERNAL,
                (true, None) => SHARE_EXTERNAL_ONLY,
            };
            shared.signal_runtime(generation, Signal::SIGTERM);
            if !wait_for(share, gone).await {
                shared.signal_runtime(generation, Signal::SIGKILL);
            }
        } else {
            shared.signal_runtime(generation, Signal::SIGKILL);
        }
        wait_for(REAP_WAIT, gone).await;
        let mut st = shared.lock();
        shared.step(&mut st, generation, ShutdownAction::RuntimeGone);
    }
    let far = Duration::from_secs(86_400);
    let deadline = start
        .checked_add(o.shutdown_grace.min(far))
        .unwrap_or(start);
    let remaining = || deadline.saturating_duration_since(Instant::now());
    // Telemetry first, so the subscribers have everything before their SHUTDOWN.
    shared
        .flush_telemetry(remaining().max(Duration::from_millis(100)))
        .await;
    {
        let mut st = shared.lock();
        let deadline_ms =
            epoch_ms().saturating_add(u64::try_from(remaining().as_millis()).unwrap_or(0));
        let body = serde_json::to_vec(&json!({
            "eventType": "SHUTDOWN",
            "shutdownReason": reason,
            "deadlineMs": deadline_ms,
        }))
        .unwrap_or_default();
        let mut sent = Vec::new();
        let alive: Vec<String> = st
            .sandbox
            .launched
            .iter()
            .filter(|l| l.alive)
            .map(|l| l.name.clone())
            .collect();
        for ext in &mut st.sandbox.extensions {
            let subscribed = ext.events.iter().any(|e| e == "SHUTDOWN");
            if ext.external && subscribed && ext.error_type.is_none() && alive.contains(&ext.name) {
                ext.queue.push_back(ExtEvent {
                    body: body.clone(),
                    request_id: None,
                });
                ext.shutdown_sent = true;
                sent.push(ext.name.clone());
            }
        }
        for name in &sent {
            let action = ShutdownAction::ShutdownEvent {
                extension: name.clone(),
                deadline_ms,
            };
            shared.step(&mut st, generation, action);
        }
        // The others (not subscribed, never registered, failed) go at once.
        shared.kill_extensions(&mut st, generation, |_, name| {
            !sent.iter().any(|s| s == name)
        });
    }
    shared.ext_events.notify_waiters();
    let alive_pending = || {
        let st = shared.lock();
        !st.sandbox
            .launched
            .iter()
            .any(|l| l.alive && shutdown_pending(&st, &l.name))
    };
    wait_for(remaining(), alive_pending).await;
    {
        let mut st = shared.lock();
        shared.kill_extensions(&mut st, generation, |_, _| true);
    }
    let all_gone = || !shared.lock().sandbox.launched.iter().any(|l| l.alive);
    wait_for(REAP_WAIT, all_gone).await;
    let mut st = shared.lock();
    shared.step(&mut st, generation, ShutdownAction::End);
    st.shutdowns_running = st.shutdowns_running.saturating_sub(1);
    let exited = match &st.process {
        Proc::Running(running) => running.generation == generation && running.exited,
        _ => true,
    };
    if exited {
        shared.sandbox_gone(&mut st);
    } else {
        // Not reaped (yet): its exit ends it as one without extensions.
        st.sandbox = crate::extensions::Sandbox::new(generation, false);
    }
}
