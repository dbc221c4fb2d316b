//! Turning the function's answer into the HTTP response, as each origin's integration does.

use base64::Engine as _;
use hyper::Response;
use hyper::header::{HeaderName, HeaderValue};
use serde_json::{Map, Value};

use super::HttpOrigin;
use crate::http::{Body, respond};

/// The HTTP response for the client.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HttpReply {
    pub(crate) status: u16,
    /// ALB's and Lattice's `statusDescription`, without the code.
    pub(crate) reason: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl HttpReply {
    pub(crate) fn into_response(self) -> Response<Body> {
        let headers = self
            .headers
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    HeaderName::from_bytes(name.as_bytes()).ok()?,
                    HeaderValue::from_str(value).ok()?,
                ))
            })
            .collect();
        let mut response = respond(self.status, headers, Body::full(self.body));
        if let Some(reason) = self.reason
            && let Ok(reason) = hyper::ext::ReasonPhrase::try_from(reason.into_bytes())
        {
            response.extensions_mut().insert(reason);
        }
        response
    }
}

/// The HTTP response of the function's answer `payload`; `None` when the service would
/// refuse it as malformed (the client then gets a 502).
pub(crate) fn translate(origin: HttpOrigin, payload: &[u8]) -> Option<HttpReply> {
    let value: Value = serde_json::from_slice(payload).ok()?;
    match origin {
        HttpOrigin::FunctionUrl | HttpOrigin::HttpApi => v2(&value, payload),
        HttpOrigin::Rest => rest(value.as_object()?),
        HttpOrigin::Alb => alb(value.as_object()?, false),
        HttpOrigin::AlbMultiValue => alb(value.as_object()?, true),
        HttpOrigin::Lattice => lattice(value.as_object()?),
    }
}

/// The status and headers of an HTTP-integration stream's JSON prelude: `statusCode` (200
/// when absent), `headers` (strings or arrays of them, as the official runtime writes
/// multi-valued headers), each `cookies[]` entry as one `Set-Cookie`. `None` when malformed.
pub(crate) fn prelude(raw: &[u8]) -> Option<HttpReply> {
    let value: Value = serde_json::from_slice(raw).ok()?;
    let map = value.as_object()?;
    let code = match map.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(code) => status(code)?,
    };
    let mut headers = multi_headers(map.get("headers"))?;
    headers.retain(|(name, _)| !name.eq_ignore_ascii_case("set-cookie"));
    if let Some(Value::Array(cookies)) = map.get("cookies") {
        headers.extend(
            cookies
                .iter()
                .filter_map(scalar)
                .map(|c| ("set-cookie".to_owned(), c)),
        );
    }
    Some(finish(code, None, headers, Vec::new()))
}

/// Headers the front door's own framing decides.
fn is_hop_by_hop(name: &str) -> bool {
    [
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// A status code in 100..=999: a number or a string of digits.
fn status(value: &Value) -> Option<u16> {
    let code = match value {
        Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    (100..=999).contains(&code).then_some(code)
}

/// A header value: strings as they are, numbers and booleans written out; `None` for the
/// rest (skipped).
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `{name: value}`: one header each. `null` or absent: none.
fn single_headers(value: Option<&Value>) -> Option<Vec<(String, String)>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Object(map)) => Some(
            map.iter()
                .filter_map(|(name, value)| Some((name.clone(), scalar(value)?)))
                .collect(),
        ),
        Some(_) => None,
    }
}

/// `{name: [values]}` (a lone value counts as one): one header per value.
fn multi_headers(value: Option<&Value>) -> Option<Vec<(String, String)>> {
    match value {
        None | Some(Value::Null) => Some(Vec::new()),
        Some(Value::Object(map)) => Some(
            map.iter()
                .flat_map(|(name, values)| match values {
                    Value::Array(values) => values
                        .iter()
                        .filter_map(|v| Some((name.clone(), scalar(v)?)))
                        .collect::<Vec<_>>(),
                    other => scalar(other)
                        .map(|v| vec![(name.clone(), v)])
                        .unwrap_or_default(),
                })
                .collect(),
        ),
        Some(_) => None,
    }
}

