//! Shared test support.
#![allow(dead_code)]

pub mod app;
pub mod clickhouse;
pub mod models;
pub mod tansu;
pub mod topic_changes;
