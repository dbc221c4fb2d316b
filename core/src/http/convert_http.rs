//! Conversions between the HTTP model and the `http` 1.x crate (feature `http`): requests to
//! `http::Request<Body>`, responses from any `http::Response<impl http_body::Body>` and back.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};

use ::http::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use ::http::{Extensions, Method, StatusCode, Uri};
use bytes::{Buf, Bytes};
use http_body::{Frame, SizeHint};

use super::target::{PathParameters, StageVariables, target};
use super::{BodyEncoding, HttpRequest, HttpResponse, Origin, Params, RequestContext};
use crate::context::Context;

/// Any error, boxed: what `http_body` bodies and `tower` services fail with.
pub type BoxError = Box<dyn core::error::Error + Send + Sync>;

/// An `http_body::Body` holding the bytes of a request or response: one data frame, no
/// trailers, its exact size known. What [`HttpRequest::into_http`] gives a service, and what
/// `HttpResponse` converts into.
///
/// An axum `Router` (or any `tower::Service` for `http::Request<B>` with `B: http_body::Body`)
/// takes it as it is; `Infallible` is its error.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Body(Bytes);

impl Body {
    /// An empty body.
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    /// The bytes not yet read (all of them until the body is polled).
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The bytes, owned.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Bytes> for Body {
    fn from(bytes: Bytes) -> Self {
        Self(bytes)
    }
}

impl From<Vec<u8>> for Body {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl From<String> for Body {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<&'static str> for Body {
    fn from(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }
}

impl From<&'static [u8]> for Body {
    fn from(bytes: &'static [u8]) -> Self {
        Self(Bytes::from_static(bytes))
    }
}

impl From<Body> for Vec<u8> {
    fn from(body: Body) -> Self {
        Vec::from(body.0)
    }
}

impl From<Body> for Bytes {
    fn from(body: Body) -> Self {
        body.0
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = core::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match this.0.is_empty() {
            true => Poll::Ready(None),
            false => Poll::Ready(Some(Ok(Frame::data(core::mem::take(&mut this.0))))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.len() as u64)
    }
}

/// What the event carried besides method, URI, headers and body, read from an `http` request
/// made by [`HttpRequest::into_http`] (the extensions it inserted), for handlers of
/// `http::Request`s: `req.lambda_context()`, `parts.path_parameters()`. In an axum handler,
/// the extractors `Extension<Origin>`, `Extension<RequestContext>`, `Extension<Context>`,
/// `Extension<PathParameters>` and `Extension<StageVariables>` read the same.
pub trait RequestExt {
    /// The request's extensions.
    fn lambda_extensions(&self) -> &Extensions;

    /// Where the request came from.
    fn origin(&self) -> Option<Origin> {
        self.lambda_extensions().get::<Origin>().copied()
    }

    /// The event's `requestContext`.
    fn request_context(&self) -> Option<&RequestContext> {
        self.lambda_extensions().get::<RequestContext>()
    }

    /// The invocation's [`Context`] (request id, deadline, ARN…), when the request was made
    /// with [`HttpRequest::into_http_with`].
    fn lambda_context(&self) -> Option<&Context> {
        self.lambda_extensions().get::<Context>()
    }

    /// The event's `pathParameters` (API Gateway; empty for other origins).
    fn path_parameters(&self) -> &Params {
        static NONE: Params = Params::new();
        match self.lambda_extensions().get::<PathParameters>() {
            Some(p) => &p.0,
            None => &NONE,
        }
    }

    /// The event's `stageVariables` (API Gateway; empty for other origins).
    fn stage_variables(&self) -> &Params {
        static NONE: Params = Params::new();
        match self.lambda_extensions().get::<StageVariables>() {
            Some(v) => &v.0,
            None => &NONE,
        }
    }
}

impl RequestExt for Extensions {
    fn lambda_extensions(&self) -> &Extensions {
        self
    }
}

impl<B> RequestExt for ::http::Request<B> {
    fn lambda_extensions(&self) -> &Extensions {
        self.extensions()
    }
}

impl RequestExt for ::http::request::Parts {
    fn lambda_extensions(&self) -> &Extensions {
        &self.extensions
    }
}

/// Why an [`HttpRequest`] or [`HttpResponse`] is not a valid `http` request or response. Its
/// message names what is wrong (a header's name at most), never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HttpConversionError {
    /// The method is not an HTTP token.
    InvalidMethod,
    /// A header name is not an HTTP token.
    InvalidHeaderName,
    /// The value of the header `name` holds a byte `http` does not allow (a control character
    /// other than tab).
    InvalidHeaderValue {
        /// The header's name.
        name: String,
    },
    /// More headers than `http`'s `HeaderMap` holds (32768).
    TooManyHeaders,
    /// A status outside 100–999.
    InvalidStatus(u16),
}

impl fmt::Display for HttpConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidMethod => f.write_str("HTTP: the method is not a valid token"),
            Self::InvalidHeaderName => f.write_str("HTTP: a header name is not a valid token"),
            Self::InvalidHeaderValue { name } => {
                write!(
                    f,
                    "HTTP: the value of header `{name}` holds a forbidden byte"
                )
            }
            Self::TooManyHeaders => f.write_str("HTTP: more than 32768 headers"),
            Self::InvalidStatus(s) => write!(f, "HTTP: status code {s} is outside 100-999"),
        }
    }
}

