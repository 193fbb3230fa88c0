//! Direct table inserts from code: [`OlapTable::insert`] writes typed rows into a running
//! app's table, with a strategy for rows that cannot be stored (Moose's `OlapTable.insert`).
//!
//! Over 400 lines: the strategy, the report and the errors (with their messages) of one call,
//! and its two insert paths (whole, isolating).

use std::ops::Range;

use bytes::Bytes;

use super::handles::OlapTable;
use super::transform::RECORDS_PER_YIELD;
use crate::clickhouse::ClickHouseError;
use crate::clickhouse::isolate::{Refused, insert_isolating};
use crate::schema::{DataModel, ResolvedTable};
use crate::worker::MAX_ROWS_PER_INSERT;

/// What [`OlapTable::insert`] does with rows it cannot store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum InsertStrategy {
    /// Any invalid row fails the whole call and nothing is inserted; so does a ClickHouse
    /// refusal (the insert is one block, which ClickHouse stores all or nothing).
    FailFast,
    /// Invalid rows are skipped (and reported) as long as they are at most `max_error_ratio`
    /// (0.0 to 1.0) of the rows given; above it the call fails and nothing is inserted. A
    /// ClickHouse refusal fails the call like [`FailFast`](Self::FailFast): only rows found
    /// invalid before sending are discarded.
    Discard {
        /// The largest share of invalid rows accepted, from 0.0 (none) to 1.0 (all).
        max_error_ratio: f64,
    },
    /// Every row that can be stored is stored; the others are returned with their index and
    /// why: invalid ones, and ones ClickHouse refuses (the insert is split in halves until
    /// each refused row is alone, as the table sync does for its dead letters).
    Isolate,
}

impl InsertStrategy {
    /// [`Discard`](Self::Discard) accepting at most `max_error_ratio` of invalid rows.
    pub fn discard(max_error_ratio: f64) -> Self {
        InsertStrategy::Discard { max_error_ratio }
    }
}

/// Why a row was not inserted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowFailure {
    /// Refused before anything was sent: a value the column's type on this server cannot
    /// hold (a date before 1970 in 18.16's `Date`, ...), or a NaN or infinite float, which a
    /// record on its way through a stream could not carry either.
    Invalid {
        /// Path of the offending value (`.value`, `.inner.zip`), `.` when it is not known.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// ClickHouse refused the row when it was inserted on its own (twice):
    /// [`InsertStrategy::Isolate`] only.
    Rejected {
        /// ClickHouse's error.
        message: String,
    },
}

impl std::fmt::Display for RowFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowFailure::Invalid { path, message } => write!(f, "invalid at `{path}`: {message}"),
            RowFailure::Rejected { message } => write!(f, "ClickHouse rejected it: {message}"),
        }
    }
}

/// A row [`OlapTable::insert`] did not insert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedRow {
    /// Its position among the rows given to `insert`.
    pub index: usize,
    /// Why.
    pub reason: RowFailure,
}

impl std::fmt::Display for FailedRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "row {} {}", self.index, self.reason)
    }
}

/// What [`OlapTable::insert`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertReport {
    /// Rows given.
    pub total: usize,
    /// Rows inserted: `total - failed.len()`.
    pub inserted: usize,
    /// Rows not inserted, in order (always empty with [`InsertStrategy::FailFast`]).
    pub failed: Vec<FailedRow>,
}

