//! `lifecycle`: the lifecycle machine driven by parsed Runtime API answers and the other facts a
//! driver feeds it, in an order the input chooses.
//!
//! The input is a script: lane count and options, then one fact per step (a `/next` or post
//! answered with a head written from fuzzed fields and parsed back by the wire layer, a truncated
//! answer, a transport failure, a handler finishing with the right or a wrong id, time passing,
//! a stream starting or passing its limit, setup or the extension settling, a claim's outcome,
//! and calls that are illegal where they land). After each fact `poll` is drained.
//!
//! Invariants checked on what the machine does:
//! - no panic; `poll` reaches `Wait` or `Exit` within a bound; `Exit` stays `Exit`;
//! - a `handle_*` call that returns `Err` leaves every lane's phase unchanged, and the ones a
//!   driver must be able to make (an answer to a request in flight) return `Ok`;
//! - one request in flight per lane: a lane is asked to send only when nothing is out;
//! - a handler runs only for a `/next` answered 200 with a valid request id, with that id;
//! - no invocation is lost: after an unambiguous 200 with a valid id, the lane does not fetch
//!   again before that invocation's report was answered (or the watchdog reported it);
//! - one report per invocation: once a report's answer came back (anything but 413 to a
//!   `/response`, which turns into its too-large error), nothing more is posted for it, and a
//!   timed-out invocation never gets its `/response` posted;
//! - every post's head, encoded by the wire layer, names the invocation's validated id and
//!   nothing else ([`check::check_invocation_post`]).

use arbitrary::Unstructured;
use lambda_runtime_types::error_type::ErrorType;
use lambda_runtime_types::id::RequestId;
use lambda_runtime_types::lifecycle::{
    Action, ClaimOutcome, ErrorCause, HandlerOutcome, Invocation, Lifecycle, MAX_PAYLOAD_BYTES,
    Options, Phase, SetupOutcome,
};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::{ContentType, Endpoint, Request, parse_head};

use crate::check::{self, is_valid_id};
use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "lifecycle",
    about: "the lifecycle machine driven by parsed answers and driver facts in fuzzed order",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 2048,
};

/// Bytes that steer the script towards interesting choices (statuses, ids).
pub const DICTIONARY: &[&[u8]] = &[
    b"\x00\x00\x00\x00",
    b"\xff\xff\xff\xff",
    b"../",
    b"a/b",
    b"%2F",
    b"\r\n",
    b"req-1",
    b"\x01\x02\x03\x04\x05\x06\x07\x08",
];

const LANES: usize = 3;
const MAX_FACTS: usize = 256;
const MAX_POLLS: usize = 64;
const T0: u64 = 1_700_000_000_000;

fn seeds() -> Vec<Vec<u8>> {
    // A few fixed scripts; the fuzzer mutates them into longer ones.
    let mut out = Vec::new();
    for lanes in 0u8..3 {
        for options in 0u8..4 {
            let mut v = vec![lanes, options, 0];
            for step in 0u8..48 {
                v.push(step.wrapping_mul(37));
                v.push(step);
            }
            out.push(v);
        }
    }
    out
}

