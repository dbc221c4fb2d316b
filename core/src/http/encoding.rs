//! Percent-decoding, query strings and base64, none of which can panic.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Standard base64, with or without padding (producers differ).
const BASE64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

/// What is percent-encoded in a query component we write: everything but RFC 3986 unreserved
/// characters.
const COMPONENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'!')
    .add(b'"')
    .add(b'#')
    .add(b'$')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'*')
    .add(b'+')
    .add(b',')
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Base64-decodes `text`; `None` if it is not base64.
pub(crate) fn base64_decode(text: &str) -> Option<Vec<u8>> {
    BASE64.decode(text).ok()
}

/// `%XX` sequences decoded (`+` left alone, as in a path). Kept as it is when there is nothing
/// to decode or the result is not UTF-8 (so nothing is lost); a stray `%` stays a `%`.
pub(crate) fn percent_decode(text: &str) -> Cow<'_, str> {
    if !text.contains('%') {
        return Cow::Borrowed(text);
    }
    match percent_decode_str(text).decode_utf8() {
        Ok(decoded) => decoded,
        Err(_) => Cow::Borrowed(text),
    }
}

/// One query component as a form decoder reads it: `+` is a space, then `%XX` decoded (as
/// [`percent_decode`]: kept as sent when the result is not UTF-8).
pub(crate) fn form_decode(text: &str) -> String {
    if !text.contains(['+', '%']) {
        return String::from(text);
    }
    let spaced: Cow<'_, str> = if text.contains('+') {
        Cow::Owned(text.replace('+', " "))
    } else {
        Cow::Borrowed(text)
    };
    let decoded = percent_decode_str(&spaced).decode_utf8().map(|d| match d {
        Cow::Owned(d) => Some(d),
        Cow::Borrowed(_) => None,
    });
    match decoded {
        Ok(Some(decoded)) => decoded,
        Ok(None) => spaced.into_owned(),
        // Not UTF-8: the text as sent, `+` included.
        Err(_) => String::from(text),
    }
}

/// [`form_decode`] of an owned string: itself when there is nothing to decode.
pub(crate) fn form_decode_owned(text: String) -> String {
    if text.contains(['+', '%']) {
        form_decode(&text)
    } else {
        text
    }
}

/// The pairs of a raw query string (`a=1&b=2&a=3`), decoded, in order; empty pieces skipped,
/// a piece without `=` has an empty value.
pub(crate) fn parse_query(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| match piece.split_once('=') {
            Some((k, v)) => (form_decode(k), form_decode(v)),
            None => (form_decode(piece), String::new()),
        })
        .collect()
}

/// Appends `component` to `out`, percent-encoded for a query string.
pub(crate) fn push_encoded(out: &mut String, component: &str) {
    for chunk in utf8_percent_encode(component, COMPONENT) {
        out.push_str(chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_never_loses_or_panics() {
        assert_eq!(percent_decode("/a%20b"), "/a b");
        assert_eq!(percent_decode("/a%zz%"), "/a%zz%");
        assert_eq!(percent_decode("/%ff"), "/%ff", "not UTF-8: kept as sent");
        assert_eq!(form_decode("a+b%2Bc"), "a b+c");
        assert_eq!(form_decode("100%"), "100%");
        assert_eq!(form_decode("x+%ff"), "x+%ff");
        assert_eq!(form_decode("x+%zz"), "x %zz");
        assert_eq!(
            parse_query("a=1&&b&a=%3D+&c=d=e"),
            [("a", "1"), ("b", ""), ("a", "= "), ("c", "d=e")]
                .map(|(k, v)| (String::from(k), String::from(v)))
        );
        assert_eq!(base64_decode("aGk"), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("aGk="), Some(b"hi".to_vec()));
        assert_eq!(base64_decode("a!"), None);
        let mut s = String::new();
        push_encoded(&mut s, "a b&c=d/é~");
        assert_eq!(s, "a%20b%26c%3Dd%2F%C3%A9~");
    }
}
