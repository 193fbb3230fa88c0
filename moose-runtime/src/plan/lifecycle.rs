//! The lifecycle filter: which steps a resource's [`LifeCycle`] lets moose apply.
//!
//! | lifecycle | applied | blocked |
//! |---|---|---|
//! | `FullyManaged` | everything | nothing |
//! | `DeletionProtected` | creates and changes that keep every value: new columns, wider types, comments, defaults, settings, longer retention, more partitions | every destructive step: drops of tables, topics and columns, narrowing type changes, re-creates, shorter retention |
//! | `ExternallyManaged` | nothing | everything; the plan only reports what keeps the resource from holding the model |
//!
//! Removing partitions is blocked whatever the lifecycle: no backend can do it without
//! losing records.

use super::step::Step;
use crate::graph::LifeCycle;

/// Blocks `step` when its lifecycle forbids it.
pub(crate) fn gate(step: &mut Step) {
    if step.blocked.is_some() {
        return;
    }
    match step.life_cycle {
        LifeCycle::FullyManaged => {}
        LifeCycle::DeletionProtected => {
            if let Some(why) = &step.destructive {
                step.blocked = Some(format!(
                    "blocked by DeletionProtected ({why}); make this change by hand, or make \
                     the {} FullyManaged",
                    step.resource.as_str()
                ));
            }
        }
        LifeCycle::ExternallyManaged => {
            step.blocked = Some(format!(
                "ExternallyManaged: moose never changes this {}",
                step.resource.as_str()
            ));
        }
    }
}
