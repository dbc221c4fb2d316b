//! The error body posted to `/invocation/{id}/error` and `/runtime/init/error`.
//!
//! # How `errorType` is chosen
//!
//! Handlers return `anyhow::Result`, so the runtime cannot see the Rust type of an error (and a
//! Rust type name such as `&alloc::boxed::Box<dyn core::error::Error>` would mean nothing to a
//! person reading CloudWatch anyway). Instead:
//!
//! - An error that is, or whose cause chain contains, a [`Diagnostic`] is posted as that
//!   diagnostic: this is how a handler chooses its own `errorType`
//!   (`Err(Diagnostic::new("Function.Validation", "name is required"))?`, or
//!   `.context(Diagnostic::new(…))` on any `Result`).
//! - Any other error is posted as `Function.HandlerError` (from `run`) or `Function.SetupError`
//!   (from `setup`), with the error's message as `errorMessage` and the messages of its cause
//!   chain as `stackTrace`.
//! - Failures the runtime detects have `Runtime.*` types: see the constants on
//!   [`ErrorType`].
//!
//! Every type is normalised by [`ErrorType::new`](crate::error_type::ErrorType::new) to
//! `(Runtime|Function).Reason`, which Lambda keeps; the same value is sent in the
//! `Lambda-Runtime-Function-Error-Type` header and the body.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error_type::ErrorType;
use crate::lifecycle::{ErrorCause, MAX_PAYLOAD_BYTES};
use crate::time::Deadline;

/// An error report: `{"errorType": …, "errorMessage": …, "stackTrace": […]}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostic {
    /// The error category, normalised to `Runtime.X` / `Function.X` when sent.
    #[serde(serialize_with = "serialize_error_type")]
    pub error_type: Cow<'static, str>,
    /// A human-readable message.
    pub error_message: String,
    /// Further lines: the cause chain, a panic location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack_trace: Vec<String>,
}

#[allow(clippy::ptr_arg)] // serde's `serialize_with` passes the field's own type.
fn serialize_error_type<S: serde::Serializer>(
    t: &Cow<'static, str>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(ErrorType::new(t).as_str())
}

