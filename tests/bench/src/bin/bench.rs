//! The runtime benchmark: our `echo` on each adapter and the custom executor, the
//! official `lambda_runtime` echo, and a hand-written blocking floor, all on the same load
//! generator in the same run.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin bench                # full run (a few minutes)
//! cargo run --release -p lambda-bench --bin bench -- --quick     # CI-sized
//! cargo run --release -p lambda-bench --bin bench -- --callgrind # instructions per invocation
//! cargo run --release -p lambda-bench --bin bench -- --log       # + what a log line costs
//! cargo run --release -p lambda-bench --bin bench -- --check-budget # CI's instruction budget
//! ```
//!
//! `--check-budget` counts the user-space instructions per 64 B invocation (callgrind, as
//! `--callgrind` but on the workspace's release binaries) of echo-tokio, echo-smol,
//! custom-executor and http-echo-tokio (fed an HTTP API event), and fails when one exceeds
//! `tests/bench/budget.json` by more than its tolerance (10 %); `--write-budget` rewrites the file.
//!
//! `--log` adds the echo that logs one record per invocation (`echo-log-tokio`, `echo-log-smol`
//! of the examples) in four rows per adapter: no record (the baseline, same binary), one INFO
//! line as text, one as JSON (`AWS_LAMBDA_LOG_FORMAT=JSON`), one DEBUG record at level INFO
//! (filtered out). Their stderr goes to a pipe that a bench thread drains and counts lines on
//! (`--log-sink null`: /dev/null), and a table compares each row with its no-record row.
//!
//! It builds the functions first (`cargo build --release` of the examples' echo bins, and of the
//! own workspaces `tests/bench/floor` (the floor) and `tests/bench/official` (the official
//! runtime's echo) through `--manifest-path`; `--no-build` skips that). The load
//! generator serves the Runtime API on loopback: blocking `std::net`, one thread per accepted
//! connection (one lane = one connection, so one busy thread), preformatted responses written with
//! one `write` for small events. It checks every response against the event (byte equality after
//! one canonicalisation per event, semantic JSON equality as the fallback), and counts lost,
//! duplicated and wrong responses, TCP connections, and its own CPU per invocation.
//!
//! By default (`--pin split`, two or more CPUs) the function runs on CPU 0 and the generator on
//! CPU 1. Every request/response then costs a cross-CPU wake-up, which on a small VM dominates
//! small-event figures; `--pin same` puts both on CPU 0 (direct hand-offs, and the generator's
//! CPU per invocation, reported, is then part of each round trip). `split` is the default because
//! it is the closer model of Lambda: the function has its vCPU to itself and the Runtime API server
//! is another process, woken on another CPU; `same` is the model of a function throttled to one
//! vCPU's worth of time.
//!
//! `--callgrind` measures instead of times: each function runs under valgrind's callgrind
//! (built unstripped with line tables into `target/bench-callgrind`, same optimisation) for a
//! fixed number of invocations, three times (N₁ small events; N₂ small events; N₁ small then L
//! 256 KiB events), and the differences give the user-space instructions per invocation with
//! start-up and exit cancelled out. Counts do not depend on machine load; they leave out the
//! kernel (syscalls, wake-ups), so read them next to the timed run. The profiles stay in
//! `target/bench-callgrind/*.out` for `callgrind_annotate`.
//!
//! TCP connections: the official runtime's hyper-util client returns a connection to its pool
//! from a spawned task, after the response; `lambda_runtime` asks for the next connection at
//! once, finds the pool empty, and races a new `connect` against the checkout; with its pool
//! capped at one idle connection (`pool_max_idle_per_host(concurrency)`) the spare is closed
//! again. With the function on one CPU that happens nearly every invocation, against any server
//! (the repo's hyper-based emulator too), so the connection count it shows is its own behaviour,
//! not the generator's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;
use serde_json::Value;

/// Benchmark our runtime against the official one and a hand-written floor.
#[derive(Debug, Parser)]
#[command(name = "bench")]
struct Cli {
    /// CI-sized run: fewer rounds, shorter phases.
    #[arg(long)]
    quick: bool,
    /// Interleaved rounds (default 5, or 2 with --quick).
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per event size per round (default 2, or 0.3 with --quick).
    #[arg(long)]
    seconds: Option<f64>,
    /// Extra spawn-to-first-`/next` samples per function per round.
    #[arg(long, default_value_t = 4)]
    cold_samples: usize,
    /// Do not run `cargo build`; use the binaries already built.
    #[arg(long)]
    no_build: bool,
    /// CPU placement: `split` = function on CPU 0, generator on CPU 1 (needs 2 CPUs); `same` =
    /// both on CPU 0 (hand-offs without cross-CPU wake-ups); `none` = left to the scheduler.
    #[arg(long, value_enum, default_value_t = Pin::Split)]
    pin: Pin,
    /// Only the functions whose name contains one of these (repeatable).
    #[arg(long = "only")]
    only: Vec<String>,
    /// Count instructions per invocation under valgrind's callgrind instead of timing.
    #[arg(long)]
    callgrind: bool,
    /// With --callgrind: the extra 64 B invocations of the longer run (N₂ − N₁).
    #[arg(long, default_value_t = 2000)]
    callgrind_invocations: u64,
    /// With --callgrind: the 256 KiB invocations of the third run.
    #[arg(long, default_value_t = 20)]
    callgrind_large: u64,
    /// Also run the echo that logs one record per invocation (`echo-log-tokio`, `echo-log-smol`):
    /// no record, one INFO line as text, one INFO line as JSON, one DEBUG record at level INFO
    /// (filtered out); with a table of what a line costs against the same binary logging none.
    #[arg(long)]
    log: bool,
    /// Count the user-space instructions per 64 B invocation of the budgeted functions
    /// (echo-tokio, echo-smol, custom-executor, http-echo-tokio) under callgrind and fail when
    /// one exceeds its figure in the budget file by more than the file's tolerance. Builds (or,
    /// with --no-build, takes) the workspace's release binaries in `target/release`.
    #[arg(long, conflicts_with_all = ["callgrind", "write_budget"])]
    check_budget: bool,
    /// Measure as --check-budget does and rewrite the budget file with the counts.
    #[arg(long, conflicts_with = "callgrind")]
    write_budget: bool,
    /// The budget file of --check-budget and --write-budget.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/budget.json"))]
    budget: PathBuf,
    /// With --log: where the function's stderr goes. `pipe` = a pipe that a thread of the
    /// bench drains (counting lines), as Lambda's log pipe; `null` = /dev/null.
    #[arg(long, value_enum, default_value_t = LogSink::Pipe)]
    log_sink: LogSink,
}

/// Where the stderr of a function that logs goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogSink {
    /// A pipe drained by a thread of the bench (lines and bytes counted).
    Pipe,
    /// `/dev/null`.
    Null,
}

/// The functions of the instruction budget (`--check-budget`), by name.
const BUDGETED: [&str; 4] = ["echo-tokio", "echo-smol", "custom-executor", HTTP_ECHO];

/// The HTTP echo of the budget: `http-echo` of the examples on tokio, fed an HTTP API
/// (payload 2.0) event.
const HTTP_ECHO: &str = "http-echo-tokio";

/// The HTTP echo's event: a 1 456-byte HTTP API payload 2.0 POST (query, cookies, JSON body).
const HTTP_EVENT: &[u8] = include_bytes!("../../http/fixtures/http-api-v2-post.json");

/// The 64 B invocations of `--check-budget`'s shorter run; the longer run adds
/// [`BUDGET_INVOCATIONS`] more.
const BUDGET_BASE: u64 = 100;

/// The invocations the budget's figures are per (the difference of its two runs).
const BUDGET_INVOCATIONS: u64 = 500;

/// The event sizes, in the order each run goes through them.
const SIZES: [(&str, usize); 3] = [("64 B", 64), ("256 KiB", 256 << 10), ("5 MiB", 5 << 20)];

