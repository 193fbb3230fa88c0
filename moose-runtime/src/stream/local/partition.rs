//! One partition: its segments, its write state and its high watermark (the durable end).
//!
//! Appending, group commit and discarding live in `append.rs`, retention in `retention.rs`.

use std::collections::VecDeque;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::config::LocalLogConfig;
use super::disk::{io_error, sync_dir};
use super::segment::{self, Segment, SegmentRef};
use crate::stream::{ConsumedRecord, StreamError};

/// How far a partition is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Durable {
    /// Offset after the last fsynced record: the high watermark consumers read up to.
    pub offset: u64,
    /// Bumped whenever unsynced records are discarded after a failed write or fsync, so a
    /// producer waiting for them learns they are gone even if their offsets are reused.
    pub epoch: u64,
}

/// A durable point in the active segment.
#[derive(Debug, Clone, Copy)]
pub(super) struct SyncPoint {
    pub offset: u64,
    pub pos: u64,
}

/// Everything an append changes, under one lock.
#[derive(Debug)]
pub(super) struct State {
    /// Oldest first; the last one is the active segment.
    pub segments: VecDeque<SegmentRef>,
    /// Offset the next appended record gets.
    pub next_offset: u64,
    /// Bytes written to the active segment.
    pub write_pos: u64,
    /// Position of the active segment's last index entry.
    pub last_indexed: Option<u64>,
    /// Durable end, always inside the active segment.
    pub synced: SyncPoint,
    pub epoch: u64,
    /// A failed append could not be cut off; retry before the next write.
    pub dirty_tail: bool,
}

impl State {
    pub fn active(&self) -> &SegmentRef {
        self.segments
            .back()
            .expect("a partition always has an active segment")
    }
}

/// Where a consumer's next read starts: an offset, and where it was last found in a
/// segment so a sequential reader skips the index lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Position {
    pub offset: u64,
    /// `(segment base, byte position)` of `offset`, when known.
    found: Option<(u64, u64)>,
}

impl Position {
    pub fn new(offset: u64) -> Self {
        Self {
            offset,
            found: None,
        }
    }
}

/// One partition of a topic.
#[derive(Debug)]
pub(super) struct Partition {
    pub id: u32,
    pub dir: PathBuf,
    pub config: LocalLogConfig,
    /// The topic's retention in milliseconds; changed in place by `alter_topic`.
    retention_ms: AtomicU64,
    pub state: Mutex<State>,
    /// Held by the producer doing an fsync for everyone (group commit).
    pub sync_lock: tokio::sync::Mutex<()>,
    pub durable: watch::Sender<Durable>,
    /// The topic's wake-up for waiting consumers.
    pub wake: Arc<watch::Sender<()>>,
    #[cfg(test)]
    pub faults: super::append::Faults,
}

impl Partition {
    /// Opens (or creates) the partition in `dir`: the last segment is scanned and a torn or
    /// damaged tail cut off (and logged); older segments are read on demand.
    pub fn open(
        dir: PathBuf,
        id: u32,
        config: LocalLogConfig,
        retention: Duration,
        wake: Arc<watch::Sender<()>>,
    ) -> Result<Partition, StreamError> {
        fs::create_dir_all(&dir)
            .map_err(|e| io_error(format!("creating partition directory {}", dir.display()), e))?;
        let mut bases = Vec::new();
        let entries =
            fs::read_dir(&dir).map_err(|e| io_error(format!("listing {}", dir.display()), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(format!("listing {}", dir.display()), e))?;
            if let Some(base) = entry
                .file_name()
                .to_str()
                .and_then(segment::parse_file_name)
            {
                bases.push(base);
            }
        }
        bases.sort_unstable();
        let mut segments = VecDeque::with_capacity(bases.len().max(1));
        for &base in &bases {
            let active = Some(&base) == bases.last();
            let path = dir.join(segment::file_name(base));
            segments.push_back(Arc::new(Segment::open(path, base, active)?));
        }
        if segments.is_empty() {
            segments.push_back(Arc::new(Segment::create(&dir, 0)?));
            sync_dir(&dir)
                .map_err(|e| io_error(format!("syncing directory {}", dir.display()), e))?;
        }
        let active = segments.back().expect("just ensured").clone();
        let (next_offset, write_pos, last_indexed) = recover(&active)?;
        let state = State {
            segments,
            next_offset,
            write_pos,
            last_indexed,
            synced: SyncPoint {
                offset: next_offset,
                pos: write_pos,
            },
            epoch: 0,
            dirty_tail: false,
        };
        Ok(Partition {
            id,
            dir,
            config,
            retention_ms: AtomicU64::new(duration_ms(retention)),
            state: Mutex::new(state),
            sync_lock: tokio::sync::Mutex::new(()),
            durable: watch::Sender::new(Durable {
                offset: next_offset,
                epoch: 0,
            }),
            wake,
            #[cfg(test)]
            faults: Default::default(),
        })
    }

