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
use moose::schema::PayloadFormat;

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
    assert_eq!(
        names(&d.streams, |s| s.name.clone()),
        ["high_throughput", "prod_stream", "dev_stream"],
        "the seed's streams"
    );
    let stream = |name: &str| d.streams.iter().find(|s| s.name == name).unwrap().clone();
    let fast = stream("high_throughput");
    assert_eq!((fast.parallelism, fast.retention_secs), (4, 86_400));
    assert_eq!(
        stream("prod_stream").life_cycle,
        LifeCycle::ExternallyManaged
    );
    assert_eq!(stream("dev_stream").life_cycle, LifeCycle::FullyManaged);
    assert_eq!(
        stream("dev_stream").retention_secs,
        7 * 24 * 3600,
        "default retention is 7 days"
    );
    assert!(
        d.tables.is_empty() && d.ingest_apis.is_empty(),
        "streams only"
    );
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
    a.add_transform_with(&b, chained_transforms::double, version("2"))
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

/// What `function` (as the workers run it) makes of `inputs`, on a one-thread runtime.
fn apply<Out: 'static>(
    function: &dyn moose::graph::ErasedFunction<Out>,
    inputs: &[&str],
) -> Vec<moose::graph::Outcome<Out>> {
    let inputs: Vec<&[u8]> = inputs.iter().map(|s| s.as_bytes()).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(function.apply_batch(&inputs, PayloadFormat::Json))
}

