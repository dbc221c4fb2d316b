//! The Extensions API and Lambda's shutdown sequence, with bash + curl extensions and
//! functions (`fixtures/`) run as real processes against the emulator on loopback.

mod common;

use std::time::Duration;

use common::{Scratch, WAIT, fixture, now_ms, wait_for};
use lambda_emulator::{Emulator, Endpoint, Options, Outcome, ShutdownAction, ShutdownStep};
use serde_json::Value;

fn function(scratch: &Scratch) -> Options {
    Options::new([fixture("function.sh")])
        .env("EXT_OUT", &scratch.0)
        .timeout(Duration::from_secs(30))
}

fn actions(steps: &[ShutdownStep]) -> Vec<ShutdownAction> {
    steps.iter().map(|s| s.action.clone()).collect()
}

fn step_at(steps: &[ShutdownStep], action: &ShutdownAction) -> u64 {
    steps
        .iter()
        .find(|s| &s.action == action)
        .unwrap_or_else(|| panic!("no {action:?} in {steps:?}"))
        .at_ms
}

#[test]
fn an_external_extension_gets_one_invoke_per_invocation_and_shutdown_at_exit() {
    let scratch = Scratch::new("ext-invoke");
    let dir = scratch.extensions(&["probe-ext"]);
    // A long budget: a slow machine must not make the extension miss its deadline.
    let emu = Emulator::start(
        function(&scratch)
            .extensions(&dir)
            .shutdown_grace(Duration::from_secs(10)),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();

    let registered = emu.extensions();
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0].name, "probe-ext");
    assert!(registered[0].external);
    assert_eq!(registered[0].events, ["INVOKE", "SHUTDOWN"]);
    let body: Value = serde_json::from_str(&scratch.read("probe-ext.register")).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "functionName": "function",
            "functionVersion": "$LATEST",
            "handler": "bootstrap",
            "accountId": "000000000000",
        })
    );
    let call = emu
        .calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::ExtensionRegister)
        .unwrap();
    assert_eq!(call.status, Some(200));
    assert_eq!(
        call.response_header("lambda-extension-identifier"),
        Some(registered[0].id.as_str())
    );

    let mut ids = Vec::new();
    for n in 0..3 {
        let before = now_ms();
        let result = emu.invoke(format!(r#"{{"n":{n}}}"#)).unwrap();
        assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
        ids.push((result.request_id, before));
    }
    assert!(
        wait_for(WAIT, || scratch.json_lines("probe-ext.events").len() >= 3),
        "{:?}",
        scratch.read("probe-ext.events")
    );
    let events = scratch.json_lines("probe-ext.events");
    assert_eq!(events.len(), 3, "{events:?}");
    let delivered: Vec<_> = emu
        .calls()
        .into_iter()
        .filter(|c| c.endpoint == Endpoint::ExtensionNext && c.status == Some(200))
        .collect();
    assert_eq!(delivered.len(), 3);
    for (call, (id, _)) in delivered.iter().zip(&ids) {
        assert_eq!(call.request_id.as_deref(), Some(id.as_str()));
        assert!(
            call.response_header("lambda-extension-event-identifier")
                .is_some()
        );
        assert_eq!(call.response_json().unwrap()["requestId"], id.as_str());
    }
    for (event, (id, before)) in events.iter().zip(&ids) {
        assert_eq!(event["eventType"], "INVOKE");
        assert_eq!(event["requestId"], id.as_str());
        assert_eq!(
            event["invokedFunctionArn"],
            "arn:aws:lambda:us-east-1:000000000000:function:function"
        );
        let deadline = event["deadlineMs"].as_u64().unwrap();
        assert!(deadline >= before + 29_000, "{deadline} vs {before}");
        assert_eq!(event["tracing"]["type"], "X-Amzn-Trace-Id");
    }

    let stopped_at = now_ms();
    emu.stop().unwrap();
    let events = scratch.json_lines("probe-ext.events");
    assert_eq!(events.len(), 4, "{events:?}");
    let shutdown = &events[3];
    assert_eq!(shutdown["eventType"], "SHUTDOWN");
    assert_eq!(shutdown["shutdownReason"], "spindown");
    let deadline = shutdown["deadlineMs"].as_u64().unwrap();
    assert!(
        deadline >= stopped_at + 9_000 && deadline <= now_ms() + 10_000,
        "{deadline}"
    );

    let steps = emu.shutdown_steps();
    let acts = actions(&steps);
    assert_eq!(
        acts.first(),
        Some(&ShutdownAction::Begin {
            reason: "spindown".to_owned(),
            internal: 0,
            external: 1
        })
    );
    // An extension is registered: the runtime gets SIGTERM (bash dies of it at once).
    assert!(acts.contains(&ShutdownAction::RuntimeSigterm), "{acts:?}");
    assert!(!acts.contains(&ShutdownAction::RuntimeSigkill), "{acts:?}");
    let event_step = ShutdownAction::ShutdownEvent {
        extension: "probe-ext".to_owned(),
        deadline_ms: deadline,
    };
    assert!(acts.contains(&event_step), "{acts:?}");
    assert!(step_at(&steps, &ShutdownAction::RuntimeGone) <= step_at(&steps, &event_step));
    assert!(
        !acts
            .iter()
            .any(|a| matches!(a, ShutdownAction::ExtensionSigkill { .. })),
        "{acts:?}"
    );
    assert_eq!(acts.last(), Some(&ShutdownAction::End));
    // It exited on its own, before its deadline.
    let exits = emu.extension_exits();
    assert_eq!(exits.len(), 1, "{exits:?}");
    assert_eq!(exits[0].name, "probe-ext");
    assert!(
        exits[0].exit.success() && !exits[0].exit.sigkilled,
        "{exits:?}"
    );
    assert!(exits[0].exit.exited_ms <= deadline, "{exits:?}");
    assert_eq!(emu.exits()[0].signal, Some(15));
    assert!(emu.log_text().contains("extension probe-ext: shutdown"));
    let line = emu
        .logs()
        .into_iter()
        .find(|l| l.line.starts_with("extension probe-ext: registered"))
        .unwrap();
    assert_eq!(line.extension.as_deref(), Some("probe-ext"));
}

#[test]
fn init_waits_for_the_first_event_next_of_every_extension() {
    let scratch = Scratch::new("ext-gate");
    let dir = scratch.extensions(&["slow-ext"]);
    let go = scratch.path("go");
    let emu = Emulator::start(
        function(&scratch)
            .extensions(&dir)
            .env("EXT_WAIT_FILE", &go),
    )
    .unwrap();
    // Registered, and the runtime polls /next, but the extension has not called event/next.
    assert!(wait_for(WAIT, || {
        emu.extensions().len() == 1
            && emu
                .calls()
                .iter()
                .any(|c| c.endpoint == Endpoint::Next && c.status.is_none())
    }));
    let invoker = std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(br#"{"a":1}"#).unwrap());
        // Init is not done: the invocation is not delivered.
        assert!(
            emu.wait_ready(Duration::from_millis(800)).is_err(),
            "init ended without the extension"
        );
        assert!(
            !emu.calls()
                .iter()
                .any(|c| c.endpoint == Endpoint::Next && c.status == Some(200))
        );
        std::fs::write(&go, b"").unwrap();
        pending.join().unwrap()
    });
    assert_eq!(invoker.outcome, Outcome::Response, "{}", invoker.body_str());
    emu.wait_ready(WAIT).unwrap();
    let next = emu
        .calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::ExtensionNext)
        .unwrap();
    let delivered = emu
        .calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::Next && c.status == Some(200))
        .unwrap();
    assert!(next.received_ms <= delivered.responded_ms.unwrap());
}

