//! The `lambda-emulator` program: help, one-shot mode, server mode. It is another package's
//! binary, so the suite builds it first (`common::emulator_program`).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{emulator_program, fails_once_script, http_invoke, workspace_root};

/// The bash fixture, relative to the workspace root.
const FIXTURE: &str = "./tests/e2e/fixtures/bash-bootstrap.sh";

/// Run from the workspace root, as the README's command is.
fn run(args: &[&str]) -> Output {
    Command::new(emulator_program())
        .args(args)
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("lambda-emulator-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_documents_every_option() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = stdout(&output);
    for option in [
        "--function-name",
        "--memory",
        "--timeout",
        "--region",
        "--port",
        "--bind",
        "--concurrency",
        "--runtime-api-prefix",
        "--handler",
        "--env",
        "--invocation-id",
        "--shutdown-grace",
        "--event",
        "--init-timeout",
        "--fail-on-function-error",
        "--quiet",
        "[COMMAND]...",
        "AWS_LAMBDA_MAX_CONCURRENCY",
        "/2015-03-31/functions/function/invocations",
    ] {
        assert!(help.contains(option), "--help lacks {option}:\n{help}");
    }
}

#[test]
fn one_shot_prints_the_response_and_exits_0() {
    let output = run(&["--event", r#"{"a":1}"#, "--", FIXTURE]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "{\"a\":1}\n");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("bootstrap: init done"),
        "function output echoed: {stderr}"
    );
}

#[test]
fn events_from_files_directories_and_stdin() {
    let dir = scratch_dir("events");
    std::fs::write(dir.join("1-lines.jsonl"), "{\"n\":1}\n\n{\"n\":2}\n").unwrap();
    std::fs::write(dir.join("2-pretty.json"), "{\n  \"n\": 3\n}\n").unwrap();
    let single = dir.join("single.json");
    std::fs::write(&single, "{\"n\":5}").unwrap();
    let events_dir = dir.join("dir");
    std::fs::create_dir(&events_dir).unwrap();
    std::fs::rename(dir.join("1-lines.jsonl"), events_dir.join("1-lines.jsonl")).unwrap();
    std::fs::rename(dir.join("2-pretty.json"), events_dir.join("2-pretty.json")).unwrap();

    let mut child = Command::new(emulator_program())
        .args([
            "-q",
            "--event",
            events_dir.to_str().unwrap(),
            "--event",
            r#"{"n":4}"#,
            "--event",
            single.to_str().unwrap(),
            "--event",
            "-",
            "--",
            FIXTURE,
        ])
        .current_dir(workspace_root())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"n\":6}\n{\"n\":7}\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        stdout(&output),
        "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n{\"n\":4}\n{\"n\":5}\n{\"n\":6}\n{\"n\":7}\n"
    );
    assert!(
        !String::from_utf8_lossy(&output.stderr).contains("bootstrap:"),
        "-q"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn exit_status_reflects_unanswered_invocations() {
    // A crash: the invoker gets an answer from the emulator, not the function.
    let crashed = run(&[
        "--event",
        r#"{"crash":2}"#,
        "--event",
        r#"{"b":1}"#,
        "--",
        FIXTURE,
    ]);
    assert_eq!(crashed.status.code(), Some(1), "{crashed:?}");
    let lines: Vec<String> = stdout(&crashed).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(lines[0].contains("Runtime.ExitError"), "{lines:?}");
    assert_eq!(lines[1], r#"{"b":1}"#, "restarted for the next event");

    // A function error is an answer...
    let failed = run(&["--event", r#"{"error":1}"#, "--", FIXTURE]);
    assert_eq!(failed.status.code(), Some(0), "{failed:?}");
    assert!(stdout(&failed).contains("Function.Failed"));
    // ...unless asked otherwise.
    let strict = run(&[
        "--fail-on-function-error",
        "--event",
        r#"{"error":1}"#,
        "--",
        FIXTURE,
    ]);
    assert_eq!(strict.status.code(), Some(1), "{strict:?}");

    let init = run(&[
        "-e",
        "BOOTSTRAP_MODE=init-error",
        "--event",
        "{}",
        "--",
        FIXTURE,
    ]);
    assert_eq!(init.status.code(), Some(1), "{init:?}");
    assert!(stdout(&init).contains("init failed on purpose"));

    let timeout = run(&["-t", "0.5", "--event", r#"{"sleep":30}"#, "--", FIXTURE]);
    assert_eq!(timeout.status.code(), Some(1), "{timeout:?}");
    assert!(stdout(&timeout).contains("Task timed out after 0.50 seconds"));

    let usage = run(&["--event", "not json", "--", FIXTURE]);
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    let missing = run(&["--event", "{}", "--", "./no/such/bootstrap"]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
}

#[test]
fn command_given_as_one_string() {
    let output = run(&["--event", r#"{"a":2}"#, &format!("bash {FIXTURE}")]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "{\"a\":2}\n");
}

#[test]
fn server_mode_serves_until_sigterm() {
    let mut child = Command::new(emulator_program())
        .args(["--function-name", "served", "--", FIXTURE])
        .current_dir(workspace_root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    stdout.read_line(&mut banner).unwrap();
    stdout.read_line(&mut banner).unwrap();
    let url = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {banner}"));
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let reply = http_invoke(
        authority.parse().unwrap(),
        "/2015-03-31/functions/served/invocations",
        &[],
        br#"{"served":true}"#,
    );
    assert_eq!(
        (reply.status, reply.body_str()),
        (200, r#"{"served":true}"#.to_owned())
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A server-mode emulator: its Invoke API address, its stderr collected on a thread.
struct Server {
    child: Child,
    authority: String,
    stderr: std::thread::JoinHandle<String>,
}

impl Server {
    /// `program args...` in `dir`; reads the banner (the Invoke API URL) off stdout.
    fn start(mut command: Command, dir: &Path) -> Server {
        let mut child = command
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = err.read_to_string(&mut text);
            text
        });
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut banner = String::new();
        stdout.read_line(&mut banner).unwrap();
        stdout.read_line(&mut banner).unwrap();
        let url = banner
            .split_whitespace()
            .find(|w| w.starts_with("http://") && w.ends_with("/invocations"))
            .unwrap_or_else(|| panic!("no Invoke API URL in {banner:?}"));
        let authority = url
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        Server {
            child,
            authority,
            stderr,
        }
    }

    fn invoke(&self, body: &[u8]) -> common::Reply {
        http_invoke(
            self.authority.parse().unwrap(),
            "/2015-03-31/functions/function/invocations",
            &[],
            body,
        )
    }

    /// SIGTERM; the exit status and everything it wrote to stderr.
    fn stop(mut self) -> (Option<i32>, String) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        )
        .unwrap();
        let status = self.child.wait().unwrap();
        (status.code(), self.stderr.join().unwrap())
    }
}

/// The edit-and-rerun loop in server mode: the function fails setup at start, is "fixed"
/// (here: a marker file it created) and re-spawned by the next invoke, which it answers.
/// Every invocation is logged on stderr with its request id, outcome and duration.
#[test]
fn server_mode_restarted_function_answers_and_each_invocation_is_logged() {
    let dir = scratch_dir("restart");
    let marker = dir.join("fixed");
    fails_once_script(&dir, &marker);
    let mut command = Command::new(emulator_program());
    command.args(["-q", "--", "sh", "fails-once.sh"]);
    let server = Server::start(command, &dir);
    let end = Instant::now() + Duration::from_secs(30);
    while !marker.exists() {
        assert!(Instant::now() < end, "the function never ran");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the failed process post its error and be gone (the CLI shows no sign of the exit; the
    // library suite `restart.rs` waits for it exactly). An invoke that still met the failing
    // process would rightly get its error, so leave a wide margin.
    std::thread::sleep(Duration::from_millis(2500));

    let first = server.invoke(br#"{"n":1}"#);
    assert_eq!(
        (first.status, first.body_str()),
        (200, r#"{"n":1}"#.to_owned()),
        "answered by the restarted function, not by the old init error"
    );
    let second = server.invoke(br#"{"n":2}"#);
    assert_eq!(second.status, 200);
    let failed = server.invoke(br#"{"error":1}"#);
    assert_eq!(failed.status, 200);

    let (code, stderr) = server.stop();
    assert_eq!(code, Some(0), "{stderr}");
    for (reply, outcome) in [
        (&first, "ok"),
        (&second, "ok"),
        (&failed, "Function.Failed"),
    ] {
        let id = reply.header_str("x-amzn-requestid").unwrap();
        let line = stderr
            .lines()
            .find(|line| line.contains(&id))
            .unwrap_or_else(|| panic!("no log line for {id}:\n{stderr}"));
        let rest = line
            .strip_prefix(&format!("lambda-emulator: {id} {outcome} in "))
            .unwrap_or_else(|| panic!("{line:?}"));
        let ms = rest
            .strip_suffix(" ms")
            .unwrap_or_else(|| panic!("{line:?}"));
        assert!(ms.parse::<f64>().is_ok(), "{line:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run from another directory (as an installed `lambda-emulator` is): the function and the
/// event files are found relative to it, and a missing binary's error says where it looked.
#[test]
fn paths_are_relative_to_the_current_directory() {
    let dir = scratch_dir("relative");
    std::fs::copy(workspace_root().join(FIXTURE), dir.join("bootstrap")).unwrap();
    std::fs::create_dir(dir.join("events")).unwrap();
    std::fs::write(dir.join("events/ev.json"), r#"{"here":true}"#).unwrap();
    let output = Command::new(emulator_program())
        .args([
            "-q",
            "--event",
            "events/ev.json",
            "--",
            "bash",
            "./bootstrap",
        ])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(stdout(&output), "{\"here\":true}\n");

    let missing = Command::new(emulator_program())
        .args(["--event", "{}", "--", "./target/debug/myfn"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("./target/debug/myfn"), "{stderr}");
    assert!(
        stderr.contains(&dir.display().to_string()),
        "names the directory: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A function package outside this workspace, for the help's "from your package" examples:
/// binary `myfn`, no dependencies, an echo function speaking the Runtime API over std.
fn user_package(dir: &Path) {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"myfn\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::write(dir.join("ev.json"), r#"{"from":"ev.json"}"#).unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        r#"use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

fn main() {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap();
    loop {
        let mut next = TcpStream::connect(&api).unwrap();
        next.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n")
            .unwrap();
        let mut reader = BufReader::new(next);
        let (mut id, mut len) = (String::new(), 0);
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                match name.to_ascii_lowercase().as_str() {
                    "lambda-runtime-aws-request-id" => id = value.trim().to_owned(),
                    "content-length" => len = value.trim().parse().unwrap(),
                    _ => {}
                }
            }
        }
        let mut event = vec![0; len];
        reader.read_exact(&mut event).unwrap();
        let mut post = TcpStream::connect(&api).unwrap();
        let head = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: rt\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n"
        );
        post.write_all(head.as_bytes()).unwrap();
        post.write_all(&event).unwrap();
        let _ = post.read_to_end(&mut Vec::new());
    }
}
"#,
    )
    .unwrap();
}

/// Waits for `child` up to `limit`, killing it after that.
fn wait_output(mut child: Child, limit: Duration, what: &str) -> Output {
    let end = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= end {
            let _ = child.kill();
            panic!("{what}: still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// A TCP port nothing listens on right now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(9000)
}

/// Every example command line in `--help` is run: one-shot ones to completion, server ones
/// started, invoked with the help's curl and AWS CLI lines (PORT filled in; the front door's
/// against the server that opens it) and stopped. "From your package" examples run in a
/// throwaway package, the others in this workspace.
#[test]
fn every_help_example_works() {
    let help = stdout(&run(&["--help"]));
    let examples: Vec<&str> = help
        .lines()
        .map(str::trim)
        .filter(|line| {
            ["lambda-emulator ", "curl ", "aws "]
                .iter()
                .any(|start| line.starts_with(start))
        })
        .collect();
    let (clients, emulators): (Vec<&str>, Vec<&str>) = examples
        .iter()
        .partition(|line| !line.starts_with("lambda-emulator "));
    assert!(emulators.len() >= 4, "{examples:?}");
    assert!(
        clients.iter().any(|line| line.starts_with("curl ")),
        "{examples:?}"
    );

    let package = scratch_dir("user-package");
    user_package(&package);
    let program_dir = emulator_program().parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(program_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    // `./target/...` in the examples means the default target directory.
    let shell = |line: &str, dir: &Path| {
        let mut command = Command::new("bash");
        command
            .args(["-c", &format!("exec {line}")])
            .env("PATH", &path)
            .env_remove("CARGO_TARGET_DIR")
            .current_dir(dir);
        command
    };
    let aws_works = Command::new("aws")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let root = workspace_root();
    let mut servers = 0;
    // The front door's examples use port 9000: a free port stands in for it, and its clients
    // (those naming the port) run against the server example that opens it.
    let front_door = free_port().to_string();
    let front_door_client = |client: &&str| client.contains(":9000");
    for line in &emulators {
        let opens_front_door = line.contains("--http 9000");
        let line = &line.replace("9000", &front_door);
        let dir = if line.contains("myfn") || line.contains("ev.json") {
            package.as_path()
        } else {
            root.as_path()
        };
        if line.contains("--event") {
            let child = shell(line, dir)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // Long enough for `cargo run` to build on a busy machine.
            let output = wait_output(child, Duration::from_secs(900), line);
            assert_eq!(output.status.code(), Some(0), "{line}: {output:?}");
            assert!(!stdout(&output).trim().is_empty(), "{line}: {output:?}");
            continue;
        }
        servers += 1;
        let server = Server::start(shell(line, dir), dir);
        let reply = server.invoke(br#"{"served":1}"#);
        assert_eq!(
            (reply.status, reply.body_str()),
            (200, r#"{"served":1}"#.to_owned())
        );
        let port = server.authority.rsplit(':').next().unwrap().to_owned();
        for client in clients
            .iter()
            .filter(|c| front_door_client(c) == opens_front_door)
        {
            let client = &client.replace("9000", &front_door);
            if client.starts_with("aws ") && !aws_works {
                eprintln!("skipped (no working AWS CLI): {client}");
                continue;
            }
            let out = scratch_dir("client");
            let child = shell(&client.replace("PORT", &port), &out)
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("AWS_DEFAULT_REGION", "us-east-1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let output = wait_output(child, Duration::from_secs(60), client);
            assert_eq!(output.status.code(), Some(0), "{client}: {output:?}");
            let _ = std::fs::remove_dir_all(&out);
        }
        let (code, stderr) = server.stop();
        assert_eq!(code, Some(0), "{line}: {stderr}");
    }
    assert!(servers >= 1, "a server example: {examples:?}");
    let _ = std::fs::remove_dir_all(&package);
}
