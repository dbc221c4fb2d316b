//! Conversions to and from `http-types` 2.12 (feature `http-types`), written here rather than
//! through its `hyperium_http` feature, and without its panics.
//!
//! `http-types` panics where Lambda's HTTP does not fit it: `Response::new` on a status its
//! closed `StatusCode` enum lacks (218, 430, 599…), `Request::new` on a URL that is not
//! absolute, `HeaderName::from(&str)` on non-ASCII. Here each is an [`HttpTypesError`].

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::future::Future;
use core::str::FromStr;
use core::task::{Context as TaskContext, Poll, Waker};

use ::http_types::headers::{CONTENT_TYPE, HeaderName, HeaderValue, SET_COOKIE};
use ::http_types::{Method, Request, Response, StatusCode, Url};

use super::target::{PathParameters, StageVariables, target};
use super::{BodyEncoding, Headers, HttpRequest, HttpResponse};

/// Why a request or response does not convert to or from `http-types`. Its message names what
/// is wrong (a header's name at most), never a value.
#[derive(Debug)]
#[non_exhaustive]
pub enum HttpTypesError {
    /// A status `http-types`' `StatusCode` does not list (it is a closed enum: 218, 430, 599
    /// and any unregistered code are missing), or one outside 100–999.
    UnknownStatus(u16),
    /// A method `http-types`' `Method` does not list.
    UnknownMethod,
    /// The `Host` (or `requestContext.domainName`) does not make a URL.
    InvalidHost,
    /// A header name that is not ASCII (`http-types` takes ASCII only).
    InvalidHeaderName,
    /// The value of the header `name` is not ASCII (`http-types` takes ASCII only; API Gateway
    /// passes UTF-8 values on).
    NonAsciiHeaderValue {
        /// The header's name.
        name: String,
    },
    /// The body is not ready on its first poll: it reads from I/O, not from bytes (use
    /// [`HttpResponse::from_http_types`], which awaits it).
    BodyNotReady,
    /// Reading the body failed.
    Body(Box<dyn core::error::Error + Send + Sync>),
}

impl fmt::Display for HttpTypesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("http-types: ")?;
        match self {
            Self::UnknownStatus(s) => write!(f, "status code {s} is not one it knows"),
            Self::UnknownMethod => f.write_str("the method is not one it knows"),
            Self::InvalidHost => f.write_str("the host does not make a valid URL"),
            Self::InvalidHeaderName => f.write_str("a header name is not ASCII"),
            Self::NonAsciiHeaderValue { name } => {
                write!(f, "the value of header `{name}` is not ASCII")
            }
            Self::BodyNotReady => f.write_str("the body is not ready without waiting"),
            Self::Body(e) => write!(f, "reading the body: {e}"),
        }
    }
}

impl core::error::Error for HttpTypesError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Body(e) => Some(&**e),
            _ => None,
        }
    }
}

/// The base URL of a request without a host (an ALB health check, a console test).
const NO_HOST: &str = "http://localhost";

/// `https://{host}` (`http` if `X-Forwarded-Proto` says so), or [`NO_HOST`] without a host; then
/// the path and query.
fn url(req: &HttpRequest) -> Result<Url, HttpTypesError> {
    let base = match req.host() {
        Some(host) => {
            let scheme = match req.header("x-forwarded-proto") {
                Some(p) if p.eq_ignore_ascii_case("http") => "http",
                _ => "https",
            };
            let url = Url::parse(&format!("{scheme}://{host}"))
                .map_err(|_| HttpTypesError::InvalidHost)?;
            // A "host" holding a path, a query or credentials is not a host.
            let plain = url.path() == "/"
                && url.query().is_none()
                && url.fragment().is_none()
                && url.username().is_empty()
                && url.password().is_none()
                && url.has_host();
            if !plain {
                return Err(HttpTypesError::InvalidHost);
            }
            url
        }
        None => Url::parse(NO_HOST).map_err(|_| HttpTypesError::InvalidHost)?,
    };
    let (path, query) = target(req);
    let mut url = base;
    url.set_path(&path);
    url.set_query(query.as_deref());
    Ok(url)
}

