//! One process per data directory: an OS advisory lock on `<dir>/LOCK`, held as long as the
//! log is open. The OS releases it when the process dies, however it dies, so a crash never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::disk::io_error;
use crate::stream::StreamError;

/// Name of the lock file; it holds the owner's process id, for the error message.
const LOCK_FILE: &str = "LOCK";

/// The held lock; released on drop (the file is closed).
#[derive(Debug)]
pub(super) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock, or fails with [`StreamError::Locked`] if any process (this one
    /// included, through another [`LocalLog`](super::LocalLog)) holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, StreamError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_error(format!("opening lock file {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut owner = String::new();
                let _ = file.read_to_string(&mut owner);
                let owner = owner.trim();
                let owner = if owner.is_empty() {
                    String::new()
                } else {
                    format!(" (process {owner})")
                };
                return Err(StreamError::Locked(format!(
                    "data directory {} is in use by another moose process{owner}; stop that process, \
                     or set MOOSE_DATA_DIR to another directory",
                    dir.display()
                )));
            }
            Err(TryLockError::Error(e)) => {
                return Err(io_error(format!("locking {}", path.display()), e));
            }
        }
        // Best effort: the pid only makes the message above more helpful.
        let _ = file
            .set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()));
        Ok(DirLock { _file: file })
    }
}
