//! The event's `requestContext`: kept whole as JSON text, with typed accessors for the common
//! fields.
//!
//! The object is not turned into a `serde_json::Value` tree: for a typical HTTP API event that
//! tree (a string and a map node for every key) cost more instructions to build and drop than
//! the rest of the request together. The text is copied once; one more pass over it reads the
//! fields the accessors return and the keys that tell the origins apart, skipping the rest.

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

use serde::de::{self, DeserializeOwned, IgnoredAny, MapAccess};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::raw::{Lenient, Shape};

/// The event's `requestContext` object as it arrived (none for VPC Lattice v1), with
/// accessors for the fields most functions read. Each accessor looks where the event's origin
/// puts the field and returns `None` where it has none (or it is not a string).
///
/// The whole object is kept as JSON text: [`json`](Self::json) is that text,
/// [`deserialize`](Self::deserialize) reads it into a type of yours (such as an
/// `aws_lambda_events` request context), [`to_map`](Self::to_map) into a JSON map.
#[derive(Clone, Default)]
pub struct RequestContext {
    json: Option<Box<RawValue>>,
    pub(super) known: Known,
}

/// What one pass over the object found: the accessors' fields and the keys that tell the
/// origins apart.
#[derive(Clone, Debug, Default)]
pub(super) struct Known {
    pub(super) request_id: Option<String>,
    pub(super) stage: Option<String>,
    pub(super) domain_name: Option<String>,
    pub(super) account_id: Option<String>,
    pub(super) api_id: Option<String>,
    pub(super) route_key: Option<String>,
    pub(super) event_type: Option<String>,
    pub(super) connection_id: Option<String>,
    pub(super) target_group_arn: Option<String>,
    /// `httpMethod` (REST, HTTP API v1, WebSocket).
    pub(super) http_method: Option<String>,
    /// `http` (HTTP API v2, function URL).
    pub(super) http: Option<Inner>,
    pub(super) identity: Option<Inner>,
    pub(super) elb: Option<Inner>,
    pub(super) authorizer: Option<Box<RawValue>>,
    /// Keys present (with any value, `null` too), [`Known::ELB`] and the others.
    pub(super) keys: u8,
}

impl Known {
    /// `elb`: ALB.
    pub(super) const ELB: u8 = 1;
    /// `serviceNetworkArn`: VPC Lattice v2.
    pub(super) const SERVICE_NETWORK: u8 = 2;
    /// `http`: HTTP API v2 or function URL.
    pub(super) const HTTP: u8 = 4;
    /// `eventType` or `connectionId`: WebSocket.
    pub(super) const WEBSOCKET: u8 = 8;
    /// `httpMethod`: REST or HTTP API v1.
    pub(super) const HTTP_METHOD: u8 = 16;

    /// Whether the object has a key of `flag`.
    pub(super) fn has(&self, flag: u8) -> bool {
        self.keys & flag != 0
    }
}

/// The fields read from `http`, `identity` and `elb`.
#[derive(Clone, Debug, Default)]
pub(super) struct Inner {
    pub(super) method: Option<String>,
    pub(super) path: Option<String>,
    pub(super) source_ip: Option<String>,
    pub(super) target_group_arn: Option<String>,
}

/// A string, or `None` for any other value.
fn text<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Option<String>, A::Error> {
    Ok(map.next_value::<Lenient<String>>()?.get().ok().flatten())
}

/// An object, or `None` for any other value.
fn object<'de, T: Shape, A: MapAccess<'de>>(map: &mut A) -> Result<Option<T>, A::Error> {
    Ok(map.next_value::<Lenient<T>>()?.get().ok().flatten())
}

impl Shape for Known {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut k = Known::default();
        while let Some(key) = map.next_key::<Key<'_>>()? {
            match key.0.as_ref() {
                "requestId" => k.request_id = text(&mut map)?,
                "stage" => k.stage = text(&mut map)?,
                "domainName" => k.domain_name = text(&mut map)?,
                "accountId" => k.account_id = text(&mut map)?,
                "apiId" => k.api_id = text(&mut map)?,
                "routeKey" => k.route_key = text(&mut map)?,
                "targetGroupArn" => k.target_group_arn = text(&mut map)?,
                "eventType" => {
                    k.keys |= Known::WEBSOCKET;
                    k.event_type = text(&mut map)?;
                }
                "connectionId" => {
                    k.keys |= Known::WEBSOCKET;
                    k.connection_id = text(&mut map)?;
                }
                "httpMethod" => {
                    k.keys |= Known::HTTP_METHOD;
                    k.http_method = text(&mut map)?;
                }
                "http" => {
                    k.keys |= Known::HTTP;
                    k.http = object(&mut map)?;
                }
                "identity" => k.identity = object(&mut map)?,
                "elb" => {
                    k.keys |= Known::ELB;
                    k.elb = object(&mut map)?;
                }
                "serviceNetworkArn" => {
                    k.keys |= Known::SERVICE_NETWORK;
                    map.next_value::<IgnoredAny>()?;
                }
                "authorizer" => k.authorizer = map.next_value::<Option<Box<RawValue>>>()?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(k))
    }
}

