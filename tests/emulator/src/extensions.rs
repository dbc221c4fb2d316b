//! The Extensions API state of one sandbox (a process generation): the external extensions
//! started from [`crate::Options::extensions`], the registered extensions and their event
//! queues, the init gate, and the logic behind `register`, `event/next` and the error posts.
//! The HTTP side is in `ext_api.rs`, the shutdown sequence in `shutdown.rs`.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::records::{ExtensionError, ExtensionExit, ExtensionInfo, ProcessExit, ResetReason};
use crate::state::{Proc, Shared, State};
use crate::telemetry::{Class, Subscription};
use crate::util::{epoch_ms, invoke_error_body, iso8601, request_id};

/// Lambda's limit on registered extensions.
pub(crate) const MAX_EXTENSIONS: usize = 10;

/// The account id the emulator hands out with `Lambda-Extension-Accept-Feature: accountId`;
/// the same as in the function ARN.
pub(crate) const ACCOUNT_ID: &str = "000000000000";

/// An Extensions or Telemetry API error: status, `errorType`, `errorMessage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) error_type: &'static str,
    pub(crate) message: String,
}

pub(crate) fn forbidden(error_type: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status: 403,
        error_type,
        message: message.into(),
    }
}

/// An external extension process started for a sandbox.
#[derive(Debug)]
pub(crate) struct Launched {
    pub(crate) name: String,
    pub(crate) pid: u32,
    pub(crate) alive: bool,
    /// The emulator sent it `SIGKILL`.
    pub(crate) sigkilled: bool,
}

/// An event queued for an extension's `event/next`.
#[derive(Debug, Clone)]
pub(crate) struct ExtEvent {
    pub(crate) body: Vec<u8>,
    /// The invocation's request id, for `INVOKE`.
    pub(crate) request_id: Option<String>,
}

/// A registered extension.
#[derive(Debug)]
pub(crate) struct Ext {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) external: bool,
    pub(crate) events: Vec<String>,
    pub(crate) registered_ms: u64,
    pub(crate) next_calls: u64,
    /// An `event/next` of it is waiting now.
    pub(crate) waiting: bool,
    pub(crate) queue: VecDeque<ExtEvent>,
    /// The error type it posted (`init/error` or `exit/error`); no call succeeds after that.
    pub(crate) error_type: Option<String>,
    /// `SHUTDOWN` was queued for it; `done` once it called `event/next` again after that.
    pub(crate) shutdown_sent: bool,
    pub(crate) shutdown_done: bool,
    pub(crate) telemetry: Option<Subscription>,
}

impl Ext {
    fn wants(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }

    /// Waiting in `event/next` with nothing left to deliver (or out of the game).
    fn idle(&self) -> bool {
        self.error_type.is_some() || (self.waiting && self.queue.is_empty())
    }

    pub(crate) fn info(&self, generation: u64) -> ExtensionInfo {
        ExtensionInfo {
            name: self.name.clone(),
            id: self.id.clone(),
            external: self.external,
            events: self.events.clone(),
            generation,
            registered_ms: self.registered_ms,
            next_calls: self.next_calls,
            telemetry: self.telemetry.is_some(),
            error_type: self.error_type.clone(),
        }
    }
}

/// The extension side of one sandbox.
#[derive(Debug)]
pub(crate) struct Sandbox {
    pub(crate) generation: u64,
    /// Closed by the runtime's first `/next` (launched files may still register).
    pub(crate) registration_open: bool,
    pub(crate) launched: Vec<Launched>,
    pub(crate) extensions: Vec<Ext>,
    /// The runtime made its first `/next`.
    pub(crate) runtime_ready: bool,
    /// Init is over: the runtime and every extension called next (Telemetry subscriptions
    /// are closed from then on).
    pub(crate) init_complete: bool,
    pub(crate) init_started: Instant,
    /// The init duration, for the first `platform.report` of the sandbox.
    pub(crate) init_duration_ms: Option<f64>,
    /// The platform records of init, replayed to subscribers that come later.
    pub(crate) init_records: Vec<Value>,
    /// A shutdown task owns this sandbox.
    pub(crate) shutting_down: bool,
}

impl Sandbox {
    pub(crate) fn new(generation: u64, open: bool) -> Self {
        Sandbox {
            generation,
            registration_open: open,
            launched: Vec::new(),
            extensions: Vec::new(),
            runtime_ready: false,
            init_complete: false,
            init_started: Instant::now(),
            init_duration_ms: None,
            init_records: Vec::new(),
            shutting_down: false,
        }
    }

