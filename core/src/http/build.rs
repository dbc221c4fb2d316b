//! From the parsed keys to an [`HttpRequest`]: the origin by keys, then its fields, checked.

use alloc::string::String;
use alloc::vec::Vec;

use super::context::{Known, RequestContext};
use super::encoding::{base64_decode, form_decode_owned, parse_query, percent_decode};
use super::error::{InvalidHttpEvent, Problem};
use super::maps::{Headers, Params};
use super::origin::{HeaderMode, Origin, StagePolicy};
use super::raw::{Lenient, Pairs, RawEvent, Values};
use super::request::{Body, HttpRequest, route};

const STRING: &str = "a string";
const BOOL: &str = "a boolean";
const MAP: &str = "an object of strings or lists of strings";
const LIST: &str = "a list of strings";
const OBJECT: &str = "an object";

/// The origin of `ev`, from its keys alone; see the module docs for the rules.
pub(super) fn origin(ev: &RawEvent) -> Result<Origin, InvalidHttpEvent> {
    let fail = |problem| Err(InvalidHttpEvent::new(None, problem));
    if ev.authorizer {
        return fail(Problem::Authorizer);
    }
    if let Lenient::Value(ctx) = &ev.request_context {
        let ctx = &ctx.known;
        if ctx.has(Known::ELB) {
            let multi = ev.multi_value_headers.is_set() || ev.multi_value_query.is_set();
            return Ok(Origin::Alb(match multi {
                true => HeaderMode::Multi,
                false => HeaderMode::Single,
            }));
        }
        if ctx.has(Known::SERVICE_NETWORK) {
            return Ok(Origin::LatticeV2);
        }
        if ctx.has(Known::HTTP) {
            let domain = ctx.domain_name.as_deref();
            return Ok(match domain.is_some_and(|d| d.contains(".lambda-url.")) {
                true => Origin::FunctionUrl,
                false => Origin::ApiGatewayHttpV2,
            });
        }
        // Before REST: a WebSocket event may carry `httpMethod` too.
        if ctx.has(Known::WEBSOCKET) {
            return Ok(Origin::WebSocket);
        }
        if ctx.has(Known::HTTP_METHOD) {
            return Ok(match &ev.version {
                Lenient::Value(v) if v == "1.0" => Origin::ApiGatewayHttpV1,
                _ => Origin::ApiGatewayRest,
            });
        }
    }
    if ev.raw_path_v1.is_set() {
        return Ok(Origin::LatticeV1);
    }
    let lattice_v2 = matches!(&ev.version, Lenient::Value(v) if v == "2.0")
        && ev.method.is_set()
        && ev.path.is_set();
    if lattice_v2 {
        return Ok(Origin::LatticeV2);
    }
    match ev.request_context {
        Lenient::Wrong => fail(Problem::WrongType {
            key: "requestContext",
            expected: OBJECT,
        }),
        _ => fail(Problem::UnknownOrigin),
    }
}

/// The request `ev` describes, or what is wrong with it.
pub(super) fn build(ev: RawEvent) -> Result<HttpRequest, InvalidHttpEvent> {
    let origin = origin(&ev)?;
    Fields { origin }.build(ev)
}

/// Reads keys for one origin, naming it in every error.
struct Fields {
    origin: Origin,
}

impl Fields {
    fn err(&self, problem: Problem) -> InvalidHttpEvent {
        InvalidHttpEvent::new(Some(self.origin), problem)
    }

    fn typed<T>(
        &self,
        v: Lenient<T>,
        key: &'static str,
        expected: &'static str,
    ) -> Result<Option<T>, InvalidHttpEvent> {
        v.get()
            .map_err(|()| self.err(Problem::WrongType { key, expected }))
    }

    fn text(
        &self,
        v: Lenient<String>,
        key: &'static str,
    ) -> Result<Option<String>, InvalidHttpEvent> {
        self.typed(v, key, STRING)
    }

