//! Response streaming end to end: the test plays the function (an external runtime speaking
//! the Runtime API over a std `TcpStream`, with real chunked trailers) and reads the answer
//! through `Emulator::invoke_stream`, the streaming Invoke API and the HTTP front door.
//! Progress is proven by handshakes (the function sends the rest only once the invoker has
//! the first chunk), never by timing.

mod common;

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use base64::Engine as _;
use common::WAIT;
use common::wire::{Piece, Runtime, Wire};
use lambda_emulator::{Emulator, Endpoint, Options, RuntimeCall, StreamEnd};

fn external() -> Options {
    Options::external().timeout(Duration::from_secs(60))
}

/// The `/response` call of the invocation.
fn response_call(emu: &Emulator, id: &str) -> RuntimeCall {
    emu.calls()
        .into_iter()
        .find(|c| c.endpoint == Endpoint::Response && c.request_id.as_deref() == Some(id))
        .unwrap()
}

#[test]
fn chunks_reach_the_invoker_as_they_arrive() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "streaming");
        rt.chunk(b"hello ");
        wait.recv().unwrap();
        rt.chunk(b"streaming ");
        rt.chunk(b"world");
        (id, rt.end(None))
    });
    let mut stream = emu.invoke_stream("{}").unwrap();
    assert_eq!(stream.next_chunk(WAIT).unwrap().unwrap(), b"hello ");
    assert!(stream.streamed());
    go_on.send(()).unwrap();
    let done = stream.finish(WAIT).unwrap();
    let (id, (status, answer)) = function.join().unwrap();
    assert_eq!(status, 202, "{}", String::from_utf8_lossy(&answer));
    assert_eq!(done.request_id, id);
    assert!(done.streamed);
    assert_eq!(done.content_type, "text/plain");
    assert_eq!(done.chunks, [&b"hello "[..], b"streaming ", b"world"]);
    assert_eq!(done.body_string(), "hello streaming world");
    assert_eq!(done.error_type, None);
    assert_eq!(done.result.status, 200);

    let call = response_call(&emu, &id);
    assert_eq!(call.status, Some(202));
    assert_eq!(call.response_mode(), Some("streaming"));
    assert_eq!(call.body_len, 21);
    let record = call.stream.unwrap();
    assert_eq!(record.end, StreamEnd::Complete);
    assert!(record.forwarded);
    assert_eq!(record.chunk_count, 3);
    assert_eq!(record.chunk_sizes, [6, 10, 5]);
    assert_eq!(record.total, 21);
    assert!(record.trailers.is_empty());
    let (first, last) = (
        record.first_chunk_ms.unwrap(),
        record.last_chunk_ms.unwrap(),
    );
    assert!(call.received_ms <= first && first <= last);
}

#[test]
fn a_mid_stream_error_in_the_trailers_is_recorded_and_reported() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let error = br#"{"errorType":"Function.Broken","errorMessage":"half way"}"#;
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "application/octet-stream", "streaming");
        rt.chunk(b"partial");
        (id, rt.end(Some(("Function.Broken", error))))
    });
    let done = emu.invoke_stream("{}").unwrap().finish(WAIT).unwrap();
    let (id, (status, _)) = function.join().unwrap();
    assert_eq!(status, 202);
    assert_eq!(done.body(), b"partial");
    assert_eq!(done.error_type.as_deref(), Some("Function.Broken"));
    assert_eq!(done.error_body.as_deref(), Some(&error[..]));
    assert_eq!(done.result.function_error.as_deref(), Some("Unhandled"));

    let record = response_call(&emu, &id).stream.unwrap();
    assert_eq!(record.end, StreamEnd::Complete);
    assert_eq!(record.error_type.as_deref(), Some("Function.Broken"));
    assert_eq!(record.error_body.as_deref(), Some(&error[..]));
    assert_eq!(
        record.trailer("Lambda-Runtime-Function-Error-Body"),
        Some(
            base64::engine::general_purpose::STANDARD
                .encode(error)
                .as_str()
        )
    );
}

