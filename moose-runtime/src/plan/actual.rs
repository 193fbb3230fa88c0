//! What exists: tables of the app's database as `system.tables` / `system.columns` describe
//! them, and topics as the stream backend describes them.
//!
//! Over 400 lines: reading tables (`system.tables`, `system.columns`, settings) and topics, and
//! the registry of what moose manages, into one picture of what exists.

use std::collections::BTreeMap;

use serde_json::Value;

use super::PlanError;
use super::registry::{Owner, REGISTRY_TABLE, Record, read_records};
use crate::clickhouse::ClickHouse;
use crate::schema::ColumnType;
use crate::schema::sql::quote_string;
use crate::stream::{TopicAdmin, TopicSpec};

/// A column as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualColumn {
    /// Name.
    pub name: String,
    /// Type as the server prints it.
    pub type_sql: String,
    /// The type, when moose can read it.
    pub ty: Option<ColumnType>,
    /// `DEFAULT` expression as the server stores it (empty if none; other kinds such as
    /// `MATERIALIZED` are kept with their kind: `MATERIALIZED expr`).
    pub default: String,
    /// `MATERIALIZED`, `ALIAS` or `EPHEMERAL`: computed by the server, never written by
    /// inserts, so never part of a model; moose leaves such columns alone.
    pub computed: bool,
    /// Comment (empty if none).
    pub comment: String,
    /// Part of the sorting, primary or partition key: its type cannot change in place.
    pub in_key: bool,
    /// Server-side columns this one stands for: `arr.1`, `arr.2` for an
    /// `Array(Tuple(...))` column `arr` that the server split up (ClickHouse before 19.x
    /// stores such columns as `Nested`). Empty for an ordinary column.
    pub parts: Vec<String>,
}

impl ActualColumn {
    /// The server-side column names to select or drop.
    pub fn physical_names(&self) -> Vec<&str> {
        if self.parts.is_empty() {
            vec![self.name.as_str()]
        } else {
            self.parts.iter().map(String::as_str).collect()
        }
    }
}

/// A table as the server has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualTable {
    /// Name.
    pub name: String,
    /// Engine name (`MergeTree`).
    pub engine: String,
    /// Engine with its clauses, as `system.tables.engine_full` prints it.
    pub engine_full: String,
    /// `PARTITION BY` expression (empty if none).
    pub partition_key: String,
    /// `ORDER BY` expression (empty for `tuple()`).
    pub sorting_key: String,
    /// `PRIMARY KEY` expression.
    pub primary_key: String,
    /// Columns in table order.
    pub columns: Vec<ActualColumn>,
}

impl ActualTable {
    /// Column `name`.
    pub fn column(&self, name: &str) -> Option<&ActualColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The engine with its arguments (`ReplacingMergeTree(ver)`), from `engine_full`.
    pub fn engine_sql(&self) -> &str {
        let full = self.engine_full.trim();
        let bytes = full.as_bytes();
        let mut depth = 0usize;
        for (i, &b) in bytes.iter().enumerate() {
            match b {
                b'(' => depth += 1,
                b')' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return &full[..=i];
                    }
                }
                b' ' if depth == 0 => return &full[..i],
                _ => {}
            }
        }
        full
    }

    /// The `SETTINGS` of the table, from `engine_full`.
    pub fn settings(&self) -> Vec<(String, String)> {
        let Some(at) = self.engine_full.rfind(" SETTINGS ") else {
            return Vec::new();
        };
        self.engine_full[at + " SETTINGS ".len()..]
            .split(", ")
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect()
    }
}

/// An expression in a comparable form: no backquotes or whitespace outside string
/// literals, no brackets around the whole, and `tuple()` (no key) as empty.
pub(crate) fn normalize_expr(expr: &str) -> String {
    let mut out = String::with_capacity(expr.len());
    let mut quoted = false;
    for c in expr.chars() {
        if c == '\'' {
            quoted = !quoted;
        }
        if !quoted && (c.is_whitespace() || c == '`') {
            continue;
        }
        out.push(c);
    }
    loop {
        if out == "tuple()" {
            return String::new();
        }
        if let Some(inner) = out.strip_prefix("tuple(").and_then(|s| s.strip_suffix(')'))
            && wraps(inner)
        {
            out = inner.to_owned();
            continue;
        }
        if let Some(inner) = out.strip_prefix('(').and_then(|s| s.strip_suffix(')'))
            && wraps(inner)
        {
            out = inner.to_owned();
            continue;
        }
        return out;
    }
}

