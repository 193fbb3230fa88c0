//! The steps that bring one table to its declaration.
//!
//! Over 400 lines: every way a table can differ (columns, types, comments, settings, engine and
//! keys) decided in one place, so each difference is filtered by the lifecycle the same way.
//!
//! Columns change in place (`ADD`/`DROP`/`MODIFY`/`COMMENT COLUMN`). What ClickHouse cannot
//! change in place (engine, `ORDER BY`, `PARTITION BY`, `PRIMARY KEY`, a key column's type,
//! settings on servers without `MODIFY SETTING`) is a re-create that keeps the rows: a new
//! table, `INSERT INTO new SELECT` the columns both have, one `RENAME TABLE` that swaps them,
//! then `DROP` of the old one. (`EXCHANGE TABLES` would be atomic, but 18.16 lacks it; one
//! `RENAME` of both is the closest.)
//!
//! A clustered table (see [`crate::schema::ResolvedTable::is_clustered`]) is compared through
//! its replicated `<name>_local` table, and every statement runs `ON CLUSTER`. Its
//! `Distributed` table holds no rows, so whenever the columns change it is dropped and created
//! again over the new columns (18.16 refuses `ALTER ... ON CLUSTER` of a table that is not
//! replicated). Column comments are left alone on a cluster (see `schema/cluster.rs`).

use super::actual::{ActualColumn, ActualTable, normalize_expr};
use super::cluster_diff::{leftovers_on_cluster, recreate_on_cluster, without_replication};
use super::desired::DesiredTable;
use super::step::{Action, ResourceKind, Step, StepKind};
use super::types::{cannot_hold, loses_data, same_type};
use crate::schema::sql::{quote_identifier, quote_string};
use crate::schema::{ClickHouseCapabilities, ResolvedColumn, ServerVersion};

/// Suffix of the copy a re-create fills before swapping it in.
pub const NEW_SUFFIX: &str = "__moose_new";
/// Suffix the replaced table carries between the swap and its drop.
pub const OLD_SUFFIX: &str = "__moose_old";

/// `ALTER TABLE ... MODIFY SETTING` exists from here on (conservatively: 19.14 LTS).
const MODIFY_SETTING_SINCE: ServerVersion = ServerVersion::new(19, 14, 0);

/// Settings ClickHouse fixes when a table is created: changing them needs a re-create.
const FIXED_SETTINGS: &[&str] = &["index_granularity", "index_granularity_bytes"];

/// How a re-create's copy statement starts: `apply` reports its progress.
pub(super) const COPY_INTO: &str = "INSERT INTO ";

/// The `(into, from)` tables of a re-create's copy statement (as this file writes it), to
/// report the copy's progress; `None` for any other statement.
pub(super) fn copy_tables(statement: &str) -> Option<(&str, &str)> {
    let rest = statement.strip_prefix(COPY_INTO)?;
    let (into, _) = rest.split_once(" (")?;
    let (_, from) = rest.rsplit_once(" FROM ")?;
    Some((into, from))
}

pub(super) fn q(database: &str, table: &str) -> String {
    format!("{}.{}", quote_identifier(database), quote_identifier(table))
}

