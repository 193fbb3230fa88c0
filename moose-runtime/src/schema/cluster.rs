//! Clustered tables: what a table whose config names a
//! [`cluster`](super::OlapConfig::cluster) becomes.
//!
//! Such a table is two tables on every node of that cluster, both created `ON CLUSTER`:
//!
//! - `<table>_local`: the rows, in a `Replicated*MergeTree` of the declared engine's family
//!   (`ReplicatedReplacingMergeTree` for `ReplacingMergeTree`, ...), ZooKeeper path
//!   `/clickhouse/tables/{shard}/<database>.<table>_local` and replica `{replica}` (the
//!   cluster's `macros`);
//! - `<table>`: a `Distributed(cluster, database, <table>_local, <sharding key>)` table over
//!   them, which the sync inserts into and users query. The sharding key is
//!   `cityHash64(<the model's #[key] columns>)` (the `ORDER BY` columns for a model without
//!   keys, every column for an unsorted one): rows with the same key land on the same shard,
//!   where `Replacing`/`Summing`/`Aggregating` merges can meet them, and a retried insert is
//!   split between the shards exactly as before, so each shard's replicated table drops its
//!   part as a duplicate block.
//!
//! Column comments are left out on a cluster: 18.16's replicated tables refuse a structure with
//! comments, and it cannot run `COMMENT COLUMN` `ON CLUSTER`.

use super::sql::quote_identifier;
use super::table::{OrderBy, ResolvedTable};

/// Suffix of the replicated table that holds a clustered table's rows on each node.
pub const LOCAL_SUFFIX: &str = "_local";

impl ResolvedTable {
    /// Whether the table lives on a cluster: a replicated table per shard behind a
    /// `Distributed` table (see the module docs).
    pub fn is_clustered(&self) -> bool {
        self.config.cluster.is_some()
    }

    /// The table that holds the rows: `<name>_local` on a cluster, the table itself otherwise.
    pub fn local_name(&self) -> String {
        if self.is_clustered() {
            format!("{}{LOCAL_SUFFIX}", self.name)
        } else {
            self.name.clone()
        }
    }

    /// `` ON CLUSTER `cluster` `` for a clustered table, empty otherwise.
    pub fn on_cluster(&self) -> String {
        match &self.config.cluster {
            Some(cluster) => format!(" ON CLUSTER {}", quote_identifier(cluster)),
            None => String::new(),
        }
    }

    /// The same table with `suffix` appended to its replicated table's ZooKeeper path (a
    /// re-create's copy: the path of a replicated table stays with it when it is renamed).
    pub fn with_replica_path_suffix(mut self, suffix: &str) -> Self {
        self.replica_path_suffix = suffix.to_owned();
        self
    }

    /// The `Distributed` table's sharding key: `cityHash64` of the model's `#[key]` columns,
    /// else of the `ORDER BY` (columns or expression), else of every column.
    pub fn sharding_key_sql(&self) -> String {
        let args = if !self.key_names.is_empty() {
            let names: Vec<String> = self.key_names.iter().map(|n| quote_identifier(n)).collect();
            names.join(", ")
        } else {
            match &self.config.order_by {
                OrderBy::Fields(fields) if !fields.is_empty() => {
                    let names: Vec<String> = fields.iter().map(|n| quote_identifier(n)).collect();
                    names.join(", ")
                }
                OrderBy::Expr(expr) if !expr.trim().is_empty() && expr.trim() != "tuple()" => {
                    expr.clone()
                }
                _ => {
                    let names: Vec<String> = self
                        .columns
                        .iter()
                        .map(|c| quote_identifier(&c.name))
                        .collect();
                    names.join(", ")
                }
            }
        };
        format!("cityHash64({args})")
    }

    /// The statements that create the table, in order: one `CREATE TABLE` on a single server;
    /// on a cluster `CREATE DATABASE ... ON CLUSTER`, the replicated table and the
    /// `Distributed` table.
    pub fn create_statements(&self) -> Vec<String> {
        if !self.is_clustered() {
            return vec![self.create_local_sql()];
        }
        vec![
            format!(
                "CREATE DATABASE IF NOT EXISTS {}{}",
                quote_identifier(&self.database),
                self.on_cluster()
            ),
            self.create_local_sql(),
            self.create_distributed_sql(),
        ]
    }

    /// `CREATE TABLE IF NOT EXISTS ... ON CLUSTER ... ENGINE = Distributed(...)`: the table
    /// inserts and queries go through on a cluster (columns spelled out, not `AS` the local
    /// table, whose structure may still be replicating to this node).
    pub fn create_distributed_sql(&self) -> String {
        format!(
            "CREATE TABLE IF NOT EXISTS {}{}\n(\n{}\n)\nENGINE = {}",
            self.qualified_name(),
            self.on_cluster(),
            self.column_list_sql(),
            self.distributed_engine_sql()
        )
    }

    /// `Distributed(cluster, database, <name>_local, <sharding key>)`.
    pub fn distributed_engine_sql(&self) -> String {
        let cluster = self.config.cluster.as_deref().unwrap_or_default();
        format!(
            "Distributed({}, {}, {}, {})",
            quote_identifier(cluster),
            quote_identifier(&self.database),
            quote_identifier(&self.local_name()),
            self.sharding_key_sql()
        )
    }
}
