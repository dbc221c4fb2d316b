//! The Runtime API at the wire level: the test plays the function over a raw TCP connection
//! against an emulator without a process ([`Options::external`]).

mod common;

use std::thread::ScopedJoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use common::{Conn, Reply};
use lambda_emulator::{Emulator, Endpoint, Fault, InvokeResult, Options, Outcome, Target};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

fn response_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/response")
}

fn error_path(id: &str) -> String {
    format!("/2018-06-01/runtime/invocation/{id}/error")
}

fn external() -> Emulator {
    Emulator::start(Options::external().timeout(Duration::from_secs(30))).unwrap()
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn request_id(reply: &Reply) -> String {
    reply
        .header_str("lambda-runtime-aws-request-id")
        .expect("a request id")
}

fn join(handle: ScopedJoinHandle<'_, InvokeResult>) -> InvokeResult {
    handle.join().unwrap()
}

#[test]
fn keep_alive_chunked_and_content_length_posts() {
    let emu = external();
    std::thread::scope(|s| {
        let mut conn = Conn::connect(emu.addr());
        let first = s.spawn(|| emu.invoke(br#"{"a":1}"#).unwrap());
        let next = conn.request("GET", NEXT, &[], b"");
        assert_eq!(next.status, 200);
        assert_eq!(next.body, br#"{"a":1}"#);
        let id = request_id(&next);
        let accepted = conn.request_chunked(
            &response_path(&id),
            &[("Content-Type", "text/plain")],
            &[b"{\"ok\"", b":true}"],
            &[],
        );
        assert_eq!(
            (accepted.status, accepted.body_str()),
            (202, r#"{"status":"OK"}"#.to_owned())
        );
        let result = join(first);
        assert_eq!(result.body, br#"{"ok":true}"#);
        assert_eq!(result.content_type, "text/plain");

        let second = s.spawn(|| emu.invoke(br#"{"b":2}"#).unwrap());
        let next = conn.request("GET", NEXT, &[], b"");
        let id = request_id(&next);
        let accepted = conn.request("POST", &response_path(&id), &[], b"\"done\"");
        assert_eq!(accepted.status, 202);
        assert_eq!(join(second).body, b"\"done\"");

        // Out of order: a second answer before the next /next.
        let again = conn.request("POST", &error_path(&id), &[], b"{}");
        assert_eq!(again.status, 403);
        assert_eq!(again.json()["errorType"], "InvalidStateTransition");
        // Unknown id.
        let unknown = conn.request("POST", &response_path("nope"), &[], b"{}");
        assert_eq!(
            (unknown.status, unknown.body_str()),
            (
                400,
                r#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#
                    .to_owned()
            )
        );
        // Init is over.
        let late = conn.request("POST", "/2018-06-01/runtime/init/error", &[], b"{}");
        assert_eq!(late.status, 403);
        assert_eq!(late.json()["errorType"], "InvalidStateTransition");
        // Routing.
        assert_eq!(
            conn.request("GET", &response_path(&id), &[], b"").status,
            405
        );
        assert_eq!(
            conn.request("GET", "/2018-06-01/nothing", &[], b"").status,
            404
        );
        let ping = conn.request("GET", "/2018-06-01/ping", &[], b"");
        assert_eq!((ping.status, ping.body_str()), (200, "pong".to_owned()));
    });
    let calls = emu.calls();
    assert_eq!(calls.len(), 10);
    assert!(
        calls.iter().all(|c| c.connection == calls[0].connection),
        "one keep-alive connection"
    );
    assert_eq!(calls[1].header("transfer-encoding"), Some("chunked"));
    assert_eq!(calls[1].body_len, 11);
}

#[test]
fn a_response_for_a_timed_out_invocation_gets_400() {
    let emu = Emulator::start(Options::external().timeout(Duration::from_secs(1))).unwrap();
    std::thread::scope(|s| {
        let mut conn = Conn::connect(emu.addr());
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let result = join(pending);
        assert_eq!(result.outcome, Outcome::TimedOut);
        assert_eq!(
            result.body_str(),
            r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 1.00 seconds"}"#
        );
        let late = conn.request("POST", &response_path(&id), &[], b"{}");
        assert_eq!(late.status, 400);
        assert_eq!(late.json()["errorType"], "InvalidRequestID");
    });
}

#[test]
fn init_error_before_any_invocation_is_served_to_the_first() {
    let emu = external();
    let mut conn = Conn::connect(emu.addr());
    let posted = conn.request(
        "POST",
        "/2018-06-01/runtime/init/error",
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.Boom")],
        b"",
    );
    assert_eq!(posted.status, 202);
    let result = emu.invoke(b"{}").unwrap();
    assert_eq!((result.status, result.outcome), (502, Outcome::InitError));
    // No body: built from the error-type header.
    assert_eq!(
        result.body,
        br#"{"errorType":"Runtime.Boom","errorMessage":""}"#
    );
    assert_eq!(emu.errors()[0].error_type.as_deref(), Some("Runtime.Boom"));
}

#[test]
fn error_bodies_streaming_trailers_and_response_mode() {
    let emu = external();
    std::thread::scope(|s| {
        let mut conn = Conn::connect(emu.addr());

        // An X-Ray error cause is stripped from what the invoker sees.
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let posted = conn.request(
            "POST",
            &error_path(&id),
            &[
                (
                    "Content-Type",
                    "application/vnd.aws.lambda.error.cause+json",
                ),
                ("Lambda-Runtime-Function-Error-Type", "Function.Oops"),
            ],
            br#"{"errorMessage":"m","errorType":"Function.Oops","errorCause":{"paths":[]}}"#,
        );
        assert_eq!(posted.status, 202);
        let result = join(pending);
        assert_eq!(result.outcome, Outcome::FunctionError);
        assert_eq!(
            result.body,
            br#"{"errorMessage":"m","errorType":"Function.Oops"}"#
        );

        // A streamed response that fails midway reports the error in trailers.
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let error = br#"{"errorMessage":"mid-stream","errorType":"Function.Stream"}"#;
        let encoded = base64::engine::general_purpose::STANDARD.encode(error);
        let posted = conn.request_chunked(
            &response_path(&id),
            &[
                ("Lambda-Runtime-Function-Response-Mode", "streaming"),
                (
                    "Trailer",
                    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                ),
            ],
            &[b"partial"],
            &[
                ("Lambda-Runtime-Function-Error-Type", "Function.Stream"),
                ("Lambda-Runtime-Function-Error-Body", &encoded),
            ],
        );
        assert_eq!(posted.status, 202);
        let result = join(pending);
        assert_eq!(result.outcome, Outcome::FunctionError);
        assert_eq!(result.body, error);

        // A streamed response without error is delivered whole.
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let posted = conn.request_chunked(
            &response_path(&id),
            &[("Lambda-Runtime-Function-Response-Mode", "streaming")],
            &[b"one ", b"two"],
            &[],
        );
        assert_eq!(posted.status, 202);
        assert_eq!(join(pending).body, b"one two");

        // Any other response mode is refused.
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let posted = conn.request(
            "POST",
            &response_path(&id),
            &[("Lambda-Runtime-Function-Response-Mode", "bogus")],
            b"{}",
        );
        assert_eq!(posted.status, 400);
        assert_eq!(posted.json()["errorType"], "InvalidFunctionResponseMode");
        let result = join(pending);
        assert_eq!(result.outcome, Outcome::InvalidResponse);
        assert_eq!(
            result.error_type().as_deref(),
            Some("Runtime.InvalidResponseModeHeader")
        );
    });
}

/// Invoke once, fetch the event (with whatever fault is armed), answer it by id from the
/// records, and return the `/next` reply.
fn faulty_next(emu: &Emulator, event: &[u8]) -> Reply {
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(event).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let reply = conn.request("GET", NEXT, &[], b"");
        let id = emu
            .calls()
            .iter()
            .rev()
            .find(|c| c.endpoint == Endpoint::Next && c.status == Some(200))
            .and_then(|c| c.request_id.clone())
            .unwrap();
        let answered = Conn::connect(emu.addr()).request("POST", &response_path(&id), &[], b"{}");
        assert_eq!(answered.status, 202);
        assert_eq!(join(pending).outcome, Outcome::Response);
        reply
    })
}

#[test]
fn deadline_faults() {
    let emu = external();
    emu.inject(Target::Next, Fault::DeadlinePast);
    let before = now_ms();
    let past: u64 = faulty_next(&emu, b"{}")
        .header_str("lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(past < before, "{past} >= {before}");

    emu.inject(Target::Next, Fault::DeadlineAbsurd);
    let absurd = faulty_next(&emu, b"{}");
    assert_eq!(
        absurd.header_str("lambda-runtime-deadline-ms").as_deref(),
        Some("18446744073709551615")
    );

    emu.inject(Target::Any, Fault::Deadline(5));
    let tiny = faulty_next(&emu, b"{}");
    assert_eq!(
        tiny.header_str("lambda-runtime-deadline-ms").as_deref(),
        Some("5")
    );

    // Without a fault: a real one.
    let real: u64 = faulty_next(&emu, b"{}")
        .header_str("lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(real > now_ms());
    let faults: Vec<_> = emu
        .calls()
        .into_iter()
        .filter(|c| c.endpoint == Endpoint::Next)
        .map(|c| c.fault)
        .collect();
    assert_eq!(
        faults,
        [
            Some(Fault::DeadlinePast),
            Some(Fault::DeadlineAbsurd),
            Some(Fault::Deadline(5)),
            None
        ]
    );
}

#[test]
fn header_faults() {
    let emu = external();
    emu.inject(Target::Next, Fault::MissingRequestId);
    let missing = faulty_next(&emu, b"{}");
    assert_eq!(missing.status, 200);
    assert!(missing.header("lambda-runtime-aws-request-id").is_none());
    assert!(missing.header("lambda-runtime-deadline-ms").is_some());

    emu.inject(Target::Next, Fault::GarbageHeaders);
    let garbage = faulty_next(&emu, b"{}");
    assert!(garbage.header("lambda-runtime-aws-request-id").is_some());
    let deadline = garbage.header_str("lambda-runtime-deadline-ms").unwrap();
    assert!(deadline.parse::<u64>().is_err(), "{deadline}");
    let trace = garbage.header("lambda-runtime-trace-id").unwrap();
    assert!(std::str::from_utf8(trace).is_err());
    let arn = garbage
        .header("lambda-runtime-invoked-function-arn")
        .unwrap();
    assert!(std::str::from_utf8(arn).is_err());
}

#[test]
fn body_and_connection_faults_on_next() {
    let emu = external();
    let event = br#"{"hello":"world"}"#;

    emu.inject(Target::Next, Fault::TruncateBody);
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(event).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let truncated = conn.request("GET", NEXT, &[], b"");
        assert!(truncated.complete, "valid framing");
        assert_eq!(truncated.body, &event[..event.len() / 2]);
        assert_eq!(truncated.header_str("content-length").as_deref(), Some("8"));
        // The connection is still usable.
        let id = request_id(&truncated);
        assert_eq!(
            conn.request("POST", &error_path(&id), &[], b"{}").status,
            202
        );
        assert_eq!(join(pending).outcome, Outcome::FunctionError);
    });

    emu.inject(Target::Next, Fault::DropConnection);
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(event).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let dropped = conn.request("GET", NEXT, &[], b"");
        assert_eq!(dropped.status, 200);
        assert_eq!(dropped.header_str("content-length").as_deref(), Some("17"));
        assert!(!dropped.complete);
        assert_eq!(dropped.body, &event[..8]);
        assert!(conn.read_reply().is_none(), "connection closed");
        // The event counts as delivered: it can be answered on a new connection.
        let id = request_id(&dropped);
        let mut fresh = Conn::connect(emu.addr());
        assert_eq!(
            fresh.request("POST", &response_path(&id), &[], b"1").status,
            202
        );
        assert_eq!(join(pending).body, b"1");
    });

    emu.inject(Target::Next, Fault::Status(500));
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(event).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let refused = conn.request("GET", NEXT, &[], b"");
        assert_eq!(refused.status, 500);
        assert_eq!(refused.json()["errorType"], "InternalServerError");
        // Nothing was delivered: the next /next gets the event.
        let next = conn.request("GET", NEXT, &[], b"");
        assert_eq!((next.status, next.body.as_slice()), (200, &event[..]));
        let id = request_id(&next);
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"2").status,
            202
        );
        assert_eq!(join(pending).body, b"2");
    });

    emu.inject(Target::Next, Fault::Delay(Duration::from_millis(400)));
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(event).unwrap());
        let mut conn = Conn::connect(emu.addr());
        let next = conn.request("GET", NEXT, &[], b"");
        let id = request_id(&next);
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"3").status,
            202
        );
        assert_eq!(join(pending).body, b"3");
    });
    let delayed = emu
        .calls()
        .into_iter()
        .find(|c| c.fault == Some(Fault::Delay(Duration::from_millis(400))))
        .unwrap();
    assert!(delayed.responded_ms.unwrap() >= delayed.received_ms + 400);
}

