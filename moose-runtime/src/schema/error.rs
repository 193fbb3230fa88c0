//! Errors and warnings from schema resolution, DDL rendering and row encoding.

use super::capabilities::{Feature, ServerVersion};

/// A table that cannot be created as declared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The server lacks a type or clause the table needs and there is no lossless fallback.
    #[error(
        "table `{table}`, {place}: {feature} needs ClickHouse {min_version} or newer, but the server is {server_version}; upgrade the server or choose another type with #[moose(column_type = \"...\")]",
        feature = feature.name(),
        min_version = feature.min_version()
    )]
    Unsupported {
        /// The table.
        table: String,
        /// `column `x`` or the clause (`TTL`).
        place: String,
        /// What is missing.
        feature: Feature,
        /// The server's version.
        server_version: ServerVersion,
    },
    /// The table's configuration names a column the model does not have.
    #[error(
        "table `{table}`: {clause} names column `{column}`, which model `{model}` does not have; its columns are: {known}"
    )]
    UnknownColumn {
        /// The table.
        table: String,
        /// The model.
        model: String,
        /// `ORDER BY`, `PARTITION BY`, ...
        clause: &'static str,
        /// The missing column.
        column: String,
        /// The model's columns, comma separated.
        known: String,
    },
    /// The table configuration is inconsistent.
    #[error("table `{table}`: {message}")]
    Invalid {
        /// The table.
        table: String,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// A lossy-but-accepted fallback made while resolving a table for an older server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaWarning {
    /// The table.
    pub table: String,
    /// `column `x`` or a clause.
    pub place: String,
    /// What was changed and what it costs.
    pub message: String,
}

impl std::fmt::Display for SchemaWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table `{}`, {}: {}",
            self.table, self.place, self.message
        )
    }
}

/// A value that cannot be encoded into its column (a date out of range, a decimal with too
/// many digits, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", column.as_ref().map(|c| format!("column `{c}`: ")).unwrap_or_default())]
pub struct EncodeError {
    /// The column, once known.
    pub column: Option<String>,
    /// What is wrong with the value.
    pub message: String,
}

impl EncodeError {
    /// An error not yet attributed to a column.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            column: None,
            message: message.into(),
        }
    }

    /// Attributes the error to `column` unless a nested column already claimed it.
    pub fn in_column(mut self, column: &str) -> Self {
        self.column = Some(match self.column.take() {
            Some(inner) => format!("{column}.{inner}"),
            None => column.to_owned(),
        });
        self
    }
}
