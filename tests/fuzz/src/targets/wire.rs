//! `wire`: a Runtime API response, head and body (chunked, `Content-Length`, until close), read
//! the way a driver reads it: the head parsed as the buffer grows, 1xx heads skipped, the body
//! decoded piece by piece, then EOF.
//!
//! The first byte of the input picks how the rest is split into reads; the rest is the response.
//! Invariants: no panic; a decoder always makes progress or asks for more; decoded data lies
//! within what it consumed; the outcome is the same for any split (the input is read twice,
//! once in one piece and once in the chosen pieces).

use lambda_runtime_types::wire::{BodyDecoder, Framing, MAX_HEAD_BYTES, WireError, parse_head};

use crate::{Sig, Target};

/// The target.
pub const TARGET: Target = Target {
    name: "wire",
    about: "Runtime API response heads and bodies (wire::parse_head, wire::BodyDecoder)",
    run,
    builtin_seeds: seeds,
    dictionary: DICTIONARY,
    max_len: 4096,
};

/// Tokens of HTTP/1.1 response framing.
pub const DICTIONARY: &[&[u8]] = &[
    b"HTTP/1.1 ",
    b"HTTP/1.0 ",
    b"200 OK",
    b"100 Continue\r\n\r\n",
    b"\r\n",
    b"\r\n\r\n",
    b"Content-Length: ",
    b"content-length:",
    b"Transfer-Encoding: chunked\r\n",
    b"transfer-encoding: gzip, chunked\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive\r\n",
    b"0\r\n\r\n",
    b"0\r\nTrailer: x\r\n\r\n",
    b";ext=1",
    b"ffffffffffffffff",
    b"18446744073709551616",
    b"Lambda-Runtime-Aws-Request-Id: ",
    b"Lambda-Runtime-Deadline-Ms: ",
    b" \t",
];

fn seeds() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (splits, response) in [
        (0u8, &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"[..]),
        (1, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"),
        (
            2,
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;a=b\r\n{\r\n1\r\n}\r\n0\r\nX-T: 1\r\n\r\n",
        ),
        (3, b"HTTP/1.0 200 OK\r\n\r\nuntil close"),
        (4, b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 202 Accepted\r\nContent-Length: 16\r\n\r\n{\"status\":\"OK\"}\n"),
        (5, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"),
        (6, b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\nContent-Length: 56\r\n\r\n{\"errorMessage\":\"too large\",\"errorType\":\"RequestTooLarge\"}"),
        (7, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"),
    ] {
        let mut v = vec![splits];
        v.extend_from_slice(response);
        out.push(v);
    }
    out
}

/// What a read loop saw.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// The input ended inside the head.
    Incomplete,
    /// A whole response.
    Complete {
        status: u16,
        head_len: usize,
        framing: Framing,
        keep_alive: bool,
        body: Vec<u8>,
        /// Bytes after the body (the start of a next response on a kept-alive connection).
        rest: usize,
    },
}

/// How many bytes each read returns: fixed by the selector byte, never 0.
struct Reads {
    pattern: [usize; 4],
    at: usize,
}

impl Reads {
    fn new(selector: u8) -> Self {
        let sizes: [usize; 8] = [1, 2, 3, 7, 16, 64, 1000, usize::MAX];
        let s = usize::from(selector);
        Self {
            pattern: [
                sizes[s & 7],
                sizes[(s >> 3) & 7],
                sizes[(s >> 5) & 7],
                sizes[(s >> 2) & 7],
            ],
            at: 0,
        }
    }

    fn whole() -> Self {
        Self {
            pattern: [usize::MAX; 4],
            at: 0,
        }
    }

    fn next(&mut self) -> usize {
        self.at += 1;
        self.pattern[self.at % 4]
    }
}

fn read(input: &[u8], mut reads: Reads) -> Result<Outcome, WireError> {
    let mut avail = reads.next().min(input.len());
    let mut start = 0;
    // Interim 1xx heads are skipped: at most as many as the input could hold.
    let (status, framing, keep_alive, head_len) = 'head: loop {
        for _ in 0..=input.len() + 1 {
            match parse_head(&input[start..avail])? {
                Some((head, n)) => {
                    assert!(
                        n > 0 && n <= avail - start,
                        "head length {n} out of the buffer"
                    );
                    assert!(n <= MAX_HEAD_BYTES, "a head longer than MAX_HEAD_BYTES");
                    assert!((100..=599).contains(&head.status), "status {}", head.status);
                    let _ = head.headers().count();
                    if head.status < 200 {
                        start += n;
                        continue 'head;
                    }
                    break 'head (head.status, head.framing, head.keep_alive, start + n);
                }
                None if avail == input.len() => return Ok(Outcome::Incomplete),
                None => avail = avail.saturating_add(reads.next()).min(input.len()),
            }
        }
        panic!("parse_head never completes");
    };
    if matches!(status, 204 | 304) {
        assert_eq!(framing, Framing::Length(0), "a bodiless status with a body");
    }
    let mut decoder = BodyDecoder::new(framing);
    if let Framing::Length(n) = framing {
        assert_eq!(decoder.content_length(), Some(n));
    }
    let mut body = Vec::new();
    let mut at = head_len;
    for _ in 0..4 * input.len() + 16 {
        let window = &input[at..avail];
        let out = decoder.decode(window)?;
        assert!(out.consumed <= window.len(), "consumed past the window");
        assert!(out.data.len() <= out.consumed, "more data than consumed");
        if !out.data.is_empty() {
            let base = window.as_ptr() as usize;
            let data = out.data.as_ptr() as usize;
            assert!(
                data >= base && data + out.data.len() <= base + out.consumed,
                "data outside the consumed bytes"
            );
        }
        body.extend_from_slice(out.data);
        at += out.consumed;
        if decoder.is_done() {
            return Ok(Outcome::Complete {
                status,
                head_len,
                framing,
                keep_alive,
                body,
                rest: input.len() - at,
            });
        }
        if out.consumed == 0 {
            if avail == input.len() {
                decoder.eof()?;
                assert!(
                    framing == Framing::UntilClose,
                    "eof() accepted a {framing:?} body that was not done"
                );
                return Ok(Outcome::Complete {
                    status,
                    head_len,
                    framing,
                    keep_alive,
                    body,
                    rest: 0,
                });
            }
            avail = avail.saturating_add(reads.next()).min(input.len());
        }
    }
    panic!("the body decoder makes no progress");
}

/// Runs one input.
pub fn run(data: &[u8]) -> u64 {
    let Some((&selector, input)) = data.split_first() else {
        return 0;
    };
    let whole = read(input, Reads::whole());
    let split = read(input, Reads::new(selector));
    assert_eq!(
        whole, split,
        "the outcome depends on how the bytes were split"
    );
    let mut sig = Sig::new();
    match &whole {
        Ok(Outcome::Incomplete) => sig.add(1),
        Ok(Outcome::Complete {
            status,
            framing,
            keep_alive,
            body,
            rest,
            ..
        }) => sig
            .add(u64::from(*status / 100))
            .add_str(&format!("{framing:?}").chars().take(6).collect::<String>())
            .add(u64::from(*keep_alive))
            .add((body.len() as u64).min(4))
            .add(u64::from(*rest > 0)),
        Err(e) => sig.add_str(&format!("{e:?}")),
    };
    sig.get()
}
