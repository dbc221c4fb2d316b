//! `LambdaHttpResponse`: the JSON each origin gets, parsed back and checked field by field;
//! the two ways to write an HTTP function, run through the real driver.
#![cfg(feature = "std")]

use base64::Engine as _;
use lambda_runtime_types::http::{
    self, BodyEncoding, HeaderMode, HttpRequest, HttpResponse, LambdaHttpResponse, Origin,
};
use lambda_runtime_types::{Context, LambdaEvent, Runner, runner::Handler, testing};
use serde_json::{Value, json};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

fn shaped(origin: Origin, r: HttpResponse) -> Value {
    serde_json::to_value(LambdaHttpResponse::new(origin, r)).unwrap()
}

/// Repeated headers, a `Set-Cookie` header and two cookies.
fn busy() -> HttpResponse {
    HttpResponse::text("hi")
        .status(201)
        .header("Vary", "Accept")
        .header("x-one", "1")
        .header("vary", "Origin")
        .header("Set-Cookie", "a=1; Path=/")
        .cookie("b=2; HttpOnly")
        .cookie("c=3, with a comma")
}

fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

#[test]
fn rest_and_websocket_send_every_value_in_multi_value_headers() {
    for origin in [
        Origin::ApiGatewayRest,
        Origin::ApiGatewayHttpV1,
        Origin::WebSocket,
    ] {
        let v = shaped(origin, busy());
        assert_eq!(
            keys(&v),
            ["body", "isBase64Encoded", "multiValueHeaders", "statusCode"]
        );
        assert_eq!(v["statusCode"], 201);
        let h = &v["multiValueHeaders"];
        assert_eq!(h["Vary"], json!(["Accept", "Origin"]));
        assert_eq!(h["x-one"], json!(["1"]));
        assert_eq!(
            h["Set-Cookie"],
            json!(["a=1; Path=/", "b=2; HttpOnly", "c=3, with a comma"])
        );
        assert_eq!(h["content-type"], json!(["text/plain; charset=utf-8"]));
        assert_eq!(
            (&v["body"], &v["isBase64Encoded"]),
            (&json!("hi"), &json!(false))
        );
    }
    // Cookies without a `Set-Cookie` header still get one.
    let v = shaped(Origin::ApiGatewayRest, HttpResponse::new(204).cookie("k=v"));
    assert_eq!(v["multiValueHeaders"]["Set-Cookie"], json!(["k=v"]));
}

#[test]
fn http_api_and_function_url_join_headers_and_never_cookies() {
    for origin in [Origin::ApiGatewayHttpV2, Origin::FunctionUrl] {
        let v = shaped(origin, busy());
        assert_eq!(
            keys(&v),
            [
                "body",
                "cookies",
                "headers",
                "isBase64Encoded",
                "statusCode"
            ]
        );
        assert_eq!(v["headers"]["Vary"], "Accept, Origin", "every value kept");
        assert_eq!(v["headers"]["x-one"], "1");
        assert!(v["headers"].get("Set-Cookie").is_none());
        assert_eq!(
            v["cookies"],
            json!(["a=1; Path=/", "b=2; HttpOnly", "c=3, with a comma"])
        );
    }
    let v = shaped(Origin::FunctionUrl, HttpResponse::text("x"));
    assert!(v.get("cookies").is_none(), "no empty list");
}

