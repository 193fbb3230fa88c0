//! Shared test support.
#![allow(dead_code)]

pub mod app;
pub mod clickhouse;
pub mod cluster;
pub mod kafka;
pub mod ledger;
pub mod models;
pub mod topic_changes;
