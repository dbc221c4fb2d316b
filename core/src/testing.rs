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

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::task::{Poll, Waker};
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
    /// The body.
    pub body: Vec<u8>,
}

#[derive(Debug)]
struct Queued {
    payload: Vec<u8>,
    headers: Vec<(String, String)>,
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
        });
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
        let call = {
            let mut s = self.lock();
            s.calls += 1;
            s.calls - 1
        };
        let fault = self
            .lock()
            .forced
            .iter()
            .find(|(n, _)| *n == call)
            .map(|(_, f)| *f);
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
            }) = s.queue.pop_front()
            else {
                s.idle = true;
                if let Some(w) = s.idle_waker.take() {
                    w.wake();
                }
                return None;
            };
            s.fetches += 1;
            let mut h: Vec<(&str, &str)> = extra
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
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
        s.posts.push(RecordedPost {
            kind,
            request_id,
            error_type: header(FUNCTION_ERROR_TYPE),
            invocation_id: header(INVOCATION_ID),
            body,
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

/// An [`Executor`] whose connections all reach a [`FakeRuntimeApi`] in memory; its timers are
/// real (a thread per sleep), its clock is the system clock.
#[derive(Clone, Debug)]
pub struct MemoryExecutor {
    api: FakeRuntimeApi,
}

impl MemoryExecutor {
    /// An executor serving `api`.
    pub fn new(api: FakeRuntimeApi) -> Self {
        Self { api }
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

    fn sleep(&self, duration: core::time::Duration) -> impl Future<Output = ()> {
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
                let wait = core::time::Duration::from_millis(deadline.millis_since(now));
                std::thread::spawn(move || {
                    std::thread::sleep(wait);
                    waker.wake();
                });
            }
            Poll::Pending
        })
    }

    fn now(&self) -> EpochMillis {
        EpochMillis::now()
    }
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
        let owned: Vec<(String, String)> = req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let len: usize = owned
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("Content-Length"))
            .map_or(Ok(0), |(_, v)| v.parse())
            .map_err(|_| "bad content-length")?;
        if self.request.len() < head_len + len {
            return Ok(None);
        }
        let (method, path) = (
            req.method.unwrap_or("").to_string(),
            req.path.unwrap_or("").to_string(),
        );
        let body = self.request[head_len..head_len + len].to_vec();
        self.request.drain(..head_len + len);
        Ok(self.api.serve(&method, &path, &owned, body))
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
