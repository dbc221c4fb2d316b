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

#[test]
fn a_huge_error_is_one_bounded_line_saying_what_was_cut() {
    let message = "m".repeat(2 << 20);
    let trace = "frame\n".repeat(400_000);
    for format in [LogFormat::Text, LogFormat::Json] {
        let logger = LambdaLogger::new(format, LevelFilter::Info);
        let pairs: [(&str, Value<'_>); 3] = [
            ("errorType", Value::from("Function.HandlerError")),
            ("errorMessage", Value::from(message.as_str())),
            ("stackTrace", Value::from(trace.as_str())),
        ];
        let text = line(
            &logger,
            &Record::builder()
                .args(format_args!("Function.HandlerError: {message}"))
                .level(log::Level::Warn)
                .key_values(&pairs)
                .build(),
        );
        assert!(text.len() <= MAX_LINE_BYTES, "{format:?}: {}", text.len());
        assert_eq!(text.matches('\n').count(), 1, "{format:?}: one line");
        assert!(
            text.contains(&std::format!("… (truncated: {} bytes)", message.len() + 23)),
            "{format:?}: the message says it was cut, and how long it was"
        );
        if format == LogFormat::Json {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            let kept = v["errorMessage"].as_str().unwrap();
            assert!(kept.starts_with("mmm"), "{kept:.40}");
            assert!(kept.ends_with(&std::format!("… (truncated: {} bytes)", message.len())));
            let frames = v["stackTrace"].as_array().unwrap();
            assert!(frames.len() > 10, "some frames kept");
            let last = frames.last().unwrap().as_str().unwrap();
            assert!(last.contains("more bytes of lines"), "{last}");
        }
    }
}

#[test]
fn a_cut_value_stays_valid_json_whatever_it_escapes_to() {
    let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    for piece in ["\u{1}", "\"", "é", "😀", "a"] {
        let value = piece.repeat(MAX_VALUE_BYTES + 1);
        let text = info(format_args!("{value}"), |r| line(&logger, r));
        let v: serde_json::Value = serde_json::from_str(&text).expect(piece);
        let message = v["message"].as_str().unwrap();
        assert!(message.starts_with(piece), "{piece:?}");
        assert!(message.ends_with(" bytes)"), "{piece:?}");
        assert!(
            text.len() <= MAX_VALUE_BYTES + 200,
            "{piece:?}: {}",
            text.len()
        );
    }
}

#[test]
fn short_values_are_written_whole() {
    let logger = LambdaLogger::new(LogFormat::Json, LevelFilter::Info);
    let value = "x\u{1}".repeat(100);
    let text = info(format_args!("{value}"), |r| line(&logger, r));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["message"], value.as_str());
}
