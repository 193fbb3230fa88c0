//! Typed transforms and consumers, and their type-erased form the workers run.
//!
//! A transform is a plain Rust function or closure from the source stream's model `T`; it may
//! return `U` (map), `Option<U>` (filter), `Vec<U>` (flat-map) or `Result<U, E>` (an `Err`
//! goes to the dead-letter queue), or a future of any of these (async fn).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;

use crate::schema::DataModel;

/// A boxed future, as erased transforms return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transform's return value becomes.
#[diagnostic::on_unimplemented(
    message = "a transform returning `{Self}` cannot feed a stream of `{U}`",
    label = "returns `{Self}`",
    note = "a transform into a stream of `{U}` returns `{U}`, `Option<{U}>`, `Vec<{U}>` or `Result<{U}, E>` (or a future of one)"
)]
pub trait TransformOutput<U>: Send {
    /// The records to write, or the error message for the dead-letter queue.
    fn into_records(self) -> Result<Vec<U>, String>;

    /// The records encoded for the destination stream (what the workers call).
    fn into_encoded(self) -> Result<Vec<EncodedRecord>, String>
    where
        U: DataModel,
        Self: Sized,
    {
        self.into_records()
            .map(|records| records.iter().map(EncodedRecord::encode).collect())
    }
}

// No `U: DataModel` bound here: a model that failed `#[data_model]` is reported where it is
// defined, not again as "cannot return `U`" at every transform into it.
impl<U: Send> TransformOutput<U> for U {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(vec![self])
    }

    // A map (the common transform) encodes its one record without a `Vec<U>` in between.
    fn into_encoded(self) -> Result<Vec<EncodedRecord>, String>
    where
        U: DataModel,
    {
        Ok(vec![EncodedRecord::encode(&self)])
    }
}

impl<U: Send> TransformOutput<U> for Option<U> {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(self.into_iter().collect())
    }
}

impl<U: Send> TransformOutput<U> for Vec<U> {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(self)
    }
}

impl<U: Send, E: std::fmt::Display + Send> TransformOutput<U> for Result<U, E> {
    fn into_records(self) -> Result<Vec<U>, String> {
        self.map(|u| vec![u]).map_err(|e| e.to_string())
    }
}

/// One record ready for a stream: its message key and JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// Message key: the model's key field(s).
    pub key: Vec<u8>,
    /// One JSON object.
    pub payload: Vec<u8>,
}

impl EncodedRecord {
    /// Encodes a typed record.
    pub fn encode<T: DataModel>(record: &T) -> Self {
        Self {
            key: record.message_key(),
            payload: serde_json::to_vec(record)
                .expect("a #[data_model] value always serializes to JSON"),
        }
    }
}

/// Why a record could not be transformed or consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The payload is not a valid record of the source model.
    Decode,
    /// The user's function returned `Err`.
    Error,
    /// The user's function panicked.
    Panic,
}

/// A record the user's function failed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The message.
    pub message: String,
}

/// The result of one input record.
pub type Outcome<T> = Result<T, Failure>;

/// A transform with its types erased: JSON payloads in, encoded records out.
pub trait ErasedTransform: Send + Sync + 'static {
    /// Transforms a batch; one outcome per input, in order.
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Outcome<Vec<EncodedRecord>>>>;
}

/// A consumer with its types erased.
pub trait ErasedConsumer: Send + Sync + 'static {
    /// Consumes a batch; one outcome per input, in order.
    fn consume_batch<'a>(&'a self, inputs: &'a [&'a [u8]]) -> BoxFuture<'a, Vec<Outcome<()>>>;
}

fn decode<T: DataModel>(input: &[u8]) -> Outcome<T> {
    serde_json::from_slice(input).map_err(|e| Failure {
        kind: FailureKind::Decode,
        message: format!("not a valid `{}`: {e}", T::NAME),
    })
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> Failure {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned());
    Failure {
        kind: FailureKind::Panic,
        message: format!("transform panicked: {message}"),
    }
}

/// Decodes `input`, calls `f` on the record with a panic caught, and turns its return value
/// into an outcome with `finish`: one record through a plain function.
fn call_sync<T: DataModel, O, R>(
    f: &impl Fn(T) -> O,
    input: &[u8],
    finish: impl FnOnce(O) -> Outcome<R>,
) -> Outcome<R> {
    let record = decode::<T>(input)?;
    let output = std::panic::catch_unwind(AssertUnwindSafe(|| f(record))).map_err(panic_message)?;
    finish(output)
}

/// [`call_sync`] for an async function: a panic while creating or polling its future is
/// caught too.
async fn call_async<T: DataModel, Fut: Future, R>(
    f: &impl Fn(T) -> Fut,
    input: &[u8],
    finish: impl FnOnce(Fut::Output) -> Outcome<R>,
) -> Outcome<R> {
    let record = decode::<T>(input)?;
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| f(record))).map_err(panic_message)?;
    let output = AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .map_err(panic_message)?;
    finish(output)
}

