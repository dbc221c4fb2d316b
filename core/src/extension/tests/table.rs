//! The table itself: illegal pairs, misuse, configuration, statuses, the rendered docs.

use std::format;
use std::string::{String, ToString};
use std::vec::Vec;

use super::*;

/// A harness in `phase`, with its request or step handed out.
fn reach(phase: Phase) -> Harness {
    let mut h = Harness::new(Options::external().subscribe(true));
    let drive: &[fn(&mut Harness)] = &[
        |h| h.registered(),
        |h| h.step(StepOutcome::Done).unwrap(),
        |h| h.status(200),
        |h| h.invoke(T0 + 5_000),
    ];
    h.drain();
    for go in drive {
        if h.m.phase() == phase {
            return h;
        }
        go(&mut h);
        h.drain();
    }
    match phase {
        Phase::Invoke => {}
        Phase::Shutdown | Phase::Report | Phase::Exit => {
            h.step(StepOutcome::Done).unwrap();
            h.drain();
            h.shutdown(T0 + 5_000);
            h.drain();
            if phase != Phase::Shutdown {
                h.step(StepOutcome::Failed).unwrap();
                h.drain();
            }
            if phase == Phase::Exit {
                h.status(202);
                h.drain();
            }
        }
        _ => unreachable!(),
    }
    assert_eq!(h.m.phase(), phase);
    h
}

#[test]
fn every_pair_not_in_the_table_is_refused_and_changes_nothing() {
    for phase in Phase::ALL {
        for input in InputKind::ALL {
            if is_legal(phase, input) || input == InputKind::TimerFired {
                continue;
            }
            let mut h = reach(phase);
            let now = h.now;
            let r = match input {
                InputKind::Response => h.m.handle_response(now, &ResponseHead::new(200), None),
                InputKind::TransportFailed => h.m.handle_transport_error(now),
                InputKind::StepDone => h.m.handle_step(now, StepOutcome::Done),
                InputKind::StepFailed => h.m.handle_step(now, StepOutcome::Failed),
                InputKind::TimerFired => unreachable!(),
            };
            assert_eq!(r, Err(Misuse::Illegal { phase, input }));
            assert_eq!(h.m.phase(), phase);
        }
    }
}

#[test]
fn inputs_without_a_request_or_step_in_flight_are_refused() {
    let mut h = Harness::new(Options::external());
    let now = h.now;
    let head = ResponseHead::new(200);
    assert_eq!(
        h.m.handle_response(now, &head, None),
        Err(Misuse::NothingInFlight)
    );
    assert_eq!(
        h.m.handle_transport_error(now),
        Err(Misuse::NothingInFlight)
    );
    h.drain();
    h.registered();
    assert_eq!(
        h.m.handle_step(now, StepOutcome::Done),
        Err(Misuse::NothingInFlight),
        "RunInit not handed out yet"
    );
    assert_eq!(h.m.phase(), Phase::Init);
    assert_eq!(h.m.id().map(ExtensionId::as_str), Some(ID));
}

#[test]
fn timers_are_idempotent_and_the_clock_never_goes_back() {
    let mut h = Harness::ready(Options::external());
    h.advance_to(T0 + 10);
    h.advance_to(T0 + 10);
    assert_eq!(h.drain(), [Act::Wait(None)], "spurious timeouts do nothing");
    h.now = EpochMillis(T0);
    h.invoke(T0 + 1_000);
    h.drain();
    h.advance_to(T0 + 5);
    assert_eq!(h.m.phase(), Phase::Invoke);
    // A deadline already passed (by the clamped clock) arms nothing.
    let mut h = Harness::ready(Options::external());
    h.advance_to(T0 + 500);
    h.now = EpochMillis(T0);
    h.invoke(T0 + 100);
    h.expect_one(Act::RunInvoke(None));
}

