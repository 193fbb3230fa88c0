//! From [`Desired`] and [`Actual`] to a [`Plan`]: per-resource diffs, resources no longer
//! declared, ordering, and the lifecycle filter.

use super::actual::Actual;
use super::desired::Desired;
use super::lifecycle::gate;
use super::step::{Action, NO_LONGER_DECLARED, Plan, ResourceKind, Step, StepKind};
use super::{cluster_diff, table_diff, topic_diff};
use crate::graph::LifeCycle;
use crate::schema::ClickHouseCapabilities;

/// The plan that brings what exists (`actual`) to what the code declares (`desired`) on a
/// server with `caps`. Pure: reads nothing, changes nothing.
pub fn diff(desired: &Desired, actual: &Actual, caps: &ClickHouseCapabilities) -> Plan {
    let mut cleanup = Vec::new();
    let mut creates = Vec::new();
    let mut alters = Vec::new();
    let mut recreates = Vec::new();
    let mut drops = Vec::new();
    let mut sort = |step: Step| match step.kind {
        StepKind::Create => creates.push(step),
        _ if step.change.starts_with("re-create") => recreates.push(step),
        _ => alters.push(step),
    };

    for table in &desired.tables {
        let name = &table.resolved.name;
        if table.life_cycle == LifeCycle::ExternallyManaged {
            for problem in table_diff::mismatches(table, actual.tables.get(name)) {
                sort(refusal(ResourceKind::Table, name, problem));
            }
            continue;
        }
        let (left, restored) = table_diff::leftovers(table, &actual.tables);
        cleanup.extend(left);
        // On a cluster, the replicated table that holds the rows.
        let existing = actual
            .tables
            .get(&table.resolved.local_name())
            .or(restored.as_ref());
        let mut steps = table_diff::diff_table(table, existing, caps);
        steps.extend(cluster_diff::distributed_step(
            table,
            existing.is_some(),
            &steps,
            actual.tables.get(name),
        ));
        for step in steps {
            sort(step);
        }
    }
    for topic in &desired.topics {
        let existing = actual.topics.get(&topic.spec.name);
        if topic.life_cycle == LifeCycle::ExternallyManaged {
            for problem in topic_diff::mismatches(existing) {
                sort(refusal(ResourceKind::Topic, &topic.spec.name, problem));
            }
            continue;
        }
        for step in topic_diff::diff_topic(topic, existing) {
            sort(step);
        }
    }

    // Recorded by moose, present, no longer declared.
    for record in actual.records.iter().filter(|r| r.present) {
        let (declared, exists) = match record.kind {
            ResourceKind::Table => (
                desired.table(&record.name).is_some(),
                actual.tables.contains_key(&record.name),
            ),
            ResourceKind::Topic => (
                desired.topic(&record.name).is_some(),
                actual.topics.contains_key(&record.name),
            ),
        };
        if declared || !exists || record.life_cycle == LifeCycle::ExternallyManaged {
            continue;
        }
        let (action, why) = match record.kind {
            ResourceKind::Table => (
                Action::Sql {
                    statements: cluster_diff::drop_statements(
                        &desired.database,
                        &record.name,
                        &actual.tables,
                    ),
                },
                "the table and all its rows are deleted",
            ),
            ResourceKind::Topic => (
                Action::DeleteTopic,
                "the topic, its records and its consumer offsets are deleted",
            ),
        };
        drops.push(
            Step::new(
                StepKind::Drop,
                record.kind,
                &record.name,
                record.life_cycle,
                NO_LONGER_DECLARED.into(),
                action,
            )
            .destructive(why),
        );
    }

    let mut steps: Vec<Step> = cleanup
        .into_iter()
        .chain(creates)
        .chain(alters)
        .chain(recreates)
        .chain(drops)
        .collect();
    for step in &mut steps {
        gate(step);
    }
    Plan {
        database: desired.database.clone(),
        server_version: caps.version().to_string(),
        steps,
    }
}

/// A problem with an externally managed resource: reported, never acted on.
fn refusal(kind: ResourceKind, name: &str, problem: String) -> Step {
    Step::new(
        StepKind::Alter,
        kind,
        name,
        LifeCycle::ExternallyManaged,
        problem,
        Action::None,
    )
    .blocked(format!(
        "ExternallyManaged: moose never changes this {}; its owner must change it so it can hold \
         the model, or the model must match it",
        kind.as_str()
    ))
}
