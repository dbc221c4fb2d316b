//! The failures Lambda would otherwise swallow, reported from outside the executor.
//!
//! A handler that blocks its thread (a CPU loop, `std::thread::sleep`, a blocking call) also
//! blocks the executor, so the driver's own timer cannot fire; when the process runs out of
//! memory or is shut down, no executor gets a chance to say so either. The [`Watchdog`] is a
//! plain OS thread that carries out what the lifecycle decided
//! beforehand:
//!
//! - **Timeouts.** When the driver starts a handler it arms the watchdog with the instant at
//!   which the lifecycle will report the timeout (`Action::RunHandler::timeout_at`, the deadline
//!   minus the margin). If the handler is still running then, the watchdog posts the same
//!   `Runtime.HandlerTimeout` error on a connection of its own. The lane is *claimed* under a
//!   lock by whichever side reports first — the driver (the handler finished, or its own timer
//!   fired) or the watchdog — so exactly one report reaches the Runtime API. When a blocked
//!   handler eventually returns, its result is dropped and the lifecycle carries on with the next
//!   invocation; a handler that never returns is left for Lambda to reset at the deadline.
//! - **Memory.** While a handler runs, the watchdog reads the process's resident memory
//!   (from `/proc/self/statm`) every [`TICK_MS`] ms. At [`Config::memory_threshold_percent`]
//!   of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` it posts `Runtime.OutOfMemory` for every running
//!   invocation and exits the process (code [`EXIT_OUT_OF_MEMORY`]), so Lambda replaces the
//!   environment instead of killing it mid-invocation with nothing reported.
//! - **Shutdown.** On SIGTERM it posts `Runtime.Shutdown` for every running invocation, runs the
//!   hook registered with [`on_shutdown`] for at most [`Config::shutdown_timeout_ms`], and exits 0.
//!
//! The thread and the SIGTERM handler (which only sets a flag the thread looks at) start with the
//! first invocation, not at init, so they add nothing to the cold start. Arming and disarming
//! take an uncontended lock and never wake the thread while invocations keep coming; the thread
//! ticks every [`TICK_MS`] ms while invocations run, and every [`IDLE_TICK_MS`] ms once none has
//! run for a second.

use alloc::boxed::Box;
use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::error_type::ErrorType;
use crate::lifecycle::{ErrorCause, Invocation};
use crate::time::{Deadline, EpochMillis};
use crate::wire::{self, Endpoint, Request};

/// How often the watchdog looks at the clock and the memory use while handlers run.
pub const TICK_MS: u64 = 10;

/// How often the idle watchdog looks for SIGTERM.
pub const IDLE_TICK_MS: u64 = 50;

/// The exit code after an out-of-memory report.
pub const EXIT_OUT_OF_MEMORY: i32 = 5;

/// How long the watchdog waits for the Runtime API when it posts.
const POST_TIMEOUT: Duration = Duration::from_secs(2);

type Hook = Box<dyn FnOnce() + Send>;

static SHUTDOWN_HOOK: Mutex<Option<Hook>> = Mutex::new(None);

/// Registers `hook` to run when the environment shuts down (SIGTERM), replacing any earlier one.
///
/// It runs on the watchdog's signal thread, after the running invocations were reported, for at
/// most [`Config::shutdown_timeout_ms`]; then the process exits 0. Use it to flush telemetry or
/// close connections; keep it short.
pub fn on_shutdown(hook: impl FnOnce() + Send + 'static) {
    *SHUTDOWN_HOOK.lock().unwrap_or_else(PoisonError::into_inner) = Some(Box::new(hook));
}

/// What [`Watchdog::disarm`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disarmed {
    /// The watchdog had not reported the invocation: the driver reports it.
    Clear,
    /// The watchdog posted the timeout error and the Runtime API answered `status`. The
    /// driver feeds that to the lifecycle (`handle_reported_elsewhere`) instead of posting again.
    Reported {
        /// The Runtime API's answer to the watchdog's post.
        status: u16,
    },
}

