//! Extensions, for every probe binary: the runtime's own internal extension (registered before
//! the first `/next`, so that a shutdown sends SIGTERM; none with `LAMBDA_RUNTIME_EXTENSION=off`,
//! so SIGKILL at once, as Lambda does), the external extension examples (`extension-tokio`,
//! `extension-smol`: one INVOKE per invocation, a SHUTDOWN handled within its deadline, the
//! Telemetry API's records) and the internal extension example (`internal-extension`).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use lambda_emulator::{Emulator, Endpoint, Options, ShutdownAction};

use common::{calls, invoke, start_probe, workspace_bin};

/// Generous: conditions are awaited, never slept for; this only bounds a broken run.
const WAIT: Duration = Duration::from_secs(30);

/// The runtime's own extension registers once, internal and with no events, and is answered
/// before the runtime's first `/next`.
fn registers_before_first_next(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let registers = calls(&emu, Endpoint::ExtensionRegister);
    assert_eq!(registers.len(), 1, "{registers:?}");
    let register = &registers[0];
    assert_eq!(
        register.header("Lambda-Extension-Name"),
        Some("lambda-runtime-types")
    );
    assert_eq!(register.status, Some(200));
    let next = &calls(&emu, Endpoint::Next)[0];
    assert!(register.seq < next.seq, "register came after /next");
    let answered = register.responded_ms.expect("register answered");
    assert!(
        answered <= next.received_ms,
        "register answered at {answered}, /next sent at {}",
        next.received_ms
    );
    let extensions = emu.extensions();
    assert_eq!(extensions.len(), 1, "{extensions:?}");
    let own = &extensions[0];
    assert_eq!(own.name, "lambda-runtime-types");
    assert!(!own.external && own.events.is_empty(), "{own:?}");
    assert!(own.next_calls >= 1, "it called event/next: init could end");
    eprintln!(
        "{bin}: registered {} ms before the first /next",
        next.received_ms - register.received_ms
    );
}

/// Starts `probe` on a 10 s invocation and waits until it runs with SIGTERM handled.
fn start_long_invocation<'s>(
    scope: &'s std::thread::Scope<'s, '_>,
    emu: &'s Emulator,
) -> std::thread::ScopedJoinHandle<'s, std::io::Result<lambda_emulator::InvokeResult>> {
    let running = scope.spawn(|| emu.invoke(&br#"{"probe":"sleep","ms":10000}"#[..]));
    assert!(
        emu.wait_until(WAIT, |e| calls(e, Endpoint::Next)
            .first()
            .is_some_and(|c| c.status == Some(200))),
        "the invocation started"
    );
    assert!(
        emu.wait_until(WAIT, |e| e.pid().is_some_and(catches_sigterm)),
        "the SIGTERM handler is installed"
    );
    running
}

/// With the runtime's extension registered, stopping the emulator (Lambda's spindown) sends
/// SIGTERM: the hook runs, the running invocation is reported as `Runtime.Shutdown`, and the
/// process exits 0 within the runtime's 500 ms.
fn shutdown_sends_sigterm(bin: &str) {
    let emu = start_probe(bin, |o| o);
    std::thread::scope(|scope| {
        let running = start_long_invocation(scope, &emu);
        emu.stop().expect("the function exits");
        // Answered by the emulator (503) as it stops; the runtime's report is below.
        let _ = running.join().unwrap();
    });
    let errors = calls(&emu, Endpoint::Error);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.Shutdown")
    );
    assert!(
        emu.log_text().contains("probe: shutdown hook ran"),
        "{}",
        emu.log_text()
    );
    let exit = &emu.exits()[0];
    assert_eq!(exit.code, Some(0), "{}", exit.describe());
    assert!(!exit.sigkilled, "{}", exit.describe());
    let actions: Vec<_> = emu.shutdown_steps().into_iter().map(|s| s.action).collect();
    assert!(
        matches!(
            actions.first(),
            Some(ShutdownAction::Begin {
                internal: 1,
                external: 0,
                ..
            })
        ),
        "{actions:?}"
    );
    assert!(
        actions.contains(&ShutdownAction::RuntimeSigterm),
        "{actions:?}"
    );
    assert!(
        !actions.contains(&ShutdownAction::RuntimeSigkill),
        "{actions:?}"
    );
}

