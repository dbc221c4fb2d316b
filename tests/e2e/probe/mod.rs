//! The probe function of the end-to-end suites: its behaviour is chosen by the event, and it is
//! built once per executor (`probe-tokio`, `probe-smol`, `probe-custom`), which only supply how
//! to sleep.
//!
//! - no `probe` field: the event is echoed unchanged;
//! - `{"probe":"error","message":M}`: returns an error with message M;
//! - `{"probe":"panic","message":M}`: panics with M;
//! - `{"probe":"sleep","ms":N}`: awaits N ms (the executor's timer), then echoes;
//! - `{"probe":"block","ms":N}`: `log::debug!`s `probe blocks for N ms`, blocks its thread with
//!   `std::thread::sleep`, then echoes;
//! - `{"probe":"alloc","mb":N,"hold_ms":M}`: allocates and touches N MiB, then holds it for M ms
//!   (default 0) with the thread blocked;
//! - `{"probe":"big","bytes":N}`: returns a JSON string of N bytes;
//! - `{"probe":"log","lines":N,"ms":M}`: `log::info!`s N lines `probe line k of <request id>`
//!   (k from 1), awaiting M ms (the executor's timer) between them, then echoes;
//! - `{"probe":"context"}`: returns the `Context` and the `AWS_*` environment it saw;
//! - `{"probe":"stream","chunks":N,"bytes":B}`: streams N chunks of B bytes (`a`, `b`, … one
//!   letter per chunk) as `text/plain`; with `"fail_after":K` it fails after K chunks; with
//!   `"http":true` it uses the HTTP-integration mode (status 200, a `content-type` header, the
//!   cookie `probe=1`); with `"wait_for":PATH` it waits, after the first chunk, until the file
//!   PATH exists (the test's signal that the first chunk reached it), checking every 10 ms.
//!
//! Behind an HTTP front door (an event with `requestContext` and a JSON `body` that has a
//! `probe` field) the body is the command.
//!
//! `PROBE_SETUP=fail` in the environment makes setup fail. The probe installs no logger: the
//! runtime's own (text lines on stderr, with `[request id]` inside an invocation, at the level of
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`) is what tests read; the binaries register
//! [`shutdown_hook`], which prints `probe: shutdown hook ran`.

use std::future::Future;
use std::marker::PhantomData;

use lambda_runtime_types::{LambdaEvent, Runner};
use serde_json::{Value, json};

/// How an executor sleeps.
pub trait Sleep {
    /// Completes after `ms` milliseconds.
    fn sleep(ms: u64) -> impl Future<Output = ()>;
}

/// The probe, for an executor's sleep.
pub struct Probe<S>(PhantomData<S>);

impl<S> Probe<S> {
    /// The probe on `S`'s sleep.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

/// The probe's shutdown hook: prints `probe: shutdown hook ran`, then, as `PROBE_HOOK` says,
/// hangs (`hang`), panics (`panic`) or returns.
pub fn shutdown_hook() -> impl FnOnce() + Send + 'static {
    let hook = std::env::var("PROBE_HOOK").unwrap_or_default();
    move || {
        eprintln!("probe: shutdown hook ran");
        match hook.as_str() {
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            },
            "panic" => panic!("probe: shutdown hook panicked on purpose"),
            _ => {}
        }
    }
}

impl<'a, S: Sleep> Runner<'a, (), Value, Value> for Probe<S> {
    async fn setup(region: &'a str) -> anyhow::Result<()> {
        if std::env::var("PROBE_SETUP").as_deref() == Ok("fail") {
            anyhow::bail!("probe setup failed on purpose (region {region:?})");
        }
        Ok(())
    }

    async fn run(_: &'a (), event: LambdaEvent<'a, Value>) -> anyhow::Result<Value> {
        // Behind an HTTP front door the command is the request's JSON body.
        let command = event
            .event
            .get("requestContext")
            .and(event.event.get("body"))
            .and_then(Value::as_str)
            .and_then(|body| serde_json::from_str::<Value>(body).ok())
            .filter(|c| c.get("probe").is_some());
        let e = command.as_ref().unwrap_or(&event.event);
        let num = |k: &str| e.get(k).and_then(Value::as_u64).unwrap_or(0);
        let message = || {
            e.get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        match e.get("probe").and_then(Value::as_str) {
            None => Ok(event.event),
            Some("error") => Err(anyhow::anyhow!(message())),
            Some("panic") => panic!("{}", message()),
            Some("sleep") => {
                S::sleep(num("ms")).await;
                Ok(event.event)
            }
            Some("log") => {
                let lines = num("lines");
                for k in 1..=lines {
                    if k > 1 {
                        S::sleep(num("ms")).await;
                    }
                    log::info!("probe line {k} of {}", event.ctx.request_id);
                }
                Ok(event.event)
            }
            Some("block") => {
                log::debug!("probe blocks for {} ms", num("ms"));
                std::thread::sleep(std::time::Duration::from_millis(num("ms")));
                Ok(event.event)
            }
            Some("alloc") => {
                let bytes = (num("mb") as usize) << 20;
                let mut held = vec![0u8; bytes];
                for page in held.chunks_mut(4096) {
                    page[0] = 1;
                }
                std::thread::sleep(std::time::Duration::from_millis(num("hold_ms")));
                let touched: usize = held.chunks(4096).map(|p| usize::from(p[0])).sum();
                Ok(json!({"touched_pages": touched}))
            }
            Some("big") => Ok(Value::String("x".repeat(num("bytes") as usize))),
            Some("context") => {
                let env: serde_json::Map<String, Value> = std::env::vars()
                    .filter(|(k, _)| k.starts_with("AWS_") || k == "_HANDLER")
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                Ok(json!({"context": event.ctx, "region": event.region, "env": env}))
            }
            Some("stream") => {
                let stream = event.ctx.stream();
                if e.get("http").and_then(Value::as_bool) == Some(true) {
                    stream.http(200, &[("content-type", "text/plain")], &["probe=1"])?;
                } else {
                    stream.content_type("text/plain")?;
                }
                let wait_for = e.get("wait_for").and_then(Value::as_str);
                let fail_after = e.get("fail_after").and_then(Value::as_u64);
                for k in 0..num("chunks") {
                    if fail_after == Some(k) {
                        anyhow::bail!("probe stream failed after {k} chunks");
                    }
                    let letter = b'a' + (k % 26) as u8;
                    stream.send(vec![letter; num("bytes") as usize]).await?;
                    if let (0, Some(path)) = (k, wait_for) {
                        while !std::path::Path::new(path).exists() {
                            S::sleep(10).await;
                        }
                    }
                }
                Ok(Value::Null)
            }
            Some(other) => Err(anyhow::anyhow!("unknown probe {other:?}")),
        }
    }
}
