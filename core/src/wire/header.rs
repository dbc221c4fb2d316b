//! The names of the Runtime API's `Lambda-Runtime-*` header fields, in one place.
//!
//! Header names are case-insensitive ([`ResponseHead::header`](super::ResponseHead::header)
//! compares them so); these are spelled as the Lambda documentation spells them, which is also
//! how [`Request::encode`](super::Request::encode) writes them.
//!
//! On the `/next` response (read by the lifecycle and, with `alloc`, the handler's `Context`):
//! [`REQUEST_ID`], [`DEADLINE_MS`], [`INVOKED_FUNCTION_ARN`], [`TRACE_ID`], [`CLIENT_CONTEXT`],
//! [`COGNITO_IDENTITY`], [`TENANT_ID`], [`INVOCATION_ID`]. On the runtime's requests (written by
//! [`Request`](super::Request)): [`FUNCTION_ERROR_TYPE`], [`INVOCATION_ID`], and for a streamed
//! response [`FUNCTION_RESPONSE_MODE`] and the trailer [`FUNCTION_ERROR_BODY`].

/// `/next` response: the invocation's request id, which names it in the `/response` and `/error`
/// paths.
pub const REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";

/// `/next` response: the invocation's deadline, in Unix-epoch milliseconds.
pub const DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";

/// `/next` response: the ARN of the function, version or alias that was invoked.
pub const INVOKED_FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";

/// `/next` response: the X-Ray trace header (`Root=…;Parent=…;Sampled=…`).
pub const TRACE_ID: &str = "Lambda-Runtime-Trace-Id";

/// `/next` response: the client context (JSON) a mobile SDK caller sent.
pub const CLIENT_CONTEXT: &str = "Lambda-Runtime-Client-Context";

/// `/next` response: the Cognito identity (JSON) of a mobile SDK caller.
pub const COGNITO_IDENTITY: &str = "Lambda-Runtime-Cognito-Identity";

/// `/next` response: the tenant id of an invocation of a tenant-isolated function.
pub const TENANT_ID: &str = "Lambda-Runtime-Aws-Tenant-Id";

/// `/next` response and the runtime's `/response` and `/error` requests: a per-invoke nonce,
/// echoed on the posts of the invocation that carried it.
pub const INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";

/// The runtime's `/error` and `/init/error` requests: the error type (`Function.HandlerError`,
/// `Runtime.HandlerTimeout`, …).
pub const FUNCTION_ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";

/// A `/response` request: `streaming` for a streamed response.
pub const FUNCTION_RESPONSE_MODE: &str = "Lambda-Runtime-Function-Response-Mode";

/// A trailer of a streamed `/response` request: the base64 error body of a stream that failed
/// mid-way, next to a [`FUNCTION_ERROR_TYPE`] trailer.
pub const FUNCTION_ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";

/// The `Lambda-Runtime-*` fields a `/next` response may carry, each at most once: a head that
/// has one of them twice with different values is malformed ([`conflicting`]).
pub const ON_NEXT: [&str; 8] = [
    REQUEST_ID,
    DEADLINE_MS,
    INVOKED_FUNCTION_ARN,
    TRACE_ID,
    CLIENT_CONTEXT,
    COGNITO_IDENTITY,
    TENANT_ID,
    INVOCATION_ID,
];

