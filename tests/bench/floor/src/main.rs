//! The benchmark's floor: the least a Lambda function can do. Blocking `std::net`, one
//! keep-alive connection, a minimal HTTP/1.1 exchange with reused buffers, no framework, no async.
//!
//! ```text
//! floor-echo           # echoes each event's bytes unchanged
//! floor-echo --json    # parses each event into serde_json::Value and serialises it back
//! ```
//!
//! It reads `AWS_LAMBDA_RUNTIME_API` (`host:port`, optionally `http://` in front). It handles only
//! what the benchmark's load generator sends (`Content-Length` bodies); any surprise ends the
//! process with an error. It is a measuring stick, not a runtime: it reports no errors to the API.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let json = std::env::args().skip(1).any(|a| a == "--json");
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("floor-echo: AWS_LAMBDA_RUNTIME_API is not set");
        return ExitCode::from(2);
    };
    let host = api
        .strip_prefix("http://")
        .unwrap_or(&api)
        .trim_end_matches('/');
    match serve(host, json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("floor-echo: {err}");
            ExitCode::FAILURE
        }
    }
}

/// One keep-alive connection: `GET /next`, echo, `POST /response`, forever.
fn serve(host: &str, json: bool) -> io::Result<()> {
    let mut stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    let next = format!("GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: {host}\r\n\r\n");
    let mut conn = Conn::new();
    let mut request = Vec::with_capacity(64 * 1024);
    let mut reserialised = Vec::new();
    loop {
        stream.write_all(next.as_bytes())?;
        let (head, len) = conn.read_message(&mut stream)?;
        let headers = &conn.buf[conn.start..conn.start + head];
        if !headers.starts_with(b"HTTP/1.1 200") {
            return Err(io::Error::other("/next did not answer 200"));
        }
        let id = header(headers, b"lambda-runtime-aws-request-id")
            .ok_or_else(|| io::Error::other("no request id"))?;
        let body = &conn.buf[conn.start + head..conn.start + head + len];
        let body = if json {
            let value: serde_json::Value =
                serde_json::from_slice(body).map_err(io::Error::other)?;
            reserialised.clear();
            serde_json::to_writer(&mut reserialised, &value).map_err(io::Error::other)?;
            &reserialised[..]
        } else {
            body
        };
        request.clear();
        request.extend_from_slice(b"POST /2018-06-01/runtime/invocation/");
        request.extend_from_slice(id);
        request.extend_from_slice(b"/response HTTP/1.1\r\nHost: ");
        request.extend_from_slice(host.as_bytes());
        write!(request, "\r\nContent-Length: {}\r\n\r\n", body.len())?;
        if body.len() <= 64 * 1024 {
            request.extend_from_slice(body);
            stream.write_all(&request)?;
        } else {
            stream.write_all(&request)?;
            stream.write_all(body)?;
        }
        conn.consume(head + len);
        let (head, len) = conn.read_message(&mut stream)?;
        if !conn.buf[conn.start..].starts_with(b"HTTP/1.1 202") {
            return Err(io::Error::other("/response did not answer 202"));
        }
        conn.consume(head + len);
    }
}

/// A read buffer: unread bytes are `buf[start..end]`.
struct Conn {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl Conn {
    fn new() -> Self {
        Self {
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
        }
    }

    /// Reads one whole response; returns (head length incl. the blank line, body length).
    fn read_message(&mut self, stream: &mut TcpStream) -> io::Result<(usize, usize)> {
        let mut scanned = 0;
        let head = loop {
            let unread = &self.buf[self.start..self.end];
            if let Some(at) = find_blank_line(unread, scanned) {
                break at + 4;
            }
            scanned = unread.len().saturating_sub(3);
            self.fill(stream, 0)?;
        };
        let len = header(&self.buf[self.start..self.start + head], b"content-length")
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .unwrap_or(0);
        while self.end - self.start < head + len {
            self.fill(stream, head + len)?;
        }
        Ok((head, len))
    }

    /// Reads more bytes, making room for a message of `want` bytes from `start`.
    fn fill(&mut self, stream: &mut TcpStream, want: usize) -> io::Result<()> {
        if self.end == self.buf.len() || self.start + want > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            if self.end == self.buf.len() || want > self.buf.len() {
                let grown = want.max(self.buf.len() * 2);
                self.buf.resize(grown, 0);
            }
        }
        match stream.read(&mut self.buf[self.end..])? {
            0 => Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                self.end += n;
                Ok(())
            }
        }
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }
}

/// Where `\r\n\r\n` starts in `buf`, searching from `from`.
fn find_blank_line(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + from)
}

/// The value of header `name` (lower case) in a message head, trimmed.
fn header<'h>(head: &'h [u8], name: &[u8]) -> Option<&'h [u8]> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon]
            .eq_ignore_ascii_case(name)
            .then(|| line[colon + 1..].trim_ascii())
    })
}
