//! The function process lifecycle: starting it when invocations need it, resetting and
//! stopping it (the shutdown sequence itself is in `shutdown.rs`), its exit, and readiness.

use std::sync::Arc;
use std::time::Duration;

use crate::extensions::Sandbox;
use crate::records::{LogLine, LogStream, Outcome, ProcessExit, ResetReason};
use crate::state::{AwaitingNext, Ctl, Phase, Proc, Shared, State};
use crate::util::{epoch_ms, invoke_error_body};

/// The `shutdownReason` extensions get for a reset.
fn reason_text(reason: ResetReason) -> &'static str {
    match reason {
        ResetReason::Timeout => "timeout",
        ResetReason::Stop => "spindown",
        ResetReason::InitError | ResetReason::ExtensionExit => "failure",
    }
}

impl Shared {
    /// Start a process if invocations are waiting and none runs.
    pub(crate) fn ensure_process(self: &Arc<Self>, st: &mut State) {
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
                extension: None,
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

    /// Start the process now (used at start-up); errors if it cannot be spawned. Without a
    /// command, only the extensions are started.
    pub(crate) fn start_process(self: &Arc<Self>) -> std::io::Result<()> {
        let mut st = self.lock();
        match st.process {
            Proc::Stopped => self.spawn_process(&mut st)?,
            Proc::External { .. } => {
                st.sandbox = Sandbox::new(0, true);
                self.emit_init_start(&mut st);
                self.launch_extensions(&mut st, 0)?;
            }
            Proc::Running(_) => {}
        }
        Ok(())
    }

    /// Shut the current process (and its sandbox) down, for `reason`.
    pub(crate) fn reset(self: &Arc<Self>, st: &mut State, reason: ResetReason) {
        if let Proc::Running(running) = &mut st.process
            && running.reset.is_none()
        {
            running.reset = Some(reason);
            if !st.sandbox.shutting_down {
                self.begin_shutdown(st, reason_text(reason));
            }
        }
    }

    /// The process of `generation` answered an invocation due at `deadline_ms`. As in Lambda,
    /// the invocation's timeout runs until the runtime asks for the next one: a process not back
    /// at `/next` by the deadline (its handler still blocking its thread after the watchdog
    /// reported it, say) is reset then, and the next invocation starts a new one. With
    /// [`crate::Options::concurrency`], as in the RIE-LMI, the process is kept.
    pub(crate) fn await_next(self: &Arc<Self>, st: &mut State, generation: u64, deadline_ms: u64) {
        if self.config.options.concurrency.is_some() || !self.is_current(st, generation) {
            return;
        }
        let wait = Duration::from_millis(deadline_ms.saturating_sub(epoch_ms()));
        let shared = Arc::clone(self);
        let timer = self
            .rt
            .spawn(async move {
                tokio::time::sleep(wait).await;
                shared.overdue(generation);
            })
            .abort_handle();
        if let Some(earlier) = st.awaiting_next.replace(AwaitingNext { generation, timer }) {
            earlier.timer.abort();
        }
    }

    /// A `/next` of process `generation` arrived: it is back in time.
    pub(crate) fn back_at_next(&self, st: &mut State, generation: u64) {
        if st
            .awaiting_next
            .as_ref()
            .is_some_and(|awaiting| awaiting.generation == generation)
            && let Some(awaiting) = st.awaiting_next.take()
        {
            awaiting.timer.abort();
        }
    }

    /// The deadline of the invocation that process `generation` answered passed, and it has
    /// not asked for the next one: reset it.
    fn overdue(self: &Arc<Self>, generation: u64) {
        let mut st = self.lock();
        if st
            .awaiting_next
            .as_ref()
            .is_none_or(|awaiting| awaiting.generation != generation)
        {
            return;
        }
        st.awaiting_next = None;
        if !self.is_current(&st, generation) {
            return;
        }
        let line = "lambda-emulator: the function was not back at /next by the deadline of the \
                    invocation it answered: resetting it"
            .to_owned();
        self.note_locked(&mut st, generation, line);
        self.reset(&mut st, ResetReason::Timeout);
    }

    /// Whether `generation` is the running process, not being reset and not exited.
    fn is_current(&self, st: &State, generation: u64) -> bool {
        matches!(&st.process, Proc::Running(running)
            if running.generation == generation && running.reset.is_none() && !running.exited)
    }

    /// Hand the sandbox to a shutdown task.
    fn begin_shutdown(self: &Arc<Self>, st: &mut State, reason: &'static str) {
        st.sandbox.shutting_down = true;
        st.shutdowns_running += 1;
        let generation = st.sandbox.generation;
        self.rt
            .spawn(crate::shutdown::run(Arc::clone(self), generation, reason));
    }

    /// Send a signal to the current process.
    pub(crate) fn signal(&self, signal: nix::sys::signal::Signal) -> std::io::Result<()> {
        let st = self.lock();
        match &st.process {
            Proc::Running(running) if !running.exited => running
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
        let inited = match &mut st.process {
            Proc::Running(running) if running.generation == exit.generation && !running.exited => {
                running.exited = true;
                running.inited
            }
            _ => {
                st.exits.push(exit);
                return;
            }
        };
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
        if st.sandbox.shutting_down {
            // The shutdown task ends the sandbox once the extensions are done too.
        } else if st.sandbox.generation == generation && st.sandbox.has_extensions() {
            // A crash with extensions: they get SHUTDOWN (reason failure) first.
            self.begin_shutdown(&mut st, "failure");
        } else {
            self.sandbox_gone(&mut st);
        }
    }

    /// The sandbox of the current process is gone: no process runs; start one if
    /// invocations wait.
    pub(crate) fn sandbox_gone(self: &Arc<Self>, st: &mut State) {
        if matches!(st.process, Proc::Running(_)) {
            st.process = Proc::Stopped;
        }
        st.sandbox = Sandbox::new(st.sandbox.generation, false);
        self.pump(st);
        if !st.ready.is_empty() {
            self.ensure_process(st);
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
        if matches!(st.process, Proc::Running(_)) {
            self.reset(&mut st, ResetReason::Stop);
        } else if st.sandbox.has_extensions() && !st.sandbox.shutting_down {
            self.begin_shutdown(&mut st, "spindown");
        }
    }

    /// True when no managed process is alive and no shutdown is in progress.
    pub(crate) fn process_gone(&self) -> bool {
        let st = self.lock();
        !matches!(st.process, Proc::Running(_)) && st.shutdowns_running == 0
    }

    /// `Some(Ok)` once the current process made its first `/next` and every extension is
    /// ready, `Some(Err)` if it failed to initialize, `None` while it is still initializing.
    pub(crate) fn readiness(&self) -> Option<Result<(), String>> {
        let st = self.lock();
        if st.pending_init_error.is_some() {
            return Some(Err("the function reported an init error".to_owned()));
        }
        let done = st.sandbox.init_complete;
        match &st.process {
            Proc::External { inited } => (*inited && done).then_some(Ok(())),
            Proc::Running(running) if running.reset.is_some() || running.exited => {
                Some(Err("the function is being reset".to_owned()))
            }
            Proc::Running(running) => (running.inited && done).then_some(Ok(())),
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

/// How long [`crate::Emulator::stop`] waits for the sandbox to go away: the runtime's share,
/// the extensions' budget, and slack.
pub(crate) fn stop_wait(options: &crate::options::Options) -> std::time::Duration {
    options
        .shutdown_grace
        .saturating_add(options.runtime_shutdown_share.unwrap_or_default())
        .saturating_add(std::time::Duration::from_secs(10))
        .min(std::time::Duration::from_secs(365 * 86_400))
}
