//! [`App`]: the pipeline graph an application declares, with typed handles to its parts.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use super::codec::ModelCodec;
use super::config::{
    IngestPipelineConfig, InvalidRecordPolicy, OlapConfig, StreamConfig, TransformConfig,
};
use super::describe::GraphDescription;
use super::error::GraphError;
use super::handles::{IngestPipeline, OlapTable, Stream};
use super::nodes::{PipelineNodes, stream_node, table_node};
use super::routing::ErasedRoutedTransform;
use super::running::RuntimeSlot;
use super::transform::{ErasedConsumer, ErasedTransform};
use crate::schema::DataModel;

/// A stream in the graph.
#[derive(Debug, Clone)]
pub struct StreamNode {
    /// Declared name.
    pub name: String,
    /// Settings.
    pub config: StreamConfig,
    /// Model carried.
    pub model: ModelCodec,
    /// Dead-letter stream for rows of this stream's table that cannot be stored (set for the
    /// stream of an ingest pipeline with `dead_letter_queue: true`).
    pub dead_letter_queue: Option<usize>,
}

/// A table in the graph.
#[derive(Debug, Clone)]
pub struct TableNode {
    /// Declared name (the table name before namespace/version).
    pub name: String,
    /// The name with its version (`name_1_2`), before the namespace.
    pub versioned: String,
    /// Settings, as declared.
    pub config: OlapConfig,
    /// Model stored.
    pub model: ModelCodec,
}

/// An HTTP ingest API in the graph.
#[derive(Debug, Clone)]
pub struct IngestApiNode {
    /// API name (`/ingest/<name>`).
    pub name: String,
    /// Optional version (`/ingest/<name>/<version>`).
    pub version: Option<String>,
    /// A custom path after `/ingest/`, instead of `<name>[/<version>]`.
    pub path: Option<String>,
    /// Index of the stream records are written to.
    pub stream: usize,
    /// Dead-letter stream of the pipeline, if it has one.
    pub dead_letter_queue: Option<usize>,
    /// What happens to invalid records.
    pub invalid_records: InvalidRecordPolicy,
}

impl IngestApiNode {
    /// The path after `/ingest/` it is declared at: its custom path, or `<name>[/<version>]`.
    pub fn path(&self) -> String {
        Self::path_of(&self.name, self.version.as_deref(), self.path.as_deref())
    }

    fn path_of(name: &str, version: Option<&str>, path: Option<&str>) -> String {
        match (path, version) {
            (Some(path), _) => path.to_owned(),
            (None, Some(version)) => format!("{name}/{version}"),
            (None, None) => name.to_owned(),
        }
    }
}

/// A transform in the graph.
#[derive(Clone)]
pub struct TransformNode {
    /// Source stream index.
    pub from: usize,
    /// Destination stream indexes: one for a transform, the declared list for a
    /// multi-transform (its outputs name a position in it).
    pub to: Vec<usize>,
    /// Options.
    pub config: TransformConfig,
    /// Dead-letter stream index, when named in `config` (the source stream's default is
    /// resolved by the topology).
    pub dead_letter_queue: Option<usize>,
    /// The function.
    pub function: TransformFunction,
}

/// The erased function of a transform.
#[derive(Clone)]
pub enum TransformFunction {
    /// A transform: every output goes to its one destination.
    Single(Arc<dyn ErasedTransform>),
    /// A multi-transform: each output names its destination.
    Routed(Arc<dyn ErasedRoutedTransform>),
}

impl TransformFunction {
    /// The function of a one-destination transform; `None` for a multi-transform.
    pub fn single(&self) -> Option<&Arc<dyn ErasedTransform>> {
        match self {
            TransformFunction::Single(function) => Some(function),
            TransformFunction::Routed(_) => None,
        }
    }

    /// The function of a multi-transform; `None` for a one-destination transform.
    pub fn routed(&self) -> Option<&Arc<dyn ErasedRoutedTransform>> {
        match self {
            TransformFunction::Routed(function) => Some(function),
            TransformFunction::Single(_) => None,
        }
    }
}

/// A consumer in the graph.
#[derive(Clone)]
pub struct ConsumerNode {
    /// Stream index.
    pub stream: usize,
    /// Options (version, dead-letter queue).
    pub config: TransformConfig,
    /// Dead-letter stream index.
    pub dead_letter_queue: Option<usize>,
    /// The function.
    pub function: Arc<dyn ErasedConsumer>,
}

/// Everything declared so far.
#[derive(Clone, Default)]
pub struct Graph {
    /// Streams.
    pub streams: Vec<StreamNode>,
    /// Tables.
    pub tables: Vec<TableNode>,
    /// Ingest APIs.
    pub ingest_apis: Vec<IngestApiNode>,
    /// Transforms.
    pub transforms: Vec<TransformNode>,
    /// Consumers.
    pub consumers: Vec<ConsumerNode>,
    /// The first step of a `pipeline!` that the builder refused. `pipeline!` refuses while
    /// compiling everything the builder would, so this is `None` unless the two disagree (a
    /// moose bug); a graph with one is incomplete and must not be run.
    pub refused: Option<GraphError>,
}

