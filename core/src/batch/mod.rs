//! Batch functions for SQS, Kinesis and DynamoDB Streams, with partial-failure responses.
//!
//! SQS queues, Kinesis data streams and DynamoDB Streams invoke a function with a batch of
//! records (`{"Records": […]}`). With `ReportBatchItemFailures` turned on in the event source
//! mapping, the function answers which records failed,
//! `{"batchItemFailures": [{"itemIdentifier": "…"}]}`, and only those are retried. This module
//! runs that protocol: you write a [`BatchRunner`] that processes **one record**, and wrap it in
//! [`Batch`] to get a [`Runner`] for any executor adapter.
//!
//! # The rules
//!
//! - Each record is handed to [`BatchRunner::process`] as the `aws_lambda_events` type of its
//!   [`Source`] ([`Sqs`], [`Kinesis`], [`DynamoDb`], one feature each), with its body (an SQS
//!   message body, a Kinesis record's data) deserialised into the runner's
//!   [`Body`](BatchRunner::Body) type and also available raw ([`Record::raw_body`]).
//! - A record fails if `process` returns an error or panics, if the record does not fit its
//!   `aws_lambda_events` type, or if its body does not deserialise into `Body`. Each failure is
//!   logged (a `WARN` line naming the record) and reported; the other records go on.
//! - Ordered sources stop at the first failure: in an SQS FIFO batch (a record whose
//!   `eventSourceARN` ends with `.fifo`, or that has the `MessageGroupId` attribute), and by
//!   default in a Kinesis or DynamoDB batch, the failed record and every later one are reported
//!   failed without being processed. Lambda retries a stream from the lowest sequence number
//!   reported (its checkpoint), so the later ones would be retried anyway; an SQS FIFO queue
//!   must not deliver a later message of a group before an earlier one.
//! - Every record needs its item identifier (`messageId`, `kinesis.sequenceNumber`,
//!   `dynamodb.SequenceNumber`): if one is missing or empty, no partial response can name it, and
//!   the invocation fails as a whole (its error says which record), so that Lambda retries the
//!   whole batch rather than drop that record. Nothing is processed then.
//! - An empty batch is answered with an empty list.
//! - Records run one at a time, in order. [`BatchOptions::concurrency`] lets up to that many run
//!   at once (as concurrent futures on the invocation's thread, nothing is spawned) where the
//!   source allows it: SQS standard queues, and streams with [`BatchOptions::in_order`] off.
//!   Never an SQS FIFO batch.
//! - The batch stops before the invocation's deadline: [`BatchOptions::reserve`] (100 ms by
//!   default) before the moment the runtime would report the invocation as timed out
//!   ([`Context::timeout_at`]: the deadline minus `Config::timeout_margin_ms`). Records still
//!   running are dropped, and those and the ones not started are reported failed, so none is
//!   lost; what finished is reported as it went. When the runtime arms no timeout (a deadline
//!   already past or more than an hour ahead, as local emulators send), nothing stops the batch
//!   early either.
//! - The response lists each record at most once, in the batch's order.
//!
//! # Time, and why `Batch` names an executor
//!
//! A [`Runner`] is a type, called without the executor, so the runtime gives it no timer of its
//! own, and the core reads no clock. The executor surface the adapters already supply,
//! [`driver::Executor`](crate::driver::Executor) (`now`, `sleep`), is the general mechanism:
//! `Batch<R, E>` builds an `E` with `Default` (the adapters' `TokioRuntime` and `SmolRuntime`
//! are unit structs), checks `E::now` against the stop instant before each record, and races
//! the running records against one `E::sleep` to it, dropping them when it completes. The same
//! way, any `Runner` can take its adapter's executor as a type parameter for timers of its own.
//! A record that blocks its thread cannot be raced: the runtime's watchdog then reports the
//! invocation as timed out, and Lambda retries the whole batch.
//!
//! # Usage
//!
#![cfg_attr(feature = "sqs", doc = "```")]
#![cfg_attr(not(feature = "sqs"), doc = "```ignore")]
//! use lambda_runtime_types::batch::{Batch, BatchRunner, Record, Sqs};
//!
//! #[derive(serde::Deserialize)]
//! struct Order {
//!     id: u64,
//! }
//!
//! struct Orders;
//!
//! impl<'a> BatchRunner<'a, ()> for Orders {
//!     type Source = Sqs;
//!     /// Each message body is JSON; one that is not an `Order` fails alone.
//!     type Body = Order;
//!
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!
//!     async fn process(_shared: &'a (), record: Record<'_, Sqs, Order>) -> anyhow::Result<()> {
//!         anyhow::ensure!(record.body.id != 0, "order 0 does not exist");
//!         Ok(())
//!     }
//! }
//!
//! // fn main() -> anyhow::Result<()> {
//! //     use lambda_runtime_types_tokio::TokioRuntime;
//! //     lambda_runtime_types_tokio::exec_tokio::<_, _, Batch<Orders, TokioRuntime>, _>()
//! // }
//! # fn is_runner<S, R: for<'a> lambda_runtime_types::Runner<'a, S, lambda_runtime_types::batch::BatchEvent, lambda_runtime_types::batch::BatchResponse>>() {}
//! # fn on<E: lambda_runtime_types::driver::Executor + Default>() { is_runner::<(), Batch<Orders, E>>() }
//! ```

