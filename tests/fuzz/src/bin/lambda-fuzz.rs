//! `lambda-fuzz`: runs the mutation fuzzer over every target, or replays saved inputs.
//!
//! ```text
//! lambda-fuzz [--inputs N] [--seconds S] [--seed X] [--target NAME]... [--failures DIR]
//!             [--save-corpus DIR]
//! lambda-fuzz replay [DIR]...     (default: regressions/ and corpus/ of this crate)
//! lambda-fuzz list
//! ```
//!
//! A run stops after N inputs in all (default 10,000,000) or S seconds, whichever comes first,
//! spreads them evenly over the targets, prints progress and a table of inputs, inputs per
//! second, corpus size, signatures and peak allocation per target, saves every failing input to
//! `DIR/<target>/<hash>` (default: this crate's `regressions/`, which the regression test
//! replays) and exits with 1 if there was any.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use lambda_runtime_fuzz::alloc_count::CountingAlloc;
use lambda_runtime_fuzz::fuzzer::{self, Campaign, Rng};
use lambda_runtime_fuzz::{TARGETS, Target, seeds};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const BATCH: u64 = 2_000;

struct Args {
    inputs: u64,
    seconds: Option<u64>,
    seed: u64,
    targets: Vec<&'static Target>,
    failures: PathBuf,
    save_corpus: Option<PathBuf>,
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: lambda-fuzz [--inputs N] [--seconds S] [--seed X] [--target NAME]... \
         [--failures DIR] [--save-corpus DIR]\n       lambda-fuzz replay [DIR]...\n       \
         lambda-fuzz list"
    );
    ExitCode::from(2)
}

fn parse(mut argv: impl Iterator<Item = String>) -> Option<Args> {
    let mut args = Args {
        inputs: 10_000_000,
        seconds: None,
        seed: 1,
        targets: Vec::new(),
        failures: seeds::crate_dir().join("regressions"),
        save_corpus: None,
    };
    while let Some(flag) = argv.next() {
        let value = argv.next()?;
        match flag.as_str() {
            "--inputs" => args.inputs = value.replace('_', "").parse().ok()?,
            "--seconds" => args.seconds = Some(value.parse().ok()?),
            "--seed" => args.seed = value.parse().ok()?,
            "--target" => args.targets.push(lambda_runtime_fuzz::target(&value)?),
            "--failures" => args.failures = value.into(),
            "--save-corpus" => args.save_corpus = Some(value.into()),
            _ => return None,
        }
    }
    if args.targets.is_empty() {
        args.targets = TARGETS.iter().collect();
    }
    Some(args)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fuzz(args: &Args) -> ExitCode {
    fuzzer::quiet_panics();
    let mut rng = Rng::new(args.seed);
    let start = Instant::now();
    let mut campaigns: Vec<Campaign> = args
        .targets
        .iter()
        .map(|t| Campaign::new(t, seeds::load(t)))
        .collect();
    for c in &campaigns {
        println!(
            "{:<13} {:>5} seeds ({} kept), {} signatures",
            c.target.name,
            c.inputs,
            c.seeds(),
            c.signatures.len()
        );
    }
    let limit = args.seconds.map(Duration::from_secs);
    let quota = args.inputs.div_ceil(campaigns.len().max(1) as u64);
    let mut last_report = Instant::now();
    let total = |cs: &[Campaign]| cs.iter().map(|c| c.inputs).sum::<u64>();
    'run: loop {
        for c in &mut campaigns {
            if c.inputs < quota {
                c.step(&mut rng, BATCH.min(quota - c.inputs));
            }
        }
        let done = total(&campaigns);
        let elapsed = start.elapsed();
        if campaigns.iter().all(|c| c.inputs >= quota) || limit.is_some_and(|l| elapsed >= l) {
            break 'run;
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            let failures: usize = campaigns.iter().map(|c| c.failures.len()).sum();
            println!(
                "[{:>6.1}s] {:>12} inputs, {:>8.0}/s, {} failures",
                elapsed.as_secs_f64(),
                thousands(done),
                done as f64 / elapsed.as_secs_f64(),
                failures
            );
        }
    }
    let elapsed = start.elapsed();
    let done = total(&campaigns);
    println!(
        "\n{:<13} {:>12} {:>10} {:>7} {:>6} {:>10} {:>9}",
        "target", "inputs", "inputs/s", "corpus", "sigs", "peak alloc", "failures"
    );
    for c in &campaigns {
        println!(
            "{:<13} {:>12} {:>10.0} {:>7} {:>6} {:>10} {:>9}",
            c.target.name,
            thousands(c.inputs),
            c.inputs as f64 / c.busy.as_secs_f64().max(1e-9),
            c.corpus.len(),
            c.signatures.len(),
            format!("{} KiB", c.peak_alloc.0 / 1024),
            c.failures.len()
        );
    }
    println!(
        "\n{} inputs in {:.1} s: {:.0} inputs/s (seed {})",
        thousands(done),
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64(),
        args.seed
    );
    if let Some(dir) = &args.save_corpus {
        for c in &campaigns {
            let d = dir.join(c.target.name);
            if std::fs::create_dir_all(&d).is_ok() {
                for input in &c.corpus {
                    let _ = std::fs::write(d.join(fuzzer::input_name(input)), input);
                }
            }
        }
        println!("corpus saved under {}", dir.display());
    }
    let failures: Vec<_> = campaigns.iter().flat_map(|c| &c.failures).collect();
    if failures.is_empty() {
        println!("0 failures");
        return ExitCode::SUCCESS;
    }
    for f in &failures {
        let d = args.failures.join(f.target);
        let path = d.join(fuzzer::input_name(&f.input));
        let saved = std::fs::create_dir_all(&d).and_then(|()| std::fs::write(&path, &f.input));
        println!(
            "FAILURE {}: {}\n  input ({} bytes) {}: {:?}",
            f.target,
            f.message,
            f.input.len(),
            match saved {
                Ok(()) => format!("saved to {}", path.display()),
                Err(e) => format!("not saved ({e})"),
            },
            String::from_utf8_lossy(&f.input[..f.input.len().min(400)])
        );
    }
    println!("{} failures", failures.len());
    ExitCode::from(1)
}

fn replay(dirs: Vec<PathBuf>) -> ExitCode {
    fuzzer::quiet_panics();
    let dirs = if dirs.is_empty() {
        vec![
            seeds::crate_dir().join("regressions"),
            seeds::crate_dir().join("corpus"),
        ]
    } else {
        dirs
    };
    let (mut ran, mut failed) = (0, 0);
    for dir in dirs {
        for target in TARGETS {
            for file in seeds::files_in(&dir.join(target.name)) {
                let Ok(input) = std::fs::read(&file) else {
                    continue;
                };
                ran += 1;
                if let Err(message) = fuzzer::run_one(target, &input) {
                    failed += 1;
                    println!("FAILURE {} {}: {message}", target.name, file.display());
                }
            }
        }
    }
    println!(
        "replayed {ran} inputs: {} passed, {failed} failed",
        ran - failed
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn main() -> ExitCode {
    let mut argv = std::env::args().skip(1).peekable();
    match argv.peek().map(String::as_str) {
        Some("list") => {
            for t in TARGETS {
                println!("{:<13} {}", t.name, t.about);
            }
            ExitCode::SUCCESS
        }
        Some("replay") => replay(argv.skip(1).map(PathBuf::from).collect()),
        Some("run") => {
            argv.next();
            parse(argv).map_or_else(usage, |a| fuzz(&a))
        }
        _ => parse(argv).map_or_else(usage, |a| fuzz(&a)),
    }
}
