//! [`Invocation`]: the metadata of one invocation, read from the head of its `/next` response.

use crate::id::{InvocationId, RemoteError, RequestId, TraceId};
use crate::time::{Deadline, EpochMillis};
use crate::wire::header::NextFields;
use crate::wire::{ResponseHead, header, parse_decimal};

/// The metadata of one invocation, copied out of the `/next` response headers.
///
/// The event payload stays with the driver; everything here is bounded and `no_std`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: RequestId,
    /// `Lambda-Runtime-Invocation-Id`, echoed on the `/response` or `/error` of this invocation.
    pub invocation_id: Option<InvocationId>,
    /// `Lambda-Runtime-Deadline-Ms`, if present and a number.
    pub deadline: Option<Deadline>,
    /// `Lambda-Runtime-Trace-Id`, if present and well-formed.
    pub trace_id: Option<TraceId>,
}

impl Invocation {
    /// Reads the invocation headers of a `/next` response.
    ///
    /// Only a missing, invalid or ambiguous request id is an error (two
    /// `Lambda-Runtime-Aws-Request-Id` fields with different values are
    /// [`RemoteError::ConflictingHeader`]: the answer could go to either invocation); a malformed
    /// deadline, trace id or invocation id is dropped (and logged) so that the invocation still
    /// runs. Other conflicting fields are for the caller to find ([`header::conflicting`]).
    pub fn from_head(head: &ResponseHead<'_>) -> Result<Self, RemoteError> {
        Self::from_fields(&NextFields::read(head))
    }

    /// [`from_head`](Self::from_head) of the head whose fields `fields` holds.
    pub(crate) fn from_fields(fields: &NextFields<'_>) -> Result<Self, RemoteError> {
        if fields.conflicting() == Some(header::REQUEST_ID) {
            return Err(RemoteError::ConflictingHeader(header::REQUEST_ID));
        }
        let request_id = match fields.get(header::REQUEST_ID) {
            None => return Err(RemoteError::MissingRequestId),
            Some(v) => RequestId::parse(v)?,
        };
        let invocation_id = non_empty(fields.get(header::INVOCATION_ID))
            .and_then(|v| ok_or_log(InvocationId::parse(v), &request_id));
        let trace_id = non_empty(fields.get(header::TRACE_ID))
            .and_then(|v| ok_or_log(TraceId::parse(v), &request_id));
        let deadline = non_empty(fields.get(header::DEADLINE_MS)).and_then(|v| {
            let parsed = parse_decimal(v).map(|ms| Deadline(EpochMillis(ms)));
            if parsed.is_none() {
                log::warn!(requestId = request_id.as_str(); "ignoring unparsable {}", header::DEADLINE_MS);
            }
            parsed
        });
        Ok(Self {
            request_id,
            invocation_id,
            deadline,
            trace_id,
        })
    }
}

fn non_empty(v: Option<&[u8]>) -> Option<&[u8]> {
    v.filter(|v| !v.is_empty())
}

fn ok_or_log<T>(r: Result<T, RemoteError>, id: &RequestId) -> Option<T> {
    r.map_err(|e| log::warn!(requestId = id.as_str(); "ignoring header: {e}"))
        .ok()
}
