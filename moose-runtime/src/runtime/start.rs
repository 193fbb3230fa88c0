//! [`Runtime::start`]: from an [`App`] and a [`RuntimeConfig`] to running workers and HTTP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::config::RuntimeConfig;
use super::dead_letters::{check_dead_letter_queues, sink};
use super::names::{consumer_group, sync_group, transform_group};
use super::peek::{PeekState, peek_router};
use crate::clickhouse::{
    ClickHouse, ClickHouseConfig, ClickHouseError, LocalClickHouse, LocalServerError,
};
use crate::graph::{App, Graph, InvalidRecordPolicy, LifeCycle};
use crate::ingest::{IngestConfig, IngestDeadLetter, IngestRoute, IngestState, router_with, serve};
use crate::plan::{self, ApplyPolicy, Desired, PlanError};
use crate::schema::{ResolvedTable, SchemaError};
use crate::stream::kafka::KafkaBackend;
use crate::stream::local::LocalLog;
use crate::stream::{MemberId, StreamBackend, StreamError};
use crate::worker::{
    ConsumerWorker, FailureCounts, FailureTotals, SyncWorker, TransformWorker, WorkerStatus,
};

/// Which backends to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Embedded stream log; local ClickHouse unless a URL is configured.
    Dev,
    /// Backends from the configuration (Kafka when brokers are set).
    Start,
}