/// What a lane has out.
#[derive(Clone, Debug)]
enum Out {
    Next,
    Post { inv: usize, kind: PostKind },
    InitError,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PostKind {
    Response,
    Error,
    Stream,
}

/// One delivered invocation, as the harness tracks it.
#[derive(Debug)]
struct Delivery {
    id: RequestId,
    lane: usize,
    /// Its report's answer came back (or the watchdog reported it).
    settled: bool,
    timed_out: bool,
    ran: bool,
    /// The handler returned `Ok` with a response that fits.
    ok_len: Option<usize>,
    /// Exactly one request-id field in the head (an ambiguous head may be refused).
    unambiguous: bool,
}

#[derive(Debug, Default)]
struct Lane {
    out: Option<Out>,
    /// The delivery the lane is working on, if any.
    current: Option<usize>,
    /// A handler is running for `current`.
    running: bool,
}

/// An owned copy of an [`Action`], so that the harness can act on it with the machine free.
#[derive(Debug)]
enum Act {
    Wait(Option<EpochMillis>),
    Exit(lambda_runtime_types::lifecycle::ExitReason),
    RunSetup,
    RegisterExtension,
    FetchNext(usize),
    RunHandler(usize, Invocation),
    Claim(usize, Invocation),
    PostResponse(usize, Invocation),
    PostError(usize, Invocation, ErrorCause),
    StreamResponse(usize, Invocation),
    EndStream(usize, Invocation),
    PostInitError(usize),
    /// An action this harness does not know (a newer machine's): checked by name only.
    Other(&'static str),
}

impl From<Action<'_>> for Act {
    fn from(a: Action<'_>) -> Self {
        match a {
            Action::Wait { until } => Self::Wait(until),
            Action::Exit(reason) => Self::Exit(reason),
            Action::RunSetup => Self::RunSetup,
            Action::RegisterExtension => Self::RegisterExtension,
            Action::FetchNext { lane } => Self::FetchNext(lane),
            Action::RunHandler {
                lane, invocation, ..
            } => Self::RunHandler(lane, invocation.clone()),
            Action::Claim { lane, invocation } => Self::Claim(lane, invocation.clone()),
            Action::PostResponse { lane, invocation } => {
                Self::PostResponse(lane, invocation.clone())
            }
            Action::PostError {
                lane,
                invocation,
                cause,
            } => Self::PostError(lane, invocation.clone(), cause),
            Action::StreamResponse { lane, invocation } => {
                Self::StreamResponse(lane, invocation.clone())
            }
            Action::EndStream {
                lane, invocation, ..
            } => Self::EndStream(lane, invocation.clone()),
            Action::PostInitError { lane } => Self::PostInitError(lane),
            other => Self::Other(other.name()),
        }
    }
}

struct Harness<'u, 'd> {
    u: &'u mut Unstructured<'d>,
    m: Lifecycle<LANES>,
    lanes: Vec<Lane>,
    deliveries: Vec<Delivery>,
    now: EpochMillis,
    until: Option<EpochMillis>,
    setup_asked: bool,
    extension_asked: bool,
    exited: bool,
    endpoint: Endpoint,
    sig: Sig,
    next_id: u32,
}

/// The ids a Runtime API could send: fine ones, and ones that must never reach a path.
const HOSTILE_IDS: &[&[u8]] = &[
    b"../../runtime/init/error",
    b"a/b",
    b"a%2Fb",
    b"a b",
    b"..",
    b"a..b",
    b".",
    b":",
    b"a?b",
    b"a#b",
    b"\xc3\xa9",
    b"",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

impl Harness<'_, '_> {
    fn phases(&self) -> Vec<Option<Phase>> {
        (0..LANES).map(|l| self.m.lane_phase(l)).collect()
    }

    fn byte(&mut self) -> u8 {
        self.u.arbitrary().unwrap_or(0)
    }

    fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.u.int_in_range(0..=n - 1).unwrap_or(0)
    }

    /// A request id field value.
    fn id_value(&mut self) -> Vec<u8> {
        match self.below(8) {
            0 => HOSTILE_IDS[self.below(HOSTILE_IDS.len())].to_vec(),
            1 => {
                let n = self.below(140);
                self.u.bytes(n).map(<[u8]>::to_vec).unwrap_or_default()
            }
            2 => {
                // The last id again: a redelivery.
                format!("req-{}", self.next_id).into_bytes()
            }
            _ => {
                self.next_id += 1;
                format!("req-{}", self.next_id).into_bytes()
            }
        }
    }

    fn status(&mut self, next: bool) -> u16 {
        const STATUSES: &[u16] = &[
            200, 202, 204, 400, 403, 404, 410, 413, 429, 500, 502, 599, 100,
        ];
        match self.below(6) {
            0 => STATUSES[self.below(STATUSES.len())],
            1 => 100 + self.below(500) as u16,
            _ if next => 200,
            _ => 202,
        }
    }

    /// Writes an answer head from fuzzed fields and parses it back with the wire layer.
    fn head_bytes(&mut self, next: bool) -> (Vec<u8>, Option<usize>) {
        let status = self.status(next);
        let mut head = format!("HTTP/1.1 {status} X\r\n").into_bytes();
        let mut ids = 0;
        let mut first_id = None;
        let field = |head: &mut Vec<u8>, name: &str, value: &[u8]| {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        };
        if next {
            let fields = 1 + self.below(7);
            for _ in 0..fields {
                match self.below(6) {
                    0 | 1 => {
                        let v = self.id_value();
                        if first_id.is_none() {
                            first_id = Some(v.clone());
                        }
                        ids += 1;
                        field(&mut head, "Lambda-Runtime-Aws-Request-Id", &v);
                    }
                    2 => {
                        let ahead = u64::from(self.byte()) * 100;
                        let v = match self.below(4) {
                            0 => b"not-a-number".to_vec(),
                            1 => u64::MAX.to_string().into_bytes(),
                            2 => (T0 - 1_000).to_string().into_bytes(),
                            _ => (self.now.as_millis() + ahead).to_string().into_bytes(),
                        };
                        field(&mut head, "Lambda-Runtime-Deadline-Ms", &v);
                    }
                    3 => {
                        let v = self.id_value();
                        field(&mut head, "Lambda-Runtime-Invocation-Id", &v);
                    }
                    4 => field(
                        &mut head,
                        "Lambda-Runtime-Trace-Id",
                        b"Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
                    ),
                    _ => field(&mut head, "Content-Type", b"application/json"),
                }
            }
        }
        head.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        let valid = ids == 1 && first_id.as_deref().is_some_and(is_valid_id);
        (head, valid.then_some(ids))
    }

    fn body_len(&mut self) -> u64 {
        match self.below(8) {
            0 => MAX_PAYLOAD_BYTES as u64 + 1,
            1 => MAX_PAYLOAD_BYTES as u64,
            2 => u64::MAX,
            _ => u64::from(self.byte()),
        }
    }

    /// Runs a `handle_*` call and checks that an `Err` changed nothing.
    fn call<T>(
        &mut self,
        must_succeed: bool,
        what: &str,
        f: impl FnOnce(&mut Lifecycle<LANES>) -> Result<(), T>,
    ) -> bool
    where
        T: core::fmt::Debug,
    {
        let before = self.phases();
        let result = f(&mut self.m);
        if crate::tracing() {
            eprintln!("{what} at {} -> {result:?}", self.now.as_millis() - T0);
        }
        match result {
            Ok(()) => {
                self.sig.add_str(what).add(1);
                true
            }
            Err(e) => {
                assert!(!must_succeed || self.exited, "{what} refused: {e:?}");
                assert_eq!(
                    before,
                    self.phases(),
                    "{what} returned {e:?} and changed a phase"
                );
                self.sig.add_str(what).add(2);
                false
            }
        }
    }

    fn delivery_for(&self, lane: usize, inv: &Invocation) -> usize {
        let d = self.lanes[lane]
            .current
            .unwrap_or_else(|| panic!("lane {lane} acts for {inv:?} without a delivery"));
        assert_eq!(
            self.deliveries[d].id, inv.request_id,
            "lane {lane} acts for another invocation"
        );
        assert!(
            is_valid_id(inv.request_id.as_str().as_bytes()),
            "an invalid id in an action"
        );
        d
    }

    fn check_post(&self, inv: &Invocation, suffix: &str, request: Request<'_>) {
        let mut buf = [0u8; 1024];
        let n = request
            .encode(&self.endpoint, &mut buf)
            .expect("1 KiB holds any post head");
        check::check_invocation_post(
            &buf[..n],
            &self.endpoint,
            inv.request_id.as_str(),
            suffix,
            inv.invocation_id.as_ref().map(|i| i.as_str()),
        );
    }

    fn start(&mut self, lane: usize, out: Out) {
        assert!(lane < self.m.lanes(), "an action for lane {lane}");
        if let Some(prev) = &self.lanes[lane].out {
            panic!("lane {lane} asked to send {out:?} with {prev:?} in flight");
        }
        self.lanes[lane].out = Some(out);
    }

    /// Drains `poll` until `Wait` or `Exit`, checking every action.
    fn drain(&mut self) {
        for _ in 0..MAX_POLLS {
            let act = Act::from(self.m.poll());
            if crate::tracing() {
                eprintln!("  {:?} -> {act:?}", self.phases());
            }
            match act {
                Act::Wait(until) => {
                    self.sig.add(1);
                    self.until = until;
                    return;
                }
                Act::Exit(reason) => {
                    self.sig.add_str(&format!("{reason:?}"));
                    self.exited = true;
                    return;
                }
                Act::RunSetup => {
                    assert!(!self.setup_asked, "setup asked for twice");
                    self.setup_asked = true;
                }
                Act::RegisterExtension => {
                    assert!(!self.extension_asked, "the extension registered twice");
                    self.extension_asked = true;
                }
                Act::FetchNext(lane) => {
                    self.sig.add(2);
                    if let Some(d) = self.lanes.get(lane).and_then(|l| l.current) {
                        let d = &self.deliveries[d];
                        assert!(
                            d.settled || !d.unambiguous,
                            "lane {lane} fetches again, {:?} was never reported",
                            d.id
                        );
                    }
                    self.start(lane, Out::Next);
                    self.lanes[lane].current = None;
                    let mut buf = [0u8; 512];
                    let n = Request::Next
                        .encode(&self.endpoint, &mut buf)
                        .expect("fits");
                    let path = check::runtime_path(&self.endpoint, "/runtime/invocation/next");
                    check::check_request_head(&buf[..n], "GET", &path);
                }
                Act::RunHandler(lane, invocation) => {
                    self.sig.add(3);
                    let d = self.delivery_for(lane, &invocation);
                    let delivery = &mut self.deliveries[d];
                    assert!(!delivery.ran, "a handler started twice for one delivery");
                    assert!(
                        !delivery.settled,
                        "a handler started for a reported invocation"
                    );
                    delivery.ran = true;
                    self.lanes[lane].running = true;
                }
                Act::Claim(lane, invocation) => {
                    self.sig.add(4);
                    let d = self.delivery_for(lane, &invocation);
                    assert!(!self.deliveries[d].settled, "a reported invocation claimed");
                    self.settle_claim(lane);
                }
                Act::PostResponse(lane, invocation) => {
                    self.sig.add(5);
                    let d = self.delivery_for(lane, &invocation);
                    let delivery = &self.deliveries[d];
                    assert!(!delivery.settled, "a second report for {:?}", delivery.id);
                    assert!(
                        !delivery.timed_out,
                        "a /response after the timeout was posted"
                    );
                    assert!(
                        delivery.ok_len.is_some_and(|n| n <= MAX_PAYLOAD_BYTES),
                        "a /response for a handler that did not return one that fits"
                    );
                    let content_length = delivery.ok_len.unwrap_or(0);
                    self.check_post(
                        &invocation,
                        "response",
                        Request::Response {
                            id: &invocation.request_id,
                            invocation_id: invocation.invocation_id.as_ref(),
                            content_length,
                        },
                    );
                    self.start(
                        lane,
                        Out::Post {
                            inv: d,
                            kind: PostKind::Response,
                        },
                    );
                }
                Act::PostError(lane, invocation, cause) => {
                    let d = self.delivery_for(lane, &invocation);
                    assert!(
                        !self.deliveries[d].settled,
                        "a second report for {:?}",
                        self.deliveries[d].id
                    );
                    if matches!(cause, ErrorCause::Timeout { .. }) {
                        self.deliveries[d].timed_out = true;
                    }
                    let error_type =
                        ErrorType::new(cause.error_type().unwrap_or(ErrorType::HANDLER_ERROR));
                    self.check_post(
                        &invocation,
                        "error",
                        Request::Error {
                            id: &invocation.request_id,
                            invocation_id: invocation.invocation_id.as_ref(),
                            error_type: &error_type,
                            content_length: 64,
                        },
                    );
                    let name = format!("{cause:?}");
                    self.sig
                        .add_str(name.split([' ', '{']).next().unwrap_or(""));
                    self.start(
                        lane,
                        Out::Post {
                            inv: d,
                            kind: PostKind::Error,
                        },
                    );
                }
                Act::StreamResponse(lane, invocation) => {
                    self.sig.add(6);
                    let d = self.delivery_for(lane, &invocation);
                    assert!(
                        !self.deliveries[d].settled,
                        "a stream for a reported invocation"
                    );
                    assert!(!self.deliveries[d].timed_out, "a stream after the timeout");
                    self.check_post(
                        &invocation,
                        "response",
                        Request::StreamResponse {
                            id: &invocation.request_id,
                            invocation_id: invocation.invocation_id.as_ref(),
                            content_type: ContentType::OCTET_STREAM,
                        },
                    );
                    self.start(
                        lane,
                        Out::Post {
                            inv: d,
                            kind: PostKind::Stream,
                        },
                    );
                }
                Act::EndStream(lane, invocation) => {
                    self.sig.add(7);
                    let d = self.delivery_for(lane, &invocation);
                    assert!(
                        matches!(
                            self.lanes[lane].out,
                            Some(Out::Post { inv, kind: PostKind::Stream }) if inv == d
                        ),
                        "EndStream without the stream in flight"
                    );
                }
                Act::PostInitError(lane) => {
                    self.sig.add(8);
                    self.start(lane, Out::InitError);
                    let mut buf = [0u8; 512];
                    let error_type = ErrorType::new(ErrorType::SETUP_ERROR);
                    let n = Request::InitError {
                        error_type: &error_type,
                        content_length: 2,
                    }
                    .encode(&self.endpoint, &mut buf)
                    .expect("fits");
                    let path = check::runtime_path(&self.endpoint, "/runtime/init/error");
                    check::check_request_head(&buf[..n], "POST", &path);
                }
                Act::Other(name) => {
                    self.sig.add_str(name);
                }
            }
        }
        panic!("poll never returned Wait or Exit");
    }

    /// Answers a claim at once, as a driver must.
    fn settle_claim(&mut self, lane: usize) {
        let outcome = if self.below(4) == 0 {
            ClaimOutcome::ReportedElsewhere {
                status: self.status(false),
            }
        } else {
            ClaimOutcome::Won
        };
        let now = self.now;
        if self.call(true, "claim", |m| m.handle_claim(now, lane, outcome))
            && let ClaimOutcome::ReportedElsewhere { .. } = outcome
            && let Some(d) = self.lanes[lane].current
        {
            self.deliveries[d].settled = true;
            self.lanes[lane].running = false;
        }
    }

    /// An answer (or a truncated one) to what `lane` has out.
    fn answer(&mut self, lane: usize, truncated: bool) {
        let out = self.lanes[lane].out.clone();
        let next = matches!(out, Some(Out::Next));
        let (bytes, valid) = self.head_bytes(next);
        let now = self.now;
        let body_len = self.body_len();
        let parsed = parse_head(&bytes);
        let Ok(Some((head, _))) = parsed else {
            // Malformed: what a driver reports as a transport failure.
            self.transport_error(lane);
            return;
        };
        let in_flight = out.is_some();
        let ok = if truncated {
            self.call(in_flight, "truncated", |m| {
                m.handle_truncated_response(now, lane, &head)
            })
        } else {
            self.call(in_flight, "response", |m| {
                m.handle_response(now, lane, &head, body_len)
            })
        };
        if !ok {
            return;
        }
        self.lanes[lane].out = None;
        match out {
            Some(Out::Next) => {
                if head.status == 200
                    && let Ok(inv) = Invocation::from_head(&head)
                {
                    self.deliveries.push(Delivery {
                        id: inv.request_id,
                        lane,
                        settled: false,
                        timed_out: false,
                        ran: false,
                        ok_len: None,
                        unambiguous: valid.is_some(),
                    });
                    self.lanes[lane].current = Some(self.deliveries.len() - 1);
                }
            }
            Some(Out::Post { inv, kind }) => {
                // A 413 to a /response becomes its too-large error. (An answer to a post whose
                // body was cut off is still an answer: its status line is what counts.)
                let retried = head.status == 413 && kind == PostKind::Response;
                if !retried {
                    let d = &mut self.deliveries[inv];
                    assert!(!d.settled, "a second report answered for {:?}", d.id);
                    d.settled = true;
                    if kind == PostKind::Stream {
                        self.lanes[lane].running = false;
                    }
                }
            }
            Some(Out::InitError) | None => {}
        }
    }

    fn transport_error(&mut self, lane: usize) {
        let in_flight = self.lanes[lane].out.is_some();
        let now = self.now;
        if self.call(in_flight, "transport", |m| {
            m.handle_transport_error(now, lane)
        }) {
            // A stream whose connection broke is never sent again (its bytes reached the
            // caller): that was its report.
            if let Some(Out::Post {
                inv,
                kind: PostKind::Stream,
            }) = self.lanes[lane].out
            {
                self.deliveries[inv].settled = true;
                self.lanes[lane].running = false;
            }
            self.lanes[lane].out = None;
        }
    }

    fn handler_done(&mut self, lane: usize) {
        let Some(d) = self.lanes[lane].current else {
            return;
        };
        let wrong = self.below(8) == 0;
        let id = if wrong {
            RequestId::parse(b"some-other-id").expect("valid")
        } else {
            self.deliveries[d].id.clone()
        };
        let outcome = match self.below(4) {
            0 => HandlerOutcome::Failed,
            1 => HandlerOutcome::Ok {
                len: MAX_PAYLOAD_BYTES + self.below(2),
            },
            _ => HandlerOutcome::Ok {
                len: usize::from(self.byte()),
            },
        };
        let now = self.now;
        let ok = self.call(false, "handler", |m| {
            m.handle_handler_done(now, lane, &id, outcome)
        });
        if wrong && self.deliveries[d].id != id {
            assert!(!ok, "a handler result for another id was taken");
            return;
        }
        if ok {
            self.lanes[lane].running = false;
            if let HandlerOutcome::Ok { len } = outcome {
                self.deliveries[d].ok_len = Some(len);
            }
        }
    }

    fn advance(&mut self) {
        let by = match self.below(4) {
            0 => self
                .until
                .map_or(0, |u| u.as_millis().saturating_sub(self.now.as_millis())),
            1 => u64::from(self.byte()),
            2 => u64::from(self.byte()) * 1000,
            _ => 0,
        };
        self.now = self.now.saturating_add(by);
        let now = self.now;
        let before = self.phases();
        self.m.handle_timeout(now);
        self.sig.add(u64::from(before != self.phases()));
    }

    /// A call that may well be illegal where it lands, on any lane (also one that is not).
    fn stray(&mut self) {
        let lane = self.below(LANES + 2);
        let now = self.now;
        let id = RequestId::parse(b"stray-1").expect("valid");
        let head = ResponseHeadOwned::ok();
        match self.below(8) {
            0 => {
                // Legal while setup runs: then it is setup's outcome.
                if self.call(false, "stray-setup", |m| {
                    m.handle_setup(now, SetupOutcome::Done)
                }) {
                    self.setup_asked = false;
                }
                true
            }
            1 => {
                if self.call(false, "stray-ext", |m| m.handle_extension(now, true)) {
                    self.extension_asked = false;
                }
                true
            }
            2 => self.call(false, "stray-claim", |m| {
                m.handle_claim(now, lane, ClaimOutcome::Won)
            }),
            3 => self.call(false, "stray-stream", |m| {
                m.handle_stream_started(now, lane, &id)
            }),
            4 => self.call(false, "stray-limit", |m| {
                m.handle_stream_over_limit(now, lane, 1)
            }),
            5 => self.call(false, "stray-done", |m| {
                m.handle_handler_done(now, lane, &id, HandlerOutcome::Failed)
            }),
            6 if lane >= self.m.lanes() || self.lanes[lane].out.is_none() => {
                self.call(false, "stray-response", |m| {
                    m.handle_response(now, lane, &head.head(), 0)
                })
            }
            _ if lane >= self.m.lanes() || self.lanes[lane].out.is_none() => {
                self.call(false, "stray-transport", |m| {
                    m.handle_transport_error(now, lane)
                })
            }
            _ => false,
        };
    }

    fn step(&mut self) {
        let lanes = self.m.lanes();
        let lane = self.below(lanes);
        match self.below(10) {
            0..=2 => {
                if self.lanes[lane].out.is_some() {
                    let truncated = self.below(6) == 0;
                    self.answer(lane, truncated);
                }
            }
            3 => {
                if self.lanes[lane].out.is_some() {
                    self.transport_error(lane);
                }
            }
            4 => self.handler_done(lane),
            5 => self.advance(),
            6 => {
                if let Some(d) = self.lanes[lane].current {
                    let id = self.deliveries[d].id.clone();
                    let now = self.now;
                    if self.below(3) == 0 {
                        let len = lambda_runtime_types::lifecycle::MAX_STREAM_BYTES + 1;
                        self.call(false, "over-limit", |m| {
                            m.handle_stream_over_limit(now, lane, len)
                        });
                    } else {
                        self.call(false, "stream", |m| m.handle_stream_started(now, lane, &id));
                    }
                }
            }
            7 => {
                if self.setup_asked {
                    self.setup_asked = false;
                    let outcome = if self.below(6) == 0 {
                        SetupOutcome::Failed
                    } else {
                        SetupOutcome::Done
                    };
                    let now = self.now;
                    self.call(true, "setup", |m| m.handle_setup(now, outcome));
                }
            }
            8 => {
                if self.extension_asked {
                    self.extension_asked = false;
                    let registered = self.below(2) == 0;
                    let now = self.now;
                    self.call(true, "extension", |m| m.handle_extension(now, registered));
                }
            }
            _ => self.stray(),
        }
    }
}

/// A 200 head without fields, for stray calls.
struct ResponseHeadOwned;

impl ResponseHeadOwned {
    fn ok() -> Self {
        Self
    }

