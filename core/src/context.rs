//! What a handler knows about its invocation.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::lifecycle::Invocation;
use crate::time::EpochMillis;
use crate::wire::header::NextFields;
use crate::wire::{ResponseHead, header};

/// The invocation's metadata, from the `/next` response headers, and the function's config.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Context {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`, when present and a number.
    pub deadline: Option<EpochMillis>,
    /// When the runtime reports this invocation as timed out, as the lifecycle decided: the
    /// deadline minus [`Config::timeout_margin_ms`]. `None` when no timeout is armed: no
    /// deadline, or an implausible one (already past, or more than an hour ahead, as local
    /// emulators send). Work that must stop in time (a batch, say) stops before this.
    pub timeout_at: Option<EpochMillis>,
    /// `Lambda-Runtime-Invoked-Function-Arn`: the function, version or alias that was invoked.
    pub invoked_function_arn: String,
    /// `Lambda-Runtime-Trace-Id`: the X-Ray trace header (`Root=…;Parent=…;Sampled=…`).
    pub xray_trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`: the mobile SDK's client context.
    pub client_context: Option<ClientContext>,
    /// `Lambda-Runtime-Cognito-Identity`: the Cognito identity of a mobile SDK caller.
    pub identity: Option<CognitoIdentity>,
    /// `Lambda-Runtime-Aws-Tenant-Id`, for tenant-isolated functions.
    pub tenant_id: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`: the per-invoke nonce the runtime echoes.
    pub invocation_id: Option<String>,
    /// The function's configuration.
    #[serde(skip)]
    pub config: Arc<Config>,
    /// The invocation's response stream ([`Context::stream`]).
    #[cfg(feature = "std")]
    #[serde(skip)]
    pub(crate) stream: crate::stream::ResponseStream,
}

impl Context {
    /// A context for a unit test of a handler: request id `request_id`, the function
    /// `test-function` in `us-east-1` ([`Config::for_test`]), no deadline. Set any other field
    /// before handing it to the handler:
    ///
    /// ```
    /// use lambda_runtime_types::{Context, time::EpochMillis};
    ///
    /// let mut ctx = Context::for_test("req-1");
    /// ctx.deadline = Some(EpochMillis::from_millis(1_796_164_331_053));
    /// ctx.tenant_id = Some("tenant-a".into());
    /// assert_eq!(ctx.config.function_name, "test-function");
    /// ```
    pub fn for_test(request_id: impl Into<String>) -> Self {
        Self::new(request_id, Arc::new(Config::for_test()))
    }

    /// A context with only a request id and `config`.
    pub fn new(request_id: impl Into<String>, config: Arc<Config>) -> Self {
        Self {
            request_id: request_id.into(),
            deadline: None,
            timeout_at: None,
            invoked_function_arn: String::new(),
            xray_trace_id: None,
            client_context: None,
            identity: None,
            tenant_id: None,
            invocation_id: None,
            config,
            #[cfg(feature = "std")]
            stream: crate::stream::ResponseStream::default(),
        }
    }

    /// The full context of `invocation` (already validated by the lifecycle) and the optional
    /// headers of its `/next` response. Malformed optional headers are dropped and logged.
    pub fn from_invocation(
        invocation: &Invocation,
        head: &ResponseHead<'_>,
        config: Arc<Config>,
    ) -> Self {
        let fields = NextFields::read(head);
        #[cfg(feature = "std")]
        let context = Self::from_fields(invocation, &fields, config, Default::default());
        #[cfg(not(feature = "std"))]
        let context = Self::from_fields(invocation, &fields, config);
        context
    }

    /// [`from_invocation`](Self::from_invocation) with the head's `Lambda-Runtime-*` fields and
    /// the invocation's response stream.
    pub(crate) fn from_fields(
        invocation: &Invocation,
        fields: &NextFields<'_>,
        config: Arc<Config>,
        #[cfg(feature = "std")] stream: crate::stream::ResponseStream,
    ) -> Self {
        let text = |name: &'static str| {
            fields
                .get(name)
                .filter(|v| !v.is_empty())
                .and_then(|v| core::str::from_utf8(v).ok())
                .map(ToString::to_string)
        };
        let id = invocation.request_id.as_str();
        Self {
            request_id: id.to_string(),
            deadline: invocation.deadline.map(|d| d.at()),
            timeout_at: None,
            invoked_function_arn: text(header::INVOKED_FUNCTION_ARN).unwrap_or_default(),
            xray_trace_id: invocation.trace_id.as_ref().map(|t| t.as_str().to_string()),
            client_context: json_header(fields, header::CLIENT_CONTEXT, id),
            identity: json_header(fields, header::COGNITO_IDENTITY, id),
            tenant_id: text(header::TENANT_ID),
            invocation_id: invocation
                .invocation_id
                .as_ref()
                .map(|i| i.as_str().to_string()),
            config,
            #[cfg(feature = "std")]
            stream,
        }
    }

    /// The invocation's response stream: sending a chunk through it makes the response a
    /// stream (see [`crate::stream`]). In a context made for a test it keeps what it receives
    /// ([`ResponseStream::received`](crate::stream::ResponseStream::received)).
    #[cfg(feature = "std")]
    pub fn stream(&self) -> &crate::stream::ResponseStream {
        &self.stream
    }
}

