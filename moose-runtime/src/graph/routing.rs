//! Multi-transforms: one function that sends each record to any of several streams (Moose's
//! `addMultiTransform` and `destination.routed(value)`).
//!
//! The function gets the record and the destinations it was declared with, and returns
//! [`Routed`] records made by [`Stream::routed`](super::Stream::routed): `routed` takes the
//! destination stream's own model, so a value of the wrong model for its destination is a
//! compile error at that call. Which streams a closure routes to cannot be seen while
//! building the graph (it may capture any handle), so the erased function checks every
//! [`Routed`] against the declared destinations: a record routed elsewhere fails like an
//! `Err` and goes to the dead-letter queue, with the stream named.

use std::sync::{Arc, Mutex, Weak};

use super::app::{Graph, TransformFunction, TransformNode};
use super::config::TransformConfig;
use super::error::GraphError;
use super::handles::{Stream, dead_letter_index};
use super::nodes::validate_version;
use super::transform::{
    AsyncFn, BoxFuture, EncodedRecord, ErasedFunction, Failure, FailureKind, Outcome, Role, Settle,
    SyncFn, TransformOutput, UserFunction,
};
use crate::schema::{DataModel, PayloadFormat};

/// One record sent to one destination of a multi-transform: make it with
/// [`Stream::routed`](super::Stream::routed) on the destination's handle.
#[derive(Clone)]
pub struct Routed {
    pub(super) target: StreamRef,
    /// The value, encoded by the worker in its destination backend's payload format.
    record: Arc<dyn RoutedValue>,
}

/// A routed value of some model, encodable once the destination's format is known.
trait RoutedValue: Send + Sync {
    fn encode(&self, format: PayloadFormat) -> EncodedRecord;
}

impl<T: DataModel> RoutedValue for T {
    fn encode(&self, format: PayloadFormat) -> EncodedRecord {
        EncodedRecord::encode_as(self, format)
    }
}

impl Routed {
    /// A record of `T` for `stream`.
    pub(super) fn new<T: DataModel>(stream: &Stream<T>, value: T) -> Self {
        Self {
            target: StreamRef::of(stream),
            record: Arc::new(value),
        }
    }

    /// The record as JSON (what `Debug` and `==` compare).
    fn json(&self) -> EncodedRecord {
        self.record.encode(PayloadFormat::Json)
    }
}

impl std::fmt::Debug for Routed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Routed")
            .field("target", &self.target)
            .field("record", &self.json())
            .finish()
    }
}

impl PartialEq for Routed {
    fn eq(&self, other: &Self) -> bool {
        self.target == other.target && self.json() == other.json()
    }
}

impl Eq for Routed {}

/// Which stream of which [`App`](super::App) a handle or a [`Routed`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StreamRef {
    /// The graph's address: handles of another `App` never match.
    graph: usize,
    /// The stream's index in that graph.
    pub index: usize,
}

impl StreamRef {
    pub fn of<T>(stream: &Stream<T>) -> Self {
        Self {
            graph: Arc::as_ptr(&stream.app.graph) as usize,
            index: stream.index,
        }
    }
}

/// The destinations of a multi-transform: a tuple of stream handles of any models
/// (`(Stream<A>, Stream<B>)`, up to eight), or a `Vec`/array of handles of one model. The
/// function gets them back as its second argument, to call
/// [`routed`](super::Stream::routed) on.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list of destination streams",
    label = "not a tuple, array or `Vec` of `Stream` handles",
    note = "a multi-transform writes to the streams given as a tuple of handles, like `(valid.clone(), invalid.clone())`, or a `Vec`/array of handles of one model"
)]
pub trait Destinations: Send + Sync + 'static {
    /// Each destination: its identity and declared name, in order.
    #[doc(hidden)]
    fn streams(&self) -> Vec<(StreamRefOf, String)>;
}

/// A destination's identity (opaque).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamRefOf(pub(super) StreamRef);

impl<T: Send + Sync + 'static> Destinations for Stream<T> {
    fn streams(&self) -> Vec<(StreamRefOf, String)> {
        vec![(StreamRefOf(StreamRef::of(self)), self.name.clone())]
    }
}

impl<T: Send + Sync + 'static> Destinations for Vec<Stream<T>> {
    fn streams(&self) -> Vec<(StreamRefOf, String)> {
        self.iter().flat_map(Destinations::streams).collect()
    }
}

