//! The moose runtime: schema model, pipeline graph, stream backends, ClickHouse, ingest API
//! and workers. Most users reach it through the `moose` facade crate.

#![warn(missing_docs)]

pub mod cli;
pub mod clickhouse;
pub mod dashboard;
pub mod graph;
pub mod ingest;
pub mod plan;
pub mod runtime;
pub mod schema;
pub mod stream;
pub mod telemetry;
pub mod topology;
pub mod worker;

// The crates of the mapped field types, so an app needs no version of its own.
#[cfg(feature = "chrono")]
pub use chrono;
#[cfg(feature = "decimal")]
pub use rust_decimal;
/// `serde_json`: `Value` fields and the `Map` of an `#[extra_fields]` field.
pub use serde_json;
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

    /// The `App` a `pipeline!` evaluates to, once its builder calls ran. `built` is `Err` only
    /// if the builder refused a call that `pipeline!` checked fine while compiling (a moose
    /// bug): the error is then recorded on the graph (`Graph::refused`), not a panic.
    pub fn built(app: graph::App, built: Result<(), graph::GraphError>) -> graph::App {
        if let Err(error) = built {
            app.refuse(error);
        }
        app
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

    pub use crate::schema::value::extra_fields;
    pub use crate::schema::value::timestamp;
    pub use serde;
    pub use serde_json;
}
