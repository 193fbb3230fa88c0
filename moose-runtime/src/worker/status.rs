//! Worker status, for `/ready` and logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// What a worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum WorkerState {
    /// Not yet consuming.
    Starting = 0,
    /// Consuming normally.
    Running = 1,
    /// Retrying a downstream that failed; consuming nothing meanwhile.
    Retrying = 2,
    /// Stopped.
    Stopped = 3,
}

/// A worker's state, shared with the HTTP server.
#[derive(Debug, Clone, Default)]
pub struct WorkerStatus(Arc<AtomicU8>);

impl WorkerStatus {
    /// Sets the state.
    pub fn set(&self, state: WorkerState) {
        self.0.store(state as u8, Ordering::Relaxed);
    }

    /// The state.
    pub fn get(&self) -> WorkerState {
        match self.0.load(Ordering::Relaxed) {
            0 => WorkerState::Starting,
            1 => WorkerState::Running,
            2 => WorkerState::Retrying,
            _ => WorkerState::Stopped,
        }
    }
}
