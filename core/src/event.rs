//! Turning event payloads into the handler's `Event` type.

use serde::Deserialize as _;
use serde::de::{DeserializeOwned, Deserializer, IgnoredAny, Visitor};

/// Deserialises an event payload into `T`.
///
/// Like `serde_json::from_slice`, except that a unit type (`()` or a unit struct) accepts any
/// JSON value: a handler declared with `Event = ()` does not care what the event is (the seed
/// crate's examples rely on this).
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    if !is_unit::<T>() {
        // Every other type takes serde_json's own path, exactly as `serde_json::from_slice`.
        return serde_json::from_slice(bytes);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(UnitAcceptsAnything(&mut de))?;
    de.end()?;
    Ok(value)
}

/// Whether `T` is a unit type: it deserialises from a deserializer that offers only `()`.
fn is_unit<T: DeserializeOwned>() -> bool {
    T::deserialize(OnlyUnit).is_ok()
}

/// A deserializer that holds `()` and refuses to be anything else.
struct OnlyUnit;

/// Why [`OnlyUnit`] refused: the type is not a unit type. It keeps no message, so that asking
/// (once per invocation) allocates nothing.
#[derive(Debug)]
struct NotUnit;

impl core::fmt::Display for NotUnit {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not a unit type")
    }
}

impl core::error::Error for NotUnit {}

impl serde::de::Error for NotUnit {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        NotUnit
    }
}

impl<'de> Deserializer<'de> for OnlyUnit {
    type Error = NotUnit;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(NotUnit)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

struct UnitAcceptsAnything<D>(D);

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
            self.0.$method($($arg,)* visitor)
        }
    )*};
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for UnitAcceptsAnything<D> {
    type Error = D::Error;

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        IgnoredAny::deserialize(self.0)?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.deserialize_unit(visitor)
    }

    forward!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_newtype_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::String;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Unit;

    #[test]
    fn unit_events_accept_anything() {
        from_slice::<()>(br#"{"test":"test"}"#).unwrap();
        from_slice::<()>(b"null").unwrap();
        from_slice::<()>(b"[1,2,{}]").unwrap();
        assert_eq!(from_slice::<Unit>(b"{\"a\":1}").unwrap(), Unit);
    }

    #[test]
    fn only_unit_types_take_the_lenient_path() {
        assert!(is_unit::<()>());
        assert!(is_unit::<Unit>());
        assert!(!is_unit::<serde_json::Value>());
        assert!(!is_unit::<Option<()>>());
        assert!(!is_unit::<BTreeMap<String, u32>>());
        assert!(!is_unit::<serde::de::IgnoredAny>());
    }

    #[test]
    fn other_types_are_strict() {
        let m: BTreeMap<String, u32> = from_slice(br#"{"a":1}"#).unwrap();
        assert_eq!(m["a"], 1);
        assert!(from_slice::<u32>(b"\"x\"").is_err());
        assert!(from_slice::<()>(b"{").is_err(), "still has to be JSON");
        assert!(from_slice::<()>(b"{} {}").is_err(), "one value only");
        assert!(from_slice::<Option<u32>>(b"\"x\"").is_err());
    }
}
