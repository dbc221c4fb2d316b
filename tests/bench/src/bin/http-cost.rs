//! What an HTTP function costs on our types against the official `lambda_http`, in one run:
//!
//! 1. the conversion of one invocation (event bytes → request → handler's response → the
//!    response JSON), under valgrind's callgrind (user-space instructions, by the difference of
//!    two run lengths) and timed: `http-convert` of `tests/bench/http/`, on the same 1.5 KB HTTP
//!    API event for both;
//! 2. invocations per second through `lambda-emulator`'s HTTP front door (an HTTP API), one
//!    keep-alive client, interleaved rounds: our hello world (`hello-ours`) and
//!    `lambda_http`'s (`hello-lambda-http`), `http-echo-tokio` and `http-echo-smol`, and
//!    `lambda-emulator-echo` (no runtime, no HTTP types: the front door's own floor);
//! 3. the stripped sizes of `http-echo-*` on each adapter and of both hello worlds.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin http-cost                # a few minutes
//! cargo run --release -p lambda-bench --bin http-cost -- --quick     # a short run
//! ```
//!
//! It builds what it runs first (release): `examples`' `http-echo-*`, `lambda-e2e`'s
//! `lambda-emulator-echo`, and the `tests/bench/http` workspace into `target/bench-http`.
//! `--no-callgrind` skips the instruction counts (they need `valgrind`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use lambda_emulator::{Emulator, HttpOrigin, Options};

/// HTTP functions: our types against lambda_http.
#[derive(Debug, Parser)]
#[command(name = "http-cost")]
struct Cli {
    /// Interleaved rounds of the throughput and timed-conversion measurements.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Seconds per function and round, through the front door.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Conversions per timed run.
    #[arg(long, default_value_t = 100_000)]
    conversions: u64,
    /// Extra conversions of the longer callgrind run (N₂ − N₁).
    #[arg(long, default_value_t = 5_000)]
    callgrind_conversions: u64,
    /// A short run: 2 rounds of 0.5 s, fewer conversions.
    #[arg(long)]
    quick: bool,
    /// Skip the instruction counts.
    #[arg(long)]
    no_callgrind: bool,
    /// Do not build first.
    #[arg(long)]
    no_build: bool,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/bench is two levels below the root")
        .to_path_buf()
}

fn build(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let ours = Command::new(&cargo)
        .args(["build", "--release", "-p", "examples"])
        .args(["--bin", "http-echo-tokio", "--bin", "http-echo-smol"])
        .args(["--bin", "http-echo-custom"])
        .args(["-p", "lambda-e2e", "--bin", "lambda-emulator-echo"])
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    let peers = Command::new(&cargo)
        .args(["build", "--release", "--manifest-path"])
        .arg(root.join("tests/bench/http/Cargo.toml"))
        .env("CARGO_TARGET_DIR", root.join("target/bench-http"))
        .current_dir(root)
        .status()
        .map_err(|e| format!("cargo: {e}"))?;
    match ours.success() && peers.success() {
        true => Ok(()),
        false => Err(format!("build failed: {ours}, {peers}")),
    }
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

/// Instructions of `n` conversions of `which` under callgrind.
fn callgrind(convert: &Path, which: &str, n: u64, out: &Path) -> Result<u64, String> {
    let status = Command::new("valgrind")
        .args(["--tool=callgrind", "--quiet"])
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(convert)
        .args([which, &n.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("valgrind: {e}"))?;
    if !status.success() {
        return Err(format!("valgrind {which} {n}: {status}"));
    }
    callgrind_total(out).ok_or_else(|| format!("no totals in {}", out.display()))
}

/// Nanoseconds per conversion of `which`, timed natively over `n` conversions.
fn timed(convert: &Path, which: &str, n: u64) -> Result<f64, String> {
    let out = Command::new(convert)
        .args([which, &n.to_string(), "--time"])
        .output()
        .map_err(|e| format!("{}: {e}", convert.display()))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    stderr
        .split_whitespace()
        .nth(1)
        .and_then(|ns| ns.parse().ok())
        .ok_or_else(|| format!("{which}: no timing in {stderr:?}"))
}

/// A keep-alive HTTP client of the front door.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    request: Vec<u8>,
}

impl Client {
    fn connect(addr: SocketAddr) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let request = format!(
            "GET /items/42?view=full&tag=a&tag=b HTTP/1.1\r\nHost: {addr}\r\n\
             accept: application/json\r\ncookie: session=3f9c2a7e51d04b8f; theme=dark\r\n\
             user-agent: http-cost\r\n\r\n"
        )
        .into_bytes();
        Ok(Client {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            request,
        })
    }

    /// One request; its status.
    fn get(&mut self) -> std::io::Result<u16> {
        self.writer.write_all(&self.request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((name, value)) = l.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body)?;
        Ok(status)
    }
}