#[test]
fn faults_on_posts() {
    let emu = external();
    std::thread::scope(|s| {
        let mut conn = Conn::connect(emu.addr());

        // Status: the post is not taken; a retry is.
        emu.inject(Target::Response, Fault::Status(500));
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let refused = conn.request("POST", &response_path(&id), &[], b"\"a\"");
        assert_eq!(refused.status, 500);
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"\"b\"")
                .status,
            202
        );
        assert_eq!(join(pending).body, b"\"b\"");

        // Delay.
        emu.inject(Target::Response, Fault::Delay(Duration::from_millis(400)));
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let started = Instant::now();
        assert_eq!(
            conn.request("POST", &response_path(&id), &[], b"1").status,
            202
        );
        assert!(started.elapsed() >= Duration::from_millis(400));
        join(pending);

        // Dropped after the head: the post was taken, the answer lost.
        emu.inject(Target::Error, Fault::DropConnection);
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn.request("GET", NEXT, &[], b""));
        let dropped = conn.request("POST", &error_path(&id), &[], br#"{"errorType":"E"}"#);
        assert_eq!(dropped.status, 202);
        assert!(!dropped.complete);
        assert!(conn.read_reply().is_none());
        assert_eq!(join(pending).outcome, Outcome::FunctionError);
        // A retry of the lost post is now out of order.
        let mut conn2 = Conn::connect(emu.addr());
        assert_eq!(
            conn2.request("POST", &error_path(&id), &[], b"{}").status,
            403
        );

        // Truncated answer; garbage content type.
        emu.inject(Target::Response, Fault::TruncateBody);
        emu.inject(Target::Error, Fault::GarbageHeaders);
        let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
        let id = request_id(&conn2.request("GET", NEXT, &[], b""));
        let truncated = conn2.request("POST", &response_path(&id), &[], b"1");
        assert_eq!(truncated.status, 202);
        assert!(truncated.complete, "valid framing");
        assert_eq!(truncated.body, br#"{"statu"#);
        join(pending);
        let garbage = conn2.request("POST", &error_path(&id), &[], b"{}");
        assert_eq!(garbage.status, 403);
        assert!(std::str::from_utf8(garbage.header("content-type").unwrap()).is_err());
    });
    let faults: Vec<_> = emu.calls().into_iter().filter_map(|c| c.fault).collect();
    assert_eq!(
        faults,
        [
            Fault::Status(500),
            Fault::Delay(Duration::from_millis(400)),
            Fault::DropConnection,
            Fault::TruncateBody,
            Fault::GarbageHeaders
        ]
    );
}

