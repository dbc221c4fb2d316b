//! The failures Lambda would otherwise swallow, reported from outside the executor.
//!
//! A handler that blocks its thread (a CPU loop, `std::thread::sleep`, a blocking call) also
//! blocks the executor, so the driver's own timer cannot fire; when the process runs out of
//! memory or is shut down, no executor gets a chance to say so either. The [`Watchdog`] is a
//! plain OS thread that carries out what [`watch::Watch`] decides — the pure part, in the
//! lifecycle's vocabulary — and decides nothing itself:
//!
//! - **Timeouts.** When the driver starts a handler it arms the watch with the instant at
//!   which the lifecycle will report the timeout (`Action::RunHandler::timeout_at`). If the
//!   handler is still running then, the watch claims the lane and the thread posts
//!   [`ErrorCause::BlockedTimeout`] on a connection of its own. The driver claims every finished
//!   or timed-out invocation before it reports (`Action::Claim`), so exactly one report reaches
//!   the Runtime API; when a blocked handler eventually returns, its result is dropped.
//! - **Memory.** While a handler runs, the thread samples the process's resident memory (from
//!   `/proc/self/statm`) every [`TICK_MS`] ms; at the threshold the watch reports
//!   [`ErrorCause::OutOfMemory`] for every running invocation and the process exits with
//!   [`ExitReason::OutOfMemory`], so Lambda replaces the environment instead of killing it
//!   mid-invocation with nothing reported.
//! - **Shutdown.** On SIGTERM the watch reports [`ErrorCause::Shutdown`] for every running
//!   invocation, the shutdown hook runs for at most [`Config::shutdown_timeout_ms`], and the
//!   process exits with [`ExitReason::Shutdown`] (code 0).
//!
//! The thread and the SIGTERM handler (which only sets a flag the thread looks at) start with the
//! first invocation, not at init, so they add nothing to the cold start. Arming and claiming take
//! an uncontended lock and never wake the thread while invocations keep coming; the thread ticks
//! every [`TICK_MS`] ms while invocations run, and every [`IDLE_TICK_MS`] ms once none has run for
//! a second.

mod watch;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::config::{Config, ShutdownHook};
use crate::diagnostic::Diagnostic;
use crate::lifecycle::{ClaimOutcome, ErrorCause, ExitReason, Invocation};
use crate::logger::{InvocationIds, InvocationScope, end_invocation};
use crate::time::EpochMillis;
use crate::wire::{self, Endpoint, Request};
use watch::{Claim, Duty, Policy, Watch};

/// How often the watchdog looks at the clock and the memory use while handlers run.
const TICK_MS: u64 = 10;

/// How often the idle watchdog looks for SIGTERM.
const IDLE_TICK_MS: u64 = 50;

/// How long one post of the watchdog may take in all, connecting, writing and reading the
/// answer's head (a server that accepts and never answers, or dribbles its answer, included):
/// 2 s. The watchdog posts only when something is wrong (a handler blocks its thread, memory runs
/// out, SIGTERM), on a fresh loopback connection to a server that answers a post in
/// milliseconds. A post that takes longer is logged ("the watchdog could not report: …") and the
/// lane goes back to the driver, which reports the invocation itself when it can; an exit the
/// watchdog decided (memory, SIGTERM) happens all the same, 2 s later at most per report.
const POST_TIMEOUT: Duration = Duration::from_secs(2);

/// How often a watchdog thread that panicked is replaced.
const MAX_RESTARTS: u8 = 3;

#[derive(Debug)]
struct State {
    watch: Watch,
    /// Whether the first invocation started the watchdog.
    started: bool,
    /// The watchdog thread, while one runs.
    thread: Option<Thread>,
    /// How many times a thread that panicked was replaced.
    restarts: u8,
    /// Whether the thread is ticking (otherwise it is parked and must be woken to arm).
    ticking: bool,
    /// Per lane, the armed invocation's log ids: the thread's lines about it name it, and its
    /// buffered lines are written when the thread reports it.
    log_ids: Vec<Option<Arc<InvocationIds>>>,
}

struct Shared {
    state: Mutex<State>,
    /// Notified whenever the watchdog finished a post.
    posted: Condvar,
    endpoint: Endpoint,
    shutdown_timeout: Duration,
    hook: Mutex<Option<ShutdownHook>>,
    /// Set by the SIGTERM handler.
    terminated: Arc<AtomicBool>,
}

