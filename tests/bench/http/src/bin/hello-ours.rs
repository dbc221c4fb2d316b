//! The same hello world on our HTTP types and the tokio adapter: `text/plain` "hello".

use lambda_runtime_types_tokio::Context;
use lambda_runtime_types_tokio::lambda_runtime_types::http::{self, HttpRequest, HttpResponse};

fn main() -> anyhow::Result<()> {
    let hello = http::handler(async |_req: HttpRequest, _ctx: Context| {
        Ok::<_, std::convert::Infallible>(
            HttpResponse::bytes("hello").header("content-type", "text/plain"),
        )
    });
    lambda_runtime_types_tokio::builder().run_handler(&hello)
}
