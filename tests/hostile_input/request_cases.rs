//! Cases about the request around the body: content types, size limits, slow clients,
//! route names, methods, headers, connections.
//!
//! Over 400 lines: a table of named cases, one per hostile request; a case is a few lines and
//! they read best together.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::case::{Case, RAW, raw};
use crate::http::{self, Answer, head, post_json, request};

/// The runtime's default body limit (`MOOSE_INGEST_BODY_LIMIT`), which the suite keeps.
const LIMIT: usize = 10 * 1024 * 1024;

fn not_found(name: &str, path: &str) -> Case {
    Case::send(name, post_json(path, raw("nf", 1.0).to_string())).refused(
        404,
        &[
            "no ingest API at",
            "POST to one of: /ingest/raw_data, /ingest/typed",
        ],
    )
}

fn method(name: &str, verb: &str, path: &str, allow: &'static str) -> Case {
    let case = Case::send(
        name,
        request(
            verb,
            path,
            &[("content-type", "application/json")],
            raw("m", 1.0).to_string().as_bytes(),
        ),
    );
    let case = case.refused(405, &["is not allowed on", allow]);
    match allow {
        "POST" => case.check(|a| allow_header(a, "POST")),
        _ => case.check(|a| allow_header(a, "GET")),
    }
}

fn allow_header(answer: &Answer, expected: &str) -> Result<(), String> {
    match answer.header("allow") {
        Some(allow) if allow == expected => Ok(()),
        other => Err(format!("`Allow` is {other:?}, expected {expected}")),
    }
}

fn closes(answer: &Answer) -> Result<(), String> {
    match answer.header("connection") {
        Some(c) if c.eq_ignore_ascii_case("close") => Ok(()),
        other => Err(format!(
            "`Connection` is {other:?}: an unread body must close the connection"
        )),
    }
}

fn short_error(answer: &Answer) -> Result<(), String> {
    let error = answer.error();
    if error.len() < 1000 {
        Ok(())
    } else {
        Err(format!(
            "the error echoes the hostile value: {} bytes",
            error.len()
        ))
    }
}

fn with_content_type(content_type: &str, body: &Value) -> Vec<u8> {
    request(
        "POST",
        RAW,
        &[("content-type", content_type)],
        body.to_string().as_bytes(),
    )
}

