//! `errorType` values that survive the trip to CloudWatch.
//!
//! Lambda and the AWS Runtime Interface Emulator keep a `Lambda-Runtime-Function-Error-Type`
//! header only if it matches `(Runtime|Function)\.[A-Z][a-zA-Z]+`; anything else is replaced by
//! `Runtime.Unknown`. [`ErrorType`] therefore always holds a value of exactly that shape, and the
//! same value goes into the `errorType` field of the JSON body, so the header and the body agree.

use core::fmt;

/// The longest error type kept, in bytes (longer names are cut at a letter boundary).
pub const MAX_ERROR_TYPE_LEN: usize = 64;

/// A normalised error category: `Runtime.Reason` or `Function.Reason`.
///
/// `Runtime.*` types are errors the runtime itself detected (bad event, timeout, response too
/// large); `Function.*` types come from the user's code (an `Err` from `setup` or `run`, a panic).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ErrorType(heapless::String<MAX_ERROR_TYPE_LEN>);

impl ErrorType {
    /// `Function.HandlerError`: `run` returned an error that did not choose its own type.
    pub const HANDLER_ERROR: &'static str = "Function.HandlerError";
    /// `Function.SetupError`: `setup` returned an error (reported on `/runtime/init/error`).
    pub const SETUP_ERROR: &'static str = "Function.SetupError";
    /// `Function.Panic`: the handler panicked.
    pub const PANIC: &'static str = "Function.Panic";
    /// `Runtime.InvalidEvent`: the event did not deserialise into the handler's `Event` type.
    pub const INVALID_EVENT: &'static str = "Runtime.InvalidEvent";
    /// `Runtime.EventTooLarge`: the event was larger than the runtime accepts.
    pub const EVENT_TOO_LARGE: &'static str = "Runtime.EventTooLarge";
    /// `Runtime.TruncatedEvent`: the event's body was cut off on its way in.
    pub const TRUNCATED_EVENT: &'static str = "Runtime.TruncatedEvent";
    /// `Runtime.MalformedEvent`: the event's head had a `Lambda-Runtime-*` field twice, with
    /// different values.
    pub const MALFORMED_EVENT: &'static str = "Runtime.MalformedEvent";
    /// `Runtime.HandlerTimeout`: the handler did not finish before the deadline minus the margin.
    pub const TIMEOUT: &'static str = "Runtime.HandlerTimeout";
    /// `Runtime.ResponseTooLarge`: the response is larger than a buffered response may be.
    pub const RESPONSE_TOO_LARGE: &'static str = "Runtime.ResponseTooLarge";
    /// `Runtime.SerializationError`: the handler's return value could not be serialised.
    pub const SERIALIZATION_ERROR: &'static str = "Runtime.SerializationError";
    /// `Runtime.OutOfMemory`: the process came close to the function's memory size.
    pub const OUT_OF_MEMORY: &'static str = "Runtime.OutOfMemory";
    /// `Runtime.Shutdown`: the environment was shut down while the invocation ran.
    pub const SHUTDOWN: &'static str = "Runtime.Shutdown";

    /// Normalises any name into `Runtime.X` / `Function.X`.
    ///
    /// A name already of that shape is kept. Otherwise the category is `Runtime` if the name starts
    /// with `Runtime.` and `Function` in every other case, and the reason is the name's letters in
    /// UpperCamelCase (`"invalid input"` → `Function.InvalidInput`, `"my_crate::Error"` →
    /// `Function.MyCrateError`); a name without letters becomes `Function.Unknown`.
    pub fn new(name: &str) -> Self {
        let (category, rest) = if let Some(rest) = name.strip_prefix("Runtime.") {
            ("Runtime.", rest)
        } else {
            ("Function.", name.strip_prefix("Function.").unwrap_or(name))
        };
        let mut out = heapless::String::new();
        let _ = out.push_str(category);
        let mut upper_next = true;
        for c in rest.chars() {
            if c.is_ascii_alphabetic() {
                let c = if upper_next {
                    c.to_ascii_uppercase()
                } else {
                    c
                };
                if out.push(c).is_err() {
                    break;
                }
                upper_next = false;
            } else {
                upper_next = true;
            }
        }
        if out.len() == category.len() {
            out.clear();
            let _ = out.push_str("Function.Unknown");
        }
        // A single letter does not satisfy `[A-Z][a-zA-Z]+`; make it a word.
        if out.len() == category.len() + 1 {
            let _ = out.push_str("Error");
        }
        Self(out)
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(Runtime|Function)\.[A-Z][a-zA-Z]+`, anchored, as Lambda checks it.
    fn lambda_keeps(s: &str) -> bool {
        let rest = s
            .strip_prefix("Runtime.")
            .or_else(|| s.strip_prefix("Function."));
        rest.is_some_and(|r| {
            r.len() >= 2
                && r.as_bytes()[0].is_ascii_uppercase()
                && r.bytes().all(|b| b.is_ascii_alphabetic())
        })
    }

    #[test]
    fn constants_are_kept_unchanged() {
        for c in [
            ErrorType::HANDLER_ERROR,
            ErrorType::SETUP_ERROR,
            ErrorType::PANIC,
            ErrorType::INVALID_EVENT,
            ErrorType::EVENT_TOO_LARGE,
            ErrorType::TRUNCATED_EVENT,
            ErrorType::TIMEOUT,
            ErrorType::RESPONSE_TOO_LARGE,
            ErrorType::SERIALIZATION_ERROR,
            ErrorType::OUT_OF_MEMORY,
            ErrorType::SHUTDOWN,
        ] {
            assert_eq!(ErrorType::new(c).as_str(), c);
            assert!(lambda_keeps(c), "{c}");
        }
    }

    #[test]
    fn normalises_rust_type_names_and_free_text() {
        for (input, want) in [
            (
                "&alloc::boxed::Box<dyn core::error::Error>",
                "Function.AllocBoxedBoxDynCoreErrorError",
            ),
            ("invalid input", "Function.InvalidInput"),
            ("Runtime.bad_thing", "Runtime.BadThing"),
            ("Function.Validation", "Function.Validation"),
            ("", "Function.Unknown"),
            ("42", "Function.Unknown"),
            ("x", "Function.XError"),
            ("Runtime.", "Function.Unknown"),
        ] {
            let got = ErrorType::new(input);
            assert_eq!(got.as_str(), want, "{input}");
            assert!(lambda_keeps(got.as_str()), "{input}");
        }
    }

    #[test]
    fn long_names_are_cut_not_rejected() {
        let long = "a".repeat(200);
        let t = ErrorType::new(&long);
        assert_eq!(t.as_str().len(), MAX_ERROR_TYPE_LEN);
        assert!(lambda_keeps(t.as_str()));
    }
}
