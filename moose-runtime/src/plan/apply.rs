//! Carrying out a [`Plan`], recording what moose manages, and checking afterwards that every
//! table and topic can hold what the code writes.

use std::time::Duration;

use super::actual::{Actual, read_tables};
use super::desired::Desired;
use super::error::{Mismatch, PlanError, Skipped};
use super::registry::{Record, ensure_registry, read_records, write_records};
use super::step::{Action, NO_LONGER_DECLARED, Plan, ResourceKind, Step, StepKind};
use super::table_diff::copy_tables;
use super::{table_diff, topic_diff};
use crate::clickhouse::ClickHouse;
use crate::graph::LifeCycle;
use crate::stream::{TopicAdmin, TopicChange, TopicSpec};

/// Which of a plan's steps may be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApplyPolicy {
    /// Apply destructive steps too (drops, narrowing type changes, re-creates, shorter
    /// retention). Blocked steps are never applied.
    pub allow_destructive: bool,
}

impl ApplyPolicy {
    /// `dev`: everything the lifecycles allow.
    pub const EVERYTHING: ApplyPolicy = ApplyPolicy {
        allow_destructive: true,
    };
    /// `start` without `--allow-destructive`: only steps that keep every stored value.
    pub const NON_DESTRUCTIVE: ApplyPolicy = ApplyPolicy {
        allow_destructive: false,
    };
}