impl core::fmt::Debug for Shared {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Shared")
            .field("endpoint", &self.endpoint)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// Reports timeouts of blocked handlers, memory exhaustion and shutdown; see the
/// [module docs](self).
#[derive(Debug)]
pub(crate) struct Watchdog {
    shared: Arc<Shared>,
}

impl Watchdog {
    /// A watchdog for `lanes` lanes, or `None` if `config.watchdog` is off.
    pub(crate) fn new(config: &Config, lanes: usize, hook: Option<ShutdownHook>) -> Option<Self> {
        if !config.watchdog {
            return None;
        }
        let shared = Shared {
            state: Mutex::new(State {
                watch: Watch::new(lanes, Policy::from_config(config)),
                started: false,
                thread: None,
                restarts: 0,
                ticking: false,
                log_ids: (0..lanes).map(|_| None).collect(),
            }),
            posted: Condvar::new(),
            endpoint: config.runtime_api.clone(),
            shutdown_timeout: Duration::from_millis(config.shutdown_timeout_ms),
            hook: Mutex::new(hook),
            terminated: Arc::default(),
        };
        Some(Self {
            shared: Arc::new(shared),
        })
    }

    /// A handler for `invocation` (logging as `log_ids`) started on `lane` at `now`; see
    /// [`Watch::arm`].
    pub(crate) fn arm(
        &self,
        lane: usize,
        invocation: &Invocation,
        log_ids: Option<Arc<InvocationIds>>,
        timeout_at: Option<EpochMillis>,
        now: EpochMillis,
    ) {
        let mut state = self.shared.lock();
        state.watch.arm(lane, invocation, timeout_at, now);
        if let Some(slot) = state.log_ids.get_mut(lane) {
            *slot = log_ids;
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

    /// Claims `lane` for the driver (`Action::Claim`), waiting while the watchdog posts for it.
    pub(crate) fn claim(&self, lane: usize) -> ClaimOutcome {
        let mut state = self.shared.lock();
        loop {
            match state.watch.claim(lane) {
                Claim::Decided(outcome) => {
                    // Dropped here, so the driver can reuse them for the lane's next invocation.
                    let ids = state.log_ids.get_mut(lane).and_then(Option::take);
                    drop(state);
                    drop(ids);
                    return outcome;
                }
                Claim::Wait => {
                    state = self
                        .shared
                        .posted
                        .wait(state)
                        .unwrap_or_else(PoisonError::into_inner);
                }
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
/// logger). A lane the thread was posting for goes back to the driver, which would otherwise wait
/// for its report forever; if SIGTERM had arrived (only this thread acts on it), the process exits
/// as for a shutdown; otherwise a new thread takes over, up to [`MAX_RESTARTS`] times, so that
/// blocked handlers, memory and SIGTERM stay watched. Nothing here logs or panics: it may run
/// while unwinding.
struct ReleaseOnExit(Arc<Shared>);

impl Drop for ReleaseOnExit {
    fn drop(&mut self) {
        let shared = &self.0;
        if shared.terminated.load(Ordering::Relaxed) {
            std::process::exit(ExitReason::Shutdown.code());
        }
        let mut state = shared.lock();
        state.watch.release();
        state.thread = None;
        if state.restarts < MAX_RESTARTS {
            state.restarts += 1;
            state.thread = spawn(shared.clone()).ok();
        }
        drop(state);
        shared.posted.notify_all();
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

    /// The watchdog thread: wait a tick, sample, let the watch decide, carry it out.
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
            let sigterm = self.terminated.load(Ordering::Relaxed);
            if !ticking && !sigterm {
                last_busy = Instant::now();
                continue;
            }
            // Sampled without the lock, so that a claim never waits for `/proc`.
            let sample = self.lock().watch.wants_memory_sample();
            let resident = sample.then(resident_bytes).flatten();
            let mut state = self.lock();
            let duty = state.watch.check(EpochMillis::now(), resident, sigterm);
            if state.watch.busy() {
                last_busy = Instant::now();
            } else if last_busy.elapsed() > Duration::from_secs(1) {
                state.ticking = false;
            }
            drop(state);
            self.carry_out(duty);
        }
    }

    /// Posts the duty's reports, then exits if it says so.
    fn carry_out(&self, duty: Duty) {
        for report in &duty.reports {
            let ids = self.lock().log_ids.get(report.lane).cloned().flatten();
            // The thread's lines about the invocation name it, with its trace and tenant ids.
            let _scope = ids.as_ref().map(InvocationScope::enter);
            let id = report.invocation.request_id.as_str();
            let error_type = report.cause.error_type().unwrap_or_default();
            match report.cause {
                ErrorCause::BlockedTimeout { .. } => log::error!(
                    requestId = id, errorType = error_type;
                    "handler timed out while blocking its thread"
                ),
                ErrorCause::OutOfMemory { used_mb, .. } => log::error!(
                    requestId = id, errorType = error_type;
                    "out of memory: {used_mb} MiB"
                ),
                _ => log::warn!(
                    requestId = id, errorType = error_type;
                    "shutting down while the invocation runs"
                ),
            }
            // The watch reports only causes with an error type (and diagnostic) of their own; a
            // lane it could not post for is handed back to the driver like a failed post.
            let status = Diagnostic::from_cause(report.cause).and_then(|diagnostic| {
                post_error(&self.endpoint, &report.invocation, &diagnostic)
                    .map_err(|e| {
                        log::error!(
                            requestId = id;
                            "the watchdog could not report: {e}; left to the runtime's own post"
                        );
                    })
                    .ok()
            });
            if let Some(ids) = &ids {
                end_invocation(ids, true);
            }
            self.lock().watch.posted(report.lane, status);
            self.posted.notify_all();
        }
        if let Some(reason) = duty.exit {
            if reason == ExitReason::Shutdown {
                self.run_shutdown_hook();
            }
            std::process::exit(reason.code());
        }
    }

    /// Runs the shutdown hook, if there is one, on a thread of its own for at most
    /// `shutdown_timeout`.
    fn run_shutdown_hook(&self) {
        let hook = self
            .hook
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(hook) = hook else {
            return;
        };
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
    let began = Instant::now();
    // What is left of the post's time: the socket's timeouts bound each call, this the whole.
    let left = || {
        POST_TIMEOUT
            .checked_sub(began.elapsed())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    std::format!("no answer within {POST_TIMEOUT:?}"),
                )
            })
    };
    let timed_out = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => left().err().unwrap_or(e),
        _ => e,
    };
    let mut stream = TcpStream::connect_timeout(&addr, POST_TIMEOUT)?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(left()?))?;
    stream.write_all(&bytes).map_err(timed_out)?;
    let mut buf = alloc::vec![0; 4096];
    let mut filled = 0;
    loop {
        stream.set_read_timeout(Some(left()?))?;
        let n = stream.read(&mut buf[filled..]).map_err(timed_out)?;
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
fn resident_bytes() -> Option<u64> {
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
    //! The thread part: real posts on loopback. The decisions are tested in `watch`.

    use super::watch::tests::invocation;
    use super::*;
    use alloc::string::{String, ToString};
    use alloc::vec::Vec;

    fn config(endpoint: &str) -> Config {
        let mut c = Config::for_endpoint(Endpoint::parse(endpoint).unwrap());
        c.watchdog = true;
        c
    }

    fn watchdog(endpoint: &str, lanes: usize) -> Watchdog {
        Watchdog::new(&config(endpoint), lanes, None).unwrap()
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

    fn wait_for(done: impl Fn() -> bool, what: &str) {
        let began = Instant::now();
        while !done() {
            assert!(began.elapsed() < Duration::from_secs(10), "{what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn off_means_none() {
        let mut c = config("127.0.0.1:9");
        c.watchdog = false;
        assert!(Watchdog::new(&c, 1, None).is_none());
    }

    #[test]
    fn a_blocked_handler_is_posted_once_by_the_thread() {
        let (addr, api) = api(202);
        let dog = watchdog(&addr, 2);
        let soon = EpochMillis::now().saturating_add(30);
        dog.arm(
            1,
            &invocation("blocked-1"),
            None,
            Some(soon),
            EpochMillis::now(),
        );
        // The "executor" is blocked: nothing happens on this thread until the post arrived.
        wait_for(|| api.is_finished(), "nothing posted");
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
        assert_eq!(
            dog.claim(1),
            ClaimOutcome::ReportedElsewhere { status: 202 },
            "the claim waits for the post's answer"
        );
        assert_eq!(dog.claim(1), ClaimOutcome::Won, "reported once");
    }

    #[test]
    fn unreachable_api_leaves_the_report_to_the_driver() {
        // Port 9 (discard) is closed on loopback: the connection is refused.
        let dog = watchdog("127.0.0.1:9", 1);
        dog.arm(
            0,
            &invocation("r1"),
            None,
            Some(EpochMillis::now()),
            EpochMillis::now(),
        );
        wait_for(|| !dog.shared.lock().watch.busy(), "never claimed");
        assert_eq!(dog.claim(0), ClaimOutcome::Won);
    }

    /// Panics on records that name `PANICKING_ID` (after setting `LOGGER_PANICKED`), ignores the
    /// others.
    struct PanickingLogger;

    const PANICKING_ID: &str = "the-logger-panics-on-this-id";

    static LOGGER_PANICKED: AtomicBool = AtomicBool::new(false);

    impl log::Log for PanickingLogger {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            let id = record.key_values().get(log::kv::Key::from_str("requestId"));
            if id.is_some_and(|id| id.to_string() == PANICKING_ID) {
                LOGGER_PANICKED.store(true, Ordering::SeqCst);
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
        let dog = Arc::new(watchdog(&addr, 1));
        // The watchdog claims the lane, then panics logging the timeout, before posting.
        dog.arm(
            0,
            &invocation(PANICKING_ID),
            None,
            Some(EpochMillis::now()),
            EpochMillis::now(),
        );
        wait_for(|| LOGGER_PANICKED.load(Ordering::SeqCst), "no panic");
        let (tx, rx) = std::sync::mpsc::channel();
        let driver = dog.clone();
        std::thread::spawn(move || tx.send(driver.claim(0)));
        let claimed = rx.recv_timeout(Duration::from_secs(5));
        assert_eq!(
            claimed,
            Ok(ClaimOutcome::Won),
            "the driver reports it itself"
        );
        // A new watchdog thread reports the next blocked handler.
        dog.arm(
            0,
            &invocation("after-the-panic"),
            None,
            Some(EpochMillis::now()),
            EpochMillis::now(),
        );
        wait_for(|| api.is_finished(), "nothing posted");
        let request = api.join().unwrap();
        assert!(
            String::from_utf8_lossy(&request)
                .starts_with("POST /2018-06-01/runtime/invocation/after-the-panic/error "),
            "{}",
            String::from_utf8_lossy(&request)
        );
        assert_eq!(
            dog.claim(0),
            ClaimOutcome::ReportedElsewhere { status: 202 }
        );
    }

    /// A Runtime API that accepts connections and reads requests, but never answers (or, with
    /// `dribble`, answers one byte of a never-ending head every 100 ms).
    fn silent_api(dribble: bool) -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            for mut s in listener.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let _ = s.read(&mut buf);
                    if dribble {
                        let _ = s.write_all(b"HTTP/1.1 202 Accepted\r\n");
                        while s.write_all(b"X").is_ok() {
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                    // Held open, silent, until the client gives up.
                    while s.read(&mut buf).is_ok_and(|n| n > 0) {}
                });
            }
        });
        addr
    }

    #[test]
    fn a_post_never_answered_hands_the_lane_back_within_the_bound() {
        for dribble in [false, true] {
            let dog = watchdog(&silent_api(dribble), 1);
            let began = Instant::now();
            dog.arm(
                0,
                &invocation("unanswered"),
                None,
                Some(EpochMillis::now()),
                EpochMillis::now(),
            );
            wait_for(|| !dog.shared.lock().watch.busy(), "never claimed");
            // The claim waits while the watchdog posts, then gets the lane back.
            assert_eq!(dog.claim(0), ClaimOutcome::Won, "dribble: {dribble}");
            // Generous: the post gives up after POST_TIMEOUT; this only shows that it ends.
            assert!(
                began.elapsed() < POST_TIMEOUT * 5,
                "dribble: {dribble}: {:?}",
                began.elapsed()
            );
        }
    }

    #[test]
    fn reads_resident_memory() {
        let rss = resident_bytes().unwrap();
        assert!(rss > 1 << 20 && rss < 1 << 40, "{rss}");
    }
}
