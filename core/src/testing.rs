//! Running a [`Runner`] without Lambda: an in-memory Runtime API and [`exec_test`].
//!
//! [`exec_test`] feeds the invocations of a JSON document (the seed crate's test-data shape,
//! `{"region": …, "invocations": [ … ]}`) through the real lifecycle machine and
//! [driver], talking HTTP to an in-memory Runtime API ([`FakeRuntimeApi`]) instead
//! of a socket, and returns what each invocation produced:
//!
//! ```
//! struct Echo;
//! impl<'a> lambda_runtime_types::Runner<'a, (), serde_json::Value, serde_json::Value> for Echo {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(
//!         _shared: &'a (),
//!         event: lambda_runtime_types::LambdaEvent<'a, serde_json::Value>,
//!     ) -> anyhow::Result<serde_json::Value> {
//!         Ok(event.event)
//!     }
//! }
//!
//! let json = r#"{"region": "eu-central-1", "invocations": [{"test": "test"}]}"#;
//! let results = lambda_runtime_types::testing::block_on(
//!     lambda_runtime_types::testing::exec_test::<_, _, Echo, _>(json),
//! )?;
//! assert_eq!(results[0].as_ref().unwrap()["test"], "test");
//! # anyhow::Ok(())
//! ```
//!
//! [`exec_test`] is executor-agnostic; the adapters offer blocking versions that run it on their
//! executor, so handlers can use that executor's timers and I/O.
//!
//! # Virtual time
//!
//! Timeouts and back-offs are tested without waiting for them: a [`MemoryExecutor`] made with
//! [`MemoryExecutor::with_virtual_clock`] reads a [`VirtualClock`] instead of the system clock,
//! and its sleeps are timers on that clock. [`run_virtual`] polls the driver's future and, when
//! nothing can happen until time passes (no waker was called since the last poll), jumps the
//! clock to the earliest timer. The [`FakeRuntimeApi`] served by such an executor computes
//! deadlines ([`FakeRuntimeApi::push_with_timeout`]) and stamps the calls and posts it records
//! ([`RecordedCall::at`], [`RecordedPost::at`]) with the same clock.
//!
//! ```
//! use core::time::Duration;
//! use lambda_runtime_types::testing::{self, FakeRuntimeApi, MemoryExecutor, VIRTUAL_EPOCH};
//! use lambda_runtime_types::{Config, LambdaEvent, Runner, driver};
//!
//! /// A handler that never finishes.
//! struct Stuck;
//! impl<'a> Runner<'a, (), (), ()> for Stuck {
//!     async fn setup(_region: &'a str) -> anyhow::Result<()> {
//!         Ok(())
//!     }
//!     async fn run(_: &'a (), _: LambdaEvent<'a, ()>) -> anyhow::Result<()> {
//!         core::future::pending().await
//!     }
//! }
//!
//! let api = FakeRuntimeApi::new();
//! api.push_with_timeout("req-1", b"null".to_vec(), Duration::from_secs(3));
//! let exec = MemoryExecutor::with_virtual_clock(api.clone());
//! let clock = exec.virtual_clock().unwrap().clone();
//! let config = Config::for_endpoint(api.endpoint());
//! // `None`: nothing is left to happen (the runtime waits for an invocation that never comes).
//! let exited = testing::run_virtual(&clock, driver::run::<_, (), (), Stuck, ()>(&exec, config));
//! assert_eq!(exited, None);
//! let posts = api.posts();
//! assert_eq!(posts[0].error_type.as_deref(), Some("Runtime.HandlerTimeout"));
//! // Reported at the deadline minus the default margin of 100 ms, without waiting 2.9 s.
//! assert_eq!(posts[0].at, VIRTUAL_EPOCH.saturating_add(2_900));
//! ```
//!
//! The trade-off: the clock jumps whenever the future is pending and nothing woke it, so
//! everything the future waits for must live in this process and wake it from inside a poll
//! (the in-memory API, [`VirtualClock`] timers, `core::future::pending()` for "still running").
//! A handler that awaits a real executor's timer or I/O (a tokio sleep, a socket) would see its
//! invocation timed out at once, and a wake-up from another thread comes too late for
//! [`run_virtual`]. That is why [`exec_test`] and [`MemoryExecutor::new`] keep the system clock.

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::future::{Future, poll_fn};
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};
use core::time::Duration;
use std::sync::Mutex;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Config;
use crate::diagnostic::Diagnostic;
use crate::driver::{self, Connection, Executor};
use crate::runner::Runner;
use crate::time::EpochMillis;
use crate::wire::Endpoint;
use crate::wire::header::{FUNCTION_ERROR_TYPE, INVOCATION_ID, INVOKED_FUNCTION_ARN, REQUEST_ID};

