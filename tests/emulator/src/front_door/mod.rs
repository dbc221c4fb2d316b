//! The HTTP front door: plain HTTP/1.1 requests on a port of their own, delivered to the
//! function as the Lambda event of a chosen origin (Function URL, HTTP API, REST API, ALB,
//! VPC Lattice) through the same path as the Invoke API, and the function's answer turned
//! back into an HTTP response as that service would.

mod event;
mod reply;
mod stream;
#[cfg(test)]
mod tests;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::http::{Body, read_body, respond};
use crate::options::MAX_PAYLOAD;
use crate::records::Outcome;
use crate::state::{Shared, Submission};
use crate::streaming::First;

pub(crate) use event::{EventContext, HttpRequest};

/// The service in front of the function that the HTTP front door emulates
/// ([`crate::Options::http_origin`], `--http-origin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum HttpOrigin {
    /// A Lambda Function URL (auth type `NONE`, `BUFFERED`): payload 2.0 with `routeKey`
    /// and `stage` `$default` and a `<id>.lambda-url.<region>.on.aws` domain.
    #[default]
    FunctionUrl,
    /// An API Gateway HTTP API, payload format 2.0, a `$default` route on the `$default`
    /// stage.
    HttpApi,
    /// An API Gateway REST API, Lambda proxy integration (payload 1.0), a `/{proxy+}`
    /// resource on the stage `prod` (reached without the stage in the URL, as through a
    /// custom domain).
    Rest,
    /// An Application Load Balancer target group, multi-value headers off.
    Alb,
    /// An Application Load Balancer target group with `lambda.multi_value_headers.enabled`.
    AlbMultiValue,
    /// A VPC Lattice target group, Lambda event structure version 2.
    Lattice,
}

impl HttpOrigin {
    /// The `--http-origin` name: `function-url`, `http-api`, `rest`, `alb`, `alb-multi`,
    /// `lattice`.
    pub fn name(self) -> &'static str {
        match self {
            HttpOrigin::FunctionUrl => "function-url",
            HttpOrigin::HttpApi => "http-api",
            HttpOrigin::Rest => "rest",
            HttpOrigin::Alb => "alb",
            HttpOrigin::AlbMultiValue => "alb-multi",
            HttpOrigin::Lattice => "lattice",
        }
    }

    /// The origin of a `--http-origin` name.
    pub fn from_name(name: &str) -> Option<HttpOrigin> {
        [
            HttpOrigin::FunctionUrl,
            HttpOrigin::HttpApi,
            HttpOrigin::Rest,
            HttpOrigin::Alb,
            HttpOrigin::AlbMultiValue,
            HttpOrigin::Lattice,
        ]
        .into_iter()
        .find(|origin| origin.name() == name)
    }

    /// What it is, for messages: `a Function URL`, `an HTTP API (payload 2.0)`, ...
    pub fn description(self) -> &'static str {
        match self {
            HttpOrigin::FunctionUrl => "a Function URL",
            HttpOrigin::HttpApi => "an HTTP API (payload 2.0)",
            HttpOrigin::Rest => "a REST API (payload 1.0)",
            HttpOrigin::Alb => "an ALB target group",
            HttpOrigin::AlbMultiValue => "an ALB target group with multi-value headers",
            HttpOrigin::Lattice => "a VPC Lattice target group (event version 2)",
        }
    }
}

/// Accept front-door connections until the task is aborted.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(shared, req, peer.ip(), port).await) }
            });
            let _ = http1::Builder::new()
                .keep_alive(true)
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A JSON answer of the front door itself, `{"message":"..."}`.
fn message(status: u16, text: &str) -> Response<Body> {
    let body = serde_json::to_vec(&serde_json::json!({ "message": text })).unwrap_or_default();
    respond(
        status,
        vec![(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        Body::full(body),
    )
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: IpAddr,
    port: u16,
) -> Response<Body> {
    let options = &shared.config.options;
    let origin = options.http_origin;
    let (parts, body) = req.into_parts();
    let read = read_body(body, MAX_PAYLOAD).await;
    if read.too_large {
        return message(413, "Request Entity Too Large");
    }
    if read.broken {
        return message(400, "Bad Request");
    }
    let peer = match peer {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    let request = HttpRequest::from_parts(&parts, read.bytes, peer);
    let context = EventContext::new(&options.function_name, &options.region, port);
    let payload = match serde_json::to_vec(&event::build(origin, &request, &context)) {
        Ok(payload) if payload.len() <= MAX_PAYLOAD => payload,
        Ok(_) => return message(413, "Request Entity Too Large"),
        Err(_) => return message(500, "Internal Server Error"),
    };
    let sub = Submission {
        payload: Bytes::from(payload),
        ..Submission::default()
    };
    let (request_id, pending) = crate::streaming::submit(&shared, sub);
    let result = match pending.first().await {
        First::Buffered(result) => result,
        First::Stopped => return message(503, "Service Unavailable"),
        First::Stream(stream) => {
            let mut response = stream::respond_stream(stream).await;
            add_request_id(&mut response, &request_id);
            return response;
        }
    };
    let mut response = match result.outcome {
        Outcome::Response => match reply::translate(origin, &result.body) {
            Some(reply) => reply.into_response(),
            None => message(502, "Internal Server Error"),
        },
        Outcome::TimedOut => message(504, "Endpoint request timed out"),
        Outcome::Stopped => message(503, "Service Unavailable"),
        _ => message(502, "Internal Server Error"),
    };
    add_request_id(&mut response, &request_id);
    response
}

/// The invocation's request id, to find it among the logs and records.
fn add_request_id(response: &mut Response<Body>, request_id: &str) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        response
            .headers_mut()
            .append(HeaderName::from_static("x-amzn-requestid"), value);
    }
}

/// Listen address of the front door, for the startup line and [`crate::Emulator::http_addr`]:
/// an unspecified address is reported as loopback.
pub(crate) fn reachable(mut addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            SocketAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            SocketAddr::V6(_) => IpAddr::from([0, 0, 0, 0, 0, 0, 0, 1]),
        });
    }
    addr
}
