//! [`Desired`]: the tables and topics the code declares, resolved for one ClickHouse server
//! (built by [`Topology::resolve`](crate::topology::Topology::resolve)).

use super::registry::Owner;
use crate::graph::{LifeCycle, ModelCodec};
use crate::schema::{ResolvedTable, SchemaWarning};
use crate::stream::TopicSpec;

/// A declared table.
#[derive(Debug, Clone)]
pub struct DesiredTable {
    /// The name it is declared under.
    pub declared: String,
    /// Its DDL and column types for this server, under its physical name.
    pub resolved: ResolvedTable,
    /// What moose may change about it.
    pub life_cycle: LifeCycle,
}

/// A declared stream's topic.
#[derive(Debug, Clone)]
pub struct DesiredTopic {
    /// The stream's declared name.
    pub declared: String,
    /// The topic as the code wants it.
    pub spec: TopicSpec,
    /// What moose may change about it.
    pub life_cycle: LifeCycle,
    /// The stream's model: how its payloads decode (and show as JSON).
    pub codec: ModelCodec,
}

/// Everything the code declares, in physical names.
#[derive(Debug, Clone)]
pub struct Desired {
    /// `MOOSE_NAMESPACE`: resources are recorded under it, so apps sharing a database or a
    /// broker never drop each other's.
    pub namespace: Option<String>,
    /// The app's name (its executable's, see [`app_name`]): resources are recorded under it
    /// too, so two apps that share a database and namespace never drop each other's.
    pub app: String,
    /// The ClickHouse database.
    pub database: String,
    /// Tables, in declaration order.
    pub tables: Vec<DesiredTable>,
    /// Topics, in stream declaration order.
    pub topics: Vec<DesiredTopic>,
}

/// The name of the running executable (`my_app` for `target/release/my_app`), or
/// `moose-app` when it cannot be known.
pub fn app_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "moose-app".to_owned())
}

impl Desired {
    /// Whose records in `_moose_resources` are this app's.
    pub fn owner(&self) -> Owner<'_> {
        Owner {
            namespace: self.namespace.as_deref(),
            app: &self.app,
        }
    }

    /// The fallbacks taken for this server, per table.
    pub fn warnings(&self) -> impl Iterator<Item = &SchemaWarning> {
        self.tables.iter().flat_map(|t| &t.resolved.warnings)
    }

    /// The declared table with physical name `name`.
    pub fn table(&self, name: &str) -> Option<&DesiredTable> {
        self.tables.iter().find(|t| t.resolved.name == name)
    }

    /// The declared topic named `name`.
    pub fn topic(&self, name: &str) -> Option<&DesiredTopic> {
        self.topics.iter().find(|t| t.spec.name == name)
    }
}
