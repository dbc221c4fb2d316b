//! The names of the Extensions API's `Lambda-Extension-*` header fields, in one place.
//!
//! Spelled as the Lambda documentation spells them, which is also how
//! [`Request::encode`](super::Request::encode) writes them; responses are read case-insensitively
//! ([`ResponseHead::header`](crate::wire::ResponseHead::header)).

/// `POST /extension/register`: the extension's name (an external extension's full file name).
pub const NAME: &str = "Lambda-Extension-Name";

/// `POST /extension/register`: optional features of the register response; only `accountId` is
/// recognised ([`ACCEPT_ACCOUNT_ID`]).
pub const ACCEPT_FEATURE: &str = "Lambda-Extension-Accept-Feature";

/// The value of [`ACCEPT_FEATURE`] that asks for `accountId` in the register response.
pub const ACCEPT_ACCOUNT_ID: &str = "accountId";

/// The register response's identifier of the extension, sent on every later request
/// (`event/next`, `init/error`, `exit/error`, the Telemetry API).
pub const IDENTIFIER: &str = "Lambda-Extension-Identifier";

/// `init/error` and `exit/error`: the error type (required; `Category.Reason` recommended).
pub const FUNCTION_ERROR_TYPE: &str = "Lambda-Extension-Function-Error-Type";

/// An `event/next` response to an INVOKE (sent by the RIE): an id of the event. Not needed by
/// this crate; named for emulators and tests.
pub const EVENT_IDENTIFIER: &str = "Lambda-Extension-Event-Identifier";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_extension_api_tokens() {
        let all = [
            NAME,
            ACCEPT_FEATURE,
            IDENTIFIER,
            FUNCTION_ERROR_TYPE,
            EVENT_IDENTIFIER,
        ];
        for (i, name) in all.iter().enumerate() {
            assert!(name.starts_with("Lambda-Extension-"), "{name}");
            assert!(
                name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
                "{name}"
            );
            assert!(!all[..i].iter().any(|n| n.eq_ignore_ascii_case(name)));
        }
    }
}
