//! Identifiers copied out of Runtime API headers into bounded, validated types.
//!
//! A request id ends up in a URL path (`/runtime/invocation/{id}/response`) and an invocation id
//! in a request header, so both are validated before they are stored: only ASCII letters, digits
//! and `-`, `_`, `.`, `:` are accepted, `..` is rejected, and the length is at most
//! [`MAX_ID_LEN`]. Anything else (`/`, `%`, spaces, CR/LF, non-ASCII) is refused, so a hostile
//! or broken Runtime API can never make the runtime send a request to a path of its choosing.
//!
//! [`RemoteError`], what a header that fails these checks (or any other malformed or unexpected
//! Runtime API response) gives, lives here too, so this module imports nothing of the crate.

use core::fmt;

/// The longest request or invocation id accepted, in bytes.
pub const MAX_ID_LEN: usize = 128;

/// The longest X-Ray trace header accepted, in bytes.
pub const MAX_TRACE_ID_LEN: usize = 256;

fn valid_id(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes.len() <= MAX_ID_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
        && !bytes.windows(2).any(|w| w == b"..")
}

fn copy_ascii<const N: usize>(bytes: &[u8]) -> heapless::String<N> {
    let mut s = heapless::String::new();
    // Callers validated length and ASCII-ness; neither the conversion nor the push can fail.
    let _ = s.push_str(core::str::from_utf8(bytes).unwrap_or_default());
    s
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $err:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(heapless::String<MAX_ID_LEN>);

        impl $name {
            /// Validates `bytes` (a header value) and copies it.
            pub fn parse(bytes: &[u8]) -> Result<Self, RemoteError> {
                if valid_id(bytes) {
                    Ok(Self(copy_ascii(bytes)))
                } else {
                    Err(RemoteError::$err)
                }
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

id_type!(
    /// `Lambda-Runtime-Aws-Request-Id`: names the invocation in `/response` and `/error` paths.
    RequestId,
    InvalidRequestId
);
id_type!(
    /// `Lambda-Runtime-Invocation-Id`: a per-invoke nonce echoed on `/response` and `/error`.
    InvocationId,
    InvalidInvocationId
);

/// `Lambda-Runtime-Trace-Id`: the X-Ray trace header (`Root=…;Parent=…;Sampled=…`).
///
/// Accepted when it is visible ASCII (no spaces or control bytes) and at most
/// [`MAX_TRACE_ID_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceId(heapless::String<MAX_TRACE_ID_LEN>);

impl TraceId {
    /// Validates `bytes` (a header value) and copies it.
    pub fn parse(bytes: &[u8]) -> Result<Self, RemoteError> {
        if !bytes.is_empty()
            && bytes.len() <= MAX_TRACE_ID_LEN
            && bytes.iter().all(u8::is_ascii_graphic)
        {
            Ok(Self(copy_ascii(bytes)))
        } else {
            Err(RemoteError::InvalidTraceId)
        }
    }

    /// The trace header as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// The Runtime API sent something malformed or unexpected in the headers of a `/next` response.
///
/// Returned by the id parsers and [`Invocation::from_head`](crate::lifecycle::Invocation::from_head);
/// the machine logs these and carries on (the invocation is reported where it can be).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteError {
    /// A `/next` response without `Lambda-Runtime-Aws-Request-Id`.
    MissingRequestId,
    /// A request id that is empty, too long or has bytes that must not go into a URL path.
    InvalidRequestId,
    /// A `Lambda-Runtime-Invocation-Id` that must not be echoed in a header.
    InvalidInvocationId,
    /// A `Lambda-Runtime-Trace-Id` that is not visible ASCII or is too long.
    InvalidTraceId,
    /// A status code the endpoint is not expected to return, or an error status.
    UnexpectedStatus(u16),
    /// The event on `/next` is larger than [`crate::lifecycle::MAX_PAYLOAD_BYTES`].
    EventTooLarge,
    /// A `/next` response with this `Lambda-Runtime-*` field twice, with different values
    /// ([`crate::wire::header::conflicting`]).
    ConflictingHeader(&'static str),
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingRequestId => f.write_str("missing request id header"),
            Self::InvalidRequestId => f.write_str("invalid request id header"),
            Self::InvalidInvocationId => f.write_str("invalid invocation id header"),
            Self::InvalidTraceId => f.write_str("invalid trace id header"),
            Self::UnexpectedStatus(s) => write!(f, "unexpected status {s}"),
            Self::EventTooLarge => f.write_str("event payload too large"),
            Self::ConflictingHeader(name) => write!(f, "conflicting {name} header fields"),
        }
    }
}

impl core::error::Error for RemoteError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_ids() {
        for id in [
            "8476a536-e9f4-11e8-9739-2dfe598c3fcd",
            "c6af9ac6-7b61-11e6-9a41-93e812345678",
            "abc_DEF.1:2",
        ] {
            assert_eq!(RequestId::parse(id.as_bytes()).unwrap().as_str(), id);
        }
        assert!(RequestId::parse(&[b'a'; MAX_ID_LEN]).is_ok());
    }

    #[test]
    fn rejects_ids_that_could_escape_a_path_or_header() {
        let long = [b'a'; MAX_ID_LEN + 1];
        for bad in [
            &b""[..],
            b"a/b",
            b"..",
            b"a..b",
            b"a%2fb",
            b"a b",
            b"a\r\nX-Evil: 1",
            b"a\nb",
            "\u{e9}t\u{e9}".as_bytes(),
            &long,
        ] {
            assert_eq!(
                RequestId::parse(bad),
                Err(RemoteError::InvalidRequestId),
                "{bad:?}"
            );
            assert_eq!(
                InvocationId::parse(bad),
                Err(RemoteError::InvalidInvocationId)
            );
        }
    }

    #[test]
    fn trace_ids() {
        let t = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
        assert_eq!(TraceId::parse(t.as_bytes()).unwrap().as_str(), t);
        assert!(TraceId::parse(b"a b").is_err());
        assert!(TraceId::parse(b"a\r\n").is_err());
        assert!(TraceId::parse(&[b'x'; MAX_TRACE_ID_LEN + 1]).is_err());
    }
}