/// Why the runtime could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The stream backend failed.
    #[error(transparent)]
    Stream(#[from] StreamError),
    /// ClickHouse failed.
    #[error(transparent)]
    ClickHouse(#[from] ClickHouseError),
    /// The local ClickHouse server could not be started.
    #[error(transparent)]
    LocalServer(#[from] LocalServerError),
    /// A table cannot be created on this server.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// Tables or topics could not be brought to what the code declares.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// The graph refers to something missing.
    #[error("{0}")]
    Graph(String),
    /// The HTTP address could not be bound.
    #[error("cannot listen on {addr}: {source}; set MOOSE_HTTP_ADDR to a free address")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
}

/// A running application.
pub struct Runtime {
    /// Where the HTTP server listens.
    pub http_addr: SocketAddr,
    /// The ClickHouse server in use.
    pub clickhouse: ClickHouse,
    /// The stream backend.
    pub backend: Arc<dyn StreamBackend>,
    /// Tables as created, by declared name.
    pub tables: Vec<(String, ResolvedTable)>,
    failures: Arc<FailureCounts>,
    local_server: Option<LocalClickHouse>,
    transform_cancel: CancellationToken,
    sync_cancel: CancellationToken,
    http_cancel: CancellationToken,
    transforms: JoinSet<()>,
    syncs: JoinSet<()>,
    http: JoinSet<()>,
}

/// How often the embedded log's retention is enforced.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

impl Runtime {
    /// Starts everything; returns once ingest is being served and every worker runs.
    pub async fn start(
        app: &App,
        config: &RuntimeConfig,
        mode: Mode,
    ) -> Result<Runtime, RuntimeError> {
        let graph = app.graph();
        let ns = config.namespace.as_deref();
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StreamError::Io {
            context: format!("creating data dir {}", config.data_dir.display()),
            source,
        })?;
        // `start` with brokers: Kafka. Otherwise (and always in dev mode) the embedded log.
        let (backend, log): (Arc<dyn StreamBackend>, Option<LocalLog>) = match config.kafka()? {
            Some(kafka) if mode == Mode::Start => {
                (Arc::new(KafkaBackend::connect(kafka).await?), None)
            }
            kafka => {
                if kafka.is_some() {
                    tracing::info!(
                        "dev mode uses the embedded stream log; `start` uses MOOSE_KAFKA_BROKERS"
                    );
                }
                let log = LocalLog::open(&config.data_dir.join("streams"))?;
                (Arc::new(log.clone()), Some(log))
            }
        };

        let (clickhouse_url, local_server) = match &config.clickhouse_url {
            Some(url) => (url.clone(), None),
            None => {
                let dir: PathBuf = config.data_dir.join("clickhouse");
                let server = tokio::task::spawn_blocking(move || LocalClickHouse::start(&dir))
                    .await
                    .expect("starting ClickHouse does not panic")?;
                (server.http_url(), Some(server))
            }
        };
        let clickhouse = ClickHouse::connect(ClickHouseConfig {
            url: clickhouse_url,
            database: config.clickhouse_database.clone(),
            user: config.clickhouse_user.clone(),
            password: config.clickhouse_password.clone(),
        })
        .await?;
        clickhouse.ensure_database().await?;

        // Lifecycle management: bring tables and topics to what the code declares, as far as
        // each one's lifecycle allows (`start`: destructive steps only when allowed).
        let desired =
            Desired::from_graph(&graph, ns, clickhouse.database(), clickhouse.capabilities())?;
        for warning in desired.warnings() {
            tracing::warn!("{warning}");
        }
        if mode == Mode::Dev {
            create_external_topics_for_dev(&desired, backend.as_ref()).await?;
        }
        let policy = if mode == Mode::Dev || config.allow_destructive {
            ApplyPolicy::EVERYTHING
        } else {
            ApplyPolicy::NON_DESTRUCTIVE
        };
        let (_, report) = plan::converge(&desired, &clickhouse, backend.as_ref(), policy).await?;
        for skipped in &report.skipped {
            tracing::warn!("not applied: {skipped}");
        }
        let topics: Vec<String> = desired.topics.iter().map(|t| t.spec.name.clone()).collect();
        let tables: Vec<(String, ResolvedTable)> = desired
            .tables
            .into_iter()
            .map(|t| (t.declared, t.resolved))
            .collect();

        check_dead_letter_queues(&graph)?;
        let failures = Arc::new(FailureCounts::default());
        let transform_cancel = CancellationToken::new();
        let sync_cancel = CancellationToken::new();
        let http_cancel = CancellationToken::new();
        let mut statuses = Vec::new();
        let mut transforms = JoinSet::new();
        let mut syncs = JoinSet::new();
        spawn_transforms(
            &graph,
            &topics,
            &backend,
            &failures,
            &transform_cancel,
            &mut transforms,
            &mut statuses,
        )
        .await?;
        for (index, stream) in graph.streams.iter().enumerate() {
            let Some(destination) = &stream.config.destination else {
                continue;
            };
            let Some((_, table)) = tables.iter().find(|(name, _)| name == destination) else {
                return Err(RuntimeError::Graph(format!(
                    "stream `{}` has destination table `{destination}`, which is not declared",
                    stream.name
                )));
            };
            let group = sync_group(&topics[index], &table.config.name);
            for member in MemberId::all(stream.config.parallelism) {
                let consumer = backend.consumer(&topics[index], &group, member).await?;
                let status = WorkerStatus::default();
                statuses.push(status.clone());
                let worker = SyncWorker {
                    name: format!("{} -> {}", stream.name, table.qualified_name()),
                    consumer,
                    codec: stream.model,
                    table: table.clone(),
                    clickhouse: clickhouse.clone(),
                    config: config.sync(),
                    status,
                    topic: topics[index].clone(),
                    stream: stream.name.clone(),
                    dead_letters: sink(
                        &graph,
                        &topics,
                        &backend,
                        &failures,
                        stream.dead_letter_queue,
                    ),
                    ledger: Some((config.data_dir.join("sync"), group.clone())),
                };
                syncs.spawn(worker.run(sync_cancel.clone()));
            }
        }
        if let Some(log) = log.clone() {
            let cancel = sync_cancel.clone();
            syncs.spawn(async move {
                loop {
                    tokio::select! {
                        _ = cancel.cancelled() => return,
                        _ = tokio::time::sleep(RETENTION_INTERVAL) => {
                            if let Err(e) = log.enforce_retention() {
                                tracing::warn!(error = %e, "enforcing stream retention failed");
                            }
                        }
                    }
                }
            });
        }

        let ready = Arc::new(AtomicBool::new(false));
        let routes: Vec<IngestRoute> = graph
            .ingest_apis
            .iter()
            .map(|api| {
                let stream = &graph.streams[api.stream];
                IngestRoute {
                    name: api.name.clone(),
                    version: api.version.clone(),
                    topic: topics[api.stream].clone(),
                    codec: stream.model,
                    dead_letter: (api.invalid_records == InvalidRecordPolicy::DeadLetter)
                        .then_some(api.dead_letter_queue)
                        .flatten()
                        .map(|queue| IngestDeadLetter {
                            topic: topics[queue].clone(),
                            source_stream: stream.name.clone(),
                        }),
                }
            })
            .collect();
        let ingest_config = IngestConfig {
            body_limit: config.ingest_body_limit,
            tokens: config.tokens(),
            request_body_timeout: Duration::from_millis(config.ingest_body_timeout_ms),
            header_read_timeout: Duration::from_millis(config.ingest_header_timeout_ms),
            max_connections: config.ingest_max_connections,
        };
        let ingest = IngestState::new(
            routes,
            backend.clone(),
            ingest_config.clone(),
            ready.clone(),
        );
        let peek = peek_router(PeekState {
            backend: backend.clone(),
            clickhouse: clickhouse.clone(),
            streams: graph
                .streams
                .iter()
                .zip(&topics)
                .map(|(s, t)| (s.name.clone(), t.clone()))
                .collect(),
            tables: tables
                .iter()
                .map(|(n, t)| (n.clone(), t.qualified_name()))
                .collect(),
        });
        // Peek behind the same auth layer as ingest: only the probes are open.
        let app = router_with(ingest, peek);
        let listener = tokio::net::TcpListener::bind(config.http_addr)
            .await
            .map_err(|source| RuntimeError::Bind {
                addr: config.http_addr,
                source,
            })?;
        let http_addr = listener.local_addr().map_err(|source| RuntimeError::Bind {
            addr: config.http_addr,
            source,
        })?;
        let mut http = JoinSet::new();
        {
            let cancel = http_cancel.clone();
            http.spawn(async move {
                serve(listener, app, &ingest_config, async move {
                    cancel.cancelled().await
                })
                .await;
            });
        }
        ready.store(true, Ordering::SeqCst);
        let runtime = Runtime {
            http_addr,
            clickhouse,
            backend,
            tables,
            failures,
            local_server,
            transform_cancel,
            sync_cancel,
            http_cancel,
            transforms,
            syncs,
            http,
        };
        runtime.announce(&graph);
        Ok(runtime)
    }

    fn announce(&self, graph: &Graph) {
        for api in &graph.ingest_apis {
            let path = match &api.version {
                Some(v) => format!("/ingest/{}/{v}", api.name),
                None => format!("/ingest/{}", api.name),
            };
            println!("ingest  POST http://{}{path}", self.http_addr);
        }
        for (_, table) in &self.tables {
            println!(
                "table   {} (ClickHouse {} at {})",
                table.qualified_name(),
                self.clickhouse.capabilities().version(),
                self.clickhouse.url()
            );
        }
        println!("ready   http://{}/ready", self.http_addr);
    }

    /// Records that failed in transforms, consumers and table syncs since the start:
    /// dead-lettered, or logged and skipped where no dead-letter queue is configured.
    pub fn failures(&self) -> FailureTotals {
        self.failures.totals()
    }

    /// Stops: HTTP first (no new records), then transforms (finishing their batch), then
    /// table syncs (inserting what they hold), then the local ClickHouse server.
    pub async fn shutdown(mut self) {
        self.http_cancel.cancel();
        while self.http.join_next().await.is_some() {}
        self.transform_cancel.cancel();
        while self.transforms.join_next().await.is_some() {}
        self.sync_cancel.cancel();
        while self.syncs.join_next().await.is_some() {}
        let failures = self.failures.totals();
        if failures != FailureTotals::default() {
            tracing::warn!(
                dead_lettered = failures.dead_lettered,
                skipped = failures.skipped,
                "records failed while running: dead-lettered, or logged and skipped where no dead-letter queue is configured"
            );
        }
        if let Some(server) = self.local_server.take() {
            let _ = tokio::task::spawn_blocking(move || server.stop()).await;
        }
    }
}

async fn spawn_transforms(
    graph: &Graph,
    topics: &[String],
    backend: &Arc<dyn StreamBackend>,
    failures: &Arc<FailureCounts>,
    cancel: &CancellationToken,
    set: &mut JoinSet<()>,
    statuses: &mut Vec<WorkerStatus>,
) -> Result<(), RuntimeError> {
    for transform in &graph.transforms {
        let source = &graph.streams[transform.from];
        let group = transform_group(
            &topics[transform.from],
            &topics[transform.to],
            transform.config.version.as_deref(),
        );
        for member in MemberId::all(source.config.parallelism) {
            let consumer = backend
                .consumer(&topics[transform.from], &group, member)
                .await?;
            let status = WorkerStatus::default();
            statuses.push(status.clone());
            let worker = TransformWorker {
                name: format!("{} -> {}", source.name, graph.streams[transform.to].name),
                consumer,
                function: transform.function.clone(),
                backend: backend.clone(),
                destination: topics[transform.to].clone(),
                source_stream: source.name.clone(),
                dead_letters: sink(
                    graph,
                    topics,
                    backend,
                    failures,
                    transform.dead_letter_queue,
                ),
                status,
            };
            set.spawn(worker.run(cancel.clone()));
        }
    }
    for (index, consumer_node) in graph.consumers.iter().enumerate() {
        let stream = &graph.streams[consumer_node.stream];
        let topic = &topics[consumer_node.stream];
        let group = consumer_group(topic, consumer_node.config.version.as_deref(), index);
        for member in MemberId::all(stream.config.parallelism) {
            let consumer = backend.consumer(topic, &group, member).await?;
            let status = WorkerStatus::default();
            statuses.push(status.clone());
            let worker = ConsumerWorker {
                name: format!("consumer of {}", stream.name),
                consumer,
                function: consumer_node.function.clone(),
                source_stream: stream.name.clone(),
                dead_letters: sink(
                    graph,
                    topics,
                    backend,
                    failures,
                    consumer_node.dead_letter_queue,
                ),
                status,
            };
            set.spawn(worker.run(cancel.clone()));
        }
    }
    Ok(())
}

/// Dev stands in for the owners of `ExternallyManaged` streams: a topic that does not exist
/// yet is created on the embedded log (with a warning saying so), so an app declaring such a
/// stream starts on a fresh machine. `start` never does this: there the topic's owner must
/// create it, and the plan refuses to start without it.
async fn create_external_topics_for_dev(
    desired: &Desired,
    backend: &dyn StreamBackend,
) -> Result<(), RuntimeError> {
    for topic in &desired.topics {
        if topic.life_cycle != LifeCycle::ExternallyManaged
            || backend.describe_topic(&topic.spec.name).await?.is_some()
        {
            continue;
        }
        backend.ensure_topic(&topic.spec).await?;
        tracing::warn!(
            "stream `{}` is ExternallyManaged and its topic `{}` did not exist: dev created it \
             on the embedded log; `start` leaves creating it to its owner",
            topic.declared,
            topic.spec.name
        );
    }
    Ok(())
}
