//! The runtime an [`App`] runs on, as its handles see it: [`Stream::send`](super::Stream::send)
//! and [`OlapTable::insert`](super::OlapTable::insert) reach the stream backend, the
//! ClickHouse server and the physical names through it.
//!
//! [`Runtime::start`](crate::runtime::Runtime) registers itself with the app it runs (before
//! any worker starts, so a consumer can publish from its first record) and unregisters at
//! [`Runtime::shutdown`](crate::runtime::Runtime::shutdown) (after the workers have finished,
//! so one finishing its last batch can still publish) or when dropped. Every clone of an app
//! shares one slot, so a handle captured anywhere — a consumer closure, a background task, an
//! axum handler — sees the runtime. Two runtimes started from one app (tests do this) are
//! both registered; handles use the one started last that still runs.

use std::sync::{Arc, Mutex, MutexGuard, Weak};

use super::app::App;
use crate::clickhouse::ClickHouse;
use crate::plan::{DesiredTable, DesiredTopic};
use crate::stream::StreamBackend;
use crate::topology::Topology;

/// What a started runtime lends an app's handles.
pub(crate) struct Running {
    /// The stream backend's data plane.
    pub streams: Arc<dyn StreamBackend>,
    /// The ClickHouse server the runtime's syncs insert into.
    pub clickhouse: ClickHouse,
    /// The graph as resolved at start: topics and tables in physical names, indexed like the
    /// graph's streams and tables.
    pub topology: Topology,
}

impl Running {
    /// The topic of the graph's stream `index`, declared as `name`; `None` for a stream
    /// declared after the runtime resolved the graph.
    pub fn topic(&self, index: usize, name: &str) -> Option<&DesiredTopic> {
        self.topology
            .resources
            .topics
            .get(index)
            .filter(|t| t.declared == name)
    }

    /// The table of the graph's table `index`, declared as `name`; `None` for a table
    /// declared after the runtime resolved the graph.
    pub fn table(&self, index: usize, name: &str) -> Option<&DesiredTable> {
        self.topology
            .resources
            .tables
            .get(index)
            .filter(|t| t.declared == name)
    }
}

/// The runtimes registered with one app (shared by all its clones).
#[derive(Default)]
pub(crate) struct RuntimeSlot {
    running: Mutex<Vec<Arc<Running>>>,
}

impl RuntimeSlot {
    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Running>>> {
        // Pushing and removing an `Arc` cannot leave the list half-updated.
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The runtime started last that still runs.
    pub fn current(&self) -> Option<Arc<Running>> {
        self.lock().last().cloned()
    }
}

/// Keeps a runtime registered with its app until dropped.
pub(crate) struct Registration {
    slot: Weak<RuntimeSlot>,
    running: Arc<Running>,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration").finish_non_exhaustive()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.upgrade() {
            slot.lock().retain(|r| !Arc::ptr_eq(r, &self.running));
        }
    }
}

impl App {
    /// Registers a started runtime: the app's handles send and insert through it until the
    /// returned guard is dropped.
    pub(crate) fn register_runtime(&self, running: Running) -> Registration {
        let running = Arc::new(running);
        self.runtime.lock().push(running.clone());
        Registration {
            slot: Arc::downgrade(&self.runtime),
            running,
        }
    }

    /// The runtime this app runs on, if any.
    pub(crate) fn running(&self) -> Option<Arc<Running>> {
        self.runtime.current()
    }
}
