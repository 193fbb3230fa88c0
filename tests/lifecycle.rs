//! Lifecycle management on real servers: a real ClickHouse (Debian's 18.16) and the embedded
//! stream log. Each test changes the code (two `#[data_model]` structs stored under one
//! table name stand for two versions of a model) and checks, for each lifecycle mode, what
//! changed on the server, what was blocked, and that no row or record was lost where the mode
//! promises it.
//!
//! Over 400 lines: one test per lifecycle change (columns, types, ORDER BY, topics, drops,
//! external tables), each checked in every mode on the same real servers; they share the
//! `Servers` harness at the top.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::app::{free_addr, test_config};
use common::clickhouse::TestClickHouse;
use common::models::OldServerTypes;
use moose::prelude::*;
use moose::{Mode, Runtime};
use moose_runtime::plan::{self, ApplyPolicy, ApplyReport, Desired, Plan, PlanError};
use moose_runtime::stream::local::LocalLog;
use moose_runtime::stream::{EncodedRecord, StreamBackend, TopicAdmin, TopicSpec};
use moose_runtime::topology::Topology;
use serde_json::Value;

const FM: LifeCycle = LifeCycle::FullyManaged;
const DP: LifeCycle = LifeCycle::DeletionProtected;
const EM: LifeCycle = LifeCycle::ExternallyManaged;

/// The three modes, each with the table or stream named after it.
const MODES: [(&str, LifeCycle); 3] = [
    ("fully_managed", FM),
    ("deletion_protected", DP),
    ("externally_managed", EM),
];

/// A ClickHouse server and an embedded log for one test.
struct Servers {
    ch: TestClickHouse,
    log: LocalLog,
    _dir: tempfile::TempDir,
}

impl Servers {
    async fn start() -> Servers {
        let ch = TestClickHouse::start().await;
        let dir = tempfile::tempdir().unwrap();
        let log = LocalLog::open(&dir.path().join("streams")).unwrap();
        Servers { ch, log, _dir: dir }
    }

    fn desired(&self, app: &App) -> Desired {
        Topology::resolve(
            &app.graph(),
            None,
            self.ch.client.database(),
            self.ch.client.capabilities(),
        )
        .unwrap()
        .resources
    }

    async fn plan(&self, app: &App) -> Plan {
        plan::plan(&self.desired(app), &self.ch.client, &self.log)
            .await
            .unwrap()
    }

    /// What `dev` does at start (`start` with `ApplyPolicy::NON_DESTRUCTIVE`).
    async fn converge(
        &self,
        app: &App,
        policy: ApplyPolicy,
    ) -> Result<(Plan, ApplyReport), PlanError> {
        plan::converge(&self.desired(app), &self.ch.client, &self.log, policy).await
    }

    async fn sql(&self, sql: &str) {
        self.ch.client.execute(sql).await.unwrap();
    }

    async fn rows(&self, sql: &str) -> Vec<Value> {
        self.ch.client.query_json(sql).await.unwrap()
    }

    async fn count(&self, table: &str) -> u64 {
        let rows = self
            .rows(&format!("SELECT count() AS n FROM local.{table}"))
            .await;
        let n = &rows[0]["n"];
        n.as_u64().or_else(|| n.as_str()?.parse().ok()).unwrap()
    }

