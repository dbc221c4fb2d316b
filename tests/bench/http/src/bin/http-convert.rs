//! One HTTP invocation's conversions, without the runtime around them, on our types or on
//! `lambda_http`, `N` times over the same HTTP API (payload 2.0) event
//! (`fixtures/http-api-v2-post.json`, 1.5 KB):
//!
//! - `ours`: event bytes → [`HttpRequest`] (`serde_json`, as our driver reads an event) → a
//!   handler's [`HttpResponse`] → [`LambdaHttpResponse`] → response JSON bytes;
//! - `lambda-http`: event bytes → `LambdaRequest` (`serde_path_to_error` over `serde_json`, as
//!   `lambda_runtime` reads an event) → `lambda_http::Request` → the handler's
//!   `Response<Body>` → `LambdaResponse` (through `lambda_http`'s own `Adapter`, the service
//!   `lambda_http::run` gives `lambda_runtime`) → response JSON bytes (`serde_json::to_vec`, as
//!   `lambda_runtime` sends it).
//!
//! The handler is the same on both: it reads the `view` query parameter and the `session`
//! cookie, and answers `200` JSON `{"id":"42","view":"full"}` with two headers and a cookie.
//!
//! ```text
//! http-convert ours|lambda-http N          # N conversions; prints the response of the last
//! http-convert ours|lambda-http N --time   # also the nanoseconds per conversion (stderr)
//! ```
//!
//! `lambda-bench`'s `http-cost` runs it under callgrind with two values of `N`: the difference
//! is the instructions of `N₂ − N₁` conversions, start-up and exit cancelled out.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context as TaskContext, Poll, Waker};
use std::time::Instant;

use lambda_http::request::LambdaRequest;
use lambda_http::{Body, Request, RequestExt, Response, Service, service_fn};
use lambda_runtime_types::http::{HttpRequest, HttpResponse};

const EVENT: &[u8] = include_bytes!("../../fixtures/http-api-v2-post.json");

/// Polls `f` to completion; the futures here never wait.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = TaskContext::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Ours: the same steps as `http::handler` under the driver.
fn ours(event: &[u8]) -> Vec<u8> {
    let req: HttpRequest = serde_json::from_slice(event).expect("an HTTP API event");
    let view = req.query().get("view").unwrap_or("basic");
    let session = req.cookie("session").is_some();
    let id = req.path().rsplit('/').next().unwrap_or("");
    let answer = HttpResponse::json(&serde_json::json!({ "id": id, "view": view }))
        .expect("JSON")
        .header("cache-control", "no-store")
        .header("x-session", if session { "yes" } else { "no" })
        .cookie("seen=1; Path=/; HttpOnly");
    serde_json::to_vec(&req.respond(answer)).expect("the response JSON")
}

async fn lambda_http_handler(req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let params = req.query_string_parameters_ref();
    let view = params.and_then(|p| p.first("view")).unwrap_or("basic");
    let session = req
        .headers()
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split("; "))
        .any(|c| c.starts_with("session="));
    let id = req.uri().path().rsplit('/').next().unwrap_or("");
    let body = serde_json::to_string(&serde_json::json!({ "id": id, "view": view }))?;
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("x-session", if session { "yes" } else { "no" })
        .header("set-cookie", "seen=1; Path=/; HttpOnly")
        .body(Body::from(body))?)
}

/// `lambda_http`: what `lambda_runtime` and `lambda_http::run` do between the event's bytes and
/// the response's.
fn lambda_http(event: &[u8]) -> Vec<u8> {
    let jd = &mut serde_json::Deserializer::from_slice(event);
    let payload: LambdaRequest = serde_path_to_error::deserialize(jd).expect("an HTTP API event");
    let mut adapter = lambda_http::Adapter::from(service_fn(lambda_http_handler));
    let event = lambda_http::LambdaEvent::new(payload, lambda_http::Context::default());
    let response = ready(adapter.call(event)).expect("the handler answers");
    serde_json::to_vec(&response).expect("the response JSON")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
    let time = args.next().as_deref() == Some("--time");
    let convert: fn(&[u8]) -> Vec<u8> = match which.as_str() {
        "ours" => ours,
        "lambda-http" => lambda_http,
        _ => {
            eprintln!("usage: http-convert ours|lambda-http N [--time]");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let mut last = Vec::new();
    for _ in 0..n {
        last = convert(black_box(EVENT));
        black_box(&last);
    }
    if time {
        let ns = start.elapsed().as_nanos() as f64 / n.max(1) as f64;
        eprintln!("{which}: {ns:.0} ns per conversion");
    }
    println!("{}", String::from_utf8_lossy(&last));
}
