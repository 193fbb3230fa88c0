//! One segment file of a partition: records from its base offset on, a sparse index, and
//! the newest timestamp (for retention).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use super::cursor::{Cursor, Step};
use super::disk::io_error;
use crate::stream::StreamError;

/// One index entry per this many bytes of log: finding an offset reads at most this much
/// before it, while the index stays at 16 bytes per 4 KiB (256 KiB per 64 MiB segment).
pub(super) const INDEX_INTERVAL_BYTES: u64 = 4096;

/// A position in a segment: the record with `offset` starts at byte `pos`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct IndexEntry {
    pub offset: u64,
    pub pos: u64,
}

/// One segment file.
#[derive(Debug)]
pub(super) struct Segment {
    /// Offset of its first record; also its file name.
    pub base: u64,
    pub path: PathBuf,
    /// Open read-write while the segment is active (positioned reads and writes share it);
    /// sealed segments are opened per read, so open files do not pile up with segments.
    handle: Mutex<Option<Arc<File>>>,
    /// Newest record timestamp, ms; `i64::MIN` while empty.
    pub max_timestamp_ms: AtomicI64,
    /// Sparse index, `None` until a sealed segment found on open is first read.
    index: Mutex<Option<Vec<IndexEntry>>>,
}

/// What a full scan of a segment found.
pub(super) struct Scan {
    /// Bytes of intact records from the start.
    pub valid_len: u64,
    /// Offset after the last intact record.
    pub next_offset: u64,
    pub index: Vec<IndexEntry>,
    pub max_timestamp_ms: i64,
    /// Why scanning stopped before the end of the file, if it did.
    pub torn: Option<&'static str>,
}

/// The file name of the segment starting at `base`.
pub(super) fn file_name(base: u64) -> String {
    format!("{base:020}.log")
}

/// The base offset in a segment file name, or `None` for other files.
pub(super) fn parse_file_name(name: &str) -> Option<u64> {
    name.strip_suffix(".log")
        .filter(|s| s.len() == 20)?
        .parse()
        .ok()
}

