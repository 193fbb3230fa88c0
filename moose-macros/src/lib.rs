//! Procedural macros for moose. Entry points only: each macro's logic lives in its own
//! folder as plain functions over `proc_macro2` (parse -> check -> expand), so it can be unit-
//! and snapshot-tested without a compiler plugin.

mod data_model;
mod diagnostics;

use proc_macro::TokenStream;

/// Derives everything a typed record needs from a struct with named fields (or a fieldless
/// enum): serde (JSON) with column names as wire names, the ClickHouse schema
/// (`moose::DataModel`), RowBinary row encoding and the stream message key.
///
/// Field attributes: `#[key]`, `#[moose(low_cardinality)]`, `#[moose(default = "expr")]`,
/// `#[moose(codec = "...")]`, `#[moose(column_type = "...")]`, `#[moose(decimal(P, S))]`,
/// `#[moose(precision = N)]`. See the `moose` crate docs for the type mapping.
#[proc_macro_attribute]
pub fn data_model(args: TokenStream, input: TokenStream) -> TokenStream {
    data_model::expand(args.into(), input.into()).into()
}
