//! The `lambda-emulator` program: help, one-shot mode, server mode. It is another package's
//! binary, so the suite builds it first (`common::emulator_program`).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use common::{emulator_program, http_invoke, workspace_root};

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
