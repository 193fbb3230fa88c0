//! moose on a real ClickHouse cluster: ZooKeeper and four ClickHouse 18.16 servers (2 shards x
//! 2 replicas) on loopback, started by `scripts/clickhouse-cluster.sh`. The seed's chained
//! pipeline runs into a `final_stream` table declared on the cluster (a replicated table per
//! shard behind a `Distributed` table); every record is asserted by key on every replica, and
//! `plan` is asked on every node.

#[allow(dead_code)]
#[path = "../examples/chained_transforms.rs"]
mod chained_transforms;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::app::{ChildApp, child_main, free_addr, is_child, post_json, test_config};
use common::cluster::TestCluster;
use moose::prelude::*;
use moose::{Mode, Runtime};
use moose_runtime::clickhouse::ClickHouse;
use moose_runtime::plan::{self, ApplyPolicy};
use moose_runtime::schema::ResolvedTable;
use moose_runtime::stream::local::LocalLog;
use moose_runtime::topology::Topology;
use serde_json::{Value, json};

/// Deadlock guard for loops that wait for something to happen; never reached when it works.
const GUARD: Duration = Duration::from_secs(120);

/// The replicas of each shard, by node number.
const SHARDS: [[usize; 2]; 2] = [[1, 2], [3, 4]];

/// The chained example through the builder API, `final_stream`'s table on `cluster`.
fn chained_app(cluster: &str) -> App {
    use chained_transforms::{FinalData, IntermediateData, RawData, double, triple};
    let app = App::new();
    let raw = app
        .ingest_pipeline::<RawData>(
            "raw_data",
            IngestPipelineConfig::new().ingest(true).stream(true),
        )
        .unwrap();
    let intermediate = app
        .stream::<IntermediateData>("intermediate_stream", StreamConfig::default())
        .unwrap();
    let mut config = IngestPipelineConfig::new().stream(true).table(true);
    config.table_config = config.table_config.cluster(cluster);
    let fin = app
        .ingest_pipeline::<FinalData>("final_stream", config)
        .unwrap();
    raw.stream()
        .unwrap()
        .add_transform(&intermediate, double)
        .unwrap();
    intermediate
        .add_transform(fin.stream().unwrap(), triple)
        .unwrap();
    app
}

/// The final model changed: `transformedValue` narrowed to Float32, `anotherTransformedValue`
/// dropped, `note` added.
#[data_model]
#[serde(rename_all = "camelCase")]
#[derive(Debug, Clone, PartialEq)]
pub struct FinalV2 {
    #[key]
    pub id: String,
    pub transformed_value: f32,
    pub transformed_at: moose::chrono::DateTime<moose::chrono::Utc>,
    pub note: Option<String>,
}

/// `final_stream` as a table of [`FinalV2`] on `cluster`, sorted by `order_by`.
fn v2_app(cluster: &str, order_by: &[&str]) -> App {
    let app = App::new();
    app.table::<FinalV2>(
        "final_stream",
        OlapConfig::default()
            .cluster(cluster)
            .order_by_fields(order_by.iter().copied()),
    )
    .unwrap();
    app
}

async fn query(node: &ClickHouse, sql: &str) -> Vec<Value> {
    node.query_json(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql} on {}: {e}", node.url()))
}

fn number(v: &Value) -> f64 {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap()
}

/// The ids in `local.final_stream_local` on every replica, after each replica caught up with
/// its shard (`SYSTEM SYNC REPLICA`). Asserts that every replica of a shard holds the same
/// ids, none twice, that no id is on both shards, and that together they are `expected`.
async fn assert_once_on_every_replica(cluster: &TestCluster, expected: &BTreeSet<String>) {
    let mut union = BTreeSet::new();
    for (s, replicas) in SHARDS.iter().enumerate() {
        let mut per_replica = Vec::new();
        for &i in replicas {
            let node = cluster.node(i, "local").await;
            node.execute("SYSTEM SYNC REPLICA local.final_stream_local")
                .await
                .unwrap();
            let rows = query(&node, "SELECT * FROM local.final_stream_local").await;
            let ids: Vec<String> = rows
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned())
                .collect();
            let set: BTreeSet<String> = ids.iter().cloned().collect();
            if set.len() != ids.len() {
                // Identical rows twice are an insert stored twice; the same id with other
                // values is a record produced twice upstream.
                let distinct: BTreeSet<String> = rows.iter().map(Value::to_string).collect();
                panic!(
                    "node {i}: {} rows, {} ids, {} distinct rows; e.g. {:?}",
                    ids.len(),
                    set.len(),
                    distinct.len(),
                    rows.iter()
                        .filter(|r| ids
                            .iter()
                            .filter(|id| *id == r["id"].as_str().unwrap())
                            .count()
                            > 1)
                        .take(4)
                        .collect::<Vec<_>>()
                );
            }
            per_replica.push(set);
        }
        assert_eq!(
            per_replica[0],
            per_replica[1],
            "both replicas of shard {} hold the same rows",
            s + 1
        );
        assert!(union.is_disjoint(&per_replica[0]), "no id on both shards");
        assert!(!per_replica[0].is_empty(), "shard {} holds rows", s + 1);
        union.extend(per_replica.swap_remove(0));
    }
    assert_eq!(
        &union, expected,
        "every record exactly once across the shards"
    );
}

