//! Runs one extension's [`Machine`] on an [`Executor`]: the same connection handling as the
//! lifecycle's lanes, the user's steps as the machine asks for them.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;

use super::Executor;
use super::exchange::{LaneIo, send_and_read};
use crate::extension::{
    Action, ConfigError, Delivered, ErrorCause, ErrorReport, Event, Events, ExitReason,
    ExtensionErrorType, ExtensionId, ExtensionName, InvokeEvent, Machine, Misuse, Options,
    Registration, Request, ShutdownEvent, StepOutcome, check_status, parse_event, parse_register,
};
use crate::time::EpochMillis;
use crate::wire::Endpoint;

/// What an extension does at each point of its life; every step has a default that does
/// nothing.
///
/// A step's error is posted to `init/error` (the init step's, or a refused Telemetry
/// subscription) or `exit/error` (any later one), and the extension then exits, as Lambda
/// requires.
pub trait Extension {
    /// Runs once, after registering and before the first `event/next`: for example, start the
    /// listener a Telemetry API subscription sends to. Lambda's init phase waits for it.
    fn init(&mut self, registration: &Registration) -> impl Future<Output = anyhow::Result<()>> {
        let _ = registration;
        async { Ok(()) }
    }

    /// The Telemetry API subscription to send after [`init`](Self::init), as its JSON body, when
    /// [`Options::subscribe`] is set.
    fn subscription(&self) -> Vec<u8> {
        Vec::new()
    }

    /// Runs for each INVOKE (only when registered for it). Lambda's invoke phase waits for it
    /// (the function's response is not delayed); if it is still running at the invocation's
    /// deadline it is dropped.
    fn invoke(&mut self, event: &InvokeEvent) -> impl Future<Output = anyhow::Result<()>> {
        let _ = event;
        async { Ok(()) }
    }

    /// Runs for the SHUTDOWN (external extensions only); dropped if it is still running shortly
    /// before the event's deadline ([`Options::shutdown_margin_ms`]).
    fn shutdown(&mut self, event: &ShutdownEvent) -> impl Future<Output = anyhow::Result<()>> {
        let _ = event;
        async { Ok(()) }
    }
}

/// The extension that does nothing: registering it is enough for Lambda to send the runtime
/// SIGTERM at shutdown.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSteps;

impl Extension for NoSteps {}

/// How an extension's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The machine says to exit the process ([`ExitReason::code`]).
    Exit(ExitReason),
    /// An internal extension could not register: the function carries on without it.
    GaveUp(ExitReason),
}

/// One extension, run by [`ExtensionDriver::run`] (or [`ExtensionDriver::register`] first).
pub struct ExtensionDriver<'e, E: Executor> {
    exec: &'e E,
    endpoint: Endpoint,
    machine: Machine,
    io: Box<LaneIo<E::Connection>>,
    registration: Option<Registration>,
    /// The event the last `event/next` delivered, until its step runs.
    event: Option<Event>,
    /// The last step's error, until it is posted.
    failure: Option<anyhow::Error>,
}

impl<E: Executor> core::fmt::Debug for ExtensionDriver<'_, E> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ExtensionDriver")
            .field("endpoint", &self.endpoint)
            .field("machine", &self.machine)
            .finish_non_exhaustive()
    }
}