impl<T: Send + Sync + 'static, const N: usize> Destinations for [Stream<T>; N] {
    fn streams(&self) -> Vec<(StreamRefOf, String)> {
        self.iter().flat_map(Destinations::streams).collect()
    }
}

macro_rules! tuple_destinations {
    ($($name:ident : $index:tt),+) => {
        impl<$($name: Send + Sync + 'static),+> Destinations for ($(Stream<$name>,)+) {
            fn streams(&self) -> Vec<(StreamRefOf, String)> {
                let mut all = Vec::new();
                $(all.extend(self.$index.streams());)+
                all
            }
        }
    };
}

tuple_destinations!(A: 0);
tuple_destinations!(A: 0, B: 1);
tuple_destinations!(A: 0, B: 1, C: 2);
tuple_destinations!(A: 0, B: 1, C: 2, D: 3);
tuple_destinations!(A: 0, B: 1, C: 2, D: 3, E: 4);
tuple_destinations!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5);
tuple_destinations!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6);
tuple_destinations!(A: 0, B: 1, C: 2, D: 3, E: 4, F: 5, G: 6, H: 7);

/// What a multi-transform may return: [`Routed`], `Option<Routed>`, `Vec<Routed>` or
/// `Result<Routed, E>` / `Result<Vec<Routed>, E>` (`Err` goes to the dead-letter queue), or a
/// future of one (an async fn). `M` is inferred.
#[diagnostic::on_unimplemented(
    message = "a multi-transform cannot return `{Self}`",
    label = "returns `{Self}`, which is not `Routed`, `Option<Routed>`, `Vec<Routed>` or `Result<Vec<Routed>, E>`",
    note = "make each record with `destination.routed(value)` on the destination stream's handle, and return them: `Routed`, `Option<Routed>`, `Vec<Routed>`, `Result<Routed, E>` or `Result<Vec<Routed>, E>` (`Err` goes to the dead-letter queue), or an async fn returning one of these"
)]
pub trait RoutedReturn<M>: Send + Sized + 'static {
    /// The routed records, or the error message: at once, or once the future is done.
    #[doc(hidden)]
    fn settle(self) -> Settle<impl Future<Output = Result<Vec<Routed>, String>> + Send + 'static>;
}

/// What a multi-transform's value (awaited, for an async fn) becomes.
#[doc(hidden)]
pub trait RoutedOutput: Send {
    /// The routed records, or the error message.
    fn into_routed(self) -> Result<Vec<Routed>, String>;
}

impl<O: TransformOutput<Routed>> RoutedOutput for O {
    fn into_routed(self) -> Result<Vec<Routed>, String> {
        self.into_records()
    }
}

impl<E: std::fmt::Display + Send> TransformOutput<Routed> for Result<Vec<Routed>, E> {
    fn into_records(self) -> Result<Vec<Routed>, String> {
        self.map_err(|e| e.to_string())
    }
}

impl<O: RoutedOutput + 'static> RoutedReturn<SyncFn> for O {
    fn settle(self) -> Settle<impl Future<Output = Result<Vec<Routed>, String>> + Send + 'static> {
        Settle::<std::future::Ready<_>>::Now(self.into_routed())
    }
}

impl<Fut> RoutedReturn<AsyncFn> for Fut
where
    Fut: Future + Send + 'static,
    Fut::Output: RoutedOutput,
{
    fn settle(self) -> Settle<impl Future<Output = Result<Vec<Routed>, String>> + Send + 'static> {
        Settle::Later(async move { self.await.into_routed() })
    }
}

/// A multi-transform returning `O`.
pub(super) struct Route<O, M>(std::marker::PhantomData<fn(O, M)>);

impl<O: RoutedReturn<M>, M: 'static> Role for Route<O, M> {
    const NAME: &'static str = "multi-transform";
    type Returned = O;
    type Out = Vec<Routed>;
    fn settle(
        returned: O,
        _: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Vec<Routed>, String>> + Send + 'static> {
        returned.settle()
    }
}

/// One output of a multi-transform: the position of its destination in the declared list,
/// and the record.
pub type RoutedRecord = (usize, EncodedRecord);

/// A multi-transform as the workers run it: each record becomes records for the
/// destinations, by position in the list it was declared with.
pub trait ErasedRoutedTransform: ErasedFunction<Vec<RoutedRecord>> {}

impl<F: ErasedFunction<Vec<RoutedRecord>> + ?Sized> ErasedRoutedTransform for F {}

