//! `sqs-fifo` on the smol adapter; see `examples/src/sqs_fifo.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/sqs-fifo.json -- cargo run -q -p examples --bin sqs-fifo-smol
//! ```

#[path = "../sqs_fifo.rs"]
mod sqs_fifo;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_smol::SmolRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Batch<sqs_fifo::SqsFifo, SmolRuntime>, _>()
}
