//! `sqs-batch` on the tokio adapter; see `examples/src/sqs_batch.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/sqs.json -- cargo run -q -p examples --bin sqs-batch-tokio
//! ```

#[path = "../sqs_batch.rs"]
mod sqs_batch;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_tokio::TokioRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Batch<sqs_batch::SqsBatch, TokioRuntime>, _>()
}
