//! The Lambda-native logger under the real driver: concurrent invocations on one thread, whose
//! handlers interleave their log calls, each line carrying the request id of the invocation that
//! wrote it. In virtual time, with the in-memory Runtime API.
//!
//! The `log` logger is process-wide, so this file has one test that installs it.
#![cfg(feature = "std")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_runtime_types::config::LogFormat;
use lambda_runtime_types::logger::LambdaLogger;
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, VirtualClock, run_virtual};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};

/// Logs `steps` times, `ms` of virtual time apart, naming its request id in the message; fails
/// if `fail` is set.
#[derive(serde::Deserialize)]
struct Cmd {
    steps: u32,
    ms: u64,
    #[serde(default)]
    fail: bool,
}

struct Chatty;
impl<'a> Runner<'a, (), Cmd, Value> for Chatty {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        log::info!("setting up");
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        let clock = VirtualClock::current().expect("the handler runs under run_virtual");
        let id = event.ctx.request_id.clone();
        for step in 0..event.event.steps {
            log::info!(step; "from {id}");
            clock.sleep(Duration::from_millis(event.event.ms)).await;
        }
        log::debug!("below the level, from {id}");
        if event.event.fail {
            anyhow::bail!("declined by {id}");
        }
        Ok(json!({}))
    }
}

#[test]
fn every_line_names_the_invocation_that_wrote_it_across_concurrent_lanes() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    LambdaLogger::new(LogFormat::Json, log::LevelFilter::Info)
        .with_sink(move |line| {
            let line = String::from_utf8_lossy(line).into_owned();
            sink.lock().unwrap().push(line);
        })
        .install()
        .expect("the only logger of this test binary");
    assert_eq!(log::max_level(), log::LevelFilter::Info);

    let api = FakeRuntimeApi::new();
    api.push_with_headers(
        "req-a",
        br#"{"steps":4,"ms":30}"#.to_vec(),
        &[
            (
                "Lambda-Runtime-Trace-Id",
                "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700",
            ),
            ("Lambda-Runtime-Aws-Tenant-Id", "tenant-a"),
        ],
    );
    api.push("req-b", br#"{"steps":4,"ms":20,"fail":true}"#.to_vec());
    api.push("req-c", br#"{"steps":4,"ms":50}"#.to_vec());
    let exec = MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().expect("a virtual clock").clone();
    let mut config = Config::for_endpoint(api.endpoint());
    config.max_concurrency = 3;
    let exited = run_virtual(
        &clock,
        driver::run::<_, (), Cmd, Chatty, Value>(&exec, config),
    );
    assert_eq!(exited, None, "the driver waits for more invocations");
    assert_eq!(api.posts().len(), 3);

    let lines = lines.lock().unwrap().clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| {
            assert!(l.ends_with('\n') && l.matches('\n').count() == 1, "{l:?}");
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))
        })
        .collect();
    let all = lines.concat();

    // Setup ran before any invocation: no request id.
    let setup: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["message"] == "setting up")
        .collect();
    assert_eq!(setup.len(), 1, "{all}");
    assert!(setup[0].get("requestId").is_none(), "{all}");
    assert_eq!(setup[0]["level"], "INFO");

    // Every handler line carries the id it names, with its step as a key of its own.
    let handler: Vec<&Value> = parsed
        .iter()
        .filter(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("from "))
        })
        .collect();
    assert_eq!(handler.len(), 12, "{all}");
    for v in &handler {
        let id = v["message"].as_str().unwrap().trim_start_matches("from ");
        assert_eq!(v["requestId"], id, "{v}");
        assert!(v["step"].is_u64(), "{v}");
        let (trace, tenant) = (v.get("traceId"), v.get("tenantId"));
        if id == "req-a" {
            assert_eq!(
                trace,
                Some(&json!("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700"))
            );
            assert_eq!(tenant, Some(&json!("tenant-a")));
        } else {
            assert_eq!((trace, tenant), (None, None), "{v}");
        }
    }
    // The lanes really interleaved: the ids do not come in three runs.
    let order: Vec<&str> = handler
        .iter()
        .map(|v| v["requestId"].as_str().unwrap())
        .collect();
    let runs = 1 + order.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(runs > 3, "no interleaving: {order:?}");

    // The driver's own report of the failed handler names it too.
    let failed: Vec<&Value> = parsed
        .iter()
        .filter(|v| {
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("declined by"))
        })
        .collect();
    assert_eq!(failed.len(), 1, "{all}");
    assert_eq!(failed[0]["requestId"], "req-b");
    assert_eq!(failed[0]["level"], "WARN");

    // Below the level: not written.
    assert!(!all.contains("below the level"), "{all}");
}
