//! `sqs-batch`, shared by `sqs-batch-tokio` and `sqs-batch-smol`: an SQS consumer with
//! partial-failure responses, for standard and FIFO queues alike. A message whose body contains
//! `fail` fails, one whose body contains `panic` panics; every other one is processed (logged).
//! Only the failed messages are reported (`batchItemFailures`); in a FIFO batch the runner also
//! reports every message after the first failure, unprocessed.

use lambda_runtime_types::batch::{BatchRunner, Record, Sqs, Undecoded};

/// The consumer: one message at a time, bodies as text.
pub struct SqsBatch;

impl<'a> BatchRunner<'a, ()> for SqsBatch {
    type Source = Sqs;
    type Body = Undecoded;

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn process(_shared: &'a (), record: Record<'_, Sqs, Undecoded>) -> anyhow::Result<()> {
        let body = String::from_utf8_lossy(record.raw_body().unwrap_or_default());
        if body.contains("panic") {
            panic!("message {} asked to panic", record.id);
        }
        anyhow::ensure!(
            !body.contains("fail"),
            "message {} asked to fail",
            record.id
        );
        log::info!("processed message {}: {body}", record.id);
        Ok(())
    }
}
