use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};

use moose::prelude::*;

#[data_model]
pub struct Everything {
    #[key]
    pub id: u64,
    pub flag: bool,
    pub small: i8,
    pub wide: i128,
    pub ratio: f32,
    #[moose(low_cardinality)]
    pub country: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[moose(precision = 6)]
    pub updated_at: time::OffsetDateTime,
    pub day: chrono::NaiveDate,
    pub uuid: uuid::Uuid,
    #[moose(decimal(18, 4))]
    pub price: rust_decimal::Decimal,
    pub note: Option<String>,
    pub maybe_price: Option<i64>,
    pub tags: Vec<String>,
    pub counters: HashMap<String, i64>,
    pub ordered: BTreeMap<String, f64>,
    pub payload: serde_json::Value,
    pub ipv4: Ipv4Addr,
    pub ipv6: Ipv6Addr,
    #[moose(default = "42", codec = "ZSTD(3)")]
    pub with_default: i32,
    #[moose(column_type = "LowCardinality(String)")]
    pub custom: String,
    #[serde(rename = "renamed")]
    pub original: String,
    #[serde(skip)]
    pub not_stored: u8,
}

fn main() {
    let columns = Everything::columns();
    assert_eq!(columns.len(), 22);
    assert_eq!(columns[0].name, "id");
    assert!(columns[0].key);
    assert_eq!(columns[5].ty.to_string(), "LowCardinality(String)");
    assert_eq!(columns[10].ty.to_string(), "Decimal(18, 4)");
    assert!(columns[11].nullable());
    assert_eq!(columns[21].name, "renamed");
    assert_eq!(Everything::key_columns(), vec!["id".to_owned()]);
}