impl Graph {
    /// Adds `node`; its index.
    fn push_stream(&mut self, node: StreamNode) -> usize {
        self.streams.push(node);
        self.streams.len() - 1
    }

    /// Index of stream `name`: its versioned name (`events_1_2` for `events` version `1.2`)
    /// or, when only one stream was declared under it, its declared name.
    pub fn stream_index(&self, name: &str) -> Option<usize> {
        find_by_name(
            self.streams
                .iter()
                .map(|s| (s.name.as_str(), s.config.version.as_deref())),
            name,
        )
    }

    /// Table `name`: its versioned name or, when only one table was declared under it, its
    /// declared name.
    pub fn table(&self, name: &str) -> Option<&TableNode> {
        self.table_index(name).map(|i| &self.tables[i])
    }

    /// Index of table `name` (see [`Graph::table`]).
    pub fn table_index(&self, name: &str) -> Option<usize> {
        find_by_name(
            self.tables
                .iter()
                .map(|t| (t.name.as_str(), t.config.version.as_deref())),
            name,
        )
    }

    /// Whether a stream with this versioned name exists (two such would share a topic).
    fn has_stream(&self, versioned: &str) -> bool {
        self.streams
            .iter()
            .any(|s| versioned_name(&s.name, s.config.version.as_deref()) == versioned)
    }

    /// Whether a table with this versioned name exists.
    fn has_table(&self, versioned: &str) -> bool {
        self.tables.iter().any(|t| t.versioned == versioned)
    }

    /// Whether `to` reaches `from` through transforms; the path if so.
    pub(super) fn path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut stack = vec![vec![from]];
        let mut seen = vec![false; self.streams.len()];
        while let Some(path) = stack.pop() {
            let last = *path.last().expect("paths are never empty");
            if last == to {
                return Some(path);
            }
            if std::mem::replace(&mut seen[last], true) {
                continue;
            }
            for t in self.transforms.iter().filter(|t| t.from == last) {
                for to in &t.to {
                    let mut next = path.clone();
                    next.push(*to);
                    stack.push(next);
                }
            }
        }
        None
    }
}

/// The pipeline graph of an application.
///
/// ```
/// use moose_runtime::graph::{App, StreamConfig};
/// # use moose_runtime::schema::*;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Raw { id: String }
/// # impl ColumnValue for Raw { fn column_type(_: &FieldOptions) -> ColumnType { ColumnType::String } fn write_row_binary(&self, _: &ColumnType, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } }
/// # impl DataModel for Raw { const NAME: &'static str = "Raw"; const COLUMN_NAMES: &'static [&'static str] = &["id"]; const KEY_NAMES: &'static [&'static str] = &[];
/// #   fn columns() -> Vec<Column> { vec![] } fn write_row(&self, _: &[ColumnType], _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } fn message_key(&self) -> Vec<u8> { vec![] } }
/// let app = App::new();
/// let a = app.stream::<Raw>("a", StreamConfig::default())?;
/// let b = app.stream::<Raw>("b", StreamConfig::default().parallelism(4))?;
/// a.add_transform(&b, |r: Raw| Some(r))?;
/// assert_eq!(app.describe().transforms.len(), 1);
/// # Ok::<(), moose_runtime::graph::GraphError>(())
/// ```
#[derive(Clone, Default)]
pub struct App {
    pub(super) graph: Arc<Mutex<Graph>>,
    /// The runtime(s) running this app, for [`Stream::send`] and [`OlapTable::insert`].
    pub(super) runtime: Arc<RuntimeSlot>,
}

/// The position of `name` among `(declared name, version)` pairs: the one whose versioned
/// name it is, else the only one declared under it (several versions of one name need the
/// version to tell them apart).
fn find_by_name<'a>(
    items: impl Iterator<Item = (&'a str, Option<&'a str>)>,
    name: &str,
) -> Option<usize> {
    let items: Vec<_> = items.collect();
    if let Some(i) = items
        .iter()
        .position(|(declared, version)| versioned_name(declared, *version) == name)
    {
        return Some(i);
    }
    let mut declared = items.iter().enumerate().filter(|(_, (n, _))| *n == name);
    match (declared.next(), declared.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// `name` or `name_1_2` for version `1.2`.
pub fn versioned_name(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}_{}", v.replace('.', "_")),
        None => name.to_owned(),
    }
}

