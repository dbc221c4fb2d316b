//! Feature `tower` with streaming on: one axum app whose server-sent-events route is streamed
//! (the HTTP-integration prelude, then each frame) while its JSON route stays buffered, through
//! the real driver and the in-memory Runtime API.
#![cfg(feature = "tower")]

use axum::body::{Body as AxumBody, Bytes};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use lambda_runtime_types::http::{self, HttpRequest, LambdaHttpResponse, ServiceHandler};
use lambda_runtime_types::runner::Handler;
use lambda_runtime_types::testing::{FakeRuntimeApi, MemoryExecutor, PostKind, run_virtual};
use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
use serde_json::{Value, json};

fn router() -> Router {
    Router::new()
        .route("/json", get(async || Json(json!({"buffered": true}))))
        .route(
            "/events",
            get(async || {
                let frames: Vec<Result<Bytes, std::io::Error>> = (1..=3)
                    .map(|n| Ok(Bytes::from(format!("data: {n}\n\n"))))
                    .collect();
                (
                    [(header::CONTENT_TYPE, "text/event-stream")],
                    [(header::SET_COOKIE, "seen=1")],
                    AxumBody::from_stream(futures_lite::stream::iter(frames)),
                )
                    .into_response()
            }),
        )
}

struct App;

impl<'a> Runner<'a, ServiceHandler<Router>, HttpRequest, LambdaHttpResponse> for App {
    async fn setup(_region: &'a str) -> anyhow::Result<ServiceHandler<Router>> {
        Ok(http::service(router()).streaming(true))
    }

    async fn run(
        svc: &'a ServiceHandler<Router>,
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        svc.run(&(), event).await
    }
}

fn function_url(path: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": "2.0", "rawPath": path, "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.eu-west-1.on.aws"},
        "requestContext": {"http": {"method": "GET", "path": path},
            "domainName": "abc.lambda-url.eu-west-1.on.aws", "stage": "$default"},
        "isBase64Encoded": false,
    }))
    .unwrap()
}

#[test]
fn an_sse_route_streams_while_a_json_route_stays_buffered() {
    let api = FakeRuntimeApi::new();
    api.push("events", function_url("/events"));
    api.push("json", function_url("/json"));
    let exec = MemoryExecutor::with_virtual_clock(api.clone());
    let clock = exec.virtual_clock().expect("a virtual clock").clone();
    let config = Config::for_endpoint(api.endpoint());
    let exited = run_virtual(
        &clock,
        driver::run::<_, ServiceHandler<Router>, HttpRequest, App, LambdaHttpResponse>(
            &exec, config,
        ),
    );
    assert_eq!(exited, None);
    let posts = api.posts();
    assert_eq!(posts.len(), 2, "{posts:?}");

    let events = &posts[0];
    assert_eq!(events.request_id.as_deref(), Some("events"));
    assert_eq!((events.kind, events.streamed), (PostKind::Response, true));
    assert_eq!(
        events.content_type.as_deref(),
        Some("application/vnd.awslambda.http-integration-response")
    );
    let at = events
        .body
        .windows(8)
        .position(|w| w == [0; 8])
        .expect("8 NULs");
    let prelude: Value = serde_json::from_slice(&events.body[..at]).unwrap();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(prelude["headers"]["content-type"], "text/event-stream");
    assert_eq!(prelude["cookies"], json!(["seen=1"]));
    assert_eq!(&events.body[at + 8..], b"data: 1\n\ndata: 2\n\ndata: 3\n\n");
    assert_eq!(events.error_type, None);

    let buffered = &posts[1];
    assert_eq!(
        (buffered.kind, buffered.streamed),
        (PostKind::Response, false)
    );
    let reply: Value = serde_json::from_slice(&buffered.body).unwrap();
    assert_eq!(reply["statusCode"], 200);
    let body: Value = serde_json::from_str(reply["body"].as_str().unwrap()).unwrap();
    assert_eq!(body, json!({"buffered": true}));
}