/// What one invocation produced: the response as JSON, or the error that was posted.
pub type TestOutcome = Result<serde_json::Value, Diagnostic>;

/// The test-data document: `{"region": …, "invocations": [ … ]}`.
#[derive(Debug, serde::Deserialize)]
struct TestData {
    region: String,
    invocations: Vec<serde_json::Value>,
}

/// Runs `R` over the invocations in `json` (see the [module docs](self)).
///
/// Returns one [`TestOutcome`] per invocation, in order, or an error if the document is not of
/// the expected shape, setup failed, or the runtime exited early.
pub async fn exec_test<Shared, Event, R, Return>(json: &str) -> anyhow::Result<Vec<TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let data: TestData = serde_json::from_str(json)
        .map_err(|e| anyhow::anyhow!("test data is not {{\"region\", \"invocations\"}}: {e}"))?;
    let api = FakeRuntimeApi::new();
    for (n, event) in data.invocations.iter().enumerate() {
        api.push(&format!("test-{n}"), serde_json::to_vec(event)?);
    }
    let exec = MemoryExecutor::new(api.clone());
    let mut config = Config::for_endpoint(api.endpoint());
    config.region = data.region;
    config.function_name = "exec-test".to_string();
    let mut run = core::pin::pin!(driver::run::<_, Shared, Event, R, Return>(&exec, config));
    let exited = poll_fn(|cx| {
        if let Poll::Ready(reason) = run.as_mut().poll(cx) {
            return Poll::Ready(Some(reason));
        }
        api.idle(cx.waker())
            .then_some(None)
            .map_or(Poll::Pending, Poll::Ready)
    })
    .await;
    let posts = api.posts();
    if let Some(reason) = exited {
        let init = posts.iter().find(|p| p.kind == PostKind::InitError);
        let why = init
            .map(|p| String::from_utf8_lossy(&p.body).into_owned())
            .unwrap_or_default();
        anyhow::bail!("the runtime exited: {reason} {why}");
    }
    (0..data.invocations.len())
        .map(|n| {
            let id = format!("test-{n}");
            let post = posts
                .iter()
                .find(|p| p.request_id.as_deref() == Some(&id))
                .ok_or_else(|| anyhow::anyhow!("invocation {n} was never reported"))?;
            Ok(match post.kind {
                PostKind::Response => Ok(serde_json::from_slice(&post.body)?),
                _ => Err(serde_json::from_slice(&post.body)?),
            })
        })
        .collect()
}

/// Reads the test data from a file and runs [`exec_test`].
pub async fn exec_test_file<Shared, Event, R, Return>(
    path: impl AsRef<std::path::Path>,
) -> anyhow::Result<Vec<TestOutcome>>
where
    R: for<'a> Runner<'a, Shared, Event, Return>,
    Event: DeserializeOwned,
    Return: Serialize,
{
    let path = path.as_ref();
    let json = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
    exec_test::<Shared, Event, R, Return>(&json).await
}

/// Runs a future to completion on the current thread (parking it while the future waits).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl alloc::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = core::task::Context::from_waker(&waker);
    let mut fut = core::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// How the [`FakeRuntimeApi`] can fail a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FakeFault {
    /// Answer this status with an RIE-style error body instead of serving the call.
    Status(u16),
    /// Close the connection without serving the call (it is not recorded).
    Close,
    /// Serve the call, but send only half of the answer's body, then close.
    CutBody,
}

/// Which endpoint a recorded post went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostKind {
    /// `/runtime/invocation/{id}/response`
    Response,
    /// `/runtime/invocation/{id}/error`
    Error,
    /// `/runtime/init/error`
    InitError,
}

