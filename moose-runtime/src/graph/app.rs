//! [`App`]: the pipeline graph an application declares, with typed handles to its parts.

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, MutexGuard};

use super::codec::ModelCodec;
use super::config::{
    IngestPipelineConfig, InvalidRecordPolicy, LifeCycle, OlapConfig, StreamConfig, TransformConfig,
};
use super::dead_letter::DeadLetter;
use super::describe::GraphDescription;
use super::error::GraphError;
use super::transform::{
    ConsumerReturn, ErasedConsumer, ErasedTransform, TransformReturn, erase_consumer,
    erase_transform,
};
use crate::schema::{DataModel, Engine, OrderBy, TableConfig};

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
    /// DDL settings; `config.name` is the versioned table name.
    pub config: TableConfig,
    /// What moose may change about the table.
    pub life_cycle: LifeCycle,
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
    /// Index of the stream records are written to.
    pub stream: usize,
    /// Dead-letter stream of the pipeline, if it has one.
    pub dead_letter_queue: Option<usize>,
    /// What happens to invalid records.
    pub invalid_records: InvalidRecordPolicy,
}

/// A transform in the graph.
#[derive(Clone)]
pub struct TransformNode {
    /// Source stream index.
    pub from: usize,
    /// Destination stream index.
    pub to: usize,
    /// Options.
    pub config: TransformConfig,
    /// Dead-letter stream index.
    pub dead_letter_queue: Option<usize>,
    /// The function.
    pub function: Arc<dyn ErasedTransform>,
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

    /// Index of stream `name`.
    pub fn stream_index(&self, name: &str) -> Option<usize> {
        self.streams.iter().position(|s| s.name == name)
    }

