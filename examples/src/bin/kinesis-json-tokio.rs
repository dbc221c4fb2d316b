//! `kinesis-json` on the tokio adapter; see `examples/src/kinesis_json.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/kinesis.json -- cargo run -q -p examples --bin kinesis-json-tokio
//! ```

#[path = "../kinesis_json.rs"]
mod kinesis_json;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_tokio::TokioRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<
        _,
        _,
        Batch<kinesis_json::KinesisReadings, TokioRuntime>,
        _,
    >()
}
