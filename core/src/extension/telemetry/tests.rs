//! Subscriptions and batches, both ways: what Lambda documents parses, and what this crate
//! writes reads back the same.

use std::string::{String, ToString};
use std::vec::Vec;

use serde_json::{Value, json};

use super::*;

const TIME: &str = "2022-10-12T00:00:15.064Z";
const TRACE: &str = "Root=1-5e1b4151-43a0913a12345678901234567;Parent=5e1b415112345678;Sampled=1";

fn to_value<T: Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap()
}

#[test]
fn subscriptions_serialise_as_documented() {
    let s = Subscription::http(
        "http://sandbox.localdomain:8080/lambda",
        &[
            TelemetryType::Platform,
            TelemetryType::Function,
            TelemetryType::Platform,
        ],
    )
    .unwrap();
    assert_eq!(s.schema_version(), SchemaVersion::V2025_01_29);
    assert_eq!(
        s.types(),
        [TelemetryType::Platform, TelemetryType::Function]
    );
    let want = json!({
        "schemaVersion": "2025-01-29",
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/lambda"},
        "types": ["platform", "function"]
    });
    assert_eq!(serde_json::from_slice::<Value>(&s.to_json()).unwrap(), want);

    let s = s
        .with_schema_version(SchemaVersion::V2022_12_13)
        .with_buffering(Buffering::new(1_000, 262_144, 25).unwrap());
    let v = to_value(&s);
    assert_eq!(v["schemaVersion"], "2022-12-13");
    assert_eq!(
        v["buffering"],
        json!({"maxItems": 1000, "maxBytes": 262_144, "timeoutMs": 25})
    );
    assert_eq!(serde_json::from_value::<Subscription>(v).unwrap(), s);

    let tcp = Subscription::new(Destination::Tcp { port: 9999 }, &[TelemetryType::Extension]);
    let tcp = tcp.unwrap();
    let v = to_value(&tcp);
    assert_eq!(v["destination"], json!({"protocol": "TCP", "port": 9999}));
    assert_eq!(serde_json::from_value::<Subscription>(v).unwrap(), tcp);
}

#[test]
fn schema_versions() {
    for (v, s) in [
        (SchemaVersion::V2022_07_01, "2022-07-01"),
        (SchemaVersion::V2022_12_13, "2022-12-13"),
        (SchemaVersion::V2025_01_29, "2025-01-29"),
    ] {
        assert_eq!(v.as_str(), s);
        assert_eq!(to_value(&v), json!(s));
        assert_eq!(
            serde_json::from_value::<SchemaVersion>(json!(s)).unwrap(),
            v
        );
    }
    assert_eq!(SchemaVersion::default(), SchemaVersion::LATEST);
    assert!(serde_json::from_value::<SchemaVersion>(json!("2021-03-18")).is_err());
}

#[test]
fn subscriptions_lambda_would_refuse_are_refused() {
    let types = &[TelemetryType::Platform];
    assert_eq!(
        Subscription::http("http://sandbox.localdomain:1", &[]),
        Err(SubscriptionError::NoTypes)
    );
    for bad in [
        "https://sandbox.localdomain:8080",
        "sandbox.localdomain:8080",
        "http://",
        "http://:8080/x",
        "http:///x",
        "http://host/a b",
        "http://h\r\nX: y",
    ] {
        assert_eq!(
            Subscription::http(bad, types),
            Err(SubscriptionError::InvalidUri),
            "{bad}"
        );
    }
    for ok in [
        "http://sandbox.localdomain:8080",
        "HTTP://localhost/p",
        "http://[::1]:80",
    ] {
        assert!(Subscription::http(ok, types).is_ok(), "{ok}");
    }
    // Read subscriptions are checked too.
    let v = json!({"schemaVersion": "2025-01-29", "types": [],
                   "destination": {"protocol": "HTTP", "URI": "http://h:1"}});
    let e = serde_json::from_value::<Subscription>(v).unwrap_err();
    assert!(e.to_string().contains("at least one type"), "{e}");
}