/// Whether brackets balance inside `inner`, so the ones around it enclose all of it.
fn wraps(inner: &str) -> bool {
    let mut depth = 0i32;
    for c in inner.chars() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            _ => {}
        }
    }
    depth == 0
}

/// Everything that exists and matters to the plan.
#[derive(Debug, Clone, Default)]
pub struct Actual {
    /// Tables of the app's database, by name.
    pub tables: BTreeMap<String, ActualTable>,
    /// Topics that exist, among those declared or recorded, by name.
    pub topics: BTreeMap<String, TopicSpec>,
    /// What moose recorded about resources it managed.
    pub records: Vec<Record>,
}

impl Actual {
    /// Reads the tables of `database`, `owner`'s records, and the topics named in `topics`
    /// or in the records.
    pub async fn read(
        clickhouse: &ClickHouse,
        backend: &dyn TopicAdmin,
        database: &str,
        owner: &Owner<'_>,
        topics: impl IntoIterator<Item = &str>,
    ) -> Result<Actual, PlanError> {
        let tables = read_tables(clickhouse, database).await?;
        let records = if tables.contains_key(REGISTRY_TABLE) {
            read_records(clickhouse, database, owner).await?
        } else {
            Vec::new()
        };
        let mut names: Vec<&str> = topics.into_iter().collect();
        names.extend(
            records
                .iter()
                .filter(|r| r.kind == super::ResourceKind::Topic)
                .map(|r| r.name.as_str()),
        );
        names.sort_unstable();
        names.dedup();
        let mut found = BTreeMap::new();
        for name in names {
            if let Some(spec) = backend.describe_topic(name).await? {
                found.insert(name.to_owned(), spec);
            }
        }
        Ok(Actual {
            tables,
            topics: found,
            records,
        })
    }
}

fn text(row: &Value, field: &str) -> String {
    match row.get(field) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn flag(row: &Value, field: &str) -> bool {
    match row.get(field) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0) != 0,
        Some(Value::String(s)) => s != "0" && !s.is_empty(),
        Some(Value::Bool(b)) => *b,
        _ => false,
    }
}

/// Every table of `database` with its columns.
pub async fn read_tables(
    clickhouse: &ClickHouse,
    database: &str,
) -> Result<BTreeMap<String, ActualTable>, PlanError> {
    let db = quote_string(database);
    let rows = clickhouse
        .query_json(&format!(
            "SELECT name, engine, engine_full, partition_key, sorting_key, primary_key \
             FROM system.tables WHERE database = {db}"
        ))
        .await?;
    let mut tables: BTreeMap<String, ActualTable> = rows
        .iter()
        .map(|row| {
            let name = text(row, "name");
            let table = ActualTable {
                name: name.clone(),
                engine: text(row, "engine"),
                engine_full: text(row, "engine_full"),
                partition_key: text(row, "partition_key"),
                sorting_key: text(row, "sorting_key"),
                primary_key: text(row, "primary_key"),
                columns: Vec::new(),
            };
            (name, table)
        })
        .collect();
    let rows = clickhouse
        .query_json(&format!(
            "SELECT table, name, type, default_kind, default_expression, comment, \
             is_in_partition_key, is_in_sorting_key, is_in_primary_key \
             FROM system.columns WHERE database = {db}"
        ))
        .await?;
    for row in &rows {
        let Some(table) = tables.get_mut(&text(row, "table")) else {
            continue;
        };
        let type_sql = text(row, "type");
        let kind = text(row, "default_kind");
        let expression = text(row, "default_expression");
        table.columns.push(ActualColumn {
            name: text(row, "name"),
            ty: type_sql.parse().ok(),
            type_sql,
            default: match kind.as_str() {
                "" | "DEFAULT" => expression,
                other => format!("{other} {expression}"),
            },
            computed: matches!(kind.as_str(), "MATERIALIZED" | "ALIAS" | "EPHEMERAL"),
            comment: text(row, "comment"),
            in_key: flag(row, "is_in_partition_key")
                || flag(row, "is_in_sorting_key")
                || flag(row, "is_in_primary_key"),
            parts: Vec::new(),
        });
    }
    for table in tables.values_mut() {
        fold_split_tuples(&mut table.columns);
    }
    Ok(tables)
}

