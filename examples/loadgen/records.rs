//! The benchmark's records, generated on the fly so the load generator holds no data set in
//! memory: record `i` is `{"id":"<i, 10 digits>","value":<i mod 1000>.25}` (small records).

use bytes::Bytes;
use moose_runtime::graph::EncodedRecord;

/// How a request body holds its records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BodyFormat {
    /// A JSON array (`application/json`).
    Json,
    /// One object per line (`application/x-ndjson`); also ClickHouse's `JSONEachRow`.
    Ndjson,
}

impl BodyFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            BodyFormat::Json => "application/json",
            BodyFormat::Ndjson => "application/x-ndjson",
        }
    }
}

/// The id of record `i`: ten digits, so ids sort like the records.
pub fn id(i: usize) -> String {
    format!("{i:010}")
}

/// Appends record `i`'s JSON object.
fn push_record(out: &mut Vec<u8>, i: usize) {
    out.extend_from_slice(b"{\"id\":\"");
    push_digits(out, i as u64, 10);
    out.extend_from_slice(b"\",\"value\":");
    let whole = (i % 1000) as u64;
    let digits = if whole >= 100 {
        3
    } else if whole >= 10 {
        2
    } else {
        1
    };
    push_digits(out, whole, digits);
    out.extend_from_slice(b".25}");
}

/// `value` as exactly `width` decimal digits (zero-padded; `value` must fit).
fn push_digits(out: &mut Vec<u8>, mut value: u64, width: usize) {
    let start = out.len();
    out.resize(start + width, b'0');
    for slot in out[start..].iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The body holding records `first..first + count`.
pub fn body(first: usize, count: usize, format: BodyFormat) -> Bytes {
    let mut out = Vec::with_capacity(count * 40 + 2);
    if format == BodyFormat::Json {
        out.push(b'[');
    }
    for i in first..first + count {
        if i > first && format == BodyFormat::Json {
            out.push(b',');
        }
        push_record(&mut out, i);
        if format == BodyFormat::Ndjson {
            out.push(b'\n');
        }
    }
    if format == BodyFormat::Json {
        out.push(b']');
    }
    Bytes::from(out)
}

/// Records `first..first + count` as the ingest API writes them to the raw stream: key = id,
/// payload = the JSON object.
pub fn encoded(first: usize, count: usize) -> Vec<EncodedRecord> {
    (first..first + count)
        .map(|i| {
            let mut payload = Vec::with_capacity(40);
            push_record(&mut payload, i);
            EncodedRecord {
                key: id(i).into_bytes(),
                payload,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn records_are_the_chained_pipelines_raw_data() {
        let body = super::body(7, 2, super::BodyFormat::Json);
        assert_eq!(
            &body[..],
            br#"[{"id":"0000000007","value":7.25},{"id":"0000000008","value":8.25}]"#
        );
    }
}
