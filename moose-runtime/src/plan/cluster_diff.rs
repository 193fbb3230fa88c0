//! The parts of a table's plan that only a clustered table has (see
//! [`ResolvedTable::is_clustered`]): its `Distributed` table, re-creates and leftovers `ON
//! CLUSTER`, drops of both tables, and engines compared without their replication arguments.

use std::collections::BTreeMap;

use super::actual::{ActualTable, normalize_expr};
use super::desired::DesiredTable;
use super::step::{Action, ResourceKind, Step, StepKind};
use super::table_diff::{
    COPY_INTO, NEW_SUFFIX, OLD_SUFFIX, computed_columns, copied_columns, lossy_suffix, q, sql_step,
};
use super::types::same_type;
use crate::schema::sql::quote_identifier;
use crate::schema::{LOCAL_SUFFIX, ResolvedTable};

/// An engine clause without what only says where it replicates: the ZooKeeper path and
/// replica name (the first two arguments of a `Replicated*` engine; a re-create's copy has
/// another path), and without empty brackets. `ReplicatedReplacingMergeTree('/p', 'r', v)`
/// becomes `ReplicatedReplacingMergeTree(v)`.
pub(super) fn without_replication(engine: &str) -> String {
    let engine = engine.trim().trim_end_matches("()");
    let Some((name, rest)) = engine.split_once('(') else {
        return engine.to_owned();
    };
    if !name.starts_with("Replicated") {
        return engine.to_owned();
    }
    let args = rest.strip_suffix(')').unwrap_or(rest);
    let (mut depth, mut quoted, mut start, mut parts) = (0i32, false, 0, Vec::new());
    for (i, c) in args.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                parts.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(args[start..].trim());
    let kept: Vec<&str> = parts.into_iter().skip(2).collect();
    if kept.is_empty() {
        name.to_owned()
    } else {
        format!("{name}({})", kept.join(", "))
    }
}

/// A re-create on a cluster: a new replicated table (with a fresh ZooKeeper path) and its
/// `Distributed` table, filled through the old `Distributed` table, then one `RENAME ... ON
/// CLUSTER` of the replicated tables, a new `Distributed` table over the swapped-in one, and
/// the old replicated table dropped.
pub(super) fn recreate_on_cluster(
    desired: &DesiredTable,
    actual: &ActualTable,
    copy: ResolvedTable,
    reasons: &[String],
    lossy: &[String],
) -> Step {
    let table = &desired.resolved;
    let name = &table.name;
    let db = &table.database;
    let on = table.on_cluster();
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let copy = copy.with_replica_path_suffix(&format!("@{millis}"));
    let new_name = copy.name.clone();
    let new_local = copy.local_name();
    let local = table.local_name();
    let old_local = format!("{name}{OLD_SUFFIX}{LOCAL_SUFFIX}");
    let list = copied_columns(desired, actual);
    let mut statements = vec![
        format!("DROP TABLE IF EXISTS {}{on}", q(db, &new_name)),
        format!("DROP TABLE IF EXISTS {}{on}", q(db, &new_local)),
    ];
    // Not the CREATE DATABASE: it exists.
    statements.extend(copy.create_statements().into_iter().skip(1));
    statements.extend(computed_columns(actual, &q(db, &new_local), &on));
    statements.extend([
        format!(
            "{COPY_INTO}{} ({list}) SELECT {list} FROM {}",
            q(db, &new_name),
            q(db, name)
        ),
        format!(
            "RENAME TABLE {} TO {}, {} TO {}{on}",
            q(db, &local),
            q(db, &old_local),
            q(db, &new_local),
            q(db, &local)
        ),
        format!("DROP TABLE IF EXISTS {}{on}", q(db, name)),
        format!("DROP TABLE IF EXISTS {}{on}", q(db, &new_name)),
        table.create_distributed_sql(),
        format!("DROP TABLE {}{on}", q(db, &old_local)),
    ]);
    let lossy = lossy_suffix(lossy);
    sql_step(
        desired,
        StepKind::Alter,
        format!(
            "re-create ({}) on the cluster; rows are copied",
            reasons.join(", ")
        ),
        statements,
    )
    .destructive(format!(
        "the old replicated table is dropped once its rows are copied{lossy}; rows other \
         writers insert during the copy are lost, so stop them first"
    ))
}

