//! `dynamodb-stream` on the smol adapter; see `examples/src/dynamodb_stream.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/dynamodb.json -- cargo run -q -p examples --bin dynamodb-stream-smol
//! ```

#[path = "../dynamodb_stream.rs"]
mod dynamodb_stream;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_smol::SmolRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::exec_smol::<_, _, Batch<dynamodb_stream::OrderChanges, SmolRuntime>, _>(
    )
}