    /// Column name -> type.
    async fn columns(&self, table: &str) -> BTreeMap<String, String> {
        self.rows(&format!(
            "SELECT name, type FROM system.columns WHERE database = 'local' AND table = '{table}'"
        ))
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

    async fn exists(&self, table: &str) -> bool {
        !self
            .rows(&format!(
                "SELECT name FROM system.tables WHERE database = 'local' AND name = '{table}'"
            ))
            .await
            .is_empty()
    }

    async fn sorting_key(&self, table: &str) -> String {
        let rows = self
            .rows(&format!(
                "SELECT sorting_key FROM system.tables WHERE database = 'local' AND name = '{table}'"
            ))
            .await;
        rows[0]["sorting_key"].as_str().unwrap().to_owned()
    }

    /// Creates a table the way its owner would, from a model's own DDL.
    async fn create_as_owner(&self, app: &App, table: &str) {
        let desired = self.desired(app);
        let t = desired.tables.iter().find(|t| t.declared == table).unwrap();
        self.sql(&t.resolved.create_table_sql()).await;
    }

    async fn topic(&self, name: &str) -> Option<TopicSpec> {
        self.log.describe_topic(name).await.unwrap()
    }

    async fn produce(&self, topic: &str, n: usize) {
        let records: Vec<EncodedRecord> = (0..n)
            .map(|i| EncodedRecord {
                key: format!("k{i}").into_bytes(),
                payload: format!("{{\"id\":\"k{i}\"}}").into_bytes(),
            })
            .collect();
        self.log.produce(topic, &records).await.unwrap();
    }

    async fn records(&self, topic: &str) -> usize {
        self.log.latest(topic, 1000).await.unwrap().len()
    }
}

/// The plan's steps for one resource, as `sign change` lines.
fn steps_of(plan: &Plan, name: &str) -> Vec<String> {
    plan.steps
        .iter()
        .filter(|s| s.name == name)
        .map(|s| format!("{} {}", s.sign(), s.change))
        .collect()
}

fn tables<T: DataModel>(config: impl Fn(LifeCycle) -> OlapConfig) -> App {
    let app = App::new();
    for (name, life_cycle) in MODES {
        app.table::<T>(name, config(life_cycle).life_cycle(life_cycle))
            .unwrap();
    }
    app
}

fn default_table(_: LifeCycle) -> OlapConfig {
    OlapConfig::default()
}

/// Version 1 of each table: creates the managed ones through moose and the external one
/// the way its owner would, then puts two rows in each.
async fn version_1(servers: &Servers, app: &App, rows: &str) {
    servers.create_as_owner(app, "externally_managed").await;
    servers
        .converge(app, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    for (name, _) in MODES {
        servers
            .sql(&format!("INSERT INTO local.{name} {rows}"))
            .await;
    }
}

// ---------------------------------------------------------------------------------------
// Models: version 1 and version 2 of each change.

#[data_model]
pub struct Event {
    #[key]
    pub id: String,
    pub value: i32,
}

/// `Event` plus a column.
#[data_model]
pub struct EventWithNote {
    #[key]
    pub id: String,
    pub value: i32,
    /// Free text, added in version 2.
    pub note: Option<String>,
}

/// `Event` plus a column that version 2 drops.
#[data_model]
pub struct EventWithLegacy {
    #[key]
    pub id: String,
    pub value: i32,
    pub legacy: String,
}

#[data_model]
pub struct Measure {
    #[key]
    pub id: String,
    pub count: i32,
    pub ratio: f64,
}

/// `Measure` with `count` widened (keeps values) and `ratio` narrowed (can lose them).
#[data_model]
pub struct MeasureRetyped {
    #[key]
    pub id: String,
    pub count: i64,
    pub ratio: f32,
}

// ---------------------------------------------------------------------------------------
// Tables.

#[tokio::test]
async fn a_new_table_is_created_unless_externally_managed() {
    let servers = Servers::start().await;
    let managed = App::new();
    managed
        .table::<Event>("fully_managed", OlapConfig::default())
        .unwrap();
    managed
        .table::<Event>("deletion_protected", OlapConfig::default().life_cycle(DP))
        .unwrap();
    let plan = servers.plan(&managed).await;
    assert_eq!(steps_of(&plan, "fully_managed"), ["+ create"]);
    assert_eq!(steps_of(&plan, "deletion_protected"), ["+ create"]);
    assert!(!plan.needs_attention());
    servers
        .converge(&managed, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    assert!(servers.exists("fully_managed").await);
    assert!(servers.exists("deletion_protected").await);
    assert!(
        servers.plan(&managed).await.is_empty(),
        "applied plans converge"
    );

    let external = App::new();
    external
        .table::<Event>("externally_managed", OlapConfig::default().life_cycle(EM))
        .unwrap();
    let plan = servers.plan(&external).await;
    assert_eq!(
        steps_of(&plan, "externally_managed"),
        ["! the table does not exist"]
    );
    let error = servers
        .converge(&external, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(
            "table `externally_managed`: the table does not exist (it is ExternallyManaged"
        ),
        "{error}"
    );
    assert!(!servers.exists("externally_managed").await, "never created");
}

#[tokio::test]
async fn an_added_column_is_added_unless_externally_managed() {
    let servers = Servers::start().await;
    version_1(
        &servers,
        &tables::<Event>(default_table),
        "(id, value) VALUES ('a', 1), ('b', 2)",
    )
    .await;

    let v2 = tables::<EventWithNote>(default_table);
    let plan = servers.plan(&v2).await;
    for name in ["fully_managed", "deletion_protected"] {
        assert_eq!(
            steps_of(&plan, name),
            ["~ add column `note` Nullable(String)"],
            "{name}"
        );
    }
    assert_eq!(
        steps_of(&plan, "externally_managed"),
        ["! column `note` (Nullable(String)) is missing"]
    );
    let error = servers
        .converge(&v2, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("table `externally_managed`: column `note` (Nullable(String)) is missing"),
        "{error}"
    );
    assert!(
        !servers.columns("fully_managed").await.contains_key("note"),
        "refused before changing anything"
    );

    // Without the external table, the others are extended; their rows stay.
    let managed = App::new();
    for (name, life_cycle) in &MODES[..2] {
        managed
            .table::<EventWithNote>(name, OlapConfig::default().life_cycle(*life_cycle))
            .unwrap();
    }
    servers
        .converge(&managed, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    for name in ["fully_managed", "deletion_protected"] {
        assert_eq!(servers.columns(name).await["note"], "Nullable(String)");
        assert_eq!(servers.count(name).await, 2, "{name} keeps its rows");
    }
    let comment = servers
        .rows("SELECT comment FROM system.columns WHERE database = 'local' AND table = 'fully_managed' AND name = 'note'")
        .await;
    assert_eq!(comment[0]["comment"], "Free text, added in version 2.");
    assert!(
        !servers
            .columns("externally_managed")
            .await
            .contains_key("note")
    );
}

#[tokio::test]
async fn a_removed_column_is_dropped_only_when_fully_managed_and_destructive_steps_are_allowed() {
    let servers = Servers::start().await;
    version_1(
        &servers,
        &tables::<EventWithLegacy>(default_table),
        "(id, value, legacy) VALUES ('a', 1, 'x'), ('b', 2, 'y')",
    )
    .await;

    let v2 = tables::<Event>(default_table);
    let plan = servers.plan(&v2).await;
    assert_eq!(
        steps_of(&plan, "fully_managed"),
        ["- drop column `legacy` String"]
    );
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        ["! drop column `legacy` String"]
    );
    assert_eq!(
        steps_of(&plan, "externally_managed"),
        Vec::<String>::new(),
        "an extra column is fine"
    );
    assert!(plan.needs_attention());

    // `start` without --allow-destructive holds the drop back; the table still takes rows.
    let (_, report) = servers
        .converge(&v2, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    assert_eq!(report.skipped.len(), 2);
    assert!(
        servers
            .columns("fully_managed")
            .await
            .contains_key("legacy")
    );

    let (_, report) = servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 1);
    assert!(
        !servers
            .columns("fully_managed")
            .await
            .contains_key("legacy")
    );
    assert!(
        servers
            .columns("deletion_protected")
            .await
            .contains_key("legacy"),
        "protected"
    );
    assert!(
        servers
            .columns("externally_managed")
            .await
            .contains_key("legacy"),
        "not ours"
    );
    for (name, _) in MODES {
        assert_eq!(servers.count(name).await, 2, "{name} keeps its rows");
    }
}

#[tokio::test]
async fn a_changed_column_type_is_applied_as_far_as_the_mode_allows() {
    let servers = Servers::start().await;
    version_1(
        &servers,
        &tables::<Measure>(default_table),
        "(id, count, ratio) VALUES ('a', 1, 0.5), ('b', -2, 0.25)",
    )
    .await;

    let v2 = tables::<MeasureRetyped>(default_table);
    let plan = servers.plan(&v2).await;
    assert_eq!(
        steps_of(&plan, "fully_managed"),
        [
            "~ modify column `count` Int32 -> Int64",
            "~ modify column `ratio` Float64 -> Float32"
        ]
    );
    let ratio = plan
        .steps
        .iter()
        .find(|s| s.name == "fully_managed" && s.change.contains("ratio"))
        .unwrap();
    assert_eq!(
        ratio.destructive.as_deref(),
        Some("converting `Float64` to `Float32` can change or lose values")
    );
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        [
            "~ modify column `count` Int32 -> Int64",
            "! modify column `ratio` Float64 -> Float32"
        ],
        "widening keeps every value; narrowing is blocked"
    );
    assert_eq!(
        steps_of(&plan, "externally_managed"),
        [
            "! column `count`: it is `Int32` on the server and the model writes `Int64`",
            "! column `ratio`: it is `Float64` on the server and the model writes `Float32`"
        ]
    );
    let error = servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("table `externally_managed`: column `count`"),
        "{error}"
    );
    assert!(
        error.contains("table `externally_managed`: column `ratio`"),
        "{error}"
    );

    // The managed ones alone: fully managed converts both; the protected table widens
    // `count` but cannot take the narrower `ratio`, so the app refuses to run, saying why.
    let managed = App::new();
    for (name, life_cycle) in &MODES[..2] {
        managed
            .table::<MeasureRetyped>(name, OlapConfig::default().life_cycle(*life_cycle))
            .unwrap();
    }
    let error = servers
        .converge(&managed, ApplyPolicy::EVERYTHING)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("table `deletion_protected`: column `ratio`: it is `Float64` on the server and the model writes `Float32`"),
        "{error}"
    );
    assert!(error.contains("blocked by DeletionProtected"), "{error}");
    let fm = servers.columns("fully_managed").await;
    assert_eq!(
        (fm["count"].as_str(), fm["ratio"].as_str()),
        ("Int64", "Float32")
    );
    let dp = servers.columns("deletion_protected").await;
    assert_eq!(
        (dp["count"].as_str(), dp["ratio"].as_str()),
        ("Int64", "Float64")
    );
    let em = servers.columns("externally_managed").await;
    assert_eq!(
        (em["count"].as_str(), em["ratio"].as_str()),
        ("Int32", "Float64")
    );
    for (name, _) in MODES {
        let rows = servers
            .rows(&format!("SELECT id, toString(count) AS c, toString(ratio) AS r FROM local.{name} ORDER BY id"))
            .await;
        assert_eq!(
            rows,
            [
                serde_json::json!({"id": "a", "c": "1", "r": "0.5"}),
                serde_json::json!({"id": "b", "c": "-2", "r": "0.25"})
            ],
            "{name} keeps its values"
        );
    }
}