#[test]
fn buffering_bounds() {
    let b = Buffering::new;
    assert!(b(1_000, 262_144, 25).is_ok());
    assert!(b(10_000, 1_048_576, 30_000).is_ok());
    let err = |field, value, (min, max)| {
        Err(BufferingError {
            field,
            value,
            min,
            max,
        })
    };
    assert_eq!(
        b(999, 262_144, 25),
        err("maxItems", 999, Buffering::MAX_ITEMS)
    );
    assert_eq!(
        b(10_001, 262_144, 25),
        err("maxItems", 10_001, Buffering::MAX_ITEMS)
    );
    assert_eq!(
        b(1_000, 262_143, 25),
        err("maxBytes", 262_143, Buffering::MAX_BYTES)
    );
    assert_eq!(
        b(1_000, 1_048_577, 25),
        err("maxBytes", 1_048_577, Buffering::MAX_BYTES)
    );
    assert_eq!(
        b(1_000, 262_144, 24),
        err("timeoutMs", 24, Buffering::TIMEOUT_MS)
    );
    assert_eq!(
        b(1_000, 262_144, 30_001),
        err("timeoutMs", 30_001, Buffering::TIMEOUT_MS)
    );
    assert_eq!(
        b(1, 1, 1).unwrap_err().to_string(),
        "buffering maxItems 1 is outside 1000..=10000"
    );
    // Missing fields take Lambda's defaults; out-of-bounds ones are refused when read.
    let read = |v: Value| serde_json::from_value::<Buffering>(v);
    assert_eq!(read(json!({})).unwrap(), Buffering::DEFAULT);
    let partial = read(json!({"timeoutMs": 100})).unwrap();
    assert_eq!(
        (
            partial.max_items(),
            partial.max_bytes(),
            partial.timeout_ms()
        ),
        (10_000, 262_144, 100)
    );
    let e = read(json!({"maxBytes": 5})).unwrap_err().to_string();
    assert!(e.contains("maxBytes 5 is outside"), "{e}");
    assert_eq!(
        to_value(&Buffering::default()),
        json!({"maxItems": 10_000, "maxBytes": 262_144, "timeoutMs": 1_000})
    );
}

/// One element of every known type, with every documented field, as Lambda sends it.
fn every_type() -> Vec<Value> {
    let tracing = json!({"type": "X-Amzn-Trace-Id", "value": TRACE});
    let spans = json!([{"name": "responseLatency", "start": "2022-10-12T00:00:15.064Z",
                        "durationMs": 23.02}]);
    let records = [
        (
            "platform.initStart",
            json!({"initializationType": "on-demand", "phase": "init",
            "runtimeVersion": "nodejs-14.v3", "runtimeVersionArn": "arn:aws:lambda:::runtime:1",
            "functionName": "f", "functionVersion": "$LATEST", "instanceId": "i-1",
            "instanceMaxMemory": 256, "tracing": tracing}),
        ),
        (
            "platform.initRuntimeDone",
            json!({"initializationType": "snap-start", "phase": "invoke",
            "status": "failure", "errorType": "Runtime.ExitError", "spans": spans,
            "tracing": tracing}),
        ),
        (
            "platform.initReport",
            json!({"initializationType": "lambda-managed-instances",
            "phase": "init", "metrics": {"durationMs": 125.33}, "spans": spans,
            "status": "success"}),
        ),
        (
            "platform.start",
            json!({"requestId": "r-1", "version": "$LATEST", "tenantId": "t-1",
            "tracing": {"spanId": "54565fb41ac79632", "type": "X-Amzn-Trace-Id", "value": TRACE}}),
        ),
        (
            "platform.runtimeDone",
            json!({"requestId": "r-1", "status": "timeout",
            "errorType": "Runtime.Timeout", "metrics": {"durationMs": 3000.5,
            "producedBytes": 12}, "spans": spans, "tracing": tracing, "tenantId": "t-1"}),
        ),
        (
            "platform.report",
            json!({"requestId": "r-1", "status": "success", "metrics": {
            "durationMs": 1.5, "billedDurationMs": 2, "memorySizeMB": 128,
            "maxMemoryUsedMB": 64, "initDurationMs": 185.2, "restoreDurationMs": 10.5},
            "spans": spans, "tracing": tracing, "tenantId": "t-1"}),
        ),
        (
            "platform.extension",
            json!({"name": "my-ext", "state": "Ready",
            "events": ["INVOKE", "SHUTDOWN"], "errorType": "Extension.Crash"}),
        ),
        (
            "platform.telemetrySubscription",
            json!({"name": "my-ext", "state": "Subscribed",
            "types": ["platform", "function"]}),
        ),
        (
            "platform.logsDropped",
            json!({"droppedBytes": 12_345, "droppedRecords": 12,
            "reason": "Some logs were dropped because the downstream consumer is slower"}),
        ),
        (
            "platform.restoreStart",
            json!({"runtimeVersion": "java-21.v1",
            "functionName": "f", "functionVersion": "3", "instanceId": "i-2",
            "instanceMaxMemory": 512, "tracing": tracing}),
        ),
        (
            "platform.restoreRuntimeDone",
            json!({"status": "error", "errorType": "Runtime.X",
            "spans": spans, "tracing": tracing}),
        ),
        (
            "platform.restoreReport",
            json!({"status": "success", "metrics": {"durationMs": 90.5},
            "spans": spans}),
        ),
        (
            "function",
            json!("2022-10-12T00:03:50.000Z\tr-1\tINFO\thello\n"),
        ),
        (
            "function",
            json!({"timestamp": "2022-10-12T00:03:50.000Z", "level": "INFO",
            "requestId": "r-1", "message": "hello"}),
        ),
        ("extension", json!("[my-ext] ready")),
        ("extension", json!({"level": "WARN", "message": "slow"})),
    ];
    records
        .into_iter()
        .map(|(kind, record)| json!({"time": TIME, "type": kind, "record": record}))
        .collect()
}

