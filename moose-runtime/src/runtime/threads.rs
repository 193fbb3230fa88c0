//! [`WorkerThreads`]: the threads transforms, consumers and table syncs run on, apart from
//! the ones serving ingest.
//!
//! On one runtime a transform or sync batch holds a thread until it yields (every
//! [`RECORDS_PER_YIELD`](crate::graph::RECORDS_PER_YIELD) records), and an ingest request
//! that arrives meanwhile waits for it. On their own runtime the workers' threads compete
//! with ingest's only through the kernel's scheduler, and they run at a lower priority
//! (`nice` +[`WORKER_NICE`] on Linux), so the kernel lets an ingest thread in first. The
//! workers still get every cycle ingest leaves.

use std::io;

use tokio::runtime::{Builder, Handle, Runtime};

/// How much lower the workers' scheduling priority is than ingest's (Linux `nice`).
pub const WORKER_NICE: i32 = 5;

/// The workers' own runtime, or none (they run on the caller's).
pub(crate) struct WorkerThreads {
    runtime: Option<Runtime>,
}

impl WorkerThreads {
    /// `threads` worker threads at a lower priority; 0: none of their own.
    pub fn new(threads: usize) -> io::Result<Self> {
        if threads == 0 {
            return Ok(Self { runtime: None });
        }
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("moose-worker")
            .on_thread_start(lower_priority)
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    /// Where worker tasks are spawned: the workers' runtime, or the caller's.
    pub fn handle(&self) -> Handle {
        match &self.runtime {
            Some(runtime) => runtime.handle().clone(),
            None => Handle::current(),
        }
    }
}

impl Drop for WorkerThreads {
    fn drop(&mut self) {
        // Dropping a runtime waits for its threads, which an async context may not do; by now
        // every worker has been joined, so nothing is left to wait for.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Lowers the calling thread's scheduling priority (per thread on Linux; lowering needs no
/// privilege). Elsewhere the threads run at the same priority as ingest's.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain syscalls on the calling thread, no memory passed.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        if libc::setpriority(libc::PRIO_PROCESS, tid, current + WORKER_NICE) != 0 {
            tracing::debug!(
                error = %io::Error::last_os_error(),
                "could not lower a worker thread's priority"
            );
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The workers' threads run `WORKER_NICE` below the thread that made them.
    #[test]
    fn worker_threads_run_at_a_lower_priority() {
        let nice = |tid: libc::id_t| unsafe { libc::getpriority(libc::PRIO_PROCESS, tid) };
        let own = nice(unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t);
        let threads = WorkerThreads::new(1).unwrap();
        let worker = futures::executor::block_on(threads.handle().spawn(async move {
            (
                std::thread::current().name().map(str::to_owned),
                nice(unsafe { libc::syscall(libc::SYS_gettid) } as libc::id_t),
            )
        }))
        .unwrap();
        assert_eq!(worker, (Some("moose-worker".to_owned()), own + WORKER_NICE));
        assert!(WorkerThreads::new(0).unwrap().runtime.is_none());
    }
}