#[tokio::test]
async fn a_changed_order_by_re_creates_a_fully_managed_table_with_its_rows() {
    let servers = Servers::start().await;
    let v1 = tables::<Event>(default_table);
    version_1(
        &servers,
        &v1,
        "(id, value) SELECT toString(number), toInt32(number % 7) FROM system.numbers LIMIT 1000",
    )
    .await;

    let v2 = tables::<Event>(|_| OlapConfig::default().order_by_fields(["value", "id"]));
    let plan = servers.plan(&v2).await;
    assert_eq!(
        steps_of(&plan, "fully_managed"),
        ["~ re-create (ORDER BY id -> (`value`, `id`)); rows are copied"]
    );
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        ["! re-create (ORDER BY id -> (`value`, `id`)); rows are copied"]
    );
    assert_eq!(steps_of(&plan, "externally_managed"), Vec::<String>::new());

    let (_, report) = servers
        .converge(&v2, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 0, "`start` holds a re-create back");
    assert_eq!(servers.sorting_key("fully_managed").await, "id");

    // The copy reports its progress (this test runs on one thread: the subscriber sees it).
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    drop(guard);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("re-create: copying 1000 rows into the new table")
            && logs.contains("re-create: copied 1000 rows in"),
        "{logs}"
    );
    assert_eq!(servers.sorting_key("fully_managed").await, "value, id");
    assert_eq!(servers.sorting_key("deletion_protected").await, "id");
    assert_eq!(servers.sorting_key("externally_managed").await, "id");
    for (name, _) in MODES {
        assert_eq!(servers.count(name).await, 1000, "{name} keeps every row");
        let sum = servers
            .rows(&format!(
                "SELECT toString(sum(value)) AS s FROM local.{name}"
            ))
            .await;
        assert_eq!(sum[0]["s"], "2997", "{name} keeps every value");
    }
    let leftovers = servers
        .rows("SELECT name FROM system.tables WHERE database = 'local' AND name LIKE '%__moose_%'")
        .await;
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(
        servers
            .plan(&v2)
            .await
            .blocked()
            .all(|s| s.name == "deletion_protected")
    );
}