impl Diagnostic {
    /// A diagnostic with the given type (normalised when sent) and message.
    pub fn new(error_type: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: message.into(),
            stack_trace: Vec::new(),
        }
    }

    /// The normalised error type, as sent in the header and the body.
    pub fn error_type(&self) -> ErrorType {
        ErrorType::new(&self.error_type)
    }

    /// The diagnostic for an error from `run` (`default_type` = [`ErrorType::HANDLER_ERROR`]) or
    /// `setup` ([`ErrorType::SETUP_ERROR`]); see the [module docs](self).
    pub fn from_error(err: &anyhow::Error, default_type: &'static str) -> Self {
        let chain = || {
            err.chain()
                .map(|e| e as &(dyn core::error::Error + 'static))
        };
        // `downcast_ref` on the `anyhow::Error` also finds a `.context(Diagnostic)`.
        let found = err.downcast_ref::<Diagnostic>();
        if let Some(d) = found.or_else(|| chain().find_map(|e| e.downcast_ref::<Diagnostic>())) {
            return d.clone();
        }
        let mut d = Self::new(default_type, err.to_string());
        d.stack_trace = chain().skip(1).map(|e| format!("caused by: {e}")).collect();
        d
    }

    /// The diagnostic for an event that did not deserialise into the handler's `Event` type;
    /// the message says whether the event is not JSON at all or JSON of another shape, names the
    /// problem and where in the JSON it is (line and column).
    pub fn invalid_event(err: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        let what = match err.classify() {
            Category::Syntax | Category::Eof => "the event is not valid JSON",
            Category::Data | Category::Io => {
                "the event is JSON but does not fit the handler's Event type"
            }
        };
        Self::new(ErrorType::INVALID_EVENT, format!("{what}: {err}"))
    }

    /// The diagnostic for a handler panic with the given panic payload.
    pub fn panic(payload: &(dyn core::any::Any + Send)) -> Self {
        let msg = panic_message(payload).unwrap_or("panic with a non-string payload");
        Self::new(ErrorType::PANIC, format!("the handler panicked: {msg}"))
    }

    /// The diagnostic for an error the lifecycle detected. `None` for
    /// [`ErrorCause::Handler`], whose diagnostic the driver already holds.
    pub fn from_cause(cause: ErrorCause) -> Option<Self> {
        let error_type = cause.error_type()?;
        let message = match cause {
            ErrorCause::Handler => return None,
            ErrorCause::Timeout {
                deadline,
                margin_ms,
                budget_ms,
            } => timeout_message(deadline, margin_ms, budget_ms),
            ErrorCause::BlockedTimeout {
                deadline,
                margin_ms,
                budget_ms,
            } => {
                let mut m = timeout_message(deadline, margin_ms, budget_ms);
                m.push_str(" (the handler is blocking its thread)");
                m
            }
            ErrorCause::ResponseTooLarge { len } => format!(
                "the response is {len} bytes; a buffered response may be at most \
                 {MAX_PAYLOAD_BYTES} bytes"
            ),
            ErrorCause::EventTruncated => {
                "the event's body was cut off before it was complete; the handler was not called"
                    .into()
            }
            ErrorCause::EventMalformed { header } => format!(
                "the event's head has {header} twice, with different values; the handler was \
                 not called"
            ),
            ErrorCause::EventTooLarge { len } => format!(
                "the event is over {} bytes ({len} read); at most {MAX_PAYLOAD_BYTES} are \
                 accepted",
                len.min(MAX_PAYLOAD_BYTES as u64)
            ),
            ErrorCause::OutOfMemory {
                used_mb,
                size_mb,
                threshold_percent,
            } => format!(
                "the process uses {used_mb} MiB of the function's {size_mb} MiB, over the \
                 {threshold_percent} % threshold; the environment exits so that Lambda replaces it"
            ),
            ErrorCause::Shutdown => {
                "the execution environment was shut down (SIGTERM) while the invocation ran".into()
            }
        };
        Some(Self::new(error_type, message))
    }

    /// The JSON body, bounded: `errorMessage` is cut after [`MAX_ERROR_MESSAGE_BYTES`] and the
    /// `stackTrace` lines after [`MAX_STACK_TRACE_BYTES`] in all, each cut saying so
    /// (`… (truncated: N bytes)`, N the whole length), so that the body is at most
    /// [`MAX_ERROR_BODY_BYTES`] however the text escapes.
    pub fn to_json(&self) -> Vec<u8> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            error_type: &'a str,
            error_message: Cow<'a, str>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            stack_trace: Vec<Cow<'a, str>>,
        }
        let error_type = self.error_type();
        let body = Body {
            error_type: error_type.as_str(),
            error_message: cut(&self.error_message, MAX_ERROR_MESSAGE_BYTES),
            stack_trace: cut_lines(&self.stack_trace, MAX_STACK_TRACE_BYTES),
        };
        // Serialising strings and a list of strings into a Vec cannot fail.
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// How much of an `errorMessage` is posted, in bytes: a longer one is cut there (at a character
/// boundary) and a mark of about 40 bytes saying how long it was is added.
pub const MAX_ERROR_MESSAGE_BYTES: usize = 32 << 10;

/// The most bytes of `stackTrace` lines posted, in all, each line charged 3 bytes more for its
/// JSON (the lines past it are left out, and a line says how many).
pub const MAX_STACK_TRACE_BYTES: usize = 32 << 10;

/// The largest error body [`Diagnostic::to_json`] makes: the message and stack trace at their
/// bounds, each byte escaped to the 6 of `\u00XX` at worst, the cut marks, the error type and
/// the JSON around them; 388 KiB, well under the 1 MiB that Lambda Managed Instances accept on
/// `/error` and `/runtime/init/error` (a larger body gets 413, and the invocation then ends only
/// when it times out).
pub const MAX_ERROR_BODY_BYTES: usize =
    6 * (MAX_ERROR_MESSAGE_BYTES + MAX_STACK_TRACE_BYTES) + 4 * 1024;

/// `text`, or its first `max` bytes (at a character boundary) and a mark saying how long it was.
fn cut(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max {
        return Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… (truncated: {} bytes)",
        &text[..end],
        text.len()
    ))
}

/// The JSON a stack line costs beyond its bytes: its quotes and the comma after it. Charging it
/// bounds the number of lines too (empty lines are not free), so the body stays within
/// [`MAX_ERROR_BODY_BYTES`] however the trace is made.
const LINE_OVERHEAD: usize = 3;

/// The first of `lines` that fit `max` bytes in all, each charged [`LINE_OVERHEAD`] more (the
/// last one cut), then, if any were left out, a line saying how many.
fn cut_lines(lines: &[String], max: usize) -> Vec<Cow<'_, str>> {
    let mut left = max;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let cost = line.len() + LINE_OVERHEAD;
        if cost > left {
            let room = left.saturating_sub(LINE_OVERHEAD);
            let kept_part = room > 0;
            if kept_part {
                out.push(cut(line, room));
            }
            let rest = &lines[i + usize::from(kept_part)..];
            if !rest.is_empty() {
                let bytes: usize = rest.iter().map(String::len).sum();
                out.push(Cow::Owned(format!(
                    "… (truncated: {} more lines, {bytes} bytes)",
                    rest.len()
                )));
            }
            break;
        }
        left -= cost;
        out.push(Cow::Borrowed(line.as_str()));
    }
    out
}

