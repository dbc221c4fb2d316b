//! The HTTP front door as an HTTP server: keep-alive, chunked request bodies, size limits,
//! bad requests, concurrent clients, the records and logs of its invocations, and the CLI
//! driven with `curl`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::client::{Conn, once};
use common::{WAIT, fixture};
use lambda_emulator::{Emulator, Endpoint, MAX_PAYLOAD, Options};
use serde_json::json;

fn start() -> Emulator {
    let emu = Emulator::start(
        Options::new([fixture("http-function.sh")])
            .http_front_door(0)
            .timeout(Duration::from_secs(30)),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();
    emu
}

#[test]
fn one_connection_carries_many_requests_each_a_fresh_invocation() {
    let emu = start();
    let mut conn = Conn::open(emu.http_addr().unwrap());
    let first = conn.request("GET", "/one?x=1", &[], b"");
    conn.send(
        b"POST /two HTTP/1.1\r\nHost: front.door\r\nContent-Type: text/plain\r\n\
          Transfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n4\r\nlo, \r\n6\r\nchunks\r\n0\r\n\r\n",
    );
    let second = conn.read_reply();
    let third = conn.request("GET", "/three", &[], b"");
    let replies = [&first, &second, &third];
    for reply in replies {
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    assert_eq!(first.json()["rawQueryString"], "x=1");
    assert_eq!(second.json()["body"], "hello, chunks");
    assert_eq!(second.json()["isBase64Encoded"], false);
    assert_eq!(third.json()["rawPath"], "/three");

    let ids: Vec<String> = replies
        .iter()
        .map(|r| r.header("x-amzn-requestid").unwrap().to_owned())
        .collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "{ids:?}"
    );
    // The same invocation path as the Invoke API: each got a /next with its event, and the
    // function logged its request id.
    let next = |id: &str| {
        emu.calls()
            .into_iter()
            .find(|c| c.endpoint == Endpoint::Next && c.request_id.as_deref() == Some(id))
    };
    for (id, path) in ids.iter().zip(["/one", "/two", "/three"]) {
        let call = next(id).unwrap_or_else(|| panic!("no /next delivered {id}"));
        assert_eq!(call.response_json().unwrap()["rawPath"], path);
    }
    assert!(emu.wait_until(WAIT, |emu| {
        let logs = emu.log_text();
        ids.iter()
            .all(|id| logs.contains(&format!("http-function: invocation {id}")))
    }));
}

#[test]
fn concurrent_clients_are_queued_and_all_answered() {
    let emu = start();
    let addr = emu.http_addr().unwrap();
    let threads: Vec<_> = (0..6)
        .map(|n| {
            std::thread::spawn(move || {
                let reply = once(addr, "GET", &format!("/c/{n}"), &[], b"");
                (reply.status, reply.json()["rawPath"].clone())
            })
        })
        .collect();
    for (n, thread) in threads.into_iter().enumerate() {
        assert_eq!(thread.join().unwrap(), (200, json!(format!("/c/{n}"))));
    }
}

#[test]
fn oversized_and_broken_requests_get_errors_and_the_door_stays_open() {
    let emu = start();
    let addr = emu.http_addr().unwrap();
    let too_big = vec![b'a'; MAX_PAYLOAD + 1];
    let reply = once(
        addr,
        "POST",
        "/big",
        &[("Content-Type", "text/plain")],
        &too_big,
    );
    assert_eq!(reply.status, 413);
    assert_eq!(reply.json(), json!({"message": "Request Entity Too Large"}));
    // Fits as bytes, but not once base64-encoded into the event.
    let binary = vec![0xff_u8; 5 << 20];
    let reply = once(addr, "POST", "/big", &[], &binary);
    assert_eq!(reply.status, 413);

    let mut garbage = Conn::open(addr);
    garbage.send(b"NOT AN HTTP REQUEST\r\n\r\n");
    assert_eq!(garbage.read_reply().status, 400);
    let mut bad_length = Conn::open(addr);
    bad_length.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n");
    assert_eq!(bad_length.read_reply().status, 400);
    let huge_header = "x".repeat(1 << 20);
    let mut huge = Conn::open(addr);
    huge.send(format!("GET / HTTP/1.1\r\nHost: x\r\nX-Huge: {huge_header}\r\n\r\n").as_bytes());
    assert_eq!(huge.read_reply().status, 431);
    // Half a request, then gone.
    let mut half = Conn::open(addr);
    half.send(b"POST /half HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc");
    drop(half);
    // Non-UTF-8 header bytes arrive lossily.
    let mut latin = Conn::open(addr);
    latin.send(b"GET /latin HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n");
    let reply = latin.read_reply();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["headers"]["x-name"], "caf\u{fffd}");

    let after = once(addr, "GET", "/after", &[], b"");
    assert_eq!(after.status, 200);
    assert_eq!(after.json()["rawPath"], "/after");
}

/// The CLI with `args`; the front door's URL from its startup line, and the whole line.
struct Cli {
    child: std::process::Child,
    url: String,
    line: String,
}

impl Cli {
    fn start(args: &[&str]) -> Cli {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
            .args(args)
            .arg("--")
            .arg(fixture("http-function.sh"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let line = loop {
            let line = rx.recv_timeout(WAIT).expect("no front door line on stderr");
            if line.contains("HTTP front door on ") {
                break line;
            }
        };
        // Keep draining stderr so the emulator never blocks on it.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap()
            .to_owned();
        Cli { child, url, line }
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.child.wait();
    }
}

#[test]
fn the_cli_serves_a_curl_session_as_a_function_url() {
    let cli = Cli::start(&["--http", "0"]);
    assert!(
        cli.line
            .starts_with("lambda-emulator: HTTP front door on http://127.0.0.1:")
    );
    assert!(cli.line.ends_with(" as a Function URL"), "{}", cli.line);
    let output = Command::new("curl")
        .args([
            "-s",
            "-i",
            &format!("{}/items?id=1", cli.url),
            "-H",
            "cookie: a=b",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let text = String::from_utf8(output.stdout).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.to_lowercase()
            .contains("content-type: application/json"),
        "{head}"
    );
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(event["rawPath"], "/items");
    assert_eq!(event["rawQueryString"], "id=1");
    assert_eq!(event["queryStringParameters"], json!({"id": "1"}));
    assert_eq!(event["cookies"], json!(["a=b"]));
    assert!(
        event["headers"]["user-agent"]
            .as_str()
            .unwrap()
            .starts_with("curl/")
    );
}

#[test]
fn the_cli_takes_an_address_and_an_origin() {
    let cli = Cli::start(&["--http", "127.0.0.1:0", "--http-origin", "alb-multi"]);
    assert!(
        cli.line
            .ends_with(" as an ALB target group with multi-value headers"),
        "{}",
        cli.line
    );
    let addr = cli.url.trim_start_matches("http://").parse().unwrap();
    let event = once(addr, "GET", "/x?a=1&a=2", &[], b"").json();
    assert_eq!(
        event["multiValueQueryStringParameters"],
        json!({"a": ["1", "2"]})
    );

    let usage = Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .args(["--http", "0", "--event", "{}", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(
        usage.status.code(),
        Some(2),
        "--http and --event do not mix"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .args(["--http", "nine", "--", "true"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
