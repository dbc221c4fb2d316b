//! A function with an internal extension, on tokio: the handler buffers a metric per
//! invocation; the extension, woken by each INVOKE, flushes the buffer once the handler has
//! recorded that invocation's metric. The response is not delayed (Lambda sends it as soon as
//! the runtime posts it); the next invocation waits until the flush is done.
//!
//! The extension is registered (INVOKE only: internal extensions may not take SHUTDOWN)
//! *before* the runtime's entry point is called, because the runtime's first `/next` closes
//! registration; then both run in one future on the current thread.

use std::cell::RefCell;
use std::time::Instant;

use lambda_runtime_types::driver::{Extension, ExtensionDriver};
use lambda_runtime_types::extension::{ExtensionName, InvokeEvent, Options};
use lambda_runtime_types_tokio::tokio;
use lambda_runtime_types_tokio::{LambdaEvent, TokioRuntime};
use serde_json::Value;
use tokio::sync::Notify;

/// The metrics the handler recorded and the extension has not flushed yet.
#[derive(Default)]
struct Metrics {
    /// (request id, handler time in µs), oldest first.
    pending: RefCell<Vec<(String, u128)>>,
    /// Notified by the handler after each record.
    recorded: Notify,
}

/// The extension's steps: on INVOKE, wait for that invocation's record, then flush.
struct Flusher<'m>(&'m Metrics);

impl Extension for Flusher<'_> {
    async fn invoke(&mut self, event: &InvokeEvent) -> anyhow::Result<()> {
        let has_record = || {
            self.0
                .pending
                .borrow()
                .iter()
                .any(|(id, _)| *id == event.request_id)
        };
        // Dropped at the invocation's deadline by the driver if the record never comes.
        while !has_record() {
            self.0.recorded.notified().await;
        }
        let flushed = std::mem::take(&mut *self.0.pending.borrow_mut());
        // A real extension would send them somewhere; printing stands for that.
        let total: u128 = flushed.iter().map(|(_, us)| us).sum();
        println!(
            "metrics: flushed {} record(s) after {} ({total} us of handler time)",
            flushed.len(),
            event.request_id
        );
        Ok(())
    }
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let metrics = Metrics::default();
        let mut steps = Flusher(&metrics);
        let name = ExtensionName::new("metrics-flusher")?;
        let mut driver = ExtensionDriver::from_env(&TokioRuntime, name, Options::internal())?;
        // Before the runtime's entry point: its first `/next` closes registration. A failed
        // registration is not fatal: the function runs without its metrics.
        let registered = driver.register(&mut steps).await.is_ok();
        if !registered {
            eprintln!("metrics-flusher: not registered; metrics are not flushed");
        }
        let function =
            lambda_runtime_types_tokio::builder().serve_fn(async |e: LambdaEvent<'_, Value>| {
                let started = Instant::now();
                let response = e.event;
                metrics
                    .pending
                    .borrow_mut()
                    .push((e.ctx.request_id.clone(), started.elapsed().as_micros()));
                metrics.recorded.notify_one();
                Ok::<_, anyhow::Error>(response)
            });
        let mut function = std::pin::pin!(function);
        if !registered {
            return function.await;
        }
        tokio::select! {
            result = &mut function => result,
            stopped = driver.run(&mut steps) => {
                // Only the extension stopped: the function goes on serving.
                eprintln!("metrics-flusher: stopped: {}", stopped.reason());
                function.await
            }
        }
    })
}
