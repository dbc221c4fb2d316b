//! The Telemetry API: validating `PUT /2022-07-01/telemetry`, and one task per subscriber
//! that buffers its records and POSTs them as JSON arrays, as Lambda does (without retries).

use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};

use crate::extensions::{ApiError, forbidden};
use crate::records::TelemetryDelivery;
use crate::state::Shared;
use crate::util::epoch_ms;

/// The schema versions Lambda accepts.
const SCHEMA_VERSIONS: &[&str] = &["2022-07-01", "2022-12-13", "2025-01-29"];

/// How long one POST to a subscriber may take.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

/// The record classes of the `types` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Platform,
    Function,
    Extension,
}

/// Buffering of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Buffering {
    pub(crate) max_items: usize,
    pub(crate) max_bytes: usize,
    pub(crate) timeout: Duration,
}

/// A validated subscription request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) uri: String,
    /// Where to connect (`sandbox.localdomain` is 127.0.0.1).
    pub(crate) port: u16,
    pub(crate) path: String,
    pub(crate) classes: Vec<Class>,
    pub(crate) buffering: Buffering,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError {
        status: 400,
        error_type: "ValidationError",
        message: message.into(),
    }
}

/// Validate a subscription body as Lambda does.
pub(crate) fn parse(body: &[u8]) -> Result<Request, ApiError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| invalid(format!("Invalid JSON: {err}")))?;
    let schema = value.get("schemaVersion").and_then(Value::as_str);
    if !schema.is_some_and(|s| SCHEMA_VERSIONS.contains(&s)) {
        return Err(invalid(format!(
            "schemaVersion must be one of {}",
            SCHEMA_VERSIONS.join(", ")
        )));
    }
    let destination = value
        .get("destination")
        .ok_or_else(|| invalid("destination is required"))?;
    if destination.get("protocol").and_then(Value::as_str) != Some("HTTP") {
        return Err(invalid("destination.protocol must be HTTP"));
    }
    let uri = destination
        .get("URI")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("destination.URI is required"))?;
    let (port, path) = parse_uri(uri)
        .ok_or_else(|| invalid("destination.URI must be http://sandbox.localdomain:PORT[/path]"))?;
    let types = value
        .get("types")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("types must be a non-empty array"))?;
    let mut classes = Vec::new();
    for kind in types {
        let class = match kind.as_str() {
            Some("platform") => Class::Platform,
            Some("function") => Class::Function,
            Some("extension") => Class::Extension,
            _ => return Err(invalid(format!("Unknown type {kind}"))),
        };
        if !classes.contains(&class) {
            classes.push(class);
        }
    }
    let buffering = value.get("buffering").unwrap_or(&Value::Null);
    let bound = |name: &str, default: u64, min: u64, max: u64| -> Result<u64, ApiError> {
        match buffering.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v
                .as_u64()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| invalid(format!("buffering.{name} must be in {min}..={max}"))),
        }
    };
    let max_items = bound("maxItems", 10_000, 1_000, 10_000)?;
    let max_bytes = bound("maxBytes", 262_144, 262_144, 1_048_576)?;
    let timeout_ms = bound("timeoutMs", 1_000, 25, 30_000)?;
    Ok(Request {
        uri: uri.to_owned(),
        port,
        path,
        classes,
        buffering: Buffering {
            max_items: usize::try_from(max_items).unwrap_or(usize::MAX),
            max_bytes: usize::try_from(max_bytes).unwrap_or(usize::MAX),
            timeout: Duration::from_millis(timeout_ms),
        },
    })
}

/// `http://sandbox.localdomain:PORT[/path]` → (port, path).
fn parse_uri(uri: &str) -> Option<(u16, String)> {
    let rest = uri.strip_prefix("http://sandbox.localdomain:")?;
    let (port, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let port: u16 = port.parse().ok().filter(|p| *p != 0)?;
    if path
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return None;
    }
    Some((port, path.to_owned()))
}

#[derive(Debug)]
enum Msg {
    Record(Value),
    Flush(oneshot::Sender<()>),
}

/// A live subscription: its record classes and the sender to its task.
#[derive(Debug)]
pub(crate) struct Subscription {
    classes: Vec<Class>,
    tx: mpsc::UnboundedSender<Msg>,
}

