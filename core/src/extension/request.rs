//! [`Request`]: the Extensions and Telemetry API requests an extension sends, written into a
//! caller's buffer without allocating.

use core::fmt::{self, Write as _};

use super::name::{Events, ExtensionErrorType, ExtensionId, ExtensionName};
use super::{EXTENSION_API_VERSION, TELEMETRY_API_VERSION, header};
use crate::wire::{BufferTooSmall, Endpoint, USER_AGENT};

const CONTENT_TYPE_JSON: &str = "application/json";

/// The kinds of request an extension sends; what a status means depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// `POST /2020-01-01/extension/register`.
    Register,
    /// `PUT /2022-07-01/telemetry`.
    Subscribe,
    /// `GET /2020-01-01/extension/event/next`.
    Next,
    /// `POST /2020-01-01/extension/init/error`.
    InitError,
    /// `POST /2020-01-01/extension/exit/error`.
    ExitError,
}

/// An Extensions or Telemetry API request.
///
/// Every request is HTTP/1.1 with `Host` and `User-Agent` ([`USER_AGENT`]) and no `Connection`
/// header (kept alive). [`Request::Register`] is written complete, body included (it is one of
/// four fixed strings, [`Events::register_body`]); for the other posts the caller writes exactly
/// `content_length` body bytes after the head. Names, identifiers and error types are validated
/// types, safe to put into a header as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `POST {prefix}/2020-01-01/extension/register` with `Lambda-Extension-Name`, optionally
    /// `Lambda-Extension-Accept-Feature: accountId`, and the body `{"events":[…]}`.
    Register {
        /// The extension's name (an external extension's full file name).
        name: &'a ExtensionName,
        /// The events to subscribe to.
        events: Events,
        /// Ask for `accountId` in the register response.
        accept_account_id: bool,
    },
    /// `GET {prefix}/2020-01-01/extension/event/next`: wait for the next event (no body). It
    /// blocks until an event arrives: send it **without a client timeout**.
    Next {
        /// The register response's `Lambda-Extension-Identifier`.
        id: &'a ExtensionId,
    },
    /// `POST {prefix}/2020-01-01/extension/init/error` with `Lambda-Extension-Function-Error-Type`
    /// and a JSON body `{errorMessage, errorType, stackTrace}`: initialisation failed (only
    /// before the extension's first `event/next`).
    InitError {
        /// The register response's `Lambda-Extension-Identifier`.
        id: &'a ExtensionId,
        /// Sent as `Lambda-Extension-Function-Error-Type`.
        error_type: &'a ExtensionErrorType,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
    /// `POST {prefix}/2020-01-01/extension/exit/error`: as [`Request::InitError`], for a failure
    /// after initialisation; the extension exits afterwards.
    ExitError {
        /// The register response's `Lambda-Extension-Identifier`.
        id: &'a ExtensionId,
        /// Sent as `Lambda-Extension-Function-Error-Type`.
        error_type: &'a ExtensionErrorType,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
    /// `PUT {prefix}/2022-07-01/telemetry` with `Content-Type: application/json`: subscribe to
    /// the Telemetry API (during init only). The body is a subscription
    /// (`telemetry::Subscription` with `alloc`).
    Subscribe {
        /// The register response's `Lambda-Extension-Identifier`.
        id: &'a ExtensionId,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
}

impl Request<'_> {
    /// Which kind of request this is.
    pub const fn kind(&self) -> RequestKind {
        match self {
            Self::Register { .. } => RequestKind::Register,
            Self::Next { .. } => RequestKind::Next,
            Self::InitError { .. } => RequestKind::InitError,
            Self::ExitError { .. } => RequestKind::ExitError,
            Self::Subscribe { .. } => RequestKind::Subscribe,
        }
    }

    /// Writes the request head (and for [`Request::Register`] its body) into `buf` and returns
    /// the number of bytes written.
    ///
    /// If `buf` is too small, returns [`BufferTooSmall`] with the exact size needed (the same as
    /// [`encoded_len`](Self::encoded_len)); `buf`'s contents are then unspecified.
    pub fn encode(&self, endpoint: &Endpoint, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut out = Out { buf, len: 0 };
        self.write(endpoint, &mut out);
        if out.len > out.buf.len() {
            Err(BufferTooSmall { required: out.len })
        } else {
            Ok(out.len)
        }
    }

    /// The exact number of bytes [`encode`](Self::encode) writes for this request.
    pub fn encoded_len(&self, endpoint: &Endpoint) -> usize {
        let mut out = Out {
            buf: &mut [],
            len: 0,
        };
        self.write(endpoint, &mut out);
        out.len
    }

    fn write(&self, endpoint: &Endpoint, out: &mut Out<'_>) {
        let (method, version, path) = match self {
            Self::Register { .. } => ("POST ", EXTENSION_API_VERSION, "/extension/register"),
            Self::Next { .. } => ("GET ", EXTENSION_API_VERSION, "/extension/event/next"),
            Self::InitError { .. } => ("POST ", EXTENSION_API_VERSION, "/extension/init/error"),
            Self::ExitError { .. } => ("POST ", EXTENSION_API_VERSION, "/extension/exit/error"),
            Self::Subscribe { .. } => ("PUT ", TELEMETRY_API_VERSION, "/telemetry"),
        };
        out.put(method);
        out.put(endpoint.prefix());
        out.put(version);
        out.put(path);
        out.put(" HTTP/1.1\r\nHost: ");
        out.put(endpoint.authority());
        out.put("\r\nUser-Agent: ");
        out.put(USER_AGENT);
        out.put("\r\n");
        match *self {
            Self::Register {
                name,
                events,
                accept_account_id,
            } => {
                out.field(header::NAME, name.as_str());
                if accept_account_id {
                    out.field(header::ACCEPT_FEATURE, header::ACCEPT_ACCOUNT_ID);
                }
                let body = events.register_body();
                out.json_body_length(body.len());
                out.put("\r\n");
                out.put(body);
            }
            Self::Next { id } => {
                out.field(header::IDENTIFIER, id.as_str());
                out.put("\r\n");
            }
            Self::InitError {
                id,
                error_type,
                content_length,
            }
            | Self::ExitError {
                id,
                error_type,
                content_length,
            } => {
                out.field(header::IDENTIFIER, id.as_str());
                out.field(header::FUNCTION_ERROR_TYPE, error_type.as_str());
                out.json_body_length(content_length);
                out.put("\r\n");
            }
            Self::Subscribe { id, content_length } => {
                out.field(header::IDENTIFIER, id.as_str());
                out.json_body_length(content_length);
                out.put("\r\n");
            }
        }
    }
}

/// A writer that copies what fits and counts everything, so one code path gives both the bytes
/// and the exact length needed.
struct Out<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Out<'_> {
    fn put(&mut self, s: &str) {
        let end = self.len.saturating_add(s.len());
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(s.as_bytes());
        }
        self.len = end;
    }

    fn field(&mut self, name: &str, value: &str) {
        self.put(name);
        self.put(": ");
        self.put(value);
        self.put("\r\n");
    }

    fn json_body_length(&mut self, len: usize) {
        self.field("Content-Type", CONTENT_TYPE_JSON);
        // `Out` never fails to write, so neither does formatting into it.
        let _ = write!(self, "Content-Length: {len}\r\n");
    }
}

