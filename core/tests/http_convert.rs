//! Feature `http`: an axum `Router` called by hand from an HTTP handler (no `tower` feature):
//! `HttpRequest::into_http_with` in, `HttpResponse::from_http` out, through the real driver and
//! the in-memory Runtime API, for a function URL, REST and ALB in both header modes.
#![cfg(feature = "http")]

use axum::Router;
use axum::http::header;
use axum::response::AppendHeaders;
use axum::routing::get;
use lambda_runtime_types::http::{HttpRequest, HttpResponse, LambdaHttpResponse, RequestExt};
use lambda_runtime_types::{LambdaEvent, Runner, testing};
use serde_json::{Value, json};
use tower_service::Service as _;

struct Api;

impl<'a> Runner<'a, Router, HttpRequest, LambdaHttpResponse> for Api {
    async fn setup(_region: &'a str) -> anyhow::Result<Router> {
        Ok(Router::new().route(
            "/who",
            get(async |req: axum::extract::Request| {
                let id = req.lambda_context().map(|c| c.request_id.clone());
                let stage = req.stage_variables().get("env").map(str::to_owned);
                (
                    AppendHeaders([
                        (header::SET_COOKIE, "a=1"),
                        (header::SET_COOKIE, "b=2"),
                        (header::LINK, "</x>"),
                        (header::LINK, "</y>"),
                    ]),
                    format!("{id:?} {stage:?} {}", req.uri()),
                )
            }),
        ))
    }

    async fn run(
        router: &'a Router,
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        let origin = event.event.origin();
        let req = event.event.into_http_with(event.ctx)?;
        let res = router.clone().call(req).await?;
        Ok(origin.respond(HttpResponse::from_http(res).await?))
    }
}

#[test]
fn a_router_by_hand_for_each_origin() {
    let events = json!([
        {"version": "2.0", "rawPath": "/who", "rawQueryString": "a=1&a=2",
         "requestContext": {"http": {"method": "GET"}, "stage": "$default",
            "domainName": "u.lambda-url.us-east-1.on.aws"}},
        {"resource": "/who", "path": "/who", "httpMethod": "GET",
         "stageVariables": {"env": "prod"},
         "requestContext": {"httpMethod": "GET", "stage": "Prod"}},
        {"requestContext": {"elb": {"targetGroupArn": "tg"}}, "httpMethod": "GET",
         "path": "/who", "multiValueHeaders": {}, "multiValueQueryStringParameters": {}},
        {"requestContext": {"elb": {"targetGroupArn": "tg"}}, "httpMethod": "GET",
         "path": "/who", "headers": {}, "queryStringParameters": {"q": "x%20y"}},
    ]);
    let doc = json!({"region": "eu-west-1", "invocations": events});
    let out = testing::block_on(testing::exec_test::<_, _, Api, _>(&doc.to_string())).unwrap();
    let ok = |i: usize| -> &Value { out[i].as_ref().unwrap() };

    assert_eq!(ok(0)["body"], "Some(\"test-0\") None /who?a=1&a=2");
    assert_eq!(ok(0)["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(ok(0)["headers"]["link"], "</x>, </y>");

    assert_eq!(ok(1)["body"], "Some(\"test-1\") Some(\"prod\") /who");
    assert_eq!(
        ok(1)["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );
    assert_eq!(ok(1)["multiValueHeaders"]["link"], json!(["</x>", "</y>"]));

    assert_eq!(ok(2)["statusDescription"], "200 OK");
    assert_eq!(
        ok(2)["multiValueHeaders"]["set-cookie"],
        json!(["a=1", "b=2"])
    );

    assert_eq!(ok(3)["body"], "Some(\"test-3\") None /who?q=x%20y");
    assert_eq!(ok(3)["headers"]["link"], "</x>, </y>");
    let cookies = ok(3)["headers"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .count();
    assert_eq!(cookies, 2, "each cookie under a name of its own");
}
