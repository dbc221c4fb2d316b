//! Replays every saved input through its target: the failures the fuzzer found
//! (`regressions/<target>/`, each kept after its fix) and the checked-in corpus
//! (`corpus/<target>/`), under the counting allocator and its cap. Then a short fuzz run per
//! target from a fixed seed, so that the mutation engine itself is exercised by `cargo test`.

use lambda_runtime_fuzz::alloc_count::{CountingAlloc, measure};
use lambda_runtime_fuzz::fuzzer::{self, Campaign, Rng};
use lambda_runtime_fuzz::{TARGETS, seeds};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn replay(folder: &str) -> usize {
    let mut ran = 0;
    let mut failures = Vec::new();
    for target in TARGETS {
        let dir = seeds::crate_dir().join(folder).join(target.name);
        for file in seeds::files_in(&dir) {
            let input = std::fs::read(&file).expect("readable");
            ran += 1;
            if let Err(message) = fuzzer::run_one(target, &input) {
                failures.push(format!("{}: {message}", file.display()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    ran
}

#[test]
fn regressions_and_corpus_replay_clean() {
    fuzzer::quiet_panics();
    let regressions = replay("regressions");
    let corpus = replay("corpus");
    eprintln!("replayed {regressions} regressions and {corpus} corpus inputs");
    // The checked-in captures are there: every target but the generated-only ones has some.
    assert!(corpus >= 5, "only {corpus} corpus inputs");
    assert!(regressions >= 1, "the regression folder is empty");
}

#[test]
fn the_counting_allocator_counts() {
    let (v, usage) = measure(|| vec![0u8; 100_000]);
    assert_eq!(v.len(), 100_000);
    assert!(usage.peak >= 100_000 && usage.total >= 100_000 && usage.count >= 1);
    let (_, none) = measure(|| 1 + 1);
    assert_eq!(none.peak, 0);
}

#[test]
fn the_invariants_catch_what_they_state() {
    fuzzer::quiet_panics();
    // A request id the oracle refuses never becomes an invocation: the `next` target would
    // fail if it did. Here the oracle itself is checked on the ids that matter.
    use lambda_runtime_fuzz::check::is_valid_id;
    for bad in [
        &b"../x"[..],
        b"a/b",
        b"a%2Fb",
        b"",
        b"a b",
        b"..",
        b"a\r\nb",
    ] {
        assert!(!is_valid_id(bad), "{bad:?}");
    }
    for good in [
        &b"8476a536-e9f4-11e8-9739-2dfe598c3fcd"[..],
        b"a.b",
        b"a:b_c",
    ] {
        assert!(is_valid_id(good), "{good:?}");
    }
    // A head whose request line names another path is refused by the request-head check.
    let target = lambda_runtime_fuzz::check::check_request_head;
    let head = b"POST /2018-06-01/runtime/invocation/a/b/response HTTP/1.1\r\nHost: h\r\n\r\n";
    let caught = std::panic::catch_unwind(|| {
        target(head, "POST", "/2018-06-01/runtime/invocation/a/response")
    });
    assert!(caught.is_err());
}

#[test]
fn a_short_fuzz_run_per_target_finds_nothing() {
    fuzzer::quiet_panics();
    let mut rng = Rng::new(7);
    for target in TARGETS {
        let mut c = Campaign::new(target, seeds::load(target));
        c.step(&mut rng, 2_000);
        let failures: Vec<_> = c
            .failures
            .iter()
            .map(|f| {
                format!(
                    "{}: {} ({:?})",
                    f.target,
                    f.message,
                    String::from_utf8_lossy(&f.input)
                )
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(
            c.signatures.len() > 1,
            "{} saw one behaviour only",
            target.name
        );
    }
}
