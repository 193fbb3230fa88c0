//! File-system helpers: positioned reads and writes, atomic replacement of small files,
//! directory fsync, file names for user-chosen names, and mapping OS errors to
//! [`StreamError`].

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

use crate::stream::StreamError;

/// Wraps an OS error with what was being done. A full disk (or quota) becomes
/// [`StreamError::Unavailable`]: retrying once space is freed succeeds.
pub(super) fn io_error(context: impl Into<String>, source: io::Error) -> StreamError {
    let context = context.into();
    match source.kind() {
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            StreamError::Unavailable(format!(
                "{context}: the disk is full ({source}); free space on the disk that holds the data \
             directory, then retry"
            ))
        }
        _ => StreamError::Io { context, source },
    }
}

/// Reads at `pos` into `buf`; returns how many bytes were read (0 at the end of the file).
pub(super) fn read_at(file: &File, buf: &mut [u8], pos: u64) -> io::Result<usize> {
    loop {
        #[cfg(unix)]
        let result = std::os::unix::fs::FileExt::read_at(file, buf, pos);
        #[cfg(windows)]
        let result = std::os::windows::fs::FileExt::seek_read(file, buf, pos);
        match result {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Writes all of `buf` at `pos`.
pub(super) fn write_all_at(file: &File, buf: &[u8], pos: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::write_all_at(file, buf, pos)
    }
    #[cfg(windows)]
    {
        let (mut buf, mut pos) = (buf, pos);
        while !buf.is_empty() {
            match std::os::windows::fs::FileExt::seek_write(file, buf, pos) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    buf = &buf[n..];
                    pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Makes the creation, deletion or renaming of entries in `dir` durable.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a directory for fsync; NTFS journals its metadata.
        let _ = dir;
        Ok(())
    }
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content:
/// temp file, fsync, rename, fsync of the directory.
pub(super) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    let tmp = path.with_file_name(name);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// A file name for a topic or group name: ASCII letters, digits, `_`, `-` and `.` stay
/// as they are, every other byte (and a leading `.`) becomes `%XX`, so any name is safe
/// and two names never share a file.
pub(super) fn file_name_for(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::file_name_for;

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(file_name_for("local_events.v1"), "local_events.v1");
        assert_eq!(file_name_for("a/b"), "a%2Fb");
        assert_eq!(file_name_for(".."), "%2E.");
        assert_ne!(file_name_for("a%2Fb"), file_name_for("a/b"));
    }
}