    /// Every launched file registered and every registered extension called `event/next`.
    pub(crate) fn gate_open(&self) -> bool {
        self.launched.iter().all(|l| {
            self.extensions
                .iter()
                .any(|e| e.external && e.name == l.name)
        }) && self.extensions.iter().all(|e| e.next_calls > 0)
    }

    /// Some `INVOKE` subscriber has not finished with its last event yet.
    pub(crate) fn invoke_busy(&self) -> bool {
        self.extensions
            .iter()
            .any(|e| e.wants("INVOKE") && !e.idle())
    }

    /// Anything that makes a shutdown more than killing the runtime.
    pub(crate) fn has_extensions(&self) -> bool {
        !self.extensions.is_empty() || self.launched.iter().any(|l| l.alive)
    }

    pub(crate) fn by_id(&mut self, id: &str) -> Option<&mut Ext> {
        self.extensions.iter_mut().find(|e| e.id == id)
    }

    /// Send a telemetry record to every subscriber of its class.
    pub(crate) fn emit(&mut self, class: Class, kind: &str, record: Value) {
        let envelope = json!({ "time": iso8601(epoch_ms()), "type": kind, "record": record });
        if class == Class::Platform && !self.init_complete {
            self.init_records.push(envelope.clone());
        }
        for ext in &self.extensions {
            if let Some(sub) = &ext.telemetry {
                sub.send(class, &envelope);
            }
        }
    }

    /// Queue `INVOKE` for every subscriber.
    pub(crate) fn queue_invoke(&mut self, body: &Value, request_id: &str) -> bool {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        let mut queued = false;
        for ext in &mut self.extensions {
            if ext.wants("INVOKE") && ext.error_type.is_none() {
                ext.queue.push_back(ExtEvent {
                    body: bytes.clone(),
                    request_id: Some(request_id.to_owned()),
                });
                queued = true;
            }
        }
        queued
    }
}

/// The executable regular files of `dir`, in name order.
pub(crate) fn extension_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            std::fs::metadata(path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// What a register call asked for.
#[derive(Debug)]
pub(crate) struct Registration<'a> {
    pub(crate) name: Option<&'a str>,
    pub(crate) account_id: bool,
    pub(crate) body: &'a [u8],
}

/// The events of a register body, or the RIE's error.
fn parse_events(body: &[u8]) -> Result<Vec<String>, ApiError> {
    let bad = |message: String| forbidden("InvalidRequestFormat", message);
    let value: Value =
        serde_json::from_slice(body).map_err(|err| bad(format!("Invalid request body: {err}")))?;
    let Value::Object(map) = value else {
        return Err(bad("The request body must be a JSON object".to_owned()));
    };
    if map.contains_key("configurationKeys") {
        return Err(bad("configurationKeys are not supported".to_owned()));
    }
    let mut events = Vec::new();
    match map.get("events") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for event in list {
                let Some(event) = event.as_str() else {
                    return Err(bad("events must be strings".to_owned()));
                };
                events.push(event.to_owned());
            }
        }
        Some(_) => return Err(bad("events must be an array".to_owned())),
    }
    Ok(events)
}

impl Shared {
    /// `POST /extension/register`: the identifier and the response body.
    pub(crate) fn ext_register(&self, reg: &Registration<'_>) -> Result<(String, Value), ApiError> {
        let name = reg.name.unwrap_or("");
        if name.is_empty() {
            return Err(forbidden(
                "Extension.InvalidExtensionName",
                "Empty extension name",
            ));
        }
        let events = parse_events(reg.body)?;
        let mut st = self.lock();
        let sandbox = &mut st.sandbox;
        let external = sandbox.launched.iter().any(|l| l.name == name);
        if sandbox.extensions.iter().any(|e| e.name == name) {
            return Err(forbidden(
                "Extension.InvalidExtensionState",
                format!("Extension {name} is already registered"),
            ));
        }
        if !external && (!sandbox.registration_open || sandbox.shutting_down) {
            return Err(forbidden(
                "Extension.RegistrationClosed",
                "Extension registration closed already",
            ));
        }
        if sandbox.extensions.len() >= MAX_EXTENSIONS {
            return Err(forbidden(
                "Extension.TooManyExtensions",
                format!("Cannot register more than {MAX_EXTENSIONS} extensions"),
            ));
        }
        for event in &events {
            let allowed = match event.as_str() {
                "INVOKE" => true,
                "SHUTDOWN" => external,
                _ => false,
            };
            if !allowed {
                return Err(forbidden(
                    "Extension.InvalidEventType",
                    format!("Event type {event} is not allowed for this extension"),
                ));
            }
        }
        let id = request_id();
        sandbox.extensions.push(Ext {
            name: name.to_owned(),
            id: id.clone(),
            external,
            events: events.clone(),
            registered_ms: epoch_ms(),
            next_calls: 0,
            waiting: false,
            queue: VecDeque::new(),
            error_type: None,
            shutdown_sent: false,
            shutdown_done: false,
            telemetry: None,
        });
        sandbox.emit(
            Class::Platform,
            "platform.extension",
            json!({ "name": name, "state": "Ready", "events": events }),
        );
        let o = &self.config.options;
        let mut body = json!({
            "functionName": o.function_name,
            "functionVersion": o.version,
            "handler": o.handler,
        });
        if reg.account_id {
            body["accountId"] = json!(ACCOUNT_ID);
        }
        drop(st);
        // The init gate may depend on it.
        self.dispatch.notify_waiters();
        Ok((id, body))
    }

