//! Appending to a partition, and group commit.
//!
//! A producer writes its batch under the partition lock (one positioned write), then waits
//! until the partition is durable past its last record. Waiting producers queue on the
//! partition's sync lock; whoever holds it fsyncs everything written so far and publishes
//! the new durable end, so one fsync acknowledges every producer that wrote before it, and
//! producers that wrote during that fsync share the next one.
//!
//! A failed write is cut off at once. A failed fsync leaves the page cache in an unknown
//! state, so every unsynced byte is cut off and the partition's epoch bumped: producers
//! waiting for those records get an error (and retry), and nothing that was not fsynced is
//! ever served.

use std::fs::File;
use std::io;
use std::sync::Arc;
#[cfg(test)]
use std::sync::atomic::{AtomicBool, Ordering};

use super::disk::{io_error, sync_dir, write_all_at};
use super::partition::{Durable, Partition, State, SyncPoint};
use super::record::EncodedBatch;
use super::segment::{INDEX_INTERVAL_BYTES, IndexEntry, Segment};
use crate::stream::StreamError;

/// Where an append ended: wait for `Durable { offset >= end, epoch }`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Appended {
    pub end: u64,
    pub epoch: u64,
}

impl Partition {
    /// Writes a batch (blocking I/O); not yet durable.
    pub fn append(&self, batch: &mut EncodedBatch, now_ms: i64) -> Result<Appended, StreamError> {
        let mut state = self.lock();
        if state.dirty_tail {
            let active = state.active().clone();
            active.writer().set_len(state.write_pos).map_err(|e| {
                io_error(
                    format!("cutting off a failed append to {}", active.path.display()),
                    e,
                )
            })?;
            state.dirty_tail = false;
        }
        if state.write_pos > 0
            && state.write_pos + batch.buf.len() as u64 > self.config.segment_bytes
        {
            self.roll(&mut state)?;
        }
        let active = state.active().clone();
        let file = active.writer();
        let start = state.write_pos;
        let mut last_indexed = state.last_indexed;
        batch.assign_offsets(state.next_offset, |offset, pos| {
            let pos = start + pos as u64;
            if last_indexed.is_none_or(|last| pos >= last + INDEX_INTERVAL_BYTES) {
                active.push_index(IndexEntry { offset, pos });
                last_indexed = Some(pos);
            }
        });
        if let Err(e) = self.write(&file, &batch.buf, start) {
            state.last_indexed = active.truncate_index(start);
            state.dirty_tail = file.set_len(start).is_err();
            return Err(io_error(
                format!("appending to {}", active.path.display()),
                e,
            ));
        }
        state.last_indexed = last_indexed;
        state.write_pos += batch.buf.len() as u64;
        state.next_offset += batch.count;
        active.note_timestamp(batch.max_timestamp_ms);
        let appended = Appended {
            end: state.next_offset,
            epoch: state.epoch,
        };
        if let Err(e) = self.delete_expired(&mut state, now_ms) {
            // The append itself succeeded; retention is retried on the next append.
            tracing::warn!(error = %e, "applying retention failed");
        }
        Ok(appended)
    }

    /// Seals the active segment (after making it durable) and starts a new one.
    pub(super) fn roll(&self, state: &mut State) -> Result<(), StreamError> {
        let active = state.active().clone();
        if let Err(e) = self.sync(&active.writer()) {
            self.discard_unsynced(state);
            return Err(io_error(format!("fsyncing {}", active.path.display()), e));
        }
        state.synced = SyncPoint {
            offset: state.next_offset,
            pos: state.write_pos,
        };
        self.publish(state);
        let segment = Segment::create(&self.dir, state.next_offset)?;
        sync_dir(&self.dir)
            .map_err(|e| io_error(format!("syncing directory {}", self.dir.display()), e))?;
        active.seal();
        state.segments.push_back(Arc::new(segment));
        state.write_pos = 0;
        state.last_indexed = None;
        state.synced = SyncPoint {
            offset: state.next_offset,
            pos: 0,
        };
        Ok(())
    }

