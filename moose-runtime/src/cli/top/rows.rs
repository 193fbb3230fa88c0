//! What `top` shows, computed from two snapshots: one row per ingest route, stream,
//! transform, consumer and table sync, with totals and per-second rates.

use serde::Serialize;

use super::snapshot::{ClickHouseInfo, Readiness, Snapshot};

/// What a row stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An ingest route (`POST /ingest/...`).
    Route,
    /// A stream (topic).
    Stream,
    /// A transform between streams.
    Transform,
    /// A consumer of a stream.
    Consumer,
    /// A stream-to-table sync into ClickHouse.
    Sync,
}

impl Kind {
    /// Every kind, in the order `top` shows them (the direction records flow).
    pub const ALL: [Kind; 5] = [
        Kind::Route,
        Kind::Stream,
        Kind::Transform,
        Kind::Consumer,
        Kind::Sync,
    ];

    /// The title of its section in the view.
    pub fn section(self) -> &'static str {
        match self {
            Kind::Route => "ingest routes",
            Kind::Stream => "streams",
            Kind::Transform => "transforms",
            Kind::Consumer => "consumers",
            Kind::Sync => "tables",
        }
    }
}

/// One line of `top`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// What it is.
    pub kind: Kind,
    /// Its name: a route's path, a stream's name, a transform's or consumer's label
    /// (`from->to`, `stream#n`), a sync's table (as declared).
    pub name: String,
    /// Records that arrived, total: accepted by a route, produced to a stream, read by a
    /// transform or consumer, rows inserted into a table.
    pub records_in: u64,
    /// Records a transform wrote, total (none for the other kinds).
    pub records_out: Option<u64>,
    /// `records_in` per second between the two snapshots; none without an earlier snapshot.
    pub in_per_sec: Option<f64>,
    /// `records_out` per second between the two snapshots.
    pub out_per_sec: Option<f64>,
    /// Records its consumer group has not committed yet (transforms, consumers, syncs).
    pub lag: Option<u64>,
    /// Failures: requests a route refused, records a transform or consumer failed on, inserts
    /// a sync retried (none for streams).
    pub errors: Option<u64>,
    /// Records sent to a dead-letter queue (transforms, consumers), rows a table did not
    /// store (syncs).
    pub dead_letters: Option<u64>,
    /// The table a sync writes, as `database.table` (unquoted).
    pub table: Option<String>,
    /// Whether this stream is a dead-letter queue.
    pub dead_letter_queue: bool,
}

impl Row {
    fn new(kind: Kind, name: &str, records_in: u64) -> Row {
        Row {
            kind,
            name: name.to_owned(),
            records_in,
            records_out: None,
            in_per_sec: None,
            out_per_sec: None,
            lag: None,
            errors: None,
            dead_letters: None,
            table: None,
            dead_letter_queue: false,
        }
    }
}

/// The rows of `current`, in the order of [`Kind::ALL`], with rates against `previous`.
pub fn rows(previous: Option<&Snapshot>, current: &Snapshot) -> Vec<Row> {
    let mut rows = totals(current);
    let Some((previous, secs)) = previous.and_then(|p| Some((p, interval_secs(p, current)?)))
    else {
        return rows;
    };
    let before = totals(previous);
    let rate = |now: u64, then: u64| now.checked_sub(then).map(|d| d as f64 / secs);
    for row in &mut rows {
        let Some(then) = before
            .iter()
            .find(|b| b.kind == row.kind && b.name == row.name)
        else {
            continue;
        };
        row.in_per_sec = rate(row.records_in, then.records_in);
        row.out_per_sec = match (row.records_out, then.records_out) {
            (Some(now), Some(then)) => rate(now, then),
            _ => None,
        };
    }
    rows
}

/// Seconds between two snapshots of one run of the app; none when they are not in order or
/// the app restarted in between (its counters started again from zero).
pub fn interval_secs(previous: &Snapshot, current: &Snapshot) -> Option<f64> {
    let millis = current.taken_at_ms.checked_sub(previous.taken_at_ms)?;
    (millis > 0 && current.uptime_secs >= previous.uptime_secs).then(|| millis as f64 / 1000.0)
}

/// The rows of one snapshot, totals only.
fn totals(s: &Snapshot) -> Vec<Row> {
    let mut rows = Vec::new();
    for r in &s.routes {
        let mut row = Row::new(Kind::Route, &r.path, r.records);
        row.errors = Some(r.refused);
        rows.push(row);
    }
    for st in &s.streams {
        let mut row = Row::new(Kind::Stream, &st.name, st.records);
        row.dead_letter_queue = st.dead_letter_queue;
        rows.push(row);
    }
    for (kind, tasks) in [
        (Kind::Transform, &s.transforms),
        (Kind::Consumer, &s.consumers),
    ] {
        for t in tasks {
            let mut row = Row::new(kind, &t.label, t.records_in);
            if kind == Kind::Transform {
                row.records_out = Some(t.records_out);
            }
            row.lag = Some(t.lag);
            row.errors = Some(t.errors);
            row.dead_letters = Some(t.dead_letters);
            rows.push(row);
        }
    }
    for sync in &s.syncs {
        let mut row = Row::new(Kind::Sync, &sync.table, sync.rows);
        row.lag = Some(sync.lag);
        row.errors = Some(sync.insert_failures);
        row.dead_letters = Some(sync.rows_rejected);
        row.table = Some(sync.qualified_table.replace('`', ""));
        rows.push(row);
    }
    rows
}

/// What `top --json` prints: the app's header and its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The address asked (`MOOSE_HTTP_ADDR`).
    pub address: String,
    /// When the app took the later snapshot, milliseconds since the epoch.
    pub taken_at_ms: u64,
    /// Seconds between the two snapshots the rates come from.
    pub interval_secs: Option<f64>,
    /// Seconds since the app started.
    pub uptime_secs: f64,
    /// The app's moose version.
    pub version: String,
    /// `embedded log` or `kafka <brokers>`.
    pub backend: String,
    /// The ClickHouse server in use.
    pub clickhouse: ClickHouseInfo,
    /// Readiness, with the reasons when not ready.
    pub ready: Readiness,
    /// One per route, stream, transform, consumer and table sync.
    pub rows: Vec<Row>,
}

impl Report {
    /// The report of the app at `address` from two snapshots.
    pub fn new(address: &str, previous: Option<&Snapshot>, current: &Snapshot) -> Report {
        Report {
            address: address.to_owned(),
            taken_at_ms: current.taken_at_ms,
            interval_secs: previous.and_then(|p| interval_secs(p, current)),
            uptime_secs: current.uptime_secs,
            version: current.version.clone(),
            backend: current.backend.clone(),
            clickhouse: current.clickhouse.clone(),
            ready: current.ready.clone(),
            rows: rows(previous, current),
        }
    }
}
