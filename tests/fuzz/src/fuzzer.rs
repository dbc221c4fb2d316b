//! The mutation engine: a corpus per target, inputs mutated from it (bit and byte edits,
//! insertions and deletions, dictionary tokens, numbers, splices), and the behaviour signature
//! as feedback: an input whose signature was not seen before joins the corpus.
//!
//! Every input runs under [`catch_unwind`](std::panic::catch_unwind) and [`measure`]: a panic
//! (a target's broken invariant or the core's own) or an allocation over the cap is a
//! [`Failure`], kept with the input that caused it.

use std::collections::HashSet;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Target;
use crate::alloc_count::{Usage, measure};

/// The most bytes one input may have live at once: a fixed allowance plus a multiple of its
/// length. Everything the parsers keep is proportional to what they read; a length or count
/// taken from the input and allocated up front is what this catches.
pub fn alloc_cap(input_len: usize) -> usize {
    (4 << 20) + 64 * input_len
}

/// The most inputs a target's corpus keeps.
pub const MAX_CORPUS: usize = 8192;

/// xorshift64*: small, deterministic, fast.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True once in `n` times.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
}

const INTERESTING_BYTES: &[u8] = b"\x00\x01\x7f\x80\xff\r\n \t\"{}[]:,;=/%.-_0189afAF\\";

const INTERESTING_NUMBERS: &[&[u8]] = &[
    b"0",
    b"-1",
    b"1",
    b"127",
    b"128",
    b"255",
    b"256",
    b"65535",
    b"65536",
    b"4294967295",
    b"4294967296",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999999",
    b"6291556",
    b"6291557",
    b"1e309",
    b"0x10",
];

/// One mutation of `input`, using the rest of the corpus for splices and `dictionary` for
/// tokens; the result is at most `max_len` bytes.
pub fn mutate(
    rng: &mut Rng,
    input: &[u8],
    corpus: &[Vec<u8>],
    dictionary: &[&[u8]],
    max_len: usize,
) -> Vec<u8> {
    let mut out = input.to_vec();
    if rng.one_in(200) {
        // Now and then, noise of its own.
        let n = rng.below(max_len.min(256) + 1);
        return (0..n).map(|_| rng.next_u64() as u8).collect();
    }
    let most = if rng.one_in(4) { 16 } else { 4 };
    let rounds = 1 + rng.below(most);
    for _ in 0..rounds {
        let len = out.len();
        let at = rng.below(len + 1);
        match rng.below(15) {
            0 if len > 0 => {
                let i = rng.below(len);
                out[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                out[i] = rng.next_u64() as u8;
            }
            2 if len > 0 => {
                let i = rng.below(len);
                out[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            }
            3 => {
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n)
                    .map(|_| {
                        if rng.one_in(2) {
                            INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())]
                        } else {
                            rng.next_u64() as u8
                        }
                    })
                    .collect();
                out.splice(at..at, bytes);
            }
            4 if len > 0 => {
                let most = if rng.one_in(8) { len } else { 16 };
                let end = (at + 1 + rng.below(most)).min(len);
                out.drain(at.min(end)..end);
            }
            5 if len > 0 => {
                // Duplicate a range (repeated headers, nested JSON).
                let start = rng.below(len);
                let end = (start + 1 + rng.below(64)).min(len);
                let piece = out[start..end].to_vec();
                let times = if rng.one_in(8) { 1 + rng.below(32) } else { 1 };
                for _ in 0..times {
                    out.splice(at..at, piece.iter().copied());
                }
            }
            6 | 7 if !dictionary.is_empty() => {
                let token = dictionary[rng.below(dictionary.len())];
                out.splice(at..at, token.iter().copied());
            }
            8 if !dictionary.is_empty() && len > 0 => {
                let token = dictionary[rng.below(dictionary.len())];
                let end = (at + token.len()).min(len);
                out.splice(at.min(end)..end, token.iter().copied());
            }
            9 => {
                // Replace the run of digits at or after `at` with an interesting number.
                let number = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
                match out[at.min(len)..].iter().position(u8::is_ascii_digit) {
                    Some(p) => {
                        let start = at + p;
                        let end = out[start..]
                            .iter()
                            .position(|b| !b.is_ascii_digit())
                            .map_or(out.len(), |q| start + q);
                        out.splice(start..end, number.iter().copied());
                    }
                    None => {
                        out.splice(at..at, number.iter().copied());
                    }
                }
            }
            10 if !corpus.is_empty() => {
                // Splice: our head, another entry's tail.
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            11 if !corpus.is_empty() => {
                // Insert a piece of another entry.
                let other = &corpus[rng.below(corpus.len())];
                if !other.is_empty() {
                    let start = rng.below(other.len());
                    let end = (start + 1 + rng.below(128)).min(other.len());
                    out.splice(at..at, other[start..end].iter().copied());
                }
            }
            12 if len > 0 => out.truncate(at),
            13 if len > 0 => {
                // Flip the case of a run of ASCII letters (header names).
                for b in out[at.min(len - 1)..].iter_mut().take(1 + rng.below(24)) {
                    if b.is_ascii_alphabetic() {
                        *b ^= 0x20;
                    }
                }
            }
            _ if len > 1 => {
                // Swap two bytes.
                let (i, j) = (rng.below(len), rng.below(len));
                out.swap(i, j);
            }
            _ => out.push(rng.next_u64() as u8),
        }
    }
    out.truncate(max_len);
    out
}

