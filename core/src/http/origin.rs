//! Where an HTTP event came from, and how the stage of an API Gateway API shows in its path.

use core::fmt;

/// The service (and payload format) that turned an HTTP request into the event.
///
/// Decided from the keys of the event (never by trying one shape after another), see the
/// [module docs](super#origin-detection). The response is shaped for the same origin.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Origin {
    /// An API Gateway REST API (payload format 1.0).
    ApiGatewayRest,
    /// An API Gateway HTTP API with payload format 1.0 (`"version": "1.0"`): the REST shape.
    ApiGatewayHttpV1,
    /// An API Gateway HTTP API with payload format 2.0.
    ApiGatewayHttpV2,
    /// A Lambda function URL: the payload format 2.0 on a `*.lambda-url.*` domain.
    FunctionUrl,
    /// An Application Load Balancer target group, in the header mode it was configured with.
    Alb(HeaderMode),
    /// A VPC Lattice target group with event structure version 2.
    LatticeV2,
    /// A VPC Lattice target group with event structure version 1 (snake_case keys).
    LatticeV1,
    /// An API Gateway WebSocket API (`$connect`, `$disconnect`, `$default` or a custom route).
    WebSocket,
}

impl Origin {
    /// A short name for messages, e.g. `"API Gateway REST"`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::ApiGatewayRest => "API Gateway REST",
            Self::ApiGatewayHttpV1 => "API Gateway HTTP API, payload 1.0",
            Self::ApiGatewayHttpV2 => "API Gateway HTTP API",
            Self::FunctionUrl => "Lambda function URL",
            Self::Alb(_) => "ALB",
            Self::LatticeV2 => "VPC Lattice v2",
            Self::LatticeV1 => "VPC Lattice v1",
            Self::WebSocket => "API Gateway WebSocket",
        }
    }

    /// Whether the event may name an API Gateway stage (REST, HTTP API, WebSocket).
    pub const fn has_stage(self) -> bool {
        matches!(
            self,
            Self::ApiGatewayRest
                | Self::ApiGatewayHttpV1
                | Self::ApiGatewayHttpV2
                | Self::WebSocket
        )
    }

    /// `response` shaped for this origin, ready to be returned from a handler.
    pub fn respond(self, response: super::HttpResponse) -> super::LambdaHttpResponse {
        super::LambdaHttpResponse::new(self, response)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an ALB target group sends headers and query parameters
/// (`lambda.multi_value_headers.enabled`). The response must use the same mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeaderMode {
    /// `headers` and `queryStringParameters`: one value per name (ALB keeps the last).
    Single,
    /// `multiValueHeaders` and `multiValueQueryStringParameters`: every value.
    Multi,
}

/// How the API Gateway stage shows in [`HttpRequest::path`](super::HttpRequest::path).
///
/// A REST API's `path` never contains the stage, although a client of the default
/// `execute-api` domain sent `/{stage}/…`; an HTTP API's `rawPath` contains a named stage
/// (`/Prod/my/path`) and never `$default`. The policy makes both mean the same.
/// [`HttpRequest::raw_path`](super::HttpRequest::raw_path) is always as the event has it, and
/// origins without stages (function URL, ALB, VPC Lattice) are not affected.
///
/// The runtime reads no environment variable for this; to follow the one `lambda_http` reads,
/// see [`StagePolicy::from_ignore_stage_env`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StagePolicy {
    /// The path as the event has it: REST without the stage, HTTP API with a named stage.
    Keep,
    /// The default: the path the API's routes are written for (API Gateway matches its
    /// `resource` and `routeKey` on it), never with the stage. A REST path is left as it is;
    /// an HTTP API path loses a leading `/{stage}` segment when the stage is not `$default`.
    #[default]
    Strip,
    /// The path the client used on the default `execute-api` domain, always with a named
    /// stage: `/{stage}` is put in front unless the path already starts with that segment.
    /// `$default` is never added.
    Prefix,
}

impl StagePolicy {
    /// The policy for the value of `AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH`, for functions that
    /// move from `lambda_http` and set it: only `true` and `1` mean [`Strip`](Self::Strip);
    /// any other value, or none, means [`Prefix`](Self::Prefix) (what `lambda_http` does
    /// without it). Read the variable yourself, e.g.
    /// `StagePolicy::from_ignore_stage_env(std::env::var("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").ok().as_deref())`.
    pub fn from_ignore_stage_env(value: Option<&str>) -> Self {
        match value {
            Some("true" | "1") => Self::Strip,
            _ => Self::Prefix,
        }
    }
}