#[test]
fn alb_echoes_the_header_mode() {
    let v = shaped(Origin::Alb(HeaderMode::Multi), busy());
    assert_eq!(
        keys(&v),
        [
            "body",
            "isBase64Encoded",
            "multiValueHeaders",
            "statusCode",
            "statusDescription"
        ]
    );
    assert_eq!(v["statusDescription"], "201 Created");
    assert_eq!(v["multiValueHeaders"]["Vary"], json!(["Accept", "Origin"]));
    assert_eq!(
        v["multiValueHeaders"]["Set-Cookie"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    let v = shaped(Origin::Alb(HeaderMode::Single), busy());
    assert_eq!(
        keys(&v),
        [
            "body",
            "headers",
            "isBase64Encoded",
            "statusCode",
            "statusDescription"
        ]
    );
    assert_single_value_headers(&v["headers"]);
}

fn assert_single_value_headers(h: &Value) {
    assert_eq!(h["Vary"], "Accept, Origin");
    let mut cookies: Vec<(&str, &str)> = h
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();
    cookies.sort_by_key(|(_, v)| *v);
    assert_eq!(
        cookies.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        ["a=1; Path=/", "b=2; HttpOnly", "c=3, with a comma"],
        "each cookie alone, under a name of its own: {cookies:?}"
    );
}

#[test]
fn lattice_sends_single_values_and_a_status_description() {
    for origin in [Origin::LatticeV2, Origin::LatticeV1] {
        let v = shaped(origin, busy().status(599));
        assert_eq!(v["statusDescription"], "599 Server Error");
        assert_single_value_headers(&v["headers"]);
    }
}

#[test]
fn binary_bodies_go_base64_and_back() {
    let bytes = vec![0u8, 0xff, 0x10, 0x80, b'a'];
    for origin in [
        Origin::ApiGatewayRest,
        Origin::ApiGatewayHttpV2,
        Origin::FunctionUrl,
        Origin::Alb(HeaderMode::Single),
        Origin::LatticeV2,
    ] {
        // No Content-Type and not UTF-8: base64, not a lossy text.
        let v = shaped(origin, HttpResponse::bytes(bytes.clone()));
        assert_eq!(v["isBase64Encoded"], true);
        assert_eq!(B64.decode(v["body"].as_str().unwrap()).unwrap(), bytes);
    }
    let png = HttpResponse::bytes("PNGish").header("content-type", "image/png");
    assert_eq!(
        shaped(Origin::ApiGatewayHttpV2, png.clone())["body"],
        B64.encode("PNGish")
    );
    let forced = png.encoding(BodyEncoding::Text);
    assert_eq!(shaped(Origin::ApiGatewayHttpV2, forced)["body"], "PNGish");
    let svg = HttpResponse::bytes("<svg/>").header("Content-Type", "image/svg+xml");
    assert_eq!(shaped(Origin::FunctionUrl, svg)["isBase64Encoded"], false);
    let b64 = HttpResponse::text("plain").encoding(BodyEncoding::Base64);
    assert_eq!(
        shaped(Origin::FunctionUrl, b64)["body"],
        B64.encode("plain")
    );
    let lying = HttpResponse::bytes(vec![0xff]).header("content-type", "text/plain");
    assert_eq!(shaped(Origin::FunctionUrl, lying)["isBase64Encoded"], true);

    // And in: a base64 request body comes out as the same bytes.
    let req = HttpRequest::from_slice(
        &serde_json::to_vec(&json!({
            "version": "2.0", "rawPath": "/", "rawQueryString": "",
            "requestContext": {"http": {"method": "POST"}, "stage": "$default"},
            "body": B64.encode(&bytes), "isBase64Encoded": true,
        }))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(req.body(), bytes);
    let echoed = req.respond(HttpResponse::bytes(req.body().to_vec()));
    let v = serde_json::to_value(echoed).unwrap();
    assert_eq!(B64.decode(v["body"].as_str().unwrap()).unwrap(), bytes);
}

#[test]
fn empty_bodies_and_statuses() {
    for origin in [
        Origin::ApiGatewayRest,
        Origin::FunctionUrl,
        Origin::Alb(HeaderMode::Multi),
    ] {
        let v = shaped(
            origin,
            HttpResponse::new(204).header("content-type", "image/png"),
        );
        assert_eq!(
            (&v["body"], &v["isBase64Encoded"]),
            (&json!(""), &json!(false))
        );
    }
    let v = shaped(Origin::Alb(HeaderMode::Single), HttpResponse::new(218));
    assert_eq!(
        (&v["statusCode"], &v["statusDescription"]),
        (&json!(218), &json!("218 Success"))
    );
    for bad in [0, 99, 1000] {
        let err = serde_json::to_vec(&LambdaHttpResponse::new(
            Origin::FunctionUrl,
            HttpResponse::new(bad),
        ))
        .unwrap_err();
        assert!(err.to_string().contains("outside 100-999"), "{err}");
    }
}

#[test]
fn json_builder() {
    let v = shaped(
        Origin::FunctionUrl,
        HttpResponse::json(&json!({"ok": true})).unwrap(),
    );
    assert_eq!(v["headers"]["content-type"], "application/json");
    assert_eq!(v["body"], "{\"ok\":true}");
}

/// The closure form, called as the driver calls it.
#[test]
fn closure_handler_shapes_for_the_origin_and_keeps_errors() {
    let app = http::handler(async |req: HttpRequest, ctx: Context| {
        if req.path() == "/fail" {
            anyhow::bail!("it failed");
        }
        Ok(HttpResponse::text(format!(
            "{} {} {}",
            req.method(),
            req.path(),
            ctx.request_id
        )))
    });
    let event = |path: &str| {
        let v = json!({
            "version": "2.0", "rawPath": format!("/Prod{path}"), "rawQueryString": "",
            "requestContext": {"http": {"method": "GET"}, "stage": "Prod"},
        });
        HttpRequest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap()
    };
    let run = |req| {
        testing::block_on(app.run(
            &(),
            LambdaEvent::new(req, "eu-west-1", Context::for_test("r-1")),
        ))
    };
    let ok = run(event("/hi")).unwrap();
    assert_eq!(ok.origin(), Origin::ApiGatewayHttpV2);
    assert_eq!(
        ok.response().body,
        b"GET /hi r-1",
        "the stage stripped by default"
    );
    let err = run(event("/fail")).unwrap_err();
    assert_eq!(err.to_string(), "it failed", "a handler error, not a 500");

    let keep = http::handler(async |req: HttpRequest, _: Context| {
        Ok::<_, std::convert::Infallible>(HttpResponse::text(req.path().to_owned()))
    })
    .stage_policy(http::StagePolicy::Keep);
    let r = testing::block_on(keep.run(
        &(),
        LambdaEvent::new(event("/x"), "r", Context::for_test("i")),
    ));
    assert_eq!(r.unwrap().response().body, b"/Prod/x");
}

struct Api;

impl<'a> Runner<'a, (), HttpRequest, LambdaHttpResponse> for Api {
    async fn setup(_region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run(
        _: &'a (),
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        let req = event.event;
        let body =
            json!({"origin": req.origin().name(), "path": req.path(), "n": req.body().len()});
        Ok(req.respond(HttpResponse::json(&body)?.cookie("seen=1")))
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/http/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The Runner form through the real driver and an in-memory Runtime API: each origin's
/// response shape, and a malformed event reported as `Runtime.InvalidEvent`.
#[test]
fn runner_through_the_driver() {
    let mut bad = fixture("example-apigw-request.json");
    bad["body"] = json!("not base64 (secret) !!");
    bad["isBase64Encoded"] = json!(true);
    let doc = json!({"region": "eu-west-1", "invocations": [
        fixture("example-apigw-request.json"),
        fixture("lambda_function_url_request.json"),
        fixture("example-alb-lambda-target-request-multivalue-headers.json"),
        fixture("example-vpc-lattice-v2-request.json"),
        bad,
        fixture("example-sqs-event-obj.json"),
    ]});
    let out = testing::block_on(testing::exec_test::<_, _, Api, _>(&doc.to_string())).unwrap();
    let ok = |i: usize| out[i].as_ref().unwrap();
    assert_eq!(ok(0)["multiValueHeaders"]["Set-Cookie"], json!(["seen=1"]));
    assert_eq!(ok(1)["cookies"], json!(["seen=1"]));
    assert_eq!(ok(2)["statusDescription"], "200 OK");
    assert!(ok(2).get("multiValueHeaders").is_some());
    assert!(ok(3)["headers"].get("set-cookie").is_some());
    let body: Value = serde_json::from_str(ok(1)["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["origin"], "Lambda function URL");

    let invalid = out[4].as_ref().unwrap_err();
    assert_eq!(invalid.error_type().as_str(), "Runtime.InvalidEvent");
    assert!(
        invalid
            .error_message
            .contains("HTTP event (API Gateway REST): `body` is not valid base64"),
        "{}",
        invalid.error_message
    );
    assert!(!invalid.error_message.contains("secret"));
    let not_http = out[5].as_ref().unwrap_err();
    assert_eq!(not_http.error_type().as_str(), "Runtime.InvalidEvent");
    assert!(
        not_http
            .error_message
            .contains("not an HTTP event of a known origin")
    );
}
