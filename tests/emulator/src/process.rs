//! Starting, signalling and reaping the function process.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Arc;

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::extensions::{Launched, Sandbox, extension_files};
use crate::records::{LogStream, ProcessExit};
use crate::state::{Ctl, Proc, Running, Shared, State};
use crate::telemetry::Class;
use crate::util::epoch_ms;

/// Environment variables Lambda sets that must not leak in from the emulator's environment.
const SCRUBBED: &[&str] = &[
    "AWS_LAMBDA_MAX_CONCURRENCY",
    "_X_AMZN_TRACE_ID",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_LOG_FORMAT",
    "AWS_LAMBDA_LOG_LEVEL",
];

impl Shared {
    /// The environment a `provided.al2023` function gets.
    pub(crate) fn function_env(&self) -> Vec<(String, String)> {
        let o = &self.config.options;
        let task_root = o
            .current_dir
            .clone()
            .or_else(|| std::env::current_dir().ok())
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "/var/task".to_owned());
        let mut env = vec![
            (
                "AWS_LAMBDA_RUNTIME_API".to_owned(),
                self.config.runtime_api.clone(),
            ),
            ("AWS_REGION".to_owned(), o.region.clone()),
            ("AWS_DEFAULT_REGION".to_owned(), o.region.clone()),
            (
                "AWS_LAMBDA_FUNCTION_NAME".to_owned(),
                o.function_name.clone(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION".to_owned(), o.version.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".to_owned(),
                o.memory_mb.to_string(),
            ),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME".to_owned(),
                format!("/aws/lambda/{}", o.function_name),
            ),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME".to_owned(),
                self.config.log_stream.clone(),
            ),
            ("_HANDLER".to_owned(), o.handler.clone()),
            ("LAMBDA_TASK_ROOT".to_owned(), task_root),
            ("LAMBDA_RUNTIME_DIR".to_owned(), "/var/runtime".to_owned()),
            ("TZ".to_owned(), ":UTC".to_owned()),
        ];
        match o.concurrency {
            Some(n) => {
                env.push(("AWS_LAMBDA_MAX_CONCURRENCY".to_owned(), n.to_string()));
                env.push((
                    "AWS_LAMBDA_INITIALIZATION_TYPE".to_owned(),
                    "lambda-managed-instances".to_owned(),
                ));
            }
            None => env.push((
                "AWS_LAMBDA_INITIALIZATION_TYPE".to_owned(),
                "on-demand".to_owned(),
            )),
        }
        if let Some(format) = o.log_format {
            env.push((
                "AWS_LAMBDA_LOG_FORMAT".to_owned(),
                format.env_value().to_owned(),
            ));
        }
        if let Some(level) = o.log_level {
            env.push((
                "AWS_LAMBDA_LOG_LEVEL".to_owned(),
                level.env_value().to_owned(),
            ));
        }
        env
    }

    /// The command for the function or an extension: the function's environment, working
    /// directory, piped output, a process group of its own.
    fn command(&self, program: &std::ffi::OsStr) -> Command {
        let o = &self.config.options;
        let mut cmd = Command::new(program);
        for key in SCRUBBED {
            cmd.env_remove(key);
        }
        cmd.envs(self.function_env());
        cmd.envs(o.env.iter().map(|(k, v)| (k, v)));
        if let Some(dir) = &o.current_dir {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a reset can take down whatever it started (e.g. the
            // `curl` of a shell bootstrap) and a Ctrl-C at the terminal reaches only us.
            .process_group(0)
            .kill_on_drop(true);
        cmd
    }

    /// `platform.initStart` for a new sandbox.
    pub(crate) fn emit_init_start(&self, st: &mut State) {
        let o = &self.config.options;
        let record = serde_json::json!({
            "initializationType": self.initialization_type(),
            "phase": "init",
            "functionName": o.function_name,
            "functionVersion": o.version,
            "instanceMaxMemory": u64::from(o.memory_mb) * 1024 * 1024,
        });
        st.sandbox
            .emit(Class::Platform, "platform.initStart", record);
    }

    /// Start the external extensions of a new sandbox (the files of
    /// [`crate::Options::extensions`]); on failure, kill those already started.
    pub(crate) fn launch_extensions(
        self: &Arc<Self>,
        st: &mut State,
        generation: u64,
    ) -> std::io::Result<()> {
        let Some(dir) = &self.config.options.extensions else {
            return Ok(());
        };
        let files = extension_files(dir).map_err(|err| {
            std::io::Error::new(
                err.kind(),
                format!(
                    "cannot read the extensions directory {}: {err}",
                    dir.display()
                ),
            )
        })?;
        for file in files {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let spawned = {
                let _guard = self.rt.enter();
                self.command(file.as_os_str()).spawn()
            };
            let mut child = match spawned {
                Ok(child) => child,
                Err(err) => {
                    for launched in &st.sandbox.launched {
                        let pid = i32::try_from(launched.pid).unwrap_or(0);
                        if pid > 0 {
                            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                        }
                    }
                    st.sandbox = Sandbox::new(generation, false);
                    return Err(std::io::Error::new(
                        err.kind(),
                        format!("cannot start the extension {}: {err}", file.display()),
                    ));
                }
            };
            let pid = child.id().unwrap_or(0);
            let readers = self.read_output(&mut child, generation, Some(&name));
            st.sandbox.launched.push(Launched {
                name: name.clone(),
                pid,
                alive: true,
                sigkilled: false,
            });
            self.rt.spawn(supervise_extension(
                Arc::clone(self),
                generation,
                name,
                child,
                readers,
            ));
        }
        Ok(())
    }

    /// Start the tasks that record a child's output lines.
    fn read_output(
        self: &Arc<Self>,
        child: &mut Child,
        generation: u64,
        extension: Option<&str>,
    ) -> Vec<JoinHandle<()>> {
        let mut readers = Vec::with_capacity(2);
        let name = extension.map(ToOwned::to_owned);
        if let Some(out) = child.stdout.take() {
            readers.push(self.rt.spawn(read_lines(
                Arc::clone(self),
                out,
                LogStream::Stdout,
                generation,
                name.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            readers.push(self.rt.spawn(read_lines(
                Arc::clone(self),
                err,
                LogStream::Stderr,
                generation,
                name,
            )));
        }
        readers
    }

    /// Spawn a new function process (after its extensions) and its supervisor; the caller
    /// holds the state lock.
    pub(crate) fn spawn_process(self: &Arc<Self>, st: &mut State) -> std::io::Result<()> {
        let o = &self.config.options;
        let Some((program, args)) = o.command.split_first() else {
            return Ok(());
        };
        let generation = st.starts + 1;
        st.sandbox = Sandbox::new(generation, true);
        self.emit_init_start(st);
        self.launch_extensions(st, generation)?;
        let mut cmd = self.command(program);
        cmd.args(args);
        let spawned = {
            let _guard = self.rt.enter();
            cmd.spawn()
        };
        let mut child = match spawned {
            Ok(child) => child,
            Err(err) => {
                for launched in &st.sandbox.launched {
                    let pid = i32::try_from(launched.pid).unwrap_or(0);
                    if pid > 0 {
                        let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                    }
                }
                st.sandbox = Sandbox::new(generation, false);
                return Err(spawn_error(program, o.current_dir.as_deref(), &err));
            }
        };
        st.starts = generation;
        // A new process: an init error of an earlier one must not answer its invocations.
        st.pending_init_error = None;
        let pid = child.id().unwrap_or(0);
        let readers = self.read_output(&mut child, generation, None);
        let (ctl, ctl_rx) = mpsc::unbounded_channel();
        st.process = Proc::Running(Running {
            generation,
            pid,
            inited: false,
            ctl,
            reset: None,
            exited: false,
        });
        self.rt.spawn(supervise(
            Arc::clone(self),
            generation,
            child,
            ctl_rx,
            readers,
        ));
        Ok(())
    }
}

/// Why `program` could not be started, naming the path tried and, for a relative path, the
/// directory it was resolved from (a bare name is looked up in `PATH`).
fn spawn_error(
    program: &std::ffi::OsStr,
    dir: Option<&std::path::Path>,
    err: &std::io::Error,
) -> std::io::Error {
    let path = std::path::Path::new(program);
    let dir = dir
        .map(std::path::Path::to_path_buf)
        .or_else(|| std::env::current_dir().ok());
    let place = if path.is_absolute() {
        String::new()
    } else if path.components().count() == 1 {
        " (looked up in PATH)".to_owned()
    } else {
        match dir {
            Some(dir) => format!(
                " (relative to {}: {})",
                dir.display(),
                dir.join(path).display()
            ),
            None => " (relative to an unknown working directory)".to_owned(),
        }
    };
    std::io::Error::new(
        err.kind(),
        format!("cannot run {}{place}: {err}", path.display()),
    )
}

/// How long an exit waits for the function's remaining output to be read.
const LOG_DRAIN: std::time::Duration = std::time::Duration::from_millis(500);

async fn read_lines(
    shared: Arc<Shared>,
    stream: impl AsyncRead + Unpin,
    which: LogStream,
    generation: u64,
    extension: Option<String>,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                    buf.pop();
                }
                let line = String::from_utf8_lossy(&buf).into_owned();
                shared.record_log(which, line, generation, extension.clone());
            }
        }
    }
}