/// One function under test.
#[derive(Debug, Clone)]
struct Function {
    name: &'static str,
    /// For file names.
    slug: &'static str,
    program: PathBuf,
    args: Vec<&'static str>,
    /// Set in its environment besides the Lambda variables.
    env: Vec<(&'static str, &'static str)>,
    /// Its stderr: `None` = inherited (the function writes nothing); otherwise where its log
    /// lines go.
    log_sink: Option<LogSink>,
    /// Its own events instead of the run's (the HTTP echo's API Gateway event).
    events: Option<Arc<Events>>,
}

/// One log row of `--log`: (name suffix, slug suffix, the binary's argument, environment).
type LogMode = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The log rows of `--log`. The level is the default, INFO.
const LOG_MODES: [LogMode; 4] = [
    ("no record", "none", "none", &[]),
    ("INFO line, text", "text", "info", &[]),
    (
        "INFO line, JSON",
        "json",
        "info",
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
    ),
    ("DEBUG record at INFO", "debug", "debug", &[]),
];

/// `--log`'s binaries and the plain echo each is compared with.
const LOG_BINS: [(&str, &str); 2] = [
    ("echo-log-tokio", "echo-tokio"),
    ("echo-log-smol", "echo-smol"),
];

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("bench: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> io::Result<bool> {
    // This package is tests/bench.
    let bench_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = bench_dir
        .ancestors()
        .nth(2)
        .expect("workspace root")
        .to_owned();
    // --callgrind profiles its own unstripped builds (line tables, same optimisation).
    let target_dir: Option<PathBuf> = if cli.callgrind {
        Some(root.join("target/bench-callgrind"))
    } else {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from)
    };
    let target = target_dir.clone().unwrap_or_else(|| root.join("target"));
    let official_dir = bench_dir.join("official");
    let floor_dir = bench_dir.join("floor");
    let mut build_secs = BTreeMap::new();
    let budget_mode = cli.check_budget || cli.write_budget;
    let wanted = |name: &str| {
        if budget_mode {
            BUDGETED.contains(&name)
        } else {
            cli.only.is_empty() || cli.only.iter().any(|o| name.contains(o.as_str()))
        }
    };
    if !cli.no_build {
        // Only what --only selects is built.
        let mut example_args = vec!["build", "--release", "-p", "examples"];
        for bin in ["echo-tokio", "echo-smol", "custom-executor", HTTP_ECHO] {
            if wanted(bin) {
                example_args.extend(["--bin", bin]);
            }
        }
        for (bin, _) in LOG_BINS {
            if cli.log && LOG_MODES.iter().any(|m| wanted(&log_name(bin, m.0))) {
                example_args.extend(["--bin", bin]);
            }
        }
        let examples = format!(
            "examples ({})",
            example_args[4..]
                .iter()
                .filter(|a| **a != "--bin")
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        );
        let any_example = example_args.len() > 4;
        let own = vec!["build", "--release", "--manifest-path", "Cargo.toml"];
        let builds: [(&str, Vec<&str>, &Path, bool); 3] = [
            (examples.as_str(), example_args, &root, any_example),
            (
                "bench-floor",
                own.clone(),
                &floor_dir,
                wanted("floor") || wanted("floor+JSON"),
            ),
            (
                "bench-official",
                own,
                &official_dir,
                wanted("official (lambda_runtime)"),
            ),
        ];
        for (what, args, dir, _) in builds.into_iter().filter(|b| b.3) {
            eprintln!("bench: cargo {}", args.join(" "));
            let started = Instant::now();
            let mut cargo =
                Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
            cargo.args(&args).current_dir(dir);
            if cli.callgrind {
                cargo
                    .env("CARGO_TARGET_DIR", &target)
                    .env("CARGO_PROFILE_RELEASE_STRIP", "none")
                    .env("CARGO_PROFILE_RELEASE_DEBUG", "line-tables-only");
            }
            let status = cargo.status()?;
            if !status.success() {
                return Err(io::Error::other(format!(
                    "building {what} failed: {status}"
                )));
            }
            build_secs.insert(what.to_string(), started.elapsed().as_secs_f64());
        }
    }
    // The two own workspaces build into their own target dirs unless CARGO_TARGET_DIR is set.
    let own_release = |dir: &Path| {
        target_dir
            .clone()
            .unwrap_or_else(|| dir.join("target"))
            .join("release")
    };
    let floor_bin = own_release(&floor_dir).join("floor-echo");
    let release = target.join("release");
    let all = vec![
        Function {
            name: "floor",
            slug: "floor",
            program: floor_bin.clone(),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: None,
        },
        Function {
            name: "floor+JSON",
            slug: "floor-json",
            program: floor_bin,
            args: vec!["--json"],
            env: vec![],
            log_sink: None,
            events: None,
        },
        Function {
            name: "official (lambda_runtime)",
            slug: "official",
            program: own_release(&official_dir).join("echo-official"),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: None,
        },
        Function {
            name: "echo-tokio",
            slug: "echo-tokio",
            program: release.join("echo-tokio"),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: None,
        },
        Function {
            name: "echo-smol",
            slug: "echo-smol",
            program: release.join("echo-smol"),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: None,
        },
        Function {
            name: "custom-executor",
            slug: "custom-executor",
            program: release.join("custom-executor"),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: None,
        },
    ];
    let mut all = all;
    if budget_mode {
        all.push(Function {
            name: HTTP_ECHO,
            slug: HTTP_ECHO,
            program: release.join(HTTP_ECHO),
            args: vec![],
            env: vec![],
            log_sink: None,
            events: Some(Arc::new(Events::http())),
        });
    }
    if cli.log {
        for (bin, _) in LOG_BINS {
            for (what, slug, arg, env) in LOG_MODES {
                all.push(Function {
                    name: Box::leak(log_name(bin, what).into_boxed_str()),
                    slug: Box::leak(format!("{bin}-{slug}").into_boxed_str()),
                    program: release.join(bin),
                    args: vec![arg],
                    env: env.to_vec(),
                    log_sink: Some(cli.log_sink),
                    events: None,
                });
            }
        }
    }
    let functions: Vec<Function> = all.into_iter().filter(|f| wanted(f.name)).collect();
    for f in &functions {
        if !f.program.exists() {
            return Err(io::Error::other(format!(
                "{} is missing: build it (or drop --no-build)",
                f.program.display()
            )));
        }
    }

    let pinned = pin_generator(cli.pin);
    let rounds = cli.rounds.unwrap_or(if cli.quick { 2 } else { 5 });
    let seconds = cli.seconds.unwrap_or(if cli.quick { 0.3 } else { 2.0 });
    let events = Arc::new(Events::new());
    if budget_mode {
        return run_budget(cli, &functions, &events, pinned, &target);
    }
    if cli.callgrind {
        return run_callgrind(cli, &functions, &events, pinned, &target);
    }
    let plan: Vec<Phase> = SIZES
        .iter()
        .enumerate()
        .map(|(size, &(_, bytes))| Phase {
            size,
            warmup: if bytes < 4096 { 50 } else { 2 },
            min_timed: if bytes < 4096 { 200 } else { 5 },
            duration: Duration::from_secs_f64(seconds),
        })
        .collect();

    let started = Instant::now();
    let mut results: Vec<Vec<RunResult>> = vec![Vec::new(); functions.len()];
    let mut colds: Vec<Vec<f64>> = vec![Vec::new(); functions.len()];
    for round in 0..rounds {
        // Interleave: each round visits every function, starting one further along.
        for k in 0..functions.len() {
            let i = (k + round) % functions.len();
            let f = &functions[i];
            eprintln!("bench: round {}/{rounds}: {}", round + 1, f.name);
            let result = run_function(f, &plan, &events, pinned, None)?;
            colds[i].push(result.cold_start_ms);
            results[i].push(result);
            for _ in 0..cli.cold_samples {
                colds[i].push(run_function(f, &[], &events, pinned, None)?.cold_start_ms);
            }
        }
    }
    let elapsed = started.elapsed();

    let sizes: Vec<Option<u64>> = functions
        .iter()
        .map(|f| stripped_size(&f.program))
        .collect();
    let report = Report {
        functions: &functions,
        results: &results,
        colds: &colds,
        sizes: &sizes,
    };
    let ok = report.print(pinned, rounds, seconds, elapsed, &build_secs, &events);
    Ok(ok)
}

