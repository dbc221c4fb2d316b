//! `http-axum` on the custom blocking executor (`examples/src/custom_executor.rs`: pollster and
//! `std::net`): an axum `Router` as the function; see `examples/src/http_axum.rs` for its
//! routes.
//!
//! ```text
//! cargo run -p lambda-emulator -- --http 9000 -- cargo run -p examples --bin http-axum-custom
//! curl -i 'http://127.0.0.1:9000/hello?name=me'
//! curl -i -d ping -H 'content-type: text/plain' http://127.0.0.1:9000/echo
//! curl -i http://127.0.0.1:9000/users/a%20b/posts/7
//! ```

#[path = "../http_axum.rs"]
mod http_axum;

pub fn main() -> anyhow::Result<()> {
    let app = lambda_runtime_types::http::service(http_axum::router());
    examples::custom_executor::builder().run_handler(&app)
}
