//! `next`: a `/runtime/invocation/next` response head into an [`Invocation`] and a [`Context`],
//! then into a fresh lifecycle, and the posts that would answer it encoded.
//!
//! Invariants: the request id is accepted exactly when it passes the id rule ([`is_valid_id`],
//! written independently); the context carries the invocation's ids unchanged; the machine runs
//! a handler only for a 200 with a valid id, and for that id; every `/response`, `/error` and
//! streamed `/response` head written for the invocation names it and nothing else, on both
//! endpoint forms.

use std::sync::{Arc, OnceLock};

use lambda_runtime_types::error_type::ErrorType;
use lambda_runtime_types::id::RemoteError;
use lambda_runtime_types::lifecycle::{Action, Invocation, Lifecycle, Options, SetupOutcome};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::{self, ContentType, Request, header, parse_head};
use lambda_runtime_types::{Config, Context};

use crate::check::{self, is_valid_id};
use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "next",
    about: "/next heads into Invocation, Context and a lifecycle; the posts for it encoded",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 4096,
};

/// The `/next` header names and values of the shapes Lambda, the emulator and cargo-lambda send.
pub const DICTIONARY: &[&[u8]] = &[
    b"HTTP/1.1 200 OK\r\n",
    b"\r\n",
    b"Lambda-Runtime-Aws-Request-Id: ",
    b"lambda-runtime-aws-request-id: ",
    b"Lambda-Runtime-Deadline-Ms: ",
    b"Lambda-Runtime-Invoked-Function-Arn: ",
    b"Lambda-Runtime-Trace-Id: ",
    b"Lambda-Runtime-Client-Context: ",
    b"Lambda-Runtime-Cognito-Identity: ",
    b"Lambda-Runtime-Aws-Tenant-Id: ",
    b"Lambda-Runtime-Invocation-Id: ",
    b"Content-Length: ",
    b"8476a536-e9f4-11e8-9739-2dfe598c3fcd",
    b"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
    b"arn:aws:lambda:us-east-1:123456789012:function:custom-runtime",
    b"1542409706888",
    b"18446744073709551616",
    b"../",
    b"%2e%2e",
    b"/",
    b"..",
    b"?x=",
    b"#",
    b" HTTP/1.1\r\nHost: evil\r\n",
    b"{\"custom\":{\"k\":\"v\"}}",
];

