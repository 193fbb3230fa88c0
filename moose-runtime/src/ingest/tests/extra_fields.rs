//! `#[data_model(extra_fields = ...)]` at ingest: every unknown field named (deny), unknown
//! fields kept and written back (capture), dropped (ignore).

use std::collections::BTreeMap;

use moose_macros::data_model;
use serde_json::{Value, json};

use crate::graph::ModelCodec;
use crate::ingest::{BodyFormat, IngestError, decode_body, decode_body_sorted};
use crate::schema::{ColumnType, DataModel, ExtraFields, PayloadFormat};

#[data_model(crate = "crate", extra_fields = "deny")]
struct Shade {
    name: String,
}

#[data_model(crate = "crate", extra_fields = "deny")]
struct Paint {
    id: String,
    #[serde(alias = "tone")]
    shade: Shade,
    layers: Vec<Shade>,
}

#[data_model(crate = "crate", extra_fields = "capture")]
struct Loose {
    id: String,
    count: u32,
    #[extra_fields]
    extra: serde_json::Map<String, Value>,
}

#[data_model(crate = "crate")]
struct Lenient {
    id: String,
}

#[data_model(crate = "crate", extra_fields = "capture")]
struct InTree {
    id: String,
    #[extra_fields]
    rest: BTreeMap<String, Value>,
}

fn listed(error: IngestError) -> Vec<(usize, String, String)> {
    let IngestError::InvalidRecords(invalid) = error else {
        panic!("not InvalidRecords: {error}");
    };
    invalid
        .records
        .into_iter()
        .map(|r| (r.index, r.path, r.message))
        .collect()
}

#[test]
fn deny_names_every_unknown_field_at_every_depth() {
    let body = br#"[
        {"id":"a","shade":{"name":"s"},"layers":[]},
        {"id":"b","colour":"red","shade":{"name":"s"},"layers":[{"name":"x","gloss":1}],"finish":"matte"},
        {"id":"c","tone":{"name":"t","hue":3},"layers":[]},
        {"id":7,"shade":{"name":"s"},"layers":[],"smell":"none"}
    ]"#;
    let error = decode_body(
        body,
        BodyFormat::Json,
        &ModelCodec::of::<Paint>(),
        PayloadFormat::Json,
    )
    .unwrap_err();
    let listed = listed(error);
    let paths: Vec<(usize, &str)> = listed.iter().map(|(i, p, _)| (*i, p.as_str())).collect();
    assert_eq!(
        paths,
        [
            (1, ".colour"),
            (1, ".finish"),
            (1, ".layers[0].gloss"),
            (2, ".tone.hue"),
            // A type error is listed as well as the unknown field after it.
            (3, ".id"),
            (3, ".smell"),
        ]
    );
    assert_eq!(
        listed[0].2,
        "unknown field `colour`: `Paint` takes only its own fields (`id`, `shade`, `tone`, `layers`) and refuses others (extra_fields = \"deny\"); remove the field or add it to the model"
    );
    assert!(
        listed[2]
            .2
            .contains("`Shade` takes only its own fields (`name`)"),
        "{}",
        listed[2].2
    );
    assert_eq!(Paint::EXTRA_FIELDS, ExtraFields::Deny);
}

#[test]
fn deny_dead_letters_one_record_naming_every_field() {
    let sorted = decode_body_sorted(
        br#"{"id":"b","colour":"red","shade":{"name":"s"},"layers":[],"finish":"matte"}"#,
        BodyFormat::Json,
        &ModelCodec::of::<Paint>(),
        PayloadFormat::Json,
    )
    .unwrap();
    assert!(sorted.valid.is_empty());
    let [invalid] = sorted.invalid.as_slice() else {
        panic!("one invalid record: {:?}", sorted.invalid);
    };
    assert_eq!(invalid.error.path, ".colour");
    assert!(
        invalid
            .error
            .message
            .contains("; and at `.finish`: unknown field `finish`"),
        "{}",
        invalid.error.message
    );
}

#[test]
fn capture_keeps_unknown_fields_and_writes_them_back_at_the_top() {
    let records = decode_body(
        br#"{"id":"a","count":2,"colour":"red","size":{"w":1},"n":null}"#,
        BodyFormat::Json,
        &ModelCodec::of::<Loose>(),
        PayloadFormat::Json,
    )
    .unwrap();
    let payload: Value = serde_json::from_slice(&records[0].payload).unwrap();
    assert_eq!(
        payload,
        json!({"id":"a","count":2,"colour":"red","size":{"w":1},"n":null})
    );
    let loose: Loose = serde_json::from_value(payload).unwrap();
    assert_eq!(
        Value::Object(loose.extra.clone()),
        json!({"colour":"red","size":{"w":1},"n":null})
    );
    assert_eq!(
        Loose::EXTRA_FIELDS,
        ExtraFields::Capture { column: "extra" }
    );
    // The column: JSON, sent as the object's text.
    let columns = Loose::columns();
    assert_eq!(columns[2].name, "extra");
    assert_eq!(columns[2].ty, ColumnType::Json);
    let mut row = Vec::new();
    loose
        .write_row(
            &[ColumnType::String, ColumnType::UInt32, ColumnType::String],
            &mut row,
        )
        .unwrap();
    let text = br#"{"colour":"red","n":null,"size":{"w":1}}"#;
    assert!(
        row.ends_with(text) && row[row.len() - text.len() - 1] as usize == text.len(),
        "{}",
        String::from_utf8_lossy(&row)
    );
    // Typed fields still fail as usual.
    let error = decode_body(
        br#"{"id":"a","count":-1,"x":1}"#,
        BodyFormat::Json,
        &ModelCodec::of::<Loose>(),
        PayloadFormat::Json,
    )
    .unwrap_err();
    let listed = listed(error);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1, ".count");
}

#[test]
fn a_captured_field_named_like_a_column_is_not_written_twice() {
    let mut record = InTree {
        id: "typed".into(),
        rest: BTreeMap::new(),
    };
    record.rest.insert("id".into(), json!("captured"));
    record.rest.insert("rest".into(), json!(1));
    let json = serde_json::to_value(&record).unwrap();
    assert_eq!(json, json!({"id":"typed","rest":1}));
}

#[test]
fn ignore_drops_unknown_fields() {
    let records = decode_body(
        br#"{"id":"a","colour":"red"}"#,
        BodyFormat::Json,
        &ModelCodec::of::<Lenient>(),
        PayloadFormat::Json,
    )
    .unwrap();
    assert_eq!(records[0].payload.as_slice(), br#"{"id":"a"}"#);
    assert_eq!(Lenient::EXTRA_FIELDS, ExtraFields::Ignore);
}
