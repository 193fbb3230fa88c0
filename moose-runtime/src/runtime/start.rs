//! [`Runtime::start`]: from an [`App`] and a [`RuntimeConfig`] to running workers and HTTP.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::backends::Backends;
use super::config::RuntimeConfig;
use super::observe::{Observed, observe_router};
use super::peek::{PeekState, peek_router};
use super::workers::{WorkerEnv, Workers};
use crate::clickhouse::{ClickHouse, ClickHouseError, LocalClickHouse, LocalServerError};
use crate::graph::running::{Registration, Running};
use crate::graph::{App, LifeCycle};
use crate::ingest::{IngestState, router_with, serve};
use crate::plan::{self, ApplyPolicy, PlanError};
use crate::schema::ResolvedTable;
use crate::stream::{StreamBackend, StreamError, TopicAdmin};
use crate::telemetry::stats::ClickHouseStats;
use crate::telemetry::{BuildInfo, CountedStreams, Telemetry, sample_lag};
use crate::topology::{Topology, TopologyError};
use crate::worker::{FailureTotals, Readiness};

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
    /// The graph cannot be resolved: a table cannot be created on this server, or the graph
    /// refers to something missing.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// Tables or topics could not be brought to what the code declares.
    #[error(transparent)]
    Plan(#[from] PlanError),
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
    /// The ClickHouse server in use.
    pub clickhouse: ClickHouse,
    /// The stream backend's data plane.
    pub backend: Arc<dyn StreamBackend>,
    /// The stream backend's topic administration.
    pub topics: Arc<dyn TopicAdmin>,
    /// What runs: tables, topics, workers and routes, in physical names.
    pub topology: Topology,
    /// What the runtime counts (`/metrics`, `/stats`).
    pub telemetry: Arc<Telemetry>,
    readiness: Arc<Readiness>,
    workers: Workers,
    /// The lag sampler.
    background: (CancellationToken, JoinSet<()>),
    local_server: Option<LocalClickHouse>,
    http: Http,
    /// Lends the app's handles this runtime (`Stream::send`, `OlapTable::insert`) until
    /// dropped.
    registration: Option<Registration>,
}

/// The app's routes, and the server that serves them unless the embedding app does.
struct Http {
    router: axum::Router,
    server: Option<Server>,
}

/// The HTTP server's task.
struct Server {
    addr: SocketAddr,
    cancel: CancellationToken,
    task: JoinSet<()>,
}

impl Runtime {
    /// Starts everything; returns once ingest is being served and every worker runs.
    ///
    /// Build, then run: open the backends, resolve the topology, converge tables and topics,
    /// spawn the workers, serve HTTP.
    pub async fn start(
        app: &App,
        config: &RuntimeConfig,
        mode: Mode,
    ) -> Result<Runtime, RuntimeError> {
        let backends = Backends::open(config, mode).await?;
        match Self::run(app, config, mode, &backends).await {
            Ok(running) => {
                let Backends {
                    topics,
                    clickhouse,
                    local_server,
                    ..
                } = backends;
                Ok(Runtime {
                    clickhouse,
                    backend: running.streams,
                    topics,
                    topology: running.topology,
                    telemetry: running.telemetry,
                    readiness: running.readiness,
                    workers: running.workers,
                    background: running.background,
                    local_server,
                    http: running.http,
                    registration: Some(running.registration),
                })
            }
            Err(e) => {
                backends.close().await;
                Err(e)
            }
        }
    }

