//! [`Request`]: the request heads the runtime sends, written into a caller's buffer.

use core::fmt;

use super::{API_VERSION, ContentType, Endpoint, format_decimal, header};
use crate::error_type::ErrorType;
use crate::id::{InvocationId, RequestId};

/// The `User-Agent` every request carries: `lambda-runtime-types/<crate version>`.
pub const USER_AGENT: &str = concat!("lambda-runtime-types/", env!("CARGO_PKG_VERSION"));

const CONTENT_TYPE_JSON: &str = "application/json";
const CONTENT_TYPE_ERROR: &str = "application/vnd.aws.lambda.error+json";

/// A Runtime API request head the runtime sends. The caller writes the body (exactly
/// `content_length` bytes) after the head.
///
/// Every request is HTTP/1.1 with `Host` and `User-Agent` ([`USER_AGENT`]) and no `Connection`
/// header, so the connection is kept alive by default. The ids and error type are validated types
/// and safe to put into a path or header as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// `GET {prefix}/2018-06-01/runtime/invocation/next`: wait for the next event (no body).
    Next,
    /// `POST {prefix}/2018-06-01/runtime/invocation/{id}/response` with
    /// `Content-Type: application/json`: the handler's result.
    Response {
        /// The invocation's `Lambda-Runtime-Aws-Request-Id`.
        id: &'a RequestId,
        /// Echoed as `Lambda-Runtime-Invocation-Id` when the `/next` response carried one.
        invocation_id: Option<&'a InvocationId>,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
    /// `POST {prefix}/2018-06-01/runtime/invocation/{id}/error` with
    /// `Content-Type: application/vnd.aws.lambda.error+json` and
    /// `Lambda-Runtime-Function-Error-Type`: the handler failed.
    Error {
        /// The invocation's `Lambda-Runtime-Aws-Request-Id`.
        id: &'a RequestId,
        /// Echoed as `Lambda-Runtime-Invocation-Id` when the `/next` response carried one.
        invocation_id: Option<&'a InvocationId>,
        /// Sent as `Lambda-Runtime-Function-Error-Type`.
        error_type: &'a ErrorType,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
    /// `POST {prefix}/2018-06-01/runtime/invocation/{id}/response` as a stream:
    /// `Lambda-Runtime-Function-Response-Mode: streaming`, `Transfer-Encoding: chunked` and
    /// `Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body`. The
    /// caller writes the body in chunks ([`chunk_head`](super::chunk_head)) and ends it with
    /// [`LAST_CHUNK`](super::LAST_CHUNK), the error trailers of a stream that failed mid-way
    /// ([`error_trailers`](super::error_trailers)) and the final empty line.
    StreamResponse {
        /// The invocation's `Lambda-Runtime-Aws-Request-Id`.
        id: &'a RequestId,
        /// Echoed as `Lambda-Runtime-Invocation-Id` when the `/next` response carried one.
        invocation_id: Option<&'a InvocationId>,
        /// The stream's `Content-Type`.
        content_type: ContentType<'a>,
    },
    /// `POST {prefix}/2018-06-01/runtime/init/error` with the same content type and error-type
    /// header as [`Request::Error`]: initialisation failed.
    InitError {
        /// Sent as `Lambda-Runtime-Function-Error-Type`.
        error_type: &'a ErrorType,
        /// The body length, sent as `Content-Length`.
        content_length: usize,
    },
}

impl Request<'_> {
    /// Writes the complete request head into `buf` and returns the number of bytes written.
    ///
    /// The head is the request line, `Host: {authority}`, `User-Agent`, then for POSTs
    /// `Content-Type`, `Content-Length`, `Lambda-Runtime-Function-Error-Type` (error posts) and
    /// `Lambda-Runtime-Invocation-Id` (when given), and the final empty line.
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
        let method = match self {
            Self::Next => "GET ",
            _ => "POST ",
        };
        out.put(method);
        out.put(endpoint.prefix());
        out.put(API_VERSION);
        match self {
            Self::Next => out.put("/runtime/invocation/next"),
            Self::Response { id, .. } | Self::StreamResponse { id, .. } => {
                out.put("/runtime/invocation/");
                out.put(id.as_str());
                out.put("/response");
            }
            Self::Error { id, .. } => {
                out.put("/runtime/invocation/");
                out.put(id.as_str());
                out.put("/error");
            }
            Self::InitError { .. } => out.put("/runtime/init/error"),
        }
        out.put(" HTTP/1.1\r\nHost: ");
        out.put(endpoint.authority());
        out.put("\r\nUser-Agent: ");
        out.put(USER_AGENT);
        out.put("\r\n");

        let (content_type, content_length, error_type, invocation_id) = match *self {
            Self::Next => {
                out.put("\r\n");
                return;
            }
            Self::StreamResponse {
                invocation_id,
                content_type,
                ..
            } => {
                out.put("Content-Type: ");
                out.put(content_type.as_str());
                out.put("\r\n");
                out.put(header::FUNCTION_RESPONSE_MODE);
                out.put(": streaming\r\nTransfer-Encoding: chunked\r\nTrailer: ");
                out.put(header::FUNCTION_ERROR_TYPE);
                out.put(", ");
                out.put(header::FUNCTION_ERROR_BODY);
                out.put("\r\n");
                if let Some(invocation_id) = invocation_id {
                    out.put(header::INVOCATION_ID);
                    out.put(": ");
                    out.put(invocation_id.as_str());
                    out.put("\r\n");
                }
                out.put("\r\n");
                return;
            }
            Self::Response {
                invocation_id,
                content_length,
                ..
            } => (CONTENT_TYPE_JSON, content_length, None, invocation_id),
            Self::Error {
                invocation_id,
                error_type,
                content_length,
                ..
            } => (
                CONTENT_TYPE_ERROR,
                content_length,
                Some(error_type),
                invocation_id,
            ),
            Self::InitError {
                error_type,
                content_length,
            } => (CONTENT_TYPE_ERROR, content_length, Some(error_type), None),
        };
        out.put("Content-Type: ");
        out.put(content_type);
        out.put("\r\nContent-Length: ");
        let mut digits = [0u8; 20];
        out.put(format_decimal(content_length as u64, &mut digits));
        out.put("\r\n");
        if let Some(error_type) = error_type {
            out.put(header::FUNCTION_ERROR_TYPE);
            out.put(": ");
            out.put(error_type.as_str());
            out.put("\r\n");
        }
        if let Some(invocation_id) = invocation_id {
            out.put(header::INVOCATION_ID);
            out.put(": ");
            out.put(invocation_id.as_str());
            out.put("\r\n");
        }
        out.put("\r\n");
    }
}

