//! The probe functions under a hostile Runtime API: small raw-TCP servers on loopback that stall
//! a `/next` head, dribble a body, send a head of megabytes, accept the watchdog's post and never
//! answer it, send conflicting `Lambda-Runtime-*` fields; and what a huge handler error, and
//! `AWS_LAMBDA_MAX_CONCURRENCY` on the blocking custom executor, come to. Each scenario ends in a
//! log line and a recovery or an exit, with the process's peak memory (`VmHWM`) under a bound.
//!
//! Time bounds are asserted only as generous upper bounds on "it ends" (see [`ENDS_WITHIN`]); the
//! bounds the runtime states are in the docs of `lifecycle::ANSWER_TIMEOUT_MS`,
//! `watchdog::POST_TIMEOUT` (2 s) and `wire::MAX_HEAD_BYTES`.
//!
//! The stall scenarios run on tokio and smol only: the custom executor's reads block its thread,
//! so nothing can time them out (its `Executor::max_lanes` docs say so).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a scenario may take to end before the test fails instead of hanging: generous, the
/// runtime's own bounds are a few seconds.
const ENDS_WITHIN: Duration = Duration::from_secs(30);

/// The peak resident memory a probe may reach in these scenarios: a head of megabytes, a body
/// that never ends or a 2 MiB error must not grow it beyond the few MiB a probe uses anyway.
const MAX_PEAK_KIB: u64 = 48 << 10;

/// A request the server read.
#[derive(Clone, Debug)]
struct Request {
    method: String,
    path: String,
    head: String,
    body: Vec<u8>,
}

impl Request {
    fn is_next(&self) -> bool {
        self.path.ends_with("/runtime/invocation/next")
    }

    fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    }
}

/// What the server does with a request.
enum Answer {
    /// Writes these bytes, then reads the connection's next request.
    Bytes(Vec<u8>),
    /// Writes these bytes, then nothing more: holds the connection open until the client
    /// closes it.
    Stall(Vec<u8>),
    /// Writes these bytes, then one byte of `fill` a second, until the client closes.
    Dribble(Vec<u8>, u8),
    /// Writes these bytes, then `fill` endlessly (a head that never ends), until the client
    /// closes.
    Flood(Vec<u8>, u8),
}

type Script = dyn Fn(&Request, usize) -> Answer + Send + Sync;

/// A Runtime API on loopback answering as `script` says (it gets the request and how many
/// `/next` requests came before it); it records every request it read.
struct Hostile {
    addr: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Hostile {
    fn start(script: impl Fn(&Request, usize) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let nexts = Arc::new(AtomicUsize::new(0));
        let recorded = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (script, recorded, nexts) = (script.clone(), recorded.clone(), nexts.clone());
                std::thread::spawn(move || serve(stream, &*script, &recorded, &nexts));
            }
        });
        Self { addr, requests }
    }

    fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until a request matching `want` arrived; it.
    fn wait_for(&self, what: &str, want: impl Fn(&Request) -> bool) -> Request {
        self.wait_for_nth(what, 1, want)
    }

    /// Waits until the `n`th request matching `want` arrived (`n` from 1); it.
    fn wait_for_nth(&self, what: &str, n: usize, want: impl Fn(&Request) -> bool) -> Request {
        let began = Instant::now();
        loop {
            if let Some(r) = self.requests().into_iter().filter(|r| want(r)).nth(n - 1) {
                return r;
            }
            assert!(
                began.elapsed() < ENDS_WITHIN,
                "no {what} within {ENDS_WITHIN:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn serve(mut s: TcpStream, script: &Script, recorded: &Mutex<Vec<Request>>, nexts: &AtomicUsize) {
    s.set_nodelay(true).unwrap();
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut s, &mut buf) else {
            return;
        };
        let before = if request.is_next() {
            nexts.fetch_add(1, Ordering::SeqCst)
        } else {
            0
        };
        recorded.lock().unwrap().push(request.clone());
        match script(&request, before) {
            Answer::Bytes(b) => {
                if s.write_all(&b).is_err() {
                    return;
                }
            }
            Answer::Stall(b) => {
                let _ = s.write_all(&b);
                return hold(s);
            }
            Answer::Dribble(b, fill) => {
                let _ = s.write_all(&b);
                while s.write_all(&[fill]).is_ok() {
                    std::thread::sleep(Duration::from_secs(1));
                }
                return;
            }
            Answer::Flood(b, fill) => {
                let _ = s.write_all(&b);
                let block = vec![fill; 64 << 10];
                // Until the client closes (or 64 MiB, so that a runtime that never stops
                // reading fails the memory check rather than running forever).
                for _ in 0..1024 {
                    if s.write_all(&block).is_err() {
                        return;
                    }
                }
                return hold(s);
            }
        }
    }
}