    /// Waits until the records before `appended.end` are durable, fsyncing for everyone
    /// when no other producer is doing it.
    pub async fn wait_durable(self: &Arc<Self>, appended: Appended) -> Result<(), StreamError> {
        loop {
            if self.is_durable(appended)? {
                return Ok(());
            }
            let _leader = self.sync_lock.lock().await;
            if self.is_durable(appended)? {
                return Ok(());
            }
            let (segment, file, target, epoch) = {
                let state = self.lock();
                let target = SyncPoint {
                    offset: state.next_offset,
                    pos: state.write_pos,
                };
                let active = state.active().clone();
                (active.clone(), active.writer(), target, state.epoch)
            };
            let partition = self.clone();
            let result = tokio::task::spawn_blocking(move || partition.sync(&file))
                .await
                .unwrap_or_else(|e| Err(io::Error::other(e)));
            let mut state = self.lock();
            match result {
                // A roll or a discard since the snapshot already moved the durable end.
                Ok(()) if state.epoch != epoch || state.synced.offset >= target.offset => {}
                Ok(()) => {
                    state.synced = target;
                    self.publish(&state);
                }
                Err(e) => {
                    if state.epoch == epoch {
                        self.discard_unsynced(&mut state);
                    }
                    return Err(io_error(format!("fsyncing {}", segment.path.display()), e));
                }
            }
        }
    }

    /// Whether `appended` is durable; an error if it was discarded.
    fn is_durable(&self, appended: Appended) -> Result<bool, StreamError> {
        let durable = *self.durable.borrow();
        if durable.epoch != appended.epoch {
            return Err(StreamError::Unavailable(format!(
                "records appended to {} were discarded because writing or fsyncing the partition \
                 failed (see the earlier error); retry",
                self.dir.display()
            )));
        }
        Ok(durable.offset >= appended.end)
    }

    /// Cuts the active segment back to its durable end after a failed fsync.
    fn discard_unsynced(&self, state: &mut State) {
        let active = state.active().clone();
        let synced = state.synced;
        if state.write_pos > synced.pos {
            tracing::warn!(
                segment = %active.path.display(),
                discarded_records = state.next_offset - synced.offset,
                "fsync failed; cutting off records that may not be on disk"
            );
        }
        state.last_indexed = active.truncate_index(synced.pos);
        state.dirty_tail = active.writer().set_len(synced.pos).is_err();
        state.next_offset = synced.offset;
        state.write_pos = synced.pos;
        state.epoch += 1;
        self.publish(state);
    }

    /// Writes `buf` at `pos` in the active segment.
    fn write(&self, file: &File, buf: &[u8], pos: u64) -> io::Result<()> {
        #[cfg(test)]
        if self.faults.fail_next_write.swap(false, Ordering::Relaxed) {
            // Like a disk filling up mid-batch: half the batch lands, then the error.
            write_all_at(file, &buf[..buf.len() / 2], pos)?;
            return Err(io::ErrorKind::StorageFull.into());
        }
        write_all_at(file, buf, pos)
    }

    /// Makes everything written to `file` durable.
    fn sync(&self, file: &File) -> io::Result<()> {
        #[cfg(test)]
        if self.faults.fail_next_sync.swap(false, Ordering::Relaxed) {
            return Err(io::Error::other("injected fsync failure"));
        }
        file.sync_data()
    }

    /// Publishes the durable end and wakes consumers.
    pub(super) fn publish(&self, state: &State) {
        let durable = Durable {
            offset: state.synced.offset,
            epoch: state.epoch,
        };
        let changed = self
            .durable
            .send_if_modified(|d| std::mem::replace(d, durable) != durable);
        if changed {
            self.wake.send_replace(());
        }
    }
}

/// Failures a test can inject into the next write or fsync of a partition.
#[cfg(test)]
#[derive(Debug, Default)]
pub(super) struct Faults {
    /// The next write stores half its batch, then fails as if the disk were full.
    pub fail_next_write: AtomicBool,
    /// The next fsync fails.
    pub fail_next_sync: AtomicBool,
}
