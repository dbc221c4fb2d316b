//! The request target (path and query) an [`HttpRequest`] is converted to, for the `http` and
//! `http-types` conversions: what is illegal in a URI percent-encoded, never a panic.

use alloc::borrow::Cow;
use alloc::string::String;

use super::maps::Params;
use super::origin::Origin;
use super::request::{HttpRequest, Route, route};

/// `pathParameters` of the event, as an extension of a request converted to `http` or
/// `http-types` (`HttpRequest::into_http`, `HttpRequest::into_http_types`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathParameters(pub Params);

/// `stageVariables` of the event, as an extension of a request converted to `http` or
/// `http-types` (`HttpRequest::into_http`, `HttpRequest::into_http_types`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StageVariables(pub Params);

/// The path with the request's [`StagePolicy`](super::StagePolicy) applied, as the event sent it:
/// the path a client used, still percent-encoded where the origin sends it so.
fn routed_raw_path(req: &HttpRequest) -> Cow<'_, str> {
    let raw = req.raw_path();
    match route(req.origin(), req.stage_policy(), raw, req.stage()) {
        Route::Decoded => Cow::Borrowed(raw),
        Route::From(i) => Cow::Borrowed(raw.get(i..).unwrap_or(raw)),
        Route::Root => Cow::Borrowed("/"),
        Route::Prefixed(p) => Cow::Owned(p),
    }
}

/// Whether the origin sends its path decoded already (API Gateway REST and WebSocket), so that
/// a `%` in it is a percent sign, not the start of an escape.
fn path_is_decoded(origin: Origin) -> bool {
    matches!(
        origin,
        Origin::ApiGatewayRest | Origin::ApiGatewayHttpV1 | Origin::WebSocket
    )
}

/// The path (always starting with `/`) and the query (`None` when empty) of `req`, each
/// percent-encoded where a URI does not allow what it holds: controls, space, non-ASCII bytes,
/// `"`, `#`, `<`, `>`, `` ` ``, `{`, `}`, a `?` in the path, and a `%` that does not start a
/// `%XX` escape (every `%` of a path the origin decoded already). What is legal is kept as
/// sent: `+`, `%20`, `&`, `=` and the query's order.
pub(super) fn target(req: &HttpRequest) -> (String, Option<String>) {
    let raw = routed_raw_path(req);
    let mut path = String::with_capacity(raw.len() + 1);
    if !raw.starts_with('/') {
        path.push('/');
    }
    push_uri_encoded(&mut path, &raw, true, path_is_decoded(req.origin()));
    let query = req.query_string();
    let query = (!query.is_empty()).then(|| {
        let mut q = String::with_capacity(query.len());
        push_uri_encoded(&mut q, &query, false, false);
        q
    });
    (path, query)
}

/// Appends `text` to `out`, percent-encoding each byte a URI's path (`in_path`) or query does
/// not allow; with `every_percent`, `%` too.
fn push_uri_encoded(out: &mut String, text: &str, in_path: bool, every_percent: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let keep = match b {
            b'%' => {
                !every_percent
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit)
            }
            b'?' => !in_path,
            b'"' | b'#' | b'<' | b'>' | b'`' | b'{' | b'}' => false,
            0x21..=0x7e => true,
            _ => false,
        };
        if keep {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(text: &str, in_path: bool, every_percent: bool) -> String {
        let mut s = String::new();
        push_uri_encoded(&mut s, text, in_path, every_percent);
        s
    }

    #[test]
    fn only_what_is_illegal_is_encoded() {
        assert_eq!(
            enc("/a b/%20/%zz/é?#", true, false),
            "/a%20b/%20/%25zz/%C3%A9%3F%23"
        );
        assert_eq!(enc("/100%/a%20", true, true), "/100%25/a%2520");
        assert_eq!(
            enc("q=a+b&x=%7C|\"<>`{}\u{7f}\t&é", false, false),
            "q=a+b&x=%7C|%22%3C%3E%60%7B%7D%7F%09&%C3%A9"
        );
        assert_eq!(enc("a=%", false, false), "a=%25");
        assert_eq!(enc("a=%4", false, false), "a=%254");
    }
}
