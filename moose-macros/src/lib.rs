//! Procedural macros for moose. Entry points only: each macro's logic lives in its own
//! folder as plain functions over `proc_macro2` (parse -> check -> expand), so it can be unit-
//! and snapshot-tested without a compiler plugin.

mod data_model;
mod diagnostics;
mod pipeline;

use proc_macro::TokenStream;

/// Derives everything a typed record needs from a struct with named fields (or a fieldless
/// enum): serde (JSON) with column names as wire names, the ClickHouse schema
/// (`moose::DataModel`), RowBinary row encoding and the stream message key.
///
/// Field attributes: `#[key]`, `#[extra_fields]`, `#[moose(low_cardinality)]`,
/// `#[moose(default = "expr")]`, `#[moose(codec = "...")]`, `#[moose(column_type = "...")]`,
/// `#[moose(decimal(P, S))]`, `#[moose(precision = N)]`. See the `moose` crate docs for the
/// type mapping, the timestamp forms read and written, and unknown JSON fields.
///
/// `extra_fields = "ignore" | "deny" | "capture"`: what the struct does with JSON fields it
/// does not declare: drop them (the default), refuse the record (ingest answers 400 naming
/// every unknown field's path), or keep them in the one field marked `#[extra_fields]` (a
/// `serde_json::Map<String, Value>`, stored as one JSON column and written back as top-level
/// fields).
///
/// `crate = "path"`, like serde's: the generated code reaches moose through
/// `::moose` (its `#[doc(hidden)] __private` module); `crate = "..."` names another path to
/// the same runtime, for a crate that re-exports moose under another name
/// (`#[data_model(crate = "::my_facade::moose")]`) or depends on `moose-runtime` alone
/// (`crate = "::moose_runtime"`; inside `moose-runtime` itself, `crate = "crate"`). The value
/// is a string holding a path without generic arguments. Table and stream settings are not
/// arguments: they go in `pipeline!` or on `OlapTable`/`Stream`.
///
/// ```ignore
/// #[data_model(crate = "::moose_runtime")]
/// pub struct Reading {
///     #[key]
///     pub sensor: String,
///     pub at: std::time::SystemTime,
/// }
/// ```
#[proc_macro_attribute]
pub fn data_model(args: TokenStream, input: TokenStream) -> TokenStream {
    data_model::expand(args.into(), input.into()).into()
}

/// Declares a pipeline graph and evaluates to the `moose::App` that holds it.
///
/// ```ignore
/// let app = pipeline! {
///     raw_data: IngestPipeline<RawData> { ingest: true, stream: true, table: false },
///     intermediate_stream: Stream<IntermediateData>,
///     final_stream: IngestPipeline<FinalData> { ingest: false, stream: true, table: true },
///     raw_data => transform(double) => intermediate_stream => transform(triple) => final_stream,
/// };
/// ```
///
/// Declarations: `name: IngestPipeline<Model> { .. }`, `name: Stream<Model> { .. }`,
/// `name: OlapTable<Model> { .. }`. Flows: `a => transform(f) => b`, chained, with options
/// `transform(f, version: "2", dead_letter_queue: dlq)`, and `a => consume(f)`.
///
/// It expands to the builder calls (`App::stream`, `Stream::add_transform_with`, ...) and
/// refuses while compiling everything the builder would refuse at run time, on the token at
/// fault: a name is a topic, table and URL segment as it is, so it is ASCII letters, digits
/// and `_`, at most 200 characters (`r#type` names a stream `type`; `café` is refused), and
/// no declaration takes the name `<pipeline>_dead_letter` of an ingest pipeline's dead-letter
/// queue. A transform `f` is `Fn(T) -> U`, `Option<U>`, `Vec<U>` or `Result<U, E>` (or an
/// async fn returning one) between the models of its two streams; a consumer returns `()`
/// or `Result<(), E>`. See the `moose` crate docs for every option.
#[proc_macro]
pub fn pipeline(input: TokenStream) -> TokenStream {
    pipeline::expand(input.into()).into()
}
