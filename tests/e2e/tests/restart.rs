//! The edit-and-rerun loop: a function fails init, is fixed and started again; the first
//! invoke after that must be answered by the new process, not by the old init error.

mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Conn, fails_once_script, http_invoke};
use lambda_emulator::{Emulator, Options, Outcome};

const RIE_PATH: &str = "/2015-03-31/functions/function/invocations";

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-emulator-restart-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn first_invoke_after_a_failed_init_is_answered_by_the_new_process() {
    let dir = scratch_dir("managed");
    let marker = dir.join("fixed");
    let script = fails_once_script(&dir, &marker);
    let emu = Emulator::start(
        Options::new(["sh".into(), script.into_os_string()]).timeout(Duration::from_secs(20)),
    )
    .unwrap();
    // The first process fails setup with nobody waiting, and exits.
    wait_until("the failed process to exit", || emu.exits().len() == 1);
    assert!(marker.exists());
    assert_eq!(emu.errors().len(), 1, "the init error was posted");

    for attempt in 1..=2 {
        let reply = http_invoke(emu.addr(), RIE_PATH, &[], br#"{"attempt":1}"#);
        assert_eq!(
            (reply.status, reply.body_str()),
            (200, r#"{"attempt":1}"#.to_owned()),
            "invoke {attempt} is answered by the restarted function, not the old init error"
        );
    }
    assert_eq!(emu.starts(), 2, "one restart, serving both invokes");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invoke_during_the_failing_init_gets_its_error_the_next_one_the_new_process() {
    let dir = scratch_dir("racing");
    let marker = dir.join("fixed");
    let script = fails_once_script(&dir, &marker);
    let emu = Emulator::start(
        Options::new(["sh".into(), script.into_os_string()]).timeout(Duration::from_secs(20)),
    )
    .unwrap();
    // Submitted while the first process is still in init: that process answers it.
    let first = emu.invoke(b"{}").unwrap();
    assert_eq!(first.outcome, Outcome::InitError, "{}", first.body_str());
    assert_eq!(first.error_type().as_deref(), Some("Function.SetupError"));
    let second = http_invoke(emu.addr(), RIE_PATH, &[], br#"{"second":true}"#);
    assert_eq!(
        (second.status, second.body_str()),
        (200, r#"{"second":true}"#.to_owned())
    );
    assert_eq!(emu.starts(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without a managed process (the user runs the function): after an init error, a restarted
/// function that reaches `/next` gets the next invoke.
#[test]
fn external_function_restarted_after_an_init_error_gets_the_next_invoke() {
    let emu = Emulator::start(Options::external().timeout(Duration::from_secs(20))).unwrap();
    let mut failed = Conn::connect(emu.addr());
    let posted = failed.request(
        "POST",
        "/2018-06-01/runtime/init/error",
        &[("Lambda-Runtime-Function-Error-Type", "Function.SetupError")],
        b"",
    );
    assert_eq!(posted.status, 202);
    drop(failed);

    std::thread::scope(|s| {
        let addr = emu.addr();
        let restarted = s.spawn(move || {
            let mut conn = Conn::connect(addr);
            let next = conn.request("GET", "/2018-06-01/runtime/invocation/next", &[], b"");
            assert_eq!(next.status, 200);
            let id = next
                .header_str("lambda-runtime-aws-request-id")
                .expect("a request id");
            let path = format!("/2018-06-01/runtime/invocation/{id}/response");
            let done = conn.request("POST", &path, &[], br#"{"restarted":true}"#);
            assert_eq!(done.status, 202);
        });
        // The invoke goes to the restarted function once it polls, whichever comes first.
        wait_until("the restarted function's /next", || {
            emu.calls()
                .iter()
                .any(|c| c.endpoint == lambda_emulator::Endpoint::Next)
        });
        let reply = http_invoke(addr, RIE_PATH, &[], b"{}");
        assert_eq!(
            (reply.status, reply.body_str()),
            (200, r#"{"restarted":true}"#.to_owned())
        );
        restarted.join().unwrap();
    });
}
