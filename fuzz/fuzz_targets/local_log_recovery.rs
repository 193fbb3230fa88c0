//! Crash recovery of the embedded log: write records to a `LocalLog`, damage the last
//! segment file of the partition (truncate, overwrite, append, or a mix), reopen.
//!
//! Must never panic, and the reopened log must serve exactly what an independent reading of
//! the files (the record format of `stream/local/record.rs`) finds intact: every sealed
//! segment, then the longest run of whole records with valid checksums and dense offsets at
//! the start of the damaged segment. Records before the first damaged byte are never lost.
//! Appends then continue at the next dense offset, and the repaired log reads back the same
//! after another reopen.

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use moose_runtime::graph::EncodedRecord;
use moose_runtime::stream::local::{LocalLog, LocalLogConfig};
use moose_runtime::stream::{StreamBackend, TopicAdmin, TopicSpec};

const TOPIC: &str = "events";
/// Bytes before a record's body: `len`, `crc`, `offset`.
const HEADER_BYTES: usize = 16;
/// Fixed part of the body: `timestamp`, `key_len`.
const BODY_FIXED_BYTES: usize = 12;
/// Largest body the log writes or reads back.
const MAX_BODY_BYTES: usize = 128 << 20;

#[derive(Debug, Arbitrary)]
struct Input {
    /// Produce calls, each with a few (key, payload) records.
    batches: Vec<Vec<(Vec<u8>, Vec<u8>)>>,
    /// Segment size: small values roll a segment after almost every batch.
    segment_bytes: u16,
    damage: Vec<Damage>,
}

#[derive(Debug, Arbitrary)]
enum Damage {
    /// Cut the file to `len % (size + 1)` bytes.
    Truncate(u32),
    /// Overwrite bytes at `at % (size + 1)` (extending the file if needed).
    Overwrite(u32, Vec<u8>),
    /// Flip bits of one byte.
    Flip(u32, u8),
    /// Append bytes.
    Append(Vec<u8>),
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
});

/// tmpfs when there is one: fsyncs are free there, so the fuzzer runs many more inputs.
fn temp_root() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

fuzz_target!(|input: Input| {
    RUNTIME.block_on(run(input));
});

async fn run(input: Input) {
    let batches: Vec<Vec<EncodedRecord>> = input
        .batches
        .into_iter()
        .take(16)
        .map(|batch| {
            batch
                .into_iter()
                .take(8)
                .map(|(key, payload)| EncodedRecord { key, payload })
                .collect::<Vec<_>>()
        })
        .filter(|batch| !batch.is_empty())
        .collect();
    let dir = tempfile::tempdir_in(temp_root()).expect("temp dir");
    let config = LocalLogConfig {
        segment_bytes: u64::from(input.segment_bytes).max(1),
        ..LocalLogConfig::default()
    };
    // Retention never expires anything the test writes (timestamps are now).
    let spec = TopicSpec {
        name: TOPIC.into(),
        partitions: 1,
        retention: Duration::MAX,
    };

    // 1. Write and acknowledge, then drop the log without any shutdown (a `kill -9`).
    let mut acked: Vec<EncodedRecord> = Vec::new();
    {
        let log = LocalLog::open_with(dir.path(), config).expect("open a fresh log");
        log.ensure_topic(&spec).await.expect("create the topic");
        for batch in &batches {
            log.produce(TOPIC, batch).await.expect("produce");
            acked.extend(batch.iter().cloned());
        }
    }

    // 2. Damage the last segment.
    let segments = segment_files(dir.path());
    let (last_base, last_path) = segments.last().cloned().expect("a partition has a segment");
    let original = std::fs::read(&last_path).expect("read the last segment");
    let mut bytes = original.clone();
    for damage in input.damage.iter().take(4) {
        apply(&mut bytes, damage);
    }
    std::fs::write(&last_path, &bytes).expect("write the damaged segment");

    // 3. What an independent reader finds intact.
    let mut expected: Vec<Record> = Vec::new();
    for (base, path) in &segments[..segments.len() - 1] {
        let sealed = std::fs::read(path).expect("read a sealed segment");
        let (records, valid_len) = scan(&sealed, *base);
        assert_eq!(valid_len, sealed.len(), "sealed segments are intact");
        expected.extend(records);
    }
    let (tail, _) = scan(&bytes, last_base);
    let next_offset = last_base + tail.len() as u64;
    // Retention (`Duration::MAX`) deletes a lone segment only if its newest record is
    // forged with a timestamp near `i64::MIN`; then nothing is served.
    let newest = tail.iter().map(|r| r.timestamp_ms).max();
    let expired = match newest {
        Some(newest) if segments.len() == 1 => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64);
            let cutoff = now.saturating_sub(i64::MAX);
            if (i128::from(newest) - i128::from(cutoff)).abs() < 60_000 {
                return; // too close to the clock to predict
            }
            newest < cutoff
        }
        _ => false,
    };
    if !expired {
        expected.extend(tail);
    }
    // Records lying wholly before the first changed byte were not damaged: they must be
    // served unchanged (and so must every sealed record).
    let first_change = original
        .iter()
        .zip(&bytes)
        .position(|(a, b)| a != b)
        .unwrap_or(original.len().min(bytes.len()));
    let (undamaged, _) = scan(&original[..first_change], last_base);
    let must_keep = (last_base as usize + undamaged.len()).min(acked.len());
    for (i, record) in expected.iter().enumerate().take(must_keep) {
        assert_eq!(record.offset, i as u64);
        assert_eq!(
            (&record.key, &record.payload),
            (&acked[i].key, &acked[i].payload),
            "undamaged record {i} changed"
        );
    }
    // With nothing but cuts, what is served is exactly a prefix of the acknowledged records.
    if input
        .damage
        .iter()
        .take(4)
        .all(|d| matches!(d, Damage::Truncate(_)))
    {
        assert!(expected.len() <= acked.len());
    }

    // 4. Reopen: recovery must agree with the independent reader.
    {
        let log = LocalLog::open_with(dir.path(), config).expect("reopen after damage");
        let served = read_all(&log).await;
        assert_eq!(
            served, expected,
            "recovery serves what is intact, nothing else"
        );
        // Appends continue at the next dense offset.
        let new = EncodedRecord {
            key: b"after".to_vec(),
            payload: b"{\"after\":true}".to_vec(),
        };
        log.produce(TOPIC, std::slice::from_ref(&new))
            .await
            .expect("append after recovery");
        let served = read_all(&log).await;
        let last = served.last().expect("the appended record is served");
        assert_eq!(last.offset, next_offset, "appends continue densely");
        assert_eq!((&last.key, &last.payload), (&new.key, &new.payload));
        expected.push(last.clone());
    }
    // 5. The repaired log reads back the same.
    let log = LocalLog::open_with(dir.path(), config).expect("reopen after repair");
    assert_eq!(read_all(&log).await, expected, "the repair is stable");
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Record {
    offset: u64,
    timestamp_ms: i64,
    key: Vec<u8>,
    payload: Vec<u8>,
}

