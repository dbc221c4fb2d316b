//! The function's configuration, as Lambda gives it in the environment.

use alloc::string::{String, ToString};
use core::fmt;

use crate::lifecycle::DEFAULT_TIMEOUT_MARGIN_MS;
use crate::wire::{Endpoint, EndpointError};

/// The function's configuration: what Lambda puts in the environment of a `provided.al2023`
/// function.
///
/// Built from any key/value source with [`Config::from_lookup`] (the core never reads the
/// environment itself), or from the process environment with `Config::from_env` (feature `std`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub function_name: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_size_mb: Option<u32>,
    /// `AWS_LAMBDA_FUNCTION_VERSION` (`$LATEST` or a number).
    pub version: String,
    /// `AWS_LAMBDA_LOG_GROUP_NAME`.
    pub log_group: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream: String,
    /// `AWS_REGION`, falling back to `AWS_DEFAULT_REGION`; empty if neither is set.
    pub region: String,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` (Lambda Managed Instances); 1 when unset.
    pub max_concurrency: usize,
    /// `AWS_LAMBDA_RUNTIME_API`, as `host:port` or a URL with a path prefix.
    pub runtime_api: Endpoint,
    /// How long before the deadline a running handler is reported as timed out
    /// (`LAMBDA_RUNTIME_TIMEOUT_MARGIN_MS`, default 100).
    pub timeout_margin_ms: u64,
    /// Whether a watchdog thread reports timeouts of handlers that block their thread, memory
    /// exhaustion and shutdown (feature `std`; `LAMBDA_RUNTIME_WATCHDOG=off` disables it).
    pub watchdog: bool,
    /// Memory use, in percent of [`Config::memory_size_mb`], at which the watchdog reports
    /// `Runtime.OutOfMemory` for the running invocations and exits
    /// (`LAMBDA_RUNTIME_MEMORY_THRESHOLD_PERCENT`, default 90; 0 disables the check).
    pub memory_threshold_percent: u8,
    /// How long a shutdown hook may run after SIGTERM before the process exits
    /// (`LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS`, default 200).
    pub shutdown_timeout_ms: u64,
    /// Whether the runtime registers an internal extension before its first `/next`, so that
    /// Lambda sends it SIGTERM at shutdown (it sends SIGTERM only when an extension is
    /// registered): running invocations are then reported as `Runtime.Shutdown` and the
    /// shutdown hook runs. Needs the watchdog, which handles SIGTERM
    /// (`LAMBDA_RUNTIME_EXTENSION=off` disables it; default on).
    pub extension: bool,
    /// How log lines are written (`AWS_LAMBDA_LOG_FORMAT`: `JSON` in any case, else text).
    pub log_format: LogFormat,
    /// The most detailed log level written: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG` (a plain
    /// level name, or the last comma-separated entry that is one), else `INFO`.
    pub log_level: log::LevelFilter,
    /// Log lines below [`Config::log_level`] kept per invocation and written only if it fails
    /// (`LAMBDA_RUNTIME_LOG_BUFFER_LINES`, default 0: none kept).
    pub log_buffer_lines: usize,
}

/// How log lines are written: Lambda's `AWS_LAMBDA_LOG_FORMAT` (advanced logging controls).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// `{timestamp} {LEVEL} [{requestId}] {message}`, one line per record (the default).
    #[default]
    Text,
    /// One flat JSON object per line, with `timestamp`, `level`, `message` and `requestId`.
    Json,
}

impl LogFormat {
    /// `JSON` in any case is [`LogFormat::Json`]; anything else, or nothing, is text.
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some(v) if v.trim().eq_ignore_ascii_case("json") => Self::Json,
            _ => Self::Text,
        }
    }
}

/// A level name as Lambda or `RUST_LOG` give it, in any case: `TRACE`, `DEBUG`, `INFO`, `WARN`
/// (or `WARNING`), `ERROR`, `FATAL` (or `CRITICAL`; the `log` crate has no fatal level, so it
/// keeps errors), `OFF`. For `RUST_LOG` also the last comma-separated entry that is a plain level
/// (`info,my_crate=debug` is `INFO`); per-target filters are not supported.
pub fn parse_log_level(value: &str) -> Option<log::LevelFilter> {
    use log::LevelFilter;
    let one = |v: &str| match v.trim().to_ascii_uppercase().as_str() {
        "TRACE" => Some(LevelFilter::Trace),
        "DEBUG" => Some(LevelFilter::Debug),
        "INFO" => Some(LevelFilter::Info),
        "WARN" | "WARNING" => Some(LevelFilter::Warn),
        "ERROR" | "FATAL" | "CRITICAL" => Some(LevelFilter::Error),
        "OFF" => Some(LevelFilter::Off),
        _ => None,
    };
    value.rsplit(',').find_map(one)
}

