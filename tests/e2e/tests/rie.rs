//! The probe functions under the real AWS Runtime Interface Emulator (`aws-lambda-rie`), run the
//! way its users run it: the RIE starts the `bootstrap` (here the probe binary of each adapter)
//! and is invoked over its Invoke API, `POST /2015-03-31/functions/function/invocations`, with
//! the request `curl -d EVENT URL` sends.
//!
//! The RIE is built by `.ci/run` from the Go module proxy, pinned:
//! `go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d`
//! (that pseudo-version is the RIE's `main`, a little after its v1.23 release), into a directory
//! named by `RIE_BIN` (the binary's path) for these tests; without `RIE_BIN` they look for
//! `aws-lambda-rie` on `PATH`. Each test runs its own RIE on free loopback ports
//! (`--runtime-interface-emulator-address`, `--runtime-api-address`) with `--log-level debug`,
//! its output (the RIE's log lines, its `START`/`END`/`REPORT` lines and the function's output)
//! in a file that is printed when the test fails. The tests are `#[ignore]`d, since they need
//! the RIE, and `.ci/run` runs them with `cargo test -p lambda-e2e --test rie -- --ignored`;
//! run that way without the RIE, they fail.
//!
//! What the RIE does, as these tests show it (its source agrees: `internal/lambda/rie/
//! handlers.go`, `rapidcore/server.go`):
//!
//! - It starts the function on the first invoke, not before, and never restarts it on its own:
//!   a reset (a timeout, a crash, an init error) is followed by a new init on the next invoke.
//! - Every answer of the function is `200` with the body as posted, the function's errors
//!   included: no `X-Amz-Function-Error`, no `X-Amzn-RequestId`, and a `Content-Type` sniffed by
//!   Go's HTTP server (`text/plain; charset=utf-8` for JSON), not the runtime's. A failed init
//!   is `502` with the init error document.
//! - An invoke ends when the runtime is back at `/next`, not when it posts its answer, and the
//!   function's timeout (`AWS_LAMBDA_FUNCTION_TIMEOUT`, whole seconds) covers that whole time:
//!   a handler that blocks its thread past the deadline has its error posted by the runtime's
//!   watchdog before the deadline, but the RIE still answers `Task timed out after N.00
//!   seconds` (plain text) and resets the function, SIGTERM first (the runtime registers an
//!   internal extension; without one the RIE would SIGKILL it).
//! - The request id is the invoker's `X-Amzn-RequestId` when given; the ARN is
//!   `arn:aws:lambda:us-east-1:012345678912:function:test_function`; `AWS_REGION` is not set.
//! - On SIGTERM it resets the function (`SandboxTerminated`: SIGTERM to it, so the shutdown hook
//!   runs) and exits 0.
//!
//! Where our emulator (`tests/emulator`) differs, and why, is listed in its crate docs.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};

/// The RIE's module and the pseudo-version `.ci/run` builds (for the messages).
const RIE_MODULE: &str = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/\
                          aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d";

/// The Invoke API path the RIE serves (the function name is always `function`).
const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";

