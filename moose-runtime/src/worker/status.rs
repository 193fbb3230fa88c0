//! What each worker is doing, and what `/ready` makes of it ([`Readiness`]).

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A worker failing this long (a table sync whose inserts ClickHouse refuses, a transform
/// whose destination stream does not take writes) makes `/ready` answer 503: long enough to
/// ride out a server restart, short enough that a load balancer or an operator notices.
pub const DEFAULT_UNREADY_AFTER: Duration = Duration::from_secs(30);

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

/// A worker's state, shared with `/ready`.
#[derive(Debug, Clone, Default)]
pub struct WorkerStatus(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    name: String,
    state: AtomicU8,
    /// Since when it has been retrying, and the last failure.
    failing: Mutex<Option<(Instant, String)>>,
}

impl WorkerStatus {
    /// The status of worker `name` (as logs and `/ready` name it).
    pub fn named(name: impl Into<String>) -> Self {
        WorkerStatus(Arc::new(Inner {
            name: name.into(),
            ..Inner::default()
        }))
    }

    /// Sets the state; leaving [`WorkerState::Retrying`] forgets the failure.
    pub fn set(&self, state: WorkerState) {
        self.0.state.store(state as u8, Ordering::Relaxed);
        if state != WorkerState::Retrying {
            *self.0.failing.lock().expect("status lock") = None;
        }
    }

    /// Retrying after `error`; the first failure of a run of them starts the clock.
    pub fn failing(&self, error: &dyn std::fmt::Display) {
        self.0
            .state
            .store(WorkerState::Retrying as u8, Ordering::Relaxed);
        let mut failing = self.0.failing.lock().expect("status lock");
        let since = failing
            .as_ref()
            .map_or_else(Instant::now, |(since, _)| *since);
        *failing = Some((since, error.to_string()));
    }

    /// The state.
    pub fn get(&self) -> WorkerState {
        match self.0.state.load(Ordering::Relaxed) {
            0 => WorkerState::Starting,
            1 => WorkerState::Running,
            2 => WorkerState::Retrying,
            _ => WorkerState::Stopped,
        }
    }

    /// Why this worker keeps the app from being ready, if it does.
    fn problem(&self, unready_after: Duration) -> Option<String> {
        match self.get() {
            WorkerState::Stopped => Some(format!("worker `{}` stopped", self.0.name)),
            WorkerState::Retrying => {
                let failing = self.0.failing.lock().expect("status lock");
                let (since, error) = failing.as_ref()?;
                let failed_for = since.elapsed();
                (failed_for >= unready_after).then(|| {
                    format!(
                        "`{}` has been failing for {} s: {error}",
                        self.0.name,
                        failed_for.as_secs()
                    )
                })
            }
            WorkerState::Starting | WorkerState::Running => None,
        }
    }
}

/// Whether the app can do its job, for `/ready`: started, not stopping, every worker alive,
/// none failing for longer than `unready_after`.
#[derive(Debug)]
pub struct Readiness {
    started: AtomicBool,
    stopping: AtomicBool,
    unready_after: Duration,
    workers: Mutex<Vec<WorkerStatus>>,
}

impl Readiness {
    /// Not started yet.
    pub fn new(unready_after: Duration) -> Self {
        Readiness {
            started: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            unready_after,
            workers: Mutex::new(Vec::new()),
        }
    }

    /// Ready from the start (for tests of the HTTP layer alone).
    pub fn always() -> Self {
        let readiness = Readiness::new(DEFAULT_UNREADY_AFTER);
        readiness.started();
        readiness
    }

    /// Watches these workers too.
    pub fn watch(&self, workers: impl IntoIterator<Item = WorkerStatus>) {
        self.workers.lock().expect("readiness lock").extend(workers);
    }

    /// Everything started.
    pub fn started(&self) {
        self.started.store(true, Ordering::SeqCst);
    }

    /// Not started, or started again: `/ready` answers 503 while this is so.
    pub fn set_started(&self, started: bool) {
        self.started.store(started, Ordering::SeqCst);
    }

    /// Shutting down: workers stopping is expected from now on.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::SeqCst);
    }

    /// Whether it has started.
    pub fn is_started(&self) -> bool {
        self.started.load(Ordering::SeqCst)
    }

    /// Why the app is not ready (empty when it is), workers' reasons only.
    pub fn worker_problems(&self) -> Vec<String> {
        if self.stopping.load(Ordering::SeqCst) {
            return vec!["the app is shutting down".into()];
        }
        self.workers
            .lock()
            .expect("readiness lock")
            .iter()
            .filter_map(|w| w.problem(self.unready_after))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_failing_longer_than_the_threshold_or_stopped_is_a_reason() {
        let readiness = Readiness::new(Duration::from_millis(50));
        let sync = WorkerStatus::named("final_stream -> local.final_stream");
        readiness.watch([sync.clone()]);
        sync.set(WorkerState::Running);
        assert!(readiness.worker_problems().is_empty());
        sync.failing(&"connection refused");
        assert!(readiness.worker_problems().is_empty(), "not for long yet");
        std::thread::sleep(Duration::from_millis(60));
        sync.failing(&"connection refused again");
        let problems = readiness.worker_problems();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].starts_with("`final_stream -> local.final_stream` has been failing for")
                && problems[0].ends_with("connection refused again"),
            "{problems:?}"
        );
        sync.set(WorkerState::Running);
        assert!(readiness.worker_problems().is_empty(), "recovered");
        sync.set(WorkerState::Stopped);
        assert_eq!(
            readiness.worker_problems(),
            ["worker `final_stream -> local.final_stream` stopped"]
        );
        readiness.stopping();
        assert_eq!(readiness.worker_problems(), ["the app is shutting down"]);
    }
}
