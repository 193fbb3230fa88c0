//! The plan as people read it: one line per change with its sign, then what runs.
//!
//! ```text
//! ~ table `events`: add column `note` Nullable(String)
//!       ALTER TABLE `local`.`events` ADD COLUMN `note` Nullable(String) AFTER `value`
//! ! table `audit` (DeletionProtected): drop column `legacy` String
//!       blocked by DeletionProtected (the column's values are deleted); ...
//! ```

use std::fmt;

use super::step::{Action, Plan, Step, human};
use crate::graph::LifeCycle;

/// Indentation of what runs under each change.
const DETAIL: &str = "      ";

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Plan for ClickHouse database `{}` (server {}) and the app's topics",
            self.database, self.server_version
        )?;
        writeln!(f, "(+ create, ~ change, - drop, ! blocked: not applied)")?;
        writeln!(f)?;
        if self.steps.is_empty() {
            return writeln!(f, "No changes: tables and topics match the code.");
        }
        for step in &self.steps {
            write_step(f, step)?;
        }
        let blocked = self.blocked().count();
        let destructive = self.destructive().count();
        let applied = self.steps.len() - blocked;
        writeln!(f)?;
        write!(
            f,
            "{applied} change{} to apply",
            if applied == 1 { "" } else { "s" }
        )?;
        if destructive > 0 {
            write!(
                f,
                ", {destructive} of them destructive (`start` applies those only with --allow-destructive)"
            )?;
        }
        if blocked > 0 {
            write!(f, "; {blocked} blocked")?;
        }
        writeln!(f, ".")
    }
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step) -> fmt::Result {
    let life_cycle = match step.life_cycle {
        LifeCycle::FullyManaged => "",
        LifeCycle::DeletionProtected => " (DeletionProtected)",
        LifeCycle::ExternallyManaged => " (ExternallyManaged)",
    };
    writeln!(
        f,
        "{} {} `{}`{life_cycle}: {}",
        step.sign(),
        step.resource.as_str(),
        step.name,
        step.change
    )?;
    if let Some(why) = &step.blocked {
        return writeln!(f, "{DETAIL}{why}");
    }
    if let Some(why) = &step.destructive {
        writeln!(f, "{DETAIL}destructive: {why}")?;
    }
    match &step.action {
        Action::Sql { statements } => {
            for statement in statements {
                for line in statement.lines() {
                    writeln!(f, "{DETAIL}{line}")?;
                }
            }
            Ok(())
        }
        Action::CreateTopic {
            partitions,
            retention_ms,
        } => writeln!(
            f,
            "{DETAIL}create topic: partitions={partitions} retention.ms={retention_ms}"
        ),
        Action::AlterTopic {
            partitions,
            retention_ms,
        } => {
            if let Some(ms) = retention_ms {
                writeln!(
                    f,
                    "{DETAIL}set retention.ms={ms} ({})",
                    human(std::time::Duration::from_millis(*ms))
                )?;
            }
            if let Some(p) = partitions {
                writeln!(
                    f,
                    "{DETAIL}add partitions up to {p} (new records with a key may land in a new partition)"
                )?;
            }
            Ok(())
        }
        Action::DeleteTopic => writeln!(f, "{DETAIL}delete topic"),
        Action::None => Ok(()),
    }
}
