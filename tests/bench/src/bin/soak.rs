//! The soak: many invocations of the echo on each adapter through `lambda-emulator`, with
//! concurrent lanes and Runtime API faults injected at random, checking that nothing is lost.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin soak                        # 200,000 per adapter
//! cargo run --release -p lambda-bench --bin soak -- --invocations 5000  # the CI slice
//! cargo run --release -p lambda-bench --bin soak -- --adapter smol --seed 42
//! ```
//!
//! Each invocation carries a unique nonce in its event (`{"i":N,"nonce":"..."}`), which the
//! echo returns. A share of the invocations (`--fault-rate`) gets one fault kind of [`KINDS`]
//! on the Runtime API calls about it (through [`Invoke::fault`]), each with the outcome the
//! runtime's documented behaviour implies; the run checks every invocation against it, and
//! the emulator's records for what the function posted. Faults that make the runtime exit
//! (a 5xx answer, as the Runtime API tells a runtime to exit on one) restart the function, so
//! they come in a tail after the memory figures are taken, at random positions.
//!
//! It prints, per adapter: invocations per second, the faults applied per call and fault
//! variant, the outcomes, the lost / duplicated / misrouted / wrong counts, the restarts and
//! the function's `VmRSS` after the warm-up and at the end of the part without restarts; it
//! exits non-zero if any check fails on any adapter.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lambda_emulator::{
    Emulator, Endpoint, Fault, Invoke, InvokeResult, Options, Outcome, RuntimeCall, Target,
};
use serde_json::{Value, json};

/// Invocations through lambda-emulator under random Runtime API faults.
#[derive(Debug, Parser)]
#[command(name = "soak")]
struct Cli {
    /// Invocations per adapter.
    #[arg(short = 'n', long, default_value_t = 200_000)]
    invocations: usize,

    /// Adapters to run (tokio, smol, custom); all three by default.
    #[arg(long, value_delimiter = ',')]
    adapter: Vec<Adapter>,

    /// Concurrent invocations: the emulator's slots and the function's
    /// `AWS_LAMBDA_MAX_CONCURRENCY`.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,

    /// Concurrent invocations for the custom executor. Its blocking I/O makes lanes wait for
    /// each other (as `examples/src/custom_executor.rs` says): with more than one, a lane
    /// blocked in `/next` holds the others' answers until another event arrives, so once the
    /// queue runs dry they time out. Hence one by default.
    #[arg(long, default_value_t = 1)]
    custom_concurrency: usize,

    /// The share of invocations that get a (non-fatal) fault.
    #[arg(long, default_value_t = 0.1)]
    fault_rate: f64,

    /// Fatal faults (5xx answers: the runtime exits and is restarted), placed at random in
    /// the last twentieth of the run, after the memory figures.
    #[arg(long, default_value_t = 30)]
    restarts: usize,

    /// Invocations before the first memory sample (default: 10,000, or a tenth of the run if
    /// that is less).
    #[arg(long)]
    warmup: Option<usize>,

    /// The largest growth of the function's `VmRSS` allowed between the two samples, KiB.
    #[arg(long, default_value_t = 1024)]
    rss_limit_kib: u64,

    /// The seed of the fault plan (default: from the clock); printed, to repeat a run.
    #[arg(long)]
    seed: Option<u64>,

    /// The invocation timeout the emulator applies, seconds.
    #[arg(long, default_value_t = 10)]
    timeout: u64,

    /// Do not build the examples first (they must exist next to this program).
    #[arg(long)]
    no_build: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Adapter {
    Tokio,
    Smol,
    Custom,
}

impl Adapter {
    fn bin(self) -> &'static str {
        match self {
            Adapter::Tokio => "echo-tokio",
            Adapter::Smol => "echo-smol",
            Adapter::Custom => "custom-executor",
        }
    }
}

