//! `HttpRequest` from real events of every origin (fixtures in `fixtures/http/`, see its
//! README), and the faults of `lambda_http` shown not to happen.
#![cfg(feature = "alloc")]

use lambda_runtime_types::http::{HeaderMode, HttpRequest, Origin, Problem, StagePolicy};
use serde_json::json;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/http/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn parse(name: &str) -> HttpRequest {
    HttpRequest::from_slice(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn parse_json(v: serde_json::Value) -> HttpRequest {
    HttpRequest::from_slice(&serde_json::to_vec(&v).unwrap()).unwrap()
}

fn pairs<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
    it.collect()
}

#[test]
fn rest() {
    let r = parse("example-apigw-request.json");
    assert_eq!(r.origin(), Origin::ApiGatewayRest);
    assert_eq!(
        (r.method(), r.raw_path(), r.path()),
        ("POST", "/hello/world", "/hello/world")
    );
    assert_eq!(r.header("ACCEPT"), Some("*/*"));
    assert_eq!(
        r.header("x-forwarded-for"),
        Some("54.240.196.186, 54.182.214.83")
    );
    assert_eq!(r.query().get("name"), Some("me"));
    assert_eq!(r.raw_query(), None);
    assert_eq!(r.query_string(), "name=me");
    assert_eq!(r.resource(), Some("/{proxy+}"));
    assert_eq!(r.path_parameters().get("proxy"), Some("hello/world"));
    assert_eq!(
        r.stage_variables().get("stageVariableName"),
        Some("stageVariableValue")
    );
    let ctx = r.request_context();
    assert_eq!(
        ctx.request_id(),
        Some("deef4878-7910-11e6-8f14-25afc3e9ae33")
    );
    assert_eq!(ctx.stage(), Some("testStage"));
    assert_eq!(ctx.source_ip(), Some("192.168.196.186"));
    assert_eq!(
        ctx.domain_name(),
        Some("gy415nuibc.execute-api.us-east-2.amazonaws.com")
    );
    assert!(ctx.to_map().contains_key("identity"));
    assert_eq!(
        ctx.str_at(&["identity", "userAgent"]).as_deref(),
        Some("PostmanRuntime/2.4.5")
    );
    assert_eq!(r.text(), Some("{\r\n\t\"a\": 1\r\n}"));
    assert!(!r.was_base64());
    assert_eq!(
        r.host(),
        Some("gy415nuibc.execute-api.us-east-1.amazonaws.com")
    );
}

#[test]
fn rest_multi_value_query_keeps_every_value_in_event_order() {
    let r = parse("apigw_multi_value_proxy_request.json");
    assert_eq!(
        pairs(r.query().iter()),
        [
            ("name", "me"),
            ("multiValueName", "you"),
            ("multiValueName", "me")
        ]
    );
    let r = parse("example-apigw-request-multi-value-parameters.json");
    assert_eq!(r.query().get_all("name").collect::<Vec<_>>(), ["me", "me2"]);
}

/// `lambda_http` lets `headers` replace `multiValueHeaders`: a header sent twice keeps one value.
#[test]
fn rest_repeated_header_keeps_all_values() {
    let r = parse_json(json!({
        "httpMethod": "GET", "path": "/", "resource": "/",
        "headers": {"X-Tag": "b", "Only-Single": "s", "Accept": "x"},
        "multiValueHeaders": {"x-tag": ["a", "b"], "Accept": ["*/*"]},
        "requestContext": {"httpMethod": "GET", "stage": "prod"},
    }));
    assert_eq!(r.headers().get_all("X-TAG").collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        r.header("only-single"),
        Some("s"),
        "a key only in `headers` is kept"
    );
    assert_eq!(
        r.headers().get_all("accept").collect::<Vec<_>>(),
        ["*/*", "x"],
        "no value lost"
    );
}

#[test]
fn rest_query_order_is_the_events() {
    // A string, not `json!`: its maps are sorted.
    let event = br#"{"httpMethod": "GET", "path": "/",
        "multiValueQueryStringParameters": {"z": ["1", "2"], "a": ["3"], "m": ["4"]},
        "queryStringParameters": {"z": "2", "a": "3", "m": "4"},
        "requestContext": {"httpMethod": "GET"}}"#;
    let r = HttpRequest::from_slice(event).unwrap();
    assert_eq!(
        pairs(r.query().iter()),
        [("z", "1"), ("z", "2"), ("a", "3"), ("m", "4")]
    );
    assert_eq!(r.query_string(), "z=1&z=2&a=3&m=4");
}

