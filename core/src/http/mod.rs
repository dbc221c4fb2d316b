//! HTTP functions: a lossless model of HTTP events from every origin, and responses shaped
//! for each.
//!
//! [`HttpRequest`] reads the event of an API Gateway REST, HTTP or WebSocket API, a Lambda
//! function URL, an ALB or a VPC Lattice target group in one parse, keeping what the event
//! carries: every header value in order, the raw path and query, the body's bytes,
//! `requestContext` whole. [`HttpResponse`] is what you answer; [`LambdaHttpResponse`] is it
//! shaped for the request's origin. No `std`, no `http` crate: later layers convert.
//!
//! # Writing an HTTP function
//!
//! With a closure, [`handler`] turns `async |request, ctx| -> Result<HttpResponse, E>` into a
//! [`Handler`](crate::runner::Handler) for `serve_handler`/`run_handler` (on the adapters:
//! `builder().run_handler(&handler(…))`):
//!
//! ```no_run
//! use lambda_runtime_types::http::{self, HttpRequest, HttpResponse, StagePolicy};
//! use lambda_runtime_types::Context;
//!
//! # #[cfg(feature = "std")]
//! # async fn example<E: lambda_runtime_types::driver::Executor>(exec: E) -> anyhow::Result<()> {
//! let app = http::handler(async |req: HttpRequest, _ctx: Context| {
//!     let name = req.query().get("name").unwrap_or("world");
//!     Ok::<_, anyhow::Error>(match (req.method(), req.path()) {
//!         ("GET", "/hello") => HttpResponse::text(format!("hello, {name}")),
//!         _ => HttpResponse::text("not found").status(404),
//!     })
//! })
//! .stage_policy(StagePolicy::Strip); // the default, said out loud
//! lambda_runtime_types::Builder::new(exec).serve_handler(&app).await
//! # }
//! ```
//!
//! As a [`Runner`](crate::Runner), the `Event` is [`HttpRequest`] and the `Return`
//! [`LambdaHttpResponse`], made by [`HttpRequest::respond`] (which knows the origin):
//!
//! ```
//! use lambda_runtime_types::http::{HttpRequest, HttpResponse, LambdaHttpResponse};
//! use lambda_runtime_types::{LambdaEvent, Runner};
//!
//! struct Api;
//!
//! impl<'a> Runner<'a, (), HttpRequest, LambdaHttpResponse> for Api {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!
//!     async fn run(_: &'a (), event: LambdaEvent<'a, HttpRequest>) -> anyhow::Result<LambdaHttpResponse> {
//!         let req = event.event;
//!         let answer = HttpResponse::json(&serde_json::json!({ "path": req.path() }))?;
//!         Ok(req.respond(answer))
//!     }
//! }
//! # fn is_runner<R: for<'a> Runner<'a, (), HttpRequest, LambdaHttpResponse>>() {}
//! # is_runner::<Api>();
//! ```
//!
//! # Errors and 500s
//!
//! A handler's `Err` stays what it is for any function: an invocation error, reported to
//! Lambda (`Function.HandlerError`, or your [`Diagnostic`](crate::Diagnostic)'s type) and
//! logged; API Gateway then answers the client 502, a function URL 502, ALB 502. Nothing turns
//! it into a 500 behind your back. If you want the client to get a 500 (and the invocation to
//! count as a success), answer it yourself:
//!
//! ```
//! # use lambda_runtime_types::http::{self, HttpRequest, HttpResponse};
//! # use lambda_runtime_types::Context;
//! async fn app(req: HttpRequest) -> anyhow::Result<HttpResponse> {
//!     anyhow::ensure!(req.method() == "GET", "only GET");
//!     Ok(HttpResponse::text("ok"))
//! }
//!
//! let h = http::handler(async |req: HttpRequest, _: Context| {
//!     Ok::<_, core::convert::Infallible>(app(req).await.unwrap_or_else(|e| {
//!         log::error!("{e:#}");
//!         HttpResponse::text("internal error").status(500)
//!     }))
//! });
//! # let _ = h;
//! ```
//!
//! # Origin detection
//!
//! By keys, in this order, never by trying shapes: `methodArn`/`routeArn` → an authorizer's
//! event, rejected; `requestContext.elb` → ALB (multi-value mode if `multiValueHeaders` or
//! `multiValueQueryStringParameters` is there); `requestContext.serviceNetworkArn` → VPC
//! Lattice v2; `requestContext.http` → function URL if `domainName` contains `.lambda-url.`,
//! else HTTP API (payload 2.0); `requestContext.eventType` or `.connectionId` → WebSocket (even
//! with an `httpMethod`); `requestContext.httpMethod` → REST, or HTTP API payload 1.0 with
//! `"version": "1.0"`; top-level `raw_path` → VPC Lattice v1; `"version": "2.0"` with `method`
//! and `path` → VPC Lattice v2. Anything else is "not an HTTP event of a known origin".
//!
//! # Malformed events
//!
//! Nothing in an event can panic the parse. A missing method or path, a key of the wrong type,
//! a body marked base64 that is not, is a serde error whose message names the origin and the
//! key but quotes nothing of the event ([`InvalidHttpEvent`]), reported as
//! `Runtime.InvalidEvent` like any event that does not fit. A query or path that does not
//! percent-decode to UTF-8 is kept as sent.
//!
//! # The stage
//!
//! See [`StagePolicy`]: by default [`HttpRequest::path`] never holds the stage, for REST and
//! HTTP APIs alike; [`HttpRequest::raw_path`] is always as sent.

mod build;
mod context;
#[cfg(feature = "http")]
mod convert_http;
#[cfg(feature = "http-types")]
mod convert_http_types;
mod encoding;
mod error;
mod handler;
mod maps;
mod origin;
mod raw;
mod reply;
mod request;
mod response;
mod sample;
#[cfg(feature = "tower")]
mod service;
#[cfg(any(feature = "http", feature = "http-types"))]
mod target;

pub use context::RequestContext;
#[cfg(feature = "http")]
pub use convert_http::{Body, BoxError, HttpBodyError, HttpConversionError, RequestExt};
#[cfg(feature = "http-types")]
pub use convert_http_types::HttpTypesError;
pub use error::{InvalidHttpEvent, Problem};
pub use handler::{HttpHandler, handler};
pub use maps::{Headers, Params};
pub use origin::{HeaderMode, Origin, StagePolicy};
pub use reply::LambdaHttpResponse;
pub use request::HttpRequest;
pub use response::{BodyEncoding, HttpResponse, is_text_content_type, reason_phrase};
pub use sample::RequestBuilder;
#[cfg(feature = "tower")]
pub use service::{ServeHttp, ServiceHandler, service};
#[cfg(any(feature = "http", feature = "http-types"))]
pub use target::{PathParameters, StageVariables};
