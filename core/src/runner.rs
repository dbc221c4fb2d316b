//! The user-facing API: implement [`Runner`] and hand it to an executor adapter.

use core::fmt;
use core::marker::PhantomData;

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

/// What the driver runs: set up once, then called per invocation. The three entry forms — a
/// [`Runner`] type, a `Runner` value, a closure — all become one; implement it yourself only
/// for a form of your own.
#[allow(async_fn_in_trait)] // The driver never requires `Send` futures.
pub trait Handler<Shared, Event, Return> {
    /// Once per execution environment (see [`Runner::setup`]): builds the data every invocation
    /// borrows.
    async fn setup<'a>(&'a self, region: &'a str) -> anyhow::Result<Shared>;

    /// Once per invocation (see [`Runner::run`]).
    async fn run<'a>(
        &'a self,
        shared: &'a Shared,
        event: LambdaEvent<'a, Event>,
    ) -> anyhow::Result<Return>;
}

/// A [`Runner`] type as a [`Handler`].
pub struct RunnerHandler<R, Shared>(PhantomData<fn() -> (R, Shared)>);

impl<R, Shared> RunnerHandler<R, Shared> {
    /// The handler of the runner `R`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<R, Shared> Default for RunnerHandler<R, Shared> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R, Shared> fmt::Debug for RunnerHandler<R, Shared> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(core::any::type_name::<R>())
    }
}

impl<R, Shared, Event, Return> Handler<Shared, Event, Return> for RunnerHandler<R, Shared>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
{
    async fn setup<'a>(&'a self, region: &'a str) -> anyhow::Result<Shared> {
        R::setup(region).await
    }

    async fn run<'a>(
        &'a self,
        shared: &'a Shared,
        event: LambdaEvent<'a, Event>,
    ) -> anyhow::Result<Return> {
        R::run(shared, event).await
    }
}

/// An async closure as a [`Handler`]: no setup (capture shared data in the closure, or in an
/// `Arc`), one call per invocation. Its error may be any type that converts into
/// [`anyhow::Error`] (every `std::error::Error + Send + Sync + 'static`, and `anyhow::Error`).
pub struct FnHandler<F>(pub F);

impl<F> fmt::Debug for FnHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FnHandler")
    }
}

impl<F, Event, Return, Error> Handler<(), Event, Return> for FnHandler<F>
where
    F: for<'a> AsyncFn(LambdaEvent<'a, Event>) -> Result<Return, Error>,
    Error: Into<anyhow::Error>,
{
    async fn setup<'a>(&'a self, _region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run<'a>(
        &'a self,
        _shared: &'a (),
        event: LambdaEvent<'a, Event>,
    ) -> anyhow::Result<Return> {
        (self.0)(event).await.map_err(Into::into)
    }
}