/// What applying did.
#[derive(Debug, Clone, Default)]
pub struct ApplyReport {
    /// Steps carried out, in order.
    pub applied: Vec<Step>,
    /// Steps not carried out, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Applies `plan` (made for `desired`) as `policy` allows, then records the resources moose
/// manages. Refuses before changing anything when an externally managed resource cannot
/// hold its model. Stops at the first failing step.
pub async fn apply(
    plan: &Plan,
    desired: &Desired,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
    policy: ApplyPolicy,
) -> Result<ApplyReport, PlanError> {
    let external: Vec<Mismatch> = plan
        .steps
        .iter()
        .filter(|s| s.life_cycle == LifeCycle::ExternallyManaged && s.action == Action::None)
        .map(|s| Mismatch {
            resource: s.resource,
            name: s.name.clone(),
            problem: format!(
                "{} (it is ExternallyManaged: moose never changes it)",
                s.change
            ),
        })
        .collect();
    if !external.is_empty() {
        return Err(PlanError::Incompatible {
            mismatches: external,
            skipped: Vec::new(),
        });
    }
    let mut report = ApplyReport::default();
    for step in &plan.steps {
        if let Some(why) = &step.blocked {
            report.skipped.push(Skipped {
                step: step.clone(),
                reason: why.clone(),
            });
            continue;
        }
        if let (Some(why), false) = (&step.destructive, policy.allow_destructive) {
            report.skipped.push(Skipped {
                step: step.clone(),
                reason: format!(
                    "destructive ({why}); `start --allow-destructive` (or `dev`) applies it"
                ),
            });
            continue;
        }
        run(step, clickhouse, backend)
            .await
            .map_err(|source| PlanError::Step {
                step: format!(
                    "{} `{}`: {}",
                    step.resource.as_str(),
                    step.name,
                    step.change
                ),
                source: Box::new(source),
            })?;
        tracing::info!(
            "{} {} `{}`: {}",
            step.sign(),
            step.resource.as_str(),
            step.name,
            step.change
        );
        report.applied.push(step.clone());
    }
    record(desired, &report, clickhouse, backend).await?;
    Ok(report)
}

/// How often a re-create's copy reports how many rows it copied.
const COPY_PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Runs a re-create's `INSERT INTO into SELECT ... FROM from`, logging how many of the rows it
/// has copied at the start, every [`COPY_PROGRESS_EVERY`] while it runs, and at the end: a
/// large table takes minutes, and a silent `start` looks hung.
async fn copy_with_progress(
    clickhouse: &ClickHouse,
    statement: &str,
    into: &str,
    from: &str,
) -> Result<(), crate::clickhouse::ClickHouseError> {
    let count = |table: &str| {
        let sql = format!("SELECT count() FROM {table}");
        async move {
            clickhouse
                .query_text(&sql, "counting rows")
                .await
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
        }
    };
    let total = count(from).await.unwrap_or(0);
    let started = std::time::Instant::now();
    tracing::info!(
        table = from,
        rows = total,
        "re-create: copying {total} rows into the new table"
    );
    // Into a Distributed table (a re-create on a cluster), the copy returns only once every
    // shard has its rows: the swap that follows drops the table the rows went through.
    let copy = clickhouse.execute_with(statement, &[("insert_distributed_sync", "1")]);
    tokio::pin!(copy);
    let mut tick = tokio::time::interval(COPY_PROGRESS_EVERY);
    tick.tick().await;
    let result = loop {
        tokio::select! {
            result = &mut copy => break result,
            _ = tick.tick() => {
                if let Some(copied) = count(into).await {
                    let percent = if total == 0 { 100.0 } else { copied as f64 * 100.0 / total as f64 };
                    tracing::info!(table = from, copied, rows = total, "re-create: {copied} of {total} rows copied ({percent:.0}%)");
                }
            }
        }
    };
    result?;
    tracing::info!(
        table = from,
        rows = total,
        seconds = started.elapsed().as_secs_f64(),
        "re-create: copied {total} rows in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn run(
    step: &Step,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
) -> Result<(), PlanError> {
    match &step.action {
        Action::Sql { statements } => {
            for statement in statements {
                match copy_tables(statement) {
                    Some((into, from)) => {
                        copy_with_progress(clickhouse, statement, into, from).await?
                    }
                    None => clickhouse.execute(statement).await?,
                }
            }
        }
        Action::CreateTopic {
            partitions,
            retention_ms,
        } => {
            backend
                .ensure_topic(&TopicSpec {
                    name: step.name.clone(),
                    partitions: *partitions,
                    retention: Duration::from_millis(*retention_ms),
                })
                .await?
        }
        Action::AlterTopic {
            partitions,
            retention_ms,
        } => {
            let change = TopicChange {
                partitions: *partitions,
                retention: retention_ms.map(Duration::from_millis),
            };
            backend.alter_topic(&step.name, &change).await?
        }
        Action::DeleteTopic => backend.delete_topic(&step.name).await?,
        Action::None => {}
    }
    Ok(())
}

/// Records every declared resource that exists with its lifecycle, and every dropped one as
/// gone; writes only what changed since the last record.
async fn record(
    desired: &Desired,
    report: &ApplyReport,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
) -> Result<(), PlanError> {
    let database = &desired.database;
    let owner = desired.owner();
    ensure_registry(clickhouse, database).await?;
    let tables = read_tables(clickhouse, database).await?;
    let mut wanted = Vec::new();
    for table in &desired.tables {
        if tables.contains_key(&table.resolved.name) {
            wanted.push(Record {
                kind: ResourceKind::Table,
                name: table.resolved.name.clone(),
                life_cycle: table.life_cycle,
                present: true,
            });
        }
    }
    for topic in &desired.topics {
        if backend.describe_topic(&topic.spec.name).await?.is_some() {
            wanted.push(Record {
                kind: ResourceKind::Topic,
                name: topic.spec.name.clone(),
                life_cycle: topic.life_cycle,
                present: true,
            });
        }
    }
    let recorded = read_records(clickhouse, database, &owner).await?;
    for step in &report.applied {
        if step.kind == StepKind::Drop && step.change == NO_LONGER_DECLARED {
            let life_cycle = recorded
                .iter()
                .find(|r| r.kind == step.resource && r.name == step.name)
                .map_or(step.life_cycle, |r| r.life_cycle);
            wanted.push(Record {
                kind: step.resource,
                name: step.name.clone(),
                life_cycle,
                present: false,
            });
        }
    }
    let changed: Vec<Record> = wanted
        .into_iter()
        .filter(|w| !recorded.contains(w))
        .collect();
    write_records(clickhouse, database, &owner, &changed).await
}

/// What keeps the declared tables and topics from holding what the code writes, as they are
/// now: missing tables, topics and columns, and column types with another encoding.
pub async fn verify(
    desired: &Desired,
    clickhouse: &ClickHouse,
    backend: &dyn TopicAdmin,
) -> Result<Vec<Mismatch>, PlanError> {
    let actual = Actual::read(
        clickhouse,
        backend,
        &desired.database,
        &desired.owner(),
        desired.topics.iter().map(|t| t.spec.name.as_str()),
    )
    .await?;
    let mut problems = Vec::new();
    for table in &desired.tables {
        let name = &table.resolved.name;
        for problem in table_diff::mismatches(table, actual.tables.get(name)) {
            problems.push(Mismatch {
                resource: ResourceKind::Table,
                name: name.clone(),
                problem,
            });
        }
    }
    for topic in &desired.topics {
        for problem in topic_diff::mismatches(actual.topics.get(&topic.spec.name)) {
            problems.push(Mismatch {
                resource: ResourceKind::Topic,
                name: topic.spec.name.clone(),
                problem,
            });
        }
    }
    Ok(problems)
}