    /// Check an identifier header: the index of its extension in the sandbox.
    pub(crate) fn ext_check_id(st: &State, id: Option<&str>) -> Result<usize, ApiError> {
        let Some(id) = id else {
            return Err(forbidden(
                "Extension.MissingExtensionIdentifier",
                "Missing Lambda-Extension-Identifier header",
            ));
        };
        if !is_uuid(id) {
            return Err(forbidden(
                "Extension.InvalidExtensionIdentifier",
                "Invalid Lambda-Extension-Identifier",
            ));
        }
        st.sandbox
            .extensions
            .iter()
            .position(|e| e.id == id)
            .ok_or_else(|| {
                forbidden(
                    "Extension.UnknownExtensionIdentifier",
                    "Unknown extension identifier",
                )
            })
    }

    /// An `event/next` arrived: mark the extension waiting (and ready), open the gate if it
    /// was the last one. Returns its name.
    pub(crate) fn ext_next_arrived(self: &Arc<Self>, id: Option<&str>) -> Result<String, ApiError> {
        let mut st = self.lock();
        let index = Self::ext_check_id(&st, id)?;
        let ext = &mut st.sandbox.extensions[index];
        if let Some(error_type) = &ext.error_type {
            return Err(forbidden(
                "Extension.InvalidExtensionState",
                format!("The extension posted an error ({error_type})"),
            ));
        }
        ext.next_calls += 1;
        ext.waiting = true;
        if ext.shutdown_sent && ext.queue.is_empty() {
            ext.shutdown_done = true;
        }
        let name = ext.name.clone();
        self.check_init_complete(&mut st);
        drop(st);
        self.dispatch.notify_waiters();
        Ok(name)
    }

    /// The next event for the extension `id`, if one is queued.
    pub(crate) fn ext_take_event(&self, id: &str) -> Option<ExtEvent> {
        let mut st = self.lock();
        let ext = st.sandbox.by_id(id)?;
        let event = ext.queue.pop_front()?;
        ext.waiting = false;
        Some(event)
    }

    /// An `event/next` ended without an event (its connection went away).
    pub(crate) fn ext_next_left(&self, id: &str) {
        if let Some(ext) = self.lock().sandbox.by_id(id) {
            ext.waiting = false;
        }
    }

    /// `init/error` or `exit/error`. An init error fails init like the runtime's.
    pub(crate) fn ext_error(
        self: &Arc<Self>,
        seq: u64,
        init: bool,
        id: Option<&str>,
        error_type: Option<&str>,
    ) -> Result<String, ApiError> {
        let mut st = self.lock();
        let index = Self::ext_check_id(&st, id)?;
        let Some(error_type) = error_type.filter(|t| !t.is_empty()) else {
            return Err(forbidden(
                "Extension.MissingHeader",
                "Missing Lambda-Extension-Function-Error-Type header",
            ));
        };
        let ext = &mut st.sandbox.extensions[index];
        if ext.error_type.is_some() || (init && ext.next_calls > 0) {
            return Err(forbidden(
                "Extension.InvalidExtensionState",
                "State transition is not allowed",
            ));
        }
        ext.error_type = Some(error_type.to_owned());
        let name = ext.name.clone();
        if init && !st.sandbox.init_complete {
            let body = invoke_error_body(
                "Extension.InitError",
                &format!("Extension {name} failed to initialize: {error_type}"),
            );
            self.fail_init(&mut st, Some(seq), body, "application/json".to_owned());
        }
        drop(st);
        self.dispatch.notify_waiters();
        self.ext_events.notify_waiters();
        Ok(name)
    }

