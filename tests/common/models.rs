//! Models shared by the schema tests: one with every mapped type, one with what 18.16 stores.

use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use moose::prelude::*;

/// How a user's account stands.
#[data_model]
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Status {
    Active,
    #[serde(rename = "on_hold")]
    OnHold,
    Closed = 10,
}

/// A postal address, stored as one Tuple column.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    pub city: String,
    pub zip: Option<u32>,
}

/// Every Rust type the framework maps, once.
#[data_model]
#[derive(Debug, Clone, PartialEq)]
pub struct EveryType {
    /// Primary identifier.
    #[key]
    pub id: u64,
    pub flag: bool,
    pub i8v: i8,
    pub i16v: i16,
    pub i32v: i32,
    pub i64v: i64,
    pub i128v: i128,
    pub u8v: u8,
    pub u16v: u16,
    pub u32v: u32,
    pub u128v: u128,
    pub f32v: f32,
    pub f64v: f64,
    #[moose(low_cardinality)]
    pub name: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[moose(precision = 6)]
    pub updated_at: time::OffsetDateTime,
    pub birthday: chrono::NaiveDate,
    pub anniversary: time::Date,
    pub uuid: uuid::Uuid,
    #[moose(decimal(18, 4))]
    pub price: rust_decimal::Decimal,
    pub maybe: Option<String>,
    pub tags: Vec<String>,
    pub attributes: HashMap<String, i64>,
    pub ordered: BTreeMap<String, f64>,
    pub payload: serde_json::Value,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    pub status: Status,
    pub address: Address,
    pub history: Vec<Address>,
    #[moose(default = "42")]
    pub with_default: i32,
    #[moose(codec = "ZSTD(3)")]
    pub compressed: String,
    #[moose(column_type = "LowCardinality(String)")]
    pub custom: String,
    #[serde(rename = "renamed_column")]
    pub original_name: String,
    #[serde(skip)]
    pub not_stored: u8,
}

/// Every type Debian's ClickHouse 18.16 can store (some through lossless fallbacks).
#[data_model]
#[derive(Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OldServerTypes {
    #[key]
    pub event_id: uuid::Uuid,
    pub flag: bool,
    pub small: i8,
    pub medium: i32,
    pub big: i64,
    pub unsigned: u64,
    pub ratio: f64,
    pub label: String,
    /// Seconds precision: 18.16 has no sub-second timestamps.
    #[moose(precision = 0)]
    pub happened_at: chrono::DateTime<chrono::Utc>,
    pub day: chrono::NaiveDate,
    #[moose(decimal(18, 4))]
    pub amount: rust_decimal::Decimal,
    #[moose(decimal(9, 2))]
    pub small_amount: rust_decimal::Decimal,
    pub note: Option<String>,
    pub scores: Vec<i32>,
    pub status: Status,
    pub address: Address,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    pub payload: serde_json::Value,
    #[moose(low_cardinality)]
    pub country: String,
}