/// A request the runtime posted to the [`FakeRuntimeApi`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RecordedPost {
    /// The endpoint.
    pub kind: PostKind,
    /// The request id in the path (`None` for the init error).
    pub request_id: Option<String>,
    /// `Lambda-Runtime-Function-Error-Type`, if sent.
    pub error_type: Option<String>,
    /// `Lambda-Runtime-Invocation-Id`, if sent.
    pub invocation_id: Option<String>,
    /// Whether it was a streamed response (`Lambda-Runtime-Function-Response-Mode:
    /// streaming`, chunked); its error type, if it failed mid-way, is in `error_type` (from the
    /// trailers).
    pub streamed: bool,
    /// `Lambda-Runtime-Function-Error-Body`, the base64 error body a failed stream's trailers
    /// carry.
    pub error_body: Option<String>,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// The body (a stream's chunks, joined).
    pub body: Vec<u8>,
    /// When the API received it, on the API's clock ([`FakeRuntimeApi::now`]).
    pub at: EpochMillis,
}

/// A request the [`FakeRuntimeApi`] received, whether it was served, failed or left waiting.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedCall {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path as sent, e.g. `/2018-06-01/runtime/invocation/next`.
    pub path: String,
    /// When the API received the complete request, on the API's clock ([`FakeRuntimeApi::now`]).
    pub at: EpochMillis,
    /// The fault it was answered with, if one was set for it.
    pub fault: Option<FakeFault>,
}

#[derive(Debug)]
struct Queued {
    payload: Vec<u8>,
    headers: Vec<(String, String)>,
    /// `Lambda-Runtime-Deadline-Ms` is this long after the instant `/next` delivers it.
    timeout: Option<Duration>,
}

#[derive(Debug, Default)]
struct ApiState {
    /// Invocations to serve: payload and `/next` headers.
    queue: VecDeque<Queued>,
    posts: Vec<RecordedPost>,
    /// `/next` calls answered so far.
    fetches: usize,
    /// A `/next` found nothing to deliver: the run is over.
    idle: bool,
    idle_waker: Option<Waker>,
    /// Requests served so far (every endpoint).
    calls: usize,
    /// (call number, status): answer that call with the status instead of serving it.
    forced: Vec<(usize, FakeFault)>,
    /// Every request received, in order.
    log: Vec<RecordedCall>,
    /// The clock of the executor with a virtual clock that serves this API, if any.
    clock: Option<VirtualClock>,
}

impl ApiState {
    fn now(&self) -> EpochMillis {
        self.clock
            .as_ref()
            .map_or_else(EpochMillis::now, VirtualClock::now)
    }
}

/// An in-memory Runtime API: queues invocations, answers `/next` with them, and records every
/// post. It speaks real HTTP/1.1 over [`MemoryConnection`]s.
#[derive(Clone, Debug, Default)]
pub struct FakeRuntimeApi {
    state: Arc<Mutex<ApiState>>,
}

impl FakeRuntimeApi {
    /// An API with nothing queued.
    pub fn new() -> Self {
        Self::default()
    }

    /// The endpoint to put in a [`Config`] (any connection reaches this API).
    pub fn endpoint(&self) -> Endpoint {
        // A fixed, valid literal.
        Endpoint::parse("127.0.0.1:9001").unwrap_or_else(|_| unreachable!())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ApiState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues an invocation with the given request id and payload.
    pub fn push(&self, request_id: &str, payload: Vec<u8>) {
        self.push_with_headers(request_id, payload, &[]);
    }

    /// Queues an invocation with extra `/next` response headers (which may replace the
    /// defaults, e.g. a `Lambda-Runtime-Aws-Request-Id` of your own or none at all).
    pub fn push_with_headers(&self, request_id: &str, payload: Vec<u8>, headers: &[(&str, &str)]) {
        self.enqueue(request_id, payload, headers, None);
    }

    /// Queues an invocation that has `timeout` to run: its `Lambda-Runtime-Deadline-Ms` is
    /// `timeout` after the instant `/next` delivers it (as Lambda sets the deadline when the
    /// invocation starts), on the API's clock ([`FakeRuntimeApi::now`]).
    pub fn push_with_timeout(&self, request_id: &str, payload: Vec<u8>, timeout: Duration) {
        self.enqueue(request_id, payload, &[], Some(timeout));
    }

    fn enqueue(
        &self,
        request_id: &str,
        payload: Vec<u8>,
        headers: &[(&str, &str)],
        timeout: Option<Duration>,
    ) {
        let mut h: Vec<(String, String)> = headers
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(REQUEST_ID))
        {
            h.push((REQUEST_ID.to_string(), request_id.to_string()));
        }
        self.lock().queue.push_back(Queued {
            payload,
            headers: h,
            timeout,
        });
    }