/// `name Type [DEFAULT expr]` as in `CREATE TABLE`.
fn column_definition(column: &ResolvedColumn) -> String {
    let mut sql = format!("{} {}", quote_identifier(&column.name), column.ty);
    if let Some(default) = &column.default {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    sql
}

/// Default expressions compared after the server's rewriting: whitespace and backquotes
/// dropped, and the `CAST(expr, 'Type')` older servers wrap around them removed.
fn same_default(declared: &str, actual: &str) -> bool {
    let (declared, actual) = (normalize_expr(declared), normalize_expr(actual));
    if declared == actual {
        return true;
    }
    actual
        .strip_prefix("CAST(")
        .and_then(|rest| rest.strip_suffix(')'))
        .and_then(|inner| inner.rsplit_once(",'"))
        .is_some_and(|(expr, _)| normalize_expr(expr) == declared)
}

/// Steps for a declared table that is not externally managed. `actual` is the table under
/// its name, if any.
pub(crate) fn diff_table(
    desired: &DesiredTable,
    actual: Option<&ActualTable>,
    caps: &ClickHouseCapabilities,
) -> Vec<Step> {
    let table = &desired.resolved;
    let step = |kind, change, statements| sql_step(desired, kind, change, statements);
    let Some(actual) = actual else {
        return vec![step(
            StepKind::Create,
            "create".into(),
            table.create_statements(),
        )];
    };
    let clustered = table.is_clustered();
    // Where the rows are (the replicated table on a cluster), with ON CLUSTER.
    let target = format!(
        "{}{}",
        q(&table.database, &table.local_name()),
        table.on_cluster()
    );

    let mut recreate = Vec::new();
    let declared_engine = table.engine_sql();
    let engine_differs = normalize_expr(&without_replication(&declared_engine))
        != normalize_expr(&without_replication(actual.engine_sql()));
    if engine_differs {
        recreate.push(format!(
            "engine {} -> {}",
            actual.engine_sql(),
            declared_engine
        ));
    }
    let show = |expr: &str| {
        if expr.is_empty() {
            "none".to_owned()
        } else {
            expr.to_owned()
        }
    };
    let order_by = table.order_by_sql();
    if normalize_expr(&order_by) != normalize_expr(&actual.sorting_key) {
        recreate.push(format!(
            "ORDER BY {} -> {}",
            show(&actual.sorting_key),
            order_by
        ));
    }
    let partition_by = table.config.partition_by.clone().unwrap_or_default();
    if normalize_expr(&partition_by) != normalize_expr(&actual.partition_key) {
        recreate.push(format!(
            "PARTITION BY {} -> {}",
            show(&actual.partition_key),
            show(&partition_by)
        ));
    }
    // Without a declared PRIMARY KEY, the table's follows its ORDER BY (compared above); an
    // explicit one on the server that the code does not declare is a change too.
    let primary_differs = match &table.config.primary_key {
        Some(declared) => normalize_expr(declared) != normalize_expr(&actual.primary_key),
        None => normalize_expr(&actual.primary_key) != normalize_expr(&actual.sorting_key),
    };
    if primary_differs {
        recreate.push(format!(
            "PRIMARY KEY {} -> {}",
            show(&actual.primary_key),
            table
                .config
                .primary_key
                .as_deref()
                .unwrap_or("the ORDER BY")
        ));
    }
    let actual_settings = actual.settings();
    let changed_settings: Vec<&(String, String)> = table
        .config
        .settings
        .iter()
        .filter(|(k, v)| {
            !actual_settings
                .iter()
                .any(|(ak, av)| ak == k && normalize_expr(av) == normalize_expr(v))
        })
        .collect();
    let settings_in_place = caps.version() >= MODIFY_SETTING_SINCE
        && changed_settings
            .iter()
            .all(|(k, _)| !FIXED_SETTINGS.contains(&k.as_str()));
    if !changed_settings.is_empty() && !settings_in_place {
        let list: Vec<String> = changed_settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        recreate.push(format!("SETTINGS {}", list.join(", ")));
    }

    // Column changes, in place.
    let mut steps = Vec::new();
    let mut lossy = Vec::new();
    let mut previous: Option<&str> = None;
    for column in &table.columns {
        let Some(existing) = actual.column(&column.name) else {
            let after = previous
                .map(|p| format!(" AFTER {}", quote_identifier(p)))
                .unwrap_or_default();
            let mut statements = vec![format!(
                "ALTER TABLE {target} ADD COLUMN {}{after}",
                column_definition(column)
            )];
            // Separately: 18.16 accepts `ADD COLUMN ... COMMENT` but drops the comment.
            if let Some(comment) = column.comment.as_ref().filter(|_| !clustered) {
                statements.push(format!(
                    "ALTER TABLE {target} COMMENT COLUMN {} {}",
                    quote_identifier(&column.name),
                    quote_string(comment)
                ));
            }
            steps.push(step(
                StepKind::Alter,
                format!("add column `{}` {}", column.name, column.ty),
                statements,
            ));
            previous = Some(&column.name);
            continue;
        };
        previous = Some(&column.name);
        steps.extend(column_changes(
            &target,
            column,
            existing,
            &mut recreate,
            &mut lossy,
            &step,
        ));
        if clustered {
            // Comments stay as created (no COMMENT COLUMN ON CLUSTER on 18.16).
            steps.retain(|s| !s.change.starts_with("comment column"));
        }
    }
    for existing in &actual.columns {
        // Computed columns were added by hand (a model cannot declare one): not moose's.
        if existing.computed || table.columns.iter().any(|c| c.name == existing.name) {
            continue;
        }
        if existing.in_key {
            recreate.push(format!("key column `{}` removed", existing.name));
        }
        lossy.push(format!(
            "column `{}` and its values are dropped",
            existing.name
        ));
        let statements = existing
            .physical_names()
            .iter()
            .map(|n| format!("ALTER TABLE {target} DROP COLUMN {}", quote_identifier(n)))
            .collect();
        steps.push(
            step(
                StepKind::Drop,
                format!("drop column `{}` {}", existing.name, existing.type_sql),
                statements,
            )
            .destructive("the column's values are deleted"),
        );
    }
    if !recreate.is_empty() {
        return vec![recreate_step(desired, actual, &recreate, &lossy)];
    }
    if !changed_settings.is_empty() {
        let list: Vec<String> = changed_settings
            .iter()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect();
        steps.push(step(
            StepKind::Alter,
            format!("settings {}", list.join(", ")),
            vec![format!(
                "ALTER TABLE {target} MODIFY SETTING {}",
                list.join(", ")
            )],
        ));
    }
    steps
}

/// Type, default and comment changes of one column that exists on both sides.
fn column_changes(
    target: &str,
    column: &ResolvedColumn,
    existing: &ActualColumn,
    recreate: &mut Vec<String>,
    lossy: &mut Vec<String>,
    step: &dyn Fn(StepKind, String, Vec<String>) -> Step,
) -> Vec<Step> {
    let mut steps = Vec::new();
    let type_differs = match &existing.ty {
        Some(ty) => !same_type(&column.ty, ty),
        None => existing.type_sql.replace(' ', "") != column.ty.to_string().replace(' ', ""),
    };
    let loss = if type_differs {
        match &existing.ty {
            Some(ty) => loses_data(ty, &column.ty),
            None => Some(format!(
                "converting `{}` to `{}` can change or lose values",
                existing.type_sql, column.ty
            )),
        }
    } else {
        None
    };
    let default_differs = column
        .default
        .as_deref()
        .is_some_and(|d| !same_default(d, &existing.default));
    if type_differs && existing.in_key {
        recreate.push(format!(
            "key column `{}` {} -> {}",
            column.name, existing.type_sql, column.ty
        ));
    }
    if let Some(why) = &loss {
        lossy.push(format!("column `{}`: {why}", column.name));
    }
    if type_differs || default_differs {
        let change = if type_differs {
            format!(
                "modify column `{}` {} -> {}",
                column.name, existing.type_sql, column.ty
            )
        } else {
            format!(
                "modify column `{}` default {} -> {}",
                column.name,
                if existing.default.is_empty() {
                    "none"
                } else {
                    &existing.default
                },
                column.default.as_deref().unwrap_or_default()
            )
        };
        let mut modify = step(
            StepKind::Alter,
            change,
            vec![format!(
                "ALTER TABLE {target} MODIFY COLUMN {}",
                column_definition(column)
            )],
        );
        if let Some(why) = loss {
            modify = modify.destructive(why);
        }
        steps.push(modify);
    }
    let comment = column.comment.as_deref().unwrap_or_default();
    if comment != existing.comment {
        steps.push(step(
            StepKind::Alter,
            format!(
                "comment column `{}`: {} -> {}",
                column.name,
                quote_string(&existing.comment),
                quote_string(comment)
            ),
            vec![format!(
                "ALTER TABLE {target} COMMENT COLUMN {} {}",
                quote_identifier(&column.name),
                quote_string(comment)
            )],
        ));
    }
    steps
}

/// One step that rebuilds the table with its rows: create the copy, fill it, swap, drop.
fn recreate_step(
    desired: &DesiredTable,
    actual: &ActualTable,
    reasons: &[String],
    lossy: &[String],
) -> Step {
    let table = &desired.resolved;
    let name = &table.name;
    let db = &table.database;
    let new_name = format!("{name}{NEW_SUFFIX}");
    let old_name = format!("{name}{OLD_SUFFIX}");
    let mut copy = table.clone();
    copy.name = new_name.clone();
    if table.is_clustered() {
        return recreate_on_cluster(desired, actual, copy, reasons, lossy);
    }
    // INSERT ... SELECT converts to the new type as CAST would.
    let list = copied_columns(desired, actual);
    let mut statements = vec![
        format!("DROP TABLE IF EXISTS {}", q(db, &new_name)),
        copy.create_table_sql(),
    ];
    statements.extend(computed_columns(actual, &q(db, &new_name), ""));
    statements.extend([
        format!(
            "{COPY_INTO}{} ({list}) SELECT {list} FROM {}",
            q(db, &new_name),
            q(db, name)
        ),
        format!(
            "RENAME TABLE {} TO {}, {} TO {}",
            q(db, name),
            q(db, &old_name),
            q(db, &new_name),
            q(db, name)
        ),
        format!("DROP TABLE {}", q(db, &old_name)),
    ]);
    let lossy = lossy_suffix(lossy);
    let why = format!(
        "the old table is dropped once its rows are copied{lossy}; rows other writers insert \
         during the copy are lost, so stop them first"
    );
    sql_step(
        desired,
        StepKind::Alter,
        format!("re-create ({}); rows are copied", reasons.join(", ")),
        statements,
    )
    .destructive(why)
}

/// The columns a re-create copies: those both sides have, split tuple columns as stored.
pub(super) fn copied_columns(desired: &DesiredTable, actual: &ActualTable) -> String {
    let mut columns = Vec::new();
    for column in &desired.resolved.columns {
        let Some(existing) = actual.column(&column.name) else {
            continue;
        };
        if existing.parts.is_empty() {
            columns.push(quote_identifier(&column.name));
        } else if existing
            .ty
            .as_ref()
            .is_some_and(|ty| same_type(&column.ty, ty))
        {
            columns.extend(
                existing
                    .physical_names()
                    .iter()
                    .map(|n| quote_identifier(n)),
            );
        }
    }
    columns.join(", ")
}

/// The `ALTER TABLE <copy><on> ADD COLUMN` statements that bring the computed columns added
/// by hand to a re-create's copy (they are not moose's to drop).
pub(super) fn computed_columns<'a>(
    actual: &'a ActualTable,
    copy: &'a str,
    on: &'a str,
) -> impl Iterator<Item = String> + 'a {
    actual.columns.iter().filter(|c| c.computed).map(move |c| {
        format!(
            "ALTER TABLE {copy}{on} ADD COLUMN {} {} {}",
            quote_identifier(&c.name),
            c.type_sql,
            c.default
        )
    })
}

