//! [`handler`]: an async closure from [`HttpRequest`] to [`HttpResponse`] as a [`Handler`].

use core::fmt;

use crate::context::Context;
use crate::runner::{Handler, LambdaEvent};

use super::{HttpRequest, HttpResponse, LambdaHttpResponse, StagePolicy};

/// `f` as a [`Handler`] for any entry point that takes one (`serve_handler`, `run_handler`):
/// each invocation's event is read as an [`HttpRequest`] (with the [stage
/// policy](HttpHandler::stage_policy) applied), `f` answers it, and the answer is shaped for
/// the request's origin.
///
/// `f` takes the request and the invocation's [`Context`]. Its error may be any type that
/// converts into [`anyhow::Error`] and is reported as the invocation's error (a function
/// error, `Function.HandlerError` unless it is a [`Diagnostic`](crate::Diagnostic)), not as a
/// 500: the client then gets API Gateway's or the load balancer's own 502/500. To answer
/// errors with a response of your own, return `Ok` with it (see the [module
/// docs](super#errors-and-500s)).
pub fn handler<F>(f: F) -> HttpHandler<F> {
    HttpHandler {
        f,
        stage_policy: StagePolicy::default(),
    }
}

/// What [`handler`] makes; a [`Handler<(), HttpRequest, LambdaHttpResponse>`].
pub struct HttpHandler<F> {
    f: F,
    stage_policy: StagePolicy,
}

impl<F> HttpHandler<F> {
    /// Sets the [`StagePolicy`] each request gets before `f` sees it (default
    /// [`StagePolicy::Strip`]).
    #[must_use]
    pub fn stage_policy(mut self, policy: StagePolicy) -> Self {
        self.stage_policy = policy;
        self
    }
}

impl<F> fmt::Debug for HttpHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpHandler")
            .field("stage_policy", &self.stage_policy)
            .finish_non_exhaustive()
    }
}

impl<F, Error> Handler<(), HttpRequest, LambdaHttpResponse> for HttpHandler<F>
where
    F: AsyncFn(HttpRequest, Context) -> Result<HttpResponse, Error>,
    Error: Into<anyhow::Error>,
{
    async fn setup<'a>(&'a self, _region: &'a str) -> anyhow::Result<()> {
        Ok(())
    }

    async fn run<'a>(
        &'a self,
        _shared: &'a (),
        event: LambdaEvent<'a, HttpRequest>,
    ) -> anyhow::Result<LambdaHttpResponse> {
        let LambdaEvent {
            event: mut request,
            ctx,
            ..
        } = event;
        if request.stage_policy() != self.stage_policy {
            request.set_stage_policy(self.stage_policy);
        }
        let origin = request.origin();
        match (self.f)(request, ctx).await {
            Ok(response) => Ok(origin.respond(response)),
            Err(e) => Err(e.into()),
        }
    }
}