/// `LAMBDA_RUNTIME_EXTENSION=off` and no other extension: nothing registers, and a shutdown
/// kills the function at once, as Lambda does (no SIGTERM, so no hook and no report).
fn extension_off_means_sigkill(bin: &str) {
    let emu = start_probe(bin, |o| o.env("LAMBDA_RUNTIME_EXTENSION", "off"));
    assert!(calls(&emu, Endpoint::ExtensionRegister).is_empty());
    assert!(emu.extensions().is_empty());
    std::thread::scope(|scope| {
        let running = start_long_invocation(scope, &emu);
        emu.stop().expect("the function is killed");
        let _ = running.join().unwrap();
    });
    let exit = &emu.exits()[0];
    assert!(
        exit.sigkilled && exit.signal == Some(9),
        "{}",
        exit.describe()
    );
    assert_eq!(exit.sigterm_ms, None, "{}", exit.describe());
    assert!(!emu.log_text().contains("probe: shutdown hook ran"));
    assert!(calls(&emu, Endpoint::Error).is_empty());
    let actions: Vec<_> = emu.shutdown_steps().into_iter().map(|s| s.action).collect();
    assert!(
        !actions.contains(&ShutdownAction::RuntimeSigterm),
        "{actions:?}"
    );
    assert!(
        actions.contains(&ShutdownAction::RuntimeSigkill),
        "{actions:?}"
    );
}

/// The external extension example `example` (a binary of `examples`) alone in a fresh
/// directory, for [`Options::extensions`]. Copied, not linked: the emulator starts regular
/// files, and the extension registers with the name it was started as.
fn extension_dir(example: &str, test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "lambda-e2e-extensions-{}-{test}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(workspace_bin("examples", example), dir.join(example)).unwrap();
    dir
}

/// The lines the extension `name` wrote.
fn extension_lines(emu: &Emulator, name: &str) -> Vec<String> {
    emu.logs()
        .into_iter()
        .filter(|l| l.extension.as_deref() == Some(name))
        .map(|l| l.line)
        .collect()
}

/// Invokes the probe `n` times (echo events); the request ids.
fn invoke_n(emu: &Emulator, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = invoke(emu, format!(r#"{{"n":{i}}}"#).as_bytes());
            assert_eq!(r.status, 200, "{}", r.body_str());
            r.request_id
        })
        .collect()
}

