//! [`HttpRequest`]: one HTTP request, whichever origin sent it.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use serde::de::{self, Deserialize, Deserializer};

use super::context::RequestContext;
use super::encoding::push_encoded;
use super::maps::{Headers, Params};
use super::origin::{Origin, StagePolicy};
use super::raw::RawEvent;
use super::{HttpResponse, LambdaHttpResponse};

/// An HTTP request from any [`Origin`], read from the invocation's event without losing what
/// the event carries. Use it as a handler's `Event` type (see the [module docs](super)).
///
/// Every accessor borrows. What each origin's event holds, and how it lands here:
///
/// - [`method`](Self::method): `httpMethod`, `requestContext.http.method` or `method`
///   (a WebSocket event has none: `GET`, the method of the handshake).
/// - [`raw_path`](Self::raw_path) as the event has it, [`decoded_path`](Self::decoded_path)
///   percent-decoded, and [`path`](Self::path) with the [`StagePolicy`] applied.
/// - [`raw_query`](Self::raw_query) where the event has one (`rawQueryString`),
///   [`query`](Self::query) decoded, in order, every value of a repeated name kept.
/// - [`headers`](Self::headers): every value, in order; for API Gateway REST and WebSocket
///   `multiValueHeaders` merged with `headers` (no value lost), `cookies[]` of an HTTP API or
///   function URL also as one `cookie` header.
/// - [`body`](Self::body) as bytes (base64-decoded when `isBase64Encoded`), [`text`](Self::text)
///   when it is UTF-8, [`was_base64`](Self::was_base64).
/// - [`request_context`](Self::request_context), [`path_parameters`](Self::path_parameters),
///   [`stage_variables`](Self::stage_variables).
#[derive(Clone, Debug, PartialEq)]
pub struct HttpRequest {
    pub(super) origin: Origin,
    pub(super) method: String,
    pub(super) raw_path: String,
    /// `None`: the same as `raw_path`.
    pub(super) decoded_path: Option<String>,
    pub(super) route: Route,
    pub(super) policy: StagePolicy,
    pub(super) raw_query: Option<String>,
    pub(super) query: Params,
    pub(super) headers: Headers,
    pub(super) body: Body,
    pub(super) was_base64: bool,
    pub(super) resource: Option<String>,
    pub(super) route_key: Option<String>,
    pub(super) path_parameters: Params,
    pub(super) stage_variables: Params,
    pub(super) context: RequestContext,
}

/// The body, as text when it is UTF-8 (so that [`HttpRequest::text`] checks nothing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Body {
    Text(String),
    Bytes(Vec<u8>),
}

impl Body {
    /// Bytes, kept as text when they are UTF-8.
    pub(super) fn from_bytes(bytes: Vec<u8>) -> Self {
        match String::from_utf8(bytes) {
            Ok(text) => Self::Text(text),
            Err(e) => Self::Bytes(e.into_bytes()),
        }
    }

    fn into_bytes(self) -> Vec<u8> {
        match self {
            Self::Text(t) => t.into_bytes(),
            Self::Bytes(b) => b,
        }
    }
}

/// [`HttpRequest::path`] relative to the decoded path, so that no policy copies the path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Route {
    /// The decoded path.
    Decoded,
    /// The decoded path from this byte on (a stage removed).
    From(usize),
    /// `/` (the path was only the stage).
    Root,
    /// A stage put in front.
    Prefixed(String),
}

impl HttpRequest {
    /// Parses an event payload; the same as `serde_json::from_slice`.
    pub fn from_slice(event: &[u8]) -> Result<Self, serde_json::Error> {
        serde_json::from_slice(event)
    }

    /// Where the request came from; the response is shaped for it.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The method as the event names it (`GET`, `POST`…).
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The path exactly as the event has it (`path`, `rawPath`, `raw_path`; `/` for a
    /// WebSocket event without one). API Gateway REST sends it decoded, the others as the
    /// client sent it.
    pub fn raw_path(&self) -> &str {
        &self.raw_path
    }

    /// The path percent-decoded (`%20` → space, `+` kept), stage as in the event. Decoded
    /// once: a REST `path`, which API Gateway decoded already, is not decoded again. A path
    /// whose decoding is not UTF-8 is kept as sent. `%2F` becomes `/`: route on
    /// [`raw_path`](Self::raw_path) where segments matter.
    pub fn decoded_path(&self) -> &str {
        self.decoded_path.as_deref().unwrap_or(&self.raw_path)
    }

    /// The path to route on: [`decoded_path`](Self::decoded_path) with the
    /// [`StagePolicy`] applied (by default [`StagePolicy::Strip`]: never with the stage).
    pub fn path(&self) -> &str {
        let decoded = self.decoded_path();
        match &self.route {
            Route::Decoded => decoded,
            Route::From(i) => decoded.get(*i..).unwrap_or(decoded),
            Route::Root => "/",
            Route::Prefixed(p) => p,
        }
    }

    /// The stage policy [`path`](Self::path) follows.
    pub fn stage_policy(&self) -> StagePolicy {
        self.policy
    }

    /// Makes [`path`](Self::path) follow `policy`.
    pub fn set_stage_policy(&mut self, policy: StagePolicy) {
        self.policy = policy;
        self.route = route(
            self.origin,
            policy,
            self.decoded_path.as_deref().unwrap_or(&self.raw_path),
            self.context.stage(),
        );
    }

    /// [`set_stage_policy`](Self::set_stage_policy), by value.
    #[must_use]
    pub fn with_stage_policy(mut self, policy: StagePolicy) -> Self {
        self.set_stage_policy(policy);
        self
    }

    /// The API Gateway stage (`requestContext.stage`).
    pub fn stage(&self) -> Option<&str> {
        self.context.stage()
    }

    /// The query string as the client sent it (no `?`), where the event has it: an HTTP API's
    /// and a function URL's `rawQueryString`. The other origins send only parameters.
    pub fn raw_query(&self) -> Option<&str> {
        self.raw_query.as_deref()
    }

    /// The query parameters, decoded, in order (for API Gateway REST, in the order of the
    /// event's map), each value of a repeated name kept. From `rawQueryString` where there is
    /// one, else `multiValueQueryStringParameters` when not empty, else
    /// `queryStringParameters`. ALB and VPC Lattice send them as the client did: decoded here
    /// once (`+` is a space).
    pub fn query(&self) -> &Params {
        &self.query
    }

    /// The query string: [`raw_query`](Self::raw_query) where there is one, else built from
    /// [`query`](Self::query) (percent-encoded). Empty when there is no query.
    pub fn query_string(&self) -> Cow<'_, str> {
        if let Some(raw) = &self.raw_query {
            return Cow::Borrowed(raw);
        }
        let mut out = String::new();
        for (i, (name, value)) in self.query.iter().enumerate() {
            if i > 0 {
                out.push('&');
            }
            push_encoded(&mut out, name);
            out.push('=');
            push_encoded(&mut out, value);
        }
        Cow::Owned(out)
    }