/// POST to the streaming Invoke API, with or without `TE: trailers`.
fn stream_request(emu: &Emulator, te_trailers: bool) -> Wire {
    let mut wire = Wire::open(emu.addr());
    let te = if te_trailers { "TE: trailers\r\n" } else { "" };
    let head = format!(
        "POST /2021-11-15/functions/function/response-streaming-invocations HTTP/1.1\r\n\
         Host: emu\r\n{te}Content-Length: 2\r\n\r\n{{}}"
    );
    wire.send(head.as_bytes());
    wire
}

#[test]
fn the_streaming_invoke_api_writes_chunks_as_they_arrive_and_errors_as_trailers() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/event-stream", "streaming");
        rt.chunk(b"data: 1\n\n");
        wait.recv().unwrap();
        rt.chunk(b"data: 2\n\n");
        rt.end(Some((
            "Runtime.StreamError",
            b"{\"errorType\":\"Runtime.StreamError\"}",
        )))
    });
    let mut client = stream_request(&emu, true);
    let head = client.read_head();
    assert_eq!(head.status, 200);
    assert!(head.chunked(), "{head:?}");
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
    assert!(head.header("x-amzn-requestid").is_some());
    assert_eq!(client.read_piece(), Piece::Data(b"data: 1\n\n".to_vec()));
    go_on.send(()).unwrap();
    assert_eq!(client.read_piece(), Piece::Data(b"data: 2\n\n".to_vec()));
    let Piece::End(trailers) = client.read_piece() else {
        panic!("no trailers")
    };
    let trailer = |name: &str| {
        trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        trailer("lambda-runtime-function-error-type").as_deref(),
        Some("Runtime.StreamError")
    );
    let body = trailer("lambda-runtime-function-error-body").unwrap();
    let body = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    assert_eq!(body, b"{\"errorType\":\"Runtime.StreamError\"}");
    assert_eq!(function.join().unwrap().0, 202);

    // Without `TE: trailers` the failure cuts the connection instead (no last chunk).
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "streaming");
        rt.chunk(b"some");
        rt.end(Some(("Function.Oops", b"")))
    });
    let mut client = stream_request(&emu, false);
    assert_eq!(client.read_head().status, 200);
    assert_eq!(client.read_piece(), Piece::Data(b"some".to_vec()));
    assert_eq!(client.read_piece(), Piece::Cut);
    assert_eq!(function.join().unwrap().0, 202);
}

#[test]
fn a_buffered_answer_is_whole_under_the_streaming_api_and_a_stream_whole_under_invoke() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        assert_eq!(
            rt.respond(&id, "application/json", br#"{"whole":true}"#),
            202
        );
        let (id, _) = rt.next();
        assert_eq!(rt.respond(&id, "application/json", br#"{"whole":2}"#), 202);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "streaming");
        rt.chunk(b"one ");
        rt.chunk(b"two");
        (id, rt.end(None))
    });
    let mut client = stream_request(&emu, true);
    let (head, body, _) = client.read_answer();
    assert_eq!(head.status, 200);
    assert!(!head.chunked());
    assert_eq!(body, br#"{"whole":true}"#);

    let done = emu.invoke_stream("{}").unwrap().finish(WAIT).unwrap();
    assert!(!done.streamed);
    assert_eq!(done.chunks, [br#"{"whole":2}"#.to_vec()]);

    let result = emu.invoke("{}").unwrap();
    let (id, (status, _)) = function.join().unwrap();
    assert_eq!(status, 202);
    assert_eq!(result.status, 200);
    assert_eq!(result.body, b"one two");
    assert_eq!(result.content_type, "text/plain");
    let record = response_call(&emu, &id).stream.unwrap();
    assert!(!record.forwarded);
    assert_eq!(record.chunk_count, 2);
}

#[test]
fn other_response_modes_get_400_invalid_function_response_mode() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "bogus");
        rt.chunk(b"x");
        rt.end(None)
    });
    let done = emu.invoke_stream("{}").unwrap().finish(WAIT).unwrap();
    let (status, body) = function.join().unwrap();
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("InvalidFunctionResponseMode"));
    assert!(!done.streamed);
    assert_eq!(
        done.error_type.as_deref(),
        Some("Runtime.InvalidResponseModeHeader")
    );
}

