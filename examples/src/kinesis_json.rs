//! `kinesis-json`, shared by `kinesis-json-tokio` and `kinesis-json-smol`: a Kinesis consumer
//! whose records carry JSON readings (`{"sensor": "t-1", "celsius": 21.5}`). A record whose data
//! is not a reading fails; so does a reading below absolute zero. The stream is ordered, so the
//! first failure stops the batch and it and every later record are reported: Lambda retries
//! from the lowest sequence number reported.

use lambda_runtime_types::batch::{BatchRunner, Kinesis, Record};

/// One record's data.
#[derive(Debug, serde::Deserialize)]
pub struct Reading {
    /// The sensor's name.
    pub sensor: String,
    /// The temperature it read.
    pub celsius: f64,
}

/// The consumer.
pub struct KinesisReadings;

impl<'a> BatchRunner<'a, ()> for KinesisReadings {
    type Source = Kinesis;
    type Body = Reading;

    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn process(_shared: &'a (), record: Record<'_, Kinesis, Reading>) -> anyhow::Result<()> {
        let Reading { sensor, celsius } = &record.body;
        anyhow::ensure!(
            *celsius >= -273.15,
            "{sensor} read {celsius} °C, below absolute zero"
        );
        log::info!(
            "{sensor}: {celsius} °C (partition {}, sequence number {})",
            record.record.kinesis.partition_key,
            record.id
        );
        Ok(())
    }
}
