//! Errors from building a pipeline graph at run time (names computed at run time and the
//! like; `pipeline!` catches the same mistakes while compiling).

/// A pipeline graph that cannot be built as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Two streams, tables or ingest APIs share a name.
    #[error("{kind} `{name}` is declared twice; give one of them another name (or a version)")]
    DuplicateName {
        /// `stream`, `table` or `ingest API`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// An ingest pipeline's dead-letter queue would take the name of a stream or table
    /// declared before.
    #[error(
        "`{queue}` is declared twice: as the dead-letter queue of ingest pipeline `{pipeline}` and as a stream or table declared before it; rename that one, or the pipeline"
    )]
    DeadLetterQueueNameTaken {
        /// The pipeline.
        pipeline: String,
        /// `<pipeline>_dead_letter`.
        queue: String,
    },
    /// Two ingest APIs would be served at one path.
    #[error(
        "ingest APIs `{first}` and `{second}` would both be served at `/ingest/{path}`; give one of them another `path` or version"
    )]
    IngestPathTaken {
        /// The path after `/ingest/`.
        path: String,
        /// The API declared first.
        first: String,
        /// The API declared second.
        second: String,
    },
    /// A custom ingest path that cannot be served.
    #[error("ingest pipeline `{pipeline}`: `{path}` cannot be an ingest path: {reason}")]
    InvalidPath {
        /// The pipeline.
        pipeline: String,
        /// The path as given.
        path: String,
        /// Why.
        reason: &'static str,
    },
    /// A name that cannot be a topic, table and URL segment.
    #[error("`{name}` cannot be a stream or table name: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// `ingest: true` without `stream: true`.
    #[error(
        "ingest pipeline `{name}` has `ingest: true` but no stream: ingested records are written to a stream first; set `stream: true`"
    )]
    IngestWithoutStream {
        /// The pipeline.
        name: String,
    },
    /// A table with no `ORDER BY`.
    #[error(
        "table `{table}`: model `{model}` has no #[key] field and the table has no order_by; mark a field #[key] or set order_by"
    )]
    TableWithoutOrder {
        /// The table.
        table: String,
        /// The model.
        model: &'static str,
    },
    /// A table option names a column the model lacks.
    #[error(
        "table `{table}`: {option} names `{column}`, which model `{model}` does not have; its columns are: {known}"
    )]
    UnknownColumn {
        /// The table.
        table: String,
        /// `order_by`, ...
        option: &'static str,
        /// The missing column.
        column: String,
        /// The model.
        model: &'static str,
        /// The model's columns.
        known: String,
    },
    /// `parallelism: 0`.
    #[error("stream `{stream}` has parallelism 0; it needs at least one partition and one worker")]
    ZeroParallelism {
        /// The stream.
        stream: String,
    },
    /// A second transform between the same streams with the same version.
    #[error("there is already a transform from `{from}` to `{to}`{}; give the new one a distinct version", version.as_ref().map(|v| format!(" with version `{v}`")).unwrap_or_default())]
    DuplicateTransform {
        /// Source stream.
        from: String,
        /// Destination stream.
        to: String,
        /// The shared version.
        version: Option<String>,
    },
    /// A transform that would close a cycle.
    #[error(
        "a transform from `{from}` to `{to}` closes a cycle ({path}); records would loop forever"
    )]
    Cycle {
        /// Source stream.
        from: String,
        /// Destination stream.
        to: String,
        /// The cycle, `a -> b -> a`.
        path: String,
    },
    /// A name that is not declared.
    #[error("{kind} `{name}` is not declared{suggestion}")]
    Unknown {
        /// `stream`, `table`, ...
        kind: &'static str,
        /// The name.
        name: String,
        /// `; did you mean ...` or empty.
        suggestion: String,
    },
    /// A handle from another app.
    #[error("stream `{name}` belongs to another App; connect streams of one App only")]
    ForeignHandle {
        /// The stream.
        name: String,
    },
    /// `invalid_records: DeadLetter` on a pipeline without a dead-letter queue.
    #[error(
        "ingest pipeline `{name}` sends invalid records to its dead-letter queue but has none; set `dead_letter_queue: true`"
    )]
    DeadLetterPolicyWithoutQueue {
        /// The pipeline.
        name: String,
    },
    /// A dead-letter queue that is not a stream of `DeadLetter`.
    #[error(
        "dead-letter queue `{stream}` is a stream of `{model}`; a dead-letter queue is a `Stream<DeadLetter>`"
    )]
    DeadLetterModel {
        /// The stream named as a dead-letter queue.
        stream: String,
        /// Its model.
        model: &'static str,
    },
    /// A multi-transform declared with no destination.
    #[error(
        "the multi-transform from `{from}` has no destinations; give it the streams it writes to, like `(a.clone(), b.clone())`"
    )]
    NoDestinations {
        /// Source stream.
        from: String,
    },
    /// A multi-transform that lists one destination twice.
    #[error("the multi-transform from `{from}` lists `{to}` twice; list each destination once")]
    RepeatedDestination {
        /// Source stream.
        from: String,
        /// The repeated destination.
        to: String,
    },
}
