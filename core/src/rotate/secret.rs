//! [`SecretContainer`]: the user's secret type plus every field it does not know.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};

/// A secret value: the fields `S` declares, plus every other field of the stored JSON object.
///
/// A rotation reads the current value into a `SecretContainer<S>`, changes what `S` knows (a
/// password, usually) and stores the result as the new version; the fields `S` does not declare
/// (a host, a port, an engine name that another program put there) are kept in
/// [`other`](Self::other) and written back unchanged, so a rotation never drops fields of the
/// stored secret.
///
/// It dereferences to `S`, so `secret.password` reads and writes `S`'s field.
///
/// `S` must not use `#[serde(deny_unknown_fields)]` (the unknown fields are the point) and its
/// field names must not clash with each other after renaming. `Debug` never prints a value: it
/// shows the type of `S` and the names of the other fields only.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct SecretContainer<S> {
    /// The fields `S` declares.
    #[serde(flatten)]
    pub data: S,
    /// Every field of the stored object that `S` does not declare, written back unchanged.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl<S> SecretContainer<S> {
    /// A container of `data` with no other fields.
    pub fn new(data: S) -> Self {
        Self {
            data,
            other: serde_json::Map::new(),
        }
    }

    /// The value as the JSON text that is stored.
    pub fn to_json(&self) -> anyhow::Result<String>
    where
        S: Serialize,
    {
        serde_json::to_string(self)
            .map_err(|e| anyhow::anyhow!("serialising the secret: {}", redact(&e)))
    }

    /// Parses a stored JSON value. The error never quotes the value (see [`redact`]).
    pub fn from_json(text: &str) -> anyhow::Result<Self>
    where
        S: serde::de::DeserializeOwned,
    {
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("{}", redact(&e)))
    }
}

impl<S> Deref for SecretContainer<S> {
    type Target = S;

    fn deref(&self) -> &S {
        &self.data
    }
}

impl<S> DerefMut for SecretContainer<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.data
    }
}

impl<S> fmt::Debug for SecretContainer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let other: Vec<&str> = self.other.keys().map(String::as_str).collect();
        f.debug_struct("SecretContainer")
            .field(
                "data",
                &format_args!("<{} redacted>", core::any::type_name::<S>()),
            )
            .field("other", &other)
            .finish()
    }
}

/// Describes a JSON error of a secret without quoting any part of the secret.
///
/// serde's messages for a wrong type or value quote it (`invalid type: string "hunter2"`), so
/// only "missing field" messages, which name a field of the type, are passed on; the others
/// become a generic description with the line and column.
pub fn redact(err: &serde_json::Error) -> String {
    use alloc::format;
    use serde_json::error::Category;
    let message = format!("{err}");
    match err.classify() {
        Category::Data if message.starts_with("missing field") => {
            format!("the secret does not match the Secret type: {message}")
        }
        Category::Data => format!(
            "the secret does not match the Secret type: a field has the wrong type or value \
             (line {} column {})",
            err.line(),
            err.column()
        ),
        Category::Syntax | Category::Eof => format!(
            "the secret is not valid JSON (line {} column {})",
            err.line(),
            err.column()
        ),
        Category::Io => format!("the secret could not be read as JSON: {message}"),
    }
}
