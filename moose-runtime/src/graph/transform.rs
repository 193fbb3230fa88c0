//! Typed transforms and consumers, and the one erased form the workers run.
//!
//! A transform is a plain Rust function or closure from the source stream's model `T`; it may
//! return `U` (map), `Option<U>` (filter), `Vec<U>` (flat-map) or `Result<U, E>` (an `Err`
//! goes to the dead-letter queue), or a future of any of these (async fn). A consumer returns
//! `()` or `Result<(), E>`, or a future of one.
//!
//! [`Stream::add_transform`](super::Stream::add_transform) and
//! [`Stream::add_consumer`](super::Stream::add_consumer) take such functions, and `pipeline!`
//! expands to exactly these calls: there is one set of rules for what a function may return
//! ([`TransformReturn`], [`ConsumerReturn`]) and one erased form ([`ErasedFunction`]).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use futures::FutureExt;

use crate::schema::{DataModel, PayloadFormat};

/// A boxed future, as erased functions return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a transform's return value (awaited, for an async fn) becomes: the records it writes
/// to a stream of `U`, or the message of its `Err`.
#[diagnostic::on_unimplemented(
    message = "a transform into a stream of `{U}` cannot return `{Self}`",
    label = "returns `{Self}`, which is not `{U}`, `Option<{U}>`, `Vec<{U}>` or `Result<{U}, E>`",
    note = "a transform into a stream of `{U}` returns `{U}` (map), `Option<{U}>` (filter), `Vec<{U}>` (flat-map) or `Result<{U}, E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these"
)]
pub trait TransformOutput<U>: Send {
    /// The records to write, or the error message for the dead-letter queue.
    fn into_records(self) -> Result<Vec<U>, String>;

    /// The records encoded for the destination stream (what the workers write).
    fn into_encoded(self, format: PayloadFormat) -> Result<Vec<EncodedRecord>, String>
    where
        U: DataModel,
        Self: Sized,
    {
        self.into_records().map(|records| {
            records
                .iter()
                .map(|r| EncodedRecord::encode_as(r, format))
                .collect()
        })
    }
}

// No `U: DataModel` bound here: a model that failed `#[data_model]` is reported where it is
// defined, not again as "cannot return `U`" at every transform into it.
impl<U: Send> TransformOutput<U> for U {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(vec![self])
    }

    // A map (the common transform) encodes its one record without a `Vec<U>` in between.
    fn into_encoded(self, format: PayloadFormat) -> Result<Vec<EncodedRecord>, String>
    where
        U: DataModel,
    {
        Ok(vec![EncodedRecord::encode_as(&self, format)])
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

/// What a consumer's return value (awaited, for an async fn) means: `()`, or `Result<(), E>`
/// whose `Err` goes to the dead-letter queue.
#[diagnostic::on_unimplemented(
    message = "a consumer cannot return `{Self}`",
    label = "returns `{Self}`, which is not `()` or `Result<(), E>`",
    note = "a consumer returns `()`, or `Result<(), E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these"
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

/// Marker of [`TransformReturn`] and [`ConsumerReturn`]: a plain function's return value.
#[doc(hidden)]
pub struct SyncFn;

/// Marker of [`TransformReturn`] and [`ConsumerReturn`]: an async function's future.
#[doc(hidden)]
pub struct AsyncFn;

/// A function's return value settled: a plain function's at once, an async one's once its
/// future is done. The workers run the first without any future in between.
#[doc(hidden)]
pub enum Settle<F: Future> {
    /// A plain function's value.
    Now(F::Output),
    /// An async function's future.
    Later(F),
}

/// What a transform into a stream of `U` may return: a [`TransformOutput`] of `U`, or a
/// future of one (an async fn). `M` is [`SyncFn`] or [`AsyncFn`], inferred.
///
/// Both impls apply to any type, so for a type that is neither rustc reports this trait's
/// own message, on the function, rather than one about futures.
#[diagnostic::on_unimplemented(
    message = "a transform into a stream of `{U}` cannot return `{Self}`",
    label = "returns `{Self}`, which is not `{U}`, `Option<{U}>`, `Vec<{U}>` or `Result<{U}, E>`",
    note = "a transform into a stream of `{U}` returns `{U}` (map), `Option<{U}>` (filter), `Vec<{U}>` (flat-map) or `Result<{U}, E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these",
    note = "check that the destination stream is the one this function is meant to write to"
)]
pub trait TransformReturn<U, M>: Send + Sized + 'static {
    /// The encoded records, or the error message: at once, or once the future is done.
    #[doc(hidden)]
    fn settle(
        self,
        format: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Vec<EncodedRecord>, String>> + Send + 'static>
    where
        U: DataModel;
}