impl Default for Context {
    /// [`Context::for_test`] with the request id `test-request`.
    fn default() -> Self {
        Self::for_test("test-request")
    }
}

/// A JSON header, or `None` (logged) if it is absent, empty or malformed.
fn json_header<T: serde::de::DeserializeOwned>(
    fields: &NextFields<'_>,
    name: &'static str,
    id: &str,
) -> Option<T> {
    let value = fields.get(name).filter(|v| !v.is_empty())?;
    serde_json::from_slice(value)
        .map_err(|e| log::warn!(requestId = id; "ignoring malformed {name}: {e}"))
        .ok()
}

/// The client context a mobile SDK caller sent (`Lambda-Runtime-Client-Context`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientContext {
    /// The calling application.
    #[serde(default)]
    pub client: Option<ClientApplication>,
    /// Custom values set by the caller.
    #[serde(default)]
    pub custom: BTreeMap<String, String>,
    /// Environment values of the caller's SDK.
    #[serde(default, rename = "env")]
    pub environment: BTreeMap<String, String>,
}

/// The application of a mobile SDK caller.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ClientApplication {
    /// Installation id.
    #[serde(default)]
    pub installation_id: String,
    /// Application title.
    #[serde(default)]
    pub app_title: String,
    /// Version name.
    #[serde(default)]
    pub app_version_name: String,
    /// Version code.
    #[serde(default)]
    pub app_version_code: String,
    /// Package name.
    #[serde(default)]
    pub app_package_name: String,
}

/// The Cognito identity of a mobile SDK caller (`Lambda-Runtime-Cognito-Identity`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CognitoIdentity {
    /// `cognitoIdentityId`.
    #[serde(rename = "cognitoIdentityId", default)]
    pub identity_id: String,
    /// `cognitoIdentityPoolId`.
    #[serde(rename = "cognitoIdentityPoolId", default)]
    pub identity_pool_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Endpoint;

    #[test]
    fn full_context_from_headers() {
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", b"r-1")
            .with_header("Lambda-Runtime-Deadline-Ms", b"1700000003000")
            .with_header(
                "Lambda-Runtime-Invoked-Function-Arn",
                b"arn:aws:lambda:eu-central-1:1:function:f",
            )
            .with_header("Lambda-Runtime-Trace-Id", b"Root=1-a;Parent=b;Sampled=0")
            .with_header(
                "Lambda-Runtime-Client-Context",
                br#"{"client":{"app_title":"shop"},"custom":{"k":"v"},"env":{"os":"x"}}"#,
            )
            .with_header(
                "Lambda-Runtime-Cognito-Identity",
                br#"{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}"#,
            )
            .with_header("Lambda-Runtime-Aws-Tenant-Id", b"tenant-9")
            .with_header("Lambda-Runtime-Invocation-Id", b"nonce");
        let inv = Invocation::from_head(&head).unwrap();
        let config = Arc::new(Config::for_endpoint(
            Endpoint::parse("127.0.0.1:9001").unwrap(),
        ));
        let ctx = Context::from_invocation(&inv, &head, config);
        assert_eq!(ctx.request_id, "r-1");
        assert_eq!(ctx.deadline, Some(EpochMillis(1_700_000_003_000)));
        assert_eq!(
            ctx.invoked_function_arn,
            "arn:aws:lambda:eu-central-1:1:function:f"
        );
        assert_eq!(
            ctx.xray_trace_id.as_deref(),
            Some("Root=1-a;Parent=b;Sampled=0")
        );
        let cc = ctx.client_context.unwrap();
        assert_eq!(cc.client.unwrap().app_title, "shop");
        assert_eq!(cc.custom["k"], "v");
        assert_eq!(cc.environment["os"], "x");
        assert_eq!(ctx.identity.unwrap().identity_pool_id, "pool-1");
        assert_eq!(ctx.tenant_id.as_deref(), Some("tenant-9"));
        assert_eq!(ctx.invocation_id.as_deref(), Some("nonce"));
    }

    #[test]
    fn empty_or_malformed_optional_headers_are_absent() {
        let head = ResponseHead::new(200)
            .with_header("Lambda-Runtime-Aws-Request-Id", b"r-1")
            .with_header("Lambda-Runtime-Client-Context", b"")
            .with_header("Lambda-Runtime-Cognito-Identity", b"{not json")
            .with_header("Lambda-Runtime-Aws-Tenant-Id", b"");
        let inv = Invocation::from_head(&head).unwrap();
        let config = Arc::new(Config::for_endpoint(
            Endpoint::parse("127.0.0.1:9001").unwrap(),
        ));
        let ctx = Context::from_invocation(&inv, &head, config);
        assert_eq!(
            (ctx.client_context, ctx.identity, ctx.tenant_id),
            (None, None, None)
        );
    }
}
