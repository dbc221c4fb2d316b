//! A minimal Lambda function for measuring and testing the emulator without our runtime:
//! blocking `std::net` TCP, one keep-alive connection per worker, echoes every event back.
//!
//! It reads `AWS_LAMBDA_RUNTIME_API` (`host:port` or `http://host:port/prefix`) and runs
//! `AWS_LAMBDA_MAX_CONCURRENCY` workers (default 1). It is a test fixture: its HTTP handling
//! is the bare minimum (`Content-Length` bodies only) and any surprise ends the process.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("echo: AWS_LAMBDA_RUNTIME_API is not set");
        return ExitCode::from(2);
    };
    let api = api.strip_prefix("http://").unwrap_or(&api).to_owned();
    let (host, prefix) = match api.split_once('/') {
        Some((host, prefix)) => (host.to_owned(), format!("/{prefix}")),
        None => (api.clone(), String::new()),
    };
    let workers: usize = std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let handles: Vec<_> = (0..workers.max(1))
        .map(|_| {
            let (host, prefix) = (host.clone(), prefix.clone());
            std::thread::spawn(move || serve(&host, &prefix))
        })
        .collect();
    for handle in handles {
        if let Ok(Err(err)) = handle.join() {
            eprintln!("echo: {err}");
        }
    }
    ExitCode::FAILURE
}

fn serve(host: &str, prefix: &str) -> std::io::Result<()> {
    let stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let next = format!("{prefix}/2018-06-01/runtime/invocation/next");
    loop {
        write!(writer, "GET {next} HTTP/1.1\r\nHost: {host}\r\n\r\n")?;
        let (status, headers, event) = read_response(&mut reader)?;
        if status != 200 {
            return Err(std::io::Error::other(format!("/next answered {status}")));
        }
        let id = header(&headers, "lambda-runtime-aws-request-id")
            .ok_or_else(|| std::io::Error::other("no request id"))?;
        let mut request = format!(
            "POST {prefix}/2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\n\
             Host: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            event.len()
        )
        .into_bytes();
        request.extend_from_slice(&event);
        writer.write_all(&request)?;
        let (status, _, _) = read_response(&mut reader)?;
        if status != 202 {
            eprintln!("echo: /response answered {status}");
        }
    }
}

type Head = Vec<(String, String)>;

fn read_response(reader: &mut impl BufRead) -> std::io::Result<(u16, Head, Vec<u8>)> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::other("connection closed"));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((name, value)) = trimmed.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length: usize = header(&headers, "content-length")
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, headers, body))
}

fn header(headers: &Head, name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}
