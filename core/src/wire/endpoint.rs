//! [`Endpoint`]: where the Runtime API is, parsed from `AWS_LAMBDA_RUNTIME_API`.

use core::fmt;

use super::{format_decimal, parse_decimal};

/// The longest `host:port` an [`Endpoint`] accepts, in bytes (brackets of an IPv6 host included).
pub const MAX_AUTHORITY_LEN: usize = 255;

/// The longest path prefix an [`Endpoint`] accepts, in bytes.
pub const MAX_PREFIX_LEN: usize = 255;

/// Where the Runtime API is, parsed from `AWS_LAMBDA_RUNTIME_API`.
///
/// Lambda sets `host:port` (`169.254.100.1:9001`); cargo-lambda sets a URL with a path prefix
/// (`http://127.0.0.1:9000/.rt/fn`). Request paths are [`prefix`](Self::prefix) followed by
/// [`API_VERSION`](super::API_VERSION) and the endpoint's path.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// The host without IPv6 brackets.
    host: heapless::String<MAX_AUTHORITY_LEN>,
    port: u16,
    /// `host:port`, IPv6 hosts in brackets.
    authority: heapless::String<MAX_AUTHORITY_LEN>,
    /// `""` or a path starting with `/` and not ending with `/`.
    prefix: heapless::String<MAX_PREFIX_LEN>,
}

impl Endpoint {
    /// Parses a value of `AWS_LAMBDA_RUNTIME_API`.
    ///
    /// Accepted forms:
    /// - `host:port`, as Lambda sets it: `169.254.100.1:9001`, `localhost:9001`, `[::1]:9001`;
    /// - `http://host:port/path/prefix`, as cargo-lambda sets it (`http://127.0.0.1:9000/.rt/fn`),
    ///   and `http://host:port` or `http://host` (port 80). The scheme is case-insensitive.
    ///
    /// A host is an IPv6 address in brackets or a name / IPv4 address of ASCII letters, digits,
    /// `-`, `.` and `_`. A path prefix is also accepted after a bare `host:port`. Trailing `/`s on
    /// the prefix are dropped, so the prefix is `""` or starts with `/` and does not end with one.
    ///
    /// Rejected: an empty value, whitespace, control or non-ASCII bytes anywhere, `https://`
    /// (the Runtime API is plain HTTP), any other scheme, userinfo (`@`), a query (`?`), a
    /// fragment (`#`), a missing, zero, non-numeric or out-of-range port, a prefix with bytes a
    /// URL path cannot have, and a `host:port` or prefix longer than [`MAX_AUTHORITY_LEN`] /
    /// [`MAX_PREFIX_LEN`].
    pub fn parse(s: &str) -> Result<Self, EndpointError> {
        if s.is_empty() {
            return Err(EndpointError::Empty);
        }
        if s.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(EndpointError::InvalidCharacter);
        }
        let (rest, default_port) = match s.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => (rest, Some(80)),
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => {
                return Err(EndpointError::HttpsUnsupported);
            }
            Some(_) => return Err(EndpointError::UnsupportedScheme),
            None => (s, None),
        };
        if rest.contains('@') {
            return Err(EndpointError::Userinfo);
        }
        if rest.contains('?') {
            return Err(EndpointError::Query);
        }
        if rest.contains('#') {
            return Err(EndpointError::Fragment);
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (host, port) = split_host_port(authority)?;
        let port = match port {
            Some(p) => parse_port(p)?,
            None => default_port.ok_or(EndpointError::MissingPort)?,
        };
        let prefix = path.trim_end_matches('/');
        if !prefix.bytes().all(is_path_byte) {
            return Err(EndpointError::InvalidPrefix);
        }

        let mut endpoint = Self {
            host: heapless::String::new(),
            port,
            authority: heapless::String::new(),
            prefix: heapless::String::new(),
        };
        endpoint
            .host
            .push_str(host)
            .map_err(|_| EndpointError::TooLong)?;
        let bracketed = host.contains(':');
        let mut digits = [0u8; 20];
        let port_text = format_decimal(u64::from(port), &mut digits);
        let pieces: [&str; 5] = if bracketed {
            ["[", host, "]:", port_text, ""]
        } else {
            ["", host, ":", port_text, ""]
        };
        for piece in pieces {
            endpoint
                .authority
                .push_str(piece)
                .map_err(|_| EndpointError::TooLong)?;
        }
        endpoint
            .prefix
            .push_str(prefix)
            .map_err(|_| EndpointError::TooLong)?;
        Ok(endpoint)
    }

    /// The host to connect to. An IPv6 address is returned **without** its brackets (`::1` for
    /// `[::1]:9001`), so `(host, port)` can be handed to a resolver as is.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The TCP port (80 when an `http://` URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` for the `Host` header, with an IPv6 host in brackets (`[::1]:9001`).
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// The path prefix: `""`, or a path such as `/.rt/fn` that starts with `/` and does not end
    /// with one.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Endpoint {
    /// Shows the endpoint as a URL: `http://{authority}{prefix}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}{}", self.authority(), self.prefix())
    }
}

