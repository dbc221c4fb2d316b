//! [`service`]: a `tower::Service` of `http` 1.x requests (an axum `Router`) as the function
//! (feature `tower`).

use core::cell::RefCell;
use core::fmt;

use tower_service::Service;

use super::convert_http::{Body, BoxError};
use super::{HttpRequest, HttpResponse, LambdaHttpResponse, StagePolicy};
use crate::runner::{Handler, LambdaEvent};

/// `svc` as a [`Handler`] for any entry point that takes one (`Builder::serve_handler`,
/// `Builder::run_handler`, the adapters' `run_service`): each invocation's event is read as an
/// [`HttpRequest`] (with the [stage policy](ServiceHandler::stage_policy) applied), converted
/// with [`HttpRequest::into_http_with`] (the invocation's [`Context`](crate::Context) and the
/// event's origin, `requestContext`, path parameters and stage variables as extensions), and
/// handed to `svc`; its response is read with [`HttpResponse::from_http`] and shaped for the
/// request's origin.
///
/// An axum `Router` goes in as it is (it needs no tokio to run: only `axum::serve` does):
///
/// ```
/// use axum::{Router, routing::get};
/// use lambda_runtime_types::http;
///
/// let app: Router = Router::new().route("/hello", get(async || "hello"));
/// let handler = http::service(app);
/// // lambda_runtime_types_tokio::builder().run_handler(&handler), or
/// // lambda_runtime_types_tokio::run_service(app) in one go.
/// # let _ = handler;
/// ```
///
/// - Readiness: `poll_ready` is awaited before each call; the service is borrowed only while
///   it is polled or called, never across an `.await`, so concurrent invocations
///   (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) share it on their thread. It need not be `Clone`,
///   `Send` or `Sync`, nor its futures.
/// - Errors: an error of `poll_ready`, of the call or of the response body is the invocation's
///   error (reported to Lambda, logged; the client gets the service's 502), never a made-up
///   500 and never a panic. An axum `Router` has no errors of its own: its handlers answer.
/// - A request `http` cannot hold (a method or header name that is not a token, a control
///   character in a header value, more than 32768 headers) is answered `400 Bad Request`
///   without calling `svc`, as an HTTP server would, and logged as a warning.
pub fn service<S>(svc: S) -> ServiceHandler<S> {
    ServiceHandler {
        svc: RefCell::new(svc),
        stage_policy: StagePolicy::default(),
        streaming: false,
    }
}

/// A [`Handler`] of HTTP events (`Handler<(), HttpRequest, LambdaHttpResponse>`), by another
/// name: what the adapters' `run_service` needs of the [`ServiceHandler`] it makes. Every such
/// handler is one; implement [`Handler`] instead.
pub trait ServeHttp: Handler<(), HttpRequest, LambdaHttpResponse> {}

impl<H: Handler<(), HttpRequest, LambdaHttpResponse>> ServeHttp for H {}

/// What [`service`] makes; a [`Handler<(), HttpRequest, LambdaHttpResponse>`].
pub struct ServiceHandler<S> {
    svc: RefCell<S>,
    stage_policy: StagePolicy,
    streaming: bool,
}

impl<S> ServiceHandler<S> {
    /// Sets the [`StagePolicy`] each request gets before it is converted (default
    /// [`StagePolicy::Strip`]: the URI's path never holds the API Gateway stage).
    #[must_use]
    pub fn stage_policy(mut self, policy: StagePolicy) -> Self {
        self.stage_policy = policy;
        self
    }

    /// Streams the responses whose body has no exact size (a body made from a stream, such as
    /// axum's `Body::from_stream` or `Sse`), as HTTP-integration streams (the status, headers
    /// and cookies first, then each data frame as it comes; see [`crate::stream`]); the others
    /// stay buffered, so one app can serve JSON routes and a server-sent-events route. Turn it
    /// on only for a function Lambda invokes in streaming mode (a Function URL in
    /// `RESPONSE_STREAM` mode, an API Gateway REST API with `responseTransferMode: STREAM`):
    /// a buffered invoke shows a streamed response as an empty 200. Off by default.
    #[must_use]
    pub fn streaming(mut self, on: bool) -> Self {
        self.streaming = on;
        self
    }

    /// The service, back.
    pub fn into_inner(self) -> S {
        self.svc.into_inner()
    }
}

impl<S> fmt::Debug for ServiceHandler<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceHandler")
            .field("service", &core::any::type_name::<S>())
            .field("stage_policy", &self.stage_policy)
            .field("streaming", &self.streaming)
            .finish()
    }
}

fn error(e: impl Into<BoxError>) -> anyhow::Error {
    anyhow::Error::from_boxed(e.into())
}

const BUSY: &str = "the tower service is in use (polled or called from inside itself)";

impl<S, ResBody> Handler<(), HttpRequest, LambdaHttpResponse> for ServiceHandler<S>
where
    S: Service<::http::Request<Body>, Response = ::http::Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body,
    ResBody::Error: Into<BoxError>,
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
        let stream = ctx.stream().clone();
        let request = match request.into_http_with(ctx) {
            Ok(request) => request,
            Err(e) => {
                log::warn!("answered 400: {e}");
                return Ok(origin.respond(HttpResponse::text("bad request").status(400)));
            }
        };
        core::future::poll_fn(|cx| match self.svc.try_borrow_mut() {
            Ok(mut svc) => svc.poll_ready(cx).map_err(error),
            Err(_) => core::task::Poll::Ready(Err(anyhow::anyhow!(BUSY))),
        })
        .await?;
        // Called right after it was ready, with no `.await` in between.
        let call = match self.svc.try_borrow_mut() {
            Ok(mut svc) => svc.call(request),
            Err(_) => anyhow::bail!(BUSY),
        };
        let response = call.await.map_err(error)?;
        if self.streaming
            && http_body::Body::size_hint(response.body())
                .exact()
                .is_none()
        {
            stream_response(response, &stream).await?;
            // Streamed: what the handler returns is not sent.
            return Ok(origin.respond(HttpResponse::new(200)));
        }
        let response = HttpResponse::from_http(response).await?;
        Ok(origin.respond(response))
    }
}

/// Sends `response` on `stream`: its status, headers and cookies (each `set-cookie`) as the
/// HTTP-integration prelude, then each data frame as the body yields it.
async fn stream_response<B>(
    response: ::http::Response<B>,
    stream: &crate::stream::ResponseStream,
) -> anyhow::Result<()>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    use bytes::Buf as _;
    let (parts, body) = response.into_parts();
    let head = HttpResponse::from_http_parts(parts, alloc::vec::Vec::new());
    let (cookies, headers): (alloc::vec::Vec<_>, alloc::vec::Vec<_>) = head
        .headers
        .iter()
        .partition(|(name, _)| name.eq_ignore_ascii_case("set-cookie"));
    let cookies: alloc::vec::Vec<&str> = cookies.into_iter().map(|(_, v)| v).collect();
    stream.http(head.status, &headers, &cookies)?;
    let mut body = core::pin::pin!(body);
    while let Some(frame) = core::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
        let frame = frame.map_err(error)?;
        if let Ok(mut data) = frame.into_data() {
            let bytes = data.copy_to_bytes(data.remaining());
            stream.send(bytes.to_vec()).await?;
        }
    }
    Ok(())
}
