//! One extension's life as a pure state machine, in the style of the
//! [`Lifecycle`](crate::lifecycle::Lifecycle).
//!
//! The machine's inputs and outputs ([`Action`], [`Delivered`], [`ExitReason`], …); its phases
//! and table are in `table.rs`, its state in `transition.rs`.

use core::fmt;

use super::name::{Events, ExtensionErrorType, ExtensionId, ExtensionName, Kind};
use super::request::RequestKind;
use super::table::{InputKind, Phase};
use super::transition::State;
use crate::time::EpochMillis;
use crate::wire::ResponseHead;

/// How long before a SHUTDOWN's deadline the machine stops waiting for the shutdown step, by
/// default (Lambda kills the extension at the deadline).
pub const DEFAULT_SHUTDOWN_MARGIN_MS: u64 = 50;

/// What the extension is and does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// External (its own process) or internal (a task in the runtime's process).
    pub kind: Kind,
    /// The events it registers for.
    pub events: Events,
    /// Ask for `accountId` in the register response.
    pub accept_account_id: bool,
    /// Subscribe to the Telemetry API after the init step ([`Action::Subscribe`]).
    pub subscribe: bool,
    /// How long before a SHUTDOWN's deadline to stop waiting for the shutdown step.
    pub shutdown_margin_ms: u64,
}

impl Options {
    /// An external extension taking INVOKE and SHUTDOWN, no account id, no telemetry.
    pub const fn external() -> Self {
        Self {
            kind: Kind::External,
            events: Events::ALL,
            accept_account_id: false,
            subscribe: false,
            shutdown_margin_ms: DEFAULT_SHUTDOWN_MARGIN_MS,
        }
    }

    /// An internal extension taking INVOKE (SHUTDOWN is not allowed), no account id, no
    /// telemetry.
    pub const fn internal() -> Self {
        Self {
            kind: Kind::Internal,
            events: Events::INVOKE,
            ..Self::external()
        }
    }

    /// Sets the events.
    #[must_use]
    pub const fn events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Sets whether to ask for the account id.
    #[must_use]
    pub const fn accept_account_id(mut self, yes: bool) -> Self {
        self.accept_account_id = yes;
        self
    }

    /// Sets whether to subscribe to the Telemetry API during init.
    #[must_use]
    pub const fn subscribe(mut self, yes: bool) -> Self {
        self.subscribe = yes;
        self
    }

    /// Sets the shutdown margin.
    #[must_use]
    pub const fn shutdown_margin_ms(mut self, ms: u64) -> Self {
        self.shutdown_margin_ms = ms;
        self
    }
}

/// [`Options`] that Lambda would refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// An internal extension may not register for SHUTDOWN (Lambda answers 403
    /// `Extension.InvalidEventType`); it learns of shutdown from SIGTERM like the runtime.
    InternalShutdown,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InternalShutdown => "an internal extension may not register for SHUTDOWN",
        })
    }
}

impl core::error::Error for ConfigError {}

/// What an `event/next` response's body turned out to be, as far as the machine needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivered {
    /// An INVOKE event with its `deadlineMs`.
    Invoke {
        /// The invocation's deadline.
        deadline: EpochMillis,
    },
    /// A SHUTDOWN event with its `deadlineMs`.
    Shutdown {
        /// When the extension is killed.
        deadline: EpochMillis,
    },
    /// An event of a type the crate does not know.
    Unknown,
    /// A body that is not an event (or was not read in full).
    Malformed,
}

#[cfg(feature = "alloc")]
impl From<&super::Event> for Delivered {
    fn from(e: &super::Event) -> Self {
        use super::Event;
        match e {
            Event::Invoke(i) => Self::Invoke {
                deadline: i.deadline_ms,
            },
            Event::Shutdown(s) => Self::Shutdown {
                deadline: s.deadline_ms,
            },
            Event::Unknown { .. } => Self::Unknown,
        }
    }
}

