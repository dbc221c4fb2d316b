//! What the emulator records: Runtime API calls, function output, process exits, invoke results.

use std::borrow::Cow;
use std::time::Duration;

use crate::fault::Fault;

/// The Runtime API endpoint a call addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /2018-06-01/runtime/invocation/next`.
    Next,
    /// `POST /2018-06-01/runtime/invocation/{id}/response`.
    Response,
    /// `POST /2018-06-01/runtime/invocation/{id}/error`.
    Error,
    /// `POST /2018-06-01/runtime/init/error`.
    InitError,
    /// `GET /2018-06-01/ping` (legacy).
    Ping,
    /// `POST /2020-01-01/extension/register` (Extensions API).
    ExtensionRegister,
    /// `GET /2020-01-01/extension/event/next` (Extensions API).
    ExtensionNext,
    /// `POST /2020-01-01/extension/init/error` (Extensions API).
    ExtensionInitError,
    /// `POST /2020-01-01/extension/exit/error` (Extensions API).
    ExtensionExitError,
    /// `PUT /2022-07-01/telemetry` (Telemetry API).
    TelemetrySubscribe,
    /// `PUT /2020-08-15/logs` (Logs API; answered as the RIE does, with `Logs.NotSupported`).
    LogsSubscribe,
    /// Anything else (answered with 404 or 405).
    #[default]
    Other,
}

/// One HTTP request the function (or an extension) made to the Runtime API, the Extensions
/// API or the Telemetry API, and how the emulator answered it.
///
/// Calls are recorded when they arrive and updated when answered, so a call in progress
/// (typically a `/next` waiting for an event) is visible with `status: None`.
#[derive(Debug, Clone, Default)]
pub struct RuntimeCall {
    /// Arrival order, starting at 0; [`crate::Emulator::calls`] is sorted by it.
    pub seq: u64,
    /// The endpoint addressed.
    pub endpoint: Endpoint,
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The request target as received, including any Runtime API prefix and query.
    pub path: String,
    /// The request id in the path, or for `/next` (and an extension's `event/next` that
    /// delivered `INVOKE`) the id delivered in the answer. For the Extensions and Telemetry
    /// API calls other than `event/next`, the name of the extension (once known).
    pub request_id: Option<String>,
    /// The status the emulator answered with; `None` while the call is in progress (e.g. a
    /// `/next` long-polling) or if the function went away before an answer was produced.
    pub status: Option<u16>,
    /// The request headers, names lowercase, values decoded lossily as UTF-8.
    pub request_headers: Vec<(String, String)>,
    /// The response headers the emulator sent (lowercase names, lossy values).
    pub response_headers: Vec<(String, String)>,
    /// Number of request body bytes received.
    pub body_len: usize,
    /// The request body (empty for `GET`s; at most the payload limit is kept, also of a
    /// streamed response).
    pub body: Vec<u8>,
    /// The response body the emulator sent (for `/next`, the event; with
    /// [`Fault::TruncateBody`] or [`Fault::DropConnection`], the part that was sent).
    pub response_body: Vec<u8>,
    /// When the request head arrived, Unix epoch milliseconds.
    pub received_ms: u64,
    /// When the answer was produced, Unix epoch milliseconds.
    pub responded_ms: Option<u64>,
    /// True when the call ended without an answer: the connection closed (or the emulator
    /// stopped) first, e.g. a function killed while its `/next` was long-polling.
    pub abandoned: bool,
    /// The injected fault applied to this call, if any.
    pub fault: Option<Fault>,
    /// The function process generation current when the call arrived (1 = first start;
    /// 0 when the emulator runs without a process).
    pub generation: u64,
    /// Which TCP connection carried the call (numbered from 0 in accept order), so tests can
    /// see whether the function keeps its connection alive.
    pub connection: u64,
    /// For a streamed `/response` (`Lambda-Runtime-Function-Response-Mode: streaming`): how
    /// the stream went. `None` for every other call.
    pub stream: Option<StreamRecord>,
}

