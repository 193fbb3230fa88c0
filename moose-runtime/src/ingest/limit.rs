//! A bound on the memory ingest requests hold at once.
//!
//! A request holds its whole body while its records are validated, then the encoded records
//! (about as large again) until the stream confirms them. The body limit bounds one request;
//! this bounds how many are read at once, so many concurrent large requests cannot take
//! memory without limit. A request over the bound waits before its body is read: it costs a
//! connection, not a buffer, and TCP flow control slows its sender.

use tokio::sync::{Semaphore, SemaphorePermit};

/// Body bytes (counted at the body limit per request) that ingest requests may hold at once:
/// 256 MiB, which with the 10 MiB default body limit is 25 requests in flight, far more than
/// the stream's group commit needs to stay busy.
pub const MAX_BODY_BYTES_IN_FLIGHT: usize = 256 << 20;

/// Requests being read, validated or written, at most `MAX_BODY_BYTES_IN_FLIGHT / body_limit`
/// (at least one).
pub(super) struct InFlight(Semaphore);

impl InFlight {
    pub(super) fn new(body_limit: usize) -> Self {
        Self(Semaphore::new(
            (MAX_BODY_BYTES_IN_FLIGHT / body_limit.max(1)).max(1),
        ))
    }

    /// Waits for room for one more request.
    pub(super) async fn enter(&self) -> SemaphorePermit<'_> {
        self.0
            .acquire()
            .await
            .expect("the ingest request semaphore is never closed")
    }

    #[cfg(test)]
    pub(super) fn room(&self) -> usize {
        self.0.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_follows_the_body_limit() {
        assert_eq!(InFlight::new(10 * 1024 * 1024).room(), 25);
        assert_eq!(InFlight::new(1024).room(), 262_144);
        assert_eq!(InFlight::new(1 << 30).room(), 1);
    }
}