    /// The API's clock: the [`VirtualClock`] of the executor made for it with
    /// [`MemoryExecutor::with_virtual_clock`] or [`MemoryExecutor::with_clock`], if any;
    /// otherwise the system clock.
    pub fn now(&self) -> EpochMillis {
        self.lock().now()
    }

    /// The [`VirtualClock`] the API follows, if it follows one.
    pub fn virtual_clock(&self) -> Option<VirtualClock> {
        self.lock().clock.clone()
    }

    /// Answers call number `call` (0-based, counting every request to any endpoint since the
    /// API was created) with `status` and an RIE-style error body instead of serving it.
    pub fn force_status(&self, call: usize, status: u16) {
        self.fault(call, FakeFault::Status(status));
    }

    /// Makes call number `call` (counted as for [`FakeRuntimeApi::force_status`]) fail with
    /// `fault`.
    pub fn fault(&self, call: usize, fault: FakeFault) {
        self.lock().forced.push((call, fault));
    }

    /// Every post so far.
    pub fn posts(&self) -> Vec<RecordedPost> {
        self.lock().posts.clone()
    }

    /// Every request received so far, to any endpoint, in order: also those that failed with a
    /// [`FakeFault`] and a `/next` still waiting for an invocation.
    pub fn calls(&self) -> Vec<RecordedCall> {
        self.lock().log.clone()
    }

    /// How many `/next` calls were answered with an invocation.
    pub fn fetches(&self) -> usize {
        self.lock().fetches
    }

    /// Whether a `/next` call found the queue empty; registers `waker` to learn when it does.
    pub fn idle(&self, waker: &Waker) -> bool {
        let mut s = self.lock();
        if !s.idle {
            s.idle_waker = Some(waker.clone());
        }
        s.idle
    }