#[cfg(feature = "alloc")]
impl Delivered {
    /// What to pass to [`Machine::handle_response`] for the result of
    /// [`parse_event`](super::parse_event): the event, [`Delivered::Malformed`] for a body of the
    /// wrong shape, `None` for an error status (the head says it all).
    pub fn from_parsed(parsed: &Result<super::Event, super::ApiError>) -> Option<Self> {
        match parsed {
            Ok(event) => Some(event.into()),
            Err(super::ApiError::Body { .. }) => Some(Self::Malformed),
            Err(_) => None,
        }
    }
}

/// How the user's step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// It returned `Ok`.
    Done,
    /// It failed; the driver holds the error, to post when asked.
    Failed,
}

/// Why a failure is posted to `init/error` or `exit/error`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCause {
    /// The init step failed.
    InitStep,
    /// The per-invoke step failed.
    InvokeStep,
    /// The shutdown step failed.
    ShutdownStep,
    /// The Telemetry API refused the subscription with `status`.
    SubscriptionRefused {
        /// The status.
        status: u16,
    },
}

impl ErrorCause {
    /// The error type to post when the driver has no better one
    /// (`Extension.InitFailed`, …; see [`ExtensionErrorType`]'s constants).
    pub const fn error_type(self) -> &'static str {
        match self {
            Self::InitStep => ExtensionErrorType::INIT_FAILED,
            Self::InvokeStep => ExtensionErrorType::INVOKE_FAILED,
            Self::ShutdownStep => ExtensionErrorType::SHUTDOWN_FAILED,
            Self::SubscriptionRefused { .. } => ExtensionErrorType::SUBSCRIPTION_REFUSED,
        }
    }
}

/// Why the extension stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitReason {
    /// A SHUTDOWN was handled.
    Shutdown,
    /// A SHUTDOWN's deadline (minus the margin) passed before the shutdown step finished.
    ShutdownTimedOut,
    /// A step failed (or the subscription was refused) and was posted, or could not be.
    Failed {
        /// What failed.
        cause: ErrorCause,
    },
    /// The API answered `status` ≥ 500 to `request`.
    ServerError {
        /// The request.
        request: RequestKind,
        /// The status.
        status: u16,
    },
    /// The API refused `register` or `event/next` with `status`.
    Refused {
        /// The request.
        request: RequestKind,
        /// The status.
        status: u16,
    },
    /// The register response had no valid `Lambda-Extension-Identifier`.
    InvalidIdentifier,
    /// `event/next` delivered [`MAX_ATTEMPTS`](crate::lifecycle::MAX_ATTEMPTS) malformed
    /// bodies in a row.
    MalformedEvents,
    /// `request` failed at the transport level MAX_ATTEMPTS times in a row.
    Unreachable {
        /// The request.
        request: RequestKind,
    },
}

impl ExitReason {
    /// The process exit code: 0 for a shutdown, non-zero for every failure (1 a failed step,
    /// 2 a server error, 3 a refusal or a malformed answer, 4 unreachable).
    pub const fn code(self) -> i32 {
        match self {
            Self::Shutdown | Self::ShutdownTimedOut => 0,
            Self::Failed { .. } => 1,
            Self::ServerError { .. } => 2,
            Self::Refused { .. } | Self::InvalidIdentifier | Self::MalformedEvents => 3,
            Self::Unreachable { .. } => 4,
        }
    }
}

impl fmt::Display for ExitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Shutdown => f.write_str("the environment is shutting down"),
            Self::ShutdownTimedOut => f.write_str("the shutdown step did not finish in time"),
            Self::Failed { cause } => write!(f, "the extension failed ({})", cause.error_type()),
            Self::ServerError { request, status } => {
                write!(f, "{request:?} answered {status}, a non-recoverable error")
            }
            Self::Refused { request, status } => write!(f, "{request:?} refused with {status}"),
            Self::InvalidIdentifier => f.write_str("no valid extension identifier"),
            Self::MalformedEvents => f.write_str("event/next keeps sending malformed events"),
            Self::Unreachable { request } => write!(f, "{request:?}: the API is unreachable"),
        }
    }
}

