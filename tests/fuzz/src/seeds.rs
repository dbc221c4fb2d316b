//! The starting corpus of each target.
//!
//! - `corpus/<target>/`: captures checked in with this crate (the `/next` heads the emulator and
//!   cargo-lambda send, as they came off the socket; answers to posts; Extensions and Telemetry
//!   API bodies).
//! - The repository's own fixtures: the HTTP events in `core/tests/fixtures/http` and
//!   `tests/bench/http/fixtures`, the example events in `examples/events` and the seed test data
//!   in `core/tests/data`.
//! - The example events the `aws_lambda_events` crate ships (`src/fixtures/*.json` of its
//!   newest version in Cargo's registry, where there is one): every origin of HTTP events and
//!   many events that are not HTTP at all, Cognito documents among them.
//! - Each target's [`builtin_seeds`](crate::Target::builtin_seeds).
//!
//! Inputs of the `wire` target start with a byte that chooses the read sizes, and `telemetry`
//! inputs with a mode byte: seeds taken from files get that byte prepended.

use std::fs;
use std::path::{Path, PathBuf};

use crate::Target;

/// This crate's folder.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository's root.
pub fn repo_dir() -> PathBuf {
    crate_dir().join("../..")
}

/// The files directly in `dir` (sorted; none if it does not exist).
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn read_all(dirs: &[PathBuf], ext: Option<&str>) -> Vec<Vec<u8>> {
    dirs.iter()
        .flat_map(|d| files_in(d))
        .filter(|p| ext.is_none_or(|e| p.extension().is_some_and(|x| x == e)))
        .filter_map(|p| fs::read(p).ok())
        .collect()
}

/// The `src/fixtures` folder of the newest `aws_lambda_events` in Cargo's registry, if any.
pub fn aws_lambda_events_fixtures() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))?;
    let mut found: Vec<(Vec<u64>, PathBuf)> = Vec::new();
    for index in fs::read_dir(home.join("registry/src")).ok()?.flatten() {
        for krate in fs::read_dir(index.path()).into_iter().flatten().flatten() {
            let name = krate.file_name().to_string_lossy().into_owned();
            if let Some(version) = name.strip_prefix("aws_lambda_events-") {
                let fixtures = krate.path().join("src/fixtures");
                if fixtures.is_dir() {
                    let key = version
                        .split(['.', '-'])
                        .map(|p| p.parse().unwrap_or(0))
                        .collect();
                    found.push((key, fixtures));
                }
            }
        }
    }
    found.sort();
    found.pop().map(|(_, p)| p)
}

/// The seeds of `target`, from every source above.
pub fn load(target: &Target) -> Vec<Vec<u8>> {
    let repo = repo_dir();
    let own = crate_dir().join("corpus").join(target.name);
    let mut out = read_all(std::slice::from_ref(&own), None);
    let events = aws_lambda_events_fixtures();
    let json_files = |with_aws: bool| {
        let mut dirs = vec![
            repo.join("core/tests/fixtures/http"),
            repo.join("tests/bench/http/fixtures"),
            repo.join("examples/events"),
            repo.join("core/tests/data"),
        ];
        if with_aws && let Some(e) = &events {
            dirs.push(e.clone());
        }
        read_all(&dirs, Some("json"))
    };
    match target.name {
        "http-event" => out.extend(json_files(true)),
        "context-json" => {
            // Documents of the client-context and Cognito shapes and JSON of every other kind.
            out.extend(
                json_files(true)
                    .into_iter()
                    .filter(|j| j.len() <= target.max_len),
            );
        }
        "telemetry" => {
            // Bare bodies (mode 0): a few JSON arrays and objects from the fixtures.
            out.extend(
                json_files(false)
                    .into_iter()
                    .filter(|j| j.len() <= target.max_len)
                    .map(|j| [&[0u8][..], &j].concat()),
            );
        }
        "wire" => {
            // The captured heads of the `next` target, read in pieces.
            let next = crate_dir().join("corpus/next");
            out.extend(
                read_all(&[next], None)
                    .into_iter()
                    .enumerate()
                    .map(|(i, h)| [&[i as u8 * 37][..], &h].concat()),
            );
        }
        _ => {}
    }
    out.extend((target.builtin_seeds)());
    out
}
