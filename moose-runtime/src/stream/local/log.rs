//! [`LocalLog`]: opening the data directory, topics, retention and health.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use super::config::LocalLogConfig;
use super::disk::{file_name_for, io_error, sync_dir};
use super::groups::GroupOffsets;
use super::lock::DirLock;
use super::topic::{TOPIC_FILE, Topic};
use crate::stream::{StreamError, TopicChange, TopicSpec};

/// Sub-directory of the data directory holding one directory per topic.
const TOPICS_DIR: &str = "topics";
/// Sub-directory of the data directory holding committed offsets, one directory per group.
const GROUPS_DIR: &str = "groups";

/// The embedded durable stream log: topics with partitions, fsynced appends with group
/// commit, consumer groups with committed offsets, time retention and crash recovery, all
/// in one directory that one process at a time may open.
///
/// Cloning is cheap and shares the log. The directory stays locked until the last clone and
/// the last consumer made from it are dropped. There is nothing to flush on shutdown:
/// whatever [`produce`](crate::stream::StreamBackend::produce) acknowledged is already on
/// disk.
///
/// ```no_run
/// use moose_runtime::stream::local::LocalLog;
///
/// let log = LocalLog::open(std::path::Path::new(".moose/streams"))?;
/// # Ok::<(), moose_runtime::stream::StreamError>(())
/// ```
#[derive(Debug, Clone)]
pub struct LocalLog {
    pub(super) inner: Arc<LogInner>,
}

#[derive(Debug)]
pub(super) struct LogInner {
    pub dir: PathBuf,
    pub config: LocalLogConfig,
    pub topics: RwLock<HashMap<String, Arc<Topic>>>,
    pub groups: Mutex<HashMap<(String, String), Arc<GroupOffsets>>>,
    /// The last produce failed to write; `healthy` probes the disk until one succeeds.
    pub write_failed: AtomicBool,
    _lock: DirLock,
}

impl LocalLog {
    /// Opens (creating if needed) the log in `dir` with the default configuration.
    ///
    /// Blocking: it takes the directory lock, reads every topic's metadata, scans the last
    /// segment of every partition (cutting off a torn tail, with a warning) and applies
    /// retention. Fails with [`StreamError::Locked`] if another process, or another
    /// `LocalLog` in this one, has the directory open.
    pub fn open(dir: &Path) -> Result<LocalLog, StreamError> {
        LocalLog::open_with(dir, LocalLogConfig::default())
    }