/// Stops the emulator and waits until the extension `name` has exited; checks that it handled
/// the SHUTDOWN and exited 0 by itself, before its deadline.
fn stop_and_check_shutdown(emu: &Emulator, name: &str) -> Vec<String> {
    emu.stop().expect("everything exits");
    assert!(
        emu.wait_until(WAIT, |e| e.extension_exits().iter().any(|x| x.name == name)),
        "the extension exited"
    );
    let exit = emu
        .extension_exits()
        .into_iter()
        .find(|x| x.name == name)
        .unwrap()
        .exit;
    assert_eq!(exit.code, Some(0), "{}", exit.describe());
    assert!(!exit.sigkilled, "{}", exit.describe());
    let steps = emu.shutdown_steps();
    let deadline = steps
        .iter()
        .find_map(|s| match &s.action {
            ShutdownAction::ShutdownEvent {
                extension,
                deadline_ms,
            } if extension == name => Some(*deadline_ms),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no SHUTDOWN for {name}: {steps:?}"));
    assert!(
        exit.exited_ms <= deadline,
        "exited at {}, deadline {deadline}",
        exit.exited_ms
    );
    assert!(
        !steps.iter().any(|s| matches!(
            &s.action,
            ShutdownAction::ExtensionSigkill { extension } if extension == name
        )),
        "{steps:?}"
    );
    let lines = extension_lines(emu, name);
    assert!(
        lines
            .iter()
            .any(|l| l.eq_ignore_ascii_case("extension: SHUTDOWN spindown")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("extension: shutdown step done")),
        "{lines:#?}"
    );
    lines
}

/// The tokio external extension beside each probe: registered as its file name for INVOKE
/// and SHUTDOWN, one `INVOKE <requestId>` line per invocation, and a SHUTDOWN at the end.
fn external_extension(bin: &str) {
    const NAME: &str = "extension-tokio";
    let dir = extension_dir(NAME, &format!("external-{}", probe_name(bin)));
    let emu = start_probe(bin, |o| {
        o.extensions(&dir).env("EXTENSION_TELEMETRY", "off")
    });
    let extensions = emu.extensions();
    let ext = extensions
        .iter()
        .find(|e| e.name == NAME)
        .expect("registered");
    assert!(ext.external, "{ext:?}");
    assert_eq!(ext.events, ["INVOKE", "SHUTDOWN"]);
    assert!(extensions.iter().any(|e| e.name == "lambda-runtime-types"));
    let ids = invoke_n(&emu, 3);
    let lines = stop_and_check_shutdown(&emu, NAME);
    let invokes: Vec<_> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("extension: INVOKE "))
        .collect();
    assert_eq!(invokes, ids, "{lines:#?}");
    // The function, too, got SIGTERM (its hook ran) and was not killed.
    assert!(emu.log_text().contains("probe: shutdown hook ran"));
    assert!(!emu.exits()[0].sigkilled, "{}", emu.exits()[0].describe());
    let _ = std::fs::remove_dir_all(&dir);
}

/// The smol external extension, subscribed to the Telemetry API: `platform.start` and
/// `platform.report` for each invocation, every batch answered 200.
fn telemetry_subscriber(bin: &str) {
    const NAME: &str = "extension-smol";
    let dir = extension_dir(NAME, &format!("telemetry-{}", probe_name(bin)));
    let emu = start_probe(bin, |o| o.extensions(&dir));
    assert!(
        emu.extensions()
            .iter()
            .any(|e| e.name == NAME && e.telemetry),
        "{:?}",
        emu.extensions()
    );
    let ids = invoke_n(&emu, 3);
    let lines = stop_and_check_shutdown(&emu, NAME);
    for id in &ids {
        for line in [
            format!("extension: telemetry platform.start {id}"),
            format!("extension: telemetry platform.report {id} success"),
        ] {
            let n = lines.iter().filter(|l| **l == line).count();
            assert_eq!(n, 1, "{line:?} in {lines:#?}");
        }
    }
    assert!(
        !lines.iter().any(|l| l.contains("telemetry record")),
        "every record read: {lines:#?}"
    );
    let deliveries = emu.telemetry_deliveries();
    assert!(!deliveries.is_empty());
    assert!(
        deliveries.iter().all(|d| d.status == Some(200)),
        "{deliveries:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn probe_name(bin: &str) -> String {
    std::path::Path::new(bin)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

common::per_executor! {
    registers_before_first_next,
    shutdown_sends_sigterm,
    extension_off_means_sigkill,
    external_extension,
    telemetry_subscriber,
}

/// The internal extension example: registered (INVOKE only) before the runtime's first
/// `/next`, beside the runtime's own, and it flushes after every invocation.
#[test]
fn internal_extension_example() {
    let program = workspace_bin("examples", "internal-extension");
    let emu = Emulator::start(Options::new([program]).timeout(Duration::from_secs(30)))
        .expect("emulator starts");
    emu.wait_ready(WAIT).expect("the function calls /next");
    let next = &calls(&emu, Endpoint::Next)[0];
    let registers = calls(&emu, Endpoint::ExtensionRegister);
    let mut names: Vec<_> = registers
        .iter()
        .map(|c| c.header("Lambda-Extension-Name").unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["lambda-runtime-types", "metrics-flusher"]);
    assert!(
        registers
            .iter()
            .all(|c| c.seq < next.seq && c.status == Some(200))
    );
    let flusher = emu
        .extensions()
        .into_iter()
        .find(|e| e.name == "metrics-flusher")
        .unwrap();
    assert!(
        !flusher.external && flusher.events == ["INVOKE"],
        "{flusher:?}"
    );
    let ids = invoke_n(&emu, 3);
    for id in &ids {
        let line = format!("metrics: flushed 1 record(s) after {id}");
        assert!(
            emu.wait_until(WAIT, |e| e.log_text().contains(&line)),
            "{line:?} in {}",
            emu.log_text()
        );
    }
    emu.stop().expect("the function exits");
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
