//! `http-echo` on the tokio adapter: answers every HTTP request (any origin) with a JSON
//! description of what it received; see `examples/src/http_echo.rs` for the answer and its knobs.
//!
//! ```text
//! cargo run -p lambda-emulator -- --http 9000 -- cargo run -p examples --bin http-echo-tokio
//! curl -i 'http://127.0.0.1:9000/items?id=1' -H 'cookie: a=b'
//! ```

#[path = "../http_echo.rs"]
mod http_echo;

use lambda_runtime_types_tokio::Context;
use lambda_runtime_types_tokio::lambda_runtime_types::http::{self, HttpRequest};

pub fn main() -> anyhow::Result<()> {
    let echo = http::handler(async |req: HttpRequest, ctx: Context| {
        Ok::<_, std::convert::Infallible>(http_echo::answer(&req, &ctx))
    });
    lambda_runtime_types_tokio::builder().run_handler(&echo)
}