/// One lane as the watchdog sees it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // One per lane, allocated once; no boxing per invocation.
enum Watch {
    Idle,
    Armed(Armed),
    /// The watchdog is posting for it; the driver must wait.
    Firing,
    /// The watchdog posted; kept until the driver disarms.
    Reported {
        status: u16,
    },
}

#[derive(Debug)]
struct Armed {
    invocation: Invocation,
    timeout_at: Option<EpochMillis>,
}

#[derive(Debug)]
struct State {
    lanes: Vec<Watch>,
    /// Whether the first invocation started the watchdog.
    started: bool,
    /// The watchdog thread, while one runs.
    thread: Option<Thread>,
    /// How many times a thread that panicked was replaced.
    restarts: u8,
    /// Whether the thread is ticking (otherwise it is parked and must be woken to arm).
    ticking: bool,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    reported: Condvar,
    endpoint: Endpoint,
    margin_ms: u64,
    /// Bytes of resident memory at which to report, if the check is on.
    memory_limit: Option<u64>,
    memory_size_mb: u32,
    threshold_percent: u8,
    shutdown_timeout: Duration,
    /// Set by the SIGTERM handler.
    terminated: Arc<core::sync::atomic::AtomicBool>,
}

/// Reports timeouts of blocked handlers, memory exhaustion and shutdown; see the
/// [module docs](self).
#[derive(Debug)]
pub struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// A watchdog for `lanes` lanes, or `None` if `config.watchdog` is off.
    pub fn new(config: &Config, lanes: usize) -> Option<Self> {
        if !config.watchdog {
            return None;
        }
        let memory_size_mb = config.memory_size_mb.unwrap_or(0);
        let memory_limit = (memory_size_mb > 0 && config.memory_threshold_percent > 0).then(|| {
            u64::from(memory_size_mb) * (1 << 20) * u64::from(config.memory_threshold_percent) / 100
        });
        let shared = Shared {
            state: Mutex::new(State {
                lanes: (0..lanes).map(|_| Watch::Idle).collect(),
                started: false,
                thread: None,
                restarts: 0,
                ticking: false,
            }),
            reported: Condvar::new(),
            endpoint: config.runtime_api.clone(),
            margin_ms: config.timeout_margin_ms,
            memory_limit,
            memory_size_mb,
            threshold_percent: config.memory_threshold_percent,
            shutdown_timeout: Duration::from_millis(config.shutdown_timeout_ms),
            terminated: Arc::default(),
        };
        Some(Self {
            shared: Arc::new(shared),
        })
    }

    /// A handler for `invocation` started on `lane`; the lifecycle reports it as timed out at
    /// `timeout_at` if it is still running then.
    pub fn arm(&self, lane: usize, invocation: &Invocation, timeout_at: Option<EpochMillis>) {
        let mut state = self.shared.lock();
        if let Some(watch) = state.lanes.get_mut(lane) {
            *watch = Watch::Armed(Armed {
                invocation: invocation.clone(),
                timeout_at,
            });
        }
        if !state.started {
            state.started = true;
            state.thread = self.start();
        }
        if !state.ticking {
            state.ticking = true;
            if let Some(t) = &state.thread {
                t.unpark();
            }
        }
    }

    /// Claims `lane` for the driver, before it reports the invocation itself. Waits while the
    /// watchdog is posting for it.
    pub fn disarm(&self, lane: usize) -> Disarmed {
        let mut state = self.shared.lock();
        loop {
            let Some(watch) = state.lanes.get_mut(lane) else {
                return Disarmed::Clear;
            };
            match core::mem::replace(watch, Watch::Idle) {
                Watch::Firing => {
                    *watch = Watch::Firing;
                    state = self
                        .shared
                        .reported
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Watch::Reported { status } => return Disarmed::Reported { status },
                Watch::Idle | Watch::Armed(_) => return Disarmed::Clear,
            }
        }
    }

    /// Installs the SIGTERM handler and starts the watchdog thread; `None` if the OS refuses
    /// (logged).
    fn start(&self) -> Option<Thread> {
        if let Err(e) = signal_hook::flag::register(
            signal_hook::consts::SIGTERM,
            self.shared.terminated.clone(),
        ) {
            log::error!("cannot handle SIGTERM: {e}");
        }
        spawn(self.shared.clone())
            .map_err(|e| log::error!("cannot start the watchdog: {e}"))
            .ok()
    }
}

