//! HTTP functions end to end: the `http-echo` example (examples/src/http_echo.rs) on every
//! executor (`http-echo-tokio`, `http-echo-smol`, `http-echo-custom`) behind the emulator's HTTP
//! front door as every origin it emulates, reached with real HTTP requests on a TCP socket (and
//! with `curl`). What the client sent must reach the function as sent (method, raw and decoded
//! path, the raw query, repeated query keys and headers in order, cookies, binary bodies), and
//! what the function answers must reach the client (status, repeated headers, every
//! `Set-Cookie`, binary bodies as bytes), where the origin can carry it. The `lambda_http`
//! faults the front door can express (stage prefixed to a REST path, repeated REST request
//! headers replaced, a second response header value dropped, cookies joined without a space,
//! a body without `Content-Type` decoded lossily, URI-illegal query characters) are shown not to
//! happen.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use common::{Conn, Reply};
use lambda_emulator::{Emulator, HttpOrigin};
use serde_json::{Value, json};

/// The `http-echo` example built for `executor` (`tokio`, `smol`, `custom`).
fn echo_bin(executor: &str) -> PathBuf {
    static BINS: [OnceLock<PathBuf>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let slot = match executor {
        "tokio" => &BINS[0],
        "smol" => &BINS[1],
        "custom" => &BINS[2],
        other => panic!("no http-echo for {other}"),
    };
    slot.get_or_init(|| common::workspace_bin("examples", &format!("http-echo-{executor}")))
        .clone()
}

/// The emulator around `http-echo-{executor}`, its front door emulating `origin`.
struct Front {
    emu: Emulator,
    origin: HttpOrigin,
}

impl Front {
    fn start(executor: &str, origin: HttpOrigin) -> Front {
        let bin = echo_bin(executor);
        let emu = common::start_probe(bin.to_str().expect("UTF-8 path"), |o| {
            o.http_front_door(0).http_origin(origin)
        });
        Front { emu, origin }
    }

    fn addr(&self) -> SocketAddr {
        self.emu.http_addr().expect("the front door listens")
    }

    /// One request on a fresh connection.
    fn send(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        Conn::connect(self.addr()).request(method, target, headers, body)
    }

    /// One request whose answer is the echo's description; checks it is a 200 JSON answer.
    fn echo(&self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Value {
        let reply = self.send(method, target, headers, body);
        assert_eq!(
            (reply.status, reply.header_str("content-type").as_deref()),
            (200, Some("application/json")),
            "{}: {method} {target}: {}",
            self.origin.name(),
            reply.body_str()
        );
        reply.json()
    }

    fn is_v2(&self) -> bool {
        matches!(self.origin, HttpOrigin::FunctionUrl | HttpOrigin::HttpApi)
    }
}

/// The values of `name` in a `[[name, value], …]` list, in order.
fn values_of<'a>(pairs: &'a Value, name: &str) -> Vec<&'a str> {
    pairs
        .as_array()
        .expect("a list of pairs")
        .iter()
        .filter(|pair| {
            pair[0]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|pair| pair[1].as_str().expect("a string value"))
        .collect()
}

/// Every value the client got for response header `name`, a line's `, `-joined values split.
fn reply_values(reply: &Reply, name: &str) -> Vec<String> {
    reply
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .flat_map(|(_, v)| {
            String::from_utf8_lossy(v)
                .split(", ")
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The raw `Set-Cookie` lines the client got, in order.
fn set_cookie_lines(reply: &Reply) -> Vec<String> {
    reply
        .headers
        .iter()
        .filter(|(n, _)| n == "set-cookie")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect()
}

fn origin_name(origin: HttpOrigin) -> &'static str {
    match origin {
        HttpOrigin::FunctionUrl => "Lambda function URL",
        HttpOrigin::HttpApi => "API Gateway HTTP API",
        HttpOrigin::Rest => "API Gateway REST",
        HttpOrigin::Alb | HttpOrigin::AlbMultiValue => "ALB",
        HttpOrigin::Lattice => "VPC Lattice v2",
        other => panic!("no expectation for {other:?}"),
    }
}

/// The request line and head: method, raw and decoded path with `%20` and `+`, the raw query in
/// order with repeated keys, repeated headers, cookies, the stage.
fn request(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let name = origin.name();
    let target = "/a%20b/c+d?b=2&a=1&b=3&sp=x+y&pct=%2520&list=p,q";
    let echo = front.echo(
        "DELETE",
        target,
        &[
            ("x-rep", "one"),
            ("x-rep", "two"),
            ("accept", "text/plain"),
            ("cookie", "a=b; c=d"),
        ],
        b"",
    );
    assert_eq!(echo["origin"], origin_name(origin), "{name}: {echo}");
    let variant = match origin {
        HttpOrigin::Alb => "Alb(Single)",
        HttpOrigin::AlbMultiValue => "Alb(Multi)",
        _ => echo["origin_variant"].as_str().unwrap_or_default(),
    };
    assert_eq!(echo["origin_variant"], variant, "{name}");
    assert_eq!(echo["method"], "DELETE", "{name}");

    // API Gateway REST sends the path decoded; every other origin as the client sent it. Both
    // give the same decoded path, decoded once (`+` is not a space in a path).
    let raw_path = match origin {
        HttpOrigin::Rest => "/a b/c+d",
        _ => "/a%20b/c+d",
    };
    assert_eq!(echo["raw_path"], raw_path, "{name}");
    assert_eq!(echo["decoded_path"], "/a b/c+d", "{name}");
    assert_eq!(echo["path"], "/a b/c+d", "{name}");

    // The raw query where the origin has one (payload 2.0), as sent, byte for byte.
    let raw_query = "b=2&a=1&b=3&sp=x+y&pct=%2520&list=p,q";
    match front.is_v2() {
        true => assert_eq!(echo["raw_query"], raw_query, "{name}"),
        false => assert_eq!(echo["raw_query"], Value::Null, "{name}"),
    }
    // Decoded once (`%2520` is `%20`, not a space; `+` a space), a comma inside a value kept,
    // repeated keys in order. REST, ALB in multi-value mode and Lattice send a map of lists:
    // the keys in the map's order (the front door's: first appearance), each key's values in
    // order. An ALB in single-value mode sends the last value of each key.
    let query = match origin {
        HttpOrigin::FunctionUrl | HttpOrigin::HttpApi => json!([
            ["b", "2"],
            ["a", "1"],
            ["b", "3"],
            ["sp", "x y"],
            ["pct", "%20"],
            ["list", "p,q"]
        ]),
        HttpOrigin::Alb => json!([
            ["b", "3"],
            ["a", "1"],
            ["sp", "x y"],
            ["pct", "%20"],
            ["list", "p,q"]
        ]),
        _ => json!([
            ["b", "2"],
            ["b", "3"],
            ["a", "1"],
            ["sp", "x y"],
            ["pct", "%20"],
            ["list", "p,q"]
        ]),
    };
    assert_eq!(echo["query"], query, "{name}");

    // Repeated request headers: payload 2.0 joins them with commas (as API Gateway and
    // function URLs do), an ALB in single mode keeps the last; every other origin, REST
    // included, gets every value in order.
    let rep = values_of(&echo["headers"], "x-rep");
    match origin {
        HttpOrigin::FunctionUrl | HttpOrigin::HttpApi => assert_eq!(rep, ["one,two"], "{name}"),
        HttpOrigin::Alb => assert_eq!(rep, ["two"], "{name}"),
        _ => assert_eq!(rep, ["one", "two"], "{name}"),
    }
    assert_eq!(
        values_of(&echo["headers"], "accept"),
        ["text/plain"],
        "{name}"
    );
    assert_eq!(
        echo["host"],
        front.addr().to_string(),
        "{name}: the Host header"
    );

    // Cookies: one list for every origin; payload 2.0's `cookies[]` rejoined with `; `.
    assert_eq!(echo["cookies"], json!(["a=b", "c=d"]), "{name}");
    assert_eq!(
        values_of(&echo["headers"], "cookie"),
        ["a=b; c=d"],
        "{name}"
    );

    // The stage: the REST API's is `prod`, absent from `path` by default and from the URL,
    // put in front only under `StagePolicy::Prefix`; payload 2.0 is on `$default`, never
    // added; ALB and Lattice have none.
    let paths = &echo["paths"];
    match origin {
        HttpOrigin::Rest => {
            assert_eq!(echo["stage"], "prod", "{name}");
            assert_eq!(
                (&paths["keep"], &paths["strip"], &paths["prefix"]),
                (
                    &json!("/a b/c+d"),
                    &json!("/a b/c+d"),
                    &json!("/prod/a b/c+d")
                ),
                "{name}"
            );
        }
        _ => {
            let stage = if front.is_v2() {
                json!("$default")
            } else {
                Value::Null
            };
            assert_eq!(echo["stage"], stage, "{name}");
            for policy in ["keep", "strip", "prefix"] {
                assert_eq!(paths[policy], "/a b/c+d", "{name}: {policy}");
            }
        }
    }
    assert_eq!(
        (&echo["body"], &echo["body_encoding"], &echo["was_base64"]),
        (&json!(""), &json!("text"), &json!(false)),
        "{name}: no body"
    );
    front.emu.stop().expect("the emulator stops");
}

/// Bodies both ways: text stays text, bytes that are not UTF-8 travel base64 in the event and
/// come back to the client as the same bytes, with or without a `Content-Type`.
fn bodies(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let name = origin.name();

    let echo = front.echo(
        "POST",
        "/items",
        &[("content-type", "application/json")],
        br#"{"k":"v"}"#,
    );
    assert_eq!(
        (&echo["body"], &echo["body_encoding"], &echo["was_base64"]),
        (&json!(r#"{"k":"v"}"#), &json!("text"), &json!(false)),
        "{name}: a JSON body"
    );

    let bytes: &[u8] = &[0xff, 0x00, 0xfe, 0x80, b'a', 0xc3, 0x28, b'\n', 0x00];
    let echo = front.echo(
        "PUT",
        "/blob",
        &[("content-type", "application/octet-stream")],
        bytes,
    );
    assert_eq!(
        (&echo["body"], &echo["body_encoding"], &echo["was_base64"]),
        (&json!("/wD+gGHDKAoA"), &json!("base64"), &json!(true)),
        "{name}: a binary body arrives base64-encoded, decoded to its bytes"
    );

    // The bytes back: `x-echo-body: raw` answers the request's body with its content type.
    let reply = front.send(
        "POST",
        "/blob",
        &[
            ("content-type", "application/octet-stream"),
            ("x-echo-body", "raw"),
        ],
        bytes,
    );
    assert_eq!(reply.status, 200, "{name}: {}", reply.body_str());
    assert_eq!(reply.body, bytes, "{name}: binary round trip");
    assert_eq!(
        reply.header_str("content-type").as_deref(),
        Some("application/octet-stream"),
        "{name}"
    );

    // `lambda_http` sends a body without `Content-Type` as text, decoded lossily (invalid bytes
    // become U+FFFD); here the bytes arrive unchanged.
    let reply = front.send("POST", "/blob", &[("x-echo-body", "raw")], bytes);
    assert_eq!(reply.status, 200, "{name}: {}", reply.body_str());
    assert_eq!(reply.body, bytes, "{name}: bytes without a Content-Type");
    assert_eq!(reply.header_str("content-type"), None, "{name}");

    // Text without a Content-Type is answered as text, unchanged.
    let reply = front.send("POST", "/t", &[("x-echo-body", "raw")], "héllo".as_bytes());
    assert_eq!(reply.body, "héllo".as_bytes(), "{name}");
    front.emu.stop().expect("the emulator stops");
}

/// The answer: status codes, repeated headers, several `Set-Cookie`, all through to the client.
fn responses(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let name = origin.name();
    for status in ["201", "404", "418"] {
        let reply = front.send("GET", "/s", &[("x-echo-status", status)], b"");
        assert_eq!(reply.status.to_string(), status, "{name}");
        assert_eq!(
            reply.json()["path"],
            "/s",
            "{name}: the description is the body"
        );
    }

    let reply = front.send(
        "GET",
        "/h",
        &[
            ("x-echo-status", "201"),
            // One header per list knob: an ALB in single-value mode keeps only the last.
            (
                "x-echo-header",
                "vary: accept, x-custom: 1, vary: origin, x-custom: 2",
            ),
            ("x-echo-cookie", "s=1; Path=/, t=2; HttpOnly, u=3"),
        ],
        b"",
    );
    assert_eq!(reply.status, 201, "{name}");
    // Payload 2.0 and single-value origins carry a repeated header joined with `, `, the
    // multi-value ones one line per value: either way the client has both, in order
    // (`lambda_http` keeps only the first for payload 2.0 and Lattice).
    assert_eq!(reply_values(&reply, "vary"), ["accept", "origin"], "{name}");
    assert_eq!(reply_values(&reply, "x-custom"), ["1", "2"], "{name}");
    // Each cookie is a `Set-Cookie` line of its own, never joined.
    assert_eq!(
        set_cookie_lines(&reply),
        ["s=1; Path=/", "t=2; HttpOnly", "u=3"],
        "{name}"
    );
    assert!(
        reply.header("x-amzn-requestid").is_some(),
        "{name}: the front door's request id"
    );
    front.emu.stop().expect("the emulator stops");
}

/// Queries with characters a URI may not hold (`lambda_http` appends the raw query to an
/// `http::Uri` and panics on them): they reach the function as sent. (`"`, `<` and `>` the front
/// door's HTTP parser refuses itself.)
fn illegal_query(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let name = origin.name();
    let raw = "j={k:[1]}&p=|^`&b=\\&s=a+b";
    let echo = front.echo("GET", &format!("/q?{raw}"), &[], b"");
    if front.is_v2() {
        assert_eq!(echo["raw_query"], raw, "{name}");
    }
    let want = json!([["j", "{k:[1]}"], ["p", "|^`"], ["b", "\\"], ["s", "a b"]]);
    assert_eq!(echo["query"], want, "{name}");
    front.emu.stop().expect("the emulator stops");
}

/// Keep-alive: several requests on one client connection, each a fresh invocation.
fn keep_alive(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let mut conn = Conn::connect(front.addr());
    let mut ids = Vec::new();
    for i in 0..5 {
        let reply = conn.request("GET", &format!("/n/{i}"), &[], b"");
        assert_eq!(reply.status, 200, "{}", origin.name());
        let echo = reply.json();
        assert_eq!(echo["path"], format!("/n/{i}"));
        ids.push(echo["request_id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "a request id per request");
    front.emu.stop().expect("the emulator stops");
}

/// The README's `curl` session: `curl -s -i 'http://127.0.0.1:PORT/items?id=1' -H 'cookie: a=b'`.
fn curl(executor: &str, origin: HttpOrigin) {
    let front = Front::start(executor, origin);
    let url = format!("http://{}/items?id=1", front.addr());
    let out = Command::new("curl")
        .args(["-s", "-i", &url, "-H", "cookie: a=b", "--max-time", "60"])
        .output()
        .expect("run curl");
    assert!(out.status.success(), "curl: {}", out.status);
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let head_lower = head.to_ascii_lowercase();
    assert!(
        head_lower.contains("\r\ncontent-type: application/json\r\n"),
        "{head}"
    );
    assert!(head_lower.contains("\r\nx-amzn-requestid: "), "{head}");
    let echo: Value = serde_json::from_str(body).expect("the description");
    assert_eq!(
        (
            &echo["method"],
            &echo["path"],
            &echo["query"],
            &echo["cookies"]
        ),
        (
            &json!("GET"),
            &json!("/items"),
            &json!([["id", "1"]]),
            &json!(["a=b"])
        ),
        "{}: {echo}",
        origin.name()
    );
    assert_eq!(
        values_of(&echo["headers"], "user-agent").len(),
        1,
        "curl's user agent"
    );
    front.emu.stop().expect("the emulator stops");
}

/// A `#[test]` per scenario, for one executor and origin.
macro_rules! scenarios {
    ($executor:literal, $origin:ident) => {
        #[test]
        fn request() {
            crate::request($executor, lambda_emulator::HttpOrigin::$origin);
        }
        #[test]
        fn bodies() {
            crate::bodies($executor, lambda_emulator::HttpOrigin::$origin);
        }
        #[test]
        fn responses() {
            crate::responses($executor, lambda_emulator::HttpOrigin::$origin);
        }
        #[test]
        fn illegal_query() {
            crate::illegal_query($executor, lambda_emulator::HttpOrigin::$origin);
        }
        #[test]
        fn keep_alive() {
            crate::keep_alive($executor, lambda_emulator::HttpOrigin::$origin);
        }
        #[test]
        fn curl() {
            crate::curl($executor, lambda_emulator::HttpOrigin::$origin);
        }
    };
}

/// A module per origin the front door emulates.
macro_rules! origins {
    ($executor:literal) => {
        mod function_url {
            scenarios!($executor, FunctionUrl);
        }
        mod http_api {
            scenarios!($executor, HttpApi);
        }
        mod rest {
            scenarios!($executor, Rest);
        }
        mod alb {
            scenarios!($executor, Alb);
        }
        mod alb_multi {
            scenarios!($executor, AlbMultiValue);
        }
        mod lattice {
            scenarios!($executor, Lattice);
        }
    };
}

// The executors: the `http-echo-*` binaries of `examples`.
mod tokio {
    origins!("tokio");
}
mod smol {
    origins!("smol");
}
mod custom {
    origins!("custom");
}

/// `http-todo` (a JSON API whose state is the execution environment's `Shared` data) behind the
/// front door: a to-do created by one invocation is read by the next ones, errors are answers.
#[test]
fn todo_api_keeps_its_state_across_invocations() {
    let bin = common::workspace_bin("examples", "http-todo");
    let emu = common::start_probe(bin.to_str().expect("UTF-8 path"), |o| {
        o.http_front_door(0).http_origin(HttpOrigin::FunctionUrl)
    });
    let addr = emu.http_addr().expect("the front door listens");
    let json = [("content-type", "application/json")];
    let send = |method: &str, target: &str, body: &str| {
        Conn::connect(addr).request(method, target, &json, body.as_bytes())
    };
    let created = send("POST", "/todos", r#"{"title":"write the docs"}"#);
    assert_eq!(created.status, 201, "{}", created.body_str());
    assert_eq!(created.header_str("location").as_deref(), Some("/todos/1"));
    let todo = json!({"id": 1, "title": "write the docs", "done": false});
    assert_eq!(created.json(), todo);
    let second = send("POST", "/todos", r#"{"title":"ship","done":true}"#);
    assert_eq!(second.json()["id"], 2);

    let read = send("GET", "/todos/1", "");
    assert_eq!((read.status, read.json()), (200, todo.clone()));
    let all = send("GET", "/todos", "");
    assert_eq!(all.json()[0], todo);
    assert_eq!(all.json().as_array().map(Vec::len), Some(2));

    let missing = send("GET", "/todos/9", "");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"error": "no to-do 9"}));
    assert_eq!(send("POST", "/todos", "not json").status, 400);
    let method = send("DELETE", "/todos/1", "");
    assert_eq!(method.status, 405);
    assert_eq!(method.header_str("allow").as_deref(), Some("GET"));
    emu.stop().expect("the emulator stops");
}