fn header_name(name: &str) -> Result<HeaderName, HttpTypesError> {
    HeaderName::from_bytes(name.as_bytes().to_vec()).map_err(|_| HttpTypesError::InvalidHeaderName)
}

fn header_value(name: &HeaderName, value: &str) -> Result<HeaderValue, HttpTypesError> {
    HeaderValue::from_bytes(value.as_bytes().to_vec()).map_err(|_| {
        HttpTypesError::NonAsciiHeaderValue {
            name: String::from(name.as_str()),
        }
    })
}

/// Every `(name, value)` of `headers` then `cookies` (as `set-cookie`), checked, appended.
fn append_headers<'a>(
    headers: &'a Headers,
    cookies: &'a [String],
    mut append: impl FnMut(HeaderName, HeaderValue),
) -> Result<(), HttpTypesError> {
    for (name, value) in headers.iter() {
        let n = header_name(name)?;
        let v = header_value(&n, value)?;
        append(n, v);
    }
    for cookie in cookies {
        append(SET_COOKIE, header_value(&SET_COOKIE, cookie)?);
    }
    Ok(())
}

impl HttpRequest {
    /// This request as an `http-types` request.
    ///
    /// - URL: `http-types` needs an absolute one: `https://` and the [`host`](Self::host)
    ///   (`http://` when `X-Forwarded-Proto` is `http`), or `http://localhost` when there is
    ///   no host (an ALB health check, a test event); then the path and query as for
    ///   [`into_http`](Self::into_http) (the [`StagePolicy`](super::StagePolicy) applied, what
    ///   a URL does not allow percent-encoded). A host that is not one is an error.
    /// - Method: one `http-types` lists, else an error.
    /// - Headers: every value, each name's in order (`http-types` keeps names in a hash map:
    ///   the order between names is lost); a name or value that is not ASCII is an error.
    /// - Body: the bytes. Without a `Content-Type` in the request none is added (`http-types`
    ///   would add `application/octet-stream`).
    /// - Extensions (`ext()`): the [`Origin`](super::Origin), the
    ///   [`RequestContext`](super::RequestContext), [`PathParameters`] and [`StageVariables`].
    pub fn into_http_types(self) -> Result<Request, HttpTypesError> {
        let url = url(&self)?;
        let method = Method::from_str(&self.method).map_err(|_| HttpTypesError::UnknownMethod)?;
        let mut req = Request::new(method, url);
        append_headers(&self.headers, &[], |n, v| req.append_header(n, v))?;
        let typed = self.headers.contains("content-type");
        let HttpRequest {
            origin,
            path_parameters,
            stage_variables,
            context,
            body,
            ..
        } = self;
        let body = match body {
            super::request::Body::Text(t) => t.into_bytes(),
            super::request::Body::Bytes(b) => b,
        };
        req.set_body(::http_types::Body::from_bytes(body));
        if !typed {
            req.remove_header(CONTENT_TYPE);
        }
        let ext = req.ext_mut();
        ext.insert(origin);
        ext.insert(context);
        ext.insert(PathParameters(path_parameters));
        ext.insert(StageVariables(stage_variables));
        Ok(req)
    }
}

impl TryFrom<HttpRequest> for Request {
    type Error = HttpTypesError;

    /// [`HttpRequest::into_http_types`].
    fn try_from(req: HttpRequest) -> Result<Self, HttpTypesError> {
        req.into_http_types()
    }
}

