//! The same end-to-end scenarios against every probe binary (tokio, smol, custom executor),
//! through the real emulator process supervision and real TCP on loopback. Each asserts on what
//! the invoker got and on the Runtime API calls the function made.

mod common;

use std::time::{Duration, Instant};

use lambda_emulator::{Emulator, Endpoint, Fault, Invoke, Options, Outcome, Target};

use common::{calls, invoke, start_probe};
use serde_json::{Value, json};

fn echo_works(emu: &Emulator) {
    let r = invoke(emu, br#"{"after":true}"#);
    assert_eq!(
        (r.outcome, r.json()),
        (Outcome::Response, Some(json!({"after": true})))
    );
}

fn echo(bin: &str) {
    let emu = start_probe(bin, |o| o);
    for event in [
        json!({"a": 1}),
        json!({"nested": {"list": [1, 2.5, null, true, {"deep": ["x"]}]}, "unicode": "héllo ☃ 𝄞 \u{0}"}),
        json!("just a string"),
        json!(null),
    ] {
        let r = invoke(&emu, &serde_json::to_vec(&event).unwrap());
        assert_eq!(r.outcome, Outcome::Response);
        assert_eq!(r.json(), Some(event));
    }
    let big = json!({"data": "y".repeat(5 << 20)});
    let r = invoke(&emu, &serde_json::to_vec(&big).unwrap());
    assert_eq!(r.json(), Some(big), "a 5 MiB event is echoed");
    // One keep-alive connection to the Runtime API for the whole run (the runtime's extension
    // has one of its own).
    assert_eq!(runtime_api_connections(&emu).len(), 1, "{:?}", emu.calls());
}

/// The connections that carried Runtime API calls (not the Extensions API's).
fn runtime_api_connections(emu: &Emulator) -> std::collections::BTreeSet<u64> {
    emu.calls()
        .iter()
        .filter(|c| {
            matches!(
                c.endpoint,
                Endpoint::Next | Endpoint::Response | Endpoint::Error | Endpoint::InitError
            )
        })
        .map(|c| c.connection)
        .collect()
}

fn handler_error_and_panic(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let r = invoke(&emu, br#"{"probe":"error","message":"card declined"}"#);
    assert_eq!(r.outcome, Outcome::FunctionError);
    assert_eq!(r.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        r.json().unwrap(),
        json!({"errorType": "Function.HandlerError", "errorMessage": "card declined"})
    );
    let errors = calls(&emu, Endpoint::Error);
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].header("Lambda-Runtime-Function-Error-Type"),
        Some("Function.HandlerError")
    );

    let r = invoke(
        &emu,
        br#"{"probe":"panic","message":"index out of bounds"}"#,
    );
    assert_eq!(r.error_type().as_deref(), Some("Function.Panic"));
    assert!(r.body_str().contains("index out of bounds"));
    echo_works(&emu);
    assert_eq!(
        emu.starts(),
        1,
        "the environment kept serving after the panic"
    );
}

fn invalid_event(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let r = invoke(&emu, b"{\"a\": [1, 2,");
    assert_eq!(r.error_type().as_deref(), Some("Runtime.InvalidEvent"));
    let msg = r.json().unwrap()["errorMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("EOF while parsing") && msg.contains("line 1 column"),
        "{msg}"
    );
    echo_works(&emu);
}

fn async_timeout(bin: &str) {
    let emu = start_probe(bin, |o| o.timeout(Duration::from_secs(1)));
    let r = invoke(&emu, br#"{"probe":"sleep","ms":5000}"#);
    assert_eq!(
        r.error_type().as_deref(),
        Some("Runtime.HandlerTimeout"),
        "{}",
        r.body_str()
    );
    let next = calls(&emu, Endpoint::Next);
    let deadline: u64 = next[0]
        .response_header("Lambda-Runtime-Deadline-Ms")
        .unwrap()
        .parse()
        .unwrap();
    let errors = calls(&emu, Endpoint::Error);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].received_ms < deadline,
        "posted {} ms before the deadline",
        deadline.saturating_sub(errors[0].received_ms)
    );
    echo_works(&emu);
    assert_eq!(emu.starts(), 1, "no reset was needed");
    assert_eq!(
        calls(&emu, Endpoint::Error).len(),
        1,
        "the late result is never posted"
    );
}

fn init_failure(bin: &str) {
    let emu = Emulator::start(
        Options::new([bin])
            .env("PROBE_SETUP", "fail")
            .env("RUST_BACKTRACE", "0")
            .timeout(Duration::from_secs(30)),
    )
    .unwrap();
    let r = invoke(&emu, b"{}");
    assert_eq!(r.outcome, Outcome::InitError);
    assert_eq!(r.error_type().as_deref(), Some("Function.SetupError"));
    assert!(r.body_str().contains("probe setup failed on purpose"));
    let init = calls(&emu, Endpoint::InitError);
    assert_eq!(init.len(), 1);
    assert!(
        calls(&emu, Endpoint::Next).is_empty(),
        "no /next after a failed setup"
    );
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| !e.exits().is_empty()),
        "the process exits"
    );
    assert!(!emu.exits()[0].success(), "{}", emu.exits()[0].describe());
}