impl core::error::Error for HttpConversionError {}

/// An `http` response body that failed while it was read ([`HttpResponse::from_http`]).
#[derive(Debug)]
pub struct HttpBodyError(BoxError);

impl HttpBodyError {
    /// The body's own error.
    pub fn into_inner(self) -> BoxError {
        self.0
    }
}

impl fmt::Display for HttpBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP response body: {}", self.0)
    }
}

impl core::error::Error for HttpBodyError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&*self.0)
    }
}

/// `headers` as an `http` `HeaderMap`, every value in order.
fn header_map<'a>(
    headers: impl ExactSizeIterator<Item = (&'a str, &'a str)>,
    extra: usize,
) -> Result<HeaderMap, HttpConversionError> {
    let mut map = HeaderMap::try_with_capacity(headers.len().saturating_add(extra))
        .map_err(|_| HttpConversionError::TooManyHeaders)?;
    for (name, value) in headers {
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpConversionError::InvalidHeaderName)?;
        let v = header_value(&n, value)?;
        map.try_append(n, v)
            .map_err(|_| HttpConversionError::TooManyHeaders)?;
    }
    Ok(map)
}

fn header_value(name: &HeaderName, value: &str) -> Result<HeaderValue, HttpConversionError> {
    HeaderValue::from_bytes(value.as_bytes()).map_err(|_| HttpConversionError::InvalidHeaderValue {
        name: String::from(name.as_str()),
    })
}

