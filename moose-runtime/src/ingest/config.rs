//! [`IngestConfig`]: limits and authentication of the ingest API.

use std::time::Duration;

/// Default largest request body: 10 MiB.
///
/// Large enough for batches of tens of thousands of small records (which is what keeps the
/// per-request overhead low), small enough that a few concurrent requests cannot exhaust
/// memory, since a body is held in full while its records are validated.
pub const DEFAULT_BODY_LIMIT: usize = 10 * 1024 * 1024;

/// Default time a client has to send its whole request body: 30 s.
///
/// A 10 MiB body ([`DEFAULT_BODY_LIMIT`]) needs only ~350 KB/s to arrive in time, while a
/// client that stalls mid-body stops holding a connection and a buffer after half a minute.
pub const DEFAULT_REQUEST_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Default time a client has to send a request's line and headers: 30 s (hyper's own
/// default, which takes effect only when the server has a timer).
///
/// An honest client sends its head in one packet; without a bound, a client that sends it a
/// byte at a time, or opens connections and sends nothing, holds a connection and a file
/// descriptor each, forever, until no one else can connect.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Default most open HTTP connections: 512.
///
/// Each connection holds a file descriptor and a task; unbounded, a flood of idle
/// connections exhausts the process's descriptors (often 1,024) and then nobody, not even the
/// probes, can connect. Batching clients need few connections; 512 leaves room for the
/// descriptors of the stream log, ClickHouse and Kafka clients.
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// The environment variable that sets [`IngestConfig::body_limit`] (bytes); named in the
/// 413 answer so a client's operator knows what to change.
pub const BODY_LIMIT_ENV: &str = "MOOSE_INGEST_BODY_LIMIT";

/// Limits and authentication of the ingest API.
///
/// ```
/// use moose_runtime::ingest::IngestConfig;
///
/// let config = IngestConfig {
///     tokens: vec!["s3cret".into()],
///     ..IngestConfig::default()
/// };
/// assert_eq!(config.body_limit, 10 * 1024 * 1024);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IngestConfig {
    /// Largest accepted request body in bytes; larger ones get 413
    /// (`MOOSE_INGEST_BODY_LIMIT`, default [`DEFAULT_BODY_LIMIT`]).
    pub body_limit: usize,
    /// Accepted bearer tokens. Empty: no authentication. Otherwise every `/ingest/...`
    /// request needs `Authorization: Bearer <one of them>` (`MOOSE_INGEST_TOKEN`); an empty
    /// string in the list never matches.
    pub tokens: Vec<String>,
    /// How long a client has to send its whole request body; slower ones get 408
    /// (`MOOSE_INGEST_BODY_TIMEOUT_MS`, default [`DEFAULT_REQUEST_BODY_TIMEOUT`]).
    pub request_body_timeout: Duration,
    /// How long a client has to send a request's line and headers; then its connection is
    /// closed without an answer (`MOOSE_INGEST_HEADER_TIMEOUT_MS`, default
    /// [`DEFAULT_HEADER_READ_TIMEOUT`]). Enforced by [`serve`](super::serve).
    pub header_read_timeout: Duration,
    /// Open connections at most; one beyond them gets an immediate 503 with `Retry-After`
    /// and is closed (`MOOSE_INGEST_MAX_CONNECTIONS`, default [`DEFAULT_MAX_CONNECTIONS`]).
    /// Enforced by [`serve`](super::serve).
    pub max_connections: usize,
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            tokens: Vec::new(),
            request_body_timeout: DEFAULT_REQUEST_BODY_TIMEOUT,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

// Tokens must never reach a log, so `Debug` shows only how many there are.
impl std::fmt::Debug for IngestConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestConfig")
            .field("body_limit", &self.body_limit)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("request_body_timeout", &self.request_body_timeout)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .finish()
    }
}
