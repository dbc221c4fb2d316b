//! Invariant checks shared by the targets, written independently of the core's own code.
//!
//! The request-line checks look at the bytes the wire layer wrote, not at the types that went
//! in: whatever a Runtime API sent, a request the runtime writes names exactly the path it
//! should, with an id that passes the id rule, in a head that an HTTP parser reads back whole.

use lambda_runtime_types::id::MAX_ID_LEN;
use lambda_runtime_types::wire::{self, Endpoint};

/// The endpoints requests are encoded for: Lambda's `host:port` and cargo-lambda's
/// `http://host:port/prefix`.
pub fn endpoints() -> [Endpoint; 2] {
    [
        Endpoint::parse("127.0.0.1:9001").expect("a valid endpoint"),
        Endpoint::parse("http://127.0.0.1:9000/.rt/fuzz-fn").expect("a valid endpoint"),
    ]
}

/// The id rule, written again as the oracle: 1 to [`MAX_ID_LEN`] bytes of ASCII letters, digits,
/// `-`, `_`, `.` and `:`, without `..`.
pub fn is_valid_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        && !id.windows(2).any(|w| w == b"..")
}

/// Asserts that `head` is one well-formed HTTP/1.1 request head: CRLF line endings only, no
/// control bytes in any line, a request line `{method} {path} HTTP/1.1`, and that `httparse`
/// reads it back complete with the same method, path and length. Returns the header fields.
pub fn check_request_head(head: &[u8], method: &str, path: &str) -> Vec<(String, Vec<u8>)> {
    assert!(
        head.ends_with(b"\r\n\r\n"),
        "head does not end with an empty line"
    );
    for (i, &b) in head.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(head.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        } else if b == b'\n' {
            assert!(i > 0 && head[i - 1] == b'\r', "bare LF at {i}");
        } else {
            assert!(
                b == b'\t' || (b' '..0x7f).contains(&b),
                "byte {b:#x} at {i}"
            );
        }
    }
    let line_end = head
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a request line");
    let want = format!("{method} {path} HTTP/1.1");
    assert_eq!(
        std::str::from_utf8(&head[..line_end]).ok(),
        Some(want.as_str()),
        "request line"
    );
    let mut fields = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut fields);
    let n = match req.parse(head) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!("the head does not parse back: {other:?}"),
    };
    assert_eq!(n, head.len(), "the head parses back shorter");
    assert_eq!((req.method, req.path), (Some(method), Some(path)));
    req.headers
        .iter()
        .map(|h| (h.name.to_string(), h.value.to_vec()))
        .collect()
}

/// The path of a Runtime API request to `endpoint`.
pub fn runtime_path(endpoint: &Endpoint, rest: &str) -> String {
    format!("{}{}{rest}", endpoint.prefix(), wire::API_VERSION)
}

/// Asserts that a `/response` or `/error` post head names the invocation `id` and nothing else:
/// `id` passes the id rule, the path is exactly `{prefix}/2018-06-01/runtime/invocation/{id}/
/// {suffix}`, its segments are the expected ones, and `invocation_id` (when echoed) is the
/// `Lambda-Runtime-Invocation-Id` field's whole value.
pub fn check_invocation_post(
    head: &[u8],
    endpoint: &Endpoint,
    id: &str,
    suffix: &str,
    invocation_id: Option<&str>,
) {
    assert!(
        is_valid_id(id.as_bytes()),
        "an invalid id reached a request: {id:?}"
    );
    let path = runtime_path(endpoint, &format!("/runtime/invocation/{id}/{suffix}"));
    let fields = check_request_head(head, "POST", &path);
    let after = &path[endpoint.prefix().len()..];
    let segments: Vec<&str> = after.split('/').collect();
    assert_eq!(
        segments,
        ["", "2018-06-01", "runtime", "invocation", id, suffix],
        "path segments"
    );
    let echoed: Vec<&[u8]> = fields
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(wire::header::INVOCATION_ID))
        .map(|(_, v)| v.as_slice())
        .collect();
    match invocation_id {
        Some(nonce) => {
            assert!(
                is_valid_id(nonce.as_bytes()),
                "an invalid invocation id: {nonce:?}"
            );
            assert_eq!(echoed, [nonce.as_bytes()], "the echoed invocation id");
        }
        None => assert!(
            echoed.is_empty(),
            "an invocation id echoed that was not given"
        ),
    }
}