/// Own the child: forward signals, reap it, report the exit.
async fn supervise(
    shared: Arc<Shared>,
    generation: u64,
    mut child: Child,
    mut ctl: mpsc::UnboundedReceiver<Ctl>,
    readers: Vec<JoinHandle<()>>,
) {
    let pid = child.id().unwrap_or(0);
    let pgid = Pid::from_raw(i32::try_from(pid).unwrap_or(0));
    let mut sigterm_ms = None;
    let mut sigkilled = false;
    let status = loop {
        tokio::select! {
            status = child.wait() => break status,
            Some(command) = ctl.recv() => {
                let signal = match command {
                    Ctl::Group(signal) => {
                        let _ = killpg(pgid, signal);
                        signal
                    }
                    Ctl::Signal(signal) => {
                        let _ = kill(pgid, signal);
                        signal
                    }
                };
                if signal == Signal::SIGTERM {
                    sigterm_ms.get_or_insert_with(epoch_ms);
                }
                if signal == Signal::SIGKILL {
                    sigkilled = true;
                }
            },
        }
    };
    // Whatever the process left behind in its group goes with it, as with a sandbox.
    let _ = killpg(pgid, Signal::SIGKILL);
    // Why it was stopped, and when it ended, as of now: not after the wait below.
    let exited_ms = epoch_ms();
    let reset = match &shared.lock().process {
        Proc::Running(running) if running.generation == generation => running.reset,
        _ => None,
    };
    // Its last lines (e.g. why it crashed) are recorded before its exit is: the pipes close
    // once the group is gone, and a descendant that escaped the group only costs the bound.
    let drained = async {
        for reader in readers {
            let _ = reader.await;
        }
    };
    let _ = tokio::time::timeout(LOG_DRAIN, drained).await;
    let (code, signal) = match &status {
        Ok(status) => (status.code(), status.signal()),
        Err(_) => (None, None),
    };
    shared.on_exit(ProcessExit {
        generation,
        pid,
        code,
        signal,
        reset,
        sigterm_ms,
        sigkilled,
        exited_ms,
    });
}

/// Own an external extension's process: reap it, record its exit, tell the sandbox.
async fn supervise_extension(
    shared: Arc<Shared>,
    generation: u64,
    name: String,
    mut child: Child,
    readers: Vec<JoinHandle<()>>,
) {
    let pid = child.id().unwrap_or(0);
    let status = child.wait().await;
    if let Ok(raw) = i32::try_from(pid)
        && raw > 0
    {
        let _ = killpg(Pid::from_raw(raw), Signal::SIGKILL);
    }
    let exited_ms = epoch_ms();
    let drained = async {
        for reader in readers {
            let _ = reader.await;
        }
    };
    let _ = tokio::time::timeout(LOG_DRAIN, drained).await;
    let (code, signal) = match &status {
        Ok(status) => (status.code(), status.signal()),
        Err(_) => (None, None),
    };
    let exit = ProcessExit {
        generation,
        pid,
        code,
        signal,
        reset: None,
        sigterm_ms: None,
        sigkilled: false,
        exited_ms,
    };
    shared.ext_exited(generation, &name, exit);
}
