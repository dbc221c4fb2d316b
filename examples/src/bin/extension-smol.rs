//! The external extension of `extension-tokio`, on smol's `async-io` (see
//! `examples/src/extension.rs` for what it does). Nothing is spawned: the telemetry listener
//! runs beside the extension in the one future `block_on` drives.

use std::net::TcpStream;
use std::process::ExitCode;

use examples::extension::{Printer, READ_TIMEOUT, bind_listener, print_batch, telemetry_wanted};
use lambda_runtime_types::driver::run_extension;
use lambda_runtime_types::extension::telemetry::{BAD_REQUEST, Framing, frame_request};
use lambda_runtime_types_smol::SmolRuntime;
use lambda_runtime_types_smol::async_io::{Async, Timer, block_on};
use lambda_runtime_types_smol::futures_lite::{AsyncReadExt, AsyncWriteExt, future};

fn main() -> ExitCode {
    let code = block_on(async {
        let listener = match telemetry_wanted() {
            true => match bind_listener().and_then(Async::new) {
                Ok(l) => Some(l),
                Err(e) => {
                    eprintln!("extension: no telemetry listener: {e}");
                    None
                }
            },
            false => None,
        };
        let port = listener
            .as_ref()
            .and_then(|l| l.get_ref().local_addr().ok())
            .map(|a| a.port());
        let mut steps = Printer::new(port);
        let options = steps.options();
        let extension = async {
            match run_extension(&SmolRuntime, None, options, &mut steps).await {
                Ok(stopped) => {
                    eprintln!("extension: stopped: {}", stopped.reason());
                    stopped.code()
                }
                Err(e) => {
                    eprintln!("extension: {e:#}");
                    1
                }
            }
        };
        match listener {
            // The listener never ends: the extension's end ends both.
            Some(listener) => future::or(extension, serve_telemetry(listener)).await,
            None => extension.await,
        }
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Accepts the Telemetry API's POSTs, one connection at a time (Lambda sends one batch at a
/// time, each on a connection it closes).
async fn serve_telemetry(listener: Async<std::net::TcpListener>) -> i32 {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                let timeout = async {
                    Timer::after(READ_TIMEOUT).await;
                    eprintln!("extension: a telemetry request took too long");
                };
                future::or(answer(conn), timeout).await;
            }
            Err(e) => eprintln!("extension: telemetry accept: {e}"),
        }
    }
}

/// Reads one request, prints its batch, answers it and closes.
async fn answer(mut conn: Async<TcpStream>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        let answer = match frame_request(&buf) {
            Framing::Incomplete => match conn.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    continue;
                }
            },
            Framing::Complete { body, .. } => print_batch(body),
            Framing::Invalid(why) => {
                eprintln!("extension: telemetry request refused: {why}");
                BAD_REQUEST
            }
        };
        let _ = conn.write_all(answer).await;
        return;
    }
}
