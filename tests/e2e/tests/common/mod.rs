//! Helpers shared by the integration tests: the executors every end-to-end scenario runs on
//! ([`per_executor!`]), the fixture paths, binaries of other packages, and a raw HTTP/1.1 client
//! that lets a test act as a function (or as an invoker) byte by byte.

#![allow(dead_code, unused_imports, unused_macros)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use lambda_emulator::Options;

/// One `#[test]` per scenario and executor: the one list of executors the end-to-end suites run
/// on, each the probe function built for it (`src/bin/probe-*.rs`).
///
/// ```ignore
/// common::per_executor! {
///     echo,
///     #[ignore = "why"] slow_scenario;
///     concurrent: concurrency
/// }
/// ```
///
/// expands, for every executor, to `mod <executor> { #[test] fn echo() { super::echo(PROBE) } … }`
/// with `PROBE` the path of that executor's probe binary (`CARGO_BIN_EXE_probe-*`). Scenarios
/// after `concurrent:` need lanes that run at once (`AWS_LAMBDA_MAX_CONCURRENCY` > 1) and run
/// only on the executors that have them: the custom executor of `examples` does blocking I/O,
/// one lane at a time.
macro_rules! per_executor {
    (@each [] $scenarios:tt) => {};
    (
        @each
        [
            $executor:ident $bin:literal [$( $(#[$cattr:meta])* $concurrent:ident ),*],
            $($rest:tt)*
        ]
        [$( $(#[$attr:meta])* $scenario:ident ),*]
    ) => {
        mod $executor {
            $(
                $(#[$attr])*
                #[test]
                fn $scenario() {
                    super::$scenario(env!(concat!("CARGO_BIN_EXE_", $bin)));
                }
            )*
            $(
                $(#[$cattr])*
                #[test]
                fn $concurrent() {
                    super::$concurrent(env!(concat!("CARGO_BIN_EXE_", $bin)));
                }
            )*
        }
        $crate::common::per_executor!(@each [$($rest)*] [$( $(#[$attr])* $scenario ),*]);
    };
    (
        $( $(#[$attr:meta])* $scenario:ident ),* $(,)?
        $( ; concurrent: $( $(#[$cattr:meta])* $concurrent:ident ),* $(,)? )?
    ) => {
        $crate::common::per_executor!(
            @each
            // The executors: test module, probe binary, the `concurrent:` scenarios it runs.
            [
                tokio "probe-tokio" [$($( $(#[$cattr])* $concurrent ),*)?],
                smol "probe-smol" [$($( $(#[$cattr])* $concurrent ),*)?],
                custom "probe-custom" [],
            ]
            [$( $(#[$attr])* $scenario ),*]
        );
    };
}
pub(crate) use per_executor;

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/e2e is two levels below the workspace root")
        .to_path_buf()
}

/// The `lambda-emulator` program, built by `cargo build -p lambda-emulator` with this test's
/// profile (`CARGO_BIN_EXE_*` names only this package's binaries).
pub fn emulator_program() -> &'static Path {
    static PROGRAM: OnceLock<PathBuf> = OnceLock::new();
    PROGRAM.get_or_init(|| workspace_bin("lambda-emulator", "lambda-emulator"))
}

/// Builds binary `bin` of workspace package `package` into this test's target directory and
/// profile, and returns its path.
pub fn workspace_bin(package: &str, bin: &str) -> PathBuf {
    // This test is `<target dir>/<profile dir>/deps/<test>-<hash>`.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test runs from <target dir>/<profile dir>/deps");
    let profile = match profile_dir.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(name) => name,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "-q",
            "--profile",
            profile,
            "-p",
            package,
            "--bin",
            bin,
        ])
        .current_dir(workspace_root())
        .status()
        .expect("run cargo");
    assert!(
        status.success(),
        "cargo build --profile {profile} -p {package} --bin {bin}: {status}"
    );
    profile_dir.join(bin)
}

/// Generous: only there so a broken emulator fails a test instead of hanging it.
pub const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// The AWS-docs style bash bootstrap.
pub fn bash_bootstrap() -> String {
    format!("{}/fixtures/bash-bootstrap.sh", env!("CARGO_MANIFEST_DIR"))
}

/// A function that fails setup (posts `/init/error` with `Function.SetupError`, exits 1) on
/// its first run, creating `marker`; once `marker` exists it is the echoing bash
/// bootstrap: the "fixed" function.
pub fn fails_once_script(dir: &Path, marker: &Path) -> PathBuf {
    let script = dir.join("fails-once.sh");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
if [ ! -e '{marker}' ]; then
  echo "fails-once: setup failed" >&2
  # Before the post: the emulator stops the process as soon as it reports the error.
  touch '{marker}'
  curl -sS -X POST "http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/init/error" \
    -H 'Lambda-Runtime-Function-Error-Type: Function.SetupError' \
    --data-binary '{{"errorType":"Function.SetupError","errorMessage":"setup failed"}}' >/dev/null
  exit 1
fi
exec bash '{bootstrap}'
"#,
            marker = marker.display(),
            bootstrap = bash_bootstrap(),
        ),
    )
    .unwrap();
    script
}

/// Options for the bash bootstrap with a generous timeout.
pub fn bash(mode: &str) -> Options {
    Options::new([bash_bootstrap()])
        .timeout(Duration::from_secs(20))
        .env("BOOTSTRAP_MODE", mode)
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
    /// False when the connection ended before `Content-Length` bytes arrived.
    pub complete: bool,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn header_str(&self, name: &str) -> Option<String> {
        self.header(name)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body_str()))
    }
}

/// One keep-alive connection.
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    host: String,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect to the emulator");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            host: addr.to_string(),
        }
    }

    /// Send a request with a `Content-Length` body and read the answer.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if method != "GET" || !body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body);
        self.writer.write_all(&bytes).unwrap();
        self.read_reply().expect("a response")
    }

    /// Send a request with a chunked body (and optional trailers) and read the answer.
    pub fn request_chunked(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        chunks: &[&[u8]],
        trailers: &[(&str, &str)],
    ) -> Reply {
        let mut out = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\n",
            self.host
        );
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        for chunk in chunks {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n");
        for (name, value) in trailers {
            bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        bytes.extend_from_slice(b"\r\n");
        self.writer.write_all(&bytes).unwrap();
        self.read_reply().expect("a response")
    }

    /// Read one response; `None` if the connection closed before a status line.
    pub fn read_reply(&mut self) -> Option<Reply> {
        let mut line = Vec::new();
        if self.reader.read_until(b'\n', &mut line).ok()? == 0 {
            return None;
        }
        let status_line = String::from_utf8_lossy(&line).into_owned();
        let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_until(b'\n', &mut line).ok()?;
            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                line.pop();
            }
            if line.is_empty() {
                break;
            }
            let colon = line.iter().position(|b| *b == b':')?;
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            let mut value = line[colon + 1..].to_vec();
            while value.first() == Some(&b' ') {
                value.remove(0);
            }
            headers.push((name, value));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| String::from_utf8_lossy(v).parse().ok())
            .unwrap_or(0);
        let mut body = Vec::new();
        let read = (&mut self.reader)
            .take(length as u64)
            .read_to_end(&mut body)
            .unwrap_or(0);
        Some(Reply {
            status,
            headers,
            complete: read == length,
            body,
        })
    }
}

/// POST an event to the Invoke API on a fresh connection.
pub fn http_invoke(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    Conn::connect(addr).request("POST", path, headers, body)
}

/// Starts the emulator around a probe binary (`CARGO_BIN_EXE_probe-*`) and waits until it asks
/// for its first invocation. No `RUST_BACKTRACE` from the test environment: symbolising a panic's
/// backtrace in a debug build takes over 100 MiB, which the memory watchdog (rightly) reports.
pub fn start_probe(
    bin: &str,
    options: impl FnOnce(Options) -> Options,
) -> lambda_emulator::Emulator {
    let base = Options::new([bin])
        .timeout(Duration::from_secs(30))
        .env("RUST_BACKTRACE", "0");
    let emu = lambda_emulator::Emulator::start(options(base)).expect("emulator starts");
    emu.wait_ready(Duration::from_secs(30))
        .expect("the function calls /next");
    emu
}

/// Invokes `event` and waits for the answer.
pub fn invoke(emu: &lambda_emulator::Emulator, event: &[u8]) -> lambda_emulator::InvokeResult {
    emu.invoke(lambda_emulator::Invoke::new(event.to_vec()))
        .expect("invoke answered")
}

/// The Runtime API calls the function made to `endpoint`, in order.
pub fn calls(
    emu: &lambda_emulator::Emulator,
    endpoint: lambda_emulator::Endpoint,
) -> Vec<lambda_emulator::RuntimeCall> {
    emu.calls()
        .into_iter()
        .filter(|c| c.endpoint == endpoint)
        .collect()
}