/// What a re-create loses, as the tail of its warning (`; ...`), or nothing.
pub(super) fn lossy_suffix(lossy: &[String]) -> String {
    if lossy.is_empty() {
        String::new()
    } else {
        format!("; {}", lossy.join("; "))
    }
}

/// A step on `desired`'s table that runs `statements`.
pub(super) fn sql_step(
    desired: &DesiredTable,
    kind: StepKind,
    change: String,
    statements: Vec<String>,
) -> Step {
    Step::new(
        kind,
        ResourceKind::Table,
        &desired.resolved.name,
        desired.life_cycle,
        change,
        Action::Sql { statements },
    )
}

/// Steps that finish or undo a re-create cut short (by a crash) for table `name`: a
/// half-filled copy is dropped; a replaced table left behind after the swap is dropped; a
/// table renamed away without its replacement is renamed back. Returns the steps and
/// whether the table is back under its name.
pub(crate) fn leftovers(
    desired: &DesiredTable,
    tables: &std::collections::BTreeMap<String, ActualTable>,
) -> (Vec<Step>, Option<ActualTable>) {
    let table = &desired.resolved;
    if table.is_clustered() {
        return leftovers_on_cluster(desired, tables);
    }
    let name = &table.name;
    let db = &table.database;
    let mut steps = Vec::new();
    let step = |kind, change, statements| sql_step(desired, kind, change, statements);
    let new_name = format!("{name}{NEW_SUFFIX}");
    let old_name = format!("{name}{OLD_SUFFIX}");
    let mut restored = None;
    if tables.contains_key(&new_name) {
        steps.push(step(
            StepKind::Drop,
            format!("drop `{new_name}`, the unfinished copy of an interrupted re-create"),
            vec![format!("DROP TABLE {}", q(db, &new_name))],
        ));
    }
    if let Some(old) = tables.get(&old_name) {
        if tables.contains_key(name) {
            steps.push(step(
                StepKind::Drop,
                format!(
                    "drop `{old_name}`, replaced by an interrupted re-create that copied its rows"
                ),
                vec![format!("DROP TABLE {}", q(db, &old_name))],
            ));
        } else {
            steps.push(step(
                StepKind::Alter,
                format!("rename `{old_name}` back to `{name}` (an interrupted re-create)"),
                vec![format!(
                    "RENAME TABLE {} TO {}",
                    q(db, &old_name),
                    q(db, name)
                )],
            ));
            let mut old = old.clone();
            old.name = name.clone();
            restored = Some(old);
        }
    }
    (steps, restored)
}

/// Why an existing table cannot take the model's rows, one line per problem; empty when it
/// can. Extra columns are fine: inserts name their columns, the others get defaults.
pub(crate) fn mismatches(desired: &DesiredTable, actual: Option<&ActualTable>) -> Vec<String> {
    let Some(actual) = actual else {
        return vec!["the table does not exist".into()];
    };
    let mut problems = Vec::new();
    for column in &desired.resolved.columns {
        match actual.column(&column.name) {
            None => problems.push(format!(
                "column `{}` ({}) is missing",
                column.name, column.ty
            )),
            Some(existing) if existing.computed => problems.push(format!(
                "column `{}` is `{}` on the server: inserts cannot write it",
                column.name, existing.default
            )),
            Some(existing) => {
                let problem = match &existing.ty {
                    Some(ty) => cannot_hold(&column.ty, ty),
                    None => Some(format!(
                        "it is `{}` on the server, a type moose cannot write, and the model writes `{}`",
                        existing.type_sql, column.ty
                    )),
                };
                if let Some(problem) = problem {
                    problems.push(format!("column `{}`: {problem}", column.name));
                }
            }
        }
    }
    problems
}