impl HttpResponse {
    /// This response as an `http-types` response: the status, if `http-types` knows it (its
    /// `StatusCode` is a closed enum: 218, 430 or 599 are errors here, where `Response::new`
    /// would panic); the headers and each of [`cookies`](Self::cookies) as `set-cookie`, each
    /// ASCII or an error; the body's bytes (no `Content-Type` added when there is none); the
    /// [`encoding`](Self::encoding), if set, in `ext()`.
    pub fn into_http_types(self) -> Result<Response, HttpTypesError> {
        let status = StatusCode::try_from(self.status)
            .map_err(|_| HttpTypesError::UnknownStatus(self.status))?;
        let mut res = Response::new(status);
        append_headers(&self.headers, &self.cookies, |n, v| res.append_header(n, v))?;
        let typed = self.headers.contains("content-type");
        res.set_body(::http_types::Body::from_bytes(self.body));
        if !typed {
            res.remove_header(CONTENT_TYPE);
        }
        if let Some(encoding) = self.encoding {
            res.ext_mut().insert(encoding);
        }
        Ok(res)
    }

    /// An `http-types` response, its body awaited (any body, I/O-backed too). The status and
    /// headers are kept (`http-types` lower-cases names and keeps no order between them); a
    /// [`BodyEncoding`] in its `ext()` decides how the body travels.
    pub async fn from_http_types(mut response: Response) -> Result<Self, HttpTypesError> {
        let body = response.take_body().into_bytes().await;
        let body = body.map_err(|e| HttpTypesError::Body(e.into_inner().into()))?;
        Ok(Self::from_http_types_parts(&response, body))
    }

    fn from_http_types_parts(response: &Response, body: Vec<u8>) -> Self {
        let mut headers = Headers::new();
        for (name, values) in response.iter() {
            for value in values.iter() {
                headers.append(name.as_str(), value.as_str());
            }
        }
        let mut r = HttpResponse::new(u16::from(response.status())).body(body);
        r.headers = headers;
        r.encoding = response.ext().get::<BodyEncoding>().copied();
        r
    }
}

impl TryFrom<Response> for HttpResponse {
    type Error = HttpTypesError;

    /// An `http-types` response whose body is bytes (`Body::from_bytes`, `from_string`,
    /// `from_json`, a `&str`…), read without an executor: its reader is a cursor over the
    /// bytes, so reading it is ready on the first poll, which is made with a no-op waker.
    /// A body that would wait (one `from_reader` over I/O) is
    /// [`HttpTypesError::BodyNotReady`]; await [`HttpResponse::from_http_types`] for those.
    fn try_from(mut response: Response) -> Result<Self, HttpTypesError> {
        let read = response.take_body().into_bytes();
        let mut read = core::pin::pin!(read);
        let mut cx = TaskContext::from_waker(Waker::noop());
        match read.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(body)) => Ok(Self::from_http_types_parts(&response, body)),
            Poll::Ready(Err(e)) => Err(HttpTypesError::Body(e.into_inner().into())),
            Poll::Pending => Err(HttpTypesError::BodyNotReady),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use serde_json::json;

    fn request(event: serde_json::Value) -> HttpRequest {
        HttpRequest::from_slice(&serde_json::to_vec(&event).unwrap()).unwrap()
    }

    fn alb(headers: serde_json::Value) -> HttpRequest {
        request(json!({
            "requestContext": {"elb": {"targetGroupArn": "arn"}},
            "httpMethod": "GET", "path": "/health check", "headers": headers,
            "queryStringParameters": {"a": "1%202"}, "body": "", "isBase64Encoded": false,
        }))
    }

    #[test]
    fn a_request_without_a_host_gets_localhost() {
        let req = alb(json!({})).into_http_types().unwrap();
        assert_eq!(
            req.url().as_str(),
            "http://localhost/health%20check?a=1%202"
        );
        assert_eq!(req.method(), Method::Get);
        assert!(req.header("content-type").is_none(), "none made up");
        assert_eq!(
            req.ext().get(),
            Some(&super::super::Origin::Alb(super::super::HeaderMode::Single))
        );

        let req = alb(json!({"host": "example.com:8443", "x-forwarded-proto": "http"}));
        let req = req.into_http_types().unwrap();
        assert_eq!(
            req.url().as_str(),
            "http://example.com:8443/health%20check?a=1%202"
        );
        for bad in [
            "exa mple.com",
            "example.com/path",
            "user@example.com",
            "[::1",
        ] {
            let err = alb(json!({ "host": bad })).into_http_types().unwrap_err();
            assert!(matches!(err, HttpTypesError::InvalidHost), "{bad}: {err}");
        }
    }

