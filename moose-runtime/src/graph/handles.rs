//! Typed handles to what an [`App`] declared: [`Stream`] (which takes transforms and
//! consumers), [`OlapTable`], [`IngestPipeline`].

use std::marker::PhantomData;
use std::sync::Arc;

use super::app::{App, ConsumerNode, Graph, TransformFunction};
use super::config::TransformConfig;
use super::dead_letter::DeadLetter;
use super::error::GraphError;
use super::nodes::validate_version;
use super::routing::push_transform;
use super::transform::{ConsumerReturn, TransformReturn, erase_consumer, erase_transform};
use crate::schema::DataModel;

/// A typed handle to a stream of `T`.
pub struct Stream<T> {
    pub(super) app: App,
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) model: PhantomData<fn() -> T>,
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
        let function = TransformFunction::Single(erase_transform(function));
        push_transform(self, vec![destination.index], config, function)
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

pub(super) fn dead_letter_index(
    graph: &Graph,
    config: &TransformConfig,
) -> Result<Option<usize>, GraphError> {
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
pub struct OlapTable<T> {
    pub(super) app: App,
    pub(super) index: usize,
    pub(super) name: String,
    pub(super) model: PhantomData<fn() -> T>,
}

impl<T> Clone for OlapTable<T> {
    fn clone(&self) -> Self {
        Self {
            app: self.app.clone(),
            index: self.index,
            name: self.name.clone(),
            model: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for OlapTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OlapTable")
            .field("name", &self.name)
            .finish()
    }
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
