//! Replaying the flights file (`scripts/flights-data.sh`): record `i` of a run is line
//! `i % N` of the file in cycle `i / N`. Cycle `c` is the file with every year moved `c`
//! years later (`year` and `time_hour`), so that records stay distinct past one pass: keys
//! stay unique and each sampled record is found in the table only once it lands.
//!
//! The file is read once at start (to index its lines and count what the transform keeps),
//! then each batch is read from it again: the records stay in the page cache, not in this
//! process's RSS, which the benchmark reports.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use moose::DataModel;
use moose::chrono::{Datelike, Timelike};
use moose_runtime::graph::EncodedRecord;

use super::pipeline::{Flight, summarize};
use crate::load::SampleKey;
use crate::records::BodyFormat;

/// Passes over the file one run may make: 2013 + 90 (2014's last flights + 90) stays below
/// 2106, where ClickHouse 18.16's `DateTime` ends.
pub const MAX_CYCLES: usize = 90;

/// Every line starts with this and its 4-digit year.
const YEAR_PREFIX: &[u8] = b"{\"year\":";
/// Every line ends with `"time_hour":"YYYY-MM-DD hh:mm:ss"}` and a newline.
const TIME_HOUR_PREFIX: &[u8] = b"\"time_hour\":\"";
/// Bytes from the start of `time_hour`'s year to the end of the line (newline included).
const TIME_HOUR_TAIL: usize = "2013-01-01 10:00:00\"}\n".len();

/// The flights file, indexed.
pub struct Replay {
    path: PathBuf,
    file: File,
    /// Where each line starts, then the file's length: line `l` is `offsets[l]..offsets[l + 1]`
    /// (newline included).
    offsets: Vec<u64>,
    /// `kept_before[l]`: lines before `l` that `summarize` keeps (`N + 1` entries).
    kept_before: Vec<u32>,
}

impl Replay {
    /// Reads and checks every line of `path`: each must be a `Flight` in the layout
    /// `scripts/flights_export.py` writes.
    pub fn open(path: &Path) -> Result<Self, String> {
        let redo = "; make it again with `scripts/flights-data.sh --force`";
        let file = File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
        let mut reader = BufReader::new(&file);
        let mut offsets = vec![0u64];
        let mut kept_before = vec![0u32];
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| format!("reading {}: {e}", path.display()))?;
            if read == 0 {
                break;
            }
            let flight = parse_line(&line)
                .map_err(|e| format!("{} line {}: {e}{redo}", path.display(), offsets.len()))?;
            let kept = kept_before[kept_before.len() - 1] + u32::from(summarize(flight).is_some());
            kept_before.push(kept);
            offsets.push(offsets[offsets.len() - 1] + read as u64);
        }
        drop(reader);
        if offsets.len() == 1 {
            return Err(format!("{} is empty{redo}", path.display()));
        }
        Ok(Self {
            path: path.to_owned(),
            file,
            offsets,
            kept_before,
        })
    }

    /// Lines in the file.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Lines the transform keeps.
    pub fn kept(&self) -> usize {
        self.kept_before[self.len()] as usize
    }

    /// The most records one run can replay (see [`MAX_CYCLES`]).
    pub fn max_records(&self) -> usize {
        self.len() * MAX_CYCLES
    }

    /// Rows the summary table holds once the first `records` records went through.
    pub fn expected_rows(&self, records: usize) -> u64 {
        let (cycles, rest) = (records / self.len(), records % self.len());
        (cycles * self.kept() + self.kept_before[rest] as usize) as u64
    }

    fn is_kept(&self, record: usize) -> bool {
        let line = record % self.len();
        self.kept_before[line + 1] > self.kept_before[line]
    }

    /// The body holding records `first..first + count`.
    pub fn body(&self, first: usize, count: usize, format: BodyFormat) -> Bytes {
        let mut out = Vec::new();
        if format == BodyFormat::Json {
            out.push(b'[');
        }
        let ends = self.read(first, count, &mut out);
        if format == BodyFormat::Json {
            // Records are one line each (JSON strings escape newlines): the newline after
            // each becomes the array's comma, the last one its `]`.
            for end in ends {
                out[end - 1] = b',';
            }
            if let Some(last) = out.last_mut() {
                *last = b']';
            }
        }
        Bytes::from(out)
    }

    /// The first and the last record of `first..first + count` that the transform keeps, as
    /// the summary table shows them.
    pub fn samples(&self, first: usize, count: usize) -> Vec<SampleKey> {
        let range = first..first + count;
        let mut picks: Vec<usize> = [
            range.clone().find(|i| self.is_kept(*i)),
            range.rev().find(|i| self.is_kept(*i)),
        ]
        .into_iter()
        .flatten()
        .collect();
        picks.dedup();
        let mut samples = Vec::new();
        for record in picks {
            let mut line = Vec::new();
            self.read(record, 1, &mut line);
            let summary = parse_line(&line)
                .ok()
                .and_then(summarize)
                .expect("kept lines parse (checked at open)");
            let departure = summary.departure;
            samples.push(SampleKey {
                shown: format!(
                    "{}\t{}\t{}",
                    summary.carrier,
                    summary.flight,
                    departure.timestamp()
                ),
                literal: format!(
                    "('{}',{},'{:04}-{:02}-{:02} {:02}:{:02}:{:02}')",
                    summary.carrier.replace('\\', "\\\\").replace('\'', "\\'"),
                    summary.flight,
                    departure.year(),
                    departure.month(),
                    departure.day(),
                    departure.hour(),
                    departure.minute(),
                    departure.second()
                ),
            });
        }
        samples
    }

    /// The stream message key of each line in cycle 0, for the raw-produce reference; read
    /// before it is timed. Later cycles reuse them (their keys differ only in the year).
    pub fn message_keys(&self) -> Vec<Vec<u8>> {
        let mut keys = Vec::with_capacity(self.len());
        let mut chunk = Vec::new();
        for first in (0..self.len()).step_by(10_000) {
            chunk.clear();
            self.read(first, 10_000.min(self.len() - first), &mut chunk);
            keys.extend(chunk.split_inclusive(|b| *b == b'\n').map(|line| {
                parse_line(line)
                    .expect("lines parse (checked at open)")
                    .message_key()
            }));
        }
        keys
    }

    /// Records `first..first + count` as ingest writes them to the raw stream: the model's
    /// key and the JSON object.
    pub fn encoded(&self, first: usize, count: usize, keys: &[Vec<u8>]) -> Vec<EncodedRecord> {
        let mut all = Vec::new();
        self.read(first, count, &mut all);
        all.split_inclusive(|b| *b == b'\n')
            .enumerate()
            .map(|(i, line)| EncodedRecord {
                key: keys[(first + i) % self.len()].clone(),
                payload: line[..line.len() - 1].to_vec(),
            })
            .collect()
    }

    /// Appends records `first..first + count` (one line each, years moved for their cycle)
    /// to `out`; where each record ends in `out`.
    fn read(&self, first: usize, count: usize, out: &mut Vec<u8>) -> Vec<usize> {
        let n = self.len();
        let mut ends = Vec::with_capacity(count);
        let mut record = first;
        while record < first + count {
            let (cycle, line) = (record / n, record % n);
            // One read per pass over the file: lines `line..last` are contiguous.
            let last = n.min(line + (first + count - record));
            let (from, to) = (self.offsets[line], self.offsets[last]);
            let at = out.len();
            out.resize(at + (to - from) as usize, 0);
            self.file
                .read_exact_at(&mut out[at..], from)
                .unwrap_or_else(|e| panic!("reading {}: {e}", self.path.display()));
            for l in line..last {
                let end = at + (self.offsets[l + 1] - from) as usize;
                let start = at + (self.offsets[l] - from) as usize;
                if cycle > 0 {
                    move_years(&mut out[start..end], cycle);
                }
                ends.push(end);
            }
            record += last - line;
        }
        ends
    }
}

