//! The batch rules, on the `aws_lambda_events` crate's own example events (`fixtures/`, copied
//! from its `src/fixtures`) and on events built from them, in virtual time.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use std::thread_local;

use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::testing::{self, MemoryConnection, VirtualClock};
use crate::time::EpochMillis;
use crate::wire::Endpoint;

/// The executor surface on the virtual clock [`testing::run_virtual`] drives: what `Batch`
/// uses for time in these tests, as an adapter's executor is in a function.
#[derive(Default)]
struct VirtualTime;

impl Executor for VirtualTime {
    type Connection = MemoryConnection;
    type Error = &'static str;

    async fn connect(&self, _endpoint: &Endpoint) -> Result<MemoryConnection, &'static str> {
        Err("no connections in these tests")
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        clock().sleep(duration)
    }

    fn now(&self) -> EpochMillis {
        clock().now()
    }
}

fn clock() -> VirtualClock {
    VirtualClock::current().expect("run under testing::run_virtual")
}

thread_local! {
    /// What the test runners saw: (item identifier, what happened), in the order they ran.
    static SEEN: RefCell<Vec<(String, String)>> = const { RefCell::new(Vec::new()) };
    /// Records running now, and the most that ran at once.
    static RUNNING: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

fn seen() -> Vec<(String, String)> {
    SEEN.with(|s| s.borrow().clone())
}

fn saw(id: &str, what: impl Into<String>) {
    SEEN.with(|s| s.borrow_mut().push((id.into(), what.into())));
}

/// What a record's body (or data) asks the test runner to do: `fail`, `panic`, `sleep <ms>`.
async fn act(id: &str, body: &str) -> anyhow::Result<()> {
    RUNNING.with(|r| {
        let (now, most) = r.get();
        r.set((now + 1, most.max(now + 1)));
    });
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            RUNNING.with(|r| r.set((r.get().0 - 1, r.get().1)));
        }
    }
    let _leave = Leave;
    if let Some(ms) = body.strip_prefix("sleep ") {
        clock()
            .sleep(Duration::from_millis(ms.trim().parse().unwrap()))
            .await;
    }
    saw(id, body);
    if body.contains("panic") {
        panic!("record {id} asked to panic");
    }
    anyhow::ensure!(!body.contains("fail"), "record {id} asked to fail");
    Ok(())
}

/// SQS, bodies not decoded.
struct SqsRaw;
impl<'a> BatchRunner<'a, ()> for SqsRaw {
    type Source = Sqs;
    type Body = Undecoded;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, Sqs, Undecoded>) -> anyhow::Result<()> {
        let body = String::from_utf8(record.raw_body().unwrap_or_default().to_vec())?;
        act(record.id, &body).await
    }
}

/// SQS, up to 3 at once.
struct SqsConcurrent;
impl<'a> BatchRunner<'a, ()> for SqsConcurrent {
    type Source = Sqs;
    type Body = Undecoded;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, Sqs, Undecoded>) -> anyhow::Result<()> {
        SqsRaw::process(&(), record).await
    }
    fn options() -> BatchOptions {
        BatchOptions::new().concurrency(3)
    }
}

#[derive(Debug, serde::Deserialize)]
struct Command {
    act: String,
}

/// SQS, JSON bodies of `{"act": …}`.
struct SqsJson;
impl<'a> BatchRunner<'a, ()> for SqsJson {
    type Source = Sqs;
    type Body = Command;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, Sqs, Command>) -> anyhow::Result<()> {
        act(record.id, &record.body.act).await
    }
}

/// Kinesis, data as text; `in_order` and `concurrency` from the type parameters.
struct KinesisText<const IN_ORDER: bool, const LIMIT: usize>;
impl<'a, const IN_ORDER: bool, const LIMIT: usize> BatchRunner<'a, ()>
    for KinesisText<IN_ORDER, LIMIT>
{
    type Source = Kinesis;
    type Body = Undecoded;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, Kinesis, Undecoded>) -> anyhow::Result<()> {
        let data = String::from_utf8(record.raw_body().unwrap_or_default().to_vec())?;
        act(record.id, &data).await
    }
    fn options() -> BatchOptions {
        BatchOptions::new().in_order(IN_ORDER).concurrency(LIMIT)
    }
}