#[tokio::test]
async fn an_interrupted_re_create_is_finished_or_undone() {
    let servers = Servers::start().await;
    let app = App::new();
    app.table::<Event>("events", OlapConfig::default()).unwrap();
    servers
        .converge(&app, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    servers
        .sql("INSERT INTO local.events VALUES ('a', 1)")
        .await;
    // A crash after the copy was created, before the swap: the copy is dropped.
    servers
        .sql("CREATE TABLE local.events__moose_new AS local.events")
        .await;
    // A crash between the two renames of a swap: the old table is renamed back.
    servers
        .sql("RENAME TABLE local.events TO local.events__moose_old")
        .await;
    let plan = servers.plan(&app).await;
    assert_eq!(
        steps_of(&plan, "events"),
        [
            "- drop `events__moose_new`, the unfinished copy of an interrupted re-create",
            "~ rename `events__moose_old` back to `events` (an interrupted re-create)"
        ]
    );
    servers
        .converge(&app, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    assert_eq!(servers.count("events").await, 1);
    assert!(!servers.exists("events__moose_new").await);
    assert!(!servers.exists("events__moose_old").await);
    assert!(servers.plan(&app).await.is_empty());
}

#[tokio::test]
async fn a_table_of_every_type_18_16_stores_plans_no_changes_once_created() {
    let servers = Servers::start().await;
    let app = App::new();
    app.table::<OldServerTypes>("every_type", OlapConfig::default())
        .unwrap();
    servers
        .converge(&app, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    let plan = servers.plan(&app).await;
    assert!(plan.is_empty(), "{plan}");
}

// ---------------------------------------------------------------------------------------
// Topics.

fn streams(config: impl Fn(&str, LifeCycle) -> StreamConfig) -> App {
    let app = App::new();
    for (name, life_cycle) in MODES {
        app.stream::<Event>(name, config(name, life_cycle).life_cycle(life_cycle))
            .unwrap();
    }
    app
}

/// Creates the streams' topics (the external one as its owner would) with 5 records each.
async fn topics_version_1(servers: &Servers, app: &App) {
    let desired = servers.desired(app);
    let external = desired.topic("externally_managed").unwrap();
    servers.log.ensure_topic(&external.spec).await.unwrap();
    servers
        .converge(app, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    for (name, _) in MODES {
        servers.produce(name, 5).await;
    }
}

const HOUR: u64 = 3600;

#[tokio::test]
async fn a_retention_change_is_applied_unless_it_deletes_protected_records() {
    let servers = Servers::start().await;
    let v1 = streams(|_, _| StreamConfig::default().retention_secs(HOUR));
    v1.stream::<Event>(
        "protected_longer",
        StreamConfig::default().retention_secs(HOUR).life_cycle(DP),
    )
    .unwrap();
    topics_version_1(&servers, &v1).await;

    let v2 = streams(|_, _| StreamConfig::default().retention_secs(600));
    v2.stream::<Event>(
        "protected_longer",
        StreamConfig::default()
            .retention_secs(2 * HOUR)
            .life_cycle(DP),
    )
    .unwrap();
    let plan = servers.plan(&v2).await;
    assert_eq!(steps_of(&plan, "fully_managed"), ["~ retention 1h -> 10m"]);
    assert_eq!(
        plan.steps[0].destructive.as_deref(),
        Some("records older than 10m are deleted")
    );
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        ["! retention 1h -> 10m"]
    );
    assert_eq!(
        steps_of(&plan, "protected_longer"),
        ["~ retention 1h -> 2h"]
    );
    assert_eq!(steps_of(&plan, "externally_managed"), Vec::<String>::new());

    servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    let retention = |secs| Duration::from_secs(secs);
    assert_eq!(
        servers.topic("fully_managed").await.unwrap().retention,
        retention(600)
    );
    assert_eq!(
        servers.topic("deletion_protected").await.unwrap().retention,
        retention(HOUR)
    );
    assert_eq!(
        servers.topic("protected_longer").await.unwrap().retention,
        retention(2 * HOUR)
    );
    assert_eq!(
        servers.topic("externally_managed").await.unwrap().retention,
        retention(HOUR)
    );
    for (name, _) in MODES {
        assert_eq!(
            servers.records(name).await,
            5,
            "{name}: records younger than 10m stay"
        );
    }
}

#[tokio::test]
async fn a_parallelism_increase_adds_partitions_unless_externally_managed() {
    let servers = Servers::start().await;
    topics_version_1(&servers, &streams(|_, _| StreamConfig::default())).await;

    let v2 = streams(|_, _| StreamConfig::default().parallelism(3));
    let plan = servers.plan(&v2).await;
    assert_eq!(steps_of(&plan, "fully_managed"), ["~ partitions 1 -> 3"]);
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        ["~ partitions 1 -> 3"]
    );
    assert_eq!(steps_of(&plan, "externally_managed"), Vec::<String>::new());
    assert!(!plan.needs_attention());
    servers
        .converge(&v2, ApplyPolicy::NON_DESTRUCTIVE)
        .await
        .unwrap();
    let partitions = |spec: Option<TopicSpec>| spec.unwrap().partitions;
    assert_eq!(partitions(servers.topic("fully_managed").await), 3);
    assert_eq!(partitions(servers.topic("deletion_protected").await), 3);
    assert_eq!(partitions(servers.topic("externally_managed").await), 1);
    for (name, _) in MODES {
        assert_eq!(servers.records(name).await, 5, "{name} keeps its records");
    }
}

#[tokio::test]
async fn a_parallelism_decrease_is_refused_in_every_mode() {
    let servers = Servers::start().await;
    topics_version_1(
        &servers,
        &streams(|_, _| StreamConfig::default().parallelism(3)),
    )
    .await;

    let v2 = streams(|_, _| StreamConfig::default().parallelism(1));
    let plan = servers.plan(&v2).await;
    assert_eq!(steps_of(&plan, "fully_managed"), ["! partitions 3 -> 1"]);
    assert_eq!(
        steps_of(&plan, "deletion_protected"),
        ["! partitions 3 -> 1"]
    );
    assert_eq!(steps_of(&plan, "externally_managed"), Vec::<String>::new());
    let why = plan.steps[0].blocked.as_deref().unwrap();
    assert!(
        why.starts_with(
            "a topic's partitions cannot be removed: the records in them would be lost"
        ),
        "{why}"
    );
    // The app still runs: one worker reads all three partitions.
    servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    for (name, _) in MODES {
        assert_eq!(servers.topic(name).await.unwrap().partitions, 3, "{name}");
        assert_eq!(servers.records(name).await, 5, "{name} keeps its records");
    }
}

#[tokio::test]
async fn a_removed_stream_and_its_table_are_dropped_only_when_fully_managed() {
    let servers = Servers::start().await;
    let v1 = App::new();
    for (name, life_cycle) in MODES {
        v1.stream::<Event>(
            name,
            StreamConfig::default()
                .life_cycle(life_cycle)
                .destination(name),
        )
        .unwrap();
        v1.table::<Event>(name, OlapConfig::default().life_cycle(life_cycle))
            .unwrap();
    }
    servers.create_as_owner(&v1, "externally_managed").await;
    servers
        .sql("CREATE TABLE local.not_ours (id String) ENGINE = MergeTree() ORDER BY id")
        .await;
    topics_version_1(&servers, &v1).await;
    for (name, _) in MODES {
        servers
            .sql(&format!("INSERT INTO local.{name} VALUES ('a', 1)"))
            .await;
    }

    // Another namespace, or another app in ours, sharing the database drops nothing of ours.
    let other_namespace = Topology::resolve(
        &App::new().graph(),
        Some("other"),
        "local",
        servers.ch.client.capabilities(),
    )
    .unwrap()
    .resources;
    let mut other_app = servers.desired(&App::new());
    other_app.app = "another_app".into();
    for other in [other_namespace, other_app] {
        let plan = plan::plan(&other, &servers.ch.client, &servers.log)
            .await
            .unwrap();
        assert!(plan.is_empty(), "{plan}");
    }

    let v2 = App::new();
    let plan = servers.plan(&v2).await;
    let mut lines: Vec<String> = plan
        .steps
        .iter()
        .map(|s| {
            format!(
                "{} {} {}: {}",
                s.sign(),
                s.resource.as_str(),
                s.name,
                s.change
            )
        })
        .collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "! table deletion_protected: drop (no longer declared)",
            "! topic deletion_protected: drop (no longer declared)",
            "- table fully_managed: drop (no longer declared)",
            "- topic fully_managed: drop (no longer declared)",
        ],
        "the external ones and tables moose never managed are not ours to drop"
    );
    servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    assert!(!servers.exists("fully_managed").await);
    assert_eq!(servers.topic("fully_managed").await, None);
    assert_eq!(servers.count("deletion_protected").await, 1);
    assert_eq!(servers.records("deletion_protected").await, 5);
    assert_eq!(servers.count("externally_managed").await, 1);
    assert_eq!(servers.records("externally_managed").await, 5);
    assert!(servers.exists("not_ours").await);
    let again = servers.plan(&v2).await;
    assert!(
        again.steps.iter().all(|s| s.name == "deletion_protected"),
        "{again}"
    );
}

