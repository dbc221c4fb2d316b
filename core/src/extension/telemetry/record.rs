//! The `record` of each telemetry `type`, as the Telemetry API schema reference documents it.
//!
//! Optional fields are `Option` (or an empty `Vec` for `spans`) and are left out when
//! serialised; fields this crate does not know are ignored when read. Enumerations that Lambda
//! may extend ([`InitType`], [`InitPhase`], [`Status`]) keep unknown values as `Other`.

use alloc::borrow::{Cow, ToOwned};
use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A string enumeration with a catch-all, (de)serialised as its string.
macro_rules! open_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
            /// A value this crate does not know, as sent.
            Other(String),
        }

        impl $name {
            /// Reads a value (exact match; anything else is `Other`).
            pub fn parse(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)*
                    other => Self::Other(other.to_owned()),
                }
            }

            /// The value as sent.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)*
                    Self::Other(s) => s,
                }
            }
        }

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::parse(&Cow::<'de, str>::deserialize(d)?))
            }
        }
    };
}

open_enum!(
    /// `initializationType`: how the execution environment was started.
    InitType {
        /// `on-demand`.
        OnDemand = "on-demand",
        /// `provisioned-concurrency`.
        ProvisionedConcurrency = "provisioned-concurrency",
        /// `snap-start`.
        SnapStart = "snap-start",
        /// `lambda-managed-instances`.
        LambdaManagedInstances = "lambda-managed-instances",
    }
);

open_enum!(
    /// `phase`: when an init ran.
    InitPhase {
        /// `init`: during the init phase.
        Init = "init",
        /// `invoke`: a suppressed init, re-run at the first invoke.
        Invoke = "invoke",
    }
);

open_enum!(
    /// `status` of a phase; `errorType` is its sibling when it is not `success`.
    Status {
        /// `success`.
        Success = "success",
        /// `failure`.
        Failure = "failure",
        /// `error`.
        Error = "error",
        /// `timeout`.
        Timeout = "timeout",
    }
);

/// `tracing`: `{spanId?, type, value}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceContext {
    /// The span id, where documented (`platform.start`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// `X-Amzn-Trace-Id`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header.
    pub value: String,
}

/// One of `spans` (`responseLatency`, `responseDuration`, …).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// The span's name.
    pub name: String,
    /// When it started (ISO 8601).
    pub start: String,
    /// How long it took.
    pub duration_ms: f64,
}

/// `platform.initStart`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStart {
    /// How the environment was started.
    pub initialization_type: InitType,
    /// When the init ran.
    pub phase: InitPhase,
    /// The runtime's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The runtime's version ARN (the doc's field list also calls it `runtimeArn`).
    #[serde(default, alias = "runtimeArn", skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    /// The function's name.
    pub function_name: String,
    /// The function's version.
    pub function_version: String,
    /// The instance's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The instance's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_max_memory: Option<u64>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `platform.initRuntimeDone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitRuntimeDone {
    /// How the environment was started.
    pub initialization_type: InitType,
    /// When the init ran.
    pub phase: InitPhase,
    /// How the runtime's init ended.
    pub status: Status,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.initReport`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReportMetrics {
    /// How long the init took.
    pub duration_ms: f64,
}

/// `platform.initReport`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    /// How the environment was started.
    pub initialization_type: InitType,
    /// When the init ran.
    pub phase: InitPhase,
    /// The metrics.
    pub metrics: InitReportMetrics,
    /// The spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// How the init ended (sent by Lambda Managed Instances).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `platform.start`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    /// The invocation's request id.
    pub request_id: String,
    /// The function version invoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
    /// The tenant id of a tenant-isolated function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// `metrics` of `platform.runtimeDone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDoneMetrics {
    /// How long the runtime took.
    pub duration_ms: f64,
    /// The response's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced_bytes: Option<u64>,
}

/// `platform.runtimeDone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDone {
    /// The invocation's request id.
    pub request_id: String,
    /// How the invocation ended.
    pub status: Status,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<RuntimeDoneMetrics>,
    /// The spans (`responseLatency`, `responseDuration`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
    /// The tenant id of a tenant-isolated function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// `metrics` of `platform.report`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    /// How long the invocation took.
    pub duration_ms: f64,
    /// The billed duration.
    #[serde(deserialize_with = "whole_number")]
    pub billed_duration_ms: u64,
    /// The function's memory size.
    #[serde(rename = "memorySizeMB", deserialize_with = "whole_number")]
    pub memory_size_mb: u64,
    /// The most memory used.
    #[serde(rename = "maxMemoryUsedMB", deserialize_with = "whole_number")]
    pub max_memory_used_mb: u64,
    /// The init duration, on the first invocation of an environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    /// The restore duration, on the first invocation after a SnapStart restore.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_duration_ms: Option<f64>,
}

/// A count, sent as an integer or as a number with no fraction (`2.0`): a sender that
/// computes it in floating point still means a whole number.
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    match n.as_f64() {
        // 2^64: every f64 in range converts exactly when it has no fraction.
        Some(f) if (0.0..18_446_744_073_709_551_616.0).contains(&f) && (f as u64) as f64 == f => {
            Ok(f as u64)
        }
        _ => Err(serde::de::Error::custom(alloc::format!(
            "invalid number {n}, expected a whole number"
        ))),
    }
}

/// `platform.report`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// How the invocation ended.
    pub status: Status,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The metrics.
    pub metrics: ReportMetrics,
    /// The spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
    /// The tenant id of a tenant-isolated function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