    /// Init is complete once the runtime called `/next` and the gate is open: note it once.
    pub(crate) fn check_init_complete(&self, st: &mut State) {
        let runtime_ready = match &st.process {
            Proc::External { inited } => *inited,
            Proc::Running(running) => running.inited,
            Proc::Stopped => false,
        };
        let sandbox = &mut st.sandbox;
        if sandbox.init_complete || !runtime_ready || !sandbox.gate_open() {
            return;
        }
        let ms = sandbox.init_started.elapsed().as_secs_f64() * 1000.0;
        sandbox.init_duration_ms = Some(ms);
        sandbox.emit(
            Class::Platform,
            "platform.initReport",
            json!({
                "initializationType": self.initialization_type(),
                "phase": "init",
                "status": "success",
                "metrics": { "durationMs": round2(ms) },
            }),
        );
        sandbox.init_complete = true;
    }

    /// `on-demand`, or `lambda-managed-instances` with concurrency.
    pub(crate) fn initialization_type(&self) -> &'static str {
        if self.config.options.concurrency.is_some() {
            "lambda-managed-instances"
        } else {
            "on-demand"
        }
    }

    /// The registered extensions of the current sandbox.
    pub(crate) fn extension_infos(&self) -> Vec<ExtensionInfo> {
        let st = self.lock();
        let generation = st.sandbox.generation;
        st.sandbox
            .extensions
            .iter()
            .map(|e| e.info(generation))
            .collect()
    }

    /// An external extension exited: record it; during init that fails init, later it
    /// resets the sandbox (unless a shutdown is what ended it).
    pub(crate) fn ext_exited(self: &Arc<Self>, generation: u64, name: &str, mut exit: ProcessExit) {
        let mut st = self.lock();
        let description = exit.describe();
        let current = st.sandbox.generation == generation;
        let launched = st
            .sandbox
            .launched
            .iter_mut()
            .find(|l| l.name == name && l.pid == exit.pid)
            .filter(|_| current);
        if let Some(launched) = launched {
            launched.alive = false;
            exit.sigkilled = launched.sigkilled;
        } else {
            // Killed with a sandbox that is gone (e.g. the function could not be started).
            exit.sigkilled = exit.signal == Some(9);
        }
        let tracked = current && st.sandbox.launched.iter().any(|l| l.pid == exit.pid);
        st.ext_exits.push(ExtensionExit {
            name: name.to_owned(),
            exit,
        });
        if !tracked || st.sandbox.shutting_down || st.stopping {
            return;
        }
        if !st.sandbox.init_complete {
            let body = invoke_error_body(
                "Extension.Crash",
                &format!("Extension {name} exited during init ({description})"),
            );
            self.fail_init(&mut st, None, body, "application/json".to_owned());
        } else {
            self.reset(&mut st, ResetReason::ExtensionExit);
        }
    }
}

impl State {
    /// The errors extensions posted, from the records.
    pub(crate) fn extension_errors(&self) -> Vec<ExtensionError> {
        use crate::records::Endpoint;
        let mut calls: Vec<_> = self
            .calls
            .iter()
            .filter(|c| {
                matches!(
                    c.endpoint,
                    Endpoint::ExtensionInitError | Endpoint::ExtensionExitError
                ) && c.status == Some(202)
            })
            .collect();
        calls.sort_by_key(|c| c.seq);
        calls
            .into_iter()
            .map(|c| ExtensionError {
                extension: c.request_id.clone().unwrap_or_default(),
                endpoint: c.endpoint,
                error_type: c
                    .header("lambda-extension-function-error-type")
                    .unwrap_or_default()
                    .to_owned(),
                body: c.body.clone(),
                received_ms: c.received_ms,
            })
            .collect()
    }
}

/// Two decimals, as Lambda's metrics.
pub(crate) fn round2(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// The 8-4-4-4-12 hex shape of a UUID.
fn is_uuid(id: &str) -> bool {
    let parts: Vec<&str> = id.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_bodies() {
        assert_eq!(
            parse_events(br#"{"events":["INVOKE","SHUTDOWN"]}"#).unwrap(),
            ["INVOKE", "SHUTDOWN"]
        );
        assert!(parse_events(br#"{}"#).unwrap().is_empty());
        for bad in [&b""[..], b"[]", b"{", br#"{"events":"INVOKE"}"#] {
            assert_eq!(
                parse_events(bad).unwrap_err().error_type,
                "InvalidRequestFormat"
            );
        }
        assert_eq!(
            parse_events(br#"{"events":[],"configurationKeys":["a"]}"#)
                .unwrap_err()
                .error_type,
            "InvalidRequestFormat"
        );
        assert!(is_uuid(&request_id()));
        assert!(!is_uuid("nope"));
    }
}
