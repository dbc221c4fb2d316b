//! Concurrency: how invocations per second scale with lanes (`AWS_LAMBDA_MAX_CONCURRENCY`), and
//! what an idle lane costs in memory, on each adapter.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin lanes                  # a few minutes
//! cargo run --release -p lambda-bench --bin lanes -- --quick       # well under a minute
//! cargo run --release -p lambda-bench --bin lanes -- --ms 0 --adapter tokio   # the overhead alone
//! ```
//!
//! The function is the end-to-end probe (`tests/e2e/probe/mod.rs`: `probe-tokio`, `probe-smol`,
//! `probe-custom` of `lambda-e2e`, built first with this program's profile), invoked with
//! `{"probe":"sleep","ms":N}`: it awaits N ms on its executor's timer, then echoes, so a lane
//! spends its time waiting, as an I/O-bound handler does, and `L` lanes can at best serve
//! `L × 1000 / N` invocations per second.
//!
//! 1. **Throughput.** For each adapter, with `--lanes` (default 8) and with 1 (the baseline), the
//!    function runs under `lambda-emulator` with that concurrency, and `--invokers` callers
//!    (default twice the lanes, so the emulator's queue never runs dry) invoke it: a warm-up,
//!    then `--rounds` rounds of `--invocations` each. The median rate is compared with the ideal
//!    and with the target, 0.9 × ideal. The custom executor drives one lane by design
//!    (`Executor::max_lanes` is 1), so its ideal is one lane's and it has no target there.
//! 2. **Memory per idle lane.** For each adapter the function starts with concurrency 1 and with
//!    `--idle-lanes` (default 64); once every lane waits in `/next` (the emulator's records show
//!    that many `/next` calls unanswered) the program reads `VmRSS`, `VmHWM` and `Threads` from
//!    `/proc/<pid>/status`. It reads them again after one invocation per lane, idle again (each
//!    lane's buffers then hold an event and an answer). Per lane is
//!    `(RSS(lanes) − RSS(1)) / (lanes − 1)`.
//!
//! It prints markdown tables and exits non-zero if an invocation failed; a missed target is a
//! finding, printed as such, not a failure.

use std::collections::HashMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use lambda_emulator::{Emulator, Endpoint, Invoke, Options, Outcome, RuntimeCall};

/// Invocations per second against lanes, and memory per idle lane, on each adapter.
#[derive(Debug, Parser)]
#[command(name = "lanes")]
struct Cli {
    /// Measured invocations per round.
    #[arg(short = 'n', long, default_value_t = 4000)]
    invocations: usize,

    /// Unmeasured invocations first, per function start (default: a tenth of `--invocations`).
    #[arg(long)]
    warmup: Option<usize>,

    /// Measured rounds per row; the table gives the median rate and the range.
    #[arg(long, default_value_t = 3)]
    rounds: usize,

    /// How long the handler awaits on its executor's timer, ms.
    #[arg(long, default_value_t = 5)]
    ms: u64,

    /// Lanes of the throughput rows (the baseline row has 1).
    #[arg(long, default_value_t = 8)]
    lanes: usize,

    /// Concurrent callers (default: twice the lanes, so the queue never runs dry).
    #[arg(long)]
    invokers: Option<usize>,

    /// Lanes of the memory rows (compared with 1).
    #[arg(long, default_value_t = 64)]
    idle_lanes: usize,

    /// Adapters to run (tokio, smol, custom); all three by default.
    #[arg(long, value_delimiter = ',')]
    adapter: Vec<Adapter>,

    /// A short run: 800 invocations, one round.
    #[arg(long)]
    quick: bool,

    /// Skip the throughput part.
    #[arg(long)]
    no_throughput: bool,

    /// Skip the memory part.
    #[arg(long)]
    no_memory: bool,