impl App {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }

    /// A snapshot of the graph (for the runtime).
    pub fn graph(&self) -> Graph {
        self.lock().clone()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Graph> {
        // A panic while holding the lock cannot leave the graph half-updated: every mutation
        // below validates first and pushes last.
        self.graph.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What the graph holds, for inspection and tests.
    pub fn describe(&self) -> GraphDescription {
        GraphDescription::of(&self.lock())
    }

    /// Records a step the builder refused where `pipeline!` had checked it fine while
    /// compiling (see [`Graph::refused`]); the graph keeps what was declared before it.
    pub(crate) fn refuse(&self, error: GraphError) {
        tracing::error!(error = %error, "pipeline! declared a graph the builder refuses; this is a moose bug, please report it");
        self.lock().refused.get_or_insert(error);
    }

    /// Declares a stream of `T`.
    pub fn stream<T: DataModel>(
        &self,
        name: &str,
        config: StreamConfig,
    ) -> Result<Stream<T>, GraphError> {
        let node = stream_node::<T>(name, config)?;
        let mut graph = self.lock();
        if graph.has_stream(&versioned_name(name, node.config.version.as_deref())) {
            return Err(GraphError::DuplicateName {
                kind: "stream",
                name: name.to_owned(),
            });
        }
        let index = graph.push_stream(node);
        Ok(self.stream_handle(index, name))
    }

    /// Declares a table of `T`.
    pub fn table<T: DataModel>(
        &self,
        name: &str,
        config: OlapConfig,
    ) -> Result<OlapTable<T>, GraphError> {
        let node = table_node::<T>(name, config)?;
        let mut graph = self.lock();
        if graph.has_table(&node.versioned) {
            return Err(GraphError::DuplicateName {
                kind: "table",
                name: name.to_owned(),
            });
        }
        graph.tables.push(node);
        Ok(self.table_handle(graph.tables.len() - 1, name))
    }

    /// Declares an ingest pipeline: any mix of ingest API, stream and table named `name`, and
    /// with `dead_letter_queue`, the stream and table `<name>_dead_letter`. All or nothing: on
    /// an error, the graph is as it was.
    pub fn ingest_pipeline<T: DataModel>(
        &self,
        name: &str,
        config: IngestPipelineConfig,
    ) -> Result<IngestPipeline<T>, GraphError> {
        // Every part is built and checked first; only then is the graph touched, under one lock.
        let nodes = PipelineNodes::of::<T>(name, &config)?;
        let mut graph = self.lock();
        let versioned = versioned_name(name, config.version.as_deref());
        let taken = (nodes.stream.is_some() && graph.has_stream(&versioned))
            || (nodes.table.is_some() && graph.has_table(&versioned))
            || (config.ingest
                && graph
                    .ingest_apis
                    .iter()
                    .any(|a| a.name == name && a.version == config.version));
        if taken {
            return Err(GraphError::DuplicateName {
                kind: "ingest pipeline",
                name: name.to_owned(),
            });
        }
        if config.ingest {
            let path =
                IngestApiNode::path_of(name, config.version.as_deref(), config.path.as_deref());
            if let Some(other) = graph.ingest_apis.iter().find(|a| a.path() == path) {
                return Err(GraphError::IngestPathTaken {
                    path,
                    first: versioned_name(&other.name, other.version.as_deref()),
                    second: versioned,
                });
            }
        }
        if let Some((queue, _)) = &nodes.dead_letter_queue
            && {
                let versioned = versioned_name(&queue.name, queue.config.version.as_deref());
                graph.has_stream(&versioned) || graph.has_table(&versioned)
            }
        {
            return Err(GraphError::DeadLetterQueueNameTaken {
                pipeline: name.to_owned(),
                queue: queue.name.clone(),
            });
        }
        // In the order the parts were always declared: table, stream, then the queue's.
        let table = nodes.table.map(|node| {
            graph.tables.push(node);
            self.table_handle(graph.tables.len() - 1, name)
        });
        let stream = nodes.stream.map(|node| graph.push_stream(node));
        let dead_letter_queue = nodes.dead_letter_queue.map(|(queue, queue_table)| {
            graph.tables.push(queue_table);
            let queue_name = queue.name.clone();
            (graph.push_stream(queue), queue_name)
        });
        let dead_letter_index = dead_letter_queue.as_ref().map(|(index, _)| *index);
        if let Some(index) = stream {
            graph.streams[index].dead_letter_queue = dead_letter_index;
        }
        if config.ingest
            && let Some(stream) = stream
        {
            graph.ingest_apis.push(IngestApiNode {
                name: name.to_owned(),
                version: config.version.clone(),
                path: config.path.clone(),
                stream,
                dead_letter_queue: dead_letter_index,
                invalid_records: config.invalid_records,
            });
        }
        Ok(IngestPipeline {
            name: name.to_owned(),
            ingest: config.ingest,
            stream: stream.map(|index| self.stream_handle(index, name)),
            table,
            dead_letter_queue: dead_letter_queue
                .map(|(index, queue)| self.stream_handle(index, &queue)),
        })
    }

    /// The handle of table `index`, named `name`.
    fn table_handle<T>(&self, index: usize, name: &str) -> OlapTable<T> {
        OlapTable {
            app: self.clone(),
            index,
            name: name.to_owned(),
            model: PhantomData,
        }
    }

    /// The handle of stream `index`, named `name`.
    fn stream_handle<T>(&self, index: usize, name: &str) -> Stream<T> {
        Stream {
            app: self.clone(),
            index,
            name: name.to_owned(),
            model: PhantomData,
        }
    }
}