/// Requests per second through the front door for `seconds`, after a warm-up.
fn throughput(bin: &Path, seconds: f64) -> Result<f64, String> {
    let emu = Emulator::start(
        Options::new([bin])
            .timeout(Duration::from_secs(30))
            .echo_logs(false)
            .http_front_door(0)
            .http_origin(HttpOrigin::HttpApi),
    )
    .map_err(|e| format!("{}: {e}", bin.display()))?;
    emu.wait_ready(Duration::from_secs(60))
        .map_err(|e| format!("{}: {e}", bin.display()))?;
    let addr = emu.http_addr().ok_or("no front door")?;
    let mut client = Client::connect(addr).map_err(|e| e.to_string())?;
    for _ in 0..50 {
        client.get().map_err(|e| e.to_string())?;
    }
    let budget = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        let status = client.get().map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("{}: status {status}", bin.display()));
        }
        n += 1;
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    let _ = emu.stop();
    Ok(rate)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn kib(path: &Path) -> f64 {
    std::fs::metadata(path).map_or(f64::NAN, |m| m.len() as f64 / 1024.0)
}

fn run(cli: &Cli) -> Result<(), String> {
    let root = root();
    if !cli.no_build {
        build(&root)?;
    }
    let release = root.join("target/release");
    let peers = root.join("target/bench-http/release");
    let convert = peers.join("http-convert");
    let (rounds, seconds, conversions, extra) = match cli.quick {
        true => (2, 0.5, 20_000, 1_000),
        false => (
            cli.rounds,
            cli.seconds,
            cli.conversions,
            cli.callgrind_conversions,
        ),
    };
    let sides = ["ours", "lambda-http"];

    println!("## Conversion of one invocation (1.5 KB HTTP API event)\n");
    if !cli.no_callgrind {
        let dir = root.join("target/bench-http/callgrind");
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let n1 = (extra / 5).max(10);
        let n2 = n1 + extra;
        let mut per = Vec::new();
        for which in sides {
            let a = callgrind(&convert, which, n1, &dir.join(format!("{which}-{n1}.out")))?;
            let b = callgrind(&convert, which, n2, &dir.join(format!("{which}-{n2}.out")))?;
            per.push(b.saturating_sub(a) as f64 / extra as f64);
        }
        println!("| conversion | Ir per invocation ({n2} − {n1} conversions) |");
        println!("|---|---:|");
        println!(
            "| ours | {:.0} ({:.2}× lambda_http) |",
            per[0],
            per[0] / per[1]
        );
        println!("| lambda_http | {:.0} |\n", per[1]);
    }
    let mut ns = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, which) in sides.iter().enumerate() {
            ns[i].push(timed(&convert, which, conversions)?);
        }
    }
    let (ours_ns, theirs_ns) = (median(ns[0].clone()), median(ns[1].clone()));
    println!("| conversion | ns per invocation (median of {rounds} × {conversions}) |");
    println!("|---|---:|");
    println!(
        "| ours | {ours_ns:.0} ({:.2}× lambda_http) |",
        ours_ns / theirs_ns
    );
    println!("| lambda_http | {theirs_ns:.0} |\n");

    println!("## Through the emulator's front door (HTTP API), one keep-alive client\n");
    let functions: [(&str, PathBuf); 5] = [
        (
            "lambda-emulator-echo (no runtime)",
            release.join("lambda-emulator-echo"),
        ),
        ("hello-lambda-http", peers.join("hello-lambda-http")),
        ("hello-ours", peers.join("hello-ours")),
        ("http-echo-tokio", release.join("http-echo-tokio")),
        ("http-echo-smol", release.join("http-echo-smol")),
    ];
    let mut rates = vec![Vec::new(); functions.len()];
    for round in 0..rounds {
        for (i, (name, bin)) in functions.iter().enumerate() {
            let rate = throughput(bin, seconds)?;
            eprintln!("http-cost: round {} {name}: {rate:.0}/s", round + 1);
            rates[i].push(rate);
        }
    }
    let lambda_http_rate = median(rates[1].clone());
    println!("| function | requests/s (median of {rounds} × {seconds} s) | × hello-lambda-http |");
    println!("|---|---:|---:|");
    for ((name, _), r) in functions.iter().zip(rates) {
        let r = median(r);
        println!("| {name} | {r:.0} | {:.2}× |", r / lambda_http_rate);
    }

    println!("\n## Stripped size\n");
    println!("| binary | KiB |");
    println!("|---|---:|");
    for (name, bin) in [
        ("http-echo-tokio", release.join("http-echo-tokio")),
        ("http-echo-smol", release.join("http-echo-smol")),
        ("http-echo-custom", release.join("http-echo-custom")),
        ("hello-ours (tokio)", peers.join("hello-ours")),
        ("hello-lambda-http", peers.join("hello-lambda-http")),
    ] {
        println!("| {name} | {:.0} |", kib(&bin));
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(&Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("http-cost: {e}");
            ExitCode::FAILURE
        }
    }
}
