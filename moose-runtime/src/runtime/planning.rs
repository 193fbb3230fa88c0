//! [`plan_app`]: what `dev` / `start` would change in tables and topics, without changing it.

use super::backends::Backends;
use super::config::RuntimeConfig;
use super::start::{Mode, RuntimeError};
use crate::graph::App;
use crate::plan::{self, Plan};

/// Reads the app's tables and topics and plans the changes that bring them to what `app`
/// declares. Uses the ClickHouse server the app uses (the local one under the data dir,
/// started for the occasion, when `MOOSE_CLICKHOUSE_URL` is unset) and the streams `start`
/// uses: the Kafka brokers when `MOOSE_KAFKA_BROKERS` is set, otherwise the embedded stream
/// log under the data dir (then the app must not be running on that data dir: the log is
/// locked).
pub async fn plan_app(app: &App, config: &RuntimeConfig) -> Result<Plan, RuntimeError> {
    let backends = Backends::open(config, Mode::Start).await?;
    let result = async {
        let topology = backends.resolve(app, config)?;
        Ok::<_, RuntimeError>(
            plan::plan(
                &topology.resources,
                &backends.clickhouse,
                backends.topics.as_ref(),
            )
            .await?,
        )
    }
    .await;
    backends.close().await;
    result
}
