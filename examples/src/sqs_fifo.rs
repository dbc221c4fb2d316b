//! `sqs-fifo`, shared by `sqs-fifo-tokio` and `sqs-fifo-smol`: a FIFO queue consumer that keeps,
//! per message group, the last sequence number it processed (in its shared data, for the life of
//! the execution environment) and skips a message it has seen already: SQS may deliver a message
//! again after a failed batch. A body containing `fail` fails, which stops the batch: it and
//! every later message are reported, so no later message of a group is processed before it.

use std::cell::RefCell;
use std::collections::HashMap;

use lambda_runtime_types::batch::{BatchRunner, Record, Sqs, Undecoded};

/// The last sequence number processed, per message group.
#[derive(Debug, Default)]
pub struct Groups(RefCell<HashMap<String, u128>>);

/// The consumer.
pub struct SqsFifo;

impl<'a> BatchRunner<'a, Groups> for SqsFifo {
    type Source = Sqs;
    type Body = Undecoded;

    async fn setup(_region: &'a str) -> anyhow::Result<Groups> {
        Ok(Groups::default())
    }

    async fn process(groups: &'a Groups, record: Record<'_, Sqs, Undecoded>) -> anyhow::Result<()> {
        let attribute = |name: &str| record.record.attributes.get(name).map(String::as_str);
        let group = attribute("MessageGroupId").unwrap_or_default();
        let sequence: u128 = attribute("SequenceNumber").unwrap_or_default().parse()?;
        if groups
            .0
            .borrow()
            .get(group)
            .is_some_and(|last| *last >= sequence)
        {
            log::info!("group {group}: {sequence} was processed already; skipped");
            return Ok(());
        }
        let body = String::from_utf8_lossy(record.raw_body().unwrap_or_default());
        anyhow::ensure!(
            !body.contains("fail"),
            "group {group}: message {} failed",
            record.id
        );
        log::info!("group {group}: {sequence}: {body}");
        groups.0.borrow_mut().insert(group.to_string(), sequence);
        Ok(())
    }
}
