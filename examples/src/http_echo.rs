//! The `http-echo` function, shared by `http-echo-tokio`, `http-echo-smol` and
//! `http-echo-custom` (each includes this file): it answers every HTTP request with a JSON
//! description of what the function received, which makes it a debugging tool for an origin's
//! events and the probe of the end-to-end HTTP suite (`tests/e2e/tests/http.rs`).
//!
//! The answer, `200` with `application/json` unless a knob below says otherwise:
//!
//! ```json
//! {
//!   "origin": "Lambda function URL",
//!   "origin_variant": "FunctionUrl",
//!   "method": "GET",
//!   "raw_path": "/a%20b/c+d",
//!   "decoded_path": "/a b/c+d",
//!   "path": "/a b/c+d",
//!   "paths": {"keep": "/a b/c+d", "strip": "/a b/c+d", "prefix": "/a b/c+d"},
//!   "stage": "$default",
//!   "raw_query": "b=2&a=1&b=3",
//!   "query_string": "b=2&a=1&b=3",
//!   "query": [["b", "2"], ["a", "1"], ["b", "3"]],
//!   "headers": [["accept", "*/*"], ["host", "127.0.0.1:9000"]],
//!   "cookies": ["a=b"],
//!   "host": "127.0.0.1:9000",
//!   "body": "",
//!   "body_encoding": "text",
//!   "was_base64": false,
//!   "request_id": "…"
//! }
//! ```
//!
//! `path` is the path with the default [`StagePolicy`] (`Strip`), `paths` the path under each
//! policy; `raw_query` is `null` where the origin sends no raw query string (REST, ALB,
//! Lattice); `body` is the body as text when it is UTF-8 (`body_encoding: "text"`), else its
//! bytes in base64 (`"base64"`); `was_base64` tells whether the event carried it base64-encoded.
//!
//! Knobs, as request headers. The list knobs take items separated by `,` (in one header, or
//! in several: payload 2.0 joins repeated request headers with `,` and an ALB in single-value
//! mode keeps only the last, so one header works for every origin); an item cannot hold a `,`:
//!
//! - `x-echo-status: 418`: the answer's status;
//! - `x-echo-header: vary: accept, x-custom: 1, vary: origin`: headers added to the answer, in
//!   order (a name twice: two values);
//! - `x-echo-cookie: s=1; Path=/, t=2; HttpOnly`: `Set-Cookie`s added to the answer, in order;
//! - `x-echo-body: raw`: the answer's body is the request's body, byte for byte, with the
//!   request's `Content-Type` (none if it had none), instead of the description.

use lambda_runtime_types::Context;
use lambda_runtime_types::http::{HttpRequest, HttpResponse, StagePolicy};
use serde_json::{Value, json};

/// The answer to `req`.
pub fn answer(req: &HttpRequest, ctx: &Context) -> HttpResponse {
    let headers = req.headers();
    let mut response = if headers.get("x-echo-body") == Some("raw") {
        let raw = HttpResponse::bytes(req.body());
        match req.header("content-type") {
            Some(content_type) => raw.header("content-type", content_type),
            None => raw,
        }
    } else {
        // Serialising a `Value` cannot fail.
        HttpResponse::json(&describe(req, ctx)).unwrap_or_else(|_| HttpResponse::new(500))
    };
    if let Some(status) = headers.get("x-echo-status").and_then(|s| s.parse().ok()) {
        response.status = status;
    }
    for header in list(req, "x-echo-header") {
        if let Some((name, value)) = header.split_once(':') {
            response.headers.append(name.trim(), value.trim());
        }
    }
    for cookie in list(req, "x-echo-cookie") {
        response.cookies.push(cookie.to_owned());
    }
    response
}

/// The `,`-separated items of every `name` header, trimmed, empty ones left out.
fn list<'r>(req: &'r HttpRequest, name: &'r str) -> impl Iterator<Item = &'r str> + 'r {
    req.headers()
        .get_all(name)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// What the function received, as JSON.
pub fn describe(req: &HttpRequest, ctx: &Context) -> Value {
    let path_under = |policy| req.clone().with_stage_policy(policy).path().to_owned();
    let pairs = |it: &mut dyn Iterator<Item = (&str, &str)>| -> Vec<[String; 2]> {
        it.map(|(k, v)| [k.to_owned(), v.to_owned()]).collect()
    };
    let (body, body_encoding) = match req.text() {
        Some(text) => (text.to_owned(), "text"),
        None => (base64(req.body()), "base64"),
    };
    json!({
        "origin": req.origin().name(),
        "origin_variant": format!("{:?}", req.origin()),
        "method": req.method(),
        "raw_path": req.raw_path(),
        "decoded_path": req.decoded_path(),
        "path": req.path(),
        "paths": {
            "keep": path_under(StagePolicy::Keep),
            "strip": path_under(StagePolicy::Strip),
            "prefix": path_under(StagePolicy::Prefix),
        },
        "stage": req.stage(),
        "raw_query": req.raw_query(),
        "query_string": req.query_string(),
        "query": pairs(&mut req.query().iter()),
        "headers": pairs(&mut req.headers().iter()),
        "cookies": req.cookies().collect::<Vec<_>>(),
        "host": req.host(),
        "body": body,
        "body_encoding": body_encoding,
        "was_base64": req.was_base64(),
        "request_id": ctx.request_id,
    })
}

/// `bytes` in standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_pads() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(&[0xff, 0xfe, 0x00, 0x80]), "//4AgA==");
    }
}