/// `platform.extension`: an extension registered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionRecord {
    /// The extension's name.
    pub name: String,
    /// Its state (`Ready`, …).
    pub state: String,
    /// The events it registered for.
    pub events: Vec<String>,
    /// The error type, if it failed (sent by the RIE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `platform.telemetrySubscription`: an extension subscribed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionRecord {
    /// The extension's name.
    pub name: String,
    /// Its state (`Subscribed`, …).
    pub state: String,
    /// The types it subscribed to.
    pub types: Vec<String>,
}

/// `platform.logsDropped`: records were lost because the subscriber did not keep up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsDropped {
    /// Bytes lost.
    pub dropped_bytes: u64,
    /// Records lost.
    pub dropped_records: u64,
    /// Why.
    pub reason: String,
}

/// `platform.restoreStart`: a SnapStart restore began.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStart {
    /// The runtime's version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// The runtime's version ARN.
    #[serde(default, alias = "runtimeArn", skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    /// The function's name.
    pub function_name: String,
    /// The function's version.
    pub function_version: String,
    /// The instance's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The instance's memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_max_memory: Option<u64>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `platform.restoreRuntimeDone`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRuntimeDone {
    /// How the runtime's restore hooks ended.
    pub status: Status,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// The trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.restoreReport`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReportMetrics {
    /// How long the restore took.
    pub duration_ms: f64,
}

/// `platform.restoreReport`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// How the restore ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// The error type, when `status` is not `success`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// The metrics.
    pub metrics: RestoreReportMetrics,
    /// The spans.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// A `function` or `extension` record: a log line as a string (the Text log format), or a JSON
/// object (the JSON log format, schema 2022-12-13 and later).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogRecord {
    /// The line, as written (with its newline, if it had one).
    Text(String),
    /// The line's JSON object (`timestamp`, `level`, `requestId`, `message`, …).
    Object(Map<String, Value>),
}

/// A telemetry record, by its `type`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Record {
    /// `platform.initStart`.
    InitStart(InitStart),
    /// `platform.initRuntimeDone`.
    InitRuntimeDone(InitRuntimeDone),
    /// `platform.initReport`.
    InitReport(InitReport),
    /// `platform.start`.
    Start(Start),
    /// `platform.runtimeDone`.
    RuntimeDone(RuntimeDone),
    /// `platform.report`.
    Report(Report),
    /// `platform.extension`.
    PlatformExtension(ExtensionRecord),
    /// `platform.telemetrySubscription`.
    TelemetrySubscription(SubscriptionRecord),
    /// `platform.logsDropped`.
    LogsDropped(LogsDropped),
    /// `platform.restoreStart`.
    RestoreStart(RestoreStart),
    /// `platform.restoreRuntimeDone`.
    RestoreRuntimeDone(RestoreRuntimeDone),
    /// `platform.restoreReport`.
    RestoreReport(RestoreReport),
    /// `function`: a line the function logged.
    Function(LogRecord),
    /// `extension`: a line an extension logged.
    Extension(LogRecord),
    /// A `type` this crate does not know, with its record as sent.
    Unknown {
        /// The `type`.
        kind: String,
        /// The `record`.
        record: Value,
    },
}

/// Expands `$m!` with every known (type name, variant) pair.
macro_rules! known_records {
    ($m:ident, $($args:tt)*) => {
        $m!($($args)*;
            "platform.initStart" => InitStart,
            "platform.initRuntimeDone" => InitRuntimeDone,
            "platform.initReport" => InitReport,
            "platform.start" => Start,
            "platform.runtimeDone" => RuntimeDone,
            "platform.report" => Report,
            "platform.extension" => PlatformExtension,
            "platform.telemetrySubscription" => TelemetrySubscription,
            "platform.logsDropped" => LogsDropped,
            "platform.restoreStart" => RestoreStart,
            "platform.restoreRuntimeDone" => RestoreRuntimeDone,
            "platform.restoreReport" => RestoreReport,
            "function" => Function,
            "extension" => Extension,
        )
    };
}

macro_rules! kind_of {
    ($self:ident; $($name:literal => $variant:ident,)*) => {
        match $self {
            $(Record::$variant(_) => $name,)*
            Record::Unknown { kind, .. } => kind,
        }
    };
}

macro_rules! read_record {
    ($kind:ident, $record:ident; $($name:literal => $variant:ident,)*) => {
        match $kind {
            $($name => serde_json::from_value($record).map(Record::$variant),)*
            _ => Ok(Record::Unknown { kind: $kind.to_owned(), record: $record }),
        }
    };
}

macro_rules! write_record {
    ($self:ident; $($name:literal => $variant:ident,)*) => {
        match $self {
            $(Record::$variant(r) => serde_json::to_value(r),)*
            Record::Unknown { record, .. } => Ok(record.clone()),
        }
    };
}

impl Record {
    /// The `type` (`platform.report`, `function`, …, or an unknown one as sent).
    pub fn kind(&self) -> &str {
        known_records!(kind_of, self)
    }

    /// The record of `type` `kind`; a known type whose record has the wrong shape is an error
    /// naming what is wrong (`missing field requestId`).
    pub fn from_parts(kind: &str, record: Value) -> Result<Self, serde_json::Error> {
        known_records!(read_record, kind, record)
    }

    /// The `record` as JSON.
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        known_records!(write_record, self)
    }
}