/// The user's function with its destinations: every [`Routed`] checked against them.
struct RoutedFunction {
    function: Arc<dyn ErasedFunction<Vec<Routed>>>,
    destinations: Vec<(StreamRefOf, String)>,
    /// For the name of a stream routed to but not declared (weak: the graph holds this).
    graph: Weak<Mutex<Graph>>,
}

impl RoutedFunction {
    /// `routed` as (position, record), or why it cannot be written.
    fn place(&self, routed: Vec<Routed>, format: PayloadFormat) -> Outcome<Vec<RoutedRecord>> {
        routed
            .into_iter()
            .map(
                |r| match self.destinations.iter().position(|(d, _)| d.0 == r.target) {
                    Some(position) => Ok((position, r.record.encode(format))),
                    None => Err(self.undeclared(r.target)),
                },
            )
            .collect()
    }

    fn undeclared(&self, target: StreamRef) -> Failure {
        let graph = self.graph.upgrade();
        let name = graph
            .as_ref()
            .filter(|g| Arc::as_ptr(g) as usize == target.graph)
            .and_then(|g| {
                let graph = g.lock().unwrap_or_else(|e| e.into_inner());
                graph.streams.get(target.index).map(|s| s.name.clone())
            });
        let declared: Vec<&str> = self.destinations.iter().map(|(_, n)| n.as_str()).collect();
        let message = match name {
            Some(name) => format!(
                "multi-transform routed a record to stream `{name}`, which is not one of its destinations ({}); add `{name}` to the destinations it is declared with",
                declared.join(", ")
            ),
            None => format!(
                "multi-transform routed a record to a stream of another App; its destinations are {}",
                declared.join(", ")
            ),
        };
        Failure {
            kind: FailureKind::Error,
            message,
        }
    }
}

impl ErasedFunction<Vec<RoutedRecord>> for RoutedFunction {
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
        format: PayloadFormat,
    ) -> BoxFuture<'a, Vec<Outcome<Vec<RoutedRecord>>>> {
        Box::pin(async move {
            self.function
                .apply_batch(inputs, format)
                .await
                .into_iter()
                .map(|outcome| outcome.and_then(|routed| self.place(routed, format)))
                .collect()
        })
    }
}

/// The erased form of a multi-transform from a stream of `T` into `destinations`.
pub(super) fn erase_routed<T, D, O, M>(
    function: impl Fn(T, &D) -> O + Send + Sync + 'static,
    destinations: D,
    graph: Weak<Mutex<Graph>>,
) -> Arc<dyn ErasedRoutedTransform>
where
    T: DataModel,
    D: Destinations,
    O: RoutedReturn<M>,
    M: 'static,
{
    let declared = destinations.streams();
    let user =
        UserFunction::<_, T, Route<O, M>>::new(move |record: T| function(record, &destinations));
    Arc::new(RoutedFunction {
        function: Arc::new(user),
        destinations: declared,
        graph,
    })
}

impl<T: DataModel> Stream<T> {
    /// `value` for this stream, as a multi-transform returns it: only a `T` can be routed to a
    /// stream of `T`, checked while compiling.
    ///
    /// ```
    /// # use moose_runtime::graph::*;
    /// # use moose_runtime::schema::*;
    /// # #[derive(serde::Serialize, serde::Deserialize)] struct Raw { id: String }
    /// # impl ColumnValue for Raw { fn column_type(_: &FieldOptions) -> ColumnType { ColumnType::String } fn write_row_binary(&self, _: &ColumnType, _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } }
    /// # impl DataModel for Raw { const NAME: &'static str = "Raw"; const COLUMN_NAMES: &'static [&'static str] = &["id"]; const KEY_NAMES: &'static [&'static str] = &[];
    /// #   fn columns() -> Vec<Column> { vec![] } fn write_row(&self, _: &[ColumnType], _: &mut Vec<u8>) -> Result<(), EncodeError> { Ok(()) } fn message_key(&self) -> Vec<u8> { vec![] } }
    /// let app = App::new();
    /// let raw = app.stream::<Raw>("raw", StreamConfig::default())?;
    /// let kept = app.stream::<Raw>("kept", StreamConfig::default())?;
    /// let empty = app.stream::<Raw>("empty", StreamConfig::default())?;
    /// raw.add_multi_transform((kept, empty), |r: Raw, (kept, empty)| {
    ///     if r.id.is_empty() { empty.routed(r) } else { kept.routed(r) }
    /// })?;
    /// assert_eq!(app.describe().transforms[0].to, "[kept,empty]");
    /// # Ok::<(), GraphError>(())
    /// ```
    pub fn routed(&self, value: T) -> Routed {
        Routed::new(self, value)
    }