/// The message of a panic whose payload is a string (`panic!` with a message), if it is one.
pub(crate) fn panic_message(payload: &(dyn core::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

fn timeout_message(deadline: Deadline, margin_ms: u64, budget_ms: u64) -> String {
    format!(
        "the handler ran into the function's timeout of about {}: it had not finished {margin_ms} \
         ms before the invocation's deadline, {}, and was stopped",
        Seconds(budget_ms),
        deadline.at().utc()
    )
}

/// Milliseconds shown as seconds with one decimal (`3.0 s`), or as milliseconds below 1 s.
struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ms @ 0..1_000 => write!(f, "{ms} ms"),
            ms => write!(f, "{}.{} s", ms / 1_000, ms % 1_000 / 100),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_type(), self.error_message)
    }
}

impl core::error::Error for Diagnostic {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Deadline, EpochMillis};
    use anyhow::Context as _;

    #[test]
    fn a_huge_error_is_posted_cut_and_says_so() {
        let mut d = Diagnostic::new(ErrorType::HANDLER_ERROR, "é".repeat(1 << 20));
        d.stack_trace = (0..100_000).map(|i| format!("frame {i}")).collect();
        let json = d.to_json();
        assert!(json.len() <= MAX_ERROR_BODY_BYTES, "{}", json.len());
        const { assert!(MAX_ERROR_BODY_BYTES < 1 << 19, "well under 1 MiB") };
        let back: Diagnostic = serde_json::from_slice(&json).unwrap();
        assert!(back.error_message.starts_with("éé"));
        assert!(
            back.error_message.ends_with("… (truncated: 2097152 bytes)"),
            "{}",
            &back.error_message[back.error_message.len() - 40..]
        );
        assert!(back.error_message.len() <= MAX_ERROR_MESSAGE_BYTES + 40);
        assert_eq!(back.stack_trace[0], "frame 0");
        let last = back.stack_trace.last().unwrap();
        assert!(
            last.starts_with("… (truncated: ") && last.contains("more lines"),
            "{last}"
        );
        let kept: usize = back.stack_trace.iter().map(String::len).sum();
        assert!(kept <= MAX_STACK_TRACE_BYTES + 80, "{kept}");
    }

    #[test]
    fn the_worst_escaping_stays_within_the_bound() {
        let mut d = Diagnostic::new(ErrorType::HANDLER_ERROR, "\u{1}".repeat(1 << 20));
        d.stack_trace = alloc::vec!["\u{2}".repeat(1 << 20), "next".into()];
        let json = d.to_json();
        assert!(json.len() <= MAX_ERROR_BODY_BYTES, "{}", json.len());
        let back: Diagnostic = serde_json::from_slice(&json).unwrap();
        assert_eq!(back.stack_trace.len(), 2, "the cut line, then the mark");
    }

    #[test]
    fn many_short_or_empty_lines_stay_within_the_bound() {
        for line in ["", "\u{1}"] {
            let mut d = Diagnostic::new(ErrorType::HANDLER_ERROR, "\u{1}".repeat(1 << 20));
            d.stack_trace = alloc::vec![line.to_string(); 400_000];
            let json = d.to_json();
            assert!(
                json.len() <= MAX_ERROR_BODY_BYTES,
                "{line:?}: {}",
                json.len()
            );
            let back: Diagnostic = serde_json::from_slice(&json).unwrap();
            let last = back.stack_trace.last().unwrap();
            assert!(last.contains("more lines"), "{line:?}: {last}");
            let kept = back.stack_trace.len() - 1;
            assert!(
                kept * (line.len() + LINE_OVERHEAD) <= MAX_STACK_TRACE_BYTES,
                "{line:?}: {kept} lines kept"
            );
            assert!(kept > 1000, "{line:?}: only {kept} lines kept");
        }
    }

    #[test]
    fn small_errors_are_posted_whole() {
        let mut d = Diagnostic::new("Function.Validation", "x".repeat(MAX_ERROR_MESSAGE_BYTES));
        d.stack_trace = alloc::vec!["a".into(), "b".into()];
        let back: Diagnostic = serde_json::from_slice(&d.to_json()).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn serialises_with_lambda_field_names() {
        let mut d = Diagnostic::new("Function.Validation", "name is required");
        assert_eq!(
            d.to_json(),
            br#"{"errorType":"Function.Validation","errorMessage":"name is required"}"#
        );
        d.stack_trace.push("caused by: x".into());
        assert_eq!(
            d.to_json(),
            br#"{"errorType":"Function.Validation","errorMessage":"name is required","stackTrace":["caused by: x"]}"#
        );
    }

    #[test]
    fn header_and_body_types_agree_even_for_odd_names() {
        let d = Diagnostic::new("&alloc::boxed::Box<dyn core::error::Error>", "m");
        let body: serde_json::Value = serde_json::from_slice(&d.to_json()).unwrap();
        assert_eq!(body["errorType"], d.error_type().as_str());
        assert!(d.error_type().as_str().starts_with("Function."));
    }

    #[test]
    fn anyhow_errors_get_a_readable_type_and_their_cause_chain() {
        let err = anyhow::anyhow!("disk full").context("saving the order");
        let d = Diagnostic::from_error(&err, ErrorType::HANDLER_ERROR);
        assert_eq!(d.error_type, "Function.HandlerError");
        assert_eq!(d.error_message, "saving the order");
        assert_eq!(d.stack_trace, ["caused by: disk full"]);
    }

    #[test]
    fn a_diagnostic_anywhere_in_the_chain_chooses_the_type() {
        let err = anyhow::Error::new(Diagnostic::new("Function.Validation", "bad name"));
        let d = Diagnostic::from_error(&err, ErrorType::HANDLER_ERROR);
        assert_eq!(
            (&*d.error_type, &*d.error_message),
            ("Function.Validation", "bad name")
        );
        let r: Result<(), _> = Err(anyhow::anyhow!("root"));
        let err = r
            .context(Diagnostic::new("Function.Upstream", "upstream failed"))
            .unwrap_err();
        let d = Diagnostic::from_error(&err, ErrorType::HANDLER_ERROR);
        assert_eq!(d.error_type, "Function.Upstream");
    }

    #[test]
    fn invalid_event_says_where_and_whether_it_is_json_at_all() {
        let err = serde_json::from_slice::<u32>(b"\n  \"x\"").unwrap_err();
        let d = Diagnostic::invalid_event(&err);
        assert_eq!(d.error_type, ErrorType::INVALID_EVENT);
        assert!(
            d.error_message
                .starts_with("the event is JSON but does not fit")
                && d.error_message.contains("line 2 column"),
            "{}",
            d.error_message
        );
        for not_json in [&b"{\"a\": "[..], b"hello", b"{\"a\" 1}"] {
            let err = serde_json::from_slice::<serde_json::Value>(not_json).unwrap_err();
            let d = Diagnostic::invalid_event(&err);
            assert!(
                d.error_message.starts_with("the event is not valid JSON: "),
                "{}",
                d.error_message
            );
        }
    }

    #[test]
    fn causes_describe_themselves() {
        assert_eq!(Diagnostic::from_cause(ErrorCause::Handler), None);
        let t = ErrorCause::Timeout {
            deadline: Deadline(EpochMillis(1_796_164_331_053)),
            margin_ms: 100,
            budget_ms: 3_000,
        };
        let d = Diagnostic::from_cause(t).unwrap();
        assert_eq!(d.error_type, ErrorType::TIMEOUT);
        assert_eq!(
            d.error_message,
            "the handler ran into the function's timeout of about 3.0 s: it had not finished \
             100 ms before the invocation's deadline, 2026-12-01T22:32:11.053Z, and was stopped"
        );
        let blocked = ErrorCause::BlockedTimeout {
            deadline: Deadline(EpochMillis(900)),
            margin_ms: 0,
            budget_ms: 900,
        };
        let d = Diagnostic::from_cause(blocked).unwrap();
        assert!(
            d.error_message.contains("about 900 ms"),
            "{}",
            d.error_message
        );
        assert!(
            d.error_message
                .ends_with("(the handler is blocking its thread)")
        );
        let big = Diagnostic::from_cause(ErrorCause::ResponseTooLarge { len: 7 << 20 }).unwrap();
        assert!(big.error_message.contains("7340032"));
    }

    #[test]
    fn panic_payloads() {
        let s: &(dyn core::any::Any + Send) = &"boom";
        assert!(Diagnostic::panic(s).error_message.ends_with("boom"));
        let s: &(dyn core::any::Any + Send) = &String::from("bang");
        assert!(Diagnostic::panic(s).error_message.ends_with("bang"));
        let s: &(dyn core::any::Any + Send) = &7u8;
        assert_eq!(Diagnostic::panic(s).error_type, ErrorType::PANIC);
    }
}
