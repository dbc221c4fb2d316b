//! Building the Lambda event of each origin from an HTTP request.

use std::net::IpAddr;

use base64::Engine as _;
use hyper::Version;
use hyper::http::request::Parts;
use serde_json::{Map, Value, json};

use super::HttpOrigin;
use crate::util::{clf_time, epoch_ms, random_u64, request_id};

/// The account of every ARN the emulator makes up.
const ACCOUNT: &str = "000000000000";
/// The REST API's stage.
pub(crate) const REST_STAGE: &str = "prod";

/// An HTTP request as the front door received it.
#[derive(Debug, Clone, Default)]
pub(crate) struct HttpRequest {
    pub(crate) method: String,
    /// The path as sent (percent-encoding kept), without the query.
    pub(crate) raw_path: String,
    /// The query as sent, without `?`.
    pub(crate) raw_query: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub(crate) protocol: &'static str,
    /// Lower-case names, in order (values of one name together), values lossy UTF-8.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    pub(crate) source_ip: String,
}

impl HttpRequest {
    /// The request of `parts` and `body`, plus the `X-Forwarded-*` headers AWS adds.
    pub(crate) fn from_parts(parts: &Parts, body: Vec<u8>, peer: IpAddr) -> Self {
        let path = parts.uri.path();
        let mut headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let source_ip = peer.to_string();
        add_forwarded(&mut headers, &source_ip);
        HttpRequest {
            method: parts.method.as_str().to_owned(),
            raw_path: if path.is_empty() { "/" } else { path }.to_owned(),
            raw_query: parts.uri.query().unwrap_or("").to_owned(),
            protocol: if parts.version == Version::HTTP_10 {
                "HTTP/1.0"
            } else {
                "HTTP/1.1"
            },
            headers,
            body,
            source_ip,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn user_agent(&self) -> &str {
        self.header("user-agent").unwrap_or("")
    }

    /// The body for the event: `None` when empty, else the text or its base64 and whether
    /// it is base64.
    fn body(&self) -> Option<(String, bool)> {
        if self.body.is_empty() {
            return None;
        }
        let content_type = self.header("content-type").unwrap_or("");
        if is_text(content_type)
            && let Ok(text) = std::str::from_utf8(&self.body)
        {
            return Some((text.to_owned(), false));
        }
        Some((
            base64::engine::general_purpose::STANDARD.encode(&self.body),
            true,
        ))
    }
}

/// `X-Forwarded-For` (the client appended to any chain it sent), `-Port` and `-Proto`.
fn add_forwarded(headers: &mut Vec<(String, String)>, source_ip: &str) {
    let chain: Vec<String> = headers
        .iter()
        .filter(|(n, _)| n == "x-forwarded-for")
        .map(|(_, v)| v.clone())
        .chain([source_ip.to_owned()])
        .collect();
    headers.retain(|(n, _)| {
        !matches!(
            n.as_str(),
            "x-forwarded-for" | "x-forwarded-port" | "x-forwarded-proto"
        )
    });
    headers.push(("x-forwarded-for".to_owned(), chain.join(", ")));
}

/// The media types AWS passes as text: `text/*`, JSON, JavaScript, XML. Everything else,
/// including a missing type, is binary.
pub(crate) fn is_text(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("text/")
        || matches!(
            essence.as_str(),
            "application/json" | "application/javascript" | "application/xml"
        )
}

/// What the made-up AWS resources are called.
#[derive(Debug, Clone)]
pub(crate) struct EventContext {
    region: String,
    function_name: String,
    port: u16,
    /// The API id, 10 lower-case letters and digits.
    api_id: String,
    /// The Function URL id, 32 of them.
    url_id: String,
    now_ms: u64,
    request_id: String,
}

impl EventContext {
    /// Ids are derived from the function name, so they are the same on every run.
    pub(crate) fn new(function_name: &str, region: &str, port: u16) -> Self {
        EventContext {
            region: region.to_owned(),
            function_name: function_name.to_owned(),
            port,
            api_id: stable_id(function_name, "api", 10),
            url_id: stable_id(function_name, "url", 32),
            now_ms: epoch_ms(),
            request_id: request_id(),
        }
    }

    fn hex17(&self, salt: &str) -> String {
        stable_id(&self.function_name, salt, 17)
            .bytes()
            .map(|b| char::from(b"0123456789abcdef"[usize::from(b % 16)]))
            .collect()
    }
}

/// `len` lower-case letters and digits derived from `name` and `salt` (FNV-1a).
fn stable_id(name: &str, salt: &str, len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    let mut round: u64 = 0;
    while out.len() < len {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in name.bytes().chain(salt.bytes()).chain(round.to_le_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        for _ in 0..8 {
            if out.len() == len {
                break;
            }
            let index = usize::try_from(hash % 36).unwrap_or(0);
            out.push(char::from(ALPHABET[index]));
            hash /= 36;
        }
        round += 1;
    }
    out
}

/// The event the function gets.
pub(crate) fn build(origin: HttpOrigin, req: &HttpRequest, ctx: &EventContext) -> Value {
    let mut req = req.clone();
    req.headers
        .push(("x-forwarded-port".to_owned(), ctx.port.to_string()));
    req.headers
        .push(("x-forwarded-proto".to_owned(), "http".to_owned()));
    match origin {
        HttpOrigin::FunctionUrl | HttpOrigin::HttpApi => v2(origin, &req, ctx),
        HttpOrigin::Rest => rest(&req, ctx),
        HttpOrigin::Alb | HttpOrigin::AlbMultiValue => alb(origin, &req, ctx),
        HttpOrigin::Lattice => lattice(&req, ctx),
    }
}

/// Values grouped by name, names in order of first appearance.
fn group(pairs: impl IntoIterator<Item = (String, String)>) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (name, value) in pairs {
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => groups.push((name, vec![value])),
        }
    }
    groups
}

fn last_values(groups: &[(String, Vec<String>)]) -> Value {
    let map: Map<String, Value> = groups
        .iter()
        .map(|(n, v)| (n.clone(), json!(v.last().cloned().unwrap_or_default())))
        .collect();
    Value::Object(map)
}

fn all_values(groups: &[(String, Vec<String>)]) -> Value {
    let map: Map<String, Value> = groups.iter().map(|(n, v)| (n.clone(), json!(v))).collect();
    Value::Object(map)
}

/// `null` for an empty map, as API Gateway sends it.
fn or_null(value: Value) -> Value {
    match &value {
        Value::Object(map) if map.is_empty() => Value::Null,
        _ => value,
    }
}

/// The `&`-separated `key=value` pairs as sent (a key without `=` has the value `""`).
pub(crate) fn raw_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), value.to_owned())
        })
        .collect()
}