// Each source is behind its feature; the docs name all three, linked when all are built (as on
// docs.rs).
#![cfg_attr(
    not(all(feature = "sqs", feature = "kinesis", feature = "dynamodb")),
    allow(rustdoc::broken_intra_doc_links)
)]

mod source;

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::future::{Future, poll_fn};
use core::marker::PhantomData;
use core::pin::{Pin, pin};
use core::task::{Context as TaskContext, Poll};
use core::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::Context;
use crate::driver::Executor;
use crate::runner::{LambdaEvent, Runner};
use crate::time::EpochMillis;

#[cfg(feature = "dynamodb")]
pub use source::DynamoDb;
#[cfg(feature = "kinesis")]
pub use source::Kinesis;
pub use source::Source;
#[cfg(feature = "sqs")]
pub use source::Sqs;

/// A batch function: the part that processes one record.
///
/// `Shared` is built once per execution environment by [`setup`](Self::setup), as for a
/// [`Runner`], and lent to every record. [`Source`](Self::Source) says where the records come
/// from, [`Body`](Self::Body) what their bodies deserialise into ([`Undecoded`] for none).
///
/// Wrap it in [`Batch`] to run it: `exec_tokio::<_, _, Batch<MyConsumer, TokioRuntime>, _>()`.
#[allow(async_fn_in_trait)] // The runtime never requires `Send` futures.
pub trait BatchRunner<'a, Shared>
where
    Shared: 'a,
{
    /// The event source: [`Sqs`], [`Kinesis`] or [`DynamoDb`].
    type Source: Source;

    /// What each record's body is deserialised into (from JSON; see [`RecordBody`]).
    type Body: RecordBody;

    /// Runs once per execution environment, before the first invocation; see
    /// [`Runner::setup`].
    async fn setup(region: &'a str) -> anyhow::Result<Shared>;

    /// Processes one record. An error or a panic fails that record alone (and, in an ordered
    /// batch, every later one).
    async fn process(
        shared: &'a Shared,
        record: Record<'_, Self::Source, Self::Body>,
    ) -> anyhow::Result<()>;

    /// How the batch runs; [`BatchOptions::new`] by default.
    fn options() -> BatchOptions {
        BatchOptions::new()
    }
}

/// How a [`Batch`] runs its records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchOptions {
    /// How many records may be processed at once where the source allows it (1: one at a
    /// time). Never more than one for an ordered batch.
    pub concurrency: usize,
    /// Whether a Kinesis or DynamoDB batch is processed in order, stopping at the first failure
    /// (on by default). Off, every record is processed (concurrently, if `concurrency` says so)
    /// and each failure is reported; Lambda still retries from the lowest sequence number
    /// reported. SQS FIFO batches are always in order.
    pub in_order: bool,
    /// How long before the runtime's timeout ([`Context::timeout_at`]) the batch stops and reports what it knows: time to serialise and post the response.
    pub reserve: Duration,
}

