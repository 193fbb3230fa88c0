//! The resolved topology: every physical name the runtime and the tools use, computed once
//! from the graph, a namespace and a ClickHouse server's capabilities.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;

use chained_transforms::{FinalData, RawData};
use moose::ClickHouseCapabilities;
use moose::graph::{GraphError, TransformConfig};
use moose::prelude::*;
use moose_runtime::topology::{Topology, TopologyError};

fn resolve(app: &App, namespace: Option<&str>) -> Result<Topology, TopologyError> {
    Topology::resolve(
        &app.graph(),
        namespace,
        "analytics",
        &ClickHouseCapabilities::MODERN,
    )
}

#[test]
fn the_seed_pipeline_resolves_to_its_topics_tables_groups_and_route() {
    let topology = resolve(&chained_transforms::app(), None).unwrap();
    let topics: Vec<_> = topology
        .streams()
        .map(|(_, t)| t.spec.name.clone())
        .collect();
    assert_eq!(topics, ["raw_data", "intermediate_stream", "final_stream"]);
    let tables: Vec<_> = topology
        .resources
        .tables
        .iter()
        .map(|t| t.resolved.qualified_name())
        .collect();
    assert_eq!(tables, ["`analytics`.`final_stream`"]);
    let transforms: Vec<_> = topology
        .transforms
        .iter()
        .map(|t| (t.label.as_str(), t.group.as_str()))
        .collect();
    assert_eq!(
        transforms,
        [
            (
                "raw_data->intermediate_stream",
                "moose.transform.raw_data.intermediate_stream"
            ),
            (
                "intermediate_stream->final_stream",
                "moose.transform.intermediate_stream.final_stream"
            ),
        ]
    );
    let sync = &topology.syncs[0];
    assert_eq!(topology.stream(sync.stream).declared, "final_stream");
    assert_eq!(topology.table(sync.table).declared, "final_stream");
    assert_eq!(sync.group, "moose.sync.final_stream.final_stream");
    assert_eq!(topology.syncs.len(), 1, "raw_data has no table");
    let routes: Vec<_> = topology.routes.iter().map(|r| r.path()).collect();
    assert_eq!(routes, ["/ingest/raw_data"]);
    assert_eq!(topology.routes[0].topic, "raw_data");
}

#[test]
fn namespace_and_versions_reach_every_name_and_dead_letters_are_wired() {
    let app = App::new();
    let raw = app
        .ingest_pipeline::<RawData>(
            "raw_data",
            IngestPipelineConfig {
                version: Some("1.2".into()),
                dead_letter_queue: true,
                invalid_records: InvalidRecordPolicy::DeadLetter,
                ..IngestPipelineConfig::new().ingest(true).stream(true)
            },
        )
        .unwrap();
    let out = app
        .ingest_pipeline::<FinalData>(
            "final_stream",
            IngestPipelineConfig::new().stream(true).table(true),
        )
        .unwrap();
    raw.stream()
        .unwrap()
        .add_transform_with(
            out.stream().unwrap(),
            |_: RawData| None::<FinalData>,
            TransformConfig {
                version: Some("2".into()),
                dead_letter_queue: Some("raw_data_dead_letter".into()),
                ..Default::default()
            },
        )
        .unwrap();
    raw.stream().unwrap().add_consumer(|_: RawData| {}).unwrap();

    let topology = resolve(&app, Some("prod")).unwrap();
    let find = |name: &str| topology.stream_named(name).unwrap().spec.name.clone();
    assert_eq!(find("raw_data"), "prod.raw_data_1_2");
    assert_eq!(
        find("raw_data_dead_letter"),
        "prod.raw_data_dead_letter_1_2"
    );
    assert_eq!(find("final_stream"), "prod.final_stream");
    assert_eq!(
        topology
            .table_named("raw_data_dead_letter")
            .unwrap()
            .resolved
            .name,
        "prod_raw_data_dead_letter_1_2"
    );
    let route = &topology.routes[0];
    assert_eq!(route.path(), "/ingest/raw_data/1.2");
    assert_eq!(route.topic, "prod.raw_data_1_2");
    let dead = route
        .dead_letter
        .as_ref()
        .expect("invalid records dead-lettered");
    assert_eq!(dead.topic, "prod.raw_data_dead_letter_1_2");

    let transform = &topology.transforms[0];
    assert_eq!(transform.label, "raw_data->final_stream@2");
    assert_eq!(
        transform.group,
        "moose.transform.prod.raw_data_1_2.prod.final_stream.2"
    );
    let target = transform.dead_letter.as_ref().unwrap();
    assert_eq!(
        (target.name.as_str(), target.topic.as_str()),
        ("raw_data_dead_letter", "prod.raw_data_dead_letter_1_2")
    );
    assert_eq!(topology.consumers[0].label, "raw_data#0");
    assert_eq!(
        topology.consumers[0].group,
        "moose.consumer.prod.raw_data_1_2.0"
    );
    // The dead-letter stream has its table, synced like any other.
    let synced: Vec<_> = topology
        .syncs
        .iter()
        .map(|s| topology.stream(s.stream).declared.as_str())
        .collect();
    assert_eq!(synced, ["raw_data_dead_letter", "final_stream"]);
}

#[test]
fn a_dead_letter_queue_that_is_not_a_stream_of_dead_letters_is_refused() {
    let app = App::new();
    let raw = app
        .stream::<RawData>("raw_data", StreamConfig::default())
        .unwrap();
    let other = app
        .stream::<RawData>("other", StreamConfig::default())
        .unwrap();
    raw.add_transform_with(
        &other,
        |r: RawData| r,
        TransformConfig {
            version: None,
            dead_letter_queue: Some("other".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let error = resolve(&app, None).unwrap_err();
    assert!(
        matches!(&error, TopologyError::Graph(GraphError::DeadLetterModel { stream, .. }) if stream == "other"),
        "{error}"
    );
}

#[test]
fn a_destination_table_that_is_not_declared_is_refused_naming_both() {
    let app = App::new();
    app.stream::<RawData>("raw_data", StreamConfig::default().destination("nowhere"))
        .unwrap();
    let error = resolve(&app, None).unwrap_err().to_string();
    assert!(
        error.contains("`nowhere`") && error.contains("`raw_data`"),
        "{error}"
    );
}
