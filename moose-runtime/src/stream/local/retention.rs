//! Time-based retention: whole segments whose newest record is older than the topic's
//! retention are deleted, oldest first. The active segment is sealed first when it has
//! expired too, so a topic that stopped receiving data empties out.

use std::fs;

use super::disk::{io_error, sync_dir};
use super::partition::{Partition, State};
use crate::stream::StreamError;

impl Partition {
    /// The newest timestamp a segment may have and still be deleted.
    fn cutoff_ms(&self, now_ms: i64) -> i64 {
        let retention_ms = i64::try_from(self.retention().as_millis()).unwrap_or(i64::MAX);
        now_ms.saturating_sub(retention_ms)
    }

    /// Deletes expired sealed segments; cheap when there are none (one comparison).
    pub(super) fn delete_expired(
        &self,
        state: &mut State,
        now_ms: i64,
    ) -> Result<usize, StreamError> {
        let cutoff = self.cutoff_ms(now_ms);
        let mut deleted = 0;
        let mut result = Ok(());
        while state.segments.len() > 1 && state.segments[0].newest_ms() < cutoff {
            let path = &state.segments[0].path;
            // Readers holding the segment keep their open handle, so unlinking is safe.
            if let Err(e) = fs::remove_file(path) {
                result = Err(io_error(
                    format!("deleting expired segment {}", path.display()),
                    e,
                ));
                break;
            }
            tracing::debug!(segment = %path.display(), "deleted an expired segment");
            state.segments.pop_front();
            deleted += 1;
        }
        if deleted > 0 {
            sync_dir(&self.dir)
                .map_err(|e| io_error(format!("syncing directory {}", self.dir.display()), e))?;
        }
        result.map(|()| deleted)
    }

    /// Applies retention now; returns how many segments were deleted.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<usize, StreamError> {
        let mut state = self.lock();
        if state.write_pos > 0 && state.active().newest_ms() < self.cutoff_ms(now_ms) {
            // Everything in it is older than the retention; sealing it makes it deletable.
            self.roll(&mut state)?;
        }
        self.delete_expired(&mut state, now_ms)
    }
}