    /// Do not build the probes first (they must exist next to this program).
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
            Adapter::Tokio => "probe-tokio",
            Adapter::Smol => "probe-smol",
            Adapter::Custom => "probe-custom",
        }
    }

    /// The lanes the driver runs when `asked` are: the custom executor's `max_lanes` is 1.
    fn lanes_run(self, asked: usize) -> usize {
        match self {
            Adapter::Custom => 1,
            _ => asked,
        }
    }
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if cli.quick {
        cli.invocations = 800;
        cli.rounds = 1;
    }
    let adapters = if cli.adapter.is_empty() {
        vec![Adapter::Tokio, Adapter::Smol, Adapter::Custom]
    } else {
        cli.adapter.clone()
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(err) => {
            eprintln!("lanes: {err}");
            return ExitCode::FAILURE;
        }
    };
    // This program is `<target dir>/<profile dir>/lanes`; the probes are built beside it.
    let profile_dir = exe.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !cli.no_build
        && let Err(err) = build(&profile_dir, &adapters)
    {
        eprintln!("lanes: {err}");
        return ExitCode::FAILURE;
    }
    println!(
        "lanes: handler awaits {} ms; {} invocations × {} rounds per row (after {} warm-up); \
         load average {}",
        cli.ms,
        cli.invocations,
        cli.rounds.max(1),
        warmup(&cli),
        load_average()
    );
    let mut failed = false;
    if !cli.no_throughput {
        let mut rows = Vec::new();
        for &adapter in &adapters {
            for lanes in [cli.lanes, 1] {
                let bin = profile_dir.join(adapter.bin());
                match throughput(&cli, &bin, adapter, lanes) {
                    Ok(row) => {
                        failed |= row.failures > 0;
                        rows.push(row);
                    }
                    Err(err) => {
                        println!("lanes: {} with {lanes} lanes: {err}", adapter.bin());
                        failed = true;
                    }
                }
            }
        }
        print_throughput(&cli, &rows);
    }
    if !cli.no_memory {
        let mut rows = Vec::new();
        for &adapter in &adapters {
            let bin = profile_dir.join(adapter.bin());
            let one = idle(&cli, &bin, adapter, 1);
            let many = idle(&cli, &bin, adapter, cli.idle_lanes);
            match (one, many) {
                (Ok(one), Ok(many)) => rows.push((adapter, one, many)),
                (Err(err), _) | (_, Err(err)) => {
                    println!("lanes: {} idle: {err}", adapter.bin());
                    failed = true;
                }
            }
        }
        print_memory(&cli, &rows);
    }
    println!("\nload average at the end: {}", load_average());
    if failed {
        println!("lanes: FAILED (see above)");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn warmup(cli: &Cli) -> usize {
    cli.warmup.unwrap_or(cli.invocations / 10)
}

/// Builds the functions of `adapters` beside this program.
fn build(profile_dir: &Path, adapters: &[Adapter]) -> std::io::Result<()> {
    let bins: Vec<&str> = adapters.iter().map(|a| a.bin()).collect();
    lambda_bench::build_beside("lanes", profile_dir, "lambda-e2e", &bins)
}

/// The emulator around `bin` with `lanes` concurrent invocations, once every lane the driver
/// runs waits in `/next`.
fn start(bin: &Path, adapter: Adapter, lanes: usize) -> Result<Emulator, String> {
    let options = Options::new([bin.as_os_str()])
        .concurrency(lanes)
        .timeout(Duration::from_secs(30));
    let emu = Emulator::start(options).map_err(|e| format!("starting the emulator: {e}"))?;
    emu.wait_ready(Duration::from_secs(30))
        .map_err(|e| format!("the function did not start: {e}"))?;
    wait_idle(&emu, adapter.lanes_run(lanes))?;
    Ok(emu)
}

/// Waits until `lanes` `/next` calls are unanswered, then a little more, so that nothing but
/// the lanes' waits is left to run.
fn wait_idle(emu: &Emulator, lanes: usize) -> Result<(), String> {
    let idle = emu.wait_until(Duration::from_secs(30), |emu| pending_next(emu) >= lanes);
    if !idle {
        return Err(format!(
            "{} of {lanes} lanes waiting in /next after 30 s",
            pending_next(emu)
        ));
    }
    std::thread::sleep(Duration::from_millis(200));
    Ok(())
}

/// `/next` calls the emulator has not answered.
fn pending_next(emu: &Emulator) -> usize {
    emu.calls()
        .iter()
        .filter(|c| c.endpoint == Endpoint::Next && c.status.is_none() && !c.abandoned)
        .count()
}

/// One throughput row.
#[derive(Debug)]
struct Throughput {
    adapter: Adapter,
    lanes: usize,
    invokers: usize,
    /// Invocations per second, one per round.
    rates: Vec<f64>,
    /// The mean time from the emulator's answer to `/next` to the arrival of that
    /// invocation's `/response`, ms (the records' whole milliseconds, averaged).
    in_function_ms: Option<f64>,
    /// CPU time per measured invocation, µs: the function's, and this process's (the emulator
    /// and the invokers).
    cpu_us: (Option<f64>, Option<f64>),
    failures: usize,
}

impl Throughput {
    fn median(&self) -> f64 {
        let mut rates = self.rates.clone();
        rates.sort_by(f64::total_cmp);
        rates.get(rates.len() / 2).copied().unwrap_or(0.0)
    }
}

fn throughput(cli: &Cli, bin: &Path, adapter: Adapter, lanes: usize) -> Result<Throughput, String> {
    let emu = start(bin, adapter, lanes)?;
    let invokers = cli.invokers.unwrap_or(2 * lanes).max(1);
    let event = format!(r#"{{"probe":"sleep","ms":{}}}"#, cli.ms);
    let mut failures = invoke_all(&emu, &event, warmup(cli), invokers);
    let measured_from = emu.calls().len();
    let pid = emu.pid().ok_or("no function process")?;
    let cpu_start = (cpu_ms(&pid.to_string()), cpu_ms("self"));
    let mut rates = Vec::new();
    for _ in 0..cli.rounds.max(1) {
        let started = Instant::now();
        failures += invoke_all(&emu, &event, cli.invocations, invokers);
        rates.push(cli.invocations as f64 / started.elapsed().as_secs_f64().max(1e-9));
    }
    let cpu_end = (cpu_ms(&pid.to_string()), cpu_ms("self"));
    let measured = (cli.invocations * cli.rounds.max(1)) as f64;
    let per_invocation =
        |a: Option<u64>, b: Option<u64>| Some(1000.0 * b?.checked_sub(a?)? as f64 / measured);
    let cpu_us = (
        per_invocation(cpu_start.0, cpu_end.0),
        per_invocation(cpu_start.1, cpu_end.1),
    );
    let in_function_ms = in_function_ms(&emu.calls()[measured_from..]);
    let _ = emu.stop();
    let row = Throughput {
        adapter,
        lanes,
        invokers,
        rates,
        in_function_ms,
        cpu_us,
        failures,
    };
    eprintln!(
        "lanes: {} with {lanes} lanes: {:.0}/s ({failures} failed)",
        adapter.bin(),
        row.median()
    );
    Ok(row)
}

/// User + system CPU time of `/proc/<pid>/stat` (`pid` may be `self`), ms.
fn cpu_ms(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which is in parentheses and may hold spaces); utime
    // and stime are fields 14 and 15 of the whole line, in USER_HZ ticks (100 a second).
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) * 10)
}