/// Default of [`Config::memory_threshold_percent`].
pub const DEFAULT_MEMORY_THRESHOLD_PERCENT: u8 = 90;

/// Default of [`Config::shutdown_timeout_ms`]. Lambda sends SIGTERM only to a runtime with an
/// extension registered, and then gives it up to 500 ms when an internal extension is registered
/// (as the runtime's own is, [`Config::extension`]) and 300 ms when only external ones are,
/// before SIGKILL; the watchdog's reports of running invocations come first.
pub const DEFAULT_SHUTDOWN_TIMEOUT_MS: u64 = 200;

/// Why a [`Config`] could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// `AWS_LAMBDA_RUNTIME_API` is not set: the binary was not started by Lambda.
    MissingRuntimeApi,
    /// `AWS_LAMBDA_RUNTIME_API` is set but not usable.
    InvalidRuntimeApi(EndpointError),
    /// A numeric variable (named) is not a number.
    NotANumber(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingRuntimeApi => f.write_str(
                "AWS_LAMBDA_RUNTIME_API is not set: this binary is an AWS Lambda function and \
                 must be started by Lambda. To run it locally, use the bundled emulator: \
                 `cargo run -p lambda-emulator -- --event '{}' -- <path to this binary>`",
            ),
            Self::InvalidRuntimeApi(e) => write!(f, "AWS_LAMBDA_RUNTIME_API is invalid: {e}"),
            Self::NotANumber(var) => write!(f, "{var} is not a number"),
        }
    }
}

impl core::error::Error for ConfigError {}

impl Config {
    /// Builds a configuration from `lookup`, which returns the value of a variable if set.
    pub fn from_lookup<F>(lookup: F) -> Result<Self, ConfigError>
    where
        F: Fn(&str) -> Option<String>,
    {
        let get = |k: &str| lookup(k).filter(|v| !v.is_empty());
        let api = get("AWS_LAMBDA_RUNTIME_API").ok_or(ConfigError::MissingRuntimeApi)?;
        let runtime_api = Endpoint::parse(&api).map_err(ConfigError::InvalidRuntimeApi)?;
        let number = |k: &'static str| -> Result<Option<u64>, ConfigError> {
            get(k)
                .map(|v| v.trim().parse().map_err(|_| ConfigError::NotANumber(k)))
                .transpose()
        };
        let memory = number("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")?;
        Ok(Self {
            function_name: get("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
            memory_size_mb: memory.map(|m| u32::try_from(m).unwrap_or(u32::MAX)),
            version: get("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "$LATEST".to_string()),
            log_group: get("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
            log_stream: get("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
            region: get("AWS_REGION")
                .or_else(|| get("AWS_DEFAULT_REGION"))
                .unwrap_or_default(),
            max_concurrency: number("AWS_LAMBDA_MAX_CONCURRENCY")?
                .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX).max(1)),
            runtime_api,
            timeout_margin_ms: number("LAMBDA_RUNTIME_TIMEOUT_MARGIN_MS")?
                .unwrap_or(DEFAULT_TIMEOUT_MARGIN_MS),
            watchdog: !get("LAMBDA_RUNTIME_WATCHDOG")
                .is_some_and(|v| v.eq_ignore_ascii_case("off") || v == "0"),
            memory_threshold_percent: number("LAMBDA_RUNTIME_MEMORY_THRESHOLD_PERCENT")?
                .map_or(DEFAULT_MEMORY_THRESHOLD_PERCENT, |p| p.min(100) as u8),
            shutdown_timeout_ms: number("LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS")?
                .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT_MS),
            extension: !get("LAMBDA_RUNTIME_EXTENSION")
                .is_some_and(|v| v.eq_ignore_ascii_case("off") || v == "0"),
            log_format: LogFormat::parse(get("AWS_LAMBDA_LOG_FORMAT").as_deref()),
            log_level: get("AWS_LAMBDA_LOG_LEVEL")
                .and_then(|v| parse_log_level(&v))
                .or_else(|| get("RUST_LOG").and_then(|v| parse_log_level(&v)))
                .unwrap_or(log::LevelFilter::Info),
            log_buffer_lines: number("LAMBDA_RUNTIME_LOG_BUFFER_LINES")?
                .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        })
    }