/// `plan` against every node of the cluster has nothing to do.
async fn assert_nothing_to_do_on_every_node(cluster: &TestCluster, app: &App, log: &LocalLog) {
    for i in 1..=4 {
        let node = cluster.node(i, "local").await;
        let desired = Topology::resolve(&app.graph(), None, "local", node.capabilities())
            .unwrap()
            .resources;
        let plan = plan::plan(&desired, &node, log).await.unwrap();
        assert!(
            plan.steps.is_empty(),
            "node {i}: plan after apply has nothing to do, got {:#?}",
            plan.steps
        );
    }
}

/// Columns of `table` in `local` on node `i`, by name.
async fn columns(cluster: &TestCluster, i: usize, table: &str) -> BTreeMap<String, String> {
    let node = cluster.node(i, "local").await;
    query(
        &node,
        &format!(
            "SELECT name, type FROM system.columns WHERE database = 'local' AND table = '{table}'"
        ),
    )
    .await
    .iter()
    .map(|r| {
        (
            r["name"].as_str().unwrap().to_owned(),
            r["type"].as_str().unwrap().to_owned(),
        )
    })
    .collect()
}

/// The chained pipeline into a replicated, distributed `final_stream`: what moose creates on
/// every node, every record once across the shards on both replicas of each, `plan` clean on
/// every node; then the model changes (a column added, one narrowed, one dropped, then the
/// sorting key, a re-create that copies the rows across the cluster), each checked on every
/// node with the rows kept; at last the table is no longer declared and goes from every node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chained_pipeline_into_a_replicated_distributed_table_and_its_lifecycle() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&cluster.urls[0], dir.path(), free_addr());
    let app = chained_app(&cluster.name);
    let runtime = Runtime::start(&app, &config, Mode::Dev)
        .await
        .unwrap_or_else(|e| panic!("the app starts on the cluster: {e}"));

    for i in 1..=4 {
        let node = cluster.node(i, "local").await;
        let engines: BTreeMap<String, String> = query(
            &node,
            "SELECT name, engine FROM system.tables WHERE database = 'local' AND name LIKE 'final_stream%'",
        )
        .await
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["engine"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
        assert_eq!(engines["final_stream"], "Distributed", "node {i}");
        assert_eq!(
            engines["final_stream_local"], "ReplicatedMergeTree",
            "node {i}"
        );
    }

    let records: Vec<Value> = (0..500)
        .map(|i| json!({"id": format!("r{i}"), "value": i as f64 + 0.5}))
        .collect();
    let client = reqwest::Client::new();
    let addr = runtime.http_addr().unwrap();
    let (status, body) = post_json(
        &client,
        addr,
        "/ingest/raw_data",
        Value::Array(records).to_string(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ingested": 500})));
    let expected: BTreeSet<String> = (0..500).map(|i| format!("r{i}")).collect();

    let entry = cluster.node(1, "local").await;
    let start = Instant::now();
    loop {
        let rows = query(&entry, "SELECT count() AS n FROM local.final_stream").await;
        if number(&rows[0]["n"]) >= 500.0 || start.elapsed() > GUARD {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    runtime.shutdown().await;
    assert_once_on_every_replica(&cluster, &expected).await;
    // The values went through both transforms, whichever node is asked.
    for i in 1..=4 {
        let node = cluster.node(i, "local").await;
        let rows = query(
            &node,
            "SELECT transformedValue AS t, anotherTransformedValue AS a FROM local.final_stream WHERE id = 'r7'",
        )
        .await;
        assert_eq!(
            rows.len(),
            1,
            "node {i} reads r7 once through the Distributed table"
        );
        assert_eq!((number(&rows[0]["t"]), number(&rows[0]["a"])), (30.0, 45.0));
    }
    let log = LocalLog::open(&dir.path().join("streams")).unwrap();
    assert_nothing_to_do_on_every_node(&cluster, &app, &log).await;

    // Add `note`, narrow `transformedValue`, drop `anotherTransformedValue`.
    let v2 = v2_app(&cluster.name, &["id"]);
    let desired = Topology::resolve(&v2.graph(), None, "local", entry.capabilities())
        .unwrap()
        .resources;
    plan::converge(&desired, &entry, &log, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_or_else(|e| panic!("the changed model applies on the cluster: {e}"));
    for i in 1..=4 {
        for table in ["final_stream", "final_stream_local"] {
            let columns = columns(&cluster, i, table).await;
            assert_eq!(columns["note"], "Nullable(String)", "node {i} {table}");
            assert_eq!(columns["transformedValue"], "Float32", "node {i} {table}");
            assert!(
                !columns.contains_key("anotherTransformedValue"),
                "node {i} {table}: {columns:?}"
            );
        }
    }
    assert_once_on_every_replica(&cluster, &expected).await;
    assert_nothing_to_do_on_every_node(&cluster, &v2, &log).await;

    // A new sorting key: re-created on the cluster, rows copied.
    let v3 = v2_app(&cluster.name, &["id", "transformedAt"]);
    let desired = Topology::resolve(&v3.graph(), None, "local", entry.capabilities())
        .unwrap()
        .resources;
    let (plan, _) = plan::converge(&desired, &entry, &log, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_or_else(|e| panic!("the new sorting key applies on the cluster: {e}"));
    assert!(
        plan.steps.iter().any(|s| s.change.starts_with("re-create")),
        "a new ORDER BY is a re-create: {:#?}",
        plan.steps
    );
    for i in 1..=4 {
        let node = cluster.node(i, "local").await;
        let key = query(
            &node,
            "SELECT sorting_key FROM system.tables WHERE database = 'local' AND name = 'final_stream_local'",
        )
        .await;
        assert_eq!(key[0]["sorting_key"], "id, transformedAt", "node {i}");
        let leftovers = query(
            &node,
            "SELECT name FROM system.tables WHERE database = 'local' AND position(name, '__moose_') > 0",
        )
        .await;
        assert!(leftovers.is_empty(), "node {i}: {leftovers:?}");
    }
    assert_once_on_every_replica(&cluster, &expected).await;
    assert_nothing_to_do_on_every_node(&cluster, &v3, &log).await;

    // No longer declared: both tables go, on every node.
    let gone = App::new();
    let desired = Topology::resolve(&gone.graph(), None, "local", entry.capabilities())
        .unwrap()
        .resources;
    plan::converge(&desired, &entry, &log, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_or_else(|e| panic!("dropping the table applies on the cluster: {e}"));
    for i in 1..=4 {
        let node = cluster.node(i, "local").await;
        let left = query(
            &node,
            "SELECT name FROM system.tables WHERE database = 'local' AND name LIKE 'final%'",
        )
        .await;
        assert!(left.is_empty(), "node {i} still has {left:?}");
    }
}
/// The script's cluster is what the docs say moose needs: every server lists the same four
/// replicas in two shards, has its own shard and replica macros, and reaches ZooKeeper.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_starts_two_shards_of_two_replicas_with_zookeeper() {
    let cluster = TestCluster::start();
    assert_eq!(cluster.name, "moose_cluster");
    assert!(cluster.zookeeper.starts_with("127.0.0.1:"));
    for i in 1..=4 {
        let node = cluster.node(i, "default").await;
        let shards = node
            .query_text(
                "SELECT shard_num, count() FROM system.clusters \
                 WHERE cluster = 'moose_cluster' GROUP BY shard_num ORDER BY shard_num",
                "reading the cluster",
            )
            .await
            .unwrap();
        assert_eq!(shards, "1\t2\n2\t2\n", "node {i}: 2 shards x 2 replicas");
        let macros = node
            .query_text(
                "SELECT macro, substitution FROM system.macros WHERE macro IN ('shard', 'replica') ORDER BY macro",
                "reading the macros",
            )
            .await
            .unwrap();
        let shard = if i <= 2 { 1 } else { 2 };
        assert_eq!(macros, format!("replica\tnode-{i}\nshard\t{shard}\n"));
        let zookeeper = node
            .query_text(
                "SELECT count() > 0 FROM system.zookeeper WHERE path = '/'",
                "reading ZooKeeper",
            )
            .await
            .unwrap();
        assert_eq!(zookeeper.trim(), "1", "node {i} reaches ZooKeeper");
    }
}

/// Rows of a `FinalData` table resolved for the cluster, inserted twice as the same block
/// through the `Distributed` table (as the sync retries): each shard's replicated table keeps
/// them once, on both replicas.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_block_is_dropped_by_every_shard() {
    use chained_transforms::FinalData;
    let cluster = TestCluster::start();
    let entry = cluster.node(1, "local").await;
    let table = ResolvedTable::resolve::<FinalData>(
        "local",
        "final_stream",
        &OlapConfig::default().cluster(&cluster.name),
        entry.capabilities(),
    )
    .unwrap();
    entry.create_table(&table).await.unwrap();
    let mut rows = Vec::new();
    let expected: BTreeSet<String> = (0..300).map(|i| format!("r{i}")).collect();
    for id in &expected {
        FinalData {
            id: id.clone(),
            transformed_value: 1.0,
            another_transformed_value: 2.0,
            transformed_at: moose::chrono::Utc::now(),
        }
        .write_row(table.column_types(), &mut rows)
        .unwrap();
    }
    let rows = bytes::Bytes::from(rows);
    for _ in 0..2 {
        entry
            .insert_rows_once(&table, rows.clone(), Some("same-batch"))
            .await
            .expect("the insert is acknowledged once every shard has its rows");
    }
    assert_once_on_every_replica(&cluster, &expected).await;
}

/// The child app of the fault tests: the chained pipeline on the cluster named by
/// `MOOSE_TEST_CLUSTER` (with `MOOSE_TEST_DIRECT`: [`direct_app`]), logging (info) to the file
/// `MOOSE_TEST_LOG`.
#[test]
fn cluster_child() {
    if !is_child() {
        return;
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(std::env::var("MOOSE_TEST_LOG").unwrap())
        .unwrap();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .with_writer(std::sync::Mutex::new(log))
        .with_ansi(false)
        .init();
    let cluster = std::env::var("MOOSE_TEST_CLUSTER").unwrap();
    if std::env::var_os("MOOSE_TEST_DIRECT").is_some() {
        child_main(direct_app(&cluster));
    } else {
        child_main(chained_app(&cluster));
    }
}

/// `final_stream` alone: ingest, stream and a table on `cluster`. What lands is exactly what
/// was posted (no transform between that could run twice after a crash).
fn direct_app(cluster: &str) -> App {
    let app = App::new();
    let mut config = IngestPipelineConfig::new()
        .ingest(true)
        .stream(true)
        .table(true);
    config.table_config = config.table_config.cluster(cluster);
    app.ingest_pipeline::<chained_transforms::FinalData>("final_stream", config)
        .unwrap();
    app
}

/// The child app's settings: writing to `cluster` through its first node, data under `dir`,
/// logging to `log`; `direct`: the ingest->table pipeline instead of the chained one.
fn child_env(
    cluster: &TestCluster,
    dir: &std::path::Path,
    log: &std::path::Path,
    direct: bool,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("MOOSE_CLICKHOUSE_URL", cluster.urls[0].clone()),
        ("MOOSE_DATA_DIR", dir.join("data").display().to_string()),
        ("MOOSE_SYNC_MAX_DELAY_MS", "200".to_owned()),
        ("MOOSE_TEST_CLUSTER", cluster.name.clone()),
        ("MOOSE_TEST_LOG", log.display().to_string()),
    ];
    if direct {
        env.push(("MOOSE_TEST_DIRECT", "1".to_owned()));
    }
    env
}

/// Posts records `r{from}`..`r{from + n}` to the child app; every one acknowledged.
async fn post_records(app: &ChildApp, from: usize, n: usize, expected: &mut BTreeSet<String>) {
    let records: Vec<Value> = (from..from + n)
        .map(|i| json!({"id": format!("r{i}"), "value": i as f64}))
        .collect();
    post(app, "/ingest/raw_data", records).await;
    expected.extend((from..from + n).map(|i| format!("r{i}")));
}

/// Posts `records` to `path` of the child app; every one acknowledged.
async fn post(app: &ChildApp, path: &str, records: Vec<Value>) {
    let n = records.len();
    let (status, body) = post_json(
        &reqwest::Client::new(),
        app.addr,
        path,
        Value::Array(records).to_string(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"ingested": n})));
}

/// Waits until the `Distributed` table, read on node 1, counts at least `n` rows.
async fn wait_count(cluster: &TestCluster, n: usize) {
    let entry = cluster.node(1, "local").await;
    let start = Instant::now();
    loop {
        let count = entry
            .query_text("SELECT count() FROM local.final_stream", "counting")
            .await
            .ok()
            .and_then(|t| t.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if count >= n {
            return;
        }
        assert!(
            start.elapsed() < GUARD,
            "{count} of {n} rows arrived within {GUARD:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the app's log has a line containing every one of `parts`; that line.
async fn wait_log_line(log: &std::path::Path, parts: &[&str]) -> String {
    let start = Instant::now();
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(line) = text.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
            return line.to_owned();
        }
        assert!(
            start.elapsed() < GUARD,
            "no log line with {parts:?} within {GUARD:?}; the log:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The chained pipeline into the cluster through faults, every record asserted by key on every
/// replica after each: one replica of each shard killed -9 under load (the sync keeps going),
/// a whole shard down (the sync holds back, logs why, and catches up), and ZooKeeper down (the
/// replicated tables turn read-only; the sync logs why and resumes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_lands_once_through_replica_shard_and_zookeeper_outages() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let env = child_env(&cluster, dir.path(), &log, false);
    let addr = free_addr();
    let app = ChildApp::spawn("cluster_child", &env, addr);
    let mut expected = BTreeSet::new();
    let mut next = 0;

    // One replica of each shard killed -9 under load; node 1, the app's, stays.
    for batch in 0..6 {
        if batch == 2 {
            cluster.kill_node(2);
            cluster.kill_node(4);
        }
        post_records(&app, next, 200, &mut expected).await;
        next += 200;
    }
    wait_count(&cluster, expected.len()).await;
    cluster.start_node(2);
    cluster.start_node(4);
    assert_once_on_every_replica(&cluster, &expected).await;

    // A whole shard down: records are acknowledged, the sync holds back and says why.
    cluster.kill_node(3);
    cluster.kill_node(4);
    let rss_before = app.rss_kib();
    for _ in 0..10 {
        post_records(&app, next, 1000, &mut expected).await;
        next += 1000;
    }
    wait_log_line(
        &log,
        &[
            "insert into the cluster failed",
            "no replica of a shard answered",
        ],
    )
    .await;
    let rss_after = app.rss_kib();
    eprintln!(
        "shard 2 down: 10,000 records acknowledged meanwhile; app RSS {rss_before} KiB before, {rss_after} KiB after"
    );
    // The backlog waits in the stream on disk, not in the app's memory.
    assert!(
        rss_after < rss_before + 64 * 1024,
        "RSS grew from {rss_before} KiB to {rss_after} KiB while a shard was down"
    );
    cluster.start_node(3);
    cluster.start_node(4);
    wait_count(&cluster, expected.len()).await;
    assert_once_on_every_replica(&cluster, &expected).await;

    // ZooKeeper down: the replicated tables turn read-only, the sync says why and waits.
    cluster.kill_zookeeper();
    let entry = cluster.node(1, "local").await;
    let start = Instant::now();
    while entry
        .query_text(
            "SELECT is_readonly FROM system.replicas WHERE table = 'final_stream_local'",
            "reading the replica's state",
        )
        .await
        .unwrap()
        .trim()
        != "1"
    {
        assert!(
            start.elapsed() < GUARD,
            "the replica never noticed ZooKeeper was gone"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    post_records(&app, next, 200, &mut expected).await;
    let line = wait_log_line(&log, &["insert into the cluster failed", "ZooKeeper"]).await;
    assert!(line.contains("WARN"), "{line}");
    cluster.start_zookeeper();
    wait_count(&cluster, expected.len()).await;
    assert_once_on_every_replica(&cluster, &expected).await;
    app.terminate();
}

/// What a clustered table renders to, without a cluster: each engine keeps its family as
/// `Replicated*` with the shard's ZooKeeper path and the replica macro, and the
/// `Distributed` table shards by a hash of the model's key.
#[test]
fn clustered_ddl_keeps_the_engine_family_and_shards_by_the_key() {
    use chained_transforms::FinalData;
    use moose_runtime::schema::{ClickHouseCapabilities, Engine};
    let caps = ClickHouseCapabilities::for_version("18.16.1".parse().unwrap());
    let engines = [
        (
            Engine::MergeTree,
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/local.t_local', '{replica}')",
        ),
        (
            Engine::ReplacingMergeTree {
                version: Some("transformedValue".into()),
            },
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/local.t_local', '{replica}', `transformedValue`)",
        ),
        (
            Engine::SummingMergeTree {
                columns: vec!["transformedValue".into()],
            },
            "ReplicatedSummingMergeTree('/clickhouse/tables/{shard}/local.t_local', '{replica}', (`transformedValue`))",
        ),
        (
            Engine::AggregatingMergeTree,
            "ReplicatedAggregatingMergeTree('/clickhouse/tables/{shard}/local.t_local', '{replica}')",
        ),
    ];
    for (engine, expected) in engines {
        let config = OlapConfig {
            engine,
            ..OlapConfig::default().cluster("c")
        };
        let table = ResolvedTable::resolve::<FinalData>("local", "t", &config, &caps).unwrap();
        assert_eq!(table.engine_sql(), expected);
        assert_eq!(table.local_name(), "t_local");
        let statements = table.create_statements();
        assert_eq!(statements.len(), 3, "{statements:#?}");
        assert_eq!(
            statements[0],
            "CREATE DATABASE IF NOT EXISTS `local` ON CLUSTER `c`"
        );
        assert!(
            statements[1]
                .starts_with("CREATE TABLE IF NOT EXISTS `local`.`t_local` ON CLUSTER `c`"),
            "{}",
            statements[1]
        );
        assert!(
            statements[2].starts_with("CREATE TABLE IF NOT EXISTS `local`.`t` ON CLUSTER `c`")
                && statements[2]
                    .ends_with("ENGINE = Distributed(`c`, `local`, `t_local`, cityHash64(`id`))"),
            "{}",
            statements[2]
        );
        assert_eq!(
            table.insert_sql().split(" (").next(),
            Some("INSERT INTO `local`.`t`"),
            "the sync writes to the Distributed table"
        );
    }
    // Off a cluster nothing changes: one table, no ON CLUSTER.
    let single =
        ResolvedTable::resolve::<FinalData>("local", "t", &OlapConfig::default(), &caps).unwrap();
    assert_eq!(single.create_statements().len(), 1);
    assert_eq!(single.local_name(), "t");
    assert!(!single.create_table_sql().contains("CLUSTER"));
}

/// The app killed -9 while its sync retries a batch a downed shard refuses, restarted once the
/// shard is back: it cuts the recorded batch again (the same block, which a replicated table
/// that has it drops: `a_retried_block_is_dropped_by_every_shard`), and every record posted is
/// on every replica once. Records are posted straight into `final_stream`, so no transform can
/// produce one twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_re_sent_after_an_app_crash_lands_once() {
    let cluster = TestCluster::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let env = child_env(&cluster, dir.path(), &log, true);
    let addr = free_addr();
    let mut app = ChildApp::spawn("cluster_child", &env, addr);
    let mut expected = BTreeSet::new();
    let mut next = 0;
    let mut post_final = |n: usize| {
        let records: Vec<Value> = (next..next + n)
            .map(|i| {
                json!({"id": format!("r{i}"), "transformedValue": i, "anotherTransformedValue": 1,
                       "transformedAt": "2026-01-01T00:00:00Z"})
            })
            .collect();
        expected.extend((next..next + n).map(|i| format!("r{i}")));
        next += n;
        records
    };
    post(&app, "/ingest/final_stream", post_final(1000)).await;
    cluster.kill_node(3);
    cluster.kill_node(4);
    for _ in 0..5 {
        post(&app, "/ingest/final_stream", post_final(1000)).await;
    }
    wait_log_line(
        &log,
        &[
            "insert into the cluster failed",
            "no replica of a shard answered",
        ],
    )
    .await;
    app.kill9();
    cluster.start_node(3);
    cluster.start_node(4);
    app = ChildApp::spawn("cluster_child", &env, addr);
    wait_log_line(&log, &["re-cutting the batch recorded before the restart"]).await;
    post(&app, "/ingest/final_stream", post_final(1000)).await;
    wait_count(&cluster, expected.len()).await;
    app.terminate();
    assert_once_on_every_replica(&cluster, &expected).await;
}
