//! Configuration of an [`crate::Emulator`].

use std::ffi::OsString;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::front_door::HttpOrigin;

/// The payload limit Lambda applies to buffered responses and the RIE to events:
/// 6 MiB + 100 bytes.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024 + 100;

/// The default limit of a streamed response ([`Options::stream_limit`]): 200 MiB, as Lambda
/// documents for response streaming.
pub const STREAM_LIMIT: u64 = 200 * 1024 * 1024;

/// How to run the emulator: the function command and the function's configuration.
///
/// ```
/// use std::time::Duration;
/// use lambda_emulator::Options;
///
/// let options = Options::new(["target/release/echo-tokio"])
///     .function_name("hello")
///     .timeout(Duration::from_secs(3))
///     .memory_mb(256)
///     .env("RUST_LOG", "debug");
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct Options {
    pub(crate) command: Vec<OsString>,
    pub(crate) function_name: String,
    pub(crate) version: String,
    pub(crate) memory_mb: u32,
    pub(crate) timeout: Duration,
    pub(crate) region: String,
    pub(crate) bind: IpAddr,
    pub(crate) port: u16,
    pub(crate) concurrency: Option<usize>,
    pub(crate) runtime_api_prefix: Option<String>,
    pub(crate) handler: String,
    pub(crate) env: Vec<(OsString, OsString)>,
    pub(crate) invocation_id: bool,
    pub(crate) shutdown_grace: Duration,
    pub(crate) echo_logs: bool,
    pub(crate) log_invocations: bool,
    pub(crate) current_dir: Option<PathBuf>,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) log_level: Option<LogLevel>,
    pub(crate) extensions: Option<PathBuf>,
    pub(crate) runtime_shutdown_share: Option<Duration>,
    pub(crate) sigterm_without_extensions: bool,
    pub(crate) http: Option<HttpListen>,
    pub(crate) http_origin: HttpOrigin,
    pub(crate) stream_limit: u64,
    pub(crate) stream_bandwidth: bool,
}

/// Where the HTTP front door listens: a port on [`Options::bind`]'s address, or an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpListen {
    Port(u16),
    Addr(SocketAddr),
}

/// The log format of Lambda's advanced logging controls, given to the function as
/// `AWS_LAMBDA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogFormat {
    /// `JSON`: one JSON object per line.
    Json,
    /// `Text`: plain text lines.
    Text,
}

impl LogFormat {
    /// The value of `AWS_LAMBDA_LOG_FORMAT`: `JSON` or `Text`.
    pub fn env_value(self) -> &'static str {
        match self {
            LogFormat::Json => "JSON",
            LogFormat::Text => "Text",
        }
    }
}

/// The application log level of Lambda's advanced logging controls, given to the function as
/// `AWS_LAMBDA_LOG_LEVEL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogLevel {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
    /// `FATAL`.
    Fatal,
}

impl LogLevel {
    /// The value of `AWS_LAMBDA_LOG_LEVEL`, upper case as Lambda sets it (`TRACE` .. `FATAL`).
    pub fn env_value(self) -> &'static str {
        match self {
            LogLevel::Trace => "TRACE",
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
        }
    }
}