/// The name of `--log`'s row for `bin` logging `what`.
fn log_name(bin: &str, what: &str) -> String {
    format!("{bin} ({what})")
}

/// Where the function and the load generator run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Pin {
    /// Function on CPU 0, generator on CPU 1.
    Split,
    /// Both on CPU 0.
    Same,
    /// Not pinned.
    None,
}

/// Pins this process's threads (threads started later inherit it); returns the placement in
/// force (`None` when pinning is not possible).
fn pin_generator(pin: Pin) -> Pin {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    match pin {
        Pin::Split if cpus >= 2 && set_cpu(1) => Pin::Split,
        Pin::Same if set_cpu(0) => Pin::Same,
        _ => Pin::None,
    }
}

/// Moves the calling thread to CPU `cpu`.
fn set_cpu(cpu: usize) -> bool {
    let mut set = CpuSet::new();
    set.set(cpu).is_ok() && sched_setaffinity(Pid::from_raw(0), &set).is_ok()
}

/// The events of each size, with what a correct response is.
#[derive(Debug)]
struct Events {
    /// The event bytes, compact JSON with sorted keys (so every `serde_json::Value` map type
    /// writes it back byte for byte).
    bodies: Vec<Vec<u8>>,
    /// Each event after one parse + serialise: the expected response bytes.
    expected: Vec<Vec<u8>>,
    /// Each event parsed, for the semantic fallback comparison.
    values: Vec<Value>,
    /// The events are an HTTP request (one, as size 0): a response is correct when it is a
    /// JSON object with `statusCode` 200 (the HTTP echo describes the request; it does not echo it).
    http: bool,
}

impl Events {
    fn new() -> Self {
        let bodies: Vec<Vec<u8>> = SIZES.iter().map(|&(_, n)| make_event(n)).collect();
        let values: Vec<Value> = bodies
            .iter()
            .map(|b| serde_json::from_slice(b).expect("generated JSON"))
            .collect();
        let expected = values
            .iter()
            .map(|v| serde_json::to_vec(v).expect("serialise"))
            .collect();
        Self {
            bodies,
            expected,
            values,
            http: false,
        }
    }

    /// The HTTP echo's event.
    fn http() -> Self {
        Self {
            bodies: vec![HTTP_EVENT.to_vec()],
            expected: Vec::new(),
            values: Vec::new(),
            http: true,
        }
    }
}

