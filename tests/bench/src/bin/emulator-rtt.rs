//! Measure the invoke round trip through the emulator: start it around a function, invoke a
//! small event N times one after another, print the distribution.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin emulator-rtt              # Rust echo function
//! cargo run --release -p lambda-bench --bin emulator-rtt -- --http    # via the Invoke API
//! cargo run --release -p lambda-bench --bin emulator-rtt -- -- tests/e2e/fixtures/bash-bootstrap.sh
//! ```
//!
//! The default function is `lambda-emulator-echo` of the end-to-end package (`lambda-e2e`): a
//! minimal blocking Rust function without our runtime, which this program builds first with its
//! own profile (`cargo build -p lambda-e2e --bin lambda-emulator-echo`).

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use clap::Parser;
use lambda_emulator::{Emulator, Options, Outcome};

/// Invoke round-trip time through lambda-emulator.
#[derive(Debug, Parser)]
#[command(name = "emulator-rtt")]
struct Cli {
    /// Number of measured invocations.
    #[arg(short = 'n', long, default_value_t = 1000)]
    invokes: usize,

    /// Unmeasured invocations first (process start, connection setup, caches).
    #[arg(long, default_value_t = 20)]
    warmup: usize,

    /// The event payload.
    #[arg(long, default_value = r#"{"a":1}"#)]
    event: String,

    /// Invoke through the HTTP Invoke API (one keep-alive connection) instead of the library
    /// call, so the time includes the invoker's HTTP round trip too.
    #[arg(long)]
    http: bool,

    /// The function; default: `lambda-emulator-echo` (built first).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = if cli.command.is_empty() {
        match build_echo() {
            Ok(echo) => vec![echo.into_os_string()],
            Err(err) => {
                eprintln!("emulator-rtt: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        cli.command.clone()
    };
    let emu = match Emulator::start(Options::new(command.clone()).timeout(Duration::from_secs(30)))
    {
        Ok(emu) => emu,
        Err(err) => {
            eprintln!("emulator-rtt: cannot start {command:?}: {err}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(err) = emu.wait_ready(Duration::from_secs(60)) {
        eprintln!("emulator-rtt: function not ready: {err}");
        return ExitCode::FAILURE;
    }
    let mut client = if cli.http {
        match HttpInvoker::connect(&emu) {
            Ok(client) => Some(client),
            Err(err) => {
                eprintln!("emulator-rtt: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let mut samples = Vec::with_capacity(cli.invokes);
    for i in 0..cli.warmup + cli.invokes {
        let started = Instant::now();
        let ok = match &mut client {
            Some(client) => client.invoke(cli.event.as_bytes()).is_ok_and(|s| s == 200),
            None => emu
                .invoke(cli.event.as_str())
                .is_ok_and(|r| r.outcome == Outcome::Response),
        };
        let elapsed = started.elapsed();
        if !ok {
            eprintln!("emulator-rtt: invocation {i} failed");
            return ExitCode::FAILURE;
        }
        if i >= cli.warmup {
            samples.push(elapsed);
        }
    }
    let _ = emu.stop();
    samples.sort();
    let pct = |p: f64| {
        let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
        samples.get(index).copied().unwrap_or_default()
    };
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len().max(1)).unwrap_or(1);
    println!(
        "function: {}",
        command
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "invoker: {}",
        if cli.http {
            "HTTP Invoke API (keep-alive)"
        } else {
            "library (Emulator::invoke)"
        }
    );
    println!(
        "invokes: {}  median: {:.1} us  p90: {:.1} us  p99: {:.1} us  min: {:.1} us  max: {:.1} us  mean: {:.1} us",
        samples.len(),
        us(pct(0.5)),
        us(pct(0.9)),
        us(pct(0.99)),
        us(pct(0.0)),
        us(pct(1.0)),
        us(mean)
    );
    ExitCode::SUCCESS
}

/// A minimal keep-alive HTTP/1.1 client for the Invoke API.
struct HttpInvoker {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl HttpInvoker {
    fn connect(emu: &Emulator) -> std::io::Result<Self> {
        let stream = TcpStream::connect(emu.addr())?;
        stream.set_nodelay(true)?;
        Ok(HttpInvoker {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
            host: emu.addr().to_string(),
        })
    }

    fn invoke(&mut self, event: &[u8]) -> std::io::Result<u16> {
        let mut request = format!(
            "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: {}\r\n\
             Content-Length: {}\r\n\r\n",
            self.host,
            event.len()
        )
        .into_bytes();
        request.extend_from_slice(event);
        self.writer.write_all(&request)?;
        let mut line = String::new();
        self.reader.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line)?;
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            if let Some((name, value)) = trimmed.split_once(':')
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

/// Builds `lambda-emulator-echo` with this program's profile, into its target directory, and
/// returns its path.
fn build_echo() -> std::io::Result<PathBuf> {
    // This program is `<target dir>/<profile dir>/emulator-rtt`.
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().unwrap_or(Path::new("."));
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let args = [
        "build",
        "-q",
        "--profile",
        profile,
        "-p",
        "lambda-e2e",
        "--bin",
        "lambda-emulator-echo",
    ];
    eprintln!("emulator-rtt: cargo {}", args.join(" "));
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "building lambda-emulator-echo failed: {status}"
        )));
    }
    Ok(profile_dir.join("lambda-emulator-echo"))
}
