//! Sequential reading of records from a segment file through one reusable buffer.

use std::fs::File;
use std::io;

use super::disk::read_at;
use super::record::{self, Check, RawRecord};

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