impl Shape for Inner {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut inner = Inner::default();
        while let Some(key) = map.next_key::<Key<'_>>()? {
            match key.0.as_ref() {
                "method" => inner.method = text(&mut map)?,
                "path" => inner.path = text(&mut map)?,
                "sourceIp" => inner.source_ip = text(&mut map)?,
                "targetGroupArn" => inner.target_group_arn = text(&mut map)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(inner))
    }
}

/// A key, borrowed from the text unless it has escapes.
struct Key<'a>(alloc::borrow::Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> de::Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(alloc::borrow::Cow::Borrowed(s)))
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'de>, E> {
                Ok(Key(alloc::borrow::Cow::Owned(String::from(s))))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl RequestContext {
    /// The object `json` holds, read once for the fields; `None` if `json` is not an object.
    pub(super) fn read(json: Box<RawValue>) -> Result<Option<Self>, serde_json::Error> {
        match serde_json::from_str::<Lenient<Known>>(json.get())? {
            Lenient::Value(known) => Ok(Some(Self {
                json: Some(json),
                known,
            })),
            _ => Ok(None),
        }
    }

    /// The whole object as JSON text, as the event had it (`{}` when the event has none).
    pub fn json(&self) -> &str {
        self.json.as_deref().map_or("{}", RawValue::get)
    }

    /// The whole object read into `T`: any `Deserialize` type, such as the request context
    /// type of `aws_lambda_events` for the origin.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.json())
    }

    /// The whole object as a JSON map (built on each call).
    pub fn to_map(&self) -> Map<String, Value> {
        // The text was read as an object once already; only an allocation failure could fail.
        self.deserialize().unwrap_or_default()
    }

    /// A string at `path` (keys from the object down), e.g. `["identity", "caller"]`, read from
    /// the text on each call; the accessors below are read once.
    pub fn str_at(&self, path: &[&str]) -> Option<String> {
        let mut value = Value::Object(self.to_map());
        for key in path {
            value = match value {
                Value::Object(mut obj) => obj.remove(*key)?,
                _ => return None,
            };
        }
        match value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// `requestId` (API Gateway, function URL).
    pub fn request_id(&self) -> Option<&str> {
        self.known.request_id.as_deref()
    }

    /// `stage` (API Gateway; `$default` for an HTTP API's default stage and a function URL).
    pub fn stage(&self) -> Option<&str> {
        self.known.stage.as_deref()
    }

    /// `domainName` (API Gateway, function URL).
    pub fn domain_name(&self) -> Option<&str> {
        self.known.domain_name.as_deref()
    }

    /// The client's address: `http.sourceIp` (HTTP API, function URL) or `identity.sourceIp`
    /// (REST, WebSocket). ALB and VPC Lattice put it in the `x-forwarded-for` header instead.
    pub fn source_ip(&self) -> Option<&str> {
        fn ip(inner: &Option<Inner>) -> Option<&str> {
            inner.as_ref()?.source_ip.as_deref()
        }
        ip(&self.known.http).or_else(|| ip(&self.known.identity))
    }

    /// `authorizer` as JSON text (claims, scopes, a Lambda authorizer's context, `iam`); read
    /// it with `serde_json::from_str(authorizer.get())`.
    pub fn authorizer(&self) -> Option<&RawValue> {
        self.known.authorizer.as_deref()
    }

    /// `accountId` (API Gateway, function URL).
    pub fn account_id(&self) -> Option<&str> {
        self.known.account_id.as_deref()
    }

    /// `apiId` (API Gateway, function URL).
    pub fn api_id(&self) -> Option<&str> {
        self.known.api_id.as_deref()
    }

    /// `routeKey`: the matched route of an HTTP API (`"GET /pets"`, `$default`) or a
    /// WebSocket API (`$connect`, `$disconnect`, `$default`, a custom route).
    pub fn route_key(&self) -> Option<&str> {
        self.known.route_key.as_deref()
    }

    /// `eventType` of a WebSocket event: `CONNECT`, `MESSAGE` or `DISCONNECT`.
    pub fn event_type(&self) -> Option<&str> {
        self.known.event_type.as_deref()
    }

    /// `connectionId` of a WebSocket event: where to post messages back.
    pub fn connection_id(&self) -> Option<&str> {
        self.known.connection_id.as_deref()
    }

    /// The target group: `elb.targetGroupArn` (ALB) or `targetGroupArn` (VPC Lattice).
    pub fn target_group_arn(&self) -> Option<&str> {
        let elb = self.known.elb.as_ref();
        elb.and_then(|e| e.target_group_arn.as_deref())
            .or(self.known.target_group_arn.as_deref())
    }
}

impl PartialEq for RequestContext {
    fn eq(&self, other: &Self) -> bool {
        self.json() == other.json()
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RequestContext").field(&self.json()).finish()
    }
}