/// The body: a string (base64-decoded with `isBase64Encoded: true`), or nothing. `lenient`
/// writes out any other JSON value as the body; otherwise it is malformed.
fn body(map: &Map<String, Value>, lenient: bool) -> Option<Vec<u8>> {
    let text = match map.get("body") {
        None | Some(Value::Null) => return Some(Vec::new()),
        Some(Value::String(s)) => s.clone(),
        Some(other) if lenient => other.to_string(),
        Some(_) => return None,
    };
    if map.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .ok()
    } else {
        Some(text.into_bytes())
    }
}

fn finish(
    status: u16,
    reason: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> HttpReply {
    HttpReply {
        status,
        reason,
        headers: headers
            .into_iter()
            .filter(|(name, _)| !is_hop_by_hop(name))
            .collect(),
        body,
    }
}

/// Payload 2.0: `statusCode`, `headers`, `cookies[]`, `body`, `isBase64Encoded`; valid JSON
/// without `statusCode` is itself the body of a 200 `application/json`.
fn v2(value: &Value, payload: &[u8]) -> Option<HttpReply> {
    let Some(map) = value.as_object().filter(|m| m.contains_key("statusCode")) else {
        return Some(HttpReply {
            status: 200,
            reason: None,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: payload.to_vec(),
        });
    };
    let code = status(&map["statusCode"])?;
    let mut headers = single_headers(map.get("headers"))?;
    headers.retain(|(name, _)| !name.eq_ignore_ascii_case("set-cookie"));
    if let Some(Value::Array(cookies)) = map.get("cookies") {
        headers.extend(
            cookies
                .iter()
                .filter_map(scalar)
                .map(|c| ("set-cookie".to_owned(), c)),
        );
    }
    Some(finish(code, None, headers, body(map, true)?))
}

/// REST (payload 1.0): `multiValueHeaders` merged over `headers` (a name in both gets the
/// multi values only); any other top-level key is a malformed proxy response.
fn rest(map: &Map<String, Value>) -> Option<HttpReply> {
    const KEYS: [&str; 5] = [
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
    ];
    if map.keys().any(|key| !KEYS.contains(&key.as_str())) {
        return None;
    }
    let code = status(map.get("statusCode")?)?;
    let multi = multi_headers(map.get("multiValueHeaders"))?;
    let mut headers: Vec<(String, String)> = single_headers(map.get("headers"))?
        .into_iter()
        .filter(|(name, _)| !multi.iter().any(|(m, _)| m.eq_ignore_ascii_case(name)))
        .collect();
    headers.extend(multi);
    Some(finish(code, None, headers, body(map, false)?))
}

/// The reason phrase of a `statusDescription` such as `200 OK`.
fn reason(map: &Map<String, Value>) -> Option<String> {
    let description = map.get("statusDescription")?.as_str()?.trim();
    let reason = match description.split_once(' ') {
        Some((code, rest)) if code.bytes().all(|b| b.is_ascii_digit()) => rest.trim(),
        _ => description,
    };
    (!reason.is_empty()).then(|| reason.to_owned())
}

/// ALB: `statusCode`, `statusDescription`, and `multiValueHeaders` in multi-value mode or
/// `headers` otherwise (the other map is ignored).
fn alb(map: &Map<String, Value>, multi_value: bool) -> Option<HttpReply> {
    let code = status(map.get("statusCode")?)?;
    let headers = if multi_value {
        multi_headers(map.get("multiValueHeaders"))?
    } else {
        single_headers(map.get("headers"))?
    };
    Some(finish(code, reason(map), headers, body(map, false)?))
}

/// VPC Lattice: `statusCode`, `statusDescription`, `headers` (strings, or arrays of them).
fn lattice(map: &Map<String, Value>) -> Option<HttpReply> {
    let code = status(map.get("statusCode")?)?;
    let headers = multi_headers(map.get("headers"))?;
    Some(finish(code, reason(map), headers, body(map, false)?))
}
