//! Unit tests of the event and response translation (the suite `tests/front_door.rs` runs
//! them end to end).

use serde_json::json;

use super::HttpOrigin;
use super::event::{form_decode, is_text, percent_decode, raw_pairs};
use super::reply::{HttpReply, translate};

fn reply(origin: HttpOrigin, value: serde_json::Value) -> Option<HttpReply> {
    translate(origin, value.to_string().as_bytes())
}

fn headers(reply: &HttpReply) -> Vec<(&str, &str)> {
    reply
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[test]
fn queries_split_and_decode() {
    assert_eq!(
        raw_pairs("a=1&&b&c=x=y&a=%20+"),
        [
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), String::new()),
            ("c".to_owned(), "x=y".to_owned()),
            ("a".to_owned(), "%20+".to_owned()),
        ]
    );
    assert_eq!(form_decode("a+b%20c%2B"), "a b c+");
    assert_eq!(percent_decode("a+b%2"), "a+b%2");
    assert_eq!(percent_decode("%zz%41%e2%82%ac"), "%zzA€");
    assert_eq!(percent_decode("%ff"), "\u{fffd}");
}

#[test]
fn text_types() {
    for text in ["text/plain", "TEXT/html; charset=utf-8", "application/json"] {
        assert!(is_text(text), "{text}");
    }
    for binary in [
        "",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
        "image/png",
    ] {
        assert!(!is_text(binary), "{binary}");
    }
}

#[test]
fn payload_2_0_infers_the_format_and_sets_cookies() {
    let inferred = translate(HttpOrigin::FunctionUrl, br#"{"a":1}"#).unwrap();
    assert_eq!(inferred.status, 200);
    assert_eq!(headers(&inferred), [("content-type", "application/json")]);
    assert_eq!(inferred.body, br#"{"a":1}"#);
    assert_eq!(
        translate(HttpOrigin::HttpApi, b"\"hi\"").unwrap().body,
        b"\"hi\""
    );
    assert!(translate(HttpOrigin::HttpApi, b"not json").is_none());
    let full = reply(
        HttpOrigin::HttpApi,
        json!({"statusCode": 201, "headers": {"x-a": "1", "content-length": "99",
               "set-cookie": "dropped=1"},
               "cookies": ["a=1; Path=/", "b=2"], "body": "AAH/", "isBase64Encoded": true}),
    )
    .unwrap();
    assert_eq!(full.status, 201);
    assert_eq!(
        headers(&full),
        [
            ("x-a", "1"),
            ("set-cookie", "a=1; Path=/"),
            ("set-cookie", "b=2")
        ]
    );
    assert_eq!(full.body, [0, 1, 255]);
    assert!(reply(HttpOrigin::FunctionUrl, json!({"statusCode": 42})).is_none());
    assert!(
        reply(
            HttpOrigin::FunctionUrl,
            json!({"statusCode": 200, "body": "%%", "isBase64Encoded": true})
        )
        .is_none()
    );
}

#[test]
fn rest_merges_header_maps_and_refuses_unknown_keys() {
    let merged = reply(
        HttpOrigin::Rest,
        json!({"statusCode": "202", "headers": {"X-One": "1", "Vary": "lost"},
               "multiValueHeaders": {"vary": ["a", "b"]}, "body": "ok"}),
    )
    .unwrap();
    assert_eq!(merged.status, 202);
    assert_eq!(
        headers(&merged),
        [("X-One", "1"), ("vary", "a"), ("vary", "b")]
    );
    assert_eq!(merged.body, b"ok");
    assert!(reply(HttpOrigin::Rest, json!({"statusCode": 200, "cookies": []})).is_none());
    assert!(reply(HttpOrigin::Rest, json!({"body": "no status"})).is_none());
    assert!(
        reply(
            HttpOrigin::Rest,
            json!({"statusCode": 200, "body": {"a": 1}})
        )
        .is_none()
    );
}

#[test]
fn alb_and_lattice_use_their_header_maps_and_status_description() {
    let response = json!({"statusCode": 418, "statusDescription": "418 I'm a teapot",
        "headers": {"x-single": "s"}, "multiValueHeaders": {"x-multi": ["1", "2"]}});
    let single = reply(HttpOrigin::Alb, response.clone()).unwrap();
    assert_eq!(single.reason.as_deref(), Some("I'm a teapot"));
    assert_eq!(headers(&single), [("x-single", "s")]);
    let multi = reply(HttpOrigin::AlbMultiValue, response).unwrap();
    assert_eq!(headers(&multi), [("x-multi", "1"), ("x-multi", "2")]);
    let lattice = reply(
        HttpOrigin::Lattice,
        json!({"statusCode": 200, "headers": {"a": "1", "b": ["2", "3"]}}),
    )
    .unwrap();
    assert_eq!(headers(&lattice), [("a", "1"), ("b", "2"), ("b", "3")]);
    assert_eq!(lattice.reason, None);
}