#[test]
fn events_are_capped_like_lambda() {
    let emu = external();
    let mut conn = Conn::connect(emu.addr());
    let big = vec![b'a'; lambda_emulator::MAX_PAYLOAD + 1];
    let refused = conn.request(
        "POST",
        "/2015-03-31/functions/function/invocations",
        &[],
        &big,
    );
    assert_eq!(refused.status, 413);
    assert_eq!(
        refused.header_str("x-amzn-errortype").as_deref(),
        Some("RequestTooLargeException")
    );
}

#[test]
fn an_abandoned_long_poll_does_not_swallow_events() {
    let emu = external();
    let abandoned = |e: &Emulator| {
        e.calls()
            .iter()
            .filter(|c| c.endpoint == Endpoint::Next && c.abandoned && c.status.is_none())
            .count()
    };
    for round in 0..5 {
        // A function asks for an event, and goes away before one arrives.
        {
            let mut gone = std::net::TcpStream::connect(emu.addr()).unwrap();
            std::io::Write::write_all(
                &mut gone,
                format!("GET {NEXT} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
            )
            .unwrap();
            assert!(emu.wait_until(Duration::from_secs(30), |e| {
                e.calls()
                    .iter()
                    .any(|c| c.endpoint == Endpoint::Next && c.status.is_none() && !c.abandoned)
            }));
        }
        // The server notices the closed connection and drops the waiting call.
        assert!(emu.wait_until(Duration::from_secs(30), |e| abandoned(e) == round + 1));
        // The next event must go to a live connection.
        std::thread::scope(|s| {
            let pending = s.spawn(|| emu.invoke(b"{}").unwrap());
            let mut conn = Conn::connect(emu.addr());
            let next = conn.request("GET", NEXT, &[], b"");
            let id = request_id(&next);
            assert_eq!(
                conn.request("POST", &response_path(&id), &[], b"1").status,
                202
            );
            assert_eq!(join(pending).outcome, Outcome::Response, "round {round}");
        });
    }
    assert_eq!(abandoned(&emu), 5);
}
