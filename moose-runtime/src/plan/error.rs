//! What can go wrong while planning or applying.

use std::fmt;

use super::step::{ResourceKind, Step};
use crate::clickhouse::ClickHouseError;
use crate::schema::SchemaError;
use crate::stream::StreamError;

/// Something that keeps a table or topic from holding what the code writes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Mismatch {
    /// Table or topic.
    pub resource: ResourceKind,
    /// Physical name.
    pub name: String,
    /// What is wrong: ``column `x` (Float64) is missing``.
    pub problem: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}`: {}",
            self.resource.as_str(),
            self.name,
            self.problem
        )
    }
}

/// A step that was not applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The step.
    pub step: Step,
    /// Why: its lifecycle blocks it, or it is destructive and the policy holds those back.
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} `{}`: {}: {}",
            self.step.resource.as_str(),
            self.step.name,
            self.step.change,
            self.reason
        )
    }
}

/// Why planning or applying failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// Reading or changing ClickHouse failed.
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    /// Reading or changing topics failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// A declared table cannot exist on this server.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A step failed; the steps before it were applied.
    #[error("applying the plan failed at {step}: {source}")]
    Step {
        /// The step, in words.
        step: String,
        /// What went wrong.
        source: Box<PlanError>,
    },
    /// Tables or topics cannot hold what the code writes, and moose may not (or did not)
    /// change them.
    #[error("{}", incompatible(mismatches, skipped))]
    Incompatible {
        /// Every problem.
        mismatches: Vec<Mismatch>,
        /// Steps that were not applied and could have fixed some of them.
        skipped: Vec<Skipped>,
    },
}

fn incompatible(mismatches: &[Mismatch], skipped: &[Skipped]) -> String {
    use std::fmt::Write as _;
    let mut out = format!(
        "refusing to run: {} keep{} tables or topics from holding what the code writes:",
        match mismatches.len() {
            1 => "1 problem".to_owned(),
            n => format!("{n} problems"),
        },
        if mismatches.len() == 1 { "s" } else { "" }
    );
    for mismatch in mismatches {
        let _ = write!(out, "\n  - {mismatch}");
    }
    if !skipped.is_empty() {
        out.push_str("\nChanges not applied:");
        for step in skipped {
            let _ = write!(out, "\n  - {step}");
        }
    }
    out.push_str("\nRun the app's `plan` command to see every change.");
    out
}
