//! In JSON mode a panic is one JSON line, with the request id of the invocation that panicked
//! (Rust's default hook writes several lines of text).
#![cfg(feature = "std")]

use std::sync::Mutex;

use lambda_runtime_types::config::LogFormat;
use lambda_runtime_types::logger::{InvocationIds, InvocationScope, LambdaLogger};
use serde_json::Value;

static LINES: Mutex<Vec<u8>> = Mutex::new(Vec::new());

#[test]
fn a_panic_is_one_json_line_with_the_request_id() {
    LambdaLogger::new(LogFormat::Json, log::LevelFilter::Info)
        .with_sink(|line| LINES.lock().unwrap().extend_from_slice(line))
        .install()
        .expect("the only logger of this test binary");

    let ids = InvocationIds::new("req-p", Some("Root=1-abc"), Some("tenant-p"));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _scope = InvocationScope::enter(&ids);
        panic!("boom {}\nsecond line", 7);
    }));
    assert!(caught.is_err());

    let written = String::from_utf8(LINES.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 1, "{written}");
    assert!(written.ends_with('\n'));
    let line: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["requestId"], "req-p");
    assert_eq!(line["traceId"], "Root=1-abc");
    assert_eq!(line["tenantId"], "tenant-p");
    assert_eq!(line["errorType"], "Function.Panic");
    assert_eq!(line["errorMessage"], "boom 7\nsecond line");
    let message = line["message"].as_str().unwrap();
    assert!(message.contains("panicked at") && message.ends_with("boom 7\nsecond line"));
    let trace = line["stackTrace"].as_array().unwrap();
    assert!(
        trace[0].as_str().unwrap().contains("panic_line.rs:"),
        "the location comes first: {trace:?}"
    );
    let timestamp = line["timestamp"].as_str().unwrap();
    assert!(
        timestamp.len() == 24 && timestamp.ends_with('Z'),
        "{timestamp}"
    );
}