impl core::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// `pchar` of RFC 3986 §3.3 and `/`, minus `@` (rejected earlier as userinfo).
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~%!$&'()*+,;=:/".contains(&b)
}

/// Splits `host[:port]` / `[v6][:port]`; the port text is returned unparsed.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), EndpointError> {
    let (host, after_host) = if let Some(inner) = authority.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or(EndpointError::InvalidHost)?;
        let valid = v6.contains(':')
            && v6
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
        if !valid {
            return Err(EndpointError::InvalidHost);
        }
        (v6, after)
    } else {
        let end = authority.find(':').unwrap_or(authority.len());
        let (name, after) = authority.split_at(end);
        let valid = name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'));
        if name.is_empty() || !valid {
            return Err(EndpointError::InvalidHost);
        }
        (name, after)
    };
    if after_host.is_empty() {
        return Ok((host, None));
    }
    match after_host.strip_prefix(':') {
        Some("") => Err(EndpointError::MissingPort),
        Some(port) => Ok((host, Some(port))),
        None => Err(EndpointError::InvalidHost),
    }
}

/// At most five decimal digits, 1 to 65535.
fn parse_port(text: &str) -> Result<u16, EndpointError> {
    if text.len() > 5 {
        return Err(EndpointError::InvalidPort);
    }
    match parse_decimal(text.as_bytes()).map(u16::try_from) {
        Some(Ok(port)) if port > 0 => Ok(port),
        _ => Err(EndpointError::InvalidPort),
    }
}

/// Why an `AWS_LAMBDA_RUNTIME_API` value was rejected by [`Endpoint::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EndpointError {
    /// The value is empty.
    Empty,
    /// Whitespace, a control byte (CR, LF, NUL, …) or a non-ASCII byte.
    InvalidCharacter,
    /// An `https://` URL: the Runtime API is plain HTTP.
    HttpsUnsupported,
    /// A URL scheme other than `http://`.
    UnsupportedScheme,
    /// Userinfo (`user@host`) is not allowed.
    Userinfo,
    /// A query (`?`) is not allowed.
    Query,
    /// A fragment (`#`) is not allowed.
    Fragment,
    /// The host is empty, has bytes a host cannot have, or is a malformed `[IPv6]` literal.
    InvalidHost,
    /// No port: `host` without `:port` (outside an `http://` URL) or nothing after the `:`.
    MissingPort,
    /// The port is not a number from 1 to 65535.
    InvalidPort,
    /// The path prefix has a byte that cannot appear in a URL path.
    InvalidPrefix,
    /// The `host:port` or the path prefix is longer than [`MAX_AUTHORITY_LEN`] /
    /// [`MAX_PREFIX_LEN`].
    TooLong,
}

impl fmt::Display for EndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "empty runtime api address",
            Self::InvalidCharacter => {
                "whitespace, control or non-ascii byte in runtime api address"
            }
            Self::HttpsUnsupported => "https is not supported, the runtime api is plain http",
            Self::UnsupportedScheme => "unsupported scheme in runtime api address, expected http",
            Self::Userinfo => "userinfo not allowed in runtime api address",
            Self::Query => "query not allowed in runtime api address",
            Self::Fragment => "fragment not allowed in runtime api address",
            Self::InvalidHost => "invalid host in runtime api address",
            Self::MissingPort => "missing port in runtime api address",
            Self::InvalidPort => "invalid port in runtime api address",
            Self::InvalidPrefix => "invalid path in runtime api address",
            Self::TooLong => "runtime api address too long",
        })
    }
}