/// A JSON event of exactly `size` bytes: records of numbers, strings, booleans and arrays,
/// then a padding string; keys sorted, no whitespace.
fn make_event(size: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"items":["#);
    let mut i = 0u64;
    loop {
        let item = format!(
            r#"{{"id":{i},"name":"item-{i}","ok":{},"tags":["alpha","beta"],"value":{}}}"#,
            i.is_multiple_of(2),
            i.wrapping_mul(2_654_435_761) % 1_000_000
        );
        // Room for the separator, the closing part and a short padding string.
        if s.len() + item.len() + 1 + 16 > size {
            break;
        }
        if i > 0 {
            s.push(',');
        }
        s.push_str(&item);
        i += 1;
    }
    s.push_str(r#"],"pad":""#);
    while s.len() + 2 < size {
        s.push('x');
    }
    s.push_str(r#""}"#);
    s.into_bytes()
}

/// One event size of a run.
#[derive(Debug, Clone, Copy)]
struct Phase {
    size: usize,
    /// Untimed invocations first.
    warmup: u64,
    /// Keep going until at least this many timed invocations and `duration`.
    min_timed: u64,
    duration: Duration,
}

/// What one spawn of a function measured.
#[derive(Debug, Clone, Default)]
struct RunResult {
    cold_start_ms: f64,
    /// Per phase: invocations per second.
    per_sec: Vec<f64>,
    /// Per phase: the generator's CPU per timed invocation, µs.
    gen_cpu_us: Vec<f64>,
    /// Per phase: the generator's CPU over the phase's wall time.
    gen_util: Vec<f64>,
    /// Per phase: the function's CPU per timed invocation, µs.
    fn_cpu_us: Vec<f64>,
    /// Peak RSS (`VmHWM`) after the small-event phase and at the end, KiB.
    rss_small_kib: u64,
    rss_peak_kib: u64,
    connections: u64,
    invocations: u64,
    lost: u64,
    duplicated: u64,
    wrong: u64,
    /// Correct responses whose bytes differed from the canonical form (semantic match).
    reordered: u64,
    /// With a drained stderr pipe: the lines and bytes the function wrote, and its first line.
    stderr_lines: u64,
    stderr_bytes: u64,
    stderr_first: String,
}

/// State shared by the generator's connection threads and the main thread for one spawn.
#[derive(Debug)]
struct Run {
    plan: Vec<Phase>,
    events: Arc<Events>,
    child_pid: Mutex<Option<u32>>,
    state: Mutex<RunState>,
    done: Condvar,
    stop: AtomicBool,
}

#[derive(Debug, Default)]
struct RunState {
    first_next: Option<Instant>,
    finished: bool,
    phase: usize,
    phase_sent: u64,
    /// The first timed invocation id of the phase, when it was sent, CPU readings then.
    timed_from: Option<(u64, Instant, u64, u64)>,
    timed_done: u64,
    last_response: Option<Instant>,
    next_id: u64,
    /// Per id: 0 = not sent, 1 = outstanding, 2 = answered; and its event size.
    status: Vec<(u8, u8)>,
    connections: u64,
    result: RunResult,
}

/// Spawns `f` against a fresh generator, runs `plan` (empty: stop at the first `/next`).
/// With `callgrind_out`, under callgrind writing that file; the function then gets SIGTERM
/// at the end (callgrind writes its profile then) instead of SIGKILL.
fn run_function(
    f: &Function,
    plan: &[Phase],
    events: &Arc<Events>,
    pinned: Pin,
    callgrind_out: Option<&Path>,
) -> io::Result<RunResult> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let mut command = match callgrind_out {
        Some(out) => {
            let mut c = Command::new("valgrind");
            c.arg("--tool=callgrind")
                .arg("-q")
                .arg(format!("--callgrind-out-file={}", out.display()))
                .arg(&f.program);
            c
        }
        None => Command::new(&f.program),
    };
    command
        .args(&f.args)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench-echo")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench-echo")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("_HANDLER", "bootstrap")
        .envs(f.env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(match f.log_sink {
            None => Stdio::inherit(),
            Some(LogSink::Null) => Stdio::null(),
            Some(LogSink::Pipe) => Stdio::piped(),
        });
    let run = Arc::new(Run {
        plan: plan.to_vec(),
        events: Arc::clone(events),
        child_pid: Mutex::new(None),
        state: Mutex::new(RunState::default()),
        done: Condvar::new(),
        stop: AtomicBool::new(false),
    });
    let acceptor = {
        let run = Arc::clone(&run);
        std::thread::spawn(move || accept_loop(&listener, &run))
    };
    // The child inherits the spawning thread's CPU set: CPU 0 for it, back to CPU 1 for us.
    if pinned == Pin::Split {
        set_cpu(0);
    }
    let spawned_at = Instant::now();
    let child = command.spawn();
    if pinned == Pin::Split {
        set_cpu(1);
    }
    let mut child = child?;
    *run.child_pid.lock().expect("lock") = Some(child.id());
    // Drained on the generator's CPU, as Lambda's log pipe is read by another process.
    let drain = child
        .stderr
        .take()
        .map(|stderr| std::thread::spawn(move || drain_stderr(stderr)));

    let budget = Duration::from_secs(if callgrind_out.is_some() { 900 } else { 60 })
        + plan.iter().map(|p| p.duration * 10).sum::<Duration>();
    let outcome = wait_done(&run, &mut child, budget);
    let rss_peak = vm_hwm(child.id());
    if callgrind_out.is_some() {
        terminate(&mut child, Duration::from_secs(120));
    }
    let _ = child.kill();
    let _ = child.wait();
    let drained = drain.and_then(|d| d.join().ok()).unwrap_or_default();
    run.stop.store(true, Ordering::SeqCst);
    let _ = TcpStream::connect(addr);
    let _ = acceptor.join();

    let mut state = run.state.lock().expect("lock");
    let first = state.first_next;
    let mut result = std::mem::take(&mut state.result);
    result.cold_start_ms = first.map_or(f64::NAN, |t| (t - spawned_at).as_secs_f64() * 1e3);
    result.rss_peak_kib = rss_peak.unwrap_or(0);
    result.connections = state.connections;
    result.invocations = state.next_id;
    result.lost = state.status.iter().filter(|s| s.0 == 1).count() as u64;
    (
        result.stderr_lines,
        result.stderr_bytes,
        result.stderr_first,
    ) = drained;
    if let Err(why) = outcome {
        eprintln!("bench: {}: {why}", f.name);
        result.lost += 1;
    }
    Ok(result)
}

/// Reads `stderr` to its end: (lines, bytes, the first line).
fn drain_stderr(mut stderr: std::process::ChildStderr) -> (u64, u64, String) {
    let mut buf = vec![0; 64 * 1024];
    let (mut lines, mut bytes) = (0, 0);
    let mut first = Vec::new();
    let mut first_done = false;
    while let Ok(n) = stderr.read(&mut buf) {
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        lines += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
        bytes += n as u64;
        if !first_done {
            let end = chunk.iter().position(|&b| b == b'\n');
            first.extend_from_slice(&chunk[..end.unwrap_or(n)]);
            first_done = end.is_some() || first.len() >= 400;
        }
    }
    (lines, bytes, String::from_utf8_lossy(&first).into_owned())
}

/// Sends SIGTERM and waits up to `grace` for `child` to exit.
fn terminate(child: &mut Child, grace: Duration) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return;
    };
    let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !matches!(child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `--callgrind`: instructions per invocation, by differences of fixed-length runs.
fn run_callgrind(
    cli: &Cli,
    functions: &[Function],
    events: &Arc<Events>,
    pinned: Pin,
    dir: &Path,
) -> io::Result<bool> {
    std::fs::create_dir_all(dir)?;
    let n1 = (cli.callgrind_invocations / 4).max(50);
    let n2 = n1 + cli.callgrind_invocations.max(1);
    let large = cli.callgrind_large;
    let phase = |size, n| Phase {
        size,
        warmup: 0,
        min_timed: n,
        duration: Duration::ZERO,
    };
    let mut clean = true;
    // Per function: (Ir of N₁ small, Ir of N₂ small, Ir of N₁ small + L large).
    let mut totals = Vec::new();
    // Per function: the stderr lines per 64 B invocation (longer run − shorter run), if drained.
    let mut stderr = Vec::new();
    for f in functions {
        let mut ir = |tag: &str, plan: &[Phase]| -> io::Result<(Option<u64>, u64)> {
            let out = dir.join(format!("{}-{tag}.out", f.slug));
            let _ = std::fs::remove_file(&out);
            eprintln!("bench: callgrind: {} ({tag})", f.name);
            let r = run_function(
                f,
                plan,
                f.events.as_ref().unwrap_or(events),
                pinned,
                Some(&out),
            )?;
            let expected: u64 = plan.iter().map(|p| p.min_timed).sum();
            if r.lost + r.duplicated + r.wrong > 0 || r.invocations != expected {
                eprintln!(
                    "bench: {} ({tag}): {} invocations of {expected}, {} lost, {} duplicated, {} wrong",
                    f.name, r.invocations, r.lost, r.duplicated, r.wrong
                );
                clean = false;
            }
            Ok((callgrind_total(&out), r.stderr_lines))
        };
        let (a, a_lines) = ir("short", &[phase(0, n1)])?;
        let (b, b_lines) = ir("long", &[phase(0, n2)])?;
        let c = if large > 0 && f.log_sink.is_none() {
            ir("large", &[phase(0, n1), phase(1, large)])?.0
        } else {
            None
        };
        totals.push((a, b, c));
        stderr.push(
            (f.log_sink == Some(LogSink::Pipe))
                .then(|| b_lines.saturating_sub(a_lines) as f64 / (n2 - n1) as f64),
        );
    }
    let small = |i: usize| -> Option<f64> {
        let (a, b, _) = totals[i];
        Some((b? as f64 - a? as f64) / (n2 - n1) as f64)
    };
    let big = |i: usize| -> Option<f64> {
        let (a, _, c) = totals[i];
        (large > 0).then_some(())?;
        Some((c? as f64 - a? as f64) / large as f64)
    };
    let find = |name: &str| functions.iter().position(|f| f.name.starts_with(name));
    let (floor, floor_json, official) = (find("floor"), find("floor+JSON"), find("official"));
    let ratio = |x: Option<f64>, base: Option<f64>| match (x, base) {
        (Some(x), Some(b)) if b > 0.0 => format!("{:.2}×", x / b),
        _ => "–".into(),
    };
    let count = |x: Option<f64>| x.map_or("–".into(), |x| format!("{x:.0}"));
    let mut o = String::new();
    let _ = writeln!(o, "\n## Instructions per invocation (callgrind)\n");
    let _ = writeln!(
        o,
        "User-space instructions (valgrind callgrind `Ir`; the kernel is not counted): \
         (run of {n2} − run of {n1}) / {} for 64 B events, (run of {n1} + {large} × 256 KiB − run of {n1}) / {large} \
         for 256 KiB events. Start-up + exit = run of {n1} − {n1} × per-invocation. Profiles: `{}`.",
        n2 - n1,
        dir.display()
    );
    let _ = writeln!(
        o,
        "\n| function | Ir / 64 B invocation | × floor | × official | Ir / 256 KiB invocation | × floor+JSON | Ir start-up + exit |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|");
    for (i, f) in functions.iter().enumerate() {
        let start = totals[i]
            .0
            .zip(small(i))
            .map(|(a, s)| a as f64 - s * n1 as f64);
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            f.name,
            count(small(i)),
            ratio(small(i), floor.and_then(small)),
            ratio(small(i), official.and_then(small)),
            count(big(i)),
            ratio(big(i), floor_json.and_then(big)),
            count(start),
        );
    }
    if functions.iter().any(|f| f.log_sink.is_some()) {
        let _ = writeln!(o, "\n### Log lines (callgrind)\n");
        let _ = writeln!(
            o,
            "Ir per 64 B invocation minus the same binary's with no record (the record's cost), and minus \
             the plain echo's of the same adapter. The write itself is a syscall: its kernel side is not counted."
        );
        let _ = writeln!(
            o,
            "\n| function | Ir / 64 B invocation | Δ no record | Δ plain echo | stderr lines/inv |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|");
        let delta = |x: Option<f64>, base: Option<f64>| {
            x.zip(base)
                .map_or("–".into(), |(x, b)| format!("{:+.0}", x - b))
        };
        for (bin, plain) in LOG_BINS {
            let none = find(&log_name(bin, LOG_MODES[0].0));
            let plain = functions.iter().position(|f| f.name == plain);
            for (what, ..) in LOG_MODES {
                let Some(i) = find(&log_name(bin, what)) else {
                    continue;
                };
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} |",
                    functions[i].name,
                    count(small(i)),
                    delta(small(i), none.and_then(small)),
                    delta(small(i), plain.and_then(small)),
                    stderr[i].map_or("–".into(), |l| format!("{l:.3}")),
                );
            }
        }
    }
    if !clean {
        let _ = writeln!(
            o,
            "\n**Lost, duplicated or wrong responses: the run is not valid.**"
        );
    }
    print!("{o}");
    Ok(clean)
}