    fn head(&self) -> lambda_runtime_types::wire::ResponseHead<'static> {
        lambda_runtime_types::wire::ResponseHead::new(200)
    }
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let mut u = Unstructured::new(data);
    let lanes = 1 + usize::from(u.arbitrary::<u8>().unwrap_or(0) % LANES as u8);
    let flags = u.arbitrary::<u8>().unwrap_or(0);
    let margin = u64::from(u.arbitrary::<u8>().unwrap_or(100));
    let options = Options::new()
        .lanes(lanes)
        .watched(flags & 1 != 0)
        .extension(flags & 2 != 0)
        .timeout_margin_ms(margin);
    let endpoint = check::endpoints()[usize::from(flags >> 7)].clone();
    let mut h = Harness {
        u: &mut u,
        m: Lifecycle::new(options),
        lanes: (0..LANES).map(|_| Lane::default()).collect(),
        deliveries: Vec::new(),
        now: EpochMillis::from_millis(T0),
        until: None,
        setup_asked: false,
        extension_asked: false,
        exited: false,
        endpoint,
        sig: Sig::new(),
        next_id: 0,
    };
    assert_eq!(h.m.lanes(), lanes);
    h.drain();
    for _ in 0..MAX_FACTS {
        if h.exited || h.u.is_empty() {
            break;
        }
        h.step();
        h.drain();
    }
    if h.exited {
        for _ in 0..2 {
            assert!(
                matches!(h.m.poll(), Action::Exit(_)),
                "Exit did not stay Exit"
            );
        }
        assert_eq!(h.m.phase(), Phase::Exit);
    }
    for d in &h.deliveries {
        h.sig
            .add(u64::from(d.settled))
            .add(u64::from(d.ran))
            .add(d.lane as u64);
    }
    h.sig.add(h.deliveries.len().min(4) as u64);
    h.sig.get()
}
