//! This process's resident memory, from `/proc/self/status`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A `/proc/self/status` field in KiB (`VmRSS`, `VmHWM`).
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak (`VmHWM`) to the current RSS, so a phase's peak is its own.
pub fn reset_peak() {
    // "5" resets the peak resident set size (proc(5), /proc/pid/clear_refs).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// `VmRSS` sampled every `every` until dropped.
pub struct RssSampler {
    samples: Arc<Mutex<Vec<(Instant, u64)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    pub fn start(every: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let sink = samples.clone();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let rss = status_kib("VmRSS");
                sink.lock()
                    .expect("not poisoned")
                    .push((Instant::now(), rss));
            }
        });
        Self { samples, task }
    }

    /// Samples taken in `[from, to)`, in KiB.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<u64> {
        self.samples
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(t, _)| *t >= from && *t < to)
            .map(|(_, kib)| *kib)
            .collect()
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// KiB as MiB, one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// CPU time (user + system, all threads) of process `pid` (`"self"` for this one), in
/// seconds, from `/proc/<pid>/stat`; 0 if it cannot be read.
pub fn cpu_seconds(pid: &str) -> f64 {
    // `utime` and `stime`.
    stat_seconds(pid, [14, 15])
}

/// CPU time of the children process `pid` has waited for (a ClickHouse server that was
/// killed and reaped), in seconds.
pub fn reaped_children_cpu_seconds(pid: &str) -> f64 {
    // `cutime` and `cstime`.
    stat_seconds(pid, [16, 17])
}

/// The sum of two clock-tick fields of `/proc/<pid>/stat` (1-based numbers), in seconds.
fn stat_seconds(pid: &str, fields: [usize; 2]) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start with field 3, `state`;
    // times are in clock ticks (USER_HZ, 100 on Linux).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let values: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        values
            .get(i - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (ticks(fields[0]) + ticks(fields[1])) as f64 / 100.0
}
