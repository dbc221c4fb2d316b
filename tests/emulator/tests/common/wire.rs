//! The streaming suite's wire: a hand-written runtime speaking the Runtime API over one
//! keep-alive std `TcpStream` (`/next`, then a chunked `/response` with real trailers), and
//! an HTTP reader that hands a chunked answer over chunk by chunk.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use base64::Engine as _;

use super::WAIT;

/// One HTTP/1.1 connection: write raw bytes, read answers piece by piece.
pub struct Wire {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

/// The head of an answer.
#[derive(Debug)]
pub struct Head {
    pub status: u16,
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.all(name).first().copied()
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
    }
}

/// One piece of a chunked body.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Data(Vec<u8>),
    /// The last chunk, with the trailers (lowercase names).
    End(Vec<(String, String)>),
    /// The connection closed before the last chunk.
    Cut,
}

impl Wire {
    pub fn open(addr: SocketAddr) -> Self {
        let writer = TcpStream::connect(addr).unwrap();
        writer.set_read_timeout(Some(WAIT)).unwrap();
        writer.set_nodelay(true).unwrap();
        let reader = BufReader::new(writer.try_clone().unwrap());
        Wire { reader, writer }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).unwrap();
        self.writer.flush().unwrap();
    }

    /// Close the connection in both directions (a runtime that dies mid-stream).
    pub fn drop_connection(self) {
        let _ = self.writer.shutdown(Shutdown::Both);
    }

    pub fn read_head(&mut self) -> Head {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        let status = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_else(|| panic!("no status line: {line:?}"))
            .parse()
            .unwrap();
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let trimmed = line.trim_end();
            if trimmed.is_empty() {
                break;
            }
            let (name, value) = trimmed.split_once(':').unwrap();
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        Head { status, headers }
    }

    /// The next chunk of a chunked body.
    pub fn read_piece(&mut self) -> Piece {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) | Err(_) => return Piece::Cut,
            Ok(_) => {}
        }
        let Ok(size) = usize::from_str_radix(line.trim(), 16) else {
            return Piece::Cut;
        };
        if size == 0 {
            let mut trailers = Vec::new();
            loop {
                line.clear();
                if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return Piece::Cut;
                }
                let trimmed = line.trim_end();
                if trimmed.is_empty() {
                    return Piece::End(trailers);
                }
                let (name, value) = trimmed.split_once(':').unwrap();
                trailers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut chunk = vec![0; size + 2];
        if self.reader.read_exact(&mut chunk).is_err() {
            return Piece::Cut;
        }
        chunk.truncate(size);
        Piece::Data(chunk)
    }

    /// A whole answer: its head and body (by `Content-Length` or chunked; the trailers of a
    /// chunked one too).
    pub fn read_answer(&mut self) -> (Head, Vec<u8>, Vec<(String, String)>) {
        let head = self.read_head();
        let mut body = Vec::new();
        let mut trailers = Vec::new();
        if head.chunked() {
            loop {
                match self.read_piece() {
                    Piece::Data(data) => body.extend(data),
                    Piece::End(t) => {
                        trailers = t;
                        break;
                    }
                    Piece::Cut => panic!("cut after {body:?}"),
                }
            }
        } else if let Some(length) = head.header("content-length") {
            body.resize(length.parse().unwrap(), 0);
            self.reader.read_exact(&mut body).unwrap();
        }
        (head, body, trailers)
    }
}

/// The function side, played by the test: the Runtime API over one connection.
pub struct Runtime {
    pub wire: Wire,
}

impl Runtime {
    pub fn connect(addr: SocketAddr) -> Self {
        Runtime {
            wire: Wire::open(addr),
        }
    }

    /// `GET /next`: the request id and the event.
    pub fn next(&mut self) -> (String, Vec<u8>) {
        self.wire
            .send(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: rt\r\n\r\n");
        let (head, body, _) = self.wire.read_answer();
        assert_eq!(head.status, 200);
        let id = head.header("lambda-runtime-aws-request-id").unwrap();
        (id.to_owned(), body)
    }

    /// The head of a streamed `/response`, as the runtime of this repository sends it.
    pub fn begin(&mut self, id: &str, content_type: &str, mode: &str) {
        let head = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: rt\r\n\
             Content-Type: {content_type}\r\n\
             Lambda-Runtime-Function-Response-Mode: {mode}\r\n\
             Transfer-Encoding: chunked\r\n\
             Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n"
        );
        self.wire.send(head.as_bytes());
    }

    pub fn chunk(&mut self, bytes: &[u8]) {
        let mut out = format!("{:x}\r\n", bytes.len()).into_bytes();
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
        self.wire.send(&out);
    }

    /// The last chunk, without trailers or with a mid-stream error; the emulator's answer.
    pub fn end(&mut self, error: Option<(&str, &[u8])>) -> (u16, Vec<u8>) {
        let mut out = String::from("0\r\n");
        if let Some((error_type, body)) = error {
            let b64 = base64::engine::general_purpose::STANDARD.encode(body);
            out.push_str(&format!(
                "Lambda-Runtime-Function-Error-Type: {error_type}\r\n\
                 Lambda-Runtime-Function-Error-Body: {b64}\r\n"
            ));
        }
        out.push_str("\r\n");
        self.wire.send(out.as_bytes());
        self.answer()
    }

    /// Read the emulator's answer to the `/response`.
    pub fn answer(&mut self) -> (u16, Vec<u8>) {
        let (head, body, _) = self.wire.read_answer();
        (head.status, body)
    }

    /// A buffered `/response` with `Content-Length`.
    pub fn respond(&mut self, id: &str, content_type: &str, body: &[u8]) -> u16 {
        let mut out = format!(
            "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: rt\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        out.extend_from_slice(body);
        self.wire.send(&out);
        self.answer().0
    }
}