/// Generous: only there so that a stuck RIE fails a test instead of hanging it.
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The RIE binary: `RIE_BIN`, else `aws-lambda-rie` on `PATH`. Fails the test when neither
/// exists.
fn rie_program() -> PathBuf {
    if let Some(path) = std::env::var_os("RIE_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "RIE_BIN is {} but no such file exists: build it with `GOBIN=<dir> go install \
             {RIE_MODULE}` (.ci/run does)",
            path.display()
        );
        return path;
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("aws-lambda-rie"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the AWS Lambda Runtime Interface Emulator is not installed: neither RIE_BIN nor \
                 aws-lambda-rie on PATH. Build it with `GOBIN=<dir> go install {RIE_MODULE}` and \
                 set RIE_BIN=<dir>/aws-lambda-rie (.ci/run does)"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `aws-lambda-rie` around one probe binary, killed with the function it started when
/// dropped, its output printed if the test is failing.
struct Rie {
    child: Option<Child>,
    addr: SocketAddr,
    runtime_api: SocketAddr,
    log: PathBuf,
}

impl Rie {
    /// Starts the RIE for `probe` with the function timeout `timeout_s` and extra environment
    /// (which the RIE hands on to the function), and waits until it accepts connections.
    fn start(probe: &str, timeout_s: u32, env: &[(&str, &str)]) -> Rie {
        let program = rie_program();
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let runtime_api = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let name = Path::new(probe)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("probe");
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("rie-{name}-{}.log", addr.port()));
        let out = File::create(&log).expect("create the log");
        let mut command = Command::new(&program);
        command
            .arg("--log-level")
            .arg("debug")
            .arg("--runtime-interface-emulator-address")
            .arg(addr.to_string())
            .arg("--runtime-api-address")
            .arg(runtime_api.to_string())
            .arg(probe)
            .current_dir(env!("CARGO_TARGET_TMPDIR"))
            // The RIE passes its whole environment on to the function. No backtraces (a debug
            // build's symbolisation takes over 100 MiB), and nothing that switches the RIE into
            // its Managed Instances mode or points the function elsewhere.
            .env("RUST_BACKTRACE", "0")
            .env("AWS_LAMBDA_FUNCTION_TIMEOUT", timeout_s.to_string())
            .env_remove("AWS_LAMBDA_MAX_CONCURRENCY")
            .env_remove("AWS_LAMBDA_RUNTIME_API")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("RUST_LOG")
            .env_remove("AWS_LAMBDA_LOG_LEVEL")
            .env_remove("AWS_LAMBDA_LOG_FORMAT")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone the log"))
            .stderr(out)
            .process_group(0);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let mut rie = Rie {
            child: Some(child),
            addr,
            runtime_api,
            log,
        };
        rie.wait_listening();
        rie
    }

    fn wait_listening(&mut self) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child_mut().try_wait().expect("try_wait") {
                panic!("aws-lambda-rie exited ({status}) before listening (its log follows)");
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                return;
            }
            assert!(
                started.elapsed() < IO_TIMEOUT,
                "aws-lambda-rie did not listen on {} within {IO_TIMEOUT:?} (its log follows)",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("the RIE is running")
    }

    /// `curl -sS -d EVENT http://ADDR/2015-03-31/functions/function/invocations`, plus `headers`.
    fn invoke_with(&self, event: &[u8], headers: &[(&str, &str)]) -> Reply {
        let mut request = format!(
            "POST {INVOKE_PATH} HTTP/1.1\r\nHost: {}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\
             Content-Length: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n",
            self.addr,
            event.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("Connection: close\r\n\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(event);
        exchange(self.addr, &bytes).unwrap_or_else(|e| {
            panic!(
                "invoking {} through the RIE: {e} (its log follows)",
                String::from_utf8_lossy(&event[..event.len().min(200)])
            )
        })
    }

    fn invoke(&self, event: &[u8]) -> Reply {
        self.invoke_with(event, &[])
    }

    /// The RIE's output so far (its log lines and the function's).
    fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    /// How many lines of the output contain `needle`.
    fn count(&self, needle: &str) -> usize {
        self.log_text()
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }

    /// The index of the first line at or after line `from` that contains `needle`.
    fn line_of(&self, needle: &str, from: usize) -> Option<usize> {
        self.log_text()
            .lines()
            .enumerate()
            .skip(from)
            .find(|(_, line)| line.contains(needle))
            .map(|(i, _)| i)
    }

    /// Waits until the output has a line containing `needle` (the function's output and the
    /// RIE's own lines may come a moment after the invoke's answer).
    fn wait_for_line(&self, needle: &str) -> usize {
        let started = Instant::now();
        loop {
            if let Some(i) = self.line_of(needle, 0) {
                return i;
            }
            assert!(
                started.elapsed() < IO_TIMEOUT,
                "no line with {needle:?} in the RIE's output within {IO_TIMEOUT:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = self.log_text();
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(120)..].join("\n");
            eprintln!("--- last lines of {} ---\n{tail}\n---", self.log.display());
        }
        if let Some(mut child) = self.child.take() {
            // The RIE starts the function in a process group of its own: find it first.
            let pid = Pid::from_raw(child.id() as i32);
            let below = descendants(pid);
            let _ = child.kill();
            let _ = child.wait();
            for p in below {
                let _ = kill(p, Signal::SIGKILL);
            }
        }
    }
}

/// The processes below `root`, from `/proc`.
fn descendants(root: Pid) -> Vec<Pid> {
    let mut parents: Vec<(Pid, Pid)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`; comm may contain spaces and parentheses.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok());
        if let Some(ppid) = ppid {
            parents.push((Pid::from_raw(pid), Pid::from_raw(ppid)));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(
            parents
                .iter()
                .filter(|(_, pp)| *pp == parent)
                .map(|(p, _)| *p),
        );
        i += 1;
    }
    found.remove(0);
    found
}

/// Whether process `pid` still exists (a zombie counts as gone).
fn alive(pid: Pid) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

/// An HTTP answer from the RIE.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the body is not JSON ({e}): {}",
                &self.text()[..self.body.len().min(300)]
            )
        })
    }

    /// Asserts status 200 (the RIE's answer to every function error) and the error's type;
    /// returns its message.
    fn function_error(&self, what: &str, error_type: &str) -> String {
        let body = self.json();
        assert_eq!(
            (self.status, body["errorType"].as_str()),
            (200, Some(error_type)),
            "{what}: expected 200 with errorType {error_type}, got {}: {body}",
            self.status
        );
        assert_eq!(
            self.header("x-amz-function-error"),
            None,
            "{what}: the RIE sends no X-Amz-Function-Error"
        );
        body["errorMessage"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no errorMessage in {body}"))
            .to_owned()
    }
}

/// Sends `request` on a fresh connection and reads the answer to its end (`Connection: close`),
/// chunked or with a `Content-Length`.
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.write_all(request)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no complete response head: {raw:?}")))?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line: {head}")))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        body = dechunk(&body)?;
    } else if let Some(length) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        if body.len() < length {
            return Err(std::io::Error::other(format!(
                "body cut short: {} of {length} bytes",
                body.len()
            )));
        }
        body.truncate(length);
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> std::io::Result<Vec<u8>> {
    let bad = || std::io::Error::other("bad chunked body");
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).map_err(|_| bad())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(data.get(..size).ok_or_else(bad)?);
        data = data.get(size + 2..).ok_or_else(bad)?;
    }
}

fn assert_echo(rie: &Rie, what: &str, event: &Value) {
    let reply = rie.invoke(&serde_json::to_vec(event).unwrap());
    assert_eq!(
        reply.status,
        200,
        "{what}: expected 200, got {}: {}",
        reply.status,
        reply.text()
    );
    assert_eq!(&reply.json(), event, "{what}: the event is echoed");
}

/// The RIE's log line for an init: `phase: init` for the first, `phase: invoke` for each one
/// after a reset (a "suppressed" init, run by the next invoke).
const FIRST_INIT: &str = "INIT START(type: on-demand, phase: init)";
const INIT_AFTER_RESET: &str = "INIT START(type: on-demand, phase: invoke)";

/// Echo, the context and environment the RIE gives, and how it answers.
fn echo_under_rie(probe: &str) {
    let rie = Rie::start(probe, 30, &[]);
    // The RIE starts the function on the first invoke, not before.
    assert_eq!(rie.count(FIRST_INIT), 0, "no init before the first invoke");
    let nested = json!({
        "nested": {"list": [1, 2.5, null, true, {"deep": ["x", {"k": -3}]}], "empty": {}},
        "unicode": "héllo ☃ 𝄞",
    });
    let reply = rie.invoke(&serde_json::to_vec(&nested).unwrap());
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), nested);
    // The RIE does not pass the runtime's Content-Type on: Go's server sniffs one.
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(reply.header("x-amzn-requestid"), None);
    assert_eq!(rie.count(FIRST_INIT), 1);
    assert_echo(&rie, "second echo", &json!({"a": 1}));
    // An empty body is delivered as it is (no `{}`), which our runtime refuses as not JSON.
    let reply = rie.invoke(b"");
    reply.function_error("an empty event", "Runtime.InvalidEvent");

    // The context: the invoker's X-Amzn-RequestId becomes the request id; the client context
    // header is passed on decoded.
    let client_context = r#"{"custom":{"k":"v"},"env":{},"client":{}}"#;
    let encoded = base64_encode(client_context.as_bytes());
    let reply = rie.invoke_with(
        br#"{"probe":"context"}"#,
        &[
            ("X-Amzn-RequestId", "rie-request-1"),
            ("X-Amz-Client-Context", &encoded),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    let seen = reply.json();
    let ctx = &seen["context"];
    assert_eq!(ctx["request_id"], "rie-request-1", "{seen}");
    assert_eq!(
        ctx["invoked_function_arn"],
        "arn:aws:lambda:us-east-1:012345678912:function:test_function"
    );
    assert_eq!(ctx["client_context"]["custom"]["k"], "v", "{seen}");
    let deadline = ctx["deadline"].as_u64().expect("a deadline in epoch ms");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        deadline > now && deadline <= now + 30_000,
        "the deadline ({deadline}) is an epoch time within the 30 s timeout of now ({now})"
    );
    let env = &seen["env"];
    assert_eq!(
        env["AWS_LAMBDA_RUNTIME_API"],
        rie.runtime_api.to_string(),
        "the function talks to the RIE's --runtime-api-address: {env}"
    );
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "test_function");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_TIMEOUT"], "30");
    assert_eq!(env.get("AWS_REGION"), None, "the RIE sets no region: {env}");
    assert_eq!(seen["region"], "", "so setup gets an empty region");
    // One process served them all.
    assert_eq!(rie.count(FIRST_INIT), 1);
    assert_eq!(rie.count(INIT_AFTER_RESET), 0);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A handler error, a panic and an invalid JSON event: each a 200 with the runtime's error
/// document, and the same process keeps serving.
fn errors_under_rie(probe: &str) {
    let rie = Rie::start(probe, 30, &[]);
    let reply = rie.invoke(br#"{"probe":"error","message":"m"}"#);
    let message = reply.function_error("handler error", "Function.HandlerError");
    assert_eq!(message, "m");
    assert_eq!(
        rie.count("Lambda-Runtime-Function-Error-Type:[Function.HandlerError]"),
        1,
        "posted to /error with the error type header"
    );

    let reply = rie.invoke(br#"{"probe":"panic","message":"p"}"#);
    let message = reply.function_error("panic", "Function.Panic");
    assert!(
        message == "p" || message.ends_with(": p"),
        "the panic's message, got {message:?}"
    );
    assert_echo(&rie, "echo after a panic", &json!({"after": "panic"}));

    let reply = rie.invoke(b"{not json");
    reply.function_error("invalid JSON", "Runtime.InvalidEvent");
    assert_echo(
        &rie,
        "echo after an invalid event",
        &json!({"after": "invalid"}),
    );

    // No reset: the first process served everything.
    assert_eq!(rie.count(FIRST_INIT), 1);
    assert_eq!(rie.count(INIT_AFTER_RESET), 0);
    assert_eq!(rie.count("Reset initiated"), 0);
}

/// Setup fails: `502` with the init error document, and every later invoke inits again (and
/// fails again).
fn init_error_under_rie(probe: &str) {
    let rie = Rie::start(probe, 30, &[("PROBE_SETUP", "fail")]);
    for attempt in 1..=2 {
        let reply = rie.invoke(br#"{"a":1}"#);
        let body = reply.json();
        assert_eq!(
            (reply.status, body["errorType"].as_str()),
            (502, Some("Function.SetupError")),
            "attempt {attempt}: {body}"
        );
        assert!(
            body["errorMessage"]
                .as_str()
                .is_some_and(|m| m.contains("probe setup failed on purpose")),
            "attempt {attempt}: {body}"
        );
    }
    assert_eq!(rie.count(FIRST_INIT), 1);
    assert!(
        rie.count(INIT_AFTER_RESET) >= 1,
        "the second invoke ran init again"
    );
    assert_eq!(
        rie.count("Lambda-Runtime-Function-Error-Type:[Function.SetupError]"),
        2,
        "each process posted /init/error"
    );
}

/// A handler that awaits past the deadline: the runtime's own timer reports
/// `Runtime.HandlerTimeout` before the deadline and the runtime is back at `/next` at once, so
/// the RIE answers with that error and does not reset.
fn awaiting_handler_past_deadline(probe: &str) {
    let rie = Rie::start(probe, 2, &[]);
    assert_echo(&rie, "warm-up (init)", &json!({"warm": true}));
    let reply = rie.invoke(br#"{"probe":"sleep","ms":5000}"#);
    let message = reply.function_error("awaiting handler", "Runtime.HandlerTimeout");
    assert!(message.contains("timeout"), "{message}");
    assert_echo(&rie, "echo after the timeout", &json!({"after": "sleep"}));
    assert_eq!(rie.count("Reset initiated"), 0, "no reset");
    assert_eq!(rie.count(INIT_AFTER_RESET), 0);
}

/// A handler that blocks its thread past the deadline: the watchdog posts
/// `Runtime.HandlerTimeout` before the deadline, but the runtime cannot get back to `/next`, and
/// the RIE's invoke lasts until it does: at the deadline the RIE answers `Task timed out after
/// 2.00 seconds` and resets the function (SIGTERM: the shutdown hook runs); the next invoke
/// starts it again.
fn blocking_handler_past_deadline(probe: &str) {
    let rie = Rie::start(probe, 2, &[]);
    assert_echo(&rie, "warm-up (init)", &json!({"warm": true}));
    let reply = rie.invoke(br#"{"probe":"block","ms":6000}"#);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "Task timed out after 2.00 seconds"),
        "the RIE's timeout answer, although the watchdog posted its error in time"
    );
    // The watchdog's post reached the RIE before its timeout fired.
    let posted = rie
        .line_of("Sending Error Response: Runtime.HandlerTimeout", 0)
        .expect("the watchdog posted Runtime.HandlerTimeout");
    let reset = rie
        .line_of("Reset initiated: Timeout", 0)
        .expect("the RIE reset the function at the deadline");
    assert!(posted < reset, "the error was posted before the reset");
    let hook = rie.wait_for_line("probe: shutdown hook ran");
    assert!(
        hook > reset,
        "the reset sent SIGTERM: the shutdown hook ran"
    );
    // The next invoke inits a new process, which answers.
    assert_echo(&rie, "echo after the reset", &json!({"after": "block"}));
    assert_eq!(rie.count(INIT_AFTER_RESET), 1, "init again after the reset");
}

/// Responses around Lambda's 6 MB limit: a 7 MiB one is refused by our runtime before it posts
/// (`Runtime.ResponseTooLarge`, through `/error`), one just under the limit passes whole, and
/// the function keeps serving.
fn big_responses_under_rie(probe: &str) {
    let rie = Rie::start(probe, 30, &[]);
    let reply = rie.invoke(br#"{"probe":"big","bytes":7340032}"#);
    let message = reply.function_error("7 MiB response", "Runtime.ResponseTooLarge");
    assert!(message.contains("6291556"), "{message}");
    assert_eq!(
        rie.count("Content-Length:[7340034]"),
        0,
        "the 7 MiB response was never posted"
    );
    // 6,291,556 bytes is the limit; the JSON string adds its two quotes.
    let bytes = 6_291_556 - 2;
    let reply = rie.invoke(format!(r#"{{"probe":"big","bytes":{bytes}}}"#).as_bytes());
    assert_eq!(
        reply.status,
        200,
        "{}",
        &reply.text()[..reply.body.len().min(300)]
    );
    assert_eq!(reply.body.len(), 6_291_556, "the whole response");
    assert!(
        reply.body.starts_with(b"\"xxx") && reply.body.ends_with(b"xxx\""),
        "the string, whole"
    );
    assert_echo(
        &rie,
        "echo after the big responses",
        &json!({"after": "big"}),
    );
    assert_eq!(rie.count("Reset initiated"), 0);
}

/// SIGTERM to the RIE: it resets the function with SIGTERM (the shutdown hook runs), the function
/// exits, and the RIE exits 0.
fn shutdown_under_rie(probe: &str) {
    let mut rie = Rie::start(probe, 30, &[]);
    assert_echo(
        &rie,
        "echo before the shutdown",
        &json!({"before": "shutdown"}),
    );
    let pid = Pid::from_raw(rie.child_mut().id() as i32);
    let function = descendants(pid);
    assert!(!function.is_empty(), "the RIE runs the function");
    kill(pid, Signal::SIGTERM).expect("SIGTERM to the RIE");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = rie.child_mut().try_wait().expect("try_wait") {
            break status;
        }
        assert!(
            started.elapsed() < IO_TIMEOUT,
            "the RIE did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0), "the RIE exits 0 on SIGTERM");
    let reset = rie
        .line_of("Reset initiated: SandboxTerminated", 0)
        .expect("the RIE resets the function on SIGTERM");
    let hook = rie
        .line_of("probe: shutdown hook ran", 0)
        .expect("the function got SIGTERM and ran its shutdown hook");
    assert!(hook > reset);
    for p in function {
        let gone = Instant::now();
        while alive(p) {
            assert!(gone.elapsed() < IO_TIMEOUT, "process {p} outlived the RIE");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

common::per_executor! {
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    echo_under_rie,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    errors_under_rie,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    init_error_under_rie,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    awaiting_handler_past_deadline,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    blocking_handler_past_deadline,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    big_responses_under_rie,
    #[ignore = "needs aws-lambda-rie (RIE_BIN or PATH): run by .ci/run with --ignored"]
    shutdown_under_rie,
}