    /// Serves one complete request: the answer's bytes and whether the connection closes after
    /// them; `None` means "no answer yet" (a long poll on an empty queue).
    fn serve(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Option<(Vec<u8>, bool)> {
        let fault = {
            let mut s = self.lock();
            let call = s.calls;
            s.calls += 1;
            let fault = s.forced.iter().find(|(n, _)| *n == call).map(|(_, f)| *f);
            let at = s.now();
            s.log.push(RecordedCall {
                method: method.to_string(),
                path: path.to_string(),
                at,
                fault,
            });
            fault
        };
        match fault {
            None => self.answer(method, path, headers, body).map(|a| (a, false)),
            Some(FakeFault::Status(status)) => {
                let body = br#"{"errorMessage":"forced","errorType":"Forced"}"#;
                Some((http(status, &[], body), false))
            }
            Some(FakeFault::Close) => Some((Vec::new(), true)),
            Some(FakeFault::CutBody) => {
                let mut a = self.answer(method, path, headers, body)?;
                let head = a
                    .windows(4)
                    .position(|w| w == b"\r\n\r\n")
                    .map_or(0, |p| p + 4);
                a.truncate(head + (a.len() - head) / 2);
                Some((a, true))
            }
        }
    }

    /// Serves a request the normal way.
    fn answer(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Option<Vec<u8>> {
        let mut s = self.lock();
        let path = path.strip_prefix(crate::wire::API_VERSION).unwrap_or(path);
        let header = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.clone())
        };
        if method == "GET" && path == "/runtime/invocation/next" {
            let Some(Queued {
                payload,
                headers: extra,
                timeout,
            }) = s.queue.pop_front()
            else {
                s.idle = true;
                if let Some(w) = s.idle_waker.take() {
                    w.wake();
                }
                return None;
            };
            s.fetches += 1;
            let deadline = timeout.map(|t| {
                let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
                s.now().saturating_add(ms).as_millis().to_string()
            });
            let mut h: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            if let Some(d) = &deadline {
                h.push(("Lambda-Runtime-Deadline-Ms", d));
            }
            h.push(("Content-Type", "application/json"));
            h.push((
                INVOKED_FUNCTION_ARN,
                "arn:aws:lambda:us-east-1:000000000000:function:exec-test",
            ));
            return Some(http(200, &h, &payload));
        }
        let (kind, request_id) = if path == "/runtime/init/error" {
            (PostKind::InitError, None)
        } else if let Some(rest) = path.strip_prefix("/runtime/invocation/") {
            match rest.rsplit_once('/') {
                Some((id, "response")) => (PostKind::Response, Some(id.to_string())),
                Some((id, "error")) => (PostKind::Error, Some(id.to_string())),
                _ => return Some(http(404, &[], b"{}")),
            }
        } else {
            return Some(http(404, &[], b"{}"));
        };
        if method != "POST" {
            return Some(http(405, &[], b"{}"));
        }
        let at = s.now();
        s.posts.push(RecordedPost {
            kind,
            request_id,
            error_type: header(FUNCTION_ERROR_TYPE),
            invocation_id: header(INVOCATION_ID),
            streamed: header(crate::wire::header::FUNCTION_RESPONSE_MODE).as_deref()
                == Some("streaming"),
            error_body: header(crate::wire::header::FUNCTION_ERROR_BODY),
            content_type: header("Content-Type"),
            body,
            at,
        });
        Some(http(202, &[], br#"{"status":"OK"}"#))
    }
}

fn http(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len()).into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// An [`Executor`] whose connections all reach a [`FakeRuntimeApi`] in memory.
///
/// Made with [`MemoryExecutor::new`], its clock is the system clock and its timers are real (a
/// thread per sleep), so handlers may await another executor's timers and I/O. Made with
/// [`MemoryExecutor::with_virtual_clock`], its clock is a [`VirtualClock`] that
/// [`run_virtual`] moves on (see [virtual time](self#virtual-time) for the trade-off).
#[derive(Clone, Debug)]
pub struct MemoryExecutor {
    api: FakeRuntimeApi,
    clock: Option<VirtualClock>,
}

impl MemoryExecutor {
    /// An executor serving `api`, on the system clock.
    pub fn new(api: FakeRuntimeApi) -> Self {
        Self { api, clock: None }
    }

    /// An executor serving `api`, on a virtual clock: the one `api` follows already (another
    /// executor's), or a new one starting at [`VIRTUAL_EPOCH`], which `api` then follows too.
    /// Run the driver with [`run_virtual`].
    pub fn with_virtual_clock(api: FakeRuntimeApi) -> Self {
        let clock = api.virtual_clock().unwrap_or_default();
        Self::with_clock(api, clock)
    }

    /// An executor serving `api` on `clock`, which `api` follows from now on (for deadlines
    /// and the times it records). Run the driver with [`run_virtual`].
    pub fn with_clock(api: FakeRuntimeApi, clock: VirtualClock) -> Self {
        api.lock().clock = Some(clock.clone());
        Self {
            api,
            clock: Some(clock),
        }
    }

    /// The virtual clock, if the executor has one.
    pub fn virtual_clock(&self) -> Option<&VirtualClock> {
        self.clock.as_ref()
    }
}

impl Executor for MemoryExecutor {
    type Connection = MemoryConnection;
    type Error = &'static str;

    async fn connect(&self, _endpoint: &Endpoint) -> Result<MemoryConnection, &'static str> {
        Ok(MemoryConnection {
            api: self.api.clone(),
            request: Vec::new(),
            response: Vec::new(),
            closing: false,
        })
    }

    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        let timer = self.clock.as_ref().map(|c| c.sleep(duration));
        let real = timer.is_none().then(|| real_sleep(duration));
        async move {
            if let Some(timer) = timer {
                timer.await;
            }
            if let Some(real) = real {
                real.await;
            }
        }
    }