/// One line as a `Flight`, checked for the layout [`move_years`] relies on.
fn parse_line(line: &[u8]) -> Result<Flight, String> {
    let len = line.len();
    let year_ok = line.starts_with(YEAR_PREFIX)
        && line
            .get(8..12)
            .is_some_and(|y| y.iter().all(u8::is_ascii_digit))
        && line.get(12) == Some(&b',');
    let time_hour_ok = len > TIME_HOUR_TAIL + TIME_HOUR_PREFIX.len()
        && line.ends_with(b"\"}\n")
        && &line[len - TIME_HOUR_TAIL - TIME_HOUR_PREFIX.len()..len - TIME_HOUR_TAIL]
            == TIME_HOUR_PREFIX;
    if !year_ok || !time_hour_ok {
        return Err("not `{\"year\":YYYY,...,\"time_hour\":\"YYYY-MM-DD hh:mm:ss\"}`".into());
    }
    moose::serde_json::from_slice(line).map_err(|e| e.to_string())
}

/// Adds `years` to a line's `year` and to `time_hour`'s year.
fn move_years(line: &mut [u8], years: usize) {
    let len = line.len();
    for at in [8, len - TIME_HOUR_TAIL] {
        let digits = &mut line[at..at + 4];
        let year = digits
            .iter()
            .fold(0usize, |y, d| y * 10 + usize::from(d - b'0'))
            + years;
        for (slot, digit) in digits.iter_mut().zip(format!("{year:04}").bytes()) {
            *slot = digit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"year":2013,"month":12,"day":31,"dep_time":2328,"sched_dep_time":2330,"dep_delay":-2.0,"arr_time":412,"sched_arr_time":409,"arr_delay":3.0,"carrier":"B6","flight":1389,"tailnum":"N651JB","origin":"EWR","dest":"SJU","air_time":198.0,"distance":1608.0,"hour":23,"minute":30,"time_hour":"2014-01-01 04:00:00"}
"#;

    #[test]
    fn a_later_cycle_moves_both_years() {
        let mut line = LINE.as_bytes().to_vec();
        move_years(&mut line, 12);
        let flight = parse_line(&line).expect("still a flight");
        assert_eq!(flight.year, 2025);
        assert_eq!(flight.time_hour.to_rfc3339(), "2026-01-01T04:00:00+00:00");
    }

    #[test]
    fn replay_cycles_and_counts_what_the_transform_keeps() {
        let cancelled = LINE
            .replace(r#""dep_time":2328"#, r#""dep_time":null"#)
            .replace(r#""dep_delay":-2.0"#, r#""dep_delay":null"#);
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("flights.jsonl");
        std::fs::write(&path, format!("{LINE}{cancelled}")).expect("written");
        let replay = Replay::open(&path).expect("opens");
        assert_eq!((replay.len(), replay.kept()), (2, 1));
        assert_eq!(replay.expected_rows(5), 3);
        let body = replay.body(1, 2, BodyFormat::Json);
        let flights: Vec<Flight> = moose::serde_json::from_slice(&body).expect("a JSON array");
        assert_eq!((flights[0].year, flights[1].year), (2013, 2014));
        assert_eq!(flights[0].dep_time, None);
        let samples = replay.samples(0, 4);
        assert_eq!(samples.len(), 2);
        assert_eq!(samples[1].literal, "('B6',1389,'2015-01-01 04:28:00')");
    }
}
