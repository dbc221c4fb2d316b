//! [`LambdaHttpResponse`]: an [`HttpResponse`] in the JSON its origin expects.

use core::fmt;

use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};

use super::origin::{HeaderMode, Origin};
use super::response::{HttpResponse, reason_phrase};

/// An [`HttpResponse`] shaped for the origin of the request it answers: the `Return` type of
/// an HTTP handler. Make one with [`HttpRequest::respond`](super::HttpRequest::respond) or
/// [`Origin::respond`].
///
/// What each origin gets (nothing the origin can carry is dropped):
///
/// | origin | headers | cookies | `statusDescription` |
/// |---|---|---|---|
/// | API Gateway REST, HTTP API payload 1.0, WebSocket | `multiValueHeaders` only, every value (API Gateway would let it win over `headers` anyway) | `Set-Cookie` values in `multiValueHeaders` | — |
/// | HTTP API, function URL | `headers`, a repeated name's values joined with `, ` | `cookies[]`, one per cookie, never joined (with any `Set-Cookie` header) | — |
/// | ALB, multi-value mode | `multiValueHeaders`, every value | `Set-Cookie` values in `multiValueHeaders` | `"200 OK"` |
/// | ALB, single mode; VPC Lattice | `headers`, joined with `, ` | each `Set-Cookie` under a differently cased name (`set-cookie`, `Set-cookie`…), never joined; whether the service passes each on is not verified, so prefer ALB's multi-value mode | `"200 OK"` |
///
/// The body is `body` as text or base64 with `isBase64Encoded` (see
/// [`BodyEncoding`](super::BodyEncoding)); an empty body is always sent as `"body": ""`, as
/// text. A status outside 100–999 fails serialisation (`Runtime.SerializationError`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LambdaHttpResponse {
    origin: Origin,
    response: HttpResponse,
}

impl LambdaHttpResponse {
    /// `response`, to be shaped for `origin`.
    pub fn new(origin: Origin, response: HttpResponse) -> Self {
        Self { origin, response }
    }

    /// The origin it is shaped for.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// The response.
    pub fn response(&self) -> &HttpResponse {
        &self.response
    }

    /// The response, owned.
    pub fn into_response(self) -> HttpResponse {
        self.response
    }
}

fn is_set_cookie(name: &str) -> bool {
    name.eq_ignore_ascii_case("set-cookie")
}

/// Every `Set-Cookie` value: the headers', then [`HttpResponse::cookies`].
fn set_cookies(r: &HttpResponse) -> impl Iterator<Item = &str> + '_ {
    r.headers
        .get_all("set-cookie")
        .chain(r.cookies.iter().map(|c| c.as_str()))
}

impl Serialize for LambdaHttpResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = &self.response;
        if !(100..=999).contains(&r.status) {
            return Err(S::Error::custom(format_args!(
                "HTTP response: status code {} is outside 100-999",
                r.status
            )));
        }
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("statusCode", &r.status)?;
        match self.origin {
            Origin::ApiGatewayRest | Origin::ApiGatewayHttpV1 | Origin::WebSocket => {
                m.serialize_entry("multiValueHeaders", &MultiValue(r))?;
            }
            Origin::ApiGatewayHttpV2 | Origin::FunctionUrl => {
                m.serialize_entry("headers", &Joined { r, cookies: false })?;
                if set_cookies(r).next().is_some() {
                    m.serialize_entry("cookies", &Seq(|| set_cookies(r)))?;
                }
            }
            Origin::Alb(HeaderMode::Multi) => {
                m.serialize_entry("statusDescription", &StatusLine(r.status))?;
                m.serialize_entry("multiValueHeaders", &MultiValue(r))?;
            }
            Origin::Alb(HeaderMode::Single) | Origin::LatticeV2 | Origin::LatticeV1 => {
                m.serialize_entry("statusDescription", &StatusLine(r.status))?;
                m.serialize_entry("headers", &Joined { r, cookies: true })?;
            }
        }
        let text = r.body.is_empty() || r.body_is_text();
        match text {
            true => m.serialize_entry("body", core::str::from_utf8(&r.body).unwrap_or(""))?,
            false => m.serialize_entry("body", &Base64(&r.body))?,
        }
        m.serialize_entry("isBase64Encoded", &!text)?;
        m.end()
    }
}

/// `"200 OK"`.
struct StatusLine(u16);

impl Serialize for StatusLine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{} {}", self.0, reason_phrase(self.0)))
    }
}

/// The body in base64, written without an intermediate string.
struct Base64<'a>(&'a [u8]);

impl Serialize for Base64<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let engine = &base64::engine::general_purpose::STANDARD;
        s.collect_str(&base64::display::Base64Display::new(self.0, engine))
    }
}

/// A list of strings, from an iterator made afresh.
struct Seq<F>(F);

impl<'a, F: Fn() -> I, I: Iterator<Item = &'a str>> Serialize for Seq<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq((self.0)())
    }
}

/// Strings joined with `, `, from an iterator made afresh.
struct Join<F>(F);

impl<'a, F: Fn() -> I, I: Iterator<Item = &'a str>> fmt::Display for Join<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in (self.0)().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(v)?;
        }
        Ok(())
    }
}

impl<'a, F: Fn() -> I, I: Iterator<Item = &'a str>> Serialize for Join<F> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// `{name: [values]}`, every value; the cookies join the `Set-Cookie` list.
struct MultiValue<'a>(&'a HttpResponse);

impl Serialize for MultiValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        let mut cookies_sent = r.cookies.is_empty();
        for (name, _) in r.headers.grouped() {
            if is_set_cookie(name) {
                m.serialize_entry(name, &Seq(|| set_cookies(r)))?;
                cookies_sent = true;
            } else {
                m.serialize_entry(name, &Seq(|| r.headers.get_all(name)))?;
            }
        }
        if !cookies_sent {
            m.serialize_entry("Set-Cookie", &Seq(|| set_cookies(r)))?;
        }
        m.end()
    }
}

/// `{name: "v1, v2"}` without `Set-Cookie`; with `cookies`, each `Set-Cookie` value under a
/// name of its own casing.
struct Joined<'a> {
    r: &'a HttpResponse,
    cookies: bool,
}

impl Serialize for Joined<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.r;
        let mut m = s.serialize_map(None)?;
        for (name, _) in r.headers.grouped() {
            if !is_set_cookie(name) {
                m.serialize_entry(name, &Join(|| r.headers.get_all(name)))?;
            }
        }
        if self.cookies {
            for (i, cookie) in set_cookies(r).enumerate() {
                let name = CookieName::new(i);
                m.serialize_entry(name.as_str(), cookie)?;
            }
        }
        m.end()
    }
}

/// `set-cookie` with its letters' case from the bits of a number: 512 distinct names.
struct CookieName([u8; 10]);

impl CookieName {
    fn new(i: usize) -> Self {
        let mut name = *b"set-cookie";
        let letters = name.iter_mut().filter(|b| b.is_ascii_alphabetic());
        for (bit, b) in letters.enumerate() {
            if i >> bit & 1 == 1 {
                b.make_ascii_uppercase();
            }
        }
        Self(name)
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or("set-cookie")
    }
}