fn encode_outputs<U: DataModel, O: TransformOutput<U>>(output: O) -> Outcome<Vec<EncodedRecord>> {
    output.into_encoded().map_err(|message| Failure {
        kind: FailureKind::Error,
        message,
    })
}

/// Records a plain-function transform runs between yields to the async runtime. A batch of
/// 10k small records takes a few milliseconds; without yields it holds one of the runtime's
/// threads that long, and ingest requests queue behind it (their latency is the user's).
const RECORDS_PER_YIELD: usize = 1024;

/// Marker for plain functions in [`IntoTransform`] and [`IntoConsumer`].
#[doc(hidden)]
pub struct SyncFn<O>(PhantomData<fn() -> O>);
/// Marker for async functions in [`IntoTransform`] and [`IntoConsumer`].
#[doc(hidden)]
pub struct AsyncFn<Fut>(PhantomData<fn() -> Fut>);

/// A function usable as a transform from a stream of `T` to a stream of `U`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a transform from `{T}` to `{U}`",
    label = "expected a function taking one `{T}` and returning `{U}`",
    note = "a transform from `{T}` to `{U}` is `fn({T}) -> R` (or an async fn) where R is `{U}`, `Option<{U}>`, `Vec<{U}>` or `Result<{U}, E>`",
    note = "check that the streams on both sides of the transform carry the models the function takes and returns"
)]
pub trait IntoTransform<T, U, Marker>: Send + Sync + 'static {
    /// The erased transform the workers run.
    fn into_erased(self) -> Arc<dyn ErasedTransform>;
}

struct SyncTransform<F, T, U, O>(F, PhantomData<fn(T) -> (U, O)>);
struct AsyncTransform<F, T, U, Fut>(F, PhantomData<fn(T) -> (U, Fut)>);

impl<T, U, O, F> IntoTransform<T, U, SyncFn<O>> for F
where
    T: DataModel,
    U: DataModel,
    O: TransformOutput<U> + 'static,
    F: Fn(T) -> O + Send + Sync + 'static,
{
    fn into_erased(self) -> Arc<dyn ErasedTransform> {
        Arc::new(SyncTransform::<F, T, U, O>(self, PhantomData))
    }
}

impl<T, U, O, F> ErasedTransform for SyncTransform<F, T, U, O>
where
    T: DataModel,
    U: DataModel,
    O: TransformOutput<U> + 'static,
    F: Fn(T) -> O + Send + Sync + 'static,
{
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Outcome<Vec<EncodedRecord>>>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(inputs.len());
            for (i, chunk) in inputs.chunks(RECORDS_PER_YIELD).enumerate() {
                if i > 0 {
                    tokio::task::yield_now().await;
                }
                outcomes.extend(
                    chunk
                        .iter()
                        .map(|input| call_sync(&self.0, input, encode_outputs)),
                );
            }
            outcomes
        })
    }
}

impl<T, U, Fut, F> IntoTransform<T, U, AsyncFn<Fut>> for F
where
    T: DataModel,
    U: DataModel,
    Fut: Future + Send + 'static,
    Fut::Output: TransformOutput<U>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
{
    fn into_erased(self) -> Arc<dyn ErasedTransform> {
        Arc::new(AsyncTransform::<F, T, U, Fut>(self, PhantomData))
    }
}

impl<T, U, Fut, F> ErasedTransform for AsyncTransform<F, T, U, Fut>
where
    T: DataModel,
    U: DataModel,
    Fut: Future + Send + 'static,
    Fut::Output: TransformOutput<U>,
    F: Fn(T) -> Fut + Send + Sync + 'static,
{
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
    ) -> BoxFuture<'a, Vec<Outcome<Vec<EncodedRecord>>>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(inputs.len());
            for input in inputs {
                outcomes.push(call_async(&self.0, input, encode_outputs).await);
            }
            outcomes
        })
    }
}

/// What a consumer's return value means: `()` or `Result<(), E>`.
#[diagnostic::on_unimplemented(
    message = "a consumer cannot return `{Self}`",
    note = "a consumer returns `()` or `Result<(), E>` (or a future of one)"
)]
pub trait ConsumerOutput: Send {
    /// `Err` with the message for the dead-letter queue.
    fn into_result(self) -> Result<(), String>;
}

impl ConsumerOutput for () {
    fn into_result(self) -> Result<(), String> {
        Ok(())
    }
}

