//! Debug lines kept per invocation and written only for failed ones, under the real driver and
//! the in-memory Runtime API, in virtual time. One test: the `log` logger is process-wide.
#![cfg(feature = "std")]

use std::sync::{Arc, Mutex};

use lambda_runtime_types::config::LogFormat;
use lambda_runtime_types::logger::LambdaLogger;
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, run_virtual};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};

/// Logs `debug` DEBUG lines and one INFO line, then fails if `fail` is set.
#[derive(serde::Deserialize)]
struct Cmd {
    debug: u32,
    #[serde(default)]
    fail: bool,
}

struct Debugging;
impl<'a> Runner<'a, (), Cmd, Value> for Debugging {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        log::debug!("a setup line below the level: never kept");
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        let id = event.ctx.request_id.clone();
        for n in 1..=event.event.debug {
            log::debug!("debug {n} of {id}");
        }
        log::info!("info of {id}");
        anyhow::ensure!(!event.event.fail, "{id} failed");
        Ok(json!({}))
    }
}

#[test]
fn debug_lines_are_written_for_failed_invocations_only_in_order_and_bounded() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    LambdaLogger::new(LogFormat::Json, log::LevelFilter::Info)
        .with_buffer(10)
        .with_sink(move |line| {
            sink.lock()
                .unwrap()
                .push(String::from_utf8_lossy(line).into())
        })
        .install()
        .expect("the only logger of this test binary");

    let api = FakeRuntimeApi::new();
    api.push("ok", br#"{"debug":3}"#.to_vec());
    api.push("failed", br#"{"debug":3,"fail":true}"#.to_vec());
    api.push("long", br#"{"debug":15,"fail":true}"#.to_vec());
    api.push("bad-event", br#"{"debug":"not a number"}"#.to_vec());
    // Succeeds, but the Runtime API refuses its response as too large (call 9: the tenth
    // request, after four fetches and four posts, then this one's fetch).
    api.push("refused", br#"{"debug":2}"#.to_vec());
    api.force_status(9, 413);
    let exec = MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().expect("a virtual clock").clone();
    let config = Config::for_endpoint(api.endpoint());
    let exited = run_virtual(
        &clock,
        driver::run::<_, (), Cmd, Debugging, Value>(&exec, config),
    );
    assert_eq!(exited, None);
    // The refused response is answered, not recorded; its error report is.
    let posts = api.posts();
    assert_eq!(posts.len(), 5);
    assert_eq!(posts[4].request_id.as_deref(), Some("refused"));
    assert_eq!(
        posts[4].error_type.as_deref(),
        Some("Runtime.ResponseTooLarge")
    );

    let lines = lines.lock().unwrap().clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let all = lines.concat();
    let of = |id: &str| -> Vec<&Value> { parsed.iter().filter(|v| v["requestId"] == id).collect() };
    let debug = |vs: &[&Value]| -> Vec<String> {
        vs.iter()
            .filter(|v| v["level"] == "DEBUG")
            .map(|v| {
                assert_eq!(v["buffered"], true, "{v}");
                v["message"].as_str().unwrap().to_string()
            })
            .collect()
    };

    assert!(!all.contains("setup line"), "{all}");
    // A successful invocation: its debug lines are dropped, its info line is written.
    let ok = of("ok");
    assert!(debug(&ok).is_empty(), "{all}");
    assert!(ok.iter().any(|v| v["message"] == "info of ok"), "{all}");
    // A failed one: written after the fact, in order, marked as buffered.
    let failed = of("failed");
    assert_eq!(
        debug(&failed),
        [
            "debug 1 of failed",
            "debug 2 of failed",
            "debug 3 of failed"
        ],
        "{all}"
    );
    let info_at = failed.iter().position(|v| v["message"] == "info of failed");
    let first_debug = failed.iter().position(|v| v["level"] == "DEBUG");
    assert!(
        info_at < first_debug,
        "the flush comes when the failure is reported: {all}"
    );
    // Beyond the bound the oldest go, and the flush says how many.
    let long = of("long");
    let kept: Vec<String> = (6..=15).map(|n| format!("debug {n} of long")).collect();
    assert_eq!(debug(&long), kept, "{all}");
    assert!(
        long.iter().any(|v| v["level"] == "WARN"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("5 earlier buffered lines"))),
        "{all}"
    );
    // A rejected event is a failure too (the handler never ran, so nothing was kept).
    assert!(debug(&of("bad-event")).is_empty(), "{all}");
    // A response refused with 413 makes the invocation fail after its result was posted: its
    // lines were kept until then.
    assert_eq!(
        debug(&of("refused")),
        ["debug 1 of refused", "debug 2 of refused"],
        "{all}"
    );
}