/// An input that is illegal in the current state: a bug in the code driving the machine.
/// The state is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// `input` is not in [`TRANSITIONS`](super::TRANSITIONS) for `phase`.
    Illegal {
        /// The phase when the input arrived.
        phase: Phase,
        /// The input.
        input: InputKind,
    },
    /// A response or transport failure with no request in flight, or a step result for a step
    /// that was not started.
    NothingInFlight,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Illegal { phase, input } => write!(f, "{input:?} is illegal in phase {phase:?}"),
            Self::NothingInFlight => f.write_str("no request or step in flight"),
        }
    }
}

impl core::error::Error for Misuse {}

/// What the driver must do next; returned by [`Machine::poll`].
#[derive(Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send [`Request::Register`](super::Request::Register) with these fields and report the
    /// response with [`Machine::handle_response`] (read the body with
    /// [`parse_register`](super::parse_register) for the function's details) or the failure
    /// with [`Machine::handle_transport_error`].
    Register {
        /// `Lambda-Extension-Name`.
        name: &'a ExtensionName,
        /// The events.
        events: Events,
        /// Ask for `accountId`.
        accept_account_id: bool,
    },
    /// Run the user's init step (for example, start the telemetry listener), then report with
    /// [`Machine::handle_step`].
    RunInit {
        /// The identifier.
        id: &'a ExtensionId,
    },
    /// Send [`Request::Subscribe`](super::Request::Subscribe) with the subscription body and
    /// report as for `Register`.
    Subscribe {
        /// The identifier.
        id: &'a ExtensionId,
    },
    /// Send [`Request::Next`](super::Request::Next) **without a client timeout** and report the
    /// response with [`Machine::handle_response`], passing what the body is
    /// ([`Delivered`]), or the failure as for `Register`.
    FetchNext {
        /// The identifier.
        id: &'a ExtensionId,
    },
    /// Run the per-invoke step for the INVOKE the last `event/next` delivered, then report with
    /// [`Machine::handle_step`]. If it has not finished at `deadline`, the machine abandons it
    /// and asks for the next event: the driver MUST then drop the step.
    RunInvoke {
        /// The identifier.
        id: &'a ExtensionId,
        /// The invocation's deadline, or `None` if none plausible was given.
        deadline: Option<EpochMillis>,
    },
    /// Run the shutdown step for the SHUTDOWN the last `event/next` delivered, then report with
    /// [`Machine::handle_step`]. At `until` the machine exits without it: the driver MUST then
    /// drop the step.
    RunShutdown {
        /// The identifier.
        id: &'a ExtensionId,
        /// The deadline minus the margin, or `None` if no plausible deadline was given.
        until: Option<EpochMillis>,
    },
    /// Post the failure to [`Request::InitError`](super::Request::InitError) (the extension
    /// has not been answered on `event/next` yet) and report as for `Register`.
    PostInitError {
        /// The identifier.
        id: &'a ExtensionId,
        /// What failed; [`ErrorCause::error_type`] is the default error type.
        cause: ErrorCause,
    },
    /// Post the failure to [`Request::ExitError`](super::Request::ExitError) and report as for
    /// `Register`.
    PostExitError {
        /// The identifier.
        id: &'a ExtensionId,
        /// What failed; [`ErrorCause::error_type`] is the default error type.
        cause: ErrorCause,
    },
    /// Nothing to do until an input arrives or, if set, until `until` (then call
    /// [`Machine::handle_timeout`]).
    Wait {
        /// The armed timer, if any.
        until: Option<EpochMillis>,
    },
    /// An internal extension could not register: log the reason and end the extension's task;
    /// the function carries on (it was never waited for).
    GiveUp(ExitReason),
    /// Stop: exit the process with [`ExitReason::code`] (an internal extension's process is the
    /// function's, which Lambda will reset after such a failure).
    Exit(ExitReason),
}