    /// [`open`](LocalLog::open) with a custom configuration (small segments, in tests).
    pub fn open_with(dir: &Path, config: LocalLogConfig) -> Result<LocalLog, StreamError> {
        fs::create_dir_all(dir).map_err(|e| {
            io_error(
                format!("creating stream data directory {}", dir.display()),
                e,
            )
        })?;
        let lock = DirLock::acquire(dir)?;
        let topics_dir = dir.join(TOPICS_DIR);
        fs::create_dir_all(&topics_dir)
            .map_err(|e| io_error(format!("creating {}", topics_dir.display()), e))?;
        let mut topics = HashMap::new();
        let entries = fs::read_dir(&topics_dir)
            .map_err(|e| io_error(format!("listing {}", topics_dir.display()), e))?;
        for entry in entries {
            let path = entry
                .map_err(|e| io_error(format!("listing {}", topics_dir.display()), e))?
                .path();
            // A directory without metadata is a creation cut short; `ensure_topic` redoes it.
            if path.join(TOPIC_FILE).exists() {
                let topic = Topic::open(&path, config)?;
                topics.insert(topic.spec.name.clone(), Arc::new(topic));
            }
        }
        let log = LocalLog {
            inner: Arc::new(LogInner {
                dir: dir.to_path_buf(),
                config,
                topics: RwLock::new(topics),
                groups: Mutex::new(HashMap::new()),
                write_failed: AtomicBool::new(false),
                _lock: lock,
            }),
        };
        log.enforce_retention()?;
        Ok(log)
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Deletes segments whose newest record is older than their topic's retention, and
    /// returns how many. Appends already do this as they go; call it periodically so topics
    /// that receive nothing are cleaned up too. Blocking (file deletions), but quick.
    pub fn enforce_retention(&self) -> Result<usize, StreamError> {
        let now = now_ms();
        let topics: Vec<Arc<Topic>> = self
            .inner
            .topics
            .read()
            .expect("topics lock")
            .values()
            .cloned()
            .collect();
        let mut deleted = 0;
        let mut first_error = None;
        for partition in topics.iter().flat_map(|t| &t.partitions) {
            match partition.enforce_retention(now) {
                Ok(n) => deleted += n,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(deleted), Err)
    }
}

impl LogInner {
    pub fn topic(&self, name: &str) -> Result<Arc<Topic>, StreamError> {
        self.topics
            .read()
            .expect("topics lock")
            .get(name)
            .cloned()
            .ok_or_else(|| StreamError::UnknownTopic(name.to_owned()))
    }

    /// Creates the topic unless it exists (blocking).
    pub fn ensure_topic(&self, spec: &TopicSpec) -> Result<(), StreamError> {
        let mut topics = self.topics.write().expect("topics lock");
        if topics.contains_key(&spec.name) {
            return Ok(());
        }
        let dir = self.dir.join(TOPICS_DIR).join(file_name_for(&spec.name));
        let topic = Topic::create(&dir, spec, self.config)?;
        topics.insert(spec.name.clone(), Arc::new(topic));
        Ok(())
    }

    /// Changes topic `name` (blocking). Consumers made before keep reading the partitions
    /// they had; the runtime alters topics before it starts any.
    pub fn alter_topic(&self, name: &str, change: &TopicChange) -> Result<(), StreamError> {
        let mut topics = self.topics.write().expect("topics lock");
        let topic = topics
            .get(name)
            .cloned()
            .ok_or_else(|| StreamError::UnknownTopic(name.to_owned()))?;
        let spec = TopicSpec {
            name: name.to_owned(),
            partitions: change.partitions.unwrap_or(topic.spec.partitions),
            retention: change.retention.unwrap_or(topic.spec.retention),
        };
        if spec == topic.spec {
            return Ok(());
        }
        let altered = topic.altered(spec, self.config)?;
        topics.insert(name.to_owned(), Arc::new(altered));
        Ok(())
    }

    /// Deletes topic `name`, its records and every group's offsets on it (blocking). Order
    /// matters for crashes: offsets go first (a crash then only replays the topic), then
    /// `topic.json` (the topic no longer exists; `Topic::create` clears what is left), then
    /// the data.
    pub fn delete_topic(&self, name: &str) -> Result<(), StreamError> {
        let mut topics = self.topics.write().expect("topics lock");
        let Some(topic) = topics.get(name).cloned() else {
            return Ok(());
        };
        self.groups
            .lock()
            .expect("groups lock")
            .retain(|(_, t), _| t != name);
        let groups_dir = self.dir.join(GROUPS_DIR);
        let offsets_file = format!("{}.json", file_name_for(name));
        if let Ok(entries) = fs::read_dir(&groups_dir) {
            for entry in entries.flatten() {
                let path = entry.path().join(&offsets_file);
                match fs::remove_file(&path) {
                    Ok(()) => sync_dir(&entry.path()).map_err(|e| {
                        io_error(format!("syncing directory {}", entry.path().display()), e)
                    })?,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error(format!("deleting {}", path.display()), e)),
                }
            }
        }
        let metadata = topic.dir.join(TOPIC_FILE);
        fs::remove_file(&metadata)
            .map_err(|e| io_error(format!("deleting {}", metadata.display()), e))?;
        sync_dir(&topic.dir)
            .map_err(|e| io_error(format!("syncing directory {}", topic.dir.display()), e))?;
        topics.remove(name);
        // Readers still holding segments keep their open handles, so removing is safe.
        fs::remove_dir_all(&topic.dir)
            .map_err(|e| io_error(format!("deleting {}", topic.dir.display()), e))?;
        let parent = self.dir.join(TOPICS_DIR);
        sync_dir(&parent)
            .map_err(|e| io_error(format!("syncing directory {}", parent.display()), e))
    }

    /// The shared committed offsets of `group` on `topic` (blocking on first use).
    pub fn group(&self, group: &str, topic: &str) -> Result<Arc<GroupOffsets>, StreamError> {
        let mut groups = self.groups.lock().expect("groups lock");
        let key = (group.to_owned(), topic.to_owned());
        if let Some(offsets) = groups.get(&key) {
            return Ok(offsets.clone());
        }
        let offsets = Arc::new(GroupOffsets::load(
            &self.dir.join(GROUPS_DIR),
            group,
            topic,
        )?);
        groups.insert(key, offsets.clone());
        Ok(offsets)
    }

    /// Whether a small write and fsync in the data directory succeed now.
    pub fn probe_disk(&self) -> bool {
        let path = self.dir.join("health-probe");
        let ok = fs::write(&path, b"ok")
            .and_then(|()| fs::File::open(&path)?.sync_all())
            .is_ok();
        let _ = fs::remove_file(&path);
        if ok {
            self.write_failed.store(false, Ordering::Relaxed);
        }
        ok
    }
}

/// Milliseconds since the epoch.
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