/// What an invocation must end as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Its own event back.
    Echo,
    /// An error report the runtime posted, of this type.
    Error(&'static str),
    /// `Sandbox.Timedout` from the emulator.
    TimedOut,
    /// `Runtime.ExitError`: the runtime exited before answering it.
    Exit,
}

/// A fault kind: the faults given to one invocation and what they must lead to.
#[derive(Debug)]
struct Kind {
    name: &'static str,
    faults: fn(&mut Rng) -> Vec<(Target, Fault)>,
    expect: Expect,
    /// The runtime exits (and the emulator restarts it).
    fatal: bool,
}

/// Every fault kind, with its expected outcome as the Runtime API's rules and the runtime's
/// documented behaviour give it (core `lifecycle`: `STATUS_POLICY`, `TRANSITIONS`).
const KINDS: &[Kind] = &[
    // A connection closed unanswered: the runtime reconnects and asks again.
    Kind {
        name: "/next hangup",
        faults: |_| vec![(Target::Next, Fault::Hangup)],
        expect: Expect::Echo,
        fatal: false,
    },
    // The event's head arrived, its body was cut off: the event cannot be run, its error is
    // posted for that request id.
    Kind {
        name: "/next dropped mid-body",
        faults: |_| vec![(Target::Next, Fault::DropConnection)],
        expect: Expect::Error("Runtime.TruncatedEvent"),
        fatal: false,
    },
    // The whole event, then the keep-alive connection closed: the next request on it fails
    // and is sent again on a new one.
    Kind {
        name: "/next closed after",
        faults: |_| vec![(Target::Next, Fault::CloseAfterAnswer)],
        expect: Expect::Echo,
        fatal: false,
    },
    Kind {
        name: "/next slow",
        faults: |rng| vec![(Target::Next, Fault::Delay(slow(rng)))],
        expect: Expect::Echo,
        fatal: false,
    },
    // Valid framing, half an event: not JSON, so it is reported as an invalid event.
    Kind {
        name: "/next truncated",
        faults: |_| vec![(Target::Next, Fault::TruncateBody)],
        expect: Expect::Error("Runtime.InvalidEvent"),
        fatal: false,
    },
    // The post read, not taken, no answer: the runtime posts it again.
    Kind {
        name: "/response hangup",
        faults: |_| vec![(Target::Response, Fault::Hangup)],
        expect: Expect::Echo,
        fatal: false,
    },
    // The post taken, `202` and half its body sent: the status line says accepted.
    Kind {
        name: "/response dropped mid-answer",
        faults: |_| vec![(Target::Response, Fault::DropConnection)],
        expect: Expect::Echo,
        fatal: false,
    },
    Kind {
        name: "/response closed after",
        faults: |_| vec![(Target::Response, Fault::CloseAfterAnswer)],
        expect: Expect::Echo,
        fatal: false,
    },
    Kind {
        name: "/response slow",
        faults: |rng| vec![(Target::Response, Fault::Delay(slow(rng)))],
        expect: Expect::Echo,
        fatal: false,
    },
    // Timed out as the post arrived: the invoker has `Sandbox.Timedout`, the runtime's post
    // gets 410 and is not retried.
    Kind {
        name: "/response 410",
        faults: |_| vec![(Target::Response, Fault::Expire)],
        expect: Expect::TimedOut,
        fatal: false,
    },
    // 413 to the response: the runtime posts its too-large error for the same id.
    Kind {
        name: "/response 413",
        faults: |_| vec![(Target::Response, Fault::Status(413))],
        expect: Expect::Error("Runtime.ResponseTooLarge"),
        fatal: false,
    },
    // The same, with that error post's connection closed unanswered: posted again.
    Kind {
        name: "/response 413, /error hangup",
        faults: |_| {
            vec![
                (Target::Response, Fault::Status(413)),
                (Target::Error, Fault::Hangup),
            ]
        },
        expect: Expect::Error("Runtime.ResponseTooLarge"),
        fatal: false,
    },
    // 5xx: "Container error. Non-recoverable state. Runtime should exit promptly." Nothing
    // was delivered, so the restarted function gets the event.
    Kind {
        name: "/next 500",
        faults: |_| vec![(Target::Next, Fault::Status(500))],
        expect: Expect::Echo,
        fatal: true,
    },
    // The response refused with 5xx: the runtime exits without answering it.
    Kind {
        name: "/response 500",
        faults: |_| vec![(Target::Response, Fault::Status(500))],
        expect: Expect::Exit,
        fatal: true,
    },
    // The first post's connection closed unanswered, the retry refused with 5xx.
    Kind {
        name: "/response hangup, retry 502",
        faults: |_| {
            vec![
                (Target::Response, Fault::Hangup),
                (Target::Response, Fault::Status(502)),
            ]
        },
        expect: Expect::Exit,
        fatal: true,
    },
];

