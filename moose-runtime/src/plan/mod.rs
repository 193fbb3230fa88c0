//! Lifecycle management and schema evolution: compare what the code declares with the
//! tables and topics that exist, and change them to match, as far as each resource's
//! [`LifeCycle`](crate::graph::LifeCycle) allows.
//!
//! 1. [`Desired`]: the graph's tables, resolved for the server's capabilities, and topics.
//! 2. [`Actual`]: `system.tables` / `system.columns` of the app's database (types read back
//!    with [`ColumnType`](crate::schema::ColumnType)'s `FromStr`), the topics as the
//!    [`TopicAdmin`] describes them, and moose's record of what it manages
//!    (`_moose_resources`, see [`registry`]).
//! 3. [`diff`]: an ordered [`Plan`] of [`Step`]s: leftovers of an interrupted re-create,
//!    creates, alterations (columns, comments, defaults, settings, retention, partitions),
//!    re-creates that copy the rows (engine, `ORDER BY`, `PARTITION BY`, `PRIMARY KEY`, key
//!    column types), and drops of resources no longer declared; each step filtered by its
//!    lifecycle (see `lifecycle.rs`), destructive ones marked.
//! 4. [`apply`] runs what the lifecycles and the [`ApplyPolicy`] allow; [`verify`] then
//!    checks that every declared table and topic can hold what the code writes.
//!
//! A resource is dropped when no longer declared only if the record says this app (same
//! executable name, same namespace) applied it and its last lifecycle was `FullyManaged`:
//! tables that were in the database before moose, or that belong to another app or
//! namespace, are never dropped.
//!
//! ```text
//! $ my-app plan
//! ~ table `events`: add column `note` Nullable(String)
//!       ALTER TABLE `local`.`events` ADD COLUMN `note` Nullable(String) AFTER `value`
//! ```

mod actual;
mod apply;
mod cluster_diff;
mod desired;
mod diff;
mod error;
mod lifecycle;
pub mod registry;
mod render;
mod step;
mod table_diff;
mod topic_diff;
mod types;

pub use actual::{Actual, ActualColumn, ActualTable, read_tables};
pub use apply::{ApplyPolicy, ApplyReport, apply, verify};
pub use desired::{Desired, DesiredTable, DesiredTopic, app_name};
pub use diff::diff;
pub use error::{Mismatch, PlanError, Skipped};
pub use step::{Action, Plan, ResourceKind, Step, StepKind};
pub use table_diff::{NEW_SUFFIX, OLD_SUFFIX};

use crate::clickhouse::ClickHouse;
use crate::stream::TopicAdmin;

/// Reads what exists and plans the changes to `desired`. Changes nothing.
pub async fn plan(
    desired: &Desired,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
) -> Result<Plan, PlanError> {
    let actual = Actual::read(
        clickhouse,
        backend,
        &desired.database,
        &desired.owner(),
        desired.topics.iter().map(|t| t.spec.name.as_str()),
    )
    .await?;
    Ok(diff(desired, &actual, clickhouse.capabilities()))
}

/// What the runtime does at start: plan, apply what `policy` and the lifecycles allow, then
/// check that every table and topic can hold what the code writes. Fails, naming every
/// problem, when one cannot (an externally managed table missing a column, a type change that
/// was blocked or held back).
pub async fn converge(
    desired: &Desired,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
    policy: ApplyPolicy,
) -> Result<(Plan, ApplyReport), PlanError> {
    let plan = plan(desired, clickhouse, backend).await?;
    let report = apply(&plan, desired, clickhouse, backend, policy).await?;
    let mismatches = verify(desired, clickhouse, backend).await?;
    if !mismatches.is_empty() {
        return Err(PlanError::Incompatible {
            mismatches,
            skipped: report.skipped,
        });
    }
    Ok((plan, report))
}
