//! [`SyncLedger`]: the offset range each partition's next insert covers, written down before
//! the insert, so a batch retried after a crash is cut exactly as before.
//!
//! Insert deduplication tokens are derived from a batch's offset range. A crash between a
//! ClickHouse insert and the offset commit re-reads the batch from the committed offset, but
//! by then more records may have arrived, and a batch cut at a different end would carry a
//! different token: the server would store its rows a second time. So before each insert the
//! worker records `partition -> [start, end)` here (fsynced); after a restart, a partition
//! whose first record is at `start` is cut at exactly `end` again and inserted with the same
//! token, which the server recognises and skips.
//!
//! One small JSON file per sync group under `<data dir>/sync/`, replaced atomically
//! (write, fsync, rename, fsync the directory). Entries are overwritten by the next batch of
//! the partition and ignored once the committed offset has moved past them, so the file never
//! grows. If it cannot be written (disk full), the insert goes ahead anyway: only the
//! deduplication after a crash is lost, never data.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The recorded ranges of one sync group.
#[derive(Debug)]
pub struct SyncLedger {
    path: PathBuf,
    ranges: BTreeMap<u32, (u64, u64)>,
}

impl SyncLedger {
    /// Opens (or starts) the ledger of sync group `group` under `dir`. A missing or unreadable
    /// file is an empty ledger: without it, a retried batch may be stored twice, which
    /// at-least-once delivery allows.
    pub fn open(dir: &Path, group: &str) -> Self {
        let file: String = group
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let path = dir.join(format!("{file}.json"));
        let ranges = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<BTreeMap<u32, (u64, u64)>>(&bytes).ok())
            .unwrap_or_default();
        Self { path, ranges }
    }

    /// The recorded range of `partition`, `[start, end)`.
    pub fn range(&self, partition: u32) -> Option<(u64, u64)> {
        self.ranges.get(&partition).copied()
    }

    /// Records that the next insert of `partition` covers `[start, end)`; durable when `Ok`.
    pub fn record(&mut self, partition: u32, start: u64, end: u64) -> std::io::Result<()> {
        if self.ranges.get(&partition) == Some(&(start, end)) {
            return Ok(());
        }
        self.ranges.insert(partition, (start, end));
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = self.path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(&serde_json::to_vec(&self.ranges).expect("a map of numbers serializes"))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &self.path)?;
        std::fs::File::open(dir)?.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_survive_a_reopen_and_are_overwritten_per_partition() {
        let dir = tempfile::tempdir().unwrap();
        let group = "moose.sync.events.local/events";
        let mut ledger = SyncLedger::open(dir.path(), group);
        assert_eq!(ledger.range(0), None);
        ledger.record(0, 0, 100).unwrap();
        ledger.record(1, 5, 9).unwrap();
        ledger.record(0, 100, 250).unwrap();
        let reopened = SyncLedger::open(dir.path(), group);
        assert_eq!(reopened.range(0), Some((100, 250)));
        assert_eq!(reopened.range(1), Some((5, 9)));
        assert!(
            dir.path()
                .join("moose.sync.events.local_events.json")
                .is_file()
        );
    }

    #[test]
    fn a_damaged_file_is_an_empty_ledger() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("g.json"), b"{not json").unwrap();
        assert_eq!(SyncLedger::open(dir.path(), "g").range(0), None);
    }
}
