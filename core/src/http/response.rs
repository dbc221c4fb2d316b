//! [`HttpResponse`]: what a handler answers, before it is shaped for the request's origin.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Serialize;

use super::maps::Headers;

/// An HTTP response: any status from 100 to 999, headers in order with every value, cookies,
/// and the body as bytes. [`LambdaHttpResponse`](super::LambdaHttpResponse) shapes it for the
/// request's origin.
///
/// ```
/// use lambda_runtime_types::http::HttpResponse;
///
/// let r = HttpResponse::text("created")
///     .status(201)
///     .header("location", "/items/7")
///     .cookie("session=abc; HttpOnly; Secure");
/// assert_eq!((r.status, r.headers.get("Location")), (201, Some("/items/7")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The status code: 100–999 (Lambda passes any such code on); anything else fails the
    /// invocation as `Runtime.SerializationError` when the response is sent.
    pub status: u16,
    /// The headers, in order, a repeated name once per value. A `Set-Cookie` here is sent like
    /// one in [`cookies`](Self::cookies).
    pub headers: Headers,
    /// `Set-Cookie` values, one cookie each (`name=value; Path=/; HttpOnly`).
    pub cookies: Vec<String>,
    /// The body; empty for none.
    pub body: Vec<u8>,
    /// How the body is sent, if not decided by its `Content-Type` (see [`BodyEncoding`]).
    pub encoding: Option<BodyEncoding>,
}

/// How a response body travels in the response JSON.
///
/// Without one, [`HttpResponse::encoding`] is decided by the `Content-Type`: text for `text/*`,
/// JSON, JavaScript, XML, YAML and any `+json`, `+xml` or `+yaml` type (see
/// [`is_text_content_type`]), when the bytes are UTF-8; base64 for every other type and for a
/// `Content-Encoding` (compressed bytes); without a `Content-Type`, text if the bytes are UTF-8.
/// A body is never decoded lossily: bytes that are not UTF-8 always go base64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BodyEncoding {
    /// As a JSON string (`isBase64Encoded: false`); still base64 if the bytes are not UTF-8.
    Text,
    /// Base64 (`isBase64Encoded: true`). An API Gateway REST API decodes it only if its
    /// `binaryMediaTypes` match the response's type; otherwise the client gets the base64 text.
    Base64,
}

impl HttpResponse {
    /// An empty response with `status`.
    pub fn new(status: u16) -> Self {
        Self {
            status,
            headers: Headers::new(),
            cookies: Vec::new(),
            body: Vec::new(),
            encoding: None,
        }
    }

    /// 200 with `text` as `text/plain; charset=utf-8`.
    pub fn text(text: impl Into<String>) -> Self {
        Self::new(200)
            .header("content-type", "text/plain; charset=utf-8")
            .body(text.into())
    }

    /// 200 with `value` serialised as `application/json`.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self::new(200)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(value)?))
    }

    /// 200 with `bytes` and no `Content-Type` (add one: without it, bytes that happen to be
    /// UTF-8 are sent as text).
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::new(200).body(bytes)
    }

    /// The status set to `status`.
    #[must_use]
    pub fn status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// A header value added (after any the name has).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.append(name, value);
        self
    }

    /// A cookie added: one `Set-Cookie` value (`name=value; attributes`).
    #[must_use]
    pub fn cookie(mut self, set_cookie: impl Into<String>) -> Self {
        self.cookies.push(set_cookie.into());
        self
    }

    /// The body replaced by `body`.
    #[must_use]
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// The body sent as `encoding`, whatever its `Content-Type` says.
    #[must_use]
    pub fn encoding(mut self, encoding: BodyEncoding) -> Self {
        self.encoding = Some(encoding);
        self
    }

    /// Whether the body goes as text (else base64); see [`BodyEncoding`].
    pub fn body_is_text(&self) -> bool {
        let utf8 = core::str::from_utf8(&self.body).is_ok();
        match self.encoding {
            Some(BodyEncoding::Text) => utf8,
            Some(BodyEncoding::Base64) => false,
            None if self.headers.contains("content-encoding") => false,
            None => match self.headers.get("content-type") {
                Some(ct) => utf8 && is_text_content_type(ct),
                None => utf8,
            },
        }
    }
}

impl Default for HttpResponse {
    /// An empty 200.
    fn default() -> Self {
        Self::new(200)
    }
}

/// Whether a `Content-Type` names text: `text/*`, JSON, JavaScript, XML, YAML, or a type
/// ending in `+json`, `+xml` or `+yaml` (parameters ignored, case-insensitive).
pub fn is_text_content_type(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    let has = |s: &str| essence.eq_ignore_ascii_case(s);
    let ends = |s: &str| {
        essence.len() >= s.len()
            && essence
                .get(essence.len() - s.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(s))
    };
    essence
        .get(..5)
        .is_some_and(|t| t.eq_ignore_ascii_case("text/"))
        || [
            "application/json",
            "application/javascript",
            "application/ecmascript",
            "application/xml",
            "application/yaml",
            "application/x-yaml",
        ]
        .iter()
        .any(|t| has(t))
        || ["+json", "+xml", "+yaml"].iter().any(|t| ends(t))
}

/// The reason phrase of `status` (`"OK"`, `"Not Found"`), or its class (`"Client Error"`) for
/// a code without a registered phrase; used for ALB's and VPC Lattice's `statusDescription`.
pub fn reason_phrase(status: u16) -> &'static str {
    registered_phrase(status).unwrap_or(match status {
        100..=199 => "Informational",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        500..=599 => "Server Error",
        _ => "Unknown",
    })
}

/// The IANA-registered reason phrase of `status`.
fn registered_phrase(status: u16) -> Option<&'static str> {
    Some(match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        418 => "I'm a teapot",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types() {
        for t in [
            "text/html; charset=utf-8",
            "Application/JSON",
            "application/vnd.api+json",
            "image/svg+xml",
            "application/x-yaml",
            "application/javascript",
        ] {
            assert!(is_text_content_type(t), "{t}");
        }
        for t in [
            "image/png",
            "application/octet-stream",
            "",
            "text",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!is_text_content_type(t), "{t}");
        }
    }

    #[test]
    fn body_encoding_is_never_lossy() {
        let bin = HttpResponse::bytes(alloc::vec![0xff, 0, 1]);
        assert!(!bin.body_is_text());
        assert!(!bin.clone().encoding(BodyEncoding::Text).body_is_text());
        assert!(HttpResponse::bytes("plain").body_is_text());
        let png = HttpResponse::bytes("PNG").header("Content-Type", "image/png");
        assert!(!png.body_is_text());
        assert!(png.encoding(BodyEncoding::Text).body_is_text());
        let gz = HttpResponse::text("x").header("content-encoding", "gzip");
        assert!(!gz.body_is_text());
        assert_eq!(
            (reason_phrase(200), reason_phrase(299), reason_phrase(999)),
            ("OK", "Success", "Unknown")
        );
    }
}