/// A broken invariant, a panic or an allocation over the cap, with the input.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The target's name.
    pub target: &'static str,
    /// What went wrong: the panic's message and location, or the allocation.
    pub message: String,
    /// The input.
    pub input: Vec<u8>,
}

static PANIC_MESSAGE: Mutex<Option<String>> = Mutex::new(None);

/// Installs a panic hook that keeps the message (with its location) for [`run_one`] instead of
/// printing it. Call once, before fuzzing.
pub fn quiet_panics() {
    panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "a panic without a message".to_string()
        };
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        if let Ok(mut slot) = PANIC_MESSAGE.lock() {
            *slot = Some(format!("{msg} (at {at})"));
        }
    }));
}

/// Runs one input through `target`: its signature and what it allocated, or what went wrong.
pub fn run_one(target: &Target, input: &[u8]) -> Result<(u64, Usage), String> {
    let result = panic::catch_unwind(AssertUnwindSafe(|| measure(|| (target.run)(input))));
    match result {
        Ok((sig, usage)) => {
            if usage.peak > alloc_cap(input.len()) {
                Err(format!(
                    "{} bytes live at once for a {}-byte input (cap {})",
                    usage.peak,
                    input.len(),
                    alloc_cap(input.len())
                ))
            } else {
                Ok((sig, usage))
            }
        }
        Err(payload) => {
            let kept = PANIC_MESSAGE.lock().ok().and_then(|mut m| m.take());
            Err(kept.unwrap_or_else(|| {
                payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
                    .unwrap_or_else(|| "panic".to_string())
            }))
        }
    }
}

/// One target's corpus and counters.
#[derive(Debug)]
pub struct Campaign {
    /// The target.
    pub target: &'static Target,
    /// The inputs kept: the seeds, then every input with a new signature.
    pub corpus: Vec<Vec<u8>>,
    /// The signatures seen.
    pub signatures: HashSet<u64>,
    /// Inputs run.
    pub inputs: u64,
    /// Time spent running them (mutation included).
    pub busy: Duration,
    /// The most bytes one input had live at once, and that input's length.
    pub peak_alloc: (usize, usize),
    /// The failures found (at most a few per distinct message).
    pub failures: Vec<Failure>,
    seeds: usize,
}

impl Campaign {
    /// A campaign on `target` starting from `seeds` (each run once; failing seeds are failures).
    pub fn new(target: &'static Target, seeds: Vec<Vec<u8>>) -> Self {
        let mut c = Self {
            target,
            corpus: Vec::new(),
            signatures: HashSet::new(),
            inputs: 0,
            busy: Duration::ZERO,
            peak_alloc: (0, 0),
            failures: Vec::new(),
            seeds: 0,
        };
        let start = Instant::now();
        for seed in seeds {
            let seed: Vec<u8> = seed.into_iter().take(target.max_len).collect();
            c.run(seed, true);
        }
        c.busy += start.elapsed();
        c.seeds = c.corpus.len();
        c
    }

    /// How many inputs of the corpus came from the seeds.
    pub fn seeds(&self) -> usize {
        self.seeds
    }

    fn run(&mut self, input: Vec<u8>, seed: bool) {
        self.inputs += 1;
        match run_one(self.target, &input) {
            Ok((sig, usage)) => {
                if usage.peak > self.peak_alloc.0 {
                    self.peak_alloc = (usage.peak, input.len());
                }
                if self.signatures.insert(sig) || (seed && self.corpus.len() < MAX_CORPUS) {
                    if self.corpus.len() < MAX_CORPUS {
                        self.corpus.push(input);
                    } else {
                        let i = (sig as usize) % self.corpus.len();
                        self.corpus[i] = input;
                    }
                }
            }
            Err(message) => {
                let same = self
                    .failures
                    .iter()
                    .filter(|f| first_line(&f.message) == first_line(&message))
                    .count();
                if same < 3 {
                    self.failures.push(Failure {
                        target: self.target.name,
                        message,
                        input,
                    });
                }
            }
        }
    }

    /// Runs `n` mutated inputs.
    pub fn step(&mut self, rng: &mut Rng, n: u64) {
        let start = Instant::now();
        for _ in 0..n {
            let input = if self.corpus.is_empty() {
                mutate(rng, &[], &[], self.target.dictionary, self.target.max_len)
            } else {
                // Favour recent finds a little: half the time from the newest quarter.
                let len = self.corpus.len();
                let i = if rng.one_in(2) {
                    len - 1 - rng.below(len.div_ceil(4))
                } else {
                    rng.below(len)
                };
                mutate(
                    rng,
                    &self.corpus[i],
                    &self.corpus,
                    self.target.dictionary,
                    self.target.max_len,
                )
            };
            self.run(input, false);
        }
        self.busy += start.elapsed();
    }
}

fn first_line(s: &str) -> &str {
    s.split(" (at ").next().unwrap_or(s)
}

/// A short stable name for an input: 16 hex digits of its FNV-1a hash.
pub fn input_name(input: &[u8]) -> String {
    let mut sig = crate::Sig::new();
    for chunk in input.chunks(8) {
        let mut b = [0u8; 8];
        b[..chunk.len()].copy_from_slice(chunk);
        sig.add(u64::from_le_bytes(b));
    }
    sig.add(input.len() as u64);
    format!("{:016x}", sig.get())
}