impl BatchOptions {
    /// One record at a time, streams in order, a reserve of 100 ms.
    pub const fn new() -> Self {
        Self {
            concurrency: 1,
            in_order: true,
            reserve: Duration::from_millis(100),
        }
    }

    /// Up to `limit` records at once where the source allows it (0 counts as 1).
    pub const fn concurrency(mut self, limit: usize) -> Self {
        self.concurrency = limit;
        self
    }

    /// Whether streams are processed in order, stopping at the first failure.
    pub const fn in_order(mut self, in_order: bool) -> Self {
        self.in_order = in_order;
        self
    }

    /// How long before the runtime's timeout the batch stops.
    pub const fn reserve(mut self, reserve: Duration) -> Self {
        self.reserve = reserve;
        self
    }
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// One record handed to [`BatchRunner::process`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Record<'r, S: Source, B> {
    /// The record, as the `aws_lambda_events` crate types it.
    pub record: S::Record,
    /// Its body, deserialised.
    pub body: B,
    /// Its item identifier (what a failure is reported by).
    pub id: &'r str,
    /// Its position in the batch, from 0.
    pub index: usize,
    /// The invocation's context.
    pub ctx: &'r Context,
}

impl<'r, S: Source, B> Record<'r, S, B> {
    /// A record, e.g. to call [`BatchRunner::process`] in a unit test.
    pub fn new(record: S::Record, body: B, id: &'r str, index: usize, ctx: &'r Context) -> Self {
        Self {
            record,
            body,
            id,
            index,
            ctx,
        }
    }

    /// The body as received: an SQS message body's bytes, a Kinesis record's data
    /// (base64-decoded); `None` if the record has none (DynamoDB).
    pub fn raw_body(&self) -> Option<&[u8]> {
        S::body(&self.record)
    }
}

/// What a record's body is deserialised into ([`BatchRunner::Body`]).
///
/// Any `DeserializeOwned` type is read from the body as JSON (a missing body as `null`, so
/// `Option<T>` accepts one); a body that does not fit fails its record. [`Undecoded`] reads
/// nothing.
pub trait RecordBody: Sized {
    /// The body of `raw` (the record's body bytes, if it has any).
    fn decode(raw: Option<&[u8]>) -> anyhow::Result<Self>;
}

impl<T: DeserializeOwned> RecordBody for T {
    fn decode(raw: Option<&[u8]>) -> anyhow::Result<Self> {
        serde_json::from_slice(raw.unwrap_or(b"null")).map_err(|e| {
            anyhow::anyhow!(
                "the body does not deserialise into {}: {e}",
                core::any::type_name::<T>()
            )
        })
    }
}

/// A body that is not deserialised: read it with [`Record::raw_body`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Undecoded;

impl RecordBody for Undecoded {
    fn decode(_raw: Option<&[u8]>) -> anyhow::Result<Self> {
        Ok(Undecoded)
    }
}

/// A batch event as the runtime deserialises it: the records stay JSON until each is read as
/// its source's type, so that one record that does not fit fails alone.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct BatchEvent {
    /// `Records`.
    #[serde(rename = "Records")]
    pub records: Vec<Value>,
}

impl BatchEvent {
    /// A batch of `records`.
    pub fn new(records: Vec<Value>) -> Self {
        Self { records }
    }
}

/// The partial-failure response: `{"batchItemFailures": [{"itemIdentifier": "…"}]}`, the same
/// JSON as `aws_lambda_events`' `SqsBatchResponse`, `KinesisEventResponse` and
/// `DynamoDbEventResponse`. An empty list means every record succeeded.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchResponse {
    /// The failed records, in the batch's order, each once.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

impl BatchResponse {
    /// The item identifiers of the failed records.
    pub fn failed_ids(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}

/// One failed record of a [`BatchResponse`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchItemFailure {
    /// The record's `messageId` (SQS) or sequence number (Kinesis, DynamoDB).
    pub item_identifier: String,
}

