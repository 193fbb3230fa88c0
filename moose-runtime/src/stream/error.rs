//! Stream errors.

/// What went wrong with a stream.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The backend cannot take writes or serve reads right now (disk full, broker down);
    /// retrying later may succeed. Ingest answers 503 with `Retry-After`.
    #[error("stream backend unavailable: {0}")]
    Unavailable(String),
    /// The topic does not exist.
    #[error("topic `{0}` does not exist; it is created at start for every declared stream")]
    UnknownTopic(String),
    /// Another process holds the data directory.
    #[error("{0}")]
    Locked(String),
    /// Stored data is damaged beyond the torn-tail repair done on open.
    #[error("stream data is corrupt: {0}")]
    Corrupt(String),
    /// An I/O error, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done, to what.
        context: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A record larger than the backend stores (the embedded log's
    /// [`MAX_RECORD_BYTES`](crate::stream::local::MAX_RECORD_BYTES); Kafka's
    /// `message.max.bytes`, of the producer or the broker): retrying cannot help. Workers
    /// dead-letter the record it came from and go on.
    #[error("{0}")]
    RecordTooLarge(String),
    /// Anything else the backend reports.
    #[error("{0}")]
    Other(String),
}

impl StreamError {
    /// Whether retrying later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StreamError::Unavailable(_) | StreamError::Io { .. })
    }
}
