//! Bounded, validated values that go into Extensions API headers and bodies: the extension's
//! name, its identifier, an error type, the events it subscribes to.
//!
//! Like [`crate::id`], every value is checked before it is stored, against a length bound and a
//! set of bytes that is safe in a header value: nothing the network (or a caller) passes can put
//! a CR, LF or control byte into a request head, and nothing is ever truncated silently.

use core::fmt;

/// The longest extension name accepted, in bytes (a file name on Linux is at most 255 bytes).
pub const MAX_NAME_LEN: usize = 255;

/// The longest `Lambda-Extension-Identifier` accepted, in bytes (Lambda sends a 36-byte UUID).
pub const MAX_IDENTIFIER_LEN: usize = 128;

/// The longest `Lambda-Extension-Function-Error-Type` accepted, in bytes.
pub const MAX_ERROR_TYPE_LEN: usize = crate::error_type::MAX_ERROR_TYPE_LEN;

/// A name or error type the caller passed that cannot be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NameError {
    /// The value is empty.
    Empty,
    /// The value is longer than its bound (`max` bytes).
    TooLong {
        /// The value's length in bytes.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The byte at `at` may not go into a header value here (a control byte, non-ASCII, or a
    /// space at either end).
    InvalidByte {
        /// The byte's offset.
        at: usize,
    },
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty name"),
            Self::TooLong { len, max } => write!(f, "name of {len} bytes, at most {max} allowed"),
            Self::InvalidByte { at } => write!(f, "byte {at} of the name is not allowed"),
        }
    }
}

impl core::error::Error for NameError {}

/// The Extensions or Telemetry API sent something malformed or unexpected in a response head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProtocolError {
    /// A register response without `Lambda-Extension-Identifier`.
    MissingIdentifier,
    /// A `Lambda-Extension-Identifier` that is empty, longer than [`MAX_IDENTIFIER_LEN`] or
    /// has bytes other than ASCII letters, digits and `-`, `_`, `.`, `:`.
    InvalidIdentifier,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::MissingIdentifier => "missing extension identifier header",
            Self::InvalidIdentifier => "invalid extension identifier header",
        })
    }
}

impl core::error::Error for ProtocolError {}

/// Checks `bytes` against `max` and `allowed`, returning the first problem.
fn check(bytes: &[u8], max: usize, allowed: impl Fn(u8) -> bool) -> Result<(), NameError> {
    if bytes.is_empty() {
        return Err(NameError::Empty);
    }
    if bytes.len() > max {
        return Err(NameError::TooLong {
            len: bytes.len(),
            max,
        });
    }
    match bytes.iter().position(|&b| !allowed(b)) {
        Some(at) => Err(NameError::InvalidByte { at }),
        None => Ok(()),
    }
}

/// Copies validated ASCII into a bounded string (the caller checked the length).
fn copy<const N: usize>(bytes: &[u8]) -> heapless::String<N> {
    let mut s = heapless::String::new();
    for &b in bytes {
        // Validated: ASCII and at most N bytes, so a push cannot fail.
        let _ = s.push(char::from(b));
    }
    s
}