/// How a streamed `/response` went, as [`RuntimeCall::stream`] records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamRecord {
    /// The `Content-Type` the runtime declared (`application/octet-stream` when absent, as
    /// the RIE-LMI defaults it).
    pub content_type: String,
    /// How many body pieces arrived: one per HTTP chunk, or more when a big chunk arrived
    /// in parts.
    pub chunk_count: u64,
    /// The size of each piece, in arrival order (the first [`StreamRecord::MAX_SIZES`]).
    pub chunk_sizes: Vec<usize>,
    /// Body bytes received in total (the trailers not included).
    pub total: u64,
    /// When the first piece arrived, Unix epoch milliseconds.
    pub first_chunk_ms: Option<u64>,
    /// When the last piece arrived, Unix epoch milliseconds.
    pub last_chunk_ms: Option<u64>,
    /// The HTTP trailers received after the last chunk (lowercase names, lossy values).
    pub trailers: Vec<(String, String)>,
    /// The `Lambda-Runtime-Function-Error-Type` trailer, if the function failed mid-stream.
    pub error_type: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Body` trailer, base64-decoded (`None` if absent or
    /// not base64).
    pub error_body: Option<Vec<u8>>,
    /// True when the invoker read the pieces as they arrived (the streaming Invoke API, the
    /// front door, [`crate::Emulator::invoke_stream`]); false when the emulator buffered the
    /// response for a buffered invoke.
    pub forwarded: bool,
    /// How the stream ended.
    pub end: StreamEnd,
}

impl StreamRecord {
    /// How many piece sizes [`StreamRecord::chunk_sizes`] keeps.
    pub const MAX_SIZES: usize = 10_000;

    /// The first trailer with this name (case-insensitive).
    pub fn trailer(&self, name: &str) -> Option<&str> {
        find_header(&self.trailers, name)
    }
}

/// How a streamed response ended ([`StreamRecord::end`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum StreamEnd {
    /// Still streaming.
    #[default]
    Open,
    /// The last chunk arrived (possibly with an error in the trailers).
    Complete,
    /// The runtime's connection broke before the last chunk (`Runtime.TruncatedResponse`).
    Truncated,
    /// The stream passed the size limit ([`crate::Options::stream_limit`]; 6 MB for a
    /// buffered invoke) and the emulator stopped reading (`Function.ResponseSizeTooLarge`).
    Oversized,
    /// The invocation ended first (it timed out, or the emulator stopped) or the request
    /// id was refused.
    Abandoned,
}

impl RuntimeCall {
    /// The first request header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.request_headers, name)
    }

    /// The first response header with this name (case-insensitive).
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find_header(&self.response_headers, name)
    }

    /// The `Lambda-Runtime-Function-Response-Mode` request header (`streaming`), if sent.
    pub fn response_mode(&self) -> Option<&str> {
        self.header("lambda-runtime-function-response-mode")
    }

    /// The request body as text (lossy UTF-8).
    pub fn body_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The response body parsed as JSON, if it is JSON.
    pub fn response_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.response_body).ok()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// An error the function posted to `/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedError {
    /// The request id from the path; `None` for `/init/error`.
    pub request_id: Option<String>,
    /// The `Lambda-Runtime-Function-Error-Type` header, as sent.
    pub error_type: Option<String>,
    /// The request body.
    pub body: Vec<u8>,
    /// The status the emulator answered with (202 when accepted).
    pub status: Option<u16>,
    /// When the request arrived, Unix epoch milliseconds.
    pub received_ms: u64,
}

/// Which output stream of the function a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogStream {
    /// The function's standard output.
    Stdout,
    /// The function's standard error.
    Stderr,
}

/// One line the function or an external extension wrote to stdout or stderr (without the line
/// terminator), or a note from the emulator about the process (then `stream` is `Stderr` and
/// `generation` is the process concerned).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The stream it was written to.
    pub stream: LogStream,
    /// The text, decoded lossily as UTF-8.
    pub line: String,
    /// When it was read, Unix epoch milliseconds.
    pub at_ms: u64,
    /// The process generation that wrote it (an extension belongs to the generation it was
    /// started with).
    pub generation: u64,
    /// The file name of the external extension that wrote it; `None` for the function.
    pub extension: Option<String>,
}