impl Subscription {
    /// Start the task that delivers to `request` on behalf of `extension`.
    pub(crate) fn start(shared: &Arc<Shared>, extension: &str, request: Request) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let classes = request.classes.clone();
        shared.rt.spawn(deliver(
            Arc::downgrade(shared),
            extension.to_owned(),
            request,
            rx,
        ));
        Subscription { classes, tx }
    }

    /// Queue a record of `class` (a full `{time, type, record}` envelope), if subscribed.
    pub(crate) fn send(&self, class: Class, envelope: &Value) {
        if self.classes.contains(&class) {
            let _ = self.tx.send(Msg::Record(envelope.clone()));
        }
    }

    /// Ask for everything buffered to be posted; the receiver fires once it was.
    pub(crate) fn flush(&self) -> Option<oneshot::Receiver<()>> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Msg::Flush(tx)).ok().map(|()| rx)
    }
}

/// The subscriber's task: buffer, post on `timeoutMs`, `maxItems`, `maxBytes`, a flush, or
/// when the subscription goes away.
async fn deliver(
    shared: Weak<Shared>,
    extension: String,
    request: Request,
    mut rx: mpsc::UnboundedReceiver<Msg>,
) {
    let mut buffer: Vec<Value> = Vec::new();
    let mut bytes = 0;
    let mut due: Option<tokio::time::Instant> = None;
    loop {
        let timer = async {
            match due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let (flush, ack) = tokio::select! {
            msg = rx.recv() => match msg {
                Some(Msg::Record(record)) => {
                    bytes += record.to_string().len();
                    buffer.push(record);
                    due.get_or_insert_with(|| tokio::time::Instant::now() + request.buffering.timeout);
                    let full = buffer.len() >= request.buffering.max_items
                        || bytes >= request.buffering.max_bytes;
                    (full, None)
                }
                Some(Msg::Flush(ack)) => (true, Some(ack)),
                None => {
                    post_batch(&shared, &extension, &request, std::mem::take(&mut buffer)).await;
                    return;
                }
            },
            () = timer => (true, None),
        };
        if flush {
            due = None;
            bytes = 0;
            post_batch(&shared, &extension, &request, std::mem::take(&mut buffer)).await;
        }
        if let Some(ack) = ack {
            let _ = ack.send(());
        }
    }
}

async fn post_batch(shared: &Weak<Shared>, extension: &str, request: &Request, batch: Vec<Value>) {
    if batch.is_empty() {
        return;
    }
    let types = batch
        .iter()
        .map(|r| r["type"].as_str().unwrap_or_default().to_owned())
        .collect();
    let body = serde_json::to_vec(&Value::Array(batch)).unwrap_or_default();
    let result = tokio::time::timeout(POST_TIMEOUT, post(request.port, &request.path, &body))
        .await
        .unwrap_or_else(|_| Err(std::io::Error::other("timed out")));
    let Some(shared) = shared.upgrade() else {
        return;
    };
    let (status, error) = match result {
        Ok(status) if status < 300 => (Some(status), None),
        Ok(status) => (Some(status), Some(format!("HTTP {status}"))),
        Err(err) => (None, Some(err.to_string())),
    };
    if let Some(error) = &error {
        shared.note(format!(
            "lambda-emulator: telemetry for extension {extension}: POST to {} failed ({error}); \
             the batch is dropped",
            request.uri
        ));
    }
    shared.lock().telemetry.push(TelemetryDelivery {
        extension: extension.to_owned(),
        uri: request.uri.clone(),
        types,
        status,
        error,
        at_ms: epoch_ms(),
    });
}

/// One HTTP/1.1 POST to 127.0.0.1:`port`; the status of the answer.
async fn post(port: u16, path: &str, body: &[u8]) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: sandbox.localdomain:{port}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.flush().await?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 512];
    while !answer.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 || answer.len() > 8192 {
            break;
        }
        answer.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&answer);
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("no HTTP status line in the answer"))
}

