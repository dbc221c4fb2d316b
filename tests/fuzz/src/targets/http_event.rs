//! `http-event`: an HTTP event (API Gateway REST, HTTP and WebSocket APIs, function URLs, ALB,
//! VPC Lattice) into an [`HttpRequest`], every accessor read, answered per origin, and converted
//! to an `http::Request`.
//!
//! Invariants: no panic; an event either parses or is an error; a parsed request's answer
//! serialises; the conversion to `http` is a value or an error, never a panic; the raw path is
//! what the event said, whatever the stage policy.

use lambda_runtime_types::http::{HttpRequest, HttpResponse, StagePolicy};

use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "http-event",
    about: "HTTP events of every origin into HttpRequest, answered and converted to http",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 8192,
};

/// The keys origin detection looks at, and the shapes of their values.
pub const DICTIONARY: &[&[u8]] = &[
    b"\"requestContext\":{",
    b"\"elb\":{\"targetGroupArn\":\"a\"}",
    b"\"http\":{\"method\":\"GET\",\"path\":\"/\"}",
    b"\"httpMethod\":\"POST\"",
    b"\"serviceNetworkArn\":\"a\"",
    b"\"domainName\":\"x.lambda-url.us-east-1.on.aws\"",
    b"\"eventType\":\"MESSAGE\"",
    b"\"connectionId\":\"c\"",
    b"\"methodArn\":\"a\"",
    b"\"routeArn\":\"a\"",
    b"\"version\":\"1.0\"",
    b"\"version\":\"2.0\"",
    b"\"raw_path\":\"/a%20b\"",
    b"\"rawPath\":\"/a/b\"",
    b"\"rawQueryString\":\"a=1&a=2&b\"",
    b"\"path\":\"/stage/x\"",
    b"\"stage\":\"stage\"",
    b"\"headers\":{\"host\":\"h\",\"cookie\":\"a=b; c=d\"}",
    b"\"multiValueHeaders\":{\"a\":[\"1\",\"2\"]}",
    b"\"queryStringParameters\":{\"a\":\"%zz\"}",
    b"\"multiValueQueryStringParameters\":{\"a\":[\"1\",null]}",
    b"\"cookies\":[\"a=b\"]",
    b"\"body\":\"aGVsbG8=\"",
    b"\"isBase64Encoded\":true",
    b"\"pathParameters\":{\"p\":\"v\"}",
    b"\"stageVariables\":{\"s\":\"v\"}",
    b"%",
    b"%ff",
    b"\\u0000",
    b"null",
];

fn seeds() -> Vec<Vec<u8>> {
    [
        &br#"{"version":"2.0","routeKey":"GET /x","rawPath":"/x","rawQueryString":"a=1&a=2","cookies":["c=1"],"headers":{"host":"example.com","x":"1,2"},"requestContext":{"http":{"method":"GET","path":"/x","sourceIp":"1.2.3.4"},"domainName":"example.com","stage":"$default"},"body":"eyJhIjoxfQ==","isBase64Encoded":true}"#[..],
        br#"{"resource":"/{p}","path":"/prod/a b","httpMethod":"POST","headers":{"Host":"h"},"multiValueHeaders":{"Host":["h"]},"queryStringParameters":{"q":"1"},"multiValueQueryStringParameters":{"q":["1","2"]},"pathParameters":{"p":"a b"},"stageVariables":null,"requestContext":{"httpMethod":"POST","stage":"prod","path":"/prod/a b"},"body":"{}","isBase64Encoded":false}"#,
        br#"{"requestContext":{"elb":{"targetGroupArn":"arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"}},"httpMethod":"GET","path":"/","multiValueQueryStringParameters":{"a":["%20"]},"multiValueHeaders":{"host":["h"]},"body":"","isBase64Encoded":false}"#,
        br#"{"version":"2.0","path":"/p","method":"PUT","headers":{"h":["1","2"]},"queryStringParameters":{"a":["b"]},"body":"aGk=","isBase64Encoded":true,"requestContext":{"serviceNetworkArn":"arn","serviceArn":"s","targetGroupArn":"t","region":"us-east-1","timeEpoch":"1"}}"#,
        br#"{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","connectionId":"c-1","stage":"dev"},"isBase64Encoded":false}"#,
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect()
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let mut sig = Sig::new();
    let req = match HttpRequest::from_slice(data) {
        Ok(req) => req,
        Err(e) => {
            return sig
                .add_str(&format!("{:?}", e.classify()))
                .add(e.line().min(2) as u64)
                .get();
        }
    };
    sig.add_str(&format!("{:?}", req.origin()));
    let raw = req.raw_path().to_string();
    for policy in [StagePolicy::Strip, StagePolicy::Keep, StagePolicy::Prefix] {
        let r = req.clone().with_stage_policy(policy);
        assert_eq!(
            r.raw_path(),
            raw,
            "the raw path changed with the stage policy"
        );
        let path = r.path().to_string();
        if policy == StagePolicy::Keep {
            sig.add(u64::from(path == r.decoded_path()));
        }
    }
    let _ = (
        req.method(),
        req.decoded_path(),
        req.stage(),
        req.raw_query(),
    );
    let _ = req.query_string();
    for (k, v) in req.query().iter() {
        sig.add(k.len().min(1) as u64).add(v.len().min(1) as u64);
    }
    for (k, v) in req.headers().iter() {
        let _ = (k.len(), v.len());
    }
    let _ = (req.host(), req.header("content-type"), req.cookie("a"));
    sig.add(req.cookies().count().min(3) as u64);
    let _ = (
        req.text(),
        req.was_base64(),
        req.resource(),
        req.route_key(),
    );
    let _ = (
        req.path_parameters(),
        req.stage_variables(),
        req.request_context(),
    );
    sig.add(u64::from(req.was_base64()))
        .add(req.body().len().min(2) as u64);
    let answer = req.respond(
        HttpResponse::bytes(req.body().to_vec())
            .header("x-echo", req.method())
            .cookie("a=b"),
    );
    let json = serde_json::to_vec(&answer).expect("an answer serialises");
    assert!(!json.is_empty());
    match req.into_http() {
        Ok(r) => {
            sig.add(1);
            let _ = (r.method(), r.uri(), r.headers().len());
        }
        Err(e) => {
            sig.add_str(&format!("{e:?}").chars().take(12).collect::<String>());
        }
    }
    sig.get()
}
