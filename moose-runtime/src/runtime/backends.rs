//! [`Backends`]: the stream backend and the ClickHouse server an app runs on, opened from the
//! configuration (`dev`, `start` and `plan` open them the same way).

use std::path::PathBuf;
use std::sync::Arc;

use super::config::RuntimeConfig;
use super::start::{Mode, RuntimeError};
use crate::clickhouse::{ClickHouse, ClickHouseConfig, LocalClickHouse};
use crate::graph::App;
use crate::stream::local::{LocalLog, LocalLogConfig};
use crate::stream::{StreamBackend, StreamError, Streams, TopicAdmin};
use crate::topology::{Topology, TopologyError};

/// The servers an app runs on.
pub(crate) struct Backends {
    /// Where streams live: the data plane.
    pub streams: Arc<dyn StreamBackend>,
    /// The same backend's topic administration.
    pub topics: Arc<dyn TopicAdmin>,
    /// The embedded log, when `streams` is it (its retention is enforced by the runtime).
    pub log: Option<LocalLog>,
    /// The ClickHouse server in use.
    pub clickhouse: ClickHouse,
    /// The server started for this app when no URL is configured.
    pub local_server: Option<LocalClickHouse>,
}

impl Backends {
    /// Opens the stream backend — Kafka for `start` with brokers configured, the embedded log
    /// under the data dir otherwise — and connects to ClickHouse (starting a local server when
    /// no URL is configured). Changes nothing on either.
    pub async fn open(config: &RuntimeConfig, mode: Mode) -> Result<Backends, RuntimeError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StreamError::Io {
            context: format!("creating data dir {}", config.data_dir.display()),
            source,
        })?;
        let kafka = match mode {
            Mode::Start => kafka(config).await?,
            Mode::Dev => None,
        };
        let (backend, log): (Arc<dyn Streams>, Option<LocalLog>) = match kafka {
            Some(kafka) => (kafka, None),
            None => {
                #[cfg(feature = "kafka")]
                if config.kafka.is_some() {
                    tracing::info!(
                        "dev mode uses the embedded stream log; `start` uses MOOSE_KAFKA_BROKERS"
                    );
                }
                let log = LocalLog::open_with(
                    &config.data_dir.join("streams"),
                    LocalLogConfig {
                        payload_format: config.local_payload,
                        ..LocalLogConfig::default()
                    },
                )?;
                (Arc::new(log.clone()), Some(log))
            }
        };
        let (url, local_server) = match &config.clickhouse_url {
            Some(url) => (url.clone(), None),
            None => {
                let dir: PathBuf = config.data_dir.join("clickhouse");
                let port = config.local_clickhouse_port;
                let server =
                    tokio::task::spawn_blocking(move || LocalClickHouse::start_on(&dir, port))
                        .await
                        .expect("starting ClickHouse does not panic")?;
                (server.http_url(), Some(server))
            }
        };
        match connect(config, url).await {
            Ok(clickhouse) => Ok(Backends {
                streams: backend.clone(),
                topics: backend,
                log,
                clickhouse,
                local_server,
            }),
            Err(e) => {
                stop(local_server).await;
                Err(e)
            }
        }
    }

    /// `app`'s topology for this ClickHouse server.
    pub fn resolve(&self, app: &App, config: &RuntimeConfig) -> Result<Topology, TopologyError> {
        Topology::resolve(
            &app.graph(),
            config.namespace.as_deref(),
            self.clickhouse.database(),
            self.clickhouse.capabilities(),
        )
    }

    /// Stops the local ClickHouse server, if this app started one.
    pub async fn close(mut self) {
        stop(self.local_server.take()).await;
    }
}

/// The Kafka backend, when brokers are configured.
#[cfg(feature = "kafka")]
async fn kafka(config: &RuntimeConfig) -> Result<Option<Arc<dyn Streams>>, StreamError> {
    match &config.kafka {
        Some(kafka) => Ok(Some(Arc::new(
            crate::stream::kafka::KafkaBackend::connect(kafka.clone()).await?,
        ))),
        None => Ok(None),
    }
}

#[cfg(not(feature = "kafka"))]
async fn kafka(_: &RuntimeConfig) -> Result<Option<Arc<dyn Streams>>, StreamError> {
    Ok(None)
}

async fn connect(config: &RuntimeConfig, url: String) -> Result<ClickHouse, RuntimeError> {
    Ok(ClickHouse::connect(ClickHouseConfig {
        url,
        database: config.clickhouse_database.clone(),
        user: config.clickhouse_user.clone(),
        password: config.clickhouse_password.clone(),
    })
    .await?)
}

async fn stop(server: Option<LocalClickHouse>) {
    if let Some(server) = server {
        let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    }
}