fn too_large_response(bin: &str) {
    let emu = start_probe(bin, |o| o);
    let r = invoke(&emu, br#"{"probe":"big","bytes":7340032}"#);
    assert_eq!(
        r.error_type().as_deref(),
        Some("Runtime.ResponseTooLarge"),
        "{}",
        &r.body_str()[..200.min(r.body.len())]
    );
    assert!(
        calls(&emu, Endpoint::Response).is_empty(),
        "never sent as a response"
    );
    echo_works(&emu);
}

fn faults(bin: &str) {
    // Rejected reports are logged and the loop carries on.
    // (The emulator, like Lambda, then times the unanswered invoke out and resets the function.)
    for status in [400, 410] {
        let emu = start_probe(bin, |o| o.timeout(Duration::from_secs(2)));
        emu.inject(Target::Response, Fault::Status(status));
        let r = invoke(&emu, b"{\"x\":1}");
        assert_ne!(r.outcome, Outcome::Response, "{status}");
        let went_back = emu.wait_until(Duration::from_secs(10), |e| {
            let calls = e.calls();
            let Some(rejected) = calls.iter().position(|c| c.endpoint == Endpoint::Response) else {
                return false;
            };
            let generation = calls[rejected].generation;
            calls[rejected + 1..]
                .iter()
                .any(|c| c.endpoint == Endpoint::Next && c.generation == generation)
        });
        assert!(went_back, "{status}: the same process went back to /next");
        let responses = calls(&emu, Endpoint::Response);
        assert_eq!(responses.len(), 1, "{status}: not retried");
        assert_eq!(responses[0].status, Some(status));
        echo_works(&emu);
    }
    // A connection dropped while answering a post: reconnect, post again, carry on.
    let emu = start_probe(bin, |o| o);
    emu.inject(Target::Response, Fault::DropConnection);
    let r = invoke(&emu, b"{\"x\":2}");
    assert_eq!(r.json(), Some(json!({"x": 2})));
    echo_works(&emu);
    let conns: std::collections::BTreeSet<_> = emu.calls().iter().map(|c| c.connection).collect();
    assert!(conns.len() >= 2, "reconnected: {conns:?}");
    assert_eq!(emu.starts(), 1);
    // 500: exit promptly, non-zero.
    let emu = start_probe(bin, |o| o);
    emu.inject(Target::Response, Fault::Status(500));
    let began = Instant::now();
    let _ = invoke(&emu, b"{}");
    assert!(
        emu.wait_until(Duration::from_secs(10), |e| !e.exits().is_empty()),
        "exits after a 500"
    );
    assert!(began.elapsed() < Duration::from_secs(10));
    assert!(!emu.exits()[0].success(), "{}", emu.exits()[0].describe());
}

fn context(bin: &str) {
    let emu = start_probe(bin, |o| {
        o.invocation_id(true)
            .region("eu-central-1")
            .function_name("probe-fn")
    });
    let r = emu
        .invoke(
            Invoke::new(br#"{"probe":"context"}"#.to_vec())
                .tenant_id("tenant-1")
                .cognito_identity(
                    r#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#,
                ),
        )
        .unwrap();
    let v: Value = r.json().unwrap();
    let ctx = &v["context"];
    let next = &calls(&emu, Endpoint::Next)[0];
    assert_eq!(
        ctx["request_id"],
        next.response_header("Lambda-Runtime-Aws-Request-Id")
            .unwrap()
    );
    assert!(ctx["deadline"].as_u64().unwrap() > 1_700_000_000_000);
    assert!(
        ctx["invoked_function_arn"]
            .as_str()
            .unwrap()
            .ends_with(":function:probe-fn")
    );
    assert!(ctx["xray_trace_id"].as_str().unwrap().starts_with("Root="));
    assert_eq!(ctx["tenant_id"], "tenant-1");
    assert_eq!(ctx["identity"]["cognitoIdentityPoolId"], "pool-1");
    assert_eq!(v["region"], "eu-central-1");
    assert_eq!(v["env"]["AWS_LAMBDA_FUNCTION_NAME"], "probe-fn");
    // The invocation id is echoed on the response.
    let inv = next
        .response_header("Lambda-Runtime-Invocation-Id")
        .unwrap()
        .to_string();
    assert_eq!(ctx["invocation_id"], inv.as_str());
    assert_eq!(
        calls(&emu, Endpoint::Response)[0].header("Lambda-Runtime-Invocation-Id"),
        Some(inv.as_str())
    );
}

fn concurrency(bin: &str) {
    let emu = start_probe(bin, |o| o.concurrency(4));
    let began = Instant::now();
    let results = emu
        .invoke_many((0..4).map(|n| {
            Invoke::new(format!(r#"{{"probe":"sleep","ms":1500,"n":{n}}}"#).into_bytes())
        }));
    let took = began.elapsed();
    for r in &results {
        assert_eq!(r.as_ref().unwrap().outcome, Outcome::Response);
    }
    assert!(
        took < Duration::from_millis(4 * 1500),
        "overlapping sleeps took {took:?}, not ~1.5 s"
    );
    let conns = runtime_api_connections(&emu);
    assert_eq!(conns.len(), 4, "one connection per lane: {conns:?}");
}

common::per_executor! {
    echo,
    handler_error_and_panic,
    invalid_event,
    async_timeout,
    init_failure,
    too_large_response,
    faults,
    context;
    concurrent: concurrency
}
