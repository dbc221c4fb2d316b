//! [`RequestBuilder`]: the event an origin would send for a request, for tests of handlers.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::encoding::{percent_decode, push_encoded};
use super::origin::{HeaderMode, Origin};
use super::request::HttpRequest;

/// Builds the event an origin sends for one HTTP request, and the [`HttpRequest`] read from
/// it: a handler's unit tests need no JSON fixture and no emulator. Start with
/// [`HttpRequest::builder`].
///
/// The event has the shape the origin gives it: for API Gateway REST the decoded `path`
/// without the stage, `headers` with the last value of each name and `multiValueHeaders` with
/// all; for an HTTP API the `rawPath` (with a non-default stage in front, as API Gateway sends
/// it), the `rawQueryString`, `cookies[]` and repeated headers joined with commas; for ALB the
/// header mode asked for; for VPC Lattice v2 lists of header values; a body that is not UTF-8
/// base64-encoded with `isBase64Encoded`. [`build`](Self::build) reads that event exactly as
/// the runtime reads an invocation's.
///
/// ```
/// use lambda_runtime_types::http::{HttpRequest, Origin};
///
/// let req = HttpRequest::builder(Origin::ApiGatewayHttpV2)
///     .method("POST")
///     .path("/items/a%20b")
///     .query("tag", "x y")
///     .header("content-type", "application/json")
///     .cookie("session", "1")
///     .body(r#"{"n":1}"#)
///     .build();
/// assert_eq!(req.decoded_path(), "/items/a b");
/// assert_eq!(req.raw_query(), Some("tag=x%20y"));
/// assert_eq!(req.cookie("session"), Some("1"));
/// assert_eq!(req.text(), Some(r#"{"n":1}"#));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RequestBuilder {
    origin: Origin,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    cookies: Vec<(String, String)>,
    body: Vec<u8>,
    stage: Option<String>,
    path_parameters: Vec<(String, String)>,
    stage_variables: Vec<(String, String)>,
    route_key: Option<String>,
}

impl HttpRequest {
    /// A [`RequestBuilder`] for a `GET /` from `origin`.
    pub fn builder(origin: Origin) -> RequestBuilder {
        RequestBuilder {
            origin,
            method: String::from("GET"),
            path: String::from("/"),
            query: Vec::new(),
            headers: Vec::new(),
            cookies: Vec::new(),
            body: Vec::new(),
            stage: None,
            path_parameters: Vec::new(),
            stage_variables: Vec::new(),
            route_key: None,
        }
    }
}

/// `pairs` as a JSON object, each name with `value(all its values)`, in first-seen order.
fn grouped(pairs: &[(String, String)], value: impl Fn(Vec<&str>) -> Value) -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if !names.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let mut out = Map::new();
    for name in names {
        let values = pairs.iter().filter(|(n, _)| n == name);
        out.insert(
            name.to_string(),
            value(values.map(|(_, v)| v.as_str()).collect()),
        );
    }
    Value::Object(out)
}

fn last(values: Vec<&str>) -> Value {
    Value::from(values.last().copied().unwrap_or_default())
}

fn list(values: Vec<&str>) -> Value {
    Value::from(values)
}

fn joined(values: Vec<&str>) -> Value {
    Value::from(values.join(","))
}

/// `path` under `/{stage}`.
fn staged(stage: &str, path: &str) -> String {
    match path {
        "/" | "" => ["/", stage].concat(),
        _ => ["/", stage, path].concat(),
    }
}

fn encoded(s: &str) -> String {
    let mut out = String::new();
    push_encoded(&mut out, s);
    out
}

impl RequestBuilder {
    /// The method (`GET` by default).
    pub fn method(mut self, method: &str) -> Self {
        self.method = String::from(method);
        self
    }

    /// The path as the client sent it, percent-encoded (`/` by default), without the stage.
    pub fn path(mut self, path: &str) -> Self {
        self.path = String::from(path);
        self
    }