fn run_transform(
    app: &App,
    index: usize,
    inputs: &[&str],
) -> Vec<Result<Vec<serde_json::Value>, FailureKind>> {
    apply(
        app.graph().transforms[index]
            .function
            .single()
            .unwrap()
            .as_ref(),
        inputs,
    )
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

/// An app with two streams of `RawData`, `raw` and `out`.
fn raw_and_out() -> (App, Stream<RawData>, Stream<RawData>) {
    let app = App::new();
    let raw = app.stream("raw", StreamConfig::default()).unwrap();
    let out = app.stream("out", StreamConfig::default()).unwrap();
    (app, raw, out)
}

/// A transform's or consumer's options with `version`.
fn version(version: &str) -> TransformConfig {
    TransformConfig {
        version: Some(version.into()),
        ..Default::default()
    }
}

#[test]
fn transforms_map_filter_flat_map_fail_and_run_async() {
    let (app, raw, out) = raw_and_out();
    let keep_positive = |r: RawData| (r.value > 0.0).then_some(r);
    raw.add_transform(&out, keep_positive).unwrap();
    let twice = |r: RawData| vec![r.clone(), r];
    raw.add_transform_with(&out, twice, version("flat"))
        .unwrap();
    let checked = |r: RawData| {
        if r.value < 100.0 {
            Ok(r)
        } else {
            Err(format!("{} is too large", r.value))
        }
    };
    raw.add_transform_with(&out, checked, version("result"))
        .unwrap();
    async fn later(r: RawData) -> RawData {
        tokio::task::yield_now().await;
        RawData {
            value: r.value + 1.0,
            ..r
        }
    }
    raw.add_transform_with(&out, later, version("async"))
        .unwrap();
    let panics = |r: RawData| -> RawData {
        if r.value == 13.0 {
            panic!("unlucky")
        } else {
            r
        }
    };
    raw.add_transform_with(&out, panics, version("panic"))
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

    // stream_config
    let app = App::new();
    app.stream::<stream_config::RawData>(
        "high_throughput",
        StreamConfig::default()
            .parallelism(4)
            .retention_secs(86_400),
    )?;
    app.stream::<stream_config::RawData>(
        "prod_stream",
        StreamConfig::default().life_cycle(LifeCycle::ExternallyManaged),
    )?;
    app.stream::<stream_config::RawData>(
        "dev_stream",
        StreamConfig::default().life_cycle(LifeCycle::FullyManaged),
    )?;
    assert_eq!(app.describe(), stream_config::app().describe());
    Ok(())
}

/// What each record of `inputs` became in consumer `index`: `Ok`, or the failure's kind and
/// message.
fn run_consumer(
    app: &App,
    index: usize,
    inputs: &[&str],
) -> Vec<Result<(), (FailureKind, String)>> {
    apply(app.graph().consumers[index].function.as_ref(), inputs)
        .into_iter()
        .map(|o| o.map_err(|f| (f.kind, f.message)))
        .collect()
}

#[test]
fn a_consumer_that_fails_is_named_a_consumer() {
    let (app, raw, out) = raw_and_out();
    raw.add_consumer(|r: RawData| {
        if r.value == 13.0 {
            panic!("unlucky")
        }
    })
    .unwrap();
    raw.add_consumer_with(
        |r: RawData| {
            if r.value < 0.0 {
                Err(format!("{} is negative", r.value))
            } else {
                Ok(())
            }
        },
        version("checked"),
    )
    .unwrap();
    async fn later(r: RawData) {
        tokio::task::yield_now().await;
        assert!(r.value != 7.0, "seven");
    }
    raw.add_consumer_with(later, version("async")).unwrap();

    let outcomes = run_consumer(
        &app,
        0,
        &[r#"{"id":"a","value":13}"#, r#"{"id":"b","value":1}"#],
    );
    assert_eq!(
        outcomes[0],
        Err((FailureKind::Panic, "consumer panicked: unlucky".to_owned()))
    );
    assert_eq!(outcomes[1], Ok(()), "the consumer lives on after a panic");
    let outcomes = run_consumer(
        &app,
        1,
        &[r#"{"id":"a","value":-2}"#, r#"{"id":"b","value":"x"}"#],
    );
    assert_eq!(
        outcomes[0],
        Err((FailureKind::Error, "-2 is negative".to_owned()))
    );
    assert_eq!(outcomes[1].as_ref().unwrap_err().0, FailureKind::Decode);
    let outcomes = run_consumer(&app, 2, &[r#"{"id":"a","value":7}"#]);
    assert_eq!(
        outcomes[0],
        Err((FailureKind::Panic, "consumer panicked: seven".to_owned())),
        "a panic while an async consumer is polled is caught too"
    );

    // A transform's panic is still named a transform's.
    raw.add_transform(&out, |_: RawData| -> RawData { panic!("unlucky") })
        .unwrap();
    let outcome = apply(
        app.graph().transforms[0]
            .function
            .single()
            .unwrap()
            .as_ref(),
        &[r#"{"id":"a","value":1}"#],
    );
    assert_eq!(
        outcome[0].as_ref().unwrap_err().message,
        "transform panicked: unlucky"
    );
}

/// How many times another task ran while the first transform and the first consumer of
/// `app` each took a batch of 10k records, on a one-thread runtime.
fn other_task_runs_during_a_big_batch(app: &App) -> (usize, usize) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let graph = app.graph();
    let record = br#"{"id":"a","value":1}"#;
    let inputs: Vec<&[u8]> = vec![record.as_slice(); 10_000];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let runs = |batch: moose::graph::BoxFuture<'_, usize>| {
        let ticks = Arc::new(AtomicUsize::new(0));
        let ticker = runtime.spawn({
            let ticks = ticks.clone();
            async move {
                loop {
                    ticks.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
            }
        });
        let ticks_before = ticks.load(Ordering::Relaxed);
        assert_eq!(runtime.block_on(batch), 10_000);
        ticker.abort();
        ticks.load(Ordering::Relaxed) - ticks_before
    };
    let transform = graph.transforms[0].function.single().unwrap().clone();
    let consumer = graph.consumers[0].function.clone();
    (
        runs(Box::pin(async {
            transform
                .apply_batch(&inputs, PayloadFormat::Json)
                .await
                .len()
        })),
        runs(Box::pin(async {
            consumer
                .apply_batch(&inputs, PayloadFormat::Json)
                .await
                .len()
        })),
    )
}

#[test]
fn a_big_batch_lets_other_tasks_run() {
    let (app, raw, out) = raw_and_out();
    raw.add_transform(&out, |r: RawData| r).unwrap();
    raw.add_consumer(|_: RawData| ()).unwrap();
    let (during_transform, during_consumer) = other_task_runs_during_a_big_batch(&app);
    // Ingest requests share the runtime's threads with the workers: a batch that never
    // yields holds one for its whole length.
    let yields = 10_000 / moose::graph::RECORDS_PER_YIELD;
    assert!(during_transform >= yields, "{during_transform}");
    assert!(during_consumer >= yields, "{during_consumer}");
}

#[test]
fn an_ingest_pipeline_the_builder_refuses_leaves_nothing_behind() {
    let app = App::new();
    app.stream::<RawData>("taken_dead_letter", StreamConfig::default())
        .unwrap();
    let before = app.describe();
    let full = || {
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true)
            .dead_letter_queue(true)
    };
    // Each fails after the table (and for some, the stream) would have been declared.
    let zero = IngestPipelineConfig {
        stream_config: StreamConfig::default().parallelism(0),
        ..full()
    };
    let err = app.ingest_pipeline::<RawData>("zero", zero).unwrap_err();
    assert_eq!(
        err,
        GraphError::ZeroParallelism {
            stream: "zero".into()
        }
    );
    assert_eq!(app.describe(), before);

    // `<name>_dead_letter` is longer than 200 characters, `<name>` is not.
    let long = "l".repeat(195);
    let err = app.ingest_pipeline::<RawData>(&long, full()).unwrap_err();
    assert!(
        matches!(&err, GraphError::InvalidName { name, .. } if *name == format!("{long}_dead_letter")),
        "{err}"
    );
    assert_eq!(app.describe(), before);

    let err = app.ingest_pipeline::<RawData>("taken", full()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "`taken_dead_letter` is declared twice: as the dead-letter queue of ingest pipeline `taken` and as a stream or table declared before it; rename that one, or the pipeline"
    );
    assert_eq!(app.describe(), before);

    // Nothing left in the way: the same pipelines, fixed, go in whole.
    app.ingest_pipeline::<RawData>("zero", full()).unwrap();
    app.ingest_pipeline::<RawData>(&long[..180], full())
        .unwrap();
    let d = app.describe();
    assert_eq!(
        names(&d.streams, |s| s.name.clone())[..3],
        ["taken_dead_letter", "zero", "zero_dead_letter"]
    );
    assert_eq!(d.tables.len(), 4);
    assert_eq!(d.ingest_apis.len(), 2);
}

#[test]
fn pipeline_takes_a_keyword_as_a_raw_identifier() {
    let app = pipeline! {
        r#type: Stream<RawData>,
        r#match: IngestPipeline<RawData> { ingest: true, stream: true, table: true, order_by: [r#id] },
        r#type => transform(|r: RawData| r) => r#match,
    };
    let d = app.describe();
    assert_eq!(names(&d.streams, |s| s.name.clone()), ["type", "match"]);
    assert_eq!(d.tables[0].order_by, "id");
    assert_eq!(d.transforms[0].from, "type");
}

#[test]
fn a_step_the_builder_refuses_inside_pipeline_is_recorded_not_a_panic() {
    // `pipeline!` refuses while compiling what the builder would; were the two ever to
    // disagree, its expansion hands the builder's error here instead of panicking.
    let err = GraphError::ZeroParallelism { stream: "s".into() };
    let app = moose::__private::built(App::new(), Err(err.clone()));
    assert_eq!(app.graph().refused, Some(err));
    let app = moose::__private::built(App::new(), Ok(()));
    assert_eq!(app.graph().refused, None);
}
