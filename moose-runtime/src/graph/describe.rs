//! A serializable description of a graph, for inspection, `ddl` output and tests.

use serde::Serialize;

use super::app::Graph;
use super::config::LifeCycle;

/// Everything a graph declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphDescription {
    /// Streams, in declaration order.
    pub streams: Vec<StreamDescription>,
    /// Tables.
    pub tables: Vec<TableDescription>,
    /// Ingest APIs.
    pub ingest_apis: Vec<IngestApiDescription>,
    /// Transforms.
    pub transforms: Vec<TransformDescription>,
    /// Consumers.
    pub consumers: Vec<ConsumerDescription>,
}

/// A stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StreamDescription {
    /// Declared name.
    pub name: String,
    /// Topic name (versioned, before any namespace).
    pub topic: String,
    /// Model.
    pub model: String,
    /// Partitions and workers.
    pub parallelism: u32,
    /// Retention in seconds.
    pub retention_secs: u64,
    /// Lifecycle mode.
    pub life_cycle: LifeCycle,
    /// Version.
    pub version: Option<String>,
    /// Destination table.
    pub destination: Option<String>,
}

/// A table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TableDescription {
    /// Declared name.
    pub name: String,
    /// Table name in ClickHouse (versioned).
    pub table: String,
    /// Model.
    pub model: String,
    /// Column names.
    pub columns: Vec<String>,
    /// `ORDER BY` as declared (`key`, fields, or an expression).
    pub order_by: String,
    /// Lifecycle mode.
    pub life_cycle: LifeCycle,
}

/// An ingest API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestApiDescription {
    /// Name.
    pub name: String,
    /// URL path.
    pub path: String,
    /// Stream written to.
    pub stream: String,
}

/// A transform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TransformDescription {
    /// Source stream.
    pub from: String,
    /// Destination stream.
    pub to: String,
    /// Version.
    pub version: Option<String>,
    /// Dead-letter stream.
    pub dead_letter_queue: Option<String>,
}

/// A consumer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsumerDescription {
    /// Stream consumed.
    pub stream: String,
    /// Version.
    pub version: Option<String>,
}

impl GraphDescription {
    pub(crate) fn of(graph: &Graph) -> Self {
        let stream_name = |i: usize| graph.streams[i].name.clone();
        Self {
            streams: graph
                .streams
                .iter()
                .map(|s| StreamDescription {
                    name: s.name.clone(),
                    topic: crate::topology::names::topic_name(
                        None,
                        &s.name,
                        s.config.version.as_deref(),
                    ),
                    model: s.model.name.to_owned(),
                    parallelism: s.config.parallelism,
                    retention_secs: s.config.retention_period.as_secs(),
                    life_cycle: s.config.life_cycle,
                    version: s.config.version.clone(),
                    destination: s.config.destination.clone(),
                })
                .collect(),
            tables: graph
                .tables
                .iter()
                .map(|t| TableDescription {
                    name: t.name.clone(),
                    table: t.versioned.clone(),
                    model: t.model.name.to_owned(),
                    columns: (t.model.columns)().into_iter().map(|c| c.name).collect(),
                    order_by: match &t.config.order_by {
                        crate::schema::OrderBy::Key => "key".to_owned(),
                        crate::schema::OrderBy::Fields(f) => f.join(", "),
                        crate::schema::OrderBy::Expr(e) => e.clone(),
                        crate::schema::OrderBy::Unsorted => "tuple()".to_owned(),
                    },
                    life_cycle: t.config.life_cycle,
                })
                .collect(),
            ingest_apis: graph
                .ingest_apis
                .iter()
                .map(|a| IngestApiDescription {
                    name: a.name.clone(),
                    path: format!("/ingest/{}", a.path()),
                    stream: stream_name(a.stream),
                })
                .collect(),
            transforms: graph
                .transforms
                .iter()
                .map(|t| TransformDescription {
                    from: stream_name(t.from),
                    to: match t.to.as_slice() {
                        [one] => stream_name(*one),
                        many => format!(
                            "[{}]",
                            many.iter()
                                .map(|i| stream_name(*i))
                                .collect::<Vec<_>>()
                                .join(",")
                        ),
                    },
                    version: t.config.version.clone(),
                    dead_letter_queue: t.dead_letter_queue.map(stream_name),
                })
                .collect(),
            consumers: graph
                .consumers
                .iter()
                .map(|c| ConsumerDescription {
                    stream: stream_name(c.stream),
                    version: c.config.version.clone(),
                })
                .collect(),
        }
    }
}
