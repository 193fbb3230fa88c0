//! The graphs the seed's examples declare, and the builder API's run-time errors.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;
#[allow(dead_code)]
#[path = "../examples/ingest_pipeline.rs"]
mod ingest_pipeline;
#[allow(dead_code)]
#[path = "../examples/single_transform.rs"]
mod single_transform;
#[allow(dead_code)]
#[path = "../examples/stream_config.rs"]
mod stream_config;

use moose::graph::{FailureKind, GraphError, StreamConfig, TransformConfig};
use moose::prelude::*;

fn names<T>(items: &[T], f: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(f).collect()
}

#[test]
fn chained_transforms_graph() {
    let d = chained_transforms::app().describe();
    assert_eq!(
        names(&d.streams, |s| s.name.clone()),
        ["raw_data", "intermediate_stream", "final_stream"]
    );
    assert_eq!(
        names(&d.streams, |s| s.model.clone()),
        ["RawData", "IntermediateData", "FinalData"]
    );
    assert_eq!(
        names(&d.ingest_apis, |a| a.path.clone()),
        ["/ingest/raw_data"]
    );
    assert_eq!(names(&d.tables, |t| t.table.clone()), ["final_stream"]);
    assert_eq!(
        d.tables[0].columns,
        [
            "id",
            "transformedValue",
            "anotherTransformedValue",
            "transformedAt"
        ],
        "the seed's column names"
    );
    assert_eq!(d.streams[2].destination.as_deref(), Some("final_stream"));
    assert_eq!(d.streams[0].destination, None, "raw_data has table: false");
    assert_eq!(
        names(&d.transforms, |t| format!("{} -> {}", t.from, t.to)),
        [
            "raw_data -> intermediate_stream",
            "intermediate_stream -> final_stream"
        ]
    );
}

#[test]
fn ingest_pipeline_graph() {
    let d = ingest_pipeline::app().describe();
    assert_eq!(names(&d.streams, |s| s.name.clone()), ["raw_data"]);
    assert_eq!(names(&d.tables, |t| t.name.clone()), ["raw_data"]);
    assert_eq!(names(&d.ingest_apis, |a| a.stream.clone()), ["raw_data"]);
    assert!(d.transforms.is_empty());
}

#[test]
fn single_transform_graph() {
    let d = single_transform::app().describe();
    assert_eq!(
        names(&d.transforms, |t| format!("{} -> {}", t.from, t.to)),
        ["raw_data -> transformed_data"]
    );
    assert_eq!(names(&d.tables, |t| t.name.clone()), ["transformed_data"]);
}

#[test]
fn stream_config_graph() {
    let d = stream_config::app().describe();
    let stream = |name: &str| d.streams.iter().find(|s| s.name == name).unwrap().clone();
    let fast = stream("high_throughput");
    assert_eq!((fast.parallelism, fast.retention_secs), (4, 86_400));
    assert_eq!(fast.destination.as_deref(), Some("events_table"));
    assert_eq!(stream("protected").life_cycle, LifeCycle::DeletionProtected);
    assert_eq!(stream("external").life_cycle, LifeCycle::ExternallyManaged);
    let managed = stream("managed");
    assert_eq!(
        (managed.life_cycle, managed.topic.as_str()),
        (LifeCycle::FullyManaged, "managed_1_1")
    );
    assert_eq!(
        stream("external").retention_secs,
        7 * 24 * 3600,
        "default retention is 7 days"
    );
    let protected_table = d.tables.iter().find(|t| t.name == "protected").unwrap();
    assert_eq!(protected_table.life_cycle, LifeCycle::DeletionProtected);
}

use chained_transforms::{FinalData, IntermediateData, RawData};

#[test]
fn builder_mistakes_are_typed_errors_not_panics() {
    let app = App::new();
    let a = app.stream::<RawData>("a", StreamConfig::default()).unwrap();
    let name = String::from("a");
    assert_eq!(
        app.stream::<RawData>(&name, StreamConfig::default())
            .unwrap_err(),
        GraphError::DuplicateName {
            kind: "stream",
            name: "a".into()
        }
    );
    assert!(matches!(
        app.stream::<RawData>("bad-name", StreamConfig::default()),
        Err(GraphError::InvalidName { .. })
    ));
    assert_eq!(
        app.stream::<RawData>("zero", StreamConfig::default().parallelism(0))
            .unwrap_err(),
        GraphError::ZeroParallelism {
            stream: "zero".into()
        }
    );
    let err = app
        .ingest_pipeline::<RawData>("p", IngestPipelineConfig::new().ingest(true))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ingest pipeline `p` has `ingest: true` but no stream: ingested records are written to a stream first; set `stream: true`"
    );
    let err = app
        .table::<RawData>("t", OlapConfig::default().order_by_fields(["nope"]))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "table `t`: order_by names `nope`, which model `RawData` does not have; its columns are: id, value"
    );

    let b = app
        .stream::<IntermediateData>("b", StreamConfig::default())
        .unwrap();
    let c = app
        .stream::<FinalData>("c", StreamConfig::default())
        .unwrap();
    a.add_transform(&b, chained_transforms::double).unwrap();
    let again = a.add_transform(&b, chained_transforms::double).unwrap_err();
    assert!(
        matches!(again, GraphError::DuplicateTransform { .. }),
        "{again}"
    );
    a.add_transform_with(
        &b,
        chained_transforms::double,
        TransformConfig {
            version: Some("2".into()),
            ..Default::default()
        },
    )
    .expect("a distinct version is allowed");
    b.add_transform(&c, chained_transforms::triple).unwrap();
    // c -> a would close a cycle a -> b -> c -> a.
    let back = c.add_transform(&a, |f: FinalData| RawData {
        id: f.id,
        value: f.transformed_value,
    });
    assert!(matches!(back, Err(GraphError::Cycle { .. })), "{back:?}");
    let other = App::new();
    let foreign = other
        .stream::<IntermediateData>("b", StreamConfig::default())
        .unwrap();
    assert!(matches!(
        a.add_transform(&foreign, chained_transforms::double),
        Err(GraphError::ForeignHandle { .. })
    ));
    assert_eq!(app.describe().transforms.len(), 3);
}

