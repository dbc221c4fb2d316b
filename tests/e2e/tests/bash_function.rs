//! The emulator driven by the AWS-docs style bash + curl bootstrap
//! (`fixtures/bash-bootstrap.sh`): no dependency on our runtime.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{bash, bash_bootstrap};
use lambda_emulator::{
    Emulator, Endpoint, Invoke, LogStream, Options, Outcome, ResetReason, RuntimeCall, Signal,
};

const WAIT: Duration = Duration::from_secs(60);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// The `/next` calls that delivered an event.
fn deliveries(emu: &Emulator) -> Vec<RuntimeCall> {
    emu.calls()
        .into_iter()
        .filter(|c| c.endpoint == Endpoint::Next && c.status == Some(200))
        .collect()
}

fn posts(emu: &Emulator, endpoint: Endpoint) -> Vec<RuntimeCall> {
    emu.calls()
        .into_iter()
        .filter(|c| c.endpoint == endpoint)
        .collect()
}

fn wait_dispatched(emu: &Emulator, count: usize) {
    assert!(
        emu.wait_until(WAIT, |e| deliveries(e).len() >= count),
        "the function never took invocation {count}"
    );
}

#[test]
fn success_with_invocation_headers_and_records() {
    let emu = Emulator::start(bash("normal").function_name("hello").region("eu-west-1")).unwrap();
    let before = now_ms();
    let result = emu.invoke(br#"{"a":1}"#).unwrap();
    let after = now_ms();
    assert_eq!(result.status, 200, "{}", result.body_str());
    assert_eq!(result.body, br#"{"a":1}"#);
    assert_eq!(result.outcome, Outcome::Response);
    assert_eq!(result.function_error, None);
    assert_eq!(result.content_type, "application/json");

    let delivered = deliveries(&emu);
    assert_eq!(delivered.len(), 1);
    let next = &delivered[0];
    assert_eq!(next.method, "GET");
    assert_eq!(next.path, "/2018-06-01/runtime/invocation/next");
    assert_eq!(next.request_id.as_deref(), Some(result.request_id.as_str()));
    assert_eq!(next.response_body, br#"{"a":1}"#);
    assert_eq!(
        next.response_header("lambda-runtime-aws-request-id"),
        Some(result.request_id.as_str())
    );
    let deadline: u64 = next
        .response_header("lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (before + 20_000..=after + 20_000).contains(&deadline),
        "deadline {deadline} not invoke time + 20 s ({before}..{after})"
    );
    assert_eq!(
        next.response_header("lambda-runtime-invoked-function-arn"),
        Some("arn:aws:lambda:eu-west-1:000000000000:function:hello")
    );
    let trace = next.response_header("lambda-runtime-trace-id").unwrap();
    assert!(
        trace.starts_with("Root=1-") && trace.contains(";Parent=") && trace.ends_with(";Sampled=0"),
        "{trace}"
    );
    assert_eq!(
        next.response_header("content-type"),
        Some("application/json")
    );
    for absent in [
        "lambda-runtime-client-context",
        "lambda-runtime-cognito-identity",
        "lambda-runtime-aws-tenant-id",
        "lambda-runtime-invocation-id",
    ] {
        assert_eq!(next.response_header(absent), None, "{absent}");
    }

    let responses = posts(&emu, Endpoint::Response);
    assert_eq!(responses.len(), 1);
    let response = &responses[0];
    assert_eq!(response.method, "POST");
    assert_eq!(
        response.path,
        format!(
            "/2018-06-01/runtime/invocation/{}/response",
            result.request_id
        )
    );
    assert_eq!(response.status, Some(202));
    assert_eq!(response.body, br#"{"a":1}"#);
    assert_eq!(response.body_len, 7);
    assert_eq!(response.response_body, br#"{"status":"OK"}"#);
    assert!(response.received_ms >= next.responded_ms.unwrap());
    assert!(response.header("user-agent").unwrap().starts_with("curl/"));

    // The line went through a pipe that is read concurrently with the invocation.
    let init_logged = emu.wait_until(WAIT, |e| {
        e.logs().iter().any(|l| {
            l.stream == LogStream::Stderr
                && l.generation == 1
                && l.line.starts_with("bootstrap: init done (hello, 128 MB)")
        })
    });
    assert!(init_logged, "{:?}", emu.logs());
    assert_eq!(emu.starts(), 1);
    assert!(emu.pid().is_some());
    emu.stop().unwrap();
    assert_eq!(emu.pid(), None);
    assert_eq!(emu.exits()[0].reset, Some(ResetReason::Stop));
}

#[test]
fn lambda_environment() {
    let emu = Emulator::start(
        bash("normal")
            .function_name("env-fn")
            .memory_mb(512)
            .region("ap-southeast-2")
            .handler("my.handler")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("BOOTSTRAP_EXTRA", "extra"),
    )
    .unwrap();
    let result = emu.invoke(br#"{"env":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
    let env = result.json().unwrap();
    let expect = |name: &str, value: &str| assert_eq!(env[name], value, "{name} in {env}");
    expect("AWS_LAMBDA_RUNTIME_API", emu.runtime_api());
    assert_eq!(emu.runtime_api(), emu.addr().to_string());
    expect("AWS_REGION", "ap-southeast-2");
    expect("AWS_DEFAULT_REGION", "ap-southeast-2");
    expect("AWS_LAMBDA_FUNCTION_NAME", "env-fn");
    expect("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
    expect("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512");
    expect("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/env-fn");
    expect("_HANDLER", "my.handler");
    expect("LAMBDA_TASK_ROOT", env!("CARGO_MANIFEST_DIR"));
    expect("TZ", ":UTC");
    expect("BOOTSTRAP_EXTRA", "extra");
    assert!(env["AWS_LAMBDA_MAX_CONCURRENCY"].is_null(), "{env}");
    let stream = env["AWS_LAMBDA_LOG_STREAM_NAME"].as_str().unwrap();
    assert!(
        stream.contains("/[$LATEST]") && stream.len() == 10 + 1 + 9 + 32,
        "{stream}"
    );
}

#[test]
fn function_error_is_returned_with_unhandled() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let result = emu.invoke(br#"{"error":true}"#).unwrap();
    assert_eq!(result.status, 200);
    assert_eq!(result.outcome, Outcome::FunctionError);
    assert_eq!(result.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        result.body,
        br#"{"errorMessage":"failed on request","errorType":"Function.Failed"}"#
    );
    let errors = emu.errors();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].request_id.as_deref(),
        Some(result.request_id.as_str())
    );
    assert_eq!(errors[0].error_type.as_deref(), Some("Function.Failed"));
    assert_eq!(errors[0].status, Some(202));
    // The function keeps serving.
    let ok = emu.invoke(br#"{"b":2}"#).unwrap();
    assert_eq!(ok.outcome, Outcome::Response);
    assert_eq!(emu.starts(), 1);
}

#[test]
fn init_error_is_served_to_the_invoker_and_init_reruns() {
    let emu = Emulator::start(bash("init-error")).unwrap();
    for attempt in 1..=2 {
        let result = emu.invoke(b"{}").unwrap();
        assert_eq!(
            result.status,
            502,
            "attempt {attempt}: {}",
            result.body_str()
        );
        assert_eq!(result.outcome, Outcome::InitError);
        assert_eq!(result.function_error.as_deref(), Some("Unhandled"));
        assert_eq!(
            result.body,
            br#"{"errorMessage":"init failed on purpose","errorType":"Runtime.InitError"}"#
        );
    }
    assert_eq!(emu.starts(), 2, "each invoke re-runs init");
    let errors = emu.errors();
    assert_eq!(errors.len(), 2);
    for error in &errors {
        assert_eq!(error.request_id, None);
        assert_eq!(error.error_type.as_deref(), Some("Runtime.InitError"));
        assert_eq!(error.status, Some(202));
    }
    assert!(deliveries(&emu).is_empty());
}

#[test]
fn crash_during_init_is_an_exit_error() {
    let emu = Emulator::start(bash("init-crash")).unwrap();
    let result = emu.invoke(b"{}").unwrap();
    assert_eq!(result.status, 502, "{}", result.body_str());
    assert_eq!(result.outcome, Outcome::ExitError);
    assert_eq!(result.error_type().as_deref(), Some("Runtime.ExitError"));
    assert!(
        result
            .body_str()
            .contains("Runtime exited with error: exit status 3"),
        "{}",
        result.body_str()
    );
    assert!(
        emu.exits()
            .iter()
            .all(|e| e.code == Some(3) && e.reset.is_none())
    );
    assert!(emu.log_text().contains("bootstrap: crashing during init"));
}

#[test]
fn timeout_answers_sandbox_timedout_and_resets_the_function() {
    let emu = Emulator::start(bash("normal").timeout(Duration::from_secs(3))).unwrap();
    let result = emu.invoke(br#"{"sleep":120}"#).unwrap();
    assert_eq!(result.status, 200);
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert_eq!(result.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        result.body_str(),
        r#"{"errorType":"Sandbox.Timedout","errorMessage":"Task timed out after 3.00 seconds"}"#
    );
    assert!(
        result.duration >= Duration::from_secs(3) && result.duration < Duration::from_secs(60),
        "{:?}",
        result.duration
    );
    // Reset as Lambda does for a function with no extension registered: SIGKILL at once, no
    // SIGTERM.
    assert!(emu.wait_until(WAIT, |e| !e.exits().is_empty()));
    let exit = &emu.exits()[0];
    assert_eq!(exit.reset, Some(ResetReason::Timeout));
    assert_eq!(exit.signal, Some(9), "{exit:?}");
    assert!(exit.sigterm_ms.is_none() && exit.sigkilled, "{exit:?}");
    // The next invoke re-runs init.
    let result = emu.invoke(br#"{"b":2}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
    assert_eq!(emu.starts(), 2);
}

/// The deadline of the last delivered invocation, as the function got it.
fn last_deadline(emu: &Emulator) -> u64 {
    deliveries(emu)
        .last()
        .and_then(|c| c.response_header("Lambda-Runtime-Deadline-Ms"))
        .and_then(|v| v.parse().ok())
        .expect("a delivered invocation with its deadline")
}

/// Sleeps until `deadline_ms` has passed (plus slack, for the emulator's timer).
fn sleep_past(deadline_ms: u64) {
    let left = deadline_ms.saturating_sub(now_ms());
    std::thread::sleep(Duration::from_millis(left + 500));
}

/// As in Lambda, an invocation's timeout runs until the function asks for the next one: a
/// function that answers in time but is not back at `/next` by the deadline is reset then (its
/// invoker keeps the answer), and the next invoke starts it again; one back in time is kept.
#[test]
fn a_function_not_back_at_next_by_the_deadline_is_reset() {
    let emu = Emulator::start(bash("normal").timeout(Duration::from_secs(2))).unwrap();
    let quick = emu.invoke(br#"{"linger":0}"#).unwrap();
    assert_eq!(quick.outcome, Outcome::Response, "{}", quick.body_str());
    sleep_past(last_deadline(&emu));
    assert!(emu.exits().is_empty(), "{:?}", emu.exits());
    let lingering = emu.invoke(br#"{"linger":30}"#).unwrap();
    assert_eq!(lingering.outcome, Outcome::Response, "the answer stands");
    assert_eq!(lingering.body, br#"{"linger":30}"#);
    let deadline = last_deadline(&emu);
    assert!(
        emu.wait_until(WAIT, |e| !e.exits().is_empty()),
        "the lingering function was reset"
    );
    let exit = &emu.exits()[0];
    assert_eq!(exit.reset, Some(ResetReason::Timeout), "{exit:?}");
    let begin = &emu.shutdown_steps()[0];
    assert!(begin.at_ms >= deadline, "{begin:?}, deadline {deadline}");
    assert!(
        emu.log_text().contains("not back at /next by the deadline"),
        "{}",
        emu.log_text()
    );
    let after = emu.invoke(br#"{"after":1}"#).unwrap();
    assert_eq!(after.outcome, Outcome::Response, "{}", after.body_str());
    assert_eq!(emu.starts(), 2);
}

/// With concurrency, as in Lambda Managed Instances, a function not back at `/next` by the
/// deadline is kept.
#[test]
fn with_concurrency_a_function_not_back_at_next_is_kept() {
    let emu = Emulator::start(
        bash("normal")
            .concurrency(2)
            .timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let lingering = emu.invoke(br#"{"linger":30}"#).unwrap();
    assert_eq!(lingering.outcome, Outcome::Response);
    sleep_past(last_deadline(&emu));
    assert!(emu.exits().is_empty(), "{:?}", emu.exits());
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.starts(), 1);
}

#[test]
fn reset_gives_a_graceful_function_the_grace_period() {
    // The bash function registers no extension: SIGTERM only because the test asks for it.
    let options = bash("term-graceful")
        .timeout(Duration::from_secs(2))
        .sigterm_without_extensions(true);
    let emu = Emulator::start(options).unwrap();
    let result = emu.invoke(br#"{"sleep":120}"#).unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(emu.wait_until(WAIT, |e| !e.exits().is_empty()));
    let exit = &emu.exits()[0];
    assert!(exit.success(), "{exit:?}");
    assert!(!exit.sigkilled);
    assert!(exit.ms_after_sigterm().unwrap() < 2000, "{exit:?}");
    assert!(
        emu.log_text()
            .contains("bootstrap: SIGTERM received, exiting")
    );
}

#[test]
fn reset_kills_a_function_that_ignores_sigterm_after_the_grace_period() {
    let emu = Emulator::start(
        bash("term-ignore")
            .timeout(Duration::from_secs(2))
            .sigterm_without_extensions(true)
            .shutdown_grace(Duration::from_millis(700)),
    )
    .unwrap();
    let result = emu.invoke(br#"{"sleep":120}"#).unwrap();
    assert_eq!(result.outcome, Outcome::TimedOut);
    assert!(emu.wait_until(WAIT, |e| !e.exits().is_empty()));
    let exit = &emu.exits()[0];
    assert!(exit.sigkilled, "{exit:?}");
    assert_eq!(exit.signal, Some(9));
    // SIGTERM came first (the function says it ignored it), then SIGKILL; how long after is the
    // emulator's timing, not asserted here.
    assert!(exit.sigterm_ms.is_some(), "{exit:?}");
    assert!(emu.log_text().contains("bootstrap: SIGTERM ignored"));
    // And it comes back.
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.starts(), 2);
}

#[test]
fn crash_mid_invocation_is_reported_and_the_function_restarted() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let result = emu.invoke(br#"{"crash":4}"#).unwrap();
    assert_eq!(result.status, 502);
    assert_eq!(result.outcome, Outcome::ExitError);
    assert_eq!(result.function_error.as_deref(), Some("Unhandled"));
    let body = result.json().unwrap();
    assert_eq!(body["errorType"], "Runtime.ExitError");
    assert_eq!(
        body["errorMessage"],
        format!(
            "RequestId: {} Error: Runtime exited with error: exit status 4",
            result.request_id
        )
    );
    let exit = &emu.exits()[0];
    assert_eq!((exit.code, exit.reset), (Some(4), None));

    let result = emu.invoke(br#"{"b":2}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
    assert_eq!(emu.starts(), 2);
}

#[test]
fn unknown_request_id_gets_400() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let result = emu.invoke(br#"{"badid":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response);
    let bad: Vec<_> = posts(&emu, Endpoint::Response)
        .into_iter()
        .filter(|c| c.request_id.as_deref() == Some("no-such-request-id"))
        .collect();
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].status, Some(400));
    assert_eq!(
        bad[0].response_body,
        br#"{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"}"#
    );
}

#[test]
fn second_response_before_next_gets_403() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let result = emu.invoke(br#"{"twice":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response);
    assert_eq!(result.body, br#"{"twice":1}"#);
    // A call is recorded when it arrives and again, with its status, when it is answered.
    assert!(emu.wait_until(WAIT, |e| {
        let posts = posts(e, Endpoint::Response);
        posts.len() == 2 && posts.iter().all(|c| c.status.is_some())
    }));
    let statuses: Vec<_> = posts(&emu, Endpoint::Response)
        .iter()
        .map(|c| (c.request_id.clone().unwrap(), c.status))
        .collect();
    assert_eq!(
        statuses,
        [
            (result.request_id.clone(), Some(202)),
            (result.request_id.clone(), Some(403))
        ]
    );
    let second = &posts(&emu, Endpoint::Response)[1];
    assert_eq!(
        second.response_json().unwrap()["errorType"],
        "InvalidStateTransition"
    );
}

#[test]
fn response_size_limit_is_6291556_bytes() {
    let emu = Emulator::start(bash("normal")).unwrap();
    // The body is N "a"s plus two quotes.
    let at_limit = emu.invoke(br#"{"big":6291554}"#).unwrap();
    assert_eq!(at_limit.outcome, Outcome::Response);
    assert_eq!(at_limit.body.len(), 6_291_556);

    let over = emu.invoke(br#"{"big":6291555}"#).unwrap();
    assert_eq!(over.status, 200);
    assert_eq!(over.outcome, Outcome::ResponseTooLarge);
    assert_eq!(over.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(
        over.error_type().as_deref(),
        Some("Function.ResponseSizeTooLarge")
    );
    let posted = posts(&emu, Endpoint::Response);
    assert_eq!(
        posted.iter().map(|c| c.status).collect::<Vec<_>>(),
        [Some(202), Some(413)]
    );
    assert_eq!(posted[1].body_len, 6_291_557);
    assert_eq!(
        posted[1].response_json().unwrap()["errorType"],
        "RequestEntityTooLarge"
    );
}

#[test]
fn invocations_are_queued_in_order() {
    let emu = Emulator::start(bash("normal")).unwrap();
    let events: Vec<String> = (0..5).map(|i| format!(r#"{{"i":{i}}}"#)).collect();
    let results: Vec<_> = emu
        .invoke_many(events.iter().map(String::as_str))
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for (event, result) in events.iter().zip(&results) {
        assert_eq!(result.outcome, Outcome::Response);
        assert_eq!(result.body, event.as_bytes());
    }
    let dispatched: Vec<_> = deliveries(&emu)
        .into_iter()
        .map(|c| c.request_id.unwrap())
        .collect();
    let submitted: Vec<_> = results.iter().map(|r| r.request_id.clone()).collect();
    assert_eq!(dispatched, submitted);
}

#[test]
fn concurrency_runs_up_to_n_at_once() {
    let emu = Emulator::start(bash("normal").concurrency(2)).unwrap();
    let results = emu.invoke_many((0..4).map(|i| format!(r#"{{"sleep":2,"i":{i}}}"#)));
    for result in results {
        assert_eq!(result.unwrap().outcome, Outcome::Response);
    }
    // From the records: how many invocations were between delivery and answer at once.
    let mut points: Vec<(u64, i32)> = Vec::new();
    for call in deliveries(&emu) {
        points.push((call.responded_ms.unwrap(), 1));
    }
    for call in posts(&emu, Endpoint::Response) {
        points.push((call.received_ms, -1));
    }
    points.sort(); // at equal times, answers (-1) first
    let mut running = 0;
    let mut peak = 0;
    for (_, delta) in points {
        running += delta;
        peak = peak.max(running);
    }
    assert_eq!(peak, 2);
    let env = emu.invoke(br#"{"env":1}"#).unwrap().json().unwrap();
    assert_eq!(env["AWS_LAMBDA_MAX_CONCURRENCY"], "2");
}

#[test]
fn sigterm_mid_invocation() {
    let emu = Emulator::start(bash("term-graceful")).unwrap();
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(br#"{"sleep":120}"#).unwrap());
        wait_dispatched(&emu, 1);
        emu.signal(Signal::Term).unwrap();
        let result = pending.join().unwrap();
        assert_eq!(result.status, 502);
        assert_eq!(result.outcome, Outcome::ExitError);
        assert!(
            result
                .body_str()
                .contains("Runtime exited without providing a reason"),
            "{}",
            result.body_str()
        );
    });
    let exit = &emu.exits()[0];
    assert!(
        exit.success() && !exit.sigkilled && exit.reset.is_none(),
        "{exit:?}"
    );
    assert!(exit.ms_after_sigterm().unwrap() < 2000, "{exit:?}");
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.starts(), 2);
}

#[test]
fn stop_answers_pending_invocations() {
    let emu = Emulator::start(bash("normal")).unwrap();
    std::thread::scope(|s| {
        let pending = s.spawn(|| emu.invoke(br#"{"sleep":120}"#).unwrap());
        wait_dispatched(&emu, 1);
        emu.stop().unwrap();
        let result = pending.join().unwrap();
        assert_eq!((result.status, result.outcome), (503, Outcome::Stopped));
    });
    assert_eq!(emu.exits().len(), 1);
    assert_eq!(emu.exits()[0].reset, Some(ResetReason::Stop));
    emu.stop().unwrap();
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Stopped);
}

#[test]
fn runtime_api_prefix() {
    let emu = Emulator::start(bash("normal").runtime_api_prefix("/.rt/fn/")).unwrap();
    assert_eq!(emu.runtime_api(), format!("http://{}/.rt/fn", emu.addr()));
    let result = emu.invoke(br#"{"a":1}"#).unwrap();
    assert_eq!(result.outcome, Outcome::Response, "{}", result.body_str());
    let calls = emu.calls();
    assert!(!calls.is_empty());
    assert!(
        calls
            .iter()
            .all(|c| c.path.starts_with("/.rt/fn/2018-06-01/runtime/")),
        "{calls:?}"
    );
}

#[test]
fn invoke_context_headers_are_delivered() {
    let emu = Emulator::start(bash("normal").invocation_id(true)).unwrap();
    let result = emu
        .invoke(
            Invoke::new(br#"{"a":1}"#.to_vec())
                .client_context(r#"{ "custom": {"k": "v"} }"#)
                .cognito_identity(r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#)
                .tenant_id("tenant-7"),
        )
        .unwrap();
    assert_eq!(result.outcome, Outcome::Response);
    let next = &deliveries(&emu)[0];
    assert_eq!(
        next.response_header("lambda-runtime-client-context"),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(
        next.response_header("lambda-runtime-cognito-identity"),
        Some(r#"{"cognitoIdentityId":"id","cognitoIdentityPoolId":"pool"}"#)
    );
    assert_eq!(
        next.response_header("lambda-runtime-aws-tenant-id"),
        Some("tenant-7")
    );
    let nonce = next
        .response_header("lambda-runtime-invocation-id")
        .unwrap();
    assert!(!nonce.is_empty() && nonce != result.request_id);
    // A fresh nonce per invocation.
    emu.invoke(b"{}").unwrap();
    let second = &deliveries(&emu)[1];
    assert_ne!(
        second.response_header("lambda-runtime-invocation-id"),
        Some(nonce)
    );
    assert!(
        emu.invoke(Invoke::new(b"{}".to_vec()).client_context("not json"))
            .is_err()
    );
}

#[test]
fn a_missing_binary_fails_start() {
    let err = Emulator::start(Options::new(["/nonexistent/bootstrap"])).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    // The fixture path helper points at a real file.
    assert!(std::path::Path::new(&bash_bootstrap()).is_file());
}

#[test]
fn with_concurrency_a_timeout_does_not_reset_and_a_late_answer_gets_410() {
    let emu = Emulator::start(
        bash("normal")
            .concurrency(2)
            .timeout(Duration::from_secs(2)),
    )
    .unwrap();
    let late = emu.invoke(br#"{"sleep":4}"#).unwrap();
    assert_eq!(late.outcome, Outcome::TimedOut);
    // The function finishes the sleep and answers; too late. (Calls are recorded on arrival:
    // wait for the answer too.)
    assert!(emu.wait_until(WAIT, |e| {
        posts(e, Endpoint::Response)
            .first()
            .is_some_and(|c| c.status.is_some())
    }));
    let answer = &posts(&emu, Endpoint::Response)[0];
    assert_eq!(answer.request_id.as_deref(), Some(late.request_id.as_str()));
    assert_eq!(answer.status, Some(410));
    assert_eq!(
        answer.response_body,
        br#"{"errorMessage":"Invoke timeout","errorType":"InvokeTimeout"}"#
    );
    assert_eq!(emu.invoke(b"{}").unwrap().outcome, Outcome::Response);
    assert_eq!(emu.starts(), 1);
    assert!(emu.exits().is_empty());
}
