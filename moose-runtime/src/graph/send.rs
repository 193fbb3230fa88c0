//! Publishing from code: [`Stream::send`] writes typed records to a stream of a running app,
//! checked the way `POST /ingest/<name>` checks them, and returns once they are durable.

use super::codec::ModelCodec;
use super::handles::Stream;
use super::transform::{EncodedRecord, RECORDS_PER_YIELD};
use crate::schema::{DataModel, PayloadFormat};
use crate::stream::StreamError;

/// A record [`Stream::send`] refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    /// Its position among the records given to `send` (0 for `send_one`).
    pub index: usize,
    /// JSON path of the offending value (`.value`, `.scores[2]`), `.` for the whole record.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for InvalidRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "record {} at `{}`: {}",
            self.index, self.path, self.message
        )
    }
}

/// Why [`Stream::send`] wrote nothing, or could not confirm what it wrote.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// No runtime runs the app: `send` was called before `Runtime::start` or after
    /// `Runtime::shutdown`. Nothing was written.
    #[error(
        "cannot send to stream `{stream}`: its app is not running; streams take records from `Runtime::start` until `Runtime::shutdown` (or the runtime is dropped)"
    )]
    NotRunning {
        /// The stream's declared name.
        stream: String,
    },
    /// The stream was declared after the runtime started, so it has no topic. Nothing was
    /// written.
    #[error(
        "cannot send to stream `{stream}`: it was declared after the runtime started, so no topic was created for it; declare every stream before `Runtime::start`"
    )]
    DeclaredAfterStart {
        /// The stream's declared name.
        stream: String,
    },
    /// Records that are not valid instances of the stream's model, as ingest would refuse
    /// them (a float that is NaN or infinite, ...). Nothing was written.
    #[error(
        "{} of {received} records are not valid `{model}` records for stream `{stream}`; nothing was written. First: {}",
        records.len(),
        records.first().map(ToString::to_string).unwrap_or_default()
    )]
    InvalidRecords {
        /// The stream's declared name.
        stream: String,
        /// The stream's model.
        model: &'static str,
        /// Records given to `send`.
        received: usize,
        /// Every invalid one, in order.
        records: Vec<InvalidRecord>,
    },
    /// The stream cannot take writes right now (broker down, disk full): retrying later may
    /// succeed. None of the records may be counted as written; some may have been, so a
    /// retry can write duplicates (at-least-once).
    #[error(
        "stream `{stream}` (topic `{topic}`) is unavailable and did not confirm {records} records: {source}; retry later (records written before the failure may then appear twice)"
    )]
    Unavailable {
        /// The stream's declared name.
        stream: String,
        /// Its topic.
        topic: String,
        /// Records in the failed write.
        records: usize,
        /// What the backend reported.
        #[source]
        source: StreamError,
    },
    /// The stream refused the write for a reason retrying will not fix (the topic was
    /// deleted, the data is corrupt, ...). None of the records may be counted as written.
    #[error("stream `{stream}` (topic `{topic}`) refused {records} records: {source}")]
    Failed {
        /// The stream's declared name.
        stream: String,
        /// Its topic.
        topic: String,
        /// Records in the failed write.
        records: usize,
        /// What the backend reported.
        #[source]
        source: StreamError,
    },
}

impl SendError {
    /// Whether sending the same records again later may succeed (the stream was
    /// unavailable, or the app was not running yet).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            SendError::Unavailable { .. } | SendError::NotRunning { .. }
        )
    }
}

