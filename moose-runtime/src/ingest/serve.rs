//! [`serve`]: the HTTP server for the ingest API, with a bound on slow request heads and on
//! open connections.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

use super::config::IngestConfig;
use super::error::RETRY_AFTER_SECONDS;

/// Pause after `accept` fails for a reason other than one connection's (most likely the
/// process is out of file descriptors): it rarely clears at once, and retrying in a tight
/// loop would only burn a core.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// How long a refused connection (over [`IngestConfig::max_connections`]) is read from after
/// its 503 is written, so the request it already sent does not turn the close into a reset
/// that hides the answer.
const REFUSAL_LINGER: Duration = Duration::from_millis(500);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes; then stops accepting,
/// lets every connection finish the request it is in, and returns.
///
/// What `axum::serve` does, plus a timer, without which hyper enforces no header timeout: a
/// client gets `config.header_read_timeout` to send a request's line and headers (counted
/// from the moment the server waits for them: the connection's start, or the previous answer
/// on a kept-alive connection), then its connection is closed without an answer. Otherwise a
/// client that sends its head a byte at a time, or nothing, holds a connection and a file
/// descriptor forever, and blocks a graceful shutdown.
///
/// At most `config.max_connections` connections are served at once; one beyond them is
/// answered `503` with `Retry-After` and closed, so a flood of connections neither grows
/// without bound nor leaves clients hanging.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// let config = moose_runtime::ingest::IngestConfig::default();
/// moose_runtime::ingest::serve(listener, app, &config, std::future::pending()).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    config: &IngestConfig,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(config.header_read_timeout);
    let open = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) if is_connection_error(&error) => continue,
                Err(error) => {
                    tracing::warn!(%error, "accepting an HTTP connection failed; retrying in 1 s");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = open.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream, config.max_connections));
            continue;
        };
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Clients that break off, send garbage or time out end up here; their own
            // answers (if any) already said what went wrong.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// Answers a connection over the limit: 503 with `Retry-After`, then a short lingering close
/// (read and discard what the client sent, so closing does not reset the connection before
/// the answer is read).
async fn refuse(mut stream: TcpStream, limit: usize) {
    tracing::warn!(
        limit,
        "refusing an HTTP connection: too many open connections"
    );
    let body = format!(
        "{{\"error\":\"too many open connections (the limit is {limit}, \
         MOOSE_INGEST_MAX_CONNECTIONS); nothing was read or written, retry shortly\",\
         \"retryable\":true}}"
    );
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: {RETRY_AFTER_SECONDS}\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(answer.as_bytes()).await.is_err() || stream.shutdown().await.is_err() {
        return;
    }
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(REFUSAL_LINGER, async {
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Errors of one connection that came and went before it was accepted.
fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