/// `--check-budget` / `--write-budget`: the user-space instructions per 64 B invocation of the
/// budgeted functions (callgrind, (run of N₁ + N − run of N₁) / N), against the budget file or
/// written to it.
fn run_budget(
    cli: &Cli,
    functions: &[Function],
    events: &Arc<Events>,
    pinned: Pin,
    target: &Path,
) -> io::Result<bool> {
    let dir = target.join("bench-budget");
    std::fs::create_dir_all(&dir)?;
    let (n1, n2) = (BUDGET_BASE, BUDGET_BASE + BUDGET_INVOCATIONS);
    let mut measured = Vec::new();
    let mut clean = true;
    for f in functions {
        let mut total = |tag: &str, n: u64| -> io::Result<Option<u64>> {
            let out = dir.join(format!("{}-{tag}.out", f.slug));
            let _ = std::fs::remove_file(&out);
            eprintln!("bench: callgrind: {} ({n} invocations)", f.name);
            let plan = [Phase {
                size: 0,
                warmup: 0,
                min_timed: n,
                duration: Duration::ZERO,
            }];
            let r = run_function(
                f,
                &plan,
                f.events.as_ref().unwrap_or(events),
                pinned,
                Some(&out),
            )?;
            if r.lost + r.duplicated + r.wrong > 0 || r.invocations != n {
                eprintln!(
                    "bench: {} ({tag}): {} invocations of {n}, {} lost, {} duplicated, {} wrong",
                    f.name, r.invocations, r.lost, r.duplicated, r.wrong
                );
                clean = false;
            }
            Ok(callgrind_total(&out))
        };
        let (a, b) = (total("short", n1)?, total("long", n2)?);
        let per = a
            .zip(b)
            .map(|(a, b)| (b.saturating_sub(a) as f64 / (n2 - n1) as f64).round() as u64);
        if per.is_none() {
            eprintln!(
                "bench: {}: no callgrind totals in {}",
                f.name,
                dir.display()
            );
            clean = false;
        }
        measured.push((f.name, per));
    }
    let rewrite = "cargo run --release -p lambda-bench --bin bench -- --write-budget";
    if !clean {
        println!("\n**The budget run is not valid (see above); nothing was compared or written.**");
        return Ok(false);
    }
    let file = &cli.budget;
    let old: Option<Value> = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let tolerance = old
        .as_ref()
        .and_then(|v| v.get("tolerance")?.as_f64())
        .unwrap_or(0.10);
    if cli.write_budget {
        let commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let mut figures = serde_json::Map::new();
        for (name, per) in &measured {
            figures.insert((*name).to_owned(), Value::from(per.unwrap_or(0)));
        }
        let budget = serde_json::json!({
            "about": format!(
                "User-space instructions (callgrind Ir) per 64 B invocation of the release builds; \
                 {HTTP_ECHO} gets a 1456-byte HTTP API payload 2.0 event instead. CI runs `bench \
                 --check-budget` and fails when a figure grows by more than `tolerance`. Rewrite \
                 with `{rewrite}` when a change costs instructions on purpose."
            ),
            "measured_at": commit,
            "invocations": BUDGET_INVOCATIONS,
            "tolerance": tolerance,
            "ir_per_64b_invocation": figures,
        });
        let mut text = serde_json::to_string_pretty(&budget).map_err(io::Error::other)?;
        text.push('\n');
        std::fs::write(file, text)?;
        println!("\n## Instruction budget written to `{}`\n", file.display());
        println!("| function | Ir / invocation |\n|---|---:|");
        for (name, per) in &measured {
            println!("| {name} | {} |", per.unwrap_or(0));
        }
        return Ok(true);
    }
    let Some(figures) = old
        .as_ref()
        .and_then(|v| v.get("ir_per_64b_invocation")?.as_object())
    else {
        println!(
            "\n**No budget in `{}` (missing or not JSON with `ir_per_64b_invocation`): write it with `{rewrite}`.**",
            file.display()
        );
        return Ok(false);
    };
    let mut ok = true;
    println!(
        "\n## Instruction budget (`{}`, tolerance +{:.0} %)\n",
        file.display(),
        tolerance * 100.0
    );
    println!(
        "| function | budget Ir / inv | measured Ir / inv | × budget | |\n|---|---:|---:|---:|---|"
    );
    for (name, per) in &measured {
        let per = per.unwrap_or(0);
        let Some(budget) = figures.get(*name).and_then(Value::as_u64) else {
            println!("| {name} | – | {per} | – | **not in the budget** |");
            ok = false;
            continue;
        };
        let ratio = per as f64 / budget.max(1) as f64;
        let verdict = if ratio > 1.0 + tolerance {
            ok = false;
            "**over budget**"
        } else if ratio < 1.0 - tolerance {
            "under: tighten the budget"
        } else {
            "ok"
        };
        println!("| {name} | {budget} | {per} | {ratio:.3}× | {verdict} |");
    }
    if !ok {
        println!(
            "\n**Instruction budget exceeded.** A function now runs more than {:.0} % more user-space \
             instructions per invocation than `{}` allows. Find where they go with \
             `callgrind_annotate --inclusive=yes` on the profiles in `{}` (or `bench --callgrind`, \
             which builds with line tables); if the cost is deliberate, rewrite the budget with \
             `{rewrite}` and commit the file, saying why.",
            tolerance * 100.0,
            file.display(),
            dir.display()
        );
    }
    Ok(ok)
}

/// The `totals:` (or `summary:`) instruction count of a callgrind profile.
fn callgrind_total(out: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(out).ok()?;
    text.lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Waits until the generator has run the plan, the child exits, or the budget is spent.
fn wait_done(run: &Run, child: &mut Child, budget: Duration) -> Result<(), String> {
    let deadline = Instant::now() + budget;
    let mut state = run.state.lock().expect("lock");
    while !state.finished {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the function exited early: {status}"));
        }
        if Instant::now() > deadline {
            return Err("timed out".into());
        }
        state = run
            .done
            .wait_timeout(state, Duration::from_millis(50))
            .expect("lock")
            .0;
    }
    Ok(())
}

fn accept_loop(listener: &TcpListener, run: &Arc<Run>) {
    for stream in listener.incoming() {
        if run.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let run = Arc::clone(run);
        std::thread::spawn(move || {
            let served = serve(stream, &run);
            // This thread's CPU time leaves /proc/self/task with it: keep it in the total.
            if let Some(ns) = thread_cpu_ns(Path::new("/proc/thread-self/schedstat")) {
                EXITED_CPU_NS.fetch_add(ns, Ordering::SeqCst);
            }
            if let Err(err) = served
                && !run.stop.load(Ordering::SeqCst)
                && err.kind() != io::ErrorKind::UnexpectedEof
            {
                eprintln!("bench: generator connection: {err}");
            }
        });
    }
}

/// A parsed request head.
struct Request {
    head_len: usize,
    get: bool,
    path: (usize, usize),
    content_length: Option<usize>,
    chunked: bool,
}

