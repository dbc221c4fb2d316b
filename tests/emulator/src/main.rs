//! `lambda-emulator`: run a Lambda function locally.
//!
//! Without `--event` it serves until Ctrl-C; with `--event` it sends each event, prints each
//! response on stdout (one line each), stops the function and exits.

use std::ffi::OsString;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lambda_emulator::{Emulator, HttpOrigin, LogFormat, LogLevel, Options, Outcome};

/// Run an AWS Lambda function (custom runtime, `provided.al2023`) on this machine: serve the
/// Lambda Runtime API to it and an RIE-compatible Invoke API to you. No AWS account, no
/// Docker.
///
/// The function is started at once with the environment Lambda gives it
/// (AWS_LAMBDA_RUNTIME_API, AWS_REGION, AWS_LAMBDA_FUNCTION_NAME, ...), its output is copied to
/// stderr, and it is restarted after a crash, a timeout or an init error.
///
/// From your function's package (paths are relative to the current directory):
///   lambda-emulator --event ev.json -- cargo run --bin myfn
///   lambda-emulator -- ./target/debug/myfn
///
/// Without --event it serves until Ctrl-C: it prints the Invoke API URL on stdout and one
/// line per invocation on stderr (request id, outcome: ok, the error type or timeout,
/// duration). Invoke it with curl or the AWS CLI:
///   curl -d '{"a":1}' http://127.0.0.1:PORT/2015-03-31/functions/function/invocations
///   aws lambda invoke --endpoint-url http://127.0.0.1:PORT --function-name function out.json
///
/// Or serve plain HTTP as a Function URL (or --http-origin http-api, rest, alb, alb-multi,
/// lattice) would: each request becomes that service's Lambda event, each answer an HTTP
/// response:
///   lambda-emulator --http 9000 -- ./target/debug/myfn
///   curl -i 'http://127.0.0.1:9000/items?id=1' -H 'cookie: a=b'
///
/// Or send events and exit (one response per line on stdout). In this repository:
///   lambda-emulator --event '{"a":1}' -- cargo run -q -p examples --bin echo-tokio
///   lambda-emulator --event examples/events/echo.json -- ./target/debug/echo-tokio
///
/// Install it: cargo install --path tests/emulator (in this repository), or
/// cargo install --git <this repository's URL> lambda-emulator.
///
/// Exit status in one-shot mode: 0 if every event got an answer from the function, 1 if any
/// invocation timed out, crashed, failed init or got no answer (also for function errors with
/// --fail-on-function-error), 2 for usage errors.
#[derive(Debug, Parser)]
#[command(name = "lambda-emulator", version, verbatim_doc_comment)]
struct Cli {
    /// Function name: AWS_LAMBDA_FUNCTION_NAME, the ARN, the log group, and the Invoke API path
    /// /2015-03-31/functions/NAME/invocations (".../functions/function/..." always works too).
    #[arg(short = 'n', long, value_name = "NAME", default_value = "function")]
    function_name: String,

    /// Memory size in MB, given to the function as AWS_LAMBDA_FUNCTION_MEMORY_SIZE (not
    /// enforced).
    #[arg(short, long, value_name = "MB", default_value_t = 128)]
    memory: u32,

    /// Invocation timeout in seconds (fractions allowed), counted from the invoke. On timeout
    /// the invoker gets Sandbox.Timedout and the function is reset (shut down as Lambda does,
    /// see --shutdown-grace; init again on the next invoke).
    #[arg(short, long, value_name = "SECONDS", default_value = "3", value_parser = parse_seconds)]
    timeout: Duration,

    /// Region: AWS_REGION, AWS_DEFAULT_REGION and the ARN.
    #[arg(short, long, value_name = "REGION", default_value = "us-east-1")]
    region: String,

    /// Port for both APIs; 0 picks a free port. The address is printed at start.
    #[arg(short, long, value_name = "PORT", default_value_t = 0)]
    port: u16,

    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1")]
    bind: IpAddr,