/// How often a watchdog thread that panicked is replaced.
const MAX_RESTARTS: u8 = 3;

/// Starts a watchdog thread.
fn spawn(shared: Arc<Shared>) -> std::io::Result<Thread> {
    std::thread::Builder::new()
        .name("lambda-watchdog".into())
        .spawn(move || {
            let guard = ReleaseOnExit(shared);
            guard.0.run();
        })
        .map(|h| h.thread().clone())
}

/// Runs when the watchdog thread ends, which only a panic makes it do (e.g. in the user's
/// logger). A lane the thread had claimed goes back to the driver, which would otherwise wait for
/// its report forever; if SIGTERM had arrived (only this thread acts on it), the process exits 0;
/// otherwise a new thread takes over, up to [`MAX_RESTARTS`] times, so that blocked handlers,
/// memory and SIGTERM stay watched. Nothing here logs or panics: it may run while unwinding.
struct ReleaseOnExit(Arc<Shared>);

impl Drop for ReleaseOnExit {
    fn drop(&mut self) {
        let shared = &self.0;
        if shared
            .terminated
            .load(core::sync::atomic::Ordering::Relaxed)
        {
            std::process::exit(0);
        }
        let mut state = shared.lock();
        for watch in &mut state.lanes {
            if matches!(watch, Watch::Firing) {
                *watch = Watch::Idle;
            }
        }
        state.thread = None;
        if state.restarts < MAX_RESTARTS {
            state.restarts += 1;
            state.thread = spawn(shared.clone()).ok();
        }
        drop(state);
        shared.reported.notify_all();
    }
}

/// Whether the shutdown hook has returned (or panicked).
#[derive(Default)]
struct Finished {
    flag: Mutex<bool>,
    cond: Condvar,
}

/// Sets [`Finished`] when the hook's thread ends, however it ends.
struct HookFinished(Arc<Finished>);