/// The Runtime API on one connection.
fn serve(mut stream: TcpStream, run: &Run) -> io::Result<()> {
    let mut counted = false;
    stream.set_nodelay(true)?;
    let mut conn = Conn {
        buf: vec![0; 64 * 1024],
        start: 0,
        end: 0,
    };
    let mut out = Vec::with_capacity(128 * 1024);
    let mut chunked_body = Vec::new();
    let accepted: &[u8] = b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}";
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
        + 3_600_000;
    loop {
        let req = conn.read_head(&mut stream)?;
        let head = &conn.buf[conn.start..conn.start + req.head_len];
        let path = &head[req.path.0..req.path.1];
        if path.windows(12).any(|w| w == b"/2020-01-01/") {
            // The Extensions API (the runtime's own extension registering): answered as by a
            // Runtime API with extensions disabled, so the run measures invocations only.
            let len = req.content_length.unwrap_or(0);
            conn.read_exact_from(&mut stream, req.head_len + len)?;
            conn.consume(req.head_len + len);
            stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?;
            continue;
        }
        // Counted once it carries a Runtime API request (the extension's have their own).
        if !counted {
            counted = true;
            run.state.lock().expect("lock").connections += 1;
        }
        if req.get {
            if !path.ends_with(b"/runtime/invocation/next") {
                return Err(io::Error::other(format!(
                    "unexpected GET {}",
                    String::from_utf8_lossy(path)
                )));
            }
            conn.consume(req.head_len);
            let Some((id, size)) = next_invocation(run) else {
                continue; // finished: the main thread kills the function
            };
            let body = &run.events.bodies[size];
            out.clear();
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Lambda-Runtime-Aws-Request-Id: {id:016x}\r\n\
                 Lambda-Runtime-Deadline-Ms: {deadline_ms}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:bench-echo\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\n\
                 Content-Length: {}\r\n\r\n",
                body.len()
            )?;
            if body.len() <= 64 * 1024 {
                out.extend_from_slice(body);
                stream.write_all(&out)?;
            } else {
                stream.write_all(&out)?;
                stream.write_all(body)?;
            }
            continue;
        }
        // POST: .../invocation/{id}/response, .../invocation/{id}/error, .../init/error.
        let id = parse_post_path(path);
        let is_response = path.ends_with(b"/response");
        let head_len = req.head_len;
        let body: &[u8] = if req.chunked {
            conn.consume(head_len);
            conn.read_chunked(&mut stream, &mut chunked_body)?;
            &chunked_body
        } else {
            let len = req.content_length.unwrap_or(0);
            conn.read_exact_from(&mut stream, head_len + len)?;
            &conn.buf[conn.start + head_len..conn.start + head_len + len]
        };
        // Answer first, check after: the function goes on while we compare.
        stream.write_all(accepted)?;
        let now = Instant::now();
        record_response(run, id, is_response, body, now);
        if !req.chunked {
            conn.consume(head_len + req.content_length.unwrap_or(0));
        }
    }
}

/// The invocation id in `/2018-06-01/runtime/invocation/{id}/...`, if it is one of ours.
fn parse_post_path(path: &[u8]) -> Option<u64> {
    let rest = path.split(|&b| b == b'/').rev().nth(1)?;
    u64::from_str_radix(std::str::from_utf8(rest).ok()?, 16).ok()
}

/// Picks the next invocation: `(id, event size)`, or `None` when the plan is done.
fn next_invocation(run: &Run) -> Option<(u64, usize)> {
    let now = Instant::now();
    let mut guard = run.state.lock().expect("lock");
    let st = &mut *guard;
    if st.first_next.is_none() {
        st.first_next = Some(now);
    }
    loop {
        let Some(phase) = run.plan.get(st.phase) else {
            st.finished = true;
            run.done.notify_all();
            return None;
        };
        if let Some((_, t0, gen0, fn0)) = st.timed_from
            && st.timed_done >= phase.min_timed
            && now - t0 >= phase.duration
        {
            // Close the phase.
            let wall = st.last_response.unwrap_or(now) - t0;
            let n = st.timed_done as f64;
            let gen_cpu = process_cpu_ns().saturating_sub(gen0) as f64;
            let pid = run.child_pid.lock().expect("lock").unwrap_or(0);
            let fn_cpu = proc_cpu_ns(pid).unwrap_or(0).saturating_sub(fn0) as f64;
            let r = &mut st.result;
            r.per_sec.push(n / wall.as_secs_f64());
            r.gen_cpu_us.push(gen_cpu / n / 1e3);
            r.gen_util.push(gen_cpu / (now - t0).as_nanos() as f64);
            r.fn_cpu_us.push(fn_cpu / n / 1e3);
            if st.phase == 0 {
                r.rss_small_kib = vm_hwm(pid).unwrap_or(0);
            }
            st.phase += 1;
            st.phase_sent = 0;
            st.timed_from = None;
            st.timed_done = 0;
            continue;
        }
        let id = st.next_id;
        st.next_id += 1;
        if st.phase_sent == phase.warmup {
            let pid = run.child_pid.lock().expect("lock").unwrap_or(0);
            st.timed_from = Some((id, now, process_cpu_ns(), proc_cpu_ns(pid).unwrap_or(0)));
        }
        st.phase_sent += 1;
        st.status.push((1, phase.size as u8));
        return Some((id, phase.size));
    }
}

/// Checks one posted result against the event it answers.
fn record_response(run: &Run, id: Option<u64>, is_response: bool, body: &[u8], now: Instant) {
    let mut guard = run.state.lock().expect("lock");
    let st = &mut *guard;
    let Some(slot) = id.and_then(|id| st.status.get_mut(id as usize)) else {
        st.result.wrong += 1;
        return;
    };
    if slot.0 == 2 {
        st.result.duplicated += 1;
        return;
    }
    slot.0 = 2;
    let size = slot.1 as usize;
    if !is_response {
        st.result.wrong += 1;
        eprintln!(
            "bench: error posted: {}",
            String::from_utf8_lossy(&body[..body.len().min(300)])
        );
    } else if run.events.http {
        let ok = serde_json::from_slice::<Value>(body)
            .is_ok_and(|v| v.get("statusCode").and_then(Value::as_u64) == Some(200));
        if !ok {
            st.result.wrong += 1;
        }
    } else if body != run.events.expected[size] {
        match serde_json::from_slice::<Value>(body) {
            Ok(v) if v == run.events.values[size] => st.result.reordered += 1,
            _ => st.result.wrong += 1,
        }
    }
    if let Some((first, ..)) = st.timed_from
        && id.is_some_and(|id| id >= first)
    {
        st.timed_done += 1;
        st.last_response = Some(now);
    }
}