#[test]
fn http_api_payload_1_0() {
    let r = parse("example-apigw-sam-rest-request.json");
    assert_eq!(r.origin(), Origin::ApiGatewayHttpV1);
    assert_eq!((r.method(), r.path()), ("GET", "/test"));
    assert_eq!(r.request_context().source_ip(), Some("127.0.0.1"));
    assert!(r.body().is_empty());
}

#[test]
fn http_api_v2_cookies_and_raw_query() {
    let r = parse("apigw_v2_proxy_request_with_stage_in_path.json");
    assert_eq!(r.origin(), Origin::ApiGatewayHttpV2);
    assert_eq!(r.method(), "POST");
    assert_eq!(r.header("cookie"), Some("cookie1=value1; cookie2=value2"));
    assert_eq!(
        r.cookies().collect::<Vec<_>>(),
        ["cookie1=value1", "cookie2=value2"]
    );
    assert_eq!(r.cookie("cookie2"), Some("value2"));
    assert_eq!(
        r.raw_query(),
        Some("parameter1=value1&parameter1=value2&parameter2=value")
    );
    assert_eq!(
        r.query().get_all("parameter1").collect::<Vec<_>>(),
        ["value1", "value2"]
    );
    assert_eq!(r.route_key(), Some("Prod"));
    let auth = r.request_context().authorizer().unwrap();
    let auth: serde_json::Value = serde_json::from_str(auth.get()).unwrap();
    assert_eq!(auth["jwt"]["claims"]["claim1"], "value1");
    let r = parse("example-apigw-v2-request-jwt-authorizer.json");
    assert_eq!(r.request_context().source_ip(), Some("IP"));
}

/// `lambda_http` appends `rawQueryString` to a URI verbatim and panics on what a URI may not hold.
#[test]
fn raw_query_with_plus_and_illegal_characters() {
    let raw = "q=a+b&plus=%2B1&bad=%zz&sp=a b|{}\"<>^`&e=%E2%82%AC&%ff=1&&flag";
    let r = parse_json(json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/s", "rawQueryString": raw,
        "headers": {}, "requestContext": {"http": {"method": "GET", "path": "/s"}, "stage": "$default"},
    }));
    assert_eq!(r.raw_query(), Some(raw), "raw kept exactly");
    assert_eq!(r.query_string(), raw);
    assert_eq!(
        pairs(r.query().iter()),
        [
            ("q", "a b"),
            ("plus", "+1"),
            ("bad", "%zz"),
            ("sp", "a b|{}\"<>^`"),
            ("e", "€"),
            ("%ff", "1"),
            ("flag", ""),
        ]
    );
}

#[test]
fn function_url() {
    let r = parse("lambda_function_url_request.json");
    assert_eq!(r.origin(), Origin::FunctionUrl);
    assert_eq!(
        (r.method(), r.path(), r.stage()),
        ("GET", "/my/path", Some("$default"))
    );
    assert_eq!(
        r.headers().get_all("cookie").collect::<Vec<_>>(),
        ["test=hi"],
        "not twice"
    );
    assert_eq!(r.query().get_all("parameter1").count(), 2);
    assert_eq!(r.host(), Some("id.lambda-url.eu-west-2.on.aws"));
}

#[test]
fn alb_single_value() {
    let r = parse("example-alb-lambda-target-request-headers-only.json");
    assert_eq!(r.origin(), Origin::Alb(HeaderMode::Single));
    assert_eq!(r.query().get("key"), Some("hello"));
    assert!(
        r.request_context()
            .target_group_arn()
            .unwrap()
            .contains("targetgroup")
    );
    // ALB does not decode the query: decoded here, once.
    let r = parse("alb_request_encoded_query_parameters.json");
    assert_eq!(r.query().get("myKey"), Some("?showAll=true"));
    assert_eq!(r.query_string(), "myKey=%3FshowAll%3Dtrue");
    assert_eq!(r.text(), Some("request_body"));
    let r = parse("alb_no_host.json");
    assert_eq!(r.host(), None);
}

#[test]
fn alb_multi_value() {
    let r = parse("example-alb-lambda-target-request-multivalue-headers.json");
    assert_eq!(r.origin(), Origin::Alb(HeaderMode::Multi));
    assert_eq!(r.query().get("key"), Some("hello"));
    let r = parse("alb_multi_value_request_encoded_query_parameters.json");
    assert_eq!(r.origin(), Origin::Alb(HeaderMode::Multi));
    assert_eq!(
        r.query().get_all("myKey").collect::<Vec<_>>(),
        ["?showAll=true", "?showAll=false"]
    );
    assert_eq!(
        r.cookies().collect::<Vec<_>>(),
        ["name1=value1", "name2=value2"]
    );
}

