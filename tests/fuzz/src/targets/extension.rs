//! `extension`: an extension's life driven by fuzzed Extensions API answers: register responses
//! (`Lambda-Extension-Identifier`, the function's details), `event/next` events (INVOKE,
//! SHUTDOWN, unknown, malformed), error answers, read with [`parse_register`], [`parse_event`]
//! and [`check_status`] and fed into the extension [`Machine`].
//!
//! The input is a script: options, then for each request the machine makes an answer (status,
//! identifier, a body of fuzzed length and bytes) or a transport failure, and for each step its
//! outcome. Invariants: no panic; `poll` settles; an `Err` from a `handle_*` call changes
//! nothing; `Exit` stays `Exit`; every request the machine asks for is written as a well-formed
//! head on the right path, the identifier (which came from the network) its header's whole value.

use arbitrary::Unstructured;
use lambda_runtime_types::extension::{
    Action, Delivered, Events, ExtensionErrorType, ExtensionName, Machine, Options, Phase, Request,
    RequestKind, StepOutcome, check_status, header, parse_event, parse_register,
};
use lambda_runtime_types::time::EpochMillis;
use lambda_runtime_types::wire::{Endpoint, ResponseHead};

use crate::check;
use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "extension",
    about: "Extensions API answers (register, event/next, errors) into the extension machine",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 4096,
};

/// The keys and values of Extensions API bodies.
pub const DICTIONARY: &[&[u8]] = &[
    b"{\"eventType\":\"INVOKE\",\"deadlineMs\":1700000003000,\"requestId\":\"r-1\",\"invokedFunctionArn\":\"arn:aws:lambda:us-east-1:1:function:f\",\"tracing\":{\"type\":\"X-Amzn-Trace-Id\",\"value\":\"Root=1\"}}",
    b"{\"eventType\":\"SHUTDOWN\",\"shutdownReason\":\"spindown\",\"deadlineMs\":1700000002000}",
    b"{\"functionName\":\"f\",\"functionVersion\":\"$LATEST\",\"handler\":\"h\",\"accountId\":\"1\"}",
    b"{\"errorType\":\"Extension.Unknown\",\"errorMessage\":\"x\"}",
    b"\"eventType\":",
    b"\"deadlineMs\":",
    b"\"shutdownReason\":",
    b"\"requestId\":",
    b"\"INVOKE\"",
    b"\"SHUTDOWN\"",
    b"\"timeout\"",
    b"\"failure\"",
    b"18446744073709551615",
    b"-1",
    b"1e300",
    b"null",
];

const T0: u64 = 1_700_000_000_000;
const MAX_FACTS: usize = 128;

fn script(options: u8, answers: &[(u8, u8, &[u8])]) -> Vec<u8> {
    let mut v = vec![options, 0];
    for (status, id, body) in answers {
        v.push(*status);
        v.push(*id);
        v.extend_from_slice(&(body.len() as u16).to_le_bytes());
        v.extend_from_slice(body);
    }
    v
}

fn seeds() -> Vec<Vec<u8>> {
    let register: &[u8] = br#"{"functionName":"f","functionVersion":"$LATEST","handler":"h.main"}"#;
    let invoke: &[u8] = br#"{"eventType":"INVOKE","deadlineMs":1700000003000,"requestId":"3da1f2dc-3222-475e-9205-e2e6c6318895","invokedFunctionArn":"arn:aws:lambda:us-east-1:123456789012:function:ExtensionTest","tracing":{"type":"X-Amzn-Trace-Id","value":"Root=1-5f35ae12-0c0fec141ab77a00bc047aa2;Parent=2be948a625588e32;Sampled=1"}}"#;
    let shutdown: &[u8] =
        br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1700000002000}"#;
    let unknown: &[u8] = br#"{"eventType":"RESTORE","deadlineMs":1}"#;
    let error: &[u8] = br#"{"errorType":"Extension.InvalidEvent","errorMessage":"bad"}"#;
    vec![
        script(
            0,
            &[
                (0, 0, register),
                (0, 0, b""),
                (0, 0, invoke),
                (0, 0, b""),
                (0, 0, shutdown),
            ],
        ),
        script(
            1,
            &[
                (0, 0, register),
                (0, 0, b""),
                (0, 0, unknown),
                (0, 0, b"{"),
                (0, 0, shutdown),
            ],
        ),
        script(2, &[(0, 1, register), (1, 0, error)]),
        script(
            3,
            &[(0, 0, register), (0, 0, b""), (2, 0, error), (0, 0, b"")],
        ),
    ]
}

struct Harness<'u, 'd> {
    u: &'u mut Unstructured<'d>,
    m: Machine,
    now: EpochMillis,
    until: Option<EpochMillis>,
    /// What the machine has out: a request, or a step.
    request: Option<RequestKind>,
    step: bool,
    exited: bool,
    endpoint: Endpoint,
    sig: Sig,
}

