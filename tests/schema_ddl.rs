//! The DDL every model renders to, pinned for a modern server and for Debian's 18.16.

mod common;

use common::models::{EveryType, OldServerTypes};
use moose::DataModel;
use moose::schema::{
    ClickHouseCapabilities, Engine, OlapConfig, OrderBy, ResolvedTable, SchemaError,
};

fn old_server() -> ClickHouseCapabilities {
    ClickHouseCapabilities::for_version("18.16.1".parse().unwrap())
}

#[test]
fn every_type_on_a_modern_server() {
    let table = ResolvedTable::resolve::<EveryType>(
        "local",
        "every_type",
        &OlapConfig::default(),
        &ClickHouseCapabilities::MODERN,
    )
    .expect("a modern server stores every type");
    assert!(table.warnings.is_empty(), "{:?}", table.warnings);
    insta::assert_snapshot!(table.create_table_sql());
}

#[test]
fn old_server_types_on_18_16() {
    let table = ResolvedTable::resolve::<OldServerTypes>(
        "local",
        "old_types",
        &OlapConfig::default(),
        &old_server(),
    )
    .expect("18.16 stores these with fallbacks");
    let warnings: Vec<String> = table.warnings.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(format!(
        "{}\n\n-- warnings:\n{}",
        table.create_table_sql(),
        warnings.join("\n")
    ));
}

#[test]
fn every_type_is_refused_on_18_16_naming_column_feature_and_version() {
    let err = ResolvedTable::resolve::<EveryType>(
        "local",
        "every_type",
        &OlapConfig::default(),
        &old_server(),
    )
    .unwrap_err();
    assert!(matches!(err, SchemaError::Unsupported { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "table `every_type`, column `i128v`: the Int128 type needs ClickHouse 21.1.0 or newer, but the server is 18.16.1; upgrade the server or choose another type with #[moose(column_type = \"...\")]"
    );
}

#[test]
fn columns_follow_serde_names_docs_and_attributes() {
    let columns = EveryType::columns();
    let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"renamed_column"));
    assert!(!names.contains(&"original_name"));
    assert!(
        !names.contains(&"not_stored"),
        "serde(skip) fields are not columns"
    );
    assert_eq!(columns[0].comment.as_deref(), Some("Primary identifier."));
    assert_eq!(EveryType::key_columns(), vec!["id".to_string()]);
    let maybe = columns.iter().find(|c| c.name == "maybe").unwrap();
    assert!(maybe.nullable());
    let camel = OldServerTypes::columns();
    assert_eq!(camel[0].name, "eventId");
    assert_eq!(OldServerTypes::COLUMN_NAMES[8], "happenedAt");
}

#[test]
fn table_options_render_in_clickhouse_order() {
    let config = OlapConfig {
        engine: Engine::ReplacingMergeTree {
            version: Some("u64v".into()),
        },
        order_by: OrderBy::Fields(vec!["name".into(), "id".into()]),
        partition_by: Some("toYYYYMM(created_at)".into()),
        primary_key: Some("name".into()),
        ttl: Some("created_at + INTERVAL 30 DAY".into()),
        settings: vec![("index_granularity".into(), "8192".into())],
        cluster: Some("prod".into()),
        ..OlapConfig::default()
    };
    let err = ResolvedTable::resolve::<EveryType>(
        "db",
        "weird `name`",
        &config,
        &ClickHouseCapabilities::MODERN,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("names column `u64v`, which model `EveryType` does not have"),
        "{err}"
    );
    let config = OlapConfig {
        engine: Engine::ReplacingMergeTree {
            version: Some("u32v".into()),
        },
        ..config
    };
    let table = ResolvedTable::resolve::<EveryType>(
        "db",
        "weird `name`",
        &config,
        &ClickHouseCapabilities::MODERN,
    )
    .unwrap();
    let sql = table.create_table_sql();
    insta::assert_snapshot!(sql);
}

#[test]
fn ttl_is_refused_on_servers_without_it() {
    let config = OlapConfig {
        ttl: Some("happenedAt + INTERVAL 1 DAY".into()),
        ..OlapConfig::default()
    };
    let err =
        ResolvedTable::resolve::<OldServerTypes>("db", "t", &config, &old_server()).unwrap_err();
    assert!(
        err.to_string()
            .contains("TTL: TTL needs ClickHouse 19.6.0 or newer"),
        "{err}"
    );
}
