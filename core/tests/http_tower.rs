//! Feature `tower`: an axum `Router`, unchanged, as the function (`http::service`), through the
//! real driver and the in-memory Runtime API; the Lambda JSON each origin gets back, with
//! repeated headers and cookies; service and body errors as the invocation's error.
#![cfg(feature = "tower")]

use std::collections::BTreeMap;
use std::task::{Context as TaskContext, Poll};

use axum::body::{Body as AxumBody, Bytes};
use axum::extract::{Extension, Path, Query};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use lambda_runtime_types::http::{
    self, Body, HttpRequest, LambdaHttpResponse, Origin, PathParameters, RequestContext,
    ServiceHandler,
};
use lambda_runtime_types::{Context, LambdaEvent, Runner, runner::Handler, testing};
use serde_json::{Value, json};

fn router() -> Router {
    Router::new()
        .route(
            "/hello",
            get(
                async |Extension(ctx): Extension<Context>,
                       Extension(origin): Extension<Origin>,
                       Extension(rc): Extension<RequestContext>,
                       Extension(params): Extension<PathParameters>| {
                    Json(json!({
                        "hello": "world",
                        "request_id": ctx.request_id,
                        "origin": origin.name(),
                        "stage": rc.stage(),
                        "path_parameters": params.0.len(),
                    }))
                },
            ),
        )
        .route(
            "/echo",
            post(async |headers: HeaderMap, body: Bytes| {
                let ct = headers
                    .get(header::CONTENT_TYPE)
                    .cloned()
                    .unwrap_or(header::HeaderValue::from_static("application/octet-stream"));
                (
                    StatusCode::CREATED,
                    [(header::CONTENT_TYPE, ct)],
                    // `AppendHeaders`: axum's plain header array replaces a repeated name.
                    AppendHeaders([
                        (header::VARY, "accept"),
                        (header::VARY, "origin"),
                        (header::SET_COOKIE, "a=1; Path=/"),
                        (header::SET_COOKIE, "b=2, with a comma"),
                    ]),
                    body,
                )
            }),
        )
        .route(
            "/items/{id}",
            get(
                async |Path(id): Path<String>, Query(q): Query<BTreeMap<String, String>>| {
                    Json(json!({ "id": id, "query": q }))
                },
            ),
        )
        .route(
            "/broken",
            get(async || {
                let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                    Ok(Bytes::from_static(b"half")),
                    Err(std::io::Error::other("the stream broke")),
                ];
                AxumBody::from_stream(futures_lite::stream::iter(chunks)).into_response()
            }),
        )
}

/// The router as a `Runner`, so that `testing::exec_test` drives it through the real driver.
struct Api;

impl<'a> Runner<'a, ServiceHandler<Router>, HttpRequest, LambdaHttpResponse> for Api {
    async fn setup(_region: &'a str) -> anyhow::Result<ServiceHandler<Router>> {
        Ok(http::service(router()))
    }

    async fn run(
        svc: &'a ServiceHandler<Router>,
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        svc.run(&(), event).await
    }
}

fn function_url(method: &str, raw_path: &str, raw_query: &str, body: Option<&str>) -> Value {
    json!({
        "version": "2.0", "rawPath": raw_path, "rawQueryString": raw_query,
        "cookies": ["c=1"],
        "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "text/plain"},
        "requestContext": {"http": {"method": method, "path": raw_path},
            "domainName": "abc.lambda-url.eu-west-1.on.aws", "stage": "$default",
            "requestId": "ctx-id"},
        "body": body, "isBase64Encoded": false,
    })
}

fn rest(method: &str, path: &str, body: Option<&str>) -> Value {
    json!({
        "resource": "/{proxy+}", "path": path, "httpMethod": method,
        "headers": {"Content-Type": "text/plain"},
        "multiValueHeaders": {"Content-Type": ["text/plain"], "X-Many": ["1", "2"]},
        "pathParameters": {"proxy": path.trim_start_matches('/')},
        "requestContext": {"httpMethod": method, "stage": "Prod", "path": format!("/Prod{path}")},
        "body": body, "isBase64Encoded": false,
    })
}

fn alb(method: &str, path: &str, multi: bool, body: Option<&str>) -> Value {
    let mut ev = json!({
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:tg"}},
        "httpMethod": method, "path": path, "body": body.unwrap_or(""),
        "isBase64Encoded": false,
    });
    match multi {
        true => {
            ev["multiValueHeaders"] = json!({"content-type": ["text/plain"]});
            ev["multiValueQueryStringParameters"] = json!({"q": ["a b", "c"]});
        }
        false => {
            ev["headers"] = json!({"content-type": "text/plain"});
            ev["queryStringParameters"] = json!({"q": "a%20b"});
        }
    }
    ev
}

fn run(events: Vec<Value>) -> Vec<testing::TestOutcome> {
    let doc = json!({"region": "eu-west-1", "invocations": events});
    testing::block_on(testing::exec_test::<_, _, Api, _>(&doc.to_string())).unwrap()
}

fn body_json(v: &Value) -> Value {
    assert_eq!(v["isBase64Encoded"], false, "{v}");
    serde_json::from_str(v["body"].as_str().unwrap()).unwrap()
}

