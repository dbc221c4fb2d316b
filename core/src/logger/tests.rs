//! The `log` path's lines.

use super::*;

fn line(logger: &LambdaLogger, record: &Record<'_>) -> String {
    let mut buf = Vec::new();
    logger.format_line(
        record,
        EpochMillis::from_millis(1_764_669_600_123),
        &mut buf,
    );
    String::from_utf8(buf).unwrap()
}

fn info(args: core::fmt::Arguments<'_>, f: impl FnOnce(&Record<'_>) -> String) -> String {
    f(&Record::builder().args(args).level(log::Level::Info).build())
}

#[test]
fn text_lines_name_the_request_id_only_inside_an_invocation() {
    let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
    let outside = info(format_args!("ready"), |r| line(&logger, r));
    assert_eq!(outside, "2025-12-02T10:00:00.123Z INFO ready\n");
    let scope = InvocationScope::enter(&InvocationIds::new("req-1", Some("Root=1-abc"), None));
    let inside = info(format_args!("saved"), |r| line(&logger, r));
    assert_eq!(inside, "2025-12-02T10:00:00.123Z INFO [req-1] saved\n");
    drop(scope);
    let after = info(format_args!("idle"), |r| line(&logger, r));
    assert_eq!(after, "2025-12-02T10:00:00.123Z INFO idle\n");
}

#[test]
fn json_lines_are_flat_objects_with_escaped_values() {
    let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    let ids = InvocationIds::new("req-2", Some("Root=1-abc"), Some("tenant-9"));
    let _scope = InvocationScope::enter(&ids);
    let pairs: [(&str, Value<'_>); 4] = [
        ("order", Value::from(17u64)),
        ("paid", Value::from(true)),
        ("note", Value::from("a \"quote\"")),
        ("level", Value::from("shadowed")),
    ];
    let record = Record::builder()
        .args(format_args!("line one\nline \"two\" \u{7}"))
        .level(log::Level::Warn)
        .key_values(&pairs)
        .build();
    let text = line(&logger, &record);
    assert!(
        text.ends_with("}\n") && text.matches('\n').count() == 1,
        "{text}"
    );
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "timestamp": "2025-12-02T10:00:00.123Z",
            "level": "WARN",
            "message": "line one\nline \"two\" \u{7}",
            "requestId": "req-2",
            "traceId": "Root=1-abc",
            "tenantId": "tenant-9",
            "order": 17,
            "paid": true,
            "note": "a \"quote\"",
        })
    );
}

fn json_of(logger: &LambdaLogger, pairs: &[(&str, Value<'_>)]) -> serde_json::Value {
    let record = Record::builder()
        .args(format_args!("m"))
        .level(log::Level::Error)
        .key_values(&pairs)
        .build();
    serde_json::from_str(&line(logger, &record)).unwrap()
}

#[test]
fn a_record_naming_its_request_id_names_that_invocation() {
    let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    let named = [("requestId", Value::from("req-4"))];
    let v = json_of(&logger, &named);
    assert_eq!((&v["requestId"], v.get("traceId")), (&"req-4".into(), None));
    let ids = InvocationIds::new("req-3", Some("Root=1-abc"), Some("t"));
    let _scope = InvocationScope::enter(&ids);
    // Another invocation than the current one: none of the current one's ids.
    let v = json_of(&logger, &named);
    assert_eq!(v["requestId"], "req-4");
    assert!(
        v.get("traceId").is_none() && v.get("tenantId").is_none(),
        "{v}"
    );
    // The current one: its other ids too.
    let v = json_of(&logger, &[("requestId", Value::from("req-3"))]);
    assert_eq!(
        (&v["traceId"], &v["tenantId"]),
        (&"Root=1-abc".into(), &"t".into())
    );
    let text = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
    let record = Record::builder()
        .args(format_args!("m"))
        .level(log::Level::Warn)
        .key_values(&named)
        .build();
    assert_eq!(
        line(&text, &record),
        "2025-12-02T10:00:00.123Z WARN [req-4] m\n"
    );
}

#[test]
fn error_keys_are_json_fields_and_left_out_of_text() {
    let pairs: [(&str, Value<'_>); 4] = [
        ("errorType", Value::from("Function.Oops")),
        ("errorMessage", Value::from("oops")),
        ("stackTrace", Value::from("caused by: a\n  caused by: b\n")),
        ("order", Value::from(3u64)),
    ];
    let json = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    let v = json_of(&json, &pairs);
    assert_eq!(v["errorType"], "Function.Oops");
    assert_eq!(v["errorMessage"], "oops");
    assert_eq!(
        v["stackTrace"],
        serde_json::json!(["caused by: a", "caused by: b"])
    );
    let no_trace = json_of(&json, &[("stackTrace", Value::from(""))]);
    assert!(no_trace.get("stackTrace").is_none(), "{no_trace}");
    let text = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
    let record = Record::builder()
        .args(format_args!("Function.Oops: oops"))
        .level(log::Level::Warn)
        .key_values(&pairs)
        .build();
    assert_eq!(
        line(&text, &record),
        "2025-12-02T10:00:00.123Z WARN Function.Oops: oops order=3\n"
    );
}

#[test]
fn a_failing_display_still_gives_valid_json() {
    struct Fails;
    impl core::fmt::Display for Fails {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.write_str("partial")?;
            Err(core::fmt::Error)
        }
    }
    let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    let text = info(format_args!("{}", Fails), |r| line(&logger, r));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["message"], serde_json::Value::Null);
    assert!(v.get("requestId").is_none());
    let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Info);
    let text = info(format_args!("{}", Fails), |r| line(&logger, r));
    assert_eq!(text, "2025-12-02T10:00:00.123Z INFO partial\n");
}

#[test]
fn records_below_the_level_are_not_written() {
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Vec<u8>>::new()));
    let seen = lines.clone();
    let logger = LambdaLogger::new(LogFormat::Text, LevelFilter::Warn)
        .with_sink(move |l| seen.lock().unwrap().push(l.to_vec()));
    for level in [log::Level::Debug, log::Level::Info, log::Level::Error] {
        logger.log(
            &Record::builder()
                .args(format_args!("x"))
                .level(level)
                .build(),
        );
    }
    let lines = lines.lock().unwrap();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].ends_with(b" ERROR x\n"));
}