impl core::error::Error for EndpointError {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One `#[test]` per accepted form: (input => host, port, authority, prefix).
    macro_rules! endpoint_ok {
        ($($name:ident: $input:expr => ($host:expr, $port:expr, $authority:expr, $prefix:expr);)*) => {
            $(
                #[test]
                fn $name() {
                    let e = Endpoint::parse($input).expect($input);
                    assert_eq!(e.host(), $host, "host");
                    assert_eq!(e.port(), $port, "port");
                    assert_eq!(e.authority(), $authority, "authority");
                    assert_eq!(e.prefix(), $prefix, "prefix");
                    assert_eq!($input.parse::<Endpoint>(), Ok(e));
                }
            )*
        };
    }

    /// One `#[test]` per rejected form: (input => error variant).
    macro_rules! endpoint_err {
        ($($name:ident: $input:expr => $err:ident;)*) => {
            $(
                #[test]
                fn $name() {
                    assert_eq!(Endpoint::parse($input), Err(EndpointError::$err), "{:?}", $input);
                }
            )*
        };
    }

    endpoint_ok! {
        endpoint_lambda: "169.254.100.1:9001" => ("169.254.100.1", 9001, "169.254.100.1:9001", "");
        endpoint_loopback: "127.0.0.1:9001" => ("127.0.0.1", 9001, "127.0.0.1:9001", "");
        endpoint_localhost: "localhost:9001" => ("localhost", 9001, "localhost:9001", "");
        endpoint_ipv6: "[::1]:9001" => ("::1", 9001, "[::1]:9001", "");
        endpoint_ipv6_v4_mapped: "[::ffff:127.0.0.1]:9001"
            => ("::ffff:127.0.0.1", 9001, "[::ffff:127.0.0.1]:9001", "");
        endpoint_cargo_lambda: "http://127.0.0.1:9000/.rt/fn"
            => ("127.0.0.1", 9000, "127.0.0.1:9000", "/.rt/fn");
        endpoint_cargo_lambda_trailing_slash: "http://127.0.0.1:9000/.rt/fn/"
            => ("127.0.0.1", 9000, "127.0.0.1:9000", "/.rt/fn");
        endpoint_url_no_path: "http://127.0.0.1:9000" => ("127.0.0.1", 9000, "127.0.0.1:9000", "");
        endpoint_url_root_path: "http://127.0.0.1:9000/" => ("127.0.0.1", 9000, "127.0.0.1:9000", "");
        endpoint_url_default_port: "http://runtime.local" => ("runtime.local", 80, "runtime.local:80", "");
        endpoint_url_default_port_path: "http://h/p" => ("h", 80, "h:80", "/p");
        endpoint_url_uppercase_scheme: "HTTP://h:1" => ("h", 1, "h:1", "");
        endpoint_url_ipv6: "http://[fe80::1]:9000/x" => ("fe80::1", 9000, "[fe80::1]:9000", "/x");
        endpoint_url_ipv6_default_port: "http://[::1]" => ("::1", 80, "[::1]:80", "");
        endpoint_bare_with_prefix: "localhost:9001/pre" => ("localhost", 9001, "localhost:9001", "/pre");
        endpoint_max_port: "h:65535" => ("h", 65535, "h:65535", "");
        endpoint_leading_zero_port: "h:09001" => ("h", 9001, "h:9001", "");
        endpoint_underscore_host: "my_host-1.local:1" => ("my_host-1.local", 1, "my_host-1.local:1", "");
        endpoint_percent_in_prefix: "http://h:1/a%20b" => ("h", 1, "h:1", "/a%20b");
    }