#[test]
fn function_url_json_get_echo_and_path_params() {
    let out = run(vec![
        function_url("GET", "/hello", "", None),
        function_url("POST", "/echo", "", Some("ping")),
        function_url("GET", "/items/a%20b", "x=1&x=2&y=%C3%A9", None),
        function_url("GET", "/nowhere", "", None),
        // lambda_http panics on these: characters a URI may not hold, in rawQueryString.
        function_url("GET", "/items/7", "q=\"a b\"|<x>&é=#", None),
    ]);
    let ok = |i: usize| out[i].as_ref().unwrap();

    assert_eq!(ok(0)["statusCode"], 200);
    assert_eq!(ok(0)["headers"]["content-type"], "application/json");
    let hello = body_json(ok(0));
    assert_eq!(hello["request_id"], "test-0", "the invocation's Context");
    assert_eq!(hello["origin"], "Lambda function URL");
    assert_eq!(hello["stage"], "$default");

    let echo = ok(1);
    assert_eq!(echo["statusCode"], 201);
    assert_eq!(echo["body"], "ping");
    assert_eq!(
        echo["headers"]["vary"], "accept, origin",
        "repeated headers joined"
    );
    assert_eq!(echo["cookies"], json!(["a=1; Path=/", "b=2, with a comma"]));
    assert!(echo["headers"].get("set-cookie").is_none());

    let item = body_json(ok(2));
    assert_eq!(item["id"], "a b");
    assert_eq!(item["query"], json!({"x": "2", "y": "é"}));

    assert_eq!(ok(3)["statusCode"], 404);
    assert_eq!(ok(4)["statusCode"], 200, "{}", ok(4));
    let odd = body_json(ok(4));
    assert_eq!(odd["query"]["q"], "\"a b\"|<x>");
}

#[test]
fn rest_and_alb_shapes() {
    let out = run(vec![
        rest("POST", "/echo", Some("rest body")),
        rest("GET", "/items/9", None),
        alb("POST", "/echo", true, Some("alb")),
        alb("POST", "/echo", false, Some("alb1")),
        alb("GET", "/items/x", true, None),
        alb("GET", "/items/y", false, None),
    ]);
    let ok = |i: usize| out[i].as_ref().unwrap();

    let r = ok(0);
    assert_eq!(r["statusCode"], 201);
    assert_eq!(r["multiValueHeaders"]["vary"], json!(["accept", "origin"]));
    assert_eq!(
        r["multiValueHeaders"]["set-cookie"],
        json!(["a=1; Path=/", "b=2, with a comma"])
    );
    assert_eq!(r["body"], "rest body");
    assert!(r.get("headers").is_none());
    assert_eq!(body_json(ok(1))["id"], "9", "REST's path has no stage");

    let m = ok(2);
    assert_eq!(m["statusDescription"], "201 Created");
    assert_eq!(m["multiValueHeaders"]["vary"], json!(["accept", "origin"]));
    assert_eq!(
        m["multiValueHeaders"]["set-cookie"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(m["body"], "alb");

    let s = ok(3);
    assert_eq!(s["headers"]["vary"], "accept, origin");
    let mut cookies: Vec<&str> = s["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str().unwrap())
        .collect();
    cookies.sort_unstable();
    assert_eq!(cookies, ["a=1; Path=/", "b=2, with a comma"], "each alone");

    // ALB's query is decoded once; every value of a repeated name reaches the router.
    assert_eq!(body_json(ok(4))["query"]["q"], "c");
    assert_eq!(body_json(ok(5))["query"]["q"], "a b");
}

#[test]
fn the_stage_is_stripped_from_an_http_api_path() {
    let ev = json!({
        "version": "2.0", "rawPath": "/Prod/items/7", "rawQueryString": "",
        "requestContext": {"http": {"method": "GET"}, "stage": "Prod"},
    });
    let out = run(vec![ev]);
    assert_eq!(body_json(out[0].as_ref().unwrap())["id"], "7");
}

#[test]
fn a_failing_body_is_the_invocations_error() {
    let out = run(vec![
        function_url("GET", "/broken", "", None),
        function_url("GET", "/hello", "", None),
    ]);
    let err = out[0].as_ref().unwrap_err();
    assert!(err.error_message.contains("the stream broke"), "{err:?}");
    assert_eq!(
        out[1].as_ref().unwrap()["statusCode"],
        200,
        "the next one is served"
    );
}

/// A service of our own: not ready once, then failing on a path; no `Clone`, `Send` or `Sync`.
struct Picky {
    polls: std::rc::Rc<std::cell::Cell<u32>>,
}

impl tower_service::Service<axum::http::Request<Body>> for Picky {
    type Response = axum::http::Response<Body>;
    type Error = std::io::Error;
    type Future = std::future::Ready<Result<Self::Response, std::io::Error>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), std::io::Error>> {
        let n = self.polls.get();
        self.polls.set(n + 1);
        if n % 2 == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: axum::http::Request<Body>) -> Self::Future {
        std::future::ready(match req.uri().path() {
            "/fail" => Err(std::io::Error::other("the service failed")),
            _ => Ok(axum::http::Response::new(Body::from(req.uri().to_string()))),
        })
    }
}

#[test]
fn readiness_and_service_errors() {
    let polls = std::rc::Rc::default();
    let svc = http::service(Picky {
        polls: std::rc::Rc::clone(&polls),
    });
    let call = |path: &str| {
        let ev = function_url("GET", path, "", None);
        let req = HttpRequest::from_slice(&serde_json::to_vec(&ev).unwrap()).unwrap();
        testing::block_on(svc.run(&(), LambdaEvent::new(req, "r", Context::for_test("id"))))
    };
    let ok = call("/ok").unwrap();
    assert_eq!(ok.response().body, b"/ok");
    assert_eq!(polls.get(), 2, "polled until ready");
    let err = call("/fail").unwrap_err();
    assert_eq!(err.to_string(), "the service failed");
}

#[test]
fn a_request_http_cannot_hold_is_a_400() {
    let mut ev = function_url("GET", "/hello", "", None);
    ev["headers"]["bad name"] = json!("x");
    let out = run(vec![ev]);
    let r = out[0].as_ref().unwrap();
    assert_eq!(r["statusCode"], 400);
}
