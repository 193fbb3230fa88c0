//! Table configuration and `CREATE TABLE` rendering for one server or a cluster.
//! Clustered tables: `cluster.rs`.

use std::fmt::Write as _;

use super::capabilities::{ClickHouseCapabilities, Feature};
use super::resolve::TypeResolver;
use super::sql::{quote_identifier, quote_string};
use super::{ColumnType, DataModel, SchemaError, SchemaWarning};

/// A MergeTree-family table engine.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Engine {
    /// `MergeTree`: keeps every row.
    #[default]
    MergeTree,
    /// `ReplacingMergeTree([ver])`: keeps the last row per sorting key (highest `ver` if given).
    ReplacingMergeTree {
        /// Version column.
        version: Option<String>,
    },
    /// `SummingMergeTree([columns])`: sums numeric columns per sorting key.
    SummingMergeTree {
        /// Columns to sum; all numeric columns when empty.
        columns: Vec<String>,
    },
    /// `AggregatingMergeTree`: merges aggregate-function states per sorting key.
    AggregatingMergeTree,
}

/// The table's sorting key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OrderBy {
    /// The model's `#[key]` columns (an error for a model without keys).
    #[default]
    Key,
    /// These columns, in order.
    Fields(Vec<String>),
    /// A SQL expression, written as given (`toStartOfHour(ts), id`).
    Expr(String),
    /// No sorting: `ORDER BY tuple()`.
    Unsorted,
}

/// How much of a resource moose may change when the code changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum LifeCycle {
    /// moose creates, alters, re-creates and drops the resource as the code says.
    #[default]
    FullyManaged,
    /// moose creates and extends the resource but never drops it or loses data in it.
    DeletionProtected,
    /// Someone else owns the resource; moose only checks it can hold the model.
    ExternallyManaged,
}

/// A table's settings: everything in `CREATE TABLE` except the name and the columns, plus
/// what moose may change about it and the version suffix of its name. The one table
/// configuration type: declarations take it, [`ResolvedTable`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OlapConfig {
    /// `ORDER BY`; defaults to the model's `#[key]` fields.
    pub order_by: OrderBy,
    /// `PARTITION BY` expression.
    pub partition_by: Option<String>,
    /// `PRIMARY KEY` expression (a prefix of `ORDER BY`).
    pub primary_key: Option<String>,
    /// Table engine.
    pub engine: Engine,
    /// `TTL` expression (`ts + INTERVAL 30 DAY`).
    pub ttl: Option<String>,
    /// `SETTINGS name = value`; values are written as given.
    pub settings: Vec<(String, String)>,
    /// Cluster for `ON CLUSTER` and a `Replicated*` engine.
    pub cluster: Option<String>,
    /// What moose may change about the table.
    pub life_cycle: LifeCycle,
    /// Version suffix of the table name.
    pub version: Option<String>,
}

impl OlapConfig {
    /// Sets [`OlapConfig::order_by`] to these fields.
    pub fn order_by_fields<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        fields: I,
    ) -> Self {
        self.order_by = OrderBy::Fields(fields.into_iter().map(Into::into).collect());
        self
    }

    /// Sets [`OlapConfig::cluster`]: the table becomes a replicated table per shard of the
    /// `remote_servers` cluster `name` behind a `Distributed` table (see the module docs).
    pub fn cluster(mut self, name: impl Into<String>) -> Self {
        self.cluster = Some(name.into());
        self
    }

    /// Sets [`OlapConfig::life_cycle`].
    pub fn life_cycle(mut self, life_cycle: LifeCycle) -> Self {
        self.life_cycle = life_cycle;
        self
    }
}

/// The MergeTree setting that makes a non-replicated table remember the last inserts'
/// deduplication tokens.
pub const DEDUPLICATION_WINDOW_SETTING: &str = "non_replicated_deduplication_window";

/// Inserts a non-replicated table remembers for deduplication (added to its `SETTINGS` on
/// servers with [`Feature::InsertDeduplicationToken`]). A sync worker inserts about once a
/// second per partition, so 1000 covers the retry of any batch after a crash and restart with
/// a wide margin, while the remembered block ids stay a few kilobytes.
pub const DEFAULT_DEDUPLICATION_WINDOW: u32 = 1000;

/// A column after resolution for one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedColumn {
    /// Column name.
    pub name: String,
    /// Physical type on this server; the row encoding follows it.
    pub ty: ColumnType,
    /// `DEFAULT` expression.
    pub default: Option<String>,
    /// Comment.
    pub comment: Option<String>,
    /// Codec, when the server has codecs.
    pub codec: Option<String>,
}

