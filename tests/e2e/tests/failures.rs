//! Failures Lambda would swallow, for every probe binary: a handler that blocks its thread past
//! the deadline (reported in time, then reset), running out of memory, SIGTERM during an
//! invocation, and what the runtime logs.

mod common;

use std::time::Duration;

use lambda_emulator::{Emulator, Endpoint, Outcome, ResetReason, ShutdownAction, Signal};

use common::{calls, invoke, start_probe};
use serde_json::json;

/// A handler that blocks its thread past the deadline: the watchdog reports
/// `Runtime.HandlerTimeout` before the deadline, but the runtime cannot get back to `/next`, so
/// at the deadline the function is reset, as Lambda does; a new process serves the next
/// invocation.
fn blocked_handler_timeout(bin: &str) {
    let emu = start_probe(bin, |o| o.timeout(Duration::from_secs(1)));
    let r = invoke(&emu, br#"{"probe":"block","ms":2500}"#);
    assert_eq!(r.outcome, Outcome::FunctionError, "{}", r.body_str());
    assert_eq!(
        r.error_type().as_deref(),
        Some("Runtime.HandlerTimeout"),
        "not Sandbox.Timedout"
    );
    assert!(r.body_str().contains("blocking its thread"));
    let next = &calls(&emu, Endpoint::Next)[0];
    let id = next.request_id.clone().unwrap();
    let deadline: u64 = next
        .response_header("Lambda-Runtime-Deadline-Ms")
        .unwrap()
        .parse()
        .unwrap();
    let errors: Vec<_> = calls(&emu, Endpoint::Error)
        .into_iter()
        .filter(|c| c.request_id.as_deref() == Some(id.as_str()))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one /error for {id}");
    let early = deadline.saturating_sub(errors[0].received_ms);
    assert!(
        errors[0].received_ms < deadline,
        "posted after the deadline"
    );
    eprintln!("{bin}: blocked-handler timeout posted {early} ms before the deadline");
    // Not back at /next by the deadline: reset then, not before.
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| !e.exits().is_empty()),
        "the blocked function was reset"
    );
    let exit = &emu.exits()[0];
    assert_eq!(exit.generation, 1);
    assert_eq!(
        exit.reset,
        Some(ResetReason::Timeout),
        "{}",
        exit.describe()
    );
    // The runtime's extension is registered, so the reset is a SIGTERM: the watchdog's thread
    // runs the shutdown hook although the handler still blocks the executor's.
    assert!(exit.sigterm_ms.is_some(), "{}", exit.describe());
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| e
            .log_text()
            .contains("probe: shutdown hook ran")),
        "{}",
        emu.log_text()
    );
    let steps = emu.shutdown_steps();
    let begin = steps
        .iter()
        .find(|s| matches!(&s.action, ShutdownAction::Begin { reason, .. } if reason == "timeout"))
        .expect("a shutdown for the timeout");
    assert!(
        begin.at_ms >= deadline,
        "reset {} ms before the deadline",
        deadline - begin.at_ms
    );
    assert!(
        calls(&emu, Endpoint::Next)
            .iter()
            .all(|c| c.generation != 1 || c.request_id.as_deref() == Some(&id)),
        "the blocked process never asked for another invocation"
    );
    // The next invocation starts the function again, and the new process answers it.
    let r = invoke(&emu, br#"{"after":"block"}"#);
    assert_eq!(r.json(), Some(json!({"after": "block"})));
    assert_eq!(emu.starts(), 2);
    let answer = calls(&emu, Endpoint::Response)
        .into_iter()
        .find(|c| c.request_id.as_deref() == Some(r.request_id.as_str()))
        .expect("the response after the reset");
    assert_eq!(answer.generation, 2);
    assert!(
        calls(&emu, Endpoint::Response)
            .iter()
            .all(|c| c.request_id.as_deref() != Some(&id))
    );
}