    /// How long records are kept.
    pub fn retention(&self) -> Duration {
        Duration::from_millis(self.retention_ms.load(Ordering::Relaxed))
    }

    /// Changes how long records are kept; the next append or retention pass applies it.
    pub fn set_retention(&self, retention: Duration) {
        self.retention_ms
            .store(duration_ms(retention), Ordering::Relaxed);
    }

    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("partition state lock poisoned by an earlier panic")
    }

    /// Offset after the last durable record.
    pub fn high_watermark(&self) -> u64 {
        self.durable.borrow().offset
    }

    /// Oldest retained offset.
    pub fn log_start(&self) -> u64 {
        self.lock()
            .segments
            .front()
            .expect("a partition always has a segment")
            .base
    }

    /// Reads up to `max` durable records from `at` on (moved up to the oldest retained
    /// offset if that was deleted). Returns where the next read starts.
    pub fn read(
        &self,
        mut at: Position,
        max: usize,
        out: &mut Vec<ConsumedRecord>,
    ) -> Result<Position, StreamError> {
        let mut left = max;
        loop {
            let end = self.high_watermark();
            let (segment, segment_end) = {
                let state = self.lock();
                let start = state
                    .segments
                    .front()
                    .expect("a partition always has a segment")
                    .base;
                if at.offset < start {
                    at = Position::new(start);
                }
                if at.offset >= end || left == 0 {
                    return Ok(at);
                }
                let i = state.segments.partition_point(|s| s.base <= at.offset) - 1;
                let segment_end = state.segments.get(i + 1).map_or(end, |s| s.base.min(end));
                (state.segments[i].clone(), segment_end)
            };
            let hint = at
                .found
                .filter(|&(base, _)| base == segment.base)
                .map(|(_, pos)| pos);
            let before = out.len();
            let Some((next, pos)) =
                segment.read(self.id, at.offset, segment_end, left, hint, out)?
            else {
                // Retention deleted it between the lookup and the read: look up again.
                if self
                    .lock()
                    .segments
                    .iter()
                    .any(|s| Arc::ptr_eq(s, &segment))
                {
                    return Err(StreamError::Corrupt(format!(
                        "segment {} is missing; restore the data directory from a backup or \
                         delete the topic's directory to start it over",
                        segment.path.display()
                    )));
                }
                continue;
            };
            left -= out.len() - before;
            at = Position {
                offset: next,
                found: Some((segment.base, pos)),
            };
        }
    }
}

/// Scans the active segment, cuts off a torn tail, and returns
/// `(next offset, bytes, last index position)`.
fn recover(active: &Segment) -> Result<(u64, u64, Option<u64>), StreamError> {
    let file = active.writer();
    let scan = active.scan(&file)?;
    let path = &active.path;
    let len = file
        .metadata()
        .map_err(|e| io_error(format!("reading the size of {}", path.display()), e))?
        .len();
    if scan.valid_len < len {
        tracing::warn!(
            segment = %path.display(),
            truncated_bytes = len - scan.valid_len,
            reason = scan.torn.unwrap_or("trailing bytes"),
            "cutting off the torn or damaged tail of a segment (a write cut short by a crash); \
             it is never served, and appends continue at offset {}",
            scan.next_offset,
        );
        file.set_len(scan.valid_len)
            .and_then(|()| file.sync_all())
            .map_err(|e| io_error(format!("truncating the torn tail of {}", path.display()), e))?;
    }
    let last_indexed = scan.index.last().map(|e| e.pos);
    active
        .max_timestamp_ms
        .store(scan.max_timestamp_ms, std::sync::atomic::Ordering::Relaxed);
    active.set_index(scan.index);
    Ok((scan.next_offset, scan.valid_len, last_indexed))
}

/// A duration in whole milliseconds, saturating.
pub(super) fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The directory of partition `id` under a topic directory.
pub(super) fn dir(topic_dir: &Path, id: u32) -> PathBuf {
    topic_dir.join(id.to_string())
}