impl<'e, E: Executor> ExtensionDriver<'e, E> {
    /// An extension named `name` (an external one's full file name) talking to the Extensions
    /// API at `endpoint` (`AWS_LAMBDA_RUNTIME_API`); fails for options Lambda would refuse.
    pub fn new(
        exec: &'e E,
        endpoint: Endpoint,
        name: ExtensionName,
        options: Options,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            exec,
            endpoint,
            machine: Machine::new(name, options)?,
            io: Box::default(),
            registration: None,
            event: None,
            failure: None,
        })
    }

    /// What the register response said, once registered.
    pub fn registration(&self) -> Option<&Registration> {
        self.registration.as_ref()
    }

    /// Runs until the extension is registered (`Ok`) or has stopped trying (`Err`). The
    /// runtime's own extension registers this way before its first `/next`.
    pub async fn register(&mut self, steps: &mut impl Extension) -> Result<(), Stopped> {
        match self.drive(steps, true).await {
            Some(stopped) => Err(stopped),
            None => Ok(()),
        }
    }

    /// Runs the extension until the machine says to stop.
    pub async fn run(&mut self, steps: &mut impl Extension) -> Stopped {
        loop {
            if let Some(stopped) = self.drive(steps, false).await {
                return stopped;
            }
        }
    }

    /// Carries out the machine's actions until it stops, or (with `until_registered`) until it
    /// is registered.
    async fn drive(
        &mut self,
        steps: &mut impl Extension,
        until_registered: bool,
    ) -> Option<Stopped> {
        loop {
            // Registered once the machine holds an identifier; a failed registration stops it.
            if until_registered && self.machine.id().is_some() {
                return None;
            }
            let result = match Todo::from(self.machine.poll()) {
                Todo::Stop(stopped) => return Some(stopped),
                Todo::Wait(until) => {
                    self.sleep_until(until).await;
                    let now = self.exec.now();
                    self.machine.handle_timeout(now);
                    Ok(())
                }
                Todo::Register(name, events, accept_account_id) => {
                    let request = Request::Register {
                        name: &name,
                        events,
                        accept_account_id,
                    };
                    self.exchange(&request, &[], Reading::Register).await
                }
                Todo::Init => {
                    let outcome = match &self.registration {
                        Some(r) => steps.init(r).await,
                        None => Err(anyhow::anyhow!("the register response was unreadable")),
                    };
                    self.step_done(outcome)
                }
                Todo::Subscribe(id) => {
                    let body = steps.subscription();
                    let request = Request::Subscribe {
                        id: &id,
                        content_length: body.len(),
                    };
                    self.exchange(&request, &body, Reading::Other).await
                }
                Todo::Next(id) => {
                    let request = Request::Next { id: &id };
                    self.exchange(&request, &[], Reading::Event).await
                }
                Todo::Invoke(until) => match self.event.take() {
                    Some(Event::Invoke(event)) => {
                        let outcome = until_or(self.exec, until, steps.invoke(&event)).await;
                        self.step_or_timeout(outcome)
                    }
                    _ => self.step_done(Err(anyhow::anyhow!("no INVOKE event held"))),
                },
                Todo::Shutdown(until) => match self.event.take() {
                    Some(Event::Shutdown(event)) => {
                        let outcome = until_or(self.exec, until, steps.shutdown(&event)).await;
                        self.step_or_timeout(outcome)
                    }
                    _ => self.step_done(Err(anyhow::anyhow!("no SHUTDOWN event held"))),
                },
                Todo::PostError { init, id, cause } => {
                    let error_type = ExtensionErrorType::normalized(cause.error_type());
                    let report = match self.failure.take() {
                        Some(e) => ErrorReport::from_error(&error_type, &e),
                        None => ErrorReport::new(&error_type, cause.error_type()),
                    };
                    let body = report.to_json();
                    let (id, error_type, content_length) = (&id, &error_type, body.len());
                    let request = match init {
                        true => Request::InitError {
                            id,
                            error_type,
                            content_length,
                        },
                        false => Request::ExitError {
                            id,
                            error_type,
                            content_length,
                        },
                    };
                    self.exchange(&request, &body, Reading::Other).await
                }
            };
            if let Err(misuse) = result {
                log::error!("extension driver bug: {misuse}");
            }
        }
    }

    /// Sends `request` and feeds the machine the response (read as `reading` says) or the
    /// failure.
    async fn exchange(
        &mut self,
        request: &Request<'_>,
        body: &[u8],
        reading: Reading,
    ) -> Result<(), Misuse> {
        let (exec, endpoint) = (self.exec, &self.endpoint);
        let sent = send_and_read(exec, endpoint, &mut self.io, request, body, true).await;
        let now = exec.now();
        let head = self.io.response_head();
        let (Ok(_), Some(head)) = (sent.as_ref(), head) else {
            if let Err(e) = sent {
                log::warn!("Extensions API request failed: {e}");
            }
            return self.machine.handle_transport_error(now);
        };
        let body = &self.io.event;
        let delivered = match reading {
            Reading::Register => {
                match parse_register(&head, body) {
                    Ok(r) => self.registration = Some(r),
                    Err(e) => log::warn!("extension not registered: {e}"),
                }
                None
            }
            Reading::Event => {
                let parsed = parse_event(&head, body);
                if let Err(e) = &parsed {
                    log::warn!("event/next: {e}");
                }
                let delivered = Delivered::from_parsed(&parsed);
                self.event = parsed.ok();
                delivered
            }
            Reading::Other => {
                if let Err(e) = check_status(request.kind(), &head, body) {
                    log::warn!("{e}");
                }
                None
            }
        };
        self.machine.handle_response(now, &head, delivered)
    }

    fn step_done(&mut self, outcome: anyhow::Result<()>) -> Result<(), Misuse> {
        let now = self.exec.now();
        let outcome = match outcome {
            Ok(()) => StepOutcome::Done,
            Err(e) => {
                log::error!("extension step failed: {e:#}");
                self.failure = Some(e);
                StepOutcome::Failed
            }
        };
        self.machine.handle_step(now, outcome)
    }

    /// A step's outcome, or (`None`) the machine's timer fired first.
    fn step_or_timeout(&mut self, outcome: Option<anyhow::Result<()>>) -> Result<(), Misuse> {
        match outcome {
            Some(outcome) => self.step_done(outcome),
            None => {
                let now = self.exec.now();
                self.machine.handle_timeout(now);
                Ok(())
            }
        }
    }

    async fn sleep_until(&self, until: Option<EpochMillis>) {
        match until {
            Some(t) => self.exec.sleep(t.duration_since(self.exec.now())).await,
            // Nothing will come: the machine waits only with a request or step in flight, and
            // those are awaited where they are carried out.
            None => self.exec.sleep(core::time::Duration::from_secs(1)).await,
        }
    }
}