impl Drop for HookFinished {
    fn drop(&mut self) {
        *self.0.flag.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.0.cond.notify_all();
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The watchdog thread.
    fn run(&self) {
        let mut last_busy = Instant::now();
        loop {
            let ticking = self.lock().ticking;
            if ticking {
                std::thread::sleep(Duration::from_millis(TICK_MS));
            } else {
                // Idle: look for SIGTERM now and then (the process is frozen between
                // invocations on Lambda anyway).
                std::thread::park_timeout(Duration::from_millis(IDLE_TICK_MS));
            }
            if self.terminated.load(core::sync::atomic::Ordering::Relaxed) {
                self.shut_down();
            }
            if !ticking {
                last_busy = Instant::now();
                continue;
            }
            let now = EpochMillis::now();
            let mut state = self.lock();
            let busy = state.lanes.iter().any(|w| matches!(w, Watch::Armed(_)));
            if busy {
                last_busy = Instant::now();
            } else if last_busy.elapsed() > Duration::from_secs(1) {
                state.ticking = false;
                continue;
            }
            if let Some(limit) = self.memory_limit.filter(|_| busy) {
                if let Some(rss) = resident_bytes().filter(|&rss| rss >= limit) {
                    let claimed = claim(&mut state, |_| true);
                    drop(state);
                    self.out_of_memory(claimed, rss);
                }
            }
            let claimed = claim(&mut state, |a| a.timeout_at.is_some_and(|t| t <= now));
            drop(state);
            for (lane, inv) in claimed {
                let deadline = inv.deadline.unwrap_or(Deadline(now));
                let cause = ErrorCause::Timeout {
                    deadline,
                    margin_ms: self.margin_ms,
                };
                let mut d = Diagnostic::from_cause(cause)
                    .unwrap_or_else(|| Diagnostic::new(ErrorType::TIMEOUT, "timed out"));
                d.error_message
                    .push_str(" (the handler is blocking its thread)");
                log::error!(
                    "[{}] handler timed out while blocking its thread",
                    inv.request_id
                );
                self.report(lane, &inv, &d);
            }
        }
    }

    /// Posts `diagnostic` for `inv` and records the answer for the driver.
    fn report(&self, lane: usize, inv: &Invocation, diagnostic: &Diagnostic) {
        let status = post_error(&self.endpoint, inv, diagnostic);
        let mut state = self.lock();
        if let Some(watch) = state.lanes.get_mut(lane) {
            *watch = match status {
                Ok(status) => Watch::Reported { status },
                Err(e) => {
                    log::error!("[{}] the watchdog could not report: {e}", inv.request_id);
                    // The driver reports it when it can.
                    Watch::Idle
                }
            };
        }
        self.reported.notify_all();
    }

    fn out_of_memory(&self, claimed: Vec<(usize, Invocation)>, rss: u64) -> ! {
        let used_mb = rss >> 20;
        let message = format!(
            "the process uses {used_mb} MiB of the function's {} MiB, over the {} % threshold; \
             the environment exits so that Lambda replaces it",
            self.memory_size_mb, self.threshold_percent
        );
        for (lane, inv) in &claimed {
            log::error!("[{}] out of memory: {used_mb} MiB", inv.request_id);
            self.report(
                *lane,
                inv,
                &Diagnostic::new(ErrorType::OUT_OF_MEMORY, message.clone()),
            );
        }
        std::process::exit(EXIT_OUT_OF_MEMORY);
    }

    /// SIGTERM: report what runs, run the hook (bounded), exit 0.
    fn shut_down(&self) -> ! {
        let claimed = claim(&mut self.lock(), |_| true);
        for (lane, inv) in &claimed {
            log::warn!(
                "[{}] shutting down while the invocation runs",
                inv.request_id
            );
            let d = Diagnostic::new(
                ErrorType::SHUTDOWN,
                "the execution environment was shut down (SIGTERM) while the invocation ran",
            );
            self.report(*lane, inv, &d);
        }
        let hook = SHUTDOWN_HOOK
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(hook) = hook {
            // A flag and a condition variable, not a channel: std's channels add about 27 KiB.
            let done = Arc::new(Finished::default());
            let finished = HookFinished(done.clone());
            let spawned = std::thread::Builder::new()
                .name("lambda-shutdown-hook".into())
                .spawn(move || {
                    let _finished = finished;
                    hook();
                });
            if spawned.is_ok() {
                let flag = done.flag.lock().unwrap_or_else(PoisonError::into_inner);
                let (flag, _) = done
                    .cond
                    .wait_timeout_while(flag, self.shutdown_timeout, |finished| !*finished)
                    .unwrap_or_else(PoisonError::into_inner);
                if !*flag {
                    log::warn!(
                        "the shutdown hook did not finish in {:?}",
                        self.shutdown_timeout
                    );
                }
            }
        }
        std::process::exit(0);
    }
}

/// Claims every armed lane whose `Armed` matches: marks it `Firing` and returns its invocation.
fn claim(state: &mut State, pick: impl Fn(&Armed) -> bool) -> Vec<(usize, Invocation)> {
    let mut out = Vec::new();
    for (lane, watch) in state.lanes.iter_mut().enumerate() {
        if matches!(watch, Watch::Armed(a) if pick(a)) {
            if let Watch::Armed(a) = core::mem::replace(watch, Watch::Firing) {
                out.push((lane, a.invocation));
            }
        }
    }
    out
}

/// Posts an `/error` for `inv` on a fresh connection; the answer's status.
fn post_error(endpoint: &Endpoint, inv: &Invocation, d: &Diagnostic) -> std::io::Result<u16> {
    let body = d.to_json();
    let error_type = d.error_type();
    let request = Request::Error {
        id: &inv.request_id,
        invocation_id: inv.invocation_id.as_ref(),
        error_type: &error_type,
        content_length: body.len(),
    };
    let mut bytes = alloc::vec![0; request.encoded_len(endpoint)];
    let n = request
        .encode(endpoint, &mut bytes)
        .map_err(std::io::Error::other)?;
    bytes.truncate(n);
    bytes.extend_from_slice(&body);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&(endpoint.host(), endpoint.port()))?
        .next()
        .ok_or_else(|| std::io::Error::other("the Runtime API address does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, POST_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(POST_TIMEOUT))?;
    stream.set_write_timeout(Some(POST_TIMEOUT))?;
    stream.write_all(&bytes)?;
    let mut buf = alloc::vec![0; 4096];
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        filled += n;
        match wire::parse_head(&buf[..filled]) {
            Ok(Some((head, _))) => return Ok(head.status),
            Ok(None) if filled < buf.len() => {}
            Ok(None) => return Err(std::io::Error::other("response head too large")),
            Err(e) => return Err(std::io::Error::other(e)),
        }
    }
}

/// The process's resident memory in bytes, if the OS tells: the second field of
/// `/proc/self/statm` (resident pages) times 4 KiB, the page size of Lambda's x86_64 and arm64
/// kernels. (`statm` costs a fraction of parsing `/proc/self/status`.)
pub fn resident_bytes() -> Option<u64> {
    const PAGE: u64 = 4096;
    let mut buf = [0u8; 128];
    let n = std::fs::File::open("/proc/self/statm")
        .and_then(|mut f| f.read(&mut buf))
        .ok()?;
    let text = core::str::from_utf8(buf.get(..n)?).ok()?;
    let pages: u64 = text.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(pages * PAGE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ResponseHead;
    use alloc::string::{String, ToString};

    fn invocation(id: &str) -> Invocation {
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", id.as_bytes())
            .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000");
        Invocation::from_head(&head).unwrap()
    }

    fn config(endpoint: &str) -> Config {
        let mut c = Config::for_endpoint(Endpoint::parse(endpoint).unwrap());
        c.watchdog = true;
        c
    }

    /// A one-request Runtime API on loopback that answers `status` and returns the request.
    fn api(status: u16) -> (String, std::thread::JoinHandle<Vec<u8>>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let handle = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") || !req.ends_with(b"}") {
                let n = s.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                req.extend_from_slice(&buf[..n]);
            }
            write!(
                s,
                "HTTP/1.1 {status} Accepted\r\nContent-Length: 2\r\n\r\n{{}}"
            )
            .unwrap();
            req
        });
        (addr, handle)
    }

    #[test]
    fn off_means_none() {
        let mut c = config("127.0.0.1:9");
        c.watchdog = false;
        assert!(Watchdog::new(&c, 1).is_none());
    }

    #[test]
    fn the_driver_claims_first_when_the_handler_finishes_in_time() {
        let dog = Watchdog::new(&config("127.0.0.1:9"), 1).unwrap();
        let far = EpochMillis::now().saturating_add(60_000);
        dog.arm(0, &invocation("r1"), Some(far));
        assert_eq!(dog.disarm(0), Disarmed::Clear);
        assert_eq!(
            dog.disarm(0),
            Disarmed::Clear,
            "repeated disarms are harmless"
        );
    }

    #[test]
    fn a_blocked_handler_is_reported_once_by_the_watchdog() {
        let (addr, api) = api(202);
        let dog = Watchdog::new(&config(&addr), 2).unwrap();
        let soon = EpochMillis::now().saturating_add(30);
        dog.arm(1, &invocation("blocked-1"), Some(soon));
        // The "executor" is blocked: nothing happens on this thread for a while.
        std::thread::sleep(Duration::from_millis(300));
        let request = api.join().unwrap();
        let text = String::from_utf8_lossy(&request);
        assert!(
            text.starts_with("POST /2018-06-01/runtime/invocation/blocked-1/error HTTP/1.1"),
            "{text}"
        );
        assert!(
            text.contains("Lambda-Runtime-Function-Error-Type: Runtime.HandlerTimeout"),
            "{text}"
        );
        assert!(text.contains("blocking its thread"));
        match dog.disarm(1) {
            Disarmed::Reported { status: 202 } => {}
            other => panic!("{other:?}"),
        }
        assert_eq!(dog.disarm(1), Disarmed::Clear, "reported once");
    }

    #[test]
    fn unreachable_api_leaves_the_report_to_the_driver() {
        // Port 9 (discard) is closed on loopback: the connection is refused.
        let dog = Watchdog::new(&config("127.0.0.1:9"), 1).unwrap();
        dog.arm(0, &invocation("r1"), Some(EpochMillis::now()));
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(dog.disarm(0), Disarmed::Clear);
    }

    /// Panics on records that name `PANICKING_ID` (after setting `LOGGER_PANICKED`), ignores the
    /// others.
    struct PanickingLogger;

    const PANICKING_ID: &str = "the-logger-panics-on-this-id";

    static LOGGER_PANICKED: core::sync::atomic::AtomicBool =
        core::sync::atomic::AtomicBool::new(false);

    impl log::Log for PanickingLogger {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            if record.args().to_string().contains(PANICKING_ID) {
                LOGGER_PANICKED.store(true, core::sync::atomic::Ordering::SeqCst);
                panic!("the user's logger panicked");
            }
        }
        fn flush(&self) {}
    }

    #[test]
    fn a_panic_on_the_watchdog_thread_hands_the_lane_back_and_a_new_thread_takes_over() {
        log::set_logger(&PanickingLogger).expect("the only logger of this test binary");
        log::set_max_level(log::LevelFilter::Error);
        let (addr, api) = api(202);
        let dog = Arc::new(Watchdog::new(&config(&addr), 1).unwrap());
        // The watchdog claims the lane, then panics logging the timeout, before posting.
        dog.arm(0, &invocation(PANICKING_ID), Some(EpochMillis::now()));
        let began = Instant::now();
        while !LOGGER_PANICKED.load(core::sync::atomic::Ordering::SeqCst) {
            assert!(began.elapsed() < Duration::from_secs(10), "no panic");
            std::thread::sleep(Duration::from_millis(5));
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let driver = dog.clone();
        std::thread::spawn(move || tx.send(driver.disarm(0)));
        let disarmed = rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(
            disarmed,
            Ok(Disarmed::Clear),
            "the driver reports it itself"
        );
        // A new watchdog thread reports the next blocked handler.
        dog.arm(0, &invocation("after-the-panic"), Some(EpochMillis::now()));
        let began = Instant::now();
        while !api.is_finished() {
            assert!(began.elapsed() < Duration::from_secs(10), "nothing posted");
            std::thread::sleep(Duration::from_millis(5));
        }
        let request = api.join().unwrap();
        assert!(
            String::from_utf8_lossy(&request)
                .starts_with("POST /2018-06-01/runtime/invocation/after-the-panic/error "),
            "{}",
            String::from_utf8_lossy(&request)
        );
        assert_eq!(dog.disarm(0), Disarmed::Reported { status: 202 });
    }

    #[test]
    fn reads_resident_memory() {
        let rss = resident_bytes().unwrap();
        assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
    }
}