/// Puts `arr.1`, `arr.2` (each `Array(T)`) back together as `arr Array(Tuple(T1, T2))`.
fn fold_split_tuples(columns: &mut Vec<ActualColumn>) {
    let mut folded: Vec<ActualColumn> = Vec::with_capacity(columns.len());
    for column in columns.drain(..) {
        let split = column
            .name
            .split_once('.')
            .and_then(|(base, element)| match &column.ty {
                Some(ColumnType::Array(inner)) => {
                    Some((base.to_owned(), element.to_owned(), (**inner).clone()))
                }
                _ => None,
            });
        let Some((base, element, inner)) = split else {
            folded.push(column);
            continue;
        };
        let element_name = if element.chars().all(|c| c.is_ascii_digit()) {
            String::new()
        } else {
            element
        };
        match folded
            .iter_mut()
            .find(|c| c.name == base && !c.parts.is_empty())
        {
            Some(parent) => {
                if let Some(ColumnType::Array(tuple)) = &mut parent.ty
                    && let ColumnType::Tuple(fields) = &mut **tuple
                {
                    fields.push((element_name, inner));
                }
                parent.parts.push(column.name.clone());
                parent.in_key |= column.in_key;
                if let Some(ty) = &parent.ty {
                    parent.type_sql = ty.to_string();
                }
            }
            None => {
                let ty =
                    ColumnType::Array(Box::new(ColumnType::Tuple(vec![(element_name, inner)])));
                folded.push(ActualColumn {
                    name: base,
                    type_sql: ty.to_string(),
                    ty: Some(ty),
                    default: String::new(),
                    computed: false,
                    comment: column.comment.clone(),
                    in_key: column.in_key,
                    parts: vec![column.name.clone()],
                });
            }
        }
    }
    *columns = folded;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_expressions_compare_whatever_their_spelling() {
        assert_eq!(normalize_expr("(`id`, `ts`)"), "id,ts");
        assert_eq!(normalize_expr("id, ts"), "id,ts");
        assert_eq!(normalize_expr("`id`"), "id");
        assert_eq!(normalize_expr("tuple()"), "");
        assert_eq!(normalize_expr(""), "");
        assert_eq!(normalize_expr("toYYYYMM(d)"), "toYYYYMM(d)");
        assert_eq!(normalize_expr("(a), (b)"), "(a),(b)");
        assert_eq!(normalize_expr("x = 'a b'"), "x='a b'");
    }

    fn table(engine_full: &str) -> ActualTable {
        ActualTable {
            name: "t".into(),
            engine: "MergeTree".into(),
            engine_full: engine_full.into(),
            partition_key: String::new(),
            sorting_key: String::new(),
            primary_key: String::new(),
            columns: Vec::new(),
        }
    }

    #[test]
    fn engine_and_settings_come_out_of_engine_full() {
        let t = table(
            "ReplacingMergeTree(ver) PARTITION BY toYYYYMM(d) ORDER BY (id, ts) SETTINGS index_granularity = 8192, x = 'y'",
        );
        assert_eq!(t.engine_sql(), "ReplacingMergeTree(ver)");
        assert_eq!(
            t.settings(),
            vec![
                ("index_granularity".to_owned(), "8192".to_owned()),
                ("x".to_owned(), "'y'".to_owned())
            ]
        );
        assert_eq!(table("MergeTree ORDER BY id").engine_sql(), "MergeTree");
    }

    #[test]
    fn split_tuple_columns_are_put_back_together() {
        let part = |name: &str, ty: &str| ActualColumn {
            name: name.into(),
            type_sql: ty.into(),
            ty: ty.parse().ok(),
            default: String::new(),
            computed: false,
            comment: String::new(),
            in_key: false,
            parts: Vec::new(),
        };
        let mut columns = vec![
            part("id", "String"),
            part("arr.1", "Array(String)"),
            part("arr.2", "Array(UInt8)"),
        ];
        fold_split_tuples(&mut columns);
        assert_eq!(columns.len(), 2);
        assert_eq!(columns[1].name, "arr");
        assert_eq!(columns[1].type_sql, "Array(Tuple(String, UInt8))");
        assert_eq!(columns[1].physical_names(), vec!["arr.1", "arr.2"]);
    }
}