    endpoint_err! {
        endpoint_empty: "" => Empty;
        endpoint_space: "127.0.0.1: 9001" => InvalidCharacter;
        endpoint_leading_space: " 127.0.0.1:9001" => InvalidCharacter;
        endpoint_trailing_newline: "127.0.0.1:9001\n" => InvalidCharacter;
        endpoint_crlf_in_prefix: "http://h:1/a\r\nX-Evil: 1" => InvalidCharacter;
        endpoint_tab: "h:1\t" => InvalidCharacter;
        endpoint_nul: "h:1\0" => InvalidCharacter;
        endpoint_non_ascii: "h\u{e9}:1" => InvalidCharacter;
        endpoint_https: "https://127.0.0.1:9001" => HttpsUnsupported;
        endpoint_https_upper: "HTTPS://h" => HttpsUnsupported;
        endpoint_other_scheme: "ftp://h:21" => UnsupportedScheme;
        endpoint_empty_scheme: "://h:1" => UnsupportedScheme;
        endpoint_userinfo: "http://user@h:1" => Userinfo;
        endpoint_userinfo_bare: "user:pw@h:1" => Userinfo;
        endpoint_query: "http://h:1/p?x=1" => Query;
        endpoint_fragment: "http://h:1/p#f" => Fragment;
        endpoint_no_port_bare: "localhost" => MissingPort;
        endpoint_empty_port: "localhost:" => MissingPort;
        endpoint_empty_port_url: "http://localhost:/p" => MissingPort;
        endpoint_zero_port: "h:0" => InvalidPort;
        endpoint_big_port: "h:65536" => InvalidPort;
        endpoint_huge_port: "h:99999999999999999999" => InvalidPort;
        endpoint_alpha_port: "h:90a1" => InvalidPort;
        endpoint_signed_port: "h:+9001" => InvalidPort;
        endpoint_two_colons: "h:1:2" => InvalidPort;
        endpoint_bare_ipv6: "::1:9001" => InvalidHost;
        endpoint_empty_host: ":9001" => InvalidHost;
        endpoint_empty_host_url: "http://:9001" => InvalidHost;
        endpoint_empty_url: "http://" => InvalidHost;
        endpoint_bad_host_byte: "h!st:1" => InvalidHost;
        endpoint_unclosed_bracket: "[::1:9001" => InvalidHost;
        endpoint_junk_after_bracket: "[::1]x:9001" => InvalidHost;
        endpoint_not_ipv6_in_brackets: "[localhost]:1" => InvalidHost;
        endpoint_bad_prefix_byte: "http://h:1/a\"b" => InvalidPrefix;
        endpoint_bad_prefix_brace: "http://h:1/{x}" => InvalidPrefix;
    }

    #[test]
    fn endpoint_length_limits() {
        let host = "a".repeat(MAX_AUTHORITY_LEN - 2);
        let ok = std::format!("{host}:1");
        assert_eq!(Endpoint::parse(&ok).unwrap().authority(), ok);
        let long = std::format!("{host}:10");
        assert_eq!(Endpoint::parse(&long), Err(EndpointError::TooLong));
        let host = "a".repeat(MAX_AUTHORITY_LEN + 1);
        assert_eq!(
            Endpoint::parse(&std::format!("{host}:1")),
            Err(EndpointError::TooLong)
        );

        let prefix = std::format!("/{}", "p".repeat(MAX_PREFIX_LEN - 1));
        let e = Endpoint::parse(&std::format!("http://h:1{prefix}/")).unwrap();
        assert_eq!(e.prefix(), prefix);
        let long = std::format!("http://h:1/{}", "p".repeat(MAX_PREFIX_LEN));
        assert_eq!(Endpoint::parse(&long), Err(EndpointError::TooLong));
    }

    #[test]
    fn endpoint_display() {
        let e = Endpoint::parse("http://[::1]:9000/.rt/fn").unwrap();
        assert_eq!(std::format!("{e}"), "http://[::1]:9000/.rt/fn");
        assert_eq!(std::format!("{e:?}"), "http://[::1]:9000/.rt/fn");
        assert_eq!(
            std::format!("{}", EndpointError::HttpsUnsupported),
            "https is not supported, the runtime api is plain http"
        );
    }
}
