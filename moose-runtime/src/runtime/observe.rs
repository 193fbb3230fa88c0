//! `GET /metrics` (Prometheus text) and `GET /stats` (JSON for `top` and the dashboard), both
//! behind the same auth layer as ingest.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::stream::StreamBackend;
use crate::telemetry::Telemetry;
use crate::telemetry::stats::{ClickHouseStats, ReadyStats, Stats};
use crate::topology::Topology;
use crate::worker::Readiness;

/// What the two routes read.
#[derive(Clone)]
pub(crate) struct Observed {
    pub topology: Arc<Topology>,
    pub telemetry: Arc<Telemetry>,
    pub readiness: Arc<Readiness>,
    pub backend: Arc<dyn StreamBackend>,
    /// `embedded log` or `kafka <brokers>`.
    pub backend_name: String,
    pub clickhouse: ClickHouseStats,
}

/// Prometheus' text format, version 0.0.4 (what `prometheus_client`'s encoder writes).
const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `/metrics` and `/stats`.
pub(crate) fn observe_router(observed: Observed) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/stats", get(stats))
        .with_state(observed)
}

async fn metrics(State(observed): State<Observed>) -> Response {
    (
        [(header::CONTENT_TYPE, PROMETHEUS_TEXT)],
        observed.telemetry.encode(),
    )
        .into_response()
}

async fn stats(State(observed): State<Observed>) -> Json<Stats> {
    let mut reasons = Vec::new();
    if !observed.readiness.is_started() {
        reasons.push("the runtime is still starting".to_owned());
    } else if !observed.backend.healthy().await {
        reasons.push("the stream backend cannot take writes".to_owned());
    }
    reasons.extend(observed.readiness.worker_problems());
    Json(Stats::collect(
        &observed.topology,
        &observed.telemetry,
        observed.backend_name.clone(),
        observed.clickhouse.clone(),
        ReadyStats {
            ready: reasons.is_empty(),
            reasons,
        },
    ))
}