/// Why [`OlapTable::insert`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError {
    /// No runtime runs the app: `insert` was called before `Runtime::start` or after
    /// `Runtime::shutdown`. Nothing was inserted.
    #[error(
        "cannot insert into table `{table}`: its app is not running; tables take rows from `Runtime::start` until `Runtime::shutdown` (or the runtime is dropped)"
    )]
    NotRunning {
        /// The table's declared name.
        table: String,
    },
    /// The table was declared after the runtime started, so it was never created. Nothing
    /// was inserted.
    #[error(
        "cannot insert into table `{table}`: it was declared after the runtime started, so it was not created; declare every table before `Runtime::start`"
    )]
    DeclaredAfterStart {
        /// The table's declared name.
        table: String,
    },
    /// [`InsertStrategy::Discard`] with a ratio outside 0.0..=1.0. Nothing was inserted.
    #[error(
        "cannot insert into table `{table}`: `max_error_ratio` is {ratio}, but it is a share of the rows, from 0.0 to 1.0"
    )]
    InvalidErrorRatio {
        /// The table's declared name.
        table: String,
        /// The ratio given.
        ratio: f64,
    },
    /// Invalid rows: any with [`InsertStrategy::FailFast`], more than allowed with
    /// [`InsertStrategy::Discard`]. Nothing was inserted.
    #[error(
        "{} of {total} rows for table `{table}` are invalid ({}); nothing was inserted. First: {}",
        rows.len(),
        allowed.map_or_else(|| "fail-fast allows none".to_owned(), |r| format!("discard allows at most {r} of them")),
        rows.first().map(ToString::to_string).unwrap_or_default()
    )]
    InvalidRows {
        /// The table's declared name.
        table: String,
        /// Rows given.
        total: usize,
        /// The share of invalid rows the strategy allows (`None`: fail-fast).
        allowed: Option<f64>,
        /// Every invalid row, in order.
        rows: Vec<FailedRow>,
    },
    /// ClickHouse refused the rows for their data ([`InsertStrategy::FailFast`] and
    /// [`InsertStrategy::Discard`]; [`InsertStrategy::Isolate`] finds such rows instead).
    /// Rows before `resume_at` were inserted (only when more than
    /// [`MAX_ROWS_PER_INSERT`] rows were given: each insert is one all-or-nothing block of
    /// at most that many), none from it on.
    #[error(
        "ClickHouse refused rows for table `{table}` ({physical}); rows from index {resume_at} on were not inserted{}: {source}; use `InsertStrategy::Isolate` to find the refused rows",
        if *resume_at > 0 { ", the ones before were" } else { "" }
    )]
    Rejected {
        /// The table's declared name.
        table: String,
        /// Its physical name.
        physical: String,
        /// The index of the first row not inserted.
        resume_at: usize,
        /// ClickHouse's error.
        #[source]
        source: ClickHouseError,
    },
    /// ClickHouse failed for another reason (down, too many parts, table missing): rows
    /// before `resume_at` were inserted (or, with [`InsertStrategy::Isolate`], found
    /// refused), none from it on; insert `rows[resume_at..]` again later.
    #[error(
        "inserting into table `{table}` ({physical}) failed: {source}; rows from index {resume_at} on were not inserted{}, insert them again later",
        if *resume_at > 0 { " (the ones before were)" } else { "" }
    )]
    ClickHouse {
        /// The table's declared name.
        table: String,
        /// Its physical name.
        physical: String,
        /// The index of the first row not inserted.
        resume_at: usize,
        /// ClickHouse's error.
        #[source]
        source: ClickHouseError,
    },
}

/// The rows that passed validation, encoded back to back.
struct Encoded {
    rows: Bytes,
    /// For each valid row: its index among the rows given and where its bytes end.
    valid: Vec<(usize, usize)>,
    invalid: Vec<FailedRow>,
    total: usize,
}

impl Encoded {
    /// The bytes of valid rows `range`.
    fn slice(&self, range: Range<usize>) -> Bytes {
        let start = match range.start {
            0 => 0,
            i => self.valid[i - 1].1,
        };
        self.rows.slice(start..self.valid[range.end - 1].1)
    }
}

impl<T: DataModel> OlapTable<T> {
    /// Inserts `rows` straight into this table, not through a stream: Moose's
    /// `OlapTable.insert`. Uses the running app's ClickHouse server and the table's physical
    /// name (namespace and version applied), encoded for the table's resolved column types
    /// like the table sync does.
    ///
    /// Every row is checked first: a value the column cannot hold (see
    /// [`RowFailure::Invalid`]) makes it invalid. `strategy` says what then happens:
    /// [`FailFast`](InsertStrategy::FailFast) (any invalid row: nothing inserted),
    /// [`Discard`](InsertStrategy::Discard) (skip invalid rows up to a ratio) or
    /// [`Isolate`](InsertStrategy::Isolate) (insert every row that can be stored, also
    /// finding the ones ClickHouse refuses). Rows go in inserts of at most
    /// [`MAX_ROWS_PER_INSERT`], each stored all or nothing by ClickHouse; nothing is retried
    /// (a failed call says from which row on nothing was inserted) and nothing carries a
    /// deduplication token, so a call repeated after an error may store rows twice.
    ///
    /// Works while a [`Runtime`](crate::runtime::Runtime) runs the app, from anywhere (clone
    /// the handle); before `Runtime::start` and after `Runtime::shutdown` it answers
    /// [`InsertError::NotRunning`].
    pub async fn insert(
        &self,
        rows: impl IntoIterator<Item = T>,
        strategy: InsertStrategy,
    ) -> Result<InsertReport, InsertError> {
        let running = self.app.running().ok_or_else(|| InsertError::NotRunning {
            table: self.name.clone(),
        })?;
        let table = &running
            .table(self.index, &self.name)
            .ok_or_else(|| InsertError::DeclaredAfterStart {
                table: self.name.clone(),
            })?
            .resolved;
        if let InsertStrategy::Discard { max_error_ratio } = strategy
            && !(0.0..=1.0).contains(&max_error_ratio)
        {
            return Err(InsertError::InvalidErrorRatio {
                table: self.name.clone(),
                ratio: max_error_ratio,
            });
        }
        let encoded = encode(rows, table).await;
        // `Some(allowed)`: invalid rows fail the call (`allowed`: the ratio discard allows).
        let refuse = match strategy {
            InsertStrategy::FailFast => Some(None),
            InsertStrategy::Discard { max_error_ratio } => {
                let invalid = encoded.invalid.len() as f64;
                (invalid > max_error_ratio * encoded.total as f64).then_some(Some(max_error_ratio))
            }
            InsertStrategy::Isolate => None,
        };
        if let Some(allowed) = refuse
            && !encoded.invalid.is_empty()
        {
            return Err(InsertError::InvalidRows {
                table: self.name.clone(),
                total: encoded.total,
                allowed,
                rows: encoded.invalid,
            });
        }
        let mut failed = match strategy {
            InsertStrategy::Isolate => {
                self.insert_isolating(&running.clickhouse, table, &encoded)
                    .await?
            }
            _ => {
                self.insert_whole(&running.clickhouse, table, &encoded)
                    .await?;
                Vec::new()
            }
        };
        failed.extend(encoded.invalid);
        failed.sort_by_key(|f| f.index);
        Ok(InsertReport {
            total: encoded.total,
            inserted: encoded.total - failed.len(),
            failed,
        })
    }