    fn required(&self, v: Lenient<String>, key: &'static str) -> Result<String, InvalidHttpEvent> {
        self.text(v, key)?.ok_or(self.err(Problem::Missing(key)))
    }

    fn pairs(&self, v: Lenient<Pairs>, key: &'static str) -> Result<Pairs, InvalidHttpEvent> {
        Ok(self.typed(v, key, MAP)?.unwrap_or_default())
    }

    fn build(&self, mut ev: RawEvent) -> Result<HttpRequest, InvalidHttpEvent> {
        let origin = self.origin;
        let ctx = self.typed(
            core::mem::take(&mut ev.request_context),
            "requestContext",
            OBJECT,
        )?;
        let mut context: RequestContext = ctx.unwrap_or_default();
        let ctx = &mut context.known;
        let (method, raw_path, decode_path) = match origin {
            Origin::ApiGatewayRest | Origin::ApiGatewayHttpV1 => {
                let method = match self.text(ev.http_method, "httpMethod")? {
                    Some(m) => m,
                    None => (ctx.http_method.clone())
                        .ok_or_else(|| self.err(Problem::Missing("httpMethod")))?,
                };
                (method, self.required(ev.path, "path")?, false)
            }
            Origin::ApiGatewayHttpV2 | Origin::FunctionUrl => {
                // Not read again: taken from what the context keeps.
                let http = ctx.http.get_or_insert_default();
                let method = (http.method.take())
                    .ok_or_else(|| self.err(Problem::Missing("requestContext.http.method")))?;
                let path = match self.text(ev.raw_path, "rawPath")? {
                    Some(p) => p,
                    None => {
                        (http.path.take()).ok_or_else(|| self.err(Problem::Missing("rawPath")))?
                    }
                };
                (method, path, true)
            }
            Origin::Alb(_) => (
                self.required(ev.http_method, "httpMethod")?,
                self.required(ev.path, "path")?,
                true,
            ),
            Origin::LatticeV2 => (
                self.required(ev.method, "method")?,
                self.required(ev.path, "path")?,
                true,
            ),
            Origin::LatticeV1 => (
                self.required(ev.method, "method")?,
                self.required(ev.raw_path_v1, "raw_path")?,
                true,
            ),
            Origin::WebSocket => (
                self.text(ev.http_method, "httpMethod")?
                    .unwrap_or_else(|| String::from("GET")),
                self.text(ev.path, "path")?
                    .unwrap_or_else(|| String::from("/")),
                false,
            ),
        };
        let decoded_path = match decode_path {
            true => match percent_decode(&raw_path) {
                alloc::borrow::Cow::Owned(d) => Some(d),
                alloc::borrow::Cow::Borrowed(_) => None,
            },
            false => None,
        };

        let (headers, raw_query, query) = match origin {
            Origin::ApiGatewayRest
            | Origin::ApiGatewayHttpV1
            | Origin::WebSocket
            | Origin::Alb(_) => {
                let single = self.pairs(ev.headers, "headers")?;
                let multi = self.pairs(ev.multi_value_headers, "multiValueHeaders")?;
                let headers = merge(single, multi);
                let single = self.pairs(ev.query, "queryStringParameters")?;
                let multi = self.pairs(ev.multi_value_query, "multiValueQueryStringParameters")?;
                let chosen = if multi.is_empty() { single } else { multi };
                // API Gateway decodes the query; ALB passes it on as the client sent it.
                let decode = matches!(origin, Origin::Alb(_));
                (headers, None, params(chosen, decode))
            }
            Origin::ApiGatewayHttpV2 | Origin::FunctionUrl => {
                let mut headers = flat(self.pairs(ev.headers, "headers")?);
                let cookies = self.typed(ev.cookies, "cookies", LIST)?.unwrap_or_default();
                if !cookies.is_empty() && !headers.contains("cookie") {
                    headers.append("cookie", cookies.join("; "));
                }
                let raw = self.text(ev.raw_query_string, "rawQueryString")?;
                let query = match &raw {
                    Some(raw) => Params::from(parse_query(raw)),
                    None => params(self.pairs(ev.query, "queryStringParameters")?, false),
                };
                (headers, raw, query)
            }
            Origin::LatticeV2 => (
                flat(self.pairs(ev.headers, "headers")?),
                None,
                params(self.pairs(ev.query, "queryStringParameters")?, true),
            ),
            Origin::LatticeV1 => (
                flat(self.pairs(ev.headers, "headers")?),
                None,
                params(self.pairs(ev.query_v1, "query_string_parameters")?, true),
            ),
        };

        let (base64, key) = match origin {
            Origin::LatticeV1 => (ev.is_base64_encoded_v1, "is_base64_encoded"),
            _ => (ev.is_base64_encoded, "isBase64Encoded"),
        };
        let was_base64 = self.typed(base64, key, BOOL)?.unwrap_or(false);
        let body = self.text(ev.body, "body")?.unwrap_or_default();
        let body = match was_base64 {
            true => Body::from_bytes(base64_decode(&body).ok_or(self.err(Problem::InvalidBase64))?),
            false => Body::Text(body),
        };

        let path_parameters = params(self.pairs(ev.path_parameters, "pathParameters")?, false);
        let stage_variables = params(self.pairs(ev.stage_variables, "stageVariables")?, false);
        let resource = self.text(ev.resource, "resource")?;
        let route_key = self.text(ev.route_key, "routeKey")?;
        let policy = StagePolicy::default();
        let route = route(
            origin,
            policy,
            decoded_path.as_deref().unwrap_or(&raw_path),
            context.stage(),
        );
        Ok(HttpRequest {
            origin,
            method,
            raw_path,
            decoded_path,
            route,
            policy,
            raw_query,
            query,
            headers,
            body,
            was_base64,
            resource,
            route_key,
            path_parameters,
            stage_variables,
            context,
        })
    }
}