#[test]
fn every_documented_record_reads_and_writes_back_the_same() {
    let batch = Value::Array(every_type());
    let body = serde_json::to_vec(&batch).unwrap();
    let parsed = parse_batch(&body).unwrap();
    assert_eq!(parsed.len(), batch.as_array().unwrap().len());
    for (event, sent) in parsed.iter().zip(batch.as_array().unwrap()) {
        let event = event.as_ref().unwrap_or_else(|bad| panic!("{bad}"));
        assert_eq!(event.record.kind(), sent["type"]);
        assert!(!matches!(event.record, Record::Unknown { .. }), "{sent}");
        assert_eq!(&to_value(event), sent);
        let again: TelemetryEvent = serde_json::from_value(to_value(event)).unwrap();
        assert_eq!(&again, event);
    }
    let Ok(TelemetryEvent {
        record: Record::Report(report),
        ..
    }) = &parsed[5]
    else {
        panic!("not a report");
    };
    assert_eq!(report.metrics.memory_size_mb, 128);
    assert_eq!(report.metrics.init_duration_ms, Some(185.2));
    assert_eq!(report.status, Status::Success);
    assert_eq!(report.tenant_id.as_deref(), Some("t-1"));
    let Ok(TelemetryEvent {
        record: Record::InitReport(init),
        ..
    }) = &parsed[2]
    else {
        panic!("not an init report");
    };
    assert_eq!(init.initialization_type, InitType::LambdaManagedInstances);
    assert!(
        matches!(&parsed[12], Ok(e) if e.record == Record::Function(LogRecord::Text(
        "2022-10-12T00:03:50.000Z\tr-1\tINFO\thello\n".into())))
    );
    assert!(matches!(&parsed[13], Ok(e) if matches!(&e.record,
        Record::Function(LogRecord::Object(o)) if o["message"] == "hello")));
}

#[test]
fn optional_fields_may_be_absent_and_open_enums_keep_new_values() {
    let minimal = json!([
        {"time": "t", "type": "platform.start", "record": {"requestId": "r"}},
        {"time": "t", "type": "platform.runtimeDone", "record": {"requestId": "r",
            "status": "throttled"}},
        {"time": "t", "type": "platform.initStart", "record": {"initializationType": "warm-pool",
            "phase": "restore", "functionName": "f", "functionVersion": "1",
            "runtimeArn": "arn:old"}},
    ]);
    let parsed = parse_batch(&serde_json::to_vec(&minimal).unwrap()).unwrap();
    let records: Vec<Record> = parsed.into_iter().map(|r| r.unwrap().record).collect();
    let Record::RuntimeDone(done) = &records[1] else {
        panic!("not runtimeDone");
    };
    assert_eq!(done.status, Status::Other("throttled".into()));
    assert_eq!((done.metrics.as_ref(), done.spans.len()), (None, 0));
    let Record::InitStart(start) = &records[2] else {
        panic!("not initStart");
    };
    assert_eq!(start.initialization_type.as_str(), "warm-pool");
    assert_eq!(start.phase, InitPhase::Other("restore".into()));
    assert_eq!(start.runtime_version_arn.as_deref(), Some("arn:old"));
    for (s, want) in [
        ("success", Status::Success),
        ("failure", Status::Failure),
        ("error", Status::Error),
        ("timeout", Status::Timeout),
    ] {
        assert_eq!(Status::parse(s), want);
        assert_eq!(to_value(&want), json!(s));
    }
}