fn run_transform(
    app: &App,
    index: usize,
    inputs: &[&str],
) -> Vec<Result<Vec<serde_json::Value>, FailureKind>> {
    let graph = app.graph();
    let inputs: Vec<&[u8]> = inputs.iter().map(|s| s.as_bytes()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let outcomes = runtime.block_on(graph.transforms[index].function.apply_batch(&inputs));
    outcomes
        .into_iter()
        .map(|o| {
            o.map(|records| {
                records
                    .iter()
                    .map(|r| serde_json::from_slice(&r.payload).unwrap())
                    .collect()
            })
            .map_err(|f| f.kind)
        })
        .collect()
}

#[test]
fn transforms_map_filter_flat_map_fail_and_run_async() {
    let app = App::new();
    let raw = app
        .stream::<RawData>("raw", StreamConfig::default())
        .unwrap();
    let out = app
        .stream::<RawData>("out", StreamConfig::default())
        .unwrap();
    let keep_positive = |r: RawData| (r.value > 0.0).then_some(r);
    raw.add_transform(&out, keep_positive).unwrap();
    let twice = |r: RawData| vec![r.clone(), r];
    raw.add_transform_with(
        &out,
        twice,
        TransformConfig {
            version: Some("flat".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let checked = |r: RawData| {
        if r.value < 100.0 {
            Ok(r)
        } else {
            Err(format!("{} is too large", r.value))
        }
    };
    raw.add_transform_with(
        &out,
        checked,
        TransformConfig {
            version: Some("result".into()),
            ..Default::default()
        },
    )
    .unwrap();
    async fn later(r: RawData) -> RawData {
        tokio::task::yield_now().await;
        RawData {
            value: r.value + 1.0,
            ..r
        }
    }
    raw.add_transform_with(
        &out,
        later,
        TransformConfig {
            version: Some("async".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let panics = |r: RawData| -> RawData {
        if r.value == 13.0 {
            panic!("unlucky")
        } else {
            r
        }
    };
    raw.add_transform_with(
        &out,
        panics,
        TransformConfig {
            version: Some("panic".into()),
            ..Default::default()
        },
    )
    .unwrap();

    let inputs = [
        r#"{"id":"a","value":1}"#,
        r#"{"id":"b","value":-1}"#,
        r#"{"id":"c","value":"x"}"#,
    ];
    let filtered = run_transform(&app, 0, &inputs);
    assert_eq!(filtered[0].as_ref().unwrap().len(), 1);
    assert_eq!(
        filtered[1].as_ref().unwrap().len(),
        0,
        "None filters the record out"
    );
    assert_eq!(filtered[2], Err(FailureKind::Decode));
    assert_eq!(
        run_transform(&app, 1, &inputs[..1])[0]
            .as_ref()
            .unwrap()
            .len(),
        2
    );
    let result = run_transform(
        &app,
        2,
        &[r#"{"id":"a","value":1}"#, r#"{"id":"b","value":500}"#],
    );
    assert!(result[0].is_ok());
    assert_eq!(result[1], Err(FailureKind::Error));
    let asynced = run_transform(&app, 3, &[r#"{"id":"a","value":1}"#]);
    assert_eq!(asynced[0].as_ref().unwrap()[0]["value"], 2.0);
    let panicked = run_transform(
        &app,
        4,
        &[r#"{"id":"a","value":13}"#, r#"{"id":"b","value":1}"#],
    );
    assert_eq!(panicked[0], Err(FailureKind::Panic));
    assert!(panicked[1].is_ok(), "the worker lives on after a panic");
}

/// Each seed example written once more with the builder API: the same graph as `pipeline!`.
#[test]
fn builder_api_builds_the_same_graphs_as_the_macro() -> Result<(), GraphError> {
    // chained_transforms
    let app = App::new();
    let raw = app.ingest_pipeline::<RawData>(
        "raw_data",
        IngestPipelineConfig::new().ingest(true).stream(true),
    )?;
    let intermediate =
        app.stream::<IntermediateData>("intermediate_stream", StreamConfig::default())?;
    let fin = app.ingest_pipeline::<FinalData>(
        "final_stream",
        IngestPipelineConfig::new().stream(true).table(true),
    )?;
    raw.stream()?
        .add_transform(&intermediate, chained_transforms::double)?;
    intermediate.add_transform(fin.stream()?, chained_transforms::triple)?;
    assert_eq!(app.describe(), chained_transforms::app().describe());

    // ingest_pipeline
    let app = App::new();
    app.ingest_pipeline::<ingest_pipeline::RawData>(
        "raw_data",
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true),
    )?;
    assert_eq!(app.describe(), ingest_pipeline::app().describe());

    // single_transform
    let app = App::new();
    let raw = app.ingest_pipeline::<single_transform::RawData>(
        "raw_data",
        IngestPipelineConfig::new().ingest(true).stream(true),
    )?;
    let out = app.ingest_pipeline::<single_transform::TransformedData>(
        "transformed_data",
        IngestPipelineConfig::new().stream(true).table(true),
    )?;
    raw.stream()?
        .add_transform(out.stream()?, single_transform::transform)?;
    assert_eq!(app.describe(), single_transform::app().describe());
    Ok(())
}