    fn now(&self) -> EpochMillis {
        self.clock
            .as_ref()
            .map_or_else(EpochMillis::now, VirtualClock::now)
    }
}

/// Completes once the system clock has passed `duration` from now (a thread wakes it).
fn real_sleep(duration: Duration) -> impl Future<Output = ()> {
    let deadline = EpochMillis::now().saturating_add(duration.as_millis() as u64);
    let mut armed = false;
    poll_fn(move |cx| {
        let now = EpochMillis::now();
        if now >= deadline {
            return Poll::Ready(());
        }
        if !armed {
            armed = true;
            let waker = cx.waker().clone();
            let wait = Duration::from_millis(deadline.millis_since(now));
            std::thread::spawn(move || {
                std::thread::sleep(wait);
                waker.wake();
            });
        }
        Poll::Pending
    })
}

/// A connection of a [`MemoryExecutor`]: HTTP requests written to it are served by the
/// [`FakeRuntimeApi`] at once (or never, for `/next` on an empty queue).
#[derive(Debug)]
pub struct MemoryConnection {
    api: FakeRuntimeApi,
    request: Vec<u8>,
    response: Vec<u8>,
    /// The API closes the connection once `response` is read.
    closing: bool,
}

impl MemoryConnection {
    /// Serves `self.request` if it holds a complete request.
    fn try_serve(&mut self) -> Result<Option<(Vec<u8>, bool)>, &'static str> {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let head_len = match req.parse(&self.request) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(_) => return Err("malformed request"),
        };
        let mut owned: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let (method, path) = (
            req.method.unwrap_or("").to_string(),
            req.path.unwrap_or("").to_string(),
        );
        let chunked = owned.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case("Transfer-Encoding") && v.eq_ignore_ascii_case("chunked")
        });
        if chunked {
            // A streamed response: its chunks, then its trailers (served as headers).
            let Some((body, trailers, used)) = chunked_body(&self.request[head_len..])? else {
                return Ok(None);
            };
            owned.extend(trailers);
            self.request.drain(..head_len + used);
            return Ok(self.api.serve(&method, &path, &owned, body));
        }
        let len: usize = owned
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .map_or(Ok(0), |(_, v)| v.parse())
            .map_err(|_| "bad content-length")?;
        if self.request.len() < head_len + len {
            return Ok(None);
        }
        let body = self.request[head_len..head_len + len].to_vec();
        self.request.drain(..head_len + len);
        Ok(self.api.serve(&method, &path, &owned, body))
    }
}

/// A chunked body at the start of `bytes`: its data, its trailers and how many bytes it took, or
/// `None` if it is not complete yet.
type ChunkedBody = (Vec<u8>, Vec<(String, String)>, usize);

fn chunked_body(bytes: &[u8]) -> Result<Option<ChunkedBody>, &'static str> {
    let line = |at: usize| -> Option<(&[u8], usize)> {
        let rest = bytes.get(at..)?;
        let end = rest.windows(2).position(|w| w == b"\r\n")?;
        Some((&rest[..end], at + end + 2))
    };
    let (mut at, mut body) = (0, Vec::new());
    loop {
        let Some((size, next)) = line(at) else {
            return Ok(None);
        };
        let size = core::str::from_utf8(size).map_err(|_| "bad chunk size")?;
        let size = usize::from_str_radix(size.trim(), 16).map_err(|_| "bad chunk size")?;
        if size == 0 {
            at = next;
            break;
        }
        let end = next
            .checked_add(size)
            .and_then(|e| e.checked_add(2))
            .ok_or("bad chunk size")?;
        let Some(data) = bytes.get(next..end) else {
            return Ok(None);
        };
        if !data.ends_with(b"\r\n") {
            return Err("a chunk does not end with CRLF");
        }
        body.extend_from_slice(&data[..size]);
        at = end;
    }
    let mut trailers = Vec::new();
    loop {
        let Some((field, next)) = line(at) else {
            return Ok(None);
        };
        at = next;
        if field.is_empty() {
            return Ok(Some((body, trailers, at)));
        }
        let field = String::from_utf8_lossy(field);
        let (name, value) = field.split_once(':').ok_or("bad trailer")?;
        trailers.push((name.trim().to_string(), value.trim().to_string()));
    }
}