#[test]
fn unknown_types_are_kept_raw() {
    let sent =
        json!({"time": "t", "type": "platform.somethingNew", "record": {"a": [1, {"b": null}]}});
    let parsed = parse_batch(&serde_json::to_vec(&json!([sent.clone()])).unwrap()).unwrap();
    let event = parsed[0].as_ref().unwrap();
    assert_eq!(
        event.record,
        Record::Unknown {
            kind: "platform.somethingNew".into(),
            record: sent["record"].clone()
        }
    );
    assert_eq!(to_value(event), sent);
    // A record-less element of an unknown type is kept with a null record.
    let parsed = parse_batch(br#"[{"time":"t","type":"x"}]"#).unwrap();
    assert!(matches!(&parsed[0], Ok(e) if e.record.kind() == "x"));
}

#[test]
fn one_bad_record_does_not_lose_the_batch() {
    let body = br#"[
        {"time":"t","type":"function","record":"one"},
        {"time":"t","type":"platform.report","record":{"requestId":"r","status":"success"}},
        {"time":"t","type":"function","record":42},
        "not an object",
        {"type":"function","record":"no time"},
        {"time":"t","type":"extension","record":"last"}
    ]"#;
    let parsed = parse_batch(body).unwrap();
    assert_eq!(parsed.len(), 6);
    assert!(parsed[0].is_ok() && parsed[5].is_ok());
    let bad: Vec<&BadRecord> = parsed.iter().filter_map(|r| r.as_ref().err()).collect();
    let summary: Vec<(usize, Option<&str>)> =
        bad.iter().map(|b| (b.index, b.kind.as_deref())).collect();
    assert_eq!(
        summary,
        [
            (1, Some("platform.report")),
            (2, Some("function")),
            (3, None),
            (4, Some("function"))
        ]
    );
    assert_eq!(
        bad[0].message,
        "platform.report record: missing field `metrics`"
    );
    assert!(
        bad[1].message.starts_with("function record: "),
        "{}",
        bad[1].message
    );
    assert!(
        bad[2].message.contains("expected struct RawEvent"),
        "{}",
        bad[2].message
    );
    assert_eq!(bad[3].message, "missing field `time`");
    assert_eq!(bad[2].raw, json!("not an object"));
    assert_eq!(
        bad[0].to_string(),
        "telemetry record 1: platform.report record: missing field `metrics`"
    );
}

#[test]
fn only_a_body_that_is_not_an_array_fails_whole() {
    let e = parse_batch(br#"{"time":"t"}"#).unwrap_err();
    assert!(
        e.message.starts_with("not a JSON array: invalid type: map"),
        "{}",
        e.message
    );
    let e = parse_batch(b"[{").unwrap_err();
    assert!(
        e.to_string().starts_with("malformed telemetry batch: "),
        "{e}"
    );
    assert_eq!(parse_batch(b"[]").unwrap(), Vec::new());
    let _: String = e.message;
}

#[test]
fn events_deserialise_one_by_one_too() {
    let v = json!({"time": "t", "type": "platform.logsDropped",
                   "record": {"droppedBytes": 1, "droppedRecords": 2, "reason": "slow"}});
    let e: TelemetryEvent = serde_json::from_value(v).unwrap();
    assert_eq!(
        e.record,
        Record::LogsDropped(LogsDropped {
            dropped_bytes: 1,
            dropped_records: 2,
            reason: "slow".into()
        })
    );
    let bad = json!({"time": "t", "type": "platform.logsDropped", "record": {}});
    let err = serde_json::from_value::<TelemetryEvent>(bad).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("platform.logsDropped record: missing field"),
        "{err}"
    );
}

#[test]
fn report_counts_may_come_as_whole_floats() {
    let batch = |billed: &str| {
        std::format!(
            r#"[{{"time":"{TIME}","type":"platform.report","record":{{"requestId":"r","status":"success","metrics":{{"durationMs":1.5,"billedDurationMs":{billed},"memorySizeMB":128.0,"maxMemoryUsedMB":20}}}}}}]"#
        )
    };
    let read = |billed: &str| {
        let mut records = parse_batch(batch(billed).as_bytes()).unwrap();
        records.remove(0).map_err(|bad| bad.message)
    };
    for (sent, billed) in [("2", 2), ("2.0", 2), ("0.0", 0)] {
        let Record::Report(r) = read(sent).unwrap().record else {
            panic!("not a report")
        };
        assert_eq!(
            (r.metrics.billed_duration_ms, r.metrics.memory_size_mb),
            (billed, 128)
        );
    }
    for bad in ["1.5", "-1", "-1.0", "1e30", "\"2\""] {
        assert!(read(bad).is_err(), "{bad}");
    }
}
