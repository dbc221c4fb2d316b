//! `HttpRequest::builder`: for every origin, the event it writes is read back as the request
//! it describes (what the origin keeps of repeats, stages and cookies).
#![cfg(feature = "std")]

use lambda_runtime_types::http::{HeaderMode, HttpRequest, Origin};

const ORIGINS: [Origin; 9] = [
    Origin::ApiGatewayRest,
    Origin::ApiGatewayHttpV1,
    Origin::ApiGatewayHttpV2,
    Origin::FunctionUrl,
    Origin::Alb(HeaderMode::Single),
    Origin::Alb(HeaderMode::Multi),
    Origin::LatticeV2,
    Origin::LatticeV1,
    Origin::WebSocket,
];

fn sample(origin: Origin) -> HttpRequest {
    HttpRequest::builder(origin)
        .method("PUT")
        .path("/items/a%20b")
        .query("tag", "x y")
        .query("tag", "z&=")
        .query("one", "1")
        .header("X-Multi", "1")
        .header("X-Multi", "2")
        .header("content-type", "application/octet-stream")
        .cookie("session", "abc")
        .cookie("theme", "dark")
        .body(vec![0xff, 0x00, 0x80])
        .stage("prod")
        .path_parameter("id", "a b")
        .build()
}

#[test]
fn every_origin_reads_back_what_was_built() {
    for origin in ORIGINS {
        let r = sample(origin);
        let at = origin.name();
        assert_eq!(r.origin(), origin, "{at}");
        assert_eq!(r.method(), "PUT", "{at}");
        assert_eq!(
            r.decoded_path(),
            match origin {
                Origin::ApiGatewayHttpV2 => "/prod/items/a b",
                _ => "/items/a b",
            },
            "{at}"
        );
        assert_eq!(r.path(), "/items/a b", "{at}: the stage is not in the path");
        let tags: Vec<&str> = r.query().get_all("tag").collect();
        match origin {
            // ALB in single-value mode and VPC Lattice v1 keep the last value of a name.
            Origin::Alb(HeaderMode::Single) | Origin::LatticeV1 => {
                assert_eq!(tags, ["z&="], "{at}")
            }
            _ => assert_eq!(tags, ["x y", "z&="], "{at}"),
        }
        assert_eq!(r.query().get("one"), Some("1"), "{at}");
        let multi: Vec<&str> = r.headers().get_all("x-multi").collect();
        match origin {
            // An HTTP API and a function URL join repeated headers; ALB in single-value mode
            // and VPC Lattice v1 keep one line (the last; Lattice v1 joins them).
            Origin::ApiGatewayHttpV2 | Origin::FunctionUrl => assert_eq!(multi, ["1,2"], "{at}"),
            Origin::Alb(HeaderMode::Single) => assert_eq!(multi, ["2"], "{at}"),
            Origin::LatticeV1 => assert_eq!(multi, ["1, 2"], "{at}"),
            _ => assert_eq!(multi, ["1", "2"], "{at}"),
        }
        assert_eq!(r.cookie("session"), Some("abc"), "{at}");
        assert_eq!(r.cookie("theme"), Some("dark"), "{at}");
        assert_eq!(r.body(), [0xff, 0x00, 0x80], "{at}");
        assert!(r.was_base64(), "{at}");
        if origin.has_stage() {
            assert_eq!(r.stage(), Some("prod"), "{at}");
            assert_eq!(r.path_parameters().get("id"), Some("a b"), "{at}");
        }
    }
}

#[test]
fn defaults_and_text_bodies() {
    let r = HttpRequest::builder(Origin::FunctionUrl).body("hé").build();
    assert_eq!(
        (r.method(), r.path(), r.raw_query()),
        ("GET", "/", Some(""))
    );
    assert_eq!(r.text(), Some("hé"));
    assert!(!r.was_base64());
    assert_eq!(r.stage(), Some("$default"));
    assert!(
        r.request_context()
            .domain_name()
            .unwrap()
            .contains(".lambda-url.")
    );

    let ws = HttpRequest::builder(Origin::WebSocket)
        .route_key("$connect")
        .build();
    assert_eq!(ws.request_context().event_type(), Some("CONNECT"));
    assert_eq!(ws.route_key(), Some("$connect"));
    assert!(ws.request_context().connection_id().is_some());

    let event = HttpRequest::builder(Origin::ApiGatewayHttpV2)
        .stage("prod")
        .path("/")
        .event();
    assert_eq!(event["rawPath"], "/prod");
    assert_eq!(event["requestContext"]["http"]["path"], "/prod");
}
