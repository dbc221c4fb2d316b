//! Streamed responses under the real driver and the in-memory Runtime API: chunks posted as a
//! chunked `/response` in streaming mode, a failure after the first chunk in the trailers, a
//! failure before it as a plain `/error`, and buffered responses from the same function.
#![cfg(feature = "std")]

use base64::Engine as _;
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, PostKind, run_virtual};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};

/// What the probe does: stream `chunks` chunks (failing after `fail_after`, or panicking), use
/// the HTTP-integration prelude, fail before any chunk, or answer buffered.
#[derive(serde::Deserialize)]
struct Cmd {
    #[serde(default)]
    chunks: u32,
    fail_after: Option<u32>,
    #[serde(default)]
    panic: bool,
    #[serde(default)]
    http: bool,
    #[serde(default)]
    fail_first: bool,
}

struct Streamer;
impl<'a> Runner<'a, (), Cmd, Value> for Streamer {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Cmd>) -> anyhow::Result<Value> {
        let cmd = event.event;
        let stream = event.ctx.stream();
        anyhow::ensure!(!cmd.fail_first, "refused before any chunk");
        if cmd.http {
            stream.http(
                201,
                &[("content-type", "text/plain"), ("x-a", "1")],
                &["c=1"],
            )?;
        } else if cmd.chunks > 0 {
            stream.content_type("text/plain")?;
        }
        for n in 0..cmd.chunks {
            if cmd.fail_after == Some(n) {
                assert!(!cmd.panic, "the stream panicked after {n} chunks");
                anyhow::bail!("broke after {n} chunks");
            }
            stream.send(format!("chunk {n};")).await?;
        }
        Ok(json!({"buffered": cmd.chunks == 0 && !cmd.http}))
    }
}

