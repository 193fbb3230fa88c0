//! Committed offsets of consumer groups: `groups/<group>/<topic>.json`, replaced atomically
//! on every commit. Members of one group in this process share one in-memory copy, so each
//! commit writes every partition's offset, never losing another member's.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::disk::{file_name_for, io_error, sync_dir, write_atomic};
use crate::stream::StreamError;

/// The offsets file.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct OffsetsFile {
    group: String,
    topic: String,
    /// Partition -> offset of the next record to read.
    offsets: BTreeMap<u32, u64>,
}

/// One group's committed offsets on one topic.
#[derive(Debug)]
pub(super) struct GroupOffsets {
    path: PathBuf,
    file: Mutex<OffsetsFile>,
}

impl GroupOffsets {
    /// Loads the group's offsets under `groups_dir`; a new group has none.
    pub fn load(groups_dir: &Path, group: &str, topic: &str) -> Result<GroupOffsets, StreamError> {
        let path = groups_dir
            .join(file_name_for(group))
            .join(format!("{}.json", file_name_for(topic)));
        let file = match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                StreamError::Corrupt(format!(
                    "{} is not a valid offsets file: {e}; delete it to make group `{group}` start over \
                     from the beginning of topic `{topic}`",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                OffsetsFile { group: group.to_owned(), topic: topic.to_owned(), offsets: BTreeMap::new() }
            }
            Err(e) => return Err(io_error(format!("reading {}", path.display()), e)),
        };
        Ok(GroupOffsets {
            path,
            file: Mutex::new(file),
        })
    }

    /// The committed offset of a partition, or 0 (the beginning) if none.
    pub fn committed(&self, partition: u32) -> u64 {
        self.file
            .lock()
            .expect("group offsets lock")
            .offsets
            .get(&partition)
            .copied()
            .unwrap_or(0)
    }

    /// Records and persists offsets (blocking I/O). On failure the old offsets stay both
    /// on disk and in memory.
    pub fn commit(&self, offsets: &[(u32, u64)]) -> Result<(), StreamError> {
        let mut file = self.file.lock().expect("group offsets lock");
        let mut updated = file.offsets.clone();
        updated.extend(offsets.iter().copied());
        if updated == file.offsets {
            return Ok(());
        }
        let previous = std::mem::replace(&mut file.offsets, updated);
        if let Err(e) = self.write(&file) {
            file.offsets = previous;
            return Err(e);
        }
        Ok(())
    }

    fn write(&self, file: &OffsetsFile) -> Result<(), StreamError> {
        let dir = self
            .path
            .parent()
            .expect("offsets files live in a group directory");
        if !dir.exists() {
            fs::create_dir_all(dir)
                .map_err(|e| io_error(format!("creating {}", dir.display()), e))?;
            if let Some(parent) = dir.parent() {
                sync_dir(parent)
                    .map_err(|e| io_error(format!("syncing directory {}", parent.display()), e))?;
            }
        }
        let json = serde_json::to_vec_pretty(file).expect("offsets serialize");
        write_atomic(&self.path, &json)
            .map_err(|e| io_error(format!("committing offsets to {}", self.path.display()), e))
    }
}

#[cfg(test)]
mod tests {
    use super::GroupOffsets;

    #[test]
    fn commits_persist_and_merge() {
        let dir = tempfile::tempdir().unwrap();
        let a = GroupOffsets::load(dir.path(), "sync/t", "events").unwrap();
        assert_eq!(a.committed(0), 0);
        a.commit(&[(0, 5)]).unwrap();
        a.commit(&[(1, 7)]).unwrap();
        let b = GroupOffsets::load(dir.path(), "sync/t", "events").unwrap();
        assert_eq!((b.committed(0), b.committed(1), b.committed(2)), (5, 7, 0));
    }
}