impl Connection for MemoryConnection {
    type Error = &'static str;

    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, &'static str> {
        if self.response.is_empty() {
            if self.closing {
                return Ok(0);
            }
            match self.try_serve()? {
                Some((r, close)) => (self.response, self.closing) = (r, close),
                // A long poll that never ends: `exec_test` stops when the API is idle.
                None => core::future::pending::<()>().await,
            }
        }
        let n = buf.len().min(self.response.len());
        buf[..n].copy_from_slice(&self.response[..n]);
        self.response.drain(..n);
        Ok(n)
    }

    async fn write_all(&mut self, buf: &[u8]) -> Result<(), &'static str> {
        self.request.extend_from_slice(buf);
        Ok(())
    }
}

// --- virtual time -----------------------------------------------------------------------

/// Where a [`VirtualClock`] starts unless told otherwise: 2023-11-14T22:13:20Z, a plausible
/// wall-clock time (deadlines are compared with it, and one long past or far ahead is refused).
pub const VIRTUAL_EPOCH: EpochMillis = EpochMillis::from_millis(1_700_000_000_000);

/// How many steps [`run_virtual`] takes before it panics: a step is one poll of the future or
/// one jump of the clock. Every scenario of the driver's tests takes a few dozen.
pub const MAX_STEPS: usize = 10_000;

/// A clock that moves only when told to, and the timers set on it.
///
/// Clones share the clock. It never goes backwards. A [`VirtualSleep`] completes once the clock
/// reaches its instant; [`VirtualClock::advance_to`] (which [`run_virtual`] calls with
/// [`VirtualClock::next_timer`]) moves the clock and wakes the timers it passes.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    state: Arc<Mutex<ClockState>>,
}

#[derive(Debug)]
struct ClockState {
    now: EpochMillis,
    timers: Vec<Timer>,
    next_id: u64,
}

/// A registered, not yet completed [`VirtualSleep`].
#[derive(Debug)]
struct Timer {
    id: u64,
    at: EpochMillis,
    waker: Waker,
    /// Woken by the clock, not yet polled since: not a reason to move the clock again.
    fired: bool,
}

std::thread_local! {
    /// The clock [`run_virtual`] is driving on this thread.
    static CURRENT: RefCell<Option<VirtualClock>> = const { RefCell::new(None) };
}

impl Default for VirtualClock {
    /// A clock at [`VIRTUAL_EPOCH`].
    fn default() -> Self {
        Self::starting_at(VIRTUAL_EPOCH)
    }
}

impl VirtualClock {
    /// A clock at [`VIRTUAL_EPOCH`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A clock at `now`.
    pub fn starting_at(now: EpochMillis) -> Self {
        Self {
            state: Arc::new(Mutex::new(ClockState {
                now,
                timers: Vec::new(),
                next_id: 0,
            })),
        }
    }

