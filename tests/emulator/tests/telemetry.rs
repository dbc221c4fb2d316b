//! The Telemetry API: a bash + curl extension subscribes, a listener in the test receives the
//! batches; bad subscriptions are refused.

mod common;

use std::time::Duration;

use common::{Listener, Scratch, WAIT, fixture, http, register, wait_for};
use lambda_emulator::{Emulator, Options, Outcome};
use serde_json::{Value, json};

#[test]
fn a_subscriber_gets_platform_and_function_records_for_each_invocation() {
    let listener = Listener::start();
    let scratch = Scratch::new("telemetry");
    let dir = scratch.extensions(&["telemetry-ext"]);
    let emu = Emulator::start(
        Options::new([fixture("function.sh")])
            .extensions(&dir)
            .env("EXT_OUT", &scratch.0)
            .env("EXT_TELEMETRY_PORT", listener.port.to_string())
            .timeout(Duration::from_secs(30))
            .memory_mb(256),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();
    assert_eq!(scratch.read("telemetry-ext.telemetry-status"), "200");
    assert!(emu.extensions()[0].telemetry);

    let mut ids = Vec::new();
    for n in 0..2 {
        let result = emu.invoke(format!(r#"{{"n":{n}}}"#)).unwrap();
        assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
        ids.push(result.request_id);
    }
    let reported = |id: &str| {
        listener
            .of_type("platform.report")
            .iter()
            .any(|r| r["record"]["requestId"] == id)
    };
    assert!(
        wait_for(WAIT, || ids.iter().all(|id| reported(id))),
        "{:#?}",
        listener.records()
    );
    let init: Vec<String> = listener
        .records()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_owned())
        .filter(|t| t.starts_with("platform.init"))
        .collect();
    assert_eq!(
        init,
        [
            "platform.initStart",
            "platform.initRuntimeDone",
            "platform.initReport"
        ],
        "replayed to the late subscriber, in order"
    );
    for (n, id) in ids.iter().enumerate() {
        let start = listener.of_type("platform.start");
        let start = start
            .iter()
            .find(|r| r["record"]["requestId"] == id.as_str())
            .unwrap_or_else(|| panic!("no platform.start for {id}"));
        assert_eq!(start["record"]["version"], "$LATEST");
        assert!(start["time"].as_str().unwrap().ends_with('Z'));
        let done = listener.of_type("platform.runtimeDone");
        let done = done
            .iter()
            .find(|r| r["record"]["requestId"] == id.as_str())
            .unwrap();
        assert_eq!(done["record"]["status"], "success");
        let report = listener.of_type("platform.report");
        let report = report
            .iter()
            .find(|r| r["record"]["requestId"] == id.as_str())
            .unwrap();
        let metrics = &report["record"]["metrics"];
        assert_eq!(report["record"]["status"], "success");
        assert_eq!(metrics["memorySizeMB"], 256);
        assert!(metrics["durationMs"].as_f64().unwrap() >= 0.0);
        assert!(metrics["billedDurationMs"].as_f64().unwrap() >= 1.0);
        assert!(metrics["maxMemoryUsedMB"].as_u64().is_some());
        // The first invocation of the sandbox carries the init duration.
        assert_eq!(metrics.get("initDurationMs").is_some(), n == 0, "{report}");
        // The function's lines: text as strings, JSON lines as objects.
        let lines = listener.of_type("function");
        assert!(
            lines
                .iter()
                .any(|r| r["record"] == format!("function: invocation {id}").as_str()),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|r| r["record"] == json!({"level": "INFO", "requestId": id})),
            "{lines:#?}"
        );
    }
    assert!(
        emu.telemetry_deliveries()
            .iter()
            .all(|d| d.status == Some(200) && d.extension == "telemetry-ext")
    );
    emu.stop().unwrap();
    // Everything was flushed before SHUTDOWN; nothing of type extension was asked for.
    assert!(listener.of_type("extension").is_empty());
    let events = scratch.json_lines("telemetry-ext.events");
    assert_eq!(events.last().unwrap()["eventType"], "SHUTDOWN");
}

fn subscribe(emu: &Emulator, id: &str, body: &Value) -> common::Answer {
    http(
        emu.addr(),
        "PUT",
        "/2022-07-01/telemetry",
        &[
            ("Lambda-Extension-Identifier", id),
            ("Content-Type", "application/json"),
        ],
        &serde_json::to_vec(body).unwrap(),
    )
}

#[test]
fn bad_subscriptions_get_400_and_late_ones_403() {
    let emu = Emulator::start(Options::external()).unwrap();
    let ok = register(emu.addr(), "sub", r#"{"events":["INVOKE"]}"#);
    let id = ok.header("lambda-extension-identifier").unwrap().to_owned();
    // A port nobody listens on: the POSTs fail, are logged and dropped.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let good = json!({
        "schemaVersion": "2025-01-29",
        "destination": {"protocol": "HTTP", "URI": format!("http://sandbox.localdomain:{closed}/t")},
        "types": ["platform"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 100},
    });
    for (pointer, value) in [
        ("/schemaVersion", json!("2020-08-15")),
        ("/destination/protocol", json!("TCP")),
        ("/destination/URI", json!("http://example.com:9/t")),
        ("/types", json!([])),
        ("/types", json!(["platform", "everything"])),
        ("/buffering/maxItems", json!(10_001)),
        ("/buffering/maxBytes", json!(1000)),
        ("/buffering/timeoutMs", json!(10)),
    ] {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        let answer = subscribe(&emu, &id, &bad);
        assert_eq!(
            (answer.status, answer.error_type()),
            (400, "ValidationError".to_owned()),
            "{bad}"
        );
    }
    let unknown = subscribe(&emu, "00000000-0000-4000-8000-000000000000", &good);
    assert_eq!(unknown.status, 403);
    let answer = subscribe(&emu, &id, &good);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!("OK"));
    // Init ends (the extension and the runtime call next): subscriptions close.
    let addr = emu.addr();
    let ext_id = id.clone();
    std::thread::spawn(move || {
        http(
            addr,
            "GET",
            "/2020-01-01/extension/event/next",
            &[("Lambda-Extension-Identifier", &ext_id)],
            b"",
        )
    });
    std::thread::spawn(move || http(addr, "GET", "/2018-06-01/runtime/invocation/next", &[], b""));
    emu.wait_ready(WAIT).unwrap();
    let late = subscribe(&emu, &id, &good);
    assert_eq!(
        (late.status, late.error_type()),
        (403, "Telemetry.SubscriptionClosed".to_owned())
    );
    // The init records were sent (after timeoutMs) and could not be delivered.
    assert!(wait_for(WAIT, || !emu.telemetry_deliveries().is_empty()));
    let delivery = &emu.telemetry_deliveries()[0];
    assert_eq!(delivery.status, None);
    assert!(delivery.error.is_some());
    assert!(
        delivery.types.iter().any(|t| t == "platform.initStart"),
        "{delivery:?}"
    );
    assert!(emu.log_text().contains("telemetry for extension sub"));
}