/// Kinesis, data as JSON `{"act": …}`.
struct KinesisJson;
impl<'a> BatchRunner<'a, ()> for KinesisJson {
    type Source = Kinesis;
    type Body = Command;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, Kinesis, Command>) -> anyhow::Result<()> {
        act(record.id, &record.body.act).await
    }
}

/// DynamoDB, the new image's `Message` string as the command.
struct Dynamo;
impl<'a> BatchRunner<'a, ()> for Dynamo {
    type Source = DynamoDb;
    type Body = Undecoded;
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }
    async fn process(_: &'a (), record: Record<'_, DynamoDb, Undecoded>) -> anyhow::Result<()> {
        assert_eq!(record.raw_body(), None);
        let what = alloc::format!("{} {}", record.record.event_name, record.record.event_id);
        act(record.id, &what).await
    }
}

/// Runs `R` over `event` in virtual time starting at [`testing::VIRTUAL_EPOCH`], with a
/// deadline `deadline_ms` after it (none if `None`).
fn run<R>(event: Value, deadline_ms: Option<u64>) -> anyhow::Result<BatchResponse>
where
    R: for<'a> BatchRunner<'a, ()>,
{
    let mut ctx = Context::new("req-1", Arc::new(Config::for_test()));
    ctx.deadline = deadline_ms.map(|ms| testing::VIRTUAL_EPOCH.saturating_add(ms));
    // What the lifecycle arms for such a deadline: it, less the margin.
    ctx.timeout_at = ctx
        .deadline
        .map(|d| d.saturating_sub(ctx.config.timeout_margin_ms));
    run_in::<R>(event, ctx)
}

/// Runs `R` over `event` with the context `ctx`, in virtual time starting at
/// [`testing::VIRTUAL_EPOCH`].
fn run_in<R>(event: Value, ctx: Context) -> anyhow::Result<BatchResponse>
where
    R: for<'a> BatchRunner<'a, ()>,
{
    SEEN.with(|s| s.borrow_mut().clear());
    RUNNING.with(|r| r.set((0, 0)));
    let clock = VirtualClock::new();
    let event: BatchEvent = serde_json::from_value(event).expect("a batch event");
    let region = String::from("us-east-1");
    let run = async {
        let event = LambdaEvent::new(event, &region, ctx);
        <Batch<R, VirtualTime> as Runner<'_, (), BatchEvent, BatchResponse>>::run(&(), event).await
    };
    testing::run_virtual(&clock, run).expect("the batch finishes")
}

fn failed(response: &BatchResponse) -> Vec<&str> {
    response.failed_ids().collect()
}

fn fixture(name: &str) -> Value {
    let text = match name {
        "sqs" => include_str!("fixtures/example-sqs-event.json"),
        "kinesis" => include_str!("fixtures/example-kinesis-event.json"),
        "kinesis-encrypted" => include_str!("fixtures/example-kinesis-event-encrypted.json"),
        "dynamodb" => include_str!("fixtures/example-dynamodb-event.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The SQS fixture's one record, once per body, with message ids `m0`, `m1`, …; on a FIFO
/// queue if `fifo`.
fn sqs_batch(bodies: &[&str], fifo: bool) -> Value {
    let template = fixture("sqs")["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(n, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(alloc::format!("m{n}"));
            r["body"] = json!(body);
            if fifo {
                r["eventSourceARN"] = json!("arn:aws:sqs:us-west-2:123456789012:orders.fifo");
            }
            r
        })
        .collect();
    json!({ "Records": records })
}

/// The Kinesis fixture's first record, once per data text, with sequence numbers `s0`, `s1`, ….
fn kinesis_batch(data: &[&str]) -> Value {
    use base64::Engine as _;
    let template = fixture("kinesis")["Records"][0].clone();
    let records: Vec<Value> = data
        .iter()
        .enumerate()
        .map(|(n, text)| {
            let mut r = template.clone();
            r["kinesis"]["sequenceNumber"] = json!(alloc::format!("s{n}"));
            r["kinesis"]["data"] =
                json!(base64::engine::general_purpose::STANDARD.encode(text.as_bytes()));
            r
        })
        .collect();
    json!({ "Records": records })
}

fn ids_seen() -> Vec<String> {
    seen().into_iter().map(|(id, _)| id).collect()
}

// The fixtures as they are.

#[test]
fn the_sqs_fixture_succeeds_with_an_empty_list() {
    let response = run::<SqsRaw>(fixture("sqs"), None).unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": []})
    );
    assert_eq!(seen(), [("MessageID_1".into(), "Message Body".into())]);
}

#[test]
fn the_kinesis_fixtures_hand_over_the_decoded_data() {
    for name in ["kinesis", "kinesis-encrypted"] {
        let response = run::<KinesisText<true, 1>>(fixture(name), None).unwrap();
        assert!(failed(&response).is_empty(), "{name}");
        let data: Vec<String> = seen().into_iter().map(|(_, d)| d).collect();
        assert!(data.iter().all(|d| d == "Hello World"), "{name}: {data:?}");
        assert!(!data.is_empty());
    }
}

#[test]
fn the_dynamodb_fixture_is_named_by_sequence_number() {
    let response = run::<Dynamo>(fixture("dynamodb"), None).unwrap();
    assert!(failed(&response).is_empty());
    assert_eq!(
        seen(),
        [
            (
                "1405400000000002063282832".into(),
                "INSERT f07f8ca4b0b26cb9c4e5e77e69f274ee".into()
            ),
            (
                "1405400000000002063282832".into(),
                "INSERT f07f8ca4b0b26cb9c4e5e77e42f274ee".into()
            )
        ]
    );
}

// Failures.

#[test]
fn an_sqs_standard_batch_reports_its_failed_and_panicked_records_and_goes_on() {
    let event = sqs_batch(&["ok", "fail", "panic", "ok"], false);
    let response = run::<SqsRaw>(event, None).unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]})
    );
    assert_eq!(ids_seen(), ["m0", "m1", "m2", "m3"]);
}