fn seeds() -> Vec<Vec<u8>> {
    let heads: [&[u8]; 4] = [
        // Lambda's shape.
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: 8476a536-e9f4-11e8-9739-2dfe598c3fcd\r\nLambda-Runtime-Deadline-Ms: 1542409706888\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-2:123456789012:function:custom-runtime\r\nLambda-Runtime-Trace-Id: Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1\r\nDate: Fri, 16 Nov 2018 22:28:22 GMT\r\nContent-Length: 21\r\n\r\n{\"key1\":\"value1\"}\n   ",
        // Client context, Cognito identity, tenant and invocation id.
        b"HTTP/1.1 200 OK\r\nlambda-runtime-aws-request-id: r-1\r\nlambda-runtime-deadline-ms: 1700000003000\r\nlambda-runtime-client-context: {\"client\":{\"installation_id\":\"i\",\"app_title\":\"shop\"},\"custom\":{\"k\":\"v\"},\"env\":{\"os\":\"x\"}}\r\nlambda-runtime-cognito-identity: {\"cognitoIdentityId\":\"id-1\",\"cognitoIdentityPoolId\":\"pool-1\"}\r\nlambda-runtime-aws-tenant-id: tenant-9\r\nlambda-runtime-invocation-id: nonce-1\r\ncontent-length: 2\r\n\r\n{}",
        // An id that must never reach a path.
        b"HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: ../../init/error\r\nContent-Length: 0\r\n\r\n",
        // Refused.
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    ];
    heads.iter().map(|h| h.to_vec()).collect()
}

fn config() -> Arc<Config> {
    static CONFIG: OnceLock<Arc<Config>> = OnceLock::new();
    CONFIG
        .get_or_init(|| Arc::new(Config::for_endpoint(check::endpoints()[0].clone())))
        .clone()
}

/// Encodes every post for `inv` on both endpoint forms and checks the bytes.
pub fn check_posts(inv: &Invocation) {
    let id = &inv.request_id;
    let nonce = inv.invocation_id.as_ref();
    let error_type = ErrorType::new(ErrorType::HANDLER_ERROR);
    let mut buf = [0u8; 1024];
    for endpoint in check::endpoints() {
        let posts = [
            (
                Request::Response {
                    id,
                    invocation_id: nonce,
                    content_length: 2,
                },
                "response",
            ),
            (
                Request::Error {
                    id,
                    invocation_id: nonce,
                    error_type: &error_type,
                    content_length: 2,
                },
                "error",
            ),
            (
                Request::StreamResponse {
                    id,
                    invocation_id: nonce,
                    content_type: ContentType::OCTET_STREAM,
                },
                "response",
            ),
        ];
        for (request, suffix) in posts {
            let n = request
                .encode(&endpoint, &mut buf)
                .expect("1 KiB holds any post head");
            assert_eq!(n, request.encoded_len(&endpoint));
            check::check_invocation_post(
                &buf[..n],
                &endpoint,
                id.as_str(),
                suffix,
                nonce.map(|n| n.as_str()),
            );
        }
    }
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let mut sig = Sig::new();
    let (head, head_len) = match parse_head(data) {
        Ok(Some(parsed)) => parsed,
        Ok(None) => return sig.add(1).get(),
        Err(e) => return sig.add_str(&format!("{e:?}")).get(),
    };
    let body_len = (data.len() - head_len) as u64;
    let raw_id = head.header(header::REQUEST_ID);
    let parsed = Invocation::from_head(&head);
    match (&parsed, raw_id) {
        (Ok(inv), Some(raw)) => {
            assert!(
                is_valid_id(raw),
                "an invalid request id was accepted: {raw:?}"
            );
            assert_eq!(inv.request_id.as_str().as_bytes(), raw);
            let ctx = Context::from_invocation(inv, &head, config());
            assert_eq!(ctx.request_id, inv.request_id.as_str());
            assert_eq!(
                ctx.invocation_id.as_deref(),
                inv.invocation_id.as_ref().map(|i| i.as_str())
            );
            if let Some(raw_nonce) = head.header(header::INVOCATION_ID).filter(|v| !v.is_empty()) {
                assert_eq!(inv.invocation_id.is_some(), is_valid_id(raw_nonce));
            }
            sig.add(u64::from(ctx.deadline.is_some()))
                .add(u64::from(ctx.xray_trace_id.is_some()))
                .add(u64::from(ctx.client_context.is_some()))
                .add(u64::from(ctx.identity.is_some()))
                .add(u64::from(ctx.tenant_id.is_some()))
                .add(u64::from(ctx.invocation_id.is_some()));
            check_posts(inv);
        }
        (Ok(_), None) => panic!("an invocation without a request id header"),
        (Err(RemoteError::MissingRequestId), raw) => assert!(raw.is_none()),
        (Err(e), raw) => {
            let raw = raw.expect("an id error names a header that is there");
            // Several request-id fields that differ may be refused as ambiguous; otherwise
            // only an id the rule refuses is.
            let ids: Vec<&[u8]> = head
                .headers()
                .filter(|(n, _)| n.eq_ignore_ascii_case(header::REQUEST_ID))
                .map(|(_, v)| v)
                .collect();
            let ambiguous = ids.iter().any(|v| *v != raw);
            if !ambiguous {
                assert_eq!(*e, RemoteError::InvalidRequestId, "refused for {raw:?}");
                assert!(
                    !is_valid_id(raw),
                    "a valid request id was refused ({e:?}): {raw:?}"
                );
            }
            sig.add_str(&format!("{e:?}")).add(u64::from(ambiguous));
        }
    }

    // The same head as the answer to a fresh machine's first /next.
    let mut m: Lifecycle = Lifecycle::new(Options::new());
    let now = EpochMillis::from_millis(1_700_000_000_000);
    assert_eq!(m.poll(), Action::RunSetup);
    m.handle_setup(now, SetupOutcome::Done)
        .expect("setup is legal in Init");
    assert_eq!(m.poll(), Action::FetchNext { lane: 0 });
    assert!(matches!(m.poll(), Action::Wait { .. }));
    m.handle_response(now, 0, &head, body_len)
        .expect("a response is legal with /next in flight");
    let (mut ran, mut posted) = (false, false);
    for _ in 0..16 {
        match m.poll() {
            Action::RunHandler { invocation, .. } => {
                let inv = parsed.as_ref().expect("a handler run for an invalid id");
                assert_eq!(head.status, 200, "a handler run for status {}", head.status);
                assert_eq!(&invocation.request_id, &inv.request_id);
                assert!(body_len as usize <= lambda_runtime_types::lifecycle::MAX_PAYLOAD_BYTES);
                ran = true;
            }
            Action::PostError {
                invocation, cause, ..
            } => {
                let inv = parsed.as_ref().expect("an error posted for an invalid id");
                assert_eq!(&invocation.request_id, &inv.request_id);
                sig.add_str(&format!("{cause:?}"));
                posted = true;
            }
            Action::Wait { .. } | Action::Exit(_) => break,
            Action::FetchNext { .. } => {}
            other => panic!("unexpected answer to a first /next: {other:?}"),
        }
    }
    if head.status == 200 && parsed.is_ok() && (body_len as usize) <= wire::MAX_HEAD_BYTES {
        assert!(ran || posted, "a valid event was neither run nor reported");
    }
    sig.add(u64::from(ran)).add(u64::from(head.status)).get()
}
