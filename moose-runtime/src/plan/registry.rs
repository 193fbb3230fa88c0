//! The record of what moose manages: the table `_moose_resources` in the app's database.
//!
//! A table or topic is "ours", and may be dropped once the code no longer declares it, only
//! when this record says this app (same executable name, same namespace) applied it, and
//! with the lifecycle it was last declared with. Tables that were in the database before,
//! or that another app or namespace manages, are never dropped. The record is append-only (ClickHouse 18.16 has
//! no cheap updates): the newest row per resource wins, and a row is written only when
//! something changes.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{PlanError, ResourceKind};
use crate::clickhouse::ClickHouse;
use crate::graph::LifeCycle;
use crate::schema::sql::{quote_identifier, quote_string};

/// Name of the record table in the app's database.
pub const REGISTRY_TABLE: &str = "_moose_resources";

/// Whose records: the app's namespace and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// `MOOSE_NAMESPACE`.
    pub namespace: Option<&'a str>,
    /// The app's name.
    pub app: &'a str,
}

/// What moose last recorded about one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Table or topic.
    pub kind: ResourceKind,
    /// Physical name.
    pub name: String,
    /// The lifecycle it was last declared with.
    pub life_cycle: LifeCycle,
    /// Whether it existed when last recorded (`false` once moose dropped it).
    pub present: bool,
}

fn life_cycle_name(life_cycle: LifeCycle) -> &'static str {
    match life_cycle {
        LifeCycle::FullyManaged => "FullyManaged",
        LifeCycle::DeletionProtected => "DeletionProtected",
        LifeCycle::ExternallyManaged => "ExternallyManaged",
    }
}

fn qualified(database: &str) -> String {
    format!(
        "{}.{}",
        quote_identifier(database),
        quote_identifier(REGISTRY_TABLE)
    )
}

/// The newest record of every resource under `namespace`.
pub async fn read_records(
    clickhouse: &ClickHouse,
    database: &str,
    owner: &Owner<'_>,
) -> Result<Vec<Record>, PlanError> {
    let rows = clickhouse
        .query_json(&format!(
            "SELECT kind, name, argMax(life_cycle, seq) AS life_cycle, \
             argMax(present, seq) AS present FROM {} WHERE namespace = {} AND app = {} \
             GROUP BY kind, name ORDER BY kind, name",
            qualified(database),
            quote_string(owner.namespace.unwrap_or_default()),
            quote_string(owner.app)
        ))
        .await?;
    Ok(rows
        .iter()
        .filter_map(|row| {
            let kind = match row.get("kind")?.as_str()? {
                "table" => ResourceKind::Table,
                "topic" => ResourceKind::Topic,
                _ => return None,
            };
            let life_cycle = match row.get("life_cycle")?.as_str()? {
                "FullyManaged" => LifeCycle::FullyManaged,
                "DeletionProtected" => LifeCycle::DeletionProtected,
                // Unknown values are treated as the most careful lifecycle.
                _ => LifeCycle::ExternallyManaged,
            };
            let present = match row.get("present")? {
                serde_json::Value::Number(n) => n.as_u64() != Some(0),
                serde_json::Value::String(s) => s != "0",
                _ => true,
            };
            Some(Record {
                kind,
                name: row.get("name")?.as_str()?.to_owned(),
                life_cycle,
                present,
            })
        })
        .collect())
}

/// Creates the record table if missing.
pub async fn ensure_registry(clickhouse: &ClickHouse, database: &str) -> Result<(), PlanError> {
    clickhouse
        .execute(&format!(
            "CREATE TABLE IF NOT EXISTS {} (namespace String, app String, kind String, \
             name String, life_cycle String, present UInt8, seq UInt64, recorded_at DateTime) \
             ENGINE = MergeTree() ORDER BY (namespace, app, kind, name, seq)",
            qualified(database)
        ))
        .await?;
    Ok(())
}

/// Appends `records` under `namespace`.
pub async fn write_records(
    clickhouse: &ClickHouse,
    database: &str,
    owner: &Owner<'_>,
    records: &[Record],
) -> Result<(), PlanError> {
    if records.is_empty() {
        return Ok(());
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let values: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {})",
                quote_string(owner.namespace.unwrap_or_default()),
                quote_string(owner.app),
                quote_string(r.kind.as_str()),
                quote_string(&r.name),
                quote_string(life_cycle_name(r.life_cycle)),
                u8::from(r.present),
                // Nanoseconds order rows of one apply and of successive applies.
                now.as_nanos() as u64 + i as u64,
                now.as_secs()
            )
        })
        .collect();
    clickhouse
        .execute(&format!(
            "INSERT INTO {} (namespace, app, kind, name, life_cycle, present, seq, recorded_at) \
             VALUES {}",
            qualified(database),
            values.join(", ")
        ))
        .await?;
    Ok(())
}
