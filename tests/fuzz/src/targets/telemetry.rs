//! `telemetry`: what the Telemetry API POSTs to a subscriber: the request framed as it arrives
//! ([`frame_request`]), its batch read record by record ([`receive`], [`parse_batch`]).
//!
//! The first byte chooses: a whole HTTP request (framed over a growing buffer, then received),
//! or a bare batch body. Invariants: no panic; framing is monotone (once complete, more bytes
//! do not change the answer) and a complete request's body lies inside it; the records read
//! plus the bad ones account for every element of an array; every record read serialises and
//! reads back the same.

use lambda_runtime_types::extension::telemetry::{
    Framing, MAX_REQUEST_BYTES, TelemetryEvent, frame_request, parse_batch, receive,
};

use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "telemetry",
    about: "Telemetry API POSTs: request framing and batches of records",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 8192,
};

/// Record types and fields of the Telemetry API schema.
pub const DICTIONARY: &[&[u8]] = &[
    b"POST /telemetry HTTP/1.1\r\nHost: sandbox.localdomain:8080\r\nContent-Length: ",
    b"\r\n\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"{\"time\":\"2025-01-29T10:00:00.000Z\",\"type\":",
    b"\"record\":",
    b"\"platform.initStart\"",
    b"\"platform.initRuntimeDone\"",
    b"\"platform.initReport\"",
    b"\"platform.start\"",
    b"\"platform.runtimeDone\"",
    b"\"platform.report\"",
    b"\"platform.extension\"",
    b"\"platform.telemetrySubscription\"",
    b"\"platform.logsDropped\"",
    b"\"platform.restoreStart\"",
    b"\"platform.restoreRuntimeDone\"",
    b"\"platform.restoreReport\"",
    b"\"function\"",
    b"\"extension\"",
    b"\"requestId\":",
    b"\"metrics\":{\"durationMs\":1.5,\"billedDurationMs\":2,\"memorySizeMB\":128,\"maxMemoryUsedMB\":64}",
    b"\"status\":\"success\"",
    b"\"spans\":[{\"name\":\"responseLatency\",\"start\":\"2025-01-29T10:00:00.000Z\",\"durationMs\":0.1}]",
    b"\"tracing\":{\"type\":\"X-Amzn-Trace-Id\",\"value\":\"Root=1\"}",
    b"1e400",
    b"-0.0",
    b"null",
];

fn request(body: &[u8]) -> Vec<u8> {
    let mut v = vec![1u8];
    v.extend_from_slice(
        format!(
            "POST /telemetry HTTP/1.1\r\nHost: sandbox.localdomain:8080\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    v.extend_from_slice(body);
    v
}

fn seeds() -> Vec<Vec<u8>> {
    let batch: &[u8] = br#"[{"time":"2025-01-29T10:00:00.000Z","type":"platform.initStart","record":{"initializationType":"on-demand","phase":"init","runtimeVersion":"provided:al2023.v1","runtimeVersionArn":"arn:aws:lambda:us-east-1::runtime:abc","functionName":"f","functionVersion":"$LATEST","instanceId":"i","instanceMaxMemory":134217728}},{"time":"2025-01-29T10:00:00.100Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST","tracing":{"spanId":"s","type":"X-Amzn-Trace-Id","value":"Root=1"}}},{"time":"2025-01-29T10:00:00.200Z","type":"function","record":"hello\n"},{"time":"2025-01-29T10:00:00.300Z","type":"platform.runtimeDone","record":{"requestId":"r1","status":"success","metrics":{"durationMs":12.5,"producedBytes":3},"spans":[{"name":"responseLatency","start":"2025-01-29T10:00:00.250Z","durationMs":0.5}]}},{"time":"2025-01-29T10:00:00.400Z","type":"platform.report","record":{"requestId":"r1","status":"success","metrics":{"durationMs":13.0,"billedDurationMs":14,"memorySizeMB":128,"maxMemoryUsedMB":30,"initDurationMs":80.5}}},{"time":"2025-01-29T10:00:00.500Z","type":"platform.logsDropped","record":{"reason":"buffer full","droppedRecords":3,"droppedBytes":300}},{"time":"2025-01-29T10:00:00.600Z","type":"platform.future","record":{"x":[1,2]}}]"#;
    let extension: &[u8] = br#"[{"time":"2025-01-29T10:00:00.000Z","type":"platform.extension","record":{"name":"e","state":"Ready","events":["INVOKE","SHUTDOWN"]}},{"time":"2025-01-29T10:00:00.001Z","type":"platform.telemetrySubscription","record":{"name":"e","state":"Subscribed","types":["platform","function"]}},{"time":"2025-01-29T10:00:00.002Z","type":"extension","record":{"timestamp":"t","level":"INFO","message":"m"}}]"#;
    vec![
        request(batch),
        request(extension),
        [&[0u8][..], batch].concat(),
        [&[0u8][..], b"[{\"type\":5},{}]"].concat(),
        request(b""),
    ]
}

fn check_framing(buf: &[u8]) -> Option<&[u8]> {
    let mut complete: Option<(usize, usize, usize)> = None;
    // Grow the buffer as reads would; the framing is checked at every 61st byte and the end.
    let mut at = 0;
    while at < buf.len() {
        at = (at + 61).min(buf.len());
        match frame_request(&buf[..at]) {
            Framing::Incomplete => {
                assert!(
                    complete.is_none(),
                    "complete, then incomplete with more bytes"
                );
                assert!(at < MAX_REQUEST_BYTES);
            }
            Framing::Complete { body, len } => {
                assert!(len <= at, "a request longer than the buffer");
                let start = body.as_ptr() as usize - buf.as_ptr() as usize;
                assert!(
                    start + body.len() == len,
                    "the body does not end the request"
                );
                if let Some(prev) = complete {
                    assert_eq!(prev, (start, body.len(), len), "the framing changed");
                }
                complete = Some((start, body.len(), len));
            }
            Framing::Invalid(why) => {
                assert!(
                    complete.is_none(),
                    "complete, then invalid with more bytes: {why}"
                );
                return None;
            }
        }
    }
    complete.map(|(start, n, _)| &buf[start..start + n])
}

fn check_batch(body: &[u8], sig: &mut Sig) {
    let received = receive(body);
    assert!(received.response().starts_with(b"HTTP/1.1 200 OK\r\n"));
    match (parse_batch(body), &received.malformed) {
        (Ok(records), None) => {
            assert_eq!(records.len(), received.events.len() + received.bad.len());
            if let Ok(serde_json::Value::Array(elements)) =
                serde_json::from_slice::<serde_json::Value>(body)
            {
                assert_eq!(elements.len(), records.len(), "an element was lost");
            }
            sig.add(received.events.len().min(4) as u64)
                .add(received.bad.len().min(4) as u64);
            for event in &received.events {
                let name = format!("{:?}", event.record);
                sig.add_str(name.split('(').next().unwrap_or(""));
                let json = serde_json::to_vec(event).expect("a record serialises");
                let back: TelemetryEvent =
                    serde_json::from_slice(&json).expect("a serialised record reads back");
                if &back != event {
                    // serde_json (without its `float_roundtrip` feature) may read a float
                    // written back one unit in the last place off: equal up to that.
                    let (a, b) = (
                        serde_json::to_value(&back).expect("serialises"),
                        serde_json::to_value(event).expect("serialises"),
                    );
                    assert!(
                        nearly_equal(&a, &b),
                        "a record changed through JSON: {a} / {b}"
                    );
                }
            }
        }
        (Err(_), Some(_)) => {
            sig.add(7);
        }
        (a, b) => panic!("parse_batch and receive disagree: {a:?} / {b:?}"),
    }
}

/// Equal JSON values, floats within a relative 1e-14.
fn nearly_equal(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x != y => (x - y).abs() <= 1e-14 * x.abs().max(y.abs()),
            _ => x == y || x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| nearly_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| nearly_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let Some((&mode, rest)) = data.split_first() else {
        return 0;
    };
    let mut sig = Sig::new();
    if mode & 1 == 1 {
        match check_framing(rest) {
            Some(body) => {
                sig.add(1);
                check_batch(body, &mut sig);
            }
            None => {
                sig.add(2);
            }
        }
    } else {
        check_batch(rest, &mut sig);
    }
    sig.get()
}