#[test]
fn without_extensions_a_reset_kills_the_function_without_sigterm() {
    let scratch = Scratch::new("no-ext");
    let marker = scratch.path("sigterm");
    let emu = Emulator::start(
        function(&scratch)
            .timeout(Duration::from_secs(1))
            .env("FN_MARKER", &marker),
    )
    .unwrap();
    let result = emu.invoke(br#"{"hang":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(wait_for(WAIT, || !emu.exits().is_empty()));
    let exit = &emu.exits()[0];
    assert_eq!(exit.signal, Some(9), "{exit:?}");
    assert!(exit.sigterm_ms.is_none() && exit.sigkilled, "{exit:?}");
    let acts = actions(&emu.shutdown_steps());
    assert!(acts.contains(&ShutdownAction::RuntimeSigkill), "{acts:?}");
    assert!(!acts.contains(&ShutdownAction::RuntimeSigterm), "{acts:?}");
    assert!(!marker.exists(), "the function got SIGTERM");
    // And it comes back for the next invocation.
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.starts(), 2);
}

#[test]
fn an_internal_extension_makes_a_reset_sigterm_the_runtime_and_give_it_500_ms() {
    let scratch = Scratch::new("internal-ext");
    let marker = scratch.path("sigterm");
    let emu = Emulator::start(
        function(&scratch)
            .timeout(Duration::from_secs(2))
            .env("FN_INTERNAL_EXT", "1")
            .env("FN_MARKER", &marker),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();
    let registered = emu.extensions();
    assert_eq!(registered.len(), 1, "{registered:?}");
    assert_eq!(registered[0].name, "internal-helper");
    assert!(!registered[0].external);
    assert!(registered[0].events.is_empty());

    let result = emu.invoke(br#"{"hang":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(wait_for(WAIT, || {
        emu.shutdown_steps()
            .iter()
            .any(|s| s.action == ShutdownAction::End)
    }));
    let steps = emu.shutdown_steps();
    assert_eq!(
        steps[0].action,
        ShutdownAction::Begin {
            reason: "timeout".to_owned(),
            internal: 1,
            external: 0
        }
    );
    let term = step_at(&steps, &ShutdownAction::RuntimeSigterm);
    let kill = step_at(&steps, &ShutdownAction::RuntimeSigkill);
    assert!(
        (500..3_000).contains(&(kill - term)),
        "SIGKILL {} ms after SIGTERM",
        kill - term
    );
    assert!(wait_for(WAIT, || marker.exists()), "no SIGTERM");
    let exit = &emu.exits()[0];
    assert_eq!(exit.signal, Some(9), "{exit:?}");
    assert!(exit.sigterm_ms.is_some() && exit.sigkilled, "{exit:?}");
    // A new sandbox: the function registers its extension again.
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.extensions().len(), 1);
    assert_eq!(emu.extensions()[0].generation, 2);
}