/// Keeps `s` open, silent, until the client closes it.
fn hold(mut s: TcpStream) {
    let mut sink = [0u8; 4096];
    while s.read(&mut sink).is_ok_and(|n| n > 0) {}
}

/// Reads one request (head and `Content-Length` body); `None` when the client closed.
fn read_request(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let mut chunk = [0u8; 64 << 10];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut first = head.split_whitespace();
    let (method, path) = (first.next()?.to_string(), first.next()?.to_string());
    let mut request = Request {
        method,
        path,
        head,
        body: Vec::new(),
    };
    let len: usize = request
        .header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    request.body = buf[head_end..head_end + len].to_vec();
    buf.drain(..head_end + len);
    Some(request)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A whole `/next` answer delivering `payload` as invocation `id`, due in 30 s.
fn event(id: &str, payload: &str) -> Answer {
    event_due(id, payload, 30_000)
}

fn event_due(id: &str, payload: &str, in_ms: u64) -> Answer {
    Answer::Bytes(
        format!(
            "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
             Lambda-Runtime-Deadline-Ms: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{payload}",
            now_ms() + in_ms,
            payload.len()
        )
        .into_bytes(),
    )
}

/// `202` with its 15-byte body (a `Content-Length` that promised more would stall every post's
/// answer: abandoned after 5 s on tokio and smol, forever on the custom executor).
fn accepted() -> Answer {
    Answer::Bytes(
        b"HTTP/1.1 202 Accepted\r\nContent-Length: 15\r\n\r\n{\"status\":\"OK\"}".to_vec(),
    )
}

/// What every scenario answers but `/next`: the Extensions API is off (404), posts are
/// accepted.
fn other(r: &Request) -> Answer {
    if r.path.starts_with("/2020-01-01/extension") {
        return Answer::Bytes(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec());
    }
    accepted()
}

/// A `/next` that never answers (an environment waiting for events).
fn idle() -> Answer {
    Answer::Stall(Vec::new())
}

/// A probe running against a hostile server, its stderr collected.
struct Probe {
    child: Child,
    stderr: Arc<Mutex<String>>,
}

impl Probe {
    fn start(bin: &str, api: &Hostile, env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_LAMBDA_FUNCTION_NAME", "probe")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the probe");
        let mut pipe = child.stderr.take().unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut chunk = [0u8; 64 << 10];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        Self { child, stderr }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits until the probe logged a line containing `text`.
    fn wait_for_log(&self, text: &str) {
        let began = Instant::now();
        while !self.stderr().contains(text) {
            assert!(
                began.elapsed() < ENDS_WITHIN,
                "no log line with {text:?} within {ENDS_WITHIN:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The peak resident memory so far, in KiB (`VmHWM`).
    fn peak_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    fn assert_memory_bounded(&self, what: &str) {
        let peak = self.peak_kib();
        eprintln!("{what}: VmHWM {peak} kB");
        assert!(
            peak < MAX_PEAK_KIB,
            "{what}: VmHWM {peak} kB ≥ {MAX_PEAK_KIB} kB"
        );
    }

    /// Waits for the probe to exit; its code.
    fn wait_exit(&mut self) -> Option<i32> {
        let began = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                began.elapsed() < ENDS_WITHIN,
                "still running after {ENDS_WITHIN:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn response_for(id: &str) -> impl Fn(&Request) -> bool + '_ {
    move |r| r.method == "POST" && r.path.ends_with(&format!("/invocation/{id}/response"))
}

fn error_for(id: &str) -> impl Fn(&Request) -> bool + '_ {
    move |r| r.method == "POST" && r.path.ends_with(&format!("/invocation/{id}/error"))
}

// --- the scenarios ---------------------------------------------------------------------------

/// The first `/next` answer starts a head and stops: abandoned after its timeout, the next
/// `/next` is served.
fn next_head_stalls(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => {
            Answer::Stall(b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: st".to_vec())
        }
        (true, 1) => event("after-the-stall", r#"{"n":1}"#),
        (true, _) => idle(),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[]);
    let response = api.wait_for("response after the stall", response_for("after-the-stall"));
    assert_eq!(response.body_str(), r#"{"n":1}"#);
    let log = probe.stderr();
    assert!(log.contains("answer to /next stalled"), "{log}");
    probe.assert_memory_bounded("stalled head");
}

/// The first event's body comes one byte a second: reported as truncated, then the next event is
/// served.
fn next_body_dribbles(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => Answer::Dribble(
            format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: dribbled\r\n\
                 Lambda-Runtime-Deadline-Ms: {}\r\nContent-Length: 1000000\r\n\r\n{{",
                now_ms() + 60_000
            )
            .into_bytes(),
            b' ',
        ),
        (true, 1) => event("after-the-dribble", r#"{"n":2}"#),
        (true, _) => idle(),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[]);
    let error = api.wait_for("/error for the dribbled event", error_for("dribbled"));
    assert_eq!(
        error
            .header("Lambda-Runtime-Function-Error-Type")
            .as_deref(),
        Some("Runtime.TruncatedEvent"),
        "{}",
        error.body_str()
    );
    api.wait_for(
        "response after the dribble",
        response_for("after-the-dribble"),
    );
    assert!(
        probe.stderr().contains("answer to /next stalled"),
        "{}",
        probe.stderr()
    );
    probe.assert_memory_bounded("dribbled body");
}

/// The first `/next` answer is a head that goes on for megabytes: refused at the head bound,
/// with memory bounded, then the next `/next` is served.
fn next_head_of_megabytes(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => Answer::Flood(
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: big\r\nX-Filler: ".to_vec(),
            b'a',
        ),
        (true, 1) => event("after-the-flood", r#"{"n":3}"#),
        (true, _) => idle(),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[]);
    api.wait_for("response after the flood", response_for("after-the-flood"));
    let log = probe.stderr();
    assert!(log.contains("response head too large"), "{log}");
    assert!(
        !api.requests()
            .iter()
            .any(|r| r.path.contains("/invocation/big/")),
        "nothing posted for a head that was never read whole"
    );
    probe.assert_memory_bounded("head of megabytes");
}

/// Every `/next` answer is a head of megabytes: the runtime gives up and exits (code 4,
/// unreachable: the probes end `main` with `RuntimeStopped::exit_code`) after `MAX_ATTEMPTS`,
/// with memory bounded.
fn every_head_of_megabytes_exits(bin: &str) {
    let api = Hostile::start(|r, _| match r.is_next() {
        true => Answer::Flood(b"HTTP/1.1 200 OK\r\nX-Filler: ".to_vec(), b'a'),
        false => other(r),
    });
    let mut probe = Probe::start(bin, &api, &[]);
    // Sampled while it still runs: VmHWM is gone with the process.
    probe.wait_for_log("retrying");
    probe.assert_memory_bounded("heads of megabytes");
    assert_eq!(probe.wait_exit(), Some(4), "{}", probe.stderr());
    let log = probe.stderr();
    assert!(
        log.contains("exiting: the Runtime API is unreachable"),
        "{log}"
    );
    let nexts = api.requests().iter().filter(|r| r.is_next()).count();
    assert_eq!(nexts, 8, "MAX_ATTEMPTS tries");
}

/// The handler blocks its thread past the deadline; the watchdog's post is accepted and never
/// answered: it gives up (logged), the runtime reports the invocation itself once the handler
/// returns, and serves the next event.
fn watchdog_post_never_answered(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => event_due("blocked", r#"{"probe":"block","ms":4000}"#, 1_000),
        (true, 1) => event("after-the-block", r#"{"n":4}"#),
        (true, _) => idle(),
        // The watchdog's report of the blocked handler.
        _ if r.body_str().contains("blocking its thread") => Answer::Stall(Vec::new()),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[]);
    api.wait_for("the watchdog's post", |r| {
        error_for("blocked")(r) && r.body_str().contains("blocking its thread")
    });
    probe.wait_for_log("the watchdog could not report");
    api.wait_for("response after the block", response_for("after-the-block"));
    let reports = api
        .requests()
        .iter()
        .filter(|r| r.path.contains("/invocation/blocked/"))
        .count();
    assert_eq!(
        reports, 2,
        "the watchdog's unanswered post, then the runtime's own"
    );
    probe.assert_memory_bounded("unanswered watchdog");
}

/// A handler error with a 2 MiB message: posted cut, well under 1 MiB, saying so; every log line
/// bounded; then back at `/next`.
fn huge_error_is_bounded(bin: &str) {
    let message = "m".repeat(2 << 20);
    let payload = format!(r#"{{"probe":"error","message":"{message}"}}"#);
    for format in ["Text", "JSON"] {
        // A server per probe: each probe's first `/next` gets the event.
        let payload = payload.clone();
        let api = Hostile::start(move |r, nexts| match (r.is_next(), nexts) {
            (true, 0) => event("huge-error", &payload),
            (true, _) => idle(),
            _ => other(r),
        });
        let probe = Probe::start(bin, &api, &[("AWS_LAMBDA_LOG_FORMAT", format)]);
        let posted = api.wait_for("/error", error_for("huge-error"));
        assert!(
            posted.body.len() < 1 << 19,
            "{format}: {} bytes",
            posted.body.len()
        );
        let body: serde_json::Value = serde_json::from_slice(&posted.body).unwrap();
        let kept = body["errorMessage"].as_str().unwrap();
        assert!(
            kept.starts_with("mmm") && kept.ends_with("… (truncated: 2097152 bytes)"),
            "{format}: {}",
            &kept[kept.len() - 60..]
        );
        probe.wait_for_log("truncated: ");
        // Back at `/next` once the error is accepted.
        api.wait_for_nth("the idle /next", 2, Request::is_next);
        let log = probe.stderr();
        let longest = log.lines().map(str::len).max().unwrap_or(0);
        assert!(longest <= 64 << 10, "{format}: a line of {longest} bytes");
        probe.assert_memory_bounded(&format!("huge error, {format}"));
    }
}

/// The blocking custom executor with `AWS_LAMBDA_MAX_CONCURRENCY=4`: one lane, logged; the event
/// is answered although no further `/next` is ever answered.
fn blocking_executor_runs_one_lane(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => event("one-lane", r#"{"n":5}"#),
        (true, _) => idle(),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    let response = api.wait_for("the response", response_for("one-lane"));
    assert_eq!(response.body_str(), r#"{"n":5}"#);
    let log = probe.stderr();
    assert_eq!(
        log.matches("executor drives 1 at a time").count(),
        1,
        "logged once: {log}"
    );
}

/// Two different request ids: routed to neither, the next event served; a conflicting deadline:
/// the event is reported as malformed.
fn conflicting_fields(bin: &str) {
    let api = Hostile::start(|r, nexts| match (r.is_next(), nexts) {
        (true, 0) => Answer::Bytes(
            b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: first\r\n\
              Lambda-Runtime-Aws-Request-Id: second\r\nContent-Length: 2\r\n\r\n{}"
                .to_vec(),
        ),
        (true, 1) => Answer::Bytes(
            format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: two-deadlines\r\n\
                 Lambda-Runtime-Deadline-Ms: {}\r\nLambda-Runtime-Deadline-Ms: {}\r\n\
                 Content-Length: 2\r\n\r\n{{}}",
                now_ms() + 30_000,
                now_ms() + 60_000
            )
            .into_bytes(),
        ),
        (true, 2) => event("after-the-conflicts", r#"{"n":6}"#),
        (true, _) => idle(),
        _ => other(r),
    });
    let probe = Probe::start(bin, &api, &[]);
    api.wait_for(
        "response after the conflicts",
        response_for("after-the-conflicts"),
    );
    let requests = api.requests();
    assert!(
        !requests.iter().any(
            |r| r.path.contains("/invocation/first/") || r.path.contains("/invocation/second/")
        ),
        "neither request id is answered"
    );
    let malformed = requests
        .iter()
        .find(|r| error_for("two-deadlines")(r))
        .unwrap();
    assert_eq!(
        malformed
            .header("Lambda-Runtime-Function-Error-Type")
            .as_deref(),
        Some("Runtime.MalformedEvent")
    );
    let log = probe.stderr();
    assert!(
        log.contains("conflicting Lambda-Runtime-Aws-Request-Id"),
        "{log}"
    );
}

macro_rules! on {
    ($executor:ident $bin:literal: $($scenario:ident),* $(,)?) => {
        mod $executor {
            $(
                #[test]
                fn $scenario() {
                    super::$scenario(env!(concat!("CARGO_BIN_EXE_", $bin)));
                }
            )*
        }
    };
}

on!(tokio "probe-tokio":
    next_head_stalls, next_body_dribbles, next_head_of_megabytes, every_head_of_megabytes_exits,
    watchdog_post_never_answered, huge_error_is_bounded, conflicting_fields);
on!(smol "probe-smol":
    next_head_stalls, next_body_dribbles, next_head_of_megabytes, every_head_of_megabytes_exits,
    watchdog_post_never_answered, huge_error_is_bounded, conflicting_fields);
// Every scenario but the two stalls, which the custom executor's blocking reads cannot time out.
on!(custom "probe-custom":
    next_head_of_megabytes, every_head_of_megabytes_exits, watchdog_post_never_answered,
    huge_error_is_bounded, conflicting_fields, blocking_executor_runs_one_lane);
