//! `ls`: what an app declares, resolved into physical names, without starting anything
//! (Moose's `moose ls`): ingest routes, streams, tables, transforms, consumers, and where
//! ClickHouse and the streams are.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::graph::App;
use crate::runtime::RuntimeConfig;
use crate::schema::{ClickHouseCapabilities, LifeCycle};
use crate::topology::{DeadLetterTarget, Topology};

/// Everything `ls` shows (its `--json` form).
#[derive(Debug, Serialize)]
pub struct Listing {
    /// The ClickHouse server the app uses.
    pub clickhouse: ClickHouseListing,
    /// Where the streams live: `embedded log at <dir>` or `kafka <brokers>`.
    pub streams_backend: String,
    /// Ingest APIs.
    pub ingest: Vec<IngestListing>,
    /// Streams.
    pub streams: Vec<StreamListing>,
    /// Tables.
    pub tables: Vec<TableListing>,
    /// Transforms.
    pub transforms: Vec<TaskListing>,
    /// Consumers.
    pub consumers: Vec<TaskListing>,
}

/// The ClickHouse server in use.
#[derive(Debug, Serialize)]
pub struct ClickHouseListing {
    /// Its HTTP URL (credentials redacted); `None` for a local server not started yet.
    pub url: Option<String>,
    /// `true` when the app starts the server itself (no `MOOSE_CLICKHOUSE_URL`).
    pub local: bool,
    /// The database of every table.
    pub database: String,
}

/// One ingest API.
#[derive(Debug, Serialize)]
pub struct IngestListing {
    /// URL paths it answers, the declared one first.
    pub paths: Vec<String>,
    /// Model of its records.
    pub model: &'static str,
    /// Topic the records go to.
    pub topic: String,
}

/// One stream.
#[derive(Debug, Serialize)]
pub struct StreamListing {
    /// Declared name.
    pub name: String,
    /// Topic.
    pub topic: String,
    /// Partitions (its parallelism).
    pub partitions: u32,
    /// Retention in seconds.
    pub retention_secs: u64,
    /// What moose may change about it.
    pub life_cycle: LifeCycle,
    /// The table it is synced into.
    pub destination: Option<String>,
    /// Where rows its table cannot store go.
    pub dead_letter_queue: Option<String>,
}

/// One table.
#[derive(Debug, Serialize)]
pub struct TableListing {
    /// Declared name.
    pub name: String,
    /// `database.table`.
    pub table: String,
    /// `ENGINE` clause.
    pub engine: String,
    /// `ORDER BY` expression.
    pub order_by: String,
    /// What moose may change about it.
    pub life_cycle: LifeCycle,
}

/// One transform or consumer.
#[derive(Debug, Serialize)]
pub struct TaskListing {
    /// `<from>-><to>[@<version>]` (transforms), `<stream>[@<version>|#<n>]` (consumers).
    pub label: String,
    /// Consumer group.
    pub group: String,
    /// Where records its function fails on go.
    pub dead_letter_queue: Option<String>,
}

impl Listing {
    /// The listing of `app` under `config`. Resolved offline (no server is asked): tables
    /// as a current ClickHouse would hold them.
    pub fn of(app: &App, config: &RuntimeConfig) -> Result<Self, String> {
        let topology = Topology::resolve(
            &app.graph(),
            config.namespace.as_deref(),
            &config.clickhouse_database,
            &ClickHouseCapabilities::MODERN,
        )
        .map_err(|e| e.to_string())?;
        let queue = |q: &Option<DeadLetterTarget>| q.as_ref().map(|q| q.name.clone());
        let streams = topology
            .streams()
            .map(|(id, topic)| {
                let sync = topology.syncs.iter().find(|s| s.stream == id);
                StreamListing {
                    name: topic.declared.clone(),
                    topic: topic.spec.name.clone(),
                    partitions: topic.spec.partitions,
                    retention_secs: topic.spec.retention.as_secs(),
                    life_cycle: topic.life_cycle,
                    destination: sync.map(|s| topology.table(s.table).declared.clone()),
                    dead_letter_queue: sync.and_then(|s| queue(&s.dead_letter)),
                }
            })
            .collect();
        let tables = topology
            .resources
            .tables
            .iter()
            .map(|t| TableListing {
                name: t.declared.clone(),
                table: format!("{}.{}", t.resolved.database, t.resolved.name),
                engine: t.resolved.engine_sql(),
                order_by: t.resolved.order_by_sql(),
                life_cycle: t.life_cycle,
            })
            .collect();
        Ok(Listing {
            clickhouse: ClickHouseListing {
                url: match &config.clickhouse_url {
                    Some(url) => crate::runtime::redact_url(Some(url)),
                    None => local_url(&config.data_dir, config.local_clickhouse_port),
                },
                local: config.clickhouse_url.is_none(),
                database: config.clickhouse_database.clone(),
            },
            streams_backend: streams_backend(config),
            ingest: topology
                .routes
                .iter()
                .map(|r| IngestListing {
                    paths: r.urls().collect(),
                    model: r.codec.name,
                    topic: r.topic.clone(),
                })
                .collect(),
            streams,
            tables,
            transforms: topology
                .transforms
                .iter()
                .map(|t| TaskListing {
                    label: t.label.clone(),
                    group: t.group.clone(),
                    dead_letter_queue: queue(&t.dead_letter),
                })
                .collect(),
            consumers: topology
                .consumers
                .iter()
                .map(|c| TaskListing {
                    label: c.label.clone(),
                    group: c.group.clone(),
                    dead_letter_queue: queue(&c.dead_letter),
                })
                .collect(),
        })
    }
}

