//! The steps that bring one topic to its stream's declaration: create, retention, more
//! partitions. Fewer partitions are refused on every backend.

use super::desired::DesiredTopic;
use super::step::{Action, ResourceKind, Step, StepKind, human};
use crate::stream::TopicSpec;

fn ms(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Steps for a declared topic that is not externally managed.
pub(crate) fn diff_topic(desired: &DesiredTopic, actual: Option<&TopicSpec>) -> Vec<Step> {
    let spec = &desired.spec;
    let step = |kind, change: String, action| {
        Step::new(
            kind,
            ResourceKind::Topic,
            &spec.name,
            desired.life_cycle,
            change,
            action,
        )
    };
    let Some(actual) = actual else {
        return vec![step(
            StepKind::Create,
            format!(
                "create with {} partition{}, retention {}",
                spec.partitions,
                if spec.partitions == 1 { "" } else { "s" },
                human(spec.retention)
            ),
            Action::CreateTopic {
                partitions: spec.partitions,
                retention_ms: ms(spec.retention),
            },
        )];
    };
    let mut steps = Vec::new();
    if spec.retention != actual.retention {
        let mut change = step(
            StepKind::Alter,
            format!(
                "retention {} -> {}",
                human(actual.retention),
                human(spec.retention)
            ),
            Action::AlterTopic {
                partitions: None,
                retention_ms: Some(ms(spec.retention)),
            },
        );
        if spec.retention < actual.retention {
            change = change.destructive(format!(
                "records older than {} are deleted",
                human(spec.retention)
            ));
        }
        steps.push(change);
    }
    if spec.partitions > actual.partitions {
        steps.push(step(
            StepKind::Alter,
            format!("partitions {} -> {}", actual.partitions, spec.partitions),
            Action::AlterTopic {
                partitions: Some(spec.partitions),
                retention_ms: None,
            },
        ));
    } else if spec.partitions < actual.partitions {
        steps.push(
            step(
                StepKind::Alter,
                format!("partitions {} -> {}", actual.partitions, spec.partitions),
                Action::None,
            )
            .blocked(format!(
                "a topic's partitions cannot be removed: the records in them would be lost and \
                 keys would move to other partitions; the topic keeps {} partitions (still read \
                 by {} worker{}). To really shrink it, give the stream a new version (a new \
                 topic) or set parallelism back to {}",
                actual.partitions,
                spec.partitions,
                if spec.partitions == 1 { "" } else { "s" },
                actual.partitions
            )),
        );
    }
    steps
}

/// Why an existing topic cannot carry the stream; empty when it can (any partition count and
/// retention work).
pub(crate) fn mismatches(actual: Option<&TopicSpec>) -> Vec<String> {
    match actual {
        Some(_) => Vec::new(),
        None => vec!["the topic does not exist".into()],
    }
}