    /// Appends a query parameter (decoded; the builder encodes it where the origin sends the
    /// query encoded).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((String::from(name), String::from(value)));
        self
    }

    /// Appends a header (a name sent twice has two values).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((String::from(name), String::from(value)));
        self
    }

    /// Appends a cookie: `cookies[]` for an HTTP API and a function URL, a `cookie` header for
    /// the others.
    pub fn cookie(mut self, name: &str, value: &str) -> Self {
        self.cookies.push((String::from(name), String::from(value)));
        self
    }

    /// The body: text is sent as it is, other bytes base64-encoded.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The API Gateway stage (REST, HTTP API, WebSocket): `requestContext.stage`, and in front
    /// of an HTTP API's `rawPath` unless it is `$default`. None by default (`$default` for an
    /// HTTP API).
    pub fn stage(mut self, stage: &str) -> Self {
        self.stage = Some(String::from(stage));
        self
    }

    /// Appends a path parameter (`pathParameters`, API Gateway).
    pub fn path_parameter(mut self, name: &str, value: &str) -> Self {
        self.path_parameters
            .push((String::from(name), String::from(value)));
        self
    }

    /// Appends a stage variable (`stageVariables`, API Gateway).
    pub fn stage_variable(mut self, name: &str, value: &str) -> Self {
        self.stage_variables
            .push((String::from(name), String::from(value)));
        self
    }

    /// The route key: `routeKey` of an HTTP API (`$default` by default) or a WebSocket API
    /// (`$default` by default; `$connect`, `$disconnect` or a custom route).
    pub fn route_key(mut self, route_key: &str) -> Self {
        self.route_key = Some(String::from(route_key));
        self
    }

    /// The [`HttpRequest`] the runtime reads from [`event`](Self::event).
    ///
    /// # Panics
    ///
    /// Never for an event this builder writes: each origin's is read back in the tests.
    pub fn build(self) -> HttpRequest {
        let event = serde_json::to_vec(&self.event()).unwrap_or_default();
        // Every event this builder writes is one the parse accepts (tested for each origin).
        HttpRequest::from_slice(&event).expect("the builder writes a valid HTTP event")
    }

    /// The event the origin sends for this request.
    pub fn event(&self) -> Value {
        let (body, base64) = match core::str::from_utf8(&self.body) {
            Ok(text) => (String::from(text), false),
            Err(_) => (
                base64::engine::general_purpose::STANDARD.encode(&self.body),
                true,
            ),
        };
        let raw_query = self
            .query
            .iter()
            .map(|(k, v)| [encoded(k), encoded(v)].join("="))
            .collect::<Vec<_>>()
            .join("&");
        let cookie_header = (!self.cookies.is_empty()).then(|| {
            let pairs = self.cookies.iter().map(|(k, v)| [k.as_str(), v].join("="));
            pairs.collect::<Vec<_>>().join("; ")
        });
        // Every origin but the HTTP API and function URL gets cookies as a header.
        let mut headers = self.headers.clone();
        if let Some(cookie) = &cookie_header {
            headers.push((String::from("cookie"), cookie.clone()));
        }
        let lower: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let decoded_path = percent_decode(&self.path).into_owned();
        // ALB and VPC Lattice pass the query on as the client sent it: encoded.
        let query: Vec<(String, String)> = (self.query.iter())
            .map(|(k, v)| (encoded(k), encoded(v)))
            .collect();
        let params = |pairs: &[(String, String)]| match pairs.is_empty() {
            true => Value::Null,
            false => grouped(pairs, last),
        };
        let mut event = match self.origin {
            Origin::ApiGatewayRest | Origin::ApiGatewayHttpV1 | Origin::WebSocket => {
                let stage = self.stage.as_deref().unwrap_or("test");
                let mut ctx = json!({
                    "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
                    "stage": stage,
                    "httpMethod": self.method,
                    "path": staged(stage, &decoded_path),
                    "identity": { "sourceIp": "127.0.0.1" },
                    "domainName": "id.execute-api.us-east-1.amazonaws.com",
                    "apiId": "id",
                    "accountId": "123456789012",
                });
                if self.origin == Origin::WebSocket {
                    let route = self.route_key.as_deref().unwrap_or("$default");
                    ctx["routeKey"] = Value::from(route);
                    ctx["eventType"] = Value::from(match route {
                        "$connect" => "CONNECT",
                        "$disconnect" => "DISCONNECT",
                        _ => "MESSAGE",
                    });
                    ctx["connectionId"] = Value::from("L0SM9cOFvHcCIhw=");
                }
                let mut event = json!({
                    "resource": decoded_path,
                    "path": decoded_path,
                    "httpMethod": self.method,
                    "headers": params(&headers),
                    "multiValueHeaders": grouped(&headers, list),
                    "queryStringParameters": params(&self.query),
                    "multiValueQueryStringParameters": grouped(&self.query, list),
                    "requestContext": ctx,
                });
                if self.origin == Origin::ApiGatewayHttpV1 {
                    event["version"] = Value::from("1.0");
                }
                event
            }
            Origin::ApiGatewayHttpV2 | Origin::FunctionUrl => {
                let url = self.origin == Origin::FunctionUrl;
                let stage = match (url, self.stage.as_deref()) {
                    (false, Some(stage)) => stage,
                    _ => "$default",
                };
                let raw_path = match stage {
                    "$default" => self.path.clone(),
                    _ => staged(stage, &self.path),
                };
                let domain = match url {
                    true => "id.lambda-url.us-east-1.on.aws",
                    false => "id.execute-api.us-east-1.amazonaws.com",
                };
                let mut event = json!({
                    "version": "2.0",
                    "routeKey": self.route_key.as_deref().unwrap_or("$default"),
                    "rawPath": raw_path,
                    "rawQueryString": raw_query,
                    "headers": grouped(&self.headers.iter()
                        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                        .collect::<Vec<_>>(), joined),
                    "requestContext": {
                        "accountId": "123456789012",
                        "apiId": "id",
                        "domainName": domain,
                        "requestId": "JKJaXmPLvHcESHA=",
                        "routeKey": self.route_key.as_deref().unwrap_or("$default"),
                        "stage": stage,
                        "http": {
                            "method": self.method,
                            "path": raw_path,
                            "protocol": "HTTP/1.1",
                            "sourceIp": "127.0.0.1",
                            "userAgent": "test",
                        },
                    },
                });
                if !self.query.is_empty() {
                    event["queryStringParameters"] = grouped(&self.query, joined);
                }
                if !self.cookies.is_empty() {
                    let pairs = self.cookies.iter().map(|(k, v)| [k.as_str(), v].join("="));
                    event["cookies"] = Value::from(pairs.collect::<Vec<_>>());
                }
                event
            }
            Origin::Alb(mode) => {
                let mut event = json!({
                    "httpMethod": self.method,
                    "path": self.path,
                    "requestContext": { "elb": {
                        "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/test/50dc6c495c0c9188",
                    }},
                });
                match mode {
                    HeaderMode::Single => {
                        event["headers"] = grouped(&lower, last);
                        event["queryStringParameters"] = grouped(&query, last);
                    }
                    HeaderMode::Multi => {
                        event["multiValueHeaders"] = grouped(&lower, list);
                        event["multiValueQueryStringParameters"] = grouped(&query, list);
                    }
                }
                event
            }
            Origin::LatticeV2 => json!({
                "version": "2.0",
                "method": self.method,
                "path": self.path,
                "headers": grouped(&lower, list),
                "queryStringParameters": grouped(&query, list),
                "requestContext": {
                    "serviceNetworkArn": "arn:aws:vpc-lattice:us-east-1:123456789012:servicenetwork/sn-0",
                    "serviceArn": "arn:aws:vpc-lattice:us-east-1:123456789012:service/svc-0",
                    "targetGroupArn": "arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0",
                    "region": "us-east-1",
                },
            }),
            Origin::LatticeV1 => json!({
                "method": self.method,
                "raw_path": self.path,
                "headers": grouped(&lower, |values| Value::from(values.join(", "))),
                "query_string_parameters": grouped(&query, last),
                "body": body,
                "is_base64_encoded": base64,
            }),
        };
        if self.origin != Origin::LatticeV1 {
            event["body"] = Value::from(body);
            event["isBase64Encoded"] = Value::from(base64);
        }
        if !self.path_parameters.is_empty() {
            event["pathParameters"] = grouped(&self.path_parameters, last);
        }
        if !self.stage_variables.is_empty() {
            event["stageVariables"] = grouped(&self.stage_variables, last);
        }
        event
    }
}