/// Runs `step` until it finishes (`Some`) or the clock reaches `until` (`None`; the step is
/// dropped).
async fn until_or<E: Executor>(
    exec: &E,
    until: Option<EpochMillis>,
    step: impl Future<Output = anyhow::Result<()>>,
) -> Option<anyhow::Result<()>> {
    let mut step = pin!(step);
    let sleep = until.map(|t| exec.sleep(t.duration_since(exec.now())));
    let mut sleep = pin!(sleep);
    poll_fn(|cx| {
        if let Poll::Ready(outcome) = step.as_mut().poll(cx) {
            return Poll::Ready(Some(outcome));
        }
        match sleep.as_mut().as_pin_mut().map(|s| s.poll(cx)) {
            Some(Poll::Ready(())) => Poll::Ready(None),
            _ => Poll::Pending,
        }
    })
    .await
}

/// How a response's body is read.
#[derive(Clone, Copy)]
enum Reading {
    /// The register response: the function's details.
    Register,
    /// An event from `event/next`.
    Event,
    /// Any other answer: only its status (and error body) matters.
    Other,
}

/// An [`Action`], owned, so that it can be carried out while the machine is borrowed mutably.
enum Todo {
    Stop(Stopped),
    Wait(Option<EpochMillis>),
    Register(ExtensionName, Events, bool),
    Init,
    Subscribe(ExtensionId),
    Next(ExtensionId),
    Invoke(Option<EpochMillis>),
    Shutdown(Option<EpochMillis>),
    PostError {
        init: bool,
        id: ExtensionId,
        cause: ErrorCause,
    },
}

impl From<Action<'_>> for Todo {
    fn from(action: Action<'_>) -> Self {
        match action {
            Action::Exit(reason) => Self::Stop(Stopped::Exit(reason)),
            Action::GiveUp(reason) => Self::Stop(Stopped::GaveUp(reason)),
            Action::Wait { until } => Self::Wait(until),
            Action::Register {
                name,
                events,
                accept_account_id,
            } => Self::Register(name.clone(), events, accept_account_id),
            Action::RunInit { .. } => Self::Init,
            Action::Subscribe { id } => Self::Subscribe(id.clone()),
            Action::FetchNext { id } => Self::Next(id.clone()),
            Action::RunInvoke { deadline, .. } => Self::Invoke(deadline),
            Action::RunShutdown { until, .. } => Self::Shutdown(until),
            Action::PostInitError { id, cause } => Self::PostError {
                init: true,
                id: id.clone(),
                cause,
            },
            Action::PostExitError { id, cause } => Self::PostError {
                init: false,
                id: id.clone(),
                cause,
            },
        }
    }
}
