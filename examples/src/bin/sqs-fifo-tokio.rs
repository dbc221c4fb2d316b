//! `sqs-fifo` on the tokio adapter; see `examples/src/sqs_fifo.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/sqs-fifo.json -- cargo run -q -p examples --bin sqs-fifo-tokio
//! ```

#[path = "../sqs_fifo.rs"]
mod sqs_fifo;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_tokio::TokioRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<_, _, Batch<sqs_fifo::SqsFifo, TokioRuntime>, _>()
}
