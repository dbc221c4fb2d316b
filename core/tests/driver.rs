//! The driver end to end against the in-memory Runtime API: real HTTP bytes, no socket, no
//! executor crate.
#![cfg(feature = "std")]

use std::sync::atomic::{AtomicUsize, Ordering};

use lambda_runtime_types::testing::{
    FakeFault, FakeRuntimeApi, MemoryExecutor, PostKind, block_on, exec_test,
};
use lambda_runtime_types::{
    Config, Diagnostic, LambdaEvent, Runner, driver, lifecycle::ExitReason,
};
use serde_json::{Value, json};

// --- the seed crate's three examples, ported by deleting `#[async_trait]` -------------------

mod seed_basic {
    pub struct Runner;
    impl<'a> lambda_runtime_types::Runner<'a, (), (), ()> for Runner {
        async fn run(
            _shared: &'a (),
            _event: lambda_runtime_types::LambdaEvent<'a, ()>,
        ) -> anyhow::Result<()> {
            Ok(())
        }
        async fn setup(_region: &'a str) -> anyhow::Result<()> {
            Ok(())
        }
    }
}

mod seed_custom {
    #[derive(serde::Deserialize, Debug)]
    pub struct Event {
        #[serde(flatten)]
        attributes: std::collections::HashMap<String, serde_json::Value>,
    }
    #[derive(serde::Serialize, Debug)]
    pub struct Return {
        data: std::borrow::Cow<'static, str>,
    }
    pub struct Runner;
    impl<'a> lambda_runtime_types::Runner<'a, (), Event, Return> for Runner {
        async fn run(
            _shared: &'a (),
            event: lambda_runtime_types::LambdaEvent<'a, Event>,
        ) -> anyhow::Result<Return> {
            Ok(Return {
                data: event
                    .event
                    .attributes
                    .get("test")
                    .and_then(|a| a.as_str())
                    .map(ToOwned::to_owned)
                    .map(Into::into)
                    .unwrap_or_else(|| "none".into()),
            })
        }
        async fn setup(_region: &'a str) -> anyhow::Result<()> {
            Ok(())
        }
    }
}

mod seed_shared {
    #[derive(Default)]
    pub struct Shared {
        pub invocations: tokio::sync::Mutex<u64>,
    }
    pub struct Runner;
    impl<'a> lambda_runtime_types::Runner<'a, Shared, (), u64> for Runner {
        async fn run(
            shared: &'a Shared,
            _event: lambda_runtime_types::LambdaEvent<'a, ()>,
        ) -> anyhow::Result<u64> {
            let mut invocations = shared.invocations.lock().await;
            *invocations += 1;
            Ok(*invocations)
        }
        async fn setup(_region: &'a str) -> anyhow::Result<Shared> {
            Ok(Shared::default())
        }
    }
}

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn seed_examples_run_on_the_seed_test_data() {
    let r = block_on(exec_test::<_, _, seed_basic::Runner, _>(&data(
        "basic.json",
    )))
    .unwrap();
    assert_eq!(r, [Ok(Value::Null)]);

    let r = block_on(exec_test::<_, _, seed_custom::Runner, _>(&data(
        "shared_data.json",
    )))
    .unwrap();
    let got: Vec<_> = r.into_iter().map(|o| o.unwrap()["data"].clone()).collect();
    assert_eq!(got, [json!("test"), json!("test"), json!("test2")]);

    let r = block_on(exec_test::<_, _, seed_shared::Runner, _>(&data(
        "shared_data.json",
    )))
    .unwrap();
    assert_eq!(
        r,
        [Ok(json!(1)), Ok(json!(2)), Ok(json!(3))],
        "shared data persists"
    );
}

// --- a probe-like runner ----------------------------------------------------------------

static CALLS: AtomicUsize = AtomicUsize::new(0);

#[derive(serde::Deserialize)]
struct Cmd {
    action: String,
    #[serde(default)]
    n: u64,
}

struct Probe;
impl<'a> Runner<'a, (), Cmd, Value> for Probe {
    async fn setup(region: &'a str) -> anyhow::Result<()> {
        anyhow::ensure!(region != "fail-setup", "no credentials for {region}");
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        CALLS.fetch_add(1, Ordering::SeqCst);
        match event.event.action.as_str() {
            "ok" => Ok(json!({"n": event.event.n, "id": event.ctx.request_id})),
            "error" => Err(anyhow::anyhow!("disk full").context("saving")),
            "typed" => Err(Diagnostic::new("Function.Validation", "n must be even").into()),
            "panic" => panic!("probe panicked"),
            "big" => Ok(Value::String("x".repeat(event.event.n as usize))),
            other => Ok(json!(other)),
        }
    }
}

