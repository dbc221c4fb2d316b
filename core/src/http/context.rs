//! The event's `requestContext`: kept whole, with typed accessors for the common fields.

use alloc::string::String;

use serde_json::{Map, Value};

/// The event's `requestContext` object as it arrived (empty for VPC Lattice v1, which has
/// none), with accessors for the fields most functions read. Each accessor looks where the
/// event's origin puts the field and returns `None` where it has none (or it is not a string).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestContext {
    raw: Map<String, Value>,
}

impl RequestContext {
    pub(super) fn new(raw: Map<String, Value>) -> Self {
        Self { raw }
    }

    /// The whole object, as JSON.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The whole object, owned.
    pub fn into_raw(self) -> Map<String, Value> {
        self.raw
    }

    /// A string at `path` (keys from the object down), e.g. `["identity", "sourceIp"]`.
    pub fn str_at(&self, path: &[&str]) -> Option<&str> {
        let (last, parents) = path.split_last()?;
        let mut obj = &self.raw;
        for key in parents {
            obj = obj.get(*key)?.as_object()?;
        }
        obj.get(*last)?.as_str()
    }

    /// `requestId` (API Gateway, function URL).
    pub fn request_id(&self) -> Option<&str> {
        self.str_at(&["requestId"])
    }

    /// `stage` (API Gateway; `$default` for an HTTP API's default stage and a function URL).
    pub fn stage(&self) -> Option<&str> {
        self.str_at(&["stage"])
    }

    /// `domainName` (API Gateway, function URL).
    pub fn domain_name(&self) -> Option<&str> {
        self.str_at(&["domainName"])
    }

    /// The client's address: `http.sourceIp` (HTTP API, function URL) or `identity.sourceIp`
    /// (REST, WebSocket). ALB and VPC Lattice put it in the `x-forwarded-for` header instead.
    pub fn source_ip(&self) -> Option<&str> {
        self.str_at(&["http", "sourceIp"])
            .or_else(|| self.str_at(&["identity", "sourceIp"]))
    }

    /// `authorizer`, as JSON: claims, scopes, a Lambda authorizer's context, `iam`.
    pub fn authorizer(&self) -> Option<&Value> {
        self.raw.get("authorizer").filter(|v| !v.is_null())
    }

    /// `accountId` (API Gateway, function URL).
    pub fn account_id(&self) -> Option<&str> {
        self.str_at(&["accountId"])
    }

    /// `apiId` (API Gateway, function URL).
    pub fn api_id(&self) -> Option<&str> {
        self.str_at(&["apiId"])
    }

    /// `routeKey`: the matched route of an HTTP API (`"GET /pets"`, `$default`) or a
    /// WebSocket API (`$connect`, `$disconnect`, `$default`, a custom route).
    pub fn route_key(&self) -> Option<&str> {
        self.str_at(&["routeKey"])
    }

    /// `eventType` of a WebSocket event: `CONNECT`, `MESSAGE` or `DISCONNECT`.
    pub fn event_type(&self) -> Option<&str> {
        self.str_at(&["eventType"])
    }

    /// `connectionId` of a WebSocket event: where to post messages back.
    pub fn connection_id(&self) -> Option<&str> {
        self.str_at(&["connectionId"])
    }

    /// The target group: `elb.targetGroupArn` (ALB) or `targetGroupArn` (VPC Lattice).
    pub fn target_group_arn(&self) -> Option<&str> {
        self.str_at(&["elb", "targetGroupArn"])
            .or_else(|| self.str_at(&["targetGroupArn"]))
    }
}
