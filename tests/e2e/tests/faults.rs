//! The emulator's connection faults ([`Fault::Hangup`], [`Fault::CloseAfterAnswer`]), the
//! timeout on arrival of a post ([`Fault::Expire`]) and faults given to one invocation
//! ([`Invoke::fault`]), at the wire level: the test plays the function over raw TCP against
//! an emulator without a process.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::ScopedJoinHandle;
use std::time::Duration;

use common::{Conn, Reply};
use lambda_emulator::{Emulator, Endpoint, Fault, Invoke, InvokeResult, Options, Outcome, Target};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

fn response_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/response")
}

fn error_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/error")
}

fn external(options: Options) -> Emulator {
    Emulator::start(options.timeout(Duration::from_secs(30))).unwrap()
}

fn request_id(reply: &Reply) -> String {
    reply
        .header_str("lambda-runtime-aws-request-id")
        .expect("a request id")
}

fn join(handle: ScopedJoinHandle<'_, InvokeResult>) -> InvokeResult {
    handle.join().unwrap()
}

/// Send one request on a fresh connection and read everything until the server closes it.
fn send_raw(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

fn faulted_calls(emu: &Emulator, fault: &Fault) -> Vec<lambda_emulator::RuntimeCall> {
    emu.calls()
        .into_iter()
        .filter(|c| c.fault.as_ref() == Some(fault))
        .collect()
}

#[test]
fn hangup_on_next_delivers_nothing_and_the_event_waits() {
    let emu = external(Options::external());
    std::thread::scope(|s| {
        let invoke = Invoke::new(br#"{"a":1}"#.to_vec()).fault(Target::Next, Fault::Hangup);
        let pending = s.spawn(|| emu.invoke(invoke).unwrap());
        assert_eq!(
            send_raw(emu.addr(), "GET", NEXT, b""),
            b"",
            "closed without a status line"
        );
        let mut conn = Conn::connect(emu.addr());
        let next = conn.request("GET", NEXT, &[], b"");
        assert_eq!(
            (next.status, next.body.as_slice()),
            (200, &br#"{"a":1}"#[..])
        );
        let id = request_id(&next);
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"\"ok\"")
                .status,
            202
        );
        assert_eq!(join(pending).body, b"\"ok\"");
    });
    let hung = faulted_calls(&emu, &Fault::Hangup);
    assert_eq!(hung.len(), 1);
    assert_eq!(hung[0].endpoint, Endpoint::Next);
    assert!(hung[0].abandoned);
    assert_eq!(
        (hung[0].status, hung[0].request_id.as_deref()),
        (None, None)
    );
}

#[test]
fn hangup_on_a_post_takes_nothing_and_a_retry_is_taken() {
    let emu = external(Options::external());
    std::thread::scope(|s| {
        let invoke = Invoke::new(b"{}".to_vec()).fault(Target::Response, Fault::Hangup);
        let pending = s.spawn(|| emu.invoke(invoke).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let path = response_path(&id);
        assert_eq!(send_raw(emu.addr(), "POST", &path, b"\"first\""), b"");
        assert_eq!(conn.request("POST", &path, &[], b"\"second\"").status, 202);
        let result = join(pending);
        assert_eq!(
            (result.outcome, result.body),
            (Outcome::Response, b"\"second\"".to_vec())
        );
    });
    let hung = faulted_calls(&emu, &Fault::Hangup);
    assert_eq!(hung.len(), 1);
    assert_eq!(hung[0].endpoint, Endpoint::Response);
    assert!(hung[0].abandoned);
    assert_eq!(hung[0].body, b"\"first\"", "the body was read");
}

#[test]
fn close_after_answer_sends_it_whole_then_closes() {
    let emu = external(Options::external());
    std::thread::scope(|s| {
        let invoke = Invoke::new(br#"{"b":2}"#.to_vec())
            .fault(Target::Next, Fault::CloseAfterAnswer)
            .fault(Target::Response, Fault::CloseAfterAnswer);
        let pending = s.spawn(|| emu.invoke(invoke).unwrap());
        // `send_raw` reads until the server closes the connection (or fails on its timeout).
        let next = String::from_utf8(send_raw(emu.addr(), "GET", NEXT, b"")).unwrap();
        assert!(next.starts_with("HTTP/1.1 200 OK\r\n"), "{next}");
        assert!(
            next.ends_with("\r\n\r\n{\"b\":2}"),
            "the whole event: {next}"
        );
        assert!(
            !next.to_ascii_lowercase().contains("\r\nconnection:"),
            "no notice: {next}"
        );
        let id = next
            .lines()
            .find_map(|l| l.strip_prefix("lambda-runtime-aws-request-id: "))
            .expect("a request id");
        let posted =
            String::from_utf8(send_raw(emu.addr(), "POST", &response_path(id), b"1")).unwrap();
        assert!(posted.starts_with("HTTP/1.1 202 Accepted\r\n"), "{posted}");
        assert!(
            posted.ends_with(r#"{"status":"OK"}"#),
            "the whole answer: {posted}"
        );
        assert!(
            !posted.to_ascii_lowercase().contains("\r\nconnection:"),
            "no notice"
        );
        assert_eq!(join(pending).body, b"1");
    });
    assert_eq!(faulted_calls(&emu, &Fault::CloseAfterAnswer).len(), 2);
}

#[test]
fn expire_times_the_invocation_out_as_its_post_arrives() {
    let emu = external(Options::external().concurrency(2));
    std::thread::scope(|s| {
        let invoke = Invoke::new(b"{}".to_vec()).fault(Target::Response, Fault::Expire);
        let pending = s.spawn(|| emu.invoke(invoke).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let late = conn.request("POST", &response_path(&id), &[], b"1");
        assert_eq!(late.status, 410);
        assert_eq!(late.json()["errorType"], "InvokeTimeout");
        let result = join(pending);
        assert_eq!(result.outcome, Outcome::TimedOut);
        assert_eq!(result.error_type().as_deref(), Some("Sandbox.Timedout"));
        // Timed out for good: an error report for it gets 410 too.
        assert_eq!(
            conn.request("POST", &error_path(&id), &[], b"{}").status,
            410
        );
    });
    // The process-less emulator keeps serving.
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let mut conn = Conn::connect(emu.addr());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"2").status,
            202
        );
        assert_eq!(join(pending).body, b"2");
    });
}

#[test]
fn an_invocations_faults_apply_to_its_calls_only_and_before_injected_ones() {
    let emu = external(Options::external().concurrency(2));
    emu.inject(Target::Response, Fault::Status(403));
    std::thread::scope(|s| {
        let faulted = Invoke::new(br#"{"n":"faulted"}"#.to_vec())
            .fault(Target::Response, Fault::Status(500))
            .fault(Target::Response, Fault::Status(413));
        let a = s.spawn(|| emu.invoke(faulted).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let first = conn.request("GET", NEXT, &[], b"");
        let b = s.spawn(|| emu.invoke(br#"{"n":"plain"}"#).unwrap());
        let second = conn.request("GET", NEXT, &[], b"");
        let (faulted_id, plain_id) = if first.body == br#"{"n":"faulted"}"# {
            (request_id(&first), request_id(&second))
        } else {
            (request_id(&second), request_id(&first))
        };
        // The plain invocation's post meets the injected fault, not the other's own.
        let plain = response_path(&plain_id);
        assert_eq!(conn.request("POST", &plain, &[], b"\"p\"").status, 403);
        assert_eq!(conn.request("POST", &plain, &[], b"\"p\"").status, 202);
        // The faulted one's own faults, in order, then nothing.
        let faulted = response_path(&faulted_id);
        assert_eq!(conn.request("POST", &faulted, &[], b"\"f\"").status, 500);
        assert_eq!(conn.request("POST", &faulted, &[], b"\"f\"").status, 413);
        assert_eq!(conn.request("POST", &faulted, &[], b"\"f\"").status, 202);
        assert_eq!(join(a).body, b"\"f\"");
        assert_eq!(join(b).body, b"\"p\"");
    });
}