/// Turns a [`BatchRunner`] into a [`Runner`] of [`BatchEvent`]s returning a [`BatchResponse`],
/// for any executor adapter; `E` is the adapter's executor (`TokioRuntime`, `SmolRuntime`),
/// whose clock and timers keep the batch within its deadline (see the
/// [module docs](self#time-and-why-batch-names-an-executor)):
/// `exec_tokio::<_, _, Batch<MyConsumer, TokioRuntime>, _>()`, or `run(Batch::<MyConsumer,
/// TokioRuntime>::new())`.
pub struct Batch<R, E>(PhantomData<fn() -> (R, E)>);

impl<R, E> Batch<R, E> {
    /// The runner.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<R, E> Default for Batch<R, E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R, E> fmt::Debug for Batch<R, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Batch<{}>", core::any::type_name::<R>())
    }
}

impl<'a, R, E, Shared> Runner<'a, Shared, BatchEvent, BatchResponse> for Batch<R, E>
where
    R: BatchRunner<'a, Shared>,
    E: Executor + Default,
    Shared: 'a,
{
    async fn setup(region: &'a str) -> anyhow::Result<Shared> {
        R::setup(region).await
    }

    async fn run(
        shared: &'a Shared,
        event: LambdaEvent<'a, BatchEvent>,
    ) -> anyhow::Result<BatchResponse> {
        let LambdaEvent { event, ctx, .. } = event;
        run_batch::<R, E, Shared>(&E::default(), shared, event.records, &ctx).await
    }
}

/// Runs a batch of `records` with `R` (see the [module docs](self) for the rules), keeping time
/// with `exec`.
///
/// [`Batch`] calls this; call it yourself to run a batch from your own [`Runner`].
pub async fn run_batch<'a, R, E, Shared>(
    exec: &E,
    shared: &'a Shared,
    records: Vec<Value>,
    ctx: &Context,
) -> anyhow::Result<BatchResponse>
where
    R: BatchRunner<'a, Shared>,
    E: Executor,
{
    let name = <R::Source as Source>::NAME;
    let total = records.len();
    let ids = item_ids::<R::Source>(&records)?;
    let options = R::options();
    let ordered = records.iter().any(<R::Source as Source>::is_ordered)
        && (options.in_order || !<R::Source as Source>::IS_STREAM);
    let limit = if ordered {
        1
    } else {
        options.concurrency.max(1)
    };
    // Stop before the runtime reports the invocation as timed out (when the lifecycle armed
    // no timeout, an implausible deadline, nothing stops the batch early either).
    let stop_at = ctx.timeout_at.map(|timeout_at| {
        let reserve = u64::try_from(options.reserve.as_millis()).unwrap_or(u64::MAX);
        timeout_at.saturating_sub(reserve)
    });
    let mut stop = pin!(stop_at.map(|at| until(exec, at)));
    let mut state = Vec::with_capacity(total);
    state.resize(total, State::Unprocessed);
    let mut waiting = records.into_iter().enumerate();
    let mut running = FuturesUnordered::new();
    let mut halted = None;
    while halted.is_none() {
        while running.len() < limit {
            if stop_at.is_some_and(|at| exec.now() >= at) {
                halted = Some(Halt::Deadline);
                break;
            }
            let Some((index, raw)) = waiting.next() else {
                break;
            };
            running.push(process_one::<R, Shared>(
                shared,
                raw,
                &ids[index],
                index,
                ctx,
            ));
        }
        if running.is_empty() || halted.is_some() {
            break;
        }
        match next_or_deadline(&mut running, stop.as_mut()).await {
            Some((index, Ok(()))) => state[index] = State::Done,
            Some((index, Err(reason))) => {
                log::warn!(itemIdentifier = ids[index].as_str(); "{name} record {} failed: {reason}", ids[index]);
                state[index] = State::Failed;
                if ordered {
                    halted = Some(Halt::Failure);
                }
            }
            None => halted = Some(Halt::Deadline),
        }
    }
    // Dropped: the records still running when the batch stopped.
    drop(running);
    let unprocessed = state.iter().filter(|s| **s == State::Unprocessed).count();
    match halted {
        Some(Halt::Failure) if unprocessed > 0 => log::warn!(
            "{name}: the batch is ordered and stopped at its first failure; {unprocessed} \
             later record(s) reported failed unprocessed"
        ),
        Some(Halt::Deadline) => log::warn!(
            "{name}: the invocation's deadline is near; {unprocessed} of {total} record(s) \
             not processed (or cut off) and reported failed"
        ),
        _ => {}
    }
    let mut listed = BTreeSet::new();
    let batch_item_failures = state
        .iter()
        .zip(&ids)
        .filter(|(s, id)| **s != State::Done && listed.insert(id.as_str()))
        .map(|(_, id)| BatchItemFailure {
            item_identifier: id.clone(),
        })
        .collect();
    Ok(BatchResponse {
        batch_item_failures,
    })
}

