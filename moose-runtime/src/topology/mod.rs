//! The resolved topology: the graph an app declares, resolved once — for a namespace, a
//! ClickHouse database and that server's capabilities — into everything the runtime and the
//! tools act on, in physical names.
//!
//! ```text
//! App ──graph()──▶ Graph ──Topology::resolve──▶ Topology
//!                                                 ├─ resources: tables + topics (plan, converge, ddl)
//!                                                 ├─ transforms, consumers, syncs (workers, groups)
//!                                                 └─ routes (ingest HTTP)
//! ```
//!
//! `start`, `plan`, `ddl`, `peek` and the workers read a [`Topology`]; nothing else computes
//! a topic, table or consumer-group name (see [`names`]). Streams and tables are referred to
//! by [`StreamId`] / [`TableId`], indexes into [`Topology::resources`]' topics and tables.

pub mod names;
mod resolve;
mod routes;

use std::sync::Arc;

use crate::graph::{ErasedConsumer, ModelCodec, TransformFunction};
use crate::ingest::IngestRoute;
use crate::plan::{Desired, DesiredTable, DesiredTopic};

pub use resolve::TopologyError;
pub use routes::compare_versions;

/// A stream of the topology: an index into [`Desired::topics`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(pub(crate) usize);

/// A table of the topology: an index into [`Desired::tables`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId(pub(crate) usize);

/// Where a worker sends the records it cannot pass on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterTarget {
    /// The dead-letter stream.
    pub stream: StreamId,
    /// Its declared name (what dead letters and logs show).
    pub name: String,
    /// Its topic.
    pub topic: String,
}

/// A transform from one stream into one or (a multi-transform) several, with the consumer
/// group its workers share.
#[derive(Clone)]
pub struct TransformTask {
    /// `<from>-><to>` (`<from>->[<a>,<b>]` for a multi-transform), plus `@<version>` when
    /// versioned: logs and metric labels.
    pub label: String,
    /// Source stream.
    pub from: StreamId,
    /// Destination streams: one for a transform; a multi-transform's, in the order its
    /// outputs name them.
    pub to: Vec<StreamId>,
    /// Consumer group on the source topic.
    pub group: String,
    /// The function.
    pub function: TransformFunction,
    /// Where records the function fails on go; `None`: logged, counted and skipped.
    pub dead_letter: Option<DeadLetterTarget>,
}

/// A consumer function on a stream.
#[derive(Clone)]
pub struct ConsumerTask {
    /// `<stream>` plus `@<version>` (or `#<n>` for the n-th unversioned consumer of the stream).
    pub label: String,
    /// The stream.
    pub stream: StreamId,
    /// Its consumer group.
    pub group: String,
    /// The function.
    pub function: Arc<dyn ErasedConsumer>,
    /// Where records the function fails on go.
    pub dead_letter: Option<DeadLetterTarget>,
}

/// A stream synced into its destination table.
#[derive(Debug, Clone)]
pub struct SyncTask {
    /// The stream.
    pub stream: StreamId,
    /// The table.
    pub table: TableId,
    /// Its consumer group.
    pub group: String,
    /// The stream's model (decoded from the stream, encoded for the table).
    pub codec: ModelCodec,
    /// Where rows that cannot be stored go.
    pub dead_letter: Option<DeadLetterTarget>,
}

/// Everything the runtime and the tools act on, in physical names.
#[derive(Clone)]
pub struct Topology {
    /// Tables and topics as the code declares them: what `plan` diffs and `dev`/`start`
    /// converge. [`StreamId`] and [`TableId`] index these.
    pub resources: Desired,
    /// Transforms, in declaration order.
    pub transforms: Vec<TransformTask>,
    /// Consumers, in declaration order.
    pub consumers: Vec<ConsumerTask>,
    /// Table syncs, in stream declaration order.
    pub syncs: Vec<SyncTask>,
    /// Ingest routes, in declaration order.
    pub routes: Vec<IngestRoute>,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology")
            .field("resources", &self.resources)
            .field(
                "transforms",
                &self.transforms.iter().map(|t| &t.label).collect::<Vec<_>>(),
            )
            .field(
                "consumers",
                &self.consumers.iter().map(|c| &c.label).collect::<Vec<_>>(),
            )
            .field("syncs", &self.syncs)
            .field("routes", &self.routes)
            .finish()
    }
}

impl Topology {
    /// The topic of a stream.
    pub fn stream(&self, id: StreamId) -> &DesiredTopic {
        &self.resources.topics[id.0]
    }

    /// A table.
    pub fn table(&self, id: TableId) -> &DesiredTable {
        &self.resources.tables[id.0]
    }

    /// Every stream with its id.
    pub fn streams(&self) -> impl Iterator<Item = (StreamId, &DesiredTopic)> {
        self.resources
            .topics
            .iter()
            .enumerate()
            .map(|(i, t)| (StreamId(i), t))
    }

    /// The stream declared as `name`.
    pub fn stream_named(&self, name: &str) -> Option<&DesiredTopic> {
        self.resources.topics.iter().find(|t| t.declared == name)
    }

    /// The table declared as `name`.
    pub fn table_named(&self, name: &str) -> Option<&DesiredTable> {
        self.resources.tables.iter().find(|t| t.declared == name)
    }
}