/// A model's table resolved for one server: the DDL to create it and the column types rows
/// are encoded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTable {
    /// Database.
    pub database: String,
    /// Physical table name (namespace and version applied).
    pub name: String,
    /// Table configuration.
    pub config: OlapConfig,
    /// Columns in model order.
    pub columns: Vec<ResolvedColumn>,
    /// Fallbacks taken for this server.
    pub warnings: Vec<SchemaWarning>,
    types: Vec<ColumnType>,
    pub(super) key_names: Vec<String>,
    /// Appended to the ZooKeeper path of a clustered table's replicated table: a re-create's
    /// copy gets a fresh path, since a renamed replicated table keeps its old one.
    pub(super) replica_path_suffix: String,
}

impl ResolvedTable {
    /// Resolves model `T`'s table `name` (its physical name) with `config` in `database` for
    /// a server with `caps`.
    pub fn resolve<T: DataModel>(
        database: &str,
        name: &str,
        config: &OlapConfig,
        caps: &ClickHouseCapabilities,
    ) -> Result<Self, SchemaError> {
        let model_columns = T::columns();
        let mut resolver = TypeResolver {
            caps,
            table: name,
            warnings: Vec::new(),
        };
        let mut columns = Vec::with_capacity(model_columns.len());
        for column in &model_columns {
            let place = format!("column `{}`", column.name);
            let ty = resolver.resolve(&place, &column.ty)?;
            let codec = match &column.codec {
                Some(_) if !caps.supports(Feature::Codec) => {
                    resolver.warnings.push(SchemaWarning {
                        table: name.to_owned(),
                        place,
                        message: "CODEC dropped: this server has no column codecs (data is stored with the default compression)".into(),
                    });
                    None
                }
                codec => codec.clone(),
            };
            columns.push(ResolvedColumn {
                name: column.name.clone(),
                ty,
                default: column.default.clone(),
                comment: column.comment.clone(),
                codec,
            });
        }
        if config.ttl.is_some() && !caps.supports(Feature::Ttl) {
            return Err(resolver.refuse_clause(name, "TTL", Feature::Ttl));
        }
        let known = || {
            model_columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let check_column = |clause: &'static str, column: &str| {
            if model_columns.iter().any(|c| c.name == column) {
                Ok(())
            } else {
                Err(SchemaError::UnknownColumn {
                    table: name.to_owned(),
                    model: T::NAME.to_owned(),
                    clause,
                    column: column.to_owned(),
                    known: known(),
                })
            }
        };
        match &config.order_by {
            OrderBy::Key if !model_columns.iter().any(|c| c.key) => {
                return Err(SchemaError::Invalid {
                    table: name.to_owned(),
                    message: format!(
                        "model `{}` has no #[key] field, so the table has no default ORDER BY; mark a field #[key] or set order_by",
                        T::NAME
                    ),
                });
            }
            OrderBy::Fields(fields) => {
                for field in fields {
                    check_column("ORDER BY", field)?;
                }
            }
            _ => {}
        }
        match &config.engine {
            Engine::ReplacingMergeTree { version: Some(v) } => {
                check_column("ReplacingMergeTree version", v)?
            }
            Engine::SummingMergeTree { columns } => {
                for c in columns {
                    check_column("SummingMergeTree", c)?;
                }
            }
            _ => {}
        }
        let warnings = resolver.warnings;
        let types = columns.iter().map(|c| c.ty.clone()).collect();
        let mut config = config.clone();
        // Replicated tables deduplicate inserts by default; plain MergeTree tables only with
        // a window, which the sync workers' insert deduplication tokens need.
        if caps.supports(Feature::InsertDeduplicationToken)
            && config.cluster.is_none()
            && !config
                .settings
                .iter()
                .any(|(name, _)| name == DEDUPLICATION_WINDOW_SETTING)
        {
            config.settings.push((
                DEDUPLICATION_WINDOW_SETTING.to_owned(),
                DEFAULT_DEDUPLICATION_WINDOW.to_string(),
            ));
        }
        Ok(Self {
            database: database.to_owned(),
            name: name.to_owned(),
            config,
            columns,
            warnings,
            types,
            key_names: model_columns
                .iter()
                .filter(|c| c.key)
                .map(|c| c.name.clone())
                .collect(),
            replica_path_suffix: String::new(),
        })
    }

    pub(super) fn column_list_sql(&self) -> String {
        let lines: Vec<String> = self
            .columns
            .iter()
            .map(|column| {
                let mut sql = format!("    {} {}", quote_identifier(&column.name), column.ty);
                if let Some(default) = &column.default {
                    let _ = write!(sql, " DEFAULT {default}");
                }
                // Not on a cluster: 18.16's replicated tables refuse a structure with column
                // comments ("Table structure in ZooKeeper is too different").
                if let Some(comment) = column.comment.as_ref().filter(|_| !self.is_clustered()) {
                    let _ = write!(sql, " COMMENT {}", quote_string(comment));
                }
                if let Some(codec) = &column.codec {
                    let _ = write!(sql, " CODEC({codec})");
                }
                sql
            })
            .collect();
        lines.join(",\n")
    }

