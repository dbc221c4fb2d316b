//! The event sources a [`Batch`](super::Batch) reads: how each names its records, where a
//! record's body is, and whether its records are ordered.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// An event source that invokes a function with a batch of records (`{"Records": […]}`) and
/// accepts a partial-failure response (`ReportBatchItemFailures`).
///
/// Implemented by [`Sqs`], [`Kinesis`] and [`DynamoDb`] (each behind its feature); sealed.
pub trait Source: sealed::Sealed {
    /// One record, as the `aws_lambda_events` crate types it.
    type Record: DeserializeOwned;

    /// The source's name in log lines and errors (`SQS`).
    const NAME: &'static str;

    /// Where a record's item identifier is, as a JSON pointer into the record
    /// (`/messageId`): what the response names a failed record by.
    const ID_POINTER: &'static str;

    /// The item identifier of `record` (`None` if it has none).
    fn id(record: &Self::Record) -> Option<&str>;

    /// The record's payload, if the source has one: an SQS message's body, a Kinesis record's
    /// data (base64-decoded). DynamoDB stream records have none.
    fn body(record: &Self::Record) -> Option<&[u8]>;

    /// Whether the record (as received) comes from an ordered source: an SQS FIFO queue, a
    /// Kinesis shard, a DynamoDB stream. A batch with one ordered record is processed in order
    /// and stops at its first failure.
    fn is_ordered(record: &Value) -> bool;

    /// Whether the source is a stream, whose partial failures Lambda reads as a checkpoint
    /// (it retries from the lowest sequence number reported) rather than a list of messages.
    const IS_STREAM: bool;
}

mod sealed {
    pub trait Sealed {}
}

/// SQS queues, standard and FIFO (feature `sqs`): records are
/// [`SqsMessage`](aws_lambda_events::sqs::SqsMessage)s, named by `messageId`, whose body is the
/// message body.
///
/// A batch is from a FIFO queue if a record's `eventSourceARN` ends with `.fifo` or it has the
/// `MessageGroupId` attribute. A FIFO batch is always processed in order, one record at a time,
/// and stops at the first failure: that record and every later one are reported failed, as
/// Lambda asks of FIFO consumers (a later message of the group must not be processed before an
/// earlier one that will be retried).
#[cfg(feature = "sqs")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Sqs;

#[cfg(feature = "sqs")]
impl sealed::Sealed for Sqs {}

#[cfg(feature = "sqs")]
impl Source for Sqs {
    type Record = aws_lambda_events::sqs::SqsMessage;
    const NAME: &'static str = "SQS";
    const ID_POINTER: &'static str = "/messageId";
    const IS_STREAM: bool = false;

    fn id(record: &Self::Record) -> Option<&str> {
        record.message_id.as_deref()
    }

    fn body(record: &Self::Record) -> Option<&[u8]> {
        record.body.as_deref().map(str::as_bytes)
    }

    fn is_ordered(record: &Value) -> bool {
        let fifo_arn = record
            .get("eventSourceARN")
            .and_then(Value::as_str)
            .is_some_and(|arn| arn.ends_with(".fifo"));
        fifo_arn || record.pointer("/attributes/MessageGroupId").is_some()
    }
}

/// Kinesis data streams (feature `kinesis`): records are
/// [`KinesisEventRecord`](aws_lambda_events::kinesis::KinesisEventRecord)s, named by
/// `kinesis.sequenceNumber`, whose body is the record's `data` (base64-decoded).
///
/// A shard is ordered: by default records are processed in order and processing stops at the
/// first failure, which is reported with every later record. Lambda checkpoints at the lowest
/// sequence number reported and retries from there.
#[cfg(feature = "kinesis")]
#[derive(Clone, Copy, Debug, Default)]
pub struct Kinesis;

#[cfg(feature = "kinesis")]
impl sealed::Sealed for Kinesis {}

#[cfg(feature = "kinesis")]
impl Source for Kinesis {
    type Record = aws_lambda_events::kinesis::KinesisEventRecord;
    const NAME: &'static str = "Kinesis";
    const ID_POINTER: &'static str = "/kinesis/sequenceNumber";
    const IS_STREAM: bool = true;

    fn id(record: &Self::Record) -> Option<&str> {
        Some(record.kinesis.sequence_number.as_str())
    }

    fn body(record: &Self::Record) -> Option<&[u8]> {
        Some(&record.kinesis.data.0)
    }

    fn is_ordered(_record: &Value) -> bool {
        true
    }
}

/// DynamoDB Streams (feature `dynamodb`): records are
/// [`EventRecord`](aws_lambda_events::dynamodb::EventRecord)s, named by
/// `dynamodb.SequenceNumber`. They have no body: read the change from `record.change`
/// (`Keys`, `NewImage`, `OldImage`), with the body type [`Undecoded`](super::Undecoded).
///
/// Ordered like [`Kinesis`].
#[cfg(feature = "dynamodb")]
#[derive(Clone, Copy, Debug, Default)]
pub struct DynamoDb;

#[cfg(feature = "dynamodb")]
impl sealed::Sealed for DynamoDb {}

#[cfg(feature = "dynamodb")]
impl Source for DynamoDb {
    type Record = aws_lambda_events::dynamodb::EventRecord;
    const NAME: &'static str = "DynamoDB";
    const ID_POINTER: &'static str = "/dynamodb/SequenceNumber";
    const IS_STREAM: bool = true;

    fn id(record: &Self::Record) -> Option<&str> {
        record.change.sequence_number.as_deref()
    }

    fn body(_record: &Self::Record) -> Option<&[u8]> {
        None
    }

    fn is_ordered(_record: &Value) -> bool {
        true
    }
}
