//! The Telemetry API's types (with `alloc`): the subscription an extension sends with
//! [`Request::Subscribe`](super::Request::Subscribe), and the batches Lambda then POSTs to it.
//!
//! Every type serialises and deserialises, so an emulator or a test can produce what an
//! extension reads. A [`Subscription`] is validated when built and when read: a non-empty
//! `types`, an `http://` destination, and buffering within the documented bounds
//! ([`Buffering`]).
//!
//! A batch is a JSON array of `{time, type, record}` ([`TelemetryEvent`], [`Record`]).
//! [`parse_batch`] reads each element on its own, so one record this crate cannot read does not
//! lose the others: the subscriber answers 200 (Lambda would retry a refused batch, and fail
//! the same way) and reports the bad one ([`BadRecord`]). Types this crate does not know are
//! kept as [`Record::Unknown`], with their record as raw JSON.
//!
//! A listener reads each POST with [`frame_request`] (how much of the request has arrived)
//! and [`receive`] (the records, the bad ones logged), and answers [`Received::response`]:
//! no I/O here, so it runs on any executor.
//!
//! ```
//! use lambda_runtime_types::extension::telemetry::{
//!     Buffering, Record, Subscription, TelemetryType, parse_batch,
//! };
//!
//! let subscription = Subscription::http(
//!     "http://sandbox.localdomain:8080/telemetry",
//!     &[TelemetryType::Platform, TelemetryType::Function],
//! )?
//! .with_buffering(Buffering::new(1_000, 262_144, 100)?);
//! let body = subscription.to_json(); // the body of `Request::Subscribe`
//! assert!(body.starts_with(br#"{"schemaVersion":"2025-01-29""#));
//!
//! let batch = br#"[
//!   {"time":"2025-01-29T10:00:00.000Z","type":"function","record":"hello\n"},
//!   {"time":"2025-01-29T10:00:00.001Z","type":"platform.start","record":{"requestId":5}}
//! ]"#;
//! let records = parse_batch(batch)?;
//! assert!(matches!(&records[0], Ok(e) if matches!(e.record, Record::Function(_))));
//! let bad = records[1].as_ref().unwrap_err();
//! assert_eq!(bad.index, 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod batch;
mod listener;
mod record;
#[cfg(test)]
mod tests;

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

pub use batch::{BadRecord, BatchError, TelemetryEvent, parse_batch};
pub use listener::{
    BAD_REQUEST, Framing, MAX_REQUEST_BYTES, RESPONSE, Received, frame_request, receive,
};
pub use record::{
    ExtensionRecord, InitPhase, InitReport, InitReportMetrics, InitRuntimeDone, InitStart,
    InitType, LogRecord, LogsDropped, Record, Report, ReportMetrics, RestoreReport,
    RestoreReportMetrics, RestoreRuntimeDone, RestoreStart, RuntimeDone, RuntimeDoneMetrics, Span,
    Start, Status, SubscriptionRecord, TraceContext,
};

/// The `schemaVersion` of a subscription: which record shapes Lambda sends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SchemaVersion {
    /// `2022-07-01`, the first.
    #[serde(rename = "2022-07-01")]
    V2022_07_01,
    /// `2022-12-13`: `function`/`extension` records may be JSON objects in the JSON log format.
    #[serde(rename = "2022-12-13")]
    V2022_12_13,
    /// `2025-01-29`, the latest and the default; backward compatible, and the only one Lambda
    /// Managed Instances accept.
    #[default]
    #[serde(rename = "2025-01-29")]
    V2025_01_29,
}

impl SchemaVersion {
    /// The latest version.
    pub const LATEST: Self = Self::V2025_01_29;

    /// The version as sent.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2022_07_01 => "2022-07-01",
            Self::V2022_12_13 => "2022-12-13",
            Self::V2025_01_29 => "2025-01-29",
        }
    }
}

/// A kind of telemetry to subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelemetryType {
    /// `platform`: Lambda's own records (`platform.start`, `platform.report`, …).
    Platform,
    /// `function`: the function's log lines.
    Function,
    /// `extension`: the extensions' log lines.
    Extension,
}

