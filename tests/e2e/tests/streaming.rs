//! Streamed responses, for every probe binary: the probe's stream mode through the emulator's
//! streaming Invoke API (`Emulator::invoke_stream`) and its HTTP front door.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use lambda_emulator::{Emulator, Endpoint, HttpOrigin, Outcome, StreamEnd, StreamRecord};
use serde_json::{Value, json};

use common::{calls, invoke, start_probe};

const WAIT: Duration = Duration::from_secs(30);

/// A path no file is at yet: the probe waits for it after its first chunk.
fn signal_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("stream-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{:?}", std::thread::current().id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// The first chunk reaches the caller while the handler still runs: the handler sends the
/// rest only after the test, having read the first chunk, creates the file it waits for.
fn chunks_arrive_before_the_handler_finishes(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let signal = signal_path("first-chunk");
    let event = json!({"probe": "stream", "chunks": 4, "bytes": 3, "wait_for": signal});
    let mut stream = emu.invoke_stream(event.to_string()).unwrap();
    let first = stream.next_chunk(WAIT).unwrap().expect("a first chunk");
    assert_eq!(first, b"aaa", "the first chunk, alone");
    std::fs::write(&signal, b"go").unwrap();
    let done = stream.finish(WAIT).unwrap();
    assert!(done.streamed, "{done:?}");
    assert_eq!(done.body(), b"aaabbbcccddd");
    assert_eq!(done.content_type, "text/plain");
    assert_eq!(done.error_type, None);
    let _ = std::fs::remove_file(&signal);
    let posted = streamed_post(&emu, &done.request_id);
    assert_eq!(posted.end, StreamEnd::Complete, "{posted:?}");
    assert!(posted.trailers.is_empty(), "no trailers: {posted:?}");
}

/// The runtime's streamed `/response` for request `id`, as the emulator recorded it.
fn streamed_post(emu: &Emulator, id: &str) -> StreamRecord {
    let found = emu.wait_until(WAIT, |e| {
        calls(e, Endpoint::Response).iter().any(|c| {
            c.request_id.as_deref() == Some(id) && c.stream.is_some() && c.status.is_some()
        })
    });
    assert!(found, "no streamed response for {id}:\n{}", emu.log_text());
    calls(emu, Endpoint::Response)
        .into_iter()
        .find(|c| c.request_id.as_deref() == Some(id))
        .and_then(|c| c.stream)
        .unwrap()
}

/// A handler that fails after two chunks: the chunks reach the caller, the failure arrives in
/// the stream's trailers (as the emulator read them off the wire) and is the invocation's
/// error; the next invocation runs.
fn mid_stream_error_arrives_as_trailers(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let event = json!({"probe": "stream", "chunks": 5, "bytes": 2, "fail_after": 2});
    let done = emu
        .invoke_stream(event.to_string())
        .unwrap()
        .finish(WAIT)
        .unwrap();
    assert!(done.streamed);
    assert_eq!(done.body(), b"aabb");
    assert_eq!(done.error_type.as_deref(), Some("Function.HandlerError"));
    let body: Value = serde_json::from_slice(done.error_body.as_deref().unwrap()).unwrap();
    assert_eq!(body["errorMessage"], "probe stream failed after 2 chunks");
    let posted = streamed_post(&emu, &done.request_id);
    assert_eq!(
        posted.trailer("Lambda-Runtime-Function-Error-Type"),
        Some("Function.HandlerError"),
        "{posted:?}"
    );
    assert!(
        posted
            .trailer("Lambda-Runtime-Function-Error-Body")
            .is_some()
    );
    assert!(
        calls(&emu, Endpoint::Error).is_empty(),
        "never an /error as well"
    );
    assert_eq!(invoke(&emu, br#"{"after":1}"#).outcome, Outcome::Response);
}

/// 50 MiB in 64 KiB chunks passes whole, in order.
fn a_large_stream_passes(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let (chunks, bytes) = (800u64, 65_536u64);
    let event = json!({"probe": "stream", "chunks": chunks, "bytes": bytes});
    let mut stream = emu.invoke_stream(event.to_string()).unwrap();
    let (mut total, mut last) = (0u64, 0u8);
    while let Some(piece) = stream.next_chunk(WAIT).unwrap() {
        for &b in &piece {
            assert!(b >= last || (last == b'z' && b == b'a'), "out of order");
            last = b;
        }
        total += piece.len() as u64;
    }
    assert_eq!(total, chunks * bytes);
    let done = stream.finish(WAIT).unwrap();
    assert_eq!(done.error_type, None, "{:?}", done.error_body);
}

/// Past the (here small) limit the caller's stream ends with a clear error, and the function
/// serves the next invocation.
fn an_oversized_stream_is_ended_with_an_error(bin: &str) {
    let emu = start_probe(bin, |o| o.stream_limit(1 << 20));
    let event = json!({"probe": "stream", "chunks": 64, "bytes": 65_536});
    let done = emu
        .invoke_stream(event.to_string())
        .unwrap()
        .finish(WAIT)
        .unwrap();
    assert_eq!(
        done.error_type.as_deref(),
        Some("Function.ResponseSizeTooLarge")
    );
    assert!(done.body().len() as u64 <= 1 << 20);
    let next = invoke(&emu, br#"{"after":"oversized"}"#);
    assert_eq!(next.outcome, Outcome::Response, "{}", next.body_str());
}

/// One function answers buffered and streamed requests alike.
fn buffered_and_streamed_from_one_function(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let buffered = emu
        .invoke_stream(r#"{"plain":true}"#)
        .unwrap()
        .finish(WAIT)
        .unwrap();
    assert!(!buffered.streamed);
    assert_eq!(buffered.body(), br#"{"plain":true}"#);
    let streamed = emu
        .invoke_stream(json!({"probe": "stream", "chunks": 2, "bytes": 1}).to_string())
        .unwrap()
        .finish(WAIT)
        .unwrap();
    assert!(streamed.streamed);
    assert_eq!(streamed.body(), b"ab");
    assert_eq!(invoke(&emu, br#"{"plain":2}"#).outcome, Outcome::Response);
}

/// Through the front door, an HTTP-integration stream reaches the client as its status,
/// headers and cookie, then the body.
fn http_integration_through_the_front_door(bin: &str) {
    let emu = start_probe(bin, |o| {
        o.http_front_door(0).http_origin(HttpOrigin::FunctionUrl)
    });
    let addr = emu.http_addr().expect("the front door's address");
    // The probe reads its command from the event's body: a Function URL POST.
    let body = json!({"probe": "stream", "chunks": 3, "bytes": 4, "http": true}).to_string();
    let mut conn = TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(WAIT)).unwrap();
    write!(
        conn,
        "POST /stream HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).unwrap();
    let reply = String::from_utf8_lossy(&reply).into_owned();
    let (head, rest) = reply.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains("content-type: text/plain"), "{head}");
    assert!(lower.contains("set-cookie: probe=1"), "{head}");
    assert!(
        rest.contains("aaaa") && rest.contains("bbbb") && rest.contains("cccc"),
        "{rest:?}"
    );
}

common::per_executor! {
    chunks_arrive_before_the_handler_finishes,
    mid_stream_error_arrives_as_trailers,
    a_large_stream_passes,
    an_oversized_stream_is_ended_with_an_error,
    buffered_and_streamed_from_one_function,
    http_integration_through_the_front_door
}
