//! `kinesis-json` on the smol adapter; see `examples/src/kinesis_json.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/kinesis.json -- cargo run -q -p examples --bin kinesis-json-smol
//! ```

#[path = "../kinesis_json.rs"]
mod kinesis_json;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_smol::SmolRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Batch<kinesis_json::KinesisReadings, SmolRuntime>, _>(
    )
}
