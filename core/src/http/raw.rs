//! The one parse of an HTTP event: every key any origin uses, read leniently.
//!
//! A key of the wrong type is not an error here but [`Lenient::Wrong`]: only the origin knows
//! whether it matters, and it names the key in its error. So no serde message (which may quote
//! the value) reaches the user; only syntax errors do, and they quote nothing.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;

use alloc::boxed::Box;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::context::RequestContext;
use super::error::{InvalidHttpEvent, Problem};

/// A key's value, whatever it turned out to be.
#[derive(Debug, Default)]
pub(super) enum Lenient<T> {
    /// The key is not there.
    #[default]
    Absent,
    /// `null`.
    Null,
    /// A value of the expected type.
    Value(T),
    /// A value of another type.
    Wrong,
}

impl<T> Lenient<T> {
    /// The value; `None` if absent or null; `Err(())` if of the wrong type.
    pub(super) fn get(self) -> Result<Option<T>, ()> {
        match self {
            Self::Absent | Self::Null => Ok(None),
            Self::Value(v) => Ok(Some(v)),
            Self::Wrong => Err(()),
        }
    }

    /// Whether the key holds something (not absent, not null).
    pub(super) fn is_set(&self) -> bool {
        matches!(self, Self::Value(_) | Self::Wrong)
    }
}

/// Values of a header or query map: a string, a list of strings, or `null`.
#[derive(Debug)]
pub(super) enum Values {
    One(String),
    Many(Vec<String>),
    None,
}

/// An object's entries in order.
pub(super) type Pairs = Vec<(String, Values)>;

/// Every key any origin uses.
#[derive(Debug, Default)]
pub(super) struct RawEvent {
    pub(super) version: Lenient<String>,
    pub(super) resource: Lenient<String>,
    pub(super) path: Lenient<String>,
    pub(super) http_method: Lenient<String>,
    pub(super) method: Lenient<String>,
    pub(super) raw_path: Lenient<String>,
    pub(super) raw_path_v1: Lenient<String>,
    pub(super) raw_query_string: Lenient<String>,
    pub(super) route_key: Lenient<String>,
    pub(super) cookies: Lenient<Vec<String>>,
    pub(super) headers: Lenient<Pairs>,
    pub(super) multi_value_headers: Lenient<Pairs>,
    pub(super) query: Lenient<Pairs>,
    pub(super) multi_value_query: Lenient<Pairs>,
    pub(super) query_v1: Lenient<Pairs>,
    pub(super) path_parameters: Lenient<Pairs>,
    pub(super) stage_variables: Lenient<Pairs>,
    pub(super) request_context: Lenient<RequestContext>,
    pub(super) body: Lenient<String>,
    pub(super) is_base64_encoded: Lenient<bool>,
    pub(super) is_base64_encoded_v1: Lenient<bool>,
    /// `methodArn` or `routeArn`: an authorizer's event.
    pub(super) authorizer: bool,
}

/// The keys read; anything else is skipped.
enum Field {
    Version,
    Resource,
    Path,
    HttpMethod,
    Method,
    RawPath,
    RawPathV1,
    RawQueryString,
    RouteKey,
    Cookies,
    Headers,
    MultiValueHeaders,
    Query,
    MultiValueQuery,
    QueryV1,
    PathParameters,
    StageVariables,
    RequestContext,
    Body,
    IsBase64Encoded,
    IsBase64EncodedV1,
    AuthorizerArn,
    Other,
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Ok(match key {
                    "version" => Field::Version,
                    "resource" => Field::Resource,
                    "path" => Field::Path,
                    "httpMethod" => Field::HttpMethod,
                    "method" => Field::Method,
                    "rawPath" => Field::RawPath,
                    "raw_path" => Field::RawPathV1,
                    "rawQueryString" => Field::RawQueryString,
                    "routeKey" => Field::RouteKey,
                    "cookies" => Field::Cookies,
                    "headers" => Field::Headers,
                    "multiValueHeaders" => Field::MultiValueHeaders,
                    "queryStringParameters" => Field::Query,
                    "multiValueQueryStringParameters" => Field::MultiValueQuery,
                    "query_string_parameters" => Field::QueryV1,
                    "pathParameters" => Field::PathParameters,
                    "stageVariables" => Field::StageVariables,
                    "requestContext" => Field::RequestContext,
                    "body" => Field::Body,
                    "isBase64Encoded" => Field::IsBase64Encoded,
                    "is_base64_encoded" => Field::IsBase64EncodedV1,
                    "methodArn" | "routeArn" => Field::AuthorizerArn,
                    _ => Field::Other,
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

impl<'de> Deserialize<'de> for RawEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EventVisitor)
    }
}

