//! Exponential backoff for retrying a downstream that is down.

use std::time::Duration;

/// Doubling delays from 100 ms up to 5 s: quick recovery from blips, and at most one attempt
/// every few seconds against a server that is really down.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
}

/// First retry delay.
const INITIAL: Duration = Duration::from_millis(100);
/// Longest delay between attempts.
const MAX: Duration = Duration::from_secs(5);

impl Default for Backoff {
    fn default() -> Self {
        Self { next: INITIAL }
    }
}

impl Backoff {
    /// The delay to wait now; the next one is twice as long (capped).
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(MAX);
        delay
    }

    /// Back to the shortest delay after a success.
    pub fn reset(&mut self) {
        self.next = INITIAL;
    }
}