macro_rules! text_impls {
    ($name:ident) => {
        impl $name {
            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// `Lambda-Extension-Name`: printable ASCII (spaces only inside), 1 to [`MAX_NAME_LEN`] bytes.
///
/// An external extension must register with its executable's full file name; an internal one
/// with any other name.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExtensionName(heapless::String<MAX_NAME_LEN>);

impl ExtensionName {
    /// Validates and copies `name`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        let bytes = name.as_bytes();
        check(bytes, MAX_NAME_LEN, |b| (b' '..=b'~').contains(&b))?;
        if bytes.first() == Some(&b' ') {
            return Err(NameError::InvalidByte { at: 0 });
        }
        if bytes.last() == Some(&b' ') {
            return Err(NameError::InvalidByte {
                at: bytes.len() - 1,
            });
        }
        Ok(Self(copy(bytes)))
    }
}

text_impls!(ExtensionName);

/// `Lambda-Extension-Identifier`, from the register response: ASCII letters, digits and `-`,
/// `_`, `.`, `:`, 1 to [`MAX_IDENTIFIER_LEN`] bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExtensionId(heapless::String<MAX_IDENTIFIER_LEN>);

impl ExtensionId {
    /// Validates `bytes` (a header value) and copies it.
    pub fn parse(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':');
        check(bytes, MAX_IDENTIFIER_LEN, allowed)
            .map(|()| Self(copy(bytes)))
            .map_err(|_| ProtocolError::InvalidIdentifier)
    }

    /// The identifier in a register response head.
    pub fn from_head(head: &crate::wire::ResponseHead<'_>) -> Result<Self, ProtocolError> {
        let value = head
            .header(super::header::IDENTIFIER)
            .ok_or(ProtocolError::MissingIdentifier)?;
        Self::parse(value)
    }
}

text_impls!(ExtensionId);

/// `Lambda-Extension-Function-Error-Type`: visible ASCII (no spaces), 1 to
/// [`MAX_ERROR_TYPE_LEN`] bytes. Lambda accepts any string; `Category.Reason` is recommended
/// (`Extension.InitFailed`).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ExtensionErrorType(heapless::String<MAX_ERROR_TYPE_LEN>);

impl ExtensionErrorType {
    /// `Extension.Unknown`: what [`normalized`](Self::normalized) gives for a name with nothing
    /// usable in it.
    pub const UNKNOWN: &'static str = "Extension.Unknown";
    /// `Extension.InitFailed`: the extension's init step failed.
    pub const INIT_FAILED: &'static str = "Extension.InitFailed";
    /// `Extension.InvokeFailed`: the extension's per-invoke step failed.
    pub const INVOKE_FAILED: &'static str = "Extension.InvokeFailed";
    /// `Extension.ShutdownFailed`: the extension's shutdown step failed.
    pub const SHUTDOWN_FAILED: &'static str = "Extension.ShutdownFailed";
    /// `Extension.TelemetrySubscriptionRefused`: the Telemetry API refused the subscription.
    pub const SUBSCRIPTION_REFUSED: &'static str = "Extension.TelemetrySubscriptionRefused";

    /// Validates and copies `name`.
    pub fn new(name: &str) -> Result<Self, NameError> {
        let bytes = name.as_bytes();
        check(bytes, MAX_ERROR_TYPE_LEN, |b| b.is_ascii_graphic())?;
        Ok(Self(copy(bytes)))
    }

    /// `name` made sendable: bytes that are not visible ASCII are dropped and the rest is cut
    /// at [`MAX_ERROR_TYPE_LEN`] bytes; nothing left gives [`Self::UNKNOWN`]. For names that
    /// come from anywhere (an error's text); prefer [`new`](Self::new) for a fixed name.
    pub fn normalized(name: &str) -> Self {
        let mut out = heapless::String::new();
        for b in name.bytes().filter(u8::is_ascii_graphic) {
            if out.push(char::from(b)).is_err() {
                break;
            }
        }
        if out.is_empty() {
            let _ = out.push_str(Self::UNKNOWN);
        }
        Self(out)
    }
}

text_impls!(ExtensionErrorType);

impl From<&crate::error_type::ErrorType> for ExtensionErrorType {
    /// A normalised `Runtime.X` / `Function.X` type is always a valid extension error type.
    fn from(t: &crate::error_type::ErrorType) -> Self {
        Self::normalized(t.as_str())
    }
}

/// An event an extension can subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// `INVOKE`: woken for each invocation.
    Invoke,
    /// `SHUTDOWN`: told when the environment shuts down (external extensions only).
    Shutdown,
}

impl EventType {
    /// The name on the wire: `INVOKE` or `SHUTDOWN`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "INVOKE",
            Self::Shutdown => "SHUTDOWN",
        }
    }
}

/// The set of events an extension registers for; possibly empty (then `event/next` only marks
/// the extension ready and never returns).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Events {
    /// `INVOKE` is in the set.
    pub invoke: bool,
    /// `SHUTDOWN` is in the set.
    pub shutdown: bool,
}

impl Events {
    /// No events.
    pub const NONE: Self = Self {
        invoke: false,
        shutdown: false,
    };
    /// `INVOKE` only: what an internal extension may have.
    pub const INVOKE: Self = Self {
        invoke: true,
        shutdown: false,
    };
    /// `SHUTDOWN` only.
    pub const SHUTDOWN: Self = Self {
        invoke: false,
        shutdown: true,
    };
    /// `INVOKE` and `SHUTDOWN`.
    pub const ALL: Self = Self {
        invoke: true,
        shutdown: true,
    };

    /// Whether `event` is in the set.
    pub const fn contains(self, event: EventType) -> bool {
        match event {
            EventType::Invoke => self.invoke,
            EventType::Shutdown => self.shutdown,
        }
    }