#[test]
fn past_the_size_limit_the_runtime_gets_413_and_the_stream_an_error() {
    let emu = Emulator::start(external().stream_limit(1000)).unwrap();
    let addr = emu.addr();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "application/octet-stream", "streaming");
        rt.chunk(&[b'a'; 600]);
        rt.chunk(&[b'b'; 600]);
        (id, rt.answer())
    });
    let done = emu.invoke_stream("{}").unwrap().finish(WAIT).unwrap();
    let (id, (status, body)) = function.join().unwrap();
    assert_eq!(status, 413);
    assert!(String::from_utf8_lossy(&body).contains("(1000 bytes)"));
    assert_eq!(done.chunks, [vec![b'a'; 600]]);
    assert_eq!(
        done.error_type.as_deref(),
        Some("Function.ResponseSizeTooLarge")
    );
    let record = response_call(&emu, &id).stream.unwrap();
    assert_eq!(record.end, StreamEnd::Oversized);
    assert_eq!(record.total, 1200);
}

#[test]
fn a_runtime_connection_dropped_mid_stream_truncates_the_stream() {
    let emu = Emulator::start(external()).unwrap();
    let addr = emu.addr();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "streaming");
        rt.chunk(b"abc");
        wait.recv().unwrap();
        rt.wire.drop_connection();
        id
    });
    let mut stream = emu.invoke_stream("{}").unwrap();
    assert_eq!(stream.next_chunk(WAIT).unwrap().unwrap(), b"abc");
    go_on.send(()).unwrap();
    let done = stream.finish(WAIT).unwrap();
    let id = function.join().unwrap();
    assert_eq!(
        done.error_type.as_deref(),
        Some("Runtime.TruncatedResponse")
    );
    assert!(emu.wait_until(WAIT, |emu| response_call(emu, &id).stream.is_some()));
    let record = response_call(&emu, &id).stream.unwrap();
    assert_eq!(record.end, StreamEnd::Truncated);
    assert_eq!(record.chunk_sizes, [3]);
}

#[test]
fn the_bandwidth_flag_leaves_a_stream_under_six_mib_intact() {
    let emu = Emulator::start(external().stream_bandwidth(true)).unwrap();
    let addr = emu.addr();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "application/octet-stream", "streaming");
        for _ in 0..16 {
            rt.chunk(&[7; 64 * 1024]);
        }
        rt.end(None).0
    });
    let done = emu.invoke_stream("{}").unwrap().finish(WAIT).unwrap();
    assert_eq!(function.join().unwrap(), 202);
    assert_eq!(done.body().len(), 16 * 64 * 1024);
    assert_eq!(done.error_type, None);
}

const HTTP_INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

fn front_door() -> Emulator {
    Emulator::start(external().http_front_door(0)).unwrap()
}

fn get(emu: &Emulator, target: &str) -> Wire {
    let mut client = Wire::open(emu.http_addr().unwrap());
    client.send(format!("GET {target} HTTP/1.1\r\nHost: door\r\n\r\n").as_bytes());
    client
}

#[test]
fn the_front_door_streams_an_http_integration_response() {
    let emu = front_door();
    let addr = emu.addr();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, event) = rt.next();
        let event: serde_json::Value = serde_json::from_slice(&event).unwrap();
        assert_eq!(event["rawPath"], "/feed");
        rt.begin(&id, HTTP_INTEGRATION, "streaming");
        // The prelude split over two chunks, the body's start in the second.
        rt.chunk(br#"{"statusCode":201,"headers":{"content-type":"text/plain","#);
        let mut rest =
            br#""x-multi":["1","2"],"content-length":"99"},"cookies":["a=1","b=2; Path=/"]}"#
                .to_vec();
        rest.extend_from_slice(&[0; 8]);
        rest.extend_from_slice(b"first ");
        rt.chunk(&rest);
        wait.recv().unwrap();
        rt.chunk(b"second");
        rt.end(None).0
    });
    let mut client = get(&emu, "/feed");
    let head = client.read_head();
    assert_eq!(head.status, 201);
    assert!(head.chunked(), "{head:?}");
    assert_eq!(head.header("content-type"), Some("text/plain"));
    assert_eq!(head.all("x-multi"), ["1", "2"]);
    assert_eq!(head.all("set-cookie"), ["a=1", "b=2; Path=/"]);
    assert_eq!(head.header("content-length"), None);
    assert!(head.header("x-amzn-requestid").is_some());
    assert_eq!(client.read_piece(), Piece::Data(b"first ".to_vec()));
    go_on.send(()).unwrap();
    assert_eq!(client.read_piece(), Piece::Data(b"second".to_vec()));
    assert_eq!(client.read_piece(), Piece::End(Vec::new()));
    assert_eq!(function.join().unwrap(), 202);
}

