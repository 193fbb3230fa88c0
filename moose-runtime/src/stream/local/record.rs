//! The on-disk record format.
//!
//! A segment file is a sequence of records, nothing else; all integers little-endian:
//!
//! ```text
//! len        u32   bytes of the body (everything after `offset`)
//! crc        u32   CRC-32 (IEEE) of the body
//! offset     u64   the record's offset in its partition
//! -- body --
//! timestamp  i64   append time, milliseconds since the epoch
//! key_len    u32
//! key        key_len bytes
//! payload    the rest of the body
//! ```
//!
//! The offset sits outside the checksum so a batch can be encoded (and checksummed) before
//! the partition lock is taken, and its offsets written in under the lock; a wrong offset
//! is still caught, because offsets in a segment must be dense from the file's base offset.

/// Bytes before the body: `len`, `crc`, `offset`.
pub(super) const HEADER_BYTES: usize = 16;
/// Fixed part of the body: `timestamp`, `key_len`.
const BODY_FIXED_BYTES: usize = 12;
/// Largest body accepted: bigger records are refused on produce, and a larger length read
/// back from disk marks a damaged record instead of making the reader allocate it.
pub(super) const MAX_BODY_BYTES: usize = 128 << 20;

/// The largest record (key plus payload bytes) the embedded log stores: 128 MiB less the
/// record's fixed fields. Far above Kafka's default (`message.max.bytes`, 1,000,000 bytes
/// for librdkafka's producer), so the embedded log never refuses what Kafka takes; it bounds
/// what one record can make a reader allocate.
pub const MAX_RECORD_BYTES: usize = MAX_BODY_BYTES - BODY_FIXED_BYTES;

/// Records encoded for one partition, offsets still unassigned.
#[derive(Debug, Default)]
pub(super) struct EncodedBatch {
    /// Encoded records, back to back.
    pub buf: Vec<u8>,
    /// How many records `buf` holds.
    pub count: u64,
    /// Newest timestamp in the batch.
    pub max_timestamp_ms: i64,
}

impl EncodedBatch {
    /// Appends one record. Errors (with the body size) when it is larger than
    /// [`MAX_BODY_BYTES`].
    pub fn push(&mut self, key: &[u8], payload: &[u8], timestamp_ms: i64) -> Result<(), usize> {
        let body_len = BODY_FIXED_BYTES + key.len() + payload.len();
        if body_len > MAX_BODY_BYTES {
            return Err(body_len);
        }
        self.buf.reserve(HEADER_BYTES + body_len);
        let start = self.buf.len();
        self.buf.extend_from_slice(&(body_len as u32).to_le_bytes());
        // The checksum goes in once the body is written: one pass over contiguous bytes.
        self.buf.extend_from_slice(&0u32.to_le_bytes());
        self.buf.extend_from_slice(&0u64.to_le_bytes());
        self.buf.extend_from_slice(&timestamp_ms.to_le_bytes());
        self.buf
            .extend_from_slice(&(key.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(key);
        self.buf.extend_from_slice(payload);
        let crc = crc32fast::hash(&self.buf[start + HEADER_BYTES..]);
        self.buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        self.count += 1;
        self.max_timestamp_ms = self.max_timestamp_ms.max(timestamp_ms);
        Ok(())
    }

    /// Makes room for `records` (all for this batch's partition).
    pub fn reserve(&mut self, records: &[crate::graph::EncodedRecord]) {
        let bytes: usize = records
            .iter()
            .map(|r| HEADER_BYTES + BODY_FIXED_BYTES + r.key.len() + r.payload.len())
            .sum();
        self.buf.reserve(bytes);
    }

    /// Writes offsets `base..` into the records and calls `each(offset, position in batch)`.
    pub fn assign_offsets(&mut self, base: u64, mut each: impl FnMut(u64, usize)) {
        let mut pos = 0;
        let mut offset = base;
        while pos < self.buf.len() {
            let len =
                u32::from_le_bytes(self.buf[pos..pos + 4].try_into().expect("4 bytes")) as usize;
            self.buf[pos + 8..pos + 16].copy_from_slice(&offset.to_le_bytes());
            each(offset, pos);
            pos += HEADER_BYTES + len;
            offset += 1;
        }
    }
}

/// What the bytes at the start of a buffer hold.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Check {
    /// A whole, intact record of this many bytes.
    Complete(usize),
    /// The buffer ends inside a record that needs this many bytes in all.
    Incomplete(usize),
    /// Not a valid record.
    Invalid(&'static str),
}

/// Checks the record at the start of `buf` (length bounds and checksum).
pub(super) fn check(buf: &[u8]) -> Check {
    if buf.len() < HEADER_BYTES {
        return Check::Incomplete(HEADER_BYTES);
    }
    let len = u32::from_le_bytes(buf[0..4].try_into().expect("4 bytes")) as usize;
    if !(BODY_FIXED_BYTES..=MAX_BODY_BYTES).contains(&len) {
        return Check::Invalid("impossible record length");
    }
    let size = HEADER_BYTES + len;
    if buf.len() < size {
        return Check::Incomplete(size);
    }
    let body = &buf[HEADER_BYTES..size];
    let key_len = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    if key_len > len - BODY_FIXED_BYTES {
        return Check::Invalid("key longer than the record");
    }
    let crc = u32::from_le_bytes(buf[4..8].try_into().expect("4 bytes"));
    if crc32fast::hash(body) != crc {
        return Check::Invalid("checksum mismatch");
    }
    Check::Complete(size)
}

/// A record read back, borrowing the read buffer.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct RawRecord<'a> {
    pub offset: u64,
    pub timestamp_ms: i64,
    pub key: &'a [u8],
    pub payload: &'a [u8],
}

/// Decodes a record that [`check`] found complete.
pub(super) fn decode(record: &[u8]) -> RawRecord<'_> {
    let offset = u64::from_le_bytes(record[8..16].try_into().expect("8 bytes"));
    let body = &record[HEADER_BYTES..];
    let timestamp_ms = i64::from_le_bytes(body[0..8].try_into().expect("8 bytes"));
    let key_len = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes")) as usize;
    let (key, payload) = body[BODY_FIXED_BYTES..].split_at(key_len);
    RawRecord {
        offset,
        timestamp_ms,
        key,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_damage_is_detected() {
        let mut batch = EncodedBatch::default();
        batch.push(b"k1", b"{\"a\":1}", 10).unwrap();
        batch.push(b"", b"{}", 12).unwrap();
        let mut seen = Vec::new();
        batch.assign_offsets(7, |offset, pos| seen.push((offset, pos)));
        assert_eq!(seen, vec![(7, 0), (8, HEADER_BYTES + 12 + 2 + 7)]);
        assert_eq!(batch.max_timestamp_ms, 12);

        let Check::Complete(size) = check(&batch.buf) else {
            panic!("first record is intact")
        };
        let first = decode(&batch.buf[..size]);
        assert_eq!(
            first,
            RawRecord {
                offset: 7,
                timestamp_ms: 10,
                key: b"k1",
                payload: b"{\"a\":1}"
            }
        );
        assert_eq!(decode(&batch.buf[size..]).offset, 8);

        assert_eq!(check(&batch.buf[..size - 1]), Check::Incomplete(size));
        let mut flipped = batch.buf.clone();
        flipped[size - 1] ^= 1;
        assert_eq!(check(&flipped), Check::Invalid("checksum mismatch"));
        assert_eq!(check(&[0; 32]), Check::Invalid("impossible record length"));
    }
}