#[test]
fn an_sqs_fifo_batch_stops_at_its_first_failure_and_reports_every_later_record() {
    let event = sqs_batch(&["ok", "fail", "ok", "ok"], true);
    let response = run::<SqsRaw>(event, None).unwrap();
    assert_eq!(failed(&response), ["m1", "m2", "m3"]);
    assert_eq!(ids_seen(), ["m0", "m1"]);
}

#[test]
fn a_message_group_id_makes_a_batch_fifo_too() {
    let mut event = sqs_batch(&["panic", "ok"], false);
    event["Records"][1]["attributes"]["MessageGroupId"] = json!("group-1");
    let response = run::<SqsRaw>(event, None).unwrap();
    assert_eq!(failed(&response), ["m0", "m1"]);
    assert_eq!(ids_seen(), ["m0"]);
}

#[test]
fn a_fifo_batch_is_never_concurrent() {
    let event = sqs_batch(&["sleep 10", "sleep 10", "sleep 10", "sleep 10"], true);
    let response = run::<SqsConcurrent>(event, None).unwrap();
    assert!(failed(&response).is_empty());
    assert_eq!(RUNNING.with(Cell::get), (0, 1));
    assert_eq!(ids_seen(), ["m0", "m1", "m2", "m3"]);
}

#[test]
fn a_standard_batch_runs_up_to_its_limit_at_once() {
    let event = sqs_batch(
        &[
            "sleep 30", "sleep 10", "fail", "sleep 5", "sleep 1", "ok", "panic",
        ],
        false,
    );
    let response = run::<SqsConcurrent>(event, None).unwrap();
    assert_eq!(RUNNING.with(Cell::get), (0, 3));
    assert_eq!(failed(&response), ["m2", "m6"]);
    let mut ids = ids_seen();
    ids.sort();
    assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
    // Not in order: the short ones finished first.
    assert_ne!(ids_seen()[0], "m0");
}

#[test]
fn a_body_that_does_not_deserialise_fails_its_record_alone() {
    let event = sqs_batch(
        &[
            r#"{"act":"ok"}"#,
            "not json",
            r#"{"other":1}"#,
            r#"{"act":"ok"}"#,
        ],
        false,
    );
    let response = run::<SqsJson>(event, None).unwrap();
    assert_eq!(failed(&response), ["m1", "m2"]);
    assert_eq!(ids_seen(), ["m0", "m3"]);
}

#[test]
fn a_record_that_does_not_fit_its_type_fails_alone() {
    let mut event = sqs_batch(&["ok", "ok"], false);
    event["Records"][0]["body"] = json!(42);
    let response = run::<SqsRaw>(event, None).unwrap();
    assert_eq!(failed(&response), ["m0"]);
    assert_eq!(ids_seen(), ["m1"]);
}