impl<E: std::fmt::Display + Send> ConsumerOutput for Result<(), E> {
    fn into_result(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// A function usable as a consumer of a stream of `T`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a consumer of `{T}`",
    label = "expected a function taking one `{T}`",
    note = "a consumer of `{T}` is `fn({T})` or `fn({T}) -> Result<(), E>`, or an async fn"
)]
pub trait IntoConsumer<T, Marker>: Send + Sync + 'static {
    /// The erased consumer the workers run.
    fn into_erased(self) -> Arc<dyn ErasedConsumer>;
}

struct SyncConsumer<F, T, O>(F, PhantomData<fn(T) -> O>);
struct AsyncConsumer<F, T, Fut>(F, PhantomData<fn(T) -> Fut>);

fn consumer_result<O: ConsumerOutput>(output: O) -> Outcome<()> {
    output.into_result().map_err(|message| Failure {
        kind: FailureKind::Error,
        message,
    })
}

impl<T, O, F> IntoConsumer<T, SyncFn<O>> for F
where
    T: DataModel,
    O: ConsumerOutput + 'static,
    F: Fn(T) -> O + Send + Sync + 'static,
{
    fn into_erased(self) -> Arc<dyn ErasedConsumer> {
        Arc::new(SyncConsumer::<F, T, O>(self, PhantomData))
    }
}

impl<T, O, F> ErasedConsumer for SyncConsumer<F, T, O>
where
    T: DataModel,
    O: ConsumerOutput + 'static,
    F: Fn(T) -> O + Send + Sync + 'static,
{
    fn consume_batch<'a>(&'a self, inputs: &'a [&'a [u8]]) -> BoxFuture<'a, Vec<Outcome<()>>> {
        let outcomes = inputs
            .iter()
            .map(|input| call_sync(&self.0, input, consumer_result))
            .collect();
        Box::pin(std::future::ready(outcomes))
    }
}

impl<T, Fut, F> IntoConsumer<T, AsyncFn<Fut>> for F
where
    T: DataModel,
    Fut: Future + Send + 'static,
    Fut::Output: ConsumerOutput,
    F: Fn(T) -> Fut + Send + Sync + 'static,
{
    fn into_erased(self) -> Arc<dyn ErasedConsumer> {
        Arc::new(AsyncConsumer::<F, T, Fut>(self, PhantomData))
    }
}

impl<T, Fut, F> ErasedConsumer for AsyncConsumer<F, T, Fut>
where
    T: DataModel,
    Fut: Future + Send + 'static,
    Fut::Output: ConsumerOutput,
    F: Fn(T) -> Fut + Send + Sync + 'static,
{
    fn consume_batch<'a>(&'a self, inputs: &'a [&'a [u8]]) -> BoxFuture<'a, Vec<Outcome<()>>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(inputs.len());
            for input in inputs {
                outcomes.push(call_async(&self.0, input, consumer_result).await);
            }
            outcomes
        })
    }
}

/// Marker for [`CheckedTransform`] and [`CheckedConsumer`] in [`IntoTransform`] and
/// [`IntoConsumer`].
#[doc(hidden)]
pub struct Checked;

/// What a transform's function may return: a [`TransformOutput`] of `U`, or a future of one.
///
/// `pipeline!` checks a transform in two steps, each reported where the user wrote the
/// function: it takes the source stream's model ([`TransformSource`]), then its return value
/// fits the destination stream (this trait).
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a transform into a stream of `{U}` cannot return `{Self}`",
    label = "returns `{Self}`, which is not `{U}`, `Option<{U}>`, `Vec<{U}>` or `Result<{U}, E>`",
    note = "a transform into a stream of `{U}` returns `{U}` (map), `Option<{U}>` (filter), `Vec<{U}>` (flat-map) or `Result<{U}, E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these",
    note = "check that the stream after `=>` is the one this function is meant to write to"
)]
pub trait TransformReturn<U, Marker>: Sized + Send + 'static {
    /// The erased transform running `function`.
    fn erase<T, F>(function: F) -> Arc<dyn ErasedTransform>
    where
        T: DataModel,
        U: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static;
}

impl<U, O> TransformReturn<U, SyncFn<O>> for O
where
    O: TransformOutput<U> + 'static,
{
    fn erase<T, F>(function: F) -> Arc<dyn ErasedTransform>
    where
        T: DataModel,
        U: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static,
    {
        Arc::new(SyncTransform::<F, T, U, O>(function, PhantomData))
    }
}

impl<U, Fut> TransformReturn<U, AsyncFn<Fut>> for Fut
where
    Fut: Future + Send + 'static,
    Fut::Output: TransformOutput<U>,
{
    fn erase<T, F>(function: F) -> Arc<dyn ErasedTransform>
    where
        T: DataModel,
        U: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static,
    {
        Arc::new(AsyncTransform::<F, T, U, Fut>(function, PhantomData))
    }
}

/// A function checked to take one `T`, returning `O`; see [`TransformReturn`].
#[doc(hidden)]
pub struct TransformSource<T, O>(pub Box<dyn Fn(T) -> O + Send + Sync>);

