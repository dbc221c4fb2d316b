//! The Invoke API over HTTP, as `curl` and `aws lambda invoke --endpoint-url` use it.

mod common;

use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use common::{Conn, bash, http_invoke};
use lambda_emulator::{Emulator, Endpoint};

const RIE_PATH: &str = "/2015-03-31/functions/function/invocations";

#[test]
fn invoke_over_http() {
    let emu = Emulator::start(bash("normal").function_name("my-fn")).unwrap();
    let mut conn = Conn::connect(emu.addr());

    let ok = conn.request("POST", RIE_PATH, &[], br#"{"a":1}"#);
    assert_eq!((ok.status, ok.body_str()), (200, r#"{"a":1}"#.to_owned()));
    assert_eq!(
        ok.header_str("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        ok.header_str("x-amz-executed-version").as_deref(),
        Some("$LATEST")
    );
    assert!(ok.header("x-amz-function-error").is_none());
    let id = ok.header_str("x-amzn-requestid").unwrap();
    assert!(
        emu.calls()
            .iter()
            .any(|c| c.endpoint == Endpoint::Response
                && c.request_id.as_deref() == Some(id.as_str()))
    );

    // Under the function's name too, on the same keep-alive connection.
    let by_name = conn.request(
        "POST",
        "/2015-03-31/functions/my-fn/invocations",
        &[],
        br#"{"b":2}"#,
    );
    assert_eq!(
        (by_name.status, by_name.body_str()),
        (200, r#"{"b":2}"#.to_owned())
    );

    let failed = conn.request("POST", RIE_PATH, &[], br#"{"error":1}"#);
    assert_eq!(failed.status, 200);
    assert_eq!(
        failed.header_str("x-amz-function-error").as_deref(),
        Some("Unhandled")
    );
    assert_eq!(failed.json()["errorType"], "Function.Failed");

    let unknown = conn.request(
        "POST",
        "/2015-03-31/functions/other/invocations",
        &[],
        b"{}",
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header_str("x-amzn-errortype").as_deref(),
        Some("ResourceNotFoundException")
    );
    assert_eq!(conn.request("GET", RIE_PATH, &[], b"").status, 405);

    // An empty payload is delivered as {}.
    let empty = conn.request("POST", RIE_PATH, &[], b"");
    assert_eq!((empty.status, empty.body_str()), (200, "{}".to_owned()));

    // Client context: base64 on the Invoke API, JSON on /next.
    let context = base64::engine::general_purpose::STANDARD.encode(r#"{"custom":{"k":"v"}}"#);
    let with_context = conn.request(
        "POST",
        RIE_PATH,
        &[
            ("X-Amz-Client-Context", &context),
            ("X-Amz-Tenant-Id", "tenant-1"),
            (
                "X-Amz-Cognito-Identity",
                r#"{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}"#,
            ),
        ],
        b"{}",
    );
    assert_eq!(with_context.status, 200);
    let id = with_context.header_str("x-amzn-requestid").unwrap();
    let next = emu
        .calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::Next && c.request_id.as_deref() == Some(id.as_str()))
        .unwrap();
    assert_eq!(
        next.response_header("lambda-runtime-client-context"),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(
        next.response_header("lambda-runtime-aws-tenant-id"),
        Some("tenant-1")
    );
    assert_eq!(
        next.response_header("lambda-runtime-cognito-identity"),
        Some(r#"{"cognitoIdentityId":"i","cognitoIdentityPoolId":"p"}"#)
    );
    let bad_context = conn.request("POST", RIE_PATH, &[("X-Amz-Client-Context", "%%%")], b"{}");
    assert_eq!(bad_context.status, 400);

    // DryRun and Event invocation types.
    let dry = conn.request(
        "POST",
        RIE_PATH,
        &[("X-Amz-Invocation-Type", "DryRun")],
        b"{}",
    );
    assert_eq!(dry.status, 204);
    let event = conn.request(
        "POST",
        RIE_PATH,
        &[("X-Amz-Invocation-Type", "Event")],
        br#"{"async":1}"#,
    );
    assert_eq!(event.status, 202);
    let id = event.header_str("x-amzn-requestid").unwrap();
    assert!(
        emu.wait_until(Duration::from_secs(60), |e| e.calls().iter().any(|c| {
            c.endpoint == Endpoint::Response && c.request_id.as_deref() == Some(id.as_str())
        }))
    );
}

#[test]
fn curl_can_invoke() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let output = Command::new("curl")
        .args(["-sS", "-d", r#"{"via":"curl"}"#, &emu.invoke_url()])
        .output()
        .expect("curl is installed");
    assert!(output.status.success(), "{output:?}");
    assert_eq!(String::from_utf8_lossy(&output.stdout), r#"{"via":"curl"}"#);
}

#[test]
fn init_error_and_timeout_over_http() {
    let emu = Emulator::start(bash("init-error")).unwrap();
    let reply = http_invoke(emu.addr(), RIE_PATH, &[], b"{}");
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.header_str("x-amz-function-error").as_deref(),
        Some("Unhandled")
    );
    assert_eq!(reply.json()["errorType"], "Runtime.InitError");
    drop(emu);

    let emu = Emulator::start(bash("normal").timeout(Duration::from_millis(1500))).unwrap();
    let reply = http_invoke(emu.addr(), RIE_PATH, &[], br#"{"sleep":60}"#);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header_str("x-amz-function-error").as_deref(),
        Some("Unhandled")
    );
    assert_eq!(
        reply.body_str(),
        r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 1.50 seconds"}"#
    );
}
