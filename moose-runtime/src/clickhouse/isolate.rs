//! Finding the rows ClickHouse rejects in an insert: the insert is split in halves until each
//! rejected row is alone. Shared by the table sync (which dead-letters those rows) and
//! [`OlapTable::insert`](crate::graph::OlapTable::insert) with the isolate strategy (which
//! returns them).

use std::future::Future;
use std::ops::Range;
use std::time::Duration;

use super::ClickHouseError;

/// Pause before a single rejected row is tried a second time.
pub const SECOND_OPINION_DELAY: Duration = Duration::from_millis(100);

/// Why one insert of a range of rows did not land.
#[derive(Debug)]
pub enum Refused<S> {
    /// ClickHouse refused the rows for their data ([`ClickHouseError::is_data_error`]): worth
    /// splitting.
    Data(ClickHouseError),
    /// Anything else: stop isolating (the caller's reason).
    Stop(S),
}

/// Inserts rows `0..count` with `insert(range)`, splitting every range ClickHouse refuses for
/// its data in halves until each refused row is alone; a row alone is tried once more after
/// [`SECOND_OPINION_DELAY`], since only a refusal that repeats is about the row itself (a
/// body cut short by the network also fails to parse).
///
/// Ranges are inserted left to right, so when `insert` answers [`Refused::Stop`] every row
/// before the range being inserted has been inserted or refused, and none from it on:
/// `Err((reason, range.start))`. Otherwise the refused rows, in order, with ClickHouse's
/// error for each. `label` names the insert in logs.
pub async fn insert_isolating<S, F, Fut>(
    count: usize,
    label: &str,
    mut insert: F,
) -> Result<Vec<(usize, ClickHouseError)>, (S, usize)>
where
    F: FnMut(Range<usize>) -> Fut,
    Fut: Future<Output = Result<(), Refused<S>>>,
{
    let mut refused = Vec::new();
    // Ranges still to insert, leftmost on top: at first the whole batch.
    let mut pending = Vec::new();
    pending.push(0..count);
    while let Some(range) = pending.pop() {
        if range.is_empty() {
            continue;
        }
        let mut outcome = insert(range.clone()).await;
        if range.len() == 1 && matches!(outcome, Err(Refused::Data(_))) {
            tokio::time::sleep(SECOND_OPINION_DELAY).await;
            outcome = insert(range.clone()).await;
        }
        match outcome {
            Ok(()) => {}
            Err(Refused::Stop(reason)) => return Err((reason, range.start)),
            Err(Refused::Data(error)) if range.len() == 1 => refused.push((range.start, error)),
            Err(Refused::Data(error)) => {
                let mid = range.start + range.len() / 2;
                tracing::info!(insert = %label, rows = range.len(), error = %error, "ClickHouse rejected an insert for its data; splitting it to isolate the rejected rows");
                pending.push(mid..range.end);
                pending.push(range.start..mid);
            }
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    fn data_error() -> ClickHouseError {
        ClickHouseError::Request {
            url: "http://test".into(),
            action: "inserting".into(),
            source: clickhouse::error::Error::BadResponse(
                "Code: 395, e.displayText() = DB::Exception: Value passed to 'throwIf' function is non zero".into(),
            ),
        }
    }

    /// A fake server that refuses every insert holding one of `bad` for its data, and stops
    /// at one holding `stop_at`; the refused rows (or where it stopped) and the rows stored.
    async fn run(
        count: usize,
        bad: &[usize],
        stop_at: Option<usize>,
    ) -> (Result<Vec<usize>, usize>, Vec<usize>) {
        let stored = RefCell::new(Vec::new());
        let result = insert_isolating(count, "test", |range: Range<usize>| {
            let outcome = if range.clone().any(|i| bad.contains(&i)) {
                Err(Refused::Data(data_error()))
            } else if stop_at.is_some_and(|s| range.contains(&s)) {
                Err(Refused::Stop(()))
            } else {
                stored.borrow_mut().extend(range);
                Ok(())
            };
            async move { outcome }
        })
        .await;
        (
            result
                .map(|r| r.into_iter().map(|(i, _)| i).collect())
                .map_err(|((), at)| at),
            stored.into_inner(),
        )
    }

    #[tokio::test]
    async fn every_refused_row_is_found_and_every_other_row_stored_once_in_order() {
        let (refused, stored) = run(10, &[0, 3, 4, 9], None).await;
        assert_eq!(refused, Ok(vec![0, 3, 4, 9]));
        assert_eq!(stored, vec![1, 2, 5, 6, 7, 8]);
    }

    #[tokio::test]
    async fn a_stop_names_the_first_row_not_handled() {
        let (refused, stored) = run(8, &[1], Some(6)).await;
        // 0..8 is split for row 1; 4..8 then fails for another reason.
        assert_eq!(refused, Err(4));
        assert_eq!(
            stored,
            vec![0, 2, 3],
            "rows before 4 were handled, none after"
        );
    }
}
