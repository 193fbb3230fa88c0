//! [`plan_app`]: what `dev` / `start` would change in tables and topics, without changing it.

use std::path::PathBuf;

use super::config::RuntimeConfig;
use super::start::RuntimeError;
use crate::clickhouse::{ClickHouse, ClickHouseConfig, LocalClickHouse};
use crate::graph::App;
use crate::plan::{self, Desired, Plan};
use crate::stream::kafka::KafkaBackend;
use crate::stream::local::LocalLog;
use crate::stream::{StreamBackend, StreamError};

/// Reads the app's tables and topics and plans the changes that bring them to what `app`
/// declares. Uses the ClickHouse server the app uses (the local one under the data dir,
/// started for the occasion, when `MOOSE_CLICKHOUSE_URL` is unset) and the streams `start`
/// uses: the Kafka brokers when `MOOSE_KAFKA_BROKERS` is set, otherwise the embedded stream
/// log under the data dir (then the app must not be running on that data dir: the log is
/// locked).
pub async fn plan_app(app: &App, config: &RuntimeConfig) -> Result<Plan, RuntimeError> {
    let backend: Box<dyn StreamBackend> = match config.kafka()? {
        Some(kafka) => Box::new(KafkaBackend::connect(kafka).await?),
        None => Box::new(LocalLog::open(&config.data_dir.join("streams"))?),
    };
    let (url, local) = match &config.clickhouse_url {
        Some(url) => (url.clone(), None),
        None => {
            let dir: PathBuf = config.data_dir.join("clickhouse");
            std::fs::create_dir_all(&config.data_dir).map_err(|source| StreamError::Io {
                context: format!("creating data dir {}", config.data_dir.display()),
                source,
            })?;
            let server = tokio::task::spawn_blocking(move || LocalClickHouse::start(&dir))
                .await
                .expect("starting ClickHouse does not panic")?;
            (server.http_url(), Some(server))
        }
    };
    let result = async {
        let clickhouse = ClickHouse::connect(ClickHouseConfig {
            url,
            database: config.clickhouse_database.clone(),
            user: config.clickhouse_user.clone(),
            password: config.clickhouse_password.clone(),
        })
        .await?;
        let desired = Desired::from_graph(
            &app.graph(),
            config.namespace.as_deref(),
            clickhouse.database(),
            clickhouse.capabilities(),
        )?;
        Ok::<_, RuntimeError>(plan::plan(&desired, &clickhouse, backend.as_ref()).await?)
    }
    .await;
    if let Some(server) = local {
        let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    }
    result
}
