//! The emulator with a minimal Rust function (`lambda-emulator-echo`: blocking TCP, one
//! keep-alive connection per worker).

use lambda_emulator::{Emulator, Endpoint, Options, Outcome};

const ECHO: &str = env!("CARGO_BIN_EXE_lambda-emulator-echo");

#[test]
fn many_invocations_over_one_keep_alive_connection() {
    let emu = Emulator::start(Options::new([ECHO])).unwrap();
    for i in 0..200 {
        let event = format!(r#"{{"i":{i}}}"#);
        let result = emu.invoke(event.as_str()).unwrap();
        assert_eq!(result.outcome, Outcome::Response);
        assert_eq!(result.body, event.as_bytes());
    }
    let calls = emu.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.endpoint == Endpoint::Response)
            .count(),
        200
    );
    assert!(calls.iter().all(|c| c.connection == calls[0].connection));
    assert!(
        calls
            .iter()
            .all(|c| c.status.is_none_or(|s| s == 200 || s == 202))
    );
}

#[test]
fn concurrent_invocations_from_threads() {
    let emu = Emulator::start(
        Options::new([ECHO])
            .concurrency(4)
            .runtime_api_prefix("/.rt/echo"),
    )
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..4 {
            let emu = &emu;
            s.spawn(move || {
                for i in 0..50 {
                    let event = format!(r#"{{"t":{t},"i":{i}}}"#);
                    let result = emu.invoke(event.as_str()).unwrap();
                    assert_eq!(result.body, event.as_bytes());
                }
            });
        }
    });
    let connections: std::collections::BTreeSet<u64> =
        emu.calls().iter().map(|c| c.connection).collect();
    // Keep-alive: never more connections than workers (which of the 4 got work varies).
    assert!(
        !connections.is_empty() && connections.len() <= 4,
        "{connections:?}"
    );
    assert!(
        emu.calls()
            .iter()
            .all(|c| c.path.starts_with("/.rt/echo/2018-06-01/"))
    );
}