#[test]
fn a_kinesis_batch_stops_at_its_first_failure_and_reports_it_and_every_later_one() {
    let response =
        run::<KinesisText<true, 4>>(kinesis_batch(&["ok", "ok", "fail", "ok"]), None).unwrap();
    assert_eq!(failed(&response), ["s2", "s3"]);
    assert_eq!(ids_seen(), ["s0", "s1", "s2"]);
    assert_eq!(RUNNING.with(Cell::get), (0, 1));
}

#[test]
fn a_kinesis_batch_out_of_order_reports_each_failure_and_may_run_at_once() {
    let event = kinesis_batch(&["sleep 5", "panic", "sleep 5", "fail"]);
    let response = run::<KinesisText<false, 2>>(event, None).unwrap();
    assert_eq!(failed(&response), ["s1", "s3"]);
    assert_eq!(ids_seen().len(), 4);
    assert_eq!(RUNNING.with(Cell::get), (0, 2));
}

#[test]
fn kinesis_data_that_is_not_base64_fails_its_record_alone() {
    let mut event = kinesis_batch(&["ok", "ok"]);
    event["Records"][0]["kinesis"]["data"] = json!("*** not base64 ***");
    let response = run::<KinesisText<false, 1>>(event, None).unwrap();
    assert_eq!(failed(&response), ["s0"]);
    assert_eq!(ids_seen(), ["s1"]);
}

#[test]
fn kinesis_data_is_deserialised_as_json() {
    let event = kinesis_batch(&[r#"{"act":"ok"}"#, "Hello World", r#"{"act":"fail"}"#]);
    let response = run::<KinesisJson>(event, None).unwrap();
    // In order: the undecodable record stops the batch.
    assert_eq!(failed(&response), ["s1", "s2"]);
    assert_eq!(ids_seen(), ["s0"]);
}

#[test]
fn a_dynamodb_batch_lists_a_repeated_sequence_number_once() {
    let mut event = fixture("dynamodb");
    event["Records"][0]["eventName"] = json!("fail");
    let response = run::<Dynamo>(event, None).unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "1405400000000002063282832"}]})
    );
}

// The whole batch.

#[test]
fn an_empty_batch_has_an_empty_list() {
    let event = json!({"Records": []});
    let response = run::<SqsRaw>(event.clone(), Some(1_000)).unwrap();
    assert_eq!(
        serde_json::to_value(&response).unwrap(),
        json!({"batchItemFailures": []})
    );
    let kinesis = run::<KinesisJson>(event.clone(), None).unwrap();
    assert!(kinesis.batch_item_failures.is_empty());
    assert!(
        run::<Dynamo>(event, None)
            .unwrap()
            .batch_item_failures
            .is_empty()
    );
    assert!(seen().is_empty());
}

#[test]
fn a_missing_or_empty_item_identifier_fails_the_whole_batch_unprocessed() {
    let mut missing = sqs_batch(&["ok", "ok"], false);
    missing["Records"][1]
        .as_object_mut()
        .unwrap()
        .remove("messageId");
    let mut empty = sqs_batch(&["ok", "ok"], false);
    empty["Records"][1]["messageId"] = json!("");
    let mut number = sqs_batch(&["ok", "ok"], false);
    number["Records"][1]["messageId"] = json!(7);
    for event in [missing, empty, number] {
        let e = run::<SqsRaw>(event, None).unwrap_err().to_string();
        assert!(
            e.starts_with("SQS record 1 (of 2) has no item identifier (messageId is missing"),
            "{e}"
        );
        assert!(seen().is_empty());
    }
    let mut kinesis = kinesis_batch(&["ok"]);
    kinesis["Records"][0]["kinesis"]["sequenceNumber"] = json!("");
    let e = run::<KinesisJson>(kinesis, None).unwrap_err().to_string();
    assert!(e.contains("(kinesis.sequenceNumber is missing"), "{e}");
    let mut dynamo = fixture("dynamodb");
    dynamo["Records"][0]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let e = run::<Dynamo>(dynamo, None).unwrap_err().to_string();
    assert!(e.starts_with("DynamoDB record 0 (of 2)"), "{e}");
    assert!(e.contains("(dynamodb.SequenceNumber is missing"), "{e}");
    assert!(seen().is_empty());
}

#[test]
fn without_records_the_event_is_not_a_batch() {
    assert!(serde_json::from_value::<BatchEvent>(json!({"records": []})).is_err());
}

// The deadline.