/// Where Lambda delivers the batches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "protocol")]
pub enum Destination {
    /// `{"protocol":"HTTP","URI":…}`: POSTs of JSON arrays to a local listener
    /// (`http://sandbox.localdomain:PORT[/path]`; no HTTPS; port 9001 is reserved). Recommended.
    #[serde(rename = "HTTP")]
    Http {
        /// The listener's URI.
        #[serde(rename = "URI")]
        uri: String,
    },
    /// `{"protocol":"TCP","port":…}`: newline-delimited JSON over TCP, unacknowledged.
    #[serde(rename = "TCP")]
    Tcp {
        /// The listener's port.
        port: u16,
    },
}

/// `buffering`: how Lambda batches records, within the documented bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawBuffering")]
pub struct Buffering {
    max_items: u32,
    max_bytes: u32,
    timeout_ms: u32,
}

/// `buffering` as read, before the bounds are checked; absent fields take the defaults.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawBuffering {
    #[serde(default = "default_max_items")]
    max_items: u32,
    #[serde(default = "default_max_bytes")]
    max_bytes: u32,
    #[serde(default = "default_timeout_ms")]
    timeout_ms: u32,
}

const fn default_max_items() -> u32 {
    Buffering::DEFAULT.max_items
}
const fn default_max_bytes() -> u32 {
    Buffering::DEFAULT.max_bytes
}
const fn default_timeout_ms() -> u32 {
    Buffering::DEFAULT.timeout_ms
}

impl TryFrom<RawBuffering> for Buffering {
    type Error = BufferingError;
    fn try_from(r: RawBuffering) -> Result<Self, BufferingError> {
        Self::new(r.max_items, r.max_bytes, r.timeout_ms)
    }
}

impl Buffering {
    /// The bounds of `maxItems`.
    pub const MAX_ITEMS: (u32, u32) = (1_000, 10_000);
    /// The bounds of `maxBytes`.
    pub const MAX_BYTES: (u32, u32) = (262_144, 1_048_576);
    /// The bounds of `timeoutMs`.
    pub const TIMEOUT_MS: (u32, u32) = (25, 30_000);
    /// Lambda's defaults: 10,000 items, 262,144 bytes, 1,000 ms.
    pub const DEFAULT: Self = Self {
        max_items: 10_000,
        max_bytes: 262_144,
        timeout_ms: 1_000,
    };

    /// Buffering with these values, each within its bounds ([`Self::MAX_ITEMS`],
    /// [`Self::MAX_BYTES`], [`Self::TIMEOUT_MS`]).
    pub const fn new(
        max_items: u32,
        max_bytes: u32,
        timeout_ms: u32,
    ) -> Result<Self, BufferingError> {
        let checks = [
            ("maxItems", max_items, Self::MAX_ITEMS),
            ("maxBytes", max_bytes, Self::MAX_BYTES),
            ("timeoutMs", timeout_ms, Self::TIMEOUT_MS),
        ];
        let mut i = 0;
        while i < checks.len() {
            let (field, value, (min, max)) = checks[i];
            if value < min || value > max {
                return Err(BufferingError {
                    field,
                    value,
                    min,
                    max,
                });
            }
            i += 1;
        }
        Ok(Self {
            max_items,
            max_bytes,
            timeout_ms,
        })
    }

    /// `maxItems`: the most records in a batch.
    pub const fn max_items(self) -> u32 {
        self.max_items
    }

    /// `maxBytes`: the most bytes of records in a batch.
    pub const fn max_bytes(self) -> u32 {
        self.max_bytes
    }

    /// `timeoutMs`: how long Lambda buffers before it sends a batch.
    pub const fn timeout_ms(self) -> u32 {
        self.timeout_ms
    }
}

impl Default for Buffering {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A buffering value out of its documented bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufferingError {
    /// The field (`maxItems`, `maxBytes`, `timeoutMs`).
    pub field: &'static str,
    /// The value given.
    pub value: u32,
    /// The lowest value allowed.
    pub min: u32,
    /// The highest value allowed.
    pub max: u32,
}

impl fmt::Display for BufferingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            field,
            value,
            min,
            max,
        } = self;
        write!(f, "buffering {field} {value} is outside {min}..={max}")
    }
}

