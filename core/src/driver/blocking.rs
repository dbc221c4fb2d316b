//! The runtime's own internal extension, on a thread of its own with blocking sockets.
//!
//! Lambda sends SIGTERM at shutdown only to a runtime with an extension registered, so the
//! runtime registers one (no events) before its first `/next` and keeps its `event/next` asked
//! for. That request never returns while the process runs: on the function's executor it would
//! hold up an executor whose I/O blocks (a custom one, `examples::custom_executor`), so it waits
//! on an OS thread instead, as the watchdog does its posts. The thread starts at init and then
//! sleeps in a blocking read: no CPU, one small stack.
//!
//! It does only what an extension with no events and no steps needs, with the Extensions API's
//! request writer and the wire layer's response parsing: register, then ask for the next event
//! for as long as answers come. The general [`ExtensionDriver`](super::ExtensionDriver) would do
//! the same for about 80 KB more in every function binary.

use alloc::sync::Arc;
use alloc::vec::Vec;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::extension::{Events, ExtensionId, ExtensionName, Request};
use crate::wire::{BodyDecoder, Endpoint, parse_head};

/// The name the runtime's internal extension registers with.
pub const EXTENSION_NAME: &str = "lambda-runtime-types";

/// How long init waits for the registration's answer before going on without it (Lambda's
/// init phase is 10 s; loopback answers in well under a millisecond).
const REGISTER_WAIT: Duration = Duration::from_secs(2);

/// How many times in a row `event/next` may fail before the extension stops asking.
const MAX_FAILURES: u32 = 8;

/// Registers the runtime's internal extension at `endpoint` and serves it on a thread of its
/// own; whether it registered (within [`REGISTER_WAIT`]). A failure is logged; the function runs
/// on without the extension.
pub(super) fn register_runtime_extension(endpoint: &Endpoint) -> bool {
    let settled = Arc::new(Settled::default());
    let signal = settled.clone();
    let endpoint = endpoint.clone();
    let spawned = std::thread::Builder::new()
        .name("lambda-extension".into())
        .spawn(move || serve(&endpoint, &signal));
    if let Err(e) = spawned {
        log::warn!("cannot start the runtime's extension thread: {e}");
        return false;
    }
    let outcome = settled
        .outcome
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let (outcome, _) = settled
        .cond
        .wait_timeout_while(outcome, REGISTER_WAIT, |o| o.is_none())
        .unwrap_or_else(PoisonError::into_inner);
    match *outcome {
        Some(registered) => registered,
        None => {
            log::warn!("the runtime's extension did not register within {REGISTER_WAIT:?}");
            false
        }
    }
}

/// Whether the registration ended, and how.
#[derive(Default)]
struct Settled {
    outcome: Mutex<Option<bool>>,
    cond: Condvar,
}

impl Settled {
    fn set(&self, registered: bool) {
        *self.outcome.lock().unwrap_or_else(PoisonError::into_inner) = Some(registered);
        self.cond.notify_all();
    }
}

/// The extension thread: registers, says so, then asks for events until the API stops
/// answering.
fn serve(endpoint: &Endpoint, settled: &Settled) {
    let id = match register(endpoint) {
        Ok(id) => id,
        Err(e) => {
            log::warn!(
                "the runtime's extension did not register ({e}): Lambda will not send SIGTERM \
                 at shutdown, so invocations running then are not reported"
            );
            return settled.set(false);
        }
    };
    settled.set(true);
    let mut conn = None;
    let mut failures = 0;
    // Registered for no events, it is never woken on Lambda; an emulator may send events all
    // the same: each answer is read and the next asked for.
    while failures < MAX_FAILURES {
        match exchange(endpoint, &mut conn, &Request::Next { id: &id }) {
            Ok(status) if (200..300).contains(&status) => failures = 0,
            Ok(status) => {
                log::warn!("the runtime's extension: event/next answered {status}; stopped");
                return;
            }
            Err(e) => {
                failures += 1;
                log::debug!("the runtime's extension: event/next failed ({e})");
                std::thread::sleep(Duration::from_millis(50 << failures.min(5)));
            }
        }
    }
    log::warn!("the runtime's extension: event/next keeps failing; stopped");
}

/// Registers; the identifier the answer gives.
fn register(endpoint: &Endpoint) -> io::Result<ExtensionId> {
    let name = ExtensionName::new(EXTENSION_NAME).map_err(io::Error::other)?;
    let request = Request::Register {
        name: &name,
        events: Events::NONE,
        accept_account_id: false,
    };
    let mut conn = None;
    let mut head = Vec::new();
    let status = send(endpoint, &mut conn, &request, &mut head)?;
    let parsed = parse_head(&head).map_err(io::Error::other)?;
    let Some((head, _)) = parsed.filter(|_| (200..300).contains(&status)) else {
        return Err(io::Error::other(std::format!("register answered {status}")));
    };
    ExtensionId::from_head(&head).map_err(io::Error::other)
}

/// Sends `request` on `conn` (opening it if needed) and reads the answer; its status.
fn exchange(
    endpoint: &Endpoint,
    conn: &mut Option<TcpStream>,
    request: &Request<'_>,
) -> io::Result<u16> {
    send(endpoint, conn, request, &mut Vec::new())
}

/// Sends `request` and reads the whole answer (its head into `head`); its status. The
/// connection is kept for the next request when the answer allows it.
fn send(
    endpoint: &Endpoint,
    conn: &mut Option<TcpStream>,
    request: &Request<'_>,
    head: &mut Vec<u8>,
) -> io::Result<u16> {
    let result = send_once(endpoint, conn, request, head);
    if !matches!(result, Ok((_, true))) {
        *conn = None;
    }
    result.map(|(status, _)| status)
}

fn send_once(
    endpoint: &Endpoint,
    conn: &mut Option<TcpStream>,
    request: &Request<'_>,
    head: &mut Vec<u8>,
) -> io::Result<(u16, bool)> {
    let mut out = alloc::vec![0u8; request.encoded_len(endpoint)];
    let n = request
        .encode(endpoint, &mut out)
        .map_err(io::Error::other)?;
    let stream = match conn {
        Some(stream) => stream,
        None => conn.insert(TcpStream::connect((endpoint.host(), endpoint.port()))?),
    };
    stream.write_all(&out[..n])?;
    // No timeout: `event/next` waits for as long as the environment lives.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (status, framing, keep_alive, head_len) = loop {
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..read]);
        if let Some((h, len)) = parse_head(&buf).map_err(io::Error::other)? {
            break (h.status, h.framing, h.keep_alive, len);
        }
    };
    head.clear();
    head.extend_from_slice(&buf[..head_len]);
    // The body is read and dropped: an event's content means nothing to this extension.
    let mut decoder = BodyDecoder::new(framing);
    let mut rest = buf.split_off(head_len);
    loop {
        let mut at = 0;
        while !decoder.is_done() && at < rest.len() {
            let d = decoder.decode(&rest[at..]).map_err(io::Error::other)?;
            if d.consumed == 0 {
                break;
            }
            at += d.consumed;
        }
        if decoder.is_done() {
            return Ok((status, keep_alive && at == rest.len()));
        }
        rest.drain(..at);
        let read = stream.read(&mut chunk)?;
        if read == 0 {
            decoder.eof().map_err(io::Error::other)?;
            return Ok((status, false));
        }
        rest.extend_from_slice(&chunk[..read]);
    }
}
