//! A raw HTTP/1.1 client over loopback TCP: hostile requests need bytes no well-behaved client
//! library would send (unnormalized paths, raw NUL bytes, bodies shorter than declared,
//! trickled bodies, oversized heads).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Longest any single exchange may take before it counts as a hang.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(20);

/// The error of an exchange whose connection the server closed without answering.
pub const CLOSED_WITHOUT_ANSWER: &str = "the server closed the connection without an answer";

/// A response as read off the wire.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The `error` sentence of a JSON error answer, empty when there is none.
    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    /// A short description for failure messages.
    pub fn summary(&self) -> String {
        let body = String::from_utf8_lossy(&self.body);
        let body: String = body.chars().take(300).collect();
        format!("{} {body}", self.status)
    }
}

/// A request's bytes: `method path HTTP/1.1`, `Host`, the given headers, `Content-Length`
/// (unless `headers` has a `content-length` or `transfer-encoding` already), `Connection:
/// close`, then `body`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = head(method, path, headers);
    let framed = headers.iter().any(|(n, _)| {
        n.eq_ignore_ascii_case("content-length") || n.eq_ignore_ascii_case("transfer-encoding")
    });
    if !framed {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The request line and headers, without the blank line that ends them.
pub fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n")
        .into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out
}

/// `POST path` with a JSON body.
pub fn post_json(path: &str, body: impl AsRef<[u8]>) -> Vec<u8> {
    request(
        "POST",
        path,
        &[("content-type", "application/json")],
        body.as_ref(),
    )
}

/// `POST path` with an NDJSON body.
pub fn post_ndjson(path: &str, body: impl AsRef<[u8]>) -> Vec<u8> {
    request(
        "POST",
        path,
        &[("content-type", "application/x-ndjson")],
        body.as_ref(),
    )
}

/// `GET path`.
pub fn get(path: &str) -> Vec<u8> {
    request("GET", path, &[], b"")
}

/// Sends `bytes` and reads the answer until the server closes the connection. Writing and
/// reading run concurrently, so a server that answers early (413) and stops reading is seen.
pub async fn exchange(addr: SocketAddr, bytes: Vec<u8>) -> Result<Answer, String> {
    exchange_with(addr, vec![bytes], Duration::ZERO, false).await
}

/// Sends `pieces` with `pause` before each one after the first, optionally half-closes the
/// connection after the last, and reads the answer.
pub async fn exchange_with(
    addr: SocketAddr,
    pieces: Vec<Vec<u8>>,
    pause: Duration,
    half_close: bool,
) -> Result<Answer, String> {
    let run = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut reader, mut writer) = stream.into_split();
        let write = async move {
            let mut sent = true;
            for (i, piece) in pieces.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                // The server may answer and close before taking everything (413, 408): a
                // failed write is expected then, and the answer is what counts.
                if writer.write_all(piece).await.is_err() {
                    sent = false;
                    break;
                }
            }
            if sent && half_close {
                let _ = writer.shutdown().await;
            }
            // Keep the connection until the answer has been read.
            std::future::pending::<()>().await;
            drop(writer);
        };
        let read = async move {
            let mut raw = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match reader.read(&mut buf).await {
                    Ok(0) => break,
                    Ok(n) => raw.extend_from_slice(&buf[..n]),
                    // A reset after the whole answer arrived still leaves a usable answer.
                    Err(e) if raw.is_empty() && e.kind() != std::io::ErrorKind::ConnectionReset => {
                        return Err(format!("read: {e}"));
                    }
                    Err(_) => break,
                }
            }
            if raw.is_empty() {
                return Err(CLOSED_WITHOUT_ANSWER.to_owned());
            }
            parse(&raw)
        };
        tokio::select! {
            answer = read => answer,
            () = write => unreachable!("the writer never finishes on its own"),
        }
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, run)
        .await
        .map_err(|_| format!("no answer within {EXCHANGE_TIMEOUT:?}"))?
}

/// Parses one HTTP/1.1 response (`Content-Length`, chunked, or read to close).
pub fn parse(raw: &[u8]) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete response head in {} bytes", raw.len()))?;
    let head = std::str::from_utf8(&raw[..end]).map_err(|e| format!("response head: {e}"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line `{status_line}`"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let mut answer = Answer {
        status,
        headers,
        body: Vec::new(),
    };
    answer.body = if let Some(length) = answer.header("content-length") {
        let length: usize = length.parse().map_err(|_| "bad content-length")?;
        match rest.get(..length) {
            Some(body) => body.to_vec(),
            // The answer to `HEAD` announces a length but has no body.
            None if rest.is_empty() => Vec::new(),
            None => return Err(format!("body cut short: {} of {length} bytes", rest.len())),
        }
    } else if answer
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Ok(answer)
}

fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line")?;
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
            .ok_or("chunk size")?;
        rest = &rest[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        body.extend_from_slice(rest.get(..size).ok_or("chunk cut short")?);
        rest = rest.get(size + 2..).ok_or("chunk end")?;
    }
}

/// Several requests on one connection without waiting (HTTP/1.1 pipelining); every answer.
pub async fn pipelined(addr: SocketAddr, requests: &[Vec<u8>]) -> Result<Vec<Answer>, String> {
    let run = async {
        let mut stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(&requests.concat())
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .await
            .map_err(|e| format!("read: {e}"))?;
        let mut answers = Vec::new();
        let mut rest = raw.as_slice();
        while !rest.is_empty() {
            let answer = parse(rest)?;
            let head = rest.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0) + 4;
            rest = &rest[(head + answer.body.len()).min(rest.len())..];
            answers.push(answer);
        }
        Ok(answers)
    };
    tokio::time::timeout(EXCHANGE_TIMEOUT, run)
        .await
        .map_err(|_| format!("no answers within {EXCHANGE_TIMEOUT:?}"))?
}