/// Runs `Probe` against `api` until the API has nothing more to serve (or the runtime exits).
fn drive(api: &FakeRuntimeApi, lanes: usize) -> Option<ExitReason> {
    let exec = MemoryExecutor::new(api.clone());
    let mut config = Config::for_endpoint(api.endpoint());
    config.max_concurrency = lanes;
    config.region = "eu-west-1".into();
    block_on(async {
        let mut run = std::pin::pin!(driver::run::<_, (), Cmd, Probe, Value>(&exec, config));
        std::future::poll_fn(|cx| {
            if let std::task::Poll::Ready(r) = run.as_mut().poll(cx) {
                return std::task::Poll::Ready(Some(r));
            }
            if api.idle(cx.waker()) {
                std::task::Poll::Ready(None)
            } else {
                std::task::Poll::Pending
            }
        })
        .await
    })
}

fn body(p: &lambda_runtime_types::testing::RecordedPost) -> Value {
    serde_json::from_slice(&p.body).unwrap()
}

#[test]
fn responses_errors_and_panics_are_each_reported_once() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"action":"ok","n":1}"#.to_vec());
    api.push("b", br#"{"action":"error"}"#.to_vec());
    api.push("c", br#"{"action":"typed"}"#.to_vec());
    api.push("d", br#"{"action":"panic"}"#.to_vec());
    api.push("e", br#"{"action":"ok","n":5}"#.to_vec());
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    let ids: Vec<_> = posts
        .iter()
        .map(|p| p.request_id.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["a", "b", "c", "d", "e"],
        "one report per invocation, in order"
    );

    assert_eq!(posts[0].kind, PostKind::Response);
    assert_eq!(body(&posts[0]), json!({"n": 1, "id": "a"}));

    assert_eq!(posts[1].kind, PostKind::Error);
    assert_eq!(
        posts[1].error_type.as_deref(),
        Some("Function.HandlerError")
    );
    assert_eq!(
        body(&posts[1]),
        json!({"errorType": "Function.HandlerError", "errorMessage": "saving",
               "stackTrace": ["caused by: disk full"]})
    );

    assert_eq!(posts[2].error_type.as_deref(), Some("Function.Validation"));
    assert_eq!(body(&posts[2])["errorMessage"], "n must be even");

    assert_eq!(posts[3].error_type.as_deref(), Some("Function.Panic"));
    assert!(
        body(&posts[3])["errorMessage"]
            .as_str()
            .unwrap()
            .contains("probe panicked")
    );

    assert_eq!(
        posts[4].kind,
        PostKind::Response,
        "the environment keeps serving after a panic"
    );
}

#[test]
fn an_invalid_event_is_reported_and_the_handler_not_called() {
    let api = FakeRuntimeApi::new();
    api.push("bad-json", b"{\"action\": ".to_vec());
    api.push("bad-shape", b"{\n  \"action\": 7\n}".to_vec());
    api.push("fine", br#"{"action":"ok"}"#.to_vec());
    let before = CALLS.load(Ordering::SeqCst);
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    for p in &posts[..2] {
        assert_eq!(p.kind, PostKind::Error);
        assert_eq!(p.error_type.as_deref(), Some("Runtime.InvalidEvent"));
    }
    let msg = body(&posts[1])["errorMessage"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("invalid type: integer `7`") && msg.contains("line 2 column"),
        "{msg}"
    );
    assert_eq!(posts[2].kind, PostKind::Response);
    // Other tests run `Probe` concurrently, so count only at least one call: "fine".
    assert!(CALLS.load(Ordering::SeqCst) > before);
    let posted_ids: Vec<_> = posts
        .iter()
        .map(|p| p.request_id.clone().unwrap())
        .collect();
    assert_eq!(posted_ids, ["bad-json", "bad-shape", "fine"]);
}

#[test]
fn posts_with_the_longest_ids_are_sent_whole() {
    // An error post for a 128-byte request id with a 128-byte invocation id has a head of
    // more than 512 bytes, the room a head is first encoded into.
    let (id, nonce) = ("r".repeat(128), "n".repeat(128));
    let api = FakeRuntimeApi::new();
    api.push_with_headers(
        &id,
        br#"{"action":"error"}"#.to_vec(),
        &[("Lambda-Runtime-Invocation-Id", &nonce)],
    );
    api.push(&id, br#"{"action":"ok"}"#.to_vec());
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].kind, PostKind::Error);
    assert_eq!(posts[0].request_id.as_deref(), Some(id.as_str()));
    assert_eq!(posts[0].invocation_id.as_deref(), Some(nonce.as_str()));
    assert_eq!(
        posts[0].error_type.as_deref(),
        Some("Function.HandlerError")
    );
    assert_eq!(posts[1].kind, PostKind::Response);
    assert_eq!(posts[1].request_id.as_deref(), Some(id.as_str()));
}

#[test]
fn invocation_id_is_echoed_and_missing_request_ids_are_skipped() {
    let api = FakeRuntimeApi::new();
    api.push_with_headers(
        "x",
        br#"{"action":"ok"}"#.to_vec(),
        &[("Lambda-Runtime-Aws-Request-Id", "")],
    );
    api.push_with_headers(
        "y",
        br#"{"action":"ok"}"#.to_vec(),
        &[("Lambda-Runtime-Invocation-Id", "nonce-7")],
    );
    api.push_with_headers(
        "z",
        br#"{"action":"error"}"#.to_vec(),
        &[("Lambda-Runtime-Invocation-Id", "nonce-8")],
    );
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(
        posts.len(),
        2,
        "the invocation without an id cannot be reported"
    );
    assert_eq!(posts[0].invocation_id.as_deref(), Some("nonce-7"));
    assert_eq!(posts[1].invocation_id.as_deref(), Some("nonce-8"));
}

#[test]
fn too_large_responses_become_errors() {
    let api = FakeRuntimeApi::new();
    api.push("big", br#"{"action":"big","n":7000000}"#.to_vec());
    api.push("next", br#"{"action":"ok"}"#.to_vec());
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(
        posts[0].error_type.as_deref(),
        Some("Runtime.ResponseTooLarge")
    );
    assert_eq!(posts[1].kind, PostKind::Response);
}

#[test]
fn server_errors_exit_promptly() {
    for call in [0, 1] {
        let api = FakeRuntimeApi::new();
        api.push("a", br#"{"action":"ok"}"#.to_vec());
        api.push("b", br#"{"action":"ok"}"#.to_vec());
        api.force_status(call, 500);
        assert_eq!(
            drive(&api, 1),
            Some(ExitReason::ServerError { status: 500 }),
            "call {call}"
        );
        assert!(api.posts().is_empty());
        assert!(api.fetches() <= 1, "nothing after the 500");
    }
}

#[test]
fn rejected_reports_are_not_retried_and_the_loop_carries_on() {
    for status in [400, 403, 410, 413] {
        let api = FakeRuntimeApi::new();
        api.push("a", br#"{"action":"error"}"#.to_vec());
        api.push("b", br#"{"action":"ok"}"#.to_vec());
        // Calls: 0 /next a, 1 /error a (rejected), 2 /next b, 3 /response b.
        api.force_status(1, status);
        assert_eq!(drive(&api, 1), None, "{status}");
        let posts = api.posts();
        assert_eq!(
            posts.len(),
            1,
            "{status}: the rejected report is not sent again"
        );
        assert_eq!(posts[0].request_id.as_deref(), Some("b"));
    }
}

#[test]
fn a_413_on_a_response_becomes_an_error_for_the_same_id() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"action":"ok"}"#.to_vec());
    api.force_status(1, 413);
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].request_id.as_deref(), Some("a"));
    assert_eq!(
        posts[0].error_type.as_deref(),
        Some("Runtime.ResponseTooLarge")
    );
}

#[test]
fn a_refused_next_is_retried_after_a_backoff() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"action":"ok"}"#.to_vec());
    api.force_status(0, 403);
    assert_eq!(drive(&api, 1), None);
    assert_eq!(api.posts()[0].request_id.as_deref(), Some("a"));
}

#[test]
fn setup_errors_are_posted_to_init_error() {
    struct Failing;
    impl<'a> Runner<'a, (), (), ()> for Failing {
        async fn setup(_: &'a str) -> anyhow::Result<()> {
            Err(anyhow::anyhow!("no credentials"))
        }
        async fn run(_: &'a (), _: LambdaEvent<'a, ()>) -> anyhow::Result<()> {
            unreachable!("never runs")
        }
    }
    let api = FakeRuntimeApi::new();
    api.push("a", b"{}".to_vec());
    let exec = MemoryExecutor::new(api.clone());
    let config = Config::for_endpoint(api.endpoint());
    let reason = block_on(driver::run::<_, (), (), Failing, ()>(&exec, config));
    assert_eq!(reason, ExitReason::SetupFailed);
    let posts = api.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].kind, PostKind::InitError);
    assert_eq!(posts[0].error_type.as_deref(), Some("Function.SetupError"));
    assert_eq!(body(&posts[0])["errorMessage"], "no credentials");
    assert_eq!(
        api.fetches(),
        0,
        "no invocation is taken after a failed setup"
    );

    let err = block_on(exec_test::<_, _, Failing, _>(
        r#"{"region":"x","invocations":[{}]}"#,
    ));
    assert!(err.unwrap_err().to_string().contains("no credentials"));
}

#[test]
fn lanes_run_concurrently_and_each_report_once() {
    let api = FakeRuntimeApi::new();
    for n in 0..12 {
        api.push(
            &format!("r{n}"),
            format!(r#"{{"action":"ok","n":{n}}}"#).into_bytes(),
        );
    }
    assert_eq!(drive(&api, 4), None);
    let mut ids: Vec<_> = api
        .posts()
        .iter()
        .map(|p| p.request_id.clone().unwrap())
        .collect();
    ids.sort();
    let mut want: Vec<_> = (0..12).map(|n| format!("r{n}")).collect();
    want.sort();
    assert_eq!(ids, want);
}

#[test]
fn a_post_whose_connection_drops_is_sent_again_whole() {
    let api = FakeRuntimeApi::new();
    api.push("a", br#"{"action":"ok","n":7}"#.to_vec());
    api.push("b", br#"{"action":"error"}"#.to_vec());
    // Calls: 0 /next a, 1 /response a (dropped), 2 /response a, 3 /next b, 4 /error b (dropped),
    // 5 /error b.
    api.fault(1, FakeFault::Close);
    api.fault(4, FakeFault::Close);
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert_eq!(body(&posts[0]), json!({"n": 7, "id": "a"}));
    assert_eq!(body(&posts[1])["errorMessage"], "saving");
}

#[test]
fn an_event_cut_off_in_transit_is_reported_not_lost() {
    let api = FakeRuntimeApi::new();
    api.push("cut", br#"{"action":"ok","n":123456789}"#.to_vec());
    api.push("next", br#"{"action":"ok"}"#.to_vec());
    api.fault(0, FakeFault::CutBody);
    assert_eq!(drive(&api, 1), None);
    let posts = api.posts();
    assert_eq!(posts[0].request_id.as_deref(), Some("cut"));
    assert_eq!(
        posts[0].error_type.as_deref(),
        Some("Runtime.TruncatedEvent")
    );
    assert_eq!(posts[1].request_id.as_deref(), Some("next"));
    assert_eq!(posts[1].kind, PostKind::Response);
}

/// An event type whose `Deserialize` panics on a magic value, and a return type whose
/// `Serialize` panics: user code the runtime runs outside `run`.
#[derive(Debug)]
struct Touchy(u8);

impl<'de> serde::Deserialize<'de> for Touchy {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = u8::deserialize(d)?;
        assert_ne!(n, 13, "unlucky event");
        Ok(Touchy(n))
    }
}

impl serde::Serialize for Touchy {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert_ne!(self.0, 7, "unlucky response");
        s.serialize_u8(self.0)
    }
}

struct TouchyRunner;
impl<'a> Runner<'a, (), Touchy, Touchy> for TouchyRunner {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Touchy>) -> anyhow::Result<Touchy> {
        Ok(event.event)
    }
}

#[test]
fn panics_in_user_serde_impls_are_reported_and_the_runtime_carries_on() {
    let r = block_on(exec_test::<_, _, TouchyRunner, _>(
        r#"{"region":"x","invocations":[13, 7, 1]}"#,
    ))
    .unwrap();
    assert_eq!(r[0].as_ref().unwrap_err().error_type, "Function.Panic");
    assert!(
        r[0].as_ref()
            .unwrap_err()
            .error_message
            .contains("unlucky event")
    );
    assert_eq!(r[1].as_ref().unwrap_err().error_type, "Function.Panic");
    assert!(
        r[1].as_ref()
            .unwrap_err()
            .error_message
            .contains("unlucky response")
    );
    assert_eq!(r[2], Ok(json!(1)));
}