/// A transform from `T` to `U` checked by `pipeline!`. It is erased only when added to the
/// graph, which is where `T` and `U` must be data models: a model that failed
/// `#[data_model]` is then not reported again by every check of a transform using it.
#[doc(hidden)]
pub struct CheckedTransform<T, U>(Box<dyn EraseTransform<T, U>>);

impl<T: 'static, U: 'static> CheckedTransform<T, U> {
    /// `source`, whose return value `O` fits a stream of `U`.
    pub fn new<O, M>(source: TransformSource<T, O>) -> Self
    where
        O: TransformReturn<U, M>,
        M: 'static,
    {
        Self(Box::new(TransformHolder::<T, O, M>(source.0, PhantomData)))
    }
}

/// A checked transform function, erased once its models are known to be data models.
trait EraseTransform<T, U>: Send + Sync {
    fn erase(self: Box<Self>) -> Arc<dyn ErasedTransform>
    where
        T: DataModel,
        U: DataModel;
}

struct TransformHolder<T, O, M>(Box<dyn Fn(T) -> O + Send + Sync>, PhantomData<fn() -> M>);

impl<T, U, O, M> EraseTransform<T, U> for TransformHolder<T, O, M>
where
    O: TransformReturn<U, M>,
{
    fn erase(self: Box<Self>) -> Arc<dyn ErasedTransform>
    where
        T: DataModel,
        U: DataModel,
    {
        O::erase(self.0)
    }
}

impl<T: DataModel, U: DataModel> IntoTransform<T, U, Checked> for CheckedTransform<T, U> {
    fn into_erased(self) -> Arc<dyn ErasedTransform> {
        self.0.erase()
    }
}

/// What a consumer's function may return: a [`ConsumerOutput`], or a future of one.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "a consumer cannot return `{Self}`",
    label = "returns `{Self}`, which is not `()` or `Result<(), E>`",
    note = "a consumer returns `()`, or `Result<(), E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these; to write records to a stream, use `transform(function) => stream`"
)]
pub trait ConsumerReturn<Marker>: Sized + Send + 'static {
    /// The erased consumer running `function`.
    fn erase<T, F>(function: F) -> Arc<dyn ErasedConsumer>
    where
        T: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static;
}

impl<O> ConsumerReturn<SyncFn<O>> for O
where
    O: ConsumerOutput + 'static,
{
    fn erase<T, F>(function: F) -> Arc<dyn ErasedConsumer>
    where
        T: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static,
    {
        Arc::new(SyncConsumer::<F, T, O>(function, PhantomData))
    }
}

impl<Fut> ConsumerReturn<AsyncFn<Fut>> for Fut
where
    Fut: Future + Send + 'static,
    Fut::Output: ConsumerOutput,
{
    fn erase<T, F>(function: F) -> Arc<dyn ErasedConsumer>
    where
        T: DataModel,
        F: Fn(T) -> Self + Send + Sync + 'static,
    {
        Arc::new(AsyncConsumer::<F, T, Fut>(function, PhantomData))
    }
}

/// A function checked to take one `T`, returning `O`; see [`ConsumerReturn`].
#[doc(hidden)]
pub struct ConsumerSource<T, O>(pub Box<dyn Fn(T) -> O + Send + Sync>);

/// A consumer of `T` checked by `pipeline!`, erased when added to the graph (see
/// [`CheckedTransform`]).
#[doc(hidden)]
pub struct CheckedConsumer<T>(Box<dyn EraseConsumer<T>>);

impl<T: 'static> CheckedConsumer<T> {
    /// `source`, whose return value `O` is a consumer's.
    pub fn new<O, M>(source: ConsumerSource<T, O>) -> Self
    where
        O: ConsumerReturn<M>,
        M: 'static,
    {
        Self(Box::new(ConsumerHolder::<T, O, M>(source.0, PhantomData)))
    }
}

/// A checked consumer function, erased once its model is known to be a data model.
trait EraseConsumer<T>: Send + Sync {
    fn erase(self: Box<Self>) -> Arc<dyn ErasedConsumer>
    where
        T: DataModel;
}

struct ConsumerHolder<T, O, M>(Box<dyn Fn(T) -> O + Send + Sync>, PhantomData<fn() -> M>);

impl<T, O, M> EraseConsumer<T> for ConsumerHolder<T, O, M>
where
    O: ConsumerReturn<M>,
{
    fn erase(self: Box<Self>) -> Arc<dyn ErasedConsumer>
    where
        T: DataModel,
    {
        O::erase(self.0)
    }
}

impl<T: DataModel> IntoConsumer<T, Checked> for CheckedConsumer<T> {
    fn into_erased(self) -> Arc<dyn ErasedConsumer> {
        self.0.erase()
    }
}