/// On a cluster, the step that brings the `Distributed` table over the replicated one in line
/// with the declared columns (dropped and created again: it holds no rows), when it is missing,
/// is not `Distributed`, has other columns, or `local_steps` change the columns. `None` off a
/// cluster, before the tables exist, and when the plan re-creates the table anyway.
pub(crate) fn distributed_step(
    desired: &DesiredTable,
    local_exists: bool,
    local_steps: &[Step],
    distributed: Option<&ActualTable>,
) -> Option<Step> {
    let table = &desired.resolved;
    if !table.is_clustered()
        || !local_exists
        || local_steps
            .iter()
            .any(|s| s.change.starts_with("re-create"))
    {
        return None;
    }
    let columns_change = local_steps.iter().any(|s| s.change.contains("column `"));
    let why = match distributed {
        None => "it is missing".to_owned(),
        Some(d) if d.engine != "Distributed" => format!("it is a {} table", d.engine),
        Some(d)
            if normalize_expr(&d.engine_full.replace("\\'", "'"))
                != normalize_expr(&table.distributed_engine_sql()) =>
        {
            format!("{} -> {}", d.engine_full, table.distributed_engine_sql())
        }
        Some(_) if columns_change => "the columns change".to_owned(),
        Some(d) => {
            let differs = d.columns.iter().filter(|c| !c.computed).count() != table.columns.len()
                || table.columns.iter().any(|c| {
                    d.column(&c.name).is_none_or(|existing| match &existing.ty {
                        Some(ty) => !same_type(&c.ty, ty),
                        None => true,
                    })
                });
            if !differs {
                return None;
            }
            "its columns differ from the model's".to_owned()
        }
    };
    let on = table.on_cluster();
    Some(Step::new(
        StepKind::Alter,
        ResourceKind::Table,
        &table.name,
        desired.life_cycle,
        format!(
            "re-create the Distributed table over `{}` ({why}; it holds no rows)",
            table.local_name()
        ),
        Action::Sql {
            statements: vec![
                format!(
                    "DROP TABLE IF EXISTS {}{on}",
                    q(&table.database, &table.name)
                ),
                table.create_distributed_sql(),
            ],
        },
    ))
}

/// The statements that drop table `name` of `database`: on a cluster (a `Distributed` table
/// with a `<name>_local` next to it) both, `ON CLUSTER` the cluster it distributes over.
pub(crate) fn drop_statements(
    database: &str,
    name: &str,
    tables: &BTreeMap<String, ActualTable>,
) -> Vec<String> {
    let local = format!("{name}{LOCAL_SUFFIX}");
    let cluster = tables
        .get(name)
        .filter(|t| t.engine == "Distributed" && tables.contains_key(&local))
        .and_then(|t| {
            let args = t.engine_full.split_once('(')?.1;
            let first = args.split(',').next()?.trim();
            Some(
                first
                    .trim_matches(|c| c == '`' || c == '\'' || c == '\\')
                    .to_owned(),
            )
        });
    match cluster {
        Some(cluster) => {
            let on = format!(" ON CLUSTER {}", quote_identifier(&cluster));
            vec![
                format!("DROP TABLE {}{on}", q(database, name)),
                format!("DROP TABLE IF EXISTS {}{on}", q(database, &local)),
            ]
        }
        None => vec![format!("DROP TABLE {}", q(database, name))],
    }
}

/// `leftovers` of a clustered table: the copy's replicated and `Distributed` tables dropped,
/// the old replicated table dropped or renamed back.
pub(super) fn leftovers_on_cluster(
    desired: &DesiredTable,
    tables: &BTreeMap<String, ActualTable>,
) -> (Vec<Step>, Option<ActualTable>) {
    let table = &desired.resolved;
    let name = &table.name;
    let db = &table.database;
    let mut steps = Vec::new();
    let step = |kind, change, statements| sql_step(desired, kind, change, statements);
    let new_name = format!("{name}{NEW_SUFFIX}");
    let old_name = format!("{name}{OLD_SUFFIX}");
    let mut restored = None;
    let on = table.on_cluster();
    let local = table.local_name();
    let new_local = format!("{new_name}{LOCAL_SUFFIX}");
    let old_local = format!("{old_name}{LOCAL_SUFFIX}");
    if tables.contains_key(&new_name) || tables.contains_key(&new_local) {
        steps.push(step(
            StepKind::Drop,
            format!("drop `{new_name}`, the unfinished copy of an interrupted re-create"),
            vec![
                format!("DROP TABLE IF EXISTS {}{on}", q(db, &new_name)),
                format!("DROP TABLE IF EXISTS {}{on}", q(db, &new_local)),
            ],
        ));
    }
    if let Some(old) = tables.get(&old_local) {
        if tables.contains_key(&local) {
            steps.push(step(
                StepKind::Drop,
                format!(
                    "drop `{old_local}`, replaced by an interrupted re-create that copied its rows"
                ),
                vec![format!("DROP TABLE {}{on}", q(db, &old_local))],
            ));
        } else {
            steps.push(step(
                StepKind::Alter,
                format!("rename `{old_local}` back to `{local}` (an interrupted re-create)"),
                vec![format!(
                    "RENAME TABLE {} TO {}{on}",
                    q(db, &old_local),
                    q(db, &local)
                )],
            ));
            let mut old = old.clone();
            old.name = local;
            restored = Some(old);
        }
    }
    (steps, restored)
}

#[cfg(test)]
mod tests {
    use super::without_replication;

    #[test]
    fn replicated_engines_compare_without_their_path_and_replica() {
        assert_eq!(
            without_replication(
                "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db.t_local@17', '{replica}', `ver`)"
            ),
            "ReplicatedReplacingMergeTree(`ver`)"
        );
        assert_eq!(
            without_replication("ReplicatedSummingMergeTree('/p, q', '{replica}', (a, b))"),
            "ReplicatedSummingMergeTree((a, b))"
        );
        assert_eq!(
            without_replication("ReplicatedMergeTree('/p', '{replica}')"),
            "ReplicatedMergeTree"
        );
        assert_eq!(without_replication("MergeTree()"), "MergeTree");
        assert_eq!(
            without_replication("ReplacingMergeTree(ver)"),
            "ReplacingMergeTree(ver)"
        );
    }
}