#[test]
fn the_front_door_streams_a_raw_stream_as_a_200_and_cuts_a_failed_one() {
    let emu = front_door();
    let addr = emu.addr();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/csv", "streaming");
        rt.chunk(b"a,b\n");
        wait.recv().unwrap();
        rt.chunk(b"1,2\n");
        assert_eq!(rt.end(None).0, 202);
        let (id, _) = rt.next();
        rt.begin(&id, HTTP_INTEGRATION, "streaming");
        rt.chunk(b"{\"statusCode\":200}\0\0\0\0\0\0\0\0begun");
        rt.end(Some(("Function.Broken", b"{}"))).0
    });
    let mut client = get(&emu, "/raw");
    let head = client.read_head();
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("text/csv"));
    assert_eq!(client.read_piece(), Piece::Data(b"a,b\n".to_vec()));
    go_on.send(()).unwrap();
    assert_eq!(client.read_piece(), Piece::Data(b"1,2\n".to_vec()));
    assert_eq!(client.read_piece(), Piece::End(Vec::new()));

    // A mid-stream error: the client's response ends without its last chunk.
    let mut client = get(&emu, "/broken");
    assert_eq!(client.read_head().status, 200);
    assert_eq!(client.read_piece(), Piece::Data(b"begun".to_vec()));
    assert_eq!(client.read_piece(), Piece::Cut);
    assert_eq!(function.join().unwrap(), 202);
}

#[test]
fn the_front_door_answers_502_for_a_stream_without_a_usable_prelude() {
    let emu = front_door();
    let addr = emu.addr();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        for prelude in [
            &b"not json\0\0\0\0\0\0\0\0body"[..],
            b"{\"statusCode\":200}",
        ] {
            let (id, _) = rt.next();
            rt.begin(&id, HTTP_INTEGRATION, "streaming");
            rt.chunk(prelude);
            assert_eq!(rt.end(None).0, 202);
        }
    });
    for _ in 0..2 {
        let (head, body, _) = get(&emu, "/").read_answer();
        assert_eq!(head.status, 502);
        assert_eq!(body, br#"{"message":"Internal Server Error"}"#);
    }
    function.join().unwrap();
}

#[test]
fn a_stream_holds_its_invocation_until_the_timeout_ends_it() {
    let emu = Emulator::start(Options::external().timeout(Duration::from_secs(2))).unwrap();
    let addr = emu.addr();
    let (id_tx, id_rx) = mpsc::channel::<String>();
    let (go_on, wait) = mpsc::channel::<()>();
    let function = thread::spawn(move || {
        let mut rt = Runtime::connect(addr);
        let (id, _) = rt.next();
        rt.begin(&id, "text/plain", "streaming");
        rt.chunk(b"x");
        id_tx.send(id.clone()).unwrap();
        wait.recv().unwrap();
        (id, rt.end(None))
    });
    let mut stream = emu.invoke_stream("{}").unwrap();
    assert_eq!(stream.next_chunk(WAIT).unwrap().unwrap(), b"x");
    // Another answer for the invocation while it streams is out of order.
    let id = id_rx.recv().unwrap();
    let mut other = Runtime::connect(addr);
    let body = br#"{"errorType":"Function.Late"}"#;
    let head = format!(
        "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nHost: rt\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    other.wire.send(head.as_bytes());
    other.wire.send(body);
    assert_eq!(other.answer().0, 403);
    // The timeout ends the stream; the runtime's late end is refused.
    let done = stream.finish(WAIT).unwrap();
    assert_eq!(done.error_type.as_deref(), Some("Sandbox.Timedout"));
    go_on.send(()).unwrap();
    let (id, (status, _)) = function.join().unwrap();
    assert_eq!(status, 400);
    let record = response_call(&emu, &id).stream.unwrap();
    assert_eq!(record.end, StreamEnd::Abandoned);
}
