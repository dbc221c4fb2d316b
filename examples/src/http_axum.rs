//! The `http-axum` function, shared by `http-axum-tokio`, `http-axum-smol` and
//! `http-axum-custom` (each includes this file): an axum `Router`, written as for any server,
//! run as the function through the core's feature `tower` (`run_service(router())` on an
//! adapter, `http::service(router())` for any `Builder`). axum is built without its default
//! features: no tokio, no hyper, no `axum::serve` — the router itself needs no executor.
//!
//! - `GET /hello?name=…` → `{"message": "hello, …", "request_id": …, "origin": …}` (JSON, the
//!   invocation's `Context` and the event's origin read from request extensions);
//! - `POST /echo` → `201` with the body and `Content-Type` sent, two cookies and two `Vary`
//!   values (repeated headers, as each origin can carry them);
//! - `GET /users/{id}/posts/{post}` → the path parameters (percent-decoded by axum) as JSON;
//! - anything else: axum's `404`.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{Extension, Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use lambda_runtime_types::Context;
use lambda_runtime_types::http::Origin;
use serde_json::json;

/// The routes.
pub fn router() -> Router {
    Router::new()
        .route("/hello", get(hello))
        .route("/echo", post(echo))
        .route("/users/{id}/posts/{post}", get(post_of))
}

async fn hello(
    Extension(ctx): Extension<Context>,
    Extension(origin): Extension<Origin>,
    Query(query): Query<BTreeMap<String, String>>,
) -> Json<serde_json::Value> {
    let name = query.get("name").map_or("world", String::as_str);
    Json(json!({
        "message": format!("hello, {name}"),
        "request_id": ctx.request_id,
        "origin": origin.name(),
    }))
}

async fn echo(headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, content_type)],
        // A plain header array would keep only the last of a repeated name.
        AppendHeaders([
            (header::SET_COOKIE, "seen=1; Path=/; HttpOnly"),
            (header::SET_COOKIE, "lang=en; Path=/"),
            (header::VARY, "accept"),
            (header::VARY, "origin"),
        ]),
        body,
    )
}

async fn post_of(Path((id, post)): Path<(String, u32)>) -> Json<serde_json::Value> {
    Json(json!({ "user": id, "post": post }))
}
