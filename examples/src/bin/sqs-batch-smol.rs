//! `sqs-batch` on the smol adapter; see `examples/src/sqs_batch.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/sqs.json -- cargo run -q -p examples --bin sqs-batch-smol
//! ```

#[path = "../sqs_batch.rs"]
mod sqs_batch;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_smol::SmolRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Batch<sqs_batch::SqsBatch, SmolRuntime>, _>()
}