    /// Run up to N invocations at once and set AWS_LAMBDA_MAX_CONCURRENCY=N for the function
    /// (Lambda Managed Instances style: a timeout then does not reset the process, a late
    /// answer gets 410). Without it: one at a time, variable unset.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: Option<u32>,

    /// Serve the Runtime API under this path prefix; the function then gets
    /// AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:PORT/PREFIX (the form cargo-lambda uses).
    #[arg(long, value_name = "PREFIX")]
    runtime_api_prefix: Option<String>,

    /// _HANDLER value.
    #[arg(long, value_name = "HANDLER", default_value = "bootstrap")]
    handler: String,

    /// Extra environment variable for the function (repeatable).
    #[arg(short, long = "env", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    env: Vec<(String, String)>,

    /// Log format, as Lambda's advanced logging controls: sets AWS_LAMBDA_LOG_FORMAT (JSON or
    /// Text) for the function. Unset by default (a function without advanced logging
    /// controls). The function's lines (JSON objects in json mode) are copied to stderr as
    /// they arrive.
    #[arg(long, value_name = "FORMAT", value_enum)]
    log_format: Option<CliLogFormat>,

    /// Application log level, as Lambda's advanced logging controls: sets AWS_LAMBDA_LOG_LEVEL
    /// (upper case, e.g. DEBUG) for the function. Unset by default.
    #[arg(long, value_name = "LEVEL", value_enum)]
    log_level: Option<CliLogLevel>,

    /// Send Lambda-Runtime-Invocation-Id (a fresh nonce per invocation) on /next.
    #[arg(long)]
    invocation_id: bool,

    /// The shutdown budget in milliseconds. As Lambda: with no extension registered the
    /// function gets SIGKILL at once; otherwise SIGTERM, SIGKILL after 500 ms (an internal
    /// extension is registered) or 300 ms, then SHUTDOWN to the external extensions with the
    /// rest of this budget as their deadline.
    #[arg(long, value_name = "MS", default_value_t = 2000)]
    shutdown_grace: u64,

    /// Run Lambda extensions: start every executable file in DIR before the function (as
    /// Lambda does for /opt/extensions), with the function's environment; each registers
    /// with its file name, and init waits for all of them. Their output is shown like the
    /// function's.
    #[arg(long, value_name = "DIR")]
    extensions: Option<PathBuf>,

    /// Open an HTTP front door on PORT (of --bind's address) or ADDR:PORT; 0 picks a free
    /// port (printed at start). Every HTTP/1.1 request to it is delivered to the function as
    /// the Lambda event of --http-origin, with a fresh request id, through the Invoke API's
    /// path (timeout, concurrency, logs), and the answer is translated back as that service
    /// would: payload 2.0 format inference and cookies, REST's multiValueHeaders, ALB's
    /// statusDescription, base64 bodies decoded. A function error, crash or init error gives
    /// 502 {"message":"Internal Server Error"}, a malformed answer 502, a timeout 504, a
    /// body over 6 MB 413. Plain HTTP only; see the library docs for where it differs from
    /// AWS.
    #[arg(long, value_name = "PORT|ADDR:PORT", value_parser = parse_http_listen, conflicts_with = "events")]
    http: Option<SocketAddrOrPort>,