/// A slow answer: 1 to 20 ms.
fn slow(rng: &mut Rng) -> Duration {
    Duration::from_millis(1 + rng.below(20) as u64)
}

/// The plan's random numbers: SplitMix64, so a seed gives the same plan everywhere (no
/// dependency for a dozen lines, and the lock file stays as it is).
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`; the bias of the modulo is far below what matters here).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// Uniform in `[0, 1)`.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let adapters = if cli.adapter.is_empty() {
        vec![Adapter::Tokio, Adapter::Smol, Adapter::Custom]
    } else {
        cli.adapter.clone()
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("soak: {err}");
            return ExitCode::FAILURE;
        }
    };
    // This program is `<target dir>/<profile dir>/soak`; the examples are built beside it.
    let profile_dir = exe.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !cli.no_build
        && let Err(err) = build(&profile_dir, &adapters)
    {
        eprintln!("soak: {err}");
        return ExitCode::FAILURE;
    }
    let seed = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    println!(
        "soak: {} invocations per adapter, {} lanes, fault rate {}, {} fatal faults, seed {seed}",
        cli.invocations, cli.concurrency, cli.fault_rate, cli.restarts
    );
    let mut passed = true;
    for (index, adapter) in adapters.iter().enumerate() {
        let bin = profile_dir.join(adapter.bin());
        let adapter_seed = seed.wrapping_add(index as u64);
        let lanes = match adapter {
            Adapter::Custom => cli.custom_concurrency,
            _ => cli.concurrency,
        };
        match soak(&cli, &bin, adapter.bin(), lanes, adapter_seed) {
            Ok(report) => {
                report.print();
                passed &= report.passed();
            }
            Err(err) => {
                println!("\n## {}\n\nFAIL: {err}", adapter.bin());
                passed = false;
            }
        }
    }
    if passed {
        println!("\nsoak: all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("\nsoak: FAILED (repeat with --seed {seed})");
        ExitCode::FAILURE
    }
}

/// Builds the functions of `adapters` beside this program.
fn build(profile_dir: &Path, adapters: &[Adapter]) -> std::io::Result<()> {
    let bins: Vec<&str> = adapters.iter().map(|a| a.bin()).collect();
    lambda_bench::build_beside("soak", profile_dir, "examples", &bins)
}

/// One invocation of the plan.
#[derive(Debug)]
struct Planned {
    event: Value,
    /// Index into [`KINDS`], if it gets a fault.
    kind: Option<usize>,
    faults: Vec<(Target, Fault)>,
}

fn plan(cli: &Cli, seed: u64, adapter: &str, tail_start: usize) -> Vec<Planned> {
    let mut rng = Rng(seed);
    let normal: Vec<usize> = (0..KINDS.len()).filter(|&k| !KINDS[k].fatal).collect();
    let fatal: Vec<usize> = (0..KINDS.len()).filter(|&k| KINDS[k].fatal).collect();
    let n = cli.invocations;
    let mut fatal_at = HashMap::new();
    if tail_start < n {
        for r in 0..cli.restarts {
            let at = tail_start + rng.below(n - tail_start);
            fatal_at.insert(at, fatal[r % fatal.len()]);
        }
    }
    (0..n)
        .map(|i| {
            let kind = fatal_at
                .get(&i)
                .copied()
                .or_else(|| (rng.unit() < cli.fault_rate).then(|| normal[rng.below(normal.len())]));
            let faults = kind
                .map(|k| (KINDS[k].faults)(&mut rng))
                .unwrap_or_default();
            Planned {
                event: json!({ "i": i, "nonce": format!("{seed:x}-{adapter}-{i}") }),
                kind,
                faults,
            }
        })
        .collect()
}

/// What one adapter's run found.
#[derive(Debug, Default)]
struct Report {
    adapter: String,
    lanes: usize,
    seed: u64,
    invocations: usize,
    elapsed: Duration,
    steady_rate: f64,
    /// Planned fault kinds: name → count.
    planned: BTreeMap<&'static str, usize>,
    /// Faults applied, from the records: "endpoint fault" → count.
    applied: BTreeMap<String, usize>,
    /// Outcomes: label → count.
    outcomes: BTreeMap<String, usize>,
    lost: Vec<String>,
    duplicated: Vec<String>,
    misrouted: Vec<String>,
    wrong: Vec<String>,
    unapplied: Vec<String>,
    collateral: usize,
    restarts: u64,
    unexpected_exits: Vec<String>,
    rss_warm_kib: u64,
    rss_end_kib: u64,
    hwm_end_kib: u64,
    warmup: usize,
    steady_end: usize,
    rss_limit_kib: u64,
    pid_changed: bool,
}

fn soak(cli: &Cli, bin: &Path, adapter: &str, lanes: usize, seed: u64) -> Result<Report, String> {
    let n = cli.invocations;
    let warmup = cli.warmup.unwrap_or(10_000.min(n / 10)).min(n);
    let tail = if cli.restarts > 0 { n / 20 } else { 0 };
    let steady_end = n.saturating_sub(tail).max(warmup);
    let plan = plan(cli, seed, adapter, steady_end);
    let options = Options::new([bin.as_os_str()])
        .concurrency(lanes)
        .timeout(Duration::from_secs(cli.timeout))
        .invocation_id(true);
    let emu = Emulator::start(options).map_err(|e| format!("starting the emulator: {e}"))?;
    emu.wait_ready(Duration::from_secs(30))
        .map_err(|e| format!("the function did not start: {e}"))?;
    let mut results: Vec<Option<Result<InvokeResult, String>>> = Vec::new();
    results.resize_with(n, || None);
    let started = Instant::now();
    run(&emu, &plan, 0..warmup, lanes, &mut results);
    let pid = emu.pid();
    let rss_warm = pid.and_then(|pid| status_kib(pid, "VmRSS:")).unwrap_or(0);
    let steady_started = Instant::now();
    run(
        &emu,
        &plan,
        warmup..steady_end,
        cli.concurrency,
        &mut results,
    );
    let steady_elapsed = steady_started.elapsed();
    let end_pid = emu.pid();
    let rss_end = end_pid
        .and_then(|pid| status_kib(pid, "VmRSS:"))
        .unwrap_or(0);
    let hwm_end = end_pid
        .and_then(|pid| status_kib(pid, "VmHWM:"))
        .unwrap_or(0);
    run(&emu, &plan, steady_end..n, lanes, &mut results);
    let elapsed = started.elapsed();
    let calls = emu.calls();
    let exits = emu.exits();
    let starts = emu.starts();
    let _ = emu.stop();

    let mut report = Report {
        adapter: adapter.to_owned(),
        lanes,
        seed,
        invocations: n,
        elapsed,
        steady_rate: (steady_end - warmup) as f64 / steady_elapsed.as_secs_f64().max(1e-9),
        rss_warm_kib: rss_warm,
        rss_end_kib: rss_end,
        hwm_end_kib: hwm_end,
        warmup,
        steady_end,
        rss_limit_kib: cli.rss_limit_kib,
        pid_changed: pid.is_none() || pid != end_pid,
        restarts: starts.saturating_sub(1),
        ..Report::default()
    };
    check(&mut report, &plan, &results, &calls, &exits);
    Ok(report)
}

/// Invoke `range` of the plan with `2 × concurrency` callers, so the emulator's queue never
/// runs dry.
fn run(
    emu: &Emulator,
    plan: &[Planned],
    range: std::ops::Range<usize>,
    concurrency: usize,
    results: &mut [Option<Result<InvokeResult, String>>],
) {
    let next = AtomicUsize::new(range.start);
    let collected: Vec<Vec<(usize, Result<InvokeResult, String>)>> = std::thread::scope(|s| {
        let callers: Vec<_> = (0..concurrency * 2)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= range.end {
                            return mine;
                        }
                        let p = &plan[i];
                        let mut invoke = Invoke::new(p.event.to_string());
                        for (target, fault) in &p.faults {
                            invoke = invoke.fault(*target, fault.clone());
                        }
                        mine.push((i, emu.invoke(invoke).map_err(|e| e.to_string())));
                    }
                })
            })
            .collect();
        callers
            .into_iter()
            .map(|c| c.join().unwrap_or_default())
            .collect()
    });
    for (i, result) in collected.into_iter().flatten() {
        results[i] = Some(result);
    }
}

/// A `kB` field of `/proc/<pid>/status`.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn endpoint_name(endpoint: Endpoint) -> &'static str {
    match endpoint {
        Endpoint::Next => "/next",
        Endpoint::Response => "/response",
        Endpoint::Error => "/error",
        Endpoint::InitError => "/init/error",
        _ => "other",
    }
}

fn fault_name(fault: &Fault) -> String {
    match fault {
        Fault::Delay(_) => "Delay".to_owned(),
        other => format!("{other:?}"),
    }
}

fn check(
    report: &mut Report,
    plan: &[Planned],
    results: &[Option<Result<InvokeResult, String>>],
    calls: &[RuntimeCall],
    exits: &[lambda_emulator::ProcessExit],
) {
    // The records, per request id, and the generations a 5xx ended.
    let mut by_id: HashMap<&str, Vec<&RuntimeCall>> = HashMap::new();
    let mut killed = HashSet::new();
    for call in calls {
        if let Some(fault) = &call.fault {
            let label = format!("{} {}", endpoint_name(call.endpoint), fault_name(fault));
            *report.applied.entry(label).or_default() += 1;
            if matches!(fault, Fault::Status(s) if *s >= 500) && call.status.is_some() {
                killed.insert(call.generation);
            }
        }
        if let Some(id) = &call.request_id {
            by_id.entry(id.as_str()).or_default().push(call);
        }
    }
    for exit in exits {
        if !killed.contains(&exit.generation) {
            report.unexpected_exits.push(format!(
                "process {} ended ({}) without a 5xx",
                exit.generation,
                exit.describe()
            ));
        }
    }
    for p in plan {
        if let Some(k) = p.kind {
            *report.planned.entry(KINDS[k].name).or_default() += 1;
        }
    }
    // Faults on /next that deliver nothing have no request id on record: count them.
    let undelivered = |f: &Fault| matches!(f, Fault::Hangup | Fault::Status(_));
    for (fault, label) in [
        (Fault::Hangup, "/next Hangup"),
        (Fault::Status(500), "/next Status(500)"),
    ] {
        let wanted = plan
            .iter()
            .flat_map(|p| &p.faults)
            .filter(|(t, f)| *t == Target::Next && *f == fault)
            .count();
        let got = report.applied.get(label).copied().unwrap_or(0);
        if got != wanted {
            report
                .unapplied
                .push(format!("{label}: {got} applied of {wanted} planned"));
        }
    }

    for (i, (p, result)) in plan.iter().zip(results).enumerate() {
        let kind = p.kind.map_or("no fault", |k| KINDS[k].name);
        let expect = p.kind.map_or(Expect::Echo, |k| KINDS[k].expect);
        let r = match result {
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                report.lost.push(format!("#{i} ({kind}): {e}"));
                continue;
            }
            None => {
                report.lost.push(format!("#{i} ({kind}): no result"));
                continue;
            }
        };
        let own = by_id.get(r.request_id.as_str()).map_or(&[][..], |c| &c[..]);
        // Answered twice: a post for the id after one was accepted.
        let posts: Vec<_> = own
            .iter()
            .filter(|c| matches!(c.endpoint, Endpoint::Response | Endpoint::Error))
            .collect();
        if let Some(first) = posts
            .iter()
            .position(|c| c.status.is_some_and(|s| (200..300).contains(&s)))
            && posts.len() > first + 1
        {
            report.duplicated.push(format!(
                "#{i} ({kind}) {}: {} posts after the accepted one",
                r.request_id,
                posts.len() - first - 1
            ));
        }
        let label = match r.outcome {
            Outcome::Response => "echoed".to_owned(),
            Outcome::FunctionError => {
                format!("error {}", r.error_type().unwrap_or_default())
            }
            other => format!("{other:?}"),
        };
        // Collateral: the process it was delivered to (its `/next` answered, or cut off by
        // the exit) was ended by another invocation's 5xx.
        let delivered_to = own
            .iter()
            .find(|c| c.endpoint == Endpoint::Next)
            .map(|c| c.generation);
        let own_5xx = own
            .iter()
            .any(|c| c.status.is_some() && matches!(c.fault, Some(Fault::Status(s)) if s >= 500));
        if r.outcome == Outcome::ExitError
            && !own_5xx
            && delivered_to.is_some_and(|g| killed.contains(&g))
        {
            report.collateral += 1;
            *report
                .outcomes
                .entry("ExitError (in flight at a 5xx)".to_owned())
                .or_default() += 1;
            continue;
        }
        *report.outcomes.entry(label).or_default() += 1;
        let got = format!(
            "{:?} {}",
            r.outcome,
            String::from_utf8_lossy(&r.body[..r.body.len().min(160)])
        );
        let ok = match expect {
            Expect::Echo => {
                if r.outcome == Outcome::Response {
                    match serde_json::from_slice::<Value>(&r.body) {
                        Ok(body) if body == p.event => true,
                        Ok(body) if body.get("nonce").is_some() => {
                            report
                                .misrouted
                                .push(format!("#{i} ({kind}) {}: got {body}", r.request_id));
                            continue;
                        }
                        _ => false,
                    }
                } else if matches!(r.outcome, Outcome::TimedOut | Outcome::ExitError) {
                    report
                        .lost
                        .push(format!("#{i} ({kind}) {}: {got}", r.request_id));
                    continue;
                } else {
                    false
                }
            }
            Expect::Error(error_type) => {
                r.outcome == Outcome::FunctionError && r.error_type().as_deref() == Some(error_type)
            }
            Expect::TimedOut => {
                r.outcome == Outcome::TimedOut
                    && r.error_type().as_deref() == Some("Sandbox.Timedout")
            }
            Expect::Exit => {
                r.outcome == Outcome::ExitError
                    && r.error_type().as_deref() == Some("Runtime.ExitError")
            }
        };
        if !ok {
            report.wrong.push(format!(
                "#{i} ({kind}) {}: expected {expect:?}, got {got}",
                r.request_id
            ));
            continue;
        }
        // Every fault it was given shows in the records (those of a /next that delivered
        // nothing are counted above).
        for (target, fault) in p
            .faults
            .iter()
            .filter(|(t, f)| !(*t == Target::Next && undelivered(f)))
        {
            let endpoint = match target {
                Target::Next => Endpoint::Next,
                Target::Error => Endpoint::Error,
                _ => Endpoint::Response,
            };
            let seen = own
                .iter()
                .filter(|c| c.endpoint == endpoint && c.fault.as_ref() == Some(fault))
                .count();
            let wanted = p
                .faults
                .iter()
                .filter(|(t, f)| t == target && f == fault)
                .count();
            if seen != wanted {
                report.unapplied.push(format!(
                    "#{i} ({kind}) {}: {} {fault:?} applied {seen} times, planned {wanted}",
                    r.request_id,
                    endpoint_name(endpoint)
                ));
            }
        }
    }
}

impl Report {
    fn rss_growth_kib(&self) -> i64 {
        self.rss_end_kib as i64 - self.rss_warm_kib as i64
    }

    fn rss_ok(&self) -> bool {
        !self.pid_changed
            && self.rss_warm_kib > 0
            && self.rss_growth_kib() < self.rss_limit_kib as i64
    }

    fn passed(&self) -> bool {
        self.lost.is_empty()
            && self.duplicated.is_empty()
            && self.misrouted.is_empty()
            && self.wrong.is_empty()
            && self.unapplied.is_empty()
            && self.unexpected_exits.is_empty()
            && self.rss_ok()
    }

    fn print(&self) {
        let secs = self.elapsed.as_secs_f64();
        println!("\n## {} (seed {})\n", self.adapter, self.seed);
        println!(
            "{} invocations, {} lanes, in {secs:.1} s: {:.0} invocations/s overall, {:.0}/s \
             without restarts",
            self.invocations,
            self.lanes,
            self.invocations as f64 / secs.max(1e-9),
            self.steady_rate
        );
        println!("\nfault kinds planned (invocations):");
        for (name, count) in &self.planned {
            println!("  {name:<32} {count:>7}");
        }
        println!("\nfaults applied (Runtime API calls):");
        for (name, count) in &self.applied {
            println!("  {name:<32} {count:>7}");
        }
        println!("\noutcomes:");
        for (name, count) in &self.outcomes {
            println!("  {name:<32} {count:>7}");
        }
        println!(
            "\nlost {}, duplicated {}, misrouted {}, wrong outcome {}, faults not applied {}",
            self.lost.len(),
            self.duplicated.len(),
            self.misrouted.len(),
            self.wrong.len(),
            self.unapplied.len()
        );
        println!(
            "restarts {} (every one after a 5xx: {}), {} invocations in flight at a 5xx ended as \
             Runtime.ExitError",
            self.restarts,
            if self.unexpected_exits.is_empty() {
                "yes"
            } else {
                "NO"
            },
            self.collateral
        );
        println!(
            "VmRSS {} KiB after {} invocations, {} KiB after {} ({:+} KiB, limit {} KiB{}); \
             VmHWM {} KiB",
            self.rss_warm_kib,
            self.warmup,
            self.rss_end_kib,
            self.steady_end,
            self.rss_growth_kib(),
            self.rss_limit_kib,
            if self.pid_changed {
                "; NOT the same process"
            } else {
                ""
            },
            self.hwm_end_kib
        );
        for (what, list) in [
            ("lost", &self.lost),
            ("duplicated", &self.duplicated),
            ("misrouted", &self.misrouted),
            ("wrong", &self.wrong),
            ("not applied", &self.unapplied),
            ("unexpected exit", &self.unexpected_exits),
        ] {
            for line in list.iter().take(10) {
                println!("  {what}: {line}");
            }
            if list.len() > 10 {
                println!("  {what}: ... {} more", list.len() - 10);
            }
        }
        println!("{}", if self.passed() { "PASS" } else { "FAIL" });
    }
}