struct EventVisitor;

fn not_an_object<E: de::Error>() -> E {
    E::custom(InvalidHttpEvent::new(None, Problem::NotAnObject))
}

impl<'de> Visitor<'de> for EventVisitor {
    type Value = RawEvent;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an HTTP event (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent, A::Error> {
        let mut ev = RawEvent::default();
        while let Some(key) = map.next_key::<Field>()? {
            match key {
                Field::Version => ev.version = map.next_value()?,
                Field::Resource => ev.resource = map.next_value()?,
                Field::Path => ev.path = map.next_value()?,
                Field::HttpMethod => ev.http_method = map.next_value()?,
                Field::Method => ev.method = map.next_value()?,
                Field::RawPath => ev.raw_path = map.next_value()?,
                Field::RawPathV1 => ev.raw_path_v1 = map.next_value()?,
                Field::RawQueryString => ev.raw_query_string = map.next_value()?,
                Field::RouteKey => ev.route_key = map.next_value()?,
                Field::Cookies => ev.cookies = map.next_value()?,
                Field::Headers => ev.headers = map.next_value()?,
                Field::MultiValueHeaders => ev.multi_value_headers = map.next_value()?,
                Field::Query => ev.query = map.next_value()?,
                Field::MultiValueQuery => ev.multi_value_query = map.next_value()?,
                Field::QueryV1 => ev.query_v1 = map.next_value()?,
                Field::PathParameters => ev.path_parameters = map.next_value()?,
                Field::StageVariables => ev.stage_variables = map.next_value()?,
                Field::RequestContext => {
                    let json = map.next_value::<Box<RawValue>>()?;
                    let null = json.get() == "null";
                    ev.request_context = match RequestContext::read(json) {
                        Ok(Some(ctx)) => Lenient::Value(ctx),
                        Ok(None) if null => Lenient::Null,
                        Ok(None) => Lenient::Wrong,
                        Err(e) => return Err(de::Error::custom(e)),
                    };
                }
                Field::Body => ev.body = map.next_value()?,
                Field::IsBase64Encoded => ev.is_base64_encoded = map.next_value()?,
                Field::IsBase64EncodedV1 => ev.is_base64_encoded_v1 = map.next_value()?,
                Field::AuthorizerArn => {
                    map.next_value::<IgnoredAny>()?;
                    ev.authorizer = true;
                }
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(ev)
    }

    // Anything but an object: an error that does not quote the value (serde's default would).
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<RawEvent, E> {
        Err(not_an_object())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawEvent, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Err(not_an_object())
    }
}

/// A type a [`Lenient`] key may hold; each reader returns `None` for a value of another type
/// (after consuming it).
pub(super) trait Shape: Sized {
    fn from_string(_: String) -> Option<Self> {
        None
    }
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl Shape for String {
    fn from_string(s: String) -> Option<Self> {
        Some(s)
    }
}

impl Shape for bool {
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
}

impl Shape for Vec<String> {
    fn from_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut ok = true;
        while let Some(item) = seq.next_element::<Lenient<String>>()? {
            match item {
                Lenient::Value(s) => out.push(s),
                Lenient::Absent | Lenient::Null => {}
                Lenient::Wrong => ok = false,
            }
        }
        Ok(ok.then_some(out))
    }
}

impl Shape for Values {
    fn from_string(s: String) -> Option<Self> {
        Some(Values::One(s))
    }
    fn from_seq<'de, A: SeqAccess<'de>>(seq: A) -> Result<Option<Self>, A::Error> {
        Ok(<Vec<String>>::from_seq(seq)?.map(Values::Many))
    }
}

impl Shape for Pairs {
    fn from_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
        let mut ok = true;
        while let Some(name) = map.next_key::<String>()? {
            match map.next_value::<Lenient<Values>>()? {
                Lenient::Value(v) => out.push((name, v)),
                Lenient::Absent | Lenient::Null => out.push((name, Values::None)),
                Lenient::Wrong => ok = false,
            }
        }
        Ok(ok.then_some(out))
    }
}

impl<'de, T: Shape> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LenientVisitor(PhantomData))
    }
}

struct LenientVisitor<T>(PhantomData<T>);

fn from<T>(v: Option<T>) -> Lenient<T> {
    v.map_or(Lenient::Wrong, Lenient::Value)
}

impl<'de, T: Shape> Visitor<'de> for LenientVisitor<T> {
    type Value = Lenient<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(from(T::from_bool(b)))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        Ok(from(T::from_string(String::from(s))))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(from(T::from_string(s)))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
        Ok(Lenient::Wrong)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Null)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Lenient::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(from(T::from_seq(seq)?))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(from(T::from_map(map)?))
    }
}