/// What became of a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not started, or cut off by the deadline.
    Unprocessed,
    Done,
    Failed,
}

/// Why the batch stopped early.
#[derive(Clone, Copy, Debug)]
enum Halt {
    /// An ordered batch's first failure.
    Failure,
    /// The stop instant before the deadline.
    Deadline,
}

/// The item identifier of every record, or the invocation's error if one has none.
fn item_ids<S: Source>(records: &[Value]) -> anyhow::Result<Vec<String>> {
    records
        .iter()
        .enumerate()
        .map(
            |(index, record)| match record.pointer(S::ID_POINTER).and_then(Value::as_str) {
                Some(id) if !id.is_empty() => Ok(id.to_string()),
                _ => Err(anyhow::anyhow!(
                    "{} record {index} (of {}) has no item identifier ({} is missing, empty or \
                     not a string): a partial response cannot name it, so the whole batch fails \
                     and will be retried",
                    S::NAME,
                    records.len(),
                    S::ID_POINTER.trim_start_matches('/').replace('/', ".")
                )),
            },
        )
        .collect()
}

/// Reads one record as its source's type, decodes its body and processes it; a failure (an
/// error, a panic, a record or body that does not fit) as its reason.
async fn process_one<'a, 'r, R, Shared>(
    shared: &'a Shared,
    raw: Value,
    id: &'r str,
    index: usize,
    ctx: &'r Context,
) -> (usize, Result<(), String>)
where
    R: BatchRunner<'a, Shared>,
{
    let decoded = catch(|| {
        let record: <R::Source as Source>::Record = serde_json::from_value(raw)
            .map_err(|e| alloc::format!("not a {} record: {e}", <R::Source as Source>::NAME))?;
        let body = R::Body::decode(<R::Source as Source>::body(&record))
            .map_err(|e| alloc::format!("{e:#}"))?;
        Ok::<_, String>((record, body))
    });
    let (record, body) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(reason)) | Err(reason) => return (index, Err(reason)),
    };
    let record = Record::new(record, body, id, index, ctx);
    let result = match catch_unwind(R::process(shared, record)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(alloc::format!("{e:#}")),
        Err(panic) => Err(panic),
    };
    (index, result)
}

/// Completes once the executor's clock reads `at` or later (a timer that wakes early is slept
/// again).
async fn until<E: Executor>(exec: &E, at: EpochMillis) {
    loop {
        let now = exec.now();
        if now >= at {
            return;
        }
        exec.sleep(at.duration_since(now)).await;
    }
}

/// The next finished record, or `None` once `stop` completes first.
async fn next_or_deadline<F, T>(
    running: &mut FuturesUnordered<F>,
    mut stop: Pin<&mut Option<impl Future<Output = ()>>>,
) -> Option<T>
where
    F: Future<Output = T>,
{
    poll_fn(|cx: &mut TaskContext<'_>| {
        if let Poll::Ready(Some(done)) = running.poll_next_unpin(cx) {
            return Poll::Ready(Some(done));
        }
        match stop.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// Runs `f`, a panic as its message.
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| panicked(&*payload))
}

/// Polls `fut`, a panic as its message.
async fn catch_unwind<F: Future>(fut: F) -> Result<F::Output, String> {
    let mut fut = pin!(fut);
    poll_fn(move |cx| match catch(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}

fn panicked(payload: &(dyn core::any::Any + Send)) -> String {
    let message = crate::diagnostic::panic_message(payload).unwrap_or("a non-string payload");
    alloc::format!("panicked: {message}")
}

#[cfg(all(test, feature = "sqs", feature = "kinesis", feature = "dynamodb"))]
mod tests;