impl<U, O: TransformOutput<U> + 'static> TransformReturn<U, SyncFn> for O {
    fn settle(
        self,
        format: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Vec<EncodedRecord>, String>> + Send + 'static>
    where
        U: DataModel,
    {
        Settle::<std::future::Ready<_>>::Now(self.into_encoded(format))
    }
}

impl<U, Fut> TransformReturn<U, AsyncFn> for Fut
where
    Fut: Future + Send + 'static,
    Fut::Output: TransformOutput<U>,
{
    fn settle(
        self,
        format: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Vec<EncodedRecord>, String>> + Send + 'static>
    where
        U: DataModel,
    {
        Settle::Later(async move { self.await.into_encoded(format) })
    }
}

/// What a consumer may return: a [`ConsumerOutput`], or a future of one (an async fn). `M` is
/// [`SyncFn`] or [`AsyncFn`], inferred.
#[diagnostic::on_unimplemented(
    message = "a consumer cannot return `{Self}`",
    label = "returns `{Self}`, which is not `()` or `Result<(), E>`",
    note = "a consumer returns `()`, or `Result<(), E>` (`Err` goes to the dead-letter queue), or is an async fn returning one of these; to write records to a stream, use a transform (`transform(function) => stream` in `pipeline!`)"
)]
pub trait ConsumerReturn<M>: Send + Sized + 'static {
    /// `Err` with the message for the dead-letter queue: at once, or once the future is done.
    #[doc(hidden)]
    fn settle(self) -> Settle<impl Future<Output = Result<(), String>> + Send + 'static>;
}

impl<O: ConsumerOutput + 'static> ConsumerReturn<SyncFn> for O {
    fn settle(self) -> Settle<impl Future<Output = Result<(), String>> + Send + 'static> {
        Settle::<std::future::Ready<_>>::Now(self.into_result())
    }
}

impl<Fut> ConsumerReturn<AsyncFn> for Fut
where
    Fut: Future + Send + 'static,
    Fut::Output: ConsumerOutput,
{
    fn settle(self) -> Settle<impl Future<Output = Result<(), String>> + Send + 'static> {
        Settle::Later(async move { self.await.into_result() })
    }
}

/// One record ready for a stream: its message key and payload (JSON, or the model's binary
/// form on the embedded log: [`payload`](crate::schema::payload)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRecord {
    /// Message key: the model's key field(s).
    pub key: Vec<u8>,
    /// One JSON object, or the model's binary form.
    pub payload: Vec<u8>,
}

impl EncodedRecord {
    /// Encodes a typed record as JSON (what dead letters are, on every backend).
    pub fn encode<T: DataModel>(record: &T) -> Self {
        Self::encode_as(record, PayloadFormat::Json)
    }

    /// Encodes a typed record for a stream whose payloads are in `format`.
    pub fn encode_as<T: DataModel>(record: &T, format: PayloadFormat) -> Self {
        Self {
            key: record.message_key(),
            payload: crate::schema::payload::encode(record, format),
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

/// A user's transform or consumer with its types erased: JSON payloads in, one outcome per
/// payload out, in order. `Out` is what one record becomes: a transform's encoded records, a
/// consumer's `()`.
pub trait ErasedFunction<Out>: Send + Sync + 'static {
    /// Runs the function over a batch, yielding to the async runtime every
    /// [`RECORDS_PER_YIELD`] records; outputs are encoded in `format` (the destination
    /// backend's).
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
        format: PayloadFormat,
    ) -> BoxFuture<'a, Vec<Outcome<Out>>>;
}

/// A transform as the workers run it: an [`ErasedFunction`] whose records become encoded
/// records for the destination stream.
pub trait ErasedTransform: ErasedFunction<Vec<EncodedRecord>> {}

impl<F: ErasedFunction<Vec<EncodedRecord>> + ?Sized> ErasedTransform for F {}

/// A consumer as the workers run it: an [`ErasedFunction`] whose records become nothing.
pub trait ErasedConsumer: ErasedFunction<()> {}

impl<F: ErasedFunction<()> + ?Sized> ErasedConsumer for F {}

/// Records a batch runs between yields to the async runtime. A batch of 10k small records
/// takes a few milliseconds; a plain function never yields by itself (nor need an async one),
/// so without yields the batch holds one of the runtime's threads that long, and ingest
/// requests queue behind it (their latency is the user's).
pub const RECORDS_PER_YIELD: usize = 1024;

/// The erased form of `function`, a transform from a stream of `T` into a stream of `U`:
/// what [`Stream::add_transform`](super::Stream::add_transform) stores for the workers.
pub fn erase_transform<T, U, O, M>(
    function: impl Fn(T) -> O + Send + Sync + 'static,
) -> Arc<dyn ErasedTransform>
where
    T: DataModel,
    U: DataModel,
    O: TransformReturn<U, M>,
    M: 'static,
{
    Arc::new(UserFunction::<_, T, IntoStream<U, O, M>>(
        function,
        PhantomData,
    ))
}

/// The erased form of `function`, a consumer of a stream of `T`: what
/// [`Stream::add_consumer`](super::Stream::add_consumer) stores for the workers.
pub fn erase_consumer<T, O, M>(
    function: impl Fn(T) -> O + Send + Sync + 'static,
) -> Arc<dyn ErasedConsumer>
where
    T: DataModel,
    O: ConsumerReturn<M>,
    M: 'static,
{
    Arc::new(UserFunction::<_, T, Consume<O, M>>(function, PhantomData))
}

/// What a user's function is to the worker running it.
pub(super) trait Role: 'static {
    /// `transform` or `consumer`, as failure messages name it.
    const NAME: &'static str;
    /// What the function returns.
    type Returned: Send;
    /// What one record becomes.
    type Out: Send;
    /// `returned`, settled, its records encoded in `format`.
    fn settle(
        returned: Self::Returned,
        format: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Self::Out, String>> + Send + 'static>;
}

/// A transform into a stream of `U`, returning `O`.
struct IntoStream<U, O, M>(PhantomData<fn(U, O, M)>);

impl<U: DataModel, O: TransformReturn<U, M>, M: 'static> Role for IntoStream<U, O, M> {
    const NAME: &'static str = "transform";
    type Returned = O;
    type Out = Vec<EncodedRecord>;
    fn settle(
        returned: O,
        format: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<Vec<EncodedRecord>, String>> + Send + 'static> {
        returned.settle(format)
    }
}