impl Segment {
    /// Creates an empty segment file (which must not exist).
    pub fn create(dir: &Path, base: u64) -> Result<Segment, StreamError> {
        let path = dir.join(file_name(base));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| io_error(format!("creating segment {}", path.display()), e))?;
        Ok(Segment::new(
            base,
            path,
            Some(file),
            i64::MIN,
            Some(Vec::new()),
        ))
    }

    /// An existing segment file. The active one is opened for writing (and scanned by the
    /// caller); sealed ones are not read now: their index is built on first read, and their
    /// newest timestamp is taken from the file's mtime (never older than its newest record,
    /// so retention cannot delete it too early).
    pub fn open(path: PathBuf, base: u64, active: bool) -> Result<Segment, StreamError> {
        let context = || format!("opening segment {}", path.display());
        let file = if active {
            let file = OpenOptions::new().read(true).write(true).open(&path);
            Some(file.map_err(|e| io_error(context(), e))?)
        } else {
            None
        };
        let modified = fs::metadata(&path).and_then(|m| m.modified());
        let mtime_ms = modified
            .map_err(|e| io_error(context(), e))?
            .duration_since(UNIX_EPOCH)
            .map_or(i64::MAX, |d| d.as_millis() as i64);
        Ok(Segment::new(base, path, file, mtime_ms, None))
    }

    fn new(
        base: u64,
        path: PathBuf,
        file: Option<File>,
        max_ts: i64,
        index: Option<Vec<IndexEntry>>,
    ) -> Self {
        Segment {
            base,
            path,
            handle: Mutex::new(file.map(Arc::new)),
            max_timestamp_ms: AtomicI64::new(max_ts),
            index: Mutex::new(index),
        }
    }

    /// The write handle of the active segment.
    pub fn writer(&self) -> Arc<File> {
        let handle = self.handle.lock().expect("segment handle lock");
        handle
            .clone()
            .expect("the active segment is open for writing")
    }

    /// Closes the write handle once the segment is sealed (holders of a clone keep theirs).
    pub fn seal(&self) {
        self.handle.lock().expect("segment handle lock").take();
    }

    /// A handle to read with, or `None` if retention deleted the file meanwhile.
    pub(super) fn reader(&self) -> Result<Option<Arc<File>>, StreamError> {
        if let Some(file) = self.handle.lock().expect("segment handle lock").clone() {
            return Ok(Some(file));
        }
        match File::open(&self.path) {
            Ok(file) => Ok(Some(Arc::new(file))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(
                format!("opening segment {}", self.path.display()),
                e,
            )),
        }
    }

    /// Reads every record, checking checksums and that offsets are dense from `base`.
    pub fn scan(&self, file: &File) -> Result<Scan, StreamError> {
        let mut cursor = Cursor::new(file, 0);
        let mut scan = Scan {
            valid_len: 0,
            next_offset: self.base,
            index: Vec::new(),
            max_timestamp_ms: i64::MIN,
            torn: None,
        };
        let mut last_indexed: Option<u64> = None;
        loop {
            let pos = cursor.pos();
            let step = cursor
                .next_record()
                .map_err(|e| io_error(format!("reading segment {}", self.path.display()), e))?;
            match step {
                Step::End => break,
                Step::Torn(reason) => {
                    scan.torn = Some(reason);
                    break;
                }
                Step::Record(record) if record.offset != scan.next_offset => {
                    scan.torn = Some("offset out of sequence");
                    break;
                }
                Step::Record(record) => {
                    if last_indexed.is_none_or(|last| pos >= last + INDEX_INTERVAL_BYTES) {
                        scan.index.push(IndexEntry {
                            offset: record.offset,
                            pos,
                        });
                        last_indexed = Some(pos);
                    }
                    scan.max_timestamp_ms = scan.max_timestamp_ms.max(record.timestamp_ms);
                    scan.next_offset += 1;
                }
            }
            scan.valid_len = cursor.pos();
        }
        Ok(scan)
    }

    /// Installs a freshly built index (active segment after recovery).
    pub fn set_index(&self, index: Vec<IndexEntry>) {
        *self.index.lock().expect("segment index lock") = Some(index);
    }

    /// Adds an entry for a record just appended.
    pub fn push_index(&self, entry: IndexEntry) {
        if let Some(index) = self.index.lock().expect("segment index lock").as_mut() {
            index.push(entry);
        }
    }

    /// Drops entries at or after byte `pos` (after a failed append was cut off); returns
    /// the position of the last remaining entry.
    pub fn truncate_index(&self, pos: u64) -> Option<u64> {
        let mut guard = self.index.lock().expect("segment index lock");
        let index = guard.as_mut()?;
        index.retain(|e| e.pos < pos);
        index.last().map(|e| e.pos)
    }

    /// The last index entry at or before `offset`, building the index of a sealed segment
    /// on first use. `end` is the offset after the segment's last record.
    pub(super) fn locate(
        &self,
        file: &File,
        offset: u64,
        end: u64,
    ) -> Result<IndexEntry, StreamError> {
        {
            let guard = self.index.lock().expect("segment index lock");
            if let Some(index) = guard.as_ref() {
                let i = index.partition_point(|e| e.offset <= offset);
                return Ok(if i == 0 {
                    IndexEntry {
                        offset: self.base,
                        pos: 0,
                    }
                } else {
                    index[i - 1]
                });
            }
        }
        // Scanned without holding the lock: two readers may both build it, which is harmless.
        let scan = self.scan(file)?;
        if scan.torn.is_some() || scan.next_offset != end {
            return Err(StreamError::Corrupt(format!(
                "sealed segment {} should hold offsets {}..{} but its records stop at offset {} ({}); \
                 restore the data directory from a backup or delete the topic's directory to start it over",
                self.path.display(),
                self.base,
                end,
                scan.next_offset,
                scan.torn.unwrap_or("file too short"),
            )));
        }
        self.set_index(scan.index);
        self.locate(file, offset, end)
    }

    /// Records its newest timestamp.
    pub fn note_timestamp(&self, timestamp_ms: i64) {
        self.max_timestamp_ms
            .fetch_max(timestamp_ms, Ordering::Relaxed);
    }

    /// Newest record timestamp, ms.
    pub fn newest_ms(&self) -> i64 {
        self.max_timestamp_ms.load(Ordering::Relaxed)
    }
}

/// A shared segment.
pub(super) type SegmentRef = Arc<Segment>;