impl core::error::Error for BufferingError {}

/// A subscription Lambda would refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionError {
    /// `types` is empty.
    NoTypes,
    /// The HTTP destination's URI does not start with `http://` and a host.
    InvalidUri,
    /// A buffering value is out of bounds.
    Buffering(BufferingError),
}

impl fmt::Display for SubscriptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoTypes => f.write_str("a subscription needs at least one type"),
            Self::InvalidUri => {
                f.write_str("the destination URI must be http://host[:port][/path]")
            }
            Self::Buffering(e) => fmt::Display::fmt(e, f),
        }
    }
}

impl core::error::Error for SubscriptionError {}

impl From<BufferingError> for SubscriptionError {
    fn from(e: BufferingError) -> Self {
        Self::Buffering(e)
    }
}

/// The body of `PUT /2022-07-01/telemetry`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "RawSubscription")]
pub struct Subscription {
    schema_version: SchemaVersion,
    destination: Destination,
    types: Vec<TelemetryType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    buffering: Option<Buffering>,
}

/// A subscription as read, before it is checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSubscription {
    schema_version: SchemaVersion,
    destination: Destination,
    types: Vec<TelemetryType>,
    #[serde(default)]
    buffering: Option<Buffering>,
}

impl TryFrom<RawSubscription> for Subscription {
    type Error = SubscriptionError;
    fn try_from(r: RawSubscription) -> Result<Self, SubscriptionError> {
        let s = Self::new(r.destination, &r.types)?.with_schema_version(r.schema_version);
        Ok(match r.buffering {
            Some(b) => s.with_buffering(b),
            None => s,
        })
    }
}

impl Subscription {
    /// A subscription of the latest schema version to `types` at `destination`, with Lambda's
    /// default buffering. Duplicate types are sent once.
    pub fn new(
        destination: Destination,
        types: &[TelemetryType],
    ) -> Result<Self, SubscriptionError> {
        if let Destination::Http { uri } = &destination {
            let host = uri
                .get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
                .and_then(|_| uri.get(7..));
            let host_ok = host.is_some_and(|h| {
                let authority = h.split('/').next().unwrap_or_default();
                !authority.is_empty() && !authority.starts_with(':')
            });
            if !host_ok || uri.bytes().any(|b| !b.is_ascii_graphic()) {
                return Err(SubscriptionError::InvalidUri);
            }
        }
        let mut unique = Vec::new();
        for t in types {
            if !unique.contains(t) {
                unique.push(*t);
            }
        }
        if unique.is_empty() {
            return Err(SubscriptionError::NoTypes);
        }
        Ok(Self {
            schema_version: SchemaVersion::LATEST,
            destination,
            types: unique,
            buffering: None,
        })
    }

    /// [`Subscription::new`] with an HTTP destination.
    pub fn http(
        uri: impl Into<String>,
        types: &[TelemetryType],
    ) -> Result<Self, SubscriptionError> {
        Self::new(Destination::Http { uri: uri.into() }, types)
    }

    /// Sets the schema version.
    #[must_use]
    pub fn with_schema_version(mut self, version: SchemaVersion) -> Self {
        self.schema_version = version;
        self
    }

    /// Sets the buffering (sent only when set; Lambda's defaults apply otherwise).
    #[must_use]
    pub fn with_buffering(mut self, buffering: Buffering) -> Self {
        self.buffering = Some(buffering);
        self
    }

    /// The schema version.
    pub fn schema_version(&self) -> SchemaVersion {
        self.schema_version
    }

    /// The destination.
    pub fn destination(&self) -> &Destination {
        &self.destination
    }

    /// The types, each once.
    pub fn types(&self) -> &[TelemetryType] {
        &self.types
    }

    /// The buffering, if set.
    pub fn buffering(&self) -> Option<Buffering> {
        self.buffering
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        // Strings, numbers and enums of strings always serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
