//! The `tracing` facade under the real driver (feature `tracing`): `LambdaLogger::install` also
//! sets the `LambdaLayer` as the global subscriber, and events inside `#[instrument]`ed handler
//! code on concurrent lanes carry the id of the invocation that wrote them, with their spans'
//! fields as keys of their own; a failed invocation's buffered `tracing` and `log` debug lines
//! are written together. In virtual time, with the in-memory Runtime API.
//!
//! The logger and the subscriber are process-wide, so this file has one test that installs them.
#![cfg(feature = "tracing")]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lambda_runtime_types::config::LogFormat;
use lambda_runtime_types::logger::LambdaLogger;
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, VirtualClock, run_virtual};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};
use tracing::Instrument as _;

/// Logs `steps` times, `ms` of virtual time apart; fails if `fail` is set.
#[derive(serde::Deserialize)]
struct Cmd {
    steps: u64,
    ms: u64,
    #[serde(default)]
    fail: bool,
}

struct Traced;
impl<'a> Runner<'a, (), Cmd, Value> for Traced {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        tracing::info!(phase = "setup", "setting up");
        tracing::debug!("a setup line below the level: never kept");
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        let id = event.ctx.request_id.clone();
        work(&id, &event.event).await?;
        Ok(json!({}))
    }
}

#[tracing::instrument(skip_all, fields(lane = %id, kind = "work"))]
async fn work(id: &str, cmd: &Cmd) -> anyhow::Result<()> {
    let clock = VirtualClock::current().expect("the handler runs under run_virtual");
    for step in 0..cmd.steps {
        async {
            tracing::info!(attempt = 1u64, "from {id}");
            tracing::debug!("tracing debug {step} of {id}");
        }
        .instrument(tracing::info_span!("step", step))
        .await;
        clock.sleep(Duration::from_millis(cmd.ms)).await;
    }
    log::debug!("log debug of {id}");
    anyhow::ensure!(!cmd.fail, "declined by {id}");
    Ok(())
}

#[test]
fn tracing_events_name_their_invocation_with_flat_span_fields_and_buffered_debug_lines() {
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    LambdaLogger::new(LogFormat::Json, log::LevelFilter::Info)
        .with_buffer(20)
        .with_sink(move |line| {
            let line = String::from_utf8_lossy(line).into_owned();
            sink.lock().unwrap().push(line);
        })
        .install()
        .expect("the only logger of this test binary");
    // Rust's own panic hook again (JSON mode set one writing to the sink), so that a failing
    // assertion is seen.
    drop(std::panic::take_hook());
    assert!(
        tracing::dispatcher::has_been_set(),
        "the layer is the global subscriber"
    );

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
        driver::run::<_, (), Cmd, Traced, Value>(&exec, config),
    );
    assert_eq!(exited, None, "the driver waits for more invocations");
    assert_eq!(api.posts().len(), 3);

    let lines = lines.lock().unwrap().clone();
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| {
            assert!(l.ends_with('\n') && l.matches('\n').count() == 1, "{l:?}");
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
            let object = v.as_object().unwrap_or_else(|| panic!("{l}"));
            assert!(object.values().all(|v| !v.is_object()), "flat: {l}");
            assert!(!object.contains_key("fields") && !object.contains_key("spans"));
            v
        })
        .collect();
    let all = lines.concat();

    // Setup ran before any invocation: no request id; its debug line is never kept.
    let setup: Vec<&Value> = parsed
        .iter()
        .filter(|v| v["message"] == "setting up")
        .collect();
    assert_eq!(setup.len(), 1, "{all}");
    assert!(setup[0].get("requestId").is_none(), "{all}");
    assert_eq!(
        (&setup[0]["level"], &setup[0]["phase"]),
        (&json!("INFO"), &json!("setup"))
    );
    assert!(!all.contains("a setup line"), "{all}");

    // Every handler line carries the id it names, and its spans' fields and its own as keys.
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
        assert_eq!(
            (&v["lane"], &v["kind"]),
            (&json!(id), &json!("work")),
            "{v}"
        );
        assert!(v["step"].is_u64() && v["attempt"] == 1, "{v}");
        assert!(v.get("buffered").is_none(), "{v}");
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

    // Debug lines: only the failed invocation's, after the fact, in order, both facades'.
    let debug: Vec<&Value> = parsed.iter().filter(|v| v["level"] == "DEBUG").collect();
    assert!(
        debug
            .iter()
            .all(|v| v["requestId"] == "req-b" && v["buffered"] == true),
        "{all}"
    );
    let messages: Vec<&str> = debug
        .iter()
        .map(|v| v["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "tracing debug 0 of req-b",
            "tracing debug 1 of req-b",
            "tracing debug 2 of req-b",
            "tracing debug 3 of req-b",
            "log debug of req-b",
        ],
        "{all}"
    );
    let traced = debug.iter().filter(|v| v.get("step").is_some());
    assert!(
        traced.clone().count() == 4 && traced.clone().all(|v| v["lane"] == "req-b"),
        "{all}"
    );
    // The driver's report of the failure comes first: the flush follows it.
    let report = parsed
        .iter()
        .position(|v| v["requestId"] == "req-b" && v["errorType"] == "Function.HandlerError");
    let first_debug = parsed.iter().position(|v| v["level"] == "DEBUG");
    assert!(report.is_some() && report < first_debug, "{all}");
}