impl Shared {
    /// `PUT /2022-07-01/telemetry` for the extension `id`.
    pub(crate) fn telemetry_subscribe(
        self: &Arc<Self>,
        id: Option<&str>,
        body: &[u8],
    ) -> Result<String, ApiError> {
        let mut st = self.lock();
        let index = Self::ext_check_id(&st, id)?;
        let request = parse(body)?;
        if st.sandbox.init_complete || st.sandbox.shutting_down {
            return Err(forbidden(
                "Telemetry.SubscriptionClosed",
                "Telemetry API subscriptions are closed once init is done",
            ));
        }
        let name = st.sandbox.extensions[index].name.clone();
        let types: Vec<&str> = request
            .classes
            .iter()
            .map(|c| match c {
                Class::Platform => "platform",
                Class::Function => "function",
                Class::Extension => "extension",
            })
            .collect();
        let subscription = Subscription::start(self, &name, request.clone());
        // The init records so far, as Lambda replays them to a subscriber that comes late.
        for record in &st.sandbox.init_records {
            subscription.send(Class::Platform, record);
        }
        st.sandbox.extensions[index].telemetry = Some(subscription);
        st.sandbox.emit(
            Class::Platform,
            "platform.telemetrySubscription",
            json!({ "name": name, "state": "Subscribed", "types": types }),
        );
        Ok(name)
    }

    /// Flush every subscriber of the current sandbox; wait until they posted (or `limit`).
    pub(crate) async fn flush_telemetry(&self, limit: Duration) {
        let acks: Vec<_> = self
            .lock()
            .sandbox
            .extensions
            .iter()
            .filter_map(|e| e.telemetry.as_ref().and_then(Subscription::flush))
            .collect();
        let _ = tokio::time::timeout(limit, async {
            for ack in acks {
                let _ = ack.await;
            }
        })
        .await;
    }
}

/// A log line as a `function` or `extension` record: the JSON object if the line is one,
/// else the text.
pub(crate) fn line_record(line: &str) -> Value {
    match serde_json::from_str::<Value>(line) {
        Ok(object @ Value::Object(_)) => object,
        _ => Value::String(line.to_owned()),
    }
}

/// `platform.start`, `platform.runtimeDone` and `platform.report` records.
pub(crate) fn start_record(request_id: &str, version: &str, tenant: Option<&str>) -> Value {
    let mut record = json!({ "requestId": request_id, "version": version });
    if let Some(tenant) = tenant {
        record["tenantId"] = json!(tenant);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn subscriptions_are_validated() {
        let good = json!({
            "schemaVersion": "2022-12-13",
            "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:8080/t"},
            "types": ["platform", "function"],
            "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 25},
        });
        let request = parse(&body(good.clone())).unwrap();
        assert_eq!((request.port, request.path.as_str()), (8080, "/t"));
        assert_eq!(request.classes, [Class::Platform, Class::Function]);
        assert_eq!(request.buffering.timeout, Duration::from_millis(25));
        let mut cases = Vec::new();
        for (pointer, value) in [
            ("/schemaVersion", json!("2021-01-01")),
            ("/destination/protocol", json!("TCP")),
            ("/destination/URI", json!("http://localhost:8080")),
            (
                "/destination/URI",
                json!("https://sandbox.localdomain:8080"),
            ),
            ("/destination/URI", json!("http://sandbox.localdomain:")),
            ("/types", json!([])),
            ("/types", json!(["platform", "logs"])),
            ("/buffering/maxItems", json!(999)),
            ("/buffering/maxBytes", json!(1_048_577)),
            ("/buffering/timeoutMs", json!(24)),
            ("/buffering/timeoutMs", json!(30_001)),
        ] {
            let mut bad = good.clone();
            *bad.pointer_mut(pointer).unwrap() = value;
            cases.push(bad);
        }
        for bad in cases {
            let err = parse(&body(bad.clone())).unwrap_err();
            assert_eq!(
                (err.status, err.error_type),
                (400, "ValidationError"),
                "{bad}"
            );
        }
        assert_eq!(parse(b"{").unwrap_err().status, 400);
        let minimal = json!({
            "schemaVersion": "2025-01-29",
            "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:9"},
            "types": ["extension"],
        });
        let request = parse(&body(minimal)).unwrap();
        assert_eq!(request.path, "/");
        assert_eq!(request.buffering.max_items, 10_000);
    }

    #[test]
    fn lines_become_records() {
        assert_eq!(line_record(r#"{"a":1}"#), json!({"a": 1}));
        assert_eq!(line_record("[1]"), json!("[1]"));
        assert_eq!(line_record("plain"), json!("plain"));
    }
}