/// A head (ending in the blank line) for a body of `length` bytes.
fn head_with_length(length: usize, extra: &[(&str, &str)]) -> Vec<u8> {
    let length = length.to_string();
    let mut headers = vec![
        ("content-type", "application/json"),
        ("content-length", length.as_str()),
    ];
    headers.extend_from_slice(extra);
    let mut bytes = head("POST", RAW, &headers);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// `record` padded with spaces to exactly `size` bytes.
fn padded(record: &Value, size: usize) -> Vec<u8> {
    let mut body = record.to_string().into_bytes();
    body.resize(size, b' ');
    body
}

pub fn cases() -> Vec<Case> {
    vec![
        // Content types.
        Case::send(
            "content type: text/plain",
            with_content_type("text/plain", &raw("ct1", 1.0)),
        )
        .refused(
            415,
            &["unsupported Content-Type `text/plain`", "application/json"],
        ),
        Case::send(
            "content type: missing",
            request("POST", RAW, &[], raw("ct2", 1.0).to_string().as_bytes()),
        )
        .refused(415, &["no Content-Type"]),
        Case::send(
            "content type: form",
            with_content_type("application/x-www-form-urlencoded", &raw("ct3", 1.0)),
        )
        .refused(415, &["application/x-www-form-urlencoded"]),
        Case::send(
            "content type: JSON in Latin-1",
            with_content_type("application/json; charset=latin1", &raw("ct4", 1.0)),
        )
        .refused(415, &["charset=latin1", "UTF-8"]),
        Case::send(
            "content type: 8 KiB long",
            with_content_type(
                &format!("application/{}", "x".repeat(8192)),
                &raw("ct5", 1.0),
            ),
        )
        .refused(415, &["unsupported Content-Type"])
        .check(short_error),
        Case::send("content type: non-ASCII bytes", {
            let mut bytes = head("POST", RAW, &[]);
            bytes.extend_from_slice(
                b"content-type: application/json\xff\r\ncontent-length: 2\r\n\r\n{}",
            );
            bytes
        })
        .refused(415, &["unsupported Content-Type"]),
        Case::send(
            "content type: odd case and a quoted charset",
            with_content_type("Application/JSON; Charset=\"UTF-8\"", &raw("ct7", 1.0)),
        )
        .stores_raw(vec![raw("ct7", 1.0)]),
        // Size limits.
        Case::send(
            "over the limit: declared Content-Length",
            head_with_length(LIMIT + 1024 * 1024, &[]),
        )
        .refused(
            413,
            &[
                "larger than the limit of 10485760 bytes",
                "MOOSE_INGEST_BODY_LIMIT",
            ],
        )
        .check(|a| {
            closes(a)?;
            if a.json()["limit_bytes"] == LIMIT {
                Ok(())
            } else {
                Err("no limit_bytes".into())
            }
        }),
        Case::send("over the limit: one byte over, sent", {
            let mut bytes = head_with_length(LIMIT + 1, &[]);
            bytes.extend_from_slice(&padded(&raw("over-by-one", 1.0), LIMIT + 1));
            bytes
        })
        .refused(413, &["larger than the limit"]),
        Case::send(
            "over the limit: Expect 100-continue",
            head_with_length(LIMIT * 2, &[("expect", "100-continue")]),
        )
        .refused(413, &["larger than the limit"]),
        Case::pieces(
            "over the limit: chunked without a length",
            {
                let mut pieces = vec![{
                    let mut bytes = head(
                        "POST",
                        RAW,
                        &[
                            ("content-type", "application/json"),
                            ("transfer-encoding", "chunked"),
                        ],
                    );
                    bytes.extend_from_slice(b"\r\n");
                    bytes
                }];
                let chunk = vec![b' '; 1024 * 1024];
                for _ in 0..11 {
                    let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
                    piece.extend_from_slice(&chunk);
                    piece.extend_from_slice(b"\r\n");
                    pieces.push(piece);
                }
                pieces
            },
            Duration::ZERO,
            false,
        )
        .refused(413, &["larger than the limit"])
        .check(closes),
        Case::send("at the limit exactly", {
            let mut bytes = head_with_length(LIMIT, &[]);
            bytes.extend_from_slice(&padded(&raw("at-limit", 1.0), LIMIT));
            bytes
        })
        .stores_raw(vec![raw("at-limit", 1.0)]),
        Case::send("chunked within the limit", {
            let body = raw("chunked", 1.0).to_string();
            let (a, b) = body.split_at(5);
            let mut bytes = head(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("transfer-encoding", "chunked"),
                ],
            );
            bytes.extend_from_slice(
                format!(
                    "\r\n{:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                    a.len(),
                    b.len()
                )
                .as_bytes(),
            );
            bytes
        })
        .stores_raw(vec![raw("chunked", 1.0)]),
        // Slow clients.
        Case::pieces(
            "slow client: body trickled past the timeout",
            {
                let body = raw("slow-1", 1.0).to_string().into_bytes();
                let mut pieces = vec![head_with_length(body.len(), &[])];
                pieces.extend(body.chunks(1).map(<[u8]>::to_vec));
                pieces
            },
            Duration::from_millis(150),
            false,
        )
        .refused(408, &["did not arrive within 1 s", "nothing was written"])
        .check(closes),
        Case::pieces(
            "slow client: stalls after the head",
            vec![head_with_length(64, &[])],
            Duration::ZERO,
            false,
        )
        .refused(408, &["did not arrive within"]),
        Case::pieces(
            "slow client: head trickled past the header timeout",
            post_json(RAW, raw("slow-head", 1.0).to_string())
                .chunks(4)
                .map(<[u8]>::to_vec)
                .collect(),
            Duration::from_millis(200),
            false,
        )
        .disconnected(),
        Case::pieces(
            "slow client: connects and sends nothing",
            Vec::new(),
            Duration::ZERO,
            false,
        )
        .disconnected(),
        Case::custom(
            "slow client: idle kept-alive connection is closed",
            |addr| Box::pin(idle_keep_alive(addr)),
        )
        .stores_raw(vec![raw("kept-alive", 1.0)]),
        Case::pieces(
            "slow client: body in pieces within the timeout",
            {
                let body = raw("slow-ok", 1.0).to_string().into_bytes();
                let mut pieces = vec![head_with_length(body.len(), &[])];
                pieces.extend(body.chunks(body.len() / 3).map(<[u8]>::to_vec));
                pieces
            },
            Duration::from_millis(100),
            false,
        )
        .stores_raw(vec![raw("slow-ok", 1.0)]),
        Case::pieces(
            "truncated: body shorter than Content-Length, then the client half-closes",
            {
                let mut bytes = head_with_length(100, &[]);
                bytes.extend_from_slice(br#"{"id":"half","value":1}"#);
                vec![bytes]
            },
            Duration::ZERO,
            true,
        )
        .refused(400, &["could not be read", "nothing was written"]),
        Case::send("truncated: chunked body with a bad chunk size", {
            let mut bytes = head(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("transfer-encoding", "chunked"),
                ],
            );
            bytes.extend_from_slice(b"\r\nzz\r\n{\"id\":\"bad-chunk\",\"value\":1}\r\n0\r\n\r\n");
            bytes
        })
        .refused(400, &["could not be read"]),
        Case::custom("client disconnects mid-body", |addr| {
            Box::pin(disconnect_mid_body(addr))
        }),
        // Route names.
        not_found("route: unknown name", "/ingest/nope"),
        not_found("route: dot-dot segment", "/ingest/../raw_data"),
        not_found(
            "route: dot-dot into another API",
            "/ingest/typed/../raw_data",
        ),
        not_found(
            "route: percent-encoded dot-dot",
            "/ingest/%2e%2e/ingest/raw_data",
        ),
        not_found(
            "route: percent-encoded slash",
            "/ingest/typed%2F..%2Fraw_data",
        ),
        not_found("route: percent-encoded name", "/ingest/raw%5Fdata"),
        not_found("route: percent-encoded NUL", "/ingest/raw_data%00"),
        not_found("route: trailing slash", "/ingest/raw_data/"),
        not_found("route: other case", "/ingest/RAW_DATA"),
        not_found("route: double slash", "//ingest/raw_data"),
        not_found("route: unknown version", "/ingest/raw_data/v2"),
        not_found("route: empty name", "/ingest/"),
        not_found(
            "route: 8 KiB name",
            &format!("/ingest/{}", "a".repeat(8 * 1024)),
        )
        .check(short_error),
        Case::send(
            "route: 64 KiB name",
            post_json(
                &format!("/ingest/{}", "a".repeat(64 * 1024)),
                raw("long", 1.0).to_string(),
            ),
        )
        .refused_bare(414),
        Case::send(
            "route: raw NUL byte in the request line",
            post_json("/ingest/raw_data\0", raw("nul", 1.0).to_string()),
        )
        .refused_bare(400),
        Case::send(
            "route: query string is ignored",
            post_json(
                "/ingest/raw_data?id=other&value=2",
                raw("query", 1.0).to_string(),
            ),
        )
        .stores_raw(vec![raw("query", 1.0)]),
        Case::send(
            "route: absolute-form target",
            post_json(
                "http://elsewhere.invalid/ingest/raw_data",
                raw("absolute", 1.0).to_string(),
            ),
        )
        .stores_raw(vec![raw("absolute", 1.0)]),
        // Methods.
        method("method: GET", "GET", RAW, "POST"),
        method("method: PUT", "PUT", RAW, "POST"),
        method("method: DELETE", "DELETE", RAW, "POST"),
        method("method: PATCH", "PATCH", RAW, "POST"),
        method("method: OPTIONS", "OPTIONS", RAW, "POST"),
        method("method: made up", "BREW", RAW, "POST"),
        method("method: POST to /health", "POST", "/health", "GET"),
        Case::send("method: HEAD", request("HEAD", RAW, &[], b"")).refused_bare(405),
        // Headers.
        Case::send(
            "header: 1 MiB value",
            request(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("x-junk", &"j".repeat(1024 * 1024)),
                ],
                raw("h1", 1.0).to_string().as_bytes(),
            ),
        )
        .refused_bare(431),
        Case::send("header: 200 headers", {
            let names: Vec<String> = (0..200).map(|i| format!("x-h{i}")).collect();
            let mut headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
            headers.push(("content-type", "application/json"));
            request("POST", RAW, &headers, raw("h2", 1.0).to_string().as_bytes())
        })
        .refused_bare(431),
        Case::send(
            "header: 32 KiB value is ignored",
            request(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("x-junk", &"j".repeat(32 * 1024)),
                ],
                raw("h3", 1.0).to_string().as_bytes(),
            ),
        )
        .stores_raw(vec![raw("h3", 1.0)]),
        Case::send(
            "header: bearer token sent to an open API is ignored",
            request(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("authorization", "Bearer garbage"),
                ],
                raw("h4", 1.0).to_string().as_bytes(),
            ),
        )
        .stores_raw(vec![raw("h4", 1.0)]),
        Case::send(
            "header: DEL byte in a value",
            request(
                "POST",
                RAW,
                &[("content-type", "application/json"), ("x-junk", "a\u{7f}b")],
                raw("h4b", 1.0).to_string().as_bytes(),
            ),
        )
        .refused_bare(400),
        Case::send(
            "header: Content-Length not a number",
            request(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("content-length", "abc"),
                ],
                raw("h5", 1.0).to_string().as_bytes(),
            ),
        )
        .refused_bare(400),
        Case::send("header: two different Content-Lengths", {
            let body = raw("h6", 1.0).to_string();
            let length = body.len().to_string();
            request(
                "POST",
                RAW,
                &[
                    ("content-type", "application/json"),
                    ("content-length", &length),
                    ("content-length", "2"),
                ],
                body.as_bytes(),
            )
        })
        .refused_bare(400),
        // RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length.
        Case::send(
            "header: Content-Length and chunked together, chunked wins",
            {
                let body = raw("h7", 1.0).to_string();
                let mut bytes = head(
                    "POST",
                    RAW,
                    &[
                        ("content-type", "application/json"),
                        ("content-length", "5"),
                        ("transfer-encoding", "chunked"),
                    ],
                );
                bytes.extend_from_slice(
                    format!("\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len()).as_bytes(),
                );
                bytes
            },
        )
        .stores_raw(vec![raw("h7", 1.0)]),
        Case::send(
            "not HTTP: a TLS handshake",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03hello".to_vec(),
        )
        .refused_bare(400),
        // The other endpoints on the same port.
        Case::send("peek: unknown name", http::get("/peek/nope"))
            .refused(404, &["is neither a stream nor a table"]),
        Case::send(
            "peek: SQL in the name",
            http::get("/peek/final_stream%3B%20DROP%20TABLE%20local.final_stream"),
        )
        .refused(404, &["is neither a stream nor a table"]),
        Case::send(
            "peek: row count not a number",
            http::get("/peek/final_stream?n=1;DROP"),
        )
        .refused(400, &["`n` is how many rows to show"]),
        Case::send(
            "peek: negative row count",
            http::get("/peek/final_stream?n=-1"),
        )
        .refused(400, &["`n` is how many rows to show"]),
        // Connections.
        Case::custom(
            "connections: bad then good pipelined on one connection",
            |addr| Box::pin(pipelined(addr)),
        )
        .stores_raw(vec![raw("pipelined-good", 1.0)]),
        Case::custom("connections: 100 good and 100 bad at once", |addr| {
            Box::pin(concurrent(addr))
        })
        .stores_raw(
            (0..100)
                .map(|i| raw(&format!("concurrent-{i:03}"), 1.0))
                .collect(),
        ),
        Case::custom(
            "connections: 200 idle half-sent heads do not block others",
            |addr| Box::pin(idle_heads(addr)),
        )
        .stores_raw(vec![raw("despite-idle", 1.0)]),
    ]
}

