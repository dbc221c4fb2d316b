//! The user-facing API: implement [`Runner`] and hand it to an executor adapter.

use crate::context::Context;

/// A Lambda function: `setup` once per execution environment, `run` once per invocation.
///
/// `Shared` is data built by `setup` and lent to every `run` (use interior mutability to change
/// it); `Event` is deserialised from the invocation's JSON payload (`()` accepts any event), and
/// `Return` is serialised as the response.
///
/// Both methods are `async fn`s; their futures are never sent to another thread, so they need
/// not be `Send` (with `AWS_LAMBDA_MAX_CONCURRENCY` > 1, concurrent invocations run as
/// concurrent futures on one thread).
///
/// Errors: return any error through `anyhow`; see [`Diagnostic`](crate::Diagnostic) for how
/// its `errorType` is chosen and how to choose your own.
///
/// ```
/// struct Runner;
/// impl<'a> lambda_runtime_types::Runner<'a, (), (), ()> for Runner {
///     async fn run(shared: &'a (), event: lambda_runtime_types::LambdaEvent<'a, ()>) -> anyhow::Result<()> {
///         // Run code on every invocation
///         Ok(())
///     }
///     async fn setup(_region: &'a str) -> anyhow::Result<()> {
///         // Setup logging to make sure that errors are printed
///         Ok(())
///     }
/// }
/// ```
#[allow(async_fn_in_trait)] // The driver never requires `Send` futures; see above.
pub trait Runner<'a, Shared, Event, Return>
where
    Shared: 'a,
    Event: 'a,
{
    /// Runs once per execution environment, before the first invocation, with the function's
    /// region. An error is reported to `/runtime/init/error` and the process exits.
    async fn setup(region: &'a str) -> anyhow::Result<Shared>;

    /// Runs once per invocation. `Ok` is serialised and posted as the response; `Err` is
    /// posted as the invocation's error.
    async fn run(shared: &'a Shared, event: LambdaEvent<'a, Event>) -> anyhow::Result<Return>;
}

/// One invocation: the deserialised event, the region and the invocation's [`Context`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LambdaEvent<'a, Event> {
    /// The event payload.
    pub event: Event,
    /// The function's region (`AWS_REGION`).
    pub region: &'a str,
    /// The invocation's context.
    pub ctx: Context,
}

impl<'a, Event> LambdaEvent<'a, Event> {
    /// An invocation of `event`, e.g. to call [`Runner::run`] in a unit test.
    pub fn new(event: Event, region: &'a str, ctx: Context) -> Self {
        Self { event, region, ctx }
    }
}