/// Percent-decoding (a `%` not followed by two hex digits stays), lossy UTF-8.
pub(crate) fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).and_then(|b| hex(*b)),
                bytes.get(i + 2).and_then(|b| hex(*b)),
            )
        {
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query decoding as API Gateway does it: `+` is a space, then percent-decoding.
pub(crate) fn form_decode(raw: &str) -> String {
    percent_decode(&raw.replace('+', " "))
}

fn decoded_query(req: &HttpRequest) -> Vec<(String, Vec<String>)> {
    group(
        raw_pairs(&req.raw_query)
            .into_iter()
            .map(|(k, v)| (form_decode(&k), form_decode(&v))),
    )
}

/// `body` and `isBase64Encoded`; `empty` is the `body` of a request without one (`None`:
/// no `body` key).
fn set_body(event: &mut Map<String, Value>, req: &HttpRequest, empty: Option<Value>) {
    match req.body() {
        Some((body, base64)) => {
            event.insert("body".into(), json!(body));
            event.insert("isBase64Encoded".into(), json!(base64));
        }
        None => {
            if let Some(empty) = empty {
                event.insert("body".into(), empty);
            }
            event.insert("isBase64Encoded".into(), json!(false));
        }
    }
}

/// Function URL and HTTP API, payload 2.0.
fn v2(origin: HttpOrigin, req: &HttpRequest, ctx: &EventContext) -> Value {
    let (cookie_headers, others): (Vec<_>, Vec<_>) = req
        .headers
        .iter()
        .cloned()
        .partition(|(n, _)| n == "cookie");
    let cookies: Vec<String> = cookie_headers
        .iter()
        .flat_map(|(_, v)| v.split(';'))
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(ToOwned::to_owned)
        .collect();
    let headers: Map<String, Value> = group(others)
        .into_iter()
        .map(|(n, v)| (n, json!(v.join(","))))
        .collect();
    let query: Map<String, Value> = decoded_query(req)
        .into_iter()
        .map(|(k, v)| (k, json!(v.join(","))))
        .collect();
    let (domain, prefix) = match origin {
        HttpOrigin::FunctionUrl => (
            format!("{}.lambda-url.{}.on.aws", ctx.url_id, ctx.region),
            ctx.url_id.clone(),
        ),
        _ => (
            format!("{}.execute-api.{}.amazonaws.com", ctx.api_id, ctx.region),
            ctx.api_id.clone(),
        ),
    };
    let api_id = if origin == HttpOrigin::FunctionUrl {
        &ctx.url_id
    } else {
        &ctx.api_id
    };
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!("$default"));
    event.insert("rawPath".into(), json!(req.raw_path));
    event.insert("rawQueryString".into(), json!(req.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), json!(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": if origin == HttpOrigin::FunctionUrl { "anonymous" } else { ACCOUNT },
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": prefix,
            "http": {
                "method": req.method,
                "path": req.raw_path,
                "protocol": req.protocol,
                "sourceIp": req.source_ip,
                "userAgent": req.user_agent(),
            },
            "requestId": ctx.request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": clf_time(ctx.now_ms),
            "timeEpoch": ctx.now_ms,
        }),
    );
    set_body(&mut event, req, None);
    Value::Object(event)
}

