//! Batch functions end to end: every batch example of `examples/` (`sqs-batch`, `sqs-fifo`,
//! `kinesis-json`, `dynamodb-stream`) on the tokio and the smol adapter, through the emulator,
//! with the sample events of `examples/events/` and variations of them built here. Each answer
//! is compared, whole, with the `batchItemFailures` that the event and the example's rules give
//! (computed below from the event's JSON, not copied from a run): the identifiers and their
//! order. The rules of `lambda_runtime_types::batch` that can be seen from outside are each
//! shown: an error or a panic fails its record alone (and the process serves the next
//! invocation), ordered batches (SQS FIFO, Kinesis, DynamoDB) stop at their first failure and
//! report every later record unprocessed, a body that does not deserialise fails its record, a
//! record without its item identifier fails the whole invocation before anything is processed,
//! and an empty batch is answered with an empty list. `aws-events` (a plain `Runner` over S3,
//! SNS, EventBridge and scheduled events, tokio only) is checked against its four events.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use lambda_emulator::{Emulator, InvokeResult, Options, Outcome};
use serde_json::{Value, json};

/// One `#[test]` per scenario and adapter: `mod tokio { fn sqs_batch() … }`, `mod smol { … }`,
/// each calling `scenario("tokio")` (or `"smol"`): the suffix of the example's binaries.
macro_rules! per_adapter {
    ($($scenario:ident),* $(,)?) => {
        mod tokio {
            $( #[test] fn $scenario() { super::$scenario("tokio") } )*
        }
        mod smol {
            $( #[test] fn $scenario() { super::$scenario("smol") } )*
        }
    };
}

per_adapter! {
    sqs_batch,
    sqs_missing_message_id,
    sqs_fifo,
    kinesis_json,
    kinesis_missing_sequence_number,
    dynamodb_stream,
    dynamodb_missing_sequence_number,
}

/// Generous: only there so that a function that stops logging fails instead of hanging.
const LOG_WAIT: Duration = Duration::from_secs(10);

/// Binary `name` of `examples`, built once per run of this suite.
fn example(name: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(PoisonError::into_inner);
    built
        .entry(name.to_owned())
        .or_insert_with(|| common::workspace_bin("examples", name))
        .clone()
}

/// The emulator around example `name` (e.g. `sqs-batch-tokio`), its function waiting for its
/// first invocation.
fn start(name: &str, options: impl FnOnce(Options) -> Options) -> Emulator {
    let bin = example(name);
    common::start_probe(bin.to_str().expect("a UTF-8 path"), options)
}

/// Sample event `file` of `examples/events/`.
fn sample(file: &str) -> Value {
    let path = common::workspace_root().join("examples/events").join(file);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The records of a batch event.
fn records(event: &Value) -> &[Value] {
    event["Records"].as_array().expect("a batch event")
}

/// The records of a batch event, to change.
fn records_mut(event: &mut Value) -> &mut Vec<Value> {
    event["Records"].as_array_mut().expect("a batch event")
}

/// The partial-failure response naming `ids`, in that order.
fn response(ids: &[String]) -> Value {
    let failures: Vec<Value> = ids.iter().map(|id| json!({"itemIdentifier": id})).collect();
    json!({ "batchItemFailures": failures })
}

/// Invokes `event`: the answer must be a response, and exactly the one naming `expected`.
fn assert_failures(emu: &Emulator, event: &Value, expected: &[String]) -> InvokeResult {
    let r = common::invoke(emu, &serde_json::to_vec(event).unwrap());
    assert_eq!(r.outcome, Outcome::Response, "{}", r.body_str());
    assert_eq!(r.json(), Some(response(expected)), "{}", r.body_str());
    r
}

/// Invokes `event`, which has a record without its item identifier: the invocation must fail as
/// a whole, saying which record (`{source} record {index} (of {total}) has no item identifier
/// ({field} …)`), with nothing processed (no line of the example's `processed` log in the
/// invocation's log lines).
fn assert_whole_batch_fails(emu: &Emulator, event: &Value, message: &str, processed: &str) {
    let r = common::invoke(emu, &serde_json::to_vec(event).unwrap());
    assert_eq!(
        (r.outcome, r.function_error.as_deref()),
        (Outcome::FunctionError, Some("Unhandled")),
        "{}",
        r.body_str()
    );
    let body = r.json().expect("a JSON error");
    assert_eq!(body["errorType"], "Function.HandlerError", "{body}");
    let text = body["errorMessage"].as_str().expect("an errorMessage");
    assert!(
        text.starts_with(message) && text.contains("the whole batch fails and will be retried"),
        "{text}"
    );
    // The runtime logs the error after the handler returned: every line the handler wrote for
    // this invocation has arrived once it is there.
    let tag = format!("[{}]", r.request_id);
    assert!(
        emu.wait_until(LOG_WAIT, |e| e
            .log_text()
            .lines()
            .any(|l| l.contains(&tag) && l.contains(message))),
        "the error is logged:\n{}",
        emu.log_text()
    );
    let lines: Vec<String> = invocation_lines(emu, &r.request_id);
    assert!(
        !lines.iter().any(|l| l.contains(processed)),
        "a record was processed: {lines:#?}"
    );
}

/// The log lines of the invocation `request_id`.
fn invocation_lines(emu: &Emulator, request_id: &str) -> Vec<String> {
    let tag = format!("[{request_id}]");
    emu.log_text()
        .lines()
        .filter(|l| l.contains(&tag))
        .map(str::to_owned)
        .collect()
}

/// Waits until a log line of invocation `request_id` contains every one of `parts`.
fn assert_logged(emu: &Emulator, request_id: &str, parts: &[&str]) {
    let tag = format!("[{request_id}]");
    assert!(
        emu.wait_until(LOG_WAIT, |e| e
            .log_text()
            .lines()
            .any(|l| l.contains(&tag) && parts.iter().all(|p| l.contains(p)))),
        "no line of {request_id} with {parts:?}:\n{}",
        emu.log_text()
    );
}

/// An ordered batch: the first record that `fails`, and every record after it, by `id`.
fn from_first_failure(
    records: &[Value],
    fails: impl Fn(&Value) -> bool,
    id: impl Fn(&Value) -> String,
) -> Vec<String> {
    records.iter().skip_while(|r| !fails(r)).map(id).collect()
}

/// A string field of a record, by JSON pointer.
fn field(record: &Value, pointer: &str) -> String {
    record
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no {pointer} in {record}"))
        .to_owned()
}

// ----- SQS, standard queue: sqs-batch -----

/// An SQS message's body.
fn body(record: &Value) -> &str {
    record["body"].as_str().unwrap_or_default()
}

fn message_id(record: &Value) -> String {
    field(record, "/messageId")
}

/// `sqs-batch`'s rule: a body containing `fail` fails, one containing `panic` panics; each fails
/// alone (a standard queue is not ordered).
fn sqs_batch_failures(event: &Value) -> Vec<String> {
    records(event)
        .iter()
        .filter(|r| body(r).contains("fail") || body(r).contains("panic"))
        .map(message_id)
        .collect()
}

fn sqs_batch(adapter: &str) {
    let emu = start(&format!("sqs-batch-{adapter}"), |o| o);
    let event = sample("sqs.json");
    let expected = sqs_batch_failures(&event);
    let panicking: Vec<String> = records(&event)
        .iter()
        .filter(|r| body(r).contains("panic"))
        .map(message_id)
        .collect();
    let last = records(&event).last().expect("records");
    assert!(
        panicking.len() == 1
            && expected.len() > panicking.len()
            && expected.len() < records(&event).len()
            && !expected.contains(&message_id(last)),
        "the sample has a failing, a panicking and later good messages: {expected:?}"
    );
    let r = assert_failures(&emu, &event, &expected);
    // The panic is the record's failure, logged as such, and the batch went on past it.
    assert_logged(
        &emu,
        &r.request_id,
        &[
            "WARN",
            &format!("SQS record {} failed: panicked: message", panicking[0]),
            "asked to panic",
        ],
    );
    assert_logged(
        &emu,
        &r.request_id,
        &[&format!(
            "processed message {}: {}",
            message_id(last),
            body(last)
        )],
    );

    // The same process serves the next invocations: the good messages alone, an empty batch.
    let mut good = event.clone();
    records_mut(&mut good).retain(|r| !expected.contains(&message_id(r)));
    assert_failures(&emu, &good, &[]);
    assert_failures(&emu, &json!({"Records": []}), &[]);
    assert_eq!(emu.starts(), 1, "restarted: {:?}", emu.exits());
    assert!(emu.exits().is_empty(), "{:?}", emu.exits());
}

fn sqs_missing_message_id(adapter: &str) {
    let emu = start(&format!("sqs-batch-{adapter}"), |o| o);
    let sample = sample("sqs.json");
    let total = records(&sample).len();
    for missing in [Value::Null, json!(""), json!(7)] {
        let mut event = sample.clone();
        let record = &mut records_mut(&mut event)[1];
        if missing.is_null() {
            record.as_object_mut().unwrap().remove("messageId");
        } else {
            record["messageId"] = missing;
        }
        assert_whole_batch_fails(
            &emu,
            &event,
            &format!(
                "SQS record 1 (of {total}) has no item identifier (messageId is missing, empty \
                 or not a string)"
            ),
            "processed message",
        );
    }
    // Retried whole with the identifier, the batch is answered as usual, by the same process.
    assert_failures(&emu, &sample, &sqs_batch_failures(&sample));
    assert_eq!(emu.starts(), 1);
}

// ----- SQS, FIFO queue: sqs-fifo -----

/// `sqs-fifo`'s rule on a first delivery: a body containing `fail` fails, and a FIFO batch stops
/// there: that message and every later one are reported.
fn sqs_fifo_failures(event: &Value) -> Vec<String> {
    from_first_failure(records(event), |r| body(r).contains("fail"), message_id)
}

fn sqs_fifo(adapter: &str) {
    let emu = start(&format!("sqs-fifo-{adapter}"), |o| o);
    let event = sample("sqs-fifo.json");
    let all = records(&event);
    let expected = sqs_fifo_failures(&event);
    let first_failed = all.len() - expected.len();
    assert!(
        first_failed > 0 && expected.len() >= 2,
        "the sample has good messages before its failure and one after: {expected:?}"
    );
    let later = &all[first_failed + 1];
    let sequence = |r: &Value| field(r, "/attributes/SequenceNumber");
    let group = |r: &Value| field(r, "/attributes/MessageGroupId");
    let r = assert_failures(&emu, &event, &expected);
    // Before the failure, every group's messages were processed; after it, none, whatever its
    // group, and the runtime says why.
    for processed in &all[..first_failed] {
        assert_logged(
            &emu,
            &r.request_id,
            &[&format!(
                "group {}: {}: {}",
                group(processed),
                sequence(processed),
                body(processed)
            )],
        );
    }
    assert_logged(
        &emu,
        &r.request_id,
        &[
            "stopped at its first failure",
            &format!("{} later record(s)", expected.len() - 1),
        ],
    );
    assert!(
        !invocation_lines(&emu, &r.request_id)
            .iter()
            .any(|l| l.contains(&sequence(later))),
        "a message after the failure was processed:\n{}",
        emu.log_text()
    );

    // SQS delivers the whole batch again: the messages processed already are skipped (the
    // example keeps each group's last sequence number), the failure fails again.
    let again = assert_failures(&emu, &event, &expected);
    for processed in &all[..first_failed] {
        assert_logged(
            &emu,
            &again.request_id,
            &[&format!(
                "group {}: {} was processed already; skipped",
                group(processed),
                sequence(processed)
            )],
        );
    }
    // Once the failing message is fixed, what was left is processed, in order.
    let mut fixed = event.clone();
    records_mut(&mut fixed).drain(..first_failed);
    records_mut(&mut fixed)[0]["body"] = json!("table 4: order printed");
    assert!(sqs_fifo_failures(&fixed).is_empty());
    let done = assert_failures(&emu, &fixed, &[]);
    assert_logged(
        &emu,
        &done.request_id,
        &[&format!(
            "group {}: {}: {}",
            group(later),
            sequence(later),
            body(later)
        )],
    );
    assert_eq!(emu.starts(), 1);
}

// ----- Kinesis: kinesis-json -----

fn sequence_number(record: &Value) -> String {
    field(record, "/kinesis/sequenceNumber")
}

/// `kinesis-json`'s rule for one record: its data (base64) must be a JSON reading, a string
/// `sensor` and a number `celsius`, not below absolute zero.
fn reading_fails(record: &Value) -> bool {
    let Ok(data) = BASE64.decode(field(record, "/kinesis/data")) else {
        return true;
    };
    let Ok(reading) = serde_json::from_slice::<Value>(&data) else {
        return true;
    };
    !(reading["sensor"].is_string() && reading["celsius"].as_f64().is_some_and(|c| c >= -273.15))
}

/// `kinesis-json`'s answer: a stream is ordered, so from the first failing record on.
fn kinesis_failures(event: &Value) -> Vec<String> {
    from_first_failure(records(event), reading_fails, sequence_number)
}

/// `record` with `data` as its data.
fn set_data(record: &mut Value, data: &[u8]) {
    record["kinesis"]["data"] = json!(BASE64.encode(data));
}

fn kinesis_json(adapter: &str) {
    let emu = start(&format!("kinesis-json-{adapter}"), |o| o);
    let event = sample("kinesis.json");
    let expected = kinesis_failures(&event);
    let first = &records(&event)[records(&event).len() - expected.len()];
    assert!(
        expected.len() >= 2 && expected.len() < records(&event).len(),
        "the sample has good records, one that fails, and one after it: {expected:?}"
    );
    assert!(
        serde_json::from_slice::<Value>(&BASE64.decode(field(first, "/kinesis/data")).unwrap())
            .is_err(),
        "the sample's failing record is not JSON"
    );
    let r = assert_failures(&emu, &event, &expected);
    // The record whose data does not deserialise into a reading is the failure.
    assert_logged(
        &emu,
        &r.request_id,
        &[
            "WARN",
            &format!("Kinesis record {} failed", sequence_number(first)),
            "does not deserialise into",
            "Reading",
        ],
    );

    // A reading below absolute zero fails on the example's own rule; so does data that is not
    // base64 (the record does not fit `KinesisEventRecord`); each stops the batch where it is.
    let mut cold = event.clone();
    set_data(
        &mut records_mut(&mut cold)[1],
        br#"{"sensor":"t-2","celsius":-300}"#,
    );
    let expected = kinesis_failures(&cold);
    assert_eq!(expected.len(), records(&cold).len() - 1);
    let r = assert_failures(&emu, &cold, &expected);
    assert_logged(
        &emu,
        &r.request_id,
        &["t-2 read -300 °C, below absolute zero"],
    );
    let mut garbled = event.clone();
    records_mut(&mut garbled)[0]["kinesis"]["data"] = json!("not base64!");
    let r = assert_failures(&emu, &garbled, &kinesis_failures(&garbled));
    assert_eq!(kinesis_failures(&garbled).len(), records(&garbled).len());
    assert_logged(&emu, &r.request_id, &["not a Kinesis record"]);

    // Every reading good: nothing reported.
    let mut good = event.clone();
    for record in records_mut(&mut good) {
        set_data(record, br#"{"sensor":"t-9","celsius":4}"#);
    }
    assert_failures(&emu, &good, &[]);
    assert_eq!(emu.starts(), 1);
}

fn kinesis_missing_sequence_number(adapter: &str) {
    let emu = start(&format!("kinesis-json-{adapter}"), |o| o);
    let sample = sample("kinesis.json");
    let total = records(&sample).len();
    let mut event = sample.clone();
    let last = total - 1;
    records_mut(&mut event)[last]["kinesis"]
        .as_object_mut()
        .unwrap()
        .remove("sequenceNumber");
    assert_whole_batch_fails(
        &emu,
        &event,
        &format!(
            "Kinesis record {last} (of {total}) has no item identifier (kinesis.sequenceNumber \
             is missing, empty or not a string)"
        ),
        "°C (partition",
    );
    assert_failures(&emu, &sample, &kinesis_failures(&sample));
}

// ----- DynamoDB Streams: dynamodb-stream -----

fn stream_sequence_number(record: &Value) -> String {
    field(record, "/dynamodb/SequenceNumber")
}

/// The status of `image` if it is an order of `dynamodb-stream` (a numeric `Id`, a `Status` it
/// knows).
fn order_status(image: &Value) -> Option<&str> {
    image.pointer("/Id/N")?.as_str()?.parse::<u64>().ok()?;
    let status = image.pointer("/Status/S")?.as_str()?;
    ["new", "paid", "shipped", "cancelled"]
        .contains(&status)
        .then_some(status)
}

/// `dynamodb-stream`'s rule for one change: its images must be orders, and a cancelled order
/// must not become shipped.
fn change_fails(record: &Value) -> bool {
    let change = &record["dynamodb"];
    match record["eventName"].as_str() {
        Some("INSERT") => order_status(&change["NewImage"]).is_none(),
        Some("MODIFY") => match (
            order_status(&change["OldImage"]),
            order_status(&change["NewImage"]),
        ) {
            (Some(old), Some(new)) => old == "cancelled" && new == "shipped",
            _ => true,
        },
        Some("REMOVE") => order_status(&change["OldImage"]).is_none(),
        _ => true,
    }
}

/// `dynamodb-stream`'s answer: a stream is ordered, so from the first failing change on.
fn dynamodb_failures(event: &Value) -> Vec<String> {
    from_first_failure(records(event), change_fails, stream_sequence_number)
}

fn dynamodb_stream(adapter: &str) {
    let emu = start(&format!("dynamodb-stream-{adapter}"), |o| o);
    let event = sample("dynamodb.json");
    let expected = dynamodb_failures(&event);
    assert!(
        expected.len() >= 2 && expected.len() < records(&event).len(),
        "the sample has good changes, one that fails, and one after it: {expected:?}"
    );
    let r = assert_failures(&emu, &event, &expected);
    assert_logged(&emu, &r.request_id, &["order 1001: paid, receipt sent"]);
    assert_logged(
        &emu,
        &r.request_id,
        &[
            &format!("DynamoDB record {} failed", expected[0]),
            "was cancelled: it must not be shipped",
        ],
    );
    assert!(
        !invocation_lines(&emu, &r.request_id)
            .iter()
            .any(|l| l.contains("archived")),
        "the change after the failure was processed"
    );

    // A status the consumer does not know fails the change it is in: here the first.
    let mut unknown = event.clone();
    records_mut(&mut unknown)[0]["dynamodb"]["NewImage"]["Status"]["S"] = json!("on-hold");
    let expected = dynamodb_failures(&unknown);
    assert_eq!(expected.len(), records(&unknown).len());
    let r = assert_failures(&emu, &unknown, &expected);
    assert_logged(
        &emu,
        &r.request_id,
        &["the new image is not an order", "on-hold"],
    );

    // Without the change that breaks the rule, every change is processed.
    let mut good = event.clone();
    records_mut(&mut good).retain(|r| !change_fails(r));
    assert!(dynamodb_failures(&good).is_empty());
    let r = assert_failures(&emu, &good, &[]);
    assert_logged(
        &emu,
        &r.request_id,
        &["order 1001: removed (Paid), archived"],
    );
    assert_eq!(emu.starts(), 1);
}

fn dynamodb_missing_sequence_number(adapter: &str) {
    let emu = start(&format!("dynamodb-stream-{adapter}"), |o| o);
    let sample = sample("dynamodb.json");
    let total = records(&sample).len();
    let mut event = sample.clone();
    records_mut(&mut event)[0]["dynamodb"]["SequenceNumber"] = json!("");
    assert_whole_batch_fails(
        &emu,
        &event,
        &format!(
            "DynamoDB record 0 (of {total}) has no item identifier (dynamodb.SequenceNumber is \
             missing, empty or not a string)"
        ),
        "order 1001",
    );
    assert_failures(&emu, &sample, &dynamodb_failures(&sample));
}

// ----- aws-events: a plain Runner over the ecosystem's event types -----

/// `aws-events` with `_HANDLER` `handler`, invoked with `file`: the answer, which must be a
/// response.
fn aws_event(handler: &str, file: &str) -> (Value, Value) {
    let emu = start("aws-events", |o| o.handler(handler));
    let event = sample(file);
    let r = common::invoke(&emu, &serde_json::to_vec(&event).unwrap());
    assert_eq!(r.outcome, Outcome::Response, "{handler}: {}", r.body_str());
    (event, r.json().expect("a JSON answer"))
}

#[test]
fn aws_events_s3() {
    let (event, answer) = aws_event("s3", "s3.json");
    let expected: Vec<String> = records(&event)
        .iter()
        .map(|r| {
            format!(
                "s3://{}/{} ({} bytes, {})",
                field(r, "/s3/bucket/name"),
                field(r, "/s3/object/key"),
                r.pointer("/s3/object/size")
                    .and_then(Value::as_i64)
                    .unwrap(),
                field(r, "/eventName")
            )
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(answer, json!(expected));
}

#[test]
fn aws_events_sns() {
    let (event, answer) = aws_event("sns", "sns.json");
    let expected: Vec<String> = records(&event)
        .iter()
        .map(|r| format!("{}: {}", field(r, "/Sns/Subject"), field(r, "/Sns/Message")))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(answer, json!(expected));
}

#[test]
fn aws_events_eventbridge() {
    let (event, answer) = aws_event("eventbridge", "eventbridge.json");
    assert_eq!(answer["source"], "com.example.orders", "{answer}");
    assert_eq!(
        answer["detail-type"],
        format!("{} handled", field(&event, "/detail-type")),
        "{answer}"
    );
    // The function's region (the emulator's default), not the event's.
    assert_eq!(answer["region"], "us-east-1", "{answer}");
    assert_eq!(answer["resources"], json!([event["id"]]), "{answer}");
    assert_eq!(
        answer["detail"],
        json!({"from": event["source"], "detail": event["detail"]}),
        "{answer}"
    );
}

#[test]
fn aws_events_schedule() {
    let (event, answer) = aws_event("schedule", "schedule.json");
    let time = field(&event, "/time");
    let expected = format!(
        "{} from {} at {}",
        field(&event, "/detail-type"),
        field(&event, "/resources/0"),
        // chrono's RFC 3339 spells UTC `+00:00`.
        time.strip_suffix('Z')
            .map(|t| format!("{t}+00:00"))
            .unwrap_or(time)
    );
    assert_eq!(answer, json!(expected));
}