/// A caller-provided buffer is too small; `required` bytes would fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferTooSmall {
    /// The size that would have been enough.
    pub required: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small, {} bytes required", self.required)
    }
}

impl core::error::Error for BufferTooSmall {}

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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua() -> std::string::String {
        std::format!(
            "User-Agent: lambda-runtime-types/{}\r\n",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn encode(request: &Request<'_>, endpoint: &str) -> std::string::String {
        let endpoint = Endpoint::parse(endpoint).unwrap();
        let len = request.encoded_len(&endpoint);
        let mut buf = std::vec![0u8; len];
        assert_eq!(request.encode(&endpoint, &mut buf), Ok(len));
        // One byte short: the error names the exact size.
        let mut short = std::vec![0u8; len - 1];
        assert_eq!(
            request.encode(&endpoint, &mut short),
            Err(BufferTooSmall { required: len })
        );
        assert_eq!(
            request.encode(&endpoint, &mut []),
            Err(BufferTooSmall { required: len })
        );
        // A larger buffer: same bytes, same count.
        let mut big = std::vec![0xAAu8; len + 10];
        assert_eq!(request.encode(&endpoint, &mut big), Ok(len));
        assert_eq!(big[..len], buf[..]);
        std::string::String::from_utf8(buf).unwrap()
    }

    fn ids() -> (RequestId, InvocationId, ErrorType) {
        (
            RequestId::parse(b"8476a536-e9f4-11e8-9739-2dfe598c3fcd").unwrap(),
            InvocationId::parse(b"inv-1").unwrap(),
            ErrorType::new(ErrorType::HANDLER_ERROR),
        )
    }

    #[test]
    fn encode_next() {
        let want = std::format!(
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: 169.254.100.1:9001\r\n{}\r\n",
            ua()
        );
        assert_eq!(encode(&Request::Next, "169.254.100.1:9001"), want);
    }

    #[test]
    fn encode_next_with_prefix_and_ipv6() {
        let want = std::format!(
            "GET /.rt/fn/2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: [::1]:9000\r\n{}\r\n",
            ua()
        );
        assert_eq!(encode(&Request::Next, "http://[::1]:9000/.rt/fn/"), want);
    }

    #[test]
    fn encode_stream_response() {
        let (id, inv, _) = ids();
        let req = Request::StreamResponse {
            id: &id,
            invocation_id: Some(&inv),
            content_type: ContentType::HTTP_INTEGRATION,
        };
        let want = std::format!(
            "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response \
             HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{}\
             Content-Type: application/vnd.awslambda.http-integration-response\r\n\
             Lambda-Runtime-Function-Response-Mode: streaming\r\n\
             Transfer-Encoding: chunked\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\
             Lambda-Runtime-Invocation-Id: {}\r\n\r\n",
            ua(),
            inv.as_str()
        );
        assert_eq!(encode(&req, "127.0.0.1:9001"), want);
    }

    #[test]
    fn encode_response() {
        let (id, _, _) = ids();
        let req = Request::Response {
            id: &id,
            invocation_id: None,
            content_length: 2,
        };
        let want = std::format!(
            "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response \
             HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{}Content-Type: application/json\r\n\
             Content-Length: 2\r\n\r\n",
            ua()
        );
        assert_eq!(encode(&req, "127.0.0.1:9001"), want);
    }

    #[test]
    fn encode_response_with_prefix_and_invocation_id() {
        let (id, inv, _) = ids();
        let req = Request::Response {
            id: &id,
            invocation_id: Some(&inv),
            content_length: 0,
        };
        let want = std::format!(
            "POST /.rt/fn/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/response \
             HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n{}Content-Type: application/json\r\n\
             Content-Length: 0\r\nLambda-Runtime-Invocation-Id: inv-1\r\n\r\n",
            ua()
        );
        assert_eq!(encode(&req, "http://127.0.0.1:9000/.rt/fn"), want);
    }

    #[test]
    fn encode_error() {
        let (id, _, et) = ids();
        let req = Request::Error {
            id: &id,
            invocation_id: None,
            error_type: &et,
            content_length: 6_291_556,
        };
        let want = std::format!(
            "POST /2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/error \
             HTTP/1.1\r\nHost: localhost:9001\r\n{}\
             Content-Type: application/vnd.aws.lambda.error+json\r\nContent-Length: 6291556\r\n\
             Lambda-Runtime-Function-Error-Type: Function.HandlerError\r\n\r\n",
            ua()
        );
        assert_eq!(encode(&req, "localhost:9001"), want);
    }

    #[test]
    fn encode_error_with_prefix_and_invocation_id() {
        let (id, inv, et) = ids();
        let req = Request::Error {
            id: &id,
            invocation_id: Some(&inv),
            error_type: &et,
            content_length: usize::MAX,
        };
        let want = std::format!(
            "POST /p/2018-06-01/runtime/invocation/8476a536-e9f4-11e8-9739-2dfe598c3fcd/error \
             HTTP/1.1\r\nHost: h:80\r\n{}\
             Content-Type: application/vnd.aws.lambda.error+json\r\nContent-Length: {}\r\n\
             Lambda-Runtime-Function-Error-Type: Function.HandlerError\r\n\
             Lambda-Runtime-Invocation-Id: inv-1\r\n\r\n",
            ua(),
            usize::MAX
        );
        assert_eq!(encode(&req, "http://h/p"), want);
    }

    #[test]
    fn encode_init_error() {
        let et = ErrorType::new(ErrorType::SETUP_ERROR);
        let req = Request::InitError {
            error_type: &et,
            content_length: 10,
        };
        let want = std::format!(
            "POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n{}\
             Content-Type: application/vnd.aws.lambda.error+json\r\nContent-Length: 10\r\n\
             Lambda-Runtime-Function-Error-Type: Function.SetupError\r\n\r\n",
            ua()
        );
        assert_eq!(encode(&req, "127.0.0.1:9001"), want);
        let want_prefixed = want.replacen("POST /2018", "POST /.rt/f/2018", 1);
        assert_eq!(encode(&req, "http://127.0.0.1:9001/.rt/f"), want_prefixed);
    }

    #[test]
    fn encoded_heads_parse_as_requests() {
        let (id, inv, et) = ids();
        let endpoint = Endpoint::parse("http://127.0.0.1:9000/.rt/fn").unwrap();
        for req in [
            Request::Next,
            Request::Response {
                id: &id,
                invocation_id: Some(&inv),
                content_length: 7,
            },
            Request::Error {
                id: &id,
                invocation_id: None,
                error_type: &et,
                content_length: 7,
            },
            Request::InitError {
                error_type: &et,
                content_length: 7,
            },
        ] {
            let mut buf = [0u8; 512];
            let n = req.encode(&endpoint, &mut buf).unwrap();
            let mut headers = [httparse::EMPTY_HEADER; 8];
            let mut parsed = httparse::Request::new(&mut headers);
            assert_eq!(parsed.parse(&buf[..n]), Ok(httparse::Status::Complete(n)));
            assert!(
                parsed
                    .path
                    .unwrap()
                    .starts_with("/.rt/fn/2018-06-01/runtime/")
            );
        }
    }
}
