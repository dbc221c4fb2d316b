//! A local AWS Lambda emulator: the Runtime API a `provided.al2023` function talks to, the
//! RIE-compatible Invoke API people and tests call, and supervision of the function process.
//! No AWS account, no Docker.
//!
//! It behaves like the AWS Runtime Interface Emulator (RIE) where the RIE defines behaviour:
//! `202` for accepted posts, `400 InvalidRequestID` for unknown or stale ids, `403
//! InvalidStateTransition` for out-of-order calls, `413` above 6,291,556 bytes, a timeout
//! counted from the invoke that answers `Sandbox.Timedout` and then resets the function (shut
//! down as Lambda does, see below; init again on the next invoke; a function that answered but
//! is not back at `/next` by the deadline is reset too), `502` with the init error
//! or `Runtime.ExitError` when init fails or the process dies. It also serves the Extensions
//! API and the Telemetry API on the same address, and runs external extensions. An optional
//! HTTP front door turns plain HTTP requests into Function URL, API Gateway, ALB or VPC
//! Lattice events (see below).
//!
//! # As a library, for tests
//!
//! ```no_run
//! use std::time::Duration;
//! use lambda_emulator::{Emulator, Fault, Options, Target};
//!
//! // The AWS-docs style bash + curl function of this repository's end-to-end suites.
//! let emu = Emulator::start(
//!     Options::new(["tests/e2e/fixtures/bash-bootstrap.sh"]).timeout(Duration::from_secs(3)),
//! )?;
//! let result = emu.invoke(br#"{"a":1}"#)?;
//! assert_eq!(result.status, 200);
//! assert_eq!(result.body, br#"{"a":1}"#);
//! assert!(result.function_error.is_none());
//!
//! // Protocol-level assertions: every Runtime API call is recorded.
//! let responses = emu.calls().into_iter().filter(|c| c.path.ends_with("/response")).count();
//! assert_eq!(responses, 1);
//!
//! // Fault injection: the next `/next` delivers a deadline in the past.
//! emu.inject(Target::Next, Fault::DeadlinePast);
//! emu.stop()?;
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # As a program
//!
//! Install it with `cargo install --path tests/emulator` (or `cargo install --git <this
//! repository> lambda-emulator`), then, from your function's package (the command and the
//! event files are relative to the current directory):
//!
//! ```text
//! lambda-emulator --event ev.json -- cargo run --bin myfn
//! lambda-emulator -- ./target/debug/myfn
//! ```
//!
//! Without `--event` it serves until Ctrl-C, prints the Invoke API URL, and logs one line
//! per invocation on stderr (request id, `ok` / the error type / `timeout`, milliseconds).
//! A function that failed init is started again by the next invoke, which the new process
//! answers. In this repository:
//!
//! ```text
//! lambda-emulator --event '{"a":1}' -- ./tests/e2e/fixtures/bash-bootstrap.sh
//! lambda-emulator --event examples/events/echo.json -- cargo run -q -p examples --bin echo-tokio
//! lambda-emulator --timeout 10 -- cargo run -q -p examples --bin echo-tokio
//! curl -d '{"a":1}' http://127.0.0.1:PORT/2015-03-31/functions/function/invocations
//! ```
//!
//! See `lambda-emulator --help`.
//!
//! # HTTP front door
//!
//! With [`Options::http_front_door`] (`--http PORT` or `--http ADDR:PORT`) the emulator also
//! accepts plain HTTP/1.1 requests on a port of their own (keep-alive, chunked bodies) and
//! delivers each to the function as the Lambda event of [`Options::http_origin`]
//! (`--http-origin`, a Function URL by default), then turns the function's answer into the
//! HTTP response as that service would. Each request is one invocation with a fresh request
//! id, through the same path as the Invoke API: queued behind the others, under the timeout,
//! logged, recorded in [`Emulator::calls`]. [`Emulator::http_addr`] tells the port when 0
//! was asked for; the CLI prints `lambda-emulator: HTTP front door on http://127.0.0.1:9000
//! as a Function URL` on stderr.
//!
//! ```no_run
//! use lambda_emulator::{Emulator, HttpOrigin, Options};
//!
//! let emu = Emulator::start(
//!     Options::new(["target/debug/myfn"])
//!         .http_front_door(0)
//!         .http_origin(HttpOrigin::HttpApi),
//! )?;
//! println!("curl {}/items?id=1", emu.http_url().unwrap_or_default());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! ```text
//! lambda-emulator --http 9000 -- cargo run -q --bin myfn
//! lambda-emulator --http 0.0.0.0:9000 --http-origin rest -- ./target/debug/myfn
//! curl -i 'http://127.0.0.1:9000/items?id=1' -H 'cookie: a=b'
//! ```
//!
//! The events ([`HttpOrigin`]):
//!
//! - `function-url`, `http-api`: payload 2.0. `version`, `routeKey` `$default`, `rawPath` and
//!   `rawQueryString` as sent, `cookies[]` split from the `Cookie` headers (which leave
//!   `headers`), `headers` lower case with repeats joined by `,`, `queryStringParameters`
//!   decoded with repeats joined by `,`, `requestContext{accountId, apiId, domainName,
//!   domainPrefix, http{method, path, protocol, sourceIp, userAgent}, requestId, routeKey,
//!   stage: "$default", time, timeEpoch}`, `body`, `isBase64Encoded`. A Function URL has the
//!   domain `<32 chars>.lambda-url.<region>.on.aws` and `accountId` `anonymous` (auth type
//!   `NONE`); an HTTP API `<10 chars>.execute-api.<region>.amazonaws.com`.
//! - `rest`: payload 1.0 for a `/{proxy+}` resource (`/` at the root) on the stage `prod`,
//!   reached without the stage in the URL (as through a custom domain): `path` and
//!   `pathParameters.proxy` percent-decoded, `requestContext.path` `/prod/...`, `headers`
//!   with the last value of each name and `multiValueHeaders` with all,
//!   `queryStringParameters` (last) and `multiValueQueryStringParameters` (all) decoded,
//!   `null` when empty, `stageVariables: null`, `requestContext.identity{sourceIp,
//!   userAgent}`.
//! - `alb`, `alb-multi`: `requestContext.elb.targetGroupArn`, `httpMethod`, `path`, and either
//!   `headers` + `queryStringParameters` (the last value of each) or `multiValueHeaders` +
//!   `multiValueQueryStringParameters`, never both; query keys and values as sent
//!   (percent-encoded, `+` kept), as ALB does; `body` `""` when there is none.
//! - `lattice`: VPC Lattice event version 2: `version: "2.0"`, `path`, `method`,
//!   `headers{name: [values]}`, `queryStringParameters{name: [values]}` as sent,
//!   `requestContext{serviceNetworkArn, serviceArn, targetGroupArn,
//!   identity{sourceVpcArn}, region, timeEpoch}` (microseconds, a string).
//!
//! A body is passed as text when its `Content-Type` is `text/*`, `application/json`,
//! `application/javascript` or `application/xml` and it is UTF-8; anything else (a missing
//! type, forms, `+json` types, bytes) is base64 with `isBase64Encoded: true`. API Gateway
//! query decoding takes `+` as a space. The emulator adds `x-forwarded-for` (the client
//! appended), `x-forwarded-port` and `x-forwarded-proto: http`.
//!
//! The answers:
//!
//! - payload 2.0: `statusCode`, `headers`, each `cookies[]` entry as one `Set-Cookie`, `body`
//!   (base64-decoded with `isBase64Encoded`). Valid JSON without `statusCode` is the body of a
//!   200 `application/json` (format inference).
//! - REST: `headers` and `multiValueHeaders` merged, a name in both getting the multi values
//!   only; a top-level key other than `statusCode`, `headers`, `multiValueHeaders`, `body`,
//!   `isBase64Encoded`, a missing `statusCode` or a body that is not a string is a
//!   malformed proxy response.
//! - ALB: `statusDescription` (`404 Not Here`) gives the reason phrase; `headers` or, with
//!   multi-value headers, `multiValueHeaders` (the other map is ignored).
//! - Lattice: `statusCode`, `statusDescription`, `headers` (strings or arrays).
//! - The response also carries `x-amzn-requestid` with the invocation's Lambda request id;
//!   `content-length`, `transfer-encoding`, `connection` and `keep-alive` from the function
//!   are dropped (the front door frames the body), invalid header names or values skipped.
//!
//! Failures: a function error, a crash, an init error, an oversized answer and a malformed
//! answer (not JSON, a bad status code, bad base64) all give `502` with
//! `{"message":"Internal Server Error"}`; a timeout gives `504` with `{"message":"Endpoint
//! request timed out"}`; a request body over the 6 MB payload limit (or an event over it once
//! encoded) `413` with `{"message":"Request Entity Too Large"}`; a stopping emulator `503`.
//! Bad HTTP gets hyper's `400` (or `431` for a head over about 400 KB), never a panic.
//!
//! Where it differs from AWS:
//!
//! - AWS words failures per service: the 502 text is a Function URL's and an HTTP API's
//!   (which answers a function error with `500`); a REST API says `Internal server error`;
//!   an ALB sends an HTML `502 Bad Gateway` page. `504` and its message are API Gateway's
//!   answer when its own integration timeout (29 s or 30 s) passes; the emulator has no such
//!   timeout and uses the function's.
//! - Plain HTTP only: `x-forwarded-proto` is `http`, and `Host` is the one the client sent
//!   (AWS sends its own domain).
//! - Header names are lower case for every origin (a REST API keeps the client's spelling),
//!   and the header lines of one name are grouped together in the order of first appearance.
//! - One text/binary rule for every origin; for REST that is an API whose `binaryMediaTypes`
//!   list every non-text type (without any, API Gateway passes bodies as text and gives the
//!   client a base64 answer undecoded). `isBase64Encoded: true` answers are always decoded.
//! - No authorizers, IAM auth, CORS, throttling, custom domains, stage variables, ALB health
//!   checks or ALB's 1 MB limits; a streamed answer is streamed for every origin (see
//!   "Response streaming"), where AWS streams only through a Function URL in
//!   `RESPONSE_STREAM` mode or a REST API with `STREAM` transfer; payload 2.0 header
//!   values that are numbers or booleans, and bodies that are JSON values rather than strings,
//!   are written out instead of refused.
//! - Ids and ARNs are derived from the function name (the same on every run), with the
//!   account `000000000000`; Lattice's `identity` has only `sourceVpcArn`.
//!
//! # Response streaming
//!
//! A function streams its answer as Lambda's custom-runtime docs describe: `POST
//! /2018-06-01/runtime/invocation/{id}/response` with `Lambda-Runtime-Function-Response-Mode:
//! streaming`, `Transfer-Encoding: chunked` and `Trailer: Lambda-Runtime-Function-Error-Type,
//! Lambda-Runtime-Function-Error-Body`. The emulator reads the chunked body as it arrives and
//! hands each piece to the invoker at once (a small queue per invocation: a slow invoker
//! slows the reading, nothing is buffered whole). Any other non-empty response mode gets
//! `400 InvalidFunctionResponseMode` and the invoker `Runtime.InvalidResponseModeHeader`, as
//! in the RIE.
//!
//! - The end: after the last chunk the runtime gets `202`. Real HTTP trailers are read; a
//!   `Lambda-Runtime-Function-Error-Type` trailer means the function failed mid-stream: the
//!   invocation ends with that error (the `Lambda-Runtime-Function-Error-Body` trailer,
//!   base64-decoded, is the error document; without one, it is built from the type).
//! - The limit: [`Options::stream_limit`] (`--stream-limit BYTES`, [`STREAM_LIMIT`] = 200 MiB
//!   by default). Past it the emulator stops reading, answers the runtime `413
//!   RequestEntityTooLarge` (and closes that connection, the body being unread) and ends
//!   the invoker's stream with `Function.ResponseSizeTooLarge`.
//! - A runtime connection that breaks before the last chunk ends the stream with
//!   `Runtime.TruncatedResponse`.
//! - The bandwidth: with [`Options::stream_bandwidth`] (`--stream-bandwidth`) the first
//!   6 MiB pass uncapped and the rest at most 2 MiB/s (the RIE's burst and rate; Lambda
//!   documents "6 MB" and "2 MBps"); the emulator reads the runtime's stream no faster.
//!   Off by default.
//! - Records: the `/response` call's [`RuntimeCall::stream`] ([`StreamRecord`]) has the
//!   content type, the number and sizes of the pieces, the total, the first and last
//!   arrival times, the trailers, the decoded error, whether the invoker read it live, and
//!   how it ended ([`StreamEnd`]); [`RuntimeCall::body`] keeps the first 6 MB.
//!
//! Who gets what:
//!
//! - [`Emulator::invoke_stream`] returns an [`InvokeStream`]: [`InvokeStream::next_chunk`]
//!   gives each piece as it arrives (with a timeout), [`InvokeStream::finish`] the rest and
//!   a [`StreamedInvoke`] with the chunks, the error type and body the stream ended with,
//!   and the invocation's [`InvokeResult`].
//! - The streaming Invoke API, `POST
//!   /2021-11-15/functions/NAME/response-streaming-invocations` ([`Emulator::invoke_stream_url`];
//!   `NAME` as for the Invoke API; `X-Amz-Invocation-Type` `RequestResponse` or `DryRun`):
//!   `200`, chunked, the runtime's `Content-Type`, `X-Amzn-RequestId`, each piece written as
//!   a chunk as it arrives. A failure (an error trailer, truncation, the limit, a timeout)
//!   ends it with the trailers `Lambda-Runtime-Function-Error-Type` and
//!   `Lambda-Runtime-Function-Error-Body` (the error document, base64) when the request said
//!   `TE: trailers` (HTTP sends trailers only then); otherwise the connection is cut before
//!   the last chunk. A buffered answer is sent whole, as from the Invoke API.
//! - The Invoke API (and [`Emulator::invoke`]) gets a streamed answer buffered, as Lambda's
//!   `Invoke` does: at most the 6 MB payload limit (`Function.ResponseSizeTooLarge` past it).
//! - The HTTP front door: an `application/vnd.awslambda.http-integration-response` stream is
//!   a JSON prelude (`statusCode`, 200 when absent; `headers`, strings or arrays; `cookies`,
//!   each a `Set-Cookie`), 8 NUL bytes, then the body: the status and headers go out once the
//!   prelude is complete, then the body chunk by chunk (`curl -N` shows it as it comes). Any
//!   other content type is a raw stream: a `200` with that type. A malformed prelude, or a
//!   stream that ends (or fails) before its 8 NULs or within the first 64 KiB without them,
//!   gets the usual `502` (`504` on a timeout); a failure after the head cuts the client's
//!   connection (the body ends without its last chunk).
//!
//! Where it differs from Lambda:
//!
//! - `InvokeWithResponseStream` answers with an `application/vnd.amazon.eventstream` of
//!   `PayloadChunk` events and a final `InvokeComplete` (`ErrorCode`, `ErrorDetails`); the
//!   emulator sends the raw bytes with the error in trailers, which `curl` and plain HTTP
//!   clients read. Its path and the function-name rules are those of the emulator's Invoke
//!   API.
//! - A stream's pieces are the chunks as hyper decoded them: one per HTTP chunk, or several
//!   for a big chunk that arrived in parts. `Transfer-Encoding: chunked` is not checked (a
//!   streaming `/response` with a `Content-Length` body is read the same way).
//! - The invocation's timeout still applies while streaming. A second `/response` or
//!   `/error` during a stream gets `403 InvalidStateTransition`.
//! - An invoker that goes away mid-stream does not stop the function: the emulator reads the
//!   rest and drops it, so the runtime still gets its `202`.
//!
//! # Extensions, Telemetry and shutdown
//!
//! With [`Options::extensions`] (`--extensions DIR`) every executable regular file in the
//! directory is started before each start of the function, as Lambda does for
//! `/opt/extensions`: same environment (`AWS_LAMBDA_RUNTIME_API` and the rest), same working
//! directory, output captured ([`LogLine::extension`] names the file) and echoed like the
//! function's. The Extensions API (`/2020-01-01/extension/...`) and the Telemetry API
//! (`/2022-07-01/telemetry`) are served at `AWS_LAMBDA_RUNTIME_API`, with the RIE's answers and
//! `403` error types:
//!
//! - `register`: a `Lambda-Extension-Name` equal to a started file's name is external, any
//!   other is internal (registered by the function process; `INVOKE` only). Registration
//!   closes at the runtime's first `/next` (`Extension.RegistrationClosed`); started files
//!   may still register after it. At most 10 extensions.
//! - Init ends, and the first invocation is delivered, only once every started file has
//!   registered and every registered extension has called `event/next`
//!   ([`Emulator::wait_ready`] waits for that too). An extension's `init/error`, or an
//!   external extension exiting during init, fails init: the invocation gets 502
//!   `Extension.InitError` or `Extension.Crash`.
//! - `event/next` delivers `INVOKE` (`deadlineMs` in epoch ms, `requestId`,
//!   `invokedFunctionArn`, `tracing`) to `INVOKE` subscribers as the runtime gets the
//!   invocation, and the next invocation waits until they called `event/next` again.
//! - A shutdown ([`Options::shutdown_grace`]): at a reset (`timeout`; `failure` after an init
//!   error, a crash or an extension exiting) and at [`Emulator::stop`] (`spindown`). With no
//!   extension registered the function gets `SIGKILL` at once; otherwise `SIGTERM`, and
//!   `SIGKILL` after 500 ms (an internal extension is registered) or 300 ms
//!   ([`Options::runtime_shutdown_share`]); then the telemetry is flushed and `SHUTDOWN`
//!   subscribers get `SHUTDOWN` with the rest of the 2,000 ms as `deadlineMs`; whatever is
//!   left at the deadline gets `SIGKILL`. [`Emulator::shutdown_steps`] records every step.
//! - Telemetry: a subscription is validated as Lambda does (schema versions `2022-07-01`,
//!   `2022-12-13`, `2025-01-29`; an HTTP destination `http://sandbox.localdomain:PORT[/path]`,
//!   reached at 127.0.0.1; types; buffering bounds) and accepted during init only. Batches
//!   (JSON arrays of `{time, type, record}`) are POSTed when `timeoutMs` passes, `maxItems` or
//!   `maxBytes` is reached, and at every shutdown before `SHUTDOWN`: `platform.initStart`,
//!   `platform.initRuntimeDone`, `platform.initReport` (replayed to subscribers that come
//!   after them), `platform.extension`, `platform.telemetrySubscription`, `platform.start`,
//!   `platform.runtimeDone`, `platform.report`, and the `function` and `extension` lines (a
//!   JSON object when the line is one, else a string). [`Emulator::telemetry_deliveries`]
//!   records each POST.
//!
//! Where it differs from Lambda:
//!
//! - The function is started right after its extensions, not once they registered; its
//!   first `/next` waits for them instead.
//! - The Logs API (`/2020-08-15/logs`) is a stub, as in the RIE: `202` with
//!   `Logs.NotSupported`, nothing delivered. Telemetry has no TCP destinations, no
//!   `platform.logsDropped`, `platform.restore*` or spans, and a failed POST is logged (among
//!   [`Emulator::logs`]) and dropped, never retried.
//! - `accountId` is always `000000000000` (the account of the emulator's ARN);
//!   `maxMemoryUsedMB` is the function process's peak resident size.
//! - Init has no 10 s limit of its own: the invocation timeout covers it, as in the RIE.
//! - `platform.runtimeDone` and `platform.report` are sent when the runtime answers, not
//!   once the extensions finished the invoke phase (no post-runtime extension duration).
//! - The error types an invoker gets after an extension failed init (`Extension.InitError`,
//!   `Extension.Crash`) are the emulator's; Lambda's text may differ.
//! - An external extension that exits after init resets the sandbox at once.
//! - With [`Options::concurrency`], `INVOKE` is still offered (Lambda Managed Instances refuse
//!   it) and the next invocation does not wait for the extensions.
//! - `/opt/extensions` itself is not looked at, and nothing disables the Extensions API.