/// A header value as text: as it is when UTF-8, else each byte as the character of the same
/// number (ISO-8859-1, how HTTP reads obs-text), so that no byte is lost or replaced.
fn header_text(value: &HeaderValue) -> String {
    match core::str::from_utf8(value.as_bytes()) {
        Ok(text) => String::from(text),
        Err(_) => value.as_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}

/// The request target as an origin-form URI: path and query, each percent-encoded where a
/// URI does not allow what it holds; only the path if the whole is too long for `http`
/// (64 KiB); `/` if even that fails (it cannot, as encoded).
fn uri(req: &HttpRequest) -> Uri {
    let (path, query) = target(req);
    if let Some(query) = query {
        let mut whole = String::with_capacity(path.len() + 1 + query.len());
        whole.push_str(&path);
        whole.push('?');
        whole.push_str(&query);
        if let Ok(uri) = Uri::try_from(whole) {
            return uri;
        }
    }
    Uri::try_from(path).unwrap_or_default()
}

impl HttpRequest {
    /// This request as an `http` 1.x request, for a `tower::Service` such as an axum `Router`
    /// (see also [`into_http_with`](Self::into_http_with), which adds the invocation's
    /// [`Context`]).
    ///
    /// - Method: as the event names it.
    /// - URI: origin-form, path and query only: the [`path`](Self::path) the
    ///   [`StagePolicy`](super::StagePolicy) gives, as the client sent it (percent-encoded; for
    ///   API Gateway REST, whose `path` arrives decoded, encoded again), and the
    ///   [`query_string`](Self::query_string) (`rawQueryString` as sent where there is one).
    ///   What a URI does not allow is percent-encoded, never a panic: spaces, `"`, `<`, `>`,
    ///   `` ` ``, `{`, `}`, non-ASCII, a `%` not starting an escape. A path and query too long
    ///   for `http` (64 KiB) keeps only the path.
    /// - Headers: every value, in order (a function URL's or HTTP API's `cookies[]` as one
    ///   `cookie` header). The host is in the `host` header, as with any HTTP server.
    /// - Body: [`Body`] with the bytes (base64-decoded).
    /// - Extensions: the [`Origin`], the [`RequestContext`], [`PathParameters`] and
    ///   [`StageVariables`] (read them with [`RequestExt`] or axum's `Extension`).
    ///
    /// Fails only for what `http` cannot hold: a method that is not a token, a header name
    /// that is not one, a header value with a control character, more than 32768 headers.
    pub fn into_http(self) -> Result<::http::Request<Body>, HttpConversionError> {
        let uri = uri(&self);
        let method = Method::from_bytes(self.method.as_bytes())
            .map_err(|_| HttpConversionError::InvalidMethod)?;
        let headers = header_map(self.headers.iter(), 0)?;
        let HttpRequest {
            origin,
            path_parameters,
            stage_variables,
            context,
            body,
            ..
        } = self;
        let body = match body {
            super::request::Body::Text(t) => Body::from(t),
            super::request::Body::Bytes(b) => Body::from(b),
        };
        let mut req = ::http::Request::new(body);
        *req.method_mut() = method;
        *req.uri_mut() = uri;
        *req.headers_mut() = headers;
        let ext = req.extensions_mut();
        ext.insert(origin);
        ext.insert(context);
        ext.insert(PathParameters(path_parameters));
        ext.insert(StageVariables(stage_variables));
        Ok(req)
    }

    /// [`into_http`](Self::into_http), with the invocation's [`Context`] as an extension too.
    pub fn into_http_with(
        self,
        ctx: Context,
    ) -> Result<::http::Request<Body>, HttpConversionError> {
        let mut req = self.into_http()?;
        req.extensions_mut().insert(ctx);
        Ok(req)
    }
}

impl TryFrom<HttpRequest> for ::http::Request<Body> {
    type Error = HttpConversionError;

    /// [`HttpRequest::into_http`].
    fn try_from(req: HttpRequest) -> Result<Self, HttpConversionError> {
        req.into_http()
    }
}

impl HttpResponse {
    /// The response of an `http` service, its body read to the end (data frames; trailers
    /// are dropped: a buffered Lambda response has none).
    ///
    /// Any status `http` holds (100–999) is kept; headers keep every value, in `http`'s order
    /// (names lower case, each name's values together, in order); a value that is not UTF-8
    /// is read byte by byte as ISO-8859-1, never dropped or replaced. `Set-Cookie` headers stay
    /// headers (sent as cookies for the origin). A [`BodyEncoding`] in the response's
    /// extensions decides how the body travels.
    ///
    /// A body that fails is an `Err`, never a panic and never a made-up 500: returned from a
    /// handler, it is the invocation's error.
    pub async fn from_http<B>(response: ::http::Response<B>) -> Result<Self, HttpBodyError>
    where
        B: http_body::Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = response.into_parts();
        let mut body = core::pin::pin!(body);
        let hint = body.size_hint();
        let cap = hint.exact().unwrap_or(hint.lower()).min(6 << 20);
        let mut bytes = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
        while let Some(frame) = core::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            let frame = frame.map_err(|e| HttpBodyError(e.into()))?;
            if let Ok(mut data) = frame.into_data() {
                while data.has_remaining() {
                    let chunk = data.chunk();
                    bytes.extend_from_slice(chunk);
                    let n = chunk.len();
                    data.advance(n);
                }
            }
        }
        Ok(Self::from_http_parts(parts, bytes))
    }

    /// A response from the parts of an `http` response and its body's bytes (see
    /// [`from_http`](Self::from_http)).
    pub fn from_http_parts(parts: ::http::response::Parts, body: Vec<u8>) -> Self {
        let mut headers = super::Headers::with_capacity(parts.headers.len());
        for (name, value) in &parts.headers {
            headers.append(name.as_str(), header_text(value));
        }
        Self {
            status: parts.status.as_u16(),
            headers,
            cookies: Vec::new(),
            body,
            encoding: parts.extensions.get::<BodyEncoding>().copied(),
        }
    }

    /// This response as an `http` 1.x response: the status, the headers in order, each of
    /// [`cookies`](Self::cookies) as a `set-cookie` header after them, the body as [`Body`],
    /// the [`encoding`](Self::encoding), if set, as an extension. Fails for a status outside
    /// 100–999 or a header `http` cannot hold.
    pub fn into_http(self) -> Result<::http::Response<Body>, HttpConversionError> {
        let status = StatusCode::from_u16(self.status)
            .map_err(|_| HttpConversionError::InvalidStatus(self.status))?;
        let mut headers = header_map(self.headers.iter(), self.cookies.len())?;
        for cookie in &self.cookies {
            let v = header_value(&SET_COOKIE, cookie)?;
            headers
                .try_append(SET_COOKIE, v)
                .map_err(|_| HttpConversionError::TooManyHeaders)?;
        }
        let mut res = ::http::Response::new(Body::from(self.body));
        *res.status_mut() = status;
        *res.headers_mut() = headers;
        if let Some(encoding) = self.encoding {
            res.extensions_mut().insert(encoding);
        }
        Ok(res)
    }
}

