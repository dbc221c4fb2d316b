//! `context-json`: the JSON headers of a `/next` response, `Lambda-Runtime-Client-Context` and
//! `Lambda-Runtime-Cognito-Identity`, into a [`Context`](lambda_runtime_types::Context).
//!
//! The input is the header value, given to both headers. Invariants: no panic; a header is kept
//! exactly when it deserialises on its own (serde_json's recursion limit bounds nesting), and
//! kept as it deserialised; an empty value is absent.

use lambda_runtime_types::context::{ClientContext, CognitoIdentity};
use lambda_runtime_types::lifecycle::Invocation;
use lambda_runtime_types::wire::{ResponseHead, header};

use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "context-json",
    about: "Lambda-Runtime-Client-Context and -Cognito-Identity JSON into Context",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 2048,
};

/// JSON tokens and the keys of both documents.
pub const DICTIONARY: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"true",
    b"1e999",
    b"-0",
    b"\\u0000",
    b"\\ud800",
    b"\"client\":",
    b"\"custom\":",
    b"\"env\":",
    b"\"installation_id\":",
    b"\"app_title\":",
    b"\"app_version_name\":",
    b"\"app_version_code\":",
    b"\"app_package_name\":",
    b"\"cognitoIdentityId\":",
    b"\"cognitoIdentityPoolId\":",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
    b"{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":{\"a\":",
];

fn seeds() -> Vec<Vec<u8>> {
    [
        &br#"{"client":{"installation_id":"i-1","app_title":"shop","app_version_name":"1.0","app_version_code":"7","app_package_name":"com.example.shop"},"custom":{"k":"v"},"env":{"platform":"Android","make":"x","model":"y","locale":"en_US"}}"#[..],
        br#"{"cognitoIdentityId":"us-east-1:0f0e0d0c-0b0a-0908-0706-050403020100","cognitoIdentityPoolId":"us-east-1:pool"}"#,
        br#"{"custom":{},"env":{},"client":null}"#,
        br#"{"cognitoIdentityId":1}"#,
        b"",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect()
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let head = ResponseHead::new(200)
        .with_header(header::REQUEST_ID, b"r-1")
        .with_header(header::CLIENT_CONTEXT, data)
        .with_header(header::COGNITO_IDENTITY, data);
    let inv = Invocation::from_head(&head).expect("a valid request id");
    let ctx = lambda_runtime_types::Context::from_invocation(
        &inv,
        &head,
        std::sync::Arc::new(lambda_runtime_types::Config::for_test()),
    );
    let (client, identity) = if data.is_empty() {
        (None, None)
    } else {
        (
            serde_json::from_slice::<ClientContext>(data).ok(),
            serde_json::from_slice::<CognitoIdentity>(data).ok(),
        )
    };
    let mut sig = Sig::new();
    sig.add(u64::from(client.is_some()))
        .add(u64::from(identity.is_some()));
    if let Some(c) = &client {
        sig.add(u64::from(c.client.is_some()))
            .add(c.custom.len().min(3) as u64)
            .add(c.environment.len().min(3) as u64);
    }
    assert_eq!(ctx.client_context, client, "client context");
    assert_eq!(ctx.identity, identity, "cognito identity");
    sig.get()
}
