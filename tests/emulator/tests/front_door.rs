//! The HTTP front door, end to end: a bash + curl function behind each origin, std
//! `TcpStream` as the client. The function echoes the event it got as the response body, or
//! answers a fixed response (`FN_RESPONSE`) for paths with `/fixed`.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::client::{Reply, once};
use common::{WAIT, fixture};
use lambda_emulator::{Emulator, HttpOrigin, Options};
use serde_json::{Value, json};

const BINARY: &[u8] = &[0, 255, 1, 2, 0x80, b'\n', 0xfe];

fn start(origin: HttpOrigin, response: &str) -> Emulator {
    let emu = Emulator::start(
        Options::new([fixture("http-function.sh")])
            .http_front_door(0)
            .http_origin(origin)
            .env("FN_RESPONSE", response)
            .timeout(Duration::from_secs(30)),
    )
    .unwrap();
    emu.wait_ready(WAIT).unwrap();
    emu
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The event the function got for this request (it echoes it).
fn event(
    emu: &Emulator,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Value {
    let reply = once(emu.http_addr().unwrap(), method, target, headers, body);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.header("content-type"), Some("application/json"));
    reply.json()
}

const QUERY: &str = "/items/a%20b?b=2&a=1+2&a=%20x&flag";
const HEADERS: &[(&str, &str)] = &[
    ("X-Rep", "one"),
    ("X-Rep", "two"),
    ("Cookie", "a=b; c=d"),
    ("Cookie", "e=f"),
    ("User-Agent", "front-door-test"),
];

fn binary_body(event: &Value) -> Vec<u8> {
    assert_eq!(event["isBase64Encoded"], true, "{event:#}");
    base64::engine::general_purpose::STANDARD
        .decode(event["body"].as_str().unwrap())
        .unwrap()
}

fn binary_post(emu: &Emulator) -> Value {
    event(
        emu,
        "POST",
        "/upload",
        &[("Content-Type", "application/octet-stream")],
        BINARY,
    )
}

fn text_post(emu: &Emulator) -> Value {
    event(
        emu,
        "PUT",
        "/text",
        &[("Content-Type", "application/json; charset=utf-8")],
        "{\"é\":1}".as_bytes(),
    )
}

#[test]
fn function_url_events_are_payload_2_0() {
    let emu = start(HttpOrigin::FunctionUrl, "");
    let ev = event(&emu, "GET", QUERY, HEADERS, b"");
    assert_eq!(ev["version"], "2.0");
    assert_eq!(ev["routeKey"], "$default");
    assert_eq!(ev["rawPath"], "/items/a%20b");
    assert_eq!(ev["rawQueryString"], "b=2&a=1+2&a=%20x&flag");
    assert_eq!(ev["cookies"], json!(["a=b", "c=d", "e=f"]));
    let headers = ev["headers"].as_object().unwrap();
    assert_eq!(headers["x-rep"], "one,two");
    assert_eq!(headers["user-agent"], "front-door-test");
    assert_eq!(headers["host"], "front.door");
    assert_eq!(headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert!(!headers.contains_key("cookie"), "{headers:?}");
    assert!(headers.keys().all(|k| *k == k.to_lowercase()));
    assert_eq!(
        ev["queryStringParameters"],
        json!({"b": "2", "a": "1 2, x", "flag": ""})
    );
    let ctx = &ev["requestContext"];
    assert_eq!(ctx["accountId"], "anonymous");
    let domain = ctx["domainName"].as_str().unwrap();
    let id = ctx["apiId"].as_str().unwrap();
    assert_eq!(domain, format!("{id}.lambda-url.us-east-1.on.aws"));
    assert_eq!(id.len(), 32);
    assert_eq!(ctx["domainPrefix"], id);
    assert_eq!(
        ctx["http"],
        json!({"method": "GET", "path": "/items/a%20b", "protocol": "HTTP/1.1",
               "sourceIp": "127.0.0.1", "userAgent": "front-door-test"})
    );
    assert_eq!(ctx["routeKey"], "$default");
    assert_eq!(ctx["stage"], "$default");
    assert!(ctx["requestId"].as_str().unwrap().len() == 36);
    assert!(ctx["time"].as_str().unwrap().ends_with(" +0000"));
    assert!(ctx["timeEpoch"].as_u64().unwrap() > 1_600_000_000_000);
    assert!(ev.get("body").is_none());
    assert_eq!(ev["isBase64Encoded"], false);
    assert!(ev.get("pathParameters").is_none() && ev.get("stageVariables").is_none());

    assert_eq!(binary_body(&binary_post(&emu)), BINARY);
    let text = text_post(&emu);
    assert_eq!(text["body"], "{\"é\":1}");
    assert_eq!(text["isBase64Encoded"], false);
    assert_eq!(text["requestContext"]["http"]["method"], "PUT");
    // Not a text type: base64 even though it is ASCII.
    let form = event(
        &emu,
        "POST",
        "/f",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"a=1",
    );
    assert_eq!(binary_body(&form), b"a=1");
}

#[test]
fn http_api_events_are_payload_2_0_on_execute_api() {
    let emu = start(HttpOrigin::HttpApi, "");
    let ev = event(&emu, "DELETE", QUERY, HEADERS, b"");
    assert_eq!(ev["version"], "2.0");
    assert_eq!(ev["rawQueryString"], "b=2&a=1+2&a=%20x&flag");
    assert_eq!(ev["cookies"], json!(["a=b", "c=d", "e=f"]));
    assert_eq!(ev["headers"]["x-rep"], "one,two");
    let ctx = &ev["requestContext"];
    assert_eq!(ctx["accountId"], "000000000000");
    let id = ctx["apiId"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    assert_eq!(
        ctx["domainName"],
        format!("{id}.execute-api.us-east-1.amazonaws.com")
    );
    assert_eq!(ctx["http"]["method"], "DELETE");
    assert_eq!(binary_body(&binary_post(&emu)), BINARY);
}

#[test]
fn rest_events_are_payload_1_0() {
    let emu = start(HttpOrigin::Rest, "");
    let ev = event(&emu, "PATCH", QUERY, HEADERS, b"");
    assert_eq!(ev["resource"], "/{proxy+}");
    assert_eq!(ev["path"], "/items/a b");
    assert_eq!(ev["httpMethod"], "PATCH");
    assert_eq!(ev["pathParameters"], json!({"proxy": "items/a b"}));
    assert_eq!(ev["stageVariables"], Value::Null);
    assert_eq!(ev["headers"]["x-rep"], "two", "the last value");
    assert_eq!(ev["multiValueHeaders"]["x-rep"], json!(["one", "two"]));
    assert_eq!(
        ev["multiValueHeaders"]["cookie"],
        json!(["a=b; c=d", "e=f"])
    );
    assert_eq!(
        ev["queryStringParameters"],
        json!({"b": "2", "a": " x", "flag": ""})
    );
    assert_eq!(
        ev["multiValueQueryStringParameters"],
        json!({"b": ["2"], "a": ["1 2", " x"], "flag": [""]})
    );
    let ctx = &ev["requestContext"];
    assert_eq!(ctx["stage"], "prod");
    assert_eq!(ctx["path"], "/prod/items/a b");
    assert_eq!(ctx["httpMethod"], "PATCH");
    assert_eq!(ctx["resourcePath"], "/{proxy+}");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["identity"]["userAgent"], "front-door-test");
    assert_eq!(ev["body"], Value::Null);
    assert_eq!(ev["isBase64Encoded"], false);

    let root = event(&emu, "GET", "/", &[], b"");
    assert_eq!(root["resource"], "/");
    assert_eq!(root["pathParameters"], Value::Null);
    assert_eq!(root["queryStringParameters"], Value::Null);
    assert_eq!(root["multiValueQueryStringParameters"], Value::Null);
    assert_eq!(binary_body(&binary_post(&emu)), BINARY);
    assert_eq!(text_post(&emu)["body"], "{\"é\":1}");
}

#[test]
fn alb_events_carry_one_header_map_and_raw_query_values() {
    let single = start(HttpOrigin::Alb, "");
    let ev = event(&single, "GET", QUERY, HEADERS, b"");
    let arn = ev["requestContext"]["elb"]["targetGroupArn"]
        .as_str()
        .unwrap();
    assert!(
        arn.starts_with(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/function/"
        ),
        "{arn}"
    );
    assert_eq!(ev["httpMethod"], "GET");
    assert_eq!(ev["path"], "/items/a%20b");
    assert_eq!(ev["headers"]["x-rep"], "two");
    assert_eq!(ev["headers"]["cookie"], "e=f");
    assert_eq!(
        ev["queryStringParameters"],
        json!({"b": "2", "a": "%20x", "flag": ""})
    );
    assert!(ev.get("multiValueHeaders").is_none());
    assert!(ev.get("multiValueQueryStringParameters").is_none());
    assert_eq!(ev["body"], "");
    assert_eq!(binary_body(&binary_post(&single)), BINARY);
    drop(single);

    let multi = start(HttpOrigin::AlbMultiValue, "");
    let ev = event(&multi, "GET", QUERY, HEADERS, b"");
    assert_eq!(ev["multiValueHeaders"]["x-rep"], json!(["one", "two"]));
    assert_eq!(
        ev["multiValueQueryStringParameters"],
        json!({"b": ["2"], "a": ["1+2", "%20x"], "flag": [""]})
    );
    assert!(ev.get("headers").is_none());
    assert!(ev.get("queryStringParameters").is_none());
    assert_eq!(binary_body(&binary_post(&multi)), BINARY);
}

#[test]
fn lattice_events_are_version_2_with_arrays() {
    let emu = start(HttpOrigin::Lattice, "");
    let ev = event(&emu, "GET", QUERY, HEADERS, b"");
    assert_eq!(ev["version"], "2.0");
    assert_eq!(ev["path"], "/items/a%20b");
    assert_eq!(ev["method"], "GET");
    assert_eq!(ev["headers"]["x-rep"], json!(["one", "two"]));
    assert_eq!(ev["headers"]["user-agent"], json!(["front-door-test"]));
    assert_eq!(
        ev["queryStringParameters"],
        json!({"b": ["2"], "a": ["1+2", "%20x"], "flag": [""]})
    );
    let ctx = &ev["requestContext"];
    for (key, prefix) in [
        (
            "serviceNetworkArn",
            "arn:aws:vpc-lattice:us-east-1:000000000000:servicenetwork/sn-",
        ),
        (
            "serviceArn",
            "arn:aws:vpc-lattice:us-east-1:000000000000:service/svc-",
        ),
        (
            "targetGroupArn",
            "arn:aws:vpc-lattice:us-east-1:000000000000:targetgroup/tg-",
        ),
    ] {
        assert!(ctx[key].as_str().unwrap().starts_with(prefix), "{ctx:#}");
    }
    assert!(
        ctx["identity"]["sourceVpcArn"]
            .as_str()
            .unwrap()
            .contains(":vpc/vpc-")
    );
    assert_eq!(ctx["region"], "us-east-1");
    let micros: u128 = ctx["timeEpoch"].as_str().unwrap().parse().unwrap();
    assert!(micros > 1_600_000_000_000_000);
    assert_eq!(binary_body(&binary_post(&emu)), BINARY);
}

fn fixed(emu: &Emulator) -> Reply {
    once(emu.http_addr().unwrap(), "GET", "/fixed", &[], b"")
}

#[test]
fn payload_2_0_responses_set_cookies_and_decode_bodies() {
    let response = json!({
        "statusCode": 201,
        "headers": {"content-type": "application/octet-stream", "x-joined": "a,b"},
        "cookies": ["c1=v1; Path=/; HttpOnly", "c2=v2"],
        "body": b64(BINARY),
        "isBase64Encoded": true,
    });
    for origin in [HttpOrigin::FunctionUrl, HttpOrigin::HttpApi] {
        let emu = start(origin, &response.to_string());
        let reply = fixed(&emu);
        assert_eq!(reply.status, 201, "{origin:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("application/octet-stream")
        );
        assert_eq!(reply.all("x-joined"), ["a,b"]);
        assert_eq!(
            reply.all("set-cookie"),
            ["c1=v1; Path=/; HttpOnly", "c2=v2"]
        );
        assert_eq!(reply.body, BINARY);
    }
}

#[test]
fn payload_2_0_infers_the_format_of_json_without_status_code() {
    let emu = start(HttpOrigin::FunctionUrl, r#"{"hello":"world","n":[1,2]}"#);
    let reply = fixed(&emu);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.body, br#"{"hello":"world","n":[1,2]}"#);
}

#[test]
fn rest_responses_merge_header_maps() {
    let response = json!({
        "statusCode": 202,
        "headers": {"x-single": "one", "Vary": "lost"},
        "multiValueHeaders": {"vary": ["a", "b"], "set-cookie": ["c1=v1", "c2=v2"]},
        "body": b64(BINARY),
        "isBase64Encoded": true,
    });
    let emu = start(HttpOrigin::Rest, &response.to_string());
    let reply = fixed(&emu);
    assert_eq!(reply.status, 202);
    assert_eq!(reply.all("x-single"), ["one"]);
    assert_eq!(reply.all("vary"), ["a", "b"], "multiValueHeaders win");
    assert_eq!(reply.all("set-cookie"), ["c1=v1", "c2=v2"]);
    assert_eq!(reply.body, BINARY);
    drop(emu);

    // A key payload 1.0 does not know: a malformed proxy response.
    let emu = start(HttpOrigin::Rest, r#"{"statusCode":200,"cookies":["a=b"]}"#);
    let reply = fixed(&emu);
    assert_eq!(reply.status, 502);
    assert_eq!(reply.json(), json!({"message": "Internal Server Error"}));
}

#[test]
fn alb_responses_use_the_status_description_and_their_header_map() {
    let response = json!({
        "statusCode": 404,
        "statusDescription": "404 Not Here",
        "headers": {"x-single": "s", "content-type": "text/plain"},
        "multiValueHeaders": {"x-multi": ["1", "2"], "content-type": ["text/plain"]},
        "body": "nope",
    });
    let emu = start(HttpOrigin::Alb, &response.to_string());
    let reply = fixed(&emu);
    assert_eq!((reply.status, reply.reason.as_str()), (404, "Not Here"));
    assert_eq!(reply.all("x-single"), ["s"]);
    assert!(reply.all("x-multi").is_empty());
    assert_eq!(reply.body, b"nope");
    drop(emu);

    let emu = start(HttpOrigin::AlbMultiValue, &response.to_string());
    let reply = fixed(&emu);
    assert_eq!((reply.status, reply.reason.as_str()), (404, "Not Here"));
    assert_eq!(reply.all("x-multi"), ["1", "2"]);
    assert!(reply.all("x-single").is_empty());
}

#[test]
fn lattice_responses_take_string_or_array_headers() {
    let response = json!({
        "statusCode": 200,
        "statusDescription": "200 OK",
        "headers": {"x-a": "1", "x-b": ["2", "3"]},
        "body": b64(BINARY),
        "isBase64Encoded": true,
    });
    let emu = start(HttpOrigin::Lattice, &response.to_string());
    let reply = fixed(&emu);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.all("x-a"), ["1"]);
    assert_eq!(reply.all("x-b"), ["2", "3"]);
    assert_eq!(reply.body, BINARY);
}

#[test]
fn function_errors_are_502_and_timeouts_504() {
    for origin in [
        HttpOrigin::FunctionUrl,
        HttpOrigin::HttpApi,
        HttpOrigin::Rest,
        HttpOrigin::Alb,
        HttpOrigin::AlbMultiValue,
        HttpOrigin::Lattice,
    ] {
        let emu = start(origin, "not json");
        let addr = emu.http_addr().unwrap();
        let failed = once(addr, "GET", "/fail", &[], b"");
        assert_eq!(failed.status, 502, "{origin:?}");
        assert_eq!(failed.header("content-type"), Some("application/json"));
        assert_eq!(failed.json(), json!({"message": "Internal Server Error"}));
        let malformed = once(addr, "GET", "/fixed", &[], b"");
        assert_eq!(malformed.status, 502, "{origin:?}: not JSON");
    }
    let emu = Emulator::start(
        Options::new([fixture("http-function.sh")])
            .http_front_door(0)
            .timeout(Duration::from_secs(4)),
    )
    .unwrap();
    let slow = once(emu.http_addr().unwrap(), "GET", "/slow", &[], b"");
    assert_eq!(slow.status, 504);
    assert_eq!(
        slow.json(),
        json!({"message": "Endpoint request timed out"})
    );
    // The reset function serves the next request.
    let after = once(emu.http_addr().unwrap(), "GET", "/after", &[], b"");
    assert_eq!(after.status, 200);
    assert_eq!(after.json()["rawPath"], "/after");
}
