//! Reading records: a sequential cursor over a segment file with one reusable buffer, and
//! the consumer read of a range of offsets from a segment.

use std::fs::File;
use std::io;

use bytes::Bytes;

use super::disk::io_error;
use super::disk::read_at;
use super::record::{self, Check, RawRecord};
use super::segment::{IndexEntry, Segment};
use crate::stream::{ConsumedRecord, StreamError};

/// Bytes read from the file at a time; grown for a larger record. Below glibc's mmap
/// threshold, so a fresh buffer per read is a cheap allocation.
const READ_CHUNK_BYTES: usize = 64 << 10;

/// What the next bytes of a segment hold.
pub(super) enum Step<'a> {
    /// An intact record.
    Record(RawRecord<'a>),
    /// The file ends exactly here.
    End,
    /// A partial or damaged record starts here.
    Torn(&'static str),
}

/// Reads records one after the other from a position in a segment file.
pub(super) struct Cursor<'f> {
    file: &'f File,
    buf: Vec<u8>,
    /// File position of `buf[0]`.
    buf_pos: u64,
    /// Next unread byte in `buf`.
    start: usize,
    /// End of valid bytes in `buf`.
    end: usize,
}

impl<'f> Cursor<'f> {
    /// A cursor at file position `pos`.
    pub fn new(file: &'f File, pos: u64) -> Self {
        Self {
            file,
            buf: Vec::new(),
            buf_pos: pos,
            start: 0,
            end: 0,
        }
    }

    /// File position of the next record.
    pub fn pos(&self) -> u64 {
        self.buf_pos + self.start as u64
    }

    /// The next record, the end of the file, or a torn record.
    pub fn next_record(&mut self) -> io::Result<Step<'_>> {
        loop {
            match record::check(&self.buf[self.start..self.end]) {
                Check::Complete(size) => {
                    let at = self.start;
                    self.start += size;
                    return Ok(Step::Record(record::decode(&self.buf[at..at + size])));
                }
                Check::Invalid(reason) => return Ok(Step::Torn(reason)),
                Check::Incomplete(needed) => {
                    if self.fill(needed)? == 0 {
                        return Ok(if self.start == self.end {
                            Step::End
                        } else {
                            Step::Torn("incomplete record")
                        });
                    }
                }
            }
        }
    }

    /// Moves unread bytes to the front and reads more; returns the bytes read.
    fn fill(&mut self, needed: usize) -> io::Result<usize> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.buf_pos += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        let want = needed.max(READ_CHUNK_BYTES);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let n = read_at(
            self.file,
            &mut self.buf[self.end..],
            self.buf_pos + self.end as u64,
        )?;
        self.end += n;
        Ok(n)
    }
}

impl Segment {
    /// Reads records `from..end` (at most `max`) into `out`, starting the search at `hint`
    /// (a known position of `from`) or at the index. Returns the offset and byte position
    /// after the last record read, or `None` if retention deleted the segment meanwhile.
    pub fn read(
        &self,
        partition: u32,
        from: u64,
        end: u64,
        max: usize,
        hint: Option<u64>,
        out: &mut Vec<ConsumedRecord>,
    ) -> Result<Option<(u64, u64)>, StreamError> {
        let Some(file) = self.reader()? else {
            return Ok(None);
        };
        let start = match hint {
            Some(pos) => IndexEntry { offset: from, pos },
            None => self.locate(&file, from, end)?,
        };
        let mut cursor = Cursor::new(&file, start.pos);
        let mut expected = start.offset;
        let mut taken = 0;
        while expected < end && taken < max {
            let step = cursor
                .next_record()
                .map_err(|e| io_error(format!("reading segment {}", self.path.display()), e))?;
            let record = match step {
                Step::Record(record) if record.offset == expected => record,
                Step::Record(_) | Step::End | Step::Torn(_) => {
                    return Err(StreamError::Corrupt(format!(
                        "segment {} has no intact record at offset {expected} although the log is durable \
                         up to offset {end}; restore the data directory from a backup or delete the \
                         topic's directory to start it over",
                        self.path.display()
                    )));
                }
            };
            if record.offset >= from {
                out.push(ConsumedRecord {
                    partition,
                    offset: record.offset,
                    timestamp_ms: record.timestamp_ms,
                    key: Bytes::copy_from_slice(record.key),
                    payload: Bytes::copy_from_slice(record.payload),
                });
                taken += 1;
            }
            expected += 1;
        }
        Ok(Some((expected, cursor.pos())))
    }
}