impl<B: Into<Vec<u8>>> From<::http::Response<B>> for HttpResponse {
    /// An `http` response whose body is bytes already (`Body`, `Vec<u8>`, `String`, `Bytes`,
    /// `&'static str`), read as [`HttpResponse::from_http`] reads one.
    fn from(response: ::http::Response<B>) -> Self {
        let (parts, body) = response.into_parts();
        Self::from_http_parts(parts, body.into())
    }
}

impl TryFrom<HttpResponse> for ::http::Response<Body> {
    type Error = HttpConversionError;

    /// [`HttpResponse::into_http`].
    fn try_from(response: HttpResponse) -> Result<Self, HttpConversionError> {
        response.into_http()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;
    use alloc::string::ToString;
    use alloc::vec;
    use http_body::Body as _;
    use serde_json::json;

    fn request(event: serde_json::Value) -> HttpRequest {
        HttpRequest::from_slice(&serde_json::to_vec(&event).unwrap()).unwrap()
    }

    fn v2(raw_path: &str, raw_query: &str) -> HttpRequest {
        request(json!({
            "version": "2.0", "rawPath": raw_path, "rawQueryString": raw_query,
            "cookies": ["a=1", "b=2"],
            "headers": {"host": "x.lambda-url.eu-west-1.on.aws", "x-multi": "1,2"},
            "requestContext": {"http": {"method": "POST"}, "stage": "$default",
                "domainName": "x.lambda-url.eu-west-1.on.aws"},
            "pathParameters": {"id": "7"}, "stageVariables": {"env": "prod"},
            "body": "aGk=", "isBase64Encoded": true,
        }))
    }

    #[test]
    fn request_keeps_everything_and_carries_the_event() {
        let req = v2("/items/a%20b", "x=1&x=2&y=a+b").into_http_with(Context::for_test("r-1"));
        let req = req.unwrap();
        assert_eq!(req.method(), Method::POST);
        assert_eq!(req.uri(), "/items/a%20b?x=1&x=2&y=a+b");
        assert_eq!(req.headers()["cookie"], "a=1; b=2");
        assert_eq!(req.headers()["x-multi"], "1,2");
        assert_eq!(req.body().as_bytes(), b"hi");
        assert_eq!(req.origin(), Some(Origin::FunctionUrl));
        assert_eq!(req.path_parameters().get("id"), Some("7"));
        assert_eq!(req.stage_variables().get("env"), Some("prod"));
        assert_eq!(req.lambda_context().unwrap().request_id, "r-1");
        let domain = req.request_context().and_then(|c| c.domain_name());
        assert_eq!(domain, Some("x.lambda-url.eu-west-1.on.aws"));
        let (parts, _) = req.into_parts();
        assert_eq!(parts.path_parameters().len(), 1);
    }

    /// lambda_http panics on these (`rawQueryString` with characters a URI does not allow).
    #[test]
    fn illegal_uri_characters_are_encoded_not_a_panic() {
        let req = v2("/a b/é/%zz", "q=\"x y\"&w=<é>&h=#frag&p=100%&ok=%7C|").into_http();
        assert_eq!(
            req.unwrap().uri(),
            "/a%20b/%C3%A9/%25zz?q=%22x%20y%22&w=%3C%C3%A9%3E&h=%23frag&p=100%25&ok=%7C|"
        );
        // REST sends the path decoded: its `%` is a percent sign, its `?` part of the path.
        let rest = request(json!({
            "resource": "/{proxy+}", "path": "/100%/what?", "httpMethod": "GET",
            "requestContext": {"httpMethod": "GET", "stage": "Prod"},
            "multiValueQueryStringParameters": {"a": ["1 2", "&"]},
        }));
        assert_eq!(
            rest.into_http().unwrap().uri(),
            "/100%25/what%3F?a=1%202&a=%26"
        );
        // A target too long for `http` keeps its path.
        let long = "a=".to_string() + &"b".repeat(70_000);
        assert_eq!(v2("/p", &long).into_http().unwrap().uri(), "/p");
    }

    #[test]
    fn the_stage_policy_applies_to_the_uri() {
        let ev = |stage: &str| {
            request(json!({
                "version": "2.0", "rawPath": "/Prod/a%2Fb", "rawQueryString": "",
                "requestContext": {"http": {"method": "GET"}, "stage": stage},
            }))
        };
        assert_eq!(ev("Prod").into_http().unwrap().uri(), "/a%2Fb");
        let keep = ev("Prod").with_stage_policy(super::super::StagePolicy::Keep);
        assert_eq!(keep.into_http().unwrap().uri(), "/Prod/a%2Fb");
    }

    #[test]
    fn what_http_cannot_hold_is_an_error() {
        let mut req = v2("/", "");
        req.method = String::from("GE T");
        assert_eq!(
            req.into_http().unwrap_err(),
            HttpConversionError::InvalidMethod
        );
        let mut req = v2("/", "");
        req.headers_mut().append("bad name", "v");
        assert_eq!(
            req.into_http().unwrap_err(),
            HttpConversionError::InvalidHeaderName
        );
        let mut req = v2("/", "");
        req.headers_mut().append("x-nl", "a\nb");
        let err = req.into_http().unwrap_err();
        assert_eq!(
            err.to_string(),
            "HTTP: the value of header `x-nl` holds a forbidden byte"
        );
        let mut req = v2("/", "");
        for i in 0..40_000 {
            req.headers_mut().append("x", i.to_string());
        }
        assert_eq!(
            req.into_http().unwrap_err(),
            HttpConversionError::TooManyHeaders
        );
    }

    #[test]
    fn responses_both_ways() {
        let res = ::http::Response::builder()
            .status(599)
            .header("vary", "a")
            .header("set-cookie", "s=1")
            .header("vary", "b")
            .header("x-latin", HeaderValue::from_bytes(b"caf\xe9").unwrap())
            .body(Body::from("ok"))
            .unwrap();
        let r = block_on(HttpResponse::from_http(res)).unwrap();
        assert_eq!(r.status, 599);
        assert_eq!(r.headers.get_all("vary").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(r.headers.get("x-latin"), Some("café"));
        assert_eq!(r.headers.get("set-cookie"), Some("s=1"));
        assert_eq!(r.body, b"ok");

        let back = HttpResponse::text("t")
            .status(218)
            .header("Vary", "a")
            .header("vary", "b")
            .cookie("c=1")
            .encoding(BodyEncoding::Base64)
            .into_http()
            .unwrap();
        assert_eq!(back.status(), 218);
        assert_eq!(back.headers().get_all("vary").iter().count(), 2);
        assert_eq!(back.headers()["set-cookie"], "c=1");
        assert_eq!(back.extensions().get(), Some(&BodyEncoding::Base64));
        let again = HttpResponse::from(back);
        assert_eq!(again.encoding, Some(BodyEncoding::Base64));
        assert_eq!(again.headers.get_all("set-cookie").count(), 1);

        for bad in [0, 99, 1000] {
            let err = HttpResponse::new(bad).into_http().unwrap_err();
            assert_eq!(err, HttpConversionError::InvalidStatus(bad));
        }
    }

    /// A body whose second frame fails: an error (lambda_http panics), never a panic.
    #[test]
    fn a_failing_body_is_an_error() {
        struct Failing(u8);
        impl http_body::Body for Failing {
            type Data = Bytes;
            type Error = std::io::Error;
            fn poll_frame(
                mut self: Pin<&mut Self>,
                _: &mut TaskContext<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
                self.0 += 1;
                Poll::Ready(Some(match self.0 {
                    1 => Ok(Frame::data(Bytes::from_static(b"part"))),
                    _ => Err(std::io::Error::other("connection reset")),
                }))
            }
        }
        let res = ::http::Response::new(Failing(0));
        let err = block_on(HttpResponse::from_http(res)).unwrap_err();
        assert_eq!(err.to_string(), "HTTP response body: connection reset");
    }

    #[test]
    fn body_is_one_frame() {
        let mut body = Body::from(vec![1, 2, 3]);
        assert_eq!(http_body::Body::size_hint(&body).exact(), Some(3));
        let waker = core::task::Waker::noop();
        let mut cx = TaskContext::from_waker(waker);
        let frame = Pin::new(&mut body).poll_frame(&mut cx);
        assert!(
            matches!(frame, Poll::Ready(Some(Ok(f))) if f.data_ref().is_some_and(|d| d.len() == 3))
        );
        assert!(http_body::Body::is_end_stream(&body));
        assert!(matches!(
            Pin::new(&mut body).poll_frame(&mut cx),
            Poll::Ready(None)
        ));
    }
}