async fn disconnect_mid_body(addr: SocketAddr) -> Result<(), String> {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let mut bytes = head_with_length(100, &[]);
    bytes.extend_from_slice(br#"{"id":"gone","va"#);
    stream.write_all(&bytes).await.map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    drop(stream);
    // Give the server a moment to notice before the suite reads the streams.
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

async fn pipelined(addr: SocketAddr) -> Result<(), String> {
    let keep_alive = |bytes: Vec<u8>| {
        String::from_utf8(bytes)
            .unwrap()
            .replacen("connection: close", "connection: keep-alive", 1)
            .into_bytes()
    };
    let answers = http::pipelined(
        addr,
        &[
            keep_alive(post_json(RAW, r#"{"id":"pipelined-bad"}"#)),
            post_json(RAW, raw("pipelined-good", 1.0).to_string()),
        ],
    )
    .await?;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    if statuses == [400, 200] {
        Ok(())
    } else {
        Err(format!(
            "pipelined answers {statuses:?}, expected [400, 200]"
        ))
    }
}

async fn idle_keep_alive(addr: SocketAddr) -> Result<(), String> {
    let request = String::from_utf8(post_json(RAW, raw("kept-alive", 1.0).to_string()))
        .unwrap()
        .replacen("connection: close", "connection: keep-alive", 1)
        .into_bytes();
    // Reads until the server closes the connection, which it must do once the connection
    // has idled for the header timeout.
    let answers = http::pipelined(addr, &[request]).await?;
    match answers.as_slice() {
        [answer] if answer.status == 200 => Ok(()),
        _ => Err(format!("expected one 200, got {answers:?}")),
    }
}

async fn concurrent(addr: SocketAddr) -> Result<(), String> {
    let mut tasks = Vec::new();
    for i in 0..100 {
        let good = raw(&format!("concurrent-{i:03}"), 1.0).to_string();
        let bad = json!({ "id": format!("concurrent-bad-{i:03}") }).to_string();
        tasks.push((
            200,
            tokio::spawn(http::exchange(addr, post_json(RAW, good))),
        ));
        tasks.push((400, tokio::spawn(http::exchange(addr, post_json(RAW, bad)))));
    }
    let mut wrong = Vec::new();
    for (expected, task) in tasks {
        match task.await.map_err(|e| e.to_string())? {
            Ok(answer) if answer.status == expected => {}
            Ok(answer) => wrong.push(format!("expected {expected}, got {}", answer.summary())),
            Err(e) => wrong.push(e),
        }
    }
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} of 200 concurrent requests went wrong, e.g. {}",
            wrong.len(),
            wrong[0]
        ))
    }
}

async fn idle_heads(addr: SocketAddr) -> Result<(), String> {
    let mut idle = Vec::new();
    for _ in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        stream
            .write_all(b"POST /ingest/raw_data HTTP/1.1\r\nhost: localhost\r\ncontent-ty")
            .await
            .map_err(|e| e.to_string())?;
        idle.push(stream);
    }
    let answer = http::exchange(addr, post_json(RAW, raw("despite-idle", 1.0).to_string())).await?;
    let health = http::exchange(addr, http::get("/health")).await?;
    drop(idle);
    if answer.status == 200 && health.status == 200 {
        Ok(())
    } else {
        Err(format!(
            "while 200 connections idle: ingest {}, health {}",
            answer.summary(),
            health.summary()
        ))
    }
}