/// A consumer, returning `O`.
struct Consume<O, M>(PhantomData<fn(O, M)>);

impl<O: ConsumerReturn<M>, M: 'static> Role for Consume<O, M> {
    const NAME: &'static str = "consumer";
    type Returned = O;
    type Out = ();
    fn settle(
        returned: O,
        _: PayloadFormat,
    ) -> Settle<impl Future<Output = Result<(), String>> + Send + 'static> {
        returned.settle()
    }
}

/// A user's function from `T` in the role `R`.
pub(super) struct UserFunction<F, T, R>(F, PhantomData<fn(T) -> R>);

impl<F, T, R> UserFunction<F, T, R>
where
    F: Fn(T) -> R::Returned + Send + Sync + 'static,
    T: DataModel,
    R: Role,
{
    /// `function` in the role `R`.
    pub(super) fn new(function: F) -> Self {
        Self(function, PhantomData)
    }

    /// One record, decoded and through the function, its value settled; a panic in the
    /// function or while settling its value is caught.
    fn call(
        &self,
        input: &[u8],
        format: PayloadFormat,
    ) -> Outcome<Settle<impl Future<Output = Result<R::Out, String>> + Send + 'static>> {
        let record: T = crate::schema::payload::decode(input).map_err(|e| Failure {
            kind: FailureKind::Decode,
            message: format!("not a valid `{}`: {e}", T::NAME),
        })?;
        std::panic::catch_unwind(AssertUnwindSafe(|| R::settle((self.0)(record), format)))
            .map_err(panicked::<R>)
    }
}

impl<F, T, R> ErasedFunction<R::Out> for UserFunction<F, T, R>
where
    F: Fn(T) -> R::Returned + Send + Sync + 'static,
    T: DataModel,
    R: Role,
{
    fn apply_batch<'a>(
        &'a self,
        inputs: &'a [&'a [u8]],
        format: PayloadFormat,
    ) -> BoxFuture<'a, Vec<Outcome<R::Out>>> {
        Box::pin(async move {
            let mut outcomes = Vec::with_capacity(inputs.len());
            for (i, input) in inputs.iter().enumerate() {
                if i > 0 && i % RECORDS_PER_YIELD == 0 {
                    tokio::task::yield_now().await;
                }
                let result = match self.call(input, format) {
                    Err(failure) => Err(failure),
                    Ok(Settle::Now(result)) => Ok(result),
                    Ok(Settle::Later(future)) => AssertUnwindSafe(future)
                        .catch_unwind()
                        .await
                        .map_err(panicked::<R>),
                };
                outcomes.push(result.and_then(|settled| {
                    settled.map_err(|message| Failure {
                        kind: FailureKind::Error,
                        message,
                    })
                }));
            }
            outcomes
        })
    }
}

/// The failure of a function that panicked, named by its role.
fn panicked<R: Role>(panic: Box<dyn std::any::Any + Send>) -> Failure {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic with a non-string payload".to_owned());
    Failure {
        kind: FailureKind::Panic,
        message: format!("{} panicked: {message}", R::NAME),
    }
}