/// The mean of `/response` arrival − `/next` answer per request id in `calls`, ms.
fn in_function_ms(calls: &[RuntimeCall]) -> Option<f64> {
    let delivered: HashMap<&str, u64> = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::Next)
        .filter_map(|c| Some((c.request_id.as_deref()?, c.responded_ms?)))
        .collect();
    let spans: Vec<u64> = calls
        .iter()
        .filter(|c| c.endpoint == Endpoint::Response)
        .filter_map(|c| {
            let at = delivered.get(c.request_id.as_deref()?)?;
            Some(c.received_ms.saturating_sub(*at))
        })
        .collect();
    (!spans.is_empty()).then(|| spans.iter().sum::<u64>() as f64 / spans.len() as f64)
}

/// Invokes `event` `n` times from `invokers` threads; returns how many did not echo.
fn invoke_all(emu: &Emulator, event: &str, n: usize, invokers: usize) -> usize {
    let next = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..invokers {
            s.spawn(|| {
                while next.fetch_add(1, Ordering::Relaxed) < n {
                    let ok = emu
                        .invoke(Invoke::new(event))
                        .is_ok_and(|r| r.outcome == Outcome::Response);
                    if !ok {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    failed.into_inner()
}

fn print_throughput(cli: &Cli, rows: &[Throughput]) {
    println!("\n### Throughput: a handler that awaits {} ms\n", cli.ms);
    println!(
        "| adapter | lanes asked | lanes run | invokers | invocations/s (median of {}) | range | \
         ideal | target (0.9 × ideal) | of ideal | per-lane cycle | in the function | CPU per invocation: function / emulator + invokers | met |",
        cli.rounds.max(1)
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for row in rows {
        let run = row.adapter.lanes_run(row.lanes);
        let rate = row.median();
        let min = row.rates.iter().copied().fold(f64::INFINITY, f64::min);
        let max = row.rates.iter().copied().fold(0.0, f64::max);
        // The ideal of the lanes the driver runs; no target where it runs fewer than asked.
        let ideal = (cli.ms > 0).then(|| run as f64 * 1000.0 / cli.ms as f64);
        let target = ideal.filter(|_| run == row.lanes).map(|ideal| 0.9 * ideal);
        let met = match (target, ideal) {
            (Some(target), _) if rate >= target => "met".to_owned(),
            (Some(_), _) => "**not met**".to_owned(),
            (None, Some(_)) => format!(
                "n/a (one lane by design; ceiling {:.0}/s)",
                1000.0 / cli.ms as f64
            ),
            (None, None) => "n/a (no wait)".to_owned(),
        };
        let fmt = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.0}"));
        println!(
            "| {} | {} | {run} | {} | {rate:.0} | {min:.0}–{max:.0} | {} | {} | {} | {:.2} ms | {} | {} | {met}{} |",
            row.adapter.bin(),
            row.lanes,
            row.invokers,
            fmt(ideal),
            fmt(target),
            ideal.map_or("—".to_owned(), |ideal| format!(
                "{:.0} %",
                100.0 * rate / ideal
            )),
            1000.0 * run as f64 / rate.max(1e-9),
            row.in_function_ms
                .map_or("—".to_owned(), |ms| format!("{ms:.2} ms")),
            match row.cpu_us {
                (Some(f), Some(e)) => format!("{f:.0} / {e:.0} µs"),
                _ => "—".to_owned(),
            },
            if row.failures > 0 {
                format!("; {} FAILED", row.failures)
            } else {
                String::new()
            },
        );
    }
    println!(
        "\n| adapter | 1-lane rate | {}-lane rate | lanes run | scaling: rate ÷ (lanes run × 1-lane rate) |",
        cli.lanes
    );
    println!("|---|---:|---:|---:|---:|");
    for row in rows
        .iter()
        .filter(|r| r.lanes == cli.lanes && cli.lanes > 1)
    {
        let Some(one) = rows
            .iter()
            .find(|r| r.adapter == row.adapter && r.lanes == 1)
        else {
            continue;
        };
        let run = row.adapter.lanes_run(row.lanes);
        println!(
            "| {} | {:.0} | {:.0} | {run} | {:.0} % |",
            row.adapter.bin(),
            one.median(),
            row.median(),
            100.0 * row.median() / (run as f64 * one.median()).max(1e-9)
        );
    }
    println!(
        "\nPer-lane cycle: lanes run ÷ rate, the time one lane takes per invocation (the wait \
         plus `/next`, the handler and `/response`). In the function: the mean time from the \
         emulator's answer to `/next` to the arrival of the invocation's `/response` (the \
         records' whole milliseconds, averaged over the measured invocations); the rest of the \
         cycle is the emulator's and the machine's. CPU per invocation: user + system time \
         over the measured rounds (`/proc/<pid>/stat`, 10 ms ticks), of the function and of \
         this process, which runs the emulator and the invoking threads."
    );
}

/// What `/proc/<pid>/status` says of an idle function.
#[derive(Debug, Clone, Copy)]
struct Status {
    rss_kib: u64,
    hwm_kib: u64,
    threads: u64,
}

/// One memory row: fresh, and after one invocation per lane.
#[derive(Debug, Clone, Copy)]
struct Idle {
    lanes: usize,
    waiting: usize,
    fresh: Status,
    used: Status,
}

fn idle(cli: &Cli, bin: &Path, adapter: Adapter, lanes: usize) -> Result<Idle, String> {
    let emu = start(bin, adapter, lanes)?;
    let waiting = pending_next(&emu);
    let pid = emu.pid().ok_or("no function process")?;
    let fresh = status(pid)?;
    // One invocation per lane the driver runs, all at once, then idle again.
    let run = adapter.lanes_run(lanes);
    let event = format!(r#"{{"probe":"sleep","ms":{}}}"#, cli.ms.max(1));
    let failed = invoke_all(&emu, &event, run, run);
    if failed > 0 {
        return Err(format!("{failed} of {run} invocations failed"));
    }
    wait_idle(&emu, run)?;
    let used = status(pid)?;
    let _ = emu.stop();
    Ok(Idle {
        lanes,
        waiting,
        fresh,
        used,
    })
}

fn status(pid: u32) -> Result<Status, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("/proc/{pid}/status: {e}"))?;
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .ok_or(format!("no {name} in /proc/{pid}/status"))
    };
    Ok(Status {
        rss_kib: field("VmRSS:")?,
        hwm_kib: field("VmHWM:")?,
        threads: field("Threads:")?,
    })
}

fn print_memory(cli: &Cli, rows: &[(Adapter, Idle, Idle)]) {
    println!("\n### Memory of idle lanes\n");
    println!(
        "| adapter | lanes asked | `/next` waiting | VmRSS KiB | VmHWM KiB | threads | VmRSS KiB \
         after one invocation per lane | VmHWM KiB after |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for (adapter, one, many) in rows {
        for row in [one, many] {
            println!(
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                adapter.bin(),
                row.lanes,
                row.waiting,
                row.fresh.rss_kib,
                row.fresh.hwm_kib,
                row.fresh.threads,
                row.used.rss_kib,
                row.used.hwm_kib
            );
        }
    }
    println!(
        "\n| adapter | lanes run at {} | VmRSS per idle lane, fresh | per idle lane, after one \
         invocation each | threads 1 → {} |",
        cli.idle_lanes, cli.idle_lanes
    );
    println!("|---|---:|---:|---:|---|");
    for (adapter, one, many) in rows {
        let extra = many.lanes.saturating_sub(one.lanes).max(1) as f64;
        let per = |a: u64, b: u64| {
            let delta = b as i64 - a as i64;
            if adapter.lanes_run(many.lanes) == 1 {
                format!("n/a (one lane run; {delta:+} KiB in all)")
            } else {
                format!("{:.1} KiB", delta as f64 / extra)
            }
        };
        println!(
            "| {} | {} | {} | {} | {} → {} |",
            adapter.bin(),
            many.waiting,
            per(one.fresh.rss_kib, many.fresh.rss_kib),
            per(one.used.rss_kib, many.used.rss_kib),
            one.fresh.threads,
            many.fresh.threads
        );
    }
    println!(
        "\nPer lane: (VmRSS at {} − VmRSS at 1) ÷ {}, each read once every lane waits in `/next`.",
        cli.idle_lanes,
        cli.idle_lanes.saturating_sub(1).max(1)
    );
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "?".to_owned())
}