// ---------------------------------------------------------------------------------------
// The runtime and the printed plan.

#[tokio::test]
async fn the_runtime_applies_the_plan_at_start_and_refuses_an_external_table_that_cannot_hold_the_model()
 {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let v1 = App::new();
    v1.table::<Event>("managed", OlapConfig::default()).unwrap();
    v1.table::<Event>("external", OlapConfig::default())
        .unwrap();
    Runtime::start(&v1, &config, Mode::Dev)
        .await
        .unwrap()
        .shutdown()
        .await;

    let v2 = App::new();
    v2.table::<EventWithNote>("managed", OlapConfig::default())
        .unwrap();
    let runtime = Runtime::start(&v2, &config, Mode::Start).await.unwrap();
    runtime.shutdown().await;
    let columns = ch.client.query_json("SELECT name FROM system.columns WHERE database = 'local' AND table = 'managed' AND name = 'note'").await.unwrap();
    assert_eq!(columns.len(), 1, "`start` applied the added column");

    v2.table::<EventWithNote>("external", OlapConfig::default().life_cycle(EM))
        .unwrap();
    let error = match Runtime::start(&v2, &config, Mode::Dev).await {
        Ok(_) => panic!("an external table without the `note` column must stop the app"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.starts_with("refusing to run: 1 problem keeps"),
        "{error}"
    );
    assert!(
        error.contains("table `external`: column `note` (Nullable(String)) is missing"),
        "{error}"
    );
}

#[tokio::test]
async fn plan_output_for_a_model_change() {
    let servers = Servers::start().await;
    let v1 = App::new();
    v1.table::<EventWithLegacy>("events", OlapConfig::default())
        .unwrap();
    v1.table::<Measure>("measures", OlapConfig::default().life_cycle(DP))
        .unwrap();
    v1.stream::<Event>("clicks", StreamConfig::default().parallelism(2))
        .unwrap();
    v1.stream::<Event>("old_clicks", StreamConfig::default())
        .unwrap();
    servers
        .converge(&v1, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();

    let v2 = App::new();
    v2.table::<EventWithNote>("events", OlapConfig::default())
        .unwrap();
    v2.table::<MeasureRetyped>("measures", OlapConfig::default().life_cycle(DP))
        .unwrap();
    v2.table::<Event>(
        "sessions",
        OlapConfig::default().order_by_fields(["value", "id"]),
    )
    .unwrap();
    v2.stream::<Event>(
        "clicks",
        StreamConfig::default()
            .parallelism(4)
            .retention_secs(86_400),
    )
    .unwrap();
    v2.stream::<Event>("views", StreamConfig::default())
        .unwrap();
    let plan = servers.plan(&v2).await;
    insta::assert_snapshot!(plan.to_string());
    let json = serde_json::to_value(&plan).unwrap();
    assert_eq!(json["steps"][0]["kind"], "create");
    assert_eq!(json["steps"][0]["action"]["type"], "sql");
}

#[tokio::test]
async fn plan_reads_the_servers_the_app_uses_and_changes_nothing() {
    let ch = TestClickHouse::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(&ch.server.http_url(), dir.path(), free_addr());
    let app = App::new();
    app.stream::<Event>("events", StreamConfig::default().destination("events"))
        .unwrap();
    app.table::<Event>("events", OlapConfig::default()).unwrap();

    let plan = moose_runtime::runtime::plan_app(&app, &config)
        .await
        .unwrap();
    let signs: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("{} {} {}", s.sign(), s.resource.as_str(), s.name))
        .collect();
    assert_eq!(signs, ["+ table events", "+ topic events"]);
    assert!(!plan.needs_attention());
    let again = moose_runtime::runtime::plan_app(&app, &config)
        .await
        .unwrap();
    assert_eq!(again, plan, "planning changed nothing");

    Runtime::start(&app, &config, Mode::Dev)
        .await
        .unwrap()
        .shutdown()
        .await;
    let plan = moose_runtime::runtime::plan_app(&app, &config)
        .await
        .unwrap();
    assert!(plan.is_empty(), "{plan}");
    assert!(
        plan.to_string()
            .contains("No changes: tables and topics match the code.")
    );
}

#[tokio::test]
async fn the_embedded_log_passes_the_topic_change_checks_every_backend_must() {
    let dir = tempfile::tempdir().unwrap();
    let log = LocalLog::open(dir.path()).unwrap();
    common::topic_changes::check_topic_changes(&log, "lifecycle.").await;
}

#[tokio::test]
async fn columns_the_server_computes_are_left_alone_and_survive_a_re_create() {
    let servers = Servers::start().await;
    let v1 = App::new();
    v1.table::<Event>("events", OlapConfig::default()).unwrap();
    servers
        .converge(&v1, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    // Added by hand: a model cannot declare a computed column, so it is not moose's.
    servers
        .sql("ALTER TABLE local.events ADD COLUMN doubled Int64 MATERIALIZED value * 2")
        .await;
    servers
        .sql("INSERT INTO local.events (id, value) VALUES ('a', 1), ('b', 2)")
        .await;
    assert!(servers.plan(&v1).await.is_empty());

    let v2 = App::new();
    v2.table::<Event>(
        "events",
        OlapConfig::default().order_by_fields(["value", "id"]),
    )
    .unwrap();
    servers
        .converge(&v2, ApplyPolicy::EVERYTHING)
        .await
        .unwrap();
    assert_eq!(servers.sorting_key("events").await, "value, id");
    let rows = servers
        .rows("SELECT id, toString(doubled) AS d FROM local.events ORDER BY id")
        .await;
    assert_eq!(
        rows,
        [
            serde_json::json!({"id": "a", "d": "2"}),
            serde_json::json!({"id": "b", "d": "4"})
        ]
    );
    assert!(servers.plan(&v2).await.is_empty());
}

/// Log lines, in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
