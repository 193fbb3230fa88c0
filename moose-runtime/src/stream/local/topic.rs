//! A topic: its metadata file (`topic.json`), its partitions, and key partitioning.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::watch;

use super::config::LocalLogConfig;
use super::disk::{io_error, sync_dir, write_atomic};
use super::partition::{self, Partition};
use crate::stream::{StreamError, TopicSpec};

/// Name of the metadata file in a topic directory; its presence is what makes a topic exist.
pub(super) const TOPIC_FILE: &str = "topic.json";

/// Version of the segment format written by this code.
const FORMAT_VERSION: u32 = 1;

/// `topic.json`.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct TopicFile {
    name: String,
    partitions: u32,
    retention_ms: u64,
    format: u32,
}

/// An open topic.
#[derive(Debug)]
pub(super) struct Topic {
    pub spec: TopicSpec,
    /// The topic's directory.
    pub dir: PathBuf,
    pub partitions: Vec<Arc<Partition>>,
    /// Next partition for a record with an empty key.
    round_robin: AtomicU64,
    /// Fires whenever a partition's durable end moves.
    pub wake: Arc<watch::Sender<()>>,
}

impl Topic {
    /// Creates the topic's directories and partitions, then writes `topic.json` last, so an
    /// interrupted creation leaves no half topic behind.
    pub fn create(
        dir: &Path,
        spec: &TopicSpec,
        config: LocalLogConfig,
    ) -> Result<Topic, StreamError> {
        if spec.partitions == 0 {
            return Err(StreamError::Other(format!(
                "topic `{}` needs at least one partition; set the stream's parallelism to 1 or more",
                spec.name
            )));
        }
        // A directory without `topic.json` is a creation or deletion cut short: nothing in
        // it was ever acknowledged (records are accepted only once the metadata exists), and
        // a deleted topic's records must not come back, so it starts over empty.
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| {
                io_error(
                    format!("clearing leftover topic directory {}", dir.display()),
                    e,
                )
            })?;
        }
        fs::create_dir_all(dir)
            .map_err(|e| io_error(format!("creating topic directory {}", dir.display()), e))?;
        let topic = Topic::with_partitions(dir, spec.clone(), config)?;
        write_metadata(dir, spec)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)
                .map_err(|e| io_error(format!("syncing directory {}", parent.display()), e))?;
        }
        Ok(topic)
    }

    /// This topic changed to `spec`: retention set on every partition, and partitions added
    /// up to `spec.partitions` (never fewer). The new partitions' directories are created
    /// before `topic.json` names them, so a crash leaves the old topic or the new one.
    /// Existing partitions are shared, not reopened.
    pub fn altered(&self, spec: TopicSpec, config: LocalLogConfig) -> Result<Topic, StreamError> {
        let current = self.partitions.len() as u32;
        if spec.partitions < current {
            return Err(StreamError::Other(format!(
                "topic `{}` has {current} partitions and cannot shrink to {}: records in the \
                 removed partitions would be lost and keys would move; keep the parallelism at \
                 {current} or more, or give the stream a new version (a new topic)",
                spec.name, spec.partitions
            )));
        }
        let mut partitions = self.partitions.clone();
        for id in current..spec.partitions {
            let dir = partition::dir(&self.dir, id);
            partitions.push(Arc::new(Partition::open(
                dir,
                id,
                config,
                spec.retention,
                self.wake.clone(),
            )?));
        }
        if spec.partitions > current {
            sync_dir(&self.dir)
                .map_err(|e| io_error(format!("syncing directory {}", self.dir.display()), e))?;
        }
        write_metadata(&self.dir, &spec)?;
        for partition in &partitions {
            partition.set_retention(spec.retention);
        }
        Ok(Topic {
            spec,
            dir: self.dir.clone(),
            partitions,
            round_robin: AtomicU64::new(self.round_robin.load(Ordering::Relaxed)),
            wake: self.wake.clone(),
        })
    }

    /// Opens a topic from its directory, recovering each partition.
    pub fn open(dir: &Path, config: LocalLogConfig) -> Result<Topic, StreamError> {
        let path = dir.join(TOPIC_FILE);
        let bytes =
            fs::read(&path).map_err(|e| io_error(format!("reading {}", path.display()), e))?;
        let file: TopicFile = serde_json::from_slice(&bytes).map_err(|e| {
            StreamError::Corrupt(format!(
                "{} is not valid topic metadata: {e}; restore it or delete the topic directory",
                path.display()
            ))
        })?;
        if file.format != FORMAT_VERSION || file.partitions == 0 {
            return Err(StreamError::Corrupt(format!(
                "{} has format {} and {} partitions; this moose reads format {FORMAT_VERSION} with at least one partition",
                path.display(),
                file.format,
                file.partitions
            )));
        }
        let spec = TopicSpec {
            name: file.name,
            partitions: file.partitions,
            retention: Duration::from_millis(file.retention_ms),
        };
        Topic::with_partitions(dir, spec, config)
    }

    fn with_partitions(
        dir: &Path,
        spec: TopicSpec,
        config: LocalLogConfig,
    ) -> Result<Topic, StreamError> {
        let wake = Arc::new(watch::Sender::new(()));
        let partitions = (0..spec.partitions)
            .map(|id| {
                let dir: PathBuf = partition::dir(dir, id);
                Partition::open(dir, id, config, spec.retention, wake.clone()).map(Arc::new)
            })
            .collect::<Result<_, _>>()?;
        Ok(Topic {
            spec,
            dir: dir.to_path_buf(),
            partitions,
            round_robin: AtomicU64::new(0),
            wake,
        })
    }

    /// The partition for a key: FNV-1a of the key modulo the partition count (stable across
    /// runs and versions), or round-robin for an empty key.
    pub fn partition_for(&self, key: &[u8]) -> usize {
        let n = self.partitions.len() as u64;
        if n == 1 {
            return 0;
        }
        let slot = if key.is_empty() {
            self.round_robin.fetch_add(1, Ordering::Relaxed)
        } else {
            fnv1a(key)
        };
        (slot % n) as usize
    }
}

/// Writes `topic.json` for `spec` atomically.
fn write_metadata(dir: &Path, spec: &TopicSpec) -> Result<(), StreamError> {
    let file = TopicFile {
        name: spec.name.clone(),
        partitions: spec.partitions,
        retention_ms: partition::duration_ms(spec.retention),
        format: FORMAT_VERSION,
    };
    let json = serde_json::to_vec_pretty(&file).expect("topic metadata serializes");
    sync_dir(dir).map_err(|e| io_error(format!("syncing directory {}", dir.display()), e))?;
    let path = dir.join(TOPIC_FILE);
    write_atomic(&path, &json).map_err(|e| io_error(format!("writing {}", path.display()), e))
}

/// 64-bit FNV-1a: simple, fast on short keys, and fixed forever (partitioning depends on it).
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::fnv1a;

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
