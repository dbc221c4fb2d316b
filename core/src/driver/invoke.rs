//! Running the user's code: setup, and one handler run per invocation, with panics caught.

use alloc::format;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::task::Poll;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::diagnostic::Diagnostic;
use crate::error_type::ErrorType;
use crate::id::RequestId;
use crate::runner::{Handler, LambdaEvent};

/// A handler run's result: the serialised response, or the diagnostic to post.
pub(super) struct Handled {
    pub(super) id: RequestId,
    pub(super) result: Result<Vec<u8>, Diagnostic>,
}

/// Runs setup; a panic or an error becomes the init error's diagnostic.
pub(super) async fn setup<'a, H, Shared, Event, Return>(
    handler: &'a H,
    region: &'a str,
) -> Result<Shared, Diagnostic>
where
    H: Handler<Shared, Event, Return>,
{
    match catch_unwind(handler.setup(region)).await {
        Ok(Ok(shared)) => Ok(shared),
        Ok(Err(e)) => Err(Diagnostic::from_error(&e, ErrorType::SETUP_ERROR)),
        Err(panic) => Err(panic),
    }
}

/// Deserialises the event; a user `Deserialize` impl may panic on what the network sent.
pub(super) fn decode<Event: DeserializeOwned>(
    id: &RequestId,
    bytes: &[u8],
) -> Result<Event, Diagnostic> {
    match catch(|| crate::event::from_slice::<Event>(bytes))? {
        Ok(event) => Ok(event),
        Err(e) => {
            // Not the message: it may quote the event.
            log::warn!(
                requestId = id.as_str(), errorType = ErrorType::INVALID_EVENT;
                "event rejected: {:?} error at line {} column {}",
                e.classify(),
                e.line(),
                e.column()
            );
            Err(Diagnostic::invalid_event(&e))
        }
    }
}

/// One handler run: the event in, the serialised response (into `out`, reused) or the
/// diagnostic out.
pub(super) async fn run<'a, H, Shared, Event, Return>(
    handler: &'a H,
    shared: &'a Shared,
    event: LambdaEvent<'a, Event>,
    id: RequestId,
    mut out: Vec<u8>,
) -> Handled
where
    H: Handler<Shared, Event, Return>,
    Return: Serialize,
{
    let result = match catch_unwind(handler.run(shared, event)).await {
        // A user `Serialize` impl may panic too.
        Ok(Ok(value)) => catch(|| serialize_into(&mut out, &value).map(|()| out)).and_then(|r| {
            r.map_err(|e| {
                Diagnostic::new(
                    ErrorType::SERIALIZATION_ERROR,
                    format!("the handler's return value could not be serialised: {e}"),
                )
            })
        }),
        Ok(Err(e)) => Err(Diagnostic::from_error(&e, ErrorType::HANDLER_ERROR)),
        Err(panic) => Err(panic),
    };
    Handled { id, result }
}

/// Serialises `value` into `out`, reusing its allocation where serde_json can (with `std`).
fn serialize_into<T: Serialize>(out: &mut Vec<u8>, value: &T) -> serde_json::Result<()> {
    #[cfg(feature = "std")]
    {
        out.clear();
        serde_json::to_writer(out, value)
    }
    #[cfg(not(feature = "std"))]
    {
        *out = serde_json::to_vec(value)?;
        Ok(())
    }
}

/// Runs `f`, turning a panic into a [`Diagnostic`] (with `std`; without it, panics are not
/// caught).
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Diagnostic> {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .map_err(|payload| Diagnostic::panic(&*payload))
    }
    #[cfg(not(feature = "std"))]
    Ok(f())
}

/// Polls `fut`, turning a panic into a [`Diagnostic`] (see [`catch`]).
async fn catch_unwind<F: Future>(fut: F) -> Result<F::Output, Diagnostic> {
    let mut fut = core::pin::pin!(fut);
    poll_fn(move |cx| match catch(|| fut.as_mut().poll(cx)) {
        Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
        Ok(Poll::Pending) => Poll::Pending,
        Err(panic) => Poll::Ready(Err(panic)),
    })
    .await
}