    async fn run(
        app: &App,
        config: &RuntimeConfig,
        mode: Mode,
        backends: &Backends,
    ) -> Result<Started, RuntimeError> {
        let clickhouse = &backends.clickhouse;
        clickhouse.ensure_database().await?;
        let topology = backends.resolve(app, config)?;
        converge(&topology, backends, config, mode).await?;
        // Before any worker runs, so a consumer can publish from its first record; dropped
        // (unregistered) if the start fails from here on.
        let telemetry = Arc::new(Telemetry::new(BuildInfo {
            backend: if backends.log.is_some() {
                "embedded"
            } else {
                "kafka"
            },
            clickhouse_version: clickhouse.capabilities().version().to_string(),
        }));
        // Everything in the process writes through this one: it counts what streams take.
        let streams: Arc<dyn StreamBackend> = Arc::new(CountedStreams::new(
            backends.streams.clone(),
            &topology,
            &telemetry,
        ));
        let registration = app.register_runtime(Running {
            streams: streams.clone(),
            clickhouse: clickhouse.clone(),
            topology: topology.clone(),
        });
        let mut workers = Workers::spawn(
            &topology,
            WorkerEnv {
                streams: &streams,
                log: backends.log.as_ref(),
                clickhouse,
                sync: config.sync,
                ledger_dir: &config.data_dir.join("sync"),
                telemetry: &telemetry,
                threads: config.worker_threads,
            },
        )
        .await?;
        let readiness = Arc::new(Readiness::new(config.unready_after));
        readiness.watch(workers.statuses.iter().cloned());
        let cancel = CancellationToken::new();
        let mut background = JoinSet::new();
        background.spawn(sample_lag(
            topology.clone(),
            streams.clone(),
            telemetry.clone(),
            cancel.clone(),
        ));
        let observed = Observed {
            topology: Arc::new(topology.clone()),
            telemetry: telemetry.clone(),
            readiness: readiness.clone(),
            backend: streams.clone(),
            backend_name: backend_name(config, backends),
            clickhouse: ClickHouseStats {
                url: crate::runtime::redact_url(Some(clickhouse.url())).unwrap_or_default(),
                version: clickhouse.capabilities().version().to_string(),
                database: config.clickhouse_database.clone(),
            },
        };
        match http(&topology, &streams, backends, config, observed).await {
            Ok(http) => {
                readiness.started();
                Ok(Started {
                    registration,
                    topology,
                    streams,
                    telemetry,
                    readiness,
                    workers,
                    background: (cancel, background),
                    http,
                })
            }
            Err(e) => {
                cancel.cancel();
                workers.shutdown().await;
                Err(e)
            }
        }
    }