fn out_of_memory(bin: &str) {
    let emu = start_probe(bin, |o| o.memory_mb(128));
    // Held, so that the watchdog's 10 ms sampling sees it however busy the machine is.
    let r = invoke(&emu, br#"{"probe":"alloc","mb":256,"hold_ms":1000}"#);
    assert_eq!(
        r.error_type().as_deref(),
        Some("Runtime.OutOfMemory"),
        "{}",
        r.body_str()
    );
    assert!(
        r.body_str().contains("of the function's 128 MiB"),
        "{}",
        r.body_str()
    );
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| !e.exits().is_empty()),
        "exits"
    );
    assert_eq!(
        emu.exits()[0].code,
        Some(5),
        "{}",
        emu.exits()[0].describe()
    );
    // The next invocation runs in a fresh process.
    let r = invoke(&emu, br#"{"after":"oom"}"#);
    assert_eq!(r.json(), Some(json!({"after": "oom"})));
    assert_eq!(emu.starts(), 2);
    // Below the threshold nothing happens.
    let r = invoke(&emu, br#"{"probe":"alloc","mb":32}"#);
    assert_eq!(r.outcome, Outcome::Response, "{}", r.body_str());
}

fn sigterm_during_invocation(bin: &str) {
    let emu = start_probe(bin, |o| o.shutdown_grace(Duration::from_secs(2)));
    std::thread::scope(|scope| {
        let running = scope.spawn(|| invoke(&emu, br#"{"probe":"sleep","ms":10000}"#));
        assert!(
            emu.wait_until(Duration::from_secs(10), |e| calls(e, Endpoint::Next)
                .first()
                .is_some_and(|c| c.status == Some(200))),
            "the invocation started"
        );
        // The runtime handles SIGTERM from the first invocation on; before that, the signal's
        // default action would kill it.
        assert!(
            emu.wait_until(Duration::from_secs(10), |e| e
                .pid()
                .is_some_and(catches_sigterm)),
            "the SIGTERM handler is installed"
        );
        emu.signal(Signal::Term).unwrap();
        let r = running.join().unwrap();
        assert_eq!(
            r.error_type().as_deref(),
            Some("Runtime.Shutdown"),
            "{}",
            r.body_str()
        );
    });
    let errors = calls(&emu, Endpoint::Error);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.Shutdown")
    );
    assert!(
        emu.wait_until(Duration::from_secs(5), |e| !e.exits().is_empty()),
        "exits"
    );
    let exit = &emu.exits()[0];
    assert_eq!(exit.code, Some(0), "{}", exit.describe());
    assert!(
        emu.log_text().contains("probe: shutdown hook ran"),
        "{}",
        emu.log_text()
    );
}

/// Whether process `pid` has a handler for SIGTERM (`SigCgt` in `/proc/PID/status`).
fn catches_sigterm(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (15 - 1)) != 0)
}

/// SIGTERM with a shutdown hook that hangs or panics: the process still exits 0, after the
/// bound (`LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS`) or at once, well within the grace period.
fn shutdown_hook_is_bounded(bin: &str) {
    for hook in ["hang", "panic"] {
        let emu = start_probe(bin, |o| {
            o.shutdown_grace(Duration::from_secs(10))
                .env("PROBE_HOOK", hook)
                .env("LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS", "600")
        });
        // The SIGTERM handler is installed with the first invocation.
        invoke(&emu, br#"{"x":1}"#);
        emu.signal(Signal::Term).unwrap();
        assert!(
            emu.wait_until(Duration::from_secs(20), |e| !e.exits().is_empty()),
            "{hook}: exits"
        );
        let exit = &emu.exits()[0];
        assert_eq!(exit.code, Some(0), "{hook}: {}", exit.describe());
        assert!(!exit.sigkilled, "{hook}: {}", exit.describe());
        let took = exit.ms_after_sigterm().unwrap();
        if hook == "hang" {
            assert!(took >= 600, "{hook}: exited {took} ms after SIGTERM");
        }
        assert!(
            emu.log_text().contains("probe: shutdown hook ran"),
            "{hook}: {}",
            emu.log_text()
        );
        // A hook that panicked has finished: the runtime does not wait out the bound.
        let waited_out = emu
            .log_text()
            .contains("the shutdown hook did not finish in 600ms");
        assert_eq!(waited_out, hook == "hang", "{hook}: {}", emu.log_text());
    }
}

fn logs_carry_ids_not_payloads(bin: &str) {
    let emu = start_probe(bin, |o| o);
    invoke(&emu, br#"{"secret":"hunter2-echoed"}"#);
    let r = invoke(
        &emu,
        br#"{"probe":"error","message":"declined","card":"hunter2-card"}"#,
    );
    assert_eq!(r.outcome, Outcome::FunctionError);
    invoke(&emu, br#"{"secret":"hunter2-invalid","#);
    invoke(
        &emu,
        br#"{"probe":"big","bytes":7340032,"pin":"hunter2-big"}"#,
    );
    // Output reaches the emulator through a pipe: wait until every error's line is there.
    let ids: Vec<String> = calls(&emu, Endpoint::Error)
        .into_iter()
        .filter_map(|c| c.request_id)
        .collect();
    assert_eq!(ids.len(), 3);
    let named = |e: &Emulator| {
        let logs = e.log_text();
        ids.iter().all(|id| logs.contains(&format!("[{id}]")))
    };
    let all_named = emu.wait_until(Duration::from_secs(10), named);
    let logs = emu.log_text();
    assert!(
        all_named,
        "not every error's log line names its request id:\n{logs}"
    );
    assert!(!logs.contains("hunter2"), "a payload was logged:\n{logs}");
}

common::per_executor! {
    blocked_handler_timeout,
    out_of_memory,
    sigterm_during_invocation,
    shutdown_hook_is_bounded,
    logs_carry_ids_not_payloads,
}