    /// Builds a configuration from the process environment.
    #[cfg(feature = "std")]
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// A configuration for tests: the given Runtime API endpoint, defaults elsewhere, and no
    /// watchdog (it would start threads and handle SIGTERM in the test process).
    pub fn for_endpoint(runtime_api: Endpoint) -> Self {
        Self {
            function_name: String::new(),
            memory_size_mb: None,
            version: "$LATEST".to_string(),
            log_group: String::new(),
            log_stream: String::new(),
            region: String::new(),
            max_concurrency: 1,
            runtime_api,
            timeout_margin_ms: DEFAULT_TIMEOUT_MARGIN_MS,
            watchdog: false,
            memory_threshold_percent: DEFAULT_MEMORY_THRESHOLD_PERCENT,
            shutdown_timeout_ms: DEFAULT_SHUTDOWN_TIMEOUT_MS,
            extension: false,
            log_format: LogFormat::Text,
            log_level: log::LevelFilter::Info,
            log_buffer_lines: 0,
        }
    }

    /// A configuration for unit tests of handlers: the function `test-function` (version
    /// `$LATEST`, 128 MB) in `us-east-1`, a Runtime API at `127.0.0.1:9001` that nothing is sent
    /// to, defaults elsewhere, no watchdog.
    pub fn for_test() -> Self {
        let endpoint = Endpoint::parse("127.0.0.1:9001").expect("a literal host:port parses");
        let mut config = Self::for_endpoint(endpoint);
        config.function_name = "test-function".to_string();
        config.memory_size_mb = Some(128);
        config.region = "us-east-1".to_string();
        config
    }

    /// The lifecycle options this configuration asks for (watched when the watchdog is on,
    /// which needs `std`; an extension registered when it is wanted and the watchdog is there
    /// to handle the SIGTERM it brings).
    pub fn lifecycle_options(&self) -> crate::lifecycle::Options {
        let watched = self.watchdog && cfg!(feature = "std");
        crate::lifecycle::Options::new()
            .lanes(self.max_concurrency)
            .timeout_margin_ms(self.timeout_margin_ms)
            .watched(watched)
            .extension(watched && self.extension)
    }
}

/// Code to run when the environment shuts down (SIGTERM).
pub(crate) type ShutdownHook = alloc::boxed::Box<dyn FnOnce() + Send>;

/// What a [`Builder`](crate::Builder) sets: overrides of the environment's configuration, and
/// the shutdown hook.
#[cfg(feature = "std")]
#[derive(Default)]
pub(crate) struct Settings {
    pub(crate) timeout_margin_ms: Option<u64>,
    pub(crate) watchdog: Option<bool>,
    pub(crate) memory_threshold_percent: Option<u8>,
    pub(crate) shutdown_timeout_ms: Option<u64>,
    pub(crate) extension: Option<bool>,
    pub(crate) on_shutdown: Option<ShutdownHook>,
    /// `Some(false)`: the entry point installs no logger.
    pub(crate) logger: Option<bool>,
    pub(crate) log_buffer_lines: Option<usize>,
}

#[cfg(feature = "std")]
impl Settings {
    /// `config` with these settings applied over it.
    pub(crate) fn apply(&self, mut config: Config) -> Config {
        if let Some(ms) = self.timeout_margin_ms {
            config.timeout_margin_ms = ms;
        }
        if let Some(on) = self.watchdog {
            config.watchdog = on;
        }
        if let Some(percent) = self.memory_threshold_percent {
            config.memory_threshold_percent = percent.min(100);
        }
        if let Some(lines) = self.log_buffer_lines {
            config.log_buffer_lines = lines;
        }
        if let Some(ms) = self.shutdown_timeout_ms {
            config.shutdown_timeout_ms = ms;
        }
        if let Some(on) = self.extension {
            config.extension = on;
        }
        config
    }
}