    /// The clock that [`run_virtual`] is driving on this thread, if it is: how a handler under
    /// test sleeps in virtual time (`VirtualClock::current().unwrap().sleep(d).await`).
    pub fn current() -> Option<Self> {
        CURRENT.with(|c| c.borrow().clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClockState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The virtual time.
    pub fn now(&self) -> EpochMillis {
        self.lock().now
    }

    /// A future that completes once the clock reaches now + `duration` (rounded up to whole
    /// milliseconds; at once if that is now). Its timer counts for [`VirtualClock::next_timer`]
    /// from its first poll until it completes or is dropped.
    pub fn sleep(&self, duration: Duration) -> VirtualSleep {
        let ms = u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
        VirtualSleep {
            clock: self.clone(),
            at: self.now().saturating_add(ms),
            id: None,
        }
    }

    /// The earliest instant a pending timer waits for (one woken and not yet polled since does
    /// not count), or `None` if no timer waits.
    pub fn next_timer(&self) -> Option<EpochMillis> {
        self.lock()
            .timers
            .iter()
            .filter(|t| !t.fired)
            .map(|t| t.at)
            .min()
    }

    /// How many timers are registered (polled, not yet completed or dropped).
    pub fn timers(&self) -> usize {
        self.lock().timers.len()
    }

    /// Moves the clock to `to` (not backwards: an earlier instant leaves it where it is) and
    /// wakes every timer due by then.
    pub fn advance_to(&self, to: EpochMillis) {
        let wake: Vec<Waker> = {
            let mut s = self.lock();
            s.now = s.now.max(to);
            let now = s.now;
            s.timers
                .iter_mut()
                .filter(|t| !t.fired && t.at <= now)
                .map(|t| {
                    t.fired = true;
                    t.waker.clone()
                })
                .collect()
        };
        // Outside the lock: a waker may poll, and the poll take the lock.
        for w in wake {
            w.wake();
        }
    }

    /// Moves the clock on by `by` (see [`VirtualClock::advance_to`]).
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.advance_to(self.now().saturating_add(ms));
    }
}

/// The future of [`VirtualClock::sleep`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct VirtualSleep {
    clock: VirtualClock,
    at: EpochMillis,
    /// The registered timer, once polled.
    id: Option<u64>,
}

impl VirtualSleep {
    /// The instant it completes at.
    pub fn deadline(&self) -> EpochMillis {
        self.at
    }
}

impl Future for VirtualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        let mut s = this.clock.lock();
        if s.now >= this.at {
            if let Some(id) = this.id.take() {
                s.timers.retain(|t| t.id != id);
            }
            return Poll::Ready(());
        }
        match this
            .id
            .and_then(|id| s.timers.iter_mut().find(|t| t.id == id))
        {
            Some(t) => {
                t.waker.clone_from(cx.waker());
                t.fired = false;
            }
            None => {
                let id = s.next_id;
                s.next_id += 1;
                s.timers.push(Timer {
                    id,
                    at: this.at,
                    waker: cx.waker().clone(),
                    fired: false,
                });
                this.id = Some(id);
            }
        }
        Poll::Pending
    }
}

impl Drop for VirtualSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            self.clock.lock().timers.retain(|t| t.id != id);
        }
    }
}

/// Runs `fut` on the current thread in `clock`'s virtual time: polls it whenever it was woken,
/// and when it is pending and nothing woke it, moves the clock to the earliest pending timer
/// ([`VirtualClock::next_timer`]), which wakes that timer.
///
/// Returns `Some` with the output, or `None` once the future is pending with no wake-up and no
/// timer left: nothing in this process can make it progress any more (for the driver on a
/// [`MemoryExecutor`], typically a `/next` on an empty queue, or a handler that never finishes
/// and has no deadline). While it runs, [`VirtualClock::current`] is `clock`. See
/// [virtual time](self#virtual-time) for what the future may wait for.
///
/// # Panics
///
/// After [`MAX_STEPS`] steps, saying where virtual time got to: a future that keeps waking
/// itself (or a clock that keeps jumping) fails instead of hanging.
#[track_caller]
pub fn run_virtual<F: Future>(clock: &VirtualClock, fut: F) -> Option<F::Output> {
    struct Flag(AtomicBool);
    impl alloc::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }
    /// Makes `clock` the current one and restores the previous one when dropped.
    struct Current(Option<VirtualClock>);
    impl Drop for Current {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }

    let _current = Current(CURRENT.with(|c| c.replace(Some(clock.clone()))));
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = core::pin::pin!(fut);
    for _ in 0..MAX_STEPS {
        if flag.0.swap(false, Ordering::SeqCst) {
            if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return Some(v);
            }
            continue;
        }
        // Pending and nothing woke it: only time passing can make it progress.
        clock.advance_to(clock.next_timer()?);
    }
    panic!(
        "run_virtual: no result after MAX_STEPS ({MAX_STEPS}) steps; virtual time {} \
         ({} ms after the start), {} timer(s) registered, next at {:?}: the future keeps \
         waking itself or the clock keeps jumping",
        clock.now(),
        clock.now().millis_since(VIRTUAL_EPOCH),
        clock.timers(),
        clock.next_timer(),
    );
}
