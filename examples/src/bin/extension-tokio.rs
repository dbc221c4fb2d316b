//! An external Lambda extension on tokio (see `examples/src/extension.rs` for what it does):
//! copy the binary into a layer's `extensions/` directory, or into the directory given to
//! `lambda-emulator --extensions DIR`.

use std::process::ExitCode;

use examples::extension::{Printer, READ_TIMEOUT, bind_listener, print_batch, telemetry_wanted};
use lambda_runtime_types::driver::run_extension;
use lambda_runtime_types::extension::telemetry::{BAD_REQUEST, Framing, frame_request};
use lambda_runtime_types_tokio::TokioRuntime;
use lambda_runtime_types_tokio::tokio;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("extension: cannot start tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(async {
        // The listener must be up before the subscription: Lambda delivers as soon as it
        // accepts it.
        let listener = match telemetry_wanted() {
            true => match bind_listener().and_then(|l| {
                l.set_nonblocking(true)?;
                TcpListener::from_std(l)
            }) {
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
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port());
        if let Some(listener) = listener {
            tokio::spawn(serve_telemetry(listener));
        }
        let mut steps = Printer::new(port);
        match run_extension(&TokioRuntime, None, steps.options(), &mut steps).await {
            Ok(stopped) => {
                eprintln!("extension: stopped: {}", stopped.reason());
                stopped.code()
            }
            Err(e) => {
                eprintln!("extension: {e:#}");
                1
            }
        }
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Accepts the Telemetry API's POSTs, one task per connection.
async fn serve_telemetry(listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((conn, _)) => {
                tokio::spawn(async move {
                    if tokio::time::timeout(READ_TIMEOUT, answer(conn))
                        .await
                        .is_err()
                    {
                        eprintln!("extension: a telemetry request took too long");
                    }
                });
            }
            Err(e) => eprintln!("extension: telemetry accept: {e}"),
        }
    }
}

/// Reads one request, prints its batch, answers it and closes.
async fn answer(mut conn: TcpStream) {
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