    /// Physical column types in column order, for [`DataModel::write_row`].
    pub fn column_types(&self) -> &[ColumnType] {
        &self.types
    }

    /// `` `database`.`table` ``.
    pub fn qualified_name(&self) -> String {
        format!(
            "{}.{}",
            quote_identifier(&self.database),
            quote_identifier(&self.name)
        )
    }

    /// `INSERT INTO db.table (columns) FORMAT RowBinary`.
    pub fn insert_sql(&self) -> String {
        let columns: Vec<String> = self
            .columns
            .iter()
            .map(|c| quote_identifier(&c.name))
            .collect();
        format!(
            "INSERT INTO {} ({}) FORMAT RowBinary",
            self.qualified_name(),
            columns.join(", ")
        )
    }

    /// `CREATE TABLE IF NOT EXISTS ...` for this server. On a cluster, every statement of
    /// [`create_statements`](Self::create_statements) separated by `;` (for reading; run
    /// them one by one).
    pub fn create_table_sql(&self) -> String {
        self.create_statements().join(";\n")
    }

    /// `CREATE TABLE` of the table that holds the rows: the table itself on one server, the
    /// replicated `<name>_local` (`ON CLUSTER`) on a cluster.
    pub(super) fn create_local_sql(&self) -> String {
        let config = &self.config;
        let mut sql = format!(
            "CREATE TABLE IF NOT EXISTS {}.{}{}",
            quote_identifier(&self.database),
            quote_identifier(&self.local_name()),
            self.on_cluster()
        );
        sql.push_str("\n(\n");
        sql.push_str(&self.column_list_sql());
        sql.push_str("\n)\n");
        let _ = writeln!(sql, "ENGINE = {}", self.engine_sql());
        if let Some(partition) = &config.partition_by {
            let _ = writeln!(sql, "PARTITION BY {partition}");
        }
        let _ = writeln!(sql, "ORDER BY {}", self.order_by_sql());
        if let Some(primary) = &config.primary_key {
            let _ = writeln!(sql, "PRIMARY KEY {primary}");
        }
        if let Some(ttl) = &config.ttl {
            let _ = writeln!(sql, "TTL {ttl}");
        }
        if !config.settings.is_empty() {
            let settings: Vec<String> = config
                .settings
                .iter()
                .map(|(k, v)| format!("{} = {v}", k))
                .collect();
            let _ = writeln!(sql, "SETTINGS {}", settings.join(", "));
        }
        sql.truncate(sql.trim_end().len());
        sql
    }

    /// The `ORDER BY` expression as written in `CREATE TABLE` (`tuple()` when unsorted).
    pub fn order_by_sql(&self) -> String {
        let list = |names: &mut dyn Iterator<Item = &str>| {
            let names: Vec<String> = names.map(quote_identifier).collect();
            match names.len() {
                0 => "tuple()".to_owned(),
                1 => names[0].clone(),
                _ => format!("({})", names.join(", ")),
            }
        };
        match &self.config.order_by {
            OrderBy::Key => list(&mut self.key_names.iter().map(String::as_str)),
            OrderBy::Fields(fields) => list(&mut fields.iter().map(String::as_str)),
            OrderBy::Expr(expr) => expr.clone(),
            OrderBy::Unsorted => "tuple()".to_owned(),
        }
    }

    /// The `ENGINE` clause as written in `CREATE TABLE` (`MergeTree()`).
    pub fn engine_sql(&self) -> String {
        let config = &self.config;
        let (name, args) = match &config.engine {
            Engine::MergeTree => ("MergeTree", Vec::new()),
            Engine::ReplacingMergeTree { version } => (
                "ReplacingMergeTree",
                version.iter().map(|v| quote_identifier(v)).collect(),
            ),
            Engine::SummingMergeTree { columns } if columns.is_empty() => {
                ("SummingMergeTree", Vec::new())
            }
            Engine::SummingMergeTree { columns } => {
                let list: Vec<String> = columns.iter().map(|c| quote_identifier(c)).collect();
                ("SummingMergeTree", vec![format!("({})", list.join(", "))])
            }
            Engine::AggregatingMergeTree => ("AggregatingMergeTree", Vec::new()),
        };
        if config.cluster.is_some() {
            let path = format!(
                "/clickhouse/tables/{{shard}}/{}.{}{}",
                self.database,
                self.local_name(),
                self.replica_path_suffix
            );
            let mut all = vec![quote_string(&path), quote_string("{replica}")];
            all.extend(args);
            format!("Replicated{name}({})", all.join(", "))
        } else {
            format!("{name}({})", args.join(", "))
        }
    }
}

impl TypeResolver<'_> {
    fn refuse_clause(&self, table: &str, clause: &str, feature: Feature) -> SchemaError {
        SchemaError::Unsupported {
            table: table.to_owned(),
            place: clause.to_owned(),
            feature,
            server_version: self.caps.version(),
        }
    }
}
