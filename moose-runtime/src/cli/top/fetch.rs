//! One `GET /stats` by hand: HTTP/1.1 over a `TcpStream`, like `peek` (the runtime has no
//! HTTP client in its dependencies, and one small GET does not need one).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::snapshot::Snapshot;

/// How long one `GET /stats` may take, connecting included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why `top` cannot show the app.
#[derive(Debug, thiserror::Error)]
pub enum TopError {
    /// Nothing answers at the address.
    #[error(
        "cannot reach the app at http://{addr} ({source}); start it first (`cargo run -- dev`) or set MOOSE_HTTP_ADDR to its address"
    )]
    Unreachable {
        /// The address tried.
        addr: SocketAddr,
        /// What connecting or reading said.
        source: std::io::Error,
    },
    /// Something accepted the connection but did not answer in time.
    #[error(
        "the app at http://{addr} did not answer GET /stats within {} s; is MOOSE_HTTP_ADDR the address of a moose app?",
        FETCH_TIMEOUT.as_secs()
    )]
    Timeout {
        /// The address tried.
        addr: SocketAddr,
    },
    /// The app requires its ingest token and none was sent.
    #[error(
        "the app at http://{addr} requires its ingest token for GET /stats (401 Unauthorized); set MOOSE_INGEST_TOKEN to one of its tokens"
    )]
    TokenMissing {
        /// The app's address.
        addr: SocketAddr,
    },
    /// The app refused the token that was sent.
    #[error(
        "the app at http://{addr} refused the token in MOOSE_INGEST_TOKEN (401 Unauthorized); set MOOSE_INGEST_TOKEN to one of the app's ingest tokens"
    )]
    TokenRefused {
        /// The app's address.
        addr: SocketAddr,
    },
    /// The app answered with another status.
    #[error("the app at http://{addr} answered {status} to GET /stats: {body}")]
    Status {
        /// The app's address.
        addr: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The answer is not HTTP or not `/stats` JSON.
    #[error(
        "the answer of http://{addr}/stats is not a moose app's stats ({detail}); is MOOSE_HTTP_ADDR the address of a moose app?"
    )]
    NotStats {
        /// The app's address.
        addr: SocketAddr,
        /// What is wrong with the answer.
        detail: String,
    },
    /// The interactive view needs a terminal.
    #[error(
        "`top` draws on a terminal and stdout is not one; use `top --once` (one frame as text) or `top --json` in scripts"
    )]
    NotATerminal,
    /// The terminal could not be set up, drawn on or read.
    #[error(
        "cannot use this terminal for `top` ({0}); `top --once` prints one frame as plain text instead"
    )]
    Terminal(#[source] std::io::Error),
    /// `--once` or `--json` could not write their output.
    #[error("cannot write `top`'s output to stdout ({0})")]
    Output(#[source] std::io::Error),
}

/// Takes one snapshot: `GET /stats` from the app at `addr`, with `Authorization: Bearer
/// <token>` when a token is given.
pub async fn fetch_stats(addr: SocketAddr, token: Option<&str>) -> Result<Snapshot, TopError> {
    let response = tokio::time::timeout(FETCH_TIMEOUT, get(addr, "/stats", token))
        .await
        .map_err(|_| TopError::Timeout { addr })?
        .map_err(|source| TopError::Unreachable { addr, source })?;
    let not_stats = |detail: String| TopError::NotStats { addr, detail };
    let (status, body) = parse_response(&response).map_err(|e| not_stats(e.to_owned()))?;
    match status {
        200 => serde_json::from_slice(&body).map_err(|e| not_stats(e.to_string())),
        401 if token.is_some() => Err(TopError::TokenRefused { addr }),
        401 => Err(TopError::TokenMissing { addr }),
        status => {
            let text = String::from_utf8_lossy(&body);
            let mut body: String = text.trim().chars().take(300).collect();
            if body.is_empty() {
                body = "(no body)".to_owned();
            }
            Err(TopError::Status { addr, status, body })
        }
    }
}

/// The raw answer to `GET path`, read until the app closes the connection.
async fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> std::io::Result<Vec<u8>> {
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\n{auth}Connection: close\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    socket.read_to_end(&mut response).await?;
    Ok(response)
}

/// The status and body of a complete HTTP/1.1 answer (`Content-Length`, chunked, or until
/// the connection closed).
pub(super) fn parse_response(response: &[u8]) -> Result<(u16, Vec<u8>), &'static str> {
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header in the answer")?;
    let head = std::str::from_utf8(&response[..split]).map_err(|_| "the header is not text")?;
    let body = &response[split + 4..];
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .filter(|l| l.starts_with("HTTP/1."))
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("no HTTP status line")?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        body.get(..length)
            .ok_or("the body is shorter than its Content-Length")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, body))
}

/// The payload of a chunked body.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    loop {
        let end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size = std::str::from_utf8(&body[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or("a chunk size is not hexadecimal")?;
        body = &body[end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or("a chunk is cut short")?);
        body = body.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}