/// API Gateway REST API, Lambda proxy integration (payload 1.0).
fn rest(req: &HttpRequest, ctx: &EventContext) -> Value {
    let headers = group(req.headers.iter().cloned());
    let query = decoded_query(req);
    let path = percent_decode(&req.raw_path);
    let proxy = path.strip_prefix('/').unwrap_or(&path).to_owned();
    let (resource, path_parameters) = if proxy.is_empty() {
        ("/", Value::Null)
    } else {
        ("/{proxy+}", json!({ "proxy": proxy }))
    };
    let mut event = Map::new();
    event.insert("resource".into(), json!(resource));
    event.insert("path".into(), json!(path));
    event.insert("httpMethod".into(), json!(req.method));
    event.insert("headers".into(), or_null(last_values(&headers)));
    event.insert("multiValueHeaders".into(), or_null(all_values(&headers)));
    event.insert("queryStringParameters".into(), or_null(last_values(&query)));
    event.insert(
        "multiValueQueryStringParameters".into(),
        or_null(all_values(&query)),
    );
    event.insert("pathParameters".into(), path_parameters);
    event.insert("stageVariables".into(), Value::Null);
    event.insert(
        "requestContext".into(),
        json!({
            "resourceId": stable_id(&ctx.function_name, "resource", 6),
            "resourcePath": resource,
            "httpMethod": req.method,
            "extendedRequestId": format!("{:016x}", random_u64()),
            "requestTime": clf_time(ctx.now_ms),
            "path": format!("/{REST_STAGE}{path}"),
            "accountId": ACCOUNT,
            "protocol": req.protocol,
            "stage": REST_STAGE,
            "domainPrefix": ctx.api_id,
            "requestTimeEpoch": ctx.now_ms,
            "requestId": ctx.request_id,
            "identity": {
                "cognitoIdentityPoolId": null,
                "accountId": null,
                "cognitoIdentityId": null,
                "caller": null,
                "sourceIp": req.source_ip,
                "principalOrgId": null,
                "accessKey": null,
                "cognitoAuthenticationType": null,
                "cognitoAuthenticationProvider": null,
                "userArn": null,
                "userAgent": req.user_agent(),
                "user": null,
            },
            "domainName": format!("{}.execute-api.{}.amazonaws.com", ctx.api_id, ctx.region),
            "apiId": ctx.api_id,
        }),
    );
    set_body(&mut event, req, Some(Value::Null));
    Value::Object(event)
}

/// Application Load Balancer: one of the two header maps, query values as sent.
fn alb(origin: HttpOrigin, req: &HttpRequest, ctx: &EventContext) -> Value {
    let headers = group(req.headers.iter().cloned());
    let query = group(raw_pairs(&req.raw_query));
    let name: String = ctx.function_name.chars().take(32).collect();
    let arn = format!(
        "arn:aws:elasticloadbalancing:{}:{ACCOUNT}:targetgroup/{name}/{}",
        ctx.region,
        &ctx.hex17("alb")[..16]
    );
    let mut event = Map::new();
    event.insert(
        "requestContext".into(),
        json!({ "elb": { "targetGroupArn": arn } }),
    );
    event.insert("httpMethod".into(), json!(req.method));
    event.insert("path".into(), json!(req.raw_path));
    if origin == HttpOrigin::AlbMultiValue {
        event.insert("multiValueQueryStringParameters".into(), all_values(&query));
        event.insert("multiValueHeaders".into(), all_values(&headers));
    } else {
        event.insert("queryStringParameters".into(), last_values(&query));
        event.insert("headers".into(), last_values(&headers));
    }
    set_body(&mut event, req, Some(json!("")));
    Value::Object(event)
}

/// VPC Lattice, event structure version 2: arrays of values, query values as sent.
fn lattice(req: &HttpRequest, ctx: &EventContext) -> Value {
    let headers = group(req.headers.iter().cloned());
    let query = group(raw_pairs(&req.raw_query));
    let arn = |kind: &str, prefix: &str| {
        format!(
            "arn:aws:vpc-lattice:{}:{ACCOUNT}:{kind}/{prefix}-{}",
            ctx.region,
            ctx.hex17(kind)
        )
    };
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("path".into(), json!(req.raw_path));
    event.insert("method".into(), json!(req.method));
    event.insert("headers".into(), all_values(&headers));
    event.insert("queryStringParameters".into(), all_values(&query));
    set_body(&mut event, req, Some(json!("")));
    event.insert(
        "requestContext".into(),
        json!({
            "serviceNetworkArn": arn("servicenetwork", "sn"),
            "serviceArn": arn("service", "svc"),
            "targetGroupArn": arn("targetgroup", "tg"),
            "identity": {
                "sourceVpcArn": format!(
                    "arn:aws:ec2:{}:{ACCOUNT}:vpc/vpc-{}", ctx.region, ctx.hex17("vpc")
                ),
            },
            "region": ctx.region,
            "timeEpoch": (u128::from(ctx.now_ms) * 1000).to_string(),
        }),
    );
    Value::Object(event)
}