    /// The service the HTTP front door emulates: function-url (payload 2.0, a
    /// <id>.lambda-url.<region>.on.aws domain), http-api (payload 2.0, $default route and
    /// stage), rest (payload 1.0, /{proxy+} on stage prod), alb, alb-multi (ALB with
    /// multi-value headers), lattice (VPC Lattice, event version 2).
    #[arg(
        long,
        value_name = "ORIGIN",
        value_enum,
        default_value = "function-url"
    )]
    http_origin: CliHttpOrigin,

    /// The size limit of a streamed response, in bytes (200 MiB by default); past it the
    /// runtime gets 413 and the invoker's stream ends with Function.ResponseSizeTooLarge.
    #[arg(long, value_name = "BYTES", default_value_t = lambda_emulator::STREAM_LIMIT)]
    stream_limit: u64,

    /// Apply Lambda's bandwidth cap to streamed responses: the first 6 MiB uncapped, then at
    /// most 2 MiB/s.
    #[arg(long)]
    stream_bandwidth: bool,

    /// One-shot mode: an event to send (repeatable, sent in order). A JSON document, a file
    /// (one JSON document, or JSON lines: one event per line), a directory (its files in name
    /// order) or "-" (JSON lines on stdin).
    #[arg(long = "event", value_name = "FILE|JSON|DIR|-")]
    events: Vec<String>,

    /// One-shot mode: how long to wait for the function to finish init (first /next) before
    /// sending the first event; covers e.g. `cargo run` building it. Seconds.
    #[arg(long, value_name = "SECONDS", default_value = "600", value_parser = parse_seconds)]
    init_timeout: Duration,

    /// One-shot mode: also exit 1 when the function answered with an error.
    #[arg(long)]
    fail_on_function_error: bool,

    /// Don't copy the function's stdout/stderr to stderr.
    #[arg(short, long)]
    quiet: bool,

    /// The function: a binary (e.g. ./target/release/echo-tokio) or a command with arguments
    /// (e.g. cargo run -q -p examples --bin echo-tokio), after `--`. A single argument containing
    /// spaces that is not a file is split on whitespace. Without it the APIs are served and
    /// you run the function yourself with AWS_LAMBDA_RUNTIME_API set as printed.
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    command: Vec<OsString>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CliHttpOrigin {
    FunctionUrl,
    HttpApi,
    Rest,
    Alb,
    AlbMulti,
    Lattice,
}