#[test]
fn lattice_v2() {
    let r = parse("example-vpc-lattice-v2-request.json");
    assert_eq!(r.origin(), Origin::LatticeV2);
    assert_eq!((r.method(), r.path()), ("GET", "/health"));
    assert_eq!(r.headers().get_all("multi").collect::<Vec<_>>(), ["x", "y"]);
    assert_eq!(
        r.query().get_all("multi").collect::<Vec<_>>(),
        ["a", "DEF", "g"]
    );
    assert!(
        r.request_context()
            .target_group_arn()
            .unwrap()
            .contains("targetgroup/tg-")
    );
    assert!(r.body().is_empty());

    let r = parse("example-vpc-lattice-v2-request-base64.json");
    assert!(r.was_base64());
    assert_eq!(&r.body()[..2], [0x1f, 0x8b], "gzip bytes");
    assert_eq!(r.text(), None);

    let r = parse("vpc_lattice_v2_request_encoded_query.json");
    assert_eq!(r.query().get("filter"), Some("?showAll=true"));
    assert_eq!(r.query().get("q"), Some("hello world"));
}

#[test]
fn lattice_v1() {
    let r = parse("example-vpc-lattice-v1-request.json");
    assert_eq!(r.origin(), Origin::LatticeV1);
    assert_eq!((r.method(), r.raw_path()), ("POST", "/api/product"));
    assert_eq!(r.header("multi"), Some("abcd, DEF"));
    assert_eq!(r.query().get("category"), Some("electronics"));
    assert_eq!(r.text(), Some("{\"id\": 5, \"description\": \"TV\"}"));
    assert!(r.request_context().to_map().is_empty());
    assert_eq!(r.request_context().json(), "{}");
}

#[test]
fn websocket() {
    let r = parse("example-apigw-websocket-request-without-method.json");
    assert_eq!(r.origin(), Origin::WebSocket);
    assert_eq!((r.method(), r.path()), ("GET", "/"));
    let ctx = r.request_context();
    assert_eq!(ctx.route_key(), Some("$connect"));
    assert_eq!(r.route_key(), Some("$connect"));
    assert_eq!(ctx.event_type(), Some("CONNECT"));
    assert_eq!(ctx.connection_id(), Some("asdfasdf="));
    assert_eq!(r.header("sec-websocket-version"), Some("13"));

    let r = parse("example-apigw-websocket-request-disconnect-route.json");
    assert_eq!(r.request_context().event_type(), Some("DISCONNECT"));

    // A synthetic event with `httpMethod` besides the WebSocket context: still WebSocket.
    let r = parse("example-apigw-websocket-request.json");
    assert_eq!(r.origin(), Origin::WebSocket);
    assert_eq!(r.method(), "POST");
}

#[test]
fn message_event() {
    let r = parse_json(json!({
        "requestContext": {"routeKey": "sendmessage", "eventType": "MESSAGE",
            "connectionId": "c-1", "stage": "prod", "messageDirection": "IN"},
        "body": "{\"action\":\"sendmessage\",\"data\":\"hi\"}", "isBase64Encoded": false,
    }));
    assert_eq!(r.origin(), Origin::WebSocket);
    assert_eq!(r.request_context().event_type(), Some("MESSAGE"));
    assert_eq!(r.route_key(), Some("sendmessage"));
    assert_eq!(
        r.text(),
        Some("{\"action\":\"sendmessage\",\"data\":\"hi\"}")
    );
}

#[test]
fn not_http_events() {
    for (name, problem) in [
        (
            "example-apigw-custom-auth-request-type-request.json",
            Problem::Authorizer,
        ),
        (
            "example-apigw-custom-auth-request.json",
            Problem::Authorizer,
        ),
        (
            "example-apigw-v2-custom-authorizer-v2-request.json",
            Problem::Authorizer,
        ),
        (
            "example-apigw-v2-custom-authorizer-v1-request.json",
            Problem::Authorizer,
        ),
        ("example-sqs-event-obj.json", Problem::UnknownOrigin),
    ] {
        let err = HttpRequest::from_slice(&fixture(name)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("HTTP event: "), "{name}: {msg}");
        match problem {
            Problem::Authorizer => assert!(msg.contains("authorizer"), "{msg}"),
            _ => assert!(msg.contains("not an HTTP event of a known origin"), "{msg}"),
        }
    }
}