/// Every record the log serves, by offset.
async fn read_all(log: &LocalLog) -> Vec<Record> {
    let mut records: Vec<Record> = log
        .latest(TOPIC, usize::MAX)
        .await
        .expect("read the log")
        .into_iter()
        .map(|r| Record {
            offset: r.offset,
            timestamp_ms: r.timestamp_ms,
            key: r.key,
            payload: r.payload,
        })
        .collect();
    records.sort_by_key(|r| r.offset);
    records
}

fn apply(bytes: &mut Vec<u8>, damage: &Damage) {
    let at = |n: u32, len: usize| n as usize % (len + 1);
    match damage {
        Damage::Truncate(n) => {
            let len = at(*n, bytes.len());
            bytes.truncate(len);
        }
        Damage::Overwrite(n, data) => {
            let start = at(*n, bytes.len());
            let end = start + data.len();
            if bytes.len() < end {
                bytes.resize(end, 0);
            }
            bytes[start..end].copy_from_slice(data);
        }
        Damage::Flip(n, mask) => {
            if !bytes.is_empty() {
                let i = *n as usize % bytes.len();
                bytes[i] ^= mask.max(&1);
            }
        }
        Damage::Append(data) => bytes.extend_from_slice(data),
    }
}

/// The segment files of partition 0, oldest first, with their base offsets.
fn segment_files(dir: &Path) -> Vec<(u64, PathBuf)> {
    let dir = dir.join("topics").join(TOPIC).join("0");
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(&dir)
        .expect("list the partition")
        .map(|e| e.expect("list the partition").path())
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            let base = name.strip_suffix(".log").filter(|s| s.len() == 20)?;
            Some((base.parse().ok()?, path))
        })
        .collect();
    files.sort();
    files
}

/// The leading run of intact records of a segment starting at offset `base`, and its length
/// in bytes.
fn scan(bytes: &[u8], base: u64) -> (Vec<Record>, usize) {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
    let mut records = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= HEADER_BYTES {
        let len = u32_at(pos) as usize;
        if !(BODY_FIXED_BYTES..=MAX_BODY_BYTES).contains(&len)
            || bytes.len() - pos < HEADER_BYTES + len
        {
            break;
        }
        let crc = u32_at(pos + 4);
        let offset = u64::from_le_bytes(bytes[pos + 8..pos + 16].try_into().unwrap());
        let body = &bytes[pos + HEADER_BYTES..pos + HEADER_BYTES + len];
        let key_len = u32::from_le_bytes(body[8..12].try_into().unwrap()) as usize;
        if key_len > len - BODY_FIXED_BYTES
            || crc32fast::hash(body) != crc
            || offset != base + records.len() as u64
        {
            break;
        }
        let (key, payload) = body[BODY_FIXED_BYTES..].split_at(key_len);
        let timestamp_ms = i64::from_le_bytes(body[0..8].try_into().unwrap());
        records.push(Record {
            offset,
            timestamp_ms,
            key: key.to_vec(),
            payload: payload.to_vec(),
        });
        pos += HEADER_BYTES + len;
    }
    (records, pos)
}
