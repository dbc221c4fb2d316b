//! Fault injection: make the next matching Runtime API call misbehave.

use std::time::Duration;

use crate::records::Endpoint;

/// Which Runtime API call a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Target {
    /// The next `GET .../invocation/next` that delivers an event.
    Next,
    /// The next `POST .../invocation/{id}/response`.
    Response,
    /// The next `POST .../invocation/{id}/error`.
    Error,
    /// The next `POST .../init/error`.
    InitError,
    /// The next call to any of the above that the fault applies to.
    Any,
}

impl Target {
    pub(crate) fn matches(self, endpoint: Endpoint) -> bool {
        matches!(
            (self, endpoint),
            (Target::Next, Endpoint::Next)
                | (Target::Response, Endpoint::Response)
                | (Target::Error, Endpoint::Error)
                | (Target::InitError, Endpoint::InitError)
                | (
                    Target::Any,
                    Endpoint::Next | Endpoint::Response | Endpoint::Error | Endpoint::InitError
                )
        )
    }
}

/// A misbehaviour of the Runtime API, applied once to the next call its [`Target`] matches.
///
/// Faults are consumed in the order they were injected. Every fault on `/next` waits for a
/// `/next` call that has an event to deliver (one that delivers nothing meanwhile is answered
/// normally), and a fault that only makes sense for `/next` (the header and deadline faults)
/// or only for a post ([`Fault::Expire`]) waits for such a call, even with [`Target::Any`].
///
/// Faults given to one invocation ([`crate::Invoke::fault`]) apply to the calls about that
/// invocation only: the `/next` that would deliver it and the posts for its request id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this status and an RIE-style `{"errorMessage","errorType"}` body *instead
    /// of* handling the call: a `/next` delivers no event, a post is not accepted.
    Status(u16),
    /// Handle the call, send the response head announcing the full `Content-Length`, then
    /// half of the body, then close the connection.
    DropConnection,
    /// Close the connection without answering (not even a status line), *instead of*
    /// handling the call: a `/next` delivers no event (the invocation waits for the next
    /// `/next`), a post is read in full and then not taken. The call is recorded as
    /// abandoned.
    Hangup,
    /// Handle the call and send the whole answer, then close the connection, without a
    /// `Connection: close` header: as a server that drops an idle keep-alive connection,
    /// so a request the function sends on it next fails.
    CloseAfterAnswer,
    /// Posts only (`/response`, `/error`): the invocation times out just as the post arrives.
    /// The invoker gets `Sandbox.Timedout` as at any timeout (with
    /// [`crate::Options::concurrency`] the process keeps running, without it the function is
    /// reset) and the post `410 InvokeTimeout`, the answer Lambda gives to a late report.
    Expire,
    /// Wait this long before handling the call.
    Delay(Duration),
    /// Handle the call but send only the first half of the body, with a `Content-Length`
    /// that matches (valid framing, truncated content: e.g. an event that is not valid JSON).
    TruncateBody,
    /// Handle the call but send malformed header values: on `/next` a non-numeric
    /// `Lambda-Runtime-Deadline-Ms` and non-UTF-8 bytes in `Lambda-Runtime-Trace-Id` and
    /// `Lambda-Runtime-Invoked-Function-Arn`; on posts a garbage `Content-Type`.
    GarbageHeaders,
    /// `/next` only: deliver the event without `Lambda-Runtime-Aws-Request-Id`.
    MissingRequestId,
    /// `/next` only: deliver the event with a `Lambda-Runtime-Deadline-Ms` one second in the
    /// past. The emulator's own timer is unchanged.
    DeadlinePast,
    /// `/next` only: deliver the event with `Lambda-Runtime-Deadline-Ms: 18446744073709551615`
    /// (`u64::MAX`). The emulator's own timer is unchanged.
    DeadlineAbsurd,
    /// `/next` only: deliver the event with this exact `Lambda-Runtime-Deadline-Ms` (e.g. a
    /// small constant, as cargo-lambda sends). The emulator's own timer is unchanged.
    Deadline(u64),
}

impl Fault {
    /// Whether this fault can apply to a call to `endpoint`.
    pub(crate) fn applies_to(&self, endpoint: Endpoint) -> bool {
        match self {
            Fault::MissingRequestId
            | Fault::DeadlinePast
            | Fault::DeadlineAbsurd
            | Fault::Deadline(_) => endpoint == Endpoint::Next,
            Fault::Expire => matches!(endpoint, Endpoint::Response | Endpoint::Error),
            _ => true,
        }
    }
}
