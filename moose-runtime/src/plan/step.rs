//! [`Plan`] and its [`Step`]s: what would change, how, and whether it may.

use std::time::Duration;

use serde::Serialize;

use crate::graph::LifeCycle;

/// Which kind of resource a step changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A ClickHouse table in the app's database.
    Table,
    /// A stream's topic.
    Topic,
}

impl ResourceKind {
    /// `table` / `topic`.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Table => "table",
            ResourceKind::Topic => "topic",
        }
    }
}

/// The change of a step that drops a resource the code no longer declares.
pub(crate) const NO_LONGER_DECLARED: &str = "drop (no longer declared)";

/// What kind of change a step is; decides its sign in the printed plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    /// `+`: a new table or topic.
    Create,
    /// `~`: a change to an existing one (columns, settings, retention, partitions, a
    /// re-create that keeps the rows).
    Alter,
    /// `-`: a table, topic or column removed.
    Drop,
}

/// How a step is carried out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// ClickHouse statements, run in order.
    Sql {
        /// The statements.
        statements: Vec<String>,
    },
    /// Create the topic.
    CreateTopic {
        /// Partitions (the stream's parallelism).
        partitions: u32,
        /// Retention in milliseconds.
        retention_ms: u64,
    },
    /// Change the topic; `None` leaves a property as it is.
    AlterTopic {
        /// New partition count.
        partitions: Option<u32>,
        /// New retention in milliseconds.
        retention_ms: Option<u64>,
    },
    /// Delete the topic, its records and its consumer groups' offsets.
    DeleteTopic,
    /// Nothing can be done (the step only reports a problem).
    None,
}

/// One change to one table or topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Create, alter or drop.
    pub kind: StepKind,
    /// Table or topic.
    pub resource: ResourceKind,
    /// Physical name: the table in the app's database, or the topic.
    pub name: String,
    /// The resource's lifecycle (for a resource no longer declared: as last recorded).
    pub life_cycle: LifeCycle,
    /// What changes, in words: ``add column `note` Nullable(String)``.
    pub change: String,
    /// How.
    pub action: Action,
    /// Why the step deletes or can alter stored data, if it does.
    pub destructive: Option<String>,
    /// Why the step is not applied (its lifecycle forbids it, or no backend can do it).
    pub blocked: Option<String>,
}

impl Step {
    /// A step that changes nothing yet: not destructive, not blocked.
    pub(crate) fn new(
        kind: StepKind,
        resource: ResourceKind,
        name: &str,
        life_cycle: LifeCycle,
        change: String,
        action: Action,
    ) -> Self {
        Step {
            kind,
            resource,
            name: name.to_owned(),
            life_cycle,
            change,
            action,
            destructive: None,
            blocked: None,
        }
    }

    /// Marks the step destructive, saying why.
    pub(crate) fn destructive(mut self, why: impl Into<String>) -> Self {
        self.destructive = Some(why.into());
        self
    }

    /// Marks the step blocked, saying why.
    pub(crate) fn blocked(mut self, why: impl Into<String>) -> Self {
        self.blocked = Some(why.into());
        self
    }

    /// The sign the step gets in the printed plan: `+`, `~`, `-`, or `!` when blocked.
    pub fn sign(&self) -> char {
        match (&self.blocked, self.kind) {
            (Some(_), _) => '!',
            (None, StepKind::Create) => '+',
            (None, StepKind::Alter) => '~',
            (None, StepKind::Drop) => '-',
        }
    }
}

/// What `plan` found: the ordered steps that bring tables and topics to what the code
/// declares. Creates come first, then alterations, then re-creates, then drops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The app's ClickHouse database.
    pub database: String,
    /// The ClickHouse server's version.
    pub server_version: String,
    /// The steps, in the order they are applied.
    pub steps: Vec<Step>,
}

impl Plan {
    /// Whether code and servers agree.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Steps that are not applied.
    pub fn blocked(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.blocked.is_some())
    }

    /// Steps that would be applied and delete or can alter stored data.
    pub fn destructive(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| s.blocked.is_none() && s.destructive.is_some())
    }

    /// Whether a person should look before this plan is applied: something is blocked or
    /// destructive (`plan` then exits non-zero).
    pub fn needs_attention(&self) -> bool {
        self.blocked().next().is_some() || self.destructive().next().is_some()
    }
}

/// A duration as people write it: `7d`, `12h`, `30m`, `45s`, `250ms`.
pub(crate) fn human(duration: Duration) -> String {
    let ms = duration.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::from_secs(7 * 86_400)), "7d");
        assert_eq!(human(Duration::from_secs(3 * 3600)), "3h");
        assert_eq!(human(Duration::from_secs(90)), "90s");
        assert_eq!(human(Duration::from_millis(1500)), "1500ms");
        assert_eq!(human(Duration::ZERO), "0ms");
    }
}