#[test]
fn stage_policy() {
    // HTTP API: a named stage is in `rawPath`.
    let mut r = parse("apigw_v2_proxy_request_with_stage_in_path.json");
    assert_eq!(r.raw_path(), "/Prod/my/path");
    assert_eq!(r.stage_policy(), StagePolicy::Strip);
    assert_eq!(r.path(), "/my/path", "default: no stage");
    r.set_stage_policy(StagePolicy::Keep);
    assert_eq!(r.path(), "/Prod/my/path");
    r.set_stage_policy(StagePolicy::Prefix);
    assert_eq!(r.path(), "/Prod/my/path", "not prefixed twice");
    assert_eq!(r.raw_path(), "/Prod/my/path");

    // REST: `path` has no stage, the client's URL did.
    let r = parse("example-apigw-request.json");
    assert_eq!(r.path(), "/hello/world");
    assert_eq!(
        r.clone().with_stage_policy(StagePolicy::Keep).path(),
        "/hello/world"
    );
    let prefixed = r.with_stage_policy(StagePolicy::Prefix);
    assert_eq!(prefixed.path(), "/testStage/hello/world");
    assert_eq!(prefixed.raw_path(), "/hello/world");

    // `$default` is never a path segment; the stage alone is `/`.
    let r = parse("lambda_function_url_request.json").with_stage_policy(StagePolicy::Prefix);
    assert_eq!(r.path(), "/my/path");
    let only = parse_json(json!({
        "version": "2.0", "rawPath": "/Prod", "rawQueryString": "",
        "requestContext": {"http": {"method": "GET"}, "stage": "Prod"},
    }));
    assert_eq!(only.path(), "/");
    // A REST path whose first segment is named like the stage is not stripped.
    let rest = parse_json(json!({
        "httpMethod": "GET", "path": "/prod/x", "requestContext": {"httpMethod": "GET", "stage": "prod"},
    }));
    assert_eq!(rest.path(), "/prod/x");
}

/// `lambda_http` takes any value of the variable, `"false"` too, as "ignore the stage".
#[test]
fn stage_env_semantics() {
    assert_eq!(
        StagePolicy::from_ignore_stage_env(Some("true")),
        StagePolicy::Strip
    );
    assert_eq!(
        StagePolicy::from_ignore_stage_env(Some("1")),
        StagePolicy::Strip
    );
    for other in [
        Some("false"),
        Some("0"),
        Some(""),
        Some("TRUE"),
        Some("yes"),
        None,
    ] {
        assert_eq!(
            StagePolicy::from_ignore_stage_env(other),
            StagePolicy::Prefix,
            "{other:?}"
        );
    }
}

#[test]
fn paths_are_decoded_once_and_never_lossily() {
    let v2 = |raw: &str| {
        parse_json(json!({
            "version": "2.0", "rawPath": raw, "rawQueryString": "",
            "requestContext": {"http": {"method": "GET"}, "stage": "$default"},
        }))
    };
    let r = v2("/a%20b/c%2Fd/%E2%82%AC+");
    assert_eq!(
        (r.raw_path(), r.path()),
        ("/a%20b/c%2Fd/%E2%82%AC+", "/a b/c/d/€+")
    );
    let r = v2("/bad%ff/%zz");
    assert_eq!(r.path(), "/bad%ff/%zz", "not UTF-8: kept as sent");
    let r = parse("apigw_request_path_with_space.json");
    assert_eq!(r.path(), "/my/path-with space");
    // REST paths arrive decoded: a literal `%41` stays.
    let rest = parse_json(json!({
        "httpMethod": "GET", "path": "/100%41", "requestContext": {"httpMethod": "GET"},
    }));
    assert_eq!(rest.path(), "/100%41");
}

#[test]
fn base64_bodies_are_decoded() {
    let r = parse_json(json!({
        "httpMethod": "POST", "path": "/", "requestContext": {"httpMethod": "POST"},
        "body": "AP+AgQ==", "isBase64Encoded": true,
    }));
    assert_eq!(r.body(), [0x00, 0xff, 0x80, 0x81]);
    assert!(r.was_base64());
    assert_eq!(r.text(), None);
    let r = parse_json(json!({
        "httpMethod": "POST", "path": "/", "requestContext": {"httpMethod": "POST"},
        "body": "aGk", "isBase64Encoded": true,
    }));
    assert_eq!(r.text(), Some("hi"), "unpadded base64 accepted");
}