    /// Where the runtime's own HTTP server listens; `None` with
    /// [`RuntimeConfig::serve_http`] off.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.server.as_ref().map(|s| s.addr)
    }

    /// The app's routes — `/ingest/...`, `/peek/...`, the probes — behind the auth layer and
    /// limits of [`RuntimeConfig::ingest`], to mount in your own axum server (with
    /// [`RuntimeConfig::serve_http`] off, or beside the runtime's own):
    ///
    /// ```no_run
    /// # async fn embed(runtime: &moose_runtime::runtime::Runtime) {
    /// let app = axum::Router::new()
    ///     .route("/hello", axum::routing::get(|| async { "hi" }))
    ///     .merge(runtime.router());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await.unwrap();
    /// axum::serve(listener, app).await.unwrap();
    /// # }
    /// ```
    ///
    /// Your server then sets the connection-level limits (header timeout, connection cap)
    /// that the runtime's own server applies.
    pub fn router(&self) -> axum::Router {
        self.http.router.clone()
    }

    /// Tables as created, by declared name.
    pub fn tables(&self) -> impl Iterator<Item = (&str, &ResolvedTable)> {
        self.topology
            .resources
            .tables
            .iter()
            .map(|t| (t.declared.as_str(), &t.resolved))
    }

    /// Records that failed in transforms, consumers and table syncs since the start:
    /// dead-lettered, or logged and skipped where no dead-letter queue is configured.
    pub fn failures(&self) -> FailureTotals {
        self.workers.failures.totals()
    }

    /// Stops: HTTP first (no new records), then transforms (finishing their batch), then
    /// table syncs (inserting what they hold), then the app's handles stop sending and
    /// inserting ([`Stream::send`](crate::graph::Stream::send) answers `NotRunning` from
    /// here on), then the local ClickHouse server.
    pub async fn shutdown(mut self) {
        self.readiness.stopping();
        self.background.0.cancel();
        while self.background.1.join_next().await.is_some() {}
        if let Some(server) = &mut self.http.server {
            server.cancel.cancel();
            while server.task.join_next().await.is_some() {}
        }
        self.workers.shutdown().await;
        // After the workers: a consumer finishing its last batch may still publish.
        drop(self.registration.take());
        let failures = self.workers.failures.totals();
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

/// Lifecycle management: brings tables and topics to what the code declares, as far as each
/// one's lifecycle allows (`start`: destructive steps only when allowed).
async fn converge(
    topology: &Topology,
    backends: &Backends,
    config: &RuntimeConfig,
    mode: Mode,
) -> Result<(), RuntimeError> {
    let desired = &topology.resources;
    for warning in desired.warnings() {
        tracing::warn!("{warning}");
    }
    if mode == Mode::Dev {
        create_external_topics_for_dev(topology, backends.topics.as_ref()).await?;
    }
    let policy = if mode == Mode::Dev || config.allow_destructive {
        ApplyPolicy::EVERYTHING
    } else {
        ApplyPolicy::NON_DESTRUCTIVE
    };
    let (_, report) = plan::converge(
        desired,
        &backends.clickhouse,
        backends.topics.as_ref(),
        policy,
    )
    .await?;
    for skipped in &report.skipped {
        tracing::warn!("not applied: {skipped}");
    }
    Ok(())
}

/// What [`Runtime::run`] starts.
struct Started {
    registration: Registration,
    topology: Topology,
    streams: Arc<dyn StreamBackend>,
    telemetry: Arc<Telemetry>,
    readiness: Arc<Readiness>,
    workers: Workers,
    background: (CancellationToken, JoinSet<()>),
    http: Http,
}

/// `embedded log` or `kafka <brokers>`, for `/stats`.
fn backend_name(config: &RuntimeConfig, backends: &Backends) -> String {
    if backends.log.is_some() {
        return "embedded log".to_owned();
    }
    #[cfg(feature = "kafka")]
    if let Some(kafka) = &config.kafka {
        return format!("kafka {}", kafka.brokers);
    }
    let _ = config;
    "kafka".to_owned()
}

/// The routes — ingest, peek, `/metrics`, `/stats` and `/dashboard` behind one auth layer,
/// only the probes open — and, unless the embedding app serves them, the server on
/// [`RuntimeConfig::http_addr`].
async fn http(
    topology: &Topology,
    streams: &Arc<dyn StreamBackend>,
    backends: &Backends,
    config: &RuntimeConfig,
    observed: Observed,
) -> Result<Http, RuntimeError> {
    let readiness = observed.readiness.clone();
    let ingest = IngestState::new(
        topology.routes.clone(),
        streams.clone(),
        config.ingest.clone(),
        readiness,
        Some(&observed.telemetry),
    );
    let peek = peek_router(PeekState::new(
        topology,
        streams.clone(),
        backends.clickhouse.clone(),
    ));
    let routes = peek
        .merge(observe_router(observed))
        .merge(crate::dashboard::dashboard_router());
    let router = router_with(ingest, routes);
    let server = if config.serve_http {
        Some(bind_and_serve(router.clone(), config).await?)
    } else {
        None
    };
    Ok(Http { router, server })
}

async fn bind_and_serve(
    router: axum::Router,
    config: &RuntimeConfig,
) -> Result<Server, RuntimeError> {
    let bind_error = |source| RuntimeError::Bind {
        addr: config.http_addr,
        source,
    };
    let listener = tokio::net::TcpListener::bind(config.http_addr)
        .await
        .map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    let cancel = CancellationToken::new();
    let mut task = JoinSet::new();
    let stop = cancel.clone();
    let limits = config.ingest.clone();
    task.spawn(async move {
        serve(
            listener,
            router,
            &limits,
            async move { stop.cancelled().await },
        )
        .await;
    });
    Ok(Server { addr, cancel, task })
}

/// Dev stands in for the owners of `ExternallyManaged` streams: a topic that does not exist
/// yet is created on the embedded log (with a warning saying so), so an app declaring such a
/// stream starts on a fresh machine. `start` never does this: there the topic's owner must
/// create it, and the plan refuses to start without it.
async fn create_external_topics_for_dev(
    topology: &Topology,
    backend: &dyn TopicAdmin,
) -> Result<(), RuntimeError> {
    for topic in &topology.resources.topics {
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