#[test]
fn at_the_deadline_the_running_and_unstarted_records_are_reported_failed() {
    // Deadline at 1000 ms: the runtime's timeout at 900 (margin 100), the batch stops at 800.
    let event = sqs_batch(
        &["sleep 300", "fail", "sleep 400", "sleep 400", "ok"],
        false,
    );
    let response = run::<SqsRaw>(event, Some(1_000)).unwrap();
    // m0 done at 300, m1 failed, m2 done at 700, m3 cut off at 800, m4 never started.
    assert_eq!(failed(&response), ["m1", "m3", "m4"]);
    assert_eq!(ids_seen(), ["m0", "m1", "m2"]);
    assert_eq!(RUNNING.with(Cell::get), (0, 1), "m3's future was dropped");
}

#[test]
fn at_the_deadline_concurrent_records_report_what_finished() {
    let event = sqs_batch(
        &["sleep 100", "sleep 5000", "sleep 700", "sleep 100"],
        false,
    );
    let response = run::<SqsConcurrent>(event, Some(1_000)).unwrap();
    assert_eq!(failed(&response), ["m1"]);
    let mut ids = ids_seen();
    ids.sort();
    assert_eq!(ids, ["m0", "m2", "m3"]);
}

#[test]
fn a_batch_whose_deadline_has_passed_processes_nothing_and_loses_nothing() {
    let event = sqs_batch(&["ok", "ok"], true);
    let response = run::<SqsRaw>(event, Some(150)).unwrap();
    assert_eq!(failed(&response), ["m0", "m1"]);
    assert!(seen().is_empty());
}

#[test]
fn without_a_timeout_armed_a_past_deadline_stops_nothing() {
    // A local emulator's deadline already past: the lifecycle arms no timeout (timeout_at is
    // None), and the batch runs whole instead of failing every record.
    let mut ctx = Context::new("req-1", Arc::new(Config::for_test()));
    ctx.deadline = Some(testing::VIRTUAL_EPOCH.saturating_sub(60_000));
    let response = run_in::<SqsRaw>(sqs_batch(&["ok", "fail"], false), ctx).unwrap();
    assert_eq!(failed(&response), ["m1"]);
    assert_eq!(ids_seen(), ["m0", "m1"]);
}

#[test]
fn the_reserve_and_margin_set_the_stop() {
    struct Tight;
    impl<'a> BatchRunner<'a, ()> for Tight {
        type Source = Sqs;
        type Body = Undecoded;
        async fn setup(_region: &'a str) -> anyhow::Result<()> {
            Ok(())
        }
        async fn process(_: &'a (), record: Record<'_, Sqs, Undecoded>) -> anyhow::Result<()> {
            SqsRaw::process(&(), record).await
        }
        fn options() -> BatchOptions {
            BatchOptions::new().reserve(Duration::ZERO)
        }
    }
    // Stop at 900 (deadline 1000, margin 100, no reserve): 850 fits, 950 does not.
    let response = run::<Tight>(sqs_batch(&["sleep 850", "sleep 60"], false), Some(1_000));
    assert_eq!(failed(&response.unwrap()), ["m1"]);
    assert_eq!(ids_seen(), ["m0"]);
}

// Through the runtime.

#[test]
fn through_the_driver_the_response_is_posted_as_json() {
    let api = testing::FakeRuntimeApi::new();
    let event = serde_json::to_vec(&sqs_batch(&["ok", "fail"], false)).unwrap();
    api.push_with_timeout("req-1", event, Duration::from_secs(3));
    api.push("req-2", b"{\"no\":\"records\"}".to_vec());
    let exec = testing::MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().unwrap().clone();
    let config = Config::for_endpoint(api.endpoint());
    let driver = crate::driver::run::<_, (), BatchEvent, Batch<SqsRaw, VirtualTime>, BatchResponse>(
        &exec, config,
    );
    assert_eq!(testing::run_virtual(&clock, driver), None);
    let posts = api.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        serde_json::from_slice::<Value>(&posts[0].body).unwrap(),
        json!({"batchItemFailures": [{"itemIdentifier": "m1"}]})
    );
    assert_eq!(posts[1].error_type.as_deref(), Some("Runtime.InvalidEvent"));
}

#[test]
fn options_default_to_one_at_a_time_in_order() {
    assert_eq!(
        BatchOptions::default(),
        BatchOptions {
            concurrency: 1,
            in_order: true,
            reserve: Duration::from_millis(100)
        }
    );
}
