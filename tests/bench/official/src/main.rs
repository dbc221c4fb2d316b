//! Returns its event unchanged, written with the official `lambda_runtime` crate: the reference
//! the benchmark (`cargo run --release -p lambda-bench --bin bench`) compares against.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
