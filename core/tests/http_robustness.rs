//! Nothing that arrives can panic the HTTP model: malformed events are errors that name the
//! key and quote nothing; mutated fixtures (cut, bytes flipped, values of other types) never
//! panic, and what still parses still serialises.
#![cfg(feature = "alloc")]

use lambda_runtime_types::Diagnostic;
use lambda_runtime_types::http::{HttpRequest, HttpResponse};
use serde_json::{Value, json};

fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = format!("{}/tests/fixtures/http", env!("CARGO_MANIFEST_DIR"));
    let mut all: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    all.sort();
    assert!(all.len() >= 20, "fixtures missing");
    all
}

/// Parses; where it works, answers and serialises (none of which may panic).
fn exercise(bytes: &[u8]) -> bool {
    match HttpRequest::from_slice(bytes) {
        Ok(req) => {
            let _ = (
                req.path(),
                req.query_string(),
                req.text(),
                req.cookies().count(),
                req.host(),
            );
            let resp =
                HttpResponse::bytes(req.body().to_vec()).header("x", req.method().to_owned());
            serde_json::to_vec(&req.respond(resp)).expect("a valid status always serialises");
            true
        }
        Err(e) => {
            let _ = Diagnostic::invalid_event(&e);
            false
        }
    }
}

fn err(v: Value) -> String {
    HttpRequest::from_slice(&serde_json::to_vec(&v).unwrap())
        .unwrap_err()
        .to_string()
}

const SECRET: &str = "hunter2-secret";

fn rest(extra: Value) -> Value {
    let mut v = json!({"httpMethod": "GET", "path": "/", "requestContext": {"httpMethod": "GET"}});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

#[test]
fn malformed_events_name_the_key_and_quote_nothing() {
    let cases = [
        (
            rest(json!({"body": format!("{SECRET}!!"), "isBase64Encoded": true})),
            "HTTP event (API Gateway REST): `body` is not valid base64",
        ),
        (
            rest(json!({"headers": SECRET})),
            "HTTP event (API Gateway REST): `headers` is not an object of strings or lists of strings",
        ),
        (
            rest(json!({"headers": {"a": 1}})),
            "`headers` is not an object",
        ),
        (
            rest(json!({"multiValueHeaders": {"a": [SECRET, 2]}})),
            "`multiValueHeaders` is not",
        ),
        (
            rest(json!({"isBase64Encoded": SECRET})),
            "`isBase64Encoded` is not a boolean",
        ),
        (
            rest(json!({"body": {"k": SECRET}})),
            "`body` is not a string",
        ),
        (rest(json!({"path": 7})), "`path` is not a string"),
        (rest(json!({"path": null})), "`path` is missing"),
        (
            json!({"path": "/", "requestContext": {"elb": {}}, "headers": {}}),
            "HTTP event (ALB): `httpMethod` is missing",
        ),
        (
            json!({"rawPath": "/", "requestContext": {"http": {"method": 5}, "domainName": SECRET}}),
            "HTTP event (API Gateway HTTP API): `requestContext.http.method` is missing",
        ),
        (
            json!({"version": "2.0", "rawPath": "/", "cookies": SECRET,
                   "requestContext": {"http": {"method": "GET"}}}),
            "`cookies` is not a list of strings",
        ),
        (
            json!({"requestContext": SECRET}),
            "HTTP event: `requestContext` is not an object",
        ),
        (json!(SECRET), "HTTP event: the event is not a JSON object"),
        (json!([SECRET]), "the event is not a JSON object"),
        (json!(12.5), "the event is not a JSON object"),
        (
            json!({"Records": [{"body": SECRET}]}),
            "not an HTTP event of a known origin",
        ),
    ];
    for (event, want) in cases {
        let msg = err(event.clone());
        assert!(msg.contains(want), "{event}: {msg}");
        assert!(!msg.contains(SECRET), "quotes the event: {msg}");
        let bytes = serde_json::to_vec(&event).unwrap();
        let d = Diagnostic::invalid_event(&HttpRequest::from_slice(&bytes).unwrap_err());
        assert_eq!(d.error_type().as_str(), "Runtime.InvalidEvent");
        assert!(!d.error_message.contains(SECRET));
    }
}

/// A bad HTTP event is a data error (the Diagnostic says "JSON but does not fit"); bad JSON
/// stays a syntax error.
#[test]
fn http_problems_are_data_errors() {
    let bytes = serde_json::to_vec(&rest(json!({"body": "!", "isBase64Encoded": true}))).unwrap();
    assert!(HttpRequest::from_slice(&bytes).unwrap_err().is_data());
    assert!(
        HttpRequest::from_slice(b"{\"httpMethod\": ")
            .unwrap_err()
            .is_eof()
    );
    assert!(
        HttpRequest::from_slice(b"{\"a\" 1}")
            .unwrap_err()
            .is_syntax()
    );
    let d = Diagnostic::invalid_event(&HttpRequest::from_slice(b"\"x\"").unwrap_err());
    assert!(
        d.error_message.contains("does not fit"),
        "{}",
        d.error_message
    );
}

#[test]
fn every_fixture_survives_truncation() {
    let mut parsed = 0;
    for (_, bytes) in fixtures() {
        for cut in 0..bytes.len() {
            exercise(&bytes[..cut]);
        }
        parsed += usize::from(exercise(&bytes));
    }
    assert!(parsed >= 20, "the whole fixtures parse: {parsed}");
}

#[test]
fn every_fixture_survives_flipped_bytes() {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (_, bytes) in fixtures() {
        for _ in 0..300 {
            let mut m = bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % m.len() as u64) as usize;
                m[i] = match next() % 4 {
                    0 => m[i] ^ (1 << (next() % 8)),
                    1 => b"\"{}[],:\\%+"[(next() % 10) as usize],
                    2 => 0xff,
                    _ => b'0' + (next() % 10) as u8,
                };
            }
            exercise(&m);
        }
    }
}

/// Every key at every depth (to three) replaced by values of every other type.
#[test]
fn every_fixture_survives_values_of_other_types() {
    let replacements = [
        json!(null),
        json!(true),
        json!(-1),
        json!(1.5),
        json!(""),
        json!("%ff%zz+"),
        json!("!!not base64"),
        json!([]),
        json!([1, null, "x", [], {}]),
        json!({}),
        json!({"k": [1, {"x": null}]}),
    ];
    let mut tried = 0;
    for (_, bytes) in fixtures() {
        let base: Value = serde_json::from_slice(&bytes).unwrap();
        for path in paths(&base, 3) {
            for r in &replacements {
                let mut m = base.clone();
                *pointer(&mut m, &path) = r.clone();
                exercise(&serde_json::to_vec(&m).unwrap());
                tried += 1;
            }
        }
    }
    assert!(tried > 5_000, "{tried}");
}

fn paths(v: &Value, depth: usize) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if depth == 0 {
        return out;
    }
    if let Value::Object(m) = v {
        for (k, child) in m {
            out.push(vec![k.clone()]);
            for mut sub in paths(child, depth - 1) {
                sub.insert(0, k.clone());
                out.push(sub);
            }
        }
    }
    out
}

fn pointer<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
    path.iter().fold(v, |v, k| &mut v[k.as_str()])
}
