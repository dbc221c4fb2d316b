//! Feature `http-types`: a handler written against `http-types`, through the real driver and
//! the in-memory Runtime API; its panicking cases (an unknown status, a request without a host,
//! non-ASCII header values) as errors.
#![cfg(feature = "http-types")]

use http_types::{Response, StatusCode};
use lambda_runtime_types::http::{HttpRequest, HttpResponse, LambdaHttpResponse};
use lambda_runtime_types::{LambdaEvent, Runner, testing};
use serde_json::{Value, json};

struct Api;

impl<'a> Runner<'a, (), HttpRequest, LambdaHttpResponse> for Api {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(
        _: &'a (),
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        let origin = event.event.origin();
        let req = event.event.into_http_types()?;
        let mut res = Response::new(StatusCode::Ok);
        res.append_header("set-cookie", "a=1");
        res.append_header("set-cookie", "b=2");
        res.set_body(req.url().as_str());
        if req.url().path() == "/teapot-ish" {
            // 599 is no `StatusCode`: an error, not `Response::new(599)`'s panic.
            HttpResponse::new(599).into_http_types()?;
        }
        Ok(origin.respond(HttpResponse::from_http_types(res).await?))
    }
}

#[test]
fn an_http_types_handler_for_each_origin() {
    let events = json!([
        {"version": "2.0", "rawPath": "/a b", "rawQueryString": "q=<1>",
         "headers": {"host": "u.lambda-url.us-east-1.on.aws"},
         "requestContext": {"http": {"method": "GET"}, "stage": "$default",
            "domainName": "u.lambda-url.us-east-1.on.aws"}},
        {"resource": "/x", "path": "/x", "httpMethod": "GET",
         "requestContext": {"httpMethod": "GET", "stage": "Prod"}},
        {"requestContext": {"elb": {"targetGroupArn": "tg"}}, "httpMethod": "GET",
         "path": "/health", "headers": {}},
        {"requestContext": {"elb": {"targetGroupArn": "tg"}}, "httpMethod": "GET",
         "path": "/teapot-ish", "headers": {}},
        {"requestContext": {"elb": {"targetGroupArn": "tg"}}, "httpMethod": "GET",
         "path": "/", "headers": {"x-name": "café"}},
    ]);
    let doc = json!({"region": "eu-west-1", "invocations": events});
    let out = testing::block_on(testing::exec_test::<_, _, Api, _>(&doc.to_string())).unwrap();
    let ok = |i: usize| -> &Value { out[i].as_ref().unwrap() };

    assert_eq!(
        ok(0)["body"],
        "https://u.lambda-url.us-east-1.on.aws/a%20b?q=%3C1%3E"
    );
    assert_eq!(ok(0)["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(ok(0)["headers"]["content-type"], "text/plain;charset=utf-8");
    assert_eq!(
        ok(1)["body"],
        "http://localhost/x",
        "no host: the documented base"
    );
    assert_eq!(
        ok(1)["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
    assert_eq!(ok(2)["statusDescription"], "200 OK");
    assert_eq!(ok(2)["body"], "http://localhost/health");

    let status = out[3].as_ref().unwrap_err();
    assert!(
        status.error_message.contains("status code 599"),
        "{status:?}"
    );
    let ascii = out[4].as_ref().unwrap_err();
    assert!(
        ascii.error_message.contains("header `x-name` is not ASCII"),
        "{ascii:?}"
    );
    assert!(
        !ascii.error_message.contains("café"),
        "the value is never quoted"
    );
}