/// Why the emulator stopped a function process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResetReason {
    /// An invocation timed out: by its deadline it was not answered, or the function that
    /// answered it had not asked for the next one.
    Timeout,
    /// The function posted `/init/error`.
    InitError,
    /// The emulator was stopped.
    Stop,
    /// An external extension exited (or could not be started) outside a shutdown.
    ExtensionExit,
}

/// How a function process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessExit {
    /// Which start this was (1 = the first).
    pub generation: u64,
    /// The process id.
    pub pid: u32,
    /// The exit code, if it exited normally.
    pub code: Option<i32>,
    /// The signal that killed it, if any.
    pub signal: Option<i32>,
    /// Why the emulator stopped it; `None` if it exited on its own (or after a signal sent
    /// with [`crate::Emulator::signal`]).
    pub reset: Option<ResetReason>,
    /// When `SIGTERM` was sent to it (by a reset or by [`crate::Emulator::signal`]),
    /// Unix epoch milliseconds.
    pub sigterm_ms: Option<u64>,
    /// Whether the emulator had to send `SIGKILL` (the grace period ran out, or
    /// [`crate::Signal::Kill`] was sent).
    pub sigkilled: bool,
    /// When the exit was observed, Unix epoch milliseconds.
    pub exited_ms: u64,
}

impl ProcessExit {
    /// True when the process exited with status 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// Milliseconds from `SIGTERM` to the exit, if a `SIGTERM` was sent.
    pub fn ms_after_sigterm(&self) -> Option<u64> {
        self.sigterm_ms.map(|t| self.exited_ms.saturating_sub(t))
    }

    /// Lambda's description of the exit: `exit status 1`, `signal: killed`, ...
    pub fn describe(&self) -> String {
        match (self.code, self.signal) {
            (Some(code), _) => format!("exit status {code}"),
            (None, Some(sig)) => format!("signal: {}", signal_name(sig)),
            (None, None) => "exited".to_owned(),
        }
    }
}

fn signal_name(sig: i32) -> String {
    match sig {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        6 => "aborted".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        other => other.to_string(),
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The function posted `/response`.
    Response,
    /// The function posted `/error` (HTTP 200 with `X-Amz-Function-Error: Unhandled`).
    FunctionError,
    /// The emulator's timer fired first (`Sandbox.Timedout`).
    TimedOut,
    /// The function posted `/init/error` (HTTP 502).
    InitError,
    /// The function process exited or could not be started (`Runtime.ExitError` /
    /// `Runtime.InvalidEntrypoint`, HTTP 502).
    ExitError,
    /// The response was larger than 6,291,556 bytes (`Function.ResponseSizeTooLarge`).
    ResponseTooLarge,
    /// The response could not be used: a bad response-mode header or a truncated body.
    InvalidResponse,
    /// The emulator stopped before the invocation finished (HTTP 503).
    Stopped,
}

impl Outcome {
    /// True when the function itself answered (a response or an error it posted).
    pub fn answered_by_function(self) -> bool {
        matches!(self, Outcome::Response | Outcome::FunctionError)
    }
}

/// What the invoker of one invocation got back, as the Invoke API would answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeResult {
    /// The request id of the invocation (`Lambda-Runtime-Aws-Request-Id`).
    pub request_id: String,
    /// The HTTP status of the Invoke API answer.
    pub status: u16,
    /// The body of the answer.
    pub body: Vec<u8>,
    /// The `Content-Type` of the answer.
    pub content_type: String,
    /// The `X-Amz-Function-Error` header (`Unhandled`), if the invocation failed.
    pub function_error: Option<String>,
    /// How the invocation ended.
    pub outcome: Outcome,
    /// Time from submission to the answer.
    pub duration: Duration,
}