/// The first of [`ON_NEXT`] that `head` has more than once with different values (compared
/// byte for byte; identical duplicates are accepted), if any.
///
/// Reading the first of two different request ids would route the invocation's answer to one of
/// two invocations; reading the first of two deadlines or trace ids would be as much a guess.
pub fn conflicting(head: &super::ResponseHead<'_>) -> Option<&'static str> {
    NextFields::read(head).conflicting()
}

/// The [`ON_NEXT`] fields of a head, read in one pass over its fields: the first value of each
/// (what [`ResponseHead::header`](super::ResponseHead::header) would return) and which of them
/// came twice with different values.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NextFields<'b> {
    /// By index in [`ON_NEXT`].
    first: [Option<&'b [u8]>; ON_NEXT.len()],
    /// Bit `i` set: `ON_NEXT[i]` came twice with different values.
    conflicts: u8,
}

// `NextFields::conflicts` has a bit per field.
const _: () = assert!(ON_NEXT.len() <= u8::BITS as usize);

impl<'b> NextFields<'b> {
    /// Reads `head`'s fields once.
    pub(crate) fn read(head: &super::ResponseHead<'b>) -> Self {
        Self::collect(head.headers().map(|(name, value)| (name.as_bytes(), value)))
    }

    /// Reads the (name, value) pairs of a head's fields, in order.
    pub(crate) fn collect(pairs: impl Iterator<Item = (&'b [u8], &'b [u8])>) -> Self {
        let mut fields = Self {
            first: [None; ON_NEXT.len()],
            conflicts: 0,
        };
        for (name, value) in pairs {
            let Some(i) = on_next_index(name) else {
                continue;
            };
            match fields.first[i] {
                None => fields.first[i] = Some(value),
                Some(first) if first != value => fields.conflicts |= 1 << i,
                Some(_) => {}
            }
        }
        fields
    }

    /// The first value of `name` (one of [`ON_NEXT`]; another name gives `None`).
    pub(crate) fn get(&self, name: &'static str) -> Option<&'b [u8]> {
        let i = ON_NEXT.iter().position(|n| *n == name)?;
        self.first[i]
    }

    /// The first of [`ON_NEXT`] (in its order) that came twice with different values.
    pub(crate) fn conflicting(&self) -> Option<&'static str> {
        (self.conflicts != 0).then(|| ON_NEXT[self.conflicts.trailing_zeros() as usize])
    }
}

/// The index in [`ON_NEXT`] of the field named `name` (compared case-insensitively). Names of
/// another length are passed over without looking at their bytes, and the spelling of
/// [`ON_NEXT`] (which the Runtime API sends) matches with one comparison.
fn on_next_index(name: &[u8]) -> Option<usize> {
    let same_length = |n: &&str| n.len() == name.len();
    ON_NEXT
        .iter()
        .position(|n| same_length(n) && n.as_bytes() == name)
        .or_else(|| {
            ON_NEXT
                .iter()
                .position(|n| same_length(n) && n.as_bytes().eq_ignore_ascii_case(name))
        })
}

#[cfg(test)]
mod tests {
    use super::super::ResponseHead;
    use super::*;

    #[test]
    fn conflicting_duplicates_are_found_identical_ones_are_not() {
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", b"a")
            .with_header("lambda-runtime-aws-request-id", b"a")
            .with_header("X-Other", b"1")
            .with_header("x-other", b"2");
        assert_eq!(
            conflicting(&head),
            None,
            "identical, and not a Lambda field"
        );
        let head = head.with_header("LAMBDA-RUNTIME-AWS-REQUEST-ID", b"b");
        assert_eq!(conflicting(&head), Some(REQUEST_ID));
        let head = ResponseHead::new(200)
            .with_header(REQUEST_ID, b"a")
            .with_header(DEADLINE_MS, b"1")
            .with_header(DEADLINE_MS, b"2");
        assert_eq!(conflicting(&head), Some(DEADLINE_MS));
        assert_eq!(conflicting(&ResponseHead::new(200)), None);
    }

    #[test]
    fn next_fields_hold_the_first_value_of_each_lambda_field() {
        let head = ResponseHead::new(200)
            .with_header("Content-Type", b"application/json")
            .with_header("lambda-runtime-trace-id", b"t")
            .with_header("Lambda-Runtime-Aws-Request-Id", b"a")
            .with_header("LAMBDA-RUNTIME-AWS-REQUEST-ID", b"a")
            .with_header("Lambda-Runtime-Deadline", b"not ours")
            .with_header("Lambda-Runtime-Deadline-Ms", b"1")
            .with_header("Lambda-Runtime-Deadline-Ms", b"2")
            .with_header("Lambda-Runtime-Trace-Id", b"u");
        let fields = NextFields::read(&head);
        for name in ON_NEXT {
            assert_eq!(fields.get(name), head.header(name), "{name}");
        }
        assert_eq!(fields.get(TRACE_ID), Some(&b"t"[..]));
        assert_eq!(fields.get(FUNCTION_ERROR_TYPE), None, "not a /next field");
        // Both the deadline and the trace id conflict: the first in ON_NEXT's order is named.
        assert_eq!(fields.conflicting(), Some(DEADLINE_MS));
        assert_eq!(conflicting(&head), Some(DEADLINE_MS));
        let odd = ResponseHead::new(200)
            .with_header("Lambda-Runtime-", b"x")
            .with_header("Lambda-Runtime-Aws-Request-Ïd", b"x")
            .with_header("Lambda", b"x");
        assert_eq!(NextFields::read(&odd).get(REQUEST_ID), None);
    }

    #[test]
    fn names_are_runtime_api_tokens() {
        let all = [
            REQUEST_ID,
            DEADLINE_MS,
            INVOKED_FUNCTION_ARN,
            TRACE_ID,
            CLIENT_CONTEXT,
            COGNITO_IDENTITY,
            TENANT_ID,
            INVOCATION_ID,
            FUNCTION_ERROR_TYPE,
            FUNCTION_RESPONSE_MODE,
            FUNCTION_ERROR_BODY,
        ];
        for (i, name) in all.iter().enumerate() {
            assert!(name.starts_with("Lambda-Runtime-"), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{name}"
            );
            let clash = all[..i].iter().any(|n| n.eq_ignore_ascii_case(name));
            assert!(!clash, "{name} twice");
        }
    }
}