const IDS: &[&[u8]] = &[
    b"c6af9ac6-7b61-11e6-9a41-93e812345678",
    b"",
    b"a b",
    b"a\tb",
    b"../x",
    b"\xff\xfe",
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

impl Harness<'_, '_> {
    fn byte(&mut self) -> u8 {
        self.u.arbitrary().unwrap_or(0)
    }

    fn call<E: core::fmt::Debug>(
        &mut self,
        what: &str,
        f: impl FnOnce(&mut Machine) -> Result<(), E>,
    ) {
        let before = self.m.phase();
        match f(&mut self.m) {
            Ok(()) => {
                self.sig.add_str(what).add(1);
            }
            Err(e) => {
                assert_eq!(
                    before,
                    self.m.phase(),
                    "{what} returned {e:?} and changed the phase"
                );
                self.sig.add_str(what).add(2);
            }
        }
    }

    fn drain(&mut self) {
        for _ in 0..64 {
            let action = self.m.poll();
            self.sig.add_str(match &action {
                Action::Register { .. } => "register",
                Action::RunInit { .. } => "init",
                Action::Subscribe { .. } => "subscribe",
                Action::FetchNext { .. } => "next",
                Action::RunInvoke { .. } => "invoke",
                Action::RunShutdown { .. } => "shutdown",
                Action::PostInitError { .. } => "init-error",
                Action::PostExitError { .. } => "exit-error",
                Action::Wait { .. } => "wait",
                Action::GiveUp(_) => "give-up",
                Action::Exit(_) => "exit",
            });
            let mut buf = [0u8; 1024];
            match action {
                Action::Wait { until } => {
                    self.until = until;
                    return;
                }
                Action::Exit(reason) | Action::GiveUp(reason) => {
                    self.sig.add_str(&format!("{reason:?}"));
                    self.exited = true;
                    return;
                }
                Action::Register {
                    name,
                    events,
                    accept_account_id,
                } => {
                    let r = Request::Register {
                        name,
                        events,
                        accept_account_id,
                    };
                    let n = r.encode(&self.endpoint, &mut buf).expect("fits");
                    assert!(n > 0);
                    check_request(&self.endpoint, r, "POST", "/2020-01-01/extension/register");
                    self.put(RequestKind::Register);
                }
                Action::Subscribe { id } => {
                    let r = Request::Subscribe {
                        id,
                        content_length: 10,
                    };
                    check_request(&self.endpoint, r, "PUT", "/2022-07-01/telemetry");
                    self.put(RequestKind::Subscribe);
                }
                Action::FetchNext { id } => {
                    check_request(
                        &self.endpoint,
                        Request::Next { id },
                        "GET",
                        "/2020-01-01/extension/event/next",
                    );
                    self.put(RequestKind::Next);
                }
                Action::PostInitError { id, cause } => {
                    let et = ExtensionErrorType::normalized(cause.error_type());
                    let r = Request::InitError {
                        id,
                        error_type: &et,
                        content_length: 2,
                    };
                    check_request(
                        &self.endpoint,
                        r,
                        "POST",
                        "/2020-01-01/extension/init/error",
                    );
                    self.put(RequestKind::InitError);
                }
                Action::PostExitError { id, cause } => {
                    let et = ExtensionErrorType::normalized(cause.error_type());
                    let r = Request::ExitError {
                        id,
                        error_type: &et,
                        content_length: 2,
                    };
                    check_request(
                        &self.endpoint,
                        r,
                        "POST",
                        "/2020-01-01/extension/exit/error",
                    );
                    self.put(RequestKind::ExitError);
                }
                Action::RunInit { .. } | Action::RunInvoke { .. } | Action::RunShutdown { .. } => {
                    assert!(!self.step, "a step asked for while one runs");
                    self.step = true;
                }
            }
        }
        panic!("poll never returned Wait, Exit or GiveUp");
    }

    fn put(&mut self, kind: RequestKind) {
        assert!(
            self.request.is_none(),
            "a second request while {:?} is out",
            self.request
        );
        self.request = Some(kind);
    }

    fn answer(&mut self) {
        let Some(kind) = self.request.take() else {
            return;
        };
        let status_sel = self.byte();
        let id_sel = self.byte();
        let len = usize::from(self.u.arbitrary::<u16>().unwrap_or(0));
        let body = self.u.bytes(len.min(self.u.len())).unwrap_or_default();
        let status = match status_sel {
            0 => 200,
            1 => 403,
            2 => 500,
            3 => 400,
            4 => 202,
            s => 100 + u16::from(s) * 2,
        };
        let id: &[u8] = IDS[usize::from(id_sel) % IDS.len()];
        let head = if id_sel < 200 {
            ResponseHead::new(status).with_header(header::IDENTIFIER, id)
        } else {
            ResponseHead::new(status)
        };
        let now = self.now;
        match kind {
            RequestKind::Register => {
                let parsed = parse_register(&head, body);
                if let Ok(r) = &parsed {
                    assert!((200..300).contains(&status));
                    assert_eq!(r.id.as_str().as_bytes(), id);
                }
                self.sig.add(u64::from(parsed.is_ok()));
                self.call("register", |m| m.handle_response(now, &head, None));
            }
            RequestKind::Next => {
                let parsed = parse_event(&head, body);
                let delivered = Delivered::from_parsed(&parsed);
                self.sig
                    .add_str(&format!("{delivered:?}").chars().take(8).collect::<String>());
                if let Ok(event) = &parsed {
                    let _ = event.event_type();
                }
                self.call("next", |m| m.handle_response(now, &head, delivered));
            }
            other => {
                let checked = check_status(other, &head, body);
                assert_eq!(checked.is_ok(), (200..300).contains(&status));
                if let Err(e) = &checked {
                    assert_eq!(e.status(), Some(status));
                }
                self.call("post", |m| m.handle_response(now, &head, None));
            }
        }
    }

    fn step(&mut self) {
        match self.byte() % 8 {
            0..=3 => {
                if self.request.is_some() {
                    self.answer();
                }
            }
            4 => {
                if self.request.take().is_some() {
                    let now = self.now;
                    self.call("transport", |m| m.handle_transport_error(now));
                }
            }
            5 => {
                if self.step {
                    self.step = false;
                    let outcome = if self.byte().is_multiple_of(5) {
                        StepOutcome::Failed
                    } else {
                        StepOutcome::Done
                    };
                    let now = self.now;
                    self.call("step", |m| m.handle_step(now, outcome));
                }
            }
            6 => {
                let by = match self.byte() % 3 {
                    0 => self
                        .until
                        .map_or(0, |u| u.as_millis().saturating_sub(self.now.as_millis())),
                    1 => u64::from(self.byte()) * 100,
                    _ => u64::from(self.byte()),
                };
                self.now = self.now.saturating_add(by);
                let now = self.now;
                self.m.handle_timeout(now);
                // A step abandoned at its deadline is no longer out.
                if !matches!(
                    self.m.phase(),
                    Phase::Init | Phase::Invoke | Phase::Shutdown
                ) {
                    self.step = false;
                }
            }
            _ => {
                // Stray calls, legal or not.
                let now = self.now;
                let head = ResponseHead::new(200);
                match self.byte() % 3 {
                    0 => self.call("stray-step", |m| m.handle_step(now, StepOutcome::Done)),
                    1 => self.call("stray-transport", |m| m.handle_transport_error(now)),
                    _ => self.call("stray-response", |m| m.handle_response(now, &head, None)),
                }
                // A stray call that was legal changed what is out: start over from the phase.
                self.request = None;
                self.step = false;
                self.sig.add(99);
            }
        }
    }
}

/// Writes `request` and checks the head: well-formed, on `path` after the endpoint's prefix,
/// the identifier (which came from the network) the whole value of its header.
fn check_request(endpoint: &Endpoint, request: Request<'_>, method: &str, path: &str) {
    let mut buf = [0u8; 1024];
    let n = request
        .encode(endpoint, &mut buf)
        .expect("1 KiB holds the head");
    let head = &buf[..n];
    // A register request carries its body after the head.
    let head_end = head
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(n, |p| p + 4);
    let path = format!("{}{path}", endpoint.prefix());
    let fields = check::check_request_head(&head[..head_end], method, &path);
    let id = match request {
        Request::Register { .. } => None,
        Request::Next { id }
        | Request::InitError { id, .. }
        | Request::ExitError { id, .. }
        | Request::Subscribe { id, .. } => Some(id),
    };
    let values: Vec<&[u8]> = fields
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(header::IDENTIFIER))
        .map(|(_, v)| v.as_slice())
        .collect();
    match id {
        Some(id) => assert_eq!(values, [id.as_str().as_bytes()], "the identifier header"),
        None => assert!(values.is_empty(), "an identifier on register"),
    }
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let mut u = Unstructured::new(data);
    let flags = u.arbitrary::<u8>().unwrap_or(0);
    let _ = u.arbitrary::<u8>();
    let options = if flags & 1 == 0 {
        Options::external()
    } else {
        Options::internal()
    }
    .subscribe(flags & 2 != 0)
    .accept_account_id(flags & 4 != 0)
    .events(match (flags >> 3) & 3 {
        0 => Events::ALL,
        1 => Events::INVOKE,
        2 => Events::SHUTDOWN,
        _ => Events::NONE,
    });
    let name = ExtensionName::new("fuzz-extension").expect("a valid name");
    let Ok(m) = Machine::new(name, options) else {
        return 1;
    };
    let mut h = Harness {
        u: &mut u,
        m,
        now: EpochMillis::from_millis(T0),
        until: None,
        request: None,
        step: false,
        exited: false,
        endpoint: check::endpoints()[usize::from(flags >> 7)].clone(),
        sig: Sig::new(),
    };
    h.drain();
    for _ in 0..MAX_FACTS {
        if h.exited || h.u.is_empty() {
            break;
        }
        h.step();
        if h.request.is_none() && !h.step {
            // After a stray call: learn what the machine wants now.
        }
        h.drain();
    }
    if h.exited {
        let again = h.m.poll();
        assert!(
            matches!(again, Action::Exit(_) | Action::GiveUp(_)),
            "Exit did not stay Exit: {again:?}"
        );
    }
    h.sig.get()
}