/// A read buffer over one connection: unread bytes are `buf[start..end]`.
struct Conn {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    fn read_head(&mut self, stream: &mut TcpStream) -> io::Result<Request> {
        let mut scanned = 0;
        let head_len = loop {
            let unread = &self.buf[self.start..self.end];
            if let Some(at) = unread
                .get(scanned..)
                .and_then(|b| b.windows(4).position(|w| w == b"\r\n\r\n"))
            {
                break scanned + at + 4;
            }
            scanned = unread.len().saturating_sub(3);
            self.fill(stream, 0)?;
        };
        let head = &self.buf[self.start..self.start + head_len];
        let line_end = head.iter().position(|&b| b == b'\r').unwrap_or(head.len());
        let mut parts = head[..line_end].split(|&b| b == b' ');
        let method = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        let path_start = path.as_ptr() as usize - head.as_ptr() as usize;
        let mut content_length = None;
        let mut chunked = false;
        for line in head[line_end..].split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            let (name, value) = (line[..colon].trim_ascii(), line[colon + 1..].trim_ascii());
            if name.eq_ignore_ascii_case(b"content-length") {
                content_length = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                chunked = value.eq_ignore_ascii_case(b"chunked");
            }
        }
        Ok(Request {
            head_len,
            get: method == b"GET",
            path: (path_start, path_start + path.len()),
            content_length,
            chunked,
        })
    }

    /// Makes `buf[start..start + n]` readable.
    fn read_exact_from(&mut self, stream: &mut TcpStream, n: usize) -> io::Result<()> {
        while self.end - self.start < n {
            self.fill(stream, n)?;
        }
        Ok(())
    }

    /// Reads a chunked body (from `start`) into `out`, consuming it and its trailers.
    fn read_chunked(&mut self, stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        loop {
            let line = self.read_line(stream)?;
            let text = std::str::from_utf8(&self.buf[self.start..self.start + line - 2])
                .map_err(io::Error::other)?;
            let size = usize::from_str_radix(text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(io::Error::other)?;
            self.consume(line);
            if size == 0 {
                loop {
                    let line = self.read_line(stream)?;
                    self.consume(line);
                    if line == 2 {
                        return Ok(());
                    }
                }
            }
            self.read_exact_from(stream, size + 2)?;
            out.extend_from_slice(&self.buf[self.start..self.start + size]);
            self.consume(size + 2);
        }
    }

    /// The length of the next line including `\r\n`.
    fn read_line(&mut self, stream: &mut TcpStream) -> io::Result<usize> {
        loop {
            if let Some(at) = self.buf[self.start..self.end]
                .windows(2)
                .position(|w| w == b"\r\n")
            {
                return Ok(at + 2);
            }
            self.fill(stream, 0)?;
        }
    }

    /// Reads more bytes, making room for a message of `want` bytes from `start`.
    fn fill(&mut self, stream: &mut TcpStream, want: usize) -> io::Result<()> {
        if self.end == self.buf.len() || self.start + want > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() || want > self.buf.len() {
                let grown = want.max(self.buf.len() * 2);
                self.buf.resize(grown, 0);
            }
        }
        match stream.read(&mut self.buf[self.end..])? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.end += n;
                Ok(())
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

/// CPU time of this process's connection threads that have ended, ns.
static EXITED_CPU_NS: AtomicU64 = AtomicU64::new(0);

/// CPU time of all of this process's threads, ended ones included, ns
/// (`/proc/self/task/*/schedstat`).
fn process_cpu_ns() -> u64 {
    tasks_cpu_ns(Path::new("/proc/self/task")).unwrap_or(0) + EXITED_CPU_NS.load(Ordering::SeqCst)
}

/// The on-CPU time in one `schedstat` file, ns.
fn thread_cpu_ns(schedstat: &Path) -> Option<u64> {
    std::fs::read_to_string(schedstat)
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of all of process `pid`'s threads, ns.
fn proc_cpu_ns(pid: u32) -> Option<u64> {
    tasks_cpu_ns(&Path::new("/proc").join(pid.to_string()).join("task"))
}

fn tasks_cpu_ns(dir: &Path) -> Option<u64> {
    let mut total = 0;
    for task in std::fs::read_dir(dir).ok()? {
        total += thread_cpu_ns(&task.ok()?.path().join("schedstat")).unwrap_or(0);
    }
    Some(total)
}

/// Peak resident set size of `pid`, KiB (`VmHWM`).
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The size of a stripped copy of `program` (`strip` if it exists, else the file as built).
fn stripped_size(program: &Path) -> Option<u64> {
    let copy = std::env::temp_dir().join(format!("bench-strip-{}", std::process::id()));
    std::fs::copy(program, &copy).ok()?;
    let _ = Command::new("strip")
        .arg(&copy)
        .stderr(Stdio::null())
        .status();
    let size = std::fs::metadata(&copy).ok()?.len();
    let _ = std::fs::remove_file(&copy);
    Some(size)
}

/// Median, min, max.
fn stats(values: &[f64]) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

struct Report<'a> {
    functions: &'a [Function],
    results: &'a [Vec<RunResult>],
    colds: &'a [Vec<f64>],
    sizes: &'a [Option<u64>],
}

impl Report<'_> {
    fn index(&self, name: &str) -> Option<usize> {
        self.functions.iter().position(|f| f.name.starts_with(name))
    }

    fn per_sec(&self, i: usize, size: usize) -> Option<(f64, f64, f64)> {
        let v: Vec<f64> = self.results[i]
            .iter()
            .filter_map(|r| r.per_sec.get(size).copied())
            .collect();
        stats(&v)
    }

    fn field(
        &self,
        i: usize,
        size: usize,
        f: impl Fn(&RunResult) -> &Vec<f64>,
    ) -> Option<(f64, f64, f64)> {
        let v: Vec<f64> = self.results[i]
            .iter()
            .filter_map(|r| f(r).get(size).copied())
            .collect();
        stats(&v)
    }

    fn cold(&self, i: usize) -> Option<(f64, f64, f64)> {
        stats(&self.colds[i])
    }

    fn rss(&self, i: usize, small: bool) -> Option<(f64, f64, f64)> {
        let v: Vec<f64> = self.results[i]
            .iter()
            .map(|r| {
                (if small {
                    r.rss_small_kib
                } else {
                    r.rss_peak_kib
                }) as f64
            })
            .collect();
        stats(&v)
    }

    /// Prints the tables; returns false if any response was lost, duplicated or wrong.
    fn print(
        &self,
        pinned: Pin,
        rounds: usize,
        seconds: f64,
        elapsed: Duration,
        build_secs: &BTreeMap<String, f64>,
        events: &Events,
    ) -> bool {
        let floor = self.index("floor");
        let floor_json = self.index("floor+JSON");
        let official = self.index("official");
        let ratio =
            |x: Option<f64>, base: Option<usize>, f: &dyn Fn(usize) -> Option<f64>| -> String {
                match (x, base.and_then(f)) {
                    (Some(x), Some(b)) if b > 0.0 => format!("{:.2}×", x / b),
                    _ => "–".into(),
                }
            };
        let mut o = String::new();
        let _ = writeln!(o, "\n## Benchmark\n");
        let _ = writeln!(
            o,
            "{rounds} interleaved rounds, {seconds} s per event size per round; median [min–max] over rounds. {}. \
             Events: JSON, sorted keys, {} / {} / {} bytes.",
            match pinned {
                Pin::Split => "Pinned: function on CPU 0, load generator on CPU 1 (`--pin split`)",
                Pin::Same => "Pinned: function and load generator both on CPU 0 (`--pin same`)",
                Pin::None => "Not pinned",
            },
            events.bodies[0].len(),
            events.bodies[1].len(),
            events.bodies[2].len(),
        );
        for (size, (label, _)) in SIZES.iter().enumerate() {
            let _ = writeln!(o, "\n### Invocations per second, {label} events\n");
            let _ = writeln!(
                o,
                "| function | inv/s | min–max | × floor | × floor+JSON | × official | fn CPU µs/inv | generator CPU µs/inv | generator busy |"
            );
            let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            for (i, f) in self.functions.iter().enumerate() {
                let Some((m, lo, hi)) = self.per_sec(i, size) else {
                    let _ = writeln!(o, "| {} | – | | | | | | | |", f.name);
                    continue;
                };
                let base = |j: usize| self.per_sec(j, size).map(|s| s.0);
                let gen_cpu = self
                    .field(i, size, |r| &r.gen_cpu_us)
                    .map_or(f64::NAN, |s| s.0);
                let gen_util = self
                    .field(i, size, |r| &r.gen_util)
                    .map_or(f64::NAN, |s| s.0);
                let fn_cpu = self
                    .field(i, size, |r| &r.fn_cpu_us)
                    .map_or(f64::NAN, |s| s.0);
                let _ = writeln!(
                    o,
                    "| {} | {} | {}–{} | {} | {} | {} | {fn_cpu:.1} | {gen_cpu:.1} | {:.0}% |",
                    f.name,
                    fmt_rate(m),
                    fmt_rate(lo),
                    fmt_rate(hi),
                    ratio(Some(m), floor, &base),
                    ratio(Some(m), floor_json, &base),
                    ratio(Some(m), official, &base),
                    gen_util * 100.0,
                );
            }
        }
        let _ = writeln!(
            o,
            "\n### Cold start, size, memory, connections, correctness\n"
        );
        let _ = writeln!(
            o,
            "| function | cold start ms (spawn → first GET /next) | min–max | × floor | × official | stripped binary KiB | peak RSS 64 B run KiB | peak RSS whole run KiB | TCP connections per run | invocations | lost | duplicated | wrong |"
        );
        let _ = writeln!(
            o,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let mut clean = true;
        for (i, f) in self.functions.iter().enumerate() {
            let cold = self.cold(i);
            let base = |j: usize| self.cold(j).map(|s| s.0);
            let rs = &self.results[i];
            let sum = |g: fn(&RunResult) -> u64| rs.iter().map(g).sum::<u64>();
            let (lost, dup, wrong) = (sum(|r| r.lost), sum(|r| r.duplicated), sum(|r| r.wrong));
            clean &= lost == 0 && dup == 0 && wrong == 0;
            let conns: Vec<u64> = rs.iter().map(|r| r.connections).collect();
            let (cmin, cmax) = (
                conns.iter().min().copied().unwrap_or(0),
                conns.iter().max().copied().unwrap_or(0),
            );
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {lost} | {dup} | {wrong} |",
                f.name,
                cold.map_or("–".into(), |c| format!("{:.2}", c.0)),
                cold.map_or("–".into(), |c| format!("{:.2}–{:.2}", c.1, c.2)),
                ratio(cold.map(|c| c.0), floor, &base),
                ratio(cold.map(|c| c.0), official, &base),
                self.sizes[i].map_or("–".into(), |s| format!("{:.0}", s as f64 / 1024.0)),
                self.rss(i, true).map_or("–".into(), |r| format!(
                    "{:.0} [{:.0}–{:.0}]",
                    r.0, r.1, r.2
                )),
                self.rss(i, false).map_or("–".into(), |r| format!(
                    "{:.0} [{:.0}–{:.0}]",
                    r.0, r.1, r.2
                )),
                if cmin == cmax {
                    cmin.to_string()
                } else {
                    format!("{cmin}–{cmax}")
                },
                sum(|r| r.invocations),
            );
        }
        let reordered: u64 = self.results.iter().flatten().map(|r| r.reordered).sum();
        let _ = writeln!(
            o,
            "\nResponses that matched only semantically (key order or formatting differed): {reordered}."
        );

        self.print_log(&mut o);

        // Targets.
        let _ = writeln!(o, "\n### Targets\n");
        let _ = writeln!(o, "| function | target | measured | met |");
        let _ = writeln!(o, "|---|---|---:|---|");
        let mut target = |name: &str,
                          what: &str,
                          value: Option<f64>,
                          limit: Option<f64>,
                          unit: &str,
                          at_least: bool| {
            let met = match (value, limit) {
                (Some(v), Some(l)) => {
                    if (at_least && v >= l) || (!at_least && v <= l) {
                        "yes"
                    } else {
                        "**no**"
                    }
                }
                _ => "n/a",
            };
            let shown = value.map_or("–".into(), |v| format!("{v:.2}{unit}"));
            let _ = writeln!(o, "| {name} | {what} | {shown} | {met} |");
        };
        for ours in ["echo-tokio", "echo-smol", "custom-executor"] {
            let Some(i) = self.index(ours) else { continue };
            let rate =
                |j: Option<usize>, size: usize| j.and_then(|j| self.per_sec(j, size)).map(|s| s.0);
            let r = |num: Option<f64>, den: Option<f64>| num.zip(den).map(|(a, b)| a / b);
            target(
                ours,
                "64 B inv/s ≥ 0.80 × floor",
                r(rate(Some(i), 0), rate(floor, 0)),
                Some(0.80),
                "×",
                true,
            );
            target(
                ours,
                "64 B inv/s ≥ 4 × official",
                r(rate(Some(i), 0), rate(official, 0)),
                Some(4.0),
                "×",
                true,
            );
            for (size, label) in [(1, "256 KiB"), (2, "5 MiB")] {
                target(
                    ours,
                    &format!("{label} inv/s ≥ 0.95 × floor+JSON"),
                    r(rate(Some(i), size), rate(floor_json, size)),
                    Some(0.95),
                    "×",
                    true,
                );
            }
            let cold = |j: Option<usize>| j.and_then(|j| self.cold(j)).map(|s| s.0);
            target(
                ours,
                "cold start ≤ 1.1 × floor",
                r(cold(Some(i)), cold(floor)),
                Some(1.1),
                "×",
                false,
            );
            let kib = self.sizes[i].map(|s| s as f64 / 1024.0);
            match ours {
                "echo-smol" => target(ours, "stripped ≤ 600 KiB", kib, Some(600.0), " KiB", false),
                "echo-tokio" => target(ours, "stripped ≤ 800 KiB", kib, Some(800.0), " KiB", false),
                _ => target(ours, "stripped (no target)", kib, None, " KiB", false),
            }
            target(
                ours,
                "peak RSS, 64 B run ≤ 3 MiB",
                self.rss(i, true).map(|r| r.0 / 1024.0),
                Some(3.0),
                " MiB",
                false,
            );
            let conns = self.results[i]
                .iter()
                .map(|r| r.connections)
                .max()
                .map(|c| c as f64);
            target(
                ours,
                "1 TCP connection per lane per run",
                conns,
                Some(1.0),
                "",
                false,
            );
        }
        if !build_secs.is_empty() {
            let _ = writeln!(
                o,
                "\nBuild (cargo build --release, incremental state as found):"
            );
            for (what, secs) in build_secs {
                let _ = writeln!(o, "- {what}: {secs:.1} s");
            }
        }
        let _ = writeln!(o, "\nBenchmark wall time: {:.0} s.", elapsed.as_secs_f64());
        if !clean {
            let _ = writeln!(
                o,
                "\n**Lost, duplicated or wrong responses: the run is not valid.**"
            );
        }
        print!("{o}");
        clean
    }
}