#[cfg(feature = "std")]
impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("timeout_margin_ms", &self.timeout_margin_ms)
            .field("watchdog", &self.watchdog)
            .field("memory_threshold_percent", &self.memory_threshold_percent)
            .field("shutdown_timeout_ms", &self.shutdown_timeout_ms)
            .field("extension", &self.extension)
            .field("on_shutdown", &self.on_shutdown.is_some())
            .field("logger", &self.logger)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn reads_every_variable() {
        let c = Config::from_lookup(lookup(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_LAMBDA_FUNCTION_NAME", "fn"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "7"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/fn"),
            ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/11/27/[7]abc"),
            ("AWS_REGION", "eu-central-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_LAMBDA_MAX_CONCURRENCY", "4"),
        ]))
        .unwrap();
        assert_eq!(c.function_name, "fn");
        assert_eq!(c.memory_size_mb, Some(128));
        assert_eq!(c.version, "7");
        assert_eq!(c.log_group, "/aws/lambda/fn");
        assert_eq!(c.log_stream, "2026/11/27/[7]abc");
        assert_eq!(c.region, "eu-central-1");
        assert_eq!(c.max_concurrency, 4);
        assert_eq!(c.runtime_api.authority(), "127.0.0.1:9001");
        assert_eq!(c.lifecycle_options().lanes, 4);
        assert!(c.watchdog);
        assert_eq!(c.memory_threshold_percent, 90);
        assert_eq!(c.shutdown_timeout_ms, 200);
        assert_eq!(c.log_format, LogFormat::Text);
        assert_eq!(c.log_level, log::LevelFilter::Info);
    }

    #[test]
    fn log_format_and_level() {
        use log::LevelFilter;
        let with = |vars: &[(&str, &str)]| {
            let mut all = alloc::vec![("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")];
            all.extend_from_slice(vars);
            let c = Config::from_lookup(lookup(&all)).unwrap();
            (c.log_format, c.log_level)
        };
        assert_eq!(with(&[]), (LogFormat::Text, LevelFilter::Info));
        assert_eq!(
            with(&[("AWS_LAMBDA_LOG_FORMAT", "json")]),
            (LogFormat::Json, LevelFilter::Info)
        );
        assert_eq!(
            with(&[("AWS_LAMBDA_LOG_FORMAT", "JSON")]).0,
            LogFormat::Json
        );
        assert_eq!(
            with(&[("AWS_LAMBDA_LOG_FORMAT", "Text")]).0,
            LogFormat::Text
        );
        let level = |vars: &[(&str, &str)]| with(vars).1;
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")]),
            LevelFilter::Debug
        );
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "warn"), ("RUST_LOG", "trace")]),
            LevelFilter::Warn
        );
        assert_eq!(level(&[("RUST_LOG", "trace")]), LevelFilter::Trace);
        assert_eq!(
            level(&[("RUST_LOG", "debug,hyper=warn")]),
            LevelFilter::Debug
        );
        assert_eq!(level(&[("RUST_LOG", "my_crate=debug")]), LevelFilter::Info);
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "FATAL")]),
            LevelFilter::Error
        );
        // An invalid level means INFO, as Lambda documents; then RUST_LOG is asked.
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "loud")]),
            LevelFilter::Info
        );
        assert_eq!(
            level(&[("AWS_LAMBDA_LOG_LEVEL", "loud"), ("RUST_LOG", "error")]),
            LevelFilter::Error
        );
    }

    #[test]
    fn watchdog_knobs() {
        let c = Config::from_lookup(lookup(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("LAMBDA_RUNTIME_WATCHDOG", "off"),
            ("LAMBDA_RUNTIME_MEMORY_THRESHOLD_PERCENT", "0"),
            ("LAMBDA_RUNTIME_SHUTDOWN_TIMEOUT_MS", "50"),
            ("LAMBDA_RUNTIME_TIMEOUT_MARGIN_MS", "250"),
        ]))
        .unwrap();
        assert!(!c.watchdog);
        assert_eq!(c.memory_threshold_percent, 0);
        assert_eq!(c.shutdown_timeout_ms, 50);
        assert_eq!(c.timeout_margin_ms, 250);
    }

    #[test]
    fn region_falls_back_and_url_endpoints_work() {
        let c = Config::from_lookup(lookup(&[
            ("AWS_LAMBDA_RUNTIME_API", "http://127.0.0.1:9000/.rt/fn"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
        ]))
        .unwrap();
        assert_eq!(c.region, "us-east-1");
        assert_eq!(c.runtime_api.prefix(), "/.rt/fn");
        assert_eq!(c.max_concurrency, 1);
        assert_eq!(c.version, "$LATEST");
    }

    #[test]
    fn missing_or_bad_values_are_clear_errors() {
        let e = Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(e, ConfigError::MissingRuntimeApi);
        assert!(alloc::format!("{e}").contains("lambda-emulator"));
        let e = Config::from_lookup(lookup(&[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots"),
        ]))
        .unwrap_err();
        assert_eq!(
            e,
            ConfigError::NotANumber("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        );
        assert!(matches!(
            Config::from_lookup(lookup(&[("AWS_LAMBDA_RUNTIME_API", "https://x")])),
            Err(ConfigError::InvalidRuntimeApi(_))
        ));
    }
}