    /// Adds a multi-transform (Moose's `addMultiTransform`): `function` gets each record and
    /// `destinations` (a tuple, array or `Vec` of stream handles) and returns the records it
    /// writes, each made with [`routed`](Stream::routed) on its destination's handle:
    /// [`Routed`], `Option<Routed>`, `Vec<Routed>`, `Result<Routed, E>` or
    /// `Result<Vec<Routed>, E>` (`Err` goes to the dead-letter queue), or an async fn
    /// returning one of these. The workers write every output and only then commit the
    /// source record; a record routed to a stream that is not in `destinations` goes to the
    /// dead-letter queue with the stream named, and so do the record's other outputs (none
    /// is written).
    pub fn add_multi_transform<D: Destinations, O, M: 'static>(
        &self,
        destinations: D,
        function: impl Fn(T, &D) -> O + Send + Sync + 'static,
    ) -> Result<(), GraphError>
    where
        O: RoutedReturn<M>,
    {
        self.add_multi_transform_with(destinations, function, TransformConfig::default())
    }

    /// Adds a multi-transform with options (version, dead-letter queue).
    pub fn add_multi_transform_with<D: Destinations, O, M: 'static>(
        &self,
        destinations: D,
        function: impl Fn(T, &D) -> O + Send + Sync + 'static,
        config: TransformConfig,
    ) -> Result<(), GraphError>
    where
        O: RoutedReturn<M>,
    {
        let declared = destinations.streams();
        let ours = StreamRef::of(self).graph;
        if let Some((_, name)) = declared.iter().find(|(d, _)| d.0.graph != ours) {
            return Err(GraphError::ForeignHandle { name: name.clone() });
        }
        let indexes: Vec<usize> = declared.iter().map(|(d, _)| d.0.index).collect();
        if indexes.is_empty() {
            return Err(GraphError::NoDestinations {
                from: self.name.clone(),
            });
        }
        if let Some((_, (_, name))) = declared
            .iter()
            .enumerate()
            .find(|(i, (d, _))| indexes[..*i].contains(&d.0.index))
        {
            return Err(GraphError::RepeatedDestination {
                from: self.name.clone(),
                to: name.clone(),
            });
        }
        let graph = Arc::downgrade(&self.app.graph);
        let function = TransformFunction::Routed(erase_routed(function, destinations, graph));
        push_transform(self, indexes, config, function)
    }
}

/// Adds a transform from `source` into the streams `to` (indexes in its graph), refusing a
/// bad version, a duplicate (same source, destinations and version) and a cycle; its
/// dead-letter queue, when named, must be declared.
pub(super) fn push_transform<T>(
    source: &Stream<T>,
    to: Vec<usize>,
    config: TransformConfig,
    function: TransformFunction,
) -> Result<(), GraphError> {
    validate_version(&config.version)?;
    let mut graph = source.app.lock();
    let from = source.index;
    let names = |graph: &Graph, to: &[usize]| match to {
        [one] => graph.streams[*one].name.clone(),
        many => format!(
            "[{}]",
            many.iter()
                .map(|i| graph.streams[*i].name.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
    };
    if graph
        .transforms
        .iter()
        .any(|t| t.from == from && t.to == to && t.config.version == config.version)
    {
        return Err(GraphError::DuplicateTransform {
            from: source.name.clone(),
            to: names(&graph, &to),
            version: config.version,
        });
    }
    for destination in &to {
        if let Some(path) = graph.path(*destination, from) {
            let path: Vec<&str> = path
                .iter()
                .chain([destination])
                .map(|i| graph.streams[*i].name.as_str())
                .collect();
            return Err(GraphError::Cycle {
                from: source.name.clone(),
                to: graph.streams[*destination].name.clone(),
                path: format!("{} -> {}", source.name, path.join(" -> ")),
            });
        }
    }
    let dead_letter_queue = dead_letter_index(&graph, &config)?;
    graph.transforms.push(TransformNode {
        from,
        to,
        config,
        dead_letter_queue,
        function,
    });
    Ok(())
}