#[test]
fn internal_extensions_may_not_take_shutdown() {
    let name = ExtensionName::new("int").unwrap();
    for events in [Events::ALL, Events::SHUTDOWN] {
        let r = Machine::new(name.clone(), Options::internal().events(events));
        assert_eq!(r.unwrap_err(), ConfigError::InternalShutdown);
    }
    for events in [Events::NONE, Events::INVOKE] {
        assert!(Machine::new(name.clone(), Options::internal().events(events)).is_ok());
    }
    assert!(Machine::new(name, Options::external().events(Events::SHUTDOWN)).is_ok());
    assert_eq!(
        ConfigError::InternalShutdown.to_string(),
        "an internal extension may not register for SHUTDOWN"
    );
}

#[test]
fn status_meanings_and_exit_codes() {
    for status in 0..=u16::MAX {
        let a = answer(status);
        assert_eq!(a == Answer::Accepted, (200..300).contains(&status));
        assert_eq!(a == Answer::ServerError, status >= 500);
    }
    let request = RequestKind::Next;
    let codes = [
        (ExitReason::Shutdown, 0),
        (failed_reason(), 1),
        (
            ExitReason::ServerError {
                request,
                status: 500,
            },
            2,
        ),
        (
            ExitReason::Refused {
                request,
                status: 403,
            },
            3,
        ),
        (ExitReason::InvalidIdentifier, 3),
        (ExitReason::MalformedEvents, 3),
        (ExitReason::Unreachable { request }, 4),
    ];
    for (reason, code) in codes {
        assert_eq!(reason.code(), code, "{reason:?}");
        assert!(!reason.to_string().is_empty());
    }
}

#[cfg(feature = "alloc")]
#[test]
fn parsed_events_become_deliveries() {
    let head = ResponseHead::new(200);
    let body = br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":7}"#;
    let deadline = EpochMillis(7);
    let parsed = parse_event(&head, body);
    assert_eq!(
        Delivered::from_parsed(&parsed),
        Some(Delivered::Shutdown { deadline })
    );
    let parsed = parse_event(&head, br#"{"eventType":"X"}"#);
    assert_eq!(Delivered::from_parsed(&parsed), Some(Delivered::Unknown));
    let parsed = parse_event(&head, b"nope");
    assert_eq!(Delivered::from_parsed(&parsed), Some(Delivered::Malformed));
    let parsed = parse_event(&ResponseHead::new(500), b"");
    assert_eq!(Delivered::from_parsed(&parsed), None);
}

// --- the rendered table ----------------------------------------------------------------------

fn render() -> String {
    use core::fmt::Write as _;
    let mut md = String::new();
    md.push_str("<!-- Rendered from TRANSITIONS by a test in core/src/extension/tests/table.rs;\n");
    md.push_str("     `UPDATE_TRANSITIONS=1 cargo test -p lambda-runtime-types --lib rendered` ");
    md.push_str("rewrites it. -->\n\nWhere each phase can go (`input → phase`):\n\n```text\n");
    for from in Phase::ALL {
        let mut edges: Vec<String> = Vec::new();
        for t in TRANSITIONS.iter().filter(|t| t.from == from) {
            let edge = format!("{:?} → {:?}", t.input, t.to);
            if !edges.contains(&edge) {
                edges.push(edge);
            }
        }
        let edges = if edges.is_empty() {
            "(terminal)".to_string()
        } else {
            edges.join(", ")
        };
        let _ = writeln!(md, "{:<9} {edges}", format!("{from:?}"));
    }
    md.push_str("```\n\n| # | from | input | to | when |\n|---:|---|---|---|---|\n");
    for (i, t) in TRANSITIONS.iter().enumerate() {
        let _ = writeln!(
            md,
            "| {i} | `{:?}` | `{:?}` | `{:?}` | {} |",
            t.from, t.input, t.to, t.when
        );
    }
    md
}

#[test]
fn the_rendered_table_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/extension/transitions.md");
    let rendered = render();
    if std::env::var_os("UPDATE_TRANSITIONS").is_some() {
        std::fs::write(path, &rendered).unwrap();
    }
    assert!(
        include_str!("../transitions.md") == rendered,
        "{path} is stale: run `UPDATE_TRANSITIONS=1 cargo test -p lambda-runtime-types --lib \
         rendered` (twice: the first run writes it, the second compiles it in)"
    );
}