/// One extension's state machine.
///
/// [`Machine`] does no I/O. The code driving it feeds it facts through the `handle_*` methods,
/// each with the current time, and asks what to do next with [`Machine::poll`]:
///
/// 1. Call `poll()` and carry out each [`Action`] until it returns [`Action::Wait`] (or
///    [`Action::Exit`] / [`Action::GiveUp`]).
/// 2. Wait for the first of: the response to the request in flight
///    (→ [`Machine::handle_response`], with the parsed event for `event/next`), a transport
///    failure (→ [`Machine::handle_transport_error`]), the user's step finishing
///    (→ [`Machine::handle_step`]), or the `until` of the last `Wait`
///    (→ [`Machine::handle_timeout`]).
/// 3. Go back to 1.
///
/// The extension registers, runs its init step, optionally subscribes to the Telemetry API, and
/// then loops on `event/next` (the first call marks it ready, so the function's init can end):
/// an INVOKE runs the per-invoke step, then `event/next` again; a SHUTDOWN runs the shutdown
/// step within its deadline, then exits. A failed step is posted to `init/error` while the
/// extension is initialising (before any `event/next` was answered) and to `exit/error` after,
/// never the other way round; then the extension exits. An internal extension that cannot
/// register gives up ([`Action::GiveUp`]) without stopping the function. A 500 from the API
/// exits; a broken connection is retried after [`backoff_ms`](crate::lifecycle::backoff_ms), at
/// most [`MAX_ATTEMPTS`](crate::lifecycle::MAX_ATTEMPTS) times in a row.
///
/// The phases and their edges, rendered from [`TRANSITIONS`](super::TRANSITIONS) (a test
/// fails when this copy is stale):
///
#[doc = include_str!("transitions.md")]
#[derive(Debug)]
pub struct Machine {
    pub(super) state: State,
}

impl Machine {
    /// A machine in phase `Register`; its first action is [`Action::Register`]. Refuses options
    /// Lambda would refuse (an internal extension taking SHUTDOWN).
    pub fn new(name: ExtensionName, options: Options) -> Result<Self, ConfigError> {
        if options.kind == Kind::Internal && options.events.shutdown {
            return Err(ConfigError::InternalShutdown);
        }
        Ok(Self {
            state: State::new(name, options),
        })
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.state.phase()
    }

    /// The options in use.
    pub fn options(&self) -> Options {
        self.state.options
    }

    /// The extension's name.
    pub fn name(&self) -> &ExtensionName {
        &self.state.name
    }

    /// The identifier, once registered.
    pub fn id(&self) -> Option<&ExtensionId> {
        self.state.id.as_ref()
    }

    /// Whether `event/next` has been answered once: from then on failures go to `exit/error`.
    pub fn initialized(&self) -> bool {
        self.state.initialized
    }

    /// The response to the request in flight arrived. For `event/next` with a 2xx status, pass
    /// what the body is (`None` counts as [`Delivered::Malformed`]); for any other response
    /// `delivered` is ignored.
    pub fn handle_response(
        &mut self,
        now: EpochMillis,
        head: &ResponseHead<'_>,
        delivered: Option<Delivered>,
    ) -> Result<(), Misuse> {
        self.state.response(now, head, delivered)
    }

    /// The request in flight failed: the connection could not be opened, was closed, or the
    /// response was malformed. The machine retries after a backoff or gives up.
    pub fn handle_transport_error(&mut self, now: EpochMillis) -> Result<(), Misuse> {
        self.state.transport_failed(now)
    }

    /// The step asked for (init, per-invoke or shutdown) finished.
    pub fn handle_step(&mut self, now: EpochMillis, outcome: StepOutcome) -> Result<(), Misuse> {
        self.state.step(now, outcome)
    }

    /// Time passed: fires the timer if it is due at `now`. Spurious or repeated calls are no-ops.
    pub fn handle_timeout(&mut self, now: EpochMillis) {
        self.state.timeout(now);
    }

    /// The next thing to do. Call until it returns `Wait`, `Exit` or `GiveUp`.
    pub fn poll(&mut self) -> Action<'_> {
        self.state.poll()
    }
}
