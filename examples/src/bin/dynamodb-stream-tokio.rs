//! `dynamodb-stream` on the tokio adapter; see `examples/src/dynamodb_stream.rs`.
//!
//! ```text
//! cargo run -p lambda-emulator -- --event examples/events/dynamodb.json -- cargo run -q -p examples --bin dynamodb-stream-tokio
//! ```

#[path = "../dynamodb_stream.rs"]
mod dynamodb_stream;

use lambda_runtime_types::batch::Batch;
use lambda_runtime_types_tokio::TokioRuntime;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_tokio::exec_tokio::<
        _,
        _,
        Batch<dynamodb_stream::OrderChanges, TokioRuntime>,
        _,
    >()
}
