//! What registering the runtime's internal extension costs at cold start: spawn → first
//! `GET /runtime/invocation/next`, with the extension (the default) and with
//! `LAMBDA_RUNTIME_EXTENSION=off`, interleaved, N runs each.
//!
//! ```text
//! cargo run --release -p lambda-bench --bin register-cost              # 20 runs each
//! cargo run --release -p lambda-bench --bin register-cost -- --runs 50
//! ```
//!
//! The function is `echo-tokio` of `examples`, built first with this program's profile. It
//! talks to a minimal Runtime API and Extensions API served here, as `bench` does for its cold
//! starts: the emulator stamps its calls in whole milliseconds, too coarse for an interval of
//! about one. `register` is answered as Lambda answers it (200, an identifier, the function's
//! details), `event/next` and `/next` are held, and the time of the first `/next` is taken with
//! a monotonic clock when its request line arrives.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;

/// Cold-start cost of the runtime's extension registration.
#[derive(Debug, Parser)]
#[command(name = "register-cost")]
struct Cli {
    /// Runs per variant (with the extension, and with LAMBDA_RUNTIME_EXTENSION=off).
    #[arg(long, default_value_t = 20)]
    runs: usize,
    /// Do not run `cargo build`; use the binary already built.
    #[arg(long)]
    no_build: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let program = match function(cli.no_build) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("register-cost: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut on, mut off) = (Vec::new(), Vec::new());
    for i in 0..cli.runs * 2 {
        let extension = i % 2 == 0;
        match cold_start(&program, extension) {
            Ok(ms) if extension => on.push(ms),
            Ok(ms) => off.push(ms),
            Err(e) => {
                eprintln!("register-cost: run {i}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("function: {}", program.display());
    println!();
    println!("| variant | runs | median ms | p90 ms | min ms | max ms |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, samples) in [
        ("internal extension registered (default)", &mut on),
        ("`LAMBDA_RUNTIME_EXTENSION=off`", &mut off),
    ] {
        samples.sort_by(f64::total_cmp);
        let pct = |p: f64| {
            let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
            samples.get(index).copied().unwrap_or(f64::NAN)
        };
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            samples.len(),
            pct(0.5),
            pct(0.9),
            pct(0.0),
            pct(1.0)
        );
    }
    ExitCode::SUCCESS
}

/// When the first `/next` arrived.
#[derive(Default)]
struct FirstNext {
    at: Mutex<Option<Instant>>,
    cond: Condvar,
}

/// One cold start: spawn the function against a fresh server, wait for its first `/next`.
fn cold_start(program: &Path, extension: bool) -> std::io::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let first = Arc::new(FirstNext::default());
    let server = Arc::clone(&first);
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let first = Arc::clone(&server);
            std::thread::spawn(move || serve(conn, &first));
        }
    });
    let mut command = Command::new(program);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench-echo")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench-echo")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench")
        .env("AWS_REGION", "us-east-1")
        .env("_HANDLER", "bootstrap")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if !extension {
        command.env("LAMBDA_RUNTIME_EXTENSION", "off");
    }
    let spawned = Instant::now();
    let mut child = command.spawn()?;
    let guard = first.at.lock().unwrap_or_else(|p| p.into_inner());
    let (guard, _) = first
        .cond
        .wait_timeout_while(guard, Duration::from_secs(30), |at| at.is_none())
        .unwrap_or_else(|p| p.into_inner());
    let at = *guard;
    drop(guard);
    let _ = child.kill();
    let _ = child.wait();
    match at {
        Some(at) => Ok((at - spawned).as_secs_f64() * 1e3),
        None => Err(std::io::Error::other("no /next within 30 s")),
    }
}

/// Serves one connection: `register` answered, `event/next` and `/next` held.
fn serve(conn: TcpStream, first: &FirstNext) {
    let _ = conn.set_nodelay(true);
    let Ok(writer) = conn.try_clone() else { return };
    let mut writer = writer;
    let mut reader = BufReader::new(conn);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if line.contains("/runtime/invocation/next") {
            let mut at = first.at.lock().unwrap_or_else(|p| p.into_inner());
            at.get_or_insert_with(Instant::now);
            first.cond.notify_all();
        }
        // The rest of the head, then the body.
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        if line.contains("/extension/register") {
            let body = br#"{"functionName":"bench-echo","functionVersion":"$LATEST","handler":"bootstrap"}"#;
            let head = format!(
                "HTTP/1.1 200 OK\r\nLambda-Extension-Identifier: 00000000-0000-4000-8000-000000000001\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = writer.write_all(head.as_bytes());
            let _ = writer.write_all(body);
        } else if line.contains("/extension/event/next") || line.contains("/invocation/next") {
            // Held until the function is killed.
            std::thread::sleep(Duration::from_secs(3600));
            return;
        } else {
            let _ = writer.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
        }
    }
}

/// Builds `echo-tokio` with this program's profile and returns its path.
fn function(no_build: bool) -> std::io::Result<PathBuf> {
    // This program is `<target dir>/<profile dir>/register-cost`.
    let exe = std::env::current_exe()?;
    let profile_dir = exe.parent().unwrap_or(Path::new("."));
    let program = profile_dir.join("echo-tokio");
    if no_build {
        return Ok(program);
    }
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
        "examples",
        "--bin",
        "echo-tokio",
    ];
    eprintln!("register-cost: cargo {}", args.join(" "));
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()?;
    if !status.success() {
        return Err(std::io::Error::other(format!(
            "building echo-tokio failed: {status}"
        )));
    }
    Ok(program)
}
