//! `http-axum` on the smol adapter (no tokio runtime: the router runs on `async_io::block_on`):
//! an axum `Router` as the function; see `examples/src/http_axum.rs` for its routes.
//!
//! ```text
//! cargo run -p lambda-emulator -- --http 9000 -- cargo run -p examples --bin http-axum-smol
//! curl -i 'http://127.0.0.1:9000/hello?name=me'
//! curl -i -d ping -H 'content-type: text/plain' http://127.0.0.1:9000/echo
//! curl -i http://127.0.0.1:9000/users/a%20b/posts/7
//! ```

#[path = "../http_axum.rs"]
mod http_axum;

pub fn main() -> anyhow::Result<()> {
    lambda_runtime_types_smol::run_service(http_axum::router())
}