impl InvokeResult {
    /// The body as text (lossy UTF-8).
    pub fn body_str(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The `errorType` field of a JSON error body.
    pub fn error_type(&self) -> Option<String> {
        self.json()?
            .get("errorType")?
            .as_str()
            .map(ToOwned::to_owned)
    }
}

/// An extension registered with the Extensions API, as [`crate::Emulator::extensions`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// The `Lambda-Extension-Name` it registered with.
    pub name: String,
    /// The `Lambda-Extension-Identifier` it was given.
    pub id: String,
    /// True for an external extension (its name is that of a file the emulator started from
    /// [`crate::Options::extensions`]); false for an internal one (registered by the function
    /// process).
    pub external: bool,
    /// The events it subscribed to (`INVOKE`, `SHUTDOWN`), in the order given.
    pub events: Vec<String>,
    /// The process generation (sandbox) it belongs to.
    pub generation: u64,
    /// When it registered, Unix epoch milliseconds.
    pub registered_ms: u64,
    /// How many `event/next` calls it made.
    pub next_calls: u64,
    /// Whether it subscribed to the Telemetry API.
    pub telemetry: bool,
    /// The `Lambda-Extension-Function-Error-Type` it posted to `init/error` or `exit/error`.
    pub error_type: Option<String>,
}

/// How an external extension process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionExit {
    /// Its file name (the name it registers with).
    pub name: String,
    /// How it ended; `reset` and `sigterm_ms` are always `None` (extensions get no signal but
    /// `SIGKILL`), `sigkilled` tells whether the emulator killed it.
    pub exit: ProcessExit,
}

/// One step of a shutdown (a reset, or the emulator stopping), as the emulator took it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShutdownStep {
    /// The process generation (sandbox) shut down.
    pub generation: u64,
    /// When the step was taken, Unix epoch milliseconds.
    pub at_ms: u64,
    /// What was done.
    pub action: ShutdownAction,
}

/// What one [`ShutdownStep`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ShutdownAction {
    /// The shutdown began: the reason given to extensions (`spindown`, `timeout`, `failure`)
    /// and how many internal and external extensions were registered.
    Begin {
        /// The `shutdownReason`.
        reason: String,
        /// Registered internal extensions.
        internal: usize,
        /// Registered external extensions.
        external: usize,
    },
    /// `SIGTERM` to the runtime's process group.
    RuntimeSigterm,
    /// `SIGKILL` to the runtime's process group.
    RuntimeSigkill,
    /// The runtime process was gone (observed at this time).
    RuntimeGone,
    /// A `SHUTDOWN` event was queued for this external extension.
    ShutdownEvent {
        /// The extension's name.
        extension: String,
        /// The `deadlineMs` of the event, Unix epoch milliseconds.
        deadline_ms: u64,
    },
    /// `SIGKILL` to an external extension's process group (it did not subscribe to
    /// `SHUTDOWN`, or did not finish by the deadline, or never registered).
    ExtensionSigkill {
        /// The extension's file name.
        extension: String,
    },
    /// The shutdown ended: everything of the sandbox is gone.
    End,
}

/// An error an extension posted to `/extension/init/error` or `/extension/exit/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionError {
    /// The extension's name.
    pub extension: String,
    /// [`Endpoint::ExtensionInitError`] or [`Endpoint::ExtensionExitError`].
    pub endpoint: Endpoint,
    /// The `Lambda-Extension-Function-Error-Type` header.
    pub error_type: String,
    /// The request body.
    pub body: Vec<u8>,
    /// When it arrived, Unix epoch milliseconds.
    pub received_ms: u64,
}

/// One batch the emulator POSTed (or tried to) to a Telemetry API subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetryDelivery {
    /// The subscribing extension's name.
    pub extension: String,
    /// The destination URI as subscribed (`http://sandbox.localdomain:PORT/...`).
    pub uri: String,
    /// The `type` of each record in the batch, in order.
    pub types: Vec<String>,
    /// The HTTP status the subscriber answered with; `None` if the POST failed.
    pub status: Option<u16>,
    /// Why the POST failed (it is dropped, not retried).
    pub error: Option<String>,
    /// When the POST ended, Unix epoch milliseconds.
    pub at_ms: u64,
}