impl fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.put(s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::String;

    fn ua() -> String {
        std::format!("User-Agent: {USER_AGENT}\r\n")
    }

    /// Encodes with exact, short and larger buffers and checks they agree.
    fn encode(request: &Request<'_>, endpoint: &str) -> String {
        let endpoint = Endpoint::parse(endpoint).unwrap();
        let len = request.encoded_len(&endpoint);
        let mut buf = std::vec![0u8; len];
        assert_eq!(request.encode(&endpoint, &mut buf), Ok(len));
        let mut short = std::vec![0u8; len - 1];
        assert_eq!(
            request.encode(&endpoint, &mut short),
            Err(BufferTooSmall { required: len })
        );
        let mut big = std::vec![0u8; len + 7];
        assert_eq!(request.encode(&endpoint, &mut big), Ok(len));
        assert_eq!(big[..len], buf[..]);
        String::from_utf8(buf).unwrap()
    }

    fn values() -> (ExtensionName, ExtensionId, ExtensionErrorType) {
        (
            ExtensionName::new("my-ext").unwrap(),
            ExtensionId::parse(b"c6af9ac6-7b61-11e6-9a41-93e812345678").unwrap(),
            ExtensionErrorType::new("Extension.InitFailed").unwrap(),
        )
    }

    #[test]
    fn register() {
        let (name, _, _) = values();
        let req = Request::Register {
            name: &name,
            events: Events::ALL,
            accept_account_id: true,
        };
        let body = r#"{"events":["INVOKE","SHUTDOWN"]}"#;
        let want = std::format!(
            "POST /2020-01-01/extension/register HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{}\
             Lambda-Extension-Name: my-ext\r\nLambda-Extension-Accept-Feature: accountId\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            ua(),
            body.len()
        );
        assert_eq!(encode(&req, "127.0.0.1:9001"), want);
        assert_eq!(req.kind(), RequestKind::Register);
    }

    #[test]
    fn register_without_features_with_prefix() {
        let (name, _, _) = values();
        let req = Request::Register {
            name: &name,
            events: Events::NONE,
            accept_account_id: false,
        };
        let want = std::format!(
            "POST /.rt/fn/2020-01-01/extension/register HTTP/1.1\r\nHost: [::1]:9000\r\n{}\
             Lambda-Extension-Name: my-ext\r\nContent-Type: application/json\r\n\
             Content-Length: 13\r\n\r\n{{\"events\":[]}}",
            ua()
        );
        assert_eq!(encode(&req, "http://[::1]:9000/.rt/fn/"), want);
    }

    #[test]
    fn next() {
        let (_, id, _) = values();
        let want = std::format!(
            "GET /2020-01-01/extension/event/next HTTP/1.1\r\nHost: h:80\r\n{}\
             Lambda-Extension-Identifier: c6af9ac6-7b61-11e6-9a41-93e812345678\r\n\r\n",
            ua()
        );
        assert_eq!(encode(&Request::Next { id: &id }, "h:80"), want);
    }

    #[test]
    fn error_posts() {
        let (_, id, et) = values();
        for (req, path) in [
            (
                Request::InitError {
                    id: &id,
                    error_type: &et,
                    content_length: 42,
                },
                "init",
            ),
            (
                Request::ExitError {
                    id: &id,
                    error_type: &et,
                    content_length: 42,
                },
                "exit",
            ),
        ] {
            let want = std::format!(
                "POST /p/2020-01-01/extension/{path}/error HTTP/1.1\r\nHost: h:1\r\n{}\
                 Lambda-Extension-Identifier: c6af9ac6-7b61-11e6-9a41-93e812345678\r\n\
                 Lambda-Extension-Function-Error-Type: Extension.InitFailed\r\n\
                 Content-Type: application/json\r\nContent-Length: 42\r\n\r\n",
                ua()
            );
            assert_eq!(encode(&req, "http://h:1/p"), want);
        }
    }

    #[test]
    fn subscribe() {
        let (_, id, _) = values();
        let req = Request::Subscribe {
            id: &id,
            content_length: usize::MAX,
        };
        let want = std::format!(
            "PUT /2022-07-01/telemetry HTTP/1.1\r\nHost: 169.254.100.1:9001\r\n{}\
             Lambda-Extension-Identifier: c6af9ac6-7b61-11e6-9a41-93e812345678\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            ua(),
            usize::MAX
        );
        assert_eq!(encode(&req, "169.254.100.1:9001"), want);
        assert_eq!(req.kind(), RequestKind::Subscribe);
    }

    #[test]
    fn encoded_heads_parse_as_requests() {
        let (name, id, et) = values();
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/.rt").unwrap();
        for req in [
            Request::Register {
                name: &name,
                events: Events::INVOKE,
                accept_account_id: true,
            },
            Request::Next { id: &id },
            Request::InitError {
                id: &id,
                error_type: &et,
                content_length: 3,
            },
            Request::ExitError {
                id: &id,
                error_type: &et,
                content_length: 3,
            },
            Request::Subscribe {
                id: &id,
                content_length: 3,
            },
        ] {
            let mut buf = [0u8; 512];
            let n = req.encode(&endpoint, &mut buf).unwrap();
            let mut headers = [httparse::EMPTY_HEADER; 8];
            let mut parsed = httparse::Request::new(&mut headers);
            let status = parsed.parse(&buf[..n]).unwrap();
            let httparse::Status::Complete(head_len) = status else {
                panic!("partial: {req:?}");
            };
            let path = parsed.path.unwrap();
            assert!(path.starts_with("/.rt/20"), "{path}");
            // Only the register request carries its body.
            let body = &buf[head_len..n];
            assert_eq!(
                body,
                if let Request::Register { events, .. } = req {
                    events.register_body().as_bytes()
                } else {
                    b""
                }
            );
        }
    }
}
