//! Physical names: topics, tables and consumer groups, from declared names, namespace and
//! version. One place, so every backend and tool agrees.

use crate::graph::versioned_name;

/// Topic of a stream: `[<namespace>.]<name>[_<version>]`.
pub fn topic_name(namespace: Option<&str>, name: &str, version: Option<&str>) -> String {
    let base = versioned_name(name, version);
    match namespace {
        Some(ns) => format!("{ns}.{base}"),
        None => base,
    }
}

/// Table of a declared table whose versioned name is `versioned`: `[<namespace>_]<versioned>`.
pub fn table_name(namespace: Option<&str>, versioned: &str) -> String {
    match namespace {
        Some(ns) => format!("{ns}_{versioned}"),
        None => versioned.to_owned(),
    }
}

/// URL path of an ingest API: `/ingest/<name>[/<version>]`.
pub fn ingest_path(name: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("/ingest/{name}/{v}"),
        None => format!("/ingest/{name}"),
    }
}

/// Consumer group of a transform: `moose.transform.<from-topic>.<to-topic>[.<version>]`; a
/// multi-transform's `<to-topic>` is its destinations' topics joined by `+` (`a+b`).
pub fn transform_group(from_topic: &str, to_topic: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("moose.transform.{from_topic}.{to_topic}.{v}"),
        None => format!("moose.transform.{from_topic}.{to_topic}"),
    }
}

/// Consumer group of a table sync: `moose.sync.<topic>.<table>`.
pub fn sync_group(topic: &str, table: &str) -> String {
    format!("moose.sync.{topic}.{table}")
}

/// Consumer group of a consumer function: `moose.consumer.<topic>[.<version>]`.
pub fn consumer_group(topic: &str, version: Option<&str>, index: usize) -> String {
    match version {
        Some(v) => format!("moose.consumer.{topic}.{v}"),
        None => format!("moose.consumer.{topic}.{index}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_patterns() {
        assert_eq!(topic_name(None, "raw_data", None), "raw_data");
        assert_eq!(
            topic_name(Some("prod"), "raw_data", Some("1.2")),
            "prod.raw_data_1_2"
        );
        assert_eq!(
            table_name(Some("prod"), "final_stream"),
            "prod_final_stream"
        );
        assert_eq!(transform_group("a", "b", None), "moose.transform.a.b");
        assert_eq!(sync_group("a", "t"), "moose.sync.a.t");
        assert_eq!(ingest_path("raw_data", Some("1.2")), "/ingest/raw_data/1.2");
    }
}