    /// Table `name`.
    pub fn table(&self, name: &str) -> Option<&TableNode> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether `to` reaches `from` through transforms; the path if so.
    fn path(&self, from: usize, to: usize) -> Option<Vec<usize>> {
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
                let mut next = path.clone();
                next.push(t.to);
                stack.push(next);
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
    graph: Arc<Mutex<Graph>>,
}

fn validate_name(name: &str) -> Result<(), GraphError> {
    match moose_names::name_problem(name) {
        Some(reason) => Err(GraphError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

fn validate_version(version: &Option<String>) -> Result<(), GraphError> {
    match version.as_deref().and_then(moose_names::version_problem) {
        Some(reason) => Err(GraphError::InvalidName {
            name: version.clone().unwrap_or_default(),
            reason,
        }),
        None => Ok(()),
    }
}

/// `name` or `name_1_2` for version `1.2`.
pub fn versioned_name(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{name}_{}", v.replace('.', "_")),
        None => name.to_owned(),
    }
}

/// A stream of `T` named `name`, checked on its own (not yet against the graph).
fn stream_node<T: DataModel>(name: &str, config: StreamConfig) -> Result<StreamNode, GraphError> {
    validate_name(name)?;
    validate_version(&config.version)?;
    if config.parallelism == 0 {
        return Err(GraphError::ZeroParallelism {
            stream: name.to_owned(),
        });
    }
    Ok(StreamNode {
        name: name.to_owned(),
        config,
        model: ModelCodec::of::<T>(),
        dead_letter_queue: None,
    })
}

/// A table of `T` named `name`, checked on its own (not yet against the graph).
fn table_node<T: DataModel>(name: &str, config: OlapConfig) -> Result<TableNode, GraphError> {
    validate_name(name)?;
    validate_version(&config.version)?;
    let columns = T::columns();
    let check = |option: &'static str, column: &str| {
        if columns.iter().any(|c| c.name == column) {
            Ok(())
        } else {
            Err(GraphError::UnknownColumn {
                table: name.to_owned(),
                option,
                column: column.to_owned(),
                model: T::NAME,
                known: columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    match &config.order_by {
        OrderBy::Key if !columns.iter().any(|c| c.key) => {
            return Err(GraphError::TableWithoutOrder {
                table: name.to_owned(),
                model: T::NAME,
            });
        }
        OrderBy::Fields(fields) => fields.iter().try_for_each(|f| check("order_by", f))?,
        _ => {}
    }
    if let Engine::ReplacingMergeTree { version: Some(v) } = &config.engine {
        check("the ReplacingMergeTree version", v)?;
    }
    Ok(TableNode {
        name: name.to_owned(),
        config: config.table_config(&versioned_name(name, config.version.as_deref())),
        life_cycle: config.life_cycle,
        model: ModelCodec::of::<T>(),
    })
}

/// The stream and table `<pipeline>_dead_letter` of an ingest pipeline: same version,
/// retention and life cycle as the pipeline, ordered by source stream and time. The table is
/// moose's own even when the pipeline's table is externally managed: it is then created but
/// never dropped (`DeletionProtected`).
fn dead_letter_nodes(
    name: &str,
    pipeline: &IngestPipelineConfig,
) -> Result<(StreamNode, TableNode), GraphError> {
    let version = pipeline
        .version
        .clone()
        .or(pipeline.stream_config.version.clone());
    let mut table_config = OlapConfig::default()
        .order_by_fields(["source_stream", "failed_at"])
        .life_cycle(match pipeline.table_config.life_cycle {
            LifeCycle::ExternallyManaged => LifeCycle::DeletionProtected,
            other => other,
        });
    table_config.version = version.clone();
    table_config.cluster = pipeline.table_config.cluster.clone();
    let table = table_node::<DeadLetter>(name, table_config)?;
    let stream_config = StreamConfig {
        version,
        destination: Some(name.to_owned()),
        retention_period: pipeline.stream_config.retention_period,
        life_cycle: pipeline.stream_config.life_cycle,
        ..StreamConfig::default()
    };
    Ok((stream_node::<DeadLetter>(name, stream_config)?, table))
}

/// The parts of an ingest pipeline, each checked on its own.
struct PipelineNodes {
    stream: Option<StreamNode>,
    table: Option<TableNode>,
    dead_letter_queue: Option<(StreamNode, TableNode)>,
}

impl PipelineNodes {
    fn of<T: DataModel>(name: &str, config: &IngestPipelineConfig) -> Result<Self, GraphError> {
        validate_name(name)?;
        validate_version(&config.version)?;
        if config.ingest && !config.stream {
            return Err(GraphError::IngestWithoutStream {
                name: name.to_owned(),
            });
        }
        if config.invalid_records == InvalidRecordPolicy::DeadLetter && !config.dead_letter_queue {
            return Err(GraphError::DeadLetterPolicyWithoutQueue {
                name: name.to_owned(),
            });
        }
        let table = config
            .table
            .then(|| {
                let table_config = OlapConfig {
                    version: config
                        .version
                        .clone()
                        .or(config.table_config.version.clone()),
                    ..config.table_config.clone()
                };
                table_node::<T>(name, table_config)
            })
            .transpose()?;
        let stream = config
            .stream
            .then(|| {
                let mut stream_config = config.stream_config.clone();
                stream_config.version = config.version.clone().or(stream_config.version);
                if table.is_some() {
                    stream_config.destination = Some(name.to_owned());
                }
                stream_node::<T>(name, stream_config)
            })
            .transpose()?;
        let dead_letter_queue = config
            .dead_letter_queue
            .then(|| dead_letter_nodes(&moose_names::dead_letter_queue_name(name), config))
            .transpose()?;
        Ok(Self {
            stream,
            table,
            dead_letter_queue,
        })
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

    fn lock(&self) -> MutexGuard<'_, Graph> {
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
        if graph.stream_index(name).is_some() {
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
        if graph.table(name).is_some() {
            return Err(GraphError::DuplicateName {
                kind: "table",
                name: name.to_owned(),
            });
        }
        graph.tables.push(node);
        Ok(OlapTable {
            name: name.to_owned(),
            model: PhantomData,
        })
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
        let taken = (nodes.stream.is_some() && graph.stream_index(name).is_some())
            || (nodes.table.is_some() && graph.table(name).is_some())
            || (config.ingest && graph.ingest_apis.iter().any(|a| a.name == name));
        if taken {
            return Err(GraphError::DuplicateName {
                kind: "ingest pipeline",
                name: name.to_owned(),
            });
        }
        if let Some((queue, _)) = &nodes.dead_letter_queue
            && (graph.stream_index(&queue.name).is_some() || graph.table(&queue.name).is_some())
        {
            return Err(GraphError::DeadLetterQueueNameTaken {
                pipeline: name.to_owned(),
                queue: queue.name.clone(),
            });
        }
        // In the order the parts were always declared: table, stream, then the queue's.
        let table = nodes.table.map(|node| {
            graph.tables.push(node);
            OlapTable {
                name: name.to_owned(),
                model: PhantomData,
            }
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

/// A typed handle to a stream of `T`.
pub struct Stream<T> {
    app: App,
    index: usize,
    name: String,
    model: PhantomData<fn() -> T>,
}

impl<T> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            index: self.index,
            name: self.name.clone(),
            model: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for Stream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream").field("name", &self.name).finish()
    }
}

impl<T: DataModel> Stream<T> {
    /// The stream's declared name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Adds a transform from this stream into `destination`: `function` takes one `T` and
    /// returns `U` (map), `Option<U>` (filter), `Vec<U>` (flat-map) or `Result<U, E>` (`Err`
    /// goes to the dead-letter queue), or is an async fn returning one of these.
    pub fn add_transform<U: DataModel, O, M: 'static>(
        &self,
        destination: &Stream<U>,
        function: impl Fn(T) -> O + Send + Sync + 'static,
    ) -> Result<(), GraphError>
    where
        O: TransformReturn<U, M>,
    {
        self.add_transform_with(destination, function, TransformConfig::default())
    }

    /// Adds a transform with options (version, dead-letter queue).
    pub fn add_transform_with<U: DataModel, O, M: 'static>(
        &self,
        destination: &Stream<U>,
        function: impl Fn(T) -> O + Send + Sync + 'static,
        config: TransformConfig,
    ) -> Result<(), GraphError>
    where
        O: TransformReturn<U, M>,
    {
        if !Arc::ptr_eq(&self.app.graph, &destination.app.graph) {
            return Err(GraphError::ForeignHandle {
                name: destination.name.clone(),
            });
        }
        validate_version(&config.version)?;
        let mut graph = self.app.lock();
        let (from, to) = (self.index, destination.index);
        if graph
            .transforms
            .iter()
            .any(|t| t.from == from && t.to == to && t.config.version == config.version)
        {
            return Err(GraphError::DuplicateTransform {
                from: self.name.clone(),
                to: destination.name.clone(),
                version: config.version,
            });
        }
        if let Some(path) = graph.path(to, from) {
            let names: Vec<&str> = path
                .iter()
                .chain([&to])
                .map(|i| graph.streams[*i].name.as_str())
                .collect();
            return Err(GraphError::Cycle {
                from: self.name.clone(),
                to: destination.name.clone(),
                path: format!("{} -> {}", self.name, names.join(" -> ")),
            });
        }
        let dead_letter_queue = dead_letter_index(&graph, &config)?;
        graph.transforms.push(super::app::TransformNode {
            from,
            to,
            config,
            dead_letter_queue,
            function: erase_transform(function),
        });
        Ok(())
    }

    /// Adds a consumer: a function run on every record for its side effects. It returns `()`
    /// or `Result<(), E>` (`Err` goes to the dead-letter queue), or is an async fn returning
    /// one of these.
    pub fn add_consumer<O, M: 'static>(
        &self,
        function: impl Fn(T) -> O + Send + Sync + 'static,
    ) -> Result<(), GraphError>
    where
        O: ConsumerReturn<M>,
    {
        self.add_consumer_with(function, TransformConfig::default())
    }

    /// Adds a consumer with options.
    pub fn add_consumer_with<O, M: 'static>(
        &self,
        function: impl Fn(T) -> O + Send + Sync + 'static,
        config: TransformConfig,
    ) -> Result<(), GraphError>
    where
        O: ConsumerReturn<M>,
    {
        validate_version(&config.version)?;
        let mut graph = self.app.lock();
        let dead_letter_queue = dead_letter_index(&graph, &config)?;
        graph.consumers.push(ConsumerNode {
            stream: self.index,
            config,
            dead_letter_queue,
            function: erase_consumer(function),
        });
        Ok(())
    }
}

fn dead_letter_index(graph: &Graph, config: &TransformConfig) -> Result<Option<usize>, GraphError> {
    config
        .dead_letter_queue
        .as_deref()
        .map(|name| {
            graph.stream_index(name).ok_or_else(|| GraphError::Unknown {
                kind: "dead-letter stream",
                name: name.to_owned(),
                suggestion: String::new(),
            })
        })
        .transpose()
}

/// A typed handle to a table of `T`.
#[derive(Debug, Clone)]
pub struct OlapTable<T> {
    name: String,
    model: PhantomData<fn() -> T>,
}

impl<T> OlapTable<T> {
    /// The table's declared name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// An ingest pipeline: its stream and table, when it has them.
#[derive(Debug, Clone)]
pub struct IngestPipeline<T> {
    /// The pipeline's name.
    pub name: String,
    /// Whether `POST /ingest/<name>` is served.
    pub ingest: bool,
    /// The stream, with `stream: true`.
    pub stream: Option<Stream<T>>,
    /// The table, with `table: true`.
    pub table: Option<OlapTable<T>>,
    /// The dead-letter stream `<name>_dead_letter` (which has a table of the same name),
    /// with `dead_letter_queue: true`.
    pub dead_letter_queue: Option<Stream<DeadLetter>>,
}

impl<T> IngestPipeline<T> {
    /// The stream; a typed error for a pipeline declared without one.
    pub fn stream(&self) -> Result<&Stream<T>, GraphError> {
        self.stream.as_ref().ok_or_else(|| GraphError::Unknown {
            kind: "stream of ingest pipeline",
            name: self.name.clone(),
            suggestion: "; declare the pipeline with `stream: true`".into(),
        })
    }
}