    /// Inserts every valid row, in inserts of at most [`MAX_ROWS_PER_INSERT`].
    async fn insert_whole(
        &self,
        clickhouse: &crate::clickhouse::ClickHouse,
        table: &ResolvedTable,
        encoded: &Encoded,
    ) -> Result<(), InsertError> {
        for start in (0..encoded.valid.len()).step_by(MAX_ROWS_PER_INSERT) {
            let range = start..(start + MAX_ROWS_PER_INSERT).min(encoded.valid.len());
            let resume_at = encoded.valid[range.start].0;
            if let Err(source) = clickhouse
                .insert_rows_once(table, encoded.slice(range), None)
                .await
            {
                let (table_name, physical) = (self.name.clone(), table.qualified_name());
                return Err(if source.is_data_error() {
                    InsertError::Rejected {
                        table: table_name,
                        physical,
                        resume_at,
                        source,
                    }
                } else {
                    InsertError::ClickHouse {
                        table: table_name,
                        physical,
                        resume_at,
                        source,
                    }
                });
            }
        }
        Ok(())
    }

    /// Inserts every valid row, isolating the ones ClickHouse refuses; those rows.
    async fn insert_isolating(
        &self,
        clickhouse: &crate::clickhouse::ClickHouse,
        table: &ResolvedTable,
        encoded: &Encoded,
    ) -> Result<Vec<FailedRow>, InsertError> {
        let label = format!("{} <- OlapTable::insert", table.qualified_name());
        let mut failed = Vec::new();
        for start in (0..encoded.valid.len()).step_by(MAX_ROWS_PER_INSERT) {
            let end = (start + MAX_ROWS_PER_INSERT).min(encoded.valid.len());
            let insert = |range: Range<usize>| {
                let rows = encoded.slice(start + range.start..start + range.end);
                async move {
                    clickhouse
                        .insert_rows_once(table, rows, None)
                        .await
                        .map_err(|e| {
                            if e.is_data_error() {
                                Refused::Data(e)
                            } else {
                                Refused::Stop(e)
                            }
                        })
                }
            };
            match insert_isolating(end - start, &label, insert).await {
                Ok(refused) => failed.extend(refused.into_iter().map(|(i, e)| FailedRow {
                    index: encoded.valid[start + i].0,
                    reason: RowFailure::Rejected {
                        message: e.to_string(),
                    },
                })),
                Err((source, at)) => {
                    return Err(InsertError::ClickHouse {
                        table: self.name.clone(),
                        physical: table.qualified_name(),
                        resume_at: encoded.valid[start + at].0,
                        source,
                    });
                }
            }
        }
        Ok(failed)
    }
}

/// Checks and encodes every row for `table`'s column types.
async fn encode<T: DataModel>(rows: impl IntoIterator<Item = T>, table: &ResolvedTable) -> Encoded {
    let types = table.column_types();
    let mut out = Vec::new();
    let mut valid = Vec::new();
    let mut invalid = Vec::new();
    let mut total = 0;
    for (index, row) in rows.into_iter().enumerate() {
        if index > 0 && index % RECORDS_PER_YIELD == 0 {
            // Encoding is CPU work on an async thread: let other tasks in.
            tokio::task::yield_now().await;
        }
        total += 1;
        let start = out.len();
        let failure = if let Some(found) = row.first_non_finite() {
            Some(RowFailure::Invalid {
                path: if found.path.is_empty() {
                    ".".into()
                } else {
                    found.path
                },
                message: format!(
                    "{} is NaN or infinite; a record on its way through a stream could not carry it either",
                    found.rust_type
                ),
            })
        } else {
            row.write_row(types, &mut out).err().map(|e| {
                out.truncate(start);
                RowFailure::Invalid {
                    path: e.column.map_or_else(|| ".".into(), |c| format!(".{c}")),
                    message: format!(
                        "cannot be stored in {}: {}",
                        table.qualified_name(),
                        e.message
                    ),
                }
            })
        };
        match failure {
            None => valid.push((index, out.len())),
            Some(reason) => invalid.push(FailedRow { index, reason }),
        }
    }
    Encoded {
        rows: Bytes::from(out),
        valid,
        invalid,
        total,
    }
}
