//! Shared test support.
#![allow(dead_code)]

pub mod clickhouse;
pub mod models;