impl Report<'_> {
    /// `--log`'s table: each log row against the same binary logging no record.
    fn print_log(&self, o: &mut String) {
        if !self.functions.iter().any(|f| f.log_sink.is_some()) {
            return;
        }
        let sink = match self.functions.iter().find_map(|f| f.log_sink) {
            Some(LogSink::Pipe) => "a pipe drained by a thread of the bench (on its CPU)",
            _ => "/dev/null",
        };
        let _ = writeln!(o, "\n### Log lines, 64 B events\n");
        let _ = writeln!(
            o,
            "One record per invocation, against the same binary logging none; the function's stderr is {sink}. \
             Δ fn CPU = its CPU per invocation minus the no-record row's."
        );
        let _ = writeln!(
            o,
            "\n| function | inv/s | × no record | × plain echo | fn CPU µs/inv | Δ fn CPU µs/inv | stderr lines/inv | bytes/line |"
        );
        let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|");
        let mut samples = Vec::new();
        for (bin, plain) in LOG_BINS {
            let none = self.index(&log_name(bin, LOG_MODES[0].0));
            let plain = self.functions.iter().position(|f| f.name == plain);
            let rate = |j: Option<usize>| j.and_then(|j| self.per_sec(j, 0)).map(|s| s.0);
            let cpu = |j: Option<usize>| {
                j.and_then(|j| self.field(j, 0, |r| &r.fn_cpu_us))
                    .map(|s| s.0)
            };
            for (what, ..) in LOG_MODES {
                let Some(i) = self.index(&log_name(bin, what)) else {
                    continue;
                };
                let rs = &self.results[i];
                let lines: u64 = rs.iter().map(|r| r.stderr_lines).sum();
                let bytes: u64 = rs.iter().map(|r| r.stderr_bytes).sum();
                let invocations: u64 = rs.iter().map(|r| r.invocations).sum();
                let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b > 0.0 => format!("{:.3}×", a / b),
                    _ => "–".into(),
                };
                let piped = self.functions[i].log_sink == Some(LogSink::Pipe);
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} | {} |",
                    self.functions[i].name,
                    rate(Some(i)).map_or("–".into(), fmt_rate),
                    ratio(rate(Some(i)), rate(none)),
                    ratio(rate(Some(i)), rate(plain)),
                    cpu(Some(i)).map_or("–".into(), |c| format!("{c:.2}")),
                    cpu(Some(i))
                        .zip(cpu(none))
                        .map_or("–".into(), |(a, b)| format!("{:+.2}", a - b)),
                    if piped && invocations > 0 {
                        format!("{:.3}", lines as f64 / invocations as f64)
                    } else {
                        "–".into()
                    },
                    if piped && lines > 0 {
                        format!("{:.0}", bytes as f64 / lines as f64)
                    } else {
                        "–".into()
                    },
                );
                if let Some(r) = rs.iter().find(|r| !r.stderr_first.is_empty()) {
                    samples.push((self.functions[i].name, r.stderr_first.clone()));
                }
            }
        }
        for (name, line) in samples {
            let _ = writeln!(o, "\n{name}, first line:\n\n```text\n{line}\n```");
        }
    }
}

fn fmt_rate(x: f64) -> String {
    if x >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}