#[test]
fn streamed_and_buffered_responses_from_one_function() {
    let api = FakeRuntimeApi::new();
    api.push("stream", br#"{"chunks":3}"#.to_vec());
    api.push("fails", br#"{"chunks":3,"fail_after":2}"#.to_vec());
    api.push(
        "panics",
        br#"{"chunks":3,"fail_after":1,"panic":true}"#.to_vec(),
    );
    api.push("early", br#"{"chunks":3,"fail_first":true}"#.to_vec());
    api.push("buffered", br#"{}"#.to_vec());
    api.push("http", br#"{"chunks":1,"http":true}"#.to_vec());
    let exec = MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().expect("a virtual clock").clone();
    let config = Config::for_endpoint(api.endpoint());
    let exited = run_virtual(
        &clock,
        driver::run::<_, (), Cmd, Streamer, Value>(&exec, config),
    );
    assert_eq!(exited, None);
    let posts = api.posts();
    let post = |id: &str| {
        posts
            .iter()
            .find(|p| p.request_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no post for {id}: {posts:?}"))
    };
    let trailer_body = |id: &str| -> Value {
        let b64 = post(id)
            .error_body
            .as_deref()
            .expect("an error body trailer");
        let json = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        serde_json::from_slice(&json).unwrap()
    };

    let ok = post("stream");
    assert_eq!((ok.kind, ok.streamed), (PostKind::Response, true));
    assert_eq!(ok.content_type.as_deref(), Some("text/plain"));
    assert_eq!(ok.body, b"chunk 0;chunk 1;chunk 2;");
    assert_eq!(
        ok.error_type, None,
        "no trailers for a stream that ends well"
    );

    let failed = post("fails");
    assert_eq!((failed.kind, failed.streamed), (PostKind::Response, true));
    assert_eq!(
        failed.body, b"chunk 0;chunk 1;",
        "what was sent before the failure"
    );
    assert_eq!(failed.error_type.as_deref(), Some("Function.HandlerError"));
    assert_eq!(
        trailer_body("fails")["errorMessage"],
        "broke after 2 chunks"
    );

    let panicked = post("panics");
    assert_eq!(panicked.body, b"chunk 0;");
    assert_eq!(panicked.error_type.as_deref(), Some("Function.Panic"));
    let message = trailer_body("panics")["errorMessage"].clone();
    assert!(
        message
            .as_str()
            .is_some_and(|m| m.contains("panicked after 1 chunks")),
        "{message}"
    );

    let early = post("early");
    assert_eq!((early.kind, early.streamed), (PostKind::Error, false));
    assert_eq!(early.error_type.as_deref(), Some("Function.HandlerError"));

    let buffered = post("buffered");
    assert_eq!(
        (buffered.kind, buffered.streamed),
        (PostKind::Response, false)
    );
    assert_eq!(buffered.body, br#"{"buffered":true}"#);

    let http = post("http");
    assert!(http.streamed);
    assert_eq!(
        http.content_type.as_deref(),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let at = http
        .body
        .windows(8)
        .position(|w| w == [0; 8])
        .expect("8 NULs");
    let prelude: Value = serde_json::from_slice(&http.body[..at]).unwrap();
    assert_eq!(
        prelude,
        json!({"statusCode": 201, "headers": {"content-type": "text/plain", "x-a": "1"}, "cookies": ["c=1"]})
    );
    assert_eq!(&http.body[at + 8..], b"chunk 0;");
    assert_eq!(posts.len(), 6, "one report per invocation: {posts:?}");
}

/// Streams its chunks from another thread while the handler awaits that thread's end (woken only
/// by it), then keeps the stream's handle past the invocation for the next one to try.
struct FromThread;

static KEPT: std::sync::Mutex<Option<lambda_runtime_types::stream::ResponseStream>> =
    std::sync::Mutex::new(None);

impl<'a> Runner<'a, (), Value, Value> for FromThread {
    async fn setup(_: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn run(_: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
        let stream = event.ctx.stream().clone();
        if event.event["stale"] == true {
            // A handle of the last invocation: it sends nothing any more.
            let old = KEPT
                .lock()
                .unwrap()
                .take()
                .expect("the first invocation's handle");
            let sent = lambda_runtime_types::testing::block_on(old.send("stale"));
            return Ok(json!({"stale_send_failed": sent.is_err()}));
        }
        *KEPT.lock().unwrap() = Some(stream.clone());
        let done = std::sync::Arc::new(std::sync::Mutex::new((false, None::<std::task::Waker>)));
        let signal = done.clone();
        std::thread::spawn(move || {
            for n in 0..3 {
                lambda_runtime_types::testing::block_on(stream.send(format!("t{n};"))).unwrap();
            }
            let mut d = signal.lock().unwrap();
            d.0 = true;
            if let Some(w) = d.1.take() {
                w.wake();
            }
        });
        std::future::poll_fn(|cx| {
            let mut d = done.lock().unwrap();
            if d.0 {
                return std::task::Poll::Ready(());
            }
            d.1 = Some(cx.waker().clone());
            std::task::Poll::Pending
        })
        .await;
        Ok(Value::Null)
    }
}

#[test]
fn chunks_sent_from_another_thread_are_streamed_and_a_kept_handle_sends_nothing_later() {
    let api = FakeRuntimeApi::new();
    api.push("threaded", br#"{}"#.to_vec());
    api.push("later", br#"{"stale":true}"#.to_vec());
    // Real time: the chunks come from another thread, which virtual time does not wait for.
    let exec = MemoryExecutor::new(api.clone());
    let config = Config::for_endpoint(api.endpoint());
    let mut driver = std::pin::pin!(driver::run::<_, (), Value, FromThread, Value>(
        &exec, config
    ));
    lambda_runtime_types::testing::block_on(std::future::poll_fn(|cx| {
        if driver.as_mut().poll(cx).is_ready() || api.idle(cx.waker()) {
            return std::task::Poll::Ready(());
        }
        std::task::Poll::Pending
    }));
    let posts = api.posts();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[0].streamed);
    assert_eq!(posts[0].body, b"t0;t1;t2;");
    assert_eq!(posts[1].body, br#"{"stale_send_failed":true}"#);
}
