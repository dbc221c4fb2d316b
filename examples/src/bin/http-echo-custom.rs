//! `http-echo` on the custom executor of `examples/src/custom_executor.rs` (blocking sockets,
//! `pollster`); see `examples/src/http_echo.rs` for the answer and its knobs.

#[path = "../http_echo.rs"]
mod http_echo;

use lambda_runtime_types::Context;
use lambda_runtime_types::http::{self, HttpRequest};

pub fn main() -> anyhow::Result<()> {
    let echo = http::handler(async |req: HttpRequest, ctx: Context| {
        Ok::<_, std::convert::Infallible>(http_echo::answer(&req, &ctx))
    });
    examples::custom_executor::builder().run_handler(&echo)
}
