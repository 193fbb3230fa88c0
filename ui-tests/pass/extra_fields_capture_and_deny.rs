//! `extra_fields`: a capturing model keeps unknown fields and writes them back; a denying one
//! refuses them; `serde_json::Map`, `BTreeMap` and `HashMap` of JSON values all capture.

use std::collections::{BTreeMap, HashMap};

use moose::DataModel;
use moose::prelude::*;

#[data_model(extra_fields = "capture")]
pub struct Loose {
    #[key]
    pub id: String,
    #[extra_fields]
    #[serde(rename = "extras")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[data_model(extra_fields = "capture")]
pub struct InTree {
    pub id: String,
    #[extra_fields]
    pub rest: BTreeMap<String, serde_json::Value>,
}

#[data_model(extra_fields = "capture")]
pub struct InHash {
    pub id: String,
    #[extra_fields]
    pub rest: HashMap<String, serde_json::Value>,
}

#[data_model(extra_fields = "deny")]
pub struct Strict {
    pub id: String,
}

#[data_model(extra_fields = "ignore")]
pub struct Lenient {
    pub id: String,
}

fn main() {
    let loose: Loose = serde_json::from_str(r#"{"id":"a","colour":"red"}"#).unwrap();
    assert_eq!(loose.extra["colour"], "red");
    assert_eq!(
        serde_json::to_string(&loose).unwrap(),
        r#"{"id":"a","colour":"red"}"#
    );
    assert_eq!(Loose::COLUMN_NAMES, ["id", "extras"]);
    let tree: InTree = serde_json::from_str(r#"{"id":"a","n":1}"#).unwrap();
    assert_eq!(tree.rest["n"], 1);
    let hash: InHash = serde_json::from_str(r#"{"id":"a","n":1}"#).unwrap();
    assert_eq!(hash.rest["n"], 1);
    assert!(serde_json::from_str::<Strict>(r#"{"id":"a","n":1}"#).is_err());
    assert!(serde_json::from_str::<Lenient>(r#"{"id":"a","n":1}"#).is_ok());
}