#[test]
fn the_cli_runs_the_extensions_of_a_directory() {
    let scratch = Scratch::new("cli");
    let dir = scratch.extensions(&["cli-ext"]);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_lambda-emulator"))
        .arg("--extensions")
        .arg(&dir)
        .args(["--event", r#"{"a":1}"#, "--event", r#"{"b":2}"#, "--env"])
        .arg(format!("EXT_OUT={}", scratch.0.display()))
        .arg("--")
        .arg(fixture("function.sh"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "{\"a\":1}\n{\"b\":2}\n"
    );
    // Its output is shown like the function's.
    assert!(
        stderr.contains("extension cli-ext: registered as"),
        "{stderr}"
    );
    let events: Vec<String> = scratch
        .json_lines("cli-ext.events")
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(events, ["INVOKE", "INVOKE", "SHUTDOWN"]);
}

#[test]
fn extensions_that_do_not_take_shutdown_or_overrun_it_are_killed() {
    let scratch = Scratch::new("kill");
    let dir = scratch.extensions(&["a-invoke-only", "b-hangs"]);
    // The first registers for INVOKE only (its name says so), the second hangs on SHUTDOWN.
    let emu = Emulator::start(
        function(&scratch)
            .extensions(&dir)
            .env("EXT_ON_SHUTDOWN", "hang")
            .shutdown_grace(Duration::from_millis(1_500)),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    emu.stop().unwrap();
    let steps = emu.shutdown_steps();
    let begin = steps[0].at_ms;
    let hang_kill = ShutdownAction::ExtensionSigkill {
        extension: "b-hangs".to_owned(),
    };
    let sent = steps
        .iter()
        .find_map(|s| match &s.action {
            ShutdownAction::ShutdownEvent {
                extension,
                deadline_ms,
            } if extension == "b-hangs" => Some(*deadline_ms),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{steps:?}"));
    assert!(sent <= begin + 1_500, "{steps:?}");
    // Killed at its deadline, not before.
    assert!(step_at(&steps, &hang_kill) + 5 >= sent, "{steps:?}");
    assert_eq!(
        scratch.json_lines("b-hangs.events").last().unwrap()["eventType"],
        "SHUTDOWN"
    );
    // Not subscribed to SHUTDOWN: killed at once.
    let invoke_kill = ShutdownAction::ExtensionSigkill {
        extension: "a-invoke-only".to_owned(),
    };
    assert!(step_at(&steps, &invoke_kill) < step_at(&steps, &hang_kill));
    let exits = emu.extension_exits();
    for name in ["a-invoke-only", "b-hangs"] {
        let exit = exits.iter().find(|e| e.name == name).unwrap();
        assert!(
            exit.exit.sigkilled && exit.exit.signal == Some(9),
            "{exits:?}"
        );
    }
    assert_eq!(emu.extensions().len(), 0, "the sandbox is gone");
}

#[test]
fn a_crash_shuts_the_extensions_down_and_the_next_invoke_starts_them_again() {
    let scratch = Scratch::new("crash");
    let dir = scratch.extensions(&["crash-ext"]);
    let emu = Emulator::start(function(&scratch).extensions(&dir)).unwrap();
    emu.wait_ready(WAIT).unwrap();
    let result = emu.invoke(br#"{"crash":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::ExitError);
    assert!(wait_for(WAIT, || {
        emu.shutdown_steps()
            .iter()
            .any(|s| s.action == ShutdownAction::End)
    }));
    let steps = emu.shutdown_steps();
    assert_eq!(
        steps[0].action,
        ShutdownAction::Begin {
            reason: "failure".to_owned(),
            internal: 0,
            external: 1
        }
    );
    // The runtime was gone already: no signal to it.
    assert!(
        !actions(&steps).iter().any(|a| matches!(
            a,
            ShutdownAction::RuntimeSigterm | ShutdownAction::RuntimeSigkill
        )),
        "{steps:?}"
    );
    let events = scratch.json_lines("crash-ext.events");
    assert_eq!(
        events.last().unwrap()["shutdownReason"],
        "failure",
        "{events:?}"
    );
    // A new sandbox: the extension is started again and registers again.
    let result = emu.invoke(br#"{"again":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
    let registered = emu.extensions();
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].generation, 2);
    assert_eq!(emu.extension_exits().len(), 1);
    assert!(wait_for(WAIT, || {
        scratch
            .json_lines("crash-ext.events")
            .last()
            .is_some_and(|e| e["requestId"] == result.request_id.as_str())
    }));
}