impl<T: DataModel> Stream<T> {
    /// Writes `records` to this stream and returns once every one of them is durable (the
    /// embedded log fsynced them; Kafka acknowledged them with `acks=all`): Moose's
    /// `Stream.send`. Transforms, consumers and the table sync of the stream then see them
    /// like records posted to its ingest API.
    ///
    /// Works while a [`Runtime`](crate::runtime::Runtime) runs the app this stream belongs
    /// to, from anywhere: a consumer or transform of another stream, a background task, your
    /// own HTTP handler. Clone the handle into the closure; before `Runtime::start` and after
    /// `Runtime::shutdown` it answers [`SendError::NotRunning`].
    ///
    /// All or nothing, like an ingest request: every record is checked first as
    /// `POST /ingest/<name>` checks it (serialized to JSON and decoded again with the same
    /// codec, so a NaN or infinite float, which JSON cannot carry, is refused with its path),
    /// and if any is invalid nothing is written and [`SendError::InvalidRecords`] lists each
    /// one by index. The valid records go to the backend in one write, keyed by the model's
    /// `#[key]` fields. Sending no records writes nothing and succeeds.
    ///
    /// ```no_run
    /// # use moose_runtime::graph::{SendError, Stream};
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct Order { id: String }
    /// # use moose_runtime::schema::*;
    /// # impl ColumnValue for Order { fn column_type(_: &FieldOptions) -> ColumnType { ColumnType::String } fn write_row_binary(&self, _: &ColumnType, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } }
    /// # impl DataModel for Order { const NAME: &'static str = "Order"; const COLUMN_NAMES: &'static [&'static str] = &["id"]; const KEY_NAMES: &'static [&'static str] = &[];
    /// #   fn columns() -> Vec<Column> { vec![] } fn write_row(&self, _: &[ColumnType], _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } fn message_key(&self) -> Vec<u8> { vec![] } }
    /// # async fn run(orders: Stream<Order>, audit: Stream<Order>) -> Result<(), moose_runtime::graph::GraphError> {
    /// // A consumer of `orders` that copies every order to `audit`. Returning the error
    /// // sends the order to the consumer's dead-letter queue (or logs it) when `audit`
    /// // cannot take it.
    /// let to = audit.clone();
    /// orders.add_consumer(move |order: Order| {
    ///     let to = to.clone();
    ///     async move { to.send_one(order).await }
    /// })?;
    /// # Ok(()) }
    /// ```
    pub async fn send(&self, records: impl IntoIterator<Item = T>) -> Result<(), SendError> {
        let running = self.app.running().ok_or_else(|| SendError::NotRunning {
            stream: self.name.clone(),
        })?;
        let topic = running
            .topic(self.index, &self.name)
            .ok_or_else(|| SendError::DeclaredAfterStart {
                stream: self.name.clone(),
            })?
            .spec
            .name
            .as_str();
        let encoded = self
            .encode(records, running.streams.payload_format())
            .await?;
        if encoded.is_empty() {
            return Ok(());
        }
        running
            .streams
            .produce(topic, &encoded)
            .await
            .map_err(|source| {
                let (stream, topic, records) = (self.name.clone(), topic.to_owned(), encoded.len());
                if source.is_retryable() {
                    SendError::Unavailable {
                        stream,
                        topic,
                        records,
                        source,
                    }
                } else {
                    SendError::Failed {
                        stream,
                        topic,
                        records,
                        source,
                    }
                }
            })
    }

    /// [`send`](Self::send) for one record.
    pub async fn send_one(&self, record: T) -> Result<(), SendError> {
        self.send([record]).await
    }

    /// Every record checked and encoded as ingest would, or every invalid one.
    async fn encode(
        &self,
        records: impl IntoIterator<Item = T>,
        format: PayloadFormat,
    ) -> Result<Vec<EncodedRecord>, SendError> {
        let codec = ModelCodec::of::<T>();
        let records = records.into_iter();
        let mut encoded = Vec::with_capacity(records.size_hint().0);
        let mut invalid = Vec::new();
        let mut received = 0;
        for (index, record) in records.enumerate() {
            if index > 0 && index % RECORDS_PER_YIELD == 0 {
                // Encoding is CPU work on an async thread: let other tasks in.
                tokio::task::yield_now().await;
            }
            received += 1;
            match check(&codec, &record, format) {
                Ok(record) if invalid.is_empty() => encoded.push(record),
                Ok(_) => {}
                Err((path, message)) => {
                    encoded = Vec::new();
                    invalid.push(InvalidRecord {
                        index,
                        path,
                        message,
                    });
                }
            }
        }
        if invalid.is_empty() {
            Ok(encoded)
        } else {
            Err(SendError::InvalidRecords {
                stream: self.name.clone(),
                model: T::NAME,
                received,
                records: invalid,
            })
        }
    }
}

/// `record` as ingest would write it, or where and why ingest would refuse it.
fn check<T: DataModel>(
    codec: &ModelCodec,
    record: &T,
    format: PayloadFormat,
) -> Result<EncodedRecord, (String, String)> {
    // Checked on the value first: serde_json writes a NaN or infinite float as `null`, which
    // the decoding below would report as a type error instead.
    if let Some(found) = record.first_non_finite() {
        let path = if found.path.is_empty() {
            ".".to_owned()
        } else {
            found.path
        };
        return Err((
            path,
            format!(
                "{} is NaN or infinite, which JSON (and so the stream) cannot carry",
                found.rust_type
            ),
        ));
    }
    let json = serde_json::to_vec(record)
        .map_err(|e| (".".to_owned(), format!("cannot be serialized to JSON: {e}")))?;
    // The ingest API's own check, on the JSON the stream would hold: what passes here is
    // exactly what `POST /ingest/<name>` would accept, and what the stream's readers decode.
    (codec.decode_json)(&json, format).map_err(|e| (e.path, e.message))
}