/// Every value of `pairs`, one entry each, in order.
fn flat(pairs: Pairs) -> Headers {
    let mut out = Headers::with_capacity(pairs.len());
    for (name, values) in pairs {
        match values {
            Values::One(v) => out.append(name, v),
            Values::Many(vs) => push_all(&mut out, name, vs),
            Values::None => {}
        }
    }
    out
}

fn push_all(out: &mut Headers, name: String, values: Vec<String>) {
    let mut values = values.into_iter();
    if let Some(last) = values.next_back() {
        for v in values {
            out.append(name.clone(), v);
        }
        out.append(name, last);
    }
}

/// `multiValueHeaders` first (every value), then each `headers` value not already there:
/// nothing from either map is lost (`lambda_http` lets `headers` replace the list).
fn merge(single: Pairs, multi: Pairs) -> Headers {
    if multi.is_empty() {
        return flat(single);
    }
    let mut out = flat(multi);
    for (name, values) in single {
        let values = match values {
            Values::One(v) => alloc::vec![v],
            Values::Many(vs) => vs,
            Values::None => continue,
        };
        for v in values {
            if !out.get_all(&name).any(|have| have == v) {
                out.append(name.clone(), v);
            }
        }
    }
    out
}

/// The pairs as parameters, decoded (`+` a space, `%XX`) when `decode`.
fn params(pairs: Pairs, decode: bool) -> Params {
    let dec = |s: String| if decode { form_decode_owned(s) } else { s };
    let mut out = Vec::with_capacity(pairs.len());
    for (name, values) in pairs {
        let name = dec(name);
        match values {
            Values::One(v) => out.push((name, dec(v))),
            Values::Many(vs) => {
                let mut vs = vs.into_iter();
                if let Some(last) = vs.next_back() {
                    for v in vs {
                        out.push((name.clone(), dec(v)));
                    }
                    out.push((name, dec(last)));
                }
            }
            Values::None => {}
        }
    }
    Params::from(out)
}
