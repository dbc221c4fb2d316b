//! The external extension of `extension-tokio` and `extension-smol`: the steps and the
//! telemetry listener's reading are here, the sockets in each binary.
//!
//! It registers for INVOKE and SHUTDOWN and prints, on stdout (Lambda sends an extension's
//! output to the function's log, as it does the function's):
//!
//! - `extension: INVOKE <requestId>` for each invocation;
//! - `extension: SHUTDOWN <reason>` at shutdown, then `extension: shutdown step done, <n> ms
//!   before the deadline` once its (short) shutdown work is done;
//! - with the Telemetry API subscription (on unless `EXTENSION_TELEMETRY=off`):
//!   `extension: telemetry platform.start <requestId>` and
//!   `extension: telemetry platform.report <requestId> <status>` for each invocation.
//!
//! Lambda starts every file of `/opt/extensions` (a layer's `extensions/` directory) before the
//! runtime; the extension registers with its own file name. Under the emulator:
//! `lambda-emulator --extensions DIR -- ./my-function`, with the binary copied into `DIR`.

use std::net::TcpListener;
use std::time::Duration;

use lambda_runtime_types::driver::Extension;
use lambda_runtime_types::extension::telemetry::{
    Buffering, Record, Subscription, TelemetryType, receive,
};
use lambda_runtime_types::extension::{InvokeEvent, Options, ShutdownEvent};
use lambda_runtime_types::time::EpochMillis;

/// The extension's steps: print what Lambda tells it.
#[derive(Debug)]
pub struct Printer {
    /// The telemetry listener's port, when subscribing.
    telemetry_port: Option<u16>,
}

impl Printer {
    /// The steps; `telemetry_port` is where the listener is, if it subscribes.
    pub fn new(telemetry_port: Option<u16>) -> Self {
        Self { telemetry_port }
    }

    /// What to register with: external, INVOKE and SHUTDOWN, and the Telemetry API
    /// subscription if there is a listener.
    pub fn options(&self) -> Options {
        Options::external().subscribe(self.telemetry_port.is_some())
    }
}

impl Extension for Printer {
    fn subscription(&self) -> Vec<u8> {
        let Some(port) = self.telemetry_port else {
            return Vec::new();
        };
        // `sandbox.localdomain` is what Lambda accepts as the host; the emulator maps it to
        // 127.0.0.1. The shortest buffering, so the records arrive soon after each invocation.
        let uri = format!("http://sandbox.localdomain:{port}/telemetry");
        let subscription = Subscription::http(uri, &[TelemetryType::Platform])
            .map(|s| s.with_buffering(Buffering::new(1_000, 262_144, 25).unwrap_or_default()));
        match subscription {
            Ok(s) => s.to_json(),
            // An empty body is refused, and the machine reports it on init/error.
            Err(e) => {
                eprintln!("extension: no telemetry subscription: {e}");
                Vec::new()
            }
        }
    }

    async fn invoke(&mut self, event: &InvokeEvent) -> anyhow::Result<()> {
        println!("extension: INVOKE {}", event.request_id);
        Ok(())
    }

    async fn shutdown(&mut self, event: &ShutdownEvent) -> anyhow::Result<()> {
        println!("extension: SHUTDOWN {}", event.shutdown_reason);
        // Flushing buffered data would go here; it must end before `deadline_ms` (the step is
        // dropped shortly before it).
        let left = event.deadline_ms.0.saturating_sub(EpochMillis::now().0);
        println!("extension: shutdown step done, {left} ms before the deadline");
        Ok(())
    }
}

/// Whether to subscribe to the Telemetry API: yes unless `EXTENSION_TELEMETRY=off`.
pub fn telemetry_wanted() -> bool {
    std::env::var("EXTENSION_TELEMETRY").as_deref() != Ok("off")
}

/// Binds the telemetry listener on a free port: at `sandbox.localdomain` where that name
/// resolves (in Lambda), else at 127.0.0.1 (the emulator delivers there).
pub fn bind_listener() -> std::io::Result<TcpListener> {
    TcpListener::bind(("sandbox.localdomain", 0)).or_else(|_| TcpListener::bind("127.0.0.1:0"))
}

/// Reads one telemetry POST's body, prints the `platform.start` and `platform.report` records
/// and returns the HTTP answer to send (200, even when some records were bad: those are
/// logged).
pub fn print_batch(body: &[u8]) -> &'static [u8] {
    let received = receive(body);
    for event in &received.events {
        match &event.record {
            Record::Start(start) => {
                println!("extension: telemetry platform.start {}", start.request_id)
            }
            Record::Report(report) => println!(
                "extension: telemetry platform.report {} {}",
                report.request_id,
                report.status.as_str()
            ),
            _ => {}
        }
    }
    // `receive` logs them too, but this binary installs no logger.
    for bad in &received.bad {
        eprintln!("extension: {bad}");
    }
    if let Some(e) = &received.malformed {
        eprintln!("extension: {e}");
    }
    received.response()
}

/// How long a telemetry connection may take to send its request.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