/// The local server's URL: the fixed port, else the one its last start recorded.
fn local_url(data_dir: &Path, port: Option<u16>) -> Option<String> {
    let port = port.or_else(|| {
        let text = std::fs::read_to_string(data_dir.join("clickhouse").join("ports")).ok()?;
        text.split_whitespace().next()?.parse().ok()
    })?;
    Some(format!("http://127.0.0.1:{port}"))
}

fn streams_backend(config: &RuntimeConfig) -> String {
    #[cfg(feature = "kafka")]
    if let Some(kafka) = &config.kafka {
        return format!(
            "kafka {} (with `start`; `dev` uses the embedded log)",
            kafka.brokers
        );
    }
    format!(
        "embedded log at {}",
        config.data_dir.join("streams").display()
    )
}

impl std::fmt::Display for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ch = &self.clickhouse;
        let url = match (&ch.url, ch.local) {
            (Some(url), true) => format!("{url} (started by the app)"),
            (Some(url), false) => url.clone(),
            (None, _) => "started by the app on a free port (none recorded yet)".to_owned(),
        };
        writeln!(f, "clickhouse  {url}, database `{}`", ch.database)?;
        writeln!(f, "streams     {}", self.streams_backend)?;
        let mut out = String::new();
        section(
            &mut out,
            "ingest",
            self.ingest.iter().map(|i| {
                format!(
                    "POST {}  {} -> topic {}",
                    i.paths.join(", "),
                    i.model,
                    i.topic
                )
            }),
        );
        section(
            &mut out,
            "streams",
            self.streams.iter().map(|s| {
                let mut line = format!(
                    "{}  topic {}, {} partition{}, retention {} s, {:?}",
                    s.name,
                    s.topic,
                    s.partitions,
                    if s.partitions == 1 { "" } else { "s" },
                    s.retention_secs,
                    s.life_cycle
                );
                if let Some(table) = &s.destination {
                    let _ = write!(line, ", -> table {table}");
                }
                if let Some(queue) = &s.dead_letter_queue {
                    let _ = write!(line, ", dead letters -> {queue}");
                }
                line
            }),
        );
        section(
            &mut out,
            "tables",
            self.tables.iter().map(|t| {
                format!(
                    "{}  {} ENGINE = {} ORDER BY {}, {:?}",
                    t.name, t.table, t.engine, t.order_by, t.life_cycle
                )
            }),
        );
        let task = |t: &TaskListing| {
            let mut line = format!("{}  group {}", t.label, t.group);
            if let Some(queue) = &t.dead_letter_queue {
                let _ = write!(line, ", dead letters -> {queue}");
            }
            line
        };
        section(&mut out, "transforms", self.transforms.iter().map(task));
        section(&mut out, "consumers", self.consumers.iter().map(task));
        f.write_str(&out)
    }
}

/// `title` and its lines, indented; `(none)` when empty.
fn section(out: &mut String, title: &str, lines: impl Iterator<Item = String>) {
    let _ = writeln!(out, "\n{title}");
    let mut any = false;
    for line in lines {
        any = true;
        let _ = writeln!(out, "  {line}");
    }
    if !any {
        let _ = writeln!(out, "  (none)");
    }
}
