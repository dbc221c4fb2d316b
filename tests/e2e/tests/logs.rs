//! The runtime's logger as Lambda's advanced logging controls drive it, for every probe binary:
//! JSON lines (`--log-format json` / `Options::log_format`) that are flat objects naming the
//! request id, trace id and tenant id of the invocation they belong to, also with concurrent
//! lanes, and text lines when the format is not set.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use lambda_emulator::{Emulator, Endpoint, Invoke, LogFormat, LogLevel, LogStream, Outcome};
use serde_json::{Map, Value, json};

use common::{calls, emulator_program, http_invoke, invoke, start_probe, workspace_root};

const INVOKE_PATH: &str = "/2015-03-31/functions/function/invocations";
const LEVELS: &[&str] = &["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];

/// The lines the function wrote to stderr (not the emulator's own notes about the process).
fn function_stderr(emu: &Emulator) -> Vec<String> {
    emu.logs()
        .into_iter()
        .filter(|l| l.stream == LogStream::Stderr && !l.line.starts_with("lambda-emulator: "))
        .map(|l| l.line)
        .collect()
}

/// Whether `ts` is RFC 3339 in UTC with milliseconds: `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn is_rfc3339_millis_utc(ts: &str) -> bool {
    let b = ts.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// Parses one JSON line and checks the fields every line has; panics with the line otherwise.
fn parse_json_line(line: &str) -> Map<String, Value> {
    let value: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("a stderr line is not JSON ({e}): {line:?}"));
    let Value::Object(object) = value else {
        panic!("a stderr line is not a JSON object: {line:?}");
    };
    let ts = object.get("timestamp").and_then(Value::as_str);
    assert!(
        ts.is_some_and(is_rfc3339_millis_utc),
        "timestamp not RFC 3339 with milliseconds and Z: {line}"
    );
    let level = object.get("level").and_then(Value::as_str);
    assert!(
        level.is_some_and(|l| LEVELS.contains(&l)),
        "level not one of {LEVELS:?}: {line}"
    );
    assert!(
        object.get("message").is_some_and(Value::is_string),
        "no string message: {line}"
    );
    for (key, value) in &object {
        // Lambda's one list: an error's stack trace, as lines.
        let lines = key == "stackTrace"
            && value
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string));
        assert!(
            lines || (!value.is_object() && !value.is_array()),
            "not flat ({key} is nested): {line}"
        );
    }
    object
}

/// Every stderr line of the function, parsed (each must be a JSON log line).
fn json_lines(emu: &Emulator) -> Vec<Map<String, Value>> {
    function_stderr(emu)
        .iter()
        .map(|line| parse_json_line(line))
        .collect()
}

fn str_field<'a>(line: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    line.get(key).and_then(Value::as_str)
}

/// The probe's `probe line k of <id>` lines: (the id named in the message, the line).
fn probe_lines(lines: &[Map<String, Value>]) -> Vec<(String, &Map<String, Value>)> {
    lines
        .iter()
        .filter_map(|line| {
            let message = str_field(line, "message")?;
            let (_, id) = message.strip_prefix("probe line ")?.split_once(" of ")?;
            Some((id.to_owned(), line))
        })
        .collect()
}

/// Waits until the function's stderr has `n` probe lines (output arrives through a pipe).
fn wait_probe_lines(emu: &Emulator, n: usize) {
    let arrived = emu.wait_until(Duration::from_secs(10), |e| {
        function_stderr(e)
            .iter()
            .filter(|l| l.contains("probe line "))
            .count()
            >= n
    });
    assert!(arrived, "not {n} probe lines:\n{}", emu.log_text());
}

fn json_probe(bin: &str) -> Emulator {
    start_probe(bin, |o| {
        o.log_format(LogFormat::Json).log_level(LogLevel::Debug)
    })
}

