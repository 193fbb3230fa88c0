//! [`serve`]: the HTTP server for the ingest API, with a bound on slow request heads.

use std::future::Future;
use std::io;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

/// Pause after `accept` fails for a reason other than one connection's (most likely the
/// process is out of file descriptors): it rarely clears at once, and retrying in a tight
/// loop would only burn a core.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_secs(1);

/// Serves `app` over HTTP/1.1 on `listener` until `shutdown` completes; then stops accepting,
/// lets every connection finish the request it is in, and returns.
///
/// What `axum::serve` does, plus a timer, without which hyper enforces no header timeout: a
/// client gets `header_read_timeout` to send a request's line and headers (counted from the
/// moment the server waits for them: the connection's start, or the previous answer on a
/// kept-alive connection), then its connection is closed without an answer. Otherwise a
/// client that sends its head a byte at a time, or nothing, holds a connection and a file
/// descriptor forever, and blocks a graceful shutdown.
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// moose_runtime::ingest::serve(listener, app, Duration::from_secs(30), std::future::pending()).await;
/// # Ok(())
/// # }
/// ```
pub async fn serve(
    listener: TcpListener,
    app: Router,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout);
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
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Clients that break off, send garbage or time out end up here; their own
            // answers (if any) already said what went wrong.
            if let Err(error) = connection.await {
                tracing::debug!(%error, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
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