impl Options {
    /// Run the function started by `command` (a program and its arguments, e.g.
    /// `["target/release/echo-tokio"]` or
    /// `["cargo", "run", "-q", "-p", "examples", "--bin", "echo-tokio"]`).
    ///
    /// Defaults: function name `function`, version `$LATEST`, 128 MB, a 3 s timeout (Lambda's
    /// default), region `us-east-1`, a free port on 127.0.0.1, concurrency 1 (and no
    /// `AWS_LAMBDA_MAX_CONCURRENCY`), handler `bootstrap`, no extensions, a 2000 ms shutdown
    /// budget (as Lambda), no invocation-id nonce, function output captured but not echoed, no
    /// `AWS_LAMBDA_LOG_FORMAT` or `AWS_LAMBDA_LOG_LEVEL` (a function without advanced logging
    /// controls), no HTTP front door, streamed responses up to [`STREAM_LIMIT`] bytes and
    /// without a bandwidth cap.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Options {
            command: command.into_iter().map(Into::into).collect(),
            function_name: "function".to_owned(),
            version: "$LATEST".to_owned(),
            memory_mb: 128,
            timeout: Duration::from_secs(3),
            region: "us-east-1".to_owned(),
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            concurrency: None,
            runtime_api_prefix: None,
            handler: "bootstrap".to_owned(),
            env: Vec::new(),
            invocation_id: false,
            shutdown_grace: Duration::from_millis(2000),
            echo_logs: false,
            log_invocations: false,
            current_dir: None,
            log_format: None,
            log_level: None,
            extensions: None,
            runtime_shutdown_share: None,
            sigterm_without_extensions: false,
            http: None,
            http_origin: HttpOrigin::FunctionUrl,
            stream_limit: STREAM_LIMIT,
            stream_bandwidth: false,
        }
    }

    /// Serve the APIs without starting a process: the function is run by someone else (for
    /// example a runtime driven inside the test process) against
    /// [`crate::Emulator::runtime_api`]. Timeouts still answer the invoker but cannot reset
    /// anything.
    pub fn external() -> Self {
        Options::new(Vec::<OsString>::new())
    }

    /// The function name (`AWS_LAMBDA_FUNCTION_NAME`, the ARN, the log group, and the second
    /// Invoke API path `/2015-03-31/functions/NAME/invocations`).
    pub fn function_name(mut self, name: impl Into<String>) -> Self {
        self.function_name = name.into();
        self
    }

    /// The function version (`AWS_LAMBDA_FUNCTION_VERSION`), `$LATEST` by default.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` in MB. Not enforced.
    pub fn memory_mb(mut self, memory_mb: u32) -> Self {
        self.memory_mb = memory_mb;
        self
    }

    /// The invocation timeout, counted from the moment an invocation gets a slot (at once,
    /// unless earlier invocations occupy all slots), so on a cold start it includes init.
    /// When it fires, the invoker gets `Sandbox.Timedout` and the process is reset (shut down
    /// as [`Options::shutdown_grace`] describes, then started again by the next invocation);
    /// see [`Options::concurrency`] for the exception. As in Lambda, it runs until the function
    /// asks for the next invocation: one that answered in time but is not back at `/next` by
    /// the deadline is reset then too (its invoker keeps the answer).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// `AWS_REGION` and `AWS_DEFAULT_REGION`, also used in the function ARN.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }

    /// The address to listen on, 127.0.0.1 by default.
    pub fn bind(mut self, addr: IpAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The port to listen on; 0 (the default) picks a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Run up to `n` invocations at once and tell the function so through
    /// `AWS_LAMBDA_MAX_CONCURRENCY` (as Lambda Managed Instances do). As in the RIE's
    /// managed-instances mode, a timed-out invocation then does not reset the process (the
    /// others keep running), nor does a process that is not back at `/next` by the deadline;
    /// a late `/response` or `/error` for it gets `410 InvokeTimeout`.
    /// A duplicate answer gets 400 rather than 403.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// Serve the Runtime API under a path prefix, e.g. `/.rt/fn`; the function then gets
    /// `AWS_LAMBDA_RUNTIME_API=http://127.0.0.1:PORT/.rt/fn` (the form cargo-lambda uses)
    /// instead of `127.0.0.1:PORT`.
    pub fn runtime_api_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.runtime_api_prefix = Some(prefix.into());
        self
    }

    /// `_HANDLER`, `bootstrap` by default.
    pub fn handler(mut self, handler: impl Into<String>) -> Self {
        self.handler = handler.into();
        self
    }

    /// Set an extra environment variable for the function (may override the Lambda ones).
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Send `Lambda-Runtime-Invocation-Id` (a fresh nonce per invocation) on `/next`.
    pub fn invocation_id(mut self, on: bool) -> Self {
        self.invocation_id = on;
        self
    }

    /// The shutdown budget (2000 ms by default, as Lambda gives a sandbox with an external
    /// extension). A reset or stop shuts down as Lambda does:
    ///
    /// - no extension registered: `SIGKILL` to the function at once (no `SIGTERM`; see
    ///   [`Options::sigterm_without_extensions`]);
    /// - otherwise `SIGTERM` to the function's process group, `SIGKILL` after the runtime's
    ///   share ([`Options::runtime_shutdown_share`]: 500 ms with an internal extension
    ///   registered, else 300 ms); then `SHUTDOWN` to the external extensions that subscribed
    ///   to it, with `deadlineMs` at the end of this budget (counted from the start of the
    ///   shutdown), and `SIGKILL` to those not done by then (those not subscribed get
    ///   `SIGKILL` at once).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// How long the function gets between `SIGTERM` and `SIGKILL` at a shutdown with
    /// extensions registered. `None` (the default) is Lambda's share: 500 ms when an internal
    /// extension is registered, else 300 ms. Tests may lengthen it; the external extensions'
    /// deadline stays the end of [`Options::shutdown_grace`], so lengthen that too.
    pub fn runtime_shutdown_share(mut self, share: Option<Duration>) -> Self {
        self.runtime_shutdown_share = share;
        self
    }

    /// Send `SIGTERM` at a shutdown even when no extension is registered, and `SIGKILL` only
    /// after [`Options::shutdown_grace`] (what this emulator did before it knew extensions;
    /// not what Lambda does, which kills such a function at once). Off by default.
    pub fn sigterm_without_extensions(mut self, on: bool) -> Self {
        self.sigterm_without_extensions = on;
        self
    }

    /// Run Lambda extensions: before each start of the function, start every executable
    /// regular file in `dir` (as Lambda does for `/opt/extensions`), in name order, with the
    /// function's environment and working directory; their output is captured (and echoed)
    /// like the function's, see [`crate::Emulator::logs`]. Each must register with its file
    /// name as `Lambda-Extension-Name`, and init ends only once every registered extension
    /// (external or internal) has called `event/next`. See the crate docs.
    pub fn extensions(mut self, dir: impl Into<PathBuf>) -> Self {
        self.extensions = Some(dir.into());
        self
    }

    /// Also copy the function's stdout and stderr to the emulator's stderr (they are always
    /// captured, see [`crate::Emulator::logs`]).
    pub fn echo_logs(mut self, on: bool) -> Self {
        self.echo_logs = on;
        self
    }

    /// Write one line per finished invocation to stderr: `lambda-emulator: <request id>
    /// <outcome> in <ms> ms`, where the outcome is `ok`, the error type (e.g.
    /// `Function.SetupError`, `Runtime.ExitError`) or `timeout`. Off by default; the CLI turns
    /// it on in server mode.
    pub fn log_invocations(mut self, on: bool) -> Self {
        self.log_invocations = on;
        self
    }

    /// The working directory of the function (and `LAMBDA_TASK_ROOT`); the emulator's own
    /// working directory by default.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.current_dir = Some(dir.into());
        self
    }

    /// The log format (advanced logging controls): sets `AWS_LAMBDA_LOG_FORMAT` to `JSON` or
    /// `Text` for the function. Unset by default.
    pub fn log_format(mut self, format: LogFormat) -> Self {
        self.log_format = Some(format);
        self
    }

    /// The application log level (advanced logging controls): sets `AWS_LAMBDA_LOG_LEVEL`
    /// (upper case, e.g. `DEBUG`) for the function. Unset by default.
    pub fn log_level(mut self, level: LogLevel) -> Self {
        self.log_level = Some(level);
        self
    }

    /// Open the HTTP front door on `port` (of the [`Options::bind`] address; 0 picks a free
    /// port, see [`crate::Emulator::http_addr`]): plain HTTP/1.1 requests to it are delivered
    /// to the function as the Lambda events of [`Options::http_origin`] (a Function URL by
    /// default), and the function's answers are turned back into HTTP responses as that
    /// service would. See the crate docs.
    pub fn http_front_door(mut self, port: u16) -> Self {
        self.http = Some(HttpListen::Port(port));
        self
    }

    /// [`Options::http_front_door`] on an address of its own (e.g. `0.0.0.0:9000`).
    pub fn http_front_door_at(mut self, addr: SocketAddr) -> Self {
        self.http = Some(HttpListen::Addr(addr));
        self
    }

    /// Which service the HTTP front door emulates: the event shape the function gets and how
    /// its answer is turned into the HTTP response. [`HttpOrigin::FunctionUrl`] by default.
    pub fn http_origin(mut self, origin: HttpOrigin) -> Self {
        self.http_origin = origin;
        self
    }

    /// The size limit of a streamed response ([`STREAM_LIMIT`], 200 MiB, by default). Past
    /// it the emulator stops reading, answers the runtime `413` and ends the invoker's
    /// stream with `Function.ResponseSizeTooLarge`. See "Response streaming" in the crate
    /// docs.
    pub fn stream_limit(mut self, bytes: u64) -> Self {
        self.stream_limit = bytes;
        self
    }

    /// Apply Lambda's bandwidth cap to streamed responses: the first 6 MiB uncapped, then at
    /// most 2 MiB/s (the emulator reads the runtime's stream no faster). Off by default.
    pub fn stream_bandwidth(mut self, on: bool) -> Self {
        self.stream_bandwidth = on;
        self
    }

    /// The front door's listen address, if it is enabled.
    pub(crate) fn http_listen_addr(&self) -> Option<SocketAddr> {
        match self.http? {
            HttpListen::Port(port) => Some(SocketAddr::new(self.bind, port)),
            HttpListen::Addr(addr) => Some(addr),
        }
    }

    /// How many invocations may run at once.
    pub(crate) fn slots(&self) -> usize {
        self.concurrency.unwrap_or(1)
    }

    /// The prefix normalized to `""` or `/a/b` (leading slash, no trailing slash).
    pub(crate) fn normalized_prefix(&self) -> String {
        let raw = self.runtime_api_prefix.as_deref().unwrap_or("");
        let trimmed = raw.trim_matches('/');
        if trimmed.is_empty() {
            String::new()
        } else {
            format!("/{trimmed}")
        }
    }
}
