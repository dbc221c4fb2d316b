//! A batch as Lambda POSTs it: a JSON array of `{time, type, record}`, read one element at a
//! time ([`parse_batch`]) so that one bad record does not lose the rest.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::ser::{Error as _, SerializeStruct};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::Record;

/// One element of a batch.
#[derive(Clone, Debug, PartialEq)]
pub struct TelemetryEvent {
    /// When it happened, as sent (ISO 8601, `2025-01-29T10:00:00.000Z`).
    pub time: String,
    /// The record, by its type.
    pub record: Record,
}

/// An element as read, before its record is typed.
#[derive(Deserialize)]
struct RawEvent {
    time: String,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    record: Value,
}

impl TelemetryEvent {
    fn from_raw(raw: RawEvent) -> Result<Self, String> {
        let RawEvent { time, kind, record } = raw;
        match Record::from_parts(&kind, record) {
            Ok(record) => Ok(Self { time, record }),
            Err(e) => Err(format!("{kind} record: {e}")),
        }
    }
}

impl Serialize for TelemetryEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let record = self.record.to_value().map_err(S::Error::custom)?;
        let mut out = s.serialize_struct("TelemetryEvent", 3)?;
        out.serialize_field("time", &self.time)?;
        out.serialize_field("type", self.record.kind())?;
        out.serialize_field("record", &record)?;
        out.end()
    }
}

impl<'de> Deserialize<'de> for TelemetryEvent {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::from_raw(RawEvent::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An element of a batch that could not be read, kept with what is wrong.
#[derive(Clone, Debug, PartialEq)]
pub struct BadRecord {
    /// Its position in the batch.
    pub index: usize,
    /// Its `type`, if it had a string one.
    pub kind: Option<String>,
    /// What is wrong (`platform.start record: invalid type: integer 5, expected a string`).
    pub message: String,
    /// The element as sent.
    pub raw: Value,
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "telemetry record {}: {}", self.index, self.message)
    }
}

impl core::error::Error for BadRecord {}

/// A batch body that is not a JSON array at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchError {
    /// What is wrong, with line and column.
    pub message: String,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed telemetry batch: {}", self.message)
    }
}

impl core::error::Error for BatchError {}

/// Reads a batch: each element on its own, `Ok` or a [`BadRecord`], in order. Only a body
/// that is not a JSON array fails as a whole.
// A bad record keeps its element as sent (`raw`), which is large when serde_json orders maps
// (`preserve_order`, which a workspace member enables): a batch's results are kept, not passed
// up a call chain, so the size is no cost worth a box per record.
#[allow(clippy::result_large_err)]
pub fn parse_batch(body: &[u8]) -> Result<Vec<Result<TelemetryEvent, BadRecord>>, BatchError> {
    let elements: Vec<Value> = serde_json::from_slice(body).map_err(|e| BatchError {
        message: if e.is_data() {
            format!("not a JSON array: {e}")
        } else {
            e.to_string()
        },
    })?;
    Ok(elements
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let kind = raw.get("type").and_then(Value::as_str).map(String::from);
            let read = serde_json::from_value::<RawEvent>(raw.clone())
                .map_err(|e| e.to_string())
                .and_then(TelemetryEvent::from_raw);
            read.map_err(|message| BadRecord {
                index,
                kind,
                message,
                raw,
            })
        })
        .collect())
}