/// Every line the function writes in JSON mode, at DEBUG, over successes, a handler error, a
/// rejected event and logging invocations, is one flat JSON object with the required fields.
fn json_lines_are_flat_objects(bin: &str) {
    let emu = json_probe(bin);
    invoke(&emu, br#"{"a":1}"#);
    let r = invoke(&emu, br#"{"probe":"log","lines":3,"ms":5}"#);
    assert_eq!(r.outcome, Outcome::Response, "{}", r.body_str());
    let r = invoke(&emu, br#"{"probe":"error","message":"declined"}"#);
    assert_eq!(r.outcome, Outcome::FunctionError);
    let r = invoke(&emu, br#"{"not json"#);
    assert_eq!(r.error_type().as_deref(), Some("Runtime.InvalidEvent"));
    invoke(&emu, br#"{"probe":"log","lines":1,"ms":0}"#);
    wait_probe_lines(&emu, 4);
    let lines = json_lines(&emu);
    // The runtime's own lines are JSON too (its WARN about the failed invocations).
    assert!(
        lines.iter().any(|l| str_field(l, "level") == Some("WARN")),
        "no WARN line:\n{}",
        emu.log_text()
    );
    let probe = probe_lines(&lines);
    assert_eq!(probe.len(), 4, "{}", emu.log_text());
    for (id, line) in probe {
        assert_eq!(str_field(line, "level"), Some("INFO"));
        assert_eq!(str_field(line, "requestId"), Some(id.as_str()));
    }
}

/// The runtime's WARN line about a handler error carries the invocation's request id, as the
/// Invoke API reply names it, and the report's `errorType`, `errorMessage` and `stackTrace`.
fn handler_error_warning_names_request_id(bin: &str) {
    let emu = json_probe(bin);
    let reply = http_invoke(
        emu.addr(),
        INVOKE_PATH,
        &[],
        br#"{"probe":"error","message":"card declined"}"#,
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header_str("x-amz-function-error").as_deref(),
        Some("Unhandled")
    );
    let id = reply
        .header_str("x-amzn-requestid")
        .expect("a request id header");
    let warning = |e: &Emulator| {
        json_lines(e).into_iter().find(|l| {
            str_field(l, "level") == Some("WARN")
                && str_field(l, "message").is_some_and(|m| m.contains("card declined"))
        })
    };
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| warning(e).is_some()),
        "no WARN line about the handler error:\n{}",
        emu.log_text()
    );
    let line = warning(&emu).unwrap();
    assert_eq!(str_field(&line, "requestId"), Some(id.as_str()), "{line:?}");
    let report: Value = serde_json::from_slice(&reply.body).expect("a JSON error report");
    assert_eq!(line.get("errorType"), report.get("errorType"), "{line:?}");
    assert_eq!(
        line.get("errorMessage"),
        report.get("errorMessage"),
        "{line:?}"
    );
    assert_eq!(line.get("stackTrace"), report.get("stackTrace"), "{line:?}");
}

/// What the watchdog's thread writes about a handler that blocks its thread past its timeout
/// names the invocation and the error type, and the invocation's buffered debug line is written
/// (marked as buffered) once it is reported; a successful invocation's is not.
fn watchdog_lines_name_the_invocation_and_flush_its_buffer(bin: &str) {
    let emu = start_probe(bin, |o| {
        o.log_format(LogFormat::Json)
            .timeout(Duration::from_secs(1))
            .env("LAMBDA_RUNTIME_LOG_BUFFER_LINES", "5")
    });
    let ok = invoke(&emu, br#"{"probe":"block","ms":1}"#);
    assert_eq!(ok.outcome, Outcome::Response, "{}", ok.body_str());
    let r = invoke(&emu, br#"{"probe":"block","ms":2500}"#);
    assert_eq!(r.error_type().as_deref(), Some("Runtime.HandlerTimeout"));
    let id = r.request_id.clone();
    let of = |e: &Emulator, level: &str| -> Vec<Map<String, Value>> {
        json_lines(e)
            .into_iter()
            .filter(|l| str_field(l, "requestId") == Some(id.as_str()))
            .filter(|l| str_field(l, "level") == Some(level))
            .collect()
    };
    let flushed = emu.wait_until(Duration::from_secs(10), |e| {
        !of(e, "ERROR").is_empty() && !of(e, "DEBUG").is_empty()
    });
    assert!(
        flushed,
        "no watchdog line or flush for {id}:\n{}",
        emu.log_text()
    );
    let error = &of(&emu, "ERROR")[0];
    assert_eq!(
        str_field(error, "message"),
        Some("handler timed out while blocking its thread")
    );
    assert_eq!(
        str_field(error, "errorType"),
        Some("Runtime.HandlerTimeout")
    );
    let debug = of(&emu, "DEBUG");
    assert_eq!(debug.len(), 1, "{debug:?}");
    assert_eq!(
        str_field(&debug[0], "message"),
        Some("probe blocks for 2500 ms")
    );
    assert_eq!(debug[0].get("buffered"), Some(&json!(true)));
    let ok_debug = json_lines(&emu)
        .into_iter()
        .filter(|l| str_field(l, "requestId") == Some(ok.request_id.as_str()))
        .filter(|l| str_field(l, "level") == Some("DEBUG"))
        .count();
    assert_eq!(ok_debug, 0, "a successful invocation's buffer was written");
}

/// Eight invocations at once on eight lanes, each logging with awaits in between: every line
/// names the request id of the invocation that logged it, and the invocations' lines
/// interleave.
fn concurrent_lines_keep_their_request_ids(bin: &str) {
    const LINES: usize = 6;
    let emu = start_probe(bin, |o| o.log_format(LogFormat::Json).concurrency(8));
    let results = emu.invoke_many((0..8).map(|n| {
        Invoke::new(format!(r#"{{"probe":"log","lines":{LINES},"ms":40,"n":{n}}}"#).into_bytes())
    }));
    let ids: Vec<String> = results
        .into_iter()
        .map(|r| {
            let r = r.expect("answered");
            assert_eq!(r.outcome, Outcome::Response, "{}", r.body_str());
            r.request_id
        })
        .collect();
    wait_probe_lines(&emu, 8 * LINES);
    let lines = json_lines(&emu);
    let probe = probe_lines(&lines);
    let mut per_id: BTreeMap<&str, usize> = BTreeMap::new();
    for (id, line) in &probe {
        assert_eq!(
            str_field(line, "requestId"),
            Some(id.as_str()),
            "a line names another invocation's request id: {line:?}"
        );
        *per_id.entry(id.as_str()).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            per_id.get(id.as_str()),
            Some(&LINES),
            "lines of {id}: {per_id:?}"
        );
    }
    // Interleaved: the sequence of ids changes more often than once per invocation.
    let switches = probe.windows(2).filter(|w| w[0].0 != w[1].0).count();
    assert!(
        switches > ids.len() - 1,
        "the invocations' lines did not interleave ({switches} switches):\n{}",
        emu.log_text()
    );
}

/// A tenant id given to the Invoke API (`X-Amz-Tenant-Id`) reaches the function as
/// `Lambda-Runtime-Aws-Tenant-Id` and appears as `tenantId` on that invocation's lines only.
fn tenant_id_on_its_lines(bin: &str) {
    let emu = json_probe(bin);
    let event = br#"{"probe":"log","lines":2,"ms":5}"#;
    let with = http_invoke(
        emu.addr(),
        INVOKE_PATH,
        &[("X-Amz-Tenant-Id", "tenant-7")],
        event,
    );
    assert_eq!(with.status, 200, "{}", with.body_str());
    let tenant_id = with.header_str("x-amzn-requestid").unwrap();
    let without = http_invoke(emu.addr(), INVOKE_PATH, &[], event);
    let plain_id = without.header_str("x-amzn-requestid").unwrap();
    let next = calls(&emu, Endpoint::Next);
    assert_eq!(
        next[0].response_header("lambda-runtime-aws-tenant-id"),
        Some("tenant-7")
    );
    wait_probe_lines(&emu, 4);
    let lines = json_lines(&emu);
    for (id, line) in probe_lines(&lines) {
        let expected = (id == tenant_id).then_some("tenant-7");
        assert!(id == tenant_id || id == plain_id, "{line:?}");
        assert_eq!(str_field(line, "tenantId"), expected, "{line:?}");
    }
}

/// Without a log format the lines are text: `{ts} INFO [<id>] message`.
fn text_lines_by_default(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let r = invoke(&emu, br#"{"probe":"log","lines":2,"ms":5}"#);
    assert_eq!(r.outcome, Outcome::Response, "{}", r.body_str());
    wait_probe_lines(&emu, 2);
    let id = &r.request_id;
    let lines: Vec<String> = function_stderr(&emu)
        .into_iter()
        .filter(|l| l.contains("probe line "))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (k, line) in lines.iter().enumerate() {
        let (ts, rest) = line.split_once(' ').unwrap();
        assert!(is_rfc3339_millis_utc(ts), "{line}");
        assert_eq!(rest, format!("INFO [{id}] probe line {} of {id}", k + 1));
        assert!(serde_json::from_str::<Value>(line).is_err());
    }
}

common::per_executor! {
    json_lines_are_flat_objects,
    handler_error_warning_names_request_id,
    watchdog_lines_name_the_invocation_and_flush_its_buffer,
    tenant_id_on_its_lines,
    text_lines_by_default;
    concurrent: concurrent_lines_keep_their_request_ids
}

/// The CLI flags set `AWS_LAMBDA_LOG_FORMAT` / `AWS_LAMBDA_LOG_LEVEL` as Lambda spells them,
/// leave them unset without the flags, and the function's JSON lines reach the emulator's
/// stderr.
#[test]
fn cli_flags_set_the_log_environment() {
    let probe = env!("CARGO_BIN_EXE_probe-tokio");
    let run = |flags: &[&str]| {
        let output = Command::new(emulator_program())
            .args(flags)
            .args([
                "--event",
                r#"{"probe":"context"}"#,
                "--event",
                r#"{"probe":"log","lines":1,"ms":0}"#,
                "--",
                probe,
            ])
            .env("AWS_LAMBDA_LOG_LEVEL", "TRACE") // not leaked into the function
            .current_dir(workspace_root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let context: Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (context["env"].clone(), stderr)
    };
    let (env, stderr) = run(&["--log-format", "json", "--log-level", "debug"]);
    assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], json!("JSON"));
    assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], json!("DEBUG"));
    let probe_line = stderr
        .lines()
        .find(|l| l.contains("probe line 1 of "))
        .unwrap_or_else(|| panic!("the function's line is not on stderr:\n{stderr}"));
    assert_eq!(
        str_field(&parse_json_line(probe_line), "level"),
        Some("INFO")
    );

    let (env, _) = run(&["--log-format", "text", "--log-level", "fatal"]);
    assert_eq!(env["AWS_LAMBDA_LOG_FORMAT"], json!("Text"));
    assert_eq!(env["AWS_LAMBDA_LOG_LEVEL"], json!("FATAL"));

    let (env, stderr) = run(&[]);
    assert_eq!(env.get("AWS_LAMBDA_LOG_FORMAT"), None, "{env}");
    assert_eq!(env.get("AWS_LAMBDA_LOG_LEVEL"), None, "{env}");
    assert!(stderr.contains("INFO ["), "{stderr}");
}