impl CliHttpOrigin {
    fn origin(self) -> HttpOrigin {
        match self {
            CliHttpOrigin::FunctionUrl => HttpOrigin::FunctionUrl,
            CliHttpOrigin::HttpApi => HttpOrigin::HttpApi,
            CliHttpOrigin::Rest => HttpOrigin::Rest,
            CliHttpOrigin::Alb => HttpOrigin::Alb,
            CliHttpOrigin::AlbMulti => HttpOrigin::AlbMultiValue,
            CliHttpOrigin::Lattice => HttpOrigin::Lattice,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CliLogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CliLogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

fn parse_seconds(raw: &str) -> Result<Duration, String> {
    let seconds: f64 = raw
        .parse()
        .map_err(|_| format!("`{raw}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("`{raw}` is not a valid duration"))
}

#[derive(Debug, Clone, Copy)]
enum SocketAddrOrPort {
    Port(u16),
    Addr(SocketAddr),
}

fn parse_http_listen(raw: &str) -> Result<SocketAddrOrPort, String> {
    if let Ok(port) = raw.parse::<u16>() {
        return Ok(SocketAddrOrPort::Port(port));
    }
    raw.parse::<SocketAddr>()
        .map(SocketAddrOrPort::Addr)
        .map_err(|_| format!("`{raw}` is neither a port nor ADDR:PORT"))
}

fn parse_key_value(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=')
        .filter(|(key, _)| !key.is_empty())
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| format!("`{raw}` is not KEY=VALUE"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let events = match load_events(&cli.events) {
        Ok(events) => events,
        Err(message) => {
            eprintln!("lambda-emulator: {message}");
            return ExitCode::from(2);
        }
    };
    let one_shot = !cli.events.is_empty();
    let mut options = Options::new(command(cli.command))
        .function_name(cli.function_name)
        .memory_mb(cli.memory)
        .timeout(cli.timeout)
        .region(cli.region)
        .bind(cli.bind)
        .port(cli.port)
        .handler(cli.handler)
        .invocation_id(cli.invocation_id)
        .shutdown_grace(Duration::from_millis(cli.shutdown_grace))
        .echo_logs(!cli.quiet)
        .log_invocations(!one_shot)
        .stream_limit(cli.stream_limit)
        .stream_bandwidth(cli.stream_bandwidth);
    if let Some(n) = cli.concurrency {
        options = options.concurrency(usize::try_from(n).unwrap_or(1));
    }
    if let Some(format) = cli.log_format {
        options = options.log_format(match format {
            CliLogFormat::Json => LogFormat::Json,
            CliLogFormat::Text => LogFormat::Text,
        });
    }
    if let Some(level) = cli.log_level {
        options = options.log_level(match level {
            CliLogLevel::Trace => LogLevel::Trace,
            CliLogLevel::Debug => LogLevel::Debug,
            CliLogLevel::Info => LogLevel::Info,
            CliLogLevel::Warn => LogLevel::Warn,
            CliLogLevel::Error => LogLevel::Error,
            CliLogLevel::Fatal => LogLevel::Fatal,
        });
    }
    if let Some(dir) = cli.extensions {
        options = options.extensions(dir);
    }
    if let Some(prefix) = cli.runtime_api_prefix {
        options = options.runtime_api_prefix(prefix);
    }
    options = options.http_origin(cli.http_origin.origin());
    match cli.http {
        Some(SocketAddrOrPort::Port(port)) => options = options.http_front_door(port),
        Some(SocketAddrOrPort::Addr(addr)) => options = options.http_front_door_at(addr),
        None => {}
    }
    for (key, value) in cli.env {
        options = options.env(key, value);
    }
    let emu = match Emulator::start(options) {
        Ok(emu) => emu,
        Err(err) => {
            eprintln!("lambda-emulator: cannot start: {err}");
            return ExitCode::from(2);
        }
    };
    let banner = format!(
        "lambda-emulator: Runtime API: AWS_LAMBDA_RUNTIME_API={}\n\
         lambda-emulator: Invoke API:  {}",
        emu.runtime_api(),
        emu.invoke_url()
    );
    if let Some(url) = emu.http_url() {
        eprintln!(
            "lambda-emulator: HTTP front door on {url} as {}",
            cli.http_origin.origin().description()
        );
    }
    if one_shot {
        eprintln!("{banner}");
        run_events(&emu, events, cli.init_timeout, cli.fail_on_function_error)
    } else {
        // Listening before the banner, which callers may take as the go-ahead to signal us.
        let signals = ShutdownSignals::install();
        println!("{banner}");
        let _ = std::io::stdout().flush();
        signals.wait();
        eprintln!("lambda-emulator: stopping");
        match emu.stop() {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("lambda-emulator: {err}");
                ExitCode::FAILURE
            }
        }
    }
}

/// The command line of the function; one argument with spaces that is not a file is split.
fn command(mut args: Vec<OsString>) -> Vec<OsString> {
    if let [single] = args.as_slice()
        && let Some(text) = single.to_str()
        && text.contains(char::is_whitespace)
        && !Path::new(text).exists()
    {
        args = text.split_whitespace().map(OsString::from).collect();
    }
    args
}

fn run_events(
    emu: &Emulator,
    events: Vec<Vec<u8>>,
    init_timeout: Duration,
    fail_on_function_error: bool,
) -> ExitCode {
    if let Err(err) = emu.wait_ready(init_timeout) {
        // The first invocation reports what went wrong.
        eprintln!("lambda-emulator: function not ready: {err}");
    }
    let mut failed = false;
    let stdout = std::io::stdout();
    for (index, event) in events.into_iter().enumerate() {
        match emu.invoke(event) {
            Ok(result) => {
                let mut out = stdout.lock();
                let _ = out.write_all(&one_line(&result.body));
                let _ = out.write_all(b"\n");
                let _ = out.flush();
                eprintln!(
                    "lambda-emulator: event {}: {} {}{} in {:.1} ms (request id {})",
                    index + 1,
                    result.status,
                    outcome_name(result.outcome),
                    result
                        .function_error
                        .as_deref()
                        .map(|e| format!(", X-Amz-Function-Error: {e}"))
                        .unwrap_or_default(),
                    result.duration.as_secs_f64() * 1000.0,
                    result.request_id
                );
                let answered = result.outcome.answered_by_function();
                if !answered || (fail_on_function_error && result.outcome != Outcome::Response) {
                    failed = true;
                }
            }
            Err(err) => {
                eprintln!("lambda-emulator: event {}: no answer: {err}", index + 1);
                failed = true;
            }
        }
    }
    if let Err(err) = emu.stop() {
        eprintln!("lambda-emulator: {err}");
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Response => "response",
        Outcome::FunctionError => "function error",
        Outcome::TimedOut => "timed out",
        Outcome::InitError => "init error",
        Outcome::ExitError => "runtime exited",
        Outcome::ResponseTooLarge => "response too large",
        Outcome::InvalidResponse => "invalid response",
        Outcome::Stopped => "emulator stopped",
        _ => "other",
    }
}

/// The body on one line: as-is if it has no line breaks, compact JSON if it is JSON, else
/// with line breaks escaped.
fn one_line(body: &[u8]) -> Vec<u8> {
    if !body.contains(&b'\n') && !body.contains(&b'\r') {
        return body.to_vec();
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body)
        && let Ok(compact) = serde_json::to_vec(&value)
    {
        return compact;
    }
    String::from_utf8_lossy(body)
        .replace('\r', "\\r")
        .replace('\n', "\\n")
        .into_bytes()
}

fn load_events(specs: &[String]) -> Result<Vec<Vec<u8>>, String> {
    let mut events = Vec::new();
    for spec in specs {
        if spec == "-" {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
                .map_err(|err| format!("reading events from stdin: {err}"))?;
            events.extend(split_events(&text, "stdin")?);
            continue;
        }
        let path = PathBuf::from(spec);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .map_err(|err| format!("{}: {err}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(format!(
                    "{}: no event files in the directory",
                    path.display()
                ));
            }
            for file in files {
                events.extend(read_event_file(&file)?);
            }
        } else if path.is_file() {
            events.extend(read_event_file(&path)?);
        } else if serde_json::from_str::<serde_json::Value>(spec).is_ok() {
            events.push(spec.as_bytes().to_vec());
        } else {
            return Err(format!(
                "--event {spec}: neither an existing file or directory nor valid JSON"
            ));
        }
    }
    Ok(events)
}

fn read_event_file(path: &Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path).map_err(|err| format!("{}: {err}", path.display()))?;
    split_events(&text, &path.display().to_string())
}

/// One JSON document, or JSON lines.
fn split_events(text: &str, source: &str) -> Result<Vec<Vec<u8>>, String> {
    if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        return Ok(vec![text.trim().as_bytes().to_vec()]);
    }
    let mut events = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        serde_json::from_str::<serde_json::Value>(line)
            .map_err(|err| format!("{source}:{}: not JSON: {err}", number + 1))?;
        events.push(line.as_bytes().to_vec());
    }
    if events.is_empty() {
        return Err(format!("{source}: no events"));
    }
    Ok(events)
}

/// SIGTERM and Ctrl-C, listened for from [`ShutdownSignals::install`] on.
struct ShutdownSignals {
    runtime: Option<tokio::runtime::Runtime>,
    term: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn install() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|err| eprintln!("lambda-emulator: cannot wait for signals: {err}"))
            .ok();
        let term = runtime.as_ref().and_then(|runtime| {
            let _guard = runtime.enter();
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok()
        });
        Self { runtime, term }
    }

    /// Returns at the first SIGTERM or Ctrl-C.
    fn wait(self) {
        let Self { runtime, term } = self;
        let Some(runtime) = runtime else { return };
        runtime.block_on(async {
            match term {
                Some(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        });
    }
}