//! # Where it differs from the RIE
//!
//! Seen by running the real RIE (`tests/e2e/tests/rie.rs`, the RIE's `main` at
//! v0.0.0-20261030222936-bef5c4ba774d):
//!
//! - The RIE answers every function error `200` with no `X-Amz-Function-Error` and no
//!   `X-Amzn-RequestId`, and a `Content-Type` sniffed by Go (`text/plain; charset=utf-8`).
//!   Ours sends Lambda's headers and the runtime's content type, which the AWS CLI and SDKs read.
//! - A timeout: the RIE answers plain text `Task timed out after N.00 seconds`; ours Lambda's
//!   `Sandbox.Timedout` JSON.
//! - The RIE ends an invoke only when the runtime is back at `/next` and holds the answer until
//!   then; ours answers the invoker once the answer is posted, as Lambda does. A function not
//!   back at `/next` by the deadline (a handler blocking its thread, whose error the watchdog
//!   posted in time) is reset at the deadline by all three, and the next invoke starts it again.
//! - The RIE starts the function on the first invoke; ours at once, so init output and init
//!   errors show before it.
//! - The RIE delivers an empty body as it is (ours delivers `{}`), takes the invoker's
//!   `X-Amzn-RequestId` as the request id, sets no `AWS_REGION` and passes its whole
//!   environment on.

#![deny(missing_docs)]

mod emulator;
mod ext_api;
mod extensions;
mod fault;
mod front_door;
mod http;
mod invoke_api;
mod lifecycle;
mod options;
mod process;
mod recorder;
mod records;
mod runtime;
mod server;
mod shutdown;
mod state;
mod streaming;
mod telemetry;
mod util;

pub use emulator::{Emulator, Invoke, Signal};
pub use fault::{Fault, Target};
pub use front_door::HttpOrigin;
pub use options::{LogFormat, LogLevel, MAX_PAYLOAD, Options, STREAM_LIMIT};
pub use records::{
    Endpoint, ExtensionError, ExtensionExit, ExtensionInfo, InvokeResult, LogLine, LogStream,
    Outcome, PostedError, ProcessExit, ResetReason, RuntimeCall, ShutdownAction, ShutdownStep,
    StreamEnd, StreamRecord, TelemetryDelivery,
};
pub use streaming::{InvokeStream, StreamedInvoke};
