//! The moose runtime: schema model, pipeline graph, stream backends, ClickHouse, ingest API
//! and workers. Most users reach it through the `moose` facade crate.

#![warn(missing_docs)]

pub mod cli;
pub mod clickhouse;
pub mod graph;
pub mod ingest;
pub mod plan;
pub mod runtime;
pub mod schema;
pub mod stream;
pub mod topology;
pub mod worker;

// The crates of the mapped field types, so an app needs no version of its own.
#[cfg(feature = "chrono")]
pub use chrono;
#[cfg(feature = "decimal")]
pub use rust_decimal;
#[cfg(feature = "time")]
pub use time;
#[cfg(feature = "uuid")]
pub use uuid;

#[doc(hidden)]
pub mod __private {
    pub use crate::graph;
    pub use crate::schema;

    /// Whether `names` contains `name`; `const` so `pipeline!` can check columns while compiling.
    pub const fn has_column(names: &[&str], name: &str) -> bool {
        let mut i = 0;
        while i < names.len() {
            let candidate = names[i].as_bytes();
            let wanted = name.as_bytes();
            if candidate.len() == wanted.len() {
                let mut j = 0;
                while j < wanted.len() && candidate[j] == wanted[j] {
                    j += 1;
                }
                if j == wanted.len() {
                    return true;
                }
            }
            i += 1;
        }
        false
    }

    /// The bytes of `prefix` then `names` joined by `", "`: a `pipeline!` message listing a
    /// model's columns, built while compiling (see [`message`]).
    pub const fn message_len(prefix: &str, names: &[&str]) -> usize {
        let mut len = prefix.len();
        let mut i = 0;
        while i < names.len() {
            if i > 0 {
                len += 2;
            }
            len += names[i].len();
            i += 1;
        }
        len
    }

    /// `prefix` then `names` joined by `", "`, as UTF-8 bytes; `N` is [`message_len`].
    pub const fn message<const N: usize>(prefix: &str, names: &[&str]) -> [u8; N] {
        const fn copy<const N: usize>(out: &mut [u8; N], at: usize, bytes: &[u8]) -> usize {
            let mut j = 0;
            while j < bytes.len() {
                out[at + j] = bytes[j];
                j += 1;
            }
            at + j
        }
        let mut out = [0; N];
        let mut at = copy(&mut out, 0, prefix.as_bytes());
        let mut i = 0;
        while i < names.len() {
            if i > 0 {
                at = copy(&mut out, at, b", ");
            }
            at = copy(&mut out, at, names[i].as_bytes());
            i += 1;
        }
        out
    }

    /// `bytes` as text, for a `const` panic message.
    pub const fn as_str(bytes: &[u8]) -> &str {
        match core::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => "(message is not UTF-8)",
        }
    }

    /// First half of a `pipeline!` transform check, spanned on the user's function: it takes
    /// one record of the source stream. A plain `Fn` bound, so rustc reports a wrong parameter
    /// type or count against the function's own signature, and infers a closure's parameter.
    /// The type parameters are named for rustc's note under such an error.
    pub fn transform_source<SourceModel, Returned, Function>(
        _source: &graph::Stream<SourceModel>,
        function: Function,
    ) -> graph::TransformSource<SourceModel, Returned>
    where
        Function: Fn(SourceModel) -> Returned + Send + Sync + 'static,
    {
        graph::TransformSource(Box::new(function))
    }

    /// Second half: what the function returns fits the destination stream. No data-model
    /// bounds here: adding the transform to the graph asks for them once.
    pub fn transform_destination<
        SourceModel: 'static,
        DestinationModel: 'static,
        Returned,
        M: 'static,
    >(
        _destination: &graph::Stream<DestinationModel>,
        source: graph::TransformSource<SourceModel, Returned>,
    ) -> graph::CheckedTransform<SourceModel, DestinationModel>
    where
        Returned: graph::TransformReturn<DestinationModel, M>,
    {
        graph::CheckedTransform::new(source)
    }

    /// First half of a `pipeline!` consumer check: it takes one record of the stream.
    pub fn consumer_source<StreamModel, Returned, Function>(
        _stream: &graph::Stream<StreamModel>,
        function: Function,
    ) -> graph::ConsumerSource<StreamModel, Returned>
    where
        Function: Fn(StreamModel) -> Returned + Send + Sync + 'static,
    {
        graph::ConsumerSource(Box::new(function))
    }

    /// Second half: it returns `()` or `Result<(), E>`.
    pub fn consumer_return<StreamModel: 'static, Returned, M: 'static>(
        source: graph::ConsumerSource<StreamModel, Returned>,
    ) -> graph::CheckedConsumer<StreamModel>
    where
        Returned: graph::ConsumerReturn<M>,
    {
        graph::CheckedConsumer::new(source)
    }

    /// A model's column and key names; `pipeline!` reads them through this one function, so
    /// a model that is not a data model is reported once (see `pipeline/expand.rs`).
    pub const fn model_names<T: schema::DataModel>() -> ModelNames {
        ModelNames {
            columns: T::COLUMN_NAMES,
            keys: T::KEY_NAMES,
        }
    }

    /// What [`model_names`] returns.
    pub struct ModelNames {
        /// `DataModel::COLUMN_NAMES`.
        pub columns: &'static [&'static str],
        /// `DataModel::KEY_NAMES`.
        pub keys: &'static [&'static str],
    }

    /// The models of a stream and its `destination` table, for [`same_model`].
    pub fn models<T, U>(
        _stream: &graph::Stream<T>,
        _table: &graph::OlapTable<U>,
    ) -> core::marker::PhantomData<(T, U)> {
        core::marker::PhantomData
    }

    /// A stream's `destination` table stores the stream's model. Both are known before this
    /// bound is checked, so a mismatch reads as this trait's message, not as a type mismatch.
    pub fn same_model<T: SameModel<U>, U>(_models: core::marker::PhantomData<(T, U)>) {}

    /// `T` and `U` are one model.
    #[diagnostic::on_unimplemented(
        message = "a stream of `{Self}` cannot fill a table of `{U}`",
        label = "this table stores `{U}`, but the stream carries `{Self}`",
        note = "a stream's `destination` table stores the stream's own model: declare the table as `OlapTable<{Self}>`, or transform the stream into a stream of `{U}` and make that one's destination the table"
    )]
    pub trait SameModel<U> {}

    impl<T> SameModel<T> for T {}

    #[cfg(feature = "chrono")]
    pub use crate::schema::value::chrono_utc;
    pub use crate::schema::value::system_time;
    pub use serde;
    pub use serde_json;
    #[cfg(feature = "time")]
    pub use time::serde::rfc3339 as time_rfc3339;
}