    #[test]
    fn non_ascii_headers_and_unknown_methods_are_errors() {
        let err = alb(json!({"x-name": "café"}))
            .into_http_types()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "http-types: the value of header `x-name` is not ASCII"
        );
        let err = alb(json!({"é": "v"})).into_http_types().unwrap_err();
        assert!(matches!(err, HttpTypesError::InvalidHeaderName));
        let mut req = alb(json!({}));
        req.method = String::from("BREW");
        assert!(matches!(
            req.into_http_types(),
            Err(HttpTypesError::UnknownMethod)
        ));
        let err = HttpResponse::text("x")
            .header("x-u", "ü")
            .into_http_types()
            .unwrap_err();
        assert!(matches!(err, HttpTypesError::NonAsciiHeaderValue { .. }));
    }

    /// `Response::new(u16)` panics on these; here they are errors.
    #[test]
    fn unknown_statuses_are_errors() {
        for code in [218, 430, 599, 0, 1000] {
            let err = HttpResponse::new(code).into_http_types().unwrap_err();
            assert!(matches!(err, HttpTypesError::UnknownStatus(c) if c == code));
        }
        let ok = HttpResponse::new(418).into_http_types().unwrap();
        assert_eq!(ok.status(), StatusCode::ImATeapot);
    }

    #[test]
    fn responses_both_ways() {
        let res = HttpResponse::bytes(vec![0xff, 0])
            .status(201)
            .header("vary", "a")
            .header("Vary", "b")
            .cookie("c=1")
            .cookie("d=2")
            .encoding(BodyEncoding::Base64)
            .into_http_types()
            .unwrap();
        assert!(res.header("content-type").is_none());
        let back = HttpResponse::try_from(res).unwrap();
        assert_eq!(back.status, 201);
        assert_eq!(back.headers.get_all("vary").collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(
            back.headers.get_all("set-cookie").collect::<Vec<_>>(),
            ["c=1", "d=2"]
        );
        assert_eq!(back.body, [0xff, 0]);
        assert_eq!(back.encoding, Some(BodyEncoding::Base64));

        let mut typed = Response::new(StatusCode::Ok);
        typed.set_body(::http_types::Body::from_json(&json!({"ok": true})).unwrap());
        let r = HttpResponse::try_from(typed).unwrap();
        assert_eq!(r.headers.get("content-type"), Some("application/json"));
        assert_eq!(r.body, br#"{"ok":true}"#);
    }

    #[test]
    fn a_body_that_waits_is_an_error_or_awaited() {
        struct Later(bool);
        impl futures_lite::AsyncRead for Later {
            fn poll_read(
                mut self: core::pin::Pin<&mut Self>,
                cx: &mut TaskContext<'_>,
                buf: &mut [u8],
            ) -> Poll<std::io::Result<usize>> {
                if core::mem::replace(&mut self.0, true) {
                    return Poll::Ready(Ok(0));
                }
                cx.waker().wake_by_ref();
                let _ = buf;
                Poll::Pending
            }
        }
        let later = || {
            let reader = futures_lite::io::BufReader::new(Later(false));
            let mut res = Response::new(StatusCode::Ok);
            res.set_body(::http_types::Body::from_reader(reader, None));
            res
        };
        assert!(matches!(
            HttpResponse::try_from(later()),
            Err(HttpTypesError::BodyNotReady)
        ));
        let r = crate::testing::block_on(HttpResponse::from_http_types(later())).unwrap();
        assert!(r.body.is_empty());
    }
}