    /// The register request's body: `{"events":[…]}`.
    pub const fn register_body(self) -> &'static str {
        match (self.invoke, self.shutdown) {
            (false, false) => r#"{"events":[]}"#,
            (true, false) => r#"{"events":["INVOKE"]}"#,
            (false, true) => r#"{"events":["SHUTDOWN"]}"#,
            (true, true) => r#"{"events":["INVOKE","SHUTDOWN"]}"#,
        }
    }
}

/// Who starts the extension, which decides what it may do and what its failures mean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Started by Lambda from `/opt/extensions`, a process of its own; named by its file name;
    /// may take `SHUTDOWN`. Its failures exit its process.
    External,
    /// A task in the runtime's process, registered before the runtime's first
    /// `/runtime/invocation/next`; may not take `SHUTDOWN`. Failing to register does not stop
    /// the function.
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["my-ext", "lambda insights", "a", "x.y_z~1"] {
            assert_eq!(ExtensionName::new(ok).unwrap().as_str(), ok);
        }
        let max = "n".repeat(MAX_NAME_LEN);
        assert!(ExtensionName::new(&max).is_ok());
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert_eq!(
            ExtensionName::new(&long),
            Err(NameError::TooLong {
                len: MAX_NAME_LEN + 1,
                max: MAX_NAME_LEN
            })
        );
        assert_eq!(ExtensionName::new(""), Err(NameError::Empty));
        for (bad, at) in [
            (" a", 0),
            ("a ", 1),
            ("a\r\nX: y", 1),
            ("a\tb", 1),
            ("é", 0),
        ] {
            assert_eq!(
                ExtensionName::new(bad),
                Err(NameError::InvalidByte { at }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn identifiers() {
        let uuid = "c6af9ac6-7b61-11e6-9a41-93e812345678";
        assert_eq!(ExtensionId::parse(uuid.as_bytes()).unwrap().as_str(), uuid);
        assert!(ExtensionId::parse(&[b'a'; MAX_IDENTIFIER_LEN]).is_ok());
        let long = [b'a'; MAX_IDENTIFIER_LEN + 1];
        for bad in [&b""[..], b"a b", b"a\r\nb", b"a/b", b"\xff", &long] {
            assert_eq!(
                ExtensionId::parse(bad),
                Err(ProtocolError::InvalidIdentifier),
                "{bad:?}"
            );
        }
        let head = crate::wire::ResponseHead::new(200);
        assert_eq!(
            ExtensionId::from_head(&head),
            Err(ProtocolError::MissingIdentifier)
        );
        let head = head.with_header("lambda-extension-identifier", uuid.as_bytes());
        assert_eq!(ExtensionId::from_head(&head).unwrap().as_str(), uuid);
    }

    #[test]
    fn error_types() {
        for name in [
            ExtensionErrorType::UNKNOWN,
            ExtensionErrorType::INIT_FAILED,
            ExtensionErrorType::INVOKE_FAILED,
            ExtensionErrorType::SHUTDOWN_FAILED,
            ExtensionErrorType::SUBSCRIPTION_REFUSED,
        ] {
            assert_eq!(ExtensionErrorType::new(name).unwrap().as_str(), name);
        }
        assert_eq!(
            ExtensionErrorType::new("a b"),
            Err(NameError::InvalidByte { at: 1 })
        );
        assert!(ExtensionErrorType::new(&"x".repeat(MAX_ERROR_TYPE_LEN + 1)).is_err());
        let n = ExtensionErrorType::normalized;
        assert_eq!(n("Extension.Bad thing\r\n").as_str(), "Extension.Badthing");
        assert_eq!(n(" \u{e9}\n").as_str(), ExtensionErrorType::UNKNOWN);
        assert_eq!(n(&"y".repeat(100)).as_str().len(), MAX_ERROR_TYPE_LEN);
        let t = crate::error_type::ErrorType::new("Function.Oops");
        assert_eq!(ExtensionErrorType::from(&t).as_str(), "Function.Oops");
    }

    #[test]
    fn register_bodies() {
        assert_eq!(Events::NONE.register_body(), r#"{"events":[]}"#);
        assert_eq!(Events::INVOKE.register_body(), r#"{"events":["INVOKE"]}"#);
        assert_eq!(
            Events::SHUTDOWN.register_body(),
            r#"{"events":["SHUTDOWN"]}"#
        );
        assert_eq!(
            Events::ALL.register_body(),
            r#"{"events":["INVOKE","SHUTDOWN"]}"#
        );
        assert!(Events::ALL.contains(EventType::Shutdown));
        assert!(!Events::INVOKE.contains(EventType::Shutdown));
        assert_eq!(EventType::Invoke.as_str(), "INVOKE");
    }
}