    /// The headers, every value in order, names case-insensitive.
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change (e.g. in a middleware).
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The first value of the header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The host the client addressed: the `Host` header, else `requestContext.domainName`
    /// (an ALB health check has neither).
    pub fn host(&self) -> Option<&str> {
        self.header("host").or_else(|| self.context.domain_name())
    }

    /// The request's cookies as `name=value` pieces, in order, from every `cookie` header
    /// (an HTTP API's and a function URL's `cookies[]` are one).
    pub fn cookies(&self) -> impl Iterator<Item = &str> + '_ {
        self.headers
            .get_all("cookie")
            .flat_map(|h| h.split(';'))
            .map(str::trim)
            .filter(|c| !c.is_empty())
    }

    /// The value of the first cookie called `name`.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies().find_map(|c| {
            c.split_once('=')
                .filter(|(n, _)| *n == name)
                .map(|(_, v)| v)
        })
    }

    /// The body as bytes (base64-decoded if it arrived encoded); empty when there is none.
    pub fn body(&self) -> &[u8] {
        match &self.body {
            Body::Text(t) => t.as_bytes(),
            Body::Bytes(b) => b,
        }
    }

    /// The body as text, if it is UTF-8 (always, unless it arrived base64-encoded).
    pub fn text(&self) -> Option<&str> {
        match &self.body {
            Body::Text(t) => Some(t),
            Body::Bytes(_) => None,
        }
    }

    /// Whether the body arrived base64-encoded (`isBase64Encoded`).
    pub fn was_base64(&self) -> bool {
        self.was_base64
    }

    /// The body, taken out (the request keeps an empty one).
    pub fn take_body(&mut self) -> Vec<u8> {
        core::mem::replace(&mut self.body, Body::Text(String::new())).into_bytes()
    }

    /// The body, owned.
    pub fn into_body(self) -> Vec<u8> {
        self.body.into_bytes()
    }

    /// API Gateway REST's `resource`, the matched resource (`/{proxy+}`).
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The matched route: the event's `routeKey` (HTTP API), else
    /// `requestContext.routeKey` (WebSocket).
    pub fn route_key(&self) -> Option<&str> {
        self.route_key
            .as_deref()
            .or_else(|| self.context.route_key())
    }

    /// `pathParameters` (API Gateway), in the event's order.
    pub fn path_parameters(&self) -> &Params {
        &self.path_parameters
    }

    /// `stageVariables` (API Gateway), in the event's order.
    pub fn stage_variables(&self) -> &Params {
        &self.stage_variables
    }

    /// `requestContext`, whole, with typed accessors.
    pub fn request_context(&self) -> &RequestContext {
        &self.context
    }

    /// `response`, shaped for this request's origin: return it from the handler.
    pub fn respond(&self, response: HttpResponse) -> LambdaHttpResponse {
        LambdaHttpResponse::new(self.origin, response)
    }
}

impl<'de> Deserialize<'de> for HttpRequest {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEvent::deserialize(d)?;
        super::build::build(raw).map_err(de::Error::custom)
    }
}

/// Whether `path` starts with the segment `/{stage}`.
fn has_stage_segment(path: &str, stage: &str) -> bool {
    path.strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Where [`HttpRequest::path`] is under `policy`.
pub(super) fn route(
    origin: Origin,
    policy: StagePolicy,
    decoded: &str,
    stage: Option<&str>,
) -> Route {
    let stage = match stage {
        Some(s) if origin.has_stage() && !s.is_empty() && s != "$default" => s,
        _ => return Route::Decoded,
    };
    let holds_stage = has_stage_segment(decoded, stage);
    // A REST (and WebSocket) path never holds the stage, whatever its first segment is: only
    // an HTTP API's loses one.
    let strips = matches!(origin, Origin::ApiGatewayHttpV1 | Origin::ApiGatewayHttpV2);
    match policy {
        StagePolicy::Keep => Route::Decoded,
        StagePolicy::Strip if strips && holds_stage => match decoded.len() == stage.len() + 1 {
            true => Route::Root,
            false => Route::From(stage.len() + 1),
        },
        StagePolicy::Strip => Route::Decoded,
        StagePolicy::Prefix if holds_stage => Route::Decoded,
        StagePolicy::Prefix => Route::Prefixed(match decoded {
            "" | "/" => format!("/{stage}"),
            p if p.starts_with('/') => format!("/{stage}{p}"),
            p => format!("/{stage}/{p}"),
        }),
    }
}
