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
}

impl<U: DataModel> TransformOutput<U> for U {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(vec![self])
    }
}

impl<U: DataModel> TransformOutput<U> for Option<U> {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(self.into_iter().collect())
    }
}

impl<U: DataModel> TransformOutput<U> for Vec<U> {
    fn into_records(self) -> Result<Vec<U>, String> {
        Ok(self)
    }
}

impl<U: DataModel, E: std::fmt::Display + Send> TransformOutput<U> for Result<U, E> {
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

fn encode_outputs<U: DataModel, O: TransformOutput<U>>(output: O) -> Outcome<Vec<EncodedRecord>> {
    output
        .into_records()
        .map(|records| records.iter().map(EncodedRecord::encode).collect())
        .map_err(|message| Failure {
            kind: FailureKind::Error,
            message,
        })
}

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
        let outcomes = inputs
            .iter()
            .map(|input| {
                let record = decode::<T>(input)?;
                let output = std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(record)))
                    .map_err(panic_message)?;
                encode_outputs(output)
            })
            .collect();
        Box::pin(std::future::ready(outcomes))
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
                let outcome = match decode::<T>(input) {
                    Err(failure) => Err(failure),
                    Ok(record) => {
                        match std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(record))) {
                            Err(panic) => Err(panic_message(panic)),
                            Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                                Err(panic) => Err(panic_message(panic)),
                                Ok(output) => encode_outputs(output),
                            },
                        }
                    }
                };
                outcomes.push(outcome);
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
            .map(|input| {
                let record = decode::<T>(input)?;
                let output = std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(record)))
                    .map_err(panic_message)?;
                consumer_result(output)
            })
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
                let outcome = match decode::<T>(input) {
                    Err(failure) => Err(failure),
                    Ok(record) => {
                        match std::panic::catch_unwind(AssertUnwindSafe(|| (self.0)(record))) {
                            Err(panic) => Err(panic_message(panic)),
                            Ok(future) => match AssertUnwindSafe(future).catch_unwind().await {
                                Err(panic) => Err(panic_message(panic)),
                                Ok(output) => consumer_result(output),
                            },
                        }
                    }
                };
                outcomes.push(outcome);
            }
            outcomes
        })
    }
}
