//! Random input sequences and mutated bytes: the machine only ever takes rows of its table (its
//! `debug_assert`s check each change), every action is well-formed, and no parser panics.

use super::*;

/// xorshift64*: small, deterministic, good enough to pick inputs and mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn random_inputs_only_take_rows_of_the_table() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let statuses = [200, 202, 204, 400, 403, 404, 500, 503];
    for case in 0..2_000 {
        let options = match case % 3 {
            0 => Options::external(),
            1 => Options::external().subscribe(true),
            _ => Options::internal(),
        };
        let mut h = Harness::new(options);
        for _ in 0..60 {
            let acts = h.drain();
            // Never init/error once `event/next` was answered.
            if acts.iter().any(|a| matches!(a, Act::PostInitError(_))) {
                assert!(!h.m.initialized());
            }
            if matches!(acts.last(), Some(Act::Exit(_) | Act::GiveUp(_))) {
                break;
            }
            let now = h.now;
            let _ = match rng.below(6) {
                0 => {
                    let status = statuses[rng.below(statuses.len())];
                    let deadline = EpochMillis(T0 + rng.below(10_000) as u64);
                    let delivered = match rng.below(5) {
                        0 => Some(Delivered::Invoke { deadline }),
                        1 => Some(Delivered::Shutdown { deadline }),
                        2 => Some(Delivered::Unknown),
                        3 => Some(Delivered::Malformed),
                        _ => None,
                    };
                    let id = if rng.below(8) == 0 {
                        &b"bad id"[..]
                    } else {
                        ID.as_bytes()
                    };
                    let head =
                        ResponseHead::new(status).with_header("Lambda-Extension-Identifier", id);
                    h.m.handle_response(now, &head, delivered)
                }
                1 => h.m.handle_transport_error(now),
                2 => h.m.handle_step(now, StepOutcome::Done),
                3 => h.m.handle_step(now, StepOutcome::Failed),
                _ => {
                    h.now = now.saturating_add(rng.below(3_000) as u64);
                    h.m.handle_timeout(h.now);
                    Ok(())
                }
            };
            h.record();
        }
        assert!(
            h.rows
                .iter()
                .all(|row| TRANSITIONS.iter().any(|t| (t.from, t.input, t.to) == *row))
        );
    }
}

#[cfg(feature = "alloc")]
#[test]
fn mutated_bodies_never_panic_a_parser() {
    use std::vec::Vec;

    let seeds: [&[u8]; 5] = [
        br#"{"eventType":"INVOKE","deadlineMs":1,"requestId":"r","invokedFunctionArn":"f","tracing":{"type":"t","value":"v"}}"#,
        br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":2}"#,
        br#"{"functionName":"f","functionVersion":"1","handler":"h","accountId":"1"}"#,
        br#"[{"time":"t","type":"platform.report","record":{"requestId":"r","status":"success","metrics":{"durationMs":1.5,"billedDurationMs":2,"memorySizeMB":1,"maxMemoryUsedMB":1}}},{"time":"t","type":"function","record":"x"}]"#,
        br#"{"schemaVersion":"2025-01-29","destination":{"protocol":"HTTP","URI":"http://h:1"},"types":["platform"],"buffering":{"maxItems":1000}}"#,
    ];
    let mut rng = Rng(7);
    let head = ResponseHead::new(200).with_header("Lambda-Extension-Identifier", ID.as_bytes());
    let mut outcomes = [0usize; 2];
    for case in 0..20_000 {
        let mut bytes: Vec<u8> = seeds[case % seeds.len()].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 if at < bytes.len() => bytes[at] = b"{}[]\":,0-e.\\ax\xff"[rng.below(15)],
                1 => bytes.truncate(at),
                2 => bytes.insert(at, b"{}[]\":,1"[rng.below(8)]),
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        let ok = [
            parse_event(&head, &bytes).is_ok(),
            parse_register(&head, &bytes).is_ok(),
            telemetry::parse_batch(&bytes).is_ok(),
            serde_json::from_slice::<telemetry::Subscription>(&bytes).is_ok(),
            check_status(RequestKind::Next, &ResponseHead::new(403), &bytes).is_ok(),
        ];
        outcomes[usize::from(ok.iter().any(|&o| o))] += 1;
    }
    // The mutations reach both outcomes, so the test exercises more than the error paths.
    assert!(outcomes.iter().all(|&n| n > 1_000), "{outcomes:?}");
}
