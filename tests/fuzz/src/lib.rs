//! Fuzz targets for everything in `lambda-runtime-types` that parses network input, the lifecycle
//! machines driven by what they parse, and a mutation fuzzer to run them on stable Rust.
//!
//! Each [`Target`] takes arbitrary bytes and feeds them through one parser (and what consumes its
//! output), asserting the invariants the core states: nothing panics, every id that reaches a
//! request line was validated (the bytes the wire layer writes are checked, not the types), one
//! report per invocation, the same outcome however the bytes are split into reads. A target
//! returns a behaviour signature (a hash of the paths the input took, as far as the outcome
//! shows), which the fuzzer uses to keep inputs that did something new.
//!
//! - [`targets`]: the targets, listed in [`TARGETS`].
//! - [`fuzzer`]: the mutation engine and corpus (the `lambda-fuzz` binary drives it).
//! - [`alloc_count`]: a counting global allocator, so that a run can cap what one input may
//!   allocate.
//! - [`seeds`]: the starting corpus: captures checked in under `corpus/`, the repository's own
//!   fixtures and the `aws_lambda_events` crate's example events.
//!
//! The same target functions back the regression test that replays `regressions/`.

pub mod alloc_count;
pub mod check;
pub mod fuzzer;
pub mod seeds;
pub mod targets;

/// One fuzz target: a parser of network input and what it drives.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// The name used on the command line and as the corpus and regression folder name.
    pub name: &'static str,
    /// What the target feeds its input through.
    pub about: &'static str,
    /// Runs one input; panics on a broken invariant; returns the behaviour signature.
    pub run: fn(&[u8]) -> u64,
    /// Inputs built in code (well-formed examples and known edge cases), added to the corpus.
    pub builtin_seeds: fn() -> Vec<Vec<u8>>,
    /// Tokens the mutator splices in (header names, framing, JSON keys of the format).
    pub dictionary: &'static [&'static [u8]],
    /// The largest input the fuzzer generates for this target.
    pub max_len: usize,
}

/// Every target, in the order the fuzzer runs them.
pub const TARGETS: &[Target] = &[
    targets::wire::TARGET,
    targets::next::TARGET,
    targets::context_json::TARGET,
    targets::lifecycle::TARGET,
    targets::http_event::TARGET,
    targets::extension::TARGET,
    targets::telemetry::TARGET,
];

/// The target named `name`.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}

/// Whether `LAMBDA_FUZZ_TRACE` is set: the stateful targets then print what they do (for
/// reading a saved input's story with `lambda-fuzz replay`).
pub fn tracing() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("LAMBDA_FUZZ_TRACE").is_some())
}

/// A small FNV-1a hasher for behaviour signatures.
#[derive(Clone, Copy, Debug)]
pub struct Sig(u64);

impl Sig {
    /// An empty signature.
    pub const fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }

    /// Mixes `v` in.
    pub fn add(&mut self, v: u64) -> &mut Self {
        for b in v.to_le_bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self
    }

    /// Mixes a string in (for error names and phases rendered with `Debug`).
    pub fn add_str(&mut self, s: &str) -> &mut Self {
        for b in s.bytes() {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
        self.add(s.len() as u64)
    }

    /// The signature.
    pub const fn get(&self) -> u64 {
        self.0
    }
}

impl Default for Sig {
    fn default() -> Self {
        Self::new()
    }
}
